#![no_main]
//! Contract A's JSON body into a command: never panics; an accepted command has an identifier.

use guest_reset::contract::GuestResetBody;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<GuestResetBody>(data) else { return };
    if let Ok(cmd) = body.try_into_command("US") {
        assert!(cmd.username.is_some() || cmd.email.is_some() || cmd.mobile.is_some());
    }
});
