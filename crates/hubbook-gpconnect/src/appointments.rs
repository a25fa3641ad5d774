//! Appointments: book (`POST /Appointment`), read (`GET /Appointment/{id}`), amend and cancel
//! (`PUT /Appointment/{id}`, told apart by `Ssp-InteractionID`), and a patient's appointments
//! (`GET /Patient/{id}/Appointment`), each through the same use cases as the JSON API and the
//! console: one booking, whichever front end made it.
//!
//! A booking is checked as GP Connect 1.2.8 has it before anything is booked: a
//! `GPConnect-Appointment-1` with status `booked`, its slot, start and end (the slot's own), a
//! Patient and the slot's Location as participants, and the booking organisation as a contained
//! Organization (ODS code, name, phone) named by the booking-organisation extension; no
//! `reason` or `specialty`, and no element STU3 does not define. The booking organisation's
//! details, the delivery channel and the practitioner role come back on every read.
//!
//! A retry is safe: the `Ssp-TraceID` is the booking's idempotency key, so a repeated request
//! with the same body returns the appointment the first one booked, and books nothing twice.
//! Amend and cancel send the appointment as read with only what they change (description and
//! comment; status and the cancellation reason), guarded by `If-Match: W/"<versionId>"`.

use std::collections::BTreeSet;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::London;
use hubbook_core::appointment::AppointmentStatus;
use hubbook_core::patient::Requester;
use hubbook_core::{NhsNumber, Refusal};
use hubbook_service::appointments::{AppointmentDetail, AppointmentQuery};
use hubbook_service::booking::{BookAppointment, DetailChange, RequesterContact, SeenSlots};
use hubbook_service::{Caller, Hubbook, ServiceError};
use hubbook_store::{ConflictKind, StoreError};
use serde_json::{json, Map, Value};

use crate::error::{from_service, ErrorCode, GpcError};
use crate::fhir::{channel, delivery, instant, meta, practitioner_role, uk, PROFILE_BASE};
use crate::patients::patient_id;
use crate::request::{Interaction, ODS_SYSTEM};
use crate::slots::ORGANISATION_TYPE_SYSTEM;
use crate::Facade;
use hubbook_core::rota::Delivery;

/// The profile of the Appointment resources hubbook reads and writes.
pub const APPOINTMENT_PROFILE: &str = "GPConnect-Appointment-1";
const BOOKING_ORGANISATION: &str = "Extension-GPConnect-BookingOrganisation-1";
const DELIVERY_CHANNEL: &str = "Extension-GPConnect-DeliveryChannel-2";
const PRACTITIONER_ROLE: &str = "Extension-GPConnect-PractitionerRole-1";
const CANCELLATION_REASON: &str = "Extension-GPConnect-AppointmentCancellationReason-1";
/// The elements of an STU3 Appointment beside those every resource has
/// ([`crate::request::COMMON`]); anything else in a body is refused.
const ELEMENTS: &[&str] = &[
    "identifier",
    "status",
    "serviceCategory",
    "serviceType",
    "specialty",
    "appointmentType",
    "reason",
    "indication",
    "priority",
    "description",
    "supportingInformation",
    "start",
    "end",
    "minutesDuration",
    "slot",
    "created",
    "comment",
    "incomingReferral",
    "participant",
    "requestedPeriod",
];
/// The elements a booking may carry (the rest of STU3's are refused as GP Connect has it).
const BOOKABLE: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "contained",
    "extension",
    "identifier",
    "status",
    "serviceCategory",
    "serviceType",
    "description",
    "start",
    "end",
    "minutesDuration",
    "slot",
    "created",
    "comment",
    "participant",
];

fn invalid(why: impl Into<String>) -> GpcError {
    GpcError::new(ErrorCode::InvalidResource, why)
}

fn url(name: &str) -> String {
    format!("{PROFILE_BASE}{name}")
}

/// A stored status as GP Connect (FHIR) names it.
fn status(s: AppointmentStatus) -> &'static str {
    match s {
        AppointmentStatus::Booked => "booked",
        AppointmentStatus::Cancelled => "cancelled",
        AppointmentStatus::Arrived => "arrived",
        AppointmentStatus::Seen => "fulfilled",
        AppointmentStatus::DidNotAttend => "noshow",
    }
}

/// An appointment as a `GPConnect-Appointment-1`: the booking organisation (contained), the
/// delivery channel, the practitioner role and, once cancelled, the reason; the Patient by NHS
/// number and the Location of its site.
pub fn resource(detail: &AppointmentDetail) -> Value {
    let a = &detail.appointment;
    let mut extension = Vec::new();
    let mut contained = Vec::new();
    if let Some(ods) = &a.requester_ods {
        let contact = detail.requester_contact.as_ref();
        let mut organisation = json!({
            "resourceType": "Organization",
            "id": "1",
            "meta": {"profile": [url("CareConnect-GPC-Organization-1")]},
            "identifier": [{"system": ODS_SYSTEM, "value": ods}],
            "name": contact.map_or(ods.as_str(), |c| c.name.as_str()),
        });
        if let Some(c) = contact {
            organisation["telecom"] = json!([{"system": "phone", "value": c.phone}]);
            if let Some(kind) = &c.organisation_type {
                organisation["type"] =
                    json!([{"coding": [{"system": ORGANISATION_TYPE_SYSTEM, "code": kind}]}]);
            }
        }
        contained.push(organisation);
        extension
            .push(json!({"url": url(BOOKING_ORGANISATION), "valueReference": {"reference": "#1"}}));
    }
    extension.push(json!({"url": url(DELIVERY_CHANNEL), "valueCode": channel(a.delivery)}));
    extension.push(json!({"url": url(PRACTITIONER_ROLE), "valueCodeableConcept": practitioner_role(a.clinical_role)}));
    if let (AppointmentStatus::Cancelled, Some(reason)) = (a.status, &a.cancel_reason) {
        extension.push(json!({"url": url(CANCELLATION_REASON), "valueString": reason}));
    }
    let service = detail
        .place
        .as_ref()
        .map(|(_, service, _)| service.name.clone())
        .unwrap_or_default();
    let mut participant = Vec::new();
    if let Some(nhs) = &a.nhs_number {
        participant
            .push(json!({"actor": {"reference": format!("Patient/{nhs}")}, "status": "accepted"}));
    }
    participant.push(
        json!({"actor": {"reference": format!("Location/{}", a.site_id)}, "status": "accepted"}),
    );
    let mut r = json!({
        "resourceType": "Appointment",
        "id": a.id,
        "meta": meta(APPOINTMENT_PROFILE, a.version),
        "extension": extension,
        "status": status(a.status),
        "serviceCategory": {"text": service},
        "serviceType": [{"text": service}],
        "description": a.reason.clone().unwrap_or_else(|| service.clone()),
        "start": uk(a.starts_at),
        "end": uk(a.ends_at),
        "minutesDuration": (a.ends_at - a.starts_at).num_minutes(),
        "slot": detail
            .slot_ids
            .iter()
            .map(|id| json!({"reference": format!("Slot/{id}")}))
            .collect::<Vec<_>>(),
        "created": uk(a.created_at),
        "participant": participant,
    });
    if !contained.is_empty() {
        r["contained"] = json!(contained);
    }
    if let Some(notes) = &a.notes {
        r["comment"] = json!(notes);
    }
    r
}

/// The booking organisation a body names: its contained Organization, by a local reference.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingOrganisation {
    /// Its ODS code.
    pub ods: String,
    /// Its name.
    pub name: String,
    /// Its phone number.
    pub phone: String,
    /// Its organisation type code, when given.
    pub kind: Option<String>,
}

/// A booking as sent, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    /// The slot ids, in the order sent.
    pub slots: Vec<String>,
    /// The start the consumer saw.
    pub start: DateTime<Utc>,
    /// The end the consumer saw.
    pub end: DateTime<Utc>,
    /// The patient.
    pub patient: NhsNumber,
    /// The Location (site id) the consumer named.
    pub location: String,
    /// `description`.
    pub description: Option<String>,
    /// `comment`.
    pub comment: Option<String>,
    /// The booking organisation.
    pub organisation: BookingOrganisation,
    /// The delivery channel the consumer saw, when it sent the extension.
    pub delivery: Option<Delivery>,
}

fn text<'a>(r: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    r.get(key).and_then(Value::as_str)
}

/// A logical id in a relative reference `Kind/id`: FHIR's id characters, at most 64.
fn reference_id<'a>(reference: &'a str, kind: &str) -> Option<&'a str> {
    let id = reference.strip_prefix(kind)?.strip_prefix('/')?;
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    ok.then_some(id)
}

/// The checks every Appointment body gets: an object of resourceType Appointment with only
/// STU3's elements, and never `reason` or `specialty`.
fn appointment_body(body: &Value) -> Result<&Map<String, Value>, GpcError> {
    let r = body
        .as_object()
        .ok_or_else(|| invalid("the body is an Appointment resource"))?;
    if text(r, "resourceType") != Some("Appointment") {
        return Err(invalid("the body's resourceType must be Appointment"));
    }
    if let Some(unknown) = r
        .keys()
        .find(|k| !crate::request::COMMON.contains(&k.as_str()) && !ELEMENTS.contains(&k.as_str()))
    {
        return Err(invalid(format!(
            "{unknown} is not an element of a STU3 Appointment"
        )));
    }
    for forbidden in ["reason", "specialty"] {
        if r.contains_key(forbidden) {
            return Err(invalid(format!(
                "an appointment sent over GP Connect must not carry {forbidden}"
            )));
        }
    }
    Ok(r)
}

/// The participants of a body as (reference, status): every one with a relative reference and
/// a status.
fn participants(r: &Map<String, Value>) -> Result<Vec<(String, String)>, GpcError> {
    let list = r
        .get("participant")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("participant is required: the Patient and the Location"))?;
    let mut out = Vec::new();
    for p in list {
        let reference = p["actor"]["reference"]
            .as_str()
            .ok_or_else(|| invalid("every participant needs an actor reference"))?;
        let relative = ["Patient", "Location", "Practitioner", "HealthcareService"]
            .iter()
            .any(|kind| reference_id(reference, kind).is_some());
        if !relative {
            return Err(invalid(format!(
                "participant {reference} is not a relative Patient/, Location/, Practitioner/ or HealthcareService/ reference"
            )));
        }
        let status = p["status"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(format!("participant {reference} needs a status")))?;
        out.push((reference.to_owned(), status.to_owned()));
    }
    Ok(out)
}

/// The extensions of a body by URL; only GP Connect's appointment extensions are allowed.
fn extensions(r: &Map<String, Value>) -> Result<Vec<(String, Value)>, GpcError> {
    let known = [
        BOOKING_ORGANISATION,
        DELIVERY_CHANNEL,
        PRACTITIONER_ROLE,
        CANCELLATION_REASON,
    ]
    .map(url);
    let mut out = Vec::new();
    for e in r
        .get("extension")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let u = e["url"].as_str().unwrap_or_default();
        if !known.iter().any(|k| k == u) {
            return Err(invalid(format!(
                "extension {u:?} is not one GP Connect defines for an Appointment"
            )));
        }
        let value = e
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.starts_with("value")))
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null);
        out.push((u.to_owned(), value));
    }
    Ok(out)
}

/// The booking organisation: the extension's local reference to a contained Organization with
/// an ODS code, a name and a phone.
fn booking_organisation(
    r: &Map<String, Value>,
    exts: &[(String, Value)],
) -> Result<BookingOrganisation, GpcError> {
    let reference = exts
        .iter()
        .find(|(u, _)| *u == url(BOOKING_ORGANISATION))
        .and_then(|(_, v)| v["reference"].as_str())
        .ok_or_else(|| invalid("the booking organisation extension is required"))?;
    let local = reference.strip_prefix('#').ok_or_else(|| {
        invalid(format!(
            "the booking organisation is a contained Organization named #id, not {reference}"
        ))
    })?;
    let org = r
        .get("contained")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c["resourceType"] == "Organization" && c["id"] == local)
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(format!("no contained Organization {reference}")))?;
    let ods = org
        .get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|i| i["system"] == ODS_SYSTEM)
        .and_then(|i| i["value"].as_str())
        .ok_or_else(|| {
            invalid(format!(
                "the booking organisation needs an identifier in {ODS_SYSTEM}"
            ))
        })?;
    let name = text(org, "name")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| invalid("the booking organisation needs a name"))?;
    let phone = org
        .get("telecom")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|t| t["system"] == "phone")
        .and_then(|t| t["value"].as_str())
        .ok_or_else(|| invalid("the booking organisation needs a phone telecom"))?;
    let kind = org
        .get("type")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|t| t["coding"].as_array().into_iter().flatten())
        .find(|c| c["system"] == ORGANISATION_TYPE_SYSTEM)
        .and_then(|c| c["code"].as_str())
        .map(str::to_owned);
    Ok(BookingOrganisation {
        ods: ods.to_owned(),
        name: name.to_owned(),
        phone: phone.to_owned(),
        kind,
    })
}

/// Reads and checks a booking's body.
pub fn booking(body: &Value) -> Result<Booking, GpcError> {
    let r = appointment_body(body)?;
    if let Some(other) = r.keys().find(|k| !BOOKABLE.contains(&k.as_str())) {
        return Err(invalid(format!("a booking must not carry {other}")));
    }
    if text(r, "status") != Some("booked") {
        return Err(invalid("a booking's status is booked"));
    }
    if let Some(ids) = r.get("identifier").and_then(Value::as_array) {
        if ids
            .iter()
            .any(|i| i["value"].as_str().is_none_or(str::is_empty))
        {
            return Err(invalid("every identifier needs a value"));
        }
    }
    let exts = extensions(r)?;
    if exts.iter().any(|(u, _)| *u == url(CANCELLATION_REASON)) {
        return Err(invalid("a booking has no cancellation reason"));
    }
    let organisation = booking_organisation(r, &exts)?;
    let delivery = match exts.iter().find(|(u, _)| *u == url(DELIVERY_CHANNEL)) {
        None => None,
        Some((_, v)) => Some(v.as_str().and_then(delivery).ok_or_else(|| {
            invalid(format!(
                "{v} is not a delivery channel: In-person, Telephone or Video"
            ))
        })?),
    };
    let start = text(r, "start")
        .ok_or_else(|| invalid("start is required"))
        .and_then(|s| {
            instant(s)
                .ok_or_else(|| invalid(format!("start {s} is not a date-time with its offset")))
        })?;
    let end = text(r, "end")
        .ok_or_else(|| invalid("end is required"))
        .and_then(|s| {
            instant(s).ok_or_else(|| invalid(format!("end {s} is not a date-time with its offset")))
        })?;
    let slot_refs = r
        .get("slot")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("slot is required: the free slot to book"))?;
    let mut slots = Vec::new();
    for s in slot_refs {
        let reference = s["reference"].as_str().unwrap_or_default();
        let id = reference_id(reference, "Slot")
            .ok_or_else(|| invalid(format!("{reference:?} is not a relative Slot/id reference")))?;
        slots.push(id.to_owned());
    }
    let people = participants(r)?;
    let patient = people
        .iter()
        .find_map(|(reference, _)| reference_id(reference, "Patient"))
        .ok_or_else(|| invalid("a Patient participant is required"))?;
    let patient = patient_id(patient).map_err(|_| {
        GpcError::new(
            ErrorCode::ReferenceNotFound,
            format!("Patient/{patient} is not a patient here: a patient's id is their NHS number"),
        )
    })?;
    let location = people
        .iter()
        .find_map(|(reference, _)| reference_id(reference, "Location"))
        .ok_or_else(|| invalid("a Location participant is required: the slot's Location"))?;
    Ok(Booking {
        slots,
        start,
        end,
        patient,
        location: location.to_owned(),
        description: text(r, "description").map(str::to_owned),
        comment: text(r, "comment").map(str::to_owned),
        organisation,
        delivery,
    })
}

/// A booking's refusal in GP Connect's terms: a slot no longer free (or the patient already
/// booked for the service that day) is `DUPLICATE_REJECTED`, as is a `Ssp-TraceID` reused with
/// another body; a changed version `FHIR_CONSTRAINT_VIOLATION`; a change the appointment's
/// state does not allow, or a slot already started, `INVALID_RESOURCE`.
pub fn refusal(e: ServiceError) -> GpcError {
    match e {
        ServiceError::Refused(
            r @ (Refusal::SlotUnavailable
            | Refusal::NotOffered(_)
            | Refusal::HoldExpired
            | Refusal::DuplicateBooking),
        ) => GpcError::new(ErrorCode::DuplicateRejected, r.to_string()),
        ServiceError::Refused(r) => invalid(r.to_string()),
        ServiceError::Store(StoreError::Conflict(ConflictKind::StaleVersion)) => GpcError::new(
            ErrorCode::FhirConstraintViolation,
            "the appointment has changed since that version: read it again",
        ),
        ServiceError::Store(StoreError::Conflict(ConflictKind::IdempotencyKeyReused)) => {
            GpcError::new(
                ErrorCode::DuplicateRejected,
                "this Ssp-TraceID was sent before with another request: a retry sends the same body",
            )
        }
        other => from_service(other),
    }
}

/// `Prefer: return=minimal` asks for no body.
fn minimal(req: &HttpRequest) -> bool {
    req.headers()
        .get("Prefer")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("return=minimal"))
}

fn answer(req: &HttpRequest, status: StatusCode, detail: &AppointmentDetail) -> HttpResponse {
    let version = detail.appointment.version;
    if minimal(req) {
        return HttpResponse::build(status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::ETAG, format!("W/\"{version}\"")))
            .finish();
    }
    crate::versioned(status, &resource(detail), version)
}

/// `POST /Appointment`.
pub async fn book(
    req: HttpRequest,
    facade: web::Data<Facade>,
    body: web::Bytes,
) -> Result<HttpResponse, GpcError> {
    let (caller, consumer, hubbook) =
        crate::admit_pending(&req, Interaction::Book, &facade).await?;
    let answer = book_as(&req, &hubbook, &caller, &consumer, &body).await;
    crate::audited(&hubbook, answer).await
}

/// Books as `POST /Appointment` asks, through a handle auditing the call.
async fn book_as(
    req: &HttpRequest,
    hubbook: &Hubbook,
    caller: &Caller,
    consumer: &crate::Consumer,
    body: &[u8],
) -> Result<HttpResponse, GpcError> {
    let body: Value = crate::resource_json(body)?;
    let b = booking(&body)?;
    let Some((slot_id, further_slots)) = b.slots.split_first() else {
        return Err(invalid("slot is required: the free slot to book"));
    };
    let (slot_id, further_slots) = (slot_id.clone(), further_slots.to_vec());
    let requester =
        Requester::parse(&b.organisation.ods, None).map_err(|e| invalid(e.to_string()))?;
    let claim = hubbook
        .claim(
            caller,
            consumer.trace_id.clone(),
            "GP Connect POST /Appointment",
            &body,
        )
        .map_err(from_service)?;
    let patient = b.patient.clone();
    let booked_slot = slot_id.clone();
    let command = move |patient| BookAppointment {
        slot_id: booked_slot,
        hold_id: None,
        patient,
        registered_practice: None,
        reason: b.description,
        requester: Some(requester),
        allow_same_day: false,
        on_behalf_of: None,
        notes: b.comment,
        requester_contact: Some(RequesterContact {
            name: b.organisation.name,
            phone: b.organisation.phone,
            organisation_type: b.organisation.kind,
        }),
        triage_without_disposition: true,
        further_slots,
        as_seen: Some(SeenSlots {
            starts_at: b.start,
            ends_at: b.end,
            site_id: b.location,
            delivery: b.delivery,
        }),
    };
    let detail = hubbook
        .book_known_patient(caller, Some(claim), patient.clone(), command)
        .await
        .map_err(|e| match e {
            ServiceError::Validation(v) => invalid(v.to_string()),
            ServiceError::SlotNotAsSent(why) => invalid(why),
            ServiceError::NotFound(_) => GpcError::new(
                ErrorCode::ReferenceNotFound,
                format!("Slot/{slot_id} is not a slot you may book"),
            ),
            other => refusal(other),
        })?
        .ok_or_else(|| {
            GpcError::new(
                ErrorCode::ReferenceNotFound,
                format!(
                    "Patient/{} is not known here: register them with $gpc.registerpatient first",
                    patient.as_str()
                ),
            )
        })?;
    let mut response = answer(req, StatusCode::CREATED, &detail);
    if let Ok(location) = header::HeaderValue::from_str(&format!(
        "{}/Appointment/{}/_history/{}",
        crate::BASE_PATH,
        detail.appointment.id,
        detail.appointment.version
    )) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The refusal of an appointment id the consumer may not see, whether or not it exists.
fn no_such_appointment(id: &str) -> GpcError {
    GpcError::new(
        ErrorCode::NoRecordFound,
        format!("no appointment {id} that you may see"),
    )
}

async fn detail(
    hubbook: &Hubbook,
    caller: &Caller,
    id: &str,
) -> Result<AppointmentDetail, GpcError> {
    hubbook
        .appointment(caller, id.to_owned(), true)
        .await
        .map_err(|e| match e {
            ServiceError::NotFound(_) => no_such_appointment(id),
            other => from_service(other),
        })
}

/// `GET /Appointment/{id}`.
pub async fn read(
    req: HttpRequest,
    facade: web::Data<Facade>,
    id: web::Path<String>,
) -> Result<HttpResponse, GpcError> {
    let (caller, _) = crate::admit(&req, Interaction::Read, &facade).await?;
    let detail = detail(&facade.hubbook, &caller, &id).await?;
    Ok(answer(&req, StatusCode::OK, &detail))
}

/// The version an `If-Match` header names: `W/"n"`; `None` without the header. Any other value
/// cannot match a version and is refused as a stale one.
fn if_match(req: &HttpRequest) -> Result<Option<i64>, GpcError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(str::trim)
        .and_then(|v| v.strip_prefix("W/").unwrap_or(v).strip_prefix('"'))
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            GpcError::new(
                ErrorCode::FhirConstraintViolation,
                "If-Match names no version of this appointment: send W/\"<meta.versionId>\"",
            )
        })
}

/// The elements an amend or cancel compares with the appointment as it is: everything but
/// what hubbook writes for itself (`meta`, `contained`, the service texts) and the extensions
/// and status, compared on their own.
fn comparable(r: &Map<String, Value>) -> Result<Vec<(String, Value)>, GpcError> {
    let mut out = Vec::new();
    for (k, v) in r {
        let v = match k.as_str() {
            "resourceType" | "id" | "meta" | "contained" | "serviceCategory" | "serviceType"
            | "extension" | "status" | "text" => continue,
            "start" | "end" | "created" => {
                json!(v.as_str().and_then(instant).map(|t| t.timestamp()))
            }
            "participant" => {
                let mut people = participants(r)?;
                people.sort();
                json!(people)
            }
            "slot" => {
                let mut refs: Vec<&str> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s["reference"].as_str())
                    .collect();
                refs.sort_unstable();
                json!(refs)
            }
            _ => v.clone(),
        };
        out.push((k.clone(), v));
    }
    Ok(out)
}

/// Checks that `sent` changes nothing of `current` but the elements named.
fn changes_only(
    current: &Map<String, Value>,
    sent: &Map<String, Value>,
    may_change: &[&str],
) -> Result<(), GpcError> {
    let before = comparable(current)?;
    let after = comparable(sent)?;
    let keys: BTreeSet<&String> = before.iter().chain(after.iter()).map(|(k, _)| k).collect();
    for key in keys {
        if may_change.contains(&key.as_str()) {
            continue;
        }
        let find = |list: &Vec<(String, Value)>| {
            list.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        };
        if find(&before) != find(&after) {
            return Err(invalid(format!(
                "{key} cannot be changed here; only {} may be",
                may_change.join(" and ")
            )));
        }
    }
    // The extensions but the cancellation reason stay as they are; the booking organisation
    // stays a contained one.
    let others = |r: &Map<String, Value>| -> Result<Vec<String>, GpcError> {
        let mut list: Vec<String> = extensions(r)?
            .into_iter()
            .filter(|(u, _)| *u != url(CANCELLATION_REASON) && *u != url(BOOKING_ORGANISATION))
            .map(|(u, v)| format!("{u} {v}"))
            .collect();
        list.sort();
        Ok(list)
    };
    let sent_others = others(sent)?;
    if others(current)? != sent_others {
        return Err(invalid(
            "the delivery channel and practitioner role extensions cannot be changed",
        ));
    }
    if current.contains_key("contained") || sent.get("extension").is_some() {
        let exts = extensions(sent)?;
        if current.contains_key("contained")
            && !exts.iter().any(|(u, v)| {
                *u == url(BOOKING_ORGANISATION)
                    && v["reference"].as_str().is_some_and(|r| r.starts_with('#'))
            })
        {
            return Err(invalid(
                "the booking organisation stays the contained one (#1): it cannot be changed",
            ));
        }
    }
    Ok(())
}

/// `PUT /Appointment/{id}`: amend (description and comment) or cancel (status `cancelled` with
/// a reason), as `Ssp-InteractionID` says.
pub async fn update(
    req: HttpRequest,
    facade: web::Data<Facade>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, GpcError> {
    let cancelling = req
        .headers()
        .get("Ssp-InteractionID")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == Interaction::Cancel.id());
    let interaction = if cancelling {
        Interaction::Cancel
    } else {
        Interaction::Amend
    };
    let (caller, _, hubbook) = crate::admit_pending(&req, interaction, &facade).await?;
    let answer = update_as(&req, &hubbook, &caller, cancelling, &id, &body).await;
    crate::audited(&hubbook, answer).await
}

/// Amends or cancels as `PUT /Appointment/{id}` asks, through a handle auditing the call: the
/// body is checked against the appointment as it is and the change made in one transaction, so
/// what changes is exactly what the consumer was shown.
async fn update_as(
    req: &HttpRequest,
    hubbook: &Hubbook,
    caller: &Caller,
    cancelling: bool,
    id: &str,
    body: &[u8],
) -> Result<HttpResponse, GpcError> {
    let expected = if_match(req)?;
    let body: Value = crate::resource_json(body)?;
    let sent = appointment_body(&body)?.clone();
    if text(&sent, "id").is_some_and(|sent_id| sent_id != id) {
        return Err(invalid("the body's id is not the appointment's"));
    }
    let exts = extensions(&sent)?;
    let reason = exts
        .iter()
        .find(|(u, _)| *u == url(CANCELLATION_REASON))
        .map(|(_, v)| v.as_str().unwrap_or_default().trim().to_owned());
    let decide = move |current: &AppointmentDetail| -> Result<DetailChange, GpcError> {
        if expected.is_some_and(|v| v != current.appointment.version) {
            return Err(refusal(ServiceError::Store(StoreError::Conflict(
                ConflictKind::StaleVersion,
            ))));
        }
        if current.appointment.status != AppointmentStatus::Booked {
            return Err(invalid(format!(
                "the appointment is {}: only a booked appointment can be {}",
                status(current.appointment.status),
                if cancelling { "cancelled" } else { "amended" }
            )));
        }
        let shown = resource(current);
        let shown = shown.as_object().cloned().unwrap_or_default();
        if cancelling {
            if text(&sent, "status") != Some("cancelled") {
                return Err(invalid("a cancellation's status is cancelled"));
            }
            changes_only(&shown, &sent, &[])?;
            let reason = reason.filter(|r| !r.is_empty()).ok_or_else(|| {
                GpcError::new(
                    ErrorCode::InvalidParameter,
                    "a cancellation needs its reason in the cancellation reason extension",
                )
            })?;
            Ok(DetailChange::Cancel { reason })
        } else {
            if text(&sent, "status") != Some("booked") {
                return Err(invalid(
                    "an amend keeps the status booked: a cancellation is the cancel interaction",
                ));
            }
            if reason.is_some() {
                return Err(invalid(
                    "an amend has no cancellation reason: a cancellation is the cancel interaction",
                ));
            }
            changes_only(&shown, &sent, &["description", "comment"])?;
            Ok(DetailChange::Amend {
                reason: text(&sent, "description").map(str::to_owned),
                notes: text(&sent, "comment").map(str::to_owned),
            })
        }
    };
    let detail = hubbook
        .change_detail(caller, id.to_owned(), decide)
        .await
        .map_err(|e| match e {
            ServiceError::NotFound(_) => no_such_appointment(id),
            ServiceError::Validation(v) => invalid(v.to_string()),
            other => refusal(other),
        })??;
    Ok(answer(req, StatusCode::OK, &detail))
}

/// The two dates of a patient's appointment search: `start=geYYYY-MM-DD` and
/// `start=leYYYY-MM-DD`, once each, from today (England's) on, as the instants they bound.
pub fn date_range(
    query: &str,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), GpcError> {
    let bad = |why: String| GpcError::new(ErrorCode::InvalidParameter, why);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| GpcError::bad_request("the query string does not parse"))?;
    let starts: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "start")
        .map(|(_, v)| v.as_str())
        .collect();
    let date = |v: &str| {
        NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .ok()
            .filter(|_| v.len() == 10)
    };
    let mut from = None;
    let mut to = None;
    for value in &starts {
        let (slot, rest) = match value.get(..2) {
            Some("ge") => (&mut from, &value[2..]),
            Some("le") => (&mut to, &value[2..]),
            _ => {
                return Err(bad(format!(
                    "start takes ge or le before a date, not {value}"
                )))
            }
        };
        if slot.is_some() {
            return Err(bad("start=ge and start=le are given once each".into()));
        }
        *slot = Some(date(rest).ok_or_else(|| bad(format!("{rest} is not a date (YYYY-MM-DD)")))?);
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(bad(
            "two start parameters are required: start=geYYYY-MM-DD and start=leYYYY-MM-DD".into(),
        ));
    };
    let today = now.with_timezone(&London).date_naive();
    if from < today {
        return Err(bad(format!(
            "appointments in the past cannot be searched: start from today ({today}) on"
        )));
    }
    if to < from {
        return Err(bad("start=le is before start=ge".into()));
    }
    let midnight = |d: NaiveDate| {
        London
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| bad(format!("{d} has no midnight in England")))
    };
    Ok((midnight(from)?, midnight(to + Duration::days(1))?))
}

/// `GET /Patient/{id}/Appointment?start=ge..&start=le..`: the patient's appointments the
/// consumer may see that start on those days, every status.
pub async fn of_patient(
    req: HttpRequest,
    facade: web::Data<Facade>,
    id: web::Path<String>,
) -> Result<HttpResponse, GpcError> {
    let (caller, _) = crate::admit(&req, Interaction::PatientAppointments, &facade).await?;
    let nhs = patient_id(&id)?;
    let (from, to) = date_range(req.query_string(), facade.clock.now())?;
    let query = AppointmentQuery {
        from: Some(from),
        to: Some(to),
        nhs_number: Some(nhs),
        ..AppointmentQuery::default()
    };
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let page = facade
            .hubbook
            .list_appointments(&caller, query.clone(), after, 100)
            .await
            .map_err(from_service)?;
        for a in page.items {
            let d = detail(&facade.hubbook, &caller, &a.id).await?;
            entries.push(
                json!({"fullUrl": format!("Appointment/{}", a.id), "resource": resource(&d)}),
            );
        }
        after = page.next_after;
        if after.is_none() {
            break;
        }
    }
    let mut bundle = json!({"resourceType": "Bundle", "type": "searchset"});
    if !entries.is_empty() {
        bundle["entry"] = json!(entries);
    }
    Ok(crate::fhir(StatusCode::OK, &bundle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Value {
        json!({
            "resourceType": "Appointment",
            "meta": {"profile": [url(APPOINTMENT_PROFILE)]},
            "contained": [{
                "resourceType": "Organization", "id": "1",
                "identifier": [{"system": ODS_SYSTEM, "value": "A20047"}],
                "type": [{"coding": [{"system": ORGANISATION_TYPE_SYSTEM, "code": "urgent-care"}]}],
                "name": "Test 111", "telecom": [{"system": "phone", "value": "0300 303 5678"}],
            }],
            "extension": [{"url": url(BOOKING_ORGANISATION), "valueReference": {"reference": "#1"}}],
            "status": "booked",
            "description": "Sore throat",
            "start": "2026-12-07T18:30:00+00:00",
            "end": "2026-12-07T18:45:00+00:00",
            "slot": [{"reference": "Slot/0193-slot"}],
            "created": "2026-12-01T08:00:00+00:00",
            "participant": [
                {"actor": {"reference": "Patient/9990000018"}, "status": "accepted"},
                {"actor": {"reference": "Location/site-1"}, "status": "accepted"},
            ],
        })
    }

    #[test]
    fn a_booking_reads_its_slot_patient_place_and_organisation() {
        let b = booking(&body()).unwrap();
        assert_eq!(b.slots, vec!["0193-slot".to_owned()]);
        assert_eq!(b.patient.as_str(), "9990000018");
        assert_eq!(b.location, "site-1");
        assert_eq!(b.organisation.ods, "A20047");
        assert_eq!(b.organisation.kind.as_deref(), Some("urgent-care"));
        assert_eq!(b.comment, None);
    }

    #[test]
    fn a_booking_is_refused_as_gp_connect_has_it() {
        let refused = |change: &dyn Fn(&mut Value)| {
            let mut b = body();
            change(&mut b);
            booking(&b).unwrap_err().code
        };
        type Change = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Change)> = vec![
            ("reason", Box::new(|b| b["reason"] = json!([{"text": "x"}]))),
            (
                "specialty",
                Box::new(|b| b["specialty"] = json!({"text": "x"})),
            ),
            (
                "unknown element",
                Box::new(|b| b["invalidField"] = json!(1)),
            ),
            (
                "resource type",
                Box::new(|b| b["resourceType"] = json!("Patient")),
            ),
            (
                "no start",
                Box::new(|b| {
                    b.as_object_mut().unwrap().remove("start");
                }),
            ),
            (
                "no slot",
                Box::new(|b| {
                    b.as_object_mut().unwrap().remove("slot");
                }),
            ),
            ("status", Box::new(|b| b["status"] = json!("proposed"))),
            (
                "bad slot",
                Box::new(|b| b["slot"][0]["reference"] = json!("Slot/45555555##")),
            ),
            (
                "absolute org",
                Box::new(|b| {
                    b["extension"][0]["valueReference"]["reference"] = json!("https://x.example/#1")
                }),
            ),
            (
                "org without telecom",
                Box::new(|b| {
                    b["contained"][0].as_object_mut().unwrap().remove("telecom");
                }),
            ),
            (
                "no location",
                Box::new(|b| {
                    b["participant"].as_array_mut().unwrap().pop();
                }),
            ),
            (
                "participant without status",
                Box::new(|b| {
                    b["participant"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("status");
                }),
            ),
            (
                "empty identifier",
                Box::new(|b| b["identifier"] = json!([{"system": "x"}])),
            ),
        ];
        for (name, change) in cases {
            assert_eq!(refused(&*change), ErrorCode::InvalidResource, "{name}");
        }
    }

    #[test]
    fn a_patient_search_takes_two_dates_from_today() {
        let now = "2026-12-01T08:00:00Z".parse().unwrap();
        let (from, to) = date_range("start=ge2026-12-01&start=le2026-12-14", now).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-12-15T00:00:00+00:00");
        for bad in [
            "start=ge2026-12-01",
            "start=2026-12-01&start=2026-12-03",
            "start=ge2026-12-01&start=ge2026-12-03",
            "start=ge2026-12-01&start=le2026-12-03T10:00:00",
            "start=ge2026-12&start=le2026-12-03",
            "start=ge2026-11-30&start=le2026-12-03",
            "start=ge2026-12-05&start=le2026-12-03",
        ] {
            assert_eq!(
                date_range(bad, now).unwrap_err().code,
                ErrorCode::InvalidParameter,
                "{bad}"
            );
        }
    }
}
