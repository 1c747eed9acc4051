//! Enumeration timing benchmark: forgot-password latency for people who exist and people
//! who do not, on the production wiring against the emulator, interleaved at random.
//! Prints both distributions side by side and two-sample statistics (Mann–Whitney U as a
//! z score, Kolmogorov–Smirnov D), and how many known people were sent their link. Run by
//! `bash scripts/bench.sh` on the release build (or alone: `bash scripts/bench-enumeration.sh`),
//! which writes the output into `docs/enumeration.md`.

#[path = "../tests/api/helpers.rs"]
#[allow(unused_imports)]
mod helpers;
#[path = "common/stats.rs"]
mod stats;

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::json;

use stats::{ks_d, mann_whitney_z, percent, quantile, shuffle};

const PER_GROUP: usize = 200;
const CONCURRENCY: usize = 4;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Warnings and errors (a failed dependency, say) on stderr, so an odd answer is explained.
    tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_writer(std::io::stderr)
        .init();
    // The stage defaults, but for the key limit: the benchmark is one caller sending 400.
    let app = helpers::spawn_app_with(&[(resetkit::config::FORGOT_RATE_LIMIT, "10000/1")]).await;
    let mut known = Vec::with_capacity(PER_GROUP);
    for _ in 0..PER_GROUP {
        known.push(app.person("Known").await.email);
    }
    let mut requests: Vec<(bool, String)> = known.iter().map(|e| (true, e.clone())).collect();
    requests.extend((0..PER_GROUP).map(|_| {
        (
            false,
            format!("nobody-{}@example.com", helpers::random_hex(6)),
        )
    }));
    shuffle(&mut requests);

    let timings: Vec<(bool, Duration, u16)> = stream::iter(requests)
        .map(|(is_known, email)| {
            let app = &app;
            async move {
                let started = Instant::now();
                let (status, _, _) = app
                    .post_forgot_password(
                        resetkit::demo::PORTAL_KEY,
                        &json!({"EmailAddress": email}),
                    )
                    .await;
                (is_known, started.elapsed(), status)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let odd: Vec<u16> = timings.iter().map(|t| t.2).filter(|s| *s != 200).collect();
    assert!(
        odd.is_empty(),
        "every answer is the generic 200; also got {odd:?}"
    );
    let ms = |want: bool| -> Vec<f64> {
        let mut v: Vec<f64> = timings
            .iter()
            .filter(|t| t.0 == want)
            .map(|t| t.1.as_secs_f64() * 1e3)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let (k, u) = (ms(true), ms(false));
    let captured = helpers::captured_messages(&app.stack.endpoint).await;

    println!("forgot-password latency, known vs unknown person ({PER_GROUP} each, {CONCURRENCY} concurrent, no response floor)");
    println!("{:>8} {:>10} {:>10}", "", "known", "unknown");
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
            "{label:>8} {:>10.1} {:>10.1}",
            quantile(&k, q),
            quantile(&u, q)
        );
    }
    for (label, q) in [("p50", 0.5), ("p99", 0.99)] {
        let (known, unknown) = (quantile(&k, q), quantile(&u, q));
        println!(
            "{label}: known {known:.1} ms, unknown {unknown:.1} ms, difference {:+.2} %",
            percent(known, unknown)
        );
    }
    println!(
        "Mann-Whitney U z = {:+.2} (|z| < 1.96: no difference at the 5 % level)",
        mann_whitney_z(&k, &u)
    );
    println!(
        "Kolmogorov-Smirnov D = {:.3} (5 % critical value {:.3})",
        ks_d(&k, &u),
        1.358 * (2.0 / PER_GROUP as f64).sqrt()
    );
    // The known path must really have sent: a fast "known" answer that sent nothing would
    // hide the difference this measures.
    let sent = known
        .iter()
        .filter(|e| {
            captured
                .emails_to(e)
                .iter()
                .any(|m| m.subject == "Reset your password")
        })
        .count();
    println!("known people sent their link: {sent} of {PER_GROUP}");
}
