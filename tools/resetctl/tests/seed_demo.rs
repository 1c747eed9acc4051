//! `resetctl seed-demo` as an operator runs it: against anything but a local emulator it
//! refuses before its first AWS call.

use std::process::Command;

fn seed_demo(endpoint: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_resetctl"));
    cmd.args([
        "seed-demo",
        "--prefix",
        "resetkit-prod-",
        "--sender",
        "no-reply@example.com",
    ])
    .env("AWS_ACCESS_KEY_ID", "test")
    .env("AWS_SECRET_ACCESS_KEY", "test")
    .env("AWS_REGION", "us-east-1")
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env_remove("AWS_PROFILE")
    .env_remove("AWS_ENDPOINT_URL");
    if let Some(url) = endpoint {
        cmd.env("AWS_ENDPOINT_URL", url);
    }
    cmd.output().expect("resetctl runs")
}

#[test]
fn seed_demo_against_a_real_account_or_a_remote_host_exits_non_zero_and_calls_nothing() {
    // TEST-NET-1 is unroutable: a call would hang until the SDK gave up and then report a
    // connection error, not the refusal.
    for endpoint in [
        None,
        Some("https://dynamodb.us-east-1.amazonaws.com"),
        Some("http://192.0.2.1:4566"),
    ] {
        let out = seed_demo(endpoint);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{endpoint:?}");
        assert!(
            stderr.contains("resetctl: refused"),
            "{endpoint:?}: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "nothing was seeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
