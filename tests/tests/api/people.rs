//! The people API on the emulator: the host keeps people current, and what it changes
//! reaches resets at once: a changed email moves the reset and withdraws the old link,
//! concurrent writes end on the newest version, an exclusive value has one holder, and a
//! removed person is gone as if they had never been.

use resetkit::demo::{BROWSER_KEY, PORTAL_KEY, SERVER_KEY, STAFF_KEY};
use resetkit::domain::fields::EMAIL;
use resetkit::domain::{AuditAction, FieldValue, LookupKey, UserId};
use resetkit::ports::{AuditLog, UserDirectory};
use serde_json::{json, Value};

use crate::helpers::{
    captured_messages, link_param, paced, random_hex, spawn_app, unique_us_mobile, TestApp,
};

const NEW_PASSWORD: &str = "a tangerine rowboat at dusk";

fn new_id() -> String {
    random_hex(16)
}

fn email(tag: &str) -> String {
    format!("host-{tag}@example.com")
}

fn path(id: &str) -> String {
    format!("/v1/people/{id}")
}

async fn forgot(app: &TestApp, address: &str) -> (u16, Vec<u8>) {
    let (status, _, body) = app
        .post_forgot_password(PORTAL_KEY, &json!({"EmailAddress": address}))
        .await;
    (status, body)
}

async fn mails_to(app: &TestApp, address: &str) -> Vec<(String, String)> {
    captured_messages(&app.stack.endpoint)
        .await
        .emails_to(address)
        .iter()
        .map(|m| (m.subject.clone(), m.body.clone()))
        .collect()
}

/// Contract C with a link's `LeadId` and secret.
async fn confirm_link(app: &TestApp, lead: &str, secret: &str) -> u16 {
    app.post_confirm(&json!({"LeadId": lead, "TemporaryPassword": secret,
        "Password": NEW_PASSWORD, "PasswordConfirm": NEW_PASSWORD}))
        .await
        .0
}

async fn holders(app: &TestApp, field: &str, value: FieldValue) -> Vec<UserId> {
    app.stack
        .store
        .find_by(&LookupKey::new(field, &value))
        .await
        .expect("find_by")
}

fn email_value(address: &str) -> FieldValue {
    FieldValue::Email(resetkit::domain::EmailAddress::parse(address).expect("email"))
}

#[tokio::test]
async fn a_person_the_host_puts_resets_by_each_contact_and_a_changed_email_moves_the_reset() {
    // Arrange: the host creates the person.
    let app = spawn_app().await;
    let (id, tag) = (new_id(), random_hex(6));
    let (old, new, mobile) = (
        email(&format!("{tag}-old")),
        email(&format!("{tag}-new")),
        unique_us_mobile(),
    );
    let created = app
        .people(
            "PUT",
            &path(&id),
            Some(&json!({"Version": 1, "FirstName": "Inês",
            "EmailAddress": old, "Mobile": mobile, "Locale": "fr"})),
        )
        .await;
    assert_eq!(created.0, 201, "{}", created.1);

    // Act and assert: staff reset by mobile, the person asks by email.
    let (staff, issued) = app
        .post_guest_reset(STAFF_KEY, &json!({"mobile": mobile, "first_name": "Inês"}))
        .await;
    assert_eq!(
        (staff, issued["user_id"].as_str()),
        (200, Some(id.as_str())),
        "{issued}"
    );
    assert_eq!(forgot(&app, &old).await.0, 200);
    let mails = mails_to(&app, &old).await;
    let old_link = link_param(
        &mails.last().expect("the link to the old address").1,
        "TemporaryPassword",
    );

    // The host changes the email.
    let changed = app
        .people(
            "PUT",
            &path(&id),
            Some(&json!({"Version": 2, "FirstName": "Inês",
            "EmailAddress": new, "Mobile": mobile, "Locale": "fr"})),
        )
        .await;
    assert_eq!(changed.0, 200, "{}", changed.1);

    // The link sent to the old address no longer works, and the old address was told.
    assert_eq!(
        confirm_link(&app, &id, &old_link).await,
        400,
        "the old link is withdrawn"
    );
    let after_change = mails_to(&app, &old).await;
    assert_eq!(
        after_change.len(),
        mails.len() + 1,
        "one notice to the old address"
    );
    let notice = after_change.last().expect("notice");
    assert!(
        notice.0.contains("ne sert plus"),
        "the contact_changed notice, in the person's language: {}",
        notice.0
    );
    assert!(
        !notice.1.contains("TemporaryPassword"),
        "a notice carries no link"
    );

    // A request by the old address sends nothing; by the new one, a link to the new one.
    assert_eq!(forgot(&app, &old).await.0, 200);
    assert_eq!(
        mails_to(&app, &old).await.len(),
        after_change.len(),
        "nothing to the old"
    );
    assert_eq!(forgot(&app, &new).await.0, 200);
    let to_new = mails_to(&app, &new).await;
    assert_eq!(to_new.len(), 1, "the link goes to the new address");
    let new_link = link_param(&to_new[0].1, "TemporaryPassword");
    assert_eq!(confirm_link(&app, &id, &new_link).await, 200);

    // The host reads the reset back: the credential's new version and when it happened.
    let (status, view) = app.people("GET", &path(&id), None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["CredentialVersion"], 1, "{view}");
    assert!(view["LastResetAt"].as_u64().is_some(), "{view}");
    assert_eq!(view["Suppressed"], json!([]), "{view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_puts_of_one_person_end_on_version_twenty_and_its_index_exactly() {
    // Arrange: versions 1-20, each with its own email and member code, in a shuffled order.
    let app = spawn_app().await;
    let (id, tag) = (new_id(), random_hex(6));
    let body = |v: u64| {
        json!({"Version": v, "EmailAddress": email(&format!("{tag}-v{v}")),
            "Fields": {"mx_Member_Code": format!("m-{tag}-{v}")}})
    };
    let order: Vec<u64> = (0..20).map(|i| (i * 7) % 20 + 1).collect();
    let bodies: Vec<Value> = order.iter().map(|&v| body(v)).collect();

    // Act: all twenty at once.
    let person = path(&id);
    let answers = paced(bodies.iter().map(|b| app.people("PUT", &person, Some(b)))).await;

    // Assert: every answer a write or a refusal of an older version, never a failure.
    for (v, (status, answer)) in order.iter().zip(&answers) {
        assert!(
            [200, 201].contains(status) || (*status == 409 && answer["field"] == "Version"),
            "version {v}: {status} {answer}"
        );
    }
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "one creation"
    );
    let user = app.user(&UserId::parse(&id).expect("id")).await;
    assert_eq!(user.version.map(|v| v.get()), Some(20));
    assert_eq!(
        user.fields[EMAIL].as_str(),
        email(&format!("{tag}-v20")),
        "version 20's values exactly"
    );
    for v in 1..=20 {
        let found = holders(&app, EMAIL, email_value(&email(&format!("{tag}-v{v}")))).await;
        let want = if v == 20 {
            vec![user.id.clone()]
        } else {
            vec![]
        };
        assert_eq!(found, want, "the index entry of version {v}'s email");
    }
    // Only version 20's member code is held: another person can take any other.
    let (status, answer) = app
        .people(
            "PUT",
            &path(&new_id()),
            Some(&json!({"Version": 1,
            "Fields": {"mx_Member_Code": format!("m-{tag}-7")}})),
        )
        .await;
    assert_eq!(
        status, 201,
        "an older version's claim was given up: {answer}"
    );
    let (status, answer) = app
        .people(
            "PUT",
            &path(&new_id()),
            Some(&json!({"Version": 1,
            "Fields": {"mx_Member_Code": format!("m-{tag}-20")}})),
        )
        .await;
    assert_eq!(
        (status, &answer["field"]),
        (409, &json!("mx_Member_Code")),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exclusive_field_claimed_by_two_people_at_once_has_one_holder() {
    let app = spawn_app().await;
    let code = format!("m-{}", random_hex(6));
    let (a, b) = (new_id(), new_id());
    let put = |id: String| {
        let body = json!({"Version": 1, "Fields": {"mx_Member_Code": code}});
        let app = &app;
        async move { app.people("PUT", &path(&id), Some(&body)).await }
    };

    let (first, second) = futures::join!(put(a.clone()), put(b.clone()));

    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{first:?} {second:?}");
    let loser = if first.0 == 409 { &first.1 } else { &second.1 };
    assert_eq!(loser["field"], "mx_Member_Code", "{loser}");
    let loser_id = if first.0 == 409 { &a } else { &b };
    assert_eq!(
        app.stack
            .store
            .get_user(&UserId::parse(loser_id).expect("id"))
            .await
            .expect("get_user"),
        None,
        "nothing of the refused write applied"
    );
}

#[tokio::test]
async fn a_removed_person_is_gone_their_link_dead_and_the_answers_as_for_nobody() {
    // Arrange: a person the host created, with a live link.
    let app = spawn_app().await;
    let (id, tag) = (new_id(), random_hex(6));
    let address = email(&tag);
    let put = json!({"Version": 3, "EmailAddress": address, "FirstName": "Rui"});
    assert_eq!(app.people("PUT", &path(&id), Some(&put)).await.0, 201);
    assert_eq!(forgot(&app, &address).await.0, 200);
    let link = link_param(&mails_to(&app, &address).await[0].1, "TemporaryPassword");

    // Act: an older removal is refused; the host's current one removes them.
    let stale = app
        .people("DELETE", &format!("{}?Version=2", path(&id)), None)
        .await;
    assert_eq!(
        (stale.0, &stale.1["field"]),
        (409, &json!("Version")),
        "{}",
        stale.1
    );
    let removed = app
        .people("DELETE", &format!("{}?Version=4", path(&id)), None)
        .await;

    // Assert
    assert_eq!(removed, (204, Value::Null));
    assert_eq!(
        confirm_link(&app, &id, &link).await,
        400,
        "the live link stops working"
    );
    assert!(holders(&app, EMAIL, email_value(&address)).await.is_empty());
    let unknown = email(&format!("{tag}-never"));
    assert_eq!(
        forgot(&app, &address).await,
        forgot(&app, &unknown).await,
        "a removed person's answer is byte for byte an unknown one's"
    );
    let staff_removed = app
        .post_guest_reset(STAFF_KEY, &json!({"email": address}))
        .await;
    let staff_unknown = app
        .post_guest_reset(STAFF_KEY, &json!({"email": unknown}))
        .await;
    assert_eq!(staff_removed, staff_unknown);
    assert_eq!(
        mails_to(&app, &address).await.len(),
        1,
        "nothing more was sent"
    );
    assert_eq!(app.people("GET", &path(&id), None).await.0, 404);
    let kept: Vec<AuditAction> = app
        .stack
        .store
        .user_events(&UserId::parse(&id).expect("id"))
        .await
        .expect("user_events")
        .into_iter()
        .map(|e| e.event.action)
        .collect();
    for action in [
        AuditAction::PersonChanged,
        AuditAction::CodeSent,
        AuditAction::PersonDeleted,
    ] {
        assert!(
            kept.contains(&action),
            "the audit keeps {action:?}: {kept:?}"
        );
    }
}

#[tokio::test]
async fn only_a_server_key_granted_people_write_writes_and_the_order_of_versions_holds() {
    let app = spawn_app().await;
    let id = new_id();
    let body =
        json!({"Version": 5, "EmailAddress": email(&random_hex(6)), "Mobile": unique_us_mobile()});
    for key in [
        STAFF_KEY,
        PORTAL_KEY,
        BROWSER_KEY,
        SERVER_KEY,
        "rk_no_such_key",
    ] {
        let (status, answer) = app.people_as(key, "PUT", &path(&id), Some(&body)).await;
        assert_eq!(status, 401, "{key}: {answer}");
    }
    assert_eq!(app.people("PUT", &path(&id), Some(&body)).await.0, 201);
    // A late retry of an older update changes nothing.
    let older = json!({"Version": 3, "EmailAddress": email(&random_hex(6))});
    let (status, answer) = app.people("PUT", &path(&id), Some(&older)).await;
    assert_eq!(
        (status, &answer["field"]),
        (409, &json!("Version")),
        "{answer}"
    );
    // The same write again is a success that changes nothing.
    let (status, answer) = app.people("PUT", &path(&id), Some(&body)).await;
    assert_eq!(
        (status, &answer["Changed"]),
        (200, &json!(false)),
        "{answer}"
    );
    // A patch changes what it names and keeps the rest.
    let (status, answer) = app
        .people(
            "PATCH",
            &path(&id),
            Some(&json!({"Version": 6, "Mobile": null, "FirstName": "Eva"})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, view) = app.people("GET", &path(&id), None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["Version"], 6);
    assert_eq!(view["FirstName"], "Eva");
    assert!(view["Fields"].get("Mobile").is_none(), "{view}");
    assert!(
        view["Fields"][EMAIL]
            .as_str()
            .is_some_and(|e| e.contains("***")),
        "masked: {view}"
    );
    let number = view["SystemUserId"].as_i64().expect("a number was drawn");
    let (status, by_number) = app
        .people("GET", &format!("/v1/people?SystemUserId={number}"), None)
        .await;
    assert_eq!((status, &by_number["UserId"]), (200, &json!(id)));
    // Bad input names its field and writes nothing.
    for (bad, field) in [
        (json!({"Version": 7, "Nickname": "x"}), "Nickname"),
        (
            json!({"Version": 7, "EmailAddress": "not an address"}),
            "EmailAddress",
        ),
        (json!({"Version": 7, "Mobile": 5}), "Mobile"),
        (json!({"Version": 7, "Fields": {"mx_Nope": "x"}}), "mx_Nope"),
        (json!({"EmailAddress": email("x")}), "Version"),
    ] {
        let (status, answer) = app.people("PUT", &path(&id), Some(&bad)).await;
        assert_eq!((status, &answer["field"]), (400, &json!(field)), "{answer}");
    }
    assert_eq!(
        app.user(&UserId::parse(&id).expect("id"))
            .await
            .version
            .map(|v| v.get()),
        Some(6)
    );
}
