//! The audit log on the emulator: events written without a read keep every one of a burst
//! of concurrent requests behind one shared key, the digest job seals them, and `resetctl
//! audit verify` passes on the untouched log and names each kind of tampering.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use resetkit::demo::{BROWSER_KEY, PORTAL_KEY, STAFF_KEY};
use resetkit::domain::audit_digest::{PERIOD_SECONDS, SEAL_DELAY_SECONDS};
use resetkit::domain::{AuditAction, EventKey, RecordedEvent, Timestamp};
use resetkit::ports::{AuditLog, Clock, SystemClock};
use serde_json::json;

use crate::helpers::{
    gateway_request, load_endpoint, paced, random_hex, spawn_app, spawn_app_at, TestApp, IN_FLIGHT,
};

const FORGOT: &str = "/api/Authentication/ForgotPassword";
const CONFIRM: &str = "/user/password/reset";
const PROBES: usize = 200;

/// A moment by which every period holding an event written so far can be sealed.
fn after_the_seal_delay() -> Timestamp {
    Timestamp::from_unix_seconds(
        SystemClock.now().unix_seconds() + PERIOD_SECONDS + SEAL_DELAY_SECONDS,
    )
}

/// What `resetctl audit verify` prints or fails with, at `now`.
async fn verify(app: &TestApp, now: Timestamp) -> Result<resetctl::audit::VerifyReport, String> {
    resetctl::audit::verify(
        app.stack.store.clone(),
        app.service.settings().code_keys.clone(),
        now,
    )
    .await
    .map_err(|e| e.to_string())
}

/// The digest job's run at `now`, as the scheduled function runs it.
async fn seal(app: &TestApp, now: Timestamp) -> resetkit::service::Sealed {
    resetctl::audit::seal(
        app.stack.store.clone(),
        app.service.settings().code_keys.clone(),
        now,
    )
    .await
    .expect("the digest job runs")
}

fn events_by(events: &[RecordedEvent], actor: &str, detail: &str) -> usize {
    events
        .iter()
        .filter(|e| {
            e.event.actor.as_deref() == Some(actor) && e.event.detail.as_deref() == Some(detail)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_probes_and_confirms_behind_shared_keys_each_leave_their_event() {
    // Arrange: a fresh stage on the load tests' emulator; every request from its own
    // address (as strangers' are), so no limit refuses any and each is counted where it
    // should be.
    let app = spawn_app_at(
        load_endpoint(),
        &[],
        aws_config::SdkConfig::clone,
        &resetkit::adapters::aws::EMULATOR_BUDGETS,
    )
    .await;
    let start = SystemClock.now();
    let run = random_hex(4);
    let forgot = (0..PROBES).map(|i| {
        let req = gateway_request(
            FORGOT,
            &format!("198.51.{}.{}", i / 250, i % 250 + 1),
            &[("authorization", PORTAL_KEY)],
            &json!({"EmailAddress": format!("nobody-{run}-{i}@example.com")}),
        );
        forgot_password::handle(&app.service, req)
    });
    let confirms = (0..PROBES).map(|i| {
        let req = gateway_request(
            CONFIRM,
            &format!("203.0.{}.{}", 113 + i / 250, i % 250 + 1),
            &[],
            &json!({"EmailAddress": format!("nobody-{run}-{i}@example.com"), "TemporaryPassword": "123456",
                "Password": "a tangerine rowboat at dusk", "PasswordConfirm": "a tangerine rowboat at dusk",
                "ApiKey": BROWSER_KEY}),
        );
        password_confirm::handle(&app.service, req)
    });

    // Act: both kinds side by side, `IN_FLIGHT` of each at a time (all 400 at once only
    // overflow the emulator's backlog), so every event is written while dozens of others
    // land in the same periods and shards behind the same two keys; then the couriers (four,
    // as Lambda would run several) take the 200 queued lookups at once; then the digest job.
    let (forgot, confirms) = futures::join!(paced(forgot), paced(confirms));
    join_all((0..4).map(|_| courier::local::drain(&app.courier, &app.queues)))
        .await
        .into_iter()
        .for_each(|drained| {
            drained.expect("the courier drains");
        });
    let now = after_the_seal_delay();
    let sealed = seal(&app, now).await;
    let verified = verify(&app, now).await;

    // Assert
    let statuses = |answers: Vec<Result<lambda_http::Response<lambda_http::Body>, _>>| {
        let mut counts: HashMap<u16, usize> = HashMap::new();
        for a in answers {
            *counts
                .entry(a.expect("the handler answers").status().as_u16())
                .or_default() += 1;
        }
        counts
    };
    assert_eq!(
        statuses(forgot),
        HashMap::from([(200, PROBES)]),
        "forgot-password"
    );
    assert_eq!(
        statuses(confirms),
        HashMap::from([(400, PROBES)]),
        "confirm (no code for these people)"
    );
    let events = app
        .stack
        .store
        .events_between(start, now)
        .await
        .expect("read the log");
    let (portal, browser) = ("key_demo_portal", "key_demo_browser");
    assert_eq!(
        events_by(&events, portal, "no_match"),
        PROBES,
        "every probe's event, behind one portal key"
    );
    assert_eq!(
        events_by(&events, browser, "no_active_code"),
        PROBES,
        "every confirm's event, behind one browser key"
    );
    assert_eq!(
        sealed.events,
        events.len(),
        "the digest job sealed them all"
    );
    let report = verified.unwrap_or_else(|e| panic!("the untouched log verifies: {e}"));
    assert_eq!(report.0.sealed_events, events.len());
    assert_eq!(report.0.unsealed_events, 0);
    crate::report::record(
        "audit",
        &format!(
            "concurrent requests behind two shared keys ({IN_FLIGHT} of each kind in flight), every event stored and sealed; {report}"
        ),
        2 * PROBES,
    );
}

/// The stored items of one person's events, raw, with their keys.
async fn raw_events(app: &TestApp, user: &str) -> Vec<HashMap<String, AttributeValue>> {
    app.stack
        .dynamodb
        .query()
        .table_name(&app.stack.store.tables().audit)
        .index_name("by_user")
        .key_condition_expression("user_id = :u")
        .expression_attribute_values(":u", AttributeValue::S(user.to_owned()))
        .send()
        .await
        .expect("query by_user")
        .items
        .unwrap_or_default()
}

fn key_of(item: &HashMap<String, AttributeValue>) -> HashMap<String, AttributeValue> {
    ["stream", "event_id"]
        .into_iter()
        .map(|k| (k.to_owned(), item[k].clone()))
        .collect()
}

/// `<at>-<id>`, as findings name an event, from its stored sort key `<at>#<id>`.
fn name_of(item: &HashMap<String, AttributeValue>) -> String {
    let AttributeValue::S(sort) = &item["event_id"] else {
        panic!("event_id is a string")
    };
    let (at, id) = sort.split_once('#').expect("<at>#<id>");
    EventKey {
        at: Timestamp::from_unix_seconds(at.parse().expect("seconds")),
        id: resetkit::domain::EventId::parse(id).expect("hex id"),
    }
    .to_string()
}

#[tokio::test]
async fn verify_names_a_changed_deleted_or_inserted_event_a_deleted_period_and_a_removed_digest() {
    // Arrange: a staff reset with one wrong guess and the right code: four events about
    // one person, then sealed.
    let app = spawn_app().await;
    let guest = app.person("Flor").await;
    let (_, issued) = app
        .post_guest_reset(STAFF_KEY, &json!({"email": guest.email}))
        .await;
    let code = issued["verification_code"]
        .as_str()
        .expect("the staff code")
        .to_owned();
    let body = |code: &str| {
        json!({"VerificationId": issued["verification_id"], "TemporaryPassword": code,
        "Password": "a tangerine rowboat at dusk", "PasswordConfirm": "a tangerine rowboat at dusk"})
    };
    app.post_confirm(&body(if code == "000000" { "111111" } else { "000000" }))
        .await;
    assert_eq!(app.post_confirm(&body(&code)).await.0, 200);
    // Sealed twice, a period apart. A stage's first run starts three periods back, so it
    // writes two or three digests as the wall clock falls within its period (two in the
    // last minute of each five): with two, the "middle" digest removed below would be the
    // newest, whose loss no chain can show. The second run adds one more.
    let first_run = after_the_seal_delay();
    seal(&app, first_run).await;
    let now = first_run.plus(std::time::Duration::from_secs(PERIOD_SECONDS));
    seal(&app, now).await;
    let mut items = raw_events(&app, guest.id.as_ref()).await;
    items.sort_by_key(name_of);
    let actions: Vec<_> = items
        .iter()
        .map(|i| match &i["action"] {
            AttributeValue::S(a) => a.clone(),
            _ => String::new(),
        })
        .collect();
    let table = app.stack.store.tables().audit.clone();
    let db = &app.stack.dynamodb;
    let put_back = |item: HashMap<String, AttributeValue>| {
        db.put_item().table_name(&table).set_item(Some(item)).send()
    };
    let delete = |item: &HashMap<String, AttributeValue>| {
        db.delete_item()
            .table_name(&table)
            .set_key(Some(key_of(item)))
            .send()
    };

    // Act and assert, one tampering at a time (each undone before the next).
    let intact = verify(&app, now).await;
    assert!(intact.is_ok(), "the untouched log verifies: {intact:?}");
    assert_eq!(
        items.len(),
        4,
        "code sent, attempt failed, password changed, notice: {actions:?}"
    );

    db.update_item()
        .table_name(&table)
        .set_key(Some(key_of(&items[1])))
        .update_expression("SET detail = :d")
        .expression_attribute_values(":d", AttributeValue::S("nothing to see".into()))
        .send()
        .await
        .expect("change");
    assert_eq!(
        verify(&app, now).await.err(),
        Some(format!(
            "event {} was altered after it was sealed",
            name_of(&items[1])
        ))
    );
    put_back(items[1].clone()).await.expect("undo");

    delete(&items[2]).await.expect("delete");
    assert_eq!(
        verify(&app, now).await.err(),
        Some(format!(
            "event {} is missing: its period's digest lists it",
            name_of(&items[2])
        ))
    );
    put_back(items[2].clone()).await.expect("undo");

    let mut forged = items[0].clone();
    let AttributeValue::S(sort) = &items[0]["event_id"] else {
        panic!("event_id is a string")
    };
    let forged_sort = format!(
        "{}#{}",
        sort.split_once('#').expect("<at>#<id>").0,
        "ab".repeat(16)
    );
    forged.insert("event_id".into(), AttributeValue::S(forged_sort));
    forged.insert(
        "action".into(),
        AttributeValue::S(AuditAction::PasswordChanged.as_str().into()),
    );
    put_back(forged.clone()).await.expect("insert");
    assert_eq!(
        verify(&app, now).await.err(),
        Some(format!(
            "event {} was inserted: no digest lists it",
            name_of(&forged)
        ))
    );
    delete(&forged).await.expect("undo");
    assert!(verify(&app, now).await.is_ok(), "undone, it verifies again");

    // The whole period (this stage's events are all this person's).
    for item in &items {
        delete(item).await.expect("delete");
    }
    assert_eq!(
        verify(&app, now).await.err(),
        Some(format!(
            "event {} is missing: its period's digest lists it",
            name_of(&items[0])
        ))
    );

    // A digest removed from the middle of the chain (the events put back).
    for item in &items {
        put_back(item.clone()).await.expect("undo");
    }
    assert!(verify(&app, now).await.is_ok(), "undone, it verifies again");
    let digests = app.stack.store.digests().await.expect("digests");
    assert!(
        digests.len() >= 3,
        "a digest on each side of the middle one: {digests:?}"
    );
    let middle = &digests[digests.len() / 2];
    db.delete_item()
        .table_name(&table)
        .key("stream", AttributeValue::S("digests".into()))
        .key(
            "event_id",
            AttributeValue::S(format!(
                "{:011}#{:06}",
                middle.period.from.unix_seconds(),
                middle.part
            )),
        )
        .send()
        .await
        .expect("delete a digest");
    let err = verify(&app, now)
        .await
        .expect_err("a removed digest is found");
    assert!(
        err.contains("a digest is missing")
            && err.contains(&format!("period {} part 0", middle.period)),
        "{err}"
    );
}
