//! The person's number in contract C: `SystemUserId`.
//!
//! ServiceStack-style clients generate their DTOs from the contract, which declares the field
//! an `int`; a C#, Java, Kotlin, Swift or Dart client cannot read a 32-hex id there. So every
//! person also gets a positive 32-bit signed number, assigned once when they are created or
//! imported, never reused, unique within a stage (the identifier index holds one item per
//! number, written under a condition). Contract A keeps the 32-hex `UserId`.

use std::fmt;

use thiserror::Error;

/// A positive `int32`: 1 to 2,147,483,647. Zero is not an id: contract C's error answers
/// send 0 so that a non-nullable `int` still parses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SystemUserId(i32);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("'{0}' is not a SystemUserId (a whole number from 1 to 2147483647)")]
pub struct SystemUserIdError(pub String);

impl SystemUserId {
    pub const MAX: i32 = i32::MAX;

    pub fn new(n: i64) -> Result<Self, SystemUserIdError> {
        i32::try_from(n)
            .ok()
            .filter(|n| *n >= 1)
            .map(Self)
            .ok_or_else(|| SystemUserIdError(n.to_string()))
    }

    /// Decimal digits only (as stored, or typed on a command line), surrounding spaces ignored.
    pub fn parse(raw: &str) -> Result<Self, SystemUserIdError> {
        let t = raw.trim();
        let invalid = || SystemUserIdError(super::identifiers::printable(raw));
        if t.is_empty() || t.len() > 10 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        t.parse::<i64>()
            .ok()
            .and_then(|n| Self::new(n).ok())
            .ok_or_else(invalid)
    }

    /// An id drawn from 4 random bytes, uniform enough over 1..=MAX (the modulo bias is
    /// below one in 2^31; the number is not a secret, only unique).
    pub fn from_random(bytes: [u8; 4]) -> Self {
        let below_max = u32::from_le_bytes(bytes) % (Self::MAX as u32);
        // `below_max` < i32::MAX, so it and its successor fit.
        Self(below_max as i32 + 1)
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

impl fmt::Display for SystemUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_positive_int32_values_are_ids() {
        assert_eq!(SystemUserId::new(1).map(SystemUserId::get), Ok(1));
        assert_eq!(
            SystemUserId::new(2_147_483_647).map(SystemUserId::get),
            Ok(i32::MAX)
        );
        for bad in [0, -1, 2_147_483_648, i64::MAX, i64::MIN] {
            assert!(SystemUserId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parse_takes_plain_decimal_digits() {
        assert_eq!(
            SystemUserId::parse(" 1001 ").map(SystemUserId::get),
            Ok(1001)
        );
        for bad in [
            "",
            "0",
            "-5",
            "+5",
            "1e3",
            "12a",
            "2147483648",
            "99999999999",
            "٣",
        ] {
            assert!(SystemUserId::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn every_random_draw_is_in_range(bytes in any::<[u8; 4]>()) {
            let id = SystemUserId::from_random(bytes);
            prop_assert!((1..=i32::MAX).contains(&id.get()));
            prop_assert_eq!(SystemUserId::new(i64::from(id.get())), Ok(id));
        }
    }

    #[test]
    fn the_extreme_draws_stay_in_range() {
        assert_eq!(SystemUserId::from_random([0; 4]).get(), 1);
        assert_eq!(SystemUserId::from_random([0xff; 4]).get(), 2);
        assert_eq!(
            SystemUserId::from_random((i32::MAX as u32 - 1).to_le_bytes()).get(),
            i32::MAX
        );
    }
}
