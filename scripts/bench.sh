#!/usr/bin/env bash
# Benchmarks: cold start (code secrets inline, and read from Parameter Store on the
# emulator), warm path (in-memory adapters, and the real SDK clients against the emulator),
# Argon2id, DynamoDB round trips (the courier's apart), artifact size, cost (the courier's
# invocations and SQS requests included); then enumeration timing.
# Builds what it measures, prints one table per section and writes BENCHMARKS.md (with the
# machine and the date) and docs/enumeration.md (scripts/bench-enumeration.sh).
#
#   bash scripts/bench.sh            # the whole run: several minutes of building the first time
#
# Settings (environment): BENCH_RUNS (cold starts per binary, 30), BENCH_ARGON2_RUNS (30),
# BENCH_MEASUREMENT_TIME (criterion seconds per endpoint, 4), BENCH_OUT (BENCHMARKS.md),
# ENUM_OUT (docs/enumeration.md).
#
# Installs on first use, pinned: valgrind, strace and the Debian `argon2` command (apt),
# argon2-cffi into .venv (PyPI), moto (scripts/emulator.sh), cargo-lambda and the arm64
# target (scripts/tools.sh). Not part of scripts/test.sh: numbers, not tests.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/emulator.sh
source scripts/emulator.sh
# shellcheck source=scripts/tools.sh
source scripts/tools.sh

ARGON2_CFFI_VERSION="25.1.0"
ARGON2_CFFI_BINDINGS_VERSION="26.2.0"
ARGON2_DEBIAN_VERSION="0~20171227-0.3+deb12u1"
WORK=.local/bench
TARGET="${CARGO_TARGET_DIR:-target}"
OUT="${BENCH_OUT:-BENCHMARKS.md}"
mkdir -p "$WORK"

say() { printf 'bench: %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------
apt_missing=()
command -v valgrind >/dev/null || apt_missing+=(valgrind)
command -v strace >/dev/null || apt_missing+=(strace)
command -v argon2 >/dev/null || apt_missing+=("argon2=$ARGON2_DEBIAN_VERSION")
if ((${#apt_missing[@]})); then
    say "installing ${apt_missing[*]} (apt)"
    command -v apt-get >/dev/null || { say "apt-get is needed for: ${apt_missing[*]}"; exit 1; }
    apt-get update -q >/dev/null
    # The pinned argon2 if this release has it, else the release's own.
    apt-get install -y -q "${apt_missing[@]}" >/dev/null ||
        apt-get install -y -q "${apt_missing[@]%%=*}" >/dev/null
fi
emulator_venv
"$VENV/bin/python" - "$ARGON2_CFFI_VERSION" "$ARGON2_CFFI_BINDINGS_VERSION" <<'PY' 2>/dev/null ||
import sys
from importlib.metadata import version
sys.exit(0 if (version("argon2-cffi"), version("argon2-cffi-bindings")) == tuple(sys.argv[1:]) else 1)
PY
    {
        say "installing argon2-cffi==$ARGON2_CFFI_VERSION into $VENV"
        "$VENV/bin/python" -m pip install --quiet --no-cache-dir "argon2-cffi==$ARGON2_CFFI_VERSION" \
            "argon2-cffi-bindings==$ARGON2_CFFI_BINDINGS_VERSION"
    }

# --- builds (one cargo invocation at a time) -----------------------------------------
# Every build with --workspace: the same features everywhere, so nothing is built twice.
say "release build: the four functions and the hello-world baseline"
cargo build --release --workspace --bin guest-reset --bin forgot-password --bin password-confirm \
    --bin courier --bin bench-hello
# What the report says of the release binaries: the profile, or what the environment changed.
build_note="release profile of the workspace (fat LTO, codegen-units 1, stripped)"
if [[ -n "${CARGO_PROFILE_RELEASE_LTO:-}${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-}" ]]; then
    build_note="release profile of the workspace with CARGO_PROFILE_RELEASE_LTO=${CARGO_PROFILE_RELEASE_LTO:-fat} CARGO_PROFILE_RELEASE_CODEGEN_UNITS=${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-1} (stripped)"
fi
say "release build: the warm-path bench"
warm_bin="$(cargo bench --workspace --bench warm --no-run --message-format=json-render-diagnostics |
    "$VENV/bin/python" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "warm" and m.get("executable"):
        print(m["executable"])')"
say "debug build: the cold-start driver and the round-trip counter"
cargo build --workspace --bin coldstart --bin round-trips --bin load

say "arm64 zips (section 5)"
sizes="$WORK/sizes.txt"
if [[ -f scripts/package-sizes.sh ]]; then
    # The packaging script's own table; it exits 1 when a zip is over budget, which is a
    # figure to report here, not a reason to stop.
    bash scripts/package-sizes.sh | tee "$sizes" || true
else
    tools_install_release_build
    PATH="$VENV/bin:$PATH" cargo lambda build --release --arm64 --output-format zip --lambda-dir target/lambda \
        -p guest-reset -p forgot-password -p password-confirm
    for f in guest-reset forgot-password password-confirm; do
        printf '%s %d\n' "$f" "$(stat -c %s "target/lambda/$f/bootstrap.zip")"
    done | tee "$sizes"
fi

# --- run ---------------------------------------------------------------------------
name="bench-$$"
cleanup() { emulator_stop "$name"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
endpoint="$(emulator_start "$name")"
# The code secrets where production keeps them, for the cold starts that read them (section 1).
code_secrets_parameter="/resetkit/bench/code-secrets"
"$VENV/bin/python" - "$endpoint" "$code_secrets_parameter" <<'PY'
import sys, boto3
boto3.client("ssm", endpoint_url=sys.argv[1], region_name="us-east-1",
             aws_access_key_id="bench", aws_secret_access_key="bench").put_parameter(
    Name=sys.argv[2], Type="SecureString", Overwrite=True,
    Value="local-only-secret-local-only-secret-0001")
PY

"$VENV/bin/python" benches/run.py \
    --release-dir "$TARGET/release" \
    --coldstart "$TARGET/debug/coldstart" \
    --round-trips "$TARGET/debug/round-trips" \
    --load "$TARGET/debug/load" \
    --warm-bin "$warm_bin" \
    --python "$VENV/bin/python" \
    --endpoint "$endpoint" \
    --ssm-parameter "$code_secrets_parameter" \
    --build "$build_note" \
    --sizes "$sizes" \
    --work "$WORK" \
    --out "$OUT" \
    --runs "${BENCH_RUNS:-30}" \
    --argon2-runs "${BENCH_ARGON2_RUNS:-30}" \
    --measurement-time "${BENCH_MEASUREMENT_TIME:-4}"
say "written to $OUT (raw figures: $WORK/results.json)"

# --- enumeration timing (docs/enumeration.md), on the release build, its own emulator ----
say "enumeration timing: known vs unknown people"
bash scripts/bench-enumeration.sh >/dev/null
say "written to ${ENUM_OUT:-docs/enumeration.md}"
