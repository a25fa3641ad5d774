//! What the cluster manager's dashboard reads beside the reports: the slots still free in the
//! hours ahead, by site and service.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::ClusterId;
use crate::schema::{appointments, sessions, slots};
use crate::{DbConn, StoreError};

/// How many slots of one site and service are still free in a stretch of time.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct FreeSlots {
    /// The site's id.
    pub site_id: String,
    /// The service's id.
    pub service_id: String,
    /// The free slots.
    pub free: i64,
}

/// The cluster's slots starting in `[from, to)` that are still free, counted by site and
/// service: offered (not removed, not orphaned, of an active session) and without a live
/// appointment. A hold does not count against a slot: it lasts minutes, and the reports'
/// "still free" ignores it too. Rows come in site then service id order.
pub fn free_slots_by_site_and_service(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<FreeSlots>, StoreError> {
    // Correlated probes, one index lookup per slot of the window (as the slot search does).
    let live = appointments::table
        .filter(appointments::cluster_id.eq(slots::cluster_id))
        .filter(appointments::slot_id.eq(slots::id))
        .filter(crate::prepared::LiveAppointment)
        .select(appointments::slot_id);
    let active = sessions::table
        .filter(sessions::cluster_id.eq(slots::cluster_id))
        .filter(sessions::id.eq(slots::session_id))
        .filter(sessions::status.eq("active"))
        .select(sessions::id);
    Ok(slots::table
        .filter(slots::cluster_id.eq(cluster_id))
        .filter(slots::removed_at.is_null())
        .filter(slots::orphaned_at.is_null())
        .filter(slots::starts_at.ge(from))
        .filter(slots::starts_at.lt(to))
        .filter(diesel::dsl::exists(active))
        .filter(diesel::dsl::not(diesel::dsl::exists(live)))
        .group_by((slots::site_id, slots::service_id))
        .select((slots::site_id, slots::service_id, diesel::dsl::count_star()))
        .order((slots::site_id.asc(), slots::service_id.asc()))
        .load(conn)?)
}
