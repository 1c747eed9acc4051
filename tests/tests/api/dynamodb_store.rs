//! The DynamoDB adapter against the emulator: the shared port contract, and what the
//! tables actually hold.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use resetkit::adapters::sqs::SqsQueue;
use resetkit::domain::fields::EMAIL;
use resetkit::domain::password::NewPassword;
use resetkit::domain::{
    ApiKeyRecord, Channel, CodeHash, EmailAddress, FieldValue, FirstName, Flow, KeyKind, Location,
    LookupKey, Permission, PresentedKey, ResetSecret, Timestamp, User, UserId, VerificationId,
    VerificationRecord,
};
use resetkit::ports::{
    ApiKeyStore, Clock, CompletedReset, ConsumeError, NoMetrics, OsRandom, StoreError, SystemClock,
    UserDirectory, VerificationStore,
};
use resetkit::service::{ConfirmCommand, ConfirmError, ConfirmSubject, GuestResetCommand};
use resetkit::testing::CollidingDraws;
use resetkit::Resetkit;

use crate::helpers::{captured_messages, random_hex, spawn_stack, TestStack};

const PASSWORD: &str = "violet-Harbor-quietly-91-Lantern";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_keeps_the_port_contract() {
    let stack = spawn_stack().await;
    resetkit::store_suite::run(|| stack.fresh_store()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_table_holds_a_clear_code_password_or_key_after_a_reset() {
    // Arrange: a guest and a staff key, on the production adapters.
    let stack = spawn_stack().await;
    let (queue_url, dead_letter_url) = stack.queues().await;
    let queue = SqsQueue::new(stack.sqs.clone(), queue_url);
    let service = Resetkit::new(
        stack.store.clone(),
        queue.clone(),
        SystemClock,
        OsRandom,
        NoMetrics,
        resetkit::testing::settings(),
    );
    let courier = Resetkit::new(
        stack.store.clone(),
        stack.notifier().await,
        SystemClock,
        OsRandom,
        NoMetrics,
        resetkit::testing::settings(),
    );
    let queues = courier::SqsQueues::new(queue, SqsQueue::new(stack.sqs.clone(), dead_letter_url));
    let email = format!("guest-{}@example.com", random_hex(6));
    let user = new_user(&stack, &email).await;
    let staff_secret = format!("rk_{}", random_hex(32));
    let staff = ApiKeyRecord {
        hash: PresentedKey(&staff_secret).hash(),
        key_id: format!("key_{}", random_hex(6)),
        kind: KeyKind::Employee,
        permissions: [Permission::GuestsEdit].into(),
        active: true,
        created_at: None,
        revoke_at: None,
    };
    stack.store.put_key(&staff).await.expect("put_key");
    let caller = service
        .authenticate(
            resetkit::service::Endpoint::GuestReset,
            &staff_secret,
            &[KeyKind::Employee],
            Permission::GuestsEdit,
            Some("203.0.113.7".into()),
        )
        .await
        .expect("staff key authenticates");

    // Act: staff reset, one wrong attempt, then the right code with a new password.
    let issued = service
        .guest_reset(
            &caller,
            GuestResetCommand {
                email: Some(parse_email(&email)),
                ..Default::default()
            },
        )
        .await
        .expect("guest_reset");
    courier::local::drain(&courier, &queues)
        .await
        .expect("the courier sends the code");
    let code = issued.code.expose().to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let confirm = |secret: &str, location| ConfirmCommand {
        subject: ConfirmSubject::Verification(issued.verification_id.clone()),
        secret: ResetSecret::from_presented(secret),
        password: NewPassword::parse(PASSWORD).expect("password parses"),
        location,
        language: None,
    };
    let refused = service.confirm(&caller, confirm(wrong, None)).await;
    assert!(
        matches!(refused, Err(ConfirmError::CodeRejected)),
        "wrong code: {refused:?}"
    );
    let location = Location::parse(Some(38.72), Some(-9.14)).expect("location");
    service
        .confirm(&caller, confirm(&code, location))
        .await
        .expect("right code resets the password");

    // Assert: the reset happened, the code went out by mail, and no table holds a secret.
    let after = stack
        .store
        .get_user(&user.id)
        .await
        .expect("get_user")
        .expect("user");
    assert_eq!(after.credential_version, 1);
    assert!(after
        .password_hash
        .as_ref()
        .is_some_and(|h| h.as_phc().starts_with("$argon2id$")));
    let mail = captured_messages(&stack.endpoint).await;
    assert!(
        mail.emails_to(&email)
            .iter()
            .any(|m| m.body.contains(&code)),
        "the code was mailed to the guest"
    );

    let tables = scan_all(&stack).await;
    assert!(
        tables["audit"].len() >= 3,
        "code sent, attempt failed, password changed: {:?}",
        tables["audit"]
    );
    for (table, items) in &tables {
        for item in items {
            let tokens: Vec<&str> = item.split(|c: char| !c.is_ascii_alphanumeric()).collect();
            assert!(
                !tokens.contains(&code.as_str()),
                "{table} holds the clear code: {item}"
            );
            assert!(
                !item.contains(PASSWORD),
                "{table} holds the clear password: {item}"
            );
            assert!(
                !item.contains(&staff_secret),
                "{table} holds the clear API key: {item}"
            );
        }
    }
    let audit = tables["audit"].join("\n");
    assert!(
        !audit.contains(&email),
        "the audit log holds a full address: {audit}"
    );
    assert!(
        audit.contains("g***@example.com"),
        "the audit log names the masked destination: {audit}"
    );
    assert!(audit.contains("38.72"), "the location is recorded: {audit}");
}

#[tokio::test]
async fn an_expired_record_still_in_the_table_reads_as_none() {
    // Arrange: a record whose expiry has passed, which TTL has not deleted yet.
    let stack = spawn_stack().await;
    let user = new_user(&stack, &format!("late-{}@example.com", random_hex(6))).await;
    let now = SystemClock.now();
    let record = VerificationRecord {
        id: VerificationId::from_random(random_bytes()),
        user_id: user.id.clone(),
        flow: Flow::StaffCode,
        channel: Channel::Email,
        code_hash: CodeHash::from_bytes([7; 32]),
        created_at: Timestamp::from_unix_seconds(now.unix_seconds() - 700),
        expires_at: Timestamp::from_unix_seconds(now.unix_seconds() - 100),
        attempts: 0,
        max_attempts: 5,
        consumed: false,
        delivery: resetkit::domain::Delivery::Queued,
    };
    stack.store.issue(&record).await.expect("issue");
    let raw = stack
        .dynamodb
        .get_item()
        .table_name(&stack.store.tables().verifications)
        .key("verification_id", AttributeValue::S(record.id.to_string()))
        .send()
        .await
        .expect("raw get_item");
    assert!(raw.item.is_some(), "the expired item is still in the table");

    // Act
    let read = stack
        .store
        .get_verification(&record.id, now)
        .await
        .expect("get_verification");
    let used = stack
        .store
        .complete_reset(&CompletedReset {
            verification: record.id.clone(),
            user: user.id.clone(),
            expected_credential_version: 0,
            new_password_hash: resetkit::domain::PasswordHash::from_phc("$argon2id$x".into()),
            now,
        })
        .await;

    // Assert
    assert_eq!(read, None, "an expired record MUST read as None");
    assert!(
        matches!(used, Err(ConsumeError::Rejected)),
        "an expired record MUST NOT be used: {used:?}"
    );
}

#[tokio::test]
async fn a_malformed_item_reads_as_corrupt_not_a_panic() {
    // Arrange: a verification item written by hand, with a code hash of the wrong size.
    let stack = spawn_stack().await;
    let id = VerificationId::from_random(random_bytes());
    let item = HashMap::from([
        (
            "verification_id".to_owned(),
            AttributeValue::S(id.to_string()),
        ),
        (
            "user_id".to_owned(),
            AttributeValue::S(UserId::from_random(random_bytes()).to_string()),
        ),
        (
            "code_hash".to_owned(),
            AttributeValue::B(vec![1, 2, 3].into()),
        ),
    ]);
    stack
        .dynamodb
        .put_item()
        .table_name(&stack.store.tables().verifications)
        .set_item(Some(item))
        .send()
        .await
        .expect("raw put_item");

    // Act
    let read = stack.store.get_verification(&id, SystemClock.now()).await;

    // Assert
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "got {read:?}");
}

#[tokio::test]
async fn an_unreachable_table_is_unavailable_not_a_panic() {
    // Arrange: a store whose tables were never created.
    let stack = spawn_stack().await;
    let store = resetkit::adapters::dynamodb::DynamoStore::new(stack.dynamodb.clone(), "missing-");

    // Act
    let read = store.get_user(&UserId::from_random(random_bytes())).await;

    // Assert
    assert!(
        matches!(read, Err(StoreError::Unavailable(_))),
        "got {read:?}"
    );
}

fn random_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    resetkit::ports::RandomSource::fill(&OsRandom, &mut b);
    b
}

fn parse_email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

async fn new_user(stack: &TestStack, email: &str) -> User {
    let mut user = User::new(UserId::from_random(random_bytes()));
    user.first_name = Some(FirstName::parse("Gwen").expect("name"));
    user.fields
        .insert(EMAIL.into(), FieldValue::Email(parse_email(email)));
    let keys = [LookupKey::new(
        EMAIL,
        &FieldValue::Email(parse_email(email)),
    )];
    stack
        .store
        .create_user(&user, &keys)
        .await
        .expect("create_user");
    user
}

/// Every item of every table of the stack, as text (test code only: no code path scans).
/// Strings as they are, numbers as digits, binary as hex and as lossy UTF-8.
async fn scan_all(stack: &TestStack) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    for table in &stack.tables {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = stack
                .dynamodb
                .scan()
                .table_name(table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap_or_else(|e| panic!("scan {table}: {e:?}"));
            items.extend(page.items().iter().map(|item| {
                let mut fields: Vec<String> = item
                    .iter()
                    .map(|(k, v)| format!("{k}={}", render(v)))
                    .collect();
                fields.sort();
                fields.join(" ")
            }));
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.insert(
            table
                .strip_prefix(&stack.prefix)
                .unwrap_or(table)
                .to_owned(),
            items,
        );
    }
    out
}

fn render(v: &AttributeValue) -> String {
    match v {
        AttributeValue::S(s) | AttributeValue::N(s) => s.clone(),
        AttributeValue::B(b) => format!(
            "{} {}",
            hex::encode(b.as_ref()),
            String::from_utf8_lossy(b.as_ref())
        ),
        AttributeValue::Bool(b) => b.to_string(),
        AttributeValue::Ss(v) | AttributeValue::Ns(v) => v.join(","),
        AttributeValue::L(v) => v.iter().map(render).collect::<Vec<_>>().join(","),
        AttributeValue::M(m) => m
            .iter()
            .map(|(k, v)| format!("{k}:{}", render(v)))
            .collect::<Vec<_>>()
            .join(","),
        other => format!("{other:?}"),
    }
}

/// `count` people, one JSON object a line, with addresses no other test uses.
fn import_file(tag: &str, count: usize) -> String {
    (0..count)
        .map(|i| {
            serde_json::json!({"first_name": "Imp", "email": format!("{tag}-{i}@example.com")})
                .to_string()
                + "\n"
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_imports_never_give_two_people_one_system_user_id() {
    // Arrange: both imports draw 1, 2, 3, … (the second only its first four, then numbers
    // no one else draws), so they contest the same numbers from the first person on.
    let stack = spawn_stack().await;
    let catalog = resetkit::demo::catalog();
    let (draws_a, draws_b) = (
        CollidingDraws::counting(),
        CollidingDraws::contested_then_unique(4, 1_000_000),
    );
    let tag = random_hex(4);
    let (file_a, file_b) = (
        import_file(&format!("a{tag}"), 40),
        import_file(&format!("b{tag}"), 40),
    );

    // Act
    let (a, b) = tokio::join!(
        resetctl::people::import_users_with(
            &stack.store,
            &draws_a,
            &catalog,
            file_a.as_bytes(),
            |_| {}
        ),
        resetctl::people::import_users_with(
            &stack.store,
            &draws_b,
            &catalog,
            file_b.as_bytes(),
            |_| {}
        ),
    );

    // Assert: everyone imported, each with a number of their own that names them back.
    let (a, b) = (a.expect("import a"), b.expect("import b"));
    assert_eq!(
        (a.imported, b.imported, a.rejected.len() + b.rejected.len()),
        (40, 40, 0),
        "{a:?} {b:?}"
    );
    assert!(
        draws_a.draws() + draws_b.draws() > 80,
        "some number was contested and drawn again"
    );
    let mut numbers = BTreeSet::new();
    for line in file_a.lines().chain(file_b.lines()) {
        let email: serde_json::Value = serde_json::from_str(line).expect("json");
        let email = email["email"].as_str().expect("email");
        let ids = stack
            .store
            .find_by(&LookupKey::new(
                EMAIL,
                &FieldValue::Email(parse_email(email)),
            ))
            .await
            .expect("find_by");
        assert_eq!(ids.len(), 1, "{email}");
        let user = stack
            .store
            .get_user(&ids[0])
            .await
            .expect("get")
            .expect("user");
        let number = user.system_user_id.expect("numbered on import");
        assert_eq!(
            stack
                .store
                .find_by_system_user_id(number)
                .await
                .expect("find"),
            Some(user.id),
            "{number} names its person"
        );
        numbers.insert(number);
    }
    assert_eq!(numbers.len(), 80, "no number shared");
    let claims = scan_all(&stack).await["identifiers"]
        .iter()
        .filter(|item| item.contains("claimed_by"))
        .count();
    assert_eq!(claims, 80, "one claim per person, none left by a lost draw");

    // An import that gives a number someone holds is refused on that line alone.
    let held = numbers.first().expect("a number").get();
    let clash = format!(
        "{}\n{}\n",
        serde_json::json!({"email": format!("c1{tag}@example.com")}),
        serde_json::json!({"email": format!("c2{tag}@example.com"), "system_user_id": held}),
    );
    let report = resetctl::people::import_users(&stack.store, &catalog, clash.as_bytes(), |_| {})
        .await
        .expect("import");
    assert_eq!(report.imported, 1, "{report:?}");
    assert_eq!(
        report.rejected,
        vec![(2, format!("system_user_id {held} is already taken"))]
    );
}
