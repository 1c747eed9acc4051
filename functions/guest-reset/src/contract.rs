//! Zenoti's wire shapes, and the one mapping from domain outcomes to them.

use lambda_http::http::StatusCode;
use resetkit::domain::{Channel, EmailAddress, FirstName, PhoneE164, Username};
use resetkit::http::{BodyError, UNAVAILABLE_RETRY_AFTER_SECS};
use resetkit::idempotency::Refusal;
use resetkit::ports::{DeliveryError, StoreError};
use resetkit::service::{GuestResetCommand, GuestResetError, GuestResetIssued, RateLimited};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
pub struct GuestResetBody {
    pub username: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    /// ISO 3166 alpha-2 (`"US"`) or a calling code (`1`, `"44"`), for a national `mobile`.
    pub country_code: Option<CountryCode>,
    pub first_name: Option<String>,
    pub channel: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum CountryCode {
    Calling(u16),
    Text(String),
}

/// The response, with every field present on every answer, as Zenoti clients expect.
#[derive(Debug, Serialize, Default)]
pub struct GuestResetResponse {
    pub success: bool,
    pub user_id: Option<String>,
    pub user_count: usize,
    pub matched_with: u8,
    pub verification_code: Option<String>,
    pub verification_id: Option<String>,
    pub error: Option<ErrorBody>,
    /// Sent as the `Retry-After` header (seconds), never in the body.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub code: u16,
    pub message: String,
    /// Machine-readable cause of a 429 (`source_ip_rate_limited`, …); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// An answer other than success: status and the response to send.
pub struct Failure(pub StatusCode, pub GuestResetResponse);

impl Failure {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let error = ErrorBody {
            code: status.as_u16(),
            message: message.into(),
            reason: None,
        };
        Self(
            status,
            GuestResetResponse {
                error: Some(error),
                ..Default::default()
            },
        )
    }

    /// 503 with `Retry-After`: a dependency failed before anything was decided.
    pub fn unavailable() -> Self {
        let mut f = Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service temporarily unavailable; retry later",
        );
        f.1.retry_after = Some(UNAVAILABLE_RETRY_AFTER_SECS);
        f
    }
}

impl From<RateLimited> for Failure {
    fn from(limited: RateLimited) -> Self {
        let mut f = Failure::new(StatusCode::TOO_MANY_REQUESTS, limited.to_string());
        if let Some(error) = f.1.error.as_mut() {
            error.reason = Some(limited.reason.as_str());
        }
        f.1.retry_after = Some(limited.retry_after_secs);
        f
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        if let Refusal::Unavailable(cause) = &r {
            tracing::warn!(error = %cause, "idempotency store unavailable");
            return Failure::unavailable();
        }
        let mut f = Failure::new(r.status(), r.to_string());
        f.1.retry_after = r.retry_after();
        f
    }
}

impl From<BodyError> for Failure {
    fn from(e: BodyError) -> Self {
        Failure::new(e.status(), e.to_string())
    }
}

impl From<GuestResetError> for Failure {
    fn from(e: GuestResetError) -> Self {
        match e {
            GuestResetError::NotFound { matched_with } => {
                let mut f = Failure::new(StatusCode::NOT_FOUND, "User Not Found");
                f.1.matched_with = matched_with as u8;
                f
            }
            GuestResetError::Ambiguous {
                count,
                matched_with,
            } => {
                let mut f = Failure::new(StatusCode::BAD_REQUEST, e.to_string());
                f.1.user_count = count;
                f.1.matched_with = matched_with as u8;
                f
            }
            GuestResetError::NoDestination(_) => {
                Failure::new(StatusCode::BAD_REQUEST, e.to_string())
            }
            GuestResetError::RateLimited(limited) => limited.into(),
            GuestResetError::Delivery(DeliveryError::Unavailable(ref cause)) => {
                tracing::warn!(error = %cause, "guest code delivery unavailable; the code was withdrawn");
                Failure::unavailable()
            }
            GuestResetError::Unexpected(StoreError::Unavailable(ref cause)) => {
                tracing::warn!(error = %cause, "storage unavailable");
                Failure::unavailable()
            }
            GuestResetError::Delivery(ref cause) => {
                tracing::error!(error = %cause, "guest code delivery failed");
                Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
            GuestResetError::Unexpected(cause) => {
                tracing::error!(error = %cause, "guest reset failed");
                Failure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "An unexpected error occurred",
                )
            }
        }
    }
}

impl GuestResetBody {
    /// Parses every present identifier; at least one is required.
    pub fn try_into_command(self, default_country: &str) -> Result<GuestResetCommand, Failure> {
        let bad = |field: &str, e: &dyn std::fmt::Display| {
            Failure::new(StatusCode::BAD_REQUEST, format!("{field}: {e}"))
        };
        let present = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let username = present(self.username)
            .map(|u| Username::parse(&u))
            .transpose()
            .map_err(|e| bad("username", &e))?;
        let email = present(self.email)
            .map(|e| EmailAddress::parse(&e))
            .transpose()
            .map_err(|e| bad("email", &e))?;
        let mobile = match present(self.mobile) {
            None => None,
            Some(raw) => Some(
                parse_mobile(&raw, self.country_code, default_country)
                    .map_err(|e| bad("mobile", &e))?,
            ),
        };
        if username.is_none() && email.is_none() && mobile.is_none() {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "One of username, email or mobile is required",
            ));
        }
        let first_name = present(self.first_name)
            .map(|f| FirstName::parse(&f))
            .transpose()
            .map_err(|e| bad("first_name", &e))?;
        let channel = match present(self.channel) {
            None => None,
            Some(c) => Some(
                Channel::parse(&c).ok_or_else(|| bad("channel", &"must be 'email' or 'sms'"))?,
            ),
        };
        Ok(GuestResetCommand {
            username,
            email,
            mobile,
            first_name,
            channel,
        })
    }
}

fn parse_mobile(
    raw: &str,
    country: Option<CountryCode>,
    default_country: &str,
) -> Result<PhoneE164, String> {
    match country {
        Some(CountryCode::Calling(cc)) => PhoneE164::parse(&format!("+{cc}{raw}"), None),
        Some(CountryCode::Text(t)) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
            PhoneE164::parse(&format!("+{t}{raw}"), None)
        }
        Some(CountryCode::Text(t)) => PhoneE164::parse(raw, Some(&t)),
        None => PhoneE164::parse(raw, Some(default_country)),
    }
    .map_err(|e| e.to_string())
}

impl GuestResetResponse {
    pub fn issued(issued: GuestResetIssued, reveal_code: bool) -> Self {
        Self {
            success: true,
            user_id: Some(issued.user_id.to_string()),
            user_count: 1,
            matched_with: issued.matched_with as u8,
            verification_code: reveal_code.then(|| issued.code.expose().to_owned()),
            verification_id: Some(issued.verification_id.to_string()),
            error: None,
            retry_after: None,
        }
    }
}
