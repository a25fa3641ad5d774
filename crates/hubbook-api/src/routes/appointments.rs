//! Holds and appointments for receptionists: hold a slot while the patient confirms, book it
//! (idempotently), read and cancel. Booking checks the slot is still offered, free and in the
//! future; the database refuses a second live appointment in a slot whatever the concurrency.

use super::schema;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use hubbook_core::appointment::Outcome;
use hubbook_core::patient::{Patient, Requester};
use hubbook_core::{validate_optional_name, NhsNumber};
use hubbook_service::appointments;
use hubbook_service::booking::BookAppointment;
use hubbook_store::models::{Appointment, TriageBooking};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{if_match_optional, PageOf, PageQuery};
use crate::fhir;
use crate::idempotency::Replay;
use crate::ProblemType;
use crate::{auth::Principal, ApiError, AppState};

crate::problems!(HoldProblems: Forbidden, NotFound, SlotUnavailable, SlotNotOffered, SlotInPast);
crate::problems!(ReleaseProblems: Forbidden, NotFound);
crate::problems!(
    BookProblems: IdempotencyKeyRequired,
    InvalidIdempotencyKey,
    Forbidden,
    NotFound,
    SlotUnavailable,
    SlotNotOffered,
    HoldExpired,
    DuplicateBooking,
    SlotsNotAdjacent,
    IdempotencyKeyReused,
    SlotInPast,
    PracticeNotInCluster,
    InvalidOdsCode,
    InvalidNhsNumber,
    InvalidName,
    InvalidBirthDate,
    InvalidPhone,
    InvalidEmail,
    InvalidRequester,
);
crate::problems!(ReadProblems: Forbidden, NotFound);
crate::problems!(CancelProblems: Forbidden, NotFound, InvalidTransition, PreconditionFailed, InvalidName);
crate::problems!(
    RescheduleProblems: Forbidden,
    NotFound,
    SlotUnavailable,
    SlotNotOffered,
    HoldExpired,
    DuplicateBooking,
    InvalidTransition,
    PreconditionFailed,
    SlotInPast,
);
crate::problems!(OutcomeProblems: Forbidden, NotFound, InvalidTransition, SlotUnavailable, PreconditionFailed);
crate::problems!(NotesProblems: Forbidden, NotFound, PreconditionRequired, PreconditionFailed, InvalidName);
crate::problems!(ListProblems: Forbidden, InvalidCursor, InvalidNhsNumber, InvalidOdsCode, PracticeNotInCluster);
crate::problems!(DayListProblems: Forbidden, NotFound, InvalidDateRange);

/// A hold on a slot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HoldView {
    /// The hold, to book with or to let go.
    pub hold_id: String,
    /// The held slot.
    pub slot_id: String,
    /// When it stops keeping the slot for you.
    pub expires_at: DateTime<Utc>,
}

/// Hold a slot while the patient confirms (two minutes unless configured). A live hold keeps
/// every other booker out; an expired one keeps nobody out. Holding again extends your hold.
#[utoipa::path(
    tag = "booking",
    params(("id" = String, Path, description = "Slot id")),
    responses((status = 201, body = HoldView), HoldProblems),
    security(("bearer" = []))
)]
#[post("/slots/{id}/hold")]
pub async fn hold_slot(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hold = state.hubbook.hold_slot(&who, id.into_inner()).await?;
    Ok(HttpResponse::Created().json(HoldView {
        hold_id: hold.id.into(),
        slot_id: hold.slot_id.into(),
        expires_at: hold.expires_at.and_utc(),
    }))
}

/// Let a hold go (only its holder may).
#[utoipa::path(tag = "booking", params(("id" = String, Path, description = "Hold id")), responses((status = 204, description = "Released"), ReleaseProblems), security(("bearer" = [])))]
#[delete("/holds/{id}")]
pub async fn release_hold(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.hubbook.release_hold(&who, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The patient being booked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientBody {
    /// NHS number: ten digits, spaces allowed (`943 476 5919`); checked by its modulus-11 digit.
    #[schema(value_type = Option<schema::NhsNumber>)]
    pub nhs_number: Option<String>,
    /// Full name.
    #[schema(value_type = schema::Name)]
    pub name: String,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// A phone number to reach the patient.
    #[schema(value_type = schema::Phone)]
    pub phone: String,
    /// An email address.
    #[schema(value_type = Option<schema::Email>)]
    pub email: Option<String>,
    /// Reasonable adjustments (access needs, interpreter...).
    #[schema(value_type = Option<schema::Adjustments>)]
    pub adjustments: Option<String>,
}

/// Who asked for the appointment, when it is not the patient's practice (e.g. a hospital asking
/// for bloods); returned in every read and report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequesterBody {
    /// The requesting organisation's ODS code (3 to 10 letters and digits).
    #[schema(value_type = schema::RequesterCode)]
    pub ods: String,
    /// Its reference for the request.
    #[schema(value_type = Option<schema::RequesterReference>)]
    pub reference: Option<String>,
}

/// A booking. Send an `Idempotency-Key` (required): a retry returns the same appointment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "slot_id": "01a2320f-ebb4-77d9-8742-5a5ff497dc39",
    "patient": {
        "nhs_number": "999 000 0018",
        "name": "Ada Example",
        "birth_date": "1950-01-01",
        "phone": "0113 496 0000"
    },
    "reason": "Blood pressure review"
}))]
pub struct BookingBody {
    /// The slot (from `GET /api/v1/slots`).
    pub slot_id: String,
    /// Your hold on it, if you took one.
    pub hold_id: Option<String>,
    /// The patient.
    pub patient: PatientBody,
    /// The patient's registered practice (ODS code); yours when absent.
    #[schema(value_type = Option<schema::OdsCode>)]
    pub registered_practice: Option<String>,
    /// Why the patient is being seen.
    #[schema(value_type = Option<schema::FreeText>)]
    pub reason: Option<String>,
    /// A requesting organisation and its reference.
    pub requester: Option<RequesterBody>,
    /// A cluster manager may book a second appointment for the same service on the same day.
    #[serde(default)]
    pub allow_same_day: bool,
    /// A cluster manager books on behalf of this practice (ODS code); receptionists leave it out.
    #[schema(value_type = Option<schema::OdsCode>)]
    pub on_behalf_of: Option<String>,
    /// Further slots booked with `slot_id` as one appointment (a longer consultation), in time
    /// order: each starts when the one before ends, in the same session, service and delivery
    /// channel (else `slots-not-adjacent`, and nothing is booked). The appointment then ends
    /// when the last one does.
    #[serde(default)]
    pub further_slot_ids: Vec<String>,
}

/// What a 111 booking was triaged for.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TriageView {
    /// The disposition code.
    pub disposition: String,
    /// When the patient was triaged.
    pub triaged_at: DateTime<Utc>,
    /// When the disposition's timeframe ends.
    pub due_by: DateTime<Utc>,
    /// The triage service's case reference.
    pub case_reference: Option<String>,
}

impl From<TriageBooking> for TriageView {
    fn from(t: TriageBooking) -> Self {
        Self {
            disposition: t.disposition_code,
            triaged_at: t.triaged_at.and_utc(),
            due_by: t.due_by.and_utc(),
            case_reference: t.case_reference,
        }
    }
}

/// An appointment, with what was true when it was booked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppointmentView {
    /// Id.
    pub id: String,
    /// `booked`, `cancelled`, `arrived`, `seen` or `did_not_attend`.
    pub status: String,
    /// The slot.
    pub slot_id: String,
    /// Its session.
    pub session_id: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Site at booking time.
    pub site_id: String,
    /// Service at booking time.
    pub service_id: String,
    /// Clinical role at booking time.
    pub clinical_role: String,
    /// Delivery channel at booking time.
    pub delivery: String,
    /// How it was booked: `practice` (from the practice's reservation), `open` or `111`.
    pub channel: String,
    /// Who booked it (`user:<id>` or `client:<id>`).
    pub booked_by: String,
    /// The practice that booked it.
    pub booking_practice_id: Option<String>,
    /// The patient's registered practice.
    pub registered_practice_id: Option<String>,
    /// The patient.
    pub patient: PatientBody,
    /// Why the patient is being seen.
    pub reason: Option<String>,
    /// The requesting organisation, if any.
    pub requester: Option<RequesterBody>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When its outcome (arrived, seen, did not attend) was recorded.
    pub outcome_at: Option<DateTime<Utc>>,
    /// Notes for the clinician.
    pub notes: Option<String>,
    /// For a 111 booking, what the patient was triaged for (in single reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triage: Option<TriageView>,
    /// Current version; also the ETag.
    pub version: i64,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
}

impl From<Appointment> for AppointmentView {
    fn from(a: Appointment) -> Self {
        Self {
            requester: a.requester_ods.map(|ods| RequesterBody {
                ods,
                reference: a.requester_reference,
            }),
            patient: PatientBody {
                nhs_number: a.nhs_number,
                name: a.patient_name,
                birth_date: a.patient_birth_date,
                phone: a.patient_phone,
                email: a.patient_email,
                adjustments: a.adjustments,
            },
            id: a.id.into(),
            status: a.status.into(),
            slot_id: a.slot_id.into(),
            session_id: a.session_id,
            starts_at: a.starts_at.and_utc(),
            ends_at: a.ends_at.and_utc(),
            site_id: a.site_id.into(),
            service_id: a.service_id,
            clinical_role: a.clinical_role.into(),
            delivery: a.delivery.into(),
            channel: a.channel.into(),
            booked_by: a.booked_by,
            booking_practice_id: a.booking_practice_id.map(Into::into),
            registered_practice_id: a.registered_practice_id.map(Into::into),
            reason: a.reason,
            cancel_reason: a.cancel_reason,
            cancelled_at: a.cancelled_at.map(|t| t.and_utc()),
            outcome_at: a.outcome_at.map(|t| t.and_utc()),
            notes: a.notes,
            triage: None,
            version: a.version,
            created_at: a.created_at.and_utc(),
        }
    }
}

impl TryFrom<&PatientBody> for Patient {
    type Error = ApiError;
    fn try_from(p: &PatientBody) -> Result<Self, ApiError> {
        Ok(Patient::parse(
            p.nhs_number.as_deref(),
            &p.name,
            p.birth_date,
            &p.phone,
            p.email.as_deref(),
            p.adjustments.as_deref(),
        )?)
    }
}

impl TryFrom<BookingBody> for BookAppointment {
    type Error = ApiError;
    fn try_from(body: BookingBody) -> Result<Self, ApiError> {
        Ok(BookAppointment {
            patient: Patient::try_from(&body.patient)?,
            requester: body
                .requester
                .as_ref()
                .map(|r| Requester::parse(&r.ods, r.reference.as_deref()))
                .transpose()?,
            reason: validate_optional_name(
                "reason",
                body.reason.as_deref(),
                hubbook_core::MAX_TEXT_CHARS,
            )?,
            slot_id: body.slot_id,
            hold_id: body.hold_id,
            registered_practice: body.registered_practice,
            allow_same_day: body.allow_same_day,
            on_behalf_of: body.on_behalf_of,
            notes: None,
            requester_contact: None,
            triage_without_disposition: false,
            as_seen: None,
            further_slots: body.further_slot_ids,
        })
    }
}

/// Book a slot for a patient (a receptionist). The slot must be offered to your practice now,
/// free (or held by you) and in the future. `Idempotency-Key` is required: a retry with the same
/// key and body returns the same appointment; the same key with another body is refused.
#[utoipa::path(
    tag = "booking",
    params(("Idempotency-Key" = String, Header, description = "Required; retry-safe key, e.g. a UUID")),
    request_body = BookingBody,
    responses((status = 201, body = AppointmentView), BookProblems),
    security(("bearer" = []))
)]
#[post("/appointments")]
pub async fn book(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    body: crate::extract::Json<BookingBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Appointment(
        hubbook_core::access::Action::BookForPractice,
    ))?;
    let body = body.into_inner()?;
    let Some(replay) = Replay::from_request(&state, &req, &who, "POST /appointments", &body)?
    else {
        return Err(ApiError::Refused(
            ProblemType::IdempotencyKeyRequired,
            "a booking needs an Idempotency-Key header, e.g. a UUID".into(),
        ));
    };
    let command = BookAppointment::try_from(body)?;
    let a = state.hubbook.book(&who, Some(replay.0), command).await?;
    Ok(HttpResponse::Created()
        .insert_header(crate::extract::etag(a.version))
        .json(AppointmentView::from(a)))
}

/// Read one appointment: a receptionist its practice's patients' (another practice's booking of
/// them only under agreements in force), hub staff those at the hubs, managers their cluster's,
/// a triage service what it booked; otherwise `not-found`. With `Accept: application/fhir+json`
/// the answer is a FHIR R4 `Appointment` resource (patient by NHS number, location, practitioner
/// role, slot reference, status mapped) for a 111 system's FHIR layer to read as is.
#[utoipa::path(
    tag = "booking",
    params(("id" = String, Path, description = "Appointment id"), ("Accept" = Option<String>, Header, description = "`application/fhir+json` for a FHIR R4 Appointment")),
    responses(
        (status = 200, headers(("ETag" = String)), content(
            (AppointmentView = "application/json"),
            (serde_json::Value = "application/fhir+json"),
        )),
        ReadProblems,
    ),
    security(("bearer" = []))
)]
#[get("/appointments/{id}")]
pub async fn get_appointment(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let wants_fhir = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(fhir::FHIR_JSON));
    let detail = state
        .hubbook
        .appointment(&who, id.into_inner(), wants_fhir)
        .await?;
    let mut response = HttpResponse::Ok();
    response.insert_header(crate::extract::etag(detail.appointment.version));
    response.insert_header((actix_web::http::header::VARY, "Accept"));
    if let Some((site, service, session)) = &detail.place {
        let a = &detail.appointment;
        let body = fhir::appointment(&fhir::AppointmentFacts {
            id: &a.id,
            version: a.version,
            status: a.status,
            starts_at: a.starts_at.and_utc(),
            ends_at: a.ends_at.and_utc(),
            created_at: a.created_at.and_utc(),
            slot_id: &a.slot_id,
            nhs_number: a.nhs_number.as_deref(),
            patient_name: &a.patient_name,
            site_id: &site.id,
            site_name: &site.name,
            service_code: &service.code,
            service_name: &service.name,
            clinical_role: a.clinical_role.as_str(),
            session_id: &a.session_id,
            clinician: session.clinician.as_deref(),
            delivery: a.delivery.as_str(),
            channel: a.channel.as_str(),
            reason: a.reason.as_deref(),
            cancel_reason: a.cancel_reason.as_deref(),
        });
        return Ok(response
            .content_type(fhir::FHIR_JSON)
            .body(body.to_string()));
    }
    let mut view = AppointmentView::from(detail.appointment);
    view.triage = detail.triage.map(TriageView::from);
    Ok(response.json(view))
}

/// A cancellation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// Why (shown in reads and reports).
    #[schema(value_type = schema::FreeText)]
    pub reason: String,
}

/// Cancel a booked appointment (its practice's receptionist, the triage service that booked it,
/// or the cluster's manager). The slot is free again at once. Send `If-Match` with the ETag read.
#[utoipa::path(
    tag = "booking",
    params(("id" = String, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = CancelBody,
    responses((status = 200, body = AppointmentView), CancelProblems),
    security(("bearer" = []))
)]
#[post("/appointments/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: crate::extract::Json<CancelBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Appointment(
        hubbook_core::access::Action::Cancel,
    ))?;
    let body = body.into_inner()?;
    let expected = if_match_optional(&req);
    let a = state
        .hubbook
        .cancel(&who, id.into_inner(), expected, &body.reason)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(crate::extract::etag(a.version))
        .json(AppointmentView::from(a)))
}

/// Where to move an appointment.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleBody {
    /// The new slot.
    pub slot_id: String,
    /// Your hold on it, if you took one.
    pub hold_id: Option<String>,
}

/// Move a booked appointment to another slot, atomically: on any failure the patient keeps the
/// old one; on success the old one is cancelled and the new one returned (and an open rebooking
/// need is resolved). A receptionist of the booking practice, or the cluster's manager.
#[utoipa::path(
    tag = "booking",
    params(("id" = String, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = RescheduleBody,
    responses((status = 200, body = AppointmentView), RescheduleProblems),
    security(("bearer" = []))
)]
#[post("/appointments/{id}/reschedule")]
pub async fn reschedule(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: crate::extract::Json<RescheduleBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Appointment(
        hubbook_core::access::Action::Reschedule,
    ))?;
    let expected = if_match_optional(&req);
    let body = body.into_inner()?;
    let placed = state
        .hubbook
        .reschedule(&who, id.into_inner(), expected, body.slot_id, body.hold_id)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(crate::extract::etag(placed.version))
        .json(AppointmentView::from(placed)))
}

/// An attendance outcome to record.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeBody {
    /// The patient has arrived (from an hour before the start).
    Arrived,
    /// The patient has been seen (from the start).
    Seen,
    /// The patient did not attend (from the start); a manager may correct it.
    DidNotAttend,
}

/// An outcome.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    /// `arrived`, `seen` or `did_not_attend`.
    pub outcome: OutcomeBody,
}

/// Record arrived, seen or did-not-attend, with the time (hub staff of the cluster, the booking
/// practice's receptionist, or the manager, who alone may correct a did-not-attend).
#[utoipa::path(
    tag = "booking",
    params(("id" = String, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = OutcomeRequest,
    responses((status = 200, body = AppointmentView), OutcomeProblems),
    security(("bearer" = []))
)]
#[post("/appointments/{id}/outcome")]
pub async fn record_outcome(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: crate::extract::Json<OutcomeRequest>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Appointment(
        hubbook_core::access::Action::RecordOutcome,
    ))?;
    let body = body.into_inner()?;
    let expected = if_match_optional(&req);
    let outcome = match body.outcome {
        OutcomeBody::Arrived => Outcome::Arrived,
        OutcomeBody::Seen => Outcome::Seen,
        OutcomeBody::DidNotAttend => Outcome::DidNotAttend,
    };
    let a = state
        .hubbook
        .record_outcome(&who, id.into_inner(), expected, outcome)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(crate::extract::etag(a.version))
        .json(AppointmentView::from(a)))
}

/// New notes for the clinician.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotesBody {
    /// The notes (`null` clears them).
    #[schema(value_type = Option<schema::Notes>)]
    pub notes: Option<String>,
}

/// Amend an appointment's notes without touching the booking. Send `If-Match`.
#[utoipa::path(
    tag = "booking",
    params(("id" = String, Path, description = "Appointment id"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` for whatever is current)")),
    request_body = NotesBody,
    responses((status = 200, body = AppointmentView), NotesProblems),
    security(("bearer" = []))
)]
#[patch("/appointments/{id}")]
pub async fn amend_notes(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: crate::extract::Json<NotesBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Appointment(
        hubbook_core::access::Action::AmendNotes,
    ))?;
    let body = body.into_inner()?;
    let expected = crate::extract::if_match(&req)?;
    let a = state
        .hubbook
        .amend_notes(&who, id.into_inner(), expected, body.notes.as_deref())
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(crate::extract::etag(a.version))
        .json(AppointmentView::from(a)))
}

/// Filters for listing appointments.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AppointmentQuery {
    /// Starting at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Starting before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Only at this site (id).
    pub site: Option<String>,
    /// Only this practice's (ODS code; managers and hub staff).
    pub practice: Option<String>,
    /// `booked`, `cancelled`, `arrived`, `seen` or `did_not_attend`.
    pub status: Option<String>,
    /// Only this patient.
    pub nhs_number: Option<String>,
    /// Page size (1 to 500, default 50).
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// List appointments by start time: a receptionist its practice's, hub staff and managers their
/// cluster's, a triage service what it booked.
#[utoipa::path(tag = "booking", params(AppointmentQuery), responses((status = 200, body = PageOf<AppointmentView>), ListProblems), security(("bearer" = [])))]
#[get("/appointments")]
pub async fn list_appointments(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<AppointmentQuery>,
) -> Result<web::Json<PageOf<AppointmentView>>, ApiError> {
    who.may(hubbook_service::access::Rights::Appointment(
        hubbook_core::access::Action::ReadAppointments,
    ))?;
    let q = query.into_inner();
    let (after, limit) = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .decode()?;
    let query = appointments::AppointmentQuery {
        nhs_number: q.nhs_number.as_deref().map(NhsNumber::parse).transpose()?,
        from: q.from,
        to: q.to,
        site: q.site,
        practice: q.practice,
        status: q.status,
    };
    let page = state
        .hubbook
        .list_appointments(&who, query, after, limit)
        .await?;
    Ok(web::Json(PageOf::from_page(page, AppointmentView::from)))
}

/// The day list's date.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The local date.
    pub date: NaiveDate,
}

/// One site's appointments on a local date, in time order, every status included (hub staff and
/// the manager of its cluster).
#[utoipa::path(tag = "booking", params(("id" = String, Path, description = "Site id"), DayQuery), responses((status = 200, body = Vec<AppointmentView>), DayListProblems), security(("bearer" = [])))]
#[get("/sites/{id}/day-list")]
pub async fn day_list(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
    query: web::Query<DayQuery>,
) -> Result<web::Json<Vec<AppointmentView>>, ApiError> {
    let date = crate::extract::check_date("date", query.date)?;
    let list = state.hubbook.day_list(&who, id.into_inner(), date).await?;
    Ok(web::Json(
        list.into_iter().map(AppointmentView::from).collect(),
    ))
}
