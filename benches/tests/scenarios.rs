//! The warm-path scenarios run once each, so `cargo test --workspace` compiles the bench
//! code and proves every scenario takes its endpoint's success path (each panics otherwise).
//! No time is asserted anywhere.

#[path = "../benches/warm/scenarios.rs"]
#[allow(dead_code)]
mod scenarios;

use scenarios::Endpoint;

#[test]
fn every_warm_scenario_takes_its_success_path() {
    let rt = scenarios::runtime();
    for endpoint in Endpoint::MEASURED {
        scenarios::run(&rt, endpoint, 3);
    }
    scenarios::run(&rt, Endpoint::ConfirmSetupOnly, 2);
    scenarios::run(&rt, Endpoint::PasswordPolicy, 2);
}

#[test]
fn the_minimal_hash_runs() {
    scenarios::hash_time(scenarios::MINIMAL_HASH, 2);
}
