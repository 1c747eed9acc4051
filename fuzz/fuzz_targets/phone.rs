#![no_main]
//! Phone normalisation: never panics; an accepted number is E.164 (`+` and 8 to 15 digits)
//! and parses again, without a region, to itself.

use libfuzzer_sys::fuzz_target;
use resetkit::domain::PhoneE164;

fuzz_target!(|input: (&str, Option<&str>)| {
    let (raw, region) = input;
    let Ok(phone) = PhoneE164::parse(raw, region) else { return };
    let s = phone.as_ref();
    let digits = s.strip_prefix('+').unwrap_or_else(|| panic!("no + in {s:?}"));
    assert!(digits.bytes().all(|b| b.is_ascii_digit()) && (7..=15).contains(&digits.len()), "{s:?}");
    assert_eq!(PhoneE164::parse(s, None).as_ref().map(AsRef::as_ref), Ok(s), "normalisation is idempotent");
    let _ = phone.masked();
});
