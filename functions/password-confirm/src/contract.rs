//! ServiceStack's wire shapes, and the one mapping from domain outcomes to them.

use lambda_http::{Body, Response};
use resetkit::domain::catalogue::say;
use resetkit::domain::password::{NewPassword, MAX_CHARS, MIN_CHARS};
use resetkit::domain::{
    EmailAddress, Locale, Location, PasswordPolicyError, ResetSecret, UserId, VerificationId,
};
use resetkit::inbound::{self, BodyError, Kind, Problem};
use resetkit::ports::StoreError;
use resetkit::service::{
    ConfirmCommand, ConfirmError, ConfirmSubject, Confirmed, PageKeyError, Refusal,
    UnexpectedConfirm,
};
use serde::{Deserialize, Serialize};

use crate::format::{self, Format, FormatError};

/// The request, from JSON or a form. Every field is optional here so that a missing one
/// becomes a `NotEmpty` field error rather than a parse failure.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfirmBody {
    pub temporary_password: Option<String>,
    pub email_address: Option<String>,
    pub lead_id: Option<String>,
    pub verification_id: Option<String>,
    pub password: Option<String>,
    pub password_confirm: Option<String>,
    pub api_key: Option<String>,
    pub latitude: Option<Coordinate>,
    pub longitude: Option<Coordinate>,
}

/// JSON sends numbers, forms send strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Coordinate {
    Number(f64),
    Text(String),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfirmResponse {
    /// The person's number (`resetkit::domain::SystemUserId`) on success; 0 on every error,
    /// as the contract's own sample has it, so that a typed client's non-nullable `int`
    /// reads every answer.
    pub system_user_id: i32,
    pub description: String,
    pub heading: &'static str,
    pub was_successful: bool,
    pub response_status: Option<ResponseStatus>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResponseStatus {
    pub error_code: String,
    pub message: String,
    /// Always null: a stack trace is never sent.
    pub stack_trace: Option<String>,
    pub errors: Vec<FieldError>,
    /// `{"Reason": …}` on a 429 (`source_ip_rate_limited`, …); null otherwise.
    pub meta: Option<std::collections::BTreeMap<&'static str, &'static str>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FieldError {
    pub error_code: String,
    pub field_name: String,
    pub message: String,
    pub meta: Option<()>,
}

impl FieldError {
    pub fn new(code: &str, field: &str, message: impl Into<String>) -> Self {
        Self {
            error_code: code.into(),
            field_name: field.into(),
            message: message.into(),
            meta: None,
        }
    }
}

pub const INVALID_CODE: &str = "InvalidOrExpiredCode";

/// `SystemUserId` in an error answer: no person, and still an `int`.
pub const NO_SYSTEM_USER_ID: i32 = 0;

/// An error answer: the problem, with ServiceStack's error code when its kind alone does not
/// give it, and the field errors.
#[derive(Debug)]
pub struct Failure {
    pub problem: Problem,
    pub code: Option<String>,
    pub errors: Vec<FieldError>,
}

impl Failure {
    fn coded(problem: Problem, code: &str) -> Self {
        Self {
            code: Some(code.into()),
            ..problem.into()
        }
    }

    /// ServiceStack's validation answer: the first error names the whole response.
    pub fn fields(errors: Vec<FieldError>) -> Self {
        let (code, message) = errors
            .first()
            .map_or(("ValidationException".into(), String::new()), |e| {
                (e.error_code.clone(), e.message.clone())
            });
        Self {
            problem: Problem::bad_request(message),
            code: Some(code),
            errors,
        }
    }
}

/// Writes an outcome in ServiceStack's shape, as JSON or JSONP: the one place that words a
/// [`Problem`] for contracts C and D.
pub fn render(fmt: &Format, outcome: Result<ConfirmResponse, Failure>) -> Response<Body> {
    let Failure {
        problem,
        code,
        errors,
    } = match outcome {
        Ok(done) => {
            let (content_type, text) = format::write(fmt, inbound::to_json(&done));
            return inbound::ok(content_type, text);
        }
        Err(failure) => failure,
    };
    let (default_code, message) = match problem.kind {
        Kind::BadRequest => ("SerializationException", None),
        Kind::Unauthorized => ("Unauthorized", Some("Invalid ApiKey")),
        Kind::NotFound => ("NotFound", None),
        Kind::MethodNotAllowed => ("MethodNotAllowed", None),
        Kind::NotAcceptable => ("InvalidFormat", None),
        Kind::InFlight => ("RequestInProgress", None),
        Kind::TooLarge => ("RequestTooLarge", None),
        Kind::UnsupportedMediaType => ("UnsupportedMediaType", None),
        Kind::KeyReused => ("IdempotencyKeyReused", None),
        Kind::Conflict => ("Conflict", None),
        Kind::RateLimited => ("TooManyRequests", None),
        Kind::Unavailable => ("ServiceUnavailable", None),
        Kind::Unexpected => ("InternalServerError", None),
    };
    let message = message.map_or_else(|| problem.message.clone(), str::to_owned);
    let body = ConfirmResponse {
        system_user_id: NO_SYSTEM_USER_ID,
        description: message.clone(),
        heading: "Password not reset",
        was_successful: false,
        response_status: Some(ResponseStatus {
            error_code: code.unwrap_or_else(|| default_code.into()),
            message,
            stack_trace: None,
            errors,
            meta: problem.reason.map(|reason| [("Reason", reason)].into()),
        }),
    };
    let (content_type, text) = format::write(fmt, inbound::to_json(&body));
    inbound::problem(&problem, content_type, text)
}

impl From<Problem> for Failure {
    fn from(problem: Problem) -> Self {
        Self {
            problem,
            code: None,
            errors: vec![],
        }
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Malformed(_) => Failure::coded(r.into(), "InvalidIdempotencyKey"),
            _ => Problem::from(r).into(),
        }
    }
}

impl From<BodyError> for Failure {
    fn from(e: BodyError) -> Self {
        Problem::from(e).into()
    }
}

impl From<FormatError> for Failure {
    fn from(e: FormatError) -> Self {
        let problem = match e {
            FormatError::NotAcceptable => Problem::not_acceptable(e.message()),
            FormatError::UnknownFormat | FormatError::BadCallback => {
                Problem::bad_request(e.message())
            }
        };
        Failure::coded(problem, "InvalidFormat")
    }
}

impl Failure {
    /// A confirm that failed, worded in `locale` where a person reads it (the code's
    /// rejection and the password policy; `ErrorCode`s stay as they are).
    pub fn from_confirm(e: ConfirmError, locale: &Locale) -> Self {
        match e {
            ConfirmError::CodeRejected => Failure::coded(
                Problem::bad_request(say(locale, "error.InvalidOrExpiredCode", &[])),
                INVALID_CODE,
            ),
            ConfirmError::Policy(p) => Failure::fields(vec![policy_error(&p, locale)]),
            ConfirmError::Unexpected(UnexpectedConfirm::Store(StoreError::Unavailable(_))) => {
                Problem::dependency_down("storage unavailable", &e).into()
            }
            ConfirmError::Unexpected(_) => Problem::failed("password confirm failed", &e).into(),
        }
    }
}

impl From<PageKeyError> for Failure {
    fn from(e: PageKeyError) -> Self {
        match e {
            PageKeyError::Disabled => {
                Problem::not_found("The reset page is not enabled on this stage").into()
            }
            PageKeyError::Unsuitable { ref key_id } => {
                tracing::error!(
                    key_id = key_id.as_deref(),
                    "{} is not an active browser key with password:confirm only; the reset page is withheld",
                    resetkit::config::BROWSER_CONFIRM_KEY
                );
                Failure::coded(
                    Problem::withheld("The reset page is not available"),
                    "PageUnavailable",
                )
            }
            PageKeyError::Unexpected(cause) => Problem::from(cause).into(),
        }
    }
}

impl ConfirmResponse {
    pub fn success(done: &Confirmed) -> Self {
        Self {
            system_user_id: done.system_user_id.get(),
            description: "Your password has been reset.".into(),
            heading: "Password reset",
            was_successful: true,
            response_status: None,
        }
    }
}

/// The password policy's verdict as a field error, in `locale`. The strength hint comes
/// from zxcvbn in English; a locale's string may leave it out.
fn policy_error(e: &PasswordPolicyError, locale: &Locale) -> FieldError {
    let (min, max) = (MIN_CHARS.to_string(), MAX_CHARS.to_string());
    let message = match e {
        PasswordPolicyError::TooShort => say(locale, "error.MinimumLength", &[("min", &min)]),
        PasswordPolicyError::TooLong => say(locale, "error.MaximumLength", &[("max", &max)]),
        PasswordPolicyError::TooWeak { hint } => say(
            locale,
            "error.PasswordTooWeak",
            &[("hint", hint.as_deref().unwrap_or_default())],
        ),
        PasswordPolicyError::Personal => say(locale, "error.PasswordTooPersonal", &[]),
    };
    FieldError::new(e.code(), "Password", message)
}

/// A checked request: the credential to authenticate and the command to run.
pub struct Validated {
    pub api_key: String,
    pub command: ConfirmCommand,
}

impl ConfirmBody {
    /// Every field rule at once, so the person sees all their mistakes in one answer,
    /// worded in `locale`. Password length is checked here, before any hashing.
    pub fn validate(self, locale: &Locale) -> Result<Validated, Failure> {
        let mut errors = Vec::new();
        let mut required =
            |value: Option<String>, field: &str| match value.filter(|v| !v.trim().is_empty()) {
                Some(v) => Some(v),
                None => {
                    errors.push(FieldError::new(
                        "NotEmpty",
                        field,
                        say(locale, "error.NotEmpty", &[("field", field)]),
                    ));
                    None
                }
            };
        let api_key = required(self.api_key, "ApiKey");
        let secret = required(self.temporary_password, "TemporaryPassword");
        let password = required(self.password, "Password");
        let confirm = required(self.password_confirm, "PasswordConfirm");

        let subject = subject(
            self.email_address,
            self.lead_id,
            self.verification_id,
            &mut errors,
            locale,
        );
        let password = password.and_then(|p| match NewPassword::parse(&p) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.push(policy_error(&e, locale));
                None
            }
        });
        if let (Some(p), Some(c)) = (&password, &confirm) {
            if !NewPassword::parse(c).is_ok_and(|c| c.same_as(p)) {
                errors.push(FieldError::new(
                    "NotEqual",
                    "PasswordConfirm",
                    say(locale, "error.NotEqual", &[]),
                ));
            }
        }
        let location = match (coordinate(self.latitude), coordinate(self.longitude)) {
            (Ok(la), Ok(lo)) => Location::parse(la, lo).unwrap_or_else(|_| {
                // Both numbers and out of range, or one without the other.
                let key = if la.is_some() && lo.is_some() {
                    "error.LocationRange"
                } else {
                    "error.LocationPair"
                };
                errors.push(FieldError::new(
                    "InclusiveBetween",
                    "Latitude",
                    say(locale, key, &[]),
                ));
                None
            }),
            _ => {
                errors.push(FieldError::new(
                    "InvalidNumber",
                    "Latitude",
                    say(locale, "error.InvalidNumber", &[]),
                ));
                None
            }
        };
        match (api_key, secret, subject, password, errors.is_empty()) {
            (Some(api_key), Some(secret), Some(subject), Some(password), true) => Ok(Validated {
                api_key,
                command: ConfirmCommand {
                    subject,
                    secret: ResetSecret::from_presented(&secret),
                    password,
                    location,
                    // The handler adds the request's language.
                    language: None,
                },
            }),
            _ => Err(Failure::fields(errors)),
        }
    }
}

fn subject(
    email: Option<String>,
    lead: Option<String>,
    verification: Option<String>,
    errors: &mut Vec<FieldError>,
    locale: &Locale,
) -> Option<ConfirmSubject> {
    let present = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let mut given = Vec::new();
    if let Some(e) = present(email) {
        given.push(
            EmailAddress::parse(&e)
                .map(ConfirmSubject::Email)
                .map_err(|e| {
                    (
                        "EmailAddress",
                        "Email",
                        say(locale, "error.Email", &[("value", &e.0)]),
                    )
                }),
        );
    }
    if let Some(l) = present(lead) {
        given.push(UserId::parse(&l).map(ConfirmSubject::Lead).map_err(|e| {
            (
                "LeadId",
                "InvalidFormat",
                say(locale, "error.InvalidId", &[("value", &e.0)]),
            )
        }));
    }
    if let Some(v) = present(verification) {
        given.push(
            VerificationId::parse(&v)
                .map(ConfirmSubject::Verification)
                .map_err(|e| {
                    let message = say(locale, "error.InvalidId", &[("value", &e.0)]);
                    ("VerificationId", "InvalidFormat", message)
                }),
        );
    }
    match given.len() {
        0 => errors.push(FieldError::new(
            "NotEmpty",
            "EmailAddress",
            say(locale, "error.NotEmptySubject", &[]),
        )),
        1 => match given.remove(0) {
            Ok(s) => return Some(s),
            Err((field, code, message)) => errors.push(FieldError::new(code, field, message)),
        },
        _ => errors.push(FieldError::new(
            "Exclusive",
            "EmailAddress",
            say(locale, "error.Exclusive", &[]),
        )),
    }
    None
}

fn coordinate(c: Option<Coordinate>) -> Result<Option<f64>, ()> {
    match c {
        None => Ok(None),
        Some(Coordinate::Number(n)) => Ok(Some(n)),
        Some(Coordinate::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Coordinate::Text(t)) => t
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or(()),
    }
}
