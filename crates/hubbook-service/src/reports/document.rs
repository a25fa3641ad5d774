//! A report as front ends show it: the store's aggregates shaped into one document per report
//! (rates, shares, fair shares and totals derived here, once) and that document as a table of
//! named columns, which the API writes as CSV and the console as an HTML table and its CSV, so
//! every front end shows the same figures under the same headers.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use hubbook_core::fair_share::{fair_shares, SharedDay};
use hubbook_core::report::{iso_week_label, ENHANCED_ACCESS_MINUTES_PER_1000};
use hubbook_store::repo::reports::{self, GroupBy, Window};
use serde::{Deserialize, Serialize};

use crate::reports::{ReportData, ReportRows};
use crate::sharing::FairShare;

/// One cell of a report table, typed so that each front end writes it its own way (CSV quotes
/// and defuses text; HTML escapes it).
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A decimal with a fixed number of places: a rate `0.4231` (4) or hours `2.08` (2).
    Decimal(f64, usize),
    /// A date.
    Date(NaiveDate),
    /// An instant.
    Time(DateTime<Utc>),
    /// `true` or `false`.
    Bool(bool),
    /// No value (a rate over nothing).
    Empty,
}

impl Field {
    /// Text, or no value for `None`.
    pub fn opt_text(value: Option<&str>) -> Self {
        value.map_or(Self::Empty, |v| Self::Text(v.to_owned()))
    }

    /// A decimal, or no value for `None`.
    pub fn opt_decimal(value: Option<f64>, places: usize) -> Self {
        value.map_or(Self::Empty, |v| Self::Decimal(v, places))
    }

    /// The value as plain text: whole numbers, decimals to their places, ISO 8601 dates, RFC
    /// 3339 instants in UTC, `true`/`false`, and nothing for no value (CSV writes the same,
    /// quoted where it must be).
    pub fn text(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Int(n) => n.to_string(),
            Self::Decimal(x, places) => format!("{x:.places$}"),
            Self::Date(d) => d.to_string(),
            Self::Time(t) => t.to_rfc3339_opts(SecondsFormat::Secs, true),
            Self::Bool(b) => b.to_string(),
            Self::Empty => String::new(),
        }
    }
}

/// A report as a table: the column names (the JSON row's fields, in order) and one row of
/// fields per JSON row; the file name a download of it is offered under.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportTable {
    /// The columns' names, e.g. `key`, `label`, `offered`.
    pub columns: Vec<&'static str>,
    /// The rows, each with one field per column.
    pub rows: Vec<Vec<Field>>,
    /// `<cluster>-<report>-<from>-<to>.csv`.
    pub file_name: String,
}

impl ReportTable {
    fn new<R>(
        lead: &[&'static str],
        header: &[&'static str],
        rows: &[R],
        cells: impl Fn(&R) -> Vec<Field>,
    ) -> Self {
        Self {
            columns: lead.iter().chain(header).copied().collect(),
            rows: rows.iter().map(cells).collect(),
            file_name: String::new(),
        }
    }

    /// The table of a report document.
    pub fn of(body: &ReportBody) -> Self {
        fn grouped(key: &str, label: &str, figures: Vec<Field>) -> Vec<Field> {
            let mut cells = group_cells(key, label);
            cells.extend(figures);
            cells
        }
        let lead = ["key", "label"];
        let (cluster, report, from, to, table) = match body {
            ReportBody::Utilisation(r) => (
                &r.cluster,
                &r.report,
                r.from,
                r.to,
                Self::new(&lead, &UtilisationFigures::HEADER, &r.rows, |g| {
                    grouped(&g.key, &g.label, g.figures.cells())
                }),
            ),
            ReportBody::Capacity(r) => (
                &r.cluster,
                &r.report,
                r.from,
                r.to,
                Self::new(&lead, &CapacityFigures::HEADER, &r.rows, |g| {
                    grouped(&g.key, &g.label, g.figures.cells())
                }),
            ),
            ReportBody::Dna(r) => (
                &r.cluster,
                &r.report,
                r.from,
                r.to,
                Self::new(&lead, &DnaFigures::HEADER, &r.rows, |g| {
                    grouped(&g.key, &g.label, g.figures.cells())
                }),
            ),
            ReportBody::Bookings(r) => (
                &r.cluster,
                &r.report,
                r.from,
                r.to,
                Self::new(&[], &BookingsGroup::HEADER, &r.rows, BookingsGroup::cells),
            ),
            ReportBody::Activity(r) => (
                &r.cluster,
                &r.report,
                r.from,
                r.to,
                Self::new(&[], &ActivityGroup::HEADER, &r.rows, ActivityGroup::cells),
            ),
            ReportBody::ActivityDetail(r) => (
                &r.cluster,
                &r.report,
                r.from,
                r.to,
                Self::new(&[], &ActivityLine::HEADER, &r.rows, ActivityLine::cells),
            ),
            ReportBody::EnhancedAccess(r) => (
                &r.cluster,
                &r.report,
                r.from,
                r.to,
                Self::new(&lead, &EnhancedAccessFigures::HEADER, &r.rows, |g| {
                    grouped(&g.key, &g.label, g.figures.cells())
                }),
            ),
        };
        Self {
            file_name: format!("{cluster}-{report}-{from}-{to}.csv"),
            ..table
        }
    }

    /// The table of the fair-share report: one row per member practice.
    pub fn fair_share(report: &FairShare) -> Self {
        let table = Self::new(
            &[],
            &[
                "practice_id",
                "ods_code",
                "list_size",
                "exact_quota",
                "reserved",
                "booked_from_reservation",
                "booked_from_open",
                "released_unused",
            ],
            &report.practices,
            |p| {
                vec![
                    Field::Text(p.practice_id.clone()),
                    Field::Text(p.ods_code.clone()),
                    Field::Int(p.list_size),
                    Field::Decimal(p.exact_quota, 2),
                    Field::Int(p.reserved),
                    Field::Int(p.booked_from_reservation),
                    Field::Int(p.booked_from_open),
                    Field::Int(p.released_unused),
                ]
            },
        );
        Self {
            file_name: format!(
                "{}-fair-share-{}-{}.csv",
                report.cluster_code, report.from, report.to
            ),
            ..table
        }
    }
}

/// A report as JSON: what was asked, one row per group (or per appointment), and the totals.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report<R, T> {
    /// The report's name, e.g. `utilisation`.
    pub report: String,
    /// The cluster's code.
    pub cluster: String,
    /// First local date.
    pub from: NaiveDate,
    /// Last local date (inclusive).
    pub to: NaiveDate,
    /// What the rows are grouped by (`appointment` for the activity detail).
    pub group_by: String,
    /// The late-cancellation window applied (utilisation and capacity), in hours.
    pub late_cancel_hours: Option<u32>,
    /// When the report was read: slots that had started by then are past.
    pub as_of: DateTime<Utc>,
    /// The rows; groups without any slot or appointment are left out (enhanced access lists
    /// every week of the period).
    pub rows: Vec<R>,
    /// The figures of the whole period.
    pub totals: T,
}

/// The `group_by` of the activity report's detail, one row per appointment.
pub const DETAIL_GROUP: &str = "appointment";

/// Any report as JSON, the shape named by its `report` field (and, for the activity report,
/// its detail by `group_by`).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ReportBody {
    /// `utilisation`.
    Utilisation(Report<UtilisationGroup, UtilisationFigures>),
    /// `capacity`.
    Capacity(Report<CapacityGroup, CapacityFigures>),
    /// `dna`.
    Dna(Report<DnaGroup, DnaFigures>),
    /// `bookings`.
    Bookings(Report<BookingsGroup, BookingsFigures>),
    /// `activity`.
    Activity(Report<ActivityGroup, ActivityFigures>),
    /// `activity` with `detail=true`.
    ActivityDetail(Report<ActivityLine, ActivityFigures>),
    /// `enhanced-access`.
    EnhancedAccess(Report<EnhancedAccessWeek, EnhancedAccessFigures>),
}

/// The OpenAPI schema of [`ReportBody`]: one named shape per report, each with its `report`
/// name as a constant and its groupings as the only `group_by` values, chosen by a discriminator
/// on `report`, so that a body (an empty one too) matches exactly one shape.
#[cfg(feature = "openapi")]
mod openapi {
    use utoipa::openapi::schema::{Discriminator, ObjectBuilder, OneOfBuilder, Schema, Type};
    use utoipa::openapi::{Ref, RefOr};
    use utoipa::{PartialSchema, ToSchema};

    use super::*;
    use crate::reports::ReportName;

    /// The component name of a shape and the `$ref` pointing at it.
    fn reference(component: &str) -> String {
        format!("#/components/schemas/{component}")
    }

    /// A string schema of exactly these values.
    fn one_of_names<'a>(
        values: impl IntoIterator<Item = &'a str>,
        description: &str,
    ) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values))
            .description(Some(description))
            .into()
    }

    /// The generic report's schema with its `report` and `group_by` fixed to one report's.
    fn shape<R: ToSchema, T: ToSchema>(report: ReportName, groups: &[&str]) -> RefOr<Schema> {
        let mut schema = <Report<R, T> as PartialSchema>::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.properties.insert(
                "report".into(),
                one_of_names([report.as_str()], "The report's name."),
            );
            object.properties.insert(
                "group_by".into(),
                one_of_names(groups.iter().copied(), "What the rows are grouped by."),
            );
        }
        schema
    }

    /// Registers a row or figures type the shapes refer to, and what it refers to in turn.
    fn component<S: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((S::name().into_owned(), S::schema()));
        S::schemas(schemas);
    }

    /// The groupings a report offers, by name.
    fn groups(report: ReportName) -> Vec<&'static str> {
        report.groups().iter().map(|g| g.as_str()).collect()
    }

    /// Each report's name and the component its body is, in the document's order.
    const SHAPES: [(ReportName, &str); 6] = [
        (ReportName::Utilisation, "UtilisationReport"),
        (ReportName::Capacity, "CapacityReport"),
        (ReportName::Dna, "DnaReport"),
        (ReportName::Bookings, "BookingsReport"),
        (ReportName::Activity, "ActivityReport"),
        (ReportName::EnhancedAccess, "EnhancedAccessReport"),
    ];

    impl PartialSchema for ReportBody {
        fn schema() -> RefOr<Schema> {
            let mut one_of = OneOfBuilder::new()
                .description(Some(
                    "Any report as JSON, the shape named by its `report` field.",
                ))
                .discriminator(Some(Discriminator::with_mapping(
                    "report",
                    SHAPES.map(|(name, component)| (name.as_str(), reference(component))),
                )));
            for (_, component) in SHAPES {
                one_of = one_of.item(Ref::new(reference(component)));
            }
            one_of.into()
        }
    }

    impl ToSchema for ReportBody {
        fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            use ReportName as N;
            let activity = OneOfBuilder::new()
                .description(Some(
                    "The activity report: grouped, or with `detail=true` one row per appointment.",
                ))
                .item(Ref::new(reference("ActivityGroupsReport")))
                .item(Ref::new(reference("ActivityDetailReport")));
            let shapes = [
                (
                    "UtilisationReport",
                    shape::<UtilisationGroup, UtilisationFigures>(
                        N::Utilisation,
                        &groups(N::Utilisation),
                    ),
                ),
                (
                    "CapacityReport",
                    shape::<CapacityGroup, CapacityFigures>(N::Capacity, &groups(N::Capacity)),
                ),
                (
                    "DnaReport",
                    shape::<DnaGroup, DnaFigures>(N::Dna, &groups(N::Dna)),
                ),
                (
                    "BookingsReport",
                    shape::<BookingsGroup, BookingsFigures>(N::Bookings, &groups(N::Bookings)),
                ),
                ("ActivityReport", activity.into()),
                (
                    "ActivityGroupsReport",
                    shape::<ActivityGroup, ActivityFigures>(N::Activity, &groups(N::Activity)),
                ),
                (
                    "ActivityDetailReport",
                    shape::<ActivityLine, ActivityFigures>(N::Activity, &[DETAIL_GROUP]),
                ),
                (
                    "EnhancedAccessReport",
                    shape::<EnhancedAccessWeek, EnhancedAccessFigures>(
                        N::EnhancedAccess,
                        &groups(N::EnhancedAccess),
                    ),
                ),
            ];
            schemas.extend(shapes.map(|(name, schema)| (name.to_owned(), schema)));
            component::<UtilisationGroup>(schemas);
            component::<UtilisationFigures>(schemas);
            component::<CapacityGroup>(schemas);
            component::<CapacityFigures>(schemas);
            component::<DnaGroup>(schemas);
            component::<DnaFigures>(schemas);
            component::<BookingsGroup>(schemas);
            component::<BookingsFigures>(schemas);
            component::<ActivityGroup>(schemas);
            component::<ActivityLine>(schemas);
            component::<ActivityFigures>(schemas);
            component::<EnhancedAccessWeek>(schemas);
            component::<EnhancedAccessFigures>(schemas);
        }
    }
}

/// Rounds to a fixed number of decimal places.
fn round(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale
}

/// `part / whole` to four places, or `None` over nothing.
fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round(part as f64 / whole as f64, 4))
}

/// Minutes as hours to two places.
fn hours(minutes: i64) -> f64 {
    round(minutes as f64 / 60.0, 2)
}

/// A row's group: its key and label, the first two columns of every grouped report.
fn group_cells(key: &str, label: &str) -> Vec<Field> {
    vec![Field::Text(key.to_owned()), Field::Text(label.to_owned())]
}

/// The utilisation of offered slots in a group or the whole period; each field says what it counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UtilisationFigures {
    /// Slots of active sessions, not removed.
    pub offered: i64,
    /// Offered slots with an appointment not cancelled (booked, arrived, seen, did not attend).
    pub booked: i64,
    /// Offered slots whose patient arrived or was seen.
    pub attended: i64,
    /// Offered slots whose patient did not attend.
    pub dna: i64,
    /// Appointments in offered slots cancelled less than `late_cancel_hours` before the start.
    pub cancelled_late: i64,
    /// Offered slots that started unbooked.
    pub unused: i64,
    /// Offered slots not yet started and not booked (`offered = booked + unused + still_free`).
    pub still_free: i64,
    /// booked / offered, to four places; null when nothing was offered.
    pub utilisation: Option<f64>,
}

impl UtilisationFigures {
    const HEADER: [&'static str; 8] = [
        "offered",
        "booked",
        "attended",
        "dna",
        "cancelled_late",
        "unused",
        "still_free",
        "utilisation",
    ];

    fn of(r: &reports::UtilisationRow) -> Self {
        Self {
            offered: r.offered,
            booked: r.booked,
            attended: r.attended,
            dna: r.dna,
            cancelled_late: r.cancelled_late,
            unused: r.unused,
            still_free: r.still_free,
            utilisation: rate(r.booked, r.offered),
        }
    }

    fn total(rows: &[UtilisationGroup]) -> Self {
        let mut t = rows.iter().fold(Self::default(), |mut t, r| {
            let f = &r.figures;
            t.offered += f.offered;
            t.booked += f.booked;
            t.attended += f.attended;
            t.dna += f.dna;
            t.cancelled_late += f.cancelled_late;
            t.unused += f.unused;
            t.still_free += f.still_free;
            t
        });
        t.utilisation = rate(t.booked, t.offered);
        t
    }

    fn cells(&self) -> Vec<Field> {
        vec![
            Field::Int(self.offered),
            Field::Int(self.booked),
            Field::Int(self.attended),
            Field::Int(self.dna),
            Field::Int(self.cancelled_late),
            Field::Int(self.unused),
            Field::Int(self.still_free),
            Field::opt_decimal(self.utilisation, 4),
        ]
    }
}

/// One group of the utilisation report.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UtilisationGroup {
    /// The group: a week's Monday or a date (ISO 8601), an hour (`18`), a site id, a service
    /// code, a clinical role or a slot channel (`practice`, `111`, `open`).
    pub key: String,
    /// The group for people: `2026-W43`, `Wednesday`, `18:00-19:00`, a name.
    pub label: String,
    /// The figures.
    #[serde(flatten)]
    pub figures: UtilisationFigures,
}

/// Capacity offered, unused and lost, in slots and clinician hours (to two places).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapacityFigures {
    /// Slots offered.
    pub offered_slots: i64,
    /// Their hours (slot lengths; parallel lanes each count).
    pub offered_hours: f64,
    /// Offered slots that started unbooked, without a late cancellation.
    pub unused_slots: i64,
    /// Their hours.
    pub unused_hours: f64,
    /// Slots of withdrawn or cancelled sessions that were not replaced.
    pub lost_withdrawn_slots: i64,
    /// Their hours.
    pub lost_withdrawn_hours: f64,
    /// Offered slots that started unbooked after a late cancellation.
    pub lost_late_cancel_slots: i64,
    /// Their hours.
    pub lost_late_cancel_hours: f64,
    /// Offered slots whose patient did not attend.
    pub lost_dna_slots: i64,
    /// Their hours.
    pub lost_dna_hours: f64,
    /// Slots lost: withdrawn, late-cancelled and DNA.
    pub lost_slots: i64,
    /// Their hours.
    pub lost_hours: f64,
}

impl CapacityFigures {
    const HEADER: [&'static str; 12] = [
        "offered_slots",
        "offered_hours",
        "unused_slots",
        "unused_hours",
        "lost_withdrawn_slots",
        "lost_withdrawn_hours",
        "lost_late_cancel_slots",
        "lost_late_cancel_hours",
        "lost_dna_slots",
        "lost_dna_hours",
        "lost_slots",
        "lost_hours",
    ];

    fn of(r: &reports::CapacityRow) -> Self {
        Self {
            offered_slots: r.offered_slots,
            offered_hours: hours(r.offered_minutes),
            unused_slots: r.unused_slots,
            unused_hours: hours(r.unused_minutes),
            lost_withdrawn_slots: r.withdrawn_slots,
            lost_withdrawn_hours: hours(r.withdrawn_minutes),
            lost_late_cancel_slots: r.late_cancel_slots,
            lost_late_cancel_hours: hours(r.late_cancel_minutes),
            lost_dna_slots: r.dna_slots,
            lost_dna_hours: hours(r.dna_minutes),
            lost_slots: r.withdrawn_slots + r.late_cancel_slots + r.dna_slots,
            lost_hours: hours(r.withdrawn_minutes + r.late_cancel_minutes + r.dna_minutes),
        }
    }

    fn total(rows: &[reports::CapacityRow]) -> Self {
        let mut t = reports::CapacityRow {
            group_key: String::new(),
            group_label: String::new(),
            offered_slots: 0,
            offered_minutes: 0,
            unused_slots: 0,
            unused_minutes: 0,
            withdrawn_slots: 0,
            withdrawn_minutes: 0,
            late_cancel_slots: 0,
            late_cancel_minutes: 0,
            dna_slots: 0,
            dna_minutes: 0,
        };
        for r in rows {
            t.offered_slots += r.offered_slots;
            t.offered_minutes += r.offered_minutes;
            t.unused_slots += r.unused_slots;
            t.unused_minutes += r.unused_minutes;
            t.withdrawn_slots += r.withdrawn_slots;
            t.withdrawn_minutes += r.withdrawn_minutes;
            t.late_cancel_slots += r.late_cancel_slots;
            t.late_cancel_minutes += r.late_cancel_minutes;
            t.dna_slots += r.dna_slots;
            t.dna_minutes += r.dna_minutes;
        }
        Self::of(&t)
    }

    fn cells(&self) -> Vec<Field> {
        vec![
            Field::Int(self.offered_slots),
            Field::Decimal(self.offered_hours, 2),
            Field::Int(self.unused_slots),
            Field::Decimal(self.unused_hours, 2),
            Field::Int(self.lost_withdrawn_slots),
            Field::Decimal(self.lost_withdrawn_hours, 2),
            Field::Int(self.lost_late_cancel_slots),
            Field::Decimal(self.lost_late_cancel_hours, 2),
            Field::Int(self.lost_dna_slots),
            Field::Decimal(self.lost_dna_hours, 2),
            Field::Int(self.lost_slots),
            Field::Decimal(self.lost_hours, 2),
        ]
    }
}

/// One group of the capacity report.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapacityGroup {
    /// The group: a week's Monday or a date, a site id, a service code or a clinical role.
    pub key: String,
    /// The group for people.
    pub label: String,
    /// The figures.
    #[serde(flatten)]
    pub figures: CapacityFigures,
}

/// Attendance of appointments that were not cancelled.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DnaFigures {
    /// Appointments not cancelled.
    pub appointments: i64,
    /// Of those, arrived or seen.
    pub attended: i64,
    /// Of those, did not attend.
    pub dna: i64,
    /// Of those, still booked with no outcome recorded.
    pub no_outcome: i64,
    /// dna / (attended + dna), to four places; null when no outcome is recorded.
    pub dna_rate: Option<f64>,
}

impl DnaFigures {
    const HEADER: [&'static str; 5] = ["appointments", "attended", "dna", "no_outcome", "dna_rate"];

    fn of(appointments: i64, attended: i64, dna: i64, no_outcome: i64) -> Self {
        Self {
            appointments,
            attended,
            dna,
            no_outcome,
            dna_rate: rate(dna, attended + dna),
        }
    }

    fn total(rows: &[DnaGroup]) -> Self {
        let sum = |f: fn(&DnaFigures) -> i64| rows.iter().map(|r| f(&r.figures)).sum::<i64>();
        Self::of(
            sum(|f| f.appointments),
            sum(|f| f.attended),
            sum(|f| f.dna),
            sum(|f| f.no_outcome),
        )
    }

    fn cells(&self) -> Vec<Field> {
        vec![
            Field::Int(self.appointments),
            Field::Int(self.attended),
            Field::Int(self.dna),
            Field::Int(self.no_outcome),
            Field::opt_decimal(self.dna_rate, 4),
        ]
    }
}

/// One group of the DNA report.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DnaGroup {
    /// The group: a practice's ODS code (the patient's practice, else the booking practice;
    /// empty for none), a service code, a site id, a weekday (`1` Monday to `7` Sunday), an
    /// hour (`18`), a lead-time band (`0` to `4`) or a week's Monday.
    pub key: String,
    /// The group for people: a name, `Wednesday`, `18:00-19:00`, or the lead-time band (`same
    /// day`, `1-2 days`, `3-7 days`, `8-14 days`, `15+ days`: the appointment's local date less
    /// the booking's).
    pub label: String,
    /// The figures.
    #[serde(flatten)]
    pub figures: DnaFigures,
}

/// Appointments (not cancelled) by the channel they were booked through.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookingsFigures {
    /// Appointments.
    pub booked: i64,
    /// In slots reserved for the booking practice.
    pub via_practice: i64,
    /// Booked by NHS 111.
    pub via_111: i64,
    /// In open or released slots.
    pub via_open: i64,
}

/// One booking practice (or channel) of the bookings report.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookingsGroup {
    /// The practice's ODS code (empty for bookings without a practice, such as NHS 111's), or
    /// the channel (`practice`, `111`, `open`).
    pub key: String,
    /// The practice's name, or what the channel means.
    pub label: String,
    /// The practice's registered list size.
    pub list_size: Option<i64>,
    /// The counts.
    #[serde(flatten)]
    pub figures: BookingsFigures,
    /// By practice: its share of the appointments booked by practices; by channel: the
    /// channel's share of all; to four places.
    pub share: Option<f64>,
    /// Its fair share, to four places: its part of the period's slots not reserved for 111, each
    /// day's shared by list size among the practices whose data-sharing agreement is in force that
    /// day (the fair-share report's exact quota over the slots apportioned); null when its
    /// agreement was in force on none of those days.
    pub fair_share: Option<f64>,
}

impl BookingsGroup {
    const HEADER: [&'static str; 9] = [
        "key",
        "label",
        "list_size",
        "booked",
        "via_practice",
        "via_111",
        "via_open",
        "share",
        "fair_share",
    ];

    fn cells(&self) -> Vec<Field> {
        let mut cells = group_cells(&self.key, &self.label);
        cells.extend([
            self.list_size.map_or(Field::Empty, Field::Int),
            Field::Int(self.figures.booked),
            Field::Int(self.figures.via_practice),
            Field::Int(self.figures.via_111),
            Field::Int(self.figures.via_open),
            Field::opt_decimal(self.share, 4),
            Field::opt_decimal(self.fair_share, 4),
        ]);
        cells
    }
}

/// Appointments (not cancelled) and their outcomes, for fee claims.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityFigures {
    /// Appointments.
    pub booked: i64,
    /// Of those, arrived or seen: the activity to claim for.
    pub attended: i64,
    /// Of those, did not attend.
    pub dna: i64,
}

/// One practice and service (and requester) of the activity report.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityGroup {
    /// The practice's ODS code: the patient's registered practice, else the booking practice.
    pub ods_code: Option<String>,
    /// The practice's name.
    pub practice: String,
    /// The service's code.
    pub service_code: String,
    /// The service's name.
    pub service: String,
    /// The requesting organisation's ODS code (`group_by=requester`; null when none).
    pub requester_ods: Option<String>,
    /// The counts.
    #[serde(flatten)]
    pub figures: ActivityFigures,
}

impl ActivityGroup {
    const HEADER: [&'static str; 8] = [
        "ods_code",
        "practice",
        "service_code",
        "service",
        "requester_ods",
        "booked",
        "attended",
        "dna",
    ];

    fn cells(&self) -> Vec<Field> {
        vec![
            Field::opt_text(self.ods_code.as_deref()),
            Field::Text(self.practice.clone()),
            Field::Text(self.service_code.clone()),
            Field::Text(self.service.clone()),
            Field::opt_text(self.requester_ods.as_deref()),
            Field::Int(self.figures.booked),
            Field::Int(self.figures.attended),
            Field::Int(self.figures.dna),
        ]
    }
}

/// One appointment of the activity report's detail.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityLine {
    /// The appointment.
    pub appointment_id: String,
    /// Its local date.
    pub date: NaiveDate,
    /// Its start.
    pub starts_at: DateTime<Utc>,
    /// The practice's ODS code (the patient's, else the booking practice's).
    pub ods_code: Option<String>,
    /// The practice's name.
    pub practice: String,
    /// The service's code.
    pub service_code: String,
    /// The service's name.
    pub service: String,
    /// `booked`, `arrived`, `seen` or `did_not_attend`.
    pub status: String,
    /// The requesting organisation's ODS code.
    pub requester_ods: Option<String>,
    /// The requester's reference.
    pub requester_reference: Option<String>,
}

impl ActivityLine {
    const HEADER: [&'static str; 10] = [
        "appointment_id",
        "date",
        "starts_at",
        "ods_code",
        "practice",
        "service_code",
        "service",
        "status",
        "requester_ods",
        "requester_reference",
    ];

    fn cells(&self) -> Vec<Field> {
        vec![
            Field::Text(self.appointment_id.clone()),
            Field::Date(self.date),
            Field::Time(self.starts_at),
            Field::opt_text(self.ods_code.as_deref()),
            Field::Text(self.practice.clone()),
            Field::Text(self.service_code.clone()),
            Field::Text(self.service.clone()),
            Field::Text(self.status.clone()),
            Field::opt_text(self.requester_ods.as_deref()),
            Field::opt_text(self.requester_reference.as_deref()),
        ]
    }
}

/// Minutes of clinical capacity offered against the enhanced-access requirement.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnhancedAccessFigures {
    /// Days of the period in this week (7 but at the period's ends).
    pub days: i64,
    /// The summed registered list sizes of the cluster's practices.
    pub list_size: i64,
    /// Minutes of offered slots (parallel lanes each count).
    pub offered_minutes: i64,
    /// Of those, minutes inside the network standard hours (weekdays 18:30-20:00, Saturdays
    /// 09:00-17:00, local time).
    pub standard_hours_minutes: i64,
    /// Offered minutes per 1,000 registered patients per week (pro rata for part weeks), to two
    /// places; null without a list.
    pub minutes_per_1000: Option<f64>,
    /// standard_hours_minutes / offered_minutes, to four places.
    pub standard_hours_share: Option<f64>,
    /// The minutes the requirement of 60 per 1,000 patients per week asks of these days.
    pub required_minutes: f64,
    /// Whether the offered minutes reach the required ones.
    pub meets_requirement: bool,
}

impl EnhancedAccessFigures {
    const HEADER: [&'static str; 8] = [
        "days",
        "list_size",
        "offered_minutes",
        "standard_hours_minutes",
        "minutes_per_1000",
        "standard_hours_share",
        "required_minutes",
        "meets_requirement",
    ];

    fn of(days: i64, list_size: i64, offered: i64, standard: i64) -> Self {
        let weeks = days as f64 / 7.0;
        let thousands = list_size as f64 / 1000.0;
        let required = ENHANCED_ACCESS_MINUTES_PER_1000 * thousands * weeks;
        Self {
            days,
            list_size,
            offered_minutes: offered,
            standard_hours_minutes: standard,
            minutes_per_1000: (list_size > 0 && days > 0)
                .then(|| round(offered as f64 / thousands / weeks, 2)),
            standard_hours_share: rate(standard, offered),
            required_minutes: round(required, 2),
            meets_requirement: list_size > 0 && offered as f64 >= required,
        }
    }

    fn cells(&self) -> Vec<Field> {
        vec![
            Field::Int(self.days),
            Field::Int(self.list_size),
            Field::Int(self.offered_minutes),
            Field::Int(self.standard_hours_minutes),
            Field::opt_decimal(self.minutes_per_1000, 2),
            Field::opt_decimal(self.standard_hours_share, 4),
            Field::Decimal(self.required_minutes, 2),
            Field::Bool(self.meets_requirement),
        ]
    }
}

/// One ISO week of the enhanced-access report.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnhancedAccessWeek {
    /// The week's Monday (ISO 8601).
    pub key: String,
    /// The ISO week, `2026-W43`.
    pub label: String,
    /// The figures.
    #[serde(flatten)]
    pub figures: EnhancedAccessFigures,
}

/// Shapes a report's aggregates into its document: rates, shares and totals.
pub fn shape(data: ReportData) -> ReportBody {
    let ReportData {
        request,
        cluster_code,
        window,
        as_of,
        rows,
    } = data;
    let late = request.late_cancel_hours;
    let doc = |group_by: &str, late: Option<u32>| Meta {
        report: request.name.as_str(),
        cluster: cluster_code.clone(),
        from: request.from,
        to: request.to,
        group_by: group_by.to_owned(),
        late_cancel_hours: late,
        as_of,
    };
    let group = request.group;
    let by = group.as_str();
    match rows {
        ReportRows::Utilisation(stored) => {
            let rows: Vec<UtilisationGroup> = stored
                .iter()
                .map(|r| UtilisationGroup {
                    key: r.group_key.clone(),
                    label: r.group_label.clone(),
                    figures: UtilisationFigures::of(r),
                })
                .collect();
            let totals = UtilisationFigures::total(&rows);
            ReportBody::Utilisation(doc(by, Some(late)).with(rows, totals))
        }
        ReportRows::Capacity(stored) => {
            let totals = CapacityFigures::total(&stored);
            let rows = stored
                .iter()
                .map(|r| CapacityGroup {
                    key: r.group_key.clone(),
                    label: r.group_label.clone(),
                    figures: CapacityFigures::of(r),
                })
                .collect();
            ReportBody::Capacity(doc(by, Some(late)).with(rows, totals))
        }
        ReportRows::Dna(stored) => {
            let rows: Vec<DnaGroup> = stored
                .into_iter()
                .map(|r| DnaGroup {
                    figures: DnaFigures::of(r.appointments, r.attended, r.dna, r.no_outcome),
                    key: r.group_key,
                    label: r.group_label,
                })
                .collect();
            let totals = DnaFigures::total(&rows);
            ReportBody::Dna(doc(by, None).with(rows, totals))
        }
        ReportRows::Bookings(stored, days) => {
            let (rows, totals) = bookings_rows(stored, group, &days);
            ReportBody::Bookings(doc(by, None).with(rows, totals))
        }
        ReportRows::ActivityDetail(stored) => {
            let lines: Vec<ActivityLine> = stored
                .into_iter()
                .map(|l| ActivityLine {
                    appointment_id: l.appointment_id,
                    date: l.local_date.parse().unwrap_or_default(),
                    starts_at: l.starts_at.and_utc(),
                    ods_code: Some(l.ods_code).filter(|o| !o.is_empty()),
                    practice: l.practice,
                    service_code: l.service_code,
                    service: l.service,
                    status: l.status,
                    requester_ods: l.requester_ods,
                    requester_reference: l.requester_reference,
                })
                .collect();
            let totals = ActivityFigures {
                booked: lines.len() as i64,
                attended: lines
                    .iter()
                    .filter(|l| matches!(l.status.as_str(), "arrived" | "seen"))
                    .count() as i64,
                dna: lines
                    .iter()
                    .filter(|l| l.status == "did_not_attend")
                    .count() as i64,
            };
            ReportBody::ActivityDetail(doc(DETAIL_GROUP, None).with(lines, totals))
        }
        ReportRows::Activity(stored) => {
            let rows: Vec<ActivityGroup> = stored
                .into_iter()
                .map(|r| ActivityGroup {
                    ods_code: Some(r.ods_code).filter(|o| !o.is_empty()),
                    practice: r.practice,
                    service_code: r.service_code,
                    service: r.service,
                    requester_ods: Some(r.requester_ods).filter(|o| !o.is_empty()),
                    figures: ActivityFigures {
                        booked: r.booked,
                        attended: r.attended,
                        dna: r.dna,
                    },
                })
                .collect();
            let totals = ActivityFigures {
                booked: rows.iter().map(|r| r.figures.booked).sum(),
                attended: rows.iter().map(|r| r.figures.attended).sum(),
                dna: rows.iter().map(|r| r.figures.dna).sum(),
            };
            ReportBody::Activity(doc(by, None).with(rows, totals))
        }
        ReportRows::EnhancedAccess(stored) => {
            let (rows, totals) = enhanced_access_rows(&window, stored);
            ReportBody::EnhancedAccess(doc(by, None).with(rows, totals))
        }
    }
}

/// What every report document says about itself.
struct Meta {
    report: &'static str,
    cluster: String,
    from: NaiveDate,
    to: NaiveDate,
    group_by: String,
    late_cancel_hours: Option<u32>,
    as_of: DateTime<Utc>,
}

impl Meta {
    fn with<R, T>(self, rows: Vec<R>, totals: T) -> Report<R, T> {
        Report {
            report: self.report.to_owned(),
            cluster: self.cluster,
            from: self.from,
            to: self.to,
            group_by: self.group_by,
            late_cancel_hours: self.late_cancel_hours,
            as_of: self.as_of,
            rows,
            totals,
        }
    }
}

/// Shares and fair shares of the bookings report; `days` are the period's shared slots by day,
/// which weigh the practices' fair shares ([`hubbook_core::fair_share`]).
fn bookings_rows(
    stored: Vec<reports::BookingsRow>,
    group: GroupBy,
    days: &[SharedDay],
) -> (Vec<BookingsGroup>, BookingsFigures) {
    let by_practice = group == GroupBy::Practice;
    let shared: i64 = stored
        .iter()
        .filter(|r| !by_practice || !r.group_key.is_empty())
        .map(|r| r.booked)
        .sum();
    let practices: Vec<_> = stored
        .iter()
        .map(|r| {
            crate::sharing::practice_share(
                &r.group_key,
                r.list_size.unwrap_or(0),
                r.dsa_from,
                r.dsa_to,
            )
        })
        .collect();
    let fair = fair_shares(&practices, days);
    let mut totals = BookingsFigures::default();
    let rows = stored
        .into_iter()
        .zip(fair)
        .map(|(r, fair)| {
            totals.booked += r.booked;
            totals.via_practice += r.via_practice;
            totals.via_111 += r.via_111;
            totals.via_open += r.via_open;
            let practice = by_practice && !r.group_key.is_empty();
            BookingsGroup {
                share: (practice || !by_practice)
                    .then(|| rate(r.booked, shared))
                    .flatten(),
                fair_share: fair.filter(|_| practice).map(|f| round(f, 4)),
                list_size: r.list_size,
                figures: BookingsFigures {
                    booked: r.booked,
                    via_practice: r.via_practice,
                    via_111: r.via_111,
                    via_open: r.via_open,
                },
                key: r.group_key,
                label: r.group_label,
            }
        })
        .collect();
    (rows, totals)
}

/// Every ISO week of the period with its minutes (none where nothing was offered).
fn enhanced_access_rows(
    window: &Window,
    stored: reports::EnhancedAccess,
) -> (Vec<EnhancedAccessWeek>, EnhancedAccessFigures) {
    let mut weeks: Vec<(NaiveDate, i64)> = Vec::new();
    let mut last_day = None;
    for span in window.spans() {
        if last_day == Some(span.date) {
            continue;
        }
        last_day = Some(span.date);
        match weeks.last_mut() {
            Some((week, days)) if *week == span.week => *days += 1,
            _ => weeks.push((span.week, 1)),
        }
    }
    let list = stored.list_size;
    let rows: Vec<EnhancedAccessWeek> = weeks
        .iter()
        .map(|&(week, days)| {
            let key = week.to_string();
            let (offered, standard) = stored
                .weeks
                .iter()
                .find(|w| w.week == key)
                .map_or((0, 0), |w| (w.offered_minutes, w.standard_minutes));
            EnhancedAccessWeek {
                label: iso_week_label(week),
                key,
                figures: EnhancedAccessFigures::of(days, list, offered, standard),
            }
        })
        .collect();
    let totals = EnhancedAccessFigures::of(
        rows.iter().map(|r| r.figures.days).sum(),
        list,
        rows.iter().map(|r| r.figures.offered_minutes).sum(),
        rows.iter().map(|r| r.figures.standard_hours_minutes).sum(),
    );
    (rows, totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_derive_rates() {
        let f = EnhancedAccessFigures::of(7, 12_000, 720, 360);
        assert_eq!(f.minutes_per_1000, Some(60.0));
        assert_eq!(f.required_minutes, 720.0);
        assert!(f.meets_requirement);
        assert_eq!(f.standard_hours_share, Some(0.5));
        let part = EnhancedAccessFigures::of(3, 12_000, 300, 0);
        assert_eq!(part.minutes_per_1000, Some(58.33));
        assert!(!part.meets_requirement);
        assert_eq!(rate(1, 3), Some(0.3333));
        assert_eq!(rate(1, 0), None);
        assert_eq!(hours(125), 2.08);
    }
}
