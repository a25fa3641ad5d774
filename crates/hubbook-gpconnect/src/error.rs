//! The facade's one error type: a GP Connect refusal, answered as a `GPConnect-OperationOutcome-1`
//! with the Spine error code, its HTTP status and the FHIR issue type the GP Connect error
//! handling guidance gives it, and words a developer can act on in `diagnostics`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// The profile every OperationOutcome the facade answers with claims.
pub const OPERATION_OUTCOME_PROFILE: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-OperationOutcome-1";
/// The code system of the Spine error codes.
pub const SPINE_ERROR_CODES: &str =
    "https://fhir.nhs.uk/STU3/CodeSystem/Spine-ErrorOrWarningCode-1";

/// The Spine error codes GP Connect Appointment Management answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the request is malformed: a Spine header missing or wrong, a bad JWT, a required
    /// search parameter missing.
    BadRequest,
    /// 400: an NHS number that fails its check digit.
    InvalidNhsNumber,
    /// 400: an identifier's system is not one the interaction takes.
    InvalidIdentifierSystem,
    /// 400: an identifier's value is not valid for its system.
    InvalidIdentifierValue,
    /// 403: the consumer may not do this.
    AccessDenied,
    /// 404: no such record.
    NoRecordFound,
    /// 404: no such patient.
    PatientNotFound,
    /// 409: the slot is taken (or the request repeats a booking).
    DuplicateRejected,
    /// 409: the resource changed since the version the consumer sent (`If-Match`).
    FhirConstraintViolation,
    /// 422: the resource sent (or one in the JWT) is not valid.
    InvalidResource,
    /// 422: a parameter's value is not valid.
    InvalidParameter,
    /// 422: a reference in the resource sent names nothing.
    ReferenceNotFound,
    /// 500: something unexpected failed.
    InternalServerError,
    /// 503: the database is out of reach for a moment (a failover, a restart, every connection
    /// busy). The guidance names no Spine code for it; INTERNAL_SERVER_ERROR is kept, with the
    /// issue type `transient`, HTTP 503 and `Retry-After`, so that a consumer retries (with the
    /// same `Ssp-TraceID`, which cannot book twice) instead of reporting a fault.
    Unavailable,
    /// 501: an interaction GP Connect defines that hubbook does not serve.
    NotImplemented,
}

impl ErrorCode {
    /// The Spine code, its display, the HTTP status and the FHIR issue type.
    pub fn parts(self) -> (&'static str, &'static str, StatusCode, &'static str) {
        use ErrorCode as E;
        use StatusCode as S;
        match self {
            E::BadRequest => ("BAD_REQUEST", "Bad request", S::BAD_REQUEST, "invalid"),
            E::InvalidNhsNumber => (
                "INVALID_NHS_NUMBER",
                "Invalid NHS number",
                S::BAD_REQUEST,
                "value",
            ),
            E::InvalidIdentifierSystem => (
                "INVALID_IDENTIFIER_SYSTEM",
                "Invalid identifier system",
                S::BAD_REQUEST,
                "invalid",
            ),
            E::InvalidIdentifierValue => (
                "INVALID_IDENTIFIER_VALUE",
                "Invalid identifier value",
                S::BAD_REQUEST,
                "invalid",
            ),
            E::AccessDenied => ("ACCESS_DENIED", "Access denied", S::FORBIDDEN, "forbidden"),
            E::NoRecordFound => (
                "NO_RECORD_FOUND",
                "No record found",
                S::NOT_FOUND,
                "not-found",
            ),
            E::PatientNotFound => (
                "PATIENT_NOT_FOUND",
                "Patient not found",
                S::NOT_FOUND,
                "not-found",
            ),
            E::DuplicateRejected => (
                "DUPLICATE_REJECTED",
                "Duplicate rejected",
                S::CONFLICT,
                "duplicate",
            ),
            E::FhirConstraintViolation => (
                "FHIR_CONSTRAINT_VIOLATION",
                "FHIR constraint violated",
                S::CONFLICT,
                "conflict",
            ),
            E::InvalidResource => (
                "INVALID_RESOURCE",
                "Invalid validation of resource",
                S::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            E::InvalidParameter => (
                "INVALID_PARAMETER",
                "Invalid parameter",
                S::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            E::ReferenceNotFound => (
                "REFERENCE_NOT_FOUND",
                "Reference not found",
                S::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            E::InternalServerError => (
                "INTERNAL_SERVER_ERROR",
                "Unexpected internal server error",
                S::INTERNAL_SERVER_ERROR,
                "exception",
            ),
            E::Unavailable => (
                "INTERNAL_SERVER_ERROR",
                "Unexpected internal server error",
                S::SERVICE_UNAVAILABLE,
                "transient",
            ),
            E::NotImplemented => (
                "NOT_IMPLEMENTED",
                "FHIR resource or operation not implemented at server",
                S::NOT_IMPLEMENTED,
                "not-supported",
            ),
        }
    }
}

/// A refusal of the facade: its code and what went wrong, for the consumer's developer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {diagnostics}")]
pub struct GpcError {
    /// The Spine error code.
    pub code: ErrorCode,
    /// What went wrong and what to send instead.
    pub diagnostics: String,
}

impl GpcError {
    /// A refusal with this code and these words.
    pub fn new(code: ErrorCode, diagnostics: impl Into<String>) -> Self {
        Self {
            code,
            diagnostics: diagnostics.into(),
        }
    }

    /// A malformed request (400 BAD_REQUEST).
    pub fn bad_request(diagnostics: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, diagnostics)
    }

    /// The OperationOutcome this refusal is answered with.
    pub fn outcome(&self) -> serde_json::Value {
        let (code, display, _, issue) = self.code.parts();
        json!({
            "resourceType": "OperationOutcome",
            "meta": {"profile": [OPERATION_OUTCOME_PROFILE]},
            "issue": [{
                "severity": "error",
                "code": issue,
                "details": {"coding": [{"system": SPINE_ERROR_CODES, "code": code, "display": display}]},
                "diagnostics": self.diagnostics,
            }],
        })
    }
}

impl ResponseError for GpcError {
    fn status_code(&self) -> StatusCode {
        self.code.parts().2
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = crate::fhir(self.status_code(), &self.outcome());
        if self.code == ErrorCode::Unavailable {
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

/// A use case's refusal in GP Connect's terms: not found, forbidden, a refused value, the
/// database out of reach for a moment (503, to retry), or (for any other failure of the service
/// itself) an internal error, logged and never detailed to the consumer.
pub fn from_service(e: hubbook_service::ServiceError) -> GpcError {
    use hubbook_service::ServiceError as S;
    match e {
        S::NotFound(why) => GpcError::new(ErrorCode::NoRecordFound, why),
        S::Forbidden(why) => GpcError::new(ErrorCode::AccessDenied, why.to_string()),
        e @ (S::Validation(_)
        | S::InvalidDateRange(_)
        | S::InvalidCommand(_)
        | S::InvalidCursor) => GpcError::new(ErrorCode::InvalidParameter, e.to_string()),
        S::Store(hubbook_store::StoreError::Busy | hubbook_store::StoreError::Unavailable(_)) => {
            GpcError::new(
                ErrorCode::Unavailable,
                "the appointment book is out of reach for a moment; retry in a second with the \
                 same Ssp-TraceID, which cannot book twice",
            )
        }
        S::Store(hubbook_store::StoreError::Db(hubbook_store::DbError::Rejected(why))) => {
            GpcError::new(
                ErrorCode::InvalidParameter,
                format!("a value is refused: {why}"),
            )
        }
        e => {
            tracing::error!(error = %e, "a GP Connect request failed");
            GpcError::new(
                ErrorCode::InternalServerError,
                "the request could not be served; try again",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_has_the_status_and_issue_type_of_the_guidance() {
        let cases = [
            (ErrorCode::BadRequest, 400, "invalid"),
            (ErrorCode::AccessDenied, 403, "forbidden"),
            (ErrorCode::NoRecordFound, 404, "not-found"),
            (ErrorCode::DuplicateRejected, 409, "duplicate"),
            (ErrorCode::InvalidResource, 422, "invalid"),
            (ErrorCode::InvalidParameter, 422, "invalid"),
            (ErrorCode::ReferenceNotFound, 422, "invalid"),
            (ErrorCode::InternalServerError, 500, "exception"),
            (ErrorCode::Unavailable, 503, "transient"),
            (ErrorCode::NotImplemented, 501, "not-supported"),
        ];
        for (code, status, issue) in cases {
            let (_, _, s, i) = code.parts();
            assert_eq!((s.as_u16(), i), (status, issue), "{code:?}");
        }
    }

    #[test]
    fn a_database_out_of_reach_is_a_503_to_retry_not_a_500() {
        for e in [
            hubbook_store::StoreError::Busy,
            hubbook_store::StoreError::Unavailable("terminating connection".into()),
        ] {
            let refusal = from_service(hubbook_service::ServiceError::Store(e));
            assert_eq!(refusal.code, ErrorCode::Unavailable);
            let response = refusal.error_response();
            assert_eq!(response.status().as_u16(), 503);
            assert_eq!(response.headers().get("retry-after").unwrap(), "1");
            assert_eq!(refusal.outcome()["issue"][0]["code"], "transient");
        }
    }

    #[test]
    fn an_outcome_has_one_coding_with_the_code_and_its_display() {
        let outcome = GpcError::bad_request("Ssp-TraceID is missing").outcome();
        assert_eq!(outcome["meta"]["profile"][0], OPERATION_OUTCOME_PROFILE);
        let issue = &outcome["issue"][0];
        assert_eq!(issue["severity"], "error");
        let codings = issue["details"]["coding"].as_array().unwrap();
        assert_eq!(codings.len(), 1);
        assert_eq!(codings[0]["code"], "BAD_REQUEST");
        assert_eq!(codings[0]["display"], "Bad request");
        assert_eq!(issue["diagnostics"], "Ssp-TraceID is missing");
    }
}
