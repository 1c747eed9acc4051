//! [`Problem`]: every answer other than success, before a contract words it. This is the
//! one place that decides a status code ([`Kind::status`]) and a `Retry-After`; each
//! function's `contract.rs` renders a `Problem` in its own wire shape by its [`Kind`] and
//! decides neither.

use std::error::Error;

use lambda_http::http::StatusCode;

use super::request::BodyError;
use crate::ports::StoreError;
use crate::service::{AuthError, RateLimited, Refusal};

/// What a retry while the first request with its `Idempotency-Key` still runs is asked to
/// wait, in seconds: the first is usually done by then.
const IN_FLIGHT_RETRY_AFTER_SECS: u64 = 1;

/// What a caller is asked to wait after a dependency failed, in seconds.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

/// What went wrong, as far as a caller is concerned. Each contract names the kinds in its
/// own vocabulary; only [`Kind::status`] turns one into a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BadRequest,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    NotAcceptable,
    /// The first request with this `Idempotency-Key` is still running.
    InFlight,
    TooLarge,
    UnsupportedMediaType,
    /// The `Idempotency-Key` was used for another request.
    KeyReused,
    /// The request contradicts what is stored (an older version, a value held by another).
    Conflict,
    RateLimited,
    Unexpected,
    Unavailable,
}

impl Kind {
    /// The one table from kinds of problem to status codes.
    pub fn status(self) -> StatusCode {
        match self {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Kind::InFlight => StatusCode::CONFLICT,
            Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Kind::Unexpected => StatusCode::INTERNAL_SERVER_ERROR,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// An answer other than success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: Kind,
    /// Sent as `Retry-After` (seconds), never in a body.
    pub retry_after: Option<u64>,
    /// Machine-readable cause of a 429 (`source_ip_rate_limited`, …); `None` otherwise.
    pub reason: Option<&'static str>,
    /// For the caller; never holds a secret or an internal cause.
    pub message: String,
}

impl Problem {
    fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            retry_after: None,
            reason: None,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The request is not as the contract wants it.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, message)
    }

    /// The caller is not allowed. Each contract words this answer its own way.
    pub fn unauthorized() -> Self {
        Self::new(Kind::Unauthorized, "Unauthorized")
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    /// A path no route of the function serves.
    pub fn no_such_endpoint() -> Self {
        Self::not_found("No such endpoint")
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, message)
    }

    /// 409 that a retry may well get past (other writes to the same item kept winning).
    pub fn contended(message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(IN_FLIGHT_RETRY_AFTER_SECS),
            ..Self::conflict(message)
        }
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(Kind::MethodNotAllowed, message)
    }

    /// No representation the caller accepts.
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(Kind::NotAcceptable, message)
    }

    /// 503 with `Retry-After`: a dependency (DynamoDB, SES, SNS) was throttling, failing or
    /// slow past its time budget; nothing was decided, so the same request may simply be
    /// sent again.
    pub fn unavailable() -> Self {
        Self {
            retry_after: Some(UNAVAILABLE_RETRY_AFTER_SECS),
            ..Self::new(
                Kind::Unavailable,
                "Service temporarily unavailable; retry later",
            )
        }
    }

    /// Unavailable until an operator fixes the stage: no `Retry-After`, waiting will not help.
    pub fn withheld(message: impl Into<String>) -> Self {
        Self {
            retry_after: None,
            message: message.into(),
            ..Self::unavailable()
        }
    }

    /// A failure on our side, with a generic message.
    pub fn unexpected() -> Self {
        Self::new(Kind::Unexpected, "An unexpected error occurred")
    }

    /// A dependency was down: `cause`, with its whole source chain, goes to the log.
    pub fn dependency_down(context: &str, cause: &(dyn Error + 'static)) -> Self {
        tracing::warn!(error = %chain(cause), "{context}");
        Self::unavailable()
    }

    /// A failure on our side: `cause`, with its whole source chain, goes to the log; the
    /// caller gets a generic 500.
    pub fn failed(context: &str, cause: &(dyn Error + 'static)) -> Self {
        tracing::error!(error = %chain(cause), "{context}");
        Self::unexpected()
    }
}

/// `cause` and every source under it, outermost first. A source whose text its parent
/// already quotes is not repeated.
pub fn chain(cause: &(dyn Error + 'static)) -> String {
    let mut text = cause.to_string();
    let mut next = cause.source();
    while let Some(source) = next {
        let part = source.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = source.source();
    }
    text
}

impl From<BodyError> for Problem {
    fn from(e: BodyError) -> Self {
        let kind = match e {
            BodyError::TooLarge => Kind::TooLarge,
            BodyError::UnsupportedMediaType(..) => Kind::UnsupportedMediaType,
            BodyError::Empty | BodyError::Malformed(_) => Kind::BadRequest,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<RateLimited> for Problem {
    fn from(limited: RateLimited) -> Self {
        Self {
            retry_after: Some(limited.retry_after_secs),
            reason: Some(limited.reason.as_str()),
            ..Self::new(Kind::RateLimited, limited.to_string())
        }
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::dependency_down("storage unavailable", &e),
            _ => Self::failed("storage failed", &e),
        }
    }
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthorized => Self::unauthorized(),
            AuthError::RateLimited(limited) => limited.into(),
            AuthError::Unexpected(cause) => cause.into(),
        }
    }
}

impl From<Refusal> for Problem {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Malformed(_) => Self::bad_request(r.to_string()),
            Refusal::Mismatch => Self::new(Kind::KeyReused, r.to_string()),
            Refusal::InFlight => Self {
                retry_after: Some(IN_FLIGHT_RETRY_AFTER_SECS),
                ..Self::new(Kind::InFlight, r.to_string())
            },
            // Even a corrupt record: the request itself was never run, so it may be retried.
            Refusal::Unavailable(_) => Self::dependency_down("idempotency store unavailable", &r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::LimitReason;

    #[test]
    fn only_unavailable_and_waiting_answers_ask_for_a_retry() {
        assert_eq!(Problem::unavailable().status().as_u16(), 503);
        assert_eq!(Problem::unavailable().retry_after, Some(2));
        assert_eq!(Problem::withheld("off").retry_after, None);
        assert_eq!(Problem::from(Refusal::InFlight).retry_after, Some(1));
        assert_eq!(Problem::from(Refusal::Mismatch).retry_after, None);
        let down = Refusal::Unavailable(StoreError::Missing("x".into()));
        assert_eq!(Problem::from(down), Problem::unavailable());
        let limited = RateLimited {
            reason: LimitReason::SourceIp,
            retry_after_secs: 7,
        };
        let p = Problem::from(limited);
        assert_eq!((p.status().as_u16(), p.retry_after), (429, Some(7)));
        assert_eq!(p.reason, Some(LimitReason::SourceIp.as_str()));
    }

    #[test]
    fn the_logged_chain_holds_every_source_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(chain(&e), "outer: inner");
        let quoted = StoreError::unavailable(std::io::Error::other("throttled"));
        assert_eq!(chain(&quoted), "storage unavailable: throttled");
    }
}
