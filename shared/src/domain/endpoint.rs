//! The names both sides of the service share: which endpoint a request came to, and which
//! limit it ran into. The service decides with them, the inbound side answers with them,
//! metrics count by them; they depend on nothing.

/// The three endpoints, for limits, idempotency scopes and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    GuestReset,
    ForgotPassword,
    PasswordConfirm,
    /// The host system's people API.
    People,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::GuestReset => "guest-reset",
            Endpoint::ForgotPassword => "forgot-password",
            Endpoint::PasswordConfirm => "password-confirm",
            Endpoint::People => "people",
        }
    }
}

/// Which limit a request ran into: the machine-readable reason in every 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitReason {
    ApiKey,
    SourceIp,
    Recipient,
}

impl LimitReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitReason::ApiKey => "api_key_rate_limited",
            LimitReason::SourceIp => "source_ip_rate_limited",
            LimitReason::Recipient => "recipient_rate_limited",
        }
    }
}
