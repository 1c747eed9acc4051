//! The warm path of each endpoint, in-process, over the in-memory adapters: an API Gateway
//! event (the shipped `events/*-success.json`) is parsed the way `lambda_http` parses it and
//! handed to the function's real handler, which answers on its success path.
//!
//! Shared by the criterion bench (`warm/main.rs`, timed and under callgrind) and by a smoke
//! test (`tests/scenarios.rs`) that checks every scenario really takes the success path, so
//! `cargo test --workspace` compiles this code and proves what it measures.
//!
//! Only the wire contracts are relied on: the code for a confirm is obtained through the
//! guest-reset handler's response, exactly as a client gets it.

use std::time::Duration;

use resetkit::domain::password::{HashParams, NewPassword};
use resetkit::service::Settings;
use resetkit::testing::TestKit;
use serde_json::Value;

pub const GUEST_RESET_EVENT: &str = include_str!("../../../events/guest-reset-success.json");
pub const FORGOT_PASSWORD_EVENT: &str =
    include_str!("../../../events/forgot-password-success.json");
pub const PASSWORD_CONFIRM_EVENT: &str =
    include_str!("../../../events/password-confirm-success.json");

/// The smallest Argon2id parameters the crate accepts: the confirm path is measured with
/// these and the time of one such hash is subtracted, so what is left is the endpoint's own
/// work (parsing, policy, code check, store, audit, the hop to the blocking pool).
pub const MINIMAL_HASH: HashParams = HashParams {
    memory_kib: 8,
    iterations: 1,
    parallelism: 1,
};

/// A fresh in-memory service is built after this many requests (outside the timing), so
/// captured messages, records and audit events do not grow without bound.
const REQUESTS_PER_KIT: u64 = 500;

/// The clock moves this far before every request (outside the timing): every rate-limit
/// window is new, so each request takes the success path, window bookkeeping included.
const CLOCK_STEP_SECS: u64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    GuestReset,
    ForgotPassword,
    /// Contract C, with a fresh staff code per request, hashed at [`MINIMAL_HASH`].
    PasswordConfirm,
    /// Only what the confirm scenario does outside its timing (issuing the code): callgrind
    /// counts every instruction, so this is subtracted from `PasswordConfirm` there.
    ConfirmSetupOnly,
    /// The part of the confirm path that is the password policy alone (NFKC, length, the
    /// person's own identifiers, zxcvbn), for attribution.
    PasswordPolicy,
}

impl Endpoint {
    pub const MEASURED: [Endpoint; 3] = [
        Endpoint::GuestReset,
        Endpoint::ForgotPassword,
        Endpoint::PasswordConfirm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Endpoint::GuestReset => "guest-reset",
            Endpoint::ForgotPassword => "forgot-password",
            Endpoint::PasswordConfirm => "password-confirm",
            Endpoint::ConfirmSetupOnly => "confirm-setup-only",
            Endpoint::PasswordPolicy => "password-policy",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [
            Endpoint::GuestReset,
            Endpoint::ForgotPassword,
            Endpoint::PasswordConfirm,
            Endpoint::ConfirmSetupOnly,
            Endpoint::PasswordPolicy,
        ]
        .into_iter()
        .find(|e| e.name() == name)
    }
}

/// The settings of the handler tests, with [`MINIMAL_HASH`].
pub fn settings() -> Settings {
    let mut settings = resetkit::testing::settings();
    settings.hash_params = MINIMAL_HASH;
    settings
}

/// A single-threaded runtime, as each function's `main.rs` uses.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs `requests` requests of `endpoint` and returns the CPU time spent inside the measured
/// part (event parsing plus handler) only.
pub fn run(rt: &tokio::runtime::Runtime, endpoint: Endpoint, requests: u64) -> Duration {
    rt.block_on(async {
        let mut measured = Duration::ZERO;
        let mut done = 0;
        while done < requests {
            let kit = TestKit::with_settings(settings()).await;
            let batch = REQUESTS_PER_KIT.min(requests - done);
            for _ in 0..batch {
                measured += one(&kit, endpoint).await;
            }
            done += batch;
        }
        measured
    })
}

/// One request on its success path; returns the CPU time of the measured part.
async fn one(kit: &TestKit, endpoint: Endpoint) -> Duration {
    kit.clock.advance(CLOCK_STEP_SECS);
    match endpoint {
        Endpoint::GuestReset => {
            let start = CpuClock::now();
            let req = lambda_http::request::from_str(GUEST_RESET_EVENT).expect("event");
            let res = guest_reset::handle(&kit.service, req)
                .await
                .expect("handler");
            let elapsed = start.elapsed();
            expect_ok("guest-reset", &res);
            elapsed
        }
        Endpoint::ForgotPassword => {
            let start = CpuClock::now();
            let req = lambda_http::request::from_str(FORGOT_PASSWORD_EVENT).expect("event");
            let res = forgot_password::handle(&kit.service, req)
                .await
                .expect("handler");
            let elapsed = start.elapsed();
            expect_ok("forgot-password", &res);
            elapsed
        }
        Endpoint::PasswordPolicy => {
            // What the confirm path checks, for the person it resets (Ana's identifiers).
            let personal = [
                "Ana".to_owned(),
                "ana.silva".to_owned(),
                "ana@example.com".to_owned(),
                "+14157415569".to_owned(),
            ];
            let start = CpuClock::now();
            let accepted = NewPassword::parse(NEW_PASSWORD).and_then(|p| p.accept(&personal));
            let elapsed = start.elapsed();
            assert!(accepted.is_ok(), "the bench password passes the policy");
            elapsed
        }
        Endpoint::PasswordConfirm | Endpoint::ConfirmSetupOnly => {
            let event = confirm_event(kit).await;
            if endpoint == Endpoint::ConfirmSetupOnly {
                return Duration::ZERO;
            }
            let start = CpuClock::now();
            let req = lambda_http::request::from_str(&event).expect("event");
            let res = password_confirm::handle(&kit.service, req)
                .await
                .expect("handler");
            let elapsed = start.elapsed();
            expect_ok("password-confirm", &res);
            elapsed
        }
    }
}

/// The confirm event with a fresh staff code for Ana, obtained through contract A.
async fn confirm_event(kit: &TestKit) -> String {
    let req = lambda_http::request::from_str(GUEST_RESET_EVENT).expect("event");
    let res = guest_reset::handle(&kit.service, req)
        .await
        .expect("handler");
    confirm_event_from(&res)
}

/// The confirm event for the code a guest reset answered with.
pub fn confirm_event_from(res: &lambda_http::Response<lambda_http::Body>) -> String {
    expect_ok("guest-reset", res);
    let body: Value = serde_json::from_slice(res.body().as_ref()).expect("guest-reset JSON");
    let vid = body["verification_id"].as_str().expect("verification_id");
    let code = body["verification_code"]
        .as_str()
        .expect("verification_code");
    PASSWORD_CONFIRM_EVENT
        .replace("REPLACE_WITH_verification_id", vid)
        .replace("REPLACE_WITH_verification_code", code)
}

pub fn expect_ok(what: &str, res: &lambda_http::Response<lambda_http::Body>) {
    if res.status() != 200 {
        panic!(
            "{what} left its success path: {} {}",
            res.status(),
            String::from_utf8_lossy(res.body().as_ref())
        );
    }
}

/// The new password of `events/password-confirm-success.json`.
const NEW_PASSWORD: &str = "correct horse battery staple";

/// CPU time of `n` hashes at `params` through the production hashing function.
pub fn hash_time(params: HashParams, n: u32) -> Duration {
    let password = NewPassword::parse(NEW_PASSWORD)
        .and_then(|p| p.accept(&[]))
        .expect("an accepted password");
    let start = CpuClock::now();
    for i in 0..n {
        let salt = [i as u8; 16];
        std::hint::black_box(params.hash(&password, salt).expect("hash"));
    }
    start.elapsed()
}

/// The process's CPU clock (every thread: the confirm path hashes on tokio's blocking pool).
/// CPU rather than wall time: the figure is the endpoint's own work, not time spent waiting
/// (section 6 adds the waits on AWS apart).
pub struct CpuClock(Duration);

impl CpuClock {
    pub fn now() -> Self {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
        Self(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }

    pub fn elapsed(&self) -> Duration {
        Self::now().0.saturating_sub(self.0)
    }
}
