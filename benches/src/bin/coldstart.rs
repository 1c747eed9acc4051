//! Cold start: spawns each function binary against a mock of the Lambda Runtime API on
//! loopback and times spawn → its first `GET /2018-06-01/runtime/invocation/next`, which a
//! function (`lambda_http` for the three HTTP functions, `lambda_runtime` for the courier on
//! SQS events) sends only once `main` has read its configuration and built its clients. Runs are interleaved across binaries so drift on a shared machine hits all alike.
//!
//! ```text
//! coldstart [--runs N] [--strace DIR] [--ssm ENDPOINT PARAMETER] NAME=PATH...
//! ```
//!
//! Prints JSON: per binary the samples in ms and min/median/max; with `--strace`, one more
//! spawn per binary under `strace -f`, and what it shows: every socket connect other than
//! the runtime API's (there must be none: no credential, region or metadata probing, no DNS)
//! and every certificate-store file opened (there must be none: no native root scan).
//!
//! The environment is what Lambda gives a function (runtime API, function name/version/
//! memory, region, static credentials from the execution role) plus the stage settings of
//! `scripts/dev.sh`. `AWS_ENDPOINT_URL` points at a loopback port where nothing listens,
//! so anything that did reach out at init would show up and fail, never leave the machine.
//! Those starts carry the code secrets inline (`RESETKIT_CODE_SECRETS`).
//!
//! A target named `NAME@ssm` starts as production does since the stage secret moved to
//! Parameter Store: `RESETKIT_CODE_SECRETS_PARAMETER` names `PARAMETER`, a SecureString the
//! caller put on the emulator at `ENDPOINT` (`--ssm`), where `AWS_ENDPOINT_URL` then points,
//! so each start makes its one `GetParameter` there. Its strace shows that connect.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const NEXT: &str = "GET /2018-06-01/runtime/invocation/next ";
const TIMEOUT: Duration = Duration::from_secs(20);

struct Target {
    name: String,
    path: PathBuf,
}

fn main() {
    let mut runs = 30usize;
    let mut strace_dir: Option<PathBuf> = None;
    let mut ssm: Option<(String, String)> = None;
    let mut targets = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--strace" => strace_dir = Some(args.next().expect("--strace DIR").into()),
            "--ssm" => {
                let endpoint = args.next().expect("--ssm ENDPOINT PARAMETER");
                let parameter = args.next().expect("--ssm ENDPOINT PARAMETER");
                ssm = Some((endpoint, parameter));
            }
            _ => {
                let (name, path) = arg.split_once('=').expect("NAME=PATH");
                targets.push(Target {
                    name: name.into(),
                    path: path.into(),
                });
            }
        }
    }
    assert!(
        !targets.is_empty(),
        "usage: coldstart [--runs N] [--strace DIR] [--ssm ENDPOINT PARAMETER] NAME=PATH..."
    );

    let dead_port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let inline_env = lambda_env(dead_port);
    let ssm_env = ssm.as_ref().map(|(endpoint, parameter)| {
        let mut env: Vec<(String, String)> = inline_env
            .iter()
            .filter(|(k, _)| k != "RESETKIT_CODE_SECRETS" && k != "AWS_ENDPOINT_URL")
            .cloned()
            .collect();
        env.push(("AWS_ENDPOINT_URL".into(), endpoint.clone()));
        env.push(("RESETKIT_CODE_SECRETS_PARAMETER".into(), parameter.clone()));
        env
    });
    let env_of = |t: &Target| -> &[(String, String)] {
        if t.name.ends_with("@ssm") {
            ssm_env
                .as_deref()
                .expect("a NAME@ssm target needs --ssm ENDPOINT PARAMETER")
        } else {
            &inline_env
        }
    };
    let logs = std::env::temp_dir().join(format!("resetkit-coldstart-{}", std::process::id()));
    std::fs::create_dir_all(&logs).expect("log dir");

    // One untimed start each: the binaries are then in the page cache, as on a warm host.
    for t in &targets {
        if let Err(e) = start_once(&t.path, &[], env_of(t), &logs.join(&t.name)) {
            panic!("{} did not reach its first invocation/next: {e}", t.name);
        }
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); targets.len()];
    for run in 0..runs {
        for i in 0..targets.len() {
            let k = (i + run) % targets.len(); // rotate the order every run
            let t = &targets[k];
            let ms = start_once(&t.path, &[], env_of(t), &logs.join(&t.name))
                .unwrap_or_else(|e| panic!("{} run {run}: {e}", t.name));
            samples[k].push(ms);
        }
    }

    let mut out = serde_json::Map::new();
    for (t, s) in targets.iter().zip(samples) {
        let mut sorted = s.clone();
        sorted.sort_by(f64::total_cmp);
        let mut entry = json!({
            "path": t.path,
            "samples_ms": s,
            "min_ms": sorted[0],
            "median_ms": median(&sorted),
            "max_ms": sorted[sorted.len() - 1],
        });
        if let Some(dir) = &strace_dir {
            entry["init_io"] = probe(t, env_of(t), dir);
        }
        out.insert(t.name.clone(), entry);
    }
    let _ = std::fs::remove_dir_all(&logs);
    println!("{}", Value::Object(out));
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The environment of every start but `AWS_LAMBDA_RUNTIME_API`, which `start_once` adds.
fn lambda_env(dead_port: u16) -> Vec<(String, String)> {
    let link = "http://127.0.0.1:9000/reset#LeadId={LeadId}&TemporaryPassword={TemporaryPassword}";
    [
        ("AWS_LAMBDA_FUNCTION_NAME", "resetkit-bench".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/resetkit-bench".into(),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".into()),
        ("LAMBDA_TASK_ROOT", "/var/task".into()),
        ("TZ", ":UTC".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "ASIABENCHBENCHBENCH0".into()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "bench-secret-bench-secret-bench-secret00".into(),
        ),
        ("AWS_SESSION_TOKEN", "bench-session-token".into()),
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{dead_port}")),
        ("RESETKIT_TABLE_PREFIX", "resetkit-bench-".into()),
        ("RESETKIT_SENDER_EMAIL", "no-reply@resetkit.local".into()),
        (
            "RESETKIT_CODE_SECRETS",
            "local-only-secret-local-only-secret-0001".into(),
        ),
        ("RESETKIT_RESET_LINK_TEMPLATE", link.into()),
        (
            "RESETKIT_EXTRA_FIELDS",
            "Phone:phone:unique:deliverable,mx_Alt_Email:email:deliverable,mx_City:text,mx_Member_Code:text:unique,mx_Form_Email:email".into(),
        ),
        ("RESETKIT_BROWSER_CONFIRM_KEY", "rk_demo_browser_key".into()),
        // The courier's queues (every function sends to the first; only the courier needs
        // the second). Nothing reads them at init.
        (
            "RESETKIT_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/resetkit-bench-deliveries".into(),
        ),
        (
            "RESETKIT_DEAD_LETTER_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/resetkit-bench-deliveries-dead-letters"
                .into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Spawns `prefix… path` against a Runtime API mock of its own (a fresh listener, so no
/// connection of an earlier process can be mistaken for this one's) and returns ms from
/// spawn to its first `invocation/next` request.
fn start_once(
    path: &Path,
    prefix: &[String],
    env: &[(String, String)],
    log: &Path,
) -> Result<f64, String> {
    start_traced(path, prefix, env, log).map(|(ms, _)| ms)
}

fn start_traced(
    path: &Path,
    prefix: &[String],
    env: &[(String, String)],
    log: &Path,
) -> Result<(f64, SocketAddr), String> {
    let api =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind the runtime API mock: {e}"))?;
    let api_addr = api.local_addr().map_err(|e| e.to_string())?;
    let mut cmd = match prefix.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(path);
            c
        }
        None => Command::new(path),
    };
    let stderr = std::fs::File::create(log).map_err(|e| e.to_string())?;
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", api_addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);

    let start = Instant::now();
    let child = Arc::new(Mutex::new(
        cmd.spawn()
            .map_err(|e| format!("spawn {}: {e}", path.display()))?,
    ));
    let result = first_request(&api, &child, start);
    // `result` holds the connection open until the process is gone: a runtime that saw it
    // close would reconnect and ask again.
    let mut child = child.lock().expect("child");
    let _ = child.kill();
    let _ = child.wait();
    result.map(|(ms, _)| (ms, api_addr)).map_err(|e| {
        format!(
            "{e}; its stderr: {}",
            std::fs::read_to_string(log).unwrap_or_default().trim()
        )
    })
}

/// Accepts the child's connection (a watchdog unblocks the accept if the child exits or
/// takes too long) and reads its first request.
fn first_request(
    api: &TcpListener,
    child: &Arc<Mutex<Child>>,
    start: Instant,
) -> Result<(f64, TcpStream), String> {
    let finished = Arc::new(AtomicBool::new(false));
    let failure = Arc::new(Mutex::new(None::<String>));
    let addr = api.local_addr().map_err(|e| e.to_string())?;
    let watchdog = {
        let (finished, failure, child) = (finished.clone(), failure.clone(), child.clone());
        std::thread::spawn(move || {
            while !finished.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(5));
                let exited = child
                    .lock()
                    .ok()
                    .and_then(|mut c| c.try_wait().ok().flatten());
                let why = match exited {
                    Some(status) => format!("exited before asking for an event ({status})"),
                    None if start.elapsed() > TIMEOUT => format!("no request within {TIMEOUT:?}"),
                    None => continue,
                };
                *failure.lock().expect("failure") = Some(why);
                let _ = TcpStream::connect(addr); // unblocks the accept
                return;
            }
        })
    };
    let accepted = api.accept();
    let read = accepted
        .map_err(|e| e.to_string())
        .and_then(|(mut stream, _)| {
            if let Some(why) = failure.lock().expect("failure").clone() {
                return Err(why);
            }
            let head = read_head(&mut stream)?;
            let elapsed = start.elapsed().as_secs_f64() * 1e3;
            if head.starts_with(NEXT) {
                Ok((elapsed, stream))
            } else {
                let _ = stream.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n");
                Err(format!(
                    "first request was not invocation/next but: {}",
                    head.lines().next().unwrap_or("")
                ))
            }
        });
    finished.store(true, Ordering::Release);
    let _ = watchdog.join();
    read
}

fn read_head(stream: &mut TcpStream) -> Result<String, String> {
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream
            .read(&mut chunk)
            .map_err(|e| format!("reading the request: {e}"))?;
        if n == 0 {
            return Err("connection closed before a request".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// One more start under strace: what the process touches between spawn and its first
/// `invocation/next`.
fn probe(t: &Target, env: &[(String, String)], dir: &Path) -> Value {
    std::fs::create_dir_all(dir).expect("strace dir");
    let trace = dir.join(format!("{}.strace", t.name));
    let prefix: Vec<String> = [
        "strace",
        "-f",
        "-qq",
        "-e",
        "trace=connect,sendto,sendmsg,open,openat",
        "-o",
    ]
    .into_iter()
    .map(String::from)
    .chain([trace.display().to_string()])
    .collect();
    let log = dir.join(format!("{}.stderr", t.name));
    let api_addr = match start_traced(&t.path, &prefix, env, &log) {
        Ok((_, addr)) => addr,
        Err(e) => return json!({ "error": e }),
    };
    let text = std::fs::read_to_string(&trace).unwrap_or_default();
    let runtime = format!(
        "sin_port=htons({}), sin_addr=inet_addr(\"{}\")",
        api_addr.port(),
        api_addr.ip()
    );
    let other_connects: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("connect(") && !l.contains(&runtime))
        .map(str::trim)
        .collect();
    let cert_files: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("open")
                && (l.contains("/etc/ssl") || l.contains("/etc/pki") || l.contains("/usr/lib/ssl"))
        })
        .map(str::trim)
        .collect();
    let aws_files: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("open") && l.contains("/.aws/"))
        .map(str::trim)
        .collect();
    json!({
        "strace": trace,
        "connects_other_than_runtime_api": other_connects,
        "certificate_store_files_opened": cert_files.len(),
        "certificate_store_examples": cert_files.iter().take(3).collect::<Vec<_>>(),
        "aws_profile_files_opened": aws_files,
    })
}
