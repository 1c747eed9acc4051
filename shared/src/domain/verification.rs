use super::code::{CodeHash, CodeKeys, ResetSecret};
use super::delivery::Delivery;
use super::identifiers::{UserId, VerificationId};
use super::time::Timestamp;

/// Which flow issued the secret: decides its shape and lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flow {
    /// Guest reset by staff: six digits, sent by email or SMS.
    StaffCode,
    /// Forgot password: a link carrying a 256-bit token.
    Link,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Email,
    Sms,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::StaffCode => "staff_code",
            Flow::Link => "link",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "staff_code" => Some(Flow::StaffCode),
            "link" => Some(Flow::Link),
            _ => None,
        }
    }
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

/// One issued secret, as stored: only its HMAC, never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationRecord {
    pub id: VerificationId,
    pub user_id: UserId,
    pub flow: Flow,
    pub channel: Channel,
    pub code_hash: CodeHash,
    pub created_at: Timestamp,
    /// Also the table's TTL attribute; re-checked on every read because TTL deletion lags.
    pub expires_at: Timestamp,
    /// Failed attempts so far.
    pub attempts: u32,
    pub max_attempts: u32,
    pub consumed: bool,
    /// Where its message stands (queued, sent, …).
    pub delivery: Delivery,
}

/// Why a presented secret was refused. Callers show one generic answer for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFailure {
    Expired,
    Consumed,
    Burned,
    /// A newer verification was issued for the same user.
    Superseded,
    WrongCode,
}

impl VerificationRecord {
    pub fn is_burned(&self) -> bool {
        self.attempts >= self.max_attempts
    }

    /// Every rule for using a record, in one place. `latest` is the user's current one.
    pub fn check(
        &self,
        presented: &ResetSecret,
        keys: &CodeKeys,
        latest: Option<&VerificationId>,
        now: Timestamp,
    ) -> Result<(), CheckFailure> {
        if self.consumed {
            return Err(CheckFailure::Consumed);
        }
        if now >= self.expires_at {
            return Err(CheckFailure::Expired);
        }
        if self.is_burned() {
            return Err(CheckFailure::Burned);
        }
        if latest != Some(&self.id) {
            return Err(CheckFailure::Superseded);
        }
        if !keys.verify(presented, &self.code_hash) {
            return Err(CheckFailure::WrongCode);
        }
        Ok(())
    }
}
