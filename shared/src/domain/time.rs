use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch. DynamoDB TTL attributes use the same unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(u64);

impl Timestamp {
    pub const fn from_unix_seconds(secs: u64) -> Self {
        Self(secs)
    }

    pub const fn unix_seconds(self) -> u64 {
        self.0
    }

    pub fn plus(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d.as_secs()))
    }

    /// Seconds from `self` until `later`, zero if `later` is not after `self`.
    pub fn seconds_until(self, later: Timestamp) -> u64 {
        later.0.saturating_sub(self.0)
    }
}
