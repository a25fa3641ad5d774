//! Holds and bookings. Every write here first claims the slot's row (`UPDATE slots SET version =
//! version + 1`), which takes PostgreSQL's row lock and SQLite's write lock, so concurrent
//! bookers of one slot queue rather than race; the partial unique index on appointments is the
//! last word whatever happens.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use hubbook_core::allocation::{Channel, ChannelKind};
pub use hubbook_core::appointment::{outcome_allowed, Outcome};
use hubbook_core::sharing::{visibility, Viewer};

use super::audit::Entry;
use super::events;
use super::{appointments as appointment_repo, update_audited_as, Change};
use crate::ids::{AppointmentId, ClusterId, HoldId, PracticeId, SlotId};
use crate::models::{Appointment, Hold, RequesterContact, Session, Slot, TriageBooking};
use crate::prepared::LiveAppointment;
use crate::schema::{
    appointments, holds, rebookings, requester_contacts, services, sessions, slots, triage_bookings,
};
use crate::{new_id, write_tx, ConflictKind, DbConn, StoreError, WriteError};
use hubbook_core::appointment::{adjacent, AppointmentStatus, SlotShape};
use hubbook_core::rota::SessionStatus;
use hubbook_core::Refusal;

/// Claims a live slot's row for this transaction and returns it with its session.
fn claim_slot(
    c: &mut DbConn,
    cluster_id: &ClusterId,
    slot_id: &SlotId,
) -> Result<(Slot, Session), StoreError> {
    let claimed = diesel::update(
        slots::table
            .find((cluster_id, slot_id))
            .filter(slots::removed_at.is_null()),
    )
    .set(slots::version.eq(slots::version + 1))
    .execute(c)?;
    if claimed == 0 {
        return Err(StoreError::NotFound);
    }
    let slot: Slot = slots::table
        .find((cluster_id, slot_id))
        .select(Slot::as_select())
        .first(c)?;
    let session: Session = sessions::table
        .find((cluster_id, &slot.session_id))
        .select(Session::as_select())
        .first(c)?;
    Ok((slot, session))
}

/// Whether the slot is offered to the viewer at `now`, by the sharing rule.
fn offered(slot: &Slot, viewer: &Viewer, now: NaiveDateTime) -> Result<(), WriteError> {
    let seen = visibility(
        &slot_channel(slot)?,
        slot.released_at.map(|t| t.and_utc()),
        &slot.cluster_id,
        &slot.site_id,
        viewer,
        now.and_utc(),
    );
    if seen.visible() {
        Ok(())
    } else {
        Err(Refusal::NotOffered(seen.code().to_owned()).into())
    }
}

/// A slot's channel as the sharing rules know it.
pub fn slot_channel(slot: &Slot) -> Result<Channel, StoreError> {
    Channel::from_stored(slot.channel, slot.channel_practice_id.as_deref())
        .map_err(|e| StoreError::corrupt(e.to_string()))
}

fn check_bookable(
    c: &mut DbConn,
    cluster_id: &ClusterId,
    slot: &Slot,
    session: &Session,
    holder: &str,
    now: NaiveDateTime,
) -> Result<(), WriteError> {
    if session.status != SessionStatus::Active {
        return Err(WriteError::from(Refusal::SlotUnavailable));
    }
    if slot.starts_at <= now {
        return Err(WriteError::from(Refusal::SlotInPast));
    }
    let booked: i64 = appointments::table
        .filter(appointments::cluster_id.eq(cluster_id))
        .filter(appointments::slot_id.eq(&slot.id))
        .filter(LiveAppointment)
        .count()
        .get_result(c)?;
    let held_by_other: i64 = holds::table
        .filter(holds::cluster_id.eq(cluster_id))
        .filter(holds::slot_id.eq(&slot.id))
        .filter(holds::expires_at.gt(now))
        .filter(holds::holder.ne(holder))
        .count()
        .get_result(c)?;
    if booked > 0 || held_by_other > 0 {
        return Err(WriteError::from(Refusal::SlotUnavailable));
    }
    Ok(())
}

/// Holds a slot for `holder` until `now + ttl`: refused if it is booked or someone else holds
/// it; an expired hold is replaced; the holder's own live hold is extended. Audited.
pub fn hold_slot(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    slot_id: &SlotId,
    viewer: &Viewer,
    ttl: Duration,
) -> Result<Hold, WriteError> {
    write_tx(conn, |c| {
        let now = change.at;
        let (slot, session) = claim_slot(c, cluster_id, slot_id)?;
        if slot.orphaned_at.is_some() {
            return Err(WriteError::from(Refusal::SlotUnavailable));
        }
        offered(&slot, viewer, now)?;
        check_bookable(c, cluster_id, &slot, &session, &change.actor, now)?;
        diesel::delete(holds::table.find((cluster_id, slot_id))).execute(c)?;
        let hold = Hold {
            cluster_id: cluster_id.to_owned(),
            slot_id: slot_id.to_owned(),
            id: new_id().into(),
            holder: change.actor.clone(),
            created_at: now,
            expires_at: now + ttl,
        };
        diesel::insert_into(holds::table).values(&hold).execute(c)?;
        let entry = Entry {
            cluster_id,
            entity: "hold",
            entity_id: &hold.id,
            action: "hold.create",
            before: None,
            after: Some(&hold),
        };
        super::audit::write(c, change, entry)?;
        Ok(hold)
    })
}

/// The hold with this id of this holder (live or not: booking checks its expiry).
pub fn hold_of(conn: &mut DbConn, hold_id: &HoldId, holder: &str) -> Result<Hold, StoreError> {
    Ok(holds::table
        .filter(holds::id.eq(hold_id))
        .filter(holds::holder.eq(holder))
        .select(Hold::as_select())
        .first(conn)?)
}

/// Lets a hold go; only its holder may. Audited.
pub fn release_hold(
    conn: &mut DbConn,
    change: &Change,
    hold_id: &HoldId,
) -> Result<Hold, StoreError> {
    write_tx(conn, |c| {
        let hold: Hold = holds::table
            .filter(holds::id.eq(hold_id))
            .filter(holds::holder.eq(&change.actor))
            .select(Hold::as_select())
            .first(c)?;
        diesel::delete(holds::table.find((&hold.cluster_id, &hold.slot_id))).execute(c)?;
        let entry = Entry {
            cluster_id: &hold.cluster_id,
            entity: "hold",
            entity_id: &hold.id,
            action: "hold.release",
            before: Some(&hold),
            after: None,
        };
        super::audit::write(c, change, entry)?;
        Ok(hold)
    })
}

/// The patient and the booking's details; the caller has validated them.
#[derive(Debug, Clone)]
pub struct NewBooking {
    /// The slot to book.
    pub slot_id: SlotId,
    /// The caller's hold on it, if it took one.
    pub hold_id: Option<HoldId>,
    /// NHS number (ten checked digits), when known.
    pub nhs_number: Option<String>,
    /// Patient's name.
    pub patient_name: String,
    /// Date of birth.
    pub patient_birth_date: chrono::NaiveDate,
    /// Phone.
    pub patient_phone: String,
    /// Email.
    pub patient_email: Option<String>,
    /// Reasonable adjustments.
    pub adjustments: Option<String>,
    /// The patient's registered practice (id).
    pub registered_practice_id: Option<PracticeId>,
    /// The practice booking (id), for a receptionist.
    pub booking_practice_id: Option<PracticeId>,
    /// Reason.
    pub reason: Option<String>,
    /// Requesting organisation (ODS).
    pub requester_ods: Option<String>,
    /// Requester's reference.
    pub requester_reference: Option<String>,
    /// How the requesting organisation described itself (a GP Connect booking organisation),
    /// kept beside the appointment.
    pub requester_contact: Option<RequesterContact>,
    /// Notes for the clinician, given with the booking.
    pub notes: Option<String>,
    /// The appointment this row is a further slot of (an appointment of adjacent slots).
    pub part_of: Option<AppointmentId>,
    /// Book even if the patient has a live appointment for the same service that day.
    pub allow_same_day: bool,
    /// Without a named hold, let no live hold pass, the caller's own included: a triage
    /// service's many call handlers share one identity, and one must not take a slot another
    /// is holding for its patient.
    pub own_holds_block: bool,
}

/// Books a slot: claims it, checks it is offered to the caller, free (or held by the caller, when
/// a hold is named it must be the caller's and live), in the future, and that the patient has no
/// other live appointment for the service that day; records what was true at booking time, uses
/// up the hold, and audits. A racing second booker gets `SlotUnavailable`.
pub fn book(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    viewer: &Viewer,
    new: &NewBooking,
    day: (NaiveDateTime, NaiveDateTime),
) -> Result<Appointment, WriteError> {
    write_tx(conn, |c| {
        place(c, change, cluster_id, viewer, new, day, None)
    })
}

/// Books adjacent slots as one appointment, in one transaction: the first slot as [`book`]
/// books one (the same-day rule applied to it), then each of `further` in turn as a row that
/// names the first (`part_of`), each claimed and checked as any booking is; then the slots must
/// be adjacent (`hubbook_core::appointment::adjacent`) or nothing is booked. The appointment
/// (the first slot's row) is announced once.
pub fn book_adjacent(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    viewer: &Viewer,
    new: &NewBooking,
    further: &[SlotId],
    day: (NaiveDateTime, NaiveDateTime),
) -> Result<Appointment, WriteError> {
    write_tx(conn, |c| {
        let first = place(c, change, cluster_id, viewer, new, day, None)?;
        let mut rows = vec![first.clone()];
        for slot_id in further {
            let part = NewBooking {
                slot_id: slot_id.clone(),
                hold_id: None,
                part_of: Some(first.id.clone()),
                allow_same_day: true,
                requester_contact: None,
                ..new.clone()
            };
            rows.push(place(c, change, cluster_id, viewer, &part, day, None)?);
        }
        let shapes: Vec<SlotShape<'_>> = rows
            .iter()
            .map(|a| SlotShape {
                id: &a.slot_id,
                starts_at: a.starts_at,
                ends_at: a.ends_at,
                session: &a.session_id,
                service: &a.service_id,
                delivery: a.delivery,
            })
            .collect();
        adjacent(&shapes)?;
        Ok(first)
    })
}

/// Books a slot for a triage service and records what the patient was triaged for, in one
/// transaction: as [`book`], and refused with `SlotUnavailable` if the slot starts after
/// `record.due_by` (a slot moved since it was found).
pub fn book_triage(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    viewer: &Viewer,
    new: &NewBooking,
    day: (NaiveDateTime, NaiveDateTime),
    record: &TriageBooking,
) -> Result<Appointment, WriteError> {
    write_tx(conn, |c| {
        let appointment = place(c, change, cluster_id, viewer, new, day, None)?;
        if appointment.starts_at > record.due_by {
            return Err(WriteError::from(Refusal::SlotUnavailable));
        }
        diesel::insert_into(triage_bookings::table)
            .values(&TriageBooking {
                cluster_id: cluster_id.to_owned(),
                appointment_id: appointment.id.clone(),
                ..record.clone()
            })
            .execute(c)?;
        Ok(appointment)
    })
}

/// How the organisation that asked for an appointment described itself, if it did.
pub fn requester_contact_of(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    appointment_id: &AppointmentId,
) -> Result<Option<RequesterContact>, StoreError> {
    Ok(requester_contacts::table
        .find((cluster_id, appointment_id))
        .select(RequesterContact::as_select())
        .first(conn)
        .optional()?)
}

/// What an appointment was triaged for, if a triage service booked it.
pub fn triage_of(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    appointment_id: &AppointmentId,
) -> Result<Option<TriageBooking>, StoreError> {
    Ok(triage_bookings::table
        .find((cluster_id, appointment_id))
        .select(TriageBooking::as_select())
        .first(conn)
        .optional()?)
}

/// Places a booking in its slot inside the caller's transaction; `replacing` is an appointment
/// of the same patient that this one replaces (a reschedule), left out of the same-day rule.
fn place(
    c: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    viewer: &Viewer,
    new: &NewBooking,
    day: (NaiveDateTime, NaiveDateTime),
    replacing: Option<&str>,
) -> Result<Appointment, WriteError> {
    {
        let now = change.at;
        let (slot, session) = claim_slot(c, cluster_id, &new.slot_id)?;
        if let Some(hold_id) = &new.hold_id {
            let live: i64 = holds::table
                .filter(holds::cluster_id.eq(cluster_id))
                .filter(holds::slot_id.eq(&slot.id))
                .filter(holds::id.eq(hold_id))
                .filter(holds::holder.eq(&change.actor))
                .filter(holds::expires_at.gt(now))
                .count()
                .get_result(c)?;
            if live == 0 {
                return Err(WriteError::from(Refusal::HoldExpired));
            }
        }
        if new.hold_id.is_none() && new.own_holds_block {
            let held: i64 = holds::table
                .filter(holds::cluster_id.eq(cluster_id))
                .filter(holds::slot_id.eq(&slot.id))
                .filter(holds::expires_at.gt(now))
                .count()
                .get_result(c)?;
            if held > 0 {
                return Err(WriteError::from(Refusal::SlotUnavailable));
            }
        }
        // A slot the rota no longer wants is bookable only by whoever held it when it changed.
        if slot.orphaned_at.is_some() && new.hold_id.is_none() {
            return Err(WriteError::from(Refusal::SlotUnavailable));
        }
        offered(&slot, viewer, now)?;
        check_bookable(c, cluster_id, &slot, &session, &change.actor, now)?;
        // Two bookings of one patient in different slots must not both pass the same-day rule:
        // on PostgreSQL they queue on the patient's row of patient_locks, made by the first
        // booking and locked by every one (a row lock, which holds on whichever node stores the
        // cluster); SQLite's writer lock already queues them.
        if let (Some(nhs), DbConn::Pg(pg)) = (&new.nhs_number, &mut *c) {
            diesel::sql_query(
                "INSERT INTO patient_locks (cluster_id, patient) VALUES ($1, md5($2)) \
                 ON CONFLICT (cluster_id, patient) DO UPDATE SET patient = EXCLUDED.patient",
            )
            .bind::<diesel::sql_types::Text, _>(cluster_id.as_str())
            .bind::<diesel::sql_types::Text, _>(nhs)
            .execute(pg)?;
        }
        if let (Some(nhs), false) = (&new.nhs_number, new.allow_same_day) {
            let same_day: i64 = appointments::table
                .filter(appointments::cluster_id.eq(cluster_id))
                .filter(appointments::nhs_number.eq(nhs))
                .filter(appointments::service_id.eq(&slot.service_id))
                .filter(LiveAppointment)
                .filter(appointments::starts_at.ge(day.0))
                .filter(appointments::starts_at.lt(day.1))
                .filter(appointments::id.ne(replacing.unwrap_or("")))
                .count()
                .get_result(c)?;
            if same_day > 0 {
                return Err(WriteError::from(Refusal::DuplicateBooking));
            }
        }
        let role: String = services::table
            .find((cluster_id, &slot.service_id))
            .select(services::clinical_role)
            .first(c)?;
        let role = role
            .parse()
            .map_err(|e| StoreError::corrupt(format!("service {}: {e}", slot.service_id)))?;
        let row = Appointment {
            cluster_id: cluster_id.to_owned(),
            id: new_id().into(),
            slot_id: slot.id.clone(),
            session_id: slot.session_id.clone(),
            status: AppointmentStatus::Booked,
            nhs_number: new.nhs_number.clone(),
            patient_name: new.patient_name.clone(),
            patient_birth_date: new.patient_birth_date,
            patient_phone: new.patient_phone.clone(),
            patient_email: new.patient_email.clone(),
            adjustments: new.adjustments.clone(),
            registered_practice_id: new.registered_practice_id.clone(),
            booking_practice_id: new.booking_practice_id.clone(),
            booked_by: change.actor.clone(),
            channel: viewer.booking_channel(&slot_channel(&slot)?).to_owned(),
            reason: new.reason.clone(),
            requester_ods: new.requester_ods.clone(),
            requester_reference: new.requester_reference.clone(),
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
            site_id: slot.site_id.clone(),
            service_id: slot.service_id.clone(),
            clinical_role: role,
            delivery: slot.delivery,
            version: 1,
            created_at: now,
            updated_at: now,
            cancel_reason: None,
            cancelled_at: None,
            outcome_at: None,
            notes: new.notes.clone(),
            part_of: new.part_of.clone(),
        };
        match insert_appointment(c, change, &row) {
            Err(StoreError::Conflict(ConflictKind::Duplicate(_))) => {
                return Err(WriteError::from(Refusal::SlotUnavailable))
            }
            other => other?,
        }
        if let Some(contact) = &new.requester_contact {
            diesel::insert_into(requester_contacts::table)
                .values(&RequesterContact {
                    cluster_id: cluster_id.to_owned(),
                    appointment_id: row.id.clone(),
                    ..contact.clone()
                })
                .execute(c)?;
        }
        diesel::delete(holds::table.find((cluster_id, &slot.id)))
            .filter(holds::holder.eq(&change.actor))
            .execute(c)?;
        // A new booking is announced here, before any rebooking need it raises; a reschedule
        // announces itself once both of its halves are done.
        if replacing.is_none() && new.part_of.is_none() {
            events::emit(
                c,
                cluster_id,
                change.at,
                vec![events::appointment_event(events::BOOKED, &row)],
            )?;
        }
        if slot.orphaned_at.is_some() && new.part_of.is_none() {
            appointment_repo::flag_for_rebooking(
                c,
                change,
                cluster_id,
                std::slice::from_ref(&row.id),
                "booked into a slot the rota no longer has",
            )?;
        }
        Ok(row)
    }
}

/// Inserts an appointment and audits it. A second live appointment for the slot is refused by
/// the database (the partial unique index `appointments_one_live_per_slot`, in the migration
/// `2026-11-23-000002_rotas`) with a `Duplicate` conflict, whatever the concurrency.
pub fn insert_appointment(
    conn: &mut DbConn,
    change: &Change,
    row: &Appointment,
) -> Result<(), StoreError> {
    write_tx(conn, |c| {
        diesel::insert_into(appointments::table)
            .values(row.clone())
            .execute(c)?;
        super::audit::write(
            c,
            change,
            Entry {
                cluster_id: &row.cluster_id,
                entity: "appointment",
                entity_id: &row.id,
                action: "appointment.book",
                before: None,
                after: Some(row),
            },
        )
    })
}

/// Cancels a booked appointment with a reason, guarded by its version; the slot is free again at
/// once (keeping its channel), and an open rebooking need is resolved as cancelled. Audited.
pub fn cancel(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    appointment_id: &AppointmentId,
    expected: Option<i64>,
    reason: &str,
) -> Result<Appointment, WriteError> {
    write_tx(conn, |c| {
        let a = update_audited_as(
            c,
            change,
            "cancel",
            expected,
            |c| load(c, cluster_id, appointment_id),
            |c, before| {
                if before.status != AppointmentStatus::Booked {
                    return Err(WriteError::from(Refusal::InvalidTransition(format!(
                        "a {} appointment cannot be cancelled",
                        before.status
                    ))));
                }
                refuse_part(before)?;
                let changed = diesel::update(guarded(cluster_id, before))
                    .set((
                        appointments::status.eq("cancelled"),
                        appointments::cancel_reason.eq(reason),
                        appointments::cancelled_at.eq(change.at),
                        appointments::version.eq(before.version + 1),
                        appointments::updated_at.eq(change.at),
                    ))
                    .execute(c)?;
                diesel::update(
                    rebookings::table
                        .filter(rebookings::cluster_id.eq(cluster_id))
                        .filter(rebookings::appointment_id.eq(appointment_id))
                        .filter(rebookings::resolved_at.is_null()),
                )
                .set((
                    rebookings::resolution.eq("cancelled"),
                    rebookings::resolved_at.eq(change.at),
                    rebookings::resolved_by.eq(&change.actor),
                ))
                .execute(c)?;
                Ok(changed)
            },
        )?;
        appointment_repo::follow_parts(c, change, &a)?;
        events::emit(
            c,
            cluster_id,
            change.at,
            vec![events::appointment_event(events::CANCELLED, &a)],
        )?;
        Ok(a)
    })
}

fn load(
    c: &mut DbConn,
    cluster_id: &ClusterId,
    id: &AppointmentId,
) -> diesel::QueryResult<Appointment> {
    appointments::table
        .find((cluster_id, id))
        .select(Appointment::as_select())
        .first(c)
}

/// Refuses a change made to a further slot's row of an appointment of adjacent slots: the
/// appointment (its first slot) is what is cancelled or attended.
fn refuse_part(row: &Appointment) -> Result<(), WriteError> {
    match &row.part_of {
        Some(first) => Err(WriteError::from(Refusal::InvalidTransition(format!(
            "this is a further slot of appointment {first}: change that appointment"
        )))),
        None => Ok(()),
    }
}

/// An appointment's row, filtered on the version it was read at.
type GuardedAppointment<'a> = diesel::dsl::Filter<
    diesel::dsl::Find<appointments::table, (&'a str, &'a str)>,
    diesel::dsl::Eq<appointments::version, i64>,
>;

/// The appointment's row, only while it still has the version read.
fn guarded<'a>(cluster_id: &'a str, before: &'a Appointment) -> GuardedAppointment<'a> {
    appointments::table
        .find((cluster_id, before.id.as_str()))
        .filter(appointments::version.eq(before.version))
}

/// Where a reschedule goes, and as whom.
#[derive(Debug, Clone, Copy)]
pub struct Reschedule<'a> {
    /// The cluster.
    pub cluster_id: &'a ClusterId,
    /// The new slot.
    pub slot_id: &'a SlotId,
    /// The caller's hold on it, if any.
    pub hold_id: Option<&'a HoldId>,
    /// The caller, as sharing sees it.
    pub viewer: &'a Viewer,
    /// The local day of the new slot (for the same-day rule).
    pub day: (NaiveDateTime, NaiveDateTime),
}

/// Moves a booked appointment to another slot atomically: the new appointment is placed (by the
/// same checks as a booking) and the old one cancelled in one transaction, so on any failure the
/// patient keeps the old one. An open rebooking need is resolved as rebooked. Returns the new one.
pub fn reschedule(
    conn: &mut DbConn,
    change: &Change,
    old_id: &AppointmentId,
    expected: Option<i64>,
    to: &Reschedule<'_>,
) -> Result<Appointment, WriteError> {
    write_tx(conn, |c| {
        let old = appointment_repo::get_appointment(c, to.cluster_id, old_id)?;
        if expected.is_some_and(|v| v != old.version) {
            return Err(WriteError::from(StoreError::Conflict(
                ConflictKind::StaleVersion,
            )));
        }
        if old.status != AppointmentStatus::Booked {
            return Err(WriteError::from(Refusal::InvalidTransition(format!(
                "a {} appointment cannot be rescheduled",
                old.status
            ))));
        }
        if old.part_of.is_some()
            || !appointment_repo::parts_of(c, to.cluster_id, old_id)?.is_empty()
        {
            return Err(WriteError::from(Refusal::InvalidTransition(
                "an appointment of several slots is not moved: cancel it and book again".into(),
            )));
        }
        if old.slot_id == *to.slot_id {
            return Err(WriteError::from(Refusal::InvalidTransition(
                "the appointment is already in that slot".into(),
            )));
        }
        let new = NewBooking {
            slot_id: to.slot_id.to_owned(),
            hold_id: to.hold_id.cloned(),
            nhs_number: old.nhs_number.clone(),
            patient_name: old.patient_name.clone(),
            patient_birth_date: old.patient_birth_date,
            patient_phone: old.patient_phone.clone(),
            patient_email: old.patient_email.clone(),
            adjustments: old.adjustments.clone(),
            registered_practice_id: old.registered_practice_id.clone(),
            booking_practice_id: old.booking_practice_id.clone(),
            reason: old.reason.clone(),
            requester_ods: old.requester_ods.clone(),
            requester_reference: old.requester_reference.clone(),
            requester_contact: requester_contact_of(c, to.cluster_id, old_id)?,
            notes: old.notes.clone(),
            part_of: None,
            allow_same_day: false,
            own_holds_block: false,
        };
        let mut placed = place(
            c,
            change,
            to.cluster_id,
            to.viewer,
            &new,
            to.day,
            Some(old_id),
        )?;
        // A 111 booking moved stays the triage service's, with what it was triaged for.
        if old.channel == ChannelKind::Triage && placed.channel == ChannelKind::Triage {
            diesel::update(appointments::table.find((to.cluster_id, &placed.id)))
                .set(appointments::booked_by.eq(&old.booked_by))
                .execute(c)?;
            placed.booked_by.clone_from(&old.booked_by);
            if let Some(t) = triage_of(c, to.cluster_id, old_id)? {
                diesel::insert_into(triage_bookings::table)
                    .values(&TriageBooking {
                        appointment_id: placed.id.clone(),
                        ..t
                    })
                    .execute(c)?;
            }
        }
        let changed = diesel::update(
            appointments::table
                .find((to.cluster_id, old_id))
                .filter(appointments::version.eq(old.version)),
        )
        .set((
            appointments::status.eq("cancelled"),
            appointments::cancel_reason.eq(format!("rescheduled to appointment {}", placed.id)),
            appointments::cancelled_at.eq(change.at),
            appointments::version.eq(old.version + 1),
            appointments::updated_at.eq(change.at),
        ))
        .execute(c)?;
        if changed == 0 {
            return Err(WriteError::from(StoreError::Conflict(
                ConflictKind::StaleVersion,
            )));
        }
        diesel::update(
            rebookings::table
                .filter(rebookings::cluster_id.eq(to.cluster_id))
                .filter(rebookings::appointment_id.eq(old_id))
                .filter(rebookings::resolved_at.is_null()),
        )
        .set((
            rebookings::resolution.eq("rebooked"),
            rebookings::resolved_at.eq(change.at),
            rebookings::resolved_by.eq(&change.actor),
        ))
        .execute(c)?;
        let after = appointment_repo::get_appointment(c, to.cluster_id, old_id)?;
        appointment_repo::audit_change(c, change, "appointment.reschedule", &old, &after)?;
        let mut event = events::appointment_event(events::RESCHEDULED, &placed);
        event.data["from_appointment_id"] = serde_json::json!(old.id);
        event.data["from_slot_id"] = serde_json::json!(old.slot_id);
        event.data["from_starts_at"] = serde_json::json!(old.starts_at.and_utc());
        events::emit(c, to.cluster_id, change.at, vec![event])?;
        Ok(placed)
    })
}

/// Records an attendance outcome with its time, if the transition is allowed; audited.
pub fn record_outcome(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    id: &AppointmentId,
    expected: Option<i64>,
    outcome: Outcome,
    correcting: bool,
) -> Result<Appointment, WriteError> {
    write_tx(conn, |c| {
        let a = update_audited_as(
            c,
            change,
            outcome.as_str(),
            expected,
            |c| load(c, cluster_id, id),
            |c, before| {
                outcome_allowed(
                    before.status,
                    outcome,
                    before.starts_at,
                    change.at,
                    correcting,
                )
                .map_err(Refusal::InvalidTransition)?;
                refuse_part(before)?;
                // A corrected did-not-attend becomes live again; if the slot was booked since, the
                // partial unique index refuses it.
                diesel::update(guarded(cluster_id, before))
                    .set((
                        appointments::status.eq(outcome.as_str()),
                        appointments::outcome_at.eq(change.at),
                        appointments::version.eq(before.version + 1),
                        appointments::updated_at.eq(change.at),
                    ))
                    .execute(c)
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::Conflict(ConflictKind::Duplicate(_)) => {
                            WriteError::from(Refusal::SlotUnavailable)
                        }
                        other => other.into(),
                    })
            },
        )?;
        appointment_repo::follow_parts(c, change, &a).map_err(|e| match e {
            StoreError::Conflict(ConflictKind::Duplicate(_)) => {
                WriteError::from(Refusal::SlotUnavailable)
            }
            other => other.into(),
        })?;
        events::emit(
            c,
            cluster_id,
            change.at,
            vec![events::appointment_event(events::OUTCOME, &a)],
        )?;
        Ok(a)
    })
}

/// Replaces an appointment's notes without touching the booking, guarded by its version; audited.
pub fn amend_notes(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    id: &AppointmentId,
    expected: Option<i64>,
    notes: Option<String>,
) -> Result<Appointment, StoreError> {
    update_audited_as(
        conn,
        change,
        "notes",
        expected,
        |c| load(c, cluster_id, id),
        |c, before| {
            Ok(diesel::update(guarded(cluster_id, before))
                .set((
                    appointments::notes.eq(&notes),
                    appointments::version.eq(before.version + 1),
                    appointments::updated_at.eq(change.at),
                ))
                .execute(c)?)
        },
    )
}

/// Replaces a booked appointment's reason and notes together (GP Connect's amend: description
/// and comment, as sent), guarded by its version; a cancelled or attended appointment is refused.
pub fn amend_details(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    id: &AppointmentId,
    expected: Option<i64>,
    reason: Option<String>,
    notes: Option<String>,
) -> Result<Appointment, WriteError> {
    update_audited_as(
        conn,
        change,
        "details",
        expected,
        |c| load(c, cluster_id, id),
        |c, before: &Appointment| {
            if before.status != AppointmentStatus::Booked {
                return Err(WriteError::from(Refusal::InvalidTransition(format!(
                    "a {} appointment cannot be amended",
                    before.status
                ))));
            }
            Ok(diesel::update(guarded(cluster_id, before))
                .set((
                    appointments::reason.eq(&reason),
                    appointments::notes.eq(&notes),
                    appointments::version.eq(before.version + 1),
                    appointments::updated_at.eq(change.at),
                ))
                .execute(c)
                .map_err(StoreError::from)?)
        },
    )
}
