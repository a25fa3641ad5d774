//! Holds and appointments for receptionists: hold a slot while the patient confirms, book it
//! (idempotently), read and cancel. Booking checks the slot is still offered, free and in the
//! future; the database refuses a second live appointment in a slot whatever the concurrency.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use hubbook_core::{validate_name, ClusterTimeZone, NhsNumber, OdsCode, Role};
use hubbook_store::models::Appointment;
use hubbook_store::repo::appointments::AppointmentFilter;
use hubbook_store::repo::booking::{self, NewBooking};
use hubbook_store::repo::{appointments, clusters, practices, sharing};
use hubbook_store::{DbConn, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::found;
use crate::extract::{idempotency_key, if_match_optional, PageOf, PageQuery};
use crate::fhir;
use crate::idempotency::{self, Replay};
use crate::routes::slots::searcher_for;
use crate::{auth::Principal, ApiError, AppState};

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
    responses(
        (status = 201, body = HoldView),
        (status = 404, description = "No such slot that you may book in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`slot-unavailable` (booked or held by someone else) or `slot-not-offered`", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`slot-in-past`", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/slots/{id}/hold")]
pub async fn hold_slot(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let change = state.change(&who);
    let ttl = state.hold_ttl;
    let hold = state
        .db(move |c| {
            let (cluster_ids, searcher) = searcher_for(c, &who, now, None)?;
            let slot = found(sharing::find_slot(c, &cluster_ids, &id), "slot")?;
            Ok(booking::hold_slot(
                c,
                &change,
                &slot.cluster_id,
                &slot.id,
                &searcher,
                ttl,
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(HoldView {
        hold_id: hold.id,
        slot_id: hold.slot_id,
        expires_at: hold.expires_at.and_utc(),
    }))
}

/// Let a hold go (only its holder may).
#[utoipa::path(tag = "booking", params(("id" = String, Path, description = "Hold id")), responses((status = 204, description = "Released"), (status = 404, body = crate::Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
#[delete("/holds/{id}")]
pub async fn release_hold(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let change = state.change(&who);
    state
        .db(move |c| found(booking::release_hold(c, &change, &id), "hold"))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The patient being booked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientBody {
    /// NHS number: ten digits, spaces allowed (`943 476 5919`); checked by its modulus-11 digit.
    pub nhs_number: Option<String>,
    /// Full name.
    pub name: String,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// A phone number to reach the patient.
    pub phone: String,
    /// An email address.
    pub email: Option<String>,
    /// Reasonable adjustments (access needs, interpreter...).
    pub adjustments: Option<String>,
}

/// Who asked for the appointment, when it is not the patient's practice (e.g. a hospital asking
/// for bloods); returned in every read and report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequesterBody {
    /// The requesting organisation's ODS code (3 to 10 letters and digits).
    pub ods: String,
    /// Its reference for the request.
    pub reference: Option<String>,
}

/// A booking. Send an `Idempotency-Key` (required): a retry returns the same appointment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingBody {
    /// The slot (from `GET /api/v1/slots`).
    pub slot_id: String,
    /// Your hold on it, if you took one.
    pub hold_id: Option<String>,
    /// The patient.
    pub patient: PatientBody,
    /// The patient's registered practice (ODS code); yours when absent.
    pub registered_practice: Option<String>,
    /// Why the patient is being seen.
    pub reason: Option<String>,
    /// A requesting organisation and its reference.
    pub requester: Option<RequesterBody>,
    /// A cluster manager may book a second appointment for the same service on the same day.
    #[serde(default)]
    pub allow_same_day: bool,
    /// A cluster manager books on behalf of this practice (ODS code); receptionists leave it out.
    pub on_behalf_of: Option<String>,
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
    pub triage: Option<crate::routes::triage::TriageView>,
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
            id: a.id,
            status: a.status,
            slot_id: a.slot_id,
            session_id: a.session_id,
            starts_at: a.starts_at.and_utc(),
            ends_at: a.ends_at.and_utc(),
            site_id: a.site_id,
            service_id: a.service_id,
            clinical_role: a.clinical_role,
            delivery: a.delivery,
            channel: a.channel,
            booked_by: a.booked_by,
            booking_practice_id: a.booking_practice_id,
            registered_practice_id: a.registered_practice_id,
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

pub(crate) fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    value
        .map(|v| validate_name(field, v, max))
        .transpose()
        .map_err(ApiError::from)
}

/// Checks the patient's details: NHS number, name, a plausible birth date, phone and email.
pub(crate) fn check_patient(p: &PatientBody, today: NaiveDate) -> Result<PatientBody, ApiError> {
    let nhs_number = p
        .nhs_number
        .as_deref()
        .map(NhsNumber::parse)
        .transpose()?
        .map(|n| n.as_str().to_owned());
    if p.birth_date > today || today.years_since(p.birth_date).is_none_or(|y| y > 130) {
        return Err(ApiError::Unprocessable(
            "invalid-birth-date",
            "the date of birth is in the future or over 130 years ago".into(),
        ));
    }
    let phone = p.phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if !(7..=15).contains(&digits)
        || !phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +()-".contains(c))
    {
        return Err(ApiError::Unprocessable(
            "invalid-phone",
            "a phone number is 7 to 15 digits, with spaces, +, ( ) or - between them".into(),
        ));
    }
    let email = optional_text("email", p.email.as_deref(), 254)?;
    if email
        .as_deref()
        .is_some_and(|e| !e.contains('@') || e.contains(char::is_whitespace))
    {
        return Err(ApiError::Unprocessable(
            "invalid-email",
            "an email address has one @ and no spaces".into(),
        ));
    }
    Ok(PatientBody {
        nhs_number,
        name: validate_name("patient.name", &p.name, 200)?,
        birth_date: p.birth_date,
        phone: phone.to_owned(),
        email,
        adjustments: optional_text("patient.adjustments", p.adjustments.as_deref(), 1000)?,
    })
}

/// Book a slot for a patient (a receptionist). The slot must be offered to your practice now,
/// free (or held by you) and in the future. `Idempotency-Key` is required: a retry with the same
/// key and body returns the same appointment; the same key with another body is refused.
#[utoipa::path(
    tag = "booking",
    params(("Idempotency-Key" = String, Header, description = "Required; retry-safe key, e.g. a UUID")),
    request_body = BookingBody,
    responses(
        (status = 201, body = AppointmentView),
        (status = 400, description = "`idempotency-key-required`", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such slot that you may book in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`slot-unavailable`, `slot-not-offered`, `hold-expired` or `duplicate-booking`", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-nhs-number`, `invalid-phone`, `slot-in-past`, `practice-not-in-cluster`...", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/appointments")]
pub async fn book(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    body: web::Json<BookingBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if idempotency_key(&req)?.is_none() {
        return Err(ApiError::InvalidHeader(
            "idempotency-key-required",
            "a booking needs an Idempotency-Key header, e.g. a UUID".into(),
        ));
    }
    match (who.role, &body.on_behalf_of) {
        (Role::Receptionist, None) if !body.allow_same_day => {}
        (Role::Receptionist, _) => {
            return Err(ApiError::Forbidden("only a cluster manager may book on behalf of a practice or a second same-day appointment".into()));
        }
        (Role::ClusterManager, Some(_)) => {}
        (Role::ClusterManager, None) => {
            return Err(ApiError::Unprocessable("invalid-body", "a cluster manager books on behalf of a practice: give on_behalf_of".into()));
        }
        _ => return Err(ApiError::Forbidden("receptionists and cluster managers book here; triage services use /api/v1/triage/bookings".into())),
    }
    let replay = Replay::from_request(&state, &req, &who, "POST /appointments", &body)?;
    let now = state.clock.now();
    let patient = check_patient(&body.patient, now.date_naive())?;
    let requester = body
        .requester
        .as_ref()
        .map(|r| {
            let ods = r.ods.trim().to_ascii_uppercase();
            if !(3..=10).contains(&ods.len()) || !ods.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(ApiError::Unprocessable(
                    "invalid-requester",
                    "a requesting organisation's ODS code is 3 to 10 letters and digits".into(),
                ));
            }
            Ok((
                ods,
                optional_text("requester.reference", r.reference.as_deref(), 100)?,
            ))
        })
        .transpose()?;
    let reason = optional_text("reason", body.reason.as_deref(), 500)?;
    let change = state.change(&who);
    idempotency::create(&state, replay, move |c| {
        let acting = match &body.on_behalf_of {
            Some(ods) => {
                let cluster_id = who
                    .scope
                    .cluster
                    .clone()
                    .ok_or_else(|| ApiError::Forbidden("no cluster in scope".into()))?;
                let practice = registered_practice(c, &cluster_id, ods)?;
                as_practice(&who, &cluster_id, &practice)
            }
            None => who.clone(),
        };
        let (cluster_ids, searcher) = searcher_for(c, &acting, now, None)?;
        let slot = found(sharing::find_slot(c, &cluster_ids, &body.slot_id), "slot")?;
        let cluster = clusters::get_cluster(c, &slot.cluster_id)?;
        let registered = match &body.registered_practice {
            None => acting.scope.practice.clone(),
            Some(ods) => Some(registered_practice(c, &cluster.id, ods)?),
        };
        let new = NewBooking {
            slot_id: slot.id.clone(),
            hold_id: body.hold_id.clone(),
            nhs_number: patient.nhs_number.clone(),
            patient_name: patient.name.clone(),
            patient_birth_date: patient.birth_date,
            patient_phone: patient.phone.clone(),
            patient_email: patient.email.clone(),
            adjustments: patient.adjustments.clone(),
            registered_practice_id: registered,
            booking_practice_id: acting.scope.practice.clone(),
            reason,
            requester_ods: requester.as_ref().map(|r| r.0.clone()),
            requester_reference: requester.and_then(|r| r.1),
            allow_same_day: body.allow_same_day,
            own_holds_block: false,
        };
        let day = local_day(&cluster, slot.starts_at.and_utc())?;
        let appointment = booking::book(c, &change, &cluster.id, &searcher, &new, day)?;
        let version = appointment.version;
        Ok((AppointmentView::from(appointment), Some(version)))
    })
    .await
}

/// The caller acting as a receptionist of `practice_id` (a manager booking or moving a patient
/// on a practice's behalf sees the slots that practice sees); audit still names the caller.
fn as_practice(who: &Principal, cluster_id: &str, practice_id: &str) -> Principal {
    Principal {
        role: Role::Receptionist,
        scope: crate::auth::Scope {
            cluster: Some(cluster_id.to_owned()),
            practice: Some(practice_id.to_owned()),
            clusters: Vec::new(),
        },
        credential: None,
        ..who.clone()
    }
}

fn registered_practice(c: &mut DbConn, cluster_id: &str, ods: &str) -> Result<String, ApiError> {
    let code = OdsCode::parse(ods)?;
    match practices::get_practice_by_ods(c, cluster_id, code.as_str()) {
        Ok(p) => Ok(p.id),
        Err(StoreError::NotFound) => Err(ApiError::Unprocessable(
            "practice-not-in-cluster",
            format!("practice {code} is not a member of this cluster"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The instants bounding the local day of `at` in the cluster's zone.
pub(crate) fn local_day(
    cluster: &hubbook_store::models::Cluster,
    at: DateTime<Utc>,
) -> Result<(chrono::NaiveDateTime, chrono::NaiveDateTime), ApiError> {
    let zone = ClusterTimeZone::parse(&cluster.time_zone)?.0;
    let date = at.with_timezone(&zone).date_naive();
    let start = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.naive_utc())
    };
    match (start(date), start(date + chrono::Duration::days(1))) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(ApiError::Internal(format!("no midnight on {date}"))),
    }
}

/// Loads an appointment the caller may see: a receptionist its practice's (booked by it or
/// registered with it), hub staff and managers their cluster's, a triage service what it booked.
fn visible_appointment(c: &mut DbConn, who: &Principal, id: &str) -> Result<Appointment, ApiError> {
    let not_found = || ApiError::NotFound("no appointment here that you may see".into());
    let cluster_ids: Vec<String> = match who.role {
        Role::Triage => who.scope.clusters.clone(),
        Role::Admin => {
            return Err(ApiError::Forbidden(
                "patient appointments are not an admin's to read".into(),
            ))
        }
        _ => who.scope.cluster.iter().cloned().collect(),
    };
    let mut found_one = None;
    for cluster_id in &cluster_ids {
        match appointments::get_appointment(c, cluster_id, id) {
            Ok(a) => {
                found_one = Some(a);
                break;
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let a = found_one.ok_or_else(not_found)?;
    let allowed = match who.role {
        Role::Receptionist => match who.scope.practice.as_deref() {
            None => false,
            Some(mine) => {
                a.booking_practice_id.as_deref() == Some(mine)
                    || (a.registered_practice_id.as_deref() == Some(mine)
                        && shares_with(c, &a, mine)?)
            }
        },
        Role::HubStaff => at_a_hub(c, &a)?,
        Role::ClusterManager => true,
        Role::Triage => a.booked_by == who.actor(),
        Role::Admin => false,
    };
    if allowed {
        Ok(a)
    } else {
        Err(not_found())
    }
}

/// Whether the practice that booked an appointment and `practice_id` (the patient's registered
/// practice) both have a data-sharing agreement in force today, so the registered practice may
/// see it.
fn shares_with(c: &mut DbConn, a: &Appointment, practice_id: &str) -> Result<bool, ApiError> {
    let Some(booker) = a.booking_practice_id.as_deref() else {
        return Ok(false);
    };
    let cluster = clusters::get_cluster(c, &a.cluster_id)?;
    let today = chrono::Utc::now()
        .with_timezone(&ClusterTimeZone::parse(&cluster.time_zone)?.0)
        .date_naive();
    for id in [booker, practice_id] {
        let p = practices::get_practice(c, &a.cluster_id, id)?;
        let in_force = hubbook_core::DataSharingAgreement::new(p.dsa_from, p.dsa_to)
            .is_ok_and(|d| d.in_force_on(today));
        if !in_force {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether an appointment is at one of the cluster's hubs (hub staff see hub sites only).
fn at_a_hub(c: &mut DbConn, a: &Appointment) -> Result<bool, ApiError> {
    Ok(hubbook_store::repo::sites::get_site(c, &a.cluster_id, &a.site_id)?.kind == "hub")
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
        (status = 404, body = crate::Problem, content_type = "application/problem+json"),
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
    let (a, triage, fhir_body) = state
        .db(move |c| {
            let a = visible_appointment(c, &who, &id)?;
            let triage = booking::triage_of(c, &a.cluster_id, &a.id)?;
            let fhir_body = if wants_fhir {
                Some(fhir_resource(c, &a)?)
            } else {
                None
            };
            Ok((a, triage, fhir_body))
        })
        .await?;
    let mut response = HttpResponse::Ok();
    response.insert_header(crate::extract::etag(a.version));
    response.insert_header((actix_web::http::header::VARY, "Accept"));
    if let Some(body) = fhir_body {
        return Ok(response
            .content_type(fhir::FHIR_JSON)
            .body(body.to_string()));
    }
    let mut view = AppointmentView::from(a);
    view.triage = triage.map(crate::routes::triage::TriageView::from);
    Ok(response.json(view))
}

/// The FHIR R4 `Appointment` for an appointment, with its site, service and session read.
fn fhir_resource(c: &mut DbConn, a: &Appointment) -> Result<serde_json::Value, ApiError> {
    let site = hubbook_store::repo::sites::get_site(c, &a.cluster_id, &a.site_id)?;
    let service = hubbook_store::repo::services::get_service(c, &a.cluster_id, &a.service_id)?;
    let session = hubbook_store::repo::sessions::get_session(c, &a.cluster_id, &a.session_id)?;
    Ok(fhir::appointment(&fhir::AppointmentFacts {
        id: &a.id,
        version: a.version,
        status: &a.status,
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
        clinical_role: &a.clinical_role,
        session_id: &a.session_id,
        clinician: session.clinician.as_deref(),
        delivery: &a.delivery,
        channel: &a.channel,
        reason: a.reason.as_deref(),
        cancel_reason: a.cancel_reason.as_deref(),
    }))
}

/// A cancellation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// Why (shown in reads and reports).
    pub reason: String,
}

/// Cancel a booked appointment (its practice's receptionist, the triage service that booked it,
/// or the cluster's manager). The slot is free again at once. Send `If-Match` with the ETag read.
#[utoipa::path(
    tag = "booking",
    params(("id" = String, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = CancelBody,
    responses((status = 200, body = AppointmentView), (status = 404, body = crate::Problem, content_type = "application/problem+json"), (status = 409, description = "`invalid-transition`: not a booked appointment", body = crate::Problem, content_type = "application/problem+json"), (status = 412, body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[post("/appointments/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<CancelBody>,
) -> Result<HttpResponse, ApiError> {
    let reason = validate_name("reason", &body.reason, 500)?;
    let expected = if_match_optional(&req);
    let change = state.change(&who);
    let a = state
        .db(move |c| {
            if who.role == Role::HubStaff {
                return Err(ApiError::Forbidden(
                    "hub staff record outcomes; they do not cancel".into(),
                ));
            }
            let a = visible_appointment(c, &who, &id)?;
            Ok(booking::cancel(
                c,
                &change,
                &a.cluster_id,
                &a.id,
                expected,
                &reason,
            )?)
        })
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
    responses((status = 200, body = AppointmentView), (status = 404, body = crate::Problem, content_type = "application/problem+json"), (status = 409, description = "`slot-unavailable`, `slot-not-offered`, `hold-expired`, `invalid-transition`", body = crate::Problem, content_type = "application/problem+json"), (status = 412, body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[post("/appointments/{id}/reschedule")]
pub async fn reschedule(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<RescheduleBody>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match_optional(&req);
    let now = state.clock.now();
    let change = state.change(&who);
    let body = body.into_inner();
    let placed = state
        .db(move |c| {
            if !matches!(who.role, Role::Receptionist | Role::ClusterManager) {
                return Err(ApiError::Forbidden(
                    "a receptionist or a cluster manager reschedules".into(),
                ));
            }
            let old = visible_appointment(c, &who, &id)?;
            let searcher = match who.role {
                // A manager moves the patient as its booking practice would see the slots, or a
                // 111 booking as the triage service would (keeping it the service's).
                Role::ClusterManager => match old.booking_practice_id.clone() {
                    Some(practice) => {
                        searcher_for(c, &as_practice(&who, &old.cluster_id, &practice), now, None)?
                            .1
                    }
                    None => {
                        let rules = sharing::current_rules(c, &old.cluster_id)?.rules;
                        sharing::Searcher::Triage {
                            open_clusters: if rules.triage_may_book_open {
                                vec![old.cluster_id.clone()]
                            } else {
                                Vec::new()
                            },
                        }
                    }
                },
                _ => searcher_for(c, &who, now, None)?.1,
            };
            let slot = found(
                sharing::find_slot(c, std::slice::from_ref(&old.cluster_id), &body.slot_id),
                "slot",
            )?;
            let cluster = clusters::get_cluster(c, &old.cluster_id)?;
            let day = local_day(&cluster, slot.starts_at.and_utc())?;
            let to = booking::Reschedule {
                cluster_id: &old.cluster_id,
                slot_id: &slot.id,
                hold_id: body.hold_id.as_deref(),
                searcher: &searcher,
                day,
            };
            Ok(booking::reschedule(c, &change, &old.id, expected, &to)?)
        })
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
    responses((status = 200, body = AppointmentView), (status = 409, description = "`invalid-transition`", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[post("/appointments/{id}/outcome")]
pub async fn record_outcome(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<OutcomeRequest>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match_optional(&req);
    let change = state.change(&who);
    let outcome = match body.outcome {
        OutcomeBody::Arrived => booking::Outcome::Arrived,
        OutcomeBody::Seen => booking::Outcome::Seen,
        OutcomeBody::DidNotAttend => booking::Outcome::DidNotAttend,
    };
    let a = state
        .db(move |c| {
            if who.role == Role::Triage {
                return Err(ApiError::Forbidden(
                    "outcomes are recorded by the hub or the practice".into(),
                ));
            }
            let a = visible_appointment(c, &who, &id)?;
            Ok(booking::record_outcome(
                c,
                &change,
                &a.cluster_id,
                &a.id,
                expected,
                outcome,
                who.role == Role::ClusterManager,
            )?)
        })
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
    pub notes: Option<String>,
}

/// Amend an appointment's notes without touching the booking. Send `If-Match`.
#[utoipa::path(
    tag = "booking",
    params(("id" = String, Path, description = "Appointment id"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` for whatever is current)")),
    request_body = NotesBody,
    responses((status = 200, body = AppointmentView), (status = 412, body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[patch("/appointments/{id}")]
pub async fn amend_notes(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<NotesBody>,
) -> Result<HttpResponse, ApiError> {
    let expected = crate::extract::if_match(&req)?;
    let notes = optional_text("notes", body.into_inner().notes.as_deref(), 2000)?;
    let change = state.change(&who);
    let a = state
        .db(move |c| {
            if !matches!(who.role, Role::Receptionist | Role::ClusterManager) {
                return Err(ApiError::Forbidden(
                    "notes are amended by the booking practice or the cluster manager".into(),
                ));
            }
            let a = visible_appointment(c, &who, &id)?;
            Ok(booking::amend_notes(
                c,
                &change,
                &a.cluster_id,
                &a.id,
                expected,
                notes,
            )?)
        })
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
#[utoipa::path(tag = "booking", params(AppointmentQuery), responses((status = 200, body = PageOf<AppointmentView>), (status = 422, body = crate::Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
#[get("/appointments")]
pub async fn list_appointments(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<AppointmentQuery>,
) -> Result<web::Json<PageOf<AppointmentView>>, ApiError> {
    let q = query.into_inner();
    let (after, limit) = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .decode()?;
    let nhs_number = q
        .nhs_number
        .as_deref()
        .map(NhsNumber::parse)
        .transpose()?
        .map(|n| n.as_str().to_owned());
    let page = state
        .db(move |c| {
            let (cluster_ids, mut filter) = match who.role {
                Role::Receptionist => (
                    who.scope.cluster.iter().cloned().collect::<Vec<_>>(),
                    AppointmentFilter {
                        practice_id: who.scope.practice.clone(),
                        ..AppointmentFilter::default()
                    },
                ),
                Role::HubStaff | Role::ClusterManager => (
                    who.scope.cluster.iter().cloned().collect(),
                    AppointmentFilter::default(),
                ),
                Role::Triage => {
                    // A triage service's own bookings, in all of its clusters.
                    (
                        who.scope.clusters.clone(),
                        AppointmentFilter {
                            booked_by: Some(who.actor()),
                            ..AppointmentFilter::default()
                        },
                    )
                }
                Role::Admin => {
                    return Err(ApiError::Forbidden(
                        "patient appointments are not an admin's to read".into(),
                    ))
                }
            };
            let Some(cluster_id) = cluster_ids.first().cloned() else {
                return Err(ApiError::Forbidden("no cluster in scope".into()));
            };
            if let Some(ods) = &q.practice {
                if who.role == Role::Receptionist {
                    return Err(ApiError::Forbidden(
                        "a receptionist lists its own practice's appointments".into(),
                    ));
                }
                filter.practice_id = Some(registered_practice(c, &cluster_id, ods)?);
            }
            filter.site_id = q.site;
            filter.status = q.status;
            filter.nhs_number = nhs_number;
            filter.from = q.from.map(|t| t.naive_utc());
            filter.to = q.to.map(|t| t.naive_utc());
            if who.role == Role::Receptionist && who.scope.practice.is_none() {
                return Err(ApiError::Forbidden(
                    "a receptionist needs a practice".into(),
                ));
            }
            let mut page =
                appointments::list_appointments(c, &cluster_ids, &filter, after.as_deref(), limit)?;
            // The same rules as reading one: another practice's bookings of a receptionist's
            // patients only under agreements in force; hub staff the hubs only.
            let mut kept = Vec::with_capacity(page.items.len());
            for a in page.items {
                let keep = match who.role {
                    Role::Receptionist => {
                        let mine = who.scope.practice.as_deref().unwrap_or_default();
                        a.booking_practice_id.as_deref() == Some(mine) || shares_with(c, &a, mine)?
                    }
                    Role::HubStaff => at_a_hub(c, &a)?,
                    _ => true,
                };
                if keep {
                    kept.push(a);
                }
            }
            page.items = kept;
            Ok(page)
        })
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
#[utoipa::path(tag = "booking", params(("id" = String, Path, description = "Site id"), DayQuery), responses((status = 200, body = Vec<AppointmentView>), (status = 404, body = crate::Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
#[get("/sites/{id}/day-list")]
pub async fn day_list(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
    query: web::Query<DayQuery>,
) -> Result<web::Json<Vec<AppointmentView>>, ApiError> {
    let date = crate::extract::check_date("date", query.date)?;
    let list = state
        .db(move |c| {
            if !matches!(who.role, Role::HubStaff | Role::ClusterManager) {
                return Err(ApiError::Forbidden(
                    "day lists are for hub staff and managers".into(),
                ));
            }
            let cluster_id = who
                .scope
                .cluster
                .clone()
                .ok_or_else(|| ApiError::Forbidden("no cluster in scope".into()))?;
            let site = found(
                hubbook_store::repo::sites::get_site(c, &cluster_id, &id),
                "site",
            )?;
            if who.role == Role::HubStaff && site.kind != "hub" {
                return Err(ApiError::NotFound("no hub here that you may see".into()));
            }
            let cluster = clusters::get_cluster(c, &cluster_id)?;
            let zone = ClusterTimeZone::parse(&cluster.time_zone)?.0;
            let noon = zone
                .from_local_datetime(
                    &date.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN)),
                )
                .earliest()
                .ok_or_else(|| ApiError::Internal("no noon".into()))?;
            let (from, to) = local_day(&cluster, noon.with_timezone(&Utc))?;
            let filter = AppointmentFilter {
                site_id: Some(id.into_inner()),
                from: Some(from),
                to: Some(to),
                ..AppointmentFilter::default()
            };
            Ok(appointments::list_appointments(
                c,
                std::slice::from_ref(&cluster_id),
                &filter,
                None,
                hubbook_store::repo::MAX_PAGE * 4,
            )?
            .items)
        })
        .await?;
    Ok(web::Json(
        list.into_iter().map(AppointmentView::from).collect(),
    ))
}
