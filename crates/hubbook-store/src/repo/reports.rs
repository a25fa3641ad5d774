//! Reports for a cluster's manager, computed by the database: each function runs one aggregate
//! query (`GROUP BY` with `SUM(CASE ...)`) over a period and returns typed rows, the same on
//! SQLite and PostgreSQL.
//!
//! # Local time on both backends
//! A [`Window`] holds the period's local dates cut into spans of constant UTC offset
//! ([`hubbook_core::report::local_spans`]). Each query gets them as a `VALUES` table
//! `spans(sp_day, sp_week, sp_wd, sp_from, sp_to, sp_off, sp_lo, sp_hi)` and joins rows to it by
//! UTC range; the local minute of the day is `(epoch(t) + sp_off * 60) % 86400 / 60`, so days,
//! ISO weeks (Monday first), weekdays, hour bands and the network standard hours are the
//! cluster's own on a daylight-saving change day as on any other, although SQLite has no time
//! zones. When a booking was made is placed in local time the same way, through a `zone(z_from,
//! z_to, z_off)` table of the zone's offsets over the three years before the period.
//!
//! # Definitions
//! Every report covers the period `[from, to)`: the local dates asked for, from the first
//! instant of the first to the first instant of the day after the last. A slot or appointment
//! belongs to the period, and to a day, week, weekday and hour band, by its local start.
//! * **offered**: slots of active sessions that are not removed.
//! * **booked**: offered slots holding an appointment that is not cancelled (booked, arrived,
//!   seen or did not attend).
//! * **attended**: offered slots whose appointment is arrived or seen.
//! * **dna**: offered slots whose appointment did not attend.
//! * **cancelled late**: cancelled appointments (a reschedule cancels too) whose cancellation
//!   came less than `late_cancel_hours` before the start, or after it.
//! * **unused**: offered slots that had started at the report's `now` without being booked.
//! * **still free**: offered slots not yet started and not booked; `offered = booked + unused +
//!   still free`.
//! * **utilisation**: booked / offered.
//! * **lost to withdrawal**: the slots that withdrawn or cancelled sessions had when they were
//!   retired (those left, kept for a patient, and those removed by the retirement, which is the
//!   session's latest slot removal), unless an active session of the same rota, template and
//!   date replaced them. A session whose every slot was booked or held when it was withdrawn,
//!   after a rota change had removed some of its slots, also counts those.
//! * **lost to late cancellation**: started offered slots left unbooked with a late-cancelled
//!   appointment; **unused** in the capacity report excludes them.
//! * **lost to DNA**: offered slots whose appointment did not attend.
//! * **hours** and **minutes**: the slots' lengths (`ends_at - starts_at`); parallel lanes each
//!   count, as each is a clinician's (or a chair's) time.
//! * Appointment reports (DNA, bookings, activity) count appointments that are not cancelled,
//!   whatever their session's state (one kept for rebooking still counts). The DNA and activity
//!   reports give an appointment to the patient's registered practice, else to the booking
//!   practice; the bookings report to the booking practice (none for NHS 111), by the booking's
//!   channel (`practice`: in the practice's own reservation, `111`, `open`: open or released).
//! * **dna rate** (computed by the API): dna / (attended + dna); still-booked appointments have
//!   no outcome and count in neither.
//! * **lead time**: the appointment's local date less the local date it was booked on, in the
//!   bands of [`LeadTime`]: same day (0, or less), 1-2, 3-7, 8-14 and 15+ days.
//! * **shared slots** (the day weights of a practice's fair share, see
//!   [`hubbook_core::fair_share`]): slots not removed and not reserved for 111, by local date.
//! * **enhanced access**: per ISO week, the minutes of offered slots and those inside the
//!   network standard hours (weekdays 18:30-20:00, Saturdays 09:00-17:00, local), a slot's
//!   overlap with them counted to the minute.
//!
//! # Indexes
//! * `slots_cluster_time (cluster_id, starts_at) WHERE removed_at IS NULL`: the offered slots of
//!   a period (utilisation, capacity, enhanced access).
//! * `appointments_cluster_time (cluster_id, starts_at)`: the appointments of a period (every
//!   report; the per-slot outcomes of utilisation and capacity are aggregated from it first).
//! * primary keys of `sessions`, `sites`, `services`, `practices`: the joins.
//! * `sessions_retired (cluster_id, starts_at) WHERE status <> 'active'` and `slots_session
//!   (cluster_id, session_id, removed_at)` (migration 000007): the withdrawn sessions of a period
//!   and their slots, removed ones included, for capacity lost to withdrawal.
//! * `sessions_one_per_template_day` (PostgreSQL) or `sessions_rota_date` (SQLite): whether a
//!   withdrawn session was replaced.
//!
//! Rows are joined to the spans with the spans outside, each span seeking its rows in the
//! `(cluster_id, starts_at)` index (`Sql::in_spans`); PostgreSQL runs reports without JIT.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamp};
use hubbook_core::fair_share::SharedDay;
use hubbook_core::report::{
    hour_band, iso_week_label, local_spans, network_standard_hours, offset_periods, weekday_label,
    weekday_of, LeadTime, LocalSpan, OffsetPeriod,
};
use hubbook_core::ClusterTimeZone;

use crate::ids::ClusterId;
use crate::{Backend, DbConn, StoreError};

/// How far before the period bookings are placed in local time exactly (older ones use the
/// offset of the appointment's own day).
const BOOKING_HISTORY_DAYS: i64 = 3 * 366;

/// The period of a report in a cluster's local time, and the instant it is read at.
#[derive(Debug, Clone)]
pub struct Window {
    /// The first instant of the first local date.
    pub from: NaiveDateTime,
    /// The first instant after the last local date.
    pub to: NaiveDateTime,
    /// Now: slots that started before it are past (unused rather than still free).
    pub now: NaiveDateTime,
    spans: Vec<LocalSpan>,
    offsets: Vec<OffsetPeriod>,
}

impl Window {
    /// The local dates `from..=to` of a cluster's zone, read at `now`.
    pub fn new(zone: ClusterTimeZone, from: NaiveDate, to: NaiveDate, now: NaiveDateTime) -> Self {
        let spans = local_spans(zone.0, from, to);
        let start = hubbook_core::report::start_of_day(zone.0, from);
        let end = to
            .succ_opt()
            .map_or(start, |d| hubbook_core::report::start_of_day(zone.0, d));
        let offsets = offset_periods(
            zone.0,
            start - chrono::Duration::days(BOOKING_HISTORY_DAYS),
            end,
        );
        Self {
            from: start.naive_utc(),
            to: end.naive_utc(),
            now,
            spans,
            offsets,
        }
    }

    /// The local dates of the period cut into spans of constant UTC offset.
    pub fn spans(&self) -> &[LocalSpan] {
        &self.spans
    }
}

/// What a report's rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBy {
    /// The ISO week (Monday to Sunday), keyed by its Monday.
    Week,
    /// The local date.
    Day,
    /// The local weekday, keyed `1` (Monday) to `7` (Sunday).
    Weekday,
    /// The local hour of the start, keyed `00` to `23`, labelled `18:00-19:00`.
    Hour,
    /// The site, keyed by its id.
    Site,
    /// The service, keyed by its code.
    Service,
    /// The service's clinical role.
    Role,
    /// The channel: of the slot (utilisation) or of the booking (bookings).
    Channel,
    /// The practice (ODS code): the booking practice (bookings), else the patient's practice.
    Practice,
    /// The lead time from booking to appointment in local days, keyed `0` to `4`.
    LeadTime,
    /// The practice, the service and the requesting organisation (activity).
    Requester,
}

impl GroupBy {
    /// Every grouping, in a stable order.
    pub const ALL: [GroupBy; 11] = [
        Self::Week,
        Self::Day,
        Self::Weekday,
        Self::Hour,
        Self::Site,
        Self::Service,
        Self::Role,
        Self::Channel,
        Self::Practice,
        Self::LeadTime,
        Self::Requester,
    ];

    /// The grouping's name in the API, e.g. `lead_time`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Week => "week",
            Self::Day => "day",
            Self::Weekday => "weekday",
            Self::Hour => "hour",
            Self::Site => "site",
            Self::Service => "service",
            Self::Role => "role",
            Self::Channel => "channel",
            Self::Practice => "practice",
            Self::LeadTime => "lead_time",
            Self::Requester => "requester",
        }
    }

    /// The grouping of a name, if there is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == name)
    }

    fn is_time(self) -> bool {
        matches!(
            self,
            Self::Week | Self::Day | Self::Weekday | Self::Hour | Self::LeadTime
        )
    }
}

/// The groupings of the utilisation report; the first is the default.
pub const UTILISATION_GROUPS: &[GroupBy] = &[
    GroupBy::Week,
    GroupBy::Day,
    GroupBy::Hour,
    GroupBy::Site,
    GroupBy::Service,
    GroupBy::Role,
    GroupBy::Channel,
];
/// The groupings of the capacity report; the first is the default.
pub const CAPACITY_GROUPS: &[GroupBy] = &[
    GroupBy::Week,
    GroupBy::Day,
    GroupBy::Site,
    GroupBy::Service,
    GroupBy::Role,
];
/// The groupings of the DNA report; the first is the default.
pub const DNA_GROUPS: &[GroupBy] = &[
    GroupBy::Practice,
    GroupBy::Service,
    GroupBy::Site,
    GroupBy::Weekday,
    GroupBy::Hour,
    GroupBy::LeadTime,
    GroupBy::Week,
];
/// The groupings of the bookings report; the first is the default.
pub const BOOKINGS_GROUPS: &[GroupBy] = &[GroupBy::Practice, GroupBy::Channel];
/// The groupings of the activity report; the first is the default.
pub const ACTIVITY_GROUPS: &[GroupBy] = &[GroupBy::Practice, GroupBy::Requester];
/// The groupings of the enhanced-access report; the first is the default.
pub const ENHANCED_ACCESS_GROUPS: &[GroupBy] = &[GroupBy::Week];

/// Slot figures of one group: see the module's definitions.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct UtilisationRow {
    /// The group's key (a date, an id, a code, `00`-`23`).
    #[diesel(sql_type = Text)]
    pub group_key: String,
    /// The group's label for people.
    #[diesel(sql_type = Text)]
    pub group_label: String,
    /// Offered slots.
    #[diesel(sql_type = BigInt)]
    pub offered: i64,
    /// Offered slots booked (not cancelled).
    #[diesel(sql_type = BigInt)]
    pub booked: i64,
    /// Offered slots whose patient arrived or was seen.
    #[diesel(sql_type = BigInt)]
    pub attended: i64,
    /// Offered slots whose patient did not attend.
    #[diesel(sql_type = BigInt)]
    pub dna: i64,
    /// Appointments in offered slots cancelled late.
    #[diesel(sql_type = BigInt)]
    pub cancelled_late: i64,
    /// Offered slots started unbooked.
    #[diesel(sql_type = BigInt)]
    pub unused: i64,
    /// Offered slots not started and not booked.
    #[diesel(sql_type = BigInt)]
    pub still_free: i64,
}

/// Capacity figures of one group, in slots and minutes: see the module's definitions.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CapacityRow {
    /// The group's key.
    #[diesel(sql_type = Text)]
    pub group_key: String,
    /// The group's label.
    #[diesel(sql_type = Text)]
    pub group_label: String,
    /// Offered slots.
    #[diesel(sql_type = BigInt)]
    pub offered_slots: i64,
    /// Their minutes.
    #[diesel(sql_type = BigInt)]
    pub offered_minutes: i64,
    /// Offered slots started unbooked, without a late cancellation.
    #[diesel(sql_type = BigInt)]
    pub unused_slots: i64,
    /// Their minutes.
    #[diesel(sql_type = BigInt)]
    pub unused_minutes: i64,
    /// Slots of withdrawn or cancelled sessions that were not replaced.
    #[diesel(sql_type = BigInt)]
    pub withdrawn_slots: i64,
    /// Their minutes.
    #[diesel(sql_type = BigInt)]
    pub withdrawn_minutes: i64,
    /// Offered slots started unbooked after a late cancellation.
    #[diesel(sql_type = BigInt)]
    pub late_cancel_slots: i64,
    /// Their minutes.
    #[diesel(sql_type = BigInt)]
    pub late_cancel_minutes: i64,
    /// Offered slots whose patient did not attend.
    #[diesel(sql_type = BigInt)]
    pub dna_slots: i64,
    /// Their minutes.
    #[diesel(sql_type = BigInt)]
    pub dna_minutes: i64,
}

/// Attendance figures of one group of appointments (not cancelled).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct DnaRow {
    /// The group's key.
    #[diesel(sql_type = Text)]
    pub group_key: String,
    /// The group's label.
    #[diesel(sql_type = Text)]
    pub group_label: String,
    /// Appointments not cancelled.
    #[diesel(sql_type = BigInt)]
    pub appointments: i64,
    /// Of those, arrived or seen.
    #[diesel(sql_type = BigInt)]
    pub attended: i64,
    /// Of those, did not attend.
    #[diesel(sql_type = BigInt)]
    pub dna: i64,
    /// Of those, still booked: no outcome recorded.
    #[diesel(sql_type = BigInt)]
    pub no_outcome: i64,
}

/// Appointments (not cancelled) of one booking practice or one channel, by channel.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct BookingsRow {
    /// The practice's ODS code (empty for bookings without a practice), or the channel.
    #[diesel(sql_type = Text)]
    pub group_key: String,
    /// The practice's name, or the channel's description.
    #[diesel(sql_type = Text)]
    pub group_label: String,
    /// The practice's registered list size.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub list_size: Option<i64>,
    /// The start of its data-sharing agreement.
    #[diesel(sql_type = Nullable<Date>)]
    pub dsa_from: Option<NaiveDate>,
    /// The end of its data-sharing agreement.
    #[diesel(sql_type = Nullable<Date>)]
    pub dsa_to: Option<NaiveDate>,
    /// Appointments booked.
    #[diesel(sql_type = BigInt)]
    pub booked: i64,
    /// Of those, in slots reserved for the booking practice.
    #[diesel(sql_type = BigInt)]
    pub via_practice: i64,
    /// Of those, booked by NHS 111.
    #[diesel(sql_type = BigInt)]
    pub via_111: i64,
    /// Of those, in open or released slots.
    #[diesel(sql_type = BigInt)]
    pub via_open: i64,
}

/// The slots practices shared on one local date (see [`shared_slots_by_day`]).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
struct SharedSlotsRow {
    #[diesel(sql_type = Text)]
    local_date: String,
    #[diesel(sql_type = BigInt)]
    slots: i64,
}

/// Appointments (not cancelled) of one practice and service (and requester), for fee claims.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ActivityRow {
    /// The practice's ODS code (empty when the appointment names none).
    #[diesel(sql_type = Text)]
    pub ods_code: String,
    /// The practice's name.
    #[diesel(sql_type = Text)]
    pub practice: String,
    /// The service's code.
    #[diesel(sql_type = Text)]
    pub service_code: String,
    /// The service's name.
    #[diesel(sql_type = Text)]
    pub service: String,
    /// The requesting organisation (grouping by requester; empty when none).
    #[diesel(sql_type = Text)]
    pub requester_ods: String,
    /// Appointments booked (not cancelled).
    #[diesel(sql_type = BigInt)]
    pub booked: i64,
    /// Of those, arrived or seen.
    #[diesel(sql_type = BigInt)]
    pub attended: i64,
    /// Of those, did not attend.
    #[diesel(sql_type = BigInt)]
    pub dna: i64,
}

/// One appointment (not cancelled) of the activity report's detail.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ActivityLine {
    /// The appointment.
    #[diesel(sql_type = Text)]
    pub appointment_id: String,
    /// Its local date (ISO 8601).
    #[diesel(sql_type = Text)]
    pub local_date: String,
    /// Its start (UTC).
    #[diesel(sql_type = Timestamp)]
    pub starts_at: NaiveDateTime,
    /// The practice's ODS code (empty when none).
    #[diesel(sql_type = Text)]
    pub ods_code: String,
    /// The practice's name.
    #[diesel(sql_type = Text)]
    pub practice: String,
    /// The service's code.
    #[diesel(sql_type = Text)]
    pub service_code: String,
    /// The service's name.
    #[diesel(sql_type = Text)]
    pub service: String,
    /// Its status: booked, arrived, seen or did_not_attend.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// The requesting organisation's ODS code.
    #[diesel(sql_type = Nullable<Text>)]
    pub requester_ods: Option<String>,
    /// The requester's reference.
    #[diesel(sql_type = Nullable<Text>)]
    pub requester_reference: Option<String>,
}

/// Minutes offered in one ISO week.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct EnhancedAccessRow {
    /// The week's Monday (ISO 8601).
    #[diesel(sql_type = Text)]
    pub week: String,
    /// Minutes of offered slots.
    #[diesel(sql_type = BigInt)]
    pub offered_minutes: i64,
    /// Of those, minutes inside the network standard hours.
    #[diesel(sql_type = BigInt)]
    pub standard_minutes: i64,
}

/// The enhanced-access figures: the cluster's registered list and the minutes of each week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnhancedAccess {
    /// The summed list sizes of the cluster's practices (as they are now).
    pub list_size: i64,
    /// One row per ISO week of the period with offered slots.
    pub weeks: Vec<EnhancedAccessRow>,
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Utilisation of offered slots, grouped by one of [`UTILISATION_GROUPS`].
pub fn utilisation(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    window: &Window,
    group: GroupBy,
    late_cancel_hours: u32,
) -> Result<Vec<UtilisationRow>, StoreError> {
    allowed(group, UTILISATION_GROUPS)?;
    if window.spans.is_empty() {
        return Ok(Vec::new());
    }
    let sql = Sql::new(conn.backend());
    let (key, label, joins) = sql.group(group, "s");
    let template = format!(
        "WITH {spans}, {per_slot} \
         SELECT {key} AS group_key, {label} AS group_label, \
                COUNT(*) AS offered, \
                {booked} AS booked, {attended} AS attended, {dna} AS dna, {late} AS cancelled_late, \
                {unused} AS unused, {free} AS still_free \
         FROM {live_slots} \
         JOIN sessions x ON x.cluster_id = s.cluster_id AND x.id = s.session_id \
         LEFT JOIN ap ON ap.slot_id = s.id \
         {joins} \
         WHERE s.cluster_id = :cluster AND s.removed_at IS NULL AND x.status = 'active' \
           AND s.starts_at >= p.sp_from AND s.starts_at < p.sp_to \
         GROUP BY 1, 2 ORDER BY {order}",
        spans = sql.spans(&window.spans),
        per_slot = sql.per_slot(),
        live_slots = sql.in_spans("slots", "s", "t.removed_at IS NULL"),
        booked = sum("COALESCE(ap.booked, 0)"),
        attended = sum("COALESCE(ap.attended, 0)"),
        dna = sum("COALESCE(ap.dna, 0)"),
        late = sum("COALESCE(ap.late, 0)"),
        unused = sum("CASE WHEN COALESCE(ap.booked, 0) = 0 AND s.starts_at < :now THEN 1 ELSE 0 END"),
        free = sum("CASE WHEN COALESCE(ap.booked, 0) = 0 AND s.starts_at >= :now THEN 1 ELSE 0 END"),
        order = order(group),
    );
    let mut rows: Vec<UtilisationRow> = run(
        conn,
        &template,
        &params(cluster_id, window, late_cancel_hours),
    )?;
    for row in &mut rows {
        row.group_label = relabel(group, &row.group_key, &row.group_label, slot_channel);
    }
    Ok(rows)
}

/// Capacity offered, unused and lost, in slots and minutes, grouped by one of
/// [`CAPACITY_GROUPS`].
pub fn capacity(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    window: &Window,
    group: GroupBy,
    late_cancel_hours: u32,
) -> Result<Vec<CapacityRow>, StoreError> {
    allowed(group, CAPACITY_GROUPS)?;
    if window.spans.is_empty() {
        return Ok(Vec::new());
    }
    let sql = Sql::new(conn.backend());
    let (key, label, joins) = sql.group(group, "s");
    let minutes = sql.minutes("s");
    let started_unbooked = "s.starts_at < :now AND COALESCE(ap.booked, 0) = 0";
    let template = format!(
        "WITH {spans}, {per_slot}, \
         retired AS ( \
           SELECT x.cluster_id AS cluster_id, x.id AS id, \
                  (SELECT MAX(z.removed_at) FROM slots z \
                   WHERE z.cluster_id = x.cluster_id AND z.session_id = x.id) AS retired_at \
           FROM sessions x \
           WHERE x.cluster_id = :cluster AND x.status <> 'active' \
             AND x.starts_at < :to AND x.ends_at > :from \
             AND NOT EXISTS (SELECT 1 FROM sessions y \
                 WHERE y.cluster_id = x.cluster_id AND y.rota_id = x.rota_id \
                   AND y.local_date = x.local_date AND y.template_key = x.template_key \
                   AND y.status = 'active')), \
         units AS ( \
           SELECT {key} AS group_key, {label} AS group_label, {minutes} AS minutes, \
                  1 AS offered, \
                  CASE WHEN {started_unbooked} AND COALESCE(ap.late, 0) = 0 THEN 1 ELSE 0 END AS unused, \
                  CASE WHEN {started_unbooked} AND COALESCE(ap.late, 0) > 0 THEN 1 ELSE 0 END AS late, \
                  COALESCE(ap.dna, 0) AS dna, 0 AS withdrawn \
           FROM {live_slots} \
           JOIN sessions x ON x.cluster_id = s.cluster_id AND x.id = s.session_id \
           LEFT JOIN ap ON ap.slot_id = s.id \
           {joins} \
           WHERE s.cluster_id = :cluster AND s.removed_at IS NULL AND x.status = 'active' \
             AND s.starts_at >= p.sp_from AND s.starts_at < p.sp_to \
           UNION ALL \
           SELECT {key}, {label}, {minutes}, 0, 0, 0, 0, 1 \
           FROM retired r CROSS JOIN slots s CROSS JOIN spans p \
           {joins} \
           WHERE s.cluster_id = r.cluster_id AND s.session_id = r.id \
             AND s.starts_at >= :from AND s.starts_at < :to \
             AND s.starts_at >= p.sp_from AND s.starts_at < p.sp_to \
             AND (s.removed_at IS NULL OR s.removed_at = r.retired_at)) \
         SELECT group_key, group_label, \
                {offered} AS offered_slots, {offered_m} AS offered_minutes, \
                {unused} AS unused_slots, {unused_m} AS unused_minutes, \
                {withdrawn} AS withdrawn_slots, {withdrawn_m} AS withdrawn_minutes, \
                {late} AS late_cancel_slots, {late_m} AS late_cancel_minutes, \
                {dna} AS dna_slots, {dna_m} AS dna_minutes \
         FROM units GROUP BY 1, 2 ORDER BY {order}",
        spans = sql.spans(&window.spans),
        per_slot = sql.per_slot(),
        live_slots = sql.in_spans("slots", "s", "t.removed_at IS NULL"),
        offered = sum("offered"),
        offered_m = sum("offered * minutes"),
        unused = sum("unused"),
        unused_m = sum("unused * minutes"),
        withdrawn = sum("withdrawn"),
        withdrawn_m = sum("withdrawn * minutes"),
        late = sum("late"),
        late_m = sum("late * minutes"),
        dna = sum("dna"),
        dna_m = sum("dna * minutes"),
        order = order(group),
    );
    let mut rows: Vec<CapacityRow> = run(
        conn,
        &template,
        &params(cluster_id, window, late_cancel_hours),
    )?;
    for row in &mut rows {
        row.group_label = relabel(group, &row.group_key, &row.group_label, slot_channel);
    }
    Ok(rows)
}

/// Attendance of appointments (not cancelled), grouped by one of [`DNA_GROUPS`].
pub fn dna(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    window: &Window,
    group: GroupBy,
) -> Result<Vec<DnaRow>, StoreError> {
    allowed(group, DNA_GROUPS)?;
    if window.spans.is_empty() {
        return Ok(Vec::new());
    }
    let sql = Sql::new(conn.backend());
    let (key, label, joins) = sql.group(group, "a");
    let zone = if group == GroupBy::LeadTime {
        format!(", {}", sql.zone(&window.offsets))
    } else {
        String::new()
    };
    // The lead time is computed once per appointment, then banded.
    let (inner_key, lead_days) = if group == GroupBy::LeadTime {
        ("CAST('' AS TEXT)".to_owned(), sql.lead_days("a"))
    } else {
        (key.clone(), "0".to_owned())
    };
    let outer_key = if group == GroupBy::LeadTime {
        key
    } else {
        "group_key".to_owned()
    };
    let template = format!(
        "WITH {spans}{zone} \
         SELECT {outer_key} AS group_key, group_label, COUNT(*) AS appointments, \
                {attended} AS attended, {dna} AS dna, {no_outcome} AS no_outcome \
         FROM (SELECT {inner_key} AS group_key, {label} AS group_label, {lead_days} AS lead_days, \
                      a.status AS status \
               FROM {appointments} \
               {joins} \
               WHERE a.cluster_id = :cluster \
                 AND a.starts_at >= p.sp_from AND a.starts_at < p.sp_to \
                 AND a.status <> 'cancelled' {fence}) u \
         GROUP BY 1, 2 ORDER BY {order}",
        spans = sql.spans(&window.spans),
        appointments = sql.in_spans("appointments", "a", "t.status <> 'cancelled'"),
        attended = sum("CASE WHEN status IN ('arrived', 'seen') THEN 1 ELSE 0 END"),
        dna = sum("CASE WHEN status = 'did_not_attend' THEN 1 ELSE 0 END"),
        no_outcome = sum("CASE WHEN status = 'booked' THEN 1 ELSE 0 END"),
        order = order(group),
        fence = sql.fence(),
    );
    let mut rows: Vec<DnaRow> = run(conn, &template, &params(cluster_id, window, 0))?;
    for row in &mut rows {
        row.group_label = relabel(group, &row.group_key, &row.group_label, slot_channel);
    }
    Ok(rows)
}

/// Appointments (not cancelled) by booking practice (every practice of the cluster, then one
/// row for bookings without a practice) or by the channel they were booked through.
pub fn bookings(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    window: &Window,
    group: GroupBy,
) -> Result<Vec<BookingsRow>, StoreError> {
    allowed(group, BOOKINGS_GROUPS)?;
    let counts = format!(
        "COUNT(*) AS booked, {practice} AS via_practice, {triage} AS via_111, {open} AS via_open",
        practice = sum("CASE WHEN a.channel = 'practice' THEN 1 ELSE 0 END"),
        triage = sum("CASE WHEN a.channel = '111' THEN 1 ELSE 0 END"),
        open = sum("CASE WHEN a.channel = 'open' THEN 1 ELSE 0 END"),
    );
    let period = "a.cluster_id = :cluster AND a.starts_at >= :from AND a.starts_at < :to \
                  AND a.status <> 'cancelled'";
    let template = if group == GroupBy::Channel {
        format!(
            "SELECT a.channel AS group_key, a.channel AS group_label, \
                    CAST(NULL AS BIGINT) AS list_size, CAST(NULL AS DATE) AS dsa_from, \
                    CAST(NULL AS DATE) AS dsa_to, {counts} \
             FROM appointments a WHERE {period} GROUP BY 1, 2 ORDER BY 1"
        )
    } else {
        format!(
            "WITH b AS (SELECT COALESCE(a.booking_practice_id, '') AS practice_id, {counts} \
                        FROM appointments a WHERE {period} GROUP BY 1) \
             SELECT pr.ods_code AS group_key, pr.name AS group_label, pr.list_size AS list_size, \
                    pr.dsa_from AS dsa_from, pr.dsa_to AS dsa_to, \
                    CAST(COALESCE(b.booked, 0) AS BIGINT) AS booked, \
                    CAST(COALESCE(b.via_practice, 0) AS BIGINT) AS via_practice, \
                    CAST(COALESCE(b.via_111, 0) AS BIGINT) AS via_111, \
                    CAST(COALESCE(b.via_open, 0) AS BIGINT) AS via_open \
             FROM practices pr LEFT JOIN b ON b.practice_id = pr.id \
             WHERE pr.cluster_id = :cluster \
             UNION ALL \
             SELECT CAST('' AS TEXT), CAST('No practice' AS TEXT), NULL, NULL, NULL, \
                    {booked}, {via_practice}, {via_111}, {via_open} \
             FROM b WHERE NOT EXISTS (SELECT 1 FROM practices q \
                                      WHERE q.cluster_id = :cluster AND q.id = b.practice_id) \
             GROUP BY 1, 2 \
             ORDER BY 1",
            booked = sum("b.booked"),
            via_practice = sum("b.via_practice"),
            via_111 = sum("b.via_111"),
            via_open = sum("b.via_open"),
        )
    };
    let mut rows: Vec<BookingsRow> = run(conn, &template, &params(cluster_id, window, 0))?;
    if group == GroupBy::Channel {
        for row in &mut rows {
            row.group_label = booking_channel(&row.group_key).to_owned();
        }
    } else {
        // Bookings without a practice (NHS 111) come after the practices.
        rows.sort_by_key(|r| (r.group_key.is_empty(), r.group_key.clone()));
    }
    Ok(rows)
}

/// The slots practices shared on each local date of the period: slots not removed and not
/// reserved for 111 (reserved for a practice, or open), by their local start. These weigh the
/// days of a practice's fair share ([`hubbook_core::fair_share`]); dates with none are left out.
pub fn shared_slots_by_day(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    window: &Window,
) -> Result<Vec<SharedDay>, StoreError> {
    if window.spans.is_empty() {
        return Ok(Vec::new());
    }
    let sql = Sql::new(conn.backend());
    let template = format!(
        "WITH {spans} \
         SELECT p.sp_day AS local_date, COUNT(*) AS slots \
         FROM {shared_slots} \
         WHERE s.cluster_id = :cluster AND s.removed_at IS NULL AND s.channel <> '111' \
           AND s.starts_at >= p.sp_from AND s.starts_at < p.sp_to \
         GROUP BY 1 ORDER BY 1",
        spans = sql.spans(&window.spans),
        shared_slots = sql.in_spans("slots", "s", "t.removed_at IS NULL AND t.channel <> '111'"),
    );
    let rows: Vec<SharedSlotsRow> = run(conn, &template, &params(cluster_id, window, 0))?;
    rows.into_iter()
        .map(|r| {
            let date = r
                .local_date
                .parse()
                .map_err(|_| StoreError::corrupt(format!("report date {:?}", r.local_date)))?;
            Ok(SharedDay {
                date,
                slots: u64::try_from(r.slots).unwrap_or(0),
            })
        })
        .collect()
}

/// Appointments (not cancelled) per practice and service, or per practice, service and
/// requesting organisation, for fee claims.
pub fn activity(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    window: &Window,
    group: GroupBy,
) -> Result<Vec<ActivityRow>, StoreError> {
    allowed(group, ACTIVITY_GROUPS)?;
    let requester = if group == GroupBy::Requester {
        "COALESCE(a.requester_ods, '')"
    } else {
        "CAST('' AS TEXT)"
    };
    let template = format!(
        "SELECT COALESCE(pr.ods_code, '') AS ods_code, COALESCE(pr.name, 'No practice') AS practice, \
                sv.code AS service_code, sv.name AS service, {requester} AS requester_ods, \
                COUNT(*) AS booked, {attended} AS attended, {dna} AS dna \
         FROM appointments a \
         LEFT JOIN practices pr ON pr.cluster_id = a.cluster_id \
              AND pr.id = COALESCE(a.registered_practice_id, a.booking_practice_id) \
         JOIN services sv ON sv.cluster_id = a.cluster_id AND sv.id = a.service_id \
         WHERE a.cluster_id = :cluster AND a.starts_at >= :from AND a.starts_at < :to \
           AND a.status <> 'cancelled' \
         GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 3, 5",
        attended = sum("CASE WHEN a.status IN ('arrived', 'seen') THEN 1 ELSE 0 END"),
        dna = sum("CASE WHEN a.status = 'did_not_attend' THEN 1 ELSE 0 END"),
    );
    run(conn, &template, &params(cluster_id, window, 0))
}

/// The appointments (not cancelled) the activity report counts, one line each, in time order,
/// with the requesting organisation and its reference.
pub fn activity_lines(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    window: &Window,
) -> Result<Vec<ActivityLine>, StoreError> {
    if window.spans.is_empty() {
        return Ok(Vec::new());
    }
    let sql = Sql::new(conn.backend());
    let template = format!(
        "WITH {spans} \
         SELECT a.id AS appointment_id, p.sp_day AS local_date, a.starts_at AS starts_at, \
                COALESCE(pr.ods_code, '') AS ods_code, COALESCE(pr.name, 'No practice') AS practice, \
                sv.code AS service_code, sv.name AS service, a.status AS status, \
                a.requester_ods AS requester_ods, a.requester_reference AS requester_reference \
         FROM {appointments} \
         LEFT JOIN practices pr ON pr.cluster_id = a.cluster_id \
              AND pr.id = COALESCE(a.registered_practice_id, a.booking_practice_id) \
         JOIN services sv ON sv.cluster_id = a.cluster_id AND sv.id = a.service_id \
         WHERE a.cluster_id = :cluster \
           AND a.starts_at >= p.sp_from AND a.starts_at < p.sp_to \
           AND a.status <> 'cancelled' \
         ORDER BY a.starts_at, a.id",
        spans = sql.spans(&window.spans),
        appointments = sql.in_spans("appointments", "a", "t.status <> 'cancelled'"),
    );
    run(conn, &template, &params(cluster_id, window, 0))
}

/// Minutes of offered slots per ISO week, and those inside the network standard hours; with the
/// cluster's registered list to set them against.
pub fn enhanced_access(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    window: &Window,
) -> Result<EnhancedAccess, StoreError> {
    let list: Vec<Total> = run(
        conn,
        &format!(
            "SELECT {} AS n FROM practices WHERE cluster_id = :cluster",
            sum("list_size")
        ),
        &params(cluster_id, window, 0),
    )?;
    let list_size = list.first().map_or(0, |t| t.n);
    if window.spans.is_empty() {
        return Ok(EnhancedAccess {
            list_size,
            weeks: Vec::new(),
        });
    }
    let sql = Sql::new(conn.backend());
    // Each slot's minutes and local start are computed once, in the fenced subquery: merged
    // into the sums, which name them eight times, they would be computed for each (on SQLite,
    // two fifths of the query's time).
    let template = format!(
        "WITH {spans} \
         SELECT week, {offered} AS offered_minutes, {standard} AS standard_minutes \
         FROM (SELECT p.sp_week AS week, p.sp_lo AS lo, p.sp_hi AS hi, {minutes} AS minutes, \
                      {minute_of_day} AS m0 \
               FROM {live_slots} \
               JOIN sessions x ON x.cluster_id = s.cluster_id AND x.id = s.session_id \
               WHERE s.cluster_id = :cluster AND s.removed_at IS NULL AND x.status = 'active' \
                 AND s.starts_at >= p.sp_from AND s.starts_at < p.sp_to {fence}) u \
         GROUP BY week ORDER BY week",
        fence = sql.fence(),
        spans = sql.spans(&window.spans),
        live_slots = sql.in_spans("slots", "s", "t.removed_at IS NULL"),
        minutes = sql.minutes("s"),
        minute_of_day = sql.local_minute("s.starts_at"),
        offered = sum("minutes"),
        standard = sum("CASE WHEN m0 + minutes <= lo OR m0 >= hi THEN 0 \
                  ELSE (CASE WHEN m0 + minutes < hi THEN m0 + minutes ELSE hi END) \
                     - (CASE WHEN m0 > lo THEN m0 ELSE lo END) END"),
    );
    let weeks = run(conn, &template, &params(cluster_id, window, 0))?;
    Ok(EnhancedAccess { list_size, weeks })
}

fn allowed(group: GroupBy, groups: &[GroupBy]) -> Result<(), StoreError> {
    if groups.contains(&group) {
        Ok(())
    } else {
        Err(StoreError::rejected(format!(
            "this report cannot be grouped by {}",
            group.as_str()
        )))
    }
}

/// `SUM(expr)` as a BIGINT that is 0 over no rows (PostgreSQL sums BIGINTs as NUMERIC).
fn sum(expr: &str) -> String {
    format!("CAST(COALESCE(SUM({expr}), 0) AS BIGINT)")
}

fn order(group: GroupBy) -> &'static str {
    if group.is_time() || group == GroupBy::Channel || group == GroupBy::Role {
        "1"
    } else {
        "2, 1"
    }
}

/// What a slot's channel means, for utilisation and capacity labels.
fn slot_channel(channel: &str) -> &'static str {
    match channel {
        "practice" => "Reserved for a practice",
        "111" => "Reserved for NHS 111",
        _ => "Open to every practice",
    }
}

/// What a booking's channel means, for the bookings report.
fn booking_channel(channel: &str) -> &'static str {
    match channel {
        "practice" => "In the practice's own reservation",
        "111" => "By NHS 111",
        _ => "In open or released capacity",
    }
}

/// The label people read for a group whose key the database computed.
fn relabel(group: GroupBy, key: &str, label: &str, channel: fn(&str) -> &'static str) -> String {
    let date = || key.parse::<NaiveDate>().ok();
    let number = || key.parse::<u32>().ok();
    let relabelled = match group {
        GroupBy::Week => date().map(iso_week_label),
        GroupBy::Day => date().map(|d| weekday_label(chrono::Datelike::weekday(&d)).to_owned()),
        GroupBy::Weekday => number()
            .and_then(weekday_of)
            .map(|w| weekday_label(w).to_owned()),
        GroupBy::Hour => number().map(hour_band),
        GroupBy::LeadTime => number()
            .and_then(|n| usize::try_from(n).ok())
            .and_then(LeadTime::from_index)
            .map(|b| b.label().to_owned()),
        GroupBy::Channel => Some(channel(key).to_owned()),
        _ => None,
    };
    relabelled.unwrap_or_else(|| label.to_owned())
}

/// SQL fragments that differ between the backends.
struct Sql {
    backend: Backend,
}

impl Sql {
    fn new(backend: Backend) -> Self {
        Self { backend }
    }

    /// Seconds since 1970 of a UTC timestamp column, as an integer.
    fn epoch(&self, column: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("CAST(strftime('%s', {column}) AS INTEGER)"),
            Backend::Postgres => format!("CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"),
        }
    }

    /// A timestamp literal, compared with stored timestamps.
    fn timestamp(&self, at: NaiveDateTime) -> String {
        let text = at.format("%Y-%m-%d %H:%M:%S");
        match self.backend {
            Backend::Sqlite => format!("'{text}'"),
            Backend::Postgres => format!("TIMESTAMP '{text}'"),
        }
    }

    /// The local minute of the day of a timestamp, by the offset of its span `p`.
    fn local_minute(&self, column: &str) -> String {
        format!("((({}) + p.sp_off * 60) % 86400) / 60", self.epoch(column))
    }

    /// Keeps a subquery from being merged into the query around it, so that its columns are
    /// computed once per row (a limit that limits nothing).
    fn fence(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "LIMIT -1",
            Backend::Postgres => "OFFSET 0",
        }
    }

    /// An integer 0-99 as two digits (`09`).
    fn two_digits(&self, expr: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("printf('%02d', {expr})"),
            Backend::Postgres => format!("LPAD(CAST({expr} AS TEXT), 2, '0')"),
        }
    }

    /// The days from an appointment's booking to its start, in local dates: each instant's
    /// local day number by its offset (the booking's from the `zone` table, the start's from
    /// its span).
    fn lead_days(&self, alias: &str) -> String {
        let booked_offset = format!(
            "COALESCE((SELECT z.z_off FROM zone z \
                       WHERE {alias}.created_at >= z.z_from AND {alias}.created_at < z.z_to), p.sp_off)"
        );
        format!(
            "((({}) + p.sp_off * 60) / 86400) - ((({}) + {booked_offset} * 60) / 86400)",
            self.epoch(&format!("{alias}.starts_at")),
            self.epoch(&format!("{alias}.created_at")),
        )
    }

    /// The length of a row's slot in minutes.
    fn minutes(&self, alias: &str) -> String {
        format!(
            "(({}) - ({})) / 60",
            self.epoch(&format!("{alias}.ends_at")),
            self.epoch(&format!("{alias}.starts_at"))
        )
    }

    /// The `spans` table of the period: one row per span of constant offset. Queries join rows
    /// to it by range through [`Sql::in_spans`], with no other bound on the rows' start (SQLite
    /// would take the period's bounds for the index range and test each span against them all).
    fn spans(&self, spans: &[LocalSpan]) -> String {
        let rows: Vec<String> = spans
            .iter()
            .map(|s| {
                let (lo, hi) = weekday_of(s.weekday)
                    .and_then(network_standard_hours)
                    .unwrap_or((0, 0));
                format!(
                    "('{}', '{}', {}, {}, {}, {}, {lo}, {hi})",
                    s.date,
                    s.week,
                    s.weekday,
                    self.timestamp(s.from.naive_utc()),
                    self.timestamp(s.to.naive_utc()),
                    s.utc_offset_minutes
                )
            })
            .collect();
        format!(
            "spans (sp_day, sp_week, sp_wd, sp_from, sp_to, sp_off, sp_lo, sp_hi) AS (VALUES {})",
            rows.join(", ")
        )
    }

    /// The rows of `table` (as `alias`) of the cluster with a start in a span `p`, and meeting
    /// `filter` (on `t`), with the spans on the outside so that each span seeks its own rows
    /// by the index on `(cluster_id, starts_at)`. SQLite keeps the left of a CROSS JOIN on the
    /// outside; PostgreSQL, which cannot estimate the range join and may otherwise test every
    /// row against every span, is given a LATERAL subquery (kept whole by `OFFSET 0`). The
    /// caller still bounds the rows by the span in its WHERE (redundant on PostgreSQL).
    fn in_spans(&self, table: &str, alias: &str, filter: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("spans p CROSS JOIN {table} {alias}"),
            Backend::Postgres => format!(
                "spans p CROSS JOIN LATERAL (SELECT * FROM {table} t \
                 WHERE t.cluster_id = :cluster AND {filter} \
                   AND t.starts_at >= p.sp_from AND t.starts_at < p.sp_to OFFSET 0) {alias}"
            ),
        }
    }

    /// The `zone` table: the zone's offsets before and during the period.
    fn zone(&self, periods: &[OffsetPeriod]) -> String {
        let rows: Vec<String> = periods
            .iter()
            .map(|z| {
                format!(
                    "({}, {}, {})",
                    self.timestamp(z.from.naive_utc()),
                    self.timestamp(z.to.naive_utc()),
                    z.utc_offset_minutes
                )
            })
            .collect();
        format!("zone (z_from, z_to, z_off) AS (VALUES {})", rows.join(", "))
    }

    /// The `ap` table: per slot with appointments in the period, whether it is booked, attended
    /// or did-not-attend, and how many of its appointments were cancelled late.
    fn per_slot(&self) -> String {
        format!(
            "ap AS ( \
               SELECT a.slot_id AS slot_id, \
                      MAX(CASE WHEN a.status <> 'cancelled' THEN 1 ELSE 0 END) AS booked, \
                      MAX(CASE WHEN a.status IN ('arrived', 'seen') THEN 1 ELSE 0 END) AS attended, \
                      MAX(CASE WHEN a.status = 'did_not_attend' THEN 1 ELSE 0 END) AS dna, \
                      SUM(CASE WHEN a.status = 'cancelled' AND a.cancelled_at IS NOT NULL \
                               AND ({start}) - ({cancelled}) < :late THEN 1 ELSE 0 END) AS late \
               FROM appointments a \
               WHERE a.cluster_id = :cluster AND a.starts_at >= :from AND a.starts_at < :to \
               GROUP BY a.slot_id)",
            start = self.epoch("a.starts_at"),
            cancelled = self.epoch("a.cancelled_at"),
        )
    }

    /// The key and label expressions of a grouping for rows aliased `alias` (`s` for slots,
    /// `a` for appointments), and the joins they need.
    fn group(&self, group: GroupBy, alias: &str) -> (String, String, String) {
        let services = format!(
            "JOIN services sv ON sv.cluster_id = {alias}.cluster_id AND sv.id = {alias}.service_id"
        );
        match group {
            GroupBy::Week => ("p.sp_week".into(), "p.sp_week".into(), String::new()),
            GroupBy::Day => ("p.sp_day".into(), "p.sp_day".into(), String::new()),
            GroupBy::Weekday => {
                let key = "CAST(p.sp_wd AS TEXT)".to_owned();
                (key.clone(), key, String::new())
            }
            GroupBy::Hour => {
                let hour = format!("({}) / 60", self.local_minute(&format!("{alias}.starts_at")));
                (self.two_digits(&hour), "CAST('' AS TEXT)".into(), String::new())
            }
            GroupBy::Site => (
                format!("{alias}.site_id"),
                "si.name".into(),
                format!(
                    "JOIN sites si ON si.cluster_id = {alias}.cluster_id AND si.id = {alias}.site_id"
                ),
            ),
            GroupBy::Service => ("sv.code".into(), "sv.name".into(), services),
            GroupBy::Role => ("sv.clinical_role".into(), "sv.clinical_role".into(), services),
            GroupBy::Channel => (
                format!("{alias}.channel"),
                format!("{alias}.channel"),
                String::new(),
            ),
            GroupBy::Practice | GroupBy::Requester => (
                "COALESCE(pr.ods_code, '')".into(),
                "COALESCE(pr.name, 'No practice')".into(),
                format!(
                    "LEFT JOIN practices pr ON pr.cluster_id = {alias}.cluster_id \
                     AND pr.id = COALESCE({alias}.registered_practice_id, {alias}.booking_practice_id)"
                ),
            ),
            GroupBy::LeadTime => {
                // The band of `lead_days`, a column the caller computes with `lead_days`.
                let mut key = String::from("CASE");
                for (band, upper) in LeadTime::UPPER_DAYS.iter().enumerate() {
                    key.push_str(&format!(" WHEN lead_days <= {upper} THEN '{band}'"));
                }
                key.push_str(&format!(" ELSE '{}' END", LeadTime::UPPER_DAYS.len()));
                (key, "CAST('' AS TEXT)".into(), String::new())
            }
        }
    }
}

/// A value bound to a named parameter.
enum Bind {
    Text(String),
    Timestamp(NaiveDateTime),
    BigInt(i64),
}

fn params(
    cluster_id: &ClusterId,
    window: &Window,
    late_cancel_hours: u32,
) -> Vec<(&'static str, Bind)> {
    vec![
        ("cluster", Bind::Text(cluster_id.to_owned().into())),
        ("from", Bind::Timestamp(window.from)),
        ("to", Bind::Timestamp(window.to)),
        ("now", Bind::Timestamp(window.now)),
        ("late", Bind::BigInt(i64::from(late_cancel_hours) * 3600)),
    ]
}

type Db = <DbConn as diesel::Connection>::Backend;

/// Runs a query whose parameters are written `:name` (outside quoted text), binding each
/// occurrence as `?` (SQLite) or `$n` (PostgreSQL).
fn run<R>(
    conn: &mut DbConn,
    template: &str,
    params: &[(&'static str, Bind)],
) -> Result<Vec<R>, StoreError>
where
    R: QueryableByName<Db> + 'static,
{
    let backend = conn.backend();
    let mut sql = String::with_capacity(template.len());
    let mut order: Vec<&Bind> = Vec::new();
    let mut quoted = false;
    let mut chars = template.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        if ch == '\'' {
            quoted = !quoted;
        }
        let starts_name = !quoted
            && ch == ':'
            && chars
                .peek()
                .is_some_and(|(_, next)| next.is_ascii_lowercase());
        if !starts_name {
            sql.push(ch);
            continue;
        }
        let rest = &template[i + 1..];
        let len = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..len];
        let bind = params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| b)
            .ok_or_else(|| {
                StoreError::rejected(format!("report parameter :{name} is not bound"))
            })?;
        order.push(bind);
        match backend {
            Backend::Sqlite => sql.push('?'),
            Backend::Postgres => sql.push_str(&format!("${}", order.len())),
        }
        for _ in 0..len {
            chars.next();
        }
    }
    let mut query = diesel::sql_query(sql).into_boxed::<Db>();
    for bind in order {
        query = match bind {
            Bind::Text(v) => query.bind::<Text, _>(v.clone()),
            Bind::Timestamp(v) => query.bind::<Timestamp, _>(*v),
            Bind::BigInt(v) => query.bind::<BigInt, _>(*v),
        };
    }
    match backend {
        Backend::Sqlite => Ok(query.load::<R>(conn)?),
        // The planner cannot estimate a join by range on a VALUES table and expects millions of
        // rows where there are thousands; compiling the query (JIT) would then cost more than
        // running it, so reports run without.
        Backend::Postgres => Ok(conn.transaction(|c| {
            diesel::sql_query("SET LOCAL jit = off").execute(c)?;
            query.load::<R>(c)
        })?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groupings_round_trip_and_defaults_come_first() {
        for g in GroupBy::ALL {
            assert_eq!(GroupBy::parse(g.as_str()), Some(g));
        }
        assert_eq!(GroupBy::parse("month"), None);
        assert_eq!(UTILISATION_GROUPS[0], GroupBy::Week);
        assert_eq!(DNA_GROUPS[0], GroupBy::Practice);
    }

    #[test]
    fn labels_of_computed_keys() {
        let same = |c: &str| -> &'static str {
            let _ = c;
            "-"
        };
        assert_eq!(relabel(GroupBy::Hour, "09", "09", same), "09:00-10:00");
        assert_eq!(relabel(GroupBy::Week, "2026-10-19", "", same), "2026-W43");
        assert_eq!(relabel(GroupBy::Day, "2026-10-25", "", same), "Sunday");
        assert_eq!(relabel(GroupBy::Weekday, "3", "3", same), "Wednesday");
        assert_eq!(relabel(GroupBy::LeadTime, "4", "4", same), "15+ days");
        assert_eq!(relabel(GroupBy::Site, "id", "Hub", same), "Hub");
        assert_eq!(
            relabel(GroupBy::Channel, "111", "111", slot_channel),
            "Reserved for NHS 111"
        );
    }
}
