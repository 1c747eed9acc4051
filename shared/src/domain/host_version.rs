//! The host's version of a person (people API): what orders the host's writes.

use std::fmt;

use thiserror::Error;

/// The host's own version of a person: a positive number it increases with every change
/// (a counter, or its `updated_at` in milliseconds). A write carrying a version no newer
/// than the stored one changes nothing, so a late retry of an old update never overwrites
/// a newer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostVersion(u64);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("a version is a whole number from 1 to 9007199254740991")]
pub struct HostVersionError;

impl HostVersion {
    /// The largest integer every JSON reader keeps exactly (2^53 - 1).
    pub const MAX: u64 = (1 << 53) - 1;

    pub fn new(n: u64) -> Result<Self, HostVersionError> {
        (1..=Self::MAX)
            .contains(&n)
            .then_some(Self(n))
            .ok_or(HostVersionError)
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for HostVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
