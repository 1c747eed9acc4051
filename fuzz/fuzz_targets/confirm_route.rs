#![no_main]
//! Contract C's path suffix, `format`, `callback` and `Accept` through the handler
//! (`resetkit_fuzz::targets::confirm_route`).

use libfuzzer_sys::fuzz_target;
use resetkit_fuzz::targets::{confirm_route, Route};

fuzz_target!(|r: Route| confirm_route(r));
