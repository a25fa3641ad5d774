//! 111 triage: book the best fitting slot within a disposition's timeframe, or say at once that
//! there is none and where the next one is; and ask the same question without booking. The rule
//! that picks the slot is `hubbook_core::triage`.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use hubbook_core::access::Forbidden;
use hubbook_core::patient::Patient;
use hubbook_core::ranking::Candidate;
use hubbook_core::sharing::Viewer;
use hubbook_core::triage::{self as rule, DeliveryFit, Window, NEXT_SLOT_HORIZON_DAYS};
use hubbook_core::{Coordinates, OdsCode, Postcode, Refusal, Role};
use hubbook_store::ids::{AppointmentId, ClusterId, HoldId, SiteId, SlotId};
use hubbook_store::models::{Appointment, Practice, TriageBooking};
use hubbook_store::repo::booking::{self, NewBooking};
use hubbook_store::repo::dispositions::{self, DispositionEntry};
use hubbook_store::repo::idempotency::{self, Claim, Once};
use hubbook_store::repo::sharing::{self, SlotSearch};
use hubbook_store::repo::{appointments as appointment_repo, practices, sites};
use hubbook_store::{DbConn, StoreError};

use crate::access::clusters_of;
use crate::booking::{day_bounds, patient_booking};
use crate::error::found;
use crate::kept::{KeptReference, Reference};
use crate::slots::{arrange, offers, Offer, MAX_RANKED};
use crate::viewer::viewer_for;
use crate::{Caller, Hubbook, ServiceError};

/// The most clusters a triage search looks in: those with a site nearest the patient. A
/// national 111 service books in every cluster of England; looking at all 1,250 for each patient
/// took seconds, and the nearest slot is in a nearby cluster anyway.
pub const NEAREST_CLUSTERS: usize = 16;

/// A holder no hold has: searches for an automatic pick hide every live hold, the caller's own
/// included (a 111 service's call handlers share one identity).
const NO_HOLDER: &str = "-";

/// Where the patient is: a postcode, or coordinates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Location {
    /// The patient's postcode, placed by the cluster's sites.
    pub postcode: Option<String>,
    /// Latitude, with `longitude`.
    pub latitude: Option<f64>,
    /// Longitude, with `latitude`.
    pub longitude: Option<f64>,
}

/// A triage booking as a 111 service asks for it.
#[derive(Debug, Clone)]
pub struct TriageBook {
    /// The disposition code.
    pub disposition: String,
    /// When the patient was triaged; the timeframe runs from here.
    pub triaged_at: DateTime<Utc>,
    /// The patient.
    pub patient: Patient,
    /// The patient's registered practice (ODS code).
    pub registered_practice: Option<String>,
    /// Only this cluster (code).
    pub cluster: Option<String>,
    /// Where the patient is.
    pub location: Location,
    /// Book this slot rather than letting hubbook choose.
    pub slot_id: Option<String>,
    /// Book the slot of this hold.
    pub hold_id: Option<String>,
    /// Why the patient is being seen.
    pub reason: Option<String>,
    /// The triage service's case reference.
    pub case_reference: Option<String>,
}

/// A booked 111 appointment with the slot as offered and what it was triaged for.
#[derive(Debug, Clone)]
pub struct TriageBooked {
    /// The appointment.
    pub appointment: Appointment,
    /// The slot as offered (site, service, distance).
    pub offer: Offer,
    /// What it was triaged for.
    pub triage: TriageBooking,
}

/// A question of availability: could a patient with this disposition be booked now?
#[derive(Debug, Clone)]
pub struct AvailabilityQuestion {
    /// Only this cluster (code).
    pub cluster: Option<String>,
    /// The disposition code.
    pub disposition: String,
    /// Where the patient is.
    pub location: Location,
    /// The patient's registered practice (ODS code).
    pub registered_practice: Option<String>,
    /// When the patient was triaged; now when absent.
    pub triaged_at: Option<DateTime<Utc>>,
}

/// The answer to an availability question.
#[derive(Debug, Clone)]
pub struct TriageAvailability {
    /// The disposition asked about.
    pub disposition: String,
    /// When its timeframe ends.
    pub due_by: DateTime<Utc>,
    /// The fitting slots, best first (up to [`MAX_RANKED`]): the first is what a booking now takes.
    pub fitting: Vec<Offer>,
    /// When nothing fits: the earliest fitting slot after the timeframe, within the horizon.
    pub next_slot: Option<Offer>,
}

fn triage_only(who: &Caller) -> Result<(), ServiceError> {
    if who.role == Role::Triage {
        Ok(())
    } else {
        Err(Forbidden("the triage endpoints are for triage services (client credentials)").into())
    }
}

impl Hubbook {
    /// Books a 111 patient into the best slot that fits the disposition (open to 111, within the
    /// timeframe, of a fitting delivery and service; nearest, then earliest), or the slot or hold
    /// the caller chose if it fits; otherwise `NoCapacity` with the earliest later slot. With a
    /// claim, a retry books once.
    pub async fn triage_book(
        &self,
        who: &Caller,
        claim: Option<Claim>,
        request: TriageBook,
    ) -> Result<TriageBooked, ServiceError> {
        triage_only(who)?;
        let (who, now, kept) = (who.clone(), self.now(), Arc::clone(&self.kept));
        request.patient.born_by(now.date_naive())?;
        let change = self.change(&who);
        self.run_for(who, move |c, who| {
            let created = idempotency::once(
                c,
                claim.as_ref(),
                now.naive_utc(),
                |c| book_fitting(c, &kept, who, &change, now, &request),
                |b: &TriageBooked| {
                    Ok(serde_json::json!({
                        "cluster_id": b.appointment.cluster_id,
                        "appointment_id": b.appointment.id,
                        "distance_km": b.offer.distance_km,
                    })
                    .to_string())
                },
            )?;
            match created {
                Once::Created(booked) => Ok(booked),
                Once::Replayed(record) => replayed(c, &kept, who, &record),
            }
        })
        .await
    }

    /// Could a patient with this disposition be booked now, and where? Nothing is held or booked.
    pub async fn triage_availability(
        &self,
        who: &Caller,
        question: AvailabilityQuestion,
    ) -> Result<TriageAvailability, ServiceError> {
        triage_only(who)?;
        let (who, now, kept) = (who.clone(), self.now(), Arc::clone(&self.kept));
        self.run_for(who, move |c, who| {
            let need = Need::resolve(
                c,
                &kept,
                who,
                now,
                &question.disposition,
                question.triaged_at.unwrap_or(now),
                question.cluster.as_deref(),
                question.registered_practice.as_deref(),
                &question.location,
            )?;
            let fitting = need.fitting(c, now)?;
            let next_slot = if fitting.is_empty() {
                need.next_later(c, now)?
            } else {
                None
            };
            Ok(TriageAvailability {
                disposition: need.disposition.disposition.code.clone(),
                due_by: need.window.due_by,
                fitting,
                next_slot,
            })
        })
        .await
    }
}

/// The booking itself, inside the idempotency transaction.
fn book_fitting(
    c: &mut DbConn,
    kept: &KeptReference,
    who: &Caller,
    change: &hubbook_store::repo::Change,
    now: DateTime<Utc>,
    req: &TriageBook,
) -> Result<TriageBooked, ServiceError> {
    let need = Need::resolve(
        c,
        kept,
        who,
        now,
        &req.disposition,
        req.triaged_at,
        req.cluster.as_deref(),
        req.registered_practice.as_deref(),
        &req.location,
    )?;
    let record = TriageBooking {
        cluster_id: (String::new()).into(),
        appointment_id: (String::new()).into(),
        disposition_code: need.disposition.disposition.code.clone(),
        triaged_at: req.triaged_at.naive_utc(),
        due_by: need.window.due_by.naive_utc(),
        case_reference: req.case_reference.clone(),
    };
    let new_booking = |slot_id: &str, hold_id: Option<String>| NewBooking {
        registered_practice_id: need.practice.as_ref().map(|p| p.id.clone()),
        reason: req.reason.clone(),
        own_holds_block: true,
        ..patient_booking(&req.patient, slot_id, hold_id)
    };
    let attempt = |c: &mut DbConn, offer: &Offer, hold_id: Option<String>| {
        let cluster_id = &offer.slot.cluster_id;
        let zone = need.refs.cluster(cluster_id)?.cluster.time_zone;
        let day = day_bounds(zone, offer.slot.starts_at.and_utc());
        let new = new_booking(&offer.slot.id, hold_id);
        booking::book_triage(c, change, cluster_id, &need.viewer, &new, day, &record)
            .map_err(ServiceError::from)
    };
    let chosen_slot = match (&req.slot_id, &req.hold_id) {
        (_, Some(hold_id)) => Some(
            match booking::hold_of(c, &HoldId::from(hold_id), &who.actor()) {
                Ok(hold) => hold.slot_id,
                Err(StoreError::NotFound) => return Err(Refusal::HoldExpired.into()),
                Err(e) => return Err(e.into()),
            },
        ),
        (Some(slot_id), None) => Some(SlotId::from(slot_id)),
        (None, None) => None,
    };
    let (appointment, offer) = match chosen_slot {
        Some(slot_id) => {
            if req.slot_id.as_ref().is_some_and(|s| slot_id != *s) {
                return Err(ServiceError::InvalidCommand(
                    "the hold is on another slot than slot_id",
                ));
            }
            let slot = found(sharing::find_slot(c, &need.cluster_ids, &slot_id), "slot")?;
            let mut offer = offers(&need.refs, vec![slot])?
                .pop()
                .ok_or_else(|| ServiceError::Internal("offer lost".into()))?;
            if let Some(why) = need.misfit(&offer) {
                return Err(ServiceError::SlotNotFitting(format!(
                    "the chosen slot does not fit {}: {why}",
                    need.disposition.disposition.code
                )));
            }
            offer.distance_km = offer.distance_from(need.origin);
            let appointment = attempt(c, &offer, req.hold_id.clone())?;
            (appointment, offer)
        }
        None => {
            let mut booked = None;
            let mut duplicate = None;
            for offer in need.fitting(c, now)? {
                match attempt(c, &offer, None) {
                    Ok(a) => {
                        booked = Some((a, offer));
                        break;
                    }
                    // The patient already has this service that day: another day may do.
                    Err(e @ ServiceError::Refused(Refusal::DuplicateBooking)) => {
                        duplicate = Some(e)
                    }
                    // Taken since the search (a racing booking), or no longer offered: the next
                    // best slot is tried.
                    Err(ServiceError::Store(StoreError::NotFound)) => continue,
                    Err(ServiceError::Refused(r)) if r.another_slot_may_do() => continue,
                    Err(e) => return Err(e),
                }
            }
            match (booked, duplicate) {
                (Some(b), _) => b,
                (None, Some(e)) => return Err(e),
                (None, None) => return Err(need.no_capacity(c, now)),
            }
        }
    };
    let mut triage = record;
    triage.cluster_id.clone_from(&appointment.cluster_id);
    triage.appointment_id.clone_from(&appointment.id);
    Ok(TriageBooked {
        appointment,
        offer,
        triage,
    })
}

/// What a replayed triage booking made, from its key's record. Records written before the
/// booking kept only the response name the appointment and the distance in it.
fn replayed(
    c: &mut DbConn,
    kept: &KeptReference,
    who: &Caller,
    record: &str,
) -> Result<TriageBooked, ServiceError> {
    let value: serde_json::Value =
        serde_json::from_str(record).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let (id, distance_km) = match value["appointment_id"].as_str() {
        Some(id) => (id.to_owned(), value["distance_km"].as_f64()),
        None => {
            let body: serde_json::Value = value["body"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or_default();
            let id = body["appointment"]["id"]
                .as_str()
                .ok_or_else(|| ServiceError::Internal("unreadable idempotency record".into()))?;
            (id.to_owned(), body["slot"]["distance_km"].as_f64())
        }
    };
    for cluster_id in clusters_of(who) {
        let appointment =
            match appointment_repo::get_appointment(c, &cluster_id, &AppointmentId::from(&id)) {
                Err(StoreError::NotFound) => continue,
                other => other?,
            };
        let slot = sharing::get_slot(c, &cluster_id, &appointment.slot_id)?;
        let refs = kept.read(c, std::slice::from_ref(&cluster_id))?;
        let mut offer = offers(&refs, vec![slot])?
            .pop()
            .ok_or_else(|| ServiceError::Internal("offer lost".into()))?;
        offer.distance_km = distance_km;
        let triage = booking::triage_of(c, &cluster_id, &AppointmentId::from(&id))?
            .ok_or_else(|| ServiceError::Internal("triage record lost".into()))?;
        return Ok(TriageBooked {
            appointment,
            offer,
            triage,
        });
    }
    Err(ServiceError::NotFound(
        "no appointment here that you may see".into(),
    ))
}

/// What a triage request looks for, resolved against the store.
struct Need {
    disposition: DispositionEntry,
    fit: DeliveryFit,
    window: Window,
    /// Every cluster the request may book in.
    cluster_ids: Vec<ClusterId>,
    /// The clusters searched for a slot: all of them, or the nearest to the patient.
    search_ids: Vec<ClusterId>,
    viewer: Viewer,
    practice: Option<Practice>,
    origin: Option<Coordinates>,
    /// The reference data of every cluster the request may book in.
    refs: Reference,
}

impl Need {
    /// Resolves a triage request: disposition, timeframe, clusters, practice and position.
    #[allow(clippy::too_many_arguments)]
    fn resolve(
        c: &mut DbConn,
        kept: &KeptReference,
        who: &Caller,
        now: DateTime<Utc>,
        code: &str,
        triaged_at: DateTime<Utc>,
        cluster: Option<&str>,
        registered: Option<&str>,
        location: &Location,
    ) -> Result<Self, ServiceError> {
        let disposition = disposition(c, code)?;
        let fit = disposition.disposition.delivery;
        let window = rule::window(
            triaged_at,
            i64::from(disposition.disposition.timeframe_minutes),
            now,
        )?;
        let refs = kept.read(c, &clusters_of(who))?;
        let (mut cluster_ids, viewer) = viewer_for(&refs, who, now, cluster)?;
        let practice = registered
            .map(|ods| practice_in(c, &cluster_ids, ods))
            .transpose()?;
        if let Some(p) = &practice {
            cluster_ids = vec![p.cluster_id.clone()];
        }
        let origin = origin(c, &cluster_ids, location, practice.as_ref())?;
        let search_ids = match origin {
            Some(here) if cluster_ids.len() > NEAREST_CLUSTERS => {
                let positions: Vec<(String, Coordinates)> = sites::site_positions(c, &cluster_ids)?
                    .into_iter()
                    .filter_map(|(id, lat, lon)| Coordinates::new(lat, lon).ok().map(|at| (id, at)))
                    .collect();
                rule::nearest_clusters(&positions, &cluster_ids, here, NEAREST_CLUSTERS)
            }
            _ => cluster_ids.clone(),
        };
        Ok(Self {
            search_ids,
            disposition,
            fit,
            window,
            cluster_ids,
            viewer,
            practice,
            origin,
            refs,
        })
    }

    /// A search for slots fitting the disposition that start in `[from, to)`.
    fn search(&self, now: DateTime<Utc>, from: DateTime<Utc>, to: DateTime<Utc>) -> SlotSearch {
        SlotSearch {
            cluster_ids: self.search_ids.clone(),
            viewer: self.viewer.clone(),
            holder: NO_HOLDER.to_owned(),
            now: now.naive_utc(),
            from: from.naive_utc(),
            to: to.naive_utc(),
            service_id: None,
            clinical_role: None,
            site_id: None,
            delivery: None,
            service_codes: Some(self.disposition.service_codes.clone()),
            deliveries: Some(
                self.fit
                    .deliveries()
                    .iter()
                    .map(|d| d.as_str().to_owned())
                    .collect(),
            ),
        }
    }

    /// The free slots that fit, best first by the triage rule, with their distances.
    fn fitting(&self, c: &mut DbConn, now: DateTime<Utc>) -> Result<Vec<Offer>, ServiceError> {
        let search = self.search(now, self.window.from, self.window.until());
        let slots = sharing::search_slots(c, &search, None, MAX_RANKED)?.items;
        let all = offers(&self.refs, slots)?;
        let candidates: Vec<Candidate<'_>> = all.iter().map(Offer::candidate).collect();
        let order: Vec<(usize, Option<f64>)> = rule::order(&candidates, self.origin)
            .iter()
            .map(|ch| (ch.index, ch.distance_km))
            .collect();
        Ok(arrange(all, order))
    }

    /// The earliest fitting slot after the timeframe, within the horizon.
    fn next_later(
        &self,
        c: &mut DbConn,
        now: DateTime<Utc>,
    ) -> Result<Option<Offer>, ServiceError> {
        let from = self.window.until() - Duration::seconds(1);
        let search = self.search(now, from, from + Duration::days(NEXT_SLOT_HORIZON_DAYS));
        let slots = sharing::search_slots(c, &search, None, 1)?.items;
        let mut found = offers(&self.refs, slots)?;
        if let Some(offer) = found.first_mut() {
            offer.distance_km = offer.distance_from(self.origin);
        }
        Ok(found.pop())
    }

    /// The refusal when nothing fits: what was looked for, and the next slot if there is one.
    fn no_capacity(&self, c: &mut DbConn, now: DateTime<Utc>) -> ServiceError {
        let next = match self.next_later(c, now) {
            Ok(next) => next,
            Err(e) => return e,
        };
        let code = &self.disposition.disposition.code;
        let detail = match &next {
            Some(n) => format!(
                "no slot fitting {code} is free before {}; the next starts at {} at {}",
                self.window.due_by.to_rfc3339(),
                n.slot.starts_at.and_utc().to_rfc3339(),
                n.site.name
            ),
            None => format!(
                "no slot fitting {code} is free before {}, nor in the {NEXT_SLOT_HORIZON_DAYS} days after",
                self.window.due_by.to_rfc3339()
            ),
        };
        ServiceError::NoCapacity {
            detail,
            next_slot: next.map(Box::new),
        }
    }

    /// Why a chosen slot does not fit, if it does not.
    fn misfit(&self, offer: &Offer) -> Option<String> {
        let starts_at = offer.slot.starts_at.and_utc();
        if !self.cluster_ids.contains(&offer.slot.cluster_id) {
            return Some("it is not in the registered practice's cluster".into());
        }
        if !self.window.contains(starts_at) {
            return Some(format!(
                "it starts at {}, outside the timeframe ending {}",
                starts_at.to_rfc3339(),
                self.window.due_by.to_rfc3339()
            ));
        }
        if !self.fit.fits(offer.slot.delivery) {
            return Some(format!(
                "it is a {} slot and the disposition needs {}",
                offer.slot.delivery,
                self.fit.as_str()
            ));
        }
        let codes = &self.disposition.service_codes;
        if !codes.contains(&offer.service.code)
            && !codes
                .iter()
                .any(|c| c == offer.service.clinical_role.as_str())
        {
            return Some(format!(
                "its service {} ({}) is not one the disposition names ({})",
                offer.service.code,
                offer.service.clinical_role,
                codes.join(", ")
            ));
        }
        None
    }
}

fn disposition(c: &mut DbConn, code: &str) -> Result<DispositionEntry, ServiceError> {
    match dispositions::get_disposition(c, code.trim()) {
        Ok(d) if d.disposition.active => Ok(d),
        Ok(_) => Err(ServiceError::UnknownDisposition(format!(
            "disposition {code} has been retired; see GET /api/v1/dispositions"
        ))),
        Err(StoreError::NotFound) => Err(ServiceError::UnknownDisposition(format!(
            "no disposition {code}; see GET /api/v1/dispositions"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The registered practice among the caller's clusters; its cluster is then the only one searched.
fn practice_in(
    c: &mut DbConn,
    cluster_ids: &[ClusterId],
    ods: &str,
) -> Result<Practice, ServiceError> {
    let code = OdsCode::parse(ods)?;
    match practices::find_practice_by_ods(c, cluster_ids, code.as_str()) {
        Ok(p) => Ok(p),
        Err(StoreError::NotFound) => Err(ServiceError::PracticeNotInCluster(code.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// The patient's position: coordinates as given, or a postcode placed by the cluster's sites
/// (same postcode, else the middle of the sites of its district), else the registered practice's
/// site. `None` when no location was given and there is no practice site.
fn origin(
    c: &mut DbConn,
    cluster_ids: &[ClusterId],
    location: &Location,
    practice: Option<&Practice>,
) -> Result<Option<Coordinates>, ServiceError> {
    let practice_site = |c: &mut DbConn| -> Result<Option<Coordinates>, ServiceError> {
        match practice.and_then(|p| p.site_id.as_ref().map(|s| (p, s))) {
            Some((p, site_id)) => {
                let site = sites::get_site(c, &p.cluster_id, &SiteId::from(site_id))?;
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
                None => Err(ServiceError::UnknownLocation(format!(
                    "{wanted} is not near a site hubbook knows; send the patient's latitude and longitude"
                ))),
            }
        }
        _ => Err(ServiceError::InvalidLocation),
    }
}
