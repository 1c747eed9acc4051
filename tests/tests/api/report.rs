//! Case counts for the test command's summary: `scripts/test.sh` sets `RESETKIT_TEST_REPORT`
//! to a file and prints it after `cargo test` (whose harness hides a passing test's output).

use std::io::Write;

/// Records that `suite` ran `count` cases of `what`.
pub fn record(suite: &str, what: &str, count: usize) {
    let line = format!("{suite}: {count} {what}\n");
    eprint!("{line}");
    if let Ok(path) = std::env::var("RESETKIT_TEST_REPORT") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}
