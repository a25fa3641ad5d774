//! Sessions and slots: published from rotas, withdrawn by range, cancelled one by one, read by
//! site and date. Every change here goes through one plan from `hubbook_core::publish` and is
//! applied in one transaction, so a booked patient is never dropped and a failure leaves nothing.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use hubbook_core::allocation::{Channel, ChannelKind};
use hubbook_core::publish::{
    plan_publish, plan_withdraw, Occupancy, Plan, StoredSession, StoredSlot, StoredStatus,
};
use hubbook_core::rota::{ExpandedSession, Expansion, SessionStatus};
use hubbook_core::sharing::{assign_channels, NewSlots, SlotChannel};
use serde::Serialize;

use super::{audit, Change};
use crate::ids::{AppointmentId, ClusterId, SlotId};
use crate::models::{AuditEvent, Session, Slot};
use crate::schema::{appointments, holds, sessions, slots};
use crate::{new_id, write_tx, DbConn, Page, StoreError};

/// Rows per multi-row INSERT: well under SQLite's and PostgreSQL's bound-parameter limits.
const INSERT_CHUNK: usize = 500;
/// Ids per `IN (...)` list.
const ID_CHUNK: usize = 500;

/// An appointment that a change left needing rebooking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RebookingNeed {
    /// The appointment.
    pub appointment_id: String,
    /// Its slot (kept).
    pub slot_id: SlotId,
    /// Its session.
    pub session_id: String,
}

/// What a publish, withdrawal or cancellation did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeReport {
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Sessions created.
    pub sessions_created: usize,
    /// Slots created (in new and in existing sessions).
    pub slots_created: usize,
    /// Sessions left as they were.
    pub sessions_unchanged: usize,
    /// Slots left as they were.
    pub slots_unchanged: usize,
    /// Sessions whose times or capacity changed in place.
    pub sessions_updated: usize,
    /// Sessions withdrawn or cancelled.
    pub sessions_removed: usize,
    /// Free slots removed.
    pub slots_removed: usize,
    /// Slots kept only because a live hold is on them.
    pub held_slots_kept: usize,
    /// Appointments in slots the change would otherwise have removed: kept, and listed for rebooking.
    pub needs_rebooking: Vec<RebookingNeed>,
    /// Expansion warnings (ambiguous wall times, sessions without slots), for the manager to read.
    pub warnings: Vec<String>,
}

fn report(plan: &Plan, expansion: Option<&Expansion>, dry_run: bool) -> ChangeReport {
    ChangeReport {
        dry_run,
        sessions_created: plan.create_sessions.len(),
        slots_created: expansion.map_or(0, |e| plan.created_slots(e)),
        sessions_unchanged: plan.unchanged_sessions,
        slots_unchanged: plan.unchanged_slots,
        sessions_updated: plan.update_sessions.len(),
        sessions_removed: plan.retire_sessions.len(),
        slots_removed: plan.remove_slots.len(),
        held_slots_kept: plan
            .kept_slots
            .iter()
            .filter(|k| k.occupancy == Occupancy::Held)
            .count(),
        needs_rebooking: plan
            .kept_slots
            .iter()
            .filter_map(|k| match &k.occupancy {
                Occupancy::Booked { appointment_id } => Some(RebookingNeed {
                    appointment_id: appointment_id.clone(),
                    slot_id: k.slot_id.clone().into(),
                    session_id: k.session_id.clone(),
                }),
                _ => None,
            })
            .collect(),
        warnings: expansion
            .map(|e| e.warnings.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
    }
}

/// Which stored sessions a change looks at.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// The sessions one rota published for local dates in a range.
    Rota {
        /// The rota.
        rota_id: &'a str,
        /// First local date.
        from: NaiveDate,
        /// Last local date (inclusive).
        to: NaiveDate,
    },
    /// One session.
    Session(&'a str),
}

/// Takes the row locks of a selection's live slots before their occupancy is read, so a booking
/// or hold of one of them either committed before (and is seen) or waits until the change is
/// done. A no-op UPDATE: PostgreSQL locks the rows; on SQLite the write transaction already
/// excludes every other writer.
fn lock_slots(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    selection: Selection<'_>,
) -> Result<(), StoreError> {
    let live = slots::table
        .filter(slots::cluster_id.eq(cluster_id))
        .filter(slots::removed_at.is_null());
    let current = sessions::table
        .filter(sessions::cluster_id.eq(cluster_id))
        .filter(sessions::status.ne("withdrawn"));
    match selection {
        Selection::Rota { rota_id, from, to } => {
            let ids = current
                .filter(sessions::rota_id.eq(rota_id))
                .filter(sessions::local_date.between(from, to))
                .select(sessions::id);
            diesel::update(live.filter(slots::session_id.eq_any(ids)))
                .set(slots::version.eq(slots::version))
                .execute(conn)?;
        }
        Selection::Session(id) => {
            diesel::update(live.filter(slots::session_id.eq(id)))
                .set(slots::version.eq(slots::version))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Loads the current (not withdrawn) sessions of a selection with their live slots and what
/// occupies each slot at `now` (live appointments; holds that have not expired).
pub fn load_stored(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    selection: Selection<'_>,
    now: NaiveDateTime,
) -> Result<Vec<StoredSession>, StoreError> {
    let mut query = sessions::table
        .filter(sessions::cluster_id.eq(cluster_id))
        .filter(sessions::status.ne("withdrawn"))
        .select(Session::as_select())
        .into_boxed();
    query = match selection {
        Selection::Rota { rota_id, from, to } => query
            .filter(sessions::rota_id.eq(rota_id.to_owned()))
            .filter(sessions::local_date.between(from, to)),
        Selection::Session(id) => query.filter(sessions::id.eq(id.to_owned())),
    };
    let rows: Vec<Session> = query.load(conn)?;
    let session_ids: Vec<String> = rows.iter().map(|s| s.id.clone()).collect();
    let mut slots_by_session: HashMap<String, Vec<Slot>> = HashMap::new();
    let mut booked: HashMap<String, String> = HashMap::new();
    let mut held: std::collections::HashSet<String> = std::collections::HashSet::new();
    for chunk in session_ids.chunks(ID_CHUNK) {
        let slot_rows: Vec<Slot> = slots::table
            .filter(slots::cluster_id.eq(cluster_id))
            .filter(slots::session_id.eq_any(chunk))
            .filter(slots::removed_at.is_null())
            .select(Slot::as_select())
            .load(conn)?;
        let live: Vec<(String, String)> = appointments::table
            .filter(appointments::cluster_id.eq(cluster_id))
            .filter(appointments::session_id.eq_any(chunk))
            .filter(crate::prepared::LiveAppointment)
            .select((appointments::slot_id, appointments::id))
            .load(conn)?;
        booked.extend(live);
        let slot_ids: Vec<&str> = slot_rows.iter().map(|s| s.id.as_str()).collect();
        for ids in slot_ids.chunks(ID_CHUNK) {
            let live_holds: Vec<String> = holds::table
                .filter(holds::cluster_id.eq(cluster_id))
                .filter(holds::slot_id.eq_any(ids))
                .filter(holds::expires_at.gt(now))
                .select(holds::slot_id)
                .load(conn)?;
            held.extend(live_holds);
        }
        for slot in slot_rows {
            slots_by_session
                .entry(slot.session_id.clone())
                .or_default()
                .push(slot);
        }
    }
    Ok(rows
        .into_iter()
        .map(|s| {
            let slots = slots_by_session.remove(&s.id).unwrap_or_default();
            StoredSession {
                slots: slots
                    .into_iter()
                    .map(|slot| StoredSlot {
                        occupancy: match booked.get(slot.id.as_str()) {
                            Some(appointment_id) => Occupancy::Booked {
                                appointment_id: appointment_id.clone(),
                            },
                            None if held.contains(slot.id.as_str()) => Occupancy::Held,
                            None => Occupancy::Free,
                        },
                        start: slot.starts_at.and_utc(),
                        end: slot.ends_at.and_utc(),
                        lane: u32::try_from(slot.lane).unwrap_or(0),
                        orphaned: slot.orphaned_at.is_some(),
                        id: slot.id.into(),
                    })
                    .collect(),
                id: s.id,
                template_key: s.template_key,
                date: s.local_date,
                site_id: s.site_id.into(),
                service_id: s.service_id,
                delivery: s.delivery,
                start: s.starts_at.and_utc(),
                end: s.ends_at.and_utc(),
                capacity: u32::try_from(s.capacity).unwrap_or(0),
                status: if s.status == SessionStatus::Cancelled {
                    StoredStatus::Cancelled
                } else {
                    StoredStatus::Active
                },
            }
        })
        .collect())
}

/// What a publish needs besides the expansion: the rota and each template's slot length.
#[derive(Debug, Clone)]
pub struct PublishTarget<'a> {
    /// The cluster.
    pub cluster_id: &'a ClusterId,
    /// The rota being published.
    pub rota_id: &'a str,
    /// First local date of the range.
    pub from: NaiveDate,
    /// Last local date of the range (inclusive).
    pub to: NaiveDate,
    /// Slot length in minutes of each template, by key.
    pub slot_minutes: HashMap<String, u32>,
    /// How new slots are shared; all open when `None`.
    pub sharing: Option<super::sharing::Sharing>,
}

impl PublishTarget<'_> {
    /// The slot length of an expanded session's template (0 for a key the rota does not have).
    fn minutes(&self, s: &ExpandedSession) -> u32 {
        self.slot_minutes.get(&s.template_key).copied().unwrap_or(0)
    }
}

/// Publishes a rota's expansion over a range: plans against what is stored and, unless
/// `dry_run`, applies the plan in one transaction.
pub fn publish(
    conn: &mut DbConn,
    change: &Change,
    target: &PublishTarget<'_>,
    expansion: &Expansion,
    dry_run: bool,
) -> Result<ChangeReport, StoreError> {
    write_tx(conn, |c| {
        lock_slots(
            c,
            target.cluster_id,
            Selection::Rota {
                rota_id: target.rota_id,
                from: target.from,
                to: target.to,
            },
        )?;
        let stored = load_stored(
            c,
            target.cluster_id,
            Selection::Rota {
                rota_id: target.rota_id,
                from: target.from,
                to: target.to,
            },
            change.at,
        )?;
        let plan = plan_publish(expansion, &stored);
        let report = report(&plan, Some(expansion), dry_run);
        if !dry_run && !plan.is_empty() {
            let reason = "the rota changed: this session or slot is no longer in it";
            apply(
                c,
                change,
                target.cluster_id,
                &plan,
                Some((target, expansion)),
                "withdrawn",
                reason,
            )?;
            record(
                c,
                change,
                target.cluster_id,
                "rota",
                target.rota_id,
                "rota.publish",
                &report,
            )?;
        }
        Ok(report)
    })
}

/// Withdraws the sessions a rota published for a range (a hub closed for a day): free slots go,
/// booked ones stay and are listed for rebooking.
pub fn withdraw(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    selection: Selection<'_>,
    reason: &str,
    dry_run: bool,
) -> Result<ChangeReport, StoreError> {
    write_tx(conn, |c| {
        lock_slots(c, cluster_id, selection)?;
        let stored = load_stored(c, cluster_id, selection, change.at)?;
        let plan = plan_withdraw(&stored);
        let report = report(&plan, None, dry_run);
        if !dry_run && !plan.is_empty() {
            let (entity, id) = match selection {
                Selection::Rota { rota_id, .. } => ("rota", rota_id),
                Selection::Session(id) => ("session", id),
            };
            apply(c, change, cluster_id, &plan, None, "withdrawn", reason)?;
            record(
                c,
                change,
                cluster_id,
                entity,
                id,
                &format!("{entity}.withdraw"),
                &report,
            )?;
        }
        Ok(report)
    })
}

/// Cancels one session by the same rules as a withdrawal; a later publish leaves it cancelled.
pub fn cancel_session(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    session_id: &str,
    expected: Option<i64>,
    reason: &str,
) -> Result<ChangeReport, StoreError> {
    write_tx(conn, |c| {
        let session = get_session(c, cluster_id, session_id)?;
        if expected.is_some_and(|v| v != session.version) {
            return Err(StoreError::Conflict(crate::ConflictKind::StaleVersion));
        }
        if session.status != SessionStatus::Active {
            return Err(StoreError::Conflict(crate::ConflictKind::Transition(
                "the session is already cancelled or withdrawn".into(),
            )));
        }
        lock_slots(c, cluster_id, Selection::Session(session_id))?;
        let stored = load_stored(c, cluster_id, Selection::Session(session_id), change.at)?;
        let plan = plan_withdraw(&stored);
        let report = report(&plan, None, false);
        apply(c, change, cluster_id, &plan, None, "cancelled", reason)?;
        record(
            c,
            change,
            cluster_id,
            "session",
            session_id,
            "session.cancel",
            &report,
        )?;
        Ok(report)
    })
}

/// Names (or clears) the clinician of one session, guarded by its version.
pub fn set_clinician(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    session_id: &str,
    expected: Option<i64>,
    clinician: Option<String>,
) -> Result<Session, StoreError> {
    super::update_audited(
        conn,
        change,
        expected,
        |c| load_session(c, cluster_id, session_id),
        |c, version| {
            diesel::update(
                sessions::table
                    .find((cluster_id, session_id))
                    .filter(sessions::version.eq(version)),
            )
            .set((
                sessions::clinician.eq(&clinician),
                sessions::version.eq(version + 1),
                sessions::updated_at.eq(change.at),
            ))
            .execute(c)
        },
    )
}

super::audited!(Session, "session", |s| Some(&s.cluster_id));

fn load_session(conn: &mut DbConn, cluster_id: &ClusterId, id: &str) -> QueryResult<Session> {
    sessions::table
        .find((cluster_id, id))
        .select(Session::as_select())
        .first(conn)
}

/// Reads one session.
pub fn get_session(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    id: &str,
) -> Result<Session, StoreError> {
    Ok(load_session(conn, cluster_id, id)?)
}

/// A slot with what occupies it now.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotState {
    /// The slot.
    pub slot: Slot,
    /// Free, held or booked (with the appointment).
    pub occupancy: Occupancy,
}

/// The live slots of one session with what occupies each at `now`, in time then lane order.
pub fn session_slots(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    session_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<SlotState>, StoreError> {
    let rows: Vec<Slot> = slots::table
        .filter(slots::cluster_id.eq(cluster_id))
        .filter(slots::session_id.eq(session_id))
        .filter(slots::removed_at.is_null())
        .order((slots::starts_at.asc(), slots::lane.asc()))
        .select(Slot::as_select())
        .load(conn)?;
    let booked: HashMap<String, String> = appointments::table
        .filter(appointments::cluster_id.eq(cluster_id))
        .filter(appointments::session_id.eq(session_id))
        .filter(crate::prepared::LiveAppointment)
        .select((appointments::slot_id, appointments::id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let ids: Vec<&str> = rows.iter().map(|s| s.id.as_str()).collect();
    let mut held = std::collections::HashSet::new();
    for chunk in ids.chunks(ID_CHUNK) {
        let live: Vec<String> = holds::table
            .filter(holds::cluster_id.eq(cluster_id))
            .filter(holds::slot_id.eq_any(chunk))
            .filter(holds::expires_at.gt(now))
            .select(holds::slot_id)
            .load(conn)?;
        held.extend(live);
    }
    Ok(rows
        .into_iter()
        .map(|slot| {
            let occupancy = match booked.get(slot.id.as_str()) {
                Some(a) => Occupancy::Booked {
                    appointment_id: a.clone(),
                },
                None if held.contains(slot.id.as_str()) => Occupancy::Held,
                None => Occupancy::Free,
            };
            SlotState { slot, occupancy }
        })
        .collect())
}

/// Filters for listing sessions.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// Only this site.
    pub site_id: Option<String>,
    /// Only sessions on or after this local date.
    pub from: Option<NaiveDate>,
    /// Only sessions on or before this local date.
    pub to: Option<NaiveDate>,
    /// Only sessions in this status.
    pub status: Option<String>,
}

/// Lists a cluster's sessions by start time, then id, after a cursor of `"<start>|<id>"`.
pub fn list_sessions(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    filter: &SessionFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Session>, StoreError> {
    let mut query = sessions::table
        .filter(sessions::cluster_id.eq(cluster_id))
        .select(Session::as_select())
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(site) = &filter.site_id {
        query = query.filter(sessions::site_id.eq(site.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(sessions::local_date.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(sessions::local_date.le(to));
    }
    if let Some(status) = &filter.status {
        query = query.filter(sessions::status.eq(status.clone()));
    }
    if let Some((start, id)) = super::time_cursor(after)? {
        query = query.filter(
            sessions::starts_at.gt(start).or(sessions::starts_at
                .eq(start)
                .and(sessions::id.gt(id.to_owned()))),
        );
    }
    let rows = query.load(conn)?;
    let mut page = Page::from_rows(rows, limit, |s| &s.id);
    if page.next_after.is_some() {
        page.next_after = page
            .items
            .last()
            .map(|s| format!("{}|{}", s.starts_at.format(super::TIME_CURSOR_FORMAT), s.id));
    }
    Ok(page)
}

fn record(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    entity: &str,
    entity_id: &str,
    action: &str,
    report: &ChangeReport,
) -> Result<(), StoreError> {
    audit::record(
        conn,
        AuditEvent {
            id: new_id(),
            cluster_id: cluster_id.to_owned(),
            at: change.at,
            actor: change.actor.clone(),
            action: action.to_owned(),
            entity: entity.to_owned(),
            entity_id: entity_id.to_owned(),
            before_json: None,
            after_json: Some(
                serde_json::to_string(report).map_err(|e| StoreError::corrupt(e.to_string()))?,
            ),
        },
    )
}

fn naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

fn session_row(
    cluster_id: &ClusterId,
    rota_id: &str,
    s: &ExpandedSession,
    slot_minutes: u32,
    at: NaiveDateTime,
    id: String,
) -> Session {
    Session {
        cluster_id: cluster_id.to_owned(),
        id,
        rota_id: rota_id.to_owned(),
        template_key: s.template_key.clone(),
        local_date: s.date,
        site_id: s.site_id.clone().into(),
        service_id: s.service_id.clone(),
        starts_at: naive(s.start),
        ends_at: naive(s.end),
        slot_minutes: i32::try_from(slot_minutes).unwrap_or(i32::MAX),
        capacity: i32::try_from(s.capacity).unwrap_or(i32::MAX),
        delivery: s.delivery,
        fingerprint: format!("{}|{}|{}", s.site_id, s.service_id, s.delivery.as_str()),
        ambiguous: s.ambiguous,
        status: SessionStatus::Active,
        status_reason: None,
        clinician: None,
        version: 1,
        created_at: at,
        updated_at: at,
    }
}

fn slot_row(
    cluster_id: &ClusterId,
    session_id: &str,
    s: &ExpandedSession,
    slot: usize,
    at: NaiveDateTime,
    id: String,
) -> Option<Slot> {
    let x = s.slots.get(slot)?;
    Some(Slot {
        cluster_id: cluster_id.to_owned(),
        id: id.into(),
        session_id: session_id.to_owned(),
        site_id: s.site_id.clone().into(),
        service_id: s.service_id.clone(),
        starts_at: naive(x.start),
        ends_at: naive(x.end),
        lane: i32::try_from(x.lane).unwrap_or(0),
        delivery: s.delivery,
        channel: ChannelKind::Open,
        channel_practice_id: None,
        version: 1,
        created_at: at,
        removed_at: None,
        released_at: None,
        sharing_version: 0,
        orphaned_at: None,
        release_announced_at: None,
    })
}

/// Inserts rows as multi-row INSERTs in chunks. Diesel's multi-backend connection has no batch
/// insert, so this is written once per backend.
macro_rules! insert_chunked {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let conn: &mut DbConn = $conn;
        for chunk in super::owned_chunks($rows, INSERT_CHUNK) {
            match conn {
                DbConn::Pg(pg) => diesel::insert_into($table).values(chunk).execute(pg)?,
                DbConn::Sqlite(lite) => diesel::insert_into($table).values(chunk).execute(lite)?,
            };
        }
    }};
}

/// Applies a plan: retire sessions, remove free slots, update and create sessions and slots,
/// flag appointments for rebooking (each audited).
fn apply(
    c: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    plan: &Plan,
    publish: Option<(&PublishTarget<'_>, &Expansion)>,
    retire_status: &str,
    reason: &str,
) -> Result<(), StoreError> {
    let at = change.at;
    // A retired session offers no slot (its free slots go, the kept ones are orphaned) before it
    // is retired: the database refuses a session leaving `active` with a slot still offered
    // (migration 19), which is what lets a search skip the session's status.
    for ids in plan.remove_slots.chunks(ID_CHUNK) {
        diesel::update(
            slots::table
                .filter(slots::cluster_id.eq(cluster_id))
                .filter(slots::id.eq_any(ids)),
        )
        .set((
            slots::removed_at.eq(Some(at)),
            slots::version.eq(slots::version + 1),
        ))
        .execute(c)?;
    }
    // Slots kept for a patient or holder stop being offered.
    let kept: Vec<&str> = plan.kept_slots.iter().map(|k| k.slot_id.as_str()).collect();
    for ids in kept.chunks(ID_CHUNK) {
        diesel::update(
            slots::table
                .filter(slots::cluster_id.eq(cluster_id))
                .filter(slots::id.eq_any(ids)),
        )
        .set(slots::orphaned_at.eq(Some(at)))
        .execute(c)?;
    }
    // Then retire, before any insert: a replacement session may take the same template and day.
    for ids in plan.retire_sessions.chunks(ID_CHUNK) {
        diesel::update(
            sessions::table
                .filter(sessions::cluster_id.eq(cluster_id))
                .filter(sessions::id.eq_any(ids)),
        )
        .set((
            sessions::status.eq(retire_status),
            sessions::status_reason.eq(reason),
            sessions::version.eq(sessions::version + 1),
            sessions::updated_at.eq(at),
        ))
        .execute(c)?;
    }
    if let Some((target, expansion)) = publish {
        for (id, index) in &plan.update_sessions {
            let s = &expansion.sessions[*index];
            diesel::update(sessions::table.find((cluster_id, id)))
                .set((
                    sessions::starts_at.eq(naive(s.start)),
                    sessions::ends_at.eq(naive(s.end)),
                    sessions::capacity.eq(i32::try_from(s.capacity).unwrap_or(i32::MAX)),
                    sessions::slot_minutes.eq(i32::try_from(target.minutes(s)).unwrap_or(i32::MAX)),
                    sessions::ambiguous.eq(s.ambiguous),
                    sessions::version.eq(sessions::version + 1),
                    sessions::updated_at.eq(at),
                ))
                .execute(c)?;
            // Release follows the session's start: recompute it for the session's reserved slots.
            if let Some(sharing) = &target.sharing {
                for channel in [Channel::Triage, Channel::Practice(String::new())] {
                    let released = sharing.rules.release_time(&channel, s.start).map(naive);
                    diesel::update(
                        slots::table
                            .filter(slots::cluster_id.eq(cluster_id))
                            .filter(slots::session_id.eq(id))
                            .filter(slots::channel.eq(channel.as_str())),
                    )
                    .set(slots::released_at.eq(released))
                    .execute(c)?;
                }
            }
        }
        let (new_sessions, new_slots) = new_rows(
            target,
            expansion,
            &plan.create_sessions,
            &plan.add_slots,
            at,
            &mut new_id,
        )?;
        insert_chunked!(c, sessions::table, new_sessions);
        insert_chunked!(c, slots::table, new_slots);
    }
    // Slots wanted again are offered again.
    for ids in plan.restore_slots.chunks(ID_CHUNK) {
        diesel::update(
            slots::table
                .filter(slots::cluster_id.eq(cluster_id))
                .filter(slots::id.eq_any(ids)),
        )
        .set(slots::orphaned_at.eq(None::<NaiveDateTime>))
        .execute(c)?;
    }
    let rebook: Vec<AppointmentId> = plan.rebooking().map(AppointmentId::from).collect();
    super::appointments::flag_for_rebooking(c, change, cluster_id, &rebook, reason)?;
    Ok(())
}

/// The session and slot rows a publish creates: whole new sessions (by expansion index) and
/// slots added to existing sessions, each slot given its channel by the sharing rules. Ids come
/// from `ids`, sessions first, then slots, each in time order.
fn new_rows(
    target: &PublishTarget<'_>,
    expansion: &Expansion,
    create_sessions: &[usize],
    add_slots: &[(String, usize, usize)],
    at: NaiveDateTime,
    ids: &mut dyn FnMut() -> String,
) -> Result<(Vec<Session>, Vec<Slot>), StoreError> {
    let cluster_id = target.cluster_id;
    // The sessions that get new slots, by expansion index, which is time order.
    let mut new_sessions = Vec::with_capacity(create_sessions.len());
    let mut groups: BTreeMap<usize, (String, Vec<usize>, bool)> = BTreeMap::new();
    for &index in create_sessions {
        let s = &expansion.sessions[index];
        let row = session_row(cluster_id, target.rota_id, s, target.minutes(s), at, ids());
        groups.insert(index, (row.id.clone(), (0..s.slots.len()).collect(), true));
        new_sessions.push(row);
    }
    for (session_id, index, slot) in add_slots {
        groups
            .entry(*index)
            .or_insert_with(|| (session_id.clone(), Vec::new(), false))
            .1
            .push(*slot);
    }
    let shares: Vec<NewSlots<'_>> = groups
        .iter()
        .map(|(index, (_, slots, whole))| NewSlots {
            session: &expansion.sessions[*index],
            count: slots.len(),
            new_session: *whole,
        })
        .collect();
    let channels = match &target.sharing {
        Some(sharing) => assign_channels(&sharing.rules, &sharing.practices, &shares)
            .map_err(|e| StoreError::rejected(e.to_string()))?,
        None => shares
            .iter()
            .map(|s| {
                vec![
                    SlotChannel {
                        channel: Channel::Open,
                        released_at: None
                    };
                    s.count
                ]
            })
            .collect(),
    };
    let version = target.sharing.as_ref().map_or(0, |s| s.version);
    let mut new_slots = Vec::with_capacity(groups.values().map(|g| g.1.len()).sum());
    for ((index, (session_id, slots, _)), channels) in groups.iter().zip(channels) {
        for (&slot, assigned) in slots.iter().zip(channels) {
            if let Some(mut row) = slot_row(
                cluster_id,
                session_id,
                &expansion.sessions[*index],
                slot,
                at,
                ids(),
            ) {
                row.channel = assigned.channel.kind();
                row.channel_practice_id =
                    (assigned.channel.practice_id().map(str::to_owned)).map(Into::into);
                row.released_at = assigned.released_at.map(naive);
                row.sharing_version = version;
                new_slots.push(row);
            }
        }
    }
    Ok((new_sessions, new_slots))
}

/// The rows a first publish of a whole expansion creates, without touching the database: for
/// bulk loading into a cluster that has none of these sessions yet. Ids come from `ids`
/// (sessions first, then slots), so that a data generator can make them repeatable.
pub fn fresh_rows(
    target: &PublishTarget<'_>,
    expansion: &Expansion,
    at: NaiveDateTime,
    ids: &mut dyn FnMut() -> String,
) -> Result<(Vec<Session>, Vec<Slot>), StoreError> {
    let all: Vec<usize> = (0..expansion.sessions.len()).collect();
    new_rows(target, expansion, &all, &[], at, ids)
}

/// Reads one slot (removed ones included) of a cluster.
pub fn get_slot(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    id: &SlotId,
) -> Result<Slot, StoreError> {
    Ok(slots::table
        .find((cluster_id, id))
        .select(Slot::as_select())
        .first(conn)?)
}
