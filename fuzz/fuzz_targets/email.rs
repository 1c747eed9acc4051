#![no_main]
//! Email normalisation (`resetkit_fuzz::targets::email`, which says what is checked).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| resetkit_fuzz::targets::email(raw));
