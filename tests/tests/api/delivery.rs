//! The courier on the emulator's queue, with the production wiring: what happens when SES
//! pushes back, when the courier is killed mid-send, and when a code is used before its
//! message goes out. The courier's SDK clients sit behind a fault plan; the functions' do
//! not (they never call SES or SNS).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use resetkit::config;
use resetkit::demo::{PORTAL_KEY, STAFF_KEY};
use resetkit::domain::{AuditAction, Delivery, DeliveryJob, UserId};
use resetkit::ports::{AuditLog, Clock, SystemClock, VerificationStore};
use serde_json::json;

use crate::fault_client::FaultPlan;
use crate::helpers::{
    captured_messages, gateway_request, link_param, spawn_courier_app, staff_code, Person, TestApp,
};

/// Retries come back within seconds here (1 s, 2 s, 4 s, then every 4-8 s), so a test of
/// throttling takes tens of seconds, not SES's ten minutes.
const FAST_RETRIES: [(&str, &str); 4] = [
    (config::DELIVERY_RETRY_BASE_SECONDS, "1"),
    (config::DELIVERY_RETRY_CAP_SECONDS, "8"),
    (config::DELIVERY_MAX_TRIES, "40"),
    (config::FORGOT_RATE_LIMIT, "100000/1"),
];

/// Contract B through the function alone: answered once queued; nothing delivered yet.
async fn ask_for_link(app: &TestApp, person: &Person) -> (u16, Duration) {
    let started = Instant::now();
    let req = gateway_request(
        "/api/Authentication/ForgotPassword",
        "198.51.100.20",
        &[("authorization", PORTAL_KEY)],
        &json!({"EmailAddress": person.email}),
    );
    let res = forgot_password::handle(&app.service, req)
        .await
        .expect("the handler answers every request");
    (res.status().as_u16(), started.elapsed())
}

/// Runs the courier as the event source mapping would until `done` holds, or panics at
/// `limit`.
async fn run_courier_until(
    app: &TestApp,
    limit: Duration,
    what: &str,
    mut done: impl AsyncFnMut() -> bool,
) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < limit,
            "{what}: not after {limit:?} of courier runs"
        );
        // Short polls: the emulator serves one request at a time.
        let received = courier::local::poll_once(&app.courier, &app.queues, Duration::ZERO)
            .await
            .unwrap_or_else(|e| panic!("courier poll: {e}"));
        if received == 0 {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

async fn mails_to(app: &TestApp, person: &Person) -> Vec<String> {
    captured_messages(&app.stack.endpoint)
        .await
        .emails_to(&person.email)
        .iter()
        .map(|m| m.body.clone())
        .collect()
}

/// The dead-letter queue's messages, as jobs (received and left there).
async fn dead_letters(app: &TestApp) -> Vec<DeliveryJob> {
    let url = app.queues.dead_letters().url();
    let mut jobs = Vec::new();
    let mut seen = HashSet::new();
    for _ in 0..3 {
        let out = app
            .stack
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive from the dead-letter queue");
        for m in out.messages.unwrap_or_default() {
            let body = m.body.unwrap_or_default();
            if seen.insert(body.clone()) {
                jobs.push(
                    DeliveryJob::parse(&body, &app.service.settings().fields)
                        .expect("a dead letter is a job"),
                );
            }
        }
    }
    jobs
}

async fn audit_details(app: &TestApp, user: &UserId, action: AuditAction) -> Vec<String> {
    app.stack
        .store
        .user_events(user)
        .await
        .expect("user_events")
        .into_iter()
        .filter(|l| l.event.action == action)
        .filter_map(|l| l.event.detail)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_links_sent_while_ses_throttles_for_twenty_seconds_arrive_once_each() {
    // Arrange
    let plan = FaultPlan::default();
    let app = spawn_courier_app(&FAST_RETRIES, |sdk| {
        sdk.to_builder().http_client(plan.http_client()).build()
    })
    .await;
    let mut people = Vec::new();
    for _ in 0..50 {
        people.push(app.person("Tess").await);
    }

    // Act: 50 requests through the function, then the courier at the provider's pace, SES
    // throttling every send for its first 20 s.
    let mut answered = Vec::new();
    for person in &people {
        let (status, took) = ask_for_link(&app, person).await;
        assert_eq!(status, 200);
        answered.push(took);
    }
    plan.throttle_until("ses:SendEmail", Instant::now() + Duration::from_secs(20));
    run_courier_until(&app, Duration::from_secs(240), "all 50 links", async || {
        let mail = captured_messages(&app.stack.endpoint).await;
        people.iter().all(|p| !mail.emails_to(&p.email).is_empty())
    })
    .await;
    // The queue may still hold a duplicate delivery: let it run dry.
    app.deliver().await;

    // Assert: every link once, each still usable (sent before its expiry), none lost.
    // At least the first batch (10 jobs, each tried twice by the SDK) met the throttling;
    // how many more did depends on how fast the emulator got through them in 20 s.
    assert!(
        plan.throttled_attempts() >= 20,
        "SES throttled only {} sends",
        plan.throttled_attempts()
    );
    let now = SystemClock.now();
    for person in &people {
        let mails = mails_to(&app, person).await;
        assert_eq!(mails.len(), 1, "{}: {} mails", person.email, mails.len());
        let user = app.user(&person.id).await;
        let id = user.latest_verification.expect("the link is the latest");
        let record = app
            .stack
            .store
            .get_verification(&id, now)
            .await
            .expect("get_verification")
            .expect("the link has not expired");
        assert!(
            matches!(record.delivery, Delivery::Sent { .. }),
            "{:?}",
            record.delivery
        );
        assert_eq!(link_param(&mails[0], "LeadId"), person.id.as_ref());
    }
    answered.sort();
    crate::report::record(
        "courier",
        &format!(
            "SES throttled {} sends over 20 s; 50 links delivered once each; the function answered in p50 {:?}, max {:?} (it never waits on SES)",
            plan.throttled_attempts(),
            answered[answered.len() / 2],
            answered[answered.len() - 1]
        ),
        50,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_that_outlasts_the_link_leaves_it_undelivered_audited_and_dead_lettered() {
    // Arrange: links live 6 s; SES throttles for an hour.
    let plan = FaultPlan::default();
    let mut overrides = FAST_RETRIES.to_vec();
    overrides.push((config::LINK_TTL_SECONDS, "6"));
    overrides.push((config::DELIVERY_RETRY_CAP_SECONDS, "2"));
    let app = spawn_courier_app(&overrides, |sdk| {
        sdk.to_builder().http_client(plan.http_client()).build()
    })
    .await;
    plan.throttle_until("ses:SendEmail", Instant::now() + Duration::from_secs(3600));
    let mut people = Vec::new();
    for _ in 0..3 {
        let person = app.person("Ulla").await;
        assert_eq!(ask_for_link(&app, &person).await.0, 200);
        people.push(person);
    }

    // Act
    run_courier_until(
        &app,
        Duration::from_secs(90),
        "3 dead letters",
        async || dead_letters(&app).await.len() >= 3,
    )
    .await;

    // Assert: nothing sent; each link withdrawn and marked, the give-up audited.
    for person in &people {
        assert!(mails_to(&app, person).await.is_empty());
        assert_eq!(app.user(&person.id).await.latest_verification, None);
        assert_eq!(
            audit_details(&app, &person.id, AuditAction::SendFailed).await,
            ["undelivered"]
        );
    }
    for job in dead_letters(&app).await {
        let record = app
            .stack
            .store
            .get_verification(&job.id.verification_id(), job.queued_at)
            .await
            .expect("get_verification")
            .expect("the job's link was issued");
        assert_eq!(record.delivery, Delivery::Undelivered);
        assert!(record.consumed, "the undelivered link can never be used");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_courier_killed_between_the_providers_accept_and_its_record_sends_once_more_at_most() {
    // Arrange: a staff code queued; the courier's record of the send held at a gate.
    let plan = FaultPlan::default();
    let app = spawn_courier_app(&FAST_RETRIES, |sdk| {
        sdk.to_builder().http_client(plan.http_client()).build()
    })
    .await;
    let person = app.person("Vera").await;
    let req = gateway_request(
        "/v1/guests/password?reset=true",
        "198.51.100.21",
        &[("authorization", &format!("apikey {STAFF_KEY}"))],
        &json!({"email": person.email}),
    );
    let res = guest_reset::handle(&app.service, req)
        .await
        .expect("answer");
    assert_eq!(res.status().as_u16(), 200);
    let record_of_send = plan.gate("dynamodb:UpdateItem");

    // Act: the courier sends, and is killed before it records the send or deletes the
    // message; the queue delivers the message again after its visibility timeout.
    let poll = courier::local::poll_once(&app.courier, &app.queues, Duration::ZERO);
    tokio::select! {
        _ = poll => panic!("the courier finished without meeting the gate"),
        // Dropping the poll here is the kill: nothing after the gate runs.
        () = record_of_send.reached() => {}
    }
    record_of_send.open();
    assert_eq!(mails_to(&app, &person).await.len(), 1, "the first send");
    run_courier_until(
        &app,
        Duration::from_secs(60),
        "the redelivery",
        async || mails_to(&app, &person).await.len() >= 2,
    )
    .await;
    // Any further delivery of the message sends nothing: the send is recorded now.
    tokio::time::sleep(Duration::from_secs(11)).await;
    app.deliver().await;

    // Assert: the documented duplicate, and no more.
    let mails = mails_to(&app, &person).await;
    assert_eq!(mails.len(), 2, "one send and the one documented duplicate");
    assert_eq!(staff_code(&mails[0]), staff_code(&mails[1]));
    let id = app
        .user(&person.id)
        .await
        .latest_verification
        .expect("the code");
    let record = app
        .stack
        .store
        .get_verification(&id, SystemClock.now())
        .await
        .expect("get")
        .expect("live");
    assert!(matches!(record.delivery, Delivery::Sent { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_courier_killed_after_recording_the_send_sends_nothing_when_the_message_comes_back() {
    let plan = FaultPlan::default();
    let app = spawn_courier_app(&FAST_RETRIES, |sdk| {
        sdk.to_builder().http_client(plan.http_client()).build()
    })
    .await;
    let person = app.person("Wanda").await;
    assert_eq!(ask_for_link(&app, &person).await.0, 200);
    let delete = plan.gate("sqs:DeleteMessageBatch");

    let poll = courier::local::poll_once(&app.courier, &app.queues, Duration::ZERO);
    tokio::select! {
        _ = poll => panic!("the courier finished without meeting the gate"),
        // Dropping the poll here is the kill: nothing after the gate runs.
        () = delete.reached() => {}
    }
    delete.open();
    // The message comes back after the visibility timeout (10 s here).
    tokio::time::sleep(Duration::from_secs(11)).await;
    app.deliver().await;

    assert_eq!(mails_to(&app, &person).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_used_before_the_courier_runs_is_never_sent() {
    let app = spawn_courier_app(&FAST_RETRIES, Clone::clone).await;
    let person = app.person("Xena").await;
    let req = gateway_request(
        "/v1/guests/password?reset=true",
        "198.51.100.22",
        &[("authorization", &format!("apikey {STAFF_KEY}"))],
        &json!({"email": person.email}),
    );
    let res = guest_reset::handle(&app.service, req)
        .await
        .expect("answer");
    let issued: serde_json::Value = serde_json::from_slice(res.body().as_ref()).expect("JSON");

    // Act: the code (staff read it out) is used before its message goes; then the courier.
    let (status, body) = app
        .post_confirm(&json!({
            "VerificationId": issued["verification_id"],
            "TemporaryPassword": issued["verification_code"],
            "Password": "a quiet harbour at seven",
            "PasswordConfirm": "a quiet harbour at seven",
        }))
        .await;
    assert_eq!(status, 200, "{body}");

    // Assert: only the "password changed" notice went out; the skip is audited.
    let mails = mails_to(&app, &person).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("password was just changed"), "{mails:?}");
    assert_eq!(
        audit_details(&app, &person.id, AuditAction::SendSuppressed).await,
        ["withdrawn_before_send"]
    );
}
