//! Warm-path CPU per endpoint and Argon2id time, for `scripts/bench.sh`.
//!
//! ```text
//! warm --bench [criterion options]     criterion: warm/<endpoint> and warm/minimal-hash
//! warm callgrind <scenario> <requests> runs the scenario untimed, for valgrind's counts
//! warm callgrind minimal-hash <n>      n hashes at the minimal parameters
//! warm argon2 <n>                      Argon2id at the production parameters, JSON out
//! warm sdk <n>                         the warm path over the real SDK clients against the
//!                                      emulator at RESETKIT_BENCH_ENDPOINT, JSON out
//! ```
//!
//! Numbers only; nothing here judges them.

mod scenarios;
mod sdk;

use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use criterion::Criterion;
use resetkit::domain::password::HashParams;
use scenarios::{Endpoint, MINIMAL_HASH};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("callgrind") => callgrind(&args[1..]),
        Some("argon2") => argon2_times(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(20)),
        Some("sdk") => {
            let endpoint = std::env::var("RESETKIT_BENCH_ENDPOINT")
                .expect("RESETKIT_BENCH_ENDPOINT: the emulator's URL");
            let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(50);
            println!("{}", sdk::run(&endpoint, n));
        }
        _ => criterion_benches(),
    }
}

fn criterion_benches() {
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let rt = scenarios::runtime();
    let mut group = c.benchmark_group("warm");
    for endpoint in Endpoint::MEASURED {
        group.bench_function(endpoint.name(), |b| {
            b.iter_custom(|iters| scenarios::run(&rt, endpoint, iters))
        });
    }
    group.bench_function("minimal-hash", |b| {
        b.iter_custom(|iters| scenarios::hash_time(MINIMAL_HASH, iters as u32))
    });
    let policy = Endpoint::PasswordPolicy;
    group.bench_function(policy.name(), |b| {
        b.iter_custom(|iters| scenarios::run(&rt, policy, iters))
    });
    group.finish();
    c.final_summary();
}

fn callgrind(args: &[String]) {
    let usage = "usage: warm callgrind <guest-reset|forgot-password|password-confirm|confirm-setup-only|password-policy|minimal-hash> <n>";
    let n: u64 = args
        .get(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{usage}"));
    match args.first().map(String::as_str) {
        Some("minimal-hash") => {
            scenarios::hash_time(MINIMAL_HASH, n as u32);
        }
        Some(name) => {
            let endpoint = Endpoint::parse(name).unwrap_or_else(|| panic!("{usage}"));
            scenarios::run(&scenarios::runtime(), endpoint, n);
        }
        None => panic!("{usage}"),
    }
}

/// Argon2id at the configured parameters, two ways, `n` hashes each after one untimed:
/// - `reused_buffer_ms`: the argon2 crate into one pre-faulted block buffer (the raw cost of
///   the algorithm, comparable with a C library's raw hash);
/// - `production_ms`: `HashParams::hash` as the confirm path calls it (a fresh buffer per
///   hash, the PHC string encoding).
fn argon2_times(n: usize) {
    let configured = HashParams::default();
    let params = Params::new(
        configured.memory_kib,
        configured.iterations,
        configured.parallelism,
        Some(32),
    )
    .expect("params");
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut blocks = vec![Block::default(); configured.memory_kib as usize];
    let mut out = [0u8; 32];
    let (password, salt) = (b"correct horse battery staple", b"sixteen byte salt");
    argon2
        .hash_password_into_with_memory(password, salt, &mut out, &mut blocks)
        .expect("hash"); // faults the pages in
    let reused: Vec<f64> = (0..n)
        .map(|_| {
            let start = Instant::now();
            argon2
                .hash_password_into_with_memory(password, salt, &mut out, &mut blocks)
                .expect("hash");
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    // The production path (`HashParams::hash`: a fresh buffer each time, the PHC string),
    // timed both ways: wall time, as every other row of the table is, and the process's CPU.
    scenarios::hash_time(configured, 1);
    let (production_wall, production_cpu): (Vec<f64>, Vec<f64>) = (0..n)
        .map(|_| {
            let start = Instant::now();
            let cpu = scenarios::hash_time(configured, 1);
            (start.elapsed().as_secs_f64() * 1e3, cpu.as_secs_f64() * 1e3)
        })
        .unzip();
    let json = serde_json::json!({
        "params": {"m_kib": configured.memory_kib, "t": configured.iterations, "p": configured.parallelism},
        "reused_buffer_ms": reused,
        "production_wall_ms": production_wall,
        "production_cpu_ms": production_cpu,
        "hex": hex::encode(out),
    });
    println!("{json}");
}
