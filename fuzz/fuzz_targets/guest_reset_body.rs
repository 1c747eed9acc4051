#![no_main]
//! Contract A's JSON body into a command (`resetkit_fuzz::targets::guest_reset_body`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| resetkit_fuzz::targets::guest_reset_body(data));
