//! The API's one error type, rendered as RFC 9457 `application/problem+json`.
//!
//! This is the only place that knows HTTP status codes. Every problem has a stable `type` that
//! clients match on; a 5xx carries an opaque detail and its cause goes to the log.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use hubbook_core::Refusal;
use hubbook_core::ValidationError;
use hubbook_store::{ConflictKind, DbError, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::problem_type::ProblemType;

/// An RFC 9457 problem document, as every error response carries it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of problem, e.g. `invalid-nhs-number`; match on this.
    #[serde(rename = "type")]
    #[schema(schema_with = crate::problem_type::schema)]
    pub kind: String,
    /// A short human-readable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence, for a person to read.
    pub detail: String,
    /// This occurrence: the request's id (`X-Request-Id`), as `urn:uuid:<id>` when it is a UUID
    /// (as the server makes them), else as sent. The server's log lines of the request name it
    /// too, so quote it when asking for help.
    pub instance: String,
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A domain value was refused by its validation rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// A rota or template was refused by the expansion rules.
    #[error(transparent)]
    Rota(#[from] hubbook_core::rota::RotaError),
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The facts stored now do not allow the write (the slot is taken, the hold expired...).
    #[error(transparent)]
    Refusal(#[from] Refusal),
    /// No valid bearer token was presented.
    #[error("{0}")]
    InvalidToken(String),
    /// Wrong username, password, client id or secret.
    #[error("the credentials are not valid")]
    InvalidCredentials,
    /// Too many wrong sign-in tries lately for this name or from this address.
    #[error("too many wrong sign-in tries lately for this name or from this address; try again in {seconds_left} s (a cluster manager setting a new password ends a username's wait)")]
    SignInThrottled {
        /// When the wait ends.
        until: chrono::DateTime<chrono::Utc>,
        /// Seconds until then, for `Retry-After`.
        seconds_left: i64,
    },
    /// The caller's role does not allow this action in its scope.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing the caller may see exists here.
    #[error("{0}")]
    NotFound(String),
    /// The request body is not valid JSON.
    #[error("{0}")]
    MalformedJson(String),
    /// The body is JSON of the wrong shape: wrong types, missing or unknown fields.
    #[error("{0}")]
    InvalidBody(String),
    /// The query string does not parse.
    #[error("{0}")]
    InvalidQuery(String),
    /// The body is larger than allowed.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body's content type is not one this route reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A request refused by a rule; the kind names the rule (and, through the catalogue, the
    /// status), the text says what to do.
    #[error("{1}")]
    Refused(ProblemType, String),
    /// An update came without `If-Match`.
    #[error("send If-Match with the ETag you last read (or * to update whatever is current)")]
    PreconditionRequired,
    /// A triage request refused by the triage rules (a passed timeframe, a bad code...).
    #[error(transparent)]
    Triage(#[from] hubbook_core::triage::TriageError),
    /// No slot fits a triage request now; `next_slot` is the earliest later one that would.
    #[error("{detail}")]
    NoCapacity {
        /// What was looked for, in words.
        detail: String,
        /// The earliest fitting slot after the timeframe, as JSON, or `None` if there is none soon.
        next_slot: Option<serde_json::Value>,
    },
    /// Something unexpected; the detail stays in the log.
    #[error("{0}")]
    Internal(String),
}

impl From<hubbook_service::ServiceError> for ApiError {
    fn from(error: hubbook_service::ServiceError) -> Self {
        use hubbook_service::ServiceError as E;
        match error {
            E::Validation(e) => Self::Validation(e),
            E::Forbidden(e) => Self::Forbidden(e.0.to_owned()),
            E::NotFound(what) => Self::NotFound(what),
            E::InvalidCommand(why) => Self::Refused(ProblemType::InvalidBody, why.to_owned()),
            e @ E::PracticeNotInCluster(_) => {
                Self::Refused(ProblemType::PracticeNotInCluster, e.to_string())
            }
            E::Triage(e) => Self::Triage(e),
            E::Ranking(e) => Self::Refused(ProblemType::coded(e.code()), e.to_string()),
            E::NoCapacity { detail, next_slot } => Self::NoCapacity {
                detail,
                next_slot: next_slot.and_then(|o| {
                    serde_json::to_value(crate::routes::slots::SlotOffer::from(*o)).ok()
                }),
            },
            e @ E::UnknownDisposition(_) => {
                Self::Refused(ProblemType::UnknownDisposition, e.to_string())
            }
            e @ E::SlotNotFitting(_) => Self::Refused(ProblemType::SlotNotFitting, e.to_string()),
            e @ E::SlotNotAsSent(_) => Self::Refused(ProblemType::InvalidBody, e.to_string()),
            e @ E::UnknownLocation(_) => Self::Refused(ProblemType::UnknownLocation, e.to_string()),
            e @ E::InvalidLocation => Self::Refused(ProblemType::InvalidLocation, e.to_string()),
            e @ E::UnknownPostcode(_) => Self::Refused(ProblemType::UnknownPostcode, e.to_string()),
            e @ E::TwoOrigins => Self::InvalidQuery(e.to_string()),
            e @ E::InvalidCursor => Self::Refused(ProblemType::InvalidCursor, e.to_string()),
            e @ E::InvalidWebhookUrl => {
                Self::Refused(ProblemType::InvalidWebhookUrl, e.to_string())
            }
            e @ E::UnknownEventType(_) => {
                Self::Refused(ProblemType::UnknownEventType, e.to_string())
            }
            e @ E::UnknownReport(_) => Self::Refused(ProblemType::UnknownReport, e.to_string()),
            e @ E::InvalidGroupBy { .. } => {
                Self::Refused(ProblemType::InvalidGroupBy, e.to_string())
            }
            e @ E::InvalidLateCancelHours(_) => {
                Self::Refused(ProblemType::InvalidLateCancelHours, e.to_string())
            }
            E::Sharing(e) => Self::Refused(ProblemType::coded(e.code()), e.to_string()),
            E::InvalidCredentials => Self::InvalidCredentials,
            E::Throttled {
                until,
                seconds_left,
            } => Self::SignInThrottled {
                until,
                seconds_left,
            },
            E::Refused(e) => Self::Refusal(e),
            E::Store(e) => Self::Store(e),
            E::Internal(why) => Self::Internal(why),
            e @ E::HalfCoordinates => Self::Refused(ProblemType::InvalidCoordinates, e.to_string()),
            e @ E::InvalidRole(_) => Self::Refused(ProblemType::InvalidRole, e.to_string()),
            e @ E::InvalidUsername => Self::Refused(ProblemType::InvalidUsername, e.to_string()),
            e @ E::WeakPassword => Self::Refused(ProblemType::WeakPassword, e.to_string()),
            e @ E::InvalidClientId => Self::Refused(ProblemType::InvalidClientId, e.to_string()),
            e @ E::InvalidCertificate => {
                Self::Refused(ProblemType::InvalidCertificate, e.to_string())
            }
            e @ E::UnknownCluster(_) => Self::Refused(ProblemType::UnknownCluster, e.to_string()),
            e @ E::InvalidChangeover => {
                Self::Refused(ProblemType::InvalidChangeover, e.to_string())
            }
            E::Rota(e) => Self::Rota(e),
            e @ E::UnknownReference(_) => {
                Self::Refused(ProblemType::UnknownReference, e.to_string())
            }
            e @ E::InvalidDateRange(_) => {
                Self::Refused(ProblemType::InvalidDateRange, e.to_string())
            }
            e @ E::InvalidChannel => Self::Refused(ProblemType::InvalidChannel, e.to_string()),
        }
    }
}

impl ApiError {
    /// The kind of problem this error is, from the one catalogue ([`ProblemType`]).
    pub fn problem_type(&self) -> ProblemType {
        use ProblemType as P;
        let coded = ProblemType::coded;
        match self {
            Self::Validation(e) => coded(e.code()),
            Self::Triage(e) => coded(e.code()),
            Self::Rota(e) => coded(e.code()),
            Self::NoCapacity { .. } => P::NoCapacity,
            Self::Store(StoreError::NotFound) | Self::NotFound(_) => P::NotFound,
            Self::Store(StoreError::InvalidCursor) => P::InvalidCursor,
            Self::Refusal(e) => coded(e.code()),
            Self::Store(StoreError::Conflict(kind)) => match kind {
                ConflictKind::Duplicate(_) => P::AlreadyExists,
                ConflictKind::StaleVersion => P::PreconditionFailed,
                ConflictKind::MissingReference(_) => P::UnknownReference,
                ConflictKind::IdempotencyKeyReused => P::IdempotencyKeyReused,
                ConflictKind::Transition(_) => P::InvalidTransition,
            },
            Self::Store(StoreError::Busy | StoreError::Unavailable(_)) => P::ServiceBusy,
            Self::Store(StoreError::Db(DbError::Rejected(_))) => P::InvalidValue,
            Self::Store(_) | Self::Internal(_) => P::InternalError,
            Self::InvalidToken(_) => P::InvalidToken,
            Self::InvalidCredentials => P::InvalidCredentials,
            Self::SignInThrottled { .. } => P::SignInThrottled,
            Self::Forbidden(_) => P::Forbidden,
            Self::Refused(kind, _) => *kind,
            Self::MalformedJson(_) => P::MalformedJson,
            Self::InvalidBody(_) => P::InvalidBody,
            Self::InvalidQuery(_) => P::InvalidQuery,
            Self::PayloadTooLarge(_) => P::PayloadTooLarge,
            Self::UnsupportedMediaType(_) => P::UnsupportedMediaType,
            Self::PreconditionRequired => P::PreconditionRequired,
        }
    }

    /// The status code and stable problem type of this error.
    pub fn status_and_type(&self) -> (StatusCode, &'static str) {
        let kind = self.problem_type();
        (kind.status(), kind.as_str())
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let status = self.problem_type().status();
        let detail = match self {
            Self::Store(StoreError::NotFound) => "nothing found here that you may see".to_owned(),
            Self::Store(StoreError::InvalidCursor) => {
                "the cursor is not one this list handed out".to_owned()
            }
            Self::Store(StoreError::Conflict(ConflictKind::Duplicate(what))) => {
                format!("a record with the same unique value already exists ({})", friendly_constraint(what))
            }
            Self::Store(StoreError::Conflict(ConflictKind::StaleVersion)) => {
                "the resource changed since you read it; read it again and retry with its current ETag".to_owned()
            }
            Self::Store(StoreError::Conflict(ConflictKind::MissingReference(_))) => {
                "a referenced record does not exist in this cluster".to_owned()
            }
            Self::Store(StoreError::Conflict(ConflictKind::IdempotencyKeyReused)) => {
                "this Idempotency-Key was already used for a different request".to_owned()
            }
            Self::Store(StoreError::Conflict(ConflictKind::Transition(why))) => why.clone(),
            Self::Refusal(Refusal::NotOffered(reason)) => {
                format!("the slot is not offered to you now ({reason}); GET /api/v1/slots lists those that are")
            }
            Self::Store(StoreError::Busy) => "the service is busy; retry shortly".to_owned(),
            Self::Store(StoreError::Unavailable(_)) => {
                "the database cannot be reached for a moment; retry shortly (with the same \
                 Idempotency-Key, a retried create cannot create twice)"
                    .to_owned()
            }
            Self::Store(StoreError::Db(DbError::Rejected(_))) => "a value breaks a rule of the stored data".to_owned(),
            Self::Store(_) | Self::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
            other => other.to_string(),
        };
        let kind = self.problem_type();
        Problem {
            kind: kind.as_str().to_owned(),
            title: kind.title(),
            status: status.as_u16(),
            detail,
            instance: crate::request_id::instance(),
        }
    }
}

/// Turns a constraint name or SQLite's column list into words without leaking schema details.
fn friendly_constraint(what: &str) -> &'static str {
    if what.contains("ods_code") {
        "ODS code"
    } else if what.contains("username") {
        "username"
    } else if what.contains("client_id") {
        "client id"
    } else if what.contains("code") {
        "code"
    } else if what.contains("name") {
        "name"
    } else {
        "unique key"
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status_and_type().0
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, problem = %problem.kind, instance = %problem.instance, "request failed");
        } else {
            tracing::debug!(problem = %problem.kind, instance = %problem.instance, detail = %problem.detail, "request refused");
        }
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Self::NoCapacity { next_slot, .. } = self {
            // RFC 9457 extension member: where the caller can send the patient instead.
            let mut body = serde_json::to_value(&problem).unwrap_or_default();
            if let Some(map) = body.as_object_mut() {
                map.insert(
                    "next_slot".into(),
                    next_slot.clone().unwrap_or(serde_json::Value::Null),
                );
            }
            return response.body(body.to_string());
        }
        if matches!(
            self,
            Self::Store(StoreError::Busy | StoreError::Unavailable(_))
        ) {
            response.insert_header((header::RETRY_AFTER, "1"));
        }
        if let Self::SignInThrottled { seconds_left, .. } = self {
            response.insert_header((header::RETRY_AFTER, seconds_left.to_string()));
        }
        if matches!(self, Self::InvalidToken(_)) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_has_an_instance_of_its_own() {
        let a = ApiError::NotFound("x".into()).problem();
        let b = ApiError::NotFound("x".into()).problem();
        assert!(a.instance.starts_with("urn:uuid:"));
        assert_ne!(a.instance, b.instance);
        assert_eq!((a.status, a.title.as_str()), (404, "Not found"));
    }

    #[test]
    fn server_errors_hide_their_cause() {
        let p = ApiError::Internal("secret table name".into()).problem();
        assert_eq!((p.status, p.kind.as_str()), (500, "internal-error"));
        assert!(!p.detail.contains("secret"));
    }
}
