//! Delivery through the courier: the jobs the request path puts on the queue, and how long
//! the courier keeps trying (what it records about each send is `verification::Delivery`).
//!
//! A job holds no secret in clear. A forgot-password job carries the request (the courier
//! looks the person up and issues the link itself, deriving its token from the job id); a
//! guest-reset job carries the staff code sealed under a key of its own; a notice carries
//! only whom to tell.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::fields::{FieldCatalog, FieldSpec, LookupKey};
use super::identifiers::{EmailAddress, PhoneE164, UserId, VerificationId};
use super::locale::Locale;
use super::message::Destination;
use super::time::Timestamp;
use super::verification::Channel;

/// Who asked, carried with a job: the courier's audit events name the same caller, and
/// recipient budgets count the same requester, as the request's would have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub key_id: String,
    pub source_ip: Option<String>,
    /// Whose budget a send spends (see `Caller::requester`).
    pub requester: String,
}

/// The 32-hex id of one job, drawn when it is queued. A job delivered twice has one id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobId(String);

impl JobId {
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(hex::encode(bytes))
    }

    fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(raw.to_ascii_lowercase()))
    }

    /// The id of the verification the courier issues for this job: one per job, so that a
    /// job delivered again finds the verification it issued the first time.
    pub fn verification_id(&self) -> VerificationId {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("resetkit/v1/job-verification/{}", self.0));
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        VerificationId::from_random(id)
    }
}

impl AsRef<str> for JobId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// One unit of work for the courier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryJob {
    pub id: JobId,
    pub origin: Origin,
    pub queued_at: Timestamp,
    pub task: Task,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// Contract B from a caller that may not see the secret: find the person, check the
    /// recipient limits, issue a link and send it. Done off the request path, so that the
    /// answer costs the same whoever is named.
    ResetLink {
        search: LookupKey,
        /// A deliverable field to send to instead of the person's email address.
        recipient: Option<FieldSpec>,
        /// The offered locale the request asked for (`Accept-Language`), used when the
        /// person has none of their own.
        language: Option<Locale>,
    },
    /// A staff code issued by contract A, to send on `channel`.
    StaffCode {
        verification: VerificationId,
        user: UserId,
        channel: Channel,
        /// The code, sealed for the queue (`SealPurpose::QueuedCode`).
        sealed_code: Vec<u8>,
    },
    /// "Your password was changed", after contract C, in the language the confirm asked
    /// for when the person has none of their own.
    PasswordChanged {
        user: UserId,
        language: Option<Locale>,
    },
    /// "This address no longer resets your password", to an email or mobile the host
    /// replaced through the people API.
    ContactChanged { user: UserId, old: Destination },
}

/// A queue message that is not a job this stage can do: malformed, or naming a field the
/// stage no longer has. It goes to the dead-letter queue as it is.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("not a delivery job: {0}")]
pub struct JobError(String);

/// The job as it travels: plain JSON, stable field names.
#[derive(Serialize, Deserialize)]
struct Wire {
    v: u8,
    id: String,
    key_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_ip: Option<String>,
    requester: String,
    queued_at: u64,
    #[serde(flatten)]
    task: WireTask,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
enum WireTask {
    ResetLink {
        field: String,
        value: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recipient: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
    },
    StaffCode {
        verification: String,
        user: String,
        channel: String,
        sealed_code: String,
    },
    PasswordChanged {
        user: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
    },
    ContactChanged {
        user: String,
        /// `email` or `sms`, and the old address in its normal form.
        channel: String,
        address: String,
    },
}

impl DeliveryJob {
    /// The queue message body.
    pub fn to_body(&self) -> String {
        let task = match &self.task {
            Task::ResetLink {
                search,
                recipient,
                language,
            } => WireTask::ResetLink {
                field: search.field().to_owned(),
                value: search.normalized().to_owned(),
                recipient: recipient.as_ref().map(|r| r.name.clone()),
                language: language.as_ref().map(Locale::to_string),
            },
            Task::StaffCode {
                verification,
                user,
                channel,
                sealed_code,
            } => WireTask::StaffCode {
                verification: verification.to_string(),
                user: user.to_string(),
                channel: channel.as_str().to_owned(),
                sealed_code: URL_SAFE_NO_PAD.encode(sealed_code),
            },
            Task::PasswordChanged { user, language } => WireTask::PasswordChanged {
                user: user.to_string(),
                language: language.as_ref().map(Locale::to_string),
            },
            Task::ContactChanged { user, old } => WireTask::ContactChanged {
                user: user.to_string(),
                channel: old.channel().as_str().to_owned(),
                address: match old {
                    Destination::Email(e) => e.as_ref().to_owned(),
                    Destination::Sms(p) => p.as_ref().to_owned(),
                },
            },
        };
        let wire = Wire {
            v: 1,
            id: self.id.0.clone(),
            key_id: self.origin.key_id.clone(),
            source_ip: self.origin.source_ip.clone(),
            requester: self.origin.requester.clone(),
            queued_at: self.queued_at.unix_seconds(),
            task,
        };
        // A struct of strings and numbers always serialises.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Parses a queue message body; field names and values are parsed again with the
    /// stage's catalog, as any input is.
    pub fn parse(body: &str, fields: &FieldCatalog) -> Result<Self, JobError> {
        let bad = |what: &str| JobError(what.to_owned());
        let wire: Wire = serde_json::from_str(body).map_err(|e| JobError(e.to_string()))?;
        if wire.v != 1 {
            return Err(bad("unknown version"));
        }
        let task = match wire.task {
            WireTask::ResetLink {
                field,
                value,
                recipient,
                language,
            } => {
                let spec = fields
                    .lookup_field(&field)
                    .map_err(|e| JobError(e.to_string()))?;
                let value = fields
                    .parse_value(spec, &value)
                    .map_err(|e| JobError(e.to_string()))?;
                let recipient = match recipient {
                    None => None,
                    Some(name) => Some(
                        fields
                            .recipient_field(&name)
                            .map_err(|e| JobError(e.to_string()))?
                            .clone(),
                    ),
                };
                Task::ResetLink {
                    search: LookupKey::new(&spec.name, &value),
                    recipient,
                    language: parse_language(language)?,
                }
            }
            WireTask::StaffCode {
                verification,
                user,
                channel,
                sealed_code,
            } => Task::StaffCode {
                verification: VerificationId::parse(&verification)
                    .map_err(|e| JobError(e.to_string()))?,
                user: UserId::parse(&user).map_err(|e| JobError(e.to_string()))?,
                channel: Channel::parse(&channel).ok_or_else(|| bad("unknown channel"))?,
                sealed_code: URL_SAFE_NO_PAD
                    .decode(sealed_code)
                    .map_err(|_| bad("sealed_code is not base64url"))?,
            },
            WireTask::PasswordChanged { user, language } => Task::PasswordChanged {
                user: UserId::parse(&user).map_err(|e| JobError(e.to_string()))?,
                language: parse_language(language)?,
            },
            WireTask::ContactChanged {
                user,
                channel,
                address,
            } => Task::ContactChanged {
                user: UserId::parse(&user).map_err(|e| JobError(e.to_string()))?,
                old: match Channel::parse(&channel).ok_or_else(|| bad("unknown channel"))? {
                    Channel::Email => EmailAddress::parse(&address)
                        .map(Destination::Email)
                        .map_err(|e| JobError(e.to_string()))?,
                    Channel::Sms => PhoneE164::parse(&address, None)
                        .map(Destination::Sms)
                        .map_err(|e| JobError(e.to_string()))?,
                },
            },
        };
        Ok(Self {
            id: JobId::parse(&wire.id).ok_or_else(|| bad("id is not 32 hex digits"))?,
            origin: Origin {
                key_id: wire.key_id,
                source_ip: wire.source_ip,
                requester: wire.requester,
            },
            queued_at: Timestamp::from_unix_seconds(wire.queued_at),
            task,
        })
    }
}

/// A job's language, parsed again as any input is (jobs queued before languages travelled
/// have none).
fn parse_language(raw: Option<String>) -> Result<Option<Locale>, JobError> {
    raw.map(|l| Locale::parse(&l).map_err(|e| JobError(e.to_string())))
        .transpose()
}

/// How the courier retries a send the provider could not take yet (throttling, 5xx):
/// exponential backoff with jitter, at most `max_tries` sends, never past the secret's
/// lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub max_tries: u32,
}

impl RetryPolicy {
    /// The wait before send number `tries + 1`, after `tries` failed ones: half the
    /// exponential step plus a random share of the other half ("equal jitter"), so that
    /// messages throttled together do not come back together. `random` is any `u32`.
    pub fn delay(&self, tries: u32, random: u32) -> Duration {
        let step = self
            .base
            .saturating_mul(1u32 << tries.saturating_sub(1).min(20))
            .min(self.cap);
        let half = step / 2;
        let spread = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let jitter = if spread == 0 {
            0
        } else {
            u64::from(random) % spread
        };
        half + Duration::from_millis(jitter)
    }
}

/// What the courier did with one job, for the queue: done (delete it), try again after a
/// while, or move it to the dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CourierOutcome {
    Done,
    RetryIn(Duration),
    DeadLetter,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::catalog;

    fn origin() -> Origin {
        Origin {
            key_id: "k1".into(),
            source_ip: Some("203.0.113.9".into()),
            requester: "ip:203.0.113.9".into(),
        }
    }

    #[test]
    fn every_task_survives_the_queue() {
        let fields = catalog();
        let email = fields
            .parse_value(fields.get("EmailAddress").unwrap(), "Ana@Example.com")
            .unwrap();
        let tasks = [
            Task::ResetLink {
                search: LookupKey::new("EmailAddress", &email),
                recipient: Some(fields.recipient_field("Phone").unwrap().clone()),
                language: Some(Locale::parse("fr").unwrap()),
            },
            Task::ResetLink {
                search: LookupKey::new("EmailAddress", &email),
                recipient: None,
                language: None,
            },
            Task::StaffCode {
                verification: VerificationId::from_random([3; 16]),
                user: UserId::from_random([4; 16]),
                channel: Channel::Sms,
                sealed_code: vec![0, 1, 2, 255],
            },
            Task::PasswordChanged {
                user: UserId::from_random([5; 16]),
                language: Some(Locale::parse("es-MX").unwrap()),
            },
            Task::ContactChanged {
                user: UserId::from_random([6; 16]),
                old: Destination::Email(EmailAddress::parse("old@example.com").unwrap()),
            },
            Task::ContactChanged {
                user: UserId::from_random([6; 16]),
                old: Destination::Sms(PhoneE164::parse("+14155550100", None).unwrap()),
            },
        ];
        for task in tasks {
            let job = DeliveryJob {
                id: JobId::from_random([9; 16]),
                origin: origin(),
                queued_at: Timestamp::from_unix_seconds(1_800_000_000),
                task,
            };
            assert_eq!(DeliveryJob::parse(&job.to_body(), &fields), Ok(job));
        }
    }

    #[test]
    fn a_job_naming_a_field_the_stage_does_not_deliver_to_is_refused() {
        let body = serde_json::json!({
            "v": 1, "id": "0".repeat(32), "key_id": "k", "requester": "key:k", "queued_at": 1,
            "task": "reset_link", "field": "EmailAddress", "value": "ana@example.com",
            "recipient": "mx_Form_Email",
        });
        assert!(DeliveryJob::parse(&body.to_string(), &catalog()).is_err());
        assert!(DeliveryJob::parse("{}", &catalog()).is_err());
        assert!(DeliveryJob::parse("not json", &catalog()).is_err());
    }

    #[test]
    fn one_job_one_verification_id() {
        let a = JobId::from_random([1; 16]);
        assert_eq!(a.verification_id(), a.clone().verification_id());
        assert_ne!(
            a.verification_id(),
            JobId::from_random([2; 16]).verification_id()
        );
    }

    #[test]
    fn retries_back_off_with_jitter_up_to_the_cap() {
        let policy = RetryPolicy {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
            max_tries: 10,
        };
        assert_eq!(policy.delay(1, 0), Duration::from_secs(1));
        assert!(policy.delay(1, u32::MAX) < Duration::from_secs(2));
        assert_eq!(policy.delay(3, 0), Duration::from_secs(4));
        assert_eq!(policy.delay(30, 0), Duration::from_secs(30));
        assert!(policy.delay(30, u32::MAX) < Duration::from_secs(60));
    }
}
