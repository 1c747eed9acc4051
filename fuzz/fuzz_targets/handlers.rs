#![no_main]
//! Whole requests (method, path suffix, query, headers, credential, body) through each of
//! the three handlers on the in-memory service: never an `Err`, never a 5xx, always the
//! contract's shape.

use libfuzzer_sys::fuzz_target;
use resetkit_fuzz::{run, Function, FuzzRequest};

fuzz_target!(|input: (Function, FuzzRequest)| {
    let (function, request) = input;
    if let Some(req) = request.build(function) {
        run(function, req);
    }
});
