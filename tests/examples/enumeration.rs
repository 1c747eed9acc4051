//! Enumeration timing benchmark: forgot-password latency for people who exist and people
//! who do not, on the production wiring against the emulator, interleaved at random.
//! Times the forgot-password function alone (its handler over the real SDK clients): the
//! courier's work (lookup, limits, issuing, sending) happens later, in another function,
//! and is no part of the answer's latency. After the timed requests the courier drains the
//! queue once, so the check that every known person was sent their link still holds.
//! Prints both distributions side by side and two-sample statistics (Mann–Whitney U as a
//! z score, Kolmogorov–Smirnov D). Run by `bash scripts/bench.sh` on the release build (or
//! alone: `bash scripts/bench-enumeration.sh`), which writes the output into
//! `docs/enumeration.md`.

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
/// Four in flight: the emulator (one thread) queues their calls, which makes each answer
/// take tens of ms rather than a few, so a scheduler or emulator hiccup of a millisecond or
/// two moves a quantile less. One at a time (as a Lambda sandbox serves them) answers in
/// 4-15 ms and p99 differed by 11-19 % either way between three runs, on identical paths.
const CONCURRENCY: usize = 4;
/// Untimed requests first, so the timed ones meet what a warm sandbox has: the API key in
/// its cache and open connections. Without them the first timed requests (whichever group
/// the shuffle gave them) also pay the key read and the connection setup.
const WARM_UP: usize = 2 * CONCURRENCY;

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

    // Warm-up, as concurrent as the timed run (as many connections open): half name known
    // people (whose links the courier also sends), half nobody.
    let mut warm_up = Vec::with_capacity(WARM_UP);
    for i in 0..WARM_UP {
        warm_up.push(if i % 2 == 0 {
            app.person("Warm").await.email
        } else {
            format!("nobody-{}@example.com", helpers::random_hex(6))
        });
    }
    let warm_statuses: Vec<u16> = stream::iter(warm_up)
        .map(|email| {
            let app = &app;
            async move { forgot_password(app, &email).await.0 }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    assert!(
        warm_statuses.iter().all(|s| *s == 200),
        "the warm-up requests are answered: {warm_statuses:?}"
    );

    let timings: Vec<(bool, Duration, u16)> = stream::iter(requests)
        .map(|(is_known, email)| {
            let app = &app;
            async move {
                let (status, elapsed) = forgot_password(app, &email).await;
                (is_known, elapsed, status)
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
    // What the courier does a moment after each request in production, once for them all.
    app.deliver().await;
    let captured = helpers::captured_messages(&app.stack.endpoint).await;

    println!("forgot-password function latency, known vs unknown person ({PER_GROUP} each, {CONCURRENCY} concurrent, after {WARM_UP} untimed)");
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
    let z = mann_whitney_z(&k, &u);
    println!(
        "Mann-Whitney U z = {z:+.2} ({})",
        if z.abs() < 1.96 {
            "|z| < 1.96: no difference at the 5 % level"
        } else {
            "|z| >= 1.96: a difference at the 5 % level"
        }
    );
    let (d, critical) = (ks_d(&k, &u), 1.358 * (2.0 / PER_GROUP as f64).sqrt());
    println!(
        "Kolmogorov-Smirnov D = {d:.3} (5 % critical value {critical:.3}: {})",
        if d < critical {
            "no difference"
        } else {
            "a difference"
        }
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

/// One forgot-password request for `email` through the function's handler, timed from the
/// request to its answer: the status and the time it took.
async fn forgot_password(app: &helpers::TestApp, email: &str) -> (u16, Duration) {
    let req = resetkit::testing::http_request(
        "POST",
        "/api/Authentication/ForgotPassword",
        &[
            ("content-type", "application/json"),
            ("authorization", resetkit::demo::PORTAL_KEY),
        ],
        json!({ "EmailAddress": email }).to_string(),
    );
    let started = Instant::now();
    let res = forgot_password::handle(&app.service, req)
        .await
        .unwrap_or_else(|e| panic!("the handler answers every request: {e}"));
    (res.status().as_u16(), started.elapsed())
}
