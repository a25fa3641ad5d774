//! The 111 triage endpoints: book the best fitting slot within a disposition's timeframe, or say
//! at once that there is none and where the next one is; and ask the same question without
//! booking. The rule that picks the slot is `hubbook_core::triage`.

use std::collections::HashMap;

use actix_web::{get, http::header, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use hubbook_core::triage::{self as rule, DeliveryFit, Window, NEXT_SLOT_HORIZON_DAYS};
use hubbook_core::{Coordinates, OdsCode, Postcode, Role};
use hubbook_store::models::{Cluster, Practice, TriageBooking};
use hubbook_store::repo::booking::{self, NewBooking};
use hubbook_store::repo::dispositions::{self, DispositionEntry};
use hubbook_store::repo::sharing::{self, Searcher, SlotSearch};
use hubbook_store::repo::{clusters, practices, sites};
use hubbook_store::{ConflictKind, DbConn, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extract::idempotency_key;
use crate::idempotency::{self, Replay};
use crate::routes::appointments::{
    check_patient, local_day, optional_text, AppointmentView, PatientBody,
};
use crate::routes::slots::{arrange, candidates, offers, searcher_for, SlotOffer, MAX_RANKED};
use crate::{auth::Principal, ApiError, AppState};

/// Where the patient is: a postcode, or coordinates.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationBody {
    /// The patient's postcode. hubbook knows where its own sites are, not every address: a
    /// postcode is placed at the site with that postcode, else at the middle of the sites in its
    /// district (`LS1`), else at the registered practice's site; send coordinates when you have them.
    pub postcode: Option<String>,
    /// Latitude (WGS84), with `longitude`.
    pub latitude: Option<f64>,
    /// Longitude (WGS84), with `latitude`.
    pub longitude: Option<f64>,
}

/// A triage booking. Send an `Idempotency-Key` (required): a retry returns the same appointment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageBookingBody {
    /// The disposition code (from `GET /api/v1/dispositions`), e.g. `Dx05`.
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
    pub reason: Option<String>,
    /// Your own case reference, returned in every read.
    pub case_reference: Option<String>,
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

/// A holder no hold has: searches for an automatic pick hide every live hold, the caller's own
/// included (a triage service's call handlers share one identity).
const NO_HOLDER: &str = "-";

/// What a triage request looks for, resolved against the store.
struct Need {
    disposition: DispositionEntry,
    fit: DeliveryFit,
    window: Window,
    /// Every cluster the request may book in.
    cluster_ids: Vec<String>,
    /// The clusters searched for a slot: all of them, or the nearest to the patient.
    search_ids: Vec<String>,
    searcher: Searcher,
    practice: Option<Practice>,
    origin: Option<Coordinates>,
}

/// The most clusters a triage search looks in: those with a site nearest the patient. A
/// national 111 service books in every cluster of England; looking at all 1,250 for each patient
/// took seconds, and the nearest slot is in a nearby cluster anyway.
pub const NEAREST_CLUSTERS: usize = 16;

/// The `limit` clusters with a site nearest `origin` (see [`rule::nearest_clusters`]).
fn nearest_clusters(
    c: &mut DbConn,
    cluster_ids: &[String],
    origin: Coordinates,
    limit: usize,
) -> Result<Vec<String>, ApiError> {
    let positions: Vec<(String, Coordinates)> = sites::site_positions(c, cluster_ids)?
        .into_iter()
        .filter_map(|(id, lat, lon)| Coordinates::new(lat, lon).ok().map(|at| (id, at)))
        .collect();
    Ok(rule::nearest_clusters(
        &positions,
        cluster_ids,
        origin,
        limit,
    ))
}

fn triage_only(who: &Principal) -> Result<(), ApiError> {
    if who.role == Role::Triage {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "the triage endpoints are for triage services (client credentials)".into(),
        ))
    }
}

fn disposition(c: &mut DbConn, code: &str) -> Result<DispositionEntry, ApiError> {
    match dispositions::get_disposition(c, code.trim()) {
        Ok(d) if d.disposition.active => Ok(d),
        Ok(_) => Err(ApiError::Unprocessable(
            "unknown-disposition",
            format!("disposition {code} has been retired; see GET /api/v1/dispositions"),
        )),
        Err(StoreError::NotFound) => Err(ApiError::Unprocessable(
            "unknown-disposition",
            format!("no disposition {code}; see GET /api/v1/dispositions"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The registered practice among the caller's clusters; its cluster is then the only one searched.
fn practice_in(c: &mut DbConn, cluster_ids: &[String], ods: &str) -> Result<Practice, ApiError> {
    let code = OdsCode::parse(ods)?;
    match practices::find_practice_by_ods(c, cluster_ids, code.as_str()) {
        Ok(p) => Ok(p),
        Err(StoreError::NotFound) => Err(ApiError::Unprocessable(
            "practice-not-in-cluster",
            format!("practice {code} is not a member of a cluster you book in"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The patient's position: coordinates as given, or a postcode placed by the cluster's sites
/// (same postcode, else the middle of the sites of its district), else the registered practice's
/// site. `None` when no location was given and there is no practice site.
fn origin(
    c: &mut DbConn,
    cluster_ids: &[String],
    location: &LocationBody,
    practice: Option<&Practice>,
) -> Result<Option<Coordinates>, ApiError> {
    let practice_site = |c: &mut DbConn| -> Result<Option<Coordinates>, ApiError> {
        match practice.and_then(|p| p.site_id.as_ref().map(|s| (p, s))) {
            Some((p, site_id)) => {
                let site = sites::get_site(c, &p.cluster_id, site_id)?;
                Ok(Coordinates::new(site.latitude, site.longitude).ok())
            }
            None => Ok(None),
        }
    };
    match (location.latitude, location.longitude, &location.postcode) {
        (Some(lat), Some(lon), None) => Ok(Some(Coordinates::new(lat, lon)?)),
        (None, None, None) => practice_site(c),
        (None, None, Some(postcode)) => {
            let wanted = Postcode::parse(postcode)?;
            let district = wanted.as_str().split(' ').next().unwrap_or_default();
            let mut same_district = Vec::new();
            for site in sites::sites_of_clusters(c, cluster_ids)? {
                if site.postcode == wanted.as_str() {
                    return Ok(Some(Coordinates::new(site.latitude, site.longitude)?));
                }
                if site.postcode.split(' ').next() == Some(district) {
                    same_district.push((site.latitude, site.longitude));
                }
            }
            if !same_district.is_empty() {
                let n = same_district.len() as f64;
                let (lat, lon) = same_district
                    .iter()
                    .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
                return Ok(Some(Coordinates::new(lat / n, lon / n)?));
            }
            match practice_site(c)? {
                Some(here) => Ok(Some(here)),
                None => Err(ApiError::Unprocessable(
                    "unknown-location",
                    format!("{wanted} is not near a site hubbook knows; send the patient's latitude and longitude"),
                )),
            }
        }
        _ => Err(ApiError::Unprocessable(
            "invalid-location",
            "give the patient's postcode, or latitude and longitude together, not both".into(),
        )),
    }
}

/// Resolves a triage request: disposition, timeframe, clusters, practice and position.
#[allow(clippy::too_many_arguments)]
fn need(
    c: &mut DbConn,
    who: &Principal,
    now: DateTime<Utc>,
    code: &str,
    triaged_at: DateTime<Utc>,
    cluster: Option<&str>,
    registered: Option<&str>,
    location: &LocationBody,
) -> Result<Need, ApiError> {
    let disposition = disposition(c, code)?;
    let fit = DeliveryFit::parse(&disposition.disposition.delivery)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let window = rule::window(
        triaged_at,
        i64::from(disposition.disposition.timeframe_minutes),
        now,
    )?;
    let (mut cluster_ids, searcher) = searcher_for(c, who, now, cluster)?;
    let practice = registered
        .map(|ods| practice_in(c, &cluster_ids, ods))
        .transpose()?;
    if let Some(p) = &practice {
        cluster_ids = vec![p.cluster_id.clone()];
    }
    let origin = origin(c, &cluster_ids, location, practice.as_ref())?;
    let search_ids = match origin {
        Some(here) if cluster_ids.len() > NEAREST_CLUSTERS => {
            nearest_clusters(c, &cluster_ids, here, NEAREST_CLUSTERS)?
        }
        _ => cluster_ids.clone(),
    };
    Ok(Need {
        search_ids,
        disposition,
        fit,
        window,
        cluster_ids,
        searcher,
        practice,
        origin,
    })
}

fn naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

impl Need {
    /// A search for slots fitting the disposition that start in `[from, to)`.
    fn search(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> SlotSearch {
        SlotSearch {
            cluster_ids: self.search_ids.clone(),
            searcher: self.searcher.clone(),
            holder: holder.to_owned(),
            now: naive(now),
            from: naive(from),
            to: naive(to),
            service_id: None,
            clinical_role: None,
            site_id: None,
            delivery: None,
            service_codes: Some(self.disposition.service_codes.clone()),
            deliveries: Some(
                self.fit
                    .deliveries()
                    .iter()
                    .map(|d| (*d).to_owned())
                    .collect(),
            ),
        }
    }

    /// The free slots that fit, best first by the triage rule, with their distances.
    fn fitting(
        &self,
        c: &mut DbConn,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<SlotOffer>, ApiError> {
        let search = self.search(holder, now, self.window.from, self.window.until());
        let slots = sharing::search_slots(c, &search, None, MAX_RANKED)?.items;
        let all = offers(c, slots)?;
        let order = rule::order(&candidates(&all), self.origin);
        Ok(arrange(
            all,
            order.iter().map(|ch| (ch.index, ch.distance_km)),
        ))
    }

    /// The earliest fitting slot after the timeframe, within the horizon.
    fn next_later(
        &self,
        c: &mut DbConn,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SlotOffer>, ApiError> {
        let from = self.window.until() - Duration::seconds(1);
        let search = self.search(
            holder,
            now,
            from,
            from + Duration::days(NEXT_SLOT_HORIZON_DAYS),
        );
        let slots = sharing::search_slots(c, &search, None, 1)?.items;
        let mut found = offers(c, slots)?;
        if let Some(offer) = found.first_mut() {
            offer.distance_km = offer.distance_from(self.origin);
        }
        Ok(found.pop())
    }

    fn no_capacity(&self, c: &mut DbConn, holder: &str, now: DateTime<Utc>) -> ApiError {
        let next = match self.next_later(c, holder, now) {
            Ok(next) => next,
            Err(e) => return e,
        };
        let code = &self.disposition.disposition.code;
        let detail = match &next {
            Some(n) => format!(
                "no slot fitting {code} is free before {}; the next starts at {} at {}",
                self.window.due_by.to_rfc3339(),
                n.starts_at.to_rfc3339(),
                n.site.name
            ),
            None => format!(
                "no slot fitting {code} is free before {}, nor in the {NEXT_SLOT_HORIZON_DAYS} days after",
                self.window.due_by.to_rfc3339()
            ),
        };
        ApiError::NoCapacity {
            detail,
            next_slot: next.and_then(|n| serde_json::to_value(n).ok()),
        }
    }

    /// Why a chosen slot does not fit, if it does not.
    fn misfit(&self, offer: &SlotOffer) -> Option<String> {
        if !self.cluster_ids.contains(&offer.cluster_id.clone()) {
            return Some("it is not in the registered practice's cluster".into());
        }
        if !self.window.contains(offer.starts_at) {
            return Some(format!(
                "it starts at {}, outside the timeframe ending {}",
                offer.starts_at.to_rfc3339(),
                self.window.due_by.to_rfc3339()
            ));
        }
        if !self.fit.fits(&offer.delivery) {
            return Some(format!(
                "it is a {} slot and the disposition needs {}",
                offer.delivery,
                self.fit.as_str()
            ));
        }
        if !self.disposition.service_codes.contains(&offer.service.code)
            && !self
                .disposition
                .service_codes
                .contains(&offer.clinical_role)
        {
            return Some(format!(
                "its service {} ({}) is not one the disposition names ({})",
                offer.service.code,
                offer.clinical_role,
                self.disposition.service_codes.join(", ")
            ));
        }
        None
    }
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
        (status = 400, description = "`idempotency-key-required`, `malformed-json`", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid-token`: missing, expired, or issued against a secret or client since revoked", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not a triage service", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: the cluster or chosen slot is not one you may book in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no-capacity` (this shape, with `next_slot`); otherwise a plain problem: `slot-unavailable` (the chosen slot was taken), `slot-not-offered` (the chosen slot is not open to 111 now), `slot-in-past`, `hold-expired` (the hold is unknown, someone else's or expired), `duplicate-booking` (the patient already has this service that day), `idempotency-key-reused` (the key was used with another request)", body = NoCapacityProblem, content_type = "application/problem+json"),
        (status = 422, description = "`unknown-disposition` (unknown or retired), `timeframe-passed`, `triage-time-in-future`, `practice-not-in-cluster`, `slot-not-fitting`, `unknown-location`, `invalid-location`, `invalid-nhs-number`, `invalid-phone`, `invalid-birth-date`, `invalid-email`, `invalid-name`, `invalid-body`", body = crate::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service-busy`: retry after the `Retry-After` seconds with the same `Idempotency-Key`", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/triage/bookings")]
pub async fn book(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    body: web::Json<TriageBookingBody>,
) -> Result<HttpResponse, ApiError> {
    triage_only(&who)?;
    let body = body.into_inner();
    if idempotency_key(&req)?.is_none() {
        return Err(ApiError::InvalidHeader(
            "idempotency-key-required",
            "a triage booking needs an Idempotency-Key header, e.g. the 111 case id".into(),
        ));
    }
    let replay = Replay::from_request(&state, &req, &who, "POST /triage/bookings", &body)?;
    let now = state.clock.now();
    let patient = check_patient(&body.patient, now.date_naive())?;
    let reason = optional_text("reason", body.reason.as_deref(), 500)?;
    let case_reference = optional_text("case_reference", body.case_reference.as_deref(), 100)?;
    let change = state.change(&who);
    let holder = who.actor();
    idempotency::create(&state, replay, move |c| {
        let need = need(
            c,
            &who,
            now,
            &body.disposition,
            body.triaged_at,
            body.cluster.as_deref(),
            body.registered_practice.as_deref(),
            &body.location,
        )?;
        let record = TriageBooking {
            cluster_id: String::new(),
            appointment_id: String::new(),
            disposition_code: need.disposition.disposition.code.clone(),
            triaged_at: naive(body.triaged_at),
            due_by: naive(need.window.due_by),
            case_reference,
        };
        let new_booking = |slot_id: &str, hold_id: Option<String>| NewBooking {
            slot_id: slot_id.to_owned(),
            hold_id,
            nhs_number: patient.nhs_number.clone(),
            patient_name: patient.name.clone(),
            patient_birth_date: patient.birth_date,
            patient_phone: patient.phone.clone(),
            patient_email: patient.email.clone(),
            adjustments: patient.adjustments.clone(),
            registered_practice_id: need.practice.as_ref().map(|p| p.id.clone()),
            booking_practice_id: None,
            reason: reason.clone(),
            requester_ods: None,
            requester_reference: None,
            allow_same_day: false,
            own_holds_block: true,
        };
        let mut cluster_cache: HashMap<String, Cluster> = HashMap::new();
        let mut attempt = |c: &mut DbConn, offer: &SlotOffer, hold_id: Option<String>| {
            let cluster_id = offer.cluster_id.clone();
            if !cluster_cache.contains_key(&cluster_id) {
                cluster_cache.insert(cluster_id.clone(), clusters::get_cluster(c, &cluster_id)?);
            }
            let cluster = &cluster_cache[&cluster_id];
            let day = local_day(cluster, offer.starts_at)?;
            let new = new_booking(&offer.slot_id, hold_id);
            booking::book_triage(c, &change, &cluster.id, &need.searcher, &new, day, &record)
                .map_err(ApiError::from)
        };
        let chosen_slot = match (&body.slot_id, &body.hold_id) {
            (_, Some(hold_id)) => Some(match booking::hold_of(c, hold_id, &holder) {
                Ok(hold) => hold.slot_id,
                Err(StoreError::NotFound) => {
                    return Err(StoreError::Conflict(ConflictKind::HoldExpired).into())
                }
                Err(e) => return Err(e.into()),
            }),
            (Some(slot_id), None) => Some(slot_id.clone()),
            (None, None) => None,
        };
        let (appointment, offer) = match chosen_slot {
            Some(slot_id) => {
                if body.slot_id.as_ref().is_some_and(|s| *s != slot_id) {
                    return Err(ApiError::Unprocessable(
                        "invalid-body",
                        "the hold is on another slot than slot_id".into(),
                    ));
                }
                let slot = crate::access::found(
                    sharing::find_slot(c, &need.cluster_ids, &slot_id),
                    "slot",
                )?;
                let mut offer = offers(c, vec![slot])?
                    .pop()
                    .ok_or_else(|| ApiError::Internal("offer lost".into()))?;
                if let Some(why) = need.misfit(&offer) {
                    return Err(ApiError::Unprocessable(
                        "slot-not-fitting",
                        format!(
                            "the chosen slot does not fit {}: {why}",
                            need.disposition.disposition.code
                        ),
                    ));
                }
                offer.distance_km = offer.distance_from(need.origin);
                let appointment = attempt(c, &offer, body.hold_id.clone())?;
                (appointment, offer)
            }
            None => {
                let mut booked = None;
                let mut duplicate = None;
                for offer in need.fitting(c, NO_HOLDER, now)? {
                    match attempt(c, &offer, None) {
                        Ok(a) => {
                            booked = Some((a, offer));
                            break;
                        }
                        // The patient already has this service that day: another day may do.
                        Err(
                            e @ ApiError::Store(StoreError::Conflict(
                                ConflictKind::DuplicateBooking,
                            )),
                        ) => {
                            duplicate = Some(e);
                        }
                        // Taken since the search (a racing booking), or no longer offered:
                        // the next best slot is tried.
                        Err(ApiError::Store(
                            StoreError::NotFound
                            | StoreError::Conflict(
                                ConflictKind::SlotUnavailable
                                | ConflictKind::SlotInPast
                                | ConflictKind::NotOffered(_),
                            ),
                        )) => continue,
                        Err(e) => return Err(e),
                    }
                }
                match (booked, duplicate) {
                    (Some(b), _) => b,
                    (None, Some(e)) => return Err(e),
                    (None, None) => return Err(need.no_capacity(c, NO_HOLDER, now)),
                }
            }
        };
        let version = appointment.version;
        let mut triage = record.clone();
        triage.appointment_id.clone_from(&appointment.id);
        Ok((
            TriageBookingView {
                appointment: AppointmentView::from(appointment),
                slot: offer,
                triage: TriageView::from(triage),
            },
            Some(version),
        ))
    })
    .await
}

/// Could a patient with this disposition be booked now, and where? Answers what a booking made
/// now would take (`best`), the earliest fitting start, and, when nothing fits, the earliest
/// slot after the timeframe. Nothing is held or booked; cheap enough to call on every triage.
#[utoipa::path(
    tag = "triage",
    params(AvailabilityQuery),
    responses(
        (status = 200, body = Availability),
        (status = 400, description = "`invalid-query`: `near` is neither a postcode nor `latitude,longitude`", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid-token`", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not a triage service", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: not a cluster you book in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`unknown-disposition`, `timeframe-passed`, `triage-time-in-future`, `practice-not-in-cluster`, `unknown-location`, `invalid-location`, `invalid-postcode`, `invalid-coordinates`", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/triage/availability")]
pub async fn availability(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<AvailabilityQuery>,
) -> Result<HttpResponse, ApiError> {
    triage_only(&who)?;
    let q = query.into_inner();
    let location = match q.near.as_deref().map(str::trim) {
        None | Some("") => LocationBody::default(),
        Some(near) => match near.split_once(',') {
            Some((lat, lon)) => LocationBody {
                postcode: None,
                latitude: Some(lat.trim().parse().map_err(|_| bad_near())?),
                longitude: Some(lon.trim().parse().map_err(|_| bad_near())?),
            },
            None => LocationBody {
                postcode: Some(near.to_owned()),
                ..LocationBody::default()
            },
        },
    };
    let now = state.clock.now();
    let answer = state
        .db(move |c| {
            let need = need(
                c,
                &who,
                now,
                &q.disposition,
                q.triaged_at.unwrap_or(now),
                q.cluster.as_deref(),
                q.registered_practice.as_deref(),
                &location,
            )?;
            let fitting = need.fitting(c, NO_HOLDER, now)?;
            let earliest_start = fitting.iter().map(|o| o.starts_at).min();
            let next_slot = if fitting.is_empty() {
                need.next_later(c, NO_HOLDER, now)?
            } else {
                None
            };
            Ok(Availability {
                disposition: need.disposition.disposition.code.clone(),
                due_by: need.window.due_by,
                bookable: !fitting.is_empty(),
                fitting_slots: fitting.len(),
                best: fitting.into_iter().next(),
                earliest_start,
                next_slot,
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}

fn bad_near() -> ApiError {
    ApiError::InvalidQuery("`near` is a postcode or `latitude,longitude`".into())
}
