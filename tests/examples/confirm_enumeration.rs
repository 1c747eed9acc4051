//! Confirm timing benchmark: wrong guesses by `EmailAddress` for an unknown address, a
//! known person without a code and a known person with a live staff code, interleaved at
//! random, on the production wiring against the emulator. The browser key is public, so
//! these three must not be told apart by time. Prints the three distributions, their p50
//! and p99 differences from the unknown group, and two-sample statistics. Run with
//! `bash scripts/bench-enumeration.sh` (release build).

#[path = "../tests/api/helpers.rs"]
#[allow(unused_imports)]
mod helpers;
#[path = "common/stats.rs"]
mod stats;

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use resetkit::config;
use serde_json::json;

use stats::{ks_d, mann_whitney_z, percent, quantile, shuffle};

const PER_GROUP: usize = 200;
const CONCURRENCY: usize = 4;
const GROUPS: [&str; 3] = ["unknown", "no code", "live code"];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_writer(std::io::stderr)
        .init();
    // One caller sends every probe: key and address limits off, the rest as a stage has it.
    let app = helpers::spawn_app_with(&[
        (config::KEY_RATE_LIMIT, "0/60"),
        (config::IP_RATE_LIMIT, "0/60"),
        (config::RECIPIENT_COOLDOWN_SECONDS, "0"),
    ])
    .await;
    let mut probes: Vec<(usize, String)> = Vec::with_capacity(3 * PER_GROUP);
    for _ in 0..PER_GROUP {
        probes.push((0, format!("nobody-{}@example.com", helpers::random_hex(6))));
        probes.push((1, app.person("Idle").await.email));
        let holder = app.person("Holder").await;
        let (status, issued) = app
            .post_guest_reset(resetkit::demo::STAFF_KEY, &json!({"email": holder.email}))
            .await;
        assert_eq!(status, 200, "{issued}");
        probes.push((2, holder.email));
    }
    shuffle(&mut probes);

    let timings: Vec<(usize, Duration, u16)> = stream::iter(probes)
        .map(|(group, email)| {
            let app = &app;
            async move {
                let guess = json!({"EmailAddress": email, "TemporaryPassword": "000000",
                    "Password": "a tangerine rowboat at dusk",
                    "PasswordConfirm": "a tangerine rowboat at dusk"});
                let started = Instant::now();
                let (status, _) = app.post_confirm(&guess).await;
                (group, started.elapsed(), status)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let odd: Vec<u16> = timings.iter().map(|t| t.2).filter(|s| *s != 400).collect();
    assert!(
        odd.is_empty(),
        "every wrong guess is the generic 400; also got {odd:?}"
    );
    let ms = |group: usize| -> Vec<f64> {
        let mut v: Vec<f64> = timings
            .iter()
            .filter(|t| t.0 == group)
            .map(|t| t.1.as_secs_f64() * 1e3)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let samples: Vec<Vec<f64>> = (0..GROUPS.len()).map(ms).collect();

    println!(
        "password-confirm latency of a wrong guess by EmailAddress ({PER_GROUP} each, {CONCURRENCY} concurrent, {} build)",
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    println!(
        "{:>8} {:>10} {:>10} {:>10}",
        "", GROUPS[0], GROUPS[1], GROUPS[2]
    );
    for (label, q) in [
        ("min", 0.0),
        ("p10", 0.10),
        ("p25", 0.25),
        ("p50", 0.50),
        ("p75", 0.75),
        ("p90", 0.90),
        ("p99", 0.99),
        ("max", 1.0),
    ] {
        println!(
            "{label:>8} {:>10.2} {:>10.2} {:>10.2}",
            quantile(&samples[0], q),
            quantile(&samples[1], q),
            quantile(&samples[2], q)
        );
    }
    let base = &samples[0];
    for (group, sample) in GROUPS.iter().zip(&samples).skip(1) {
        let p50 = percent(quantile(sample, 0.5), quantile(base, 0.5));
        let p99 = percent(quantile(sample, 0.99), quantile(base, 0.99));
        let verdict = if p50.abs() <= 5.0 && p99.abs() <= 5.0 {
            "within 5 %"
        } else {
            "NOT within 5 %"
        };
        println!(
            "{group} vs unknown: p50 {p50:+.2} %, p99 {p99:+.2} % ({verdict}); Mann-Whitney U z = {:+.2}; Kolmogorov-Smirnov D = {:.3} (5 % critical value {:.3})",
            mann_whitney_z(sample, base),
            ks_d(sample, base),
            1.358 * (2.0 / PER_GROUP as f64).sqrt()
        );
    }
}
