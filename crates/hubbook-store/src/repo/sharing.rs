//! Sharing rules per cluster (versioned, audited), slot channels set by hand, search for the
//! slots a caller may book now, and the fair-share report.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hubbook_core::allocation::Channel;
use hubbook_core::sharing::{PracticeShare, SharingRules, Viewer};
use hubbook_core::DataSharingAgreement;
use serde::Serialize;

use super::sites::{keep_scope, SCOPE_FILTERED_IN_SQL};
use super::{audit, audited, update_audited, Change};
use crate::ids::{ClusterId, SlotId};
use crate::models::{AuditEvent, Practice, Slot};
use crate::schema::{appointments, holds, practices, services, sessions, sharing_rules, slots};
use crate::{new_id, write_tx, ConflictKind, DbConn, Page, StoreError};

audited!(Slot, "slot", |s| Some(&s.cluster_id));

/// A cluster's sharing rules in force and their version (0: the defaults, never set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RulesVersion {
    /// The version; each change adds one.
    pub version: i64,
    /// The rules.
    pub rules: SharingRules,
    /// When they were set.
    pub set_at: Option<NaiveDateTime>,
    /// Who set them.
    pub set_by: Option<String>,
}

/// What a publish needs to share new slots: the rules in force and the member practices.
#[derive(Debug, Clone)]
pub struct Sharing {
    /// The rules' version, recorded on each slot.
    pub version: i64,
    /// The rules.
    pub rules: SharingRules,
    /// The cluster's practices with their list sizes and agreements.
    pub practices: Vec<PracticeShare>,
}

/// The rules in force in each of these clusters, in one query (the defaults where none were
/// set). Past a few dozen clusters every cluster's rules are read and the wanted kept here, as
/// planning `= ANY` over a thousand ids costs more than the rows.
pub fn current_rules_of(
    conn: &mut DbConn,
    cluster_ids: &[ClusterId],
) -> Result<std::collections::HashMap<String, SharingRules>, StoreError> {
    let ordered = sharing_rules::table
        .order((
            sharing_rules::cluster_id.asc(),
            sharing_rules::version.desc(),
        ))
        .select((
            sharing_rules::cluster_id,
            sharing_rules::version,
            sharing_rules::rules_json,
        ));
    let rows: Vec<(String, i64, String)> = if cluster_ids.len() <= SCOPE_FILTERED_IN_SQL {
        ordered
            .filter(sharing_rules::cluster_id.eq_any(cluster_ids))
            .load(conn)?
    } else {
        keep_scope(
            ordered.load(conn)?,
            cluster_ids,
            |r: &(String, i64, String)| &r.0,
        )
    };
    let mut current = std::collections::HashMap::new();
    for (cluster_id, version, json) in rows {
        if current.contains_key(&cluster_id) {
            continue;
        }
        let rules = serde_json::from_str(&json)
            .map_err(|e| StoreError::corrupt(format!("sharing rules v{version}: {e}")))?;
        current.insert(cluster_id, rules);
    }
    for id in cluster_ids {
        current.entry(id.clone().into()).or_default();
    }
    Ok(current)
}

/// The sharing rules in force for a cluster.
pub fn current_rules(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
) -> Result<RulesVersion, StoreError> {
    let latest: Option<(i64, String, NaiveDateTime, String)> = sharing_rules::table
        .filter(sharing_rules::cluster_id.eq(cluster_id))
        .order(sharing_rules::version.desc())
        .select((
            sharing_rules::version,
            sharing_rules::rules_json,
            sharing_rules::created_at,
            sharing_rules::created_by,
        ))
        .first(conn)
        .optional()?;
    match latest {
        None => Ok(RulesVersion {
            version: 0,
            rules: SharingRules::default(),
            set_at: None,
            set_by: None,
        }),
        Some((version, json, at, by)) => Ok(RulesVersion {
            version,
            rules: serde_json::from_str(&json)
                .map_err(|e| StoreError::corrupt(format!("sharing rules v{version}: {e}")))?,
            set_at: Some(at),
            set_by: Some(by),
        }),
    }
}

/// Sets a cluster's sharing rules as a new version, guarded by the version last read; audited.
/// They apply to slots published from now on.
pub fn set_rules(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    expected: Option<i64>,
    rules: &SharingRules,
) -> Result<RulesVersion, StoreError> {
    write_tx(conn, |c| {
        let before = current_rules(c, cluster_id)?;
        if expected.is_some_and(|v| v != before.version) {
            return Err(StoreError::Conflict(ConflictKind::StaleVersion));
        }
        let json = serde_json::to_string(rules).map_err(|e| StoreError::corrupt(e.to_string()))?;
        diesel::insert_into(sharing_rules::table)
            .values((
                sharing_rules::cluster_id.eq(cluster_id),
                sharing_rules::version.eq(before.version + 1),
                sharing_rules::rules_json.eq(&json),
                sharing_rules::created_at.eq(change.at),
                sharing_rules::created_by.eq(&change.actor),
            ))
            .execute(c)?;
        let after = current_rules(c, cluster_id)?;
        audit::record(
            c,
            AuditEvent {
                id: new_id(),
                cluster_id: cluster_id.to_owned(),
                at: change.at,
                actor: change.actor.clone(),
                action: "sharing.update".into(),
                entity: "sharing".into(),
                entity_id: cluster_id.to_owned().into(),
                before_json: Some(
                    serde_json::to_string(&before)
                        .map_err(|e| StoreError::corrupt(e.to_string()))?,
                ),
                after_json: Some(
                    serde_json::to_string(&after)
                        .map_err(|e| StoreError::corrupt(e.to_string()))?,
                ),
            },
        )?;
        Ok(after)
    })
}

/// The cluster's practices as sharing sees them.
pub fn practice_shares(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
) -> Result<Vec<PracticeShare>, StoreError> {
    let rows: Vec<Practice> = practices::table
        .filter(practices::cluster_id.eq(cluster_id))
        .order(practices::id.asc())
        .select(Practice::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|p| {
            let agreement = DataSharingAgreement::new(p.dsa_from, p.dsa_to)
                .map_err(|e| StoreError::corrupt(e.to_string()))?;
            Ok(PracticeShare {
                practice_id: p.id.into(),
                list_size: u32::try_from(p.list_size).unwrap_or(0),
                agreement,
            })
        })
        .collect()
}

/// The rules in force and the member practices, for a publish.
pub fn current(conn: &mut DbConn, cluster_id: &ClusterId) -> Result<Sharing, StoreError> {
    let rules = current_rules(conn, cluster_id)?;
    Ok(Sharing {
        version: rules.version,
        rules: rules.rules,
        practices: practice_shares(conn, cluster_id)?,
    })
}

/// Sets one slot's channel by hand (a hub keeps a slot for a housebound patient's practice),
/// with its new release instant; guarded by the slot's version and audited.
pub fn set_slot_channel(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    slot_id: &SlotId,
    expected: Option<i64>,
    channel: &Channel,
    released_at: Option<NaiveDateTime>,
) -> Result<Slot, StoreError> {
    let load = |c: &mut DbConn| {
        slots::table
            .find((cluster_id, slot_id))
            .filter(slots::removed_at.is_null())
            .select(Slot::as_select())
            .first(c)
    };
    update_audited(conn, change, expected, load, |c, version| {
        diesel::update(
            slots::table
                .find((cluster_id, slot_id))
                .filter(slots::version.eq(version)),
        )
        .set((
            slots::channel.eq(channel.as_str()),
            slots::channel_practice_id.eq(channel.practice_id()),
            slots::released_at.eq(released_at),
            slots::release_announced_at.eq(None::<NaiveDateTime>),
            slots::version.eq(version + 1),
        ))
        .execute(c)
    })
}

/// A search for bookable slots.
#[derive(Debug, Clone)]
pub struct SlotSearch {
    /// The clusters searched.
    pub cluster_ids: Vec<ClusterId>,
    /// Who is searching, as the sharing rules see it.
    pub viewer: Viewer,
    /// The caller (`user:<id>` or `client:<id>`): its own live holds do not hide a slot from it.
    pub holder: String,
    /// Now: release and hold expiry are judged at this instant, and past slots are not offered.
    pub now: NaiveDateTime,
    /// Slots starting at or after this instant.
    pub from: NaiveDateTime,
    /// Slots starting before this instant.
    pub to: NaiveDateTime,
    /// Only this service.
    pub service_id: Option<String>,
    /// Only services of this clinical role.
    pub clinical_role: Option<String>,
    /// Only this site.
    pub site_id: Option<String>,
    /// Only this delivery channel.
    pub delivery: Option<String>,
    /// Only services whose code or clinical role is one of these (a disposition's services).
    pub service_codes: Option<Vec<String>>,
    /// Only these delivery channels (a disposition's fit).
    pub deliveries: Option<Vec<String>>,
}

/// The free slots a caller may book now, by start time then id, after a cursor `"<start>|<id>"`.
///
/// Free: in an active session, not removed, no live appointment, no live hold of someone else.
/// Offered: by the channel and release rules of `hubbook_core::sharing::visibility`.
pub fn search_slots(
    conn: &mut DbConn,
    search: &SlotSearch,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Slot>, StoreError> {
    free_slots(conn, search, after, limit, true)
}

/// The free slots of the same search that the caller may *not* book now (kept for another
/// practice or for 111 until their release, or at another site when the practice has no
/// data-sharing agreement in force), earliest first: what a desk asks "why is it not offered"
/// about.
pub fn slots_not_offered(
    conn: &mut DbConn,
    search: &SlotSearch,
    limit: i64,
) -> Result<Vec<Slot>, StoreError> {
    Ok(free_slots(conn, search, None, limit, false)?.items)
}

/// The free slots of a search, offered to its viewer or (`offered` false) not.
fn free_slots(
    conn: &mut DbConn,
    search: &SlotSearch,
    after: Option<&str>,
    limit: i64,
    offered: bool,
) -> Result<Page<Slot>, StoreError> {
    // Correlated EXISTS probes, one index lookup per candidate slot: the cost follows the slots
    // in the window, not every appointment the clusters have.
    let live = appointments::table
        .filter(appointments::cluster_id.eq(slots::cluster_id))
        .filter(appointments::slot_id.eq(slots::id))
        .filter(crate::prepared::LiveAppointment)
        .select(appointments::slot_id);
    let held = holds::table
        .filter(holds::cluster_id.eq(slots::cluster_id))
        .filter(holds::slot_id.eq(slots::id))
        .filter(holds::expires_at.gt(search.now))
        .filter(holds::holder.ne(search.holder.clone()))
        .select(holds::slot_id);
    // No probe of the session: a slot neither removed nor orphaned is in an active session, a
    // rule the database keeps (migration 19's triggers).
    let start = if search.from > search.now {
        search.from
    } else {
        search.now
    };
    let mut query = slots::table
        .filter(slots::removed_at.is_null())
        .filter(slots::orphaned_at.is_null())
        .filter(slots::starts_at.gt(start))
        .filter(slots::starts_at.lt(search.to))
        .filter(diesel::dsl::not(diesel::dsl::exists(live)))
        .filter(diesel::dsl::not(diesel::dsl::exists(held)))
        .select(Slot::as_select())
        .order((slots::starts_at.asc(), slots::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    // One cluster (every receptionist's search) as `=`, so the planner walks the cluster's
    // slots in start order and stops at the page: on PostgreSQL `= ANY` plans 2.5 times slower
    // and sorts the whole window.
    query = match search.cluster_ids.as_slice() {
        [one] => query.filter(slots::cluster_id.eq(one.clone())),
        many => query.filter(slots::cluster_id.eq_any(many.to_vec())),
    };
    let released = slots::released_at
        .is_not_null()
        .and(slots::released_at.le(search.now).assume_not_null());
    match &search.viewer {
        Viewer::Practice {
            practice_id,
            agreement_in_force,
            own_site,
        } => {
            let by_channel = slots::channel
                .eq("open")
                .or(slots::channel.eq("practice").and(
                    slots::channel_practice_id
                        .eq(practice_id.clone())
                        .assume_not_null(),
                ))
                .or(released);
            // Without an agreement in force a practice books only at its own site (none: nowhere).
            let own = own_site.clone().unwrap_or_default();
            match (offered, agreement_in_force) {
                (true, true) => query = query.filter(by_channel),
                (true, false) if own_site.is_none() => {
                    return Ok(Page {
                        items: Vec::new(),
                        next_after: None,
                    })
                }
                (true, false) => query = query.filter(by_channel.and(slots::site_id.eq(own))),
                (false, true) => query = query.filter(diesel::dsl::not(by_channel)),
                (false, false) => {
                    query = query.filter(diesel::dsl::not(by_channel).or(slots::site_id.ne(own)));
                }
            }
        }
        Viewer::Triage { open_clusters } => {
            let open_here = slots::cluster_id
                .eq_any(open_clusters.clone())
                .and(slots::channel.eq("open").or(released));
            let by_channel = slots::channel.eq("111").or(open_here);
            query = if offered {
                query.filter(by_channel)
            } else {
                query.filter(diesel::dsl::not(by_channel))
            };
        }
    }
    if let Some(service) = &search.service_id {
        query = query.filter(slots::service_id.eq(service.clone()));
    }
    if let Some(role) = &search.clinical_role {
        let of_role = services::table
            .filter(services::cluster_id.eq_any(search.cluster_ids.clone()))
            .filter(services::clinical_role.eq(role.clone()))
            .select(services::id);
        query = query.filter(slots::service_id.eq_any(of_role));
    }
    if let Some(site) = &search.site_id {
        query = query.filter(slots::site_id.eq(site.clone()));
    }
    if let Some(delivery) = &search.delivery {
        query = query.filter(slots::delivery.eq(delivery));
    }
    if let Some(codes) = &search.service_codes {
        let fitting = services::table
            .filter(services::cluster_id.eq_any(search.cluster_ids.clone()))
            .filter(
                services::code
                    .eq_any(codes.clone())
                    .or(services::clinical_role.eq_any(codes.clone())),
            )
            .select(services::id);
        query = query.filter(slots::service_id.eq_any(fitting));
    }
    if let Some(deliveries) = &search.deliveries {
        query = query.filter(slots::delivery.eq_any(deliveries.clone()));
    }
    if let Some((at, id)) = super::time_cursor(after)? {
        query = query.filter(
            slots::starts_at
                .gt(at)
                .or(slots::starts_at.eq(at).and(slots::id.gt(id.to_owned()))),
        );
    }
    let mut page = Page::from_rows(query.load(conn)?, limit, |s| &s.id);
    if page.next_after.is_some() {
        page.next_after = page
            .items
            .last()
            .map(|s| format!("{}|{}", s.starts_at.format(super::TIME_CURSOR_FORMAT), s.id));
    }
    Ok(page)
}

/// Reads one slot, removed or not (what an appointment was booked into).
pub fn get_slot(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    slot_id: &SlotId,
) -> Result<Slot, StoreError> {
    Ok(slots::table
        .find((cluster_id, slot_id))
        .select(Slot::as_select())
        .first(conn)?)
}

/// Reads one live (not removed) slot.
pub fn get_live_slot(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    slot_id: &SlotId,
) -> Result<Slot, StoreError> {
    Ok(slots::table
        .find((cluster_id, slot_id))
        .filter(slots::removed_at.is_null())
        .select(Slot::as_select())
        .first(conn)?)
}

/// Finds a live slot by id in any of the given clusters.
pub fn find_slot(
    conn: &mut DbConn,
    cluster_ids: &[ClusterId],
    slot_id: &SlotId,
) -> Result<Slot, StoreError> {
    Ok(slots::table
        .filter(slots::cluster_id.eq_any(cluster_ids.to_vec()))
        .filter(slots::id.eq(slot_id))
        .filter(slots::removed_at.is_null())
        .select(Slot::as_select())
        .first(conn)?)
}

/// Every slot of a cluster starting in `[from, to)` that the rota still has, free or not, in
/// time order: what a bulk availability file lists.
pub fn slots_in_window(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<Slot>, StoreError> {
    Ok(slots::table
        .filter(slots::cluster_id.eq(cluster_id))
        .filter(slots::starts_at.ge(from))
        .filter(slots::starts_at.lt(to))
        .filter(slots::removed_at.is_null())
        .order((slots::starts_at, slots::id))
        .select(Slot::as_select())
        .load(conn)?)
}

/// When each slot of a cluster starting in `[from, to)` last had an appointment made or
/// changed, by slot id (slots never booked are absent).
pub fn last_booking_changes(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(String, NaiveDateTime)>, StoreError> {
    let rows: Vec<(String, Option<NaiveDateTime>)> = appointments::table
        .filter(appointments::cluster_id.eq(cluster_id))
        .filter(appointments::starts_at.ge(from))
        .filter(appointments::starts_at.lt(to))
        .group_by(appointments::slot_id)
        .select((
            appointments::slot_id,
            diesel::dsl::max(appointments::updated_at),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(slot, at)| at.map(|at| (slot, at)))
        .collect())
}

/// Per practice: what was reserved for it in a period and what became of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, QueryableByName)]
pub struct ReservationUse {
    /// The practice.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub practice_id: String,
    /// Slots reserved for it.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub reserved: i64,
    /// Of those, booked by the practice itself.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub booked_from_reservation: i64,
    /// Of those, released to every practice without the practice booking them.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub released_unused: i64,
}

/// Per practice: appointments it booked in slots not reserved for it (open, released, 111).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, QueryableByName)]
pub struct OpenBookings {
    /// The practice.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub practice_id: String,
    /// How many.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub booked_from_open: i64,
}

/// Rewrites `?` placeholders as PostgreSQL's `$1, $2, ...` when the connection needs it.
fn placeholders(conn: &DbConn, sql: &str) -> String {
    match conn {
        DbConn::Sqlite(_) => sql.to_owned(),
        DbConn::Pg(_) => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(ch);
                }
            }
            out
        }
    }
}

/// The fair-share figures of a cluster for slots starting in `[from, to)`, aggregated by the
/// database: reservations per practice and their use, and bookings made from open capacity.
pub fn fair_share(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    from: NaiveDateTime,
    to: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(Vec<ReservationUse>, Vec<OpenBookings>), StoreError> {
    use diesel::sql_types::{Text, Timestamp};
    let reserved_sql = placeholders(
        conn,
        "SELECT s.channel_practice_id AS practice_id, \
                COUNT(*) AS reserved, \
                SUM(CASE WHEN a.id IS NOT NULL THEN 1 ELSE 0 END) AS booked_from_reservation, \
                SUM(CASE WHEN a.id IS NULL AND s.released_at <= ? THEN 1 ELSE 0 END) AS released_unused \
         FROM slots s \
         LEFT JOIN appointments a ON a.cluster_id = s.cluster_id AND a.slot_id = s.id \
              AND a.status <> 'cancelled' AND a.booking_practice_id = s.channel_practice_id \
         WHERE s.cluster_id = ? AND s.removed_at IS NULL AND s.channel = 'practice' \
           AND s.starts_at >= ? AND s.starts_at < ? \
         GROUP BY s.channel_practice_id",
    );
    let reserved = diesel::sql_query(reserved_sql)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(cluster_id)
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .load::<ReservationUse>(conn)?;
    let open_sql = placeholders(
        conn,
        "SELECT a.booking_practice_id AS practice_id, COUNT(*) AS booked_from_open \
         FROM appointments a \
         JOIN slots s ON s.cluster_id = a.cluster_id AND s.id = a.slot_id \
         WHERE a.cluster_id = ? AND a.status <> 'cancelled' AND a.booking_practice_id IS NOT NULL \
           AND a.starts_at >= ? AND a.starts_at < ? \
           AND NOT (s.channel = 'practice' AND s.channel_practice_id = a.booking_practice_id) \
         GROUP BY a.booking_practice_id",
    );
    let open = diesel::sql_query(open_sql)
        .bind::<Text, _>(cluster_id)
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .load::<OpenBookings>(conn)?;
    Ok((reserved, open))
}

/// Whether a slot is free at `now`: its session active, no live appointment, no live hold.
pub fn slot_is_free(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    slot: &Slot,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let active: i64 = sessions::table
        .filter(sessions::cluster_id.eq(cluster_id))
        .filter(sessions::id.eq(&slot.session_id))
        .filter(sessions::status.eq("active"))
        .count()
        .get_result(conn)?;
    let booked: i64 = appointments::table
        .filter(appointments::cluster_id.eq(cluster_id))
        .filter(appointments::slot_id.eq(&slot.id))
        .filter(crate::prepared::LiveAppointment)
        .count()
        .get_result(conn)?;
    let held: i64 = holds::table
        .filter(holds::cluster_id.eq(cluster_id))
        .filter(holds::slot_id.eq(&slot.id))
        .filter(holds::expires_at.gt(now))
        .count()
        .get_result(conn)?;
    Ok(active == 1 && booked == 0 && held == 0)
}
