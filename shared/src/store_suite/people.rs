//! People-API writes: all or nothing, only on the person as read, exclusive values held
//! by one person, the credential left as stored.

use super::{random_id, random_system_user_id, record, reset, unique_email, T0};
use crate::domain::fields::{FieldCatalog, EMAIL};
use crate::domain::person::{plan, plan_removal};
use crate::domain::{LookupKey, PersonDocument, PersonWrite, Plan, SystemUserId, User, UserId};
use crate::ports::{PersonConflict, Store};

fn catalog() -> FieldCatalog {
    FieldCatalog::new(
        FieldCatalog::parse_extra("mx_Member:text:unique").expect("catalog"),
        "US",
    )
}

fn document(version: u64, email: &str, member: &str) -> PersonDocument {
    PersonDocument::parse(
        &catalog(),
        version,
        Some("Ana"),
        None,
        [(EMAIL, email), ("mx_Member", member)],
    )
    .expect("document")
}

fn planned(id: &UserId, stored: Option<&User>, doc: PersonDocument) -> PersonWrite {
    match plan(&catalog(), id, stored, doc) {
        Ok(Plan::Write(w)) => {
            let mut w = *w;
            if w.after.system_user_id.is_none() {
                w.after.system_user_id = Some(random_system_user_id());
            }
            w
        }
        other => panic!("not a write: {other:?}"),
    }
}

async fn found<S: Store>(store: &S, field: &str, value: &str) -> Vec<UserId> {
    let spec = catalog();
    let spec_field = spec.get(field).expect("field");
    let value = spec.parse_value(spec_field, value).expect("value");
    store
        .find_by(&LookupKey::new(field, &value))
        .await
        .expect("find_by")
}

fn member() -> String {
    format!("M-{}", hex::encode(random_id()))
}

pub(super) async fn a_person_write_moves_the_index_and_keeps_the_credential<S: Store>(store: S) {
    let id = UserId::from_random(random_id());
    let (old, new) = (unique_email(), unique_email());
    let first = planned(&id, None, document(1, old.as_ref(), &member()));
    store.write_person(&first).await.expect("create");
    let created = store.get_user(&id).await.expect("get").expect("created");
    assert_eq!(created.fields, first.after.fields);
    assert_eq!(
        found(&store, EMAIL, old.as_ref()).await,
        std::slice::from_ref(&id)
    );

    // A reset lands between the read and the write: the write MUST NOT undo it.
    let code = record(&id, T0.plus(std::time::Duration::from_secs(600)));
    store.issue(&code).await.expect("issue");
    let read = store.get_user(&id).await.expect("get").expect("stored");
    store
        .complete_reset(&reset(&code, 0, T0))
        .await
        .expect("complete");
    let change = planned(&id, Some(&read), document(2, new.as_ref(), &member()));
    store.write_person(&change).await.expect("change");

    let after = store.get_user(&id).await.expect("get").expect("stored");
    assert_eq!(
        after.credential_version, 1,
        "the credential MUST stay as stored"
    );
    assert!(after.password_hash.is_some());
    assert_eq!(after.version, change.after.version);
    assert_eq!(after.fields, change.after.fields);
    assert!(
        found(&store, EMAIL, old.as_ref()).await.is_empty(),
        "old entry MUST go"
    );
    assert_eq!(found(&store, EMAIL, new.as_ref()).await, [id]);
}

pub(super) async fn a_person_write_on_a_stale_read_applies_nothing<S: Store>(store: S) {
    let id = UserId::from_random(random_id());
    let first = planned(&id, None, document(1, unique_email().as_ref(), &member()));
    store.write_person(&first).await.expect("create");
    let read = store.get_user(&id).await.expect("get");
    let winner = planned(
        &id,
        read.as_ref(),
        document(3, unique_email().as_ref(), &member()),
    );
    let loser_email = unique_email();
    let loser = planned(
        &id,
        read.as_ref(),
        document(2, loser_email.as_ref(), &member()),
    );
    store.write_person(&winner).await.expect("winner");
    assert!(
        matches!(store.write_person(&loser).await, Err(PersonConflict::Raced)),
        "a write planned from an older read MUST be Raced"
    );
    assert!(found(&store, EMAIL, loser_email.as_ref()).await.is_empty());
    assert!(
        matches!(store.write_person(&first).await, Err(PersonConflict::Raced)),
        "creating a stored person MUST be Raced"
    );
    let stored = store.get_user(&id).await.expect("get").expect("stored");
    assert_eq!(stored.fields, winner.after.fields);
}

pub(super) async fn an_exclusive_value_is_held_by_one_person<S: Store>(store: S) {
    let shared = member();
    let a = UserId::from_random(random_id());
    let b = UserId::from_random(random_id());
    let first = planned(&a, None, document(1, unique_email().as_ref(), &shared));
    store.write_person(&first).await.expect("a");
    let second = planned(&b, None, document(1, unique_email().as_ref(), &shared));
    assert!(
        matches!(store.write_person(&second).await, Err(PersonConflict::FieldTaken(f)) if f == "mx_Member"),
        "a held value MUST be FieldTaken, naming the field"
    );
    assert_eq!(
        store.get_user(&b).await.expect("get"),
        None,
        "nothing of it applies"
    );

    // Given up by a change, the value is free again.
    let read = store.get_user(&a).await.expect("get");
    let release = planned(
        &a,
        read.as_ref(),
        document(2, unique_email().as_ref(), &member()),
    );
    store.write_person(&release).await.expect("release");
    store.write_person(&second).await.expect("now free");
}

pub(super) async fn a_person_write_may_not_take_a_held_number<S: Store>(store: S) {
    let number: SystemUserId = random_system_user_id();
    let a = UserId::from_random(random_id());
    let mut first = planned(&a, None, document(1, unique_email().as_ref(), &member()));
    first.after.system_user_id = Some(number);
    store.write_person(&first).await.expect("a");
    let b = UserId::from_random(random_id());
    let mut second = planned(&b, None, document(1, unique_email().as_ref(), &member()));
    second.after.system_user_id = Some(number);
    assert!(matches!(
        store.write_person(&second).await,
        Err(PersonConflict::SystemUserIdTaken(n)) if n == number
    ));
    assert_eq!(store.get_user(&b).await.expect("get"), None);
}

pub(super) async fn a_removal_takes_the_person_and_their_entries<S: Store>(store: S) {
    let id = UserId::from_random(random_id());
    let (email, held) = (unique_email(), member());
    let write = planned(&id, None, document(1, email.as_ref(), &held));
    store.write_person(&write).await.expect("create");
    let stored = store.get_user(&id).await.expect("get").expect("stored");
    let stale = plan_removal(&catalog(), &stored, None).expect("plan");
    let newer = planned(&id, Some(&stored), document(2, email.as_ref(), &held));
    store.write_person(&newer).await.expect("newer");
    assert!(
        matches!(
            store.remove_person(&stale).await,
            Err(PersonConflict::Raced)
        ),
        "a removal planned from an older read MUST be Raced"
    );
    let stored = store.get_user(&id).await.expect("get").expect("stored");
    let removal = plan_removal(&catalog(), &stored, None).expect("plan");
    store.remove_person(&removal).await.expect("remove");
    assert_eq!(store.get_user(&id).await.expect("get"), None);
    assert!(found(&store, EMAIL, email.as_ref()).await.is_empty());
    let other = UserId::from_random(random_id());
    let claim = planned(&other, None, document(1, unique_email().as_ref(), &held));
    store
        .write_person(&claim)
        .await
        .expect("the removed person's exclusive value is free");
    assert_eq!(
        store
            .find_by_system_user_id(write.after.system_user_id.expect("numbered"))
            .await
            .expect("find"),
        Some(id),
        "the number stays claimed"
    );
}
