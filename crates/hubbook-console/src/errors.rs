//! Every use-case refusal in the console's words, in one place: what went wrong, what to do, the
//! form field it is about (for the error summary's link) and the status of the page. The kind
//! is the JSON API's stable problem type, so both front ends name a refusal alike.

use actix_web::http::StatusCode;
use hubbook_api::{ApiError, ProblemType};
use hubbook_core::ValidationError;
use hubbook_service::ServiceError;
use serde::Serialize;

/// One message of an NHS error summary, linked to its field when it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The id of the field the message is about (the summary links to it), if any.
    pub field: Option<String>,
    /// What went wrong and what to do, in the receptionist's words.
    pub message: String,
}

impl FieldError {
    /// A message about one field.
    pub fn at(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// A message about the whole page.
    pub fn page(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
        }
    }
}

/// A use case's refusal, ready to render.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The stable kind (the API's problem type).
    pub kind: ProblemType,
    /// The page's status.
    pub status: StatusCode,
    /// The message for the error summary.
    pub error: FieldError,
}

impl Refusal {
    /// The error to show, saying `stale` instead when the row changed since the page was read
    /// (another desk got there first), so the page can tell what to look at again.
    pub fn unless_stale(self, stale: &str) -> FieldError {
        if self.kind == ProblemType::PreconditionFailed {
            FieldError::page(stale)
        } else {
            self.error
        }
    }

    /// Whether the slot is gone for this booker (booked or held by someone else, no longer
    /// offered, or started), so the page should offer the next free slots instead.
    pub fn slot_gone(&self) -> bool {
        matches!(
            self.kind,
            ProblemType::SlotUnavailable | ProblemType::SlotNotOffered | ProblemType::SlotInPast
        )
    }
}

/// The field of the patient form a name rule refused.
fn name_field(field: &str) -> &'static str {
    match field {
        "patient.name" | "name" => "name",
        "patient.adjustments" => "adjustments",
        "reason" => "reason",
        "email" => "email",
        "requester.reference" | "reference" => "requester_reference",
        "notes" => "notes",
        "display_name" => "display_name",
        "address" => "address",
        _ => "name",
    }
}

/// The console's words for a refusal by a use case.
pub fn refusal(error: ServiceError) -> Refusal {
    api_refusal(ApiError::from(error))
}

/// The console's words for a refusal in the JSON API's terms: a command refused as the API's
/// own body types built it (the console builds the same commands the same way), or a use case's
/// refusal already mapped.
pub fn api_refusal(api: ApiError) -> Refusal {
    let field_of_name = match &api {
        ApiError::Validation(ValidationError::InvalidName { field, .. }) => Some(name_field(field)),
        _ => None,
    };
    let kind = api.problem_type();
    let problem = api.problem();
    use ProblemType as P;
    let error = match kind {
        P::SlotUnavailable => FieldError::page(
            "Someone else has just booked or is holding this slot. Choose one of the next free slots below.",
        ),
        P::SlotNotOffered => FieldError::page(
            "This slot is no longer offered to your practice. Choose one of the next free slots below.",
        ),
        P::SlotInPast => FieldError::page(
            "This slot has already started. Choose one of the next free slots below.",
        ),
        P::HoldExpired => FieldError::at(
            "keep",
            "The hold on this slot ran out before you booked. Select \u{201c}Keep holding\u{201d} to hold it again, then book.",
        ),
        P::DuplicateBooking => FieldError::page(
            "The patient already has an appointment for this service that day. Choose a slot on another day, or cancel the other appointment first.",
        ),
        P::InvalidNhsNumber => FieldError::at(
            "nhs_number",
            "Enter a valid NHS number: 10 digits whose last digit checks the others",
        ),
        P::InvalidBirthDate => FieldError::at(
            "birth_date",
            "Date of birth must be a real date, today or in the past, and not over 130 years ago",
        ),
        P::InvalidPhone => FieldError::at(
            "phone",
            "Enter a phone number of 7 to 15 digits, like 0113 496 0000",
        ),
        P::InvalidEmail => FieldError::at(
            "email",
            "Enter an email address in the correct format, like name@example.com",
        ),
        P::InvalidRequester => FieldError::at(
            "requester_ods",
            "Enter the requesting organisation's ODS code: 3 to 10 letters and digits",
        ),
        P::InvalidName => FieldError::at(field_of_name.unwrap_or("name"), problem.detail),
        P::InvalidOdsCode => FieldError::at(
            "ods_code",
            "Enter the practice's ODS code: one letter followed by five digits, like B82005",
        ),
        P::InvalidListSize => FieldError::at(
            "list_size",
            "Enter the list size: the number of registered patients, above 0",
        ),
        P::InvalidPostcode => FieldError::at(
            "postcode",
            "Enter a full UK postcode, like LS1 4AP",
        ),
        P::InvalidCoordinates => FieldError::at(
            "latitude",
            "Enter the latitude (49 to 61) and longitude (-11 to 2) together: a place in the British Isles, like 53.8 and -1.55",
        ),
        P::UnknownSiteKind => FieldError::at("kind", "Choose whether the site is a hub or a surgery"),
        P::InvalidServiceCode => FieldError::at(
            "code",
            "Enter a service code of 1 to 32 lower-case letters, digits or hyphens, like gp-evening",
        ),
        P::UnknownClinicalRole => FieldError::at(
            "clinical_role",
            "Choose the clinical role who delivers the service",
        ),
        P::UnknownRole => FieldError::at(
            "role",
            "Choose whether the user is a receptionist or a member of hub staff",
        ),
        P::InvalidRole => FieldError::at("role", capitalised(&problem.detail)),
        P::InvalidUsername => FieldError::at(
            "username",
            "Enter a username of 3 to 64 letters, digits, dots, hyphens or underscores, like jo.bloggs",
        ),
        P::WeakPassword => FieldError::at(
            "password",
            format!(
                "Enter a password of at least {} characters",
                hubbook_service::users::MIN_PASSWORD_LEN
            ),
        ),
        P::InvalidClientId => FieldError::at(
            "client_id",
            "Enter a client id of 3 to 64 letters, digits, dots, hyphens or underscores, or leave it empty",
        ),
        P::InvalidChangeover => FieldError::at("changeover", capitalised(&problem.detail)),
        P::InvalidCredentials => FieldError::at(
            "username",
            format!(
                "The username or password is not right. Check both and try again: after {} wrong passwords in a row you must wait a while before each further try. If you have forgotten your password, ask your cluster manager to set a new one.",
                hubbook_core::throttle::USER_LIMIT.free_failures,
            ),
        ),
        P::SignInThrottled => FieldError::at(
            "username",
            "There have been too many wrong passwords lately. Wait a few minutes, then try again; or ask your cluster manager to set a new password, which ends the wait at once.",
        ),
        P::NotFound => FieldError::page(
            "There is nothing here that you may see. It may have been cancelled, or belong to another practice.",
        ),
        P::Forbidden => FieldError::page(format!("You cannot do this in your role: {}.", problem.detail)),
        P::InvalidDateRange => FieldError::at(
            "to",
            format!(
                "The last day must be the same as or after the first day, and a report covers at most {} days",
                hubbook_service::reports::MAX_REPORT_DAYS
            ),
        ),
        P::InvalidGroupBy => FieldError::at(
            "group_by",
            "Choose how to group the report from the list",
        ),
        P::UnknownReport => FieldError::page(
            "There is no report of that name. Choose one of the reports below.",
        ),
        P::ServiceBusy => FieldError::page("hubbook is busy for a moment. Wait a few seconds and try again."),
        P::InternalError => {
            tracing::error!(instance = %problem.instance, detail = %api, "console request failed");
            FieldError::page(
                "Something went wrong on our side. Try again; if it happens again, tell your system administrator.",
            )
        }
        _ => FieldError::page(problem.detail),
    };
    Refusal {
        kind,
        status: kind.status(),
        error,
    }
}

/// `s` with its first letter a capital, as a message of the error summary starts.
pub fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_what_to_do_and_link_their_field() {
        let r = refusal(ValidationError::InvalidPhone.into());
        assert_eq!(r.kind, ProblemType::InvalidPhone);
        assert_eq!(r.error.field.as_deref(), Some("phone"));
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = refusal(hubbook_core::Refusal::SlotUnavailable.into());
        assert!(r.slot_gone());
        assert_eq!(r.status, StatusCode::CONFLICT);
        let r = refusal(ServiceError::InvalidCredentials);
        assert!(r.error.message.contains("try again"));
        let r = refusal(ServiceError::Internal("secret detail".into()));
        assert!(!r.error.message.contains("secret detail"));
    }

    #[test]
    fn reference_data_refusals_link_the_set_up_forms_fields() {
        for (error, field) in [
            (ValidationError::InvalidOdsCode, "ods_code"),
            (ValidationError::InvalidPostcode("X".into()), "postcode"),
            (ValidationError::InvalidListSize, "list_size"),
            (ValidationError::InvalidCoordinates, "latitude"),
            (ValidationError::InvalidServiceCode, "code"),
            (
                ValidationError::UnknownClinicalRole("x".into()),
                "clinical_role",
            ),
            (ValidationError::UnknownSiteKind("x".into()), "kind"),
            (
                ValidationError::InvalidName {
                    field: "address",
                    max: 500,
                },
                "address",
            ),
        ] {
            let r = api_refusal(ApiError::Validation(error));
            assert_eq!(r.error.field.as_deref(), Some(field));
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        let r = refusal(ServiceError::HalfCoordinates);
        assert_eq!(r.error.field.as_deref(), Some("latitude"));
        let r = refusal(ServiceError::WeakPassword);
        assert_eq!(r.error.field.as_deref(), Some("password"));
        let r = refusal(ServiceError::InvalidRole("not admin".into()));
        assert_eq!(
            (r.error.field.as_deref(), r.error.message.as_str()),
            (Some("role"), "Not admin")
        );
    }
}
