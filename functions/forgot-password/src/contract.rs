//! LeadSquared's wire shapes, and the one mapping from domain outcomes to them.

use lambda_http::http::StatusCode;
use resetkit::domain::fields::EMAIL;
use resetkit::domain::{FieldCatalog, LookupKey};
use resetkit::http::{BodyError, UNAVAILABLE_RETRY_AFTER_SECS};
use resetkit::idempotency::Refusal;
use resetkit::ports::StoreError;
use resetkit::service::{
    ForgotPasswordCommand, ForgotPasswordError, ForgotPasswordOutcome, RateLimited,
};
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

/// An error answer: status, LeadSquared body, and `Retry-After` when limited.
pub struct Failure {
    pub status: StatusCode,
    pub body: ErrorBody,
    pub retry_after: Option<u64>,
}

impl Failure {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let exception_type = match status {
            StatusCode::BAD_REQUEST => "MXInvalidInputException",
            StatusCode::UNAUTHORIZED => "MXUnAuthorizedAccessException",
            StatusCode::PAYLOAD_TOO_LARGE => "MXRequestTooLargeException",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "MXUnsupportedMediaTypeException",
            StatusCode::TOO_MANY_REQUESTS => "MXAPIRateLimitExceededException",
            StatusCode::METHOD_NOT_ALLOWED => "MXMethodNotAllowedException",
            StatusCode::NOT_FOUND => "MXNotFoundException",
            StatusCode::SERVICE_UNAVAILABLE => "MXServiceUnavailableException",
            StatusCode::CONFLICT => "MXRequestInProgressException",
            StatusCode::UNPROCESSABLE_ENTITY => "MXIdempotencyKeyReusedException",
            _ => "MXUnexpectedException",
        };
        let body = ErrorBody {
            status: "Error",
            exception_type,
            exception_message: message.into(),
            reason: None,
        };
        Self {
            status,
            body,
            retry_after: None,
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 503 with `Retry-After`: a dependency failed before anything was decided.
    pub fn unavailable() -> Self {
        Failure {
            retry_after: Some(UNAVAILABLE_RETRY_AFTER_SECS),
            ..Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service temporarily unavailable; retry later",
            )
        }
    }
}

impl From<RateLimited> for Failure {
    fn from(limited: RateLimited) -> Self {
        let mut f = Failure::new(StatusCode::TOO_MANY_REQUESTS, limited.to_string());
        f.body.reason = Some(limited.reason.as_str());
        f.retry_after = Some(limited.retry_after_secs);
        f
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        if let Refusal::Unavailable(cause) = &r {
            tracing::warn!(error = %cause, "idempotency store unavailable");
            return Failure::unavailable();
        }
        Failure {
            retry_after: r.retry_after(),
            ..Failure::new(r.status(), r.to_string())
        }
    }
}

impl From<BodyError> for Failure {
    fn from(e: BodyError) -> Self {
        Failure::new(e.status(), e.to_string())
    }
}

impl From<ForgotPasswordError> for Failure {
    fn from(e: ForgotPasswordError) -> Self {
        match e {
            ForgotPasswordError::Unexpected(StoreError::Unavailable(cause)) => {
                tracing::warn!(error = %cause, "storage unavailable");
                Failure::unavailable()
            }
            ForgotPasswordError::Unexpected(cause) => {
                tracing::error!(error = %cause, "forgot-password failed");
                Failure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "An unexpected error occurred",
                )
            }
        }
    }
}

impl ForgotPasswordBody {
    /// Resolves the search and recipient fields against the stage's catalogue. Every error
    /// here is about the request's shape, never about whether the person exists.
    pub fn try_into_command(
        self,
        catalog: &FieldCatalog,
    ) -> Result<ForgotPasswordCommand, Failure> {
        let bad = |e: &dyn std::fmt::Display| Failure::bad_input(e.to_string());
        let (field, raw) = match (self.email_address, self.search_key_data) {
            (Some(_), Some(_)) => {
                return Err(Failure::bad_input(
                    "Send either EmailAddress or SearchKeyData, not both",
                ))
            }
            (None, None) => {
                return Err(Failure::bad_input(
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
        })
    }
}
