//! The one error type of the public API and its one mapping to the JSON error shape (DESIGN §2).
//!
//! Every failure a client can see is an [`ApiError`]: a stable machine code, a message that never
//! carries PII, secrets or Rust debug output, and optionally field-level problems. It keeps the
//! typed error it came from as its cause, for the logs (ids and statuses only); the conversions
//! from the adapters' errors ([`StoreError`], [`ProviderError`]) are here, and nowhere else.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::provider::ProviderError;
use crate::store::StoreError;

/// The `type` of an error: the class of problem, for clients that branch coarsely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    InvalidRequest,
    Authentication,
    Conflict,
    NotFound,
    Provider,
    Internal,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::Authentication => "authentication",
            Self::Conflict => "conflict",
            Self::NotFound => "not_found",
            Self::Provider => "provider",
            Self::Internal => "internal",
        }
    }
}

/// Every error code of the API, each with its HTTP status and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    MalformedJson,
    ValidationFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    IdempotencyKeyInvalid,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    CustomerAlreadyVerified,
    VerificationAlreadyActive,
    VerificationLocked,
    VerificationInProgress,
    VerificationEnded,
    ConcurrentUpdate,
    ProviderRejected,
    ProviderUnavailable,
    ProviderTimeout,
    /// A well-formed webhook for a verification we cannot find yet: 5xx so the provider retries.
    VerificationNotFoundYet,
    InternalError,
    /// A valid PATCH body short of fields the verification's provider needs.
    ApplicantIncomplete,
    /// `?include=kyc_data` of a verification without a decision, or whose provider holds no
    /// identification data for it (yet).
    KycDataUnavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::ValidationFailed => "validation_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NotFound => "not_found",
            Self::Unauthorized => "unauthorized",
            Self::IdempotencyKeyInvalid => "idempotency_key_invalid",
            Self::IdempotencyKeyInUse => "idempotency_key_in_use",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::VerificationLocked => "verification_locked",
            Self::VerificationInProgress => "verification_in_progress",
            Self::VerificationEnded => "verification_ended",
            Self::CustomerAlreadyVerified => "customer_already_verified",
            Self::VerificationAlreadyActive => "verification_already_active",
            Self::ConcurrentUpdate => "concurrent_update",
            Self::ProviderRejected => "provider_rejected",
            Self::ProviderUnavailable => "provider_unavailable",
            Self::ProviderTimeout => "provider_timeout",
            Self::VerificationNotFoundYet => "verification_not_found_yet",
            Self::InternalError => "internal_error",
            Self::KycDataUnavailable => "kyc_data_unavailable",
            Self::ApplicantIncomplete => "applicant_incomplete",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Self::MalformedJson | Self::ValidationFailed | Self::IdempotencyKeyInvalid => 400,
            Self::Unauthorized => 401,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::CustomerAlreadyVerified
            | Self::VerificationAlreadyActive
            | Self::VerificationLocked
            | Self::VerificationInProgress
            | Self::VerificationEnded
            | Self::IdempotencyKeyInUse
            | Self::ConcurrentUpdate
            | Self::KycDataUnavailable => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::ProviderRejected | Self::IdempotencyKeyReused | Self::ApplicantIncomplete => 422,
            Self::InternalError => 500,
            Self::ProviderUnavailable => 502,
            Self::VerificationNotFoundYet => 503,
            Self::ProviderTimeout => 504,
        }
    }

    /// The class of an error follows from its status, except that the provider's failures
    /// are the provider's whatever their status.
    pub fn error_type(self) -> ErrorType {
        match (self, self.status()) {
            (Self::ProviderRejected | Self::ProviderUnavailable | Self::ProviderTimeout, _) => {
                ErrorType::Provider
            }
            (_, 401) => ErrorType::Authentication,
            (_, 404) => ErrorType::NotFound,
            (_, 409) => ErrorType::Conflict,
            (_, s) if s >= 500 => ErrorType::Internal,
            _ => ErrorType::InvalidRequest,
        }
    }
}

pub use crate::domain::request::FieldErrors;

/// An error as the client sees it. Build it with the constructors; never from `{:?}` of anything.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub fields: FieldErrors,
    /// Extra machine-readable members (`verification_id`, `verified_at`), all non-PII.
    pub details: Vec<(String, Value)>,
    /// Seconds, sent as `Retry-After`.
    pub retry_after: Option<u64>,
    /// The typed error behind it, for the logs; never shown to the client.
    pub cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// Two errors are the same answer when the client would see the same thing.
impl PartialEq for ApiError {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && self.message == other.message
            && self.fields == other.fields
            && self.details == other.details
            && self.retry_after == other.retry_after
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: FieldErrors::new(),
            details: Vec::new(),
            retry_after: None,
            cause: None,
        }
    }

    pub fn with_cause(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }

    pub fn validation(fields: FieldErrors) -> Self {
        let message = match fields.iter().next() {
            Some((field, problems)) if fields.len() == 1 && problems.len() == 1 => {
                format!("{field} {}", problems[0])
            }
            _ => format!("{} fields are invalid", fields.len()),
        };
        Self {
            fields,
            ..Self::new(ErrorCode::ValidationFailed, message)
        }
    }

    /// `422 applicant_incomplete`: the fields the verification's provider needs and the body lacks.
    pub fn incomplete(fields: FieldErrors) -> Self {
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        let message = format!("the provider needs {}", names.join(", "));
        Self {
            fields,
            ..Self::new(ErrorCode::ApplicantIncomplete, message)
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn internal() -> Self {
        Self::new(
            ErrorCode::InternalError,
            "internal error; it was logged and can be retried",
        )
    }

    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.push((key.to_owned(), value.into()));
        self
    }

    pub fn with_time(self, key: &str, at: DateTime<Utc>) -> Self {
        self.with_detail(key, at.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The one JSON error shape.
    pub fn to_json(&self, request_id: &str) -> Value {
        let mut error = Map::new();
        error.insert("type".into(), self.code.error_type().as_str().into());
        error.insert("code".into(), self.code.as_str().into());
        error.insert("message".into(), self.message.clone().into());
        if !self.fields.is_empty() {
            error.insert("fields".into(), json!(self.fields));
        }
        for (k, v) in &self.details {
            error.insert(k.clone(), v.clone());
        }
        json!({ "error": error, "request_id": request_id })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

/// A store failure is ours to retry: 500, with the store's error kept as the cause.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal().with_cause(e)
    }
}

/// A provider failure in the API's terms: its refusals are the client's to fix (422, with the
/// fields the provider named), the rest are the provider's (502, or 504 for a timeout).
impl From<ProviderError> for ApiError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::Timeout => Self::new(
                ErrorCode::ProviderTimeout,
                "the provider did not answer in time; retry later",
            ),
            // Named fields are the applicant's to fix: the same validation error as ours.
            ProviderError::Rejected { message, fields } if !fields.is_empty() => {
                let mut err = Self::new(ErrorCode::ValidationFailed, message);
                err.fields = fields;
                err
            }
            ProviderError::Rejected { message, .. } => {
                Self::new(ErrorCode::ProviderRejected, message)
            }
            other => Self::new(
                ErrorCode::ProviderUnavailable,
                "the provider is unavailable; retry later",
            )
            .with_cause(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_error_names_every_field_in_the_one_shape() {
        let mut fields = FieldErrors::new();
        fields.insert(
            "applicant.ssn".into(),
            vec!["is required for provider acme".into()],
        );
        let body = ApiError::validation(fields).to_json("req-1");
        assert_eq!(body["error"]["type"], "invalid_request");
        assert_eq!(body["error"]["code"], "validation_failed");
        assert_eq!(
            body["error"]["message"],
            "applicant.ssn is required for provider acme"
        );
        assert_eq!(
            body["error"]["fields"]["applicant.ssn"][0],
            "is required for provider acme"
        );
        assert_eq!(body["request_id"], "req-1");
    }

    #[test]
    fn conflict_details_sit_inside_the_error_object() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let body = ApiError::new(
            ErrorCode::CustomerAlreadyVerified,
            "customer already verified",
        )
        .with_detail("verification_id", "ver_1")
        .with_time("verified_at", at)
        .to_json("r");
        assert_eq!(body["error"]["verification_id"], "ver_1");
        assert_eq!(body["error"]["verified_at"], "2026-01-02T03:04:05.000Z");
        assert!(body["error"].get("fields").is_none());
    }

    #[test]
    fn adapter_errors_keep_their_cause_but_never_show_it() {
        let io = std::io::Error::other("connection reset by peer at 10.0.0.1");
        let store: ApiError = StoreError::Unavailable {
            operation: "GetItem",
            source: Box::new(io),
        }
        .into();
        assert_eq!(store.code, ErrorCode::InternalError);
        let chain = crate::telemetry::chain(&store);
        assert!(
            chain.contains("DynamoDB GetItem failed") && chain.contains("connection reset"),
            "{chain}"
        );
        assert!(!store.to_json("r").to_string().contains("connection reset"));

        let provider: ApiError = ProviderError::Unavailable("answered 503".into()).into();
        assert_eq!(
            (provider.status(), provider.code),
            (502, ErrorCode::ProviderUnavailable)
        );
        assert!(crate::telemetry::chain(&provider).contains("answered 503"));
        assert_eq!(ApiError::from(ProviderError::Timeout).status(), 504);
        let rejected: ApiError = ProviderError::Rejected {
            message: "refused".into(),
            fields: [("applicant.ssn".to_owned(), vec!["is invalid".to_owned()])].into(),
        }
        .into();
        assert_eq!(
            (rejected.status(), rejected.code, rejected.fields.len()),
            (400, ErrorCode::ValidationFailed, 1),
            "fields the provider refused are the applicant's to fix"
        );
        let refused: ApiError = ProviderError::Rejected {
            message: "refused".into(),
            fields: Default::default(),
        }
        .into();
        assert_eq!(
            (refused.status(), refused.code),
            (422, ErrorCode::ProviderRejected)
        );
    }

    #[test]
    fn every_code_has_the_documented_type() {
        use ErrorCode::*;
        let expected = [
            (
                ErrorType::InvalidRequest,
                &[
                    MalformedJson,
                    ValidationFailed,
                    PayloadTooLarge,
                    UnsupportedMediaType,
                    MethodNotAllowed,
                    IdempotencyKeyInvalid,
                    IdempotencyKeyReused,
                ][..],
            ),
            (ErrorType::Authentication, &[Unauthorized]),
            (
                ErrorType::Conflict,
                &[
                    CustomerAlreadyVerified,
                    VerificationAlreadyActive,
                    VerificationLocked,
                    VerificationInProgress,
                    VerificationEnded,
                    IdempotencyKeyInUse,
                    ConcurrentUpdate,
                    KycDataUnavailable,
                ],
            ),
            (ErrorType::NotFound, &[NotFound]),
            (
                ErrorType::Provider,
                &[ProviderRejected, ProviderUnavailable, ProviderTimeout],
            ),
            (
                ErrorType::Internal,
                &[VerificationNotFoundYet, InternalError],
            ),
        ];
        for (kind, codes) in expected {
            for code in codes {
                assert_eq!(code.error_type(), kind, "{}", code.as_str());
            }
        }
    }

    #[test]
    fn every_code_maps_to_its_status_and_type() {
        assert_eq!(ErrorCode::MalformedJson.status(), 400);
        assert_eq!(ErrorCode::PayloadTooLarge.status(), 413);
        assert_eq!(ErrorCode::UnsupportedMediaType.status(), 415);
        assert_eq!(
            ErrorCode::Unauthorized.error_type(),
            ErrorType::Authentication
        );
        assert_eq!(ErrorCode::ProviderTimeout.status(), 504);
        assert_eq!(ErrorCode::VerificationNotFoundYet.status(), 503);
    }
}
