//! People-API writes and removals as one `TransactWriteItems` each: the user item, the
//! index entries it gains and loses, and the claims on exclusive values, all or nothing.
//!
//! The user item carries the condition that makes a plan safe to apply: the person is
//! still as the plan was read (present or absent, same host version). Any other people
//! write to them changes the version, so of two concurrent writes one applies and the other
//! is `Raced` and re-planned from what the first left.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use super::errors::build_error;
use super::items::{attr, n, s, Attrs, Item};
use super::transaction::TransactError;
use super::DynamoStore;
use crate::domain::{LookupKey, PersonRemoval, PersonWrite, User, UserId};
use crate::ports::{PersonConflict, StoreError};

/// The identifiers table's sort key on an exclusive value's claim.
const CLAIM: &str = super::users::CLAIM_SORT_KEY;

/// The partition of the claim on an exclusive value: apart from the index entries of the
/// same value (`<field>#<value>`), which `find_by` reads as user ids.
fn claim_lookup(key: &LookupKey) -> String {
    format!("claim#{}", key.storage_key())
}

/// What each action of a write's transaction is, to read a cancellation by.
#[derive(Clone)]
enum Action {
    User,
    Index,
    ClaimAdded(String),
    ClaimRemoved,
    Number,
}

impl DynamoStore {
    pub(super) async fn apply_person_write(
        &self,
        write: &PersonWrite,
    ) -> Result<(), PersonConflict> {
        let id = &write.after.id;
        let mut actions = vec![(Action::User, self.user_action(write)?)];
        for key in &write.index_removed {
            actions.push((Action::Index, self.index_delete(key, id)?));
        }
        for key in &write.index_added {
            actions.push((Action::Index, self.index_put(key, id)?));
        }
        for key in &write.claims_removed {
            actions.push((Action::ClaimRemoved, self.claim_delete(key, id)?));
        }
        for key in &write.claims_added {
            let put = Put::builder()
                .table_name(&self.tables.identifiers)
                .item(attr::LOOKUP, s(claim_lookup(key)))
                .item(attr::USER_ID, s(CLAIM))
                .item(attr::CLAIMED_BY, s(id.as_ref()))
                .condition_expression("attribute_not_exists(#lookup) OR #by = :me")
                .expression_attribute_names("#lookup", attr::LOOKUP)
                .expression_attribute_names("#by", attr::CLAIMED_BY)
                .expression_attribute_values(":me", s(id.as_ref()))
                .build()
                .map_err(build_error)?;
            let action = TransactWriteItem::builder().put(put).build();
            actions.push((Action::ClaimAdded(key.field().to_owned()), action));
        }
        if let Some(number) = write.new_number() {
            actions.push((Action::Number, self.claim_put(number, id)?));
        }
        self.run_person_transaction(actions, |failed| match failed {
            Action::Number => match write.new_number() {
                Some(number) => PersonConflict::SystemUserIdTaken(number),
                None => PersonConflict::Raced,
            },
            Action::ClaimAdded(field) => PersonConflict::FieldTaken(field),
            // The person is no longer as read, or gave up a claim someone else took meanwhile.
            Action::User | Action::Index | Action::ClaimRemoved => PersonConflict::Raced,
        })
        .await
    }

    pub(super) async fn apply_person_removal(
        &self,
        removal: &PersonRemoval,
    ) -> Result<(), PersonConflict> {
        let user = &removal.user;
        let (condition, values) = as_read(Some(user));
        let mut delete = Delete::builder()
            .table_name(&self.tables.users)
            .key(attr::USER_ID, s(user.id.as_ref()))
            .condition_expression(condition)
            .expression_attribute_names("#uid", attr::USER_ID)
            .expression_attribute_names("#hv", attr::HOST_VERSION);
        for (name, value) in values {
            delete = delete.expression_attribute_values(name, value);
        }
        let delete = delete.build().map_err(build_error)?;
        let mut actions = vec![(
            Action::User,
            TransactWriteItem::builder().delete(delete).build(),
        )];
        for key in &removal.index {
            actions.push((Action::Index, self.index_delete(key, &user.id)?));
        }
        for key in &removal.claims {
            actions.push((Action::ClaimRemoved, self.claim_delete(key, &user.id)?));
        }
        self.run_person_transaction(actions, |_| PersonConflict::Raced)
            .await
    }

    /// Runs the transaction; a cancellation becomes `conflict` of the first action whose
    /// condition failed. One cancelled only by concurrent transactions (past `transact`'s
    /// own retries) decided nothing: `Raced`, and the write is planned again.
    async fn run_person_transaction(
        &self,
        actions: Vec<(Action, TransactWriteItem)>,
        conflict: impl Fn(Action) -> PersonConflict,
    ) -> Result<(), PersonConflict> {
        let (kinds, items): (Vec<Action>, Vec<TransactWriteItem>) = actions.into_iter().unzip();
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TransactError::Cancelled(c)) => {
                match (0..kinds.len()).find(|&i| c.condition_failed_at(i)) {
                    Some(i) => Err(conflict(kinds[i].clone())),
                    None => Err(PersonConflict::Raced),
                }
            }
            Err(TransactError::Unavailable(e)) => Err(PersonConflict::Store(e)),
        }
    }

    /// The user item's action: a new person is put (if still absent); a stored one is
    /// updated in the attributes a people write owns, never the credential, which a
    /// confirm may have changed since the read.
    fn user_action(&self, write: &PersonWrite) -> Result<TransactWriteItem, StoreError> {
        let (condition, values) = as_read(write.before.as_ref());
        if write.before.is_none() {
            let mut put = Put::builder()
                .table_name(&self.tables.users)
                .set_item(Some(Item::from(&write.after).into_attrs()))
                .condition_expression(condition)
                .expression_attribute_names("#uid", attr::USER_ID);
            for (name, value) in values {
                put = put.expression_attribute_values(name, value);
            }
            return Ok(TransactWriteItem::builder()
                .put(put.build().map_err(build_error)?)
                .build());
        }
        let mut item: Attrs = Item::from(&write.after).into_attrs();
        let missing = |what: &str| StoreError::Corrupt(format!("a people write without {what}"));
        let fields = item.remove(attr::FIELDS).ok_or_else(|| missing("fields"))?;
        let version = item
            .remove(attr::HOST_VERSION)
            .ok_or_else(|| missing("a version"))?;
        let mut set = vec!["#fields = :fields", "#hv = :hv"];
        let mut remove = Vec::new();
        let mut update = Update::builder()
            .table_name(&self.tables.users)
            .key(attr::USER_ID, s(write.after.id.as_ref()))
            .condition_expression(condition)
            .expression_attribute_names("#uid", attr::USER_ID)
            .expression_attribute_names("#hv", attr::HOST_VERSION)
            .expression_attribute_names("#fields", attr::FIELDS)
            .expression_attribute_names("#first", attr::FIRST_NAME)
            .expression_attribute_values(":fields", fields)
            .expression_attribute_values(":hv", version);
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        match item.remove(attr::FIRST_NAME) {
            Some(first) => {
                set.push("#first = :first");
                update = update.expression_attribute_values(":first", first);
            }
            None => remove.push("#first"),
        }
        if let Some(number) = write.new_number() {
            set.push("#sid = :sid");
            update = update
                .expression_attribute_names("#sid", attr::SYSTEM_USER_ID)
                .expression_attribute_values(":sid", n(number.get()));
        }
        if write.withdraws() {
            remove.push("#latest");
            update = update.expression_attribute_names("#latest", attr::LATEST_VERIFICATION);
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let update = update
            .update_expression(expression)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn index_put(&self, key: &LookupKey, id: &UserId) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.tables.identifiers)
            .item(attr::LOOKUP, s(key.storage_key()))
            .item(attr::USER_ID, s(id.as_ref()))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn index_delete(&self, key: &LookupKey, id: &UserId) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.tables.identifiers)
            .key(attr::LOOKUP, s(key.storage_key()))
            .key(attr::USER_ID, s(id.as_ref()))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Gives up the claim on `key`'s value, only if `id` holds it.
    fn claim_delete(&self, key: &LookupKey, id: &UserId) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.tables.identifiers)
            .key(attr::LOOKUP, s(claim_lookup(key)))
            .key(attr::USER_ID, s(CLAIM))
            .condition_expression("attribute_not_exists(#lookup) OR #by = :me")
            .expression_attribute_names("#lookup", attr::LOOKUP)
            .expression_attribute_names("#by", attr::CLAIMED_BY)
            .expression_attribute_values(":me", s(id.as_ref()))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

/// The condition that the user item is as `before` was read, over the names `#uid` and
/// `#hv`, and the values it uses.
fn as_read(
    before: Option<&User>,
) -> (
    &'static str,
    Vec<(&'static str, aws_sdk_dynamodb::types::AttributeValue)>,
) {
    match before {
        None => ("attribute_not_exists(#uid)", vec![]),
        Some(User {
            version: Some(v), ..
        }) => (
            "attribute_exists(#uid) AND #hv = :read_hv",
            vec![(":read_hv", n(v.get()))],
        ),
        Some(_) => (
            "attribute_exists(#uid) AND attribute_not_exists(#hv)",
            vec![],
        ),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;
    use crate::domain::person::plan;
    use crate::domain::{FieldCatalog, PersonDocument, Plan, SystemUserId};

    /// A new person claiming an exclusive value: actions are the user, one index entry, the
    /// claim, and the number.
    fn write() -> PersonWrite {
        let catalog = FieldCatalog::new(
            FieldCatalog::parse_extra("mx_Member:text:unique").expect("catalog"),
            "US",
        );
        let doc = PersonDocument::parse(&catalog, 1, None, None, [("mx_Member", "m-1")])
            .expect("document");
        let Ok(Plan::Write(w)) = plan(&catalog, &UserId::from_random([1; 16]), None, doc) else {
            panic!("a write")
        };
        let mut w = *w;
        w.after.system_user_id = SystemUserId::new(7).ok();
        w
    }

    /// DynamoDB cancelling every attempt with `reasons`, one code per action.
    fn cancelling(reasons: &'static [&'static str]) -> DynamoStore {
        let rule = mock!(aws_sdk_dynamodb::Client::transact_write_items).then_error(move || {
            let mut e = TransactionCanceledException::builder();
            for code in reasons {
                e = e.cancellation_reasons(CancellationReason::builder().code(*code).build());
            }
            TransactWriteItemsError::TransactionCanceledException(e.build())
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &[&rule]);
        DynamoStore::new(client, "resetkit-test-")
    }

    #[tokio::test]
    async fn a_write_cancelled_only_by_concurrent_ones_is_raced_and_planned_again() {
        let store = cancelling(&["None", "TransactionConflict", "TransactionConflict", "None"]);
        assert!(matches!(
            store.apply_person_write(&write()).await,
            Err(PersonConflict::Raced)
        ));
    }

    #[tokio::test]
    async fn a_failed_condition_names_what_it_guarded() {
        let taken = cancelling(&["None", "None", "ConditionalCheckFailed", "None"]);
        assert!(matches!(
            taken.apply_person_write(&write()).await,
            Err(PersonConflict::FieldTaken(f)) if f == "mx_Member"
        ));
        let number = cancelling(&["None", "None", "None", "ConditionalCheckFailed"]);
        assert!(matches!(
            number.apply_person_write(&write()).await,
            Err(PersonConflict::SystemUserIdTaken(n)) if n.get() == 7
        ));
        let changed = cancelling(&["ConditionalCheckFailed", "None", "None", "None"]);
        assert!(matches!(
            changed.apply_person_write(&write()).await,
            Err(PersonConflict::Raced)
        ));
    }
}
