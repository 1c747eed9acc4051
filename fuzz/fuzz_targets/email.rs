#![no_main]
//! Email normalisation: never panics; an accepted address is lower-case, free of control
//! characters and whitespace, and parses again to itself.

use libfuzzer_sys::fuzz_target;
use resetkit::domain::EmailAddress;

fuzz_target!(|raw: &str| {
    let Ok(email) = EmailAddress::parse(raw) else { return };
    let s = email.as_ref();
    assert!(s.contains('@'), "{s:?}");
    assert!(!s.chars().any(|c| c.is_control() || c == '\r' || c == '\n'), "{s:?}");
    assert_eq!(s, s.to_lowercase());
    assert_eq!(EmailAddress::parse(s).as_ref().map(AsRef::as_ref), Ok(s), "normalisation is idempotent");
    let _ = (email.masked(), email.local_part());
});
