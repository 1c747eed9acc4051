//! Audit events: who did what to whose account, never with a secret or a full address.

use super::identifiers::UserId;
use super::time::Timestamp;
use super::verification::Channel;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    ResetRequested,
    CodeSent,
    SendFailed,
    SendSuppressed,
    AttemptFailed,
    CodeBurned,
    PasswordChanged,
    CallerRefused,
    RateLimited,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::ResetRequested => "reset_requested",
            AuditAction::CodeSent => "code_sent",
            AuditAction::SendFailed => "send_failed",
            AuditAction::SendSuppressed => "send_suppressed",
            AuditAction::AttemptFailed => "attempt_failed",
            AuditAction::CodeBurned => "code_burned",
            AuditAction::PasswordChanged => "password_changed",
            AuditAction::CallerRefused => "caller_refused",
            AuditAction::RateLimited => "rate_limited",
        }
    }
}

/// Where the person said they were, when the confirm request carried it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

impl Location {
    /// Both present, finite and in range, or no location at all.
    pub fn parse(latitude: Option<f64>, longitude: Option<f64>) -> Result<Option<Self>, &'static str> {
        match (latitude, longitude) {
            (None, None) => Ok(None),
            (Some(la), Some(lo)) if (-90.0..=90.0).contains(&la) && (-180.0..=180.0).contains(&lo) => {
                Ok(Some(Self { latitude: la, longitude: lo }))
            }
            (Some(_), Some(_)) => Err("Latitude must be within ±90 and Longitude within ±180"),
            _ => Err("Latitude and Longitude go together"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub at: Timestamp,
    pub action: AuditAction,
    /// The calling key's id (never the key).
    pub actor: Option<String>,
    pub user_id: Option<UserId>,
    pub channel: Option<Channel>,
    /// A masked destination (`a***@example.com`, `+1******5569`).
    pub destination: Option<String>,
    pub source_ip: Option<String>,
    pub location: Option<Location>,
    /// A short, non-secret reason (`wrong_code`, `recipient_missing`).
    pub detail: Option<String>,
}

impl AuditEvent {
    pub fn new(at: Timestamp, action: AuditAction) -> Self {
        Self {
            at,
            action,
            actor: None,
            user_id: None,
            channel: None,
            destination: None,
            source_ip: None,
            location: None,
            detail: None,
        }
    }

    pub fn user(mut self, id: &UserId) -> Self {
        self.user_id = Some(id.clone());
        self
    }

    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
}
