#![no_main]
//! Whole requests (method, path suffix, query, headers, credential, body) through each of
//! the three handlers on the in-memory service (`resetkit_fuzz::targets::handlers`).

use libfuzzer_sys::fuzz_target;
use resetkit_fuzz::{Function, FuzzRequest};

fuzz_target!(|input: (Function, FuzzRequest)| resetkit_fuzz::targets::handlers(input));
