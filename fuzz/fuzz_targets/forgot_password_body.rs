#![no_main]
//! Contract B's JSON body into a command (`resetkit_fuzz::targets::forgot_password_body`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| resetkit_fuzz::targets::forgot_password_body(data));
