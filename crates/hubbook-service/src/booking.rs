//! Holding and booking slots, and changing a booked appointment: the use cases of a receptionist
//! (or a manager acting for a practice) on the phone with a patient.
//!
//! A booking's path: [`Hubbook::book`] checks the caller and the patient with core rules, finds
//! the slot as the caller's [`Viewer`] sees it, and hands one [`NewBooking`] to
//! `hubbook_store::repo::booking::book`, whose transaction claims the slot; the partial unique
//! index `appointments_one_live_per_slot` refuses a second live appointment whatever the race.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use hubbook_core::access::{permit, Action, Forbidden};
use hubbook_core::appointment::Outcome;
use hubbook_core::patient::{Patient, Requester};
use hubbook_core::sharing::Viewer;
use hubbook_core::{
    validate_name, validate_optional_name, ClusterTimeZone, LocalDay, NhsNumber, Role,
};
use hubbook_store::ids::{AppointmentId, HoldId, PracticeId, SlotId};
use hubbook_store::models::{self, Appointment, Hold};
use hubbook_store::repo::booking::{self, NewBooking, Reschedule};
use hubbook_store::repo::idempotency::Claim;
use hubbook_store::repo::{appointments as appointment_repo, sharing};
use hubbook_store::DbConn;

use crate::access::{clusters_of, own_cluster};
use crate::appointments::{detail_of, visible_appointment, whole, AppointmentDetail};
use crate::error::found;
use crate::idempotency::create_once;
use crate::kept::KeptReference;
use crate::patients::known_patient;
use crate::viewer::{member_practice_in, viewer_for};
use crate::{Caller, Hubbook, ServiceError};

/// A booking as a receptionist (or a manager on a practice's behalf) asks for it; its values have
/// passed the core checks (a front end builds it with `TryFrom` from what it was sent).
#[derive(Debug, Clone)]
pub struct BookAppointment {
    /// The slot.
    pub slot_id: String,
    /// The caller's hold on it, if it took one.
    pub hold_id: Option<String>,
    /// The patient.
    pub patient: Patient,
    /// The patient's registered practice (ODS code); the caller's when absent.
    pub registered_practice: Option<String>,
    /// Why the patient is being seen.
    pub reason: Option<String>,
    /// Who asked for the appointment, when not the patient's practice.
    pub requester: Option<Requester>,
    /// A manager may book a second appointment for the same service on the same day.
    pub allow_same_day: bool,
    /// A manager books on behalf of this practice (ODS code).
    pub on_behalf_of: Option<String>,
    /// Notes for the clinician, given with the booking.
    pub notes: Option<String>,
    /// How the requester described itself (name, phone, organisation type), kept beside the
    /// appointment; only with a requester.
    pub requester_contact: Option<RequesterContact>,
    /// Further slots booked with `slot_id` as one appointment, in time order: each must start
    /// when the one before ends, in the same session, service and delivery channel.
    pub further_slots: Vec<String>,
    /// A triage service books the slot it chose with no disposition, as a GP Connect consumer
    /// does (GP Connect carries none); the JSON API's triage services book through
    /// `triage_book` instead, within the disposition's timeframe.
    pub triage_without_disposition: bool,
    /// The slots as the caller saw them (a GP Connect Appointment repeats their times, place and
    /// delivery channel): when given, a booking whose slots are otherwise is refused with
    /// [`ServiceError::SlotNotAsSent`] and nothing is booked.
    pub as_seen: Option<SeenSlots>,
}

/// What a caller saw of the slots it books: checked against them in the booking's transaction,
/// so that it never books a slot that moved or was not the one it meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenSlots {
    /// When the first slot starts.
    pub starts_at: DateTime<Utc>,
    /// When the last slot ends.
    pub ends_at: DateTime<Utc>,
    /// The site the slots are at.
    pub site_id: String,
    /// Their delivery channel, when the caller named one.
    pub delivery: Option<hubbook_core::rota::Delivery>,
}

/// What a consumer asks of a booked appointment it was shown whole ([`Hubbook::change_detail`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetailChange {
    /// Cancel it, for this reason.
    Cancel {
        /// Why.
        reason: String,
    },
    /// Replace its reason and notes together (GP Connect's amend of description and comment).
    Amend {
        /// The new reason, or none.
        reason: Option<String>,
        /// The new notes for the clinician, or none.
        notes: Option<String>,
    },
}

/// How an organisation asking for an appointment describes itself: GP Connect's booking
/// organisation, whose details must come back on every read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequesterContact {
    /// Its name.
    pub name: String,
    /// Its phone number.
    pub phone: String,
    /// Its organisation type as GP Connect codes it (e.g. `urgent-care`), when given.
    pub organisation_type: Option<String>,
}

/// The instants of the local day of `at` in a cluster's zone, as the store bounds queries.
pub fn day_bounds(
    zone: ClusterTimeZone,
    at: DateTime<Utc>,
) -> (chrono::NaiveDateTime, chrono::NaiveDateTime) {
    let LocalDay { from, to, .. } = zone.day_of(at);
    (from.naive_utc(), to.naive_utc())
}

/// Who may book how: a receptionist for its own practice, without the manager's exceptions; a
/// manager only on a practice's behalf; a triage service as itself, when it books without a
/// disposition (GP Connect).
fn check_booker(who: &Caller, cmd: &BookAppointment) -> Result<(), ServiceError> {
    if who.role == Role::Triage && cmd.triage_without_disposition {
        // A triage service books the slot it chose (a GP Connect consumer does) as itself.
        permit(who.role, Action::Book)?;
        return if cmd.on_behalf_of.is_none() && !cmd.allow_same_day {
            Ok(())
        } else {
            Err(Forbidden("a triage service books as itself, with no exceptions").into())
        };
    }
    permit(who.role, Action::BookForPractice)?;
    match (who.role, &cmd.on_behalf_of) {
        (Role::Receptionist, None) if !cmd.allow_same_day => Ok(()),
        (Role::Receptionist, _) => Err(Forbidden(
            "only a cluster manager may book on behalf of a practice or a second same-day appointment",
        )
        .into()),
        (_, Some(_)) => Ok(()),
        (_, None) => Err(ServiceError::InvalidCommand(
            "a cluster manager books on behalf of a practice: give on_behalf_of",
        )),
    }
}

impl Hubbook {
    /// Holds a slot for the caller while the patient confirms: a live hold keeps every other
    /// booker out; holding again extends the caller's own hold.
    pub async fn hold_slot(&self, who: &Caller, slot_id: String) -> Result<Hold, ServiceError> {
        let (who, now, ttl) = (who.clone(), self.now(), self.hold_ttl);
        let change = self.change(&who);
        let kept = Arc::clone(&self.kept);
        self.run(move |c| {
            let refs = kept.read(c, &clusters_of(&who))?;
            let (cluster_ids, viewer) = viewer_for(&refs, &who, now, None)?;
            let slot = found(
                sharing::find_slot(c, &cluster_ids, &SlotId::from(&slot_id)),
                "slot",
            )?;
            Ok(booking::hold_slot(
                c,
                &change,
                &slot.cluster_id,
                &slot.id,
                &viewer,
                ttl,
            )?)
        })
        .await
    }

    /// Lets the caller's hold go (only its holder may).
    pub async fn release_hold(&self, who: &Caller, hold_id: String) -> Result<Hold, ServiceError> {
        // Only those who may hold a slot have a hold to let go.
        permit(who.role, Action::Book)?;
        let change = self.change(who);
        self.run(move |c| {
            found(
                booking::release_hold(c, &change, &HoldId::from(&hold_id)),
                "hold",
            )
        })
        .await
    }

    /// Books a slot for a patient. With a claim, a retry of the same request returns the
    /// appointment the first one booked (however the two raced), and books nothing twice.
    pub async fn book(
        &self,
        who: &Caller,
        claim: Option<Claim>,
        cmd: BookAppointment,
    ) -> Result<Appointment, ServiceError> {
        // Checked here too, so that a caller who may not book is refused without the database.
        check_booker(who, &cmd)?;
        cmd.patient.born_by(today_utc(self.now()))?;
        self.book_then(who, claim, |_, _, _| Ok(Some(cmd)), |_, a| Ok(a))
            .await?
            .ok_or_else(|| ServiceError::Internal("a booking's command went missing".into()))
    }

    /// Books as [`Hubbook::book`] does, for the patient with this NHS number as the calling
    /// integration knows them ([`Hubbook::find_patient`]), the command made by `command` from
    /// the patient, and reads the appointment back whole (its slots, triage record, booking
    /// organisation's contact, site, service and session), all on one connection: what a
    /// front end that answers a booking with the whole resource needs. `None` when the
    /// integration knows no such patient, and nothing is booked.
    pub async fn book_known_patient(
        &self,
        who: &Caller,
        claim: Option<Claim>,
        nhs: NhsNumber,
        command: impl FnOnce(Patient) -> BookAppointment + Send + 'static,
    ) -> Result<Option<AppointmentDetail>, ServiceError> {
        self.book_then(
            who,
            claim,
            move |c, who, now| {
                Ok(known_patient(c, who, &nhs, now)?.map(|known| command(known.patient)))
            },
            |c, a| detail_of(c, a, true),
        )
        .await
    }

    /// Books the command `make` gives (`None` books nothing): the caller and the patient
    /// checked, the slot claimed in the transaction that writes the consumer's call, then
    /// `then` run on the booking after the commit, so that no writer waits on its reads.
    async fn book_then<T, M>(
        &self,
        who: &Caller,
        claim: Option<Claim>,
        make: M,
        then: fn(&mut DbConn, Appointment) -> Result<T, ServiceError>,
    ) -> Result<Option<T>, ServiceError>
    where
        T: Send + 'static,
        M: FnOnce(
                &mut DbConn,
                &Caller,
                DateTime<Utc>,
            ) -> Result<Option<BookAppointment>, ServiceError>
            + Send
            + 'static,
    {
        let (who, now, kept) = (who.clone(), self.now(), Arc::clone(&self.kept));
        let change = self.change(&who);
        self.run_audited(move |c, audit| {
            let Some(cmd) = make(c, &who, now)? else {
                return Ok(None);
            };
            check_booker(&who, &cmd)?;
            cmd.patient.born_by(today_utc(now))?;
            let booked = audit.change(c, |c| {
                create_once(
                    c,
                    claim.as_ref(),
                    now.naive_utc(),
                    |c| place_booking(c, &kept, &who, &change, now, &cmd),
                    |a: &Appointment| a.id.clone().into(),
                    |c, id| {
                        for cluster_id in clusters_of(&who) {
                            match appointment_repo::get_appointment(
                                c,
                                &cluster_id,
                                &AppointmentId::from(id),
                            ) {
                                Err(hubbook_store::StoreError::NotFound) => continue,
                                other => return whole(c, other?),
                            }
                        }
                        Err(ServiceError::NotFound(
                            "no appointment here that you may see".into(),
                        ))
                    },
                )
            })?;
            then(c, booked).map(Some)
        })
        .await
    }

    /// Cancels a booked appointment with a reason; the slot (every slot of an appointment of
    /// adjacent slots) is free again at once. Returns the appointment whole, as a read shows it.
    pub async fn cancel(
        &self,
        who: &Caller,
        id: String,
        expected: Option<i64>,
        reason: &str,
    ) -> Result<Appointment, ServiceError> {
        permit(who.role, Action::Cancel)?;
        let reason = validate_name("reason", reason, hubbook_core::MAX_TEXT_CHARS)?;
        let (who, now) = (who.clone(), self.now());
        let change = self.change(&who);
        self.run_audited(move |c, audit| {
            let a = visible_appointment(c, &who, &id, now)?;
            let cancelled = audit.change(c, |c| {
                Ok(booking::cancel(
                    c,
                    &change,
                    &a.cluster_id,
                    &a.id,
                    expected,
                    &reason,
                )?)
            })?;
            whole(c, cancelled)
        })
        .await
    }

    /// Moves a booked appointment to another slot atomically (the patient never holds two or
    /// none); a manager moves it as its booking practice, or a 111 booking as the 111 service.
    pub async fn reschedule(
        &self,
        who: &Caller,
        id: String,
        expected: Option<i64>,
        slot_id: String,
        hold_id: Option<String>,
    ) -> Result<Appointment, ServiceError> {
        permit(who.role, Action::Reschedule)?;
        let (who, now, kept) = (who.clone(), self.now(), Arc::clone(&self.kept));
        let change = self.change(&who);
        self.run(move |c| {
            let old = visible_appointment(c, &who, &id, now)?;
            let refs = kept.read(c, std::slice::from_ref(&old.cluster_id))?;
            let viewer = match (who.role, &old.booking_practice_id) {
                (Role::ClusterManager, Some(practice)) => {
                    viewer_for(
                        &refs,
                        &who.as_practice(&old.cluster_id, practice),
                        now,
                        None,
                    )?
                    .1
                }
                (Role::ClusterManager, None) => {
                    let rules = sharing::current_rules(c, &old.cluster_id)?.rules;
                    Viewer::Triage {
                        open_clusters: if rules.triage_may_book_open {
                            vec![old.cluster_id.clone().into()]
                        } else {
                            Vec::new()
                        },
                    }
                }
                _ => viewer_for(&refs, &who, now, None)?.1,
            };
            let slot = found(
                sharing::find_slot(
                    c,
                    std::slice::from_ref(&old.cluster_id),
                    &SlotId::from(&slot_id),
                ),
                "slot",
            )?;
            let cluster = &refs.cluster(&old.cluster_id)?.cluster;
            let hold_id = hold_id.map(HoldId::from);
            let to = Reschedule {
                cluster_id: &old.cluster_id,
                slot_id: &slot.id,
                hold_id: hold_id.as_ref(),
                viewer: &viewer,
                day: day_bounds(cluster.time_zone, slot.starts_at.and_utc()),
            };
            Ok(booking::reschedule(c, &change, &old.id, expected, &to)?)
        })
        .await
    }

    /// Records arrived, seen or did-not-attend; only a manager may correct a did-not-attend.
    pub async fn record_outcome(
        &self,
        who: &Caller,
        id: String,
        expected: Option<i64>,
        outcome: Outcome,
    ) -> Result<Appointment, ServiceError> {
        permit(who.role, Action::RecordOutcome)?;
        let (who, now) = (who.clone(), self.now());
        let change = self.change(&who);
        self.run(move |c| {
            let a = visible_appointment(c, &who, &id, now)?;
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
        .await
    }

    /// Replaces an appointment's notes for the clinician without touching the booking.
    pub async fn amend_notes(
        &self,
        who: &Caller,
        id: String,
        expected: Option<i64>,
        notes: Option<&str>,
    ) -> Result<Appointment, ServiceError> {
        let notes = validate_optional_name("notes", notes, hubbook_core::MAX_NOTES_CHARS)?;
        permit(who.role, Action::AmendNotes)?;
        let (who, now) = (who.clone(), self.now());
        let change = self.change(&who);
        self.run(move |c| {
            let a = visible_appointment(c, &who, &id, now)?;
            Ok(booking::amend_notes(
                c,
                &change,
                &a.cluster_id,
                &a.id,
                expected,
                notes,
            )?)
        })
        .await
    }

    /// Reads a booked appointment whole, has `decide` (a front end's checks of what its consumer
    /// sent against the appointment as it is) say what to change, and changes it at the version
    /// read (a change in between is refused as stale): what changes is exactly what was checked.
    /// `decide`'s refusal comes back as it is, with nothing changed. Returns the appointment
    /// whole after the change.
    pub async fn change_detail<E, D>(
        &self,
        who: &Caller,
        id: String,
        decide: D,
    ) -> Result<Result<AppointmentDetail, E>, ServiceError>
    where
        D: FnOnce(&AppointmentDetail) -> Result<DetailChange, E> + Send + 'static,
        E: Send + 'static,
    {
        permit(who.role, Action::ReadAppointments)?;
        let (who, now) = (who.clone(), self.now());
        let change = self.change(&who);
        self.run_audited(move |c, audit| {
            let a = visible_appointment(c, &who, &id, now)?;
            let detail = detail_of(c, a, true)?;
            let wanted = match decide(&detail) {
                Ok(wanted) => wanted,
                Err(refused) => return Ok(Err(refused)),
            };
            let (cluster_id, id) = (&detail.appointment.cluster_id, &detail.appointment.id);
            let version = Some(detail.appointment.version);
            // Made at the version read, so that a change in between is refused as stale.
            let mut changed = match wanted {
                DetailChange::Cancel { reason } => {
                    permit(who.role, Action::Cancel)?;
                    let reason = validate_name("reason", &reason, hubbook_core::MAX_TEXT_CHARS)?;
                    audit.change(c, |c| {
                        Ok(booking::cancel(
                            c, &change, cluster_id, id, version, &reason,
                        )?)
                    })?
                }
                DetailChange::Amend { reason, notes } => {
                    if who.role != Role::Triage {
                        permit(who.role, Action::AmendNotes)?;
                    }
                    let reason = validate_optional_name(
                        "reason",
                        reason.as_deref(),
                        hubbook_core::MAX_TEXT_CHARS,
                    )?;
                    let notes = validate_optional_name(
                        "notes",
                        notes.as_deref(),
                        hubbook_core::MAX_NOTES_CHARS,
                    )?;
                    audit.change(c, |c| {
                        Ok(booking::amend_details(
                            c, &change, cluster_id, id, version, reason, notes,
                        )?)
                    })?
                }
            };
            // The row is the first slot's; the appointment ends when its last slot does.
            changed.ends_at = detail.appointment.ends_at;
            Ok(Ok(AppointmentDetail {
                appointment: changed,
                ..detail
            }))
        })
        .await
    }
}

/// Places a booking inside the idempotency transaction: the slot as the acting practice sees it,
/// the patient's registered practice, the same-day rule over the slot's local day.
fn place_booking(
    c: &mut DbConn,
    kept: &KeptReference,
    who: &Caller,
    change: &hubbook_store::repo::Change,
    now: DateTime<Utc>,
    cmd: &BookAppointment,
) -> Result<Appointment, ServiceError> {
    let refs = kept.read(c, &clusters_of(who))?;
    let acting = match &cmd.on_behalf_of {
        Some(ods) => {
            let cluster_id = own_cluster(who)?;
            let practice = member_practice_in(refs.cluster(&cluster_id)?, ods)?;
            who.as_practice(&cluster_id, &practice)
        }
        None => who.clone(),
    };
    let (cluster_ids, viewer) = viewer_for(&refs, &acting, now, None)?;
    let slot = found(
        sharing::find_slot(c, &cluster_ids, &SlotId::from(&cmd.slot_id)),
        "slot",
    )?;
    if let Some(seen) = &cmd.as_seen {
        if slot.starts_at.and_utc() != seen.starts_at {
            return Err(ServiceError::SlotNotAsSent(format!(
                "the start must be the slot's: {}",
                slot.starts_at.and_utc().to_rfc3339()
            )));
        }
        if seen.delivery.is_some_and(|d| d != slot.delivery) {
            return Err(ServiceError::SlotNotAsSent(format!(
                "the delivery channel must be the slot's: {}",
                slot.delivery.as_str()
            )));
        }
        if *slot.site_id != seen.site_id {
            return Err(ServiceError::SlotNotAsSent(format!(
                "the place must be the slot's: site {}",
                slot.site_id
            )));
        }
    }
    let cluster = refs.cluster(&slot.cluster_id)?;
    let registered = match &cmd.registered_practice {
        None => acting.scope.practice.as_deref().map(PracticeId::from),
        Some(ods) => Some(member_practice_in(cluster, ods)?),
    };
    let cluster = &cluster.cluster;
    let new = NewBooking {
        registered_practice_id: registered,
        booking_practice_id: acting.scope.practice.clone().map(Into::into),
        reason: cmd.reason.clone(),
        requester_ods: cmd.requester.as_ref().map(|r| r.ods.clone()),
        requester_reference: cmd.requester.as_ref().and_then(|r| r.reference.clone()),
        allow_same_day: cmd.allow_same_day,
        notes: validate_optional_name(
            "notes",
            cmd.notes.as_deref(),
            hubbook_core::MAX_NOTES_CHARS,
        )?,
        requester_contact: match (&cmd.requester, &cmd.requester_contact) {
            (Some(_), Some(contact)) => Some(models::RequesterContact {
                cluster_id: cluster.id.clone(),
                appointment_id: String::new().into(),
                name: validate_name("requester.name", &contact.name, 200)?,
                phone: validate_name("requester.phone", &contact.phone, 40)?,
                organisation_type: validate_optional_name(
                    "requester.organisation_type",
                    contact.organisation_type.as_deref(),
                    40,
                )?,
            }),
            _ => None,
        },
        ..patient_booking(&cmd.patient, &slot.id, cmd.hold_id.clone())
    };
    let day = day_bounds(cluster.time_zone, slot.starts_at.and_utc());
    let booked = if cmd.further_slots.is_empty() {
        booking::book(c, change, &cluster.id, &viewer, &new, day)?
    } else {
        let further: Vec<SlotId> = cmd.further_slots.iter().map(SlotId::from).collect();
        let first = booking::book_adjacent(c, change, &cluster.id, &viewer, &new, &further, day)?;
        whole(c, first)?
    };
    // The end is known once every slot is claimed; a mismatch rolls the booking back.
    match &cmd.as_seen {
        Some(seen) if booked.ends_at.and_utc() != seen.ends_at => {
            Err(ServiceError::SlotNotAsSent(format!(
                "the end must be the last slot's: {}",
                booked.ends_at.and_utc().to_rfc3339()
            )))
        }
        _ => Ok(booked),
    }
}

/// A booking of `slot_id` for a patient, with nothing else said: no practice, reason or
/// requester, the same-day rule applied, and no hold but the one named.
pub(crate) fn patient_booking(p: &Patient, slot_id: &str, hold_id: Option<String>) -> NewBooking {
    NewBooking {
        slot_id: slot_id.to_owned().into(),
        hold_id: hold_id.map(Into::into),
        nhs_number: p.nhs_number.as_ref().map(|n| n.as_str().to_owned()),
        patient_name: p.name.clone(),
        patient_birth_date: p.birth_date,
        patient_phone: p.phone.clone(),
        patient_email: p.email.clone(),
        adjustments: p.adjustments.clone(),
        registered_practice_id: None,
        booking_practice_id: None,
        reason: None,
        requester_ods: None,
        requester_reference: None,
        requester_contact: None,
        notes: None,
        part_of: None,
        allow_same_day: false,
        own_holds_block: false,
    }
}

/// The date a birth date is judged against.
fn today_utc(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}
