//! LeadSquared's wire shapes, and the one mapping from domain outcomes to them.

use lambda_http::{Body, Response};
use resetkit::domain::fields::EMAIL;
use resetkit::domain::{FieldCatalog, LookupKey};
use resetkit::inbound::{self, Kind, Problem};
use resetkit::ports::StoreError;
use resetkit::service::{ForgotPasswordCommand, ForgotPasswordError, ForgotPasswordOutcome};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
pub struct ForgotPasswordBody {
    #[serde(rename = "EmailAddress")]
    pub email_address: Option<String>,
    #[serde(rename = "SearchKeyData")]
    pub search_key_data: Option<SearchKeyData>,
    #[serde(rename = "RecipientField")]
    pub recipient_field: Option<RecipientField>,
}

#[derive(Debug, Deserialize)]
pub struct SearchKeyData {
    #[serde(rename = "SchemaName")]
    pub schema_name: String,
    #[serde(rename = "Value")]
    pub value: String,
}

#[derive(Debug, Deserialize)]
pub struct RecipientField {
    #[serde(rename = "SchemaName")]
    pub schema_name: String,
}

/// The one success answer. `LeadId` and `TemporaryPassword` appear only for a server key
/// granted that right; for everyone else the body is the same whether anyone matched.
#[derive(Debug, Serialize)]
pub struct Success {
    #[serde(rename = "Status")]
    pub status: &'static str,
    #[serde(rename = "Message")]
    pub message: &'static str,
    #[serde(rename = "LeadId", skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<String>,
    #[serde(rename = "TemporaryPassword", skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
}

impl From<ForgotPasswordOutcome> for Success {
    fn from(o: ForgotPasswordOutcome) -> Self {
        let (lead_id, temporary_password) = match o.revealed {
            Some((id, secret)) => (Some(id.to_string()), Some(secret.expose().to_owned())),
            None => (None, None),
        };
        Self {
            status: "Success",
            message: "Reset link sent successfully",
            lead_id,
            temporary_password,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ErrorBody {
    #[serde(rename = "Status")]
    pub status: &'static str,
    #[serde(rename = "ExceptionType")]
    pub exception_type: &'static str,
    #[serde(rename = "ExceptionMessage")]
    pub exception_message: String,
    /// Machine-readable cause of a 429 (`source_ip_rate_limited`, …); absent otherwise.
    #[serde(rename = "Reason", skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// Writes an outcome in LeadSquared's shape: the one place that words a [`Problem`] for
/// contract B.
pub fn render(outcome: Result<Success, Problem>) -> Response<Body> {
    let problem = match outcome {
        Ok(sent) => return inbound::ok_json(&sent),
        Err(problem) => problem,
    };
    let (exception_type, message) = match problem.kind {
        Kind::BadRequest => ("MXInvalidInputException", None),
        Kind::Unauthorized => (
            "MXUnAuthorizedAccessException",
            Some("Invalid or missing auth key"),
        ),
        Kind::TooLarge => ("MXRequestTooLargeException", None),
        Kind::UnsupportedMediaType => ("MXUnsupportedMediaTypeException", None),
        Kind::RateLimited => ("MXAPIRateLimitExceededException", None),
        Kind::MethodNotAllowed => ("MXMethodNotAllowedException", None),
        Kind::NotFound => ("MXNotFoundException", None),
        Kind::Unavailable => ("MXServiceUnavailableException", None),
        Kind::InFlight => ("MXRequestInProgressException", None),
        Kind::KeyReused => ("MXIdempotencyKeyReusedException", None),
        Kind::NotAcceptable | Kind::Conflict | Kind::Unexpected => ("MXUnexpectedException", None),
    };
    let body = ErrorBody {
        status: "Error",
        exception_type,
        exception_message: message.map_or_else(|| problem.message.clone(), str::to_owned),
        reason: problem.reason,
    };
    inbound::problem_json(&problem, &body)
}

/// The one mapping from the use case's errors.
pub fn failed(e: ForgotPasswordError) -> Problem {
    match e {
        ForgotPasswordError::Unexpected(StoreError::Unavailable(_)) => {
            Problem::dependency_down("storage unavailable", &e)
        }
        ForgotPasswordError::Unexpected(_) => Problem::failed("forgot-password failed", &e),
    }
}

impl ForgotPasswordBody {
    /// Resolves the search and recipient fields against the stage's catalogue. Every error
    /// here is about the request's shape, never about whether the person exists.
    pub fn try_into_command(
        self,
        catalog: &FieldCatalog,
    ) -> Result<ForgotPasswordCommand, Problem> {
        let bad = |e: &dyn std::fmt::Display| Problem::bad_request(e.to_string());
        let (field, raw) = match (self.email_address, self.search_key_data) {
            (Some(_), Some(_)) => {
                return Err(Problem::bad_request(
                    "Send either EmailAddress or SearchKeyData, not both",
                ))
            }
            (None, None) => {
                return Err(Problem::bad_request(
                    "EmailAddress or SearchKeyData is required",
                ))
            }
            (Some(email), None) => (catalog.lookup_field(EMAIL).map_err(|e| bad(&e))?, email),
            (None, Some(search)) => (
                catalog
                    .lookup_field(&search.schema_name)
                    .map_err(|e| bad(&e))?,
                search.value,
            ),
        };
        let value = catalog.parse_value(field, &raw).map_err(|e| bad(&e))?;
        let recipient = match self.recipient_field {
            None => None,
            Some(r) => Some(
                catalog
                    .recipient_field(&r.schema_name)
                    .map_err(|e| bad(&e))?
                    .clone(),
            ),
        };
        Ok(ForgotPasswordCommand {
            search: LookupKey::new(&field.name, &value),
            recipient,
            // The handler adds the request's language; the body does not carry one.
            language: None,
        })
    }
}
