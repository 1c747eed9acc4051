"""Runs the six benchmark sections and writes BENCHMARKS.md; called by scripts/bench.sh,
which builds everything and starts the emulator first.
`run.py --report-only RESULTS.json OUT.md` rewrites the report from saved figures.

Every figure is measured in this run except the prices and the AWS-side latencies of
section 6, which are stated assumptions (see PRICES and LATENCY_MS), and the cold-start
breakdown in the notes, an earlier observation given with its date
(COLD_START_PROFILE_DATE).
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

FUNCTIONS = ["guest-reset", "forgot-password", "password-confirm"]
# The fourth function: no HTTP route, it takes the jobs the three queue (SQS event source).
COURIER = "courier"

# Section 6 inputs that are not measured here. Published us-east-1 on-demand prices.
PRICES = {
    "date": "2026-11 (unchanged since DynamoDB's on-demand price cut of 2024-11-01)",
    "lambda_arm64_gb_s": 0.0000133334,  # first 7.5 billion GB-s a month
    "lambda_request": 0.20 / 1e6,
    "dynamodb_wru": 0.625 / 1e6,
    "dynamodb_rru": 0.125 / 1e6,
    # SQS standard queue, per million requests past the free tier; each 64 KiB of a
    # request's payload is one request (every job here is far smaller: one chunk).
    "sqs_request": 0.40 / 1e6,
}
# Wall time a function waits on AWS per call, billed as duration (assumed p50s in-region:
# DynamoDB single-item operations, SES v2 SendEmail, SNS Publish, SQS SendMessage and the
# courier's own ChangeMessageVisibility).
LATENCY_MS = {"DynamoDB": 5.0, "SESv2": 25.0, "SNS": 25.0, "SQS": 10.0}
# Lambda gives a full vCPU at 1,769 MB and CPU in proportion to memory below that.
FULL_VCPU_MB = 1769

# The date of the `perf` profile behind the cold-start breakdown in the notes: a one-off
# observation, not repeated by this script.
COLD_START_PROFILE_DATE = "2026-11-28"

# Issue #16's bound: with delivery off the request path, Lambda per million B+C resets
# must be below this.
ISSUE_16_LAMBDA_USD = 2.19

TARGETS = {
    "cold_median_ms": 10.0,
    "cold_ratio": 1.5,
    "warm_us": 50.0,
    "argon2_ratio": 1.1,
    "round_trips": 6,
    "zip_mb": 4.0,  # per function
    "lambda_usd": 2.0,
}


# How bench.sh builds the release binaries, unless `--build` says otherwise.
WORKSPACE_RELEASE = "release profile of the workspace (fat LTO, codegen-units 1, stripped)"


def latest_reruns(r):
    """The reruns a report's sections come from: each rerun with the sections no later rerun
    measured again, oldest first, those left with none dropped."""
    records = r.get("reruns") or ([r["rerun"]] if "rerun" in r else [])
    out, later = [], set()
    for rr in reversed(records):
        sections = [k for k in rr["sections"] if k not in later]
        later.update(rr["sections"])
        if sections:
            out.append((rr, sections))
    return list(reversed(out))


def rerun_args(argv):
    """The command line as the report prints it: quoted, `--build`'s text (printed beside it) elided."""
    out, skip = [], False
    for a in argv:
        out.append("…" if skip else shlex.quote(a))
        skip = a == "--build"
    return out


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    log(" ".join(str(c) for c in cmd))
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def median(xs):
    return statistics.median(xs)


def fmt(x, digits=2):
    return f"{x:.{digits}f}"


def ok(flag):
    return "yes" if flag else "**no**"


# ---------------------------------------------------------------- 1. cold start
def started(cs):
    """The functions section 1 timed: the three, and the courier where the run had it."""
    return FUNCTIONS + ([COURIER] if COURIER in cs else [])


def cold_start(args, work):
    functions = FUNCTIONS + ([COURIER] if (Path(args.release_dir) / COURIER).exists() else [])
    targets = [f"{f}={args.release_dir}/{f}" for f in functions] + [f"hello-world={args.release_dir}/bench-hello"]
    ssm = []
    if args.ssm_parameter:
        # The production path: the code secrets read from Parameter Store (the emulator's).
        targets += [f"{f}@ssm={args.release_dir}/{f}" for f in functions]
        ssm = ["--ssm", args.endpoint, args.ssm_parameter]
    out = run([args.coldstart, "--runs", str(args.runs), "--strace", str(work / "strace"), *ssm, *targets]).stdout
    cs = json.loads(out)
    if ssm:
        # The one expected connect of an @ssm start is to the parameter store.
        port = f"htons({args.endpoint.rsplit(':', 1)[1].rstrip('/')})"
        for f in functions:
            io = cs[f"{f}@ssm"].get("init_io", {})
            conns = io.get("connects_other_than_runtime_api", [])
            io["connects_to_parameter_store"] = [c for c in conns if port in c]
            io["connects_other_than_runtime_api"] = [c for c in conns if port not in c]
        cs["ssm_parameter"] = args.ssm_parameter
    return cs


def cold_start_ssm(cs):
    """Section 1's second table: the same starts reading the code secrets from Parameter Store."""
    if not all(f"{f}@ssm" in cs for f in started(cs)):
        return []
    L = ["Production reads the code secrets at cold start from an SSM Parameter Store SecureString "
         "(`RESETKIT_CODE_SECRETS_PARAMETER`): the same starts, interleaved with those above, with "
         f"`{cs.get('ssm_parameter', '?')}` put on the emulator and `AWS_ENDPOINT_URL` pointing there, so each start "
         "builds an SSM client and makes one `GetParameter` (with decryption) over loopback HTTP to moto. "
         "That is a lower bound of production's cost: no TLS handshake, no network distance, and no KMS "
         "decryption (moto keeps the value in clear); moto's own Python handling of the call is included.\n",
         "| binary, secrets from Parameter Store | min ms | median ms | max ms | + median ms over inline secrets | connects at init besides the runtime API | cert-store files read |",
         "|---|---:|---:|---:|---:|---|---:|"]
    for f in started(cs):
        c, base = cs[f"{f}@ssm"], cs[f]
        io = c.get("init_io", {})
        ssm_conns = len(io.get("connects_to_parameter_store", []))
        other = io.get("connects_other_than_runtime_api", ["?"])
        seen = f"{ssm_conns} to the parameter store" + ("" if other == [] else "; other: " + "; ".join(other))
        L.append(f"| {f} | {fmt(c['min_ms'])} | {fmt(c['median_ms'])} | {fmt(c['max_ms'])} | "
                 f"{fmt(c['median_ms'] - base['median_ms'])} | {seen} | {io.get('certificate_store_files_opened', '?')} |")
    extra = [cs[f"{f}@ssm"]["median_ms"] - cs[f]["median_ms"] for f in started(cs)]
    L.append("")
    L.append(f"So reading the stage secret adds {fmt(min(extra))} to {fmt(max(extra))} ms to a cold start's median here. "
             "`bash scripts/bench.sh` measures both (it puts the parameter on its emulator and passes `--ssm-parameter`); "
             "section 1 alone, with the parameter put and the binaries built as bench.sh builds them: "
             "`python benches/run.py --sections cold_start --reuse <an earlier results.json> --release-dir target/release "
             "--coldstart target/debug/coldstart --endpoint <moto> --ssm-parameter <name> --work .local/bench --out BENCHMARKS.md --runs 15`.\n")
    return L


# ---------------------------------------------------------------- 2. warm path
def warm(args, work):
    env = dict(os.environ, CRITERION_HOME=str(work / "criterion"))
    crit = [args.warm_bin, "--bench", "--noplot", "--warm-up-time", "1", "--measurement-time", str(args.measurement_time)]
    # stdout carries the handlers' metric lines (CloudWatch EMF), one per request: discarded.
    log(" ".join(crit))
    proc = subprocess.run(crit, env=env, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    (work / "criterion.log").write_text(proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"criterion failed:\n{proc.stderr}")
    medians_us = {}
    for name in FUNCTIONS + ["minimal-hash", "password-policy"]:
        est = json.loads((work / "criterion" / "warm" / name / "new" / "estimates.json").read_text())
        medians_us[name] = est["median"]["point_estimate"] / 1e3

    def instructions(scenario, n):
        out_file = work / f"callgrind.{scenario}.{n}.out"
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", args.warm_bin, "callgrind", scenario, str(n)],
            text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        m = re.search(r"Collected\s*:\s*(\d+)", proc.stderr)
        if proc.returncode != 0 or not m:
            raise SystemExit(f"callgrind {scenario} {n} failed:\n{proc.stderr[-3000:]}")
        out_file.unlink(missing_ok=True)
        return int(m.group(1))

    lo, hi = args.callgrind_requests
    per = {}
    for scenario in FUNCTIONS + ["confirm-setup-only", "minimal-hash", "password-policy"]:
        log(f"callgrind {scenario} ({lo} and {hi} requests)")
        per[scenario] = (instructions(scenario, hi) - instructions(scenario, lo)) / (hi - lo)
    ir = {
        "guest-reset": per["guest-reset"],
        "forgot-password": per["forgot-password"],
        # the code issued before each confirm (not timed by criterion either), and the hash
        "password-confirm": per["password-confirm"] - per["confirm-setup-only"] - per["minimal-hash"],
        "password-confirm (with minimal hash)": per["password-confirm"] - per["confirm-setup-only"],
        "minimal-hash": per["minimal-hash"],
        "password-policy": per["password-policy"],
    }
    # The same endpoints over the real SDK clients against the emulator (process CPU).
    log(f"SDK clients against the emulator ({args.sdk_requests} requests per endpoint)")
    sdk_env = dict(os.environ, RESETKIT_BENCH_ENDPOINT=args.endpoint)
    proc = subprocess.run([args.warm_bin, "sdk", str(args.sdk_requests)], env=sdk_env, text=True, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"warm sdk failed:\n{proc.stderr[-3000:]}")
    # The handlers' metric lines (CloudWatch EMF) come first; the figures are the last line.
    sdk = json.loads(proc.stdout.strip().splitlines()[-1])
    # "queued": measured since the endpoints queue delivery for the courier (the in-memory
    # queue delivers inline, so each figure is the request and its courier job).
    return {"criterion_median_us": medians_us, "instructions_per_request": ir, "callgrind_requests": [lo, hi],
            "sdk_cpu_us": sdk, "delivery": "queued"}


# ---------------------------------------------------------------- 3. Argon2id
ARGON2_PY = r"""
import json, sys, time
from importlib.metadata import version
from argon2.low_level import hash_secret_raw, Type
n = int(sys.argv[1])
args = dict(secret=b"correct horse battery staple", salt=b"sixteen byte salt", time_cost=2,
            memory_cost=19456, parallelism=1, hash_len=32, type=Type.ID)
hash_secret_raw(**args)
ts = []
for _ in range(n):
    t = time.perf_counter_ns()
    h = hash_secret_raw(**args)
    ts.append((time.perf_counter_ns() - t) / 1e6)
print(json.dumps({"ms": ts, "hex": h.hex(), "argon2-cffi": version("argon2-cffi"),
                  "argon2-cffi-bindings": version("argon2-cffi-bindings")}))
"""


def argon2(args, work):
    # Interleaved: each round hashes twice with each implementation (after one untimed hash
    # per process), so load that comes and goes on a shared machine hits all three alike.
    per_round = 2
    rounds = max(1, args.argon2_runs // per_round)
    rust = {"reused_buffer_ms": [], "production_wall_ms": [], "production_cpu_ms": []}
    cffi = {"ms": []}
    cli_self, cli_wall = [], []
    cli_hex = None
    log(f"{rounds} rounds of {per_round} hashes each: Rust, argon2-cffi, Debian argon2")
    for _ in range(rounds):
        r = json.loads(subprocess.run([args.warm_bin, "argon2", str(per_round)], check=True, text=True, capture_output=True).stdout)
        rust["reused_buffer_ms"] += r["reused_buffer_ms"]
        rust["production_wall_ms"] += r["production_wall_ms"]
        rust["production_cpu_ms"] += r["production_cpu_ms"]
        rust["hex"] = r["hex"]
        c = json.loads(subprocess.run([args.python, "-c", ARGON2_PY, str(per_round)], check=True, text=True, capture_output=True).stdout)
        cffi["ms"] += c["ms"]
        cffi.update({k: c[k] for k in ("hex", "argon2-cffi", "argon2-cffi-bindings")})
        cli_hex = argon2_cli(per_round, cli_self, cli_wall)
    pkg = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "argon2"], text=True, capture_output=True).stdout
    same = rust["hex"] == cffi["hex"] == cli_hex
    return {
        "rust_reused_ms": rust["reused_buffer_ms"],
        "rust_production_wall_ms": rust["production_wall_ms"],
        "rust_production_cpu_ms": rust["production_cpu_ms"],
        "cffi_ms": cffi["ms"],
        "cli_self_ms": cli_self,
        "cli_wall_ms": cli_wall,
        "versions": {"argon2-cffi": cffi["argon2-cffi"], "argon2-cffi-bindings": cffi["argon2-cffi-bindings"], "debian argon2": pkg},
        "same_output": same,
    }


def argon2_cli(n, cli_self, cli_wall):
    """Runs the Debian command n times; appends its own timer's and the whole process's ms."""
    cli_hex = None
    for _ in range(n):
        t = time.perf_counter()
        p = subprocess.run(
            ["argon2", "sixteen byte salt", "-id", "-t", "2", "-k", "19456", "-p", "1", "-l", "32"],
            input="correct horse battery staple", text=True, capture_output=True, check=True,
        )
        wall = (time.perf_counter() - t) * 1e3
        m = re.search(r"([\d.]+) seconds", p.stdout)
        h = re.search(r"Hash:\s*([0-9a-f]+)", p.stdout)
        cli_hex = h.group(1) if h else None
        cli_self.append(float(m.group(1)) * 1e3)
        cli_wall.append(wall)
    return cli_hex


# ---------------------------------------------------------------- 4. round trips
def round_trips(args, work):
    env = dict(os.environ, RESETKIT_BENCH_ENDPOINT=args.endpoint)
    # The functions' metric lines (CloudWatch EMF) come first; the report is the last line.
    return json.loads(run([args.round_trips], env=env).stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- 4b. hot items
LOAD_PEOPLE = [50, 100, 200]
LOAD_CONCURRENCY = 50
LOAD_STAFF_KEYS = 20


def hot_items(args, work):
    env = dict(os.environ, RESETKIT_BENCH_ENDPOINT=args.endpoint)
    runs = []
    for people in LOAD_PEOPLE:
        out = run([args.load, str(people), str(LOAD_CONCURRENCY), str(LOAD_STAFF_KEYS)], env=env).stdout
        # The JSON report is the last thing printed (metric lines may come before it).
        runs.append(json.loads(out[out.index("\n{") + 1:] if not out.startswith("{") else out))
    return runs


# ---------------------------------------------------------------- 5. size
def sizes(args, work):
    text = Path(args.sizes).read_text()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\S+)\s+(\d+)\s+[\d.]+", line.strip())
        if m and m.group(1) in FUNCTIONS:
            out[m.group(1)] = int(m.group(2))
    missing = [f for f in FUNCTIONS if f not in out]
    if missing:
        raise SystemExit(f"no zip size for {missing} in {args.sizes}:\n{text}")
    return out


# ---------------------------------------------------------------- 6. cost
def template_default(param, fallback):
    text = (Path(__file__).resolve().parent.parent / "template.yaml").read_text()
    m = re.search(rf"^  {param}:\n(?:    .*\n)*?    Default: (\d+)", text, re.M)
    return int(m.group(1)) if m else fallback


def aws_wait_ms(entry):
    """Assumed wall time waiting on AWS for the calls section 4 counted in `entry`."""
    return entry["dynamodb_round_trips"] * LATENCY_MS["DynamoDB"] + sum(
        LATENCY_MS.get(c["service"], 25.0) for c in entry["other_aws_calls"]
    )


def own_sqs_requests(entry):
    """SQS requests the function itself makes (SendMessage; the courier's retries and dead
    letters), not the event source mapping's."""
    return sum(1 for c in entry["other_aws_calls"] if c["service"] == "SQS")


def courier_job(rt, fn):
    """What the courier did with the job `fn` queued (section 4), or None if it queued none."""
    e = rt.get(f"{fn} courier")
    if not e or not (e["dynamodb_round_trips"] or e["other_aws_calls"]):
        return None
    return e


def courier_cpu_us(results):
    """CPU of one courier job over the in-memory adapters. Section 2's forgot-password
    scenario runs the in-memory queue, which delivers each job inline: its figure is the
    request and the courier's job together, so it bounds the job from above."""
    return results["warm"]["criterion_median_us"]["forgot-password"]


def ddb_usd(entry):
    return entry["write_request_units"] * PRICES["dynamodb_wru"] + entry["read_request_units"] * PRICES["dynamodb_rru"]


def cost(results):
    memory = {
        "guest-reset": template_default("GuestResetMemorySize", 256),
        "forgot-password": template_default("ForgotPasswordMemorySize", 256),
        "password-confirm": template_default("ConfirmMemorySize", 1024),
        COURIER: template_default("CourierMemorySize", 256),
    }
    batch = template_default("CourierBatchSize", 5)
    batches = sorted({1, batch})
    argon2_ms = median(production_hash(results["argon2"])[1])
    rt_all = results["round_trips"]
    rows = {}
    for fn in FUNCTIONS:
        cpu_ms = warm_minus_hash(results)[fn] / 1e3
        if fn == "password-confirm":
            cpu_ms += argon2_ms
        rt = rt_all[fn]
        io_ms = aws_wait_ms(rt)
        mem = memory[fn]
        cpu_at_size = cpu_ms * max(1.0, FULL_VCPU_MB / mem)
        billed_ms = math.ceil(cpu_at_size + io_ms)
        gb_s = billed_ms / 1e3 * mem / 1024
        lambda_usd = gb_s * PRICES["lambda_arm64_gb_s"] + PRICES["lambda_request"]
        rows[fn] = {
            "memory_mb": mem, "cpu_ms_1vcpu": cpu_ms, "cpu_ms_at_size": cpu_at_size, "io_ms": io_ms,
            "billed_ms": billed_ms, "gb_s": gb_s, "lambda_usd": lambda_usd, "dynamodb_usd": ddb_usd(rt),
            "sqs_usd": own_sqs_requests(rt) * PRICES["sqs_request"],
        }
    # The courier: one invocation per batch of jobs, one after another inside it, billed as
    # one duration; Lambda's event source mapping receives each batch (one ReceiveMessage)
    # and deletes it (one DeleteMessageBatch), SQS requests billed to the queue.
    jobs = {}
    mem = memory[COURIER]
    cpu_ms = courier_cpu_us(results) / 1e3
    for fn in FUNCTIONS:
        e = courier_job(rt_all, fn)
        if e is None:
            continue
        cpu_at_size = cpu_ms * max(1.0, FULL_VCPU_MB / mem)
        job_ms = cpu_at_size + aws_wait_ms(e)
        by_batch = {}
        for b in batches:
            billed = math.ceil(b * job_ms)
            by_batch[str(b)] = {
                "billed_ms_per_invocation": billed,
                "lambda_usd": (billed / 1e3 * mem / 1024 * PRICES["lambda_arm64_gb_s"] + PRICES["lambda_request"]) / b,
                "sqs_usd": (own_sqs_requests(e) + 2 / b) * PRICES["sqs_request"],
            }
        jobs[fn] = {
            "memory_mb": mem, "cpu_ms_1vcpu": cpu_ms, "cpu_ms_at_size": cpu_at_size, "io_ms": aws_wait_ms(e),
            "job_ms": job_ms, "dynamodb_usd": ddb_usd(e), "by_batch": by_batch,
        }

    def courier_usd(fn, b, what):
        return jobs[fn]["by_batch"][str(b)][what] if fn in jobs else 0.0

    flows = {
        "B+C (link)": ("forgot-password", "password-confirm"),
        "A+C (staff code)": ("guest-reset", "password-confirm"),
    }
    per_million = {}
    for name, steps in flows.items():
        per_million[name] = {
            "dynamodb": 1e6 * sum(rows[f]["dynamodb_usd"] + (jobs[f]["dynamodb_usd"] if f in jobs else 0.0) for f in steps),
            "by_batch": {
                str(b): {
                    "lambda": 1e6 * sum(rows[f]["lambda_usd"] + courier_usd(f, b, "lambda_usd") for f in steps),
                    "sqs": 1e6 * sum(rows[f]["sqs_usd"] + courier_usd(f, b, "sqs_usd") for f in steps),
                }
                for b in batches
            },
        }
        per_million[name]["lambda"] = per_million[name]["by_batch"][str(batch)]["lambda"]
    # What the confirm memory size does to B+C: less memory, less CPU, longer but cheaper.
    sweep = {}
    x = rows["password-confirm"]
    rest = {str(b): 1e6 * (rows["forgot-password"]["lambda_usd"] + courier_usd("forgot-password", b, "lambda_usd")
                           + courier_usd("password-confirm", b, "lambda_usd")) for b in batches}
    for m in (256, 512, 1024, FULL_VCPU_MB):
        billed = math.ceil(x["cpu_ms_1vcpu"] * max(1.0, FULL_VCPU_MB / m) + x["io_ms"])
        usd = billed / 1e3 * m / 1024 * PRICES["lambda_arm64_gb_s"] + PRICES["lambda_request"]
        sweep[str(m)] = {"billed_ms": billed, "b_c_lambda": rest[str(batch)] + 1e6 * usd,
                         "b_c_lambda_by_batch": {k: v + 1e6 * usd for k, v in rest.items()}}
    return {"rows": rows, "courier": jobs, "batch": batch, "batches": batches, "per_million": per_million,
            "confirm_memory": sweep}


def production_hash(a):
    """What the production path's Argon2id was timed with, and its figures: wall time, or
    (results of runs before 2026-12-01, which timed no wall clock) process CPU."""
    if a.get("rust_production_wall_ms"):
        return "wall time", a["rust_production_wall_ms"]
    return "process CPU", a.get("rust_production_cpu_ms") or a["rust_production_ms"]


def warm_minus_hash(results):
    w = results["warm"]["criterion_median_us"]
    return {
        "guest-reset": w["guest-reset"],
        "forgot-password": w["forgot-password"],
        "password-confirm": w["password-confirm"] - w["minimal-hash"],
    }


# ---------------------------------------------------------------- report
def machine():
    lscpu = subprocess.run(["lscpu"], text=True, capture_output=True).stdout
    model = re.search(r"Model name:\s*(.+)", lscpu)
    rustc = subprocess.run(["rustc", "--version"], text=True, capture_output=True).stdout.strip()
    mem = re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text())
    return {
        "cpu": model.group(1).strip() if model else platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem.group(1)) / 2**20, 1) if mem else None,
        "kernel": platform.release(),
        "arch": platform.machine(),
        "rustc": rustc,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def report(r):
    m = r["machine"]
    L = []
    L.append("# Benchmarks\n")
    L.append("Written by `bash scripts/bench.sh` (the table below is its output). Numbers, not tests: nothing")
    L.append("asserts a time. Rerun to refresh; the machine is shared, so wall-clock figures move by a few")
    L.append("percent between runs, instruction counts do not.\n")
    L.append(f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['arch']}, Linux {m['kernel']}")
    L.append(f"- Toolchain: {m['rustc']}; {r.get('build', WORKSPACE_RELEASE)}")
    reruns = latest_reruns(r)
    if reruns:
        titles = {"cold_start": "1", "warm": "2", "argon2": "3", "round_trips": "4", "hot_items": "4b", "sizes": "5"}
        parts = []
        for rr, sections in reruns:
            which = ", ".join(titles.get(k, k) for k in sections)
            built = f"; its release binaries: {rr['build']}" if rr.get("build", WORKSPACE_RELEASE) != r.get("build", WORKSPACE_RELEASE) else ""
            command = rr.get("command", f"run.py --sections {' '.join(rr['sections'])} --reuse")
            parts.append(f"section{'s' if len(sections) > 1 else ''} {which} measured again {rr['date']} (`{command}`{built})")
        L.append(f"- Date: {m['date']}; " + "; ".join(parts) + f"; the rest from the run of {m['date']}\n")
    else:
        L.append(f"- Date: {m['date']}\n")

    # 1
    cs = r["cold_start"]
    hello = cs["hello-world"]["median_ms"]
    L.append("## 1. Cold start (native x86_64 release binaries, spawn → first `invocation/next`)\n")
    L.append(f"{r['runs']} runs each, interleaved, against a mock Runtime API on loopback. Target: median ≤ 10 ms (stretch 5 ms) and ≤ 1.5× hello-world.\n")
    cold_build = next((rr.get("build", WORKSPACE_RELEASE) for rr, sections in latest_reruns(r) if "cold_start" in sections),
                      r.get("build", WORKSPACE_RELEASE))
    if cold_build != WORKSPACE_RELEASE:
        L.append("The binaries of this section are not the workspace's release profile (see Date above). Without fat "
                 "LTO they are larger and load more pages, so they start slower than the shipped build: compare the "
                 "rows of this section with each other, not with runs of the release profile.\n")
    L.append("| binary | min ms | median ms | max ms | × hello-world | other connects at init | cert-store files read |")
    L.append("|---|---:|---:|---:|---:|---|---:|")
    for name in started(cs) + ["hello-world"]:
        c = cs[name]
        io = c.get("init_io", {})
        conns = io.get("connects_other_than_runtime_api", ["?"])
        L.append(f"| {name} | {fmt(c['min_ms'])} | {fmt(c['median_ms'])} | {fmt(c['max_ms'])} | {fmt(c['median_ms'] / hello)} | "
                 f"{'none' if conns == [] else '; '.join(conns)} | {io.get('certificate_store_files_opened', '?')} |")
    L.append("")
    L.extend(cold_start_ssm(cs))

    # 2
    w = r["warm"]
    mh = warm_minus_hash(r)
    ir = w["instructions_per_request"]
    lo, hi = w["callgrind_requests"]
    L.append("## 2. Warm path CPU per request (in-process over the in-memory adapters: SDK serialisation, signing and HTTP excluded; Argon2 excluded)\n")
    L.append("The shipped success event parsed by `lambda_http` and answered by the real handler; criterion median. "
             "Confirm runs with the smallest Argon2id parameters (m=8 KiB, t=1) and the time of one such hash "
             f"({fmt(w['criterion_median_us']['minimal-hash'])} µs, measured alongside) is subtracted. "
             f"Instructions: `valgrind --tool=callgrind`, ({hi} − {lo} requests) / {hi - lo}, confirm also minus the code issuance "
             "before it and the minimal hash. Target: ≤ 50 µs.\n")
    L.append("| endpoint | µs / request | instructions / request |")
    L.append("|---|---:|---:|")
    for fn in FUNCTIONS:
        L.append(f"| {fn} | {fmt(mh[fn], 1)} | {ir[fn]:,.0f} |")
    L.append(f"| of which password-confirm's policy (NFKC, length, own identifiers, zxcvbn) | "
             f"{fmt(w['criterion_median_us']['password-policy'], 1)} | {ir['password-policy']:,.0f} |")
    L.append("")
    sdk = w.get("sdk_cpu_us")
    clients = "DynamoDB and SQS as the functions build them; the courier's SES and SNS are not run" if w.get("delivery") == "queued" \
        else "DynamoDB, SES v2, SNS as the functions built them then"
    L.append(f"The same endpoints over the real SDK clients ({clients}) "
             "against the emulator: SDK serialisation, request signing, the HTTP client and response parsing "
             "included, the emulator's own work (another process) not. Process CPU per request, median of "
             f"{sdk['guest-reset']['requests'] if sdk else '-'} requests after 5 untimed; confirm minus the minimal hash as above.\n")
    L.append("| endpoint | in-memory adapters µs / request | real SDK clients, emulator µs / request (process CPU) |")
    L.append("|---|---:|---:|")
    for fn in FUNCTIONS:
        if sdk:
            x = sdk[fn]["median_us"] - (w["criterion_median_us"]["minimal-hash"] if fn == "password-confirm" else 0)
            L.append(f"| {fn} | {fmt(mh[fn], 1)} | {fmt(x, 1)} |")
        else:
            L.append(f"| {fn} | {fmt(mh[fn], 1)} | not measured in this run |")
    L.append("")
    if w.get("delivery") == "queued":
        L.append("Times are process CPU time (every thread), not wall time. Each endpoint queues its delivery job; "
                 "the in-memory queue hands it to the courier at once, so every in-memory figure is the request and "
                 "its courier job together (in production, two functions); over the SDK clients the job goes to SQS "
                 "and stays there, so that column is the request alone.\n")
    else:
        L.append("Measured before delivery left the request path (the run of "
                 f"{m['date']}): forgot-password then looked the person up, issued and sent inline, and slept until "
                 "its response floor (even at zero, `sleep_until` parks the runtime until the timer's next tick: "
                 "kernel CPU time, which the CPU clock counts and callgrind does not). Each figure is an upper bound "
                 "of what the function now does alone. Times are process CPU time (every thread), not wall time.\n")

    # 3
    a = r["argon2"]
    prod_kind, prod_ms = production_hash(a)
    rust_med, cffi_med = median(prod_ms), median(a["cffi_ms"])
    L.append("## 3. Argon2id, m=19456 KiB, t=2, p=1, 32-byte output\n")
    L.append(f"{len(a['cffi_ms'])} hashes each, in rounds that alternate the implementations (two hashes each per round, "
             f"after one untimed hash per process), same password and salt (identical output: {ok(a['same_output'])}). "
             "Each row says what it measures. Target: the production path (what password-confirm runs) ≤ 1.1× the "
             "argon2-cffi median, both in wall time.\n")
    L.append("| implementation | measures | min ms | median ms | max ms | × argon2-cffi |")
    L.append("|---|---|---:|---:|---:|---:|")
    v = a["versions"]
    rows = [
        ("Rust, production path (`HashParams::hash`: fresh buffer, PHC string)", "wall time of the call", a.get("rust_production_wall_ms")),
        ("Rust, production path (`HashParams::hash`)", "process CPU time (every thread)", a.get("rust_production_cpu_ms") or a.get("rust_production_ms")),
        ("Rust `argon2` 0.5, reused pre-faulted buffer (not the production path)", "wall time of the call", a["rust_reused_ms"]),
        (f"argon2-cffi {v['argon2-cffi']} (bindings {v['argon2-cffi-bindings']}), `hash_secret_raw` in-process", "wall time of the call", a["cffi_ms"]),
        (f"Debian `argon2` {v['debian argon2']}", "its own timer: `clock()`, process CPU, printed to 1 ms", a["cli_self_ms"]),
        ("Debian `argon2`", "wall time of the whole process", a["cli_wall_ms"]),
    ]
    for label, what, xs in rows:
        if xs:
            L.append(f"| {label} | {what} | {fmt(min(xs))} | {fmt(median(xs))} | {fmt(max(xs))} | {fmt(median(xs) / cffi_med)} |")
        else:
            L.append(f"| {label} | {what} | not measured in this run | | | |")
    L.append("")

    # 4
    rt = r["round_trips"]
    L.append("## 4. DynamoDB round trips per request (success path, moto, counted by an SDK interceptor)\n")
    L.append("Target: ≤ 6 on each endpoint's success path (≤ 8 with an `Idempotency-Key`, whose claim and stored answer are two writes more), every write conditional. "
             "Units: writes 1 WRU per KB (2 in a transaction), reads 1 RRU per 4 KB strongly consistent. "
             "Each request is a sandbox's first: the API key is read from the table (a warm sandbox serves it from its cache for "
             "`RESETKIT_KEY_CACHE_SECONDS`, one round trip less), except in the rows `<endpoint> with Idempotency-Key`, which run next in "
             "the same sandbox and so find the key cached (a first request with a key makes one more). An audit event is one "
             "conditional `PutItem` of its own, with no read.\n")
    has_courier = any(f"{fn} courier" in rt for fn in FUNCTIONS)
    if has_courier:
        L.append("Delivery is off the request path: each endpoint puts a job on SQS (`SendMessage`) and the courier "
                 "function does the rest. The row `<endpoint> courier` is what the courier did with that job, counted "
                 "while `courier::local::drain` delivered it. The drain plays Lambda's SQS event source mapping: its "
                 "`ReceiveMessage` and `DeleteMessageBatch` are the mapping's calls in production, not the function's "
                 "(SQS requests, no Lambda time), so they are in the last column and in no other (the drain's last "
                 "receive, which finds the queue empty, is one of them; the mapping's own polling is not per job). "
                 "`SendMessage`, and the courier's `ChangeMessageVisibility` or dead-letter `SendMessage` when a send "
                 "is retried or given up, are the functions' own.\n")
    L.append("| endpoint | status | round trips | calls | writes (table: condition) | all writes conditional | WRU | RRU | "
             "other AWS calls (the function's) | SQS calls of the event source mapping |")
    L.append("|---|---:|---:|---|---|---|---:|---:|---|---|")
    for fn in FUNCTIONS:
        for key in (fn, f"{fn} courier", f"{fn} with Idempotency-Key"):
            if key not in rt:
                continue
            e = rt[key]
            calls = ", ".join(
                f"{c['operation']}({', '.join(i['table'] for i in c['items'])})" if c["operation"].startswith("Transact")
                else f"{c['operation']}({c['table']})"
                for c in e["dynamodb_calls"]
            ) or "none"
            counted = {}
            for w in e["write_items"]:
                k = f"{w['kind']} {w['table']}: `{w['condition'] or 'NONE'}`"
                counted[k] = counted.get(k, 0) + 1
            writes = "; ".join(f"{n}× {k}" if n > 1 else k for k, n in counted.items()) or "none"
            other = ", ".join(f"{c['service']} {c['operation']}" for c in e["other_aws_calls"]) or "none"
            mapping = ", ".join(c["operation"] for c in e.get("event_source_mapping_calls", [])) or "none"
            status = "-" if key.endswith(" courier") else e["status"]
            L.append(f"| {key} | {status} | {e['dynamodb_round_trips']} | {calls} | {writes} | {ok(e['all_writes_conditional'])} | "
                     f"{e['write_request_units']:g} | {e['read_request_units']:g} | {other} | {mapping} |")
    L.append("")

    # 4b
    if r.get("hot_items"):
        L.extend(hot_items_report(r["hot_items"]))

    # 5
    s = r["sizes"]
    L.append("## 5. Artifact size (arm64 `bootstrap.zip`, `cargo lambda build --release --arm64 --output-format zip`)\n")
    L.append("Target: ≤ 4 MB (10⁶ bytes) per function.\n")
    L.append("| function | bytes | MB (10⁶ bytes) | MiB |")
    L.append("|---|---:|---:|---:|")
    for fn in FUNCTIONS:
        L.append(f"| {fn} | {s[fn]:,} | {fmt(s[fn] / 1e6)} | {fmt(s[fn] / 2**20)} |")
    L.append("")

    # 6
    c = r["cost"]
    b = c["batch"]
    others = [x for x in c["batches"] if x != b]
    L.append("## 6. Cost of one million completed resets (request + confirm, with the courier's deliveries), SES/SNS excluded\n")
    L.append(f"Prices (us-east-1, as published, assumed current on {PRICES['date']}): Lambda arm64 "
             f"${PRICES['lambda_arm64_gb_s']} per GB-s and $0.20 per million requests; DynamoDB on-demand "
             f"$0.625 per million write and $0.125 per million read request units; SQS standard $0.40 per million "
             "requests, each 64 KiB of payload one request (every job is one chunk). Memory: the template's defaults. "
             f"CPU: the warm figure above (confirm: plus the production-path Argon2 median), stretched by "
             f"{FULL_VCPU_MB} MB / memory (Lambda's CPU share). Waiting on AWS, assumed: DynamoDB "
             f"{LATENCY_MS['DynamoDB']:g} ms, SES/SNS {LATENCY_MS['SESv2']:g} ms, SQS {LATENCY_MS['SQS']:g} ms per call, "
             "times the function's own calls counted in section 4. No response floor: forgot-password answers as soon as "
             "its job is queued. Billed per 1 ms. Cold starts ignored (section 1: a few ms, a small share of invocations).\n")
    L.append("| function | memory MB | CPU ms (1 vCPU) | CPU ms at size | AWS wait ms | billed ms | Lambda $/1M invocations | DynamoDB $/1M | SQS $/1M |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for fn in FUNCTIONS:
        x = c["rows"][fn]
        L.append(f"| {fn} | {x['memory_mb']} | {fmt(x['cpu_ms_1vcpu'], 3)} | {fmt(x['cpu_ms_at_size'], 2)} | {x['io_ms']:g} | "
                 f"{x['billed_ms']} | {fmt(x['lambda_usd'] * 1e6)} | {fmt(x['dynamodb_usd'] * 1e6)} | {fmt(x['sqs_usd'] * 1e6)} |")
    L.append("")
    if c["courier"]:
        bs = " / ".join(str(x) for x in c["batches"])
        L.append(f"The courier, for each job an endpoint queued (section 4's `<endpoint> courier` rows): one invocation per batch "
                 f"of jobs, done one after another and billed as one duration, rounded up per invocation. Batch size: "
                 f"{b}, the template's `CourierBatchSize`, as on a busy queue; and 1, as on a quiet one (the template sets "
                 "no batching window, so the event source mapping invokes as soon as a job is there). Its CPU per job is "
                 "not measured apart: section 2's forgot-password figure stands in for every job, an upper bound (it covers "
                 "the request and the link's lookup, limits, issuing and sending together: inline before delivery "
                 "moved, through the in-memory queue, which delivers at once, since). SQS per job: the "
                 "function's own calls, plus the event source mapping's one `ReceiveMessage` and one `DeleteMessageBatch` "
                 "per batch; the mapping's empty long polls while the queue is idle are a fixed cost per hour, not per "
                 "reset, and are not counted.\n")
        L.append(f"| courier job queued by | memory MB | CPU ms (1 vCPU) | CPU ms at size | AWS wait ms | ms per job | "
                 f"billed ms per invocation, batch {bs} | Lambda $/1M jobs, batch {bs} | DynamoDB $/1M jobs | SQS $/1M jobs, batch {bs} |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for fn, x in c["courier"].items():
            per = [x["by_batch"][str(n)] for n in c["batches"]]
            L.append(f"| {fn} | {x['memory_mb']} | {fmt(x['cpu_ms_1vcpu'], 3)} | {fmt(x['cpu_ms_at_size'], 2)} | {x['io_ms']:g} | "
                     f"{fmt(x['job_ms'], 1)} | {' / '.join(str(p['billed_ms_per_invocation']) for p in per)} | "
                     f"{' / '.join(fmt(p['lambda_usd'] * 1e6) for p in per)} | {fmt(x['dynamodb_usd'] * 1e6)} | "
                     f"{' / '.join(fmt(p['sqs_usd'] * 1e6) for p in per)} |")
        L.append("")
    L.append(f"| flow | Lambda $ per 1M resets, courier batch {b} | "
             + "".join(f"Lambda $, batch {x} | " for x in others)
             + "DynamoDB $ per 1M resets | "
             + f"SQS $ per 1M resets, batch {b} |" + "".join(f" SQS $, batch {x} |" for x in others))
    L.append("|---|" + "---:|" * (3 + 2 * len(others)))
    for name, x in c["per_million"].items():
        L.append(f"| {name} | {fmt(x['lambda'])} | " + "".join(f"{fmt(x['by_batch'][str(o)]['lambda'])} | " for o in others)
                 + f"{fmt(x['dynamodb'])} | {fmt(x['by_batch'][str(b)]['sqs'])} |"
                 + "".join(f" {fmt(x['by_batch'][str(o)]['sqs'])} |" for o in others))
    L.append("")
    bc = c["per_million"]["B+C (link)"]
    L.append(f"Lambda per million B+C resets: ${fmt(bc['lambda'])} at courier batches of {b}"
             + "".join(f", ${fmt(bc['by_batch'][str(o)]['lambda'])} at batches of {o}" for o in others)
             + f"; issue #16 asks for less than ${fmt(ISSUE_16_LAMBDA_USD)} "
             + ("(met at every batch size shown)." if all(v["lambda"] < ISSUE_16_LAMBDA_USD for v in bc["by_batch"].values())
                else f"(met at batches of {', '.join(k for k, v in bc['by_batch'].items() if v['lambda'] < ISSUE_16_LAMBDA_USD) or 'none'}; "
                     f"not at {', '.join(k for k, v in bc['by_batch'].items() if v['lambda'] >= ISSUE_16_LAMBDA_USD)})."))
    L.append("")
    L.append("With other memory sizes for password-confirm (less memory: less CPU, so Argon2 takes longer, "
             "but the wait on AWS is billed at fewer GB):\n")
    L.append("| confirm memory MB | confirm billed ms | " + " | ".join(f"B+C Lambda $ per 1M resets, courier batch {x}" for x in c["batches"]) + " |")
    L.append("|---:|---:|" + "---:|" * len(c["batches"]))
    for mem, x in c["confirm_memory"].items():
        per = x.get("b_c_lambda_by_batch", {str(b): x["b_c_lambda"]})
        L.append(f"| {mem} | {x['billed_ms']} | " + " | ".join(fmt(per[str(n)]) for n in c["batches"]) + " |")
    L.append("")

    # summary
    worst_cold = max(cs[f]["median_ms"] for f in started(cs))
    worst_ratio = max(cs[f]["median_ms"] / hello for f in started(cs))
    worst_warm = max(mh.values())
    ratio = rust_med / cffi_med  # the production path
    worst_rt = max(rt[f]["dynamodb_round_trips"] for f in FUNCTIONS)
    all_cond = all(rt[f]["all_writes_conditional"] for f in FUNCTIONS)
    worst_zip = max(s.values()) / 1e6
    lam = c["per_million"]["B+C (link)"]["lambda"]
    clean = all(cs[f].get("init_io", {}).get("connects_other_than_runtime_api") == [] and
                cs[f].get("init_io", {}).get("certificate_store_files_opened") == 0 for f in started(cs))
    L.append("## Targets\n")
    L.append("| target | reached | met |")
    L.append("|---|---|---|")
    L.append(f"| cold start median ≤ 10 ms (stretch 5) | {fmt(worst_cold)} ms (slowest function){', stretch met' if worst_cold <= 5 else ''} | {ok(worst_cold <= 10)} |")
    L.append(f"| cold start ≤ 1.5× hello-world | {fmt(worst_ratio)}× (hello-world {fmt(hello)} ms) | {ok(worst_ratio <= 1.5)} |")
    L.append(f"| no network I/O or cert-store scan at init | {'none seen under strace' if clean else 'see section 1'} | {ok(clean)} |")
    if all(f"{f}@ssm" in cs for f in started(cs)):
        worst_ssm = max(cs[f"{f}@ssm"]["median_ms"] for f in started(cs))
        only_ssm = all(cs[f"{f}@ssm"].get("init_io", {}).get("connects_other_than_runtime_api") == [] and
                       len(cs[f"{f}@ssm"].get("init_io", {}).get("connects_to_parameter_store", [])) >= 1 and
                       cs[f"{f}@ssm"].get("init_io", {}).get("certificate_store_files_opened") == 0 for f in started(cs))
        L.append(f"| cold start median ≤ 10 ms with the code secrets read from Parameter Store (emulator, a lower bound) | "
                 f"{fmt(worst_ssm)} ms (slowest function) | {ok(worst_ssm <= 10)} |")
        L.append(f"| with the parameter read: no network I/O at init but Parameter Store, no cert-store scan | "
                 f"{'as expected under strace' if only_ssm else 'see section 1'} | {ok(only_ssm)} |")
    L.append(f"| warm path ≤ 50 µs per request (in-memory adapters) | {fmt(worst_warm, 1)} µs (slowest endpoint) | {ok(worst_warm <= 50)} |")
    reused_ratio = median(a["rust_reused_ms"]) / cffi_med
    L.append(f"| Argon2id production path ≤ 1.1× argon2-cffi | {fmt(ratio)}× median, production path {prod_kind} vs argon2-cffi wall time "
             f"({fmt(rust_med)} vs {fmt(cffi_med)} ms; the reused-buffer path, not used in production: {fmt(reused_ratio)}×) | {ok(ratio <= 1.1)} |")
    keyed_rt = [rt[f"{f} with Idempotency-Key"] for f in FUNCTIONS if f"{f} with Idempotency-Key" in rt]
    jobs_rt = [rt[f"{f} courier"] for f in FUNCTIONS if f"{f} courier" in rt]
    all_cond = all_cond and all(e["all_writes_conditional"] for e in keyed_rt + jobs_rt)
    worst_keyed = max((e["dynamodb_round_trips"] for e in keyed_rt), default=None)
    L.append(f"| DynamoDB round trips ≤ 6 per endpoint (≤ 8 with an `Idempotency-Key`), writes conditional | {worst_rt} (most, "
             + (f"{worst_keyed} with a key" if worst_keyed is not None else "with a key: not measured")
             + f"); conditional: {'all' if all_cond else 'not all'} | "
             + f"{ok(worst_rt <= 6 and (worst_keyed is None or worst_keyed <= 8) and all_cond)} |")
    if jobs_rt:
        worst_job = max(e["dynamodb_round_trips"] for e in jobs_rt)
        L.append(f"| a courier job's DynamoDB round trips ≤ 6 (off the request path) | {worst_job} (most) | {ok(worst_job <= 6)} |")
    if r.get("hot_items"):
        worst_share = max(x["writes"]["largest_share_percent"] for x in r["hot_items"])
        L.append(f"| #18: largest share of all writes on one item ≤ 1 % (section 4b's mixed load) | {worst_share:.2f} % (most, "
                 f"of {len(r['hot_items'])} loads) | {ok(worst_share <= 1)} |")
    zip_worst_fn = max(FUNCTIONS, key=lambda f: s[f])
    L.append(f"| zip ≤ 4 MB per function | {fmt(worst_zip)} MB ({zip_worst_fn}, the largest) | {ok(worst_zip <= TARGETS['zip_mb'])} |")
    L.append(f"| ≤ $2 of Lambda per 1M resets | ${fmt(lam)} (B+C, courier batches of {c['batch']}) | {ok(lam <= 2)} |")
    by_batch = c["per_million"]["B+C (link)"]["by_batch"]
    L.append(f"| #16: Lambda per 1M B+C resets < ${fmt(ISSUE_16_LAMBDA_USD)} | "
             + ", ".join(f"${fmt(v['lambda'])} at courier batches of {k}" for k, v in by_batch.items()) + " | "
             + "; ".join(f"{ok(v['lambda'] < ISSUE_16_LAMBDA_USD)} at batches of {k}" for k, v in by_batch.items()) + " |")
    L.append("")
    L.extend(notes(r, mh, ir, rt, c, cs, hello))
    return "\n".join(L)


def hot_items_report(runs):
    L = ["## 4b. Hot items under a mixed load (moto, every DynamoDB write counted per item by an SDK interceptor)\n"]
    L.append(f"Target: no single item takes more than 1 % of all writes, at any load. `target/debug/load PEOPLE "
             f"{LOAD_CONCURRENCY} {LOAD_STAFF_KEYS}` (`benches/src/bin/load.rs`): for each person, a staff reset through one of "
             f"{LOAD_STAFF_KEYS} employee keys (each desk its own address), a forgot-password for them and one for somebody "
             "unknown through the shared portal key, and a wrong confirm guess through the shared browser key (one source "
             f"address per person asking), {LOAD_CONCURRENCY} at a time through the functions' handlers; then the courier "
             "delivers what was queued. An item is a table's full primary key: each audit event and each rate-limit window "
             "is its own.\n")
    L.append("| people | requests | answers | courier jobs | writes | items written | largest share of one item | that item |")
    L.append("|---:|---:|---|---:|---:|---:|---:|---|")
    for run_ in runs:
        w = run_["writes"]
        top = w["hottest"][0] if w["hottest"] else {"table": "-", "item": "-", "writes": 0}
        answers = "; ".join(f"{k}: " + ", ".join(f"{n}× {st}" for st, n in v.items()) for k, v in run_["answers"].items())
        L.append(f"| {run_['people']} | {run_['requests']} | {answers} | {run_['courier_jobs']} | {w['total']} | {w['items']} | "
                 f"{w['largest_share_percent']:.2f} % | {top['table']}: `{top['item']}` ({top['writes']} writes) |")
    last = runs[-1]
    per_request = last["writes"]["total"] / last["requests"]
    L.append("")
    L.append(f"How the share grows with load: it does not, at a given mix. About {per_request:.1f} writes per request; every "
             "audit event, verification and person is an item of its own, and a shared key's counters are kept per key and "
             "source address, so the only items that many requests share are those of one asker: a staff desk's key and "
             "address counters (one write each per reset through that desk, per window). With a quarter of the requests "
             f"being staff resets spread over K desks, the hottest item's share is (N/4/K) / ({per_request:.1f} N) = "
             f"1 / ({4 * per_request:.0f} K): {100 / (4 * per_request * LOAD_STAFF_KEYS):.2f} % for K = {LOAD_STAFF_KEYS}, "
             "whatever N, as the rows show. More load from more askers spreads further; more load from one asker is capped "
             "by that asker's own limit (a refused request still costs its counter one conditional write, which DynamoDB "
             "serves up to 1,000 per second per item). The share passes 1 % only when fewer than "
             f"{max(1, int(100 / (4 * per_request)) + 1)} desks carry a quarter of a stage's traffic.\n")
    return L


def notes(r, mh, ir, rt, c, cs, hello):
    """What holds back each missed target, from this run's figures."""
    w = r["warm"]["criterion_median_us"]
    N = ["## What holds back the missed targets\n"]
    worst = max(started(cs), key=lambda f: cs[f]["median_ms"])
    if cs[worst]["median_ms"] / hello > 1.5:
        N.append(f"- **Cold start vs hello-world.** {fmt(cs[worst]['median_ms'] - hello)} ms more than a hello-world that is itself "
                 f"{fmt(hello)} ms. Where the time goes is an earlier observation, not measured by this run "
                 f"({COLD_START_PROFILE_DATE}, `perf` over one start of the binaries of that day): most of a start was loading, not resetkit, about 45% in the "
                 "kernel (exec, page faults on a 10 MB x86_64 binary against 1.7 MB for hello-world) and 20% in the dynamic "
                 "loader (about 34,000 relative relocations of a PIE), about 25% in the binary itself (configuration, "
                 "`aws_config` loading, three SDK clients that each build their TLS connector at construction). "
                 "Next steps, not taken: a static non-PIE build to drop the relocations, fewer SDK clients.")
    if mh["password-confirm"] > TARGETS["warm_us"]:
        share = w["password-policy"] / mh["password-confirm"]
        N.append(f"- **password-confirm warm path.** The password policy alone is {fmt(w['password-policy'], 1)} µs "
                 f"({share:.0%} of the endpoint): zxcvbn's strength estimate (a maintained "
                 "strength estimator, not a hand-made list). The rest of the endpoint is "
                 f"{fmt(mh['password-confirm'] - w['password-policy'], 1)} µs.")
    if mh["forgot-password"] > TARGETS["warm_us"]:
        N.append(f"- **forgot-password warm path.** It runs {ir['forgot-password']:,.0f} instructions against guest-reset's "
                 f"{ir['guest-reset']:,.0f}, yet takes {fmt(mh['forgot-password'], 1)} µs of CPU against "
                 f"{fmt(mh['guest-reset'], 1)}" + (
                     ": measured with the old response floor, whose `sleep_until` parked and woke the runtime (kernel "
                     "time, a timer even at zero); the floor is gone." if r["warm"].get("delivery") != "queued" else
                     "; not examined further in this run."))
    jobs = {f: rt[f"{f} courier"]["dynamodb_round_trips"] for f in FUNCTIONS if f"{f} courier" in rt}
    if max(rt[f]["dynamodb_round_trips"] for f in FUNCTIONS) > TARGETS["round_trips"]:
        worst = max(FUNCTIONS, key=lambda f: rt[f]["dynamodb_round_trips"])
        N.append(f"- **DynamoDB round trips.** {worst} makes {rt[worst]['dynamodb_round_trips']} on a sandbox's first "
                 "request (the API key read included).")
    if jobs and max(jobs.values()) > TARGETS["round_trips"]:
        worst = max(jobs, key=jobs.get)
        N.append(f"- **A courier job's round trips.** The job forgot-password queues takes {jobs[worst]}: it checks whether "
                 "an earlier delivery of the same job issued its link already (GetItem), looks the person up (Query, "
                 "GetItem), counts the recipient budgets (one transaction), issues the link (one transaction), checks "
                 "the address is not suppressed (GetItem), records the send and audits it. Off the request path, so no "
                 "one waits on it; folding the suppression check into the lookup is the next step, not taken.")
    a = r["argon2"]
    prod_kind, prod_ms = production_hash(a)
    if median(prod_ms) / median(a["cffi_ms"]) > TARGETS["argon2_ratio"]:
        N.append(f"- **Argon2id.** The production path (`HashParams::hash`) takes {fmt(median(prod_ms))} ms ({prod_kind}, median) "
                 f"against argon2-cffi's {fmt(median(a['cffi_ms']))} ms; the same hash into a reused, pre-faulted buffer takes "
                 f"{fmt(median(a['rust_reused_ms']))} ms. The difference is allocating and faulting in a fresh 19 MiB buffer on "
                 "every hash. Next step, not taken: hash into a per-thread buffer kept across requests "
                 "(`hash_password_into_with_memory`) and build the PHC string from its output.")
    over = [f for f in FUNCTIONS if r["sizes"][f] / 1e6 > TARGETS["zip_mb"]]
    if over:
        N.append("- **Zip size.** Over 4 MB: " + ", ".join(f"{f} {fmt(r['sizes'][f] / 1e6)} MB" for f in over) + ". "
                 "password-confirm alone uses the password policy (zxcvbn and its dictionaries) and serves the reset "
                 "page with its assets; how much each adds is not measured here.")
    lam = c["per_million"]["B+C (link)"]["lambda"]
    if lam > TARGETS["lambda_usd"]:
        pc = c["rows"]["password-confirm"]
        others = {k: v["lambda"] for k, v in c["per_million"]["B+C (link)"]["by_batch"].items() if k != str(c["batch"])}
        N.append(f"- **Cost.** ${fmt(lam)} of Lambda per million B+C resets (courier batches of {c['batch']}"
                 + "".join(f"; ${fmt(v)} at batches of {k}" for k, v in others.items()) + "). "
                 "Which batch size applies depends on traffic: the template sets no batching window, so the event source "
                 "mapping invokes the courier as soon as it finds a job, and a million resets a month is about 0.4 a "
                 "second, at which most batches would hold one job (an estimate, not measured here). A batching window "
                 "(`MaximumBatchingWindowInSeconds`) would fill batches at the price of delaying the mail by up to that "
                 "window. "
                 f"password-confirm is ${fmt(pc['lambda_usd'] * 1e6)} of it: Argon2 at {pc['memory_mb']:,} MB plus the AWS round "
                 "trips billed at that size (a smaller memory size is cheaper, see the sweep above, at the price of a slower "
                 "confirm); every invocation also pays $0.20 per million requests, and a reset is now four (request, its "
                 "courier job, confirm, its notice) or, at full batches, two and two fractions. DynamoDB, at "
                 f"${fmt(c['per_million']['B+C (link)']['dynamodb'])} per million, costs more than Lambda.")
    if len(N) == 1:
        N.append("None: every target is met.")
    N.append("")
    return N


def main():
    if sys.argv[1:2] == ["--report-only"]:
        # Rewrites the report from a saved results.json (e.g. after changing this file).
        r = json.loads(Path(sys.argv[2]).read_text())
        r["cost"] = cost(r)
        text = report(r)
        Path(sys.argv[3]).write_text(text)
        print(text)
        return
    p = argparse.ArgumentParser()
    p.add_argument("--release-dir", required=True)
    p.add_argument("--coldstart", required=True)
    p.add_argument("--round-trips")
    p.add_argument("--load")
    p.add_argument("--warm-bin")
    p.add_argument("--python")
    p.add_argument("--endpoint", required=True)
    # A SecureString on the emulator at --endpoint holding code secrets: also time the starts
    # that read it (the production path).
    p.add_argument("--ssm-parameter")
    p.add_argument("--sizes")
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--argon2-runs", type=int, default=30)
    p.add_argument("--measurement-time", type=int, default=4)
    p.add_argument("--callgrind-requests", type=int, nargs=2, default=[5, 55])
    p.add_argument("--sdk-requests", type=int, default=50)
    # Measure only these sections and take the others from an earlier run's results.json
    # (e.g. `--sections cold_start --reuse .local/bench/results.json`).
    p.add_argument("--sections", nargs="+", default=["cold_start", "warm", "argon2", "round_trips", "hot_items", "sizes"])
    p.add_argument("--reuse")
    # How the release binaries were built, when not as the workspace's release profile
    # (e.g. with CARGO_PROFILE_RELEASE_LTO=false to save build time).
    p.add_argument("--build", default=WORKSPACE_RELEASE)
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    if args.reuse:
        r = json.loads(Path(args.reuse).read_text())
        # Earlier reruns stay on record: the report names, per section, the latest.
        earlier = r.get("reruns") or ([r["rerun"]] if "rerun" in r else [])
        r.pop("rerun", None)
        r["reruns"] = earlier + [{"sections": args.sections, "date": machine()["date"], "build": args.build,
                                  "command": "python benches/run.py " + " ".join(rerun_args(sys.argv[1:]))}]
        if "cold_start" in args.sections:
            r["runs"] = args.runs
    else:
        r = {"machine": machine(), "runs": args.runs, "argon2_runs": args.argon2_runs, "build": args.build}
    results = work / "results.json"
    for i, (key, title, section) in enumerate([
        ("cold_start", "cold start", cold_start),
        ("warm", "warm path (criterion, then callgrind)", warm),
        ("argon2", "Argon2id", argon2),
        ("round_trips", "DynamoDB round trips", round_trips),
        ("hot_items", "hot items under a mixed load", hot_items),
        ("sizes", "artifact size", sizes),
    ], start=1):
        if key not in args.sections:
            continue
        log(f"{i}/6 {title}")
        r[key] = section(args, work)
        results.write_text(json.dumps(r, indent=2))  # what was measured so far, if a later section fails
    log("6/6 cost")
    r["cost"] = cost(r)
    results.write_text(json.dumps(r, indent=2))
    text = report(r)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
