#![no_main]
//! LeadSquared's `SearchKeyData` and `RecipientField` against the demo field catalogue:
//! never panics; an accepted search names a unique field and a recipient a deliverable one.

use forgot_password::contract::{ForgotPasswordBody, RecipientField, SearchKeyData};
use libfuzzer_sys::fuzz_target;
use resetkit::domain::fields::FieldKind;

fuzz_target!(|input: (String, String, Option<String>)| {
    let (schema_name, value, recipient) = input;
    let catalog = resetkit::demo::catalog();
    let body = ForgotPasswordBody {
        email_address: None,
        search_key_data: Some(SearchKeyData { schema_name: schema_name.clone(), value }),
        recipient_field: recipient.clone().map(|schema_name| RecipientField { schema_name }),
    };
    if let Ok(cmd) = body.try_into_command(&catalog) {
        let spec = catalog.get(cmd.search.field()).expect("the searched field exists");
        assert!(spec.unique, "searched a non-unique field {}", spec.name);
        assert!(spec.name.eq_ignore_ascii_case(&schema_name));
        if let Some(r) = cmd.recipient {
            assert!(matches!(r.kind, FieldKind::Email | FieldKind::Phone), "{r:?}");
        }
    }
});
