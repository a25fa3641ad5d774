//! Appointments: the one-live-appointment-per-slot rule lives in the database (a partial unique
//! index); this module writes and reads them, and works the rebooking list.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel::prelude::*;
use hubbook_core::access::AppointmentScope;

use super::{audit, audited, Change};

audited!(Appointment, "appointment", |a| Some(&a.cluster_id));
use crate::ids::{AppointmentId, ClusterId, PracticeId};
use crate::models::{Appointment, Rebooking};
use crate::schema::{appointments, practices, rebookings, sites};
use crate::{new_id, write_tx, ConflictKind, DbConn, Page, StoreError, WriteError};
use hubbook_core::appointment::AppointmentStatus;
use hubbook_core::Refusal;

/// Writes the audit event of a change to an appointment (or to its rebooking need).
fn record<T: serde::Serialize>(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    appointment_id: &AppointmentId,
    action: &str,
    before: Option<&T>,
    after: Option<&T>,
) -> Result<(), StoreError> {
    audit::write(
        conn,
        change,
        audit::Entry {
            cluster_id,
            entity: "appointment",
            entity_id: appointment_id,
            action,
            before,
            after,
        },
    )
}

pub use super::booking::insert_appointment;

fn load(conn: &mut DbConn, cluster_id: &ClusterId, id: &AppointmentId) -> QueryResult<Appointment> {
    appointments::table
        .find((cluster_id, id))
        .select(Appointment::as_select())
        .first(conn)
}

/// Reads one appointment.
pub fn get_appointment(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    id: &AppointmentId,
) -> Result<Appointment, StoreError> {
    Ok(load(conn, cluster_id, id)?)
}

/// Opens a rebooking need for each appointment that has none open, and audits each.
pub fn flag_for_rebooking(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    appointment_ids: &[AppointmentId],
    reason: &str,
) -> Result<usize, StoreError> {
    let mut flagged = 0;
    let mut news = Vec::new();
    for ids in appointment_ids.chunks(500) {
        let open: HashSet<AppointmentId> = rebookings::table
            .filter(rebookings::cluster_id.eq(cluster_id))
            .filter(rebookings::appointment_id.eq_any(ids))
            .filter(rebookings::resolved_at.is_null())
            .select(rebookings::appointment_id)
            .load::<AppointmentId>(conn)?
            .into_iter()
            .collect();
        // A further slot of an appointment is rebooked with the appointment, not on its own.
        let parts: HashSet<AppointmentId> = appointments::table
            .filter(appointments::cluster_id.eq(cluster_id))
            .filter(appointments::id.eq_any(ids))
            .filter(appointments::part_of.is_not_null())
            .select(appointments::id)
            .load::<AppointmentId>(conn)?
            .into_iter()
            .collect();
        for id in ids
            .iter()
            .filter(|id| !open.contains(*id) && !parts.contains(*id))
        {
            let row = Rebooking {
                cluster_id: cluster_id.to_owned(),
                id: new_id(),
                appointment_id: id.clone(),
                reason: reason.to_owned(),
                flagged_at: change.at,
                flagged_by: change.actor.clone(),
                resolution: None,
                resolved_at: None,
                resolved_by: None,
                resolution_note: None,
            };
            diesel::insert_into(rebookings::table)
                .values(&row)
                .execute(conn)?;
            record(
                conn,
                change,
                cluster_id,
                id,
                "appointment.needs_rebooking",
                None,
                Some(&row),
            )?;
            let a = get_appointment(conn, cluster_id, id)?;
            let mut event = super::events::appointment_event(super::events::NEEDS_REBOOKING, &a);
            event.data["reason"] = serde_json::json!(reason);
            news.push(event);
            flagged += 1;
        }
    }
    super::events::emit(conn, cluster_id, change.at, news)?;
    Ok(flagged)
}

/// The open rebooking needs of a cluster with their appointments, oldest need first; only
/// appointments booked by `practice_id` when given.
pub fn list_rebooking(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    practice_id: Option<&PracticeId>,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<(Rebooking, Appointment)>, StoreError> {
    let mut query = rebookings::table
        .filter(rebookings::cluster_id.eq(cluster_id))
        .filter(rebookings::resolved_at.is_null())
        .select(Rebooking::as_select())
        .order(rebookings::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(practice) = practice_id {
        let own = appointments::table
            .filter(appointments::cluster_id.eq(cluster_id.to_owned()))
            .filter(appointments::booking_practice_id.eq(practice.to_owned()))
            .select(appointments::id);
        query = query.filter(rebookings::appointment_id.eq_any(own));
    }
    if let Some(after) = after {
        query = query.filter(rebookings::id.gt(after.to_owned()));
    }
    let needs: Vec<Rebooking> = query.load(conn)?;
    let ids: Vec<&str> = needs.iter().map(|r| r.appointment_id.as_str()).collect();
    let mut by_id: HashMap<AppointmentId, Appointment> = appointments::table
        .filter(appointments::cluster_id.eq(cluster_id))
        .filter(appointments::id.eq_any(&ids))
        .select(Appointment::as_select())
        .load::<Appointment>(conn)?
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect();
    let rows = needs
        .into_iter()
        .filter_map(|r| by_id.remove(&r.appointment_id).map(|a| (r, a)))
        .collect();
    Ok(Page::from_rows(rows, limit, |(r, _)| &r.id))
}

/// The open rebooking need of one appointment, if any.
pub fn open_rebooking(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    appointment_id: &AppointmentId,
) -> Result<Option<Rebooking>, StoreError> {
    Ok(rebookings::table
        .filter(rebookings::cluster_id.eq(cluster_id))
        .filter(rebookings::appointment_id.eq(appointment_id))
        .filter(rebookings::resolved_at.is_null())
        .select(Rebooking::as_select())
        .first(conn)
        .optional()?)
}

/// How a rebooking need was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The patient keeps the old time (the appointment stays valid).
    Kept,
    /// The appointment is cancelled.
    Cancelled,
    /// The patient was rebooked elsewhere (set by a reschedule).
    Rebooked,
}

impl Resolution {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kept => "kept",
            Self::Cancelled => "cancelled",
            Self::Rebooked => "rebooked",
        }
    }
}

/// Resolves an appointment's open rebooking need; resolving by cancelling also cancels the
/// appointment (guarded by its version). Returns the resolved need and the appointment.
pub fn resolve_rebooking(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    appointment_id: &AppointmentId,
    expected: Option<i64>,
    resolution: Resolution,
    note: Option<&str>,
) -> Result<(Rebooking, Appointment), WriteError> {
    write_tx(conn, |c| -> Result<_, WriteError> {
        let appointment = load(c, cluster_id, appointment_id)?;
        if expected.is_some_and(|v| v != appointment.version) {
            return Err(StoreError::Conflict(ConflictKind::StaleVersion).into());
        }
        let need = open_rebooking(c, cluster_id, appointment_id)?.ok_or(StoreError::NotFound)?;
        if resolution == Resolution::Cancelled && appointment.status != AppointmentStatus::Booked {
            return Err(Refusal::InvalidTransition(format!(
                "a {} appointment cannot be cancelled",
                appointment.status
            ))
            .into());
        }
        diesel::update(
            rebookings::table
                .find((cluster_id, &need.id))
                .filter(rebookings::resolved_at.is_null()),
        )
        .set((
            rebookings::resolution.eq(resolution.as_str()),
            rebookings::resolved_at.eq(change.at),
            rebookings::resolved_by.eq(&change.actor),
            rebookings::resolution_note.eq(note),
        ))
        .execute(c)?;
        if resolution == Resolution::Cancelled {
            let changed = diesel::update(
                appointments::table
                    .find((cluster_id, appointment_id))
                    .filter(appointments::version.eq(appointment.version)),
            )
            .set((
                appointments::status.eq("cancelled"),
                appointments::cancel_reason.eq(note.unwrap_or("cancelled from the rebooking list")),
                appointments::cancelled_at.eq(change.at),
                appointments::version.eq(appointment.version + 1),
                appointments::updated_at.eq(change.at),
            ))
            .execute(c)?;
            if changed == 0 {
                return Err(StoreError::Conflict(ConflictKind::StaleVersion).into());
            }
        }
        let resolved = rebookings::table
            .find((cluster_id, &need.id))
            .select(Rebooking::as_select())
            .first(c)?;
        let after = load(c, cluster_id, appointment_id)?;
        record(
            c,
            change,
            cluster_id,
            appointment_id,
            "appointment.rebooking_resolved",
            Some(&appointment),
            Some(&after),
        )?;
        let kind = if resolution == Resolution::Cancelled {
            super::events::CANCELLED
        } else {
            super::events::REBOOKING_RESOLVED
        };
        super::events::emit(
            c,
            cluster_id,
            change.at,
            vec![super::events::appointment_event(kind, &after)],
        )?;
        Ok((resolved, after))
    })
}

/// Records a change of an appointment in the audit trail, with its state before and after.
pub fn audit_change(
    conn: &mut DbConn,
    change: &Change,
    action: &str,
    before: &Appointment,
    after: &Appointment,
) -> Result<(), StoreError> {
    record(
        conn,
        change,
        &after.cluster_id,
        &after.id,
        action,
        Some(before),
        Some(after),
    )
}

/// Filters for listing appointments; all given ones must hold.
#[derive(Debug, Clone, Default)]
pub struct AppointmentFilter {
    /// Only appointments booked by, or registered with, this practice.
    pub practice_id: Option<String>,
    /// Only at this site.
    pub site_id: Option<String>,
    /// Only in this status.
    pub status: Option<String>,
    /// Only this patient.
    pub nhs_number: Option<String>,
    /// Only starting at or after this instant.
    pub from: Option<chrono::NaiveDateTime>,
    /// Only starting before this instant.
    pub to: Option<chrono::NaiveDateTime>,
}

/// The appointments of `cluster_ids` that `scope` lets the caller see, by start time, then id,
/// after a cursor `"<start>|<id>"`. The scope is a `WHERE` clause (the same rule as
/// `AppointmentScope::contains`, with agreements judged on `today`), so a page of `limit` rows is
/// full whenever that many exist.
pub fn list_appointments(
    conn: &mut DbConn,
    cluster_ids: &[ClusterId],
    scope: &AppointmentScope,
    today: NaiveDate,
    filter: &AppointmentFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Appointment>, StoreError> {
    let mut query = appointments::table
        .filter(appointments::cluster_id.eq_any(cluster_ids.to_vec()))
        // A further slot of an appointment of adjacent slots is shown with it, not on its own.
        .filter(appointments::part_of.is_null())
        .select(Appointment::as_select())
        .order((appointments::starts_at.asc(), appointments::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    match scope {
        AppointmentScope::All => {}
        AppointmentScope::Hubs => {
            let hubs = sites::table
                .filter(sites::cluster_id.eq_any(cluster_ids.to_vec()))
                .filter(sites::kind.eq("hub"))
                .select(sites::id);
            query = query.filter(appointments::site_id.eq_any(hubs));
        }
        AppointmentScope::BookedBy(actor) => {
            query = query.filter(appointments::booked_by.eq(actor.clone()));
        }
        AppointmentScope::Practice {
            practice_id,
            shares,
        } => {
            let booked_here = appointments::booking_practice_id.eq(practice_id.clone());
            if *shares {
                let sharing = practices::table
                    .filter(practices::cluster_id.eq_any(cluster_ids.to_vec()))
                    .filter(practices::dsa_from.le(today))
                    .filter(practices::dsa_to.is_null().or(practices::dsa_to.ge(today)))
                    .select(practices::id.nullable());
                let shared_mine = appointments::registered_practice_id
                    .eq(practice_id.clone())
                    .and(appointments::booking_practice_id.eq_any(sharing));
                query = query.filter(booked_here.or(shared_mine));
            } else {
                query = query.filter(booked_here);
            }
        }
    }
    if let Some(p) = &filter.practice_id {
        query = query.filter(
            appointments::booking_practice_id
                .eq(p.clone())
                .or(appointments::registered_practice_id.eq(p.clone())),
        );
    }
    if let Some(site) = &filter.site_id {
        query = query.filter(appointments::site_id.eq(site.clone()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(appointments::status.eq(status.clone()));
    }
    if let Some(nhs) = &filter.nhs_number {
        query = query.filter(appointments::nhs_number.eq(nhs.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(appointments::starts_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(appointments::starts_at.lt(to));
    }
    if let Some((at, id)) = super::time_cursor(after)? {
        query = query.filter(
            appointments::starts_at.gt(at).or(appointments::starts_at
                .eq(at)
                .and(appointments::id.gt(id.to_owned()))),
        );
    }
    let mut page = Page::from_rows(query.load(conn)?, limit, |a| &a.id);
    if page.next_after.is_some() {
        page.next_after = page
            .items
            .last()
            .map(|a| format!("{}|{}", a.starts_at.format(super::TIME_CURSOR_FORMAT), a.id));
    }
    Ok(page)
}

/// The further slots' rows of an appointment of adjacent slots, in time order (none for an
/// appointment of one slot).
pub fn parts_of(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    id: &AppointmentId,
) -> Result<Vec<Appointment>, StoreError> {
    Ok(appointments::table
        .filter(appointments::cluster_id.eq(cluster_id))
        .filter(appointments::part_of.eq(id))
        .order(appointments::starts_at.asc())
        .select(Appointment::as_select())
        .load(conn)?)
}

/// Gives an appointment's further slots the status (and cancellation) its first slot's row has
/// just taken, in the caller's transaction, so that they are freed or kept with it.
pub(crate) fn follow_parts(
    conn: &mut DbConn,
    change: &Change,
    a: &Appointment,
) -> Result<(), StoreError> {
    diesel::update(
        appointments::table
            .filter(appointments::cluster_id.eq(&a.cluster_id))
            .filter(appointments::part_of.eq(&a.id)),
    )
    .set((
        appointments::status.eq(a.status.as_str()),
        appointments::cancel_reason.eq(&a.cancel_reason),
        appointments::cancelled_at.eq(a.cancelled_at),
        appointments::outcome_at.eq(a.outcome_at),
        appointments::version.eq(appointments::version + 1),
        appointments::updated_at.eq(change.at),
    ))
    .execute(conn)?;
    Ok(())
}

/// The end of the last further slot of each of these appointments that has further slots:
/// what an appointment of adjacent slots shows as its end.
pub fn part_ends(
    conn: &mut DbConn,
    cluster_ids: &[ClusterId],
    ids: &[AppointmentId],
) -> Result<HashMap<AppointmentId, chrono::NaiveDateTime>, StoreError> {
    let mut ends = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(Option<AppointmentId>, Option<chrono::NaiveDateTime>)> = appointments::table
            .filter(appointments::cluster_id.eq_any(cluster_ids.to_vec()))
            .filter(appointments::part_of.eq_any(chunk))
            .group_by(appointments::part_of)
            .select((
                appointments::part_of,
                diesel::dsl::max(appointments::ends_at),
            ))
            .load(conn)?;
        ends.extend(rows.into_iter().filter_map(|(id, end)| Some((id?, end?))));
    }
    Ok(ends)
}
