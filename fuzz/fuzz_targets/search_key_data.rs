#![no_main]
//! LeadSquared's `SearchKeyData` and `RecipientField` (`resetkit_fuzz::targets::search_key_data`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, String, Option<String>)| resetkit_fuzz::targets::search_key_data(input));
