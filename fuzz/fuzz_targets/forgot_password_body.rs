#![no_main]
//! Contract B's JSON body into a command: never panics; an accepted search is on a unique field.

use forgot_password::contract::ForgotPasswordBody;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<ForgotPasswordBody>(data) else { return };
    let catalog = resetkit::demo::catalog();
    if let Ok(cmd) = body.try_into_command(&catalog) {
        assert!(catalog.lookup_field(cmd.search.field()).is_ok());
    }
});
