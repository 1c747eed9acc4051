//! Identifiers a caller types, parsed once into their normal form.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;
use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

/// A syntactically valid email address, lower-cased so that lookups ignore case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("'{0}' is not a valid email address")]
pub struct EmailAddressError(pub String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, EmailAddressError> {
        let trimmed = raw.trim();
        // Control characters could smuggle headers into a message; the crate allows some
        // of them inside quoted local parts, so refuse them outright.
        // Invisible and direction-changing characters make one address look like another.
        if trimmed.chars().any(|c| c.is_control() || is_invisible(c)) {
            return Err(EmailAddressError(printable(raw)));
        }
        let parsed = email_address::EmailAddress::from_str(trimmed)
            .map_err(|_| EmailAddressError(printable(raw)))?;
        // Display names ("Name <a@b>") are a different thing from an address.
        if parsed.email() != trimmed || !parsed.domain().contains('.') {
            return Err(EmailAddressError(printable(raw)));
        }
        // Lower-casing can make an address invalid ('İ' becomes 'i' and a combining dot): the
        // stored, searched and mailed form must itself be a valid address (found by fuzzing).
        let lower = trimmed.to_lowercase();
        if email_address::EmailAddress::from_str(&lower).map_or(true, |e| e.email() != lower) {
            return Err(EmailAddressError(printable(raw)));
        }
        Ok(Self(lower))
    }

    /// `j***@example.com`: enough to recognise, not enough to harvest.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }

    /// The local part, which a password must not resemble.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or(&self.0, |(l, _)| l)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form (`+14157415569`), valid for its country.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneE164(String);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("'{0}' is not a valid phone number")]
pub struct PhoneError(pub String);

impl PhoneE164 {
    /// Parses international (`+1 415 741 5569`, `+1-4157415569`, LeadSquared's documented
    /// `+14-157415569`) or national input; national numbers need `country` (ISO 3166 alpha-2,
    /// e.g. `US`). Spaces, dashes, dots, slashes and parentheses are punctuation wherever they
    /// fall among the digits: people and vendors group digits in many ways, and libphonenumber
    /// reads a dash right after the country code's first digit as the end of the code.
    pub fn parse(raw: &str, country: Option<&str>) -> Result<Self, PhoneError> {
        let err = || PhoneError(printable(raw));
        if raw.len() > 64 || raw.chars().any(char::is_control) {
            return Err(err());
        }
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !is_phone_punctuation(*c))
            .collect();
        let region = match country {
            Some(c) => Some(
                phonenumber::country::Id::from_str(&c.trim().to_ascii_uppercase())
                    .map_err(|_| err())?,
            ),
            None => None,
        };
        let number = phonenumber::parse(region, &compact).map_err(|_| err())?;
        if !phonenumber::is_valid(&number) {
            return Err(err());
        }
        // E.164 allows at most 15 digits; the metadata accepts some longer numbers, which SMS
        // providers then refuse (found by fuzzing: +49744347049999999).
        // And the stored form must parse back to itself: a number valid only under the region
        // it was typed with is refused (found by fuzzing: +78033331373).
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        let round_trips = phonenumber::parse(None, &e164).is_ok_and(|n| phonenumber::is_valid(&n));
        if e164.len() > 16 || !round_trips {
            return Err(err());
        }
        Ok(Self(e164))
    }

    /// `+1******5569`.
    pub fn masked(&self) -> String {
        let digits: Vec<char> = self.0.chars().collect();
        let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
        let head: String = digits.iter().take(2).collect();
        format!("{head}******{tail}")
    }
}

impl AsRef<str> for PhoneE164 {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Grouping characters people and vendors type between the digits of a phone number.
fn is_phone_punctuation(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '.' | '/' | '(' | ')' | '\u{00A0}' | '\u{2010}'..='\u{2015}'
    )
}

/// A login name: NFKC-normalised, trimmed, case-folded, 1 to 128 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters")]
    Control,
}

impl Username {
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        fold_text(raw, 128).map(Self)
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A first name as typed, with the folded form used to compare names: case and accents
/// are ignored, so `Zoë`, `ZOE` and `zoe` are the same person's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstName {
    display: String,
    folded: String,
}

impl FirstName {
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let display = raw.nfkc().collect::<String>().trim().to_owned();
        if display.is_empty() {
            return Err(TextError::Empty);
        }
        if display.chars().count() > 100 {
            return Err(TextError::TooLong(100));
        }
        if display.chars().any(|c| c.is_control() || is_invisible(c)) {
            return Err(TextError::Control);
        }
        let folded = display
            .nfkd()
            .filter(|c| !is_combining_mark(*c))
            .flat_map(char::to_lowercase)
            .collect();
        Ok(Self { display, folded })
    }

    pub fn same_name(&self, other: &FirstName) -> bool {
        self.folded == other.folded
    }

    pub fn folded(&self) -> &str {
        &self.folded
    }
}

impl AsRef<str> for FirstName {
    fn as_ref(&self) -> &str {
        &self.display
    }
}

/// The Zenoti-style 32-hex guid of a user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Guid);

/// The 32-hex guid of one issued verification.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VerificationId(Guid);

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Guid(String);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("'{0}' is not a 32-hex-digit id")]
pub struct GuidError(pub String);

impl Guid {
    fn parse(raw: &str) -> Result<Self, GuidError> {
        // Accept the dashed form too, since clients copy ids from many places.
        let compact: String = raw.trim().chars().filter(|c| *c != '-').collect();
        if compact.len() == 32 && compact.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Self(compact.to_ascii_lowercase()))
        } else {
            Err(GuidError(printable(raw)))
        }
    }

    fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(hex::encode(bytes))
    }
}

macro_rules! guid_newtype {
    ($t:ident) => {
        impl $t {
            pub fn parse(raw: &str) -> Result<Self, GuidError> {
                Guid::parse(raw).map(Self)
            }
            pub fn from_random(bytes: [u8; 16]) -> Self {
                Self(Guid::from_bytes(bytes))
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0 .0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0 .0)
            }
        }
    };
}
guid_newtype!(UserId);
guid_newtype!(VerificationId);

/// NFKC, trim, lower-case: the form in which free-text identifiers are compared.
pub(crate) fn fold_text(raw: &str, max_chars: usize) -> Result<String, TextError> {
    let s: String = raw.nfkc().collect::<String>().trim().to_lowercase();
    if s.is_empty() {
        return Err(TextError::Empty);
    }
    if s.chars().count() > max_chars {
        return Err(TextError::TooLong(max_chars));
    }
    if s.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err(TextError::Control);
    }
    Ok(s)
}

/// Invisible and direction-changing characters (Unicode format characters such as zero-width
/// spaces and bidi overrides, line and paragraph separators, variation selectors, tags): text
/// holding one can look exactly like other text, so identifiers refuse them.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Echo of caller input for an error message: bounded and free of control and invisible characters.
pub(crate) fn printable(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_control() && !is_invisible(*c))
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Regression tests for the crashes `fuzz/` found (inputs as the fuzzer wrote them).
    #[test]
    fn an_address_whose_lower_case_is_no_address_is_refused() {
        let raw = "\u{1e9}@\u{eb}\u{f2}.\u{f2}\u{f2}\u{f2}\u{f2}\u{f2}\u{f2}\u{f2}\u{f2}\u{f2}=\u{f2}\u{f2}\u{e2}\u{130}";
        for raw in [raw, "ana@ex\u{130}ample.com", "\u{130}na@example.com"] {
            if let Ok(e) = EmailAddress::parse(raw) {
                assert_eq!(EmailAddress::parse(e.as_ref()), Ok(e), "{raw:?}");
            }
        }
    }

    #[test]
    fn a_number_longer_than_e164_allows_is_refused() {
        assert!(PhoneE164::parse("+49744347049999999", None).is_err());
        assert!(PhoneE164::parse("+78033331373", None).is_err());
        for region in ["RU", "KZ", "US"] {
            if let Ok(p) = PhoneE164::parse("+780EEEE137", Some(region)) {
                assert_eq!(
                    PhoneE164::parse(p.as_ref(), None),
                    Ok(p.clone()),
                    "{region}"
                );
            }
        }
        assert_eq!(
            PhoneE164::parse("+1 415 741 5569", None).map(|p| p.as_ref().to_owned()),
            Ok("+14157415569".to_owned())
        );
    }

    #[test]
    fn identifiers_refuse_invisible_and_bidi_characters() {
        for bad in [
            "ana\u{200B}@example.com",
            "\u{202E}ana@example.com",
            "ana@example.com\u{FEFF}",
            "ana\u{2028}@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
            assert!(!printable(bad).chars().any(is_invisible));
        }
        assert_eq!(
            Username::parse("ana\u{200D}.silva"),
            Err(TextError::Control)
        );
        assert_eq!(
            FirstName::parse("Zo\u{202E}e").map(|f| f.folded().to_owned()),
            Err(TextError::Control)
        );
        assert!(
            EmailAddress::parse("josé@example.com").is_ok(),
            "letters of any script stay welcome"
        );
    }

    #[test]
    fn email_is_lowercased_and_display_names_refused() {
        assert_eq!(
            EmailAddress::parse(" Ana@Example.COM ").unwrap().as_ref(),
            "ana@example.com"
        );
        assert!(EmailAddress::parse("Ana <ana@example.com>").is_err());
        assert!(EmailAddress::parse("ana@example.com\r\nBcc: x@y.z").is_err());
        assert!(EmailAddress::parse("not-an-email").is_err());
    }

    #[test]
    fn phone_accepts_leadsquared_and_national_forms() {
        let a = PhoneE164::parse("+1-4157415569", None).unwrap();
        let b = PhoneE164::parse("(415) 741-5569", Some("us")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_ref(), "+14157415569");
        assert!(PhoneE164::parse("4157415569", None).is_err());
        assert!(PhoneE164::parse("+1-000", None).is_err());
    }

    #[test]
    fn phone_accepts_the_leadsquared_documentation_sample() {
        // The vendor's page writes the dash after the country code's first digit.
        let p = PhoneE164::parse("+14-157415569", None).unwrap();
        assert_eq!(p.as_ref(), "+14157415569");
        assert_eq!(PhoneE164::parse("+1 (415) 741.5569", None), Ok(p.clone()));
        assert_eq!(PhoneE164::parse("415.741.5569", Some("US")), Ok(p));
        // Punctuation does not make an over-long or region-bound number acceptable.
        assert!(PhoneE164::parse("+49-744-347-049-999-999", None).is_err());
        assert!(PhoneE164::parse("+7 803 333 1373", None).is_err());
        assert!(PhoneE164::parse("+--", None).is_err());
    }

    #[test]
    fn first_names_compare_without_case_or_accents() {
        let a = FirstName::parse("Zoë").unwrap();
        let b = FirstName::parse("ZOE").unwrap();
        assert!(a.same_name(&b));
        assert!(!a.same_name(&FirstName::parse("Zara").unwrap()));
    }

    #[test]
    fn guids_are_32_hex() {
        let id = UserId::parse("0F8FAD5B-D9CB-469F-A165-70867728950E").unwrap();
        assert_eq!(id.as_ref(), "0f8fad5bd9cb469fa16570867728950e");
        assert!(UserId::parse("xyz").is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC*") {
            let _ = EmailAddress::parse(&s);
            let _ = PhoneE164::parse(&s, Some("US"));
            let _ = Username::parse(&s);
            let _ = FirstName::parse(&s);
            let _ = UserId::parse(&s);
        }

        /// Dashes, spaces or dots between any digits of a valid number parse to the same
        /// E.164 value.
        #[test]
        fn punctuation_between_digits_keeps_the_number(
            number in prop::sample::select(vec![
                "+14157415569", "+442079460958", "+16502530000", "+351912345678",
                "+4915123456789", "+61412345678", "+819012345678", "+5511912345678",
            ]),
            cuts in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![" ", "-", ".", " - ", "--"])), 0..6),
        ) {
            let expected = PhoneE164::parse(number, None).unwrap();
            let digits = &number[1..];
            let mut at: Vec<(usize, &str)> = cuts.iter().map(|(i, p)| (i.index(digits.len() + 1), *p)).collect();
            at.sort_by_key(|(i, _)| std::cmp::Reverse(*i));
            let mut typed = digits.to_owned();
            for (i, p) in at {
                typed.insert_str(i, p);
            }
            let typed = format!("+{typed}");
            prop_assert_eq!(PhoneE164::parse(&typed, None), Ok(expected), "{}", typed);
        }

        #[test]
        fn a_parsed_email_parses_to_itself(local in "[a-z0-9]{1,20}", host in "[a-z]{1,10}") {
            let e = EmailAddress::parse(&format!("{local}@{host}.com")).unwrap();
            prop_assert_eq!(EmailAddress::parse(e.as_ref()).unwrap(), e);
        }
    }
}
