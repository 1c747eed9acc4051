//! Zenoti's wire shapes, and the one mapping from domain outcomes to them.

use lambda_http::{Body, Response};
use resetkit::domain::{Channel, EmailAddress, FirstName, PhoneE164, Username};
use resetkit::inbound::{self, BodyError, Kind, Problem};
use resetkit::ports::StoreError;
use resetkit::service::{GuestResetCommand, GuestResetError, GuestResetIssued, Refusal};
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
}

#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub code: u16,
    pub message: String,
    /// Machine-readable cause of a 429 (`source_ip_rate_limited`, …); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// What a refused caller is told.
const UNAUTHORIZED: &str =
    "Unauthorized: an employee key with permission to edit guests is required";

/// An answer other than success: the problem, and what Zenoti says about the match.
#[derive(Debug)]
pub struct Failure {
    pub problem: Problem,
    pub user_count: usize,
    pub matched_with: u8,
}

/// Writes an outcome in Zenoti's shape: the one place that words a [`Problem`] for contract A.
pub fn render(outcome: Result<GuestResetResponse, Failure>) -> Response<Body> {
    let Failure {
        problem,
        user_count,
        matched_with,
    } = match outcome {
        Ok(issued) => return inbound::ok_json(&issued),
        Err(failure) => failure,
    };
    let message = if problem.kind == Kind::Unauthorized {
        UNAUTHORIZED.to_owned()
    } else {
        problem.message.clone()
    };
    let body = GuestResetResponse {
        user_count,
        matched_with,
        error: Some(ErrorBody {
            code: problem.status().as_u16(),
            message,
            reason: problem.reason,
        }),
        ..Default::default()
    };
    inbound::problem_json(&problem, &body)
}

impl From<Problem> for Failure {
    fn from(problem: Problem) -> Self {
        Self {
            problem,
            user_count: 0,
            matched_with: 0,
        }
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Problem::from(r).into()
    }
}

impl From<BodyError> for Failure {
    fn from(e: BodyError) -> Self {
        Problem::from(e).into()
    }
}

impl From<GuestResetError> for Failure {
    fn from(e: GuestResetError) -> Self {
        let problem = match e {
            GuestResetError::NotFound { matched_with } => {
                return Failure {
                    matched_with: matched_with as u8,
                    ..Problem::not_found(e.to_string()).into()
                }
            }
            GuestResetError::Ambiguous {
                count,
                matched_with,
            } => {
                return Failure {
                    user_count: count,
                    matched_with: matched_with as u8,
                    ..Problem::bad_request(e.to_string()).into()
                }
            }
            GuestResetError::NoDestination(_) => Problem::bad_request(e.to_string()),
            GuestResetError::RateLimited(limited) => limited.into(),
            GuestResetError::Unqueued(_) => {
                Problem::dependency_down("delivery queue unavailable; the code was withdrawn", &e)
            }
            GuestResetError::Unexpected(StoreError::Unavailable(_)) => {
                Problem::dependency_down("storage unavailable", &e)
            }
            GuestResetError::Unexpected(_) => Problem::failed("guest reset failed", &e),
        };
        problem.into()
    }
}

impl GuestResetBody {
    /// Parses every present identifier; at least one is required.
    pub fn try_into_command(self, default_country: &str) -> Result<GuestResetCommand, Failure> {
        let bad = |field: &str, e: &dyn std::fmt::Display| {
            Failure::from(Problem::bad_request(format!("{field}: {e}")))
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
            return Err(
                Problem::bad_request("One of username, email or mobile is required").into(),
            );
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
        }
    }
}
