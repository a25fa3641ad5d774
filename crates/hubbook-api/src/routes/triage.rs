//! The 111 triage endpoints: book the best fitting slot within a disposition's timeframe, or say
//! at once that there is none and where the next one is; and ask the same question without
//! booking. The rule that picks the slot is `hubbook_core::triage`.

use super::schema;
use actix_web::{get, http::header, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hubbook_core::patient::Patient;
use hubbook_core::validate_optional_name;
use hubbook_service::triage::{AvailabilityQuestion, Location, TriageBook};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::idempotency::Replay;
use crate::routes::appointments::{AppointmentView, PatientBody, TriageView};
use crate::routes::slots::SlotOffer;
use crate::ProblemType;
use crate::{auth::Principal, ApiError, AppState};

/// Where the patient is: a postcode, or coordinates.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationBody {
    /// The patient's postcode. hubbook knows where its own sites are, not every address: a
    /// postcode is placed at the site with that postcode, else at the middle of the sites in its
    /// district (`LS1`), else at the registered practice's site; send coordinates when you have them.
    #[schema(value_type = Option<schema::Postcode>)]
    pub postcode: Option<String>,
    /// Latitude (WGS84), with `longitude`.
    #[schema(value_type = Option<schema::Latitude>)]
    pub latitude: Option<f64>,
    /// Longitude (WGS84), with `latitude`.
    #[schema(value_type = Option<schema::Longitude>)]
    pub longitude: Option<f64>,
}

/// A triage booking. Send an `Idempotency-Key` (required): a retry returns the same appointment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageBookingBody {
    /// The disposition code (from `GET /api/v1/dispositions`), e.g. `Dx05`.
    #[schema(value_type = schema::DispositionCode)]
    pub disposition: String,
    /// When the patient was triaged; the timeframe runs from here.
    pub triaged_at: DateTime<Utc>,
    /// The patient: name, date of birth and phone always; NHS number when known (a temporary
    /// resident may have none to hand).
    pub patient: PatientBody,
    /// The patient's registered practice (ODS code); the booking is made in its cluster. Absent
    /// for a patient registered elsewhere: any of your clusters (or `cluster`) is searched.
    pub registered_practice: Option<String>,
    /// Only this cluster (code), when you serve several.
    pub cluster: Option<String>,
    /// Where the patient is: the nearest fitting slot wins.
    pub location: LocationBody,
    /// Book this slot (from `GET /api/v1/slots`) rather than letting hubbook choose.
    pub slot_id: Option<String>,
    /// Your hold (from `POST /api/v1/slots/{id}/hold`): book its slot.
    pub hold_id: Option<String>,
    /// Why the patient is being seen, for the clinician.
    #[schema(value_type = Option<schema::FreeText>)]
    pub reason: Option<String>,
    /// Your own case reference, returned in every read.
    #[schema(value_type = Option<schema::Reference>)]
    pub case_reference: Option<String>,
}

crate::problems!(
    TriageBookProblems: IdempotencyKeyRequired,
    InvalidIdempotencyKey,
    Forbidden,
    NotFound,
    IdempotencyKeyReused,
    SlotInPast,
    UnknownDisposition,
    TimeframePassed,
    TriageTimeInFuture,
    PracticeNotInCluster,
    InvalidOdsCode,
    SlotNotFitting,
    UnknownLocation,
    InvalidLocation,
    InvalidPostcode,
    InvalidCoordinates,
    InvalidNhsNumber,
    InvalidName,
    InvalidBirthDate,
    InvalidPhone,
    InvalidEmail,
);
crate::problems!(
    AvailabilityProblems: Forbidden,
    NotFound,
    UnknownDisposition,
    TimeframePassed,
    TriageTimeInFuture,
    PracticeNotInCluster,
    InvalidOdsCode,
    UnknownLocation,
    InvalidLocation,
    InvalidPostcode,
    InvalidCoordinates,
);

/// A booked 111 appointment, with where to send the patient.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TriageBookingView {
    /// The appointment (channel `111`, booked by your client).
    pub appointment: AppointmentView,
    /// The slot as offered: its site (name, address, postcode), service and distance.
    pub slot: SlotOffer,
    /// What it was triaged for.
    pub triage: TriageView,
}

/// A `no-capacity` problem: nothing fits within the timeframe now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NoCapacityProblem {
    /// `no-capacity`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `No capacity`.
    pub title: String,
    /// 409.
    pub status: u16,
    /// What was looked for.
    pub detail: String,
    /// The earliest fitting slot after the timeframe (within 14 days), or `null`, so that the
    /// caller can route the patient elsewhere at once or offer this time.
    pub next_slot: Option<SlotOffer>,
}

/// Whether a disposition could be booked now.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    /// Only this cluster (code); all of yours when absent.
    pub cluster: Option<String>,
    /// The disposition code.
    #[param(value_type = schema::DispositionCode, inline)]
    pub disposition: String,
    /// Where the patient is: a postcode (`LS1 4AP`) or `latitude,longitude` (`53.80,-1.55`).
    pub near: Option<String>,
    /// The patient's registered practice (ODS code): search its cluster only.
    pub registered_practice: Option<String>,
    /// When the patient was triaged; now when absent.
    pub triaged_at: Option<DateTime<Utc>>,
}

/// The answer to an availability question.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Availability {
    /// The disposition asked about.
    pub disposition: String,
    /// When its timeframe ends.
    pub due_by: DateTime<Utc>,
    /// Whether a booking made now would succeed.
    pub bookable: bool,
    /// The slot a booking made now would take (nearest, then earliest).
    pub best: Option<SlotOffer>,
    /// The earliest fitting start within the timeframe, wherever it is.
    pub earliest_start: Option<DateTime<Utc>>,
    /// How many fitting slots there are (counted up to 1,000).
    pub fitting_slots: usize,
    /// When nothing fits: the earliest fitting slot after the timeframe, within 14 days.
    pub next_slot: Option<SlotOffer>,
}

/// Book a 111 patient into the best slot that fits the disposition: open to 111, starting
/// within the timeframe, of a fitting delivery and service; the nearest to the patient, then the
/// earliest (a service booking in more than 16 clusters is searched in the 16 with a site nearest
/// the patient). Or book the slot (or hold) you chose, if it fits. Answers the appointment (201), or
/// `no-capacity` (409) naming the earliest later slot and its site so you can route elsewhere at
/// once. `Idempotency-Key` is required: a retry with the same key books once.
#[utoipa::path(
    tag = "triage",
    params(("Idempotency-Key" = String, Header, description = "Required; retry-safe key, e.g. the 111 case id")),
    request_body = TriageBookingBody,
    responses(
        (status = 201, body = TriageBookingView),
        (status = 409, description = "`no-capacity`: nothing fits the disposition within its timeframe now; this shape, with `next_slot`, the earliest later slot (within 14 days) so you can route the patient at once or offer that time. Otherwise a plain problem: `slot-unavailable` (the chosen slot was taken), `slot-not-offered` (the chosen slot is not open to 111 now), `hold-expired` (the hold is unknown, someone else's or expired), `duplicate-booking` (the patient already has this service that day)", body = NoCapacityProblem, content_type = "application/problem+json"),
        TriageBookProblems,
    ),
    security(("bearer" = []))
)]
#[post("/triage/bookings")]
pub async fn book(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    body: crate::extract::Json<TriageBookingBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Triage)?;
    let body = body.into_inner()?;
    let replay = Replay::from_request(&state, &req, &who, "POST /triage/bookings", &body)?;
    let Some(replay) = replay else {
        return Err(ApiError::Refused(
            ProblemType::IdempotencyKeyRequired,
            "a triage booking needs an Idempotency-Key header, e.g. the 111 case id".into(),
        ));
    };
    let request = TriageBook::try_from(body)?;
    let booked = state
        .hubbook
        .triage_book(&who, Some(replay.0), request)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(crate::extract::etag(booked.appointment.version))
        .json(TriageBookingView {
            appointment: AppointmentView::from(booked.appointment),
            slot: SlotOffer::from(booked.offer),
            triage: TriageView::from(booked.triage),
        }))
}

impl From<LocationBody> for Location {
    fn from(l: LocationBody) -> Self {
        Location {
            postcode: l.postcode,
            latitude: l.latitude,
            longitude: l.longitude,
        }
    }
}

impl TryFrom<TriageBookingBody> for TriageBook {
    type Error = ApiError;
    fn try_from(body: TriageBookingBody) -> Result<Self, ApiError> {
        Ok(TriageBook {
            patient: Patient::try_from(&body.patient)?,
            reason: validate_optional_name(
                "reason",
                body.reason.as_deref(),
                hubbook_core::MAX_TEXT_CHARS,
            )?,
            case_reference: validate_optional_name(
                "case_reference",
                body.case_reference.as_deref(),
                hubbook_core::MAX_REFERENCE_CHARS,
            )?,
            disposition: body.disposition,
            triaged_at: body.triaged_at,
            registered_practice: body.registered_practice,
            cluster: body.cluster,
            location: Location::from(body.location),
            slot_id: body.slot_id,
            hold_id: body.hold_id,
        })
    }
}

/// Could a patient with this disposition be booked now, and where? Answers what a booking made
/// now would take (`best`), the earliest fitting start, and, when nothing fits, the earliest
/// slot after the timeframe. Nothing is held or booked; cheap enough to call on every triage.
#[utoipa::path(
    tag = "triage",
    params(AvailabilityQuery),
    responses(
        (status = 200, body = Availability),
        AvailabilityProblems,
    ),
    security(("bearer" = []))
)]
#[get("/triage/availability")]
pub async fn availability(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<AvailabilityQuery>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Triage)?;
    let q = query.into_inner();
    let location = match q.near.as_deref().map(str::trim) {
        None | Some("") => Location::default(),
        Some(near) => match near.split_once(',') {
            Some((lat, lon)) => Location {
                postcode: None,
                latitude: Some(lat.trim().parse().map_err(|_| bad_near())?),
                longitude: Some(lon.trim().parse().map_err(|_| bad_near())?),
            },
            None => Location {
                postcode: Some(near.to_owned()),
                ..Location::default()
            },
        },
    };
    let question = AvailabilityQuestion {
        cluster: q.cluster,
        disposition: q.disposition,
        location,
        registered_practice: q.registered_practice,
        triaged_at: q.triaged_at,
    };
    let answer = state.hubbook.triage_availability(&who, question).await?;
    let earliest_start = answer
        .fitting
        .iter()
        .map(|o| o.slot.starts_at.and_utc())
        .min();
    let fitting_slots = answer.fitting.len();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Availability {
            disposition: answer.disposition,
            due_by: answer.due_by,
            bookable: fitting_slots > 0,
            fitting_slots,
            best: answer.fitting.into_iter().next().map(SlotOffer::from),
            earliest_start,
            next_slot: answer.next_slot.map(SlotOffer::from),
        }))
}

fn bad_near() -> ApiError {
    ApiError::InvalidQuery("`near` is a postcode or `latitude,longitude`".into())
}
