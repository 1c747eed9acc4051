//! Rate limits: per source address and per key on every endpoint, per recipient on every
//! send. Each is a fixed-window counter in the store; a request's counters are hit together,
//! atomically (`RateLimiter::hit_together`).

use std::fmt;

use super::Resetkit;
use crate::domain::message::Destination;
use crate::domain::{AuditAction, AuditEvent, Endpoint, LimitReason, Origin};
use crate::ports::{Clock, Metric, Metrics, RandomSource, RateLimit, Store, StoreError};

/// Every limit of a stage. Defaults are in `crate::config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Forgot-password calls per key: LeadSquared's documented 25 per 5 s.
    pub forgot_per_key: RateLimit,
    /// Guest-reset and confirm calls per key.
    pub per_key: RateLimit,
    /// Calls per source address, per endpoint.
    pub per_ip: RateLimit,
    /// At most this many sends per recipient and requester per window (a cool-down when
    /// `max` is 1).
    pub recipient_cooldown: RateLimit,
    /// And at most this many per recipient and requester per hour.
    pub recipient_hourly: RateLimit,
    /// At most this many per recipient per hour from everyone together (mail bombing).
    pub recipient_ceiling: RateLimit,
}

impl Limits {
    /// Calls per source address on `endpoint`. The people API is called by the host
    /// system's own servers, a few addresses carrying all of its traffic: the key's limit
    /// bounds them, not the one sized for an office behind a NAT.
    pub fn per_address(&self, endpoint: crate::domain::Endpoint) -> RateLimit {
        match endpoint {
            crate::domain::Endpoint::People => self.per_key,
            _ => self.per_ip,
        }
    }
}

/// A request over a limit, and when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    pub reason: LimitReason,
    pub retry_after_secs: u64,
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.reason {
            LimitReason::ApiKey => "this key",
            LimitReason::SourceIp => "this address",
            LimitReason::Recipient => "this recipient",
        };
        write!(
            f,
            "Too many requests for {what}; retry after {} s",
            self.retry_after_secs
        )
    }
}

impl<S: Store, D, C: Clock, R: RandomSource, M: Metrics> Resetkit<S, D, C, R, M> {
    /// The recipient limits before a send to `to` for `origin`. The cool-down and the hourly
    /// budget are counted per recipient *and* requester, so strangers naming someone cannot
    /// spend that person's own budget; the ceiling counts everyone, against mail bombing. The
    /// buckets name the recipient only by a keyed hash, so the guards table holds no address.
    pub(super) async fn recipient_limit(
        &self,
        endpoint: Endpoint,
        origin: &Origin,
        to: &Destination,
    ) -> Result<Result<(), RateLimited>, StoreError> {
        let address = match to {
            Destination::Email(e) => e.as_ref(),
            Destination::Sms(p) => p.as_ref(),
        };
        let keys = &self.settings.code_keys;
        let tag = keys.pseudonym("recipient", address);
        let asker = keys.pseudonym("requester", &origin.requester);
        let limits = self.settings.limits;
        let reason = LimitReason::Recipient;
        self.limits_together(
            endpoint,
            &[
                (
                    reason,
                    format!("to#{tag}#{asker}#cooldown"),
                    limits.recipient_cooldown,
                ),
                (
                    reason,
                    format!("to#{tag}#{asker}#hourly"),
                    limits.recipient_hourly,
                ),
                (
                    reason,
                    format!("to#{tag}#ceiling"),
                    limits.recipient_ceiling,
                ),
            ],
        )
        .await
    }

    /// Counts one hit on each of `hits` together: in one round trip, all or none (a request
    /// refused by one limit spends none of the others), and once even when the store's
    /// answer was lost. The first at its limit is the answer. Limits that are off are left
    /// out.
    pub(super) async fn limits_together(
        &self,
        endpoint: Endpoint,
        hits: &[(LimitReason, String, RateLimit)],
    ) -> Result<Result<(), RateLimited>, StoreError> {
        let (reasons, counted): (Vec<LimitReason>, Vec<(String, RateLimit)>) = hits
            .iter()
            .filter(|(_, _, limit)| !limit.is_off())
            .map(|(reason, bucket, limit)| (*reason, (bucket.clone(), *limit)))
            .unzip();
        if counted.is_empty() {
            return Ok(Ok(()));
        }
        match self.store.hit_together(&counted, self.clock.now()).await? {
            Ok(()) => Ok(Ok(())),
            Err(over) => {
                let reason = reasons[over.index];
                self.count(endpoint, Metric::LimitHit(reason));
                Ok(Err(RateLimited {
                    reason,
                    retry_after_secs: over.retry_after_secs,
                }))
            }
        }
    }

    /// Audits a limit hit with the reason as its detail.
    pub(super) async fn audit_limited(&self, mut event: AuditEvent, limited: RateLimited) {
        event.action = AuditAction::RateLimited;
        self.audit(event.detail(limited.reason.as_str())).await;
    }
}
