//! The event feed: an outbox of what happened to appointments and slots, written in the same
//! transaction as the change.
//!
//! Events are numbered per cluster (`seq` 1, 2, 3...) from a counter row that the writing
//! transaction updates and so locks until it commits: a second writer waits, so numbers are
//! handed out in commit order and a reader that has seen `seq` n has seen every event before it.
//! Call [`emit`] as late as possible in a transaction, to hold that lock briefly.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::ids::ClusterId;
use crate::models::{Appointment, Event, Slot};
use crate::schema::{appointments, event_counters, events, slots};
use crate::{new_id, write_tx, DbConn, StoreError};

/// An appointment was booked.
pub const BOOKED: &str = "appointment.booked";
/// An appointment was cancelled.
pub const CANCELLED: &str = "appointment.cancelled";
/// An appointment was moved to another slot (the event names both).
pub const RESCHEDULED: &str = "appointment.rescheduled";
/// An attendance outcome was recorded (arrived, seen, did not attend).
pub const OUTCOME: &str = "appointment.outcome";
/// A rota change or a cancelled session left an appointment needing rebooking.
pub const NEEDS_REBOOKING: &str = "appointment.needs_rebooking";
/// A rebooking need was resolved by keeping the appointment (a cancellation is `cancelled`).
pub const REBOOKING_RESOLVED: &str = "appointment.rebooking_resolved";
/// A slot reserved for a practice or for 111 opened to every practice.
pub const RELEASED: &str = "slot.released";

/// Every event kind, in the order the documentation lists them.
pub const KINDS: [&str; 7] = [
    BOOKED,
    CANCELLED,
    RESCHEDULED,
    OUTCOME,
    NEEDS_REBOOKING,
    REBOOKING_RESOLVED,
    RELEASED,
];

/// An event to write.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The event kind, one of [`KINDS`].
    pub kind: &'static str,
    /// The appointment concerned.
    pub appointment_id: Option<String>,
    /// The slot concerned.
    pub slot_id: Option<String>,
    /// Who booked the appointment concerned.
    pub booked_by: Option<String>,
    /// Details, without patient identifiers.
    pub data: serde_json::Value,
}

/// The event of a change to an appointment, with what a consumer needs to act (times, place,
/// service, channel, practices) and no patient identifiers nor free text (a cancellation reason
/// may name the patient): a consumer allowed to see the patient reads the appointment.
pub fn appointment_event(kind: &'static str, a: &Appointment) -> NewEvent {
    NewEvent {
        kind,
        appointment_id: Some(a.id.clone().into()),
        slot_id: Some(a.slot_id.clone().into()),
        booked_by: Some(a.booked_by.clone()),
        data: json!({
            "appointment_id": a.id,
            "slot_id": a.slot_id,
            "status": a.status,
            "starts_at": a.starts_at.and_utc(),
            "ends_at": a.ends_at.and_utc(),
            "site_id": a.site_id,
            "service_id": a.service_id,
            "clinical_role": a.clinical_role,
            "delivery": a.delivery,
            "channel": a.channel,
            "booking_practice_id": a.booking_practice_id,
            "registered_practice_id": a.registered_practice_id,
            "booked_by": a.booked_by,
            "version": a.version,
        }),
    }
}

/// Writes events of one cluster at `at`, numbering them after the cluster's last; call inside
/// the transaction that makes the change, as late as possible.
pub fn emit(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    at: NaiveDateTime,
    new: Vec<NewEvent>,
) -> Result<(), StoreError> {
    if new.is_empty() {
        return Ok(());
    }
    let n = i64::try_from(new.len()).map_err(|e| StoreError::corrupt(e.to_string()))?;
    let claimed = diesel::update(event_counters::table.find(cluster_id))
        .set(event_counters::last_seq.eq(event_counters::last_seq + n))
        .execute(conn)?;
    if claimed == 0 {
        return Err(StoreError::corrupt(format!(
            "cluster {cluster_id} has no event counter"
        )));
    }
    let last: i64 = event_counters::table
        .find(cluster_id)
        .select(event_counters::last_seq)
        .first(conn)?;
    for (i, e) in (0_i64..).zip(new) {
        diesel::insert_into(events::table)
            .values(&Event {
                cluster_id: cluster_id.to_owned(),
                seq: last - n + 1 + i,
                id: new_id(),
                kind: e.kind.to_owned(),
                occurred_at: at,
                appointment_id: e.appointment_id,
                slot_id: e.slot_id,
                booked_by: e.booked_by,
                data: e.data.to_string(),
            })
            .execute(conn)?;
    }
    Ok(())
}

/// What part of a feed to read.
#[derive(Debug, Clone, Default)]
pub struct FeedQuery {
    /// Events after this position.
    pub after: i64,
    /// At most this many.
    pub limit: i64,
    /// Only events of appointments booked by this caller (a triage client's view).
    pub booked_by: Option<String>,
    /// Only these kinds; all when empty.
    pub kinds: Vec<String>,
}

/// A cluster's events after a position, in order.
pub fn list_events(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    q: &FeedQuery,
) -> Result<Vec<Event>, StoreError> {
    let mut query = events::table
        .filter(events::cluster_id.eq(cluster_id))
        .filter(events::seq.gt(q.after))
        .order(events::seq.asc())
        .limit(q.limit)
        .select(Event::as_select())
        .into_boxed();
    if let Some(by) = &q.booked_by {
        query = query.filter(events::booked_by.eq(by.clone()));
    }
    if !q.kinds.is_empty() {
        query = query.filter(events::kind.eq_any(q.kinds.clone()));
    }
    Ok(query.load(conn)?)
}

/// The last position of a cluster's feed (0 when it has none).
pub fn last_seq(conn: &mut DbConn, cluster_id: &ClusterId) -> Result<i64, StoreError> {
    Ok(event_counters::table
        .find(cluster_id)
        .select(event_counters::last_seq)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// Announces reserved slots whose release time has come (at most `batch`): each gets one
/// `slot.released` event, unless it is booked or gone, and is marked announced. Returns how many
/// were marked. Booking never waits for this: release itself is a comparison with the clock.
pub fn announce_releases(
    conn: &mut DbConn,
    now: NaiveDateTime,
    batch: i64,
) -> Result<usize, StoreError> {
    write_tx(conn, |c| {
        let due: Vec<Slot> = slots::table
            .filter(slots::release_announced_at.is_null())
            .filter(slots::released_at.is_not_null())
            .filter(slots::released_at.le(now))
            .order(slots::released_at.asc())
            .limit(batch)
            .select(Slot::as_select())
            .load(c)?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut by_cluster: std::collections::BTreeMap<ClusterId, Vec<NewEvent>> =
            std::collections::BTreeMap::new();
        for slot in &due {
            // Only the writer that marks the slot announces it (another server may be at it too).
            let marked = diesel::update(slots::table.find((&slot.cluster_id, &slot.id)))
                .filter(slots::release_announced_at.is_null())
                .set(slots::release_announced_at.eq(Some(now)))
                .execute(c)?;
            if marked == 0 {
                continue;
            }
            let booked: i64 = appointments::table
                .filter(appointments::cluster_id.eq(&slot.cluster_id))
                .filter(appointments::slot_id.eq(&slot.id))
                .filter(appointments::status.ne("cancelled"))
                .count()
                .get_result(c)?;
            // Only a free slot still to come is worth announcing; the rest are marked silently.
            let gone = slot.removed_at.is_some() || slot.orphaned_at.is_some();
            if booked > 0 || gone || slot.starts_at <= now {
                continue;
            }
            by_cluster
                .entry(slot.cluster_id.clone())
                .or_default()
                .push(NewEvent {
                    kind: RELEASED,
                    appointment_id: None,
                    slot_id: Some(slot.id.clone().into()),
                    booked_by: None,
                    data: json!({
                        "slot_id": slot.id,
                        "released_at": slot.released_at.map(|t| t.and_utc()),
                        "reserved_for": slot.channel,
                        "reserved_for_practice_id": slot.channel_practice_id,
                        "starts_at": slot.starts_at.and_utc(),
                        "ends_at": slot.ends_at.and_utc(),
                        "site_id": slot.site_id,
                        "service_id": slot.service_id,
                        "delivery": slot.delivery,
                    }),
                });
        }
        for (cluster_id, new) in by_cluster {
            emit(c, &cluster_id, now, new)?;
        }
        Ok(due.len())
    })
}
