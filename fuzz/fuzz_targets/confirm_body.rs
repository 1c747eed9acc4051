#![no_main]
//! Contract C's body, as JSON or as a form, through validation: never panics; an accepted
//! request has an `ApiKey`.

use libfuzzer_sys::fuzz_target;
use password_confirm::contract::ConfirmBody;

fuzz_target!(|data: &[u8]| {
    let Some((&form, rest)) = data.split_first() else { return };
    let body = if form & 1 == 1 {
        serde_urlencoded::from_bytes::<ConfirmBody>(rest).ok()
    } else {
        serde_json::from_slice::<ConfirmBody>(rest).ok()
    };
    if let Some(Ok(valid)) = body.map(ConfirmBody::validate) {
        assert!(!valid.api_key.trim().is_empty());
    }
});
