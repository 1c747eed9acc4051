//! The use cases, one module each, over the ports. No AWS types, no HTTP.

mod confirm;
mod forgot_password;
mod guest_reset;

use std::time::Duration;

use thiserror::Error;

pub use confirm::{ConfirmCommand, ConfirmError, ConfirmSubject, Confirmed, UnexpectedConfirm};
pub use forgot_password::{ForgotPasswordCommand, ForgotPasswordError, ForgotPasswordOutcome};
pub use guest_reset::{GuestResetCommand, GuestResetError, GuestResetIssued};

use crate::domain::code::CodeKeys;
use crate::domain::message::LinkTemplate;
use crate::domain::password::HashParams;
use crate::domain::{ApiKeyRecord, AuditEvent, FieldCatalog, KeyKind, Permission, PresentedKey, UserId, VerificationId};
use crate::ports::{Clock, Notifier, OsRandom, RandomSource, RateLimit, Store, StoreError, SystemClock};

/// Domain settings for one stage. Every default lives in `crate::config`.
#[derive(Clone)]
pub struct Settings {
    pub fields: FieldCatalog,
    pub code_keys: CodeKeys,
    pub code_ttl: Duration,
    pub link_ttl: Duration,
    pub max_attempts: u32,
    pub link_template: LinkTemplate,
    /// Return the staff-flow code to staff in the response (Zenoti compatibility).
    pub staff_code_in_response: bool,
    pub notify_password_changed: bool,
    pub hash_params: HashParams,
    /// Forgot-password calls per API key.
    pub forgot_rate_limit: RateLimit,
    /// The key the reset page (contract D) posts with: a browser key with `password:confirm`.
    /// `None` turns the page off. The service never reads it; the page hands it to browsers.
    pub browser_confirm_key: Option<String>,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKeyRecord,
    pub source_ip: Option<String>,
}

#[derive(Debug, Error)]
pub enum AuthError {
    /// Unknown, inactive, of the wrong kind or without the permission. One variant, so a
    /// response cannot tell a prober which.
    #[error("unauthorized")]
    Unauthorized,
    #[error(transparent)]
    Unexpected(#[from] StoreError),
}

/// The service behind all three functions.
pub struct Resetkit<S, N, C = SystemClock, R = OsRandom> {
    store: S,
    notifier: N,
    clock: C,
    random: R,
    settings: Settings,
}

impl<S: Store, N: Notifier, C: Clock, R: RandomSource> Resetkit<S, N, C, R> {
    pub fn new(store: S, notifier: N, clock: C, random: R, settings: Settings) -> Self {
        Self { store, notifier, clock, random, settings }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Finds the presented key by its hash and checks its kind and permission.
    pub async fn authenticate(
        &self,
        presented: &str,
        kinds: &[KeyKind],
        needed: Permission,
        source_ip: Option<String>,
    ) -> Result<Caller, AuthError> {
        let key = if presented.trim().is_empty() {
            None
        } else {
            self.store.find_key(&PresentedKey(presented).hash()).await?
        };
        match key {
            Some(key) if kinds.contains(&key.kind) && key.allows(needed) => Ok(Caller { key, source_ip }),
            other => {
                let mut event = AuditEvent::new(self.clock.now(), crate::domain::AuditAction::CallerRefused)
                    .detail(needed.as_str());
                event.actor = other.map(|k| k.key_id);
                event.source_ip = source_ip;
                self.audit(event).await;
                Err(AuthError::Unauthorized)
            }
        }
    }

    /// Appends an audit event. A failure is logged, not returned: the person's request
    /// has already had its effect and must get its answer.
    async fn audit(&self, event: AuditEvent) {
        if let Err(e) = self.store.append(&event).await {
            tracing::error!(error = %e, action = event.action.as_str(), "audit append failed");
        }
    }

    fn audit_event(&self, caller: &Caller, action: crate::domain::AuditAction, user: Option<&UserId>) -> AuditEvent {
        let mut e = AuditEvent::new(self.clock.now(), action);
        e.actor = Some(caller.key.key_id.clone());
        e.user_id = user.cloned();
        e.source_ip = caller.source_ip.clone();
        e
    }

    fn random_bytes<const LEN: usize>(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        self.random.fill(&mut b);
        b
    }

    fn new_verification_id(&self) -> VerificationId {
        VerificationId::from_random(self.random_bytes())
    }
}
