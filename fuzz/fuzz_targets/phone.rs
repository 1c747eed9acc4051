#![no_main]
//! Phone normalisation (`resetkit_fuzz::targets::phone`, which says what is checked).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, Option<&str>)| resetkit_fuzz::targets::phone(input));
