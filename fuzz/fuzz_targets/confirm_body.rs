#![no_main]
//! Contract C's body, as JSON or as a form (`resetkit_fuzz::targets::confirm_body`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| resetkit_fuzz::targets::confirm_body(data));
