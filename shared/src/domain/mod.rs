//! Pure rules: no AWS types, no I/O. Every value here is valid once it exists.

pub mod api_key;
pub mod audit;
pub mod audit_digest;
pub mod catalogue;
pub mod code;
pub mod delivery;
pub mod endpoint;
pub mod fields;
pub mod host_version;
pub mod idempotency;
pub mod identifiers;
pub mod import;
pub mod locale;
pub mod matching;
pub mod message;
pub mod parameter_name;
pub mod password;
pub mod person;
pub mod provider_event;
pub mod system_user_id;
pub mod time;
pub mod user;
pub mod verification;

pub use api_key::{ApiKeyHash, ApiKeyRecord, KeyKind, Permission, PresentedKey};
pub use audit::{AuditAction, AuditEvent, EventId, EventKey, Location, RecordedEvent};
pub use audit_digest::{AuditDigest, AuditFinding, Period};
pub use catalogue::{Brand, Catalogue, MessageKind};
pub use code::{CodeHash, CodeKeys, OtpCode, ResetSecret, SealPurpose};
pub use delivery::{CourierOutcome, DeliveryJob, JobId, Origin, RetryPolicy, Task};
pub use endpoint::{Endpoint, LimitReason};
pub use fields::{FieldCatalog, FieldKind, FieldName, FieldSpec, FieldValue, LookupKey};
pub use identifiers::{EmailAddress, FirstName, PhoneE164, UserId, Username, VerificationId};
pub use locale::{Locale, Locales};
pub use matching::{narrow_by_first_name, MatchedWith};
pub use parameter_name::{ParameterName, ParameterNameError};
pub use password::{NewPassword, PasswordHash, PasswordPolicyError};
pub use person::{
    HostVersion, InvalidPerson, PersonDocument, PersonRemoval, PersonWrite, Plan, Refused,
};
pub use provider_event::{
    ProviderEvent, ProviderEventKind, Suppression, SuppressionKey, SuppressionReason,
};
pub use system_user_id::{SystemUserId, SystemUserIdError};
pub use time::Timestamp;
pub use user::User;
pub use verification::{Channel, CheckFailure, Delivery, Flow, VerificationRecord};
