//! The cluster manager's reports: each report of the JSON API (utilisation, capacity, DNA,
//! bookings, activity with its fee lines, enhanced access, fair share) as a chart with its data
//! table beside it, over a period and a grouping chosen in a GET form, the table sortable by
//! any column with plain links, and a CSV download of exactly the table shown.
//!
//! The figures, their columns and the CSV are the API's own: the use case reads the report,
//! `hubbook_service::reports::document` shapes it into the same table the API writes, and the
//! API's CSV writer writes it, so the download equals the API's CSV byte for byte (in the
//! order shown).

use std::cmp::Ordering;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, Duration, NaiveDate};
use hubbook_service::dashboard::week_of;
use hubbook_service::reports::document::{shape, Field, ReportBody, ReportTable};
use hubbook_service::reports::{check_period, ReportName, ReportRequest};
use hubbook_service::sharing::FairShare;
use hubbook_store::repo::reports::GroupBy;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::chart::{Chart, Kind, Series, Unit};
use super::Manager;
use crate::errors::{refusal, FieldError};
use crate::pages::Params;
use crate::Console;

/// A report the console offers: its name in paths (the API's), its title and what it answers.
struct Offered {
    name: &'static str,
    title: &'static str,
    about: &'static str,
}

/// Every report, in the order the index lists them.
const REPORTS: [Offered; 7] = [
    Offered {
        name: "utilisation",
        title: "Utilisation",
        about: "Slots offered and what became of them: booked, attended, did not attend, unused and still free.",
    },
    Offered {
        name: "capacity",
        title: "Capacity",
        about: "Clinician hours offered, left unused, and lost to withdrawn sessions, late cancellations and DNAs.",
    },
    Offered {
        name: "dna",
        title: "Did not attend",
        about: "Appointments whose patient did not attend, and the DNA rate, by practice, service, site, time or lead time.",
    },
    Offered {
        name: "bookings",
        title: "Bookings",
        about: "Appointments by booking practice or channel, each practice's share against its fair share.",
    },
    Offered {
        name: "activity",
        title: "Activity for fee claims",
        about: "Appointments per practice and service, attended and not; with the fee lines, one line per appointment.",
    },
    Offered {
        name: "enhanced-access",
        title: "Enhanced Access",
        about: "Minutes offered each week per 1,000 registered patients, against the contract's 60.",
    },
    Offered {
        name: "fair-share",
        title: "Fair share",
        about: "Each practice's exact quota of the slots apportioned, the slots reserved for it and what it booked.",
    },
];

/// The years a report's dates may fall in (as the API's).
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// How many weeks before this one a report covers unless its dates are chosen.
const DEFAULT_WEEKS_BEFORE: i64 = 4;

/// The most rows a report page shows (the activity's fee lines can be many); the CSV has them all
/// in that case, and the page says so.
const MAX_ROWS_SHOWN: usize = 2000;

/// `GET /manage/reports`: every report, each linked with the default period.
pub(crate) async fn index(c: web::Data<Console>, m: Manager) -> HttpResponse {
    index_page(&c, &m, None)
}

/// The index, with a refusal (an unknown report) above it.
fn index_page(c: &Console, m: &Manager, refused: Option<FieldError>) -> HttpResponse {
    let mut ctx = m.base("Reports");
    let status = if refused.is_some() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let reports: Vec<Value> = REPORTS
        .iter()
        .map(|r| json!({"href": format!("/manage/reports/{}", r.name), "title": r.title, "about": r.about}))
        .collect();
    ctx.insert("reports".into(), json!(reports));
    ctx.insert(
        "errors".into(),
        json!(refused.into_iter().collect::<Vec<_>>()),
    );
    c.templates
        .page(status, "manage_reports.html", Value::Object(ctx))
}

/// The query of a report page and of its CSV, as typed.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct ReportForm {
    from: String,
    to: String,
    group_by: String,
    detail: bool,
    sort: String,
    dir: String,
}

impl ReportForm {
    fn from_params(p: &Params) -> Self {
        Self {
            from: p.get("from").to_owned(),
            to: p.get("to").to_owned(),
            group_by: p.get("group_by").to_owned(),
            detail: p.get("detail") == "true",
            sort: p.get("sort").to_owned(),
            dir: p.get("dir").to_owned(),
        }
    }

    /// The query string naming this form, sorted by `sort` (a column and whether descending)
    /// instead of its own order when given.
    fn query(&self, sort: Option<(&str, bool)>) -> String {
        let mut pairs: Vec<(&str, &str)> = vec![("from", &self.from), ("to", &self.to)];
        if !self.group_by.is_empty() {
            pairs.push(("group_by", &self.group_by));
        }
        if self.detail {
            pairs.push(("detail", "true"));
        }
        let (column, descending) = match sort {
            Some((column, descending)) => (column, descending),
            None => (self.sort.as_str(), self.dir == "desc"),
        };
        if !column.is_empty() {
            pairs.push(("sort", column));
            pairs.push(("dir", if descending { "desc" } else { "asc" }));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// A report to read, checked.
enum Read {
    /// One of the API's grouped reports.
    Report(ReportRequest),
    /// The fair-share report over a period.
    FairShare(NaiveDate, NaiveDate),
}

/// A date typed in a report's form, or the message for its field.
fn date(text: &str, field: &str, which: &str) -> Result<NaiveDate, FieldError> {
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(d) if YEARS.contains(&d.year()) => Ok(d),
        _ => Err(FieldError::at(
            field,
            format!("Enter the {which} day of the report as a date, like 2026-12-07"),
        )),
    }
}

/// Checks a report's form: its dates (the default period where both are empty), its grouping
/// and the period's length, by the same rules as the API.
fn check(name: &str, form: &mut ReportForm, today: NaiveDate) -> Result<Read, Vec<FieldError>> {
    if form.from.is_empty() && form.to.is_empty() {
        let (monday, sunday) = week_of(today);
        form.from = (monday - Duration::weeks(DEFAULT_WEEKS_BEFORE)).to_string();
        form.to = sunday.to_string();
    }
    let from = date(&form.from, "from", "first");
    let to = date(&form.to, "to", "last");
    let (from, to) = match (from, to) {
        (Ok(from), Ok(to)) => (from, to),
        (from, to) => return Err([from.err(), to.err()].into_iter().flatten().collect()),
    };
    if name == "fair-share" {
        return check_period(from, to)
            .map(|()| Read::FairShare(from, to))
            .map_err(|e| vec![refusal(e).error]);
    }
    let group = Some(form.group_by.as_str()).filter(|g| !g.is_empty());
    ReportRequest::parse(name, from, to, group, None, form.detail)
        .map(Read::Report)
        .map_err(|e| vec![refusal(e).error])
}

/// `GET /manage/reports/{name}` and `GET /manage/reports/{name}.csv`: a report as a page, or
/// the table it shows as CSV.
pub(crate) async fn report(
    c: web::Data<Console>,
    m: Manager,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let path = path.into_inner();
    let (name, csv) = match path.strip_suffix(".csv") {
        Some(name) => (name.to_owned(), true),
        None => (path, false),
    };
    let Some(offered) = REPORTS.iter().find(|r| r.name == name) else {
        return index_page(
            &c,
            &m,
            Some(FieldError::page(
                "There is no report of that name. Choose one of the reports below.",
            )),
        );
    };
    let mut form = ReportForm::from_params(&Params::parse(req.query_string()));
    let today = m.user.local().date_of(c.hubbook.now());
    let read = match check(offered.name, &mut form, today) {
        Ok(read) => read,
        Err(errors) => {
            return render(
                &c,
                &m,
                offered,
                &form,
                None,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    };
    let who = m.user.caller();
    let shown = match read {
        Read::Report(request) => c
            .hubbook
            .read_report(&who, m.code.clone(), request)
            .await
            .map(|data| Shown::of_report(shape(data))),
        Read::FairShare(from, to) => c
            .hubbook
            .fair_share(&who, m.code.clone(), from, to)
            .await
            .map(|report| Shown::of_fair_share(&report)),
    };
    let mut shown = match shown {
        Ok(shown) => shown,
        Err(e) => {
            let r = refusal(e);
            return render(&c, &m, offered, &form, None, vec![r.error], r.status);
        }
    };
    let sorted = sort_rows(&mut shown.table, &form.sort, form.dir == "desc");
    if !sorted {
        form.sort.clear();
        form.dir.clear();
    }
    if csv {
        let text = hubbook_api::routes::reports::csv_text(&shown.table);
        let mut page = hubbook_api::csv::attachment(&shown.table.file_name, text);
        page.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        return page;
    }
    render(
        &c,
        &m,
        offered,
        &form,
        Some(shown),
        Vec::new(),
        StatusCode::OK,
    )
}

/// A report as the page shows it: its table (the API's), chart, totals and grouping.
struct Shown {
    table: ReportTable,
    chart: Option<Chart>,
    totals: Vec<(String, String)>,
    group: Option<GroupBy>,
}

impl Shown {
    /// A grouped report: the chart that fits it and its period's totals.
    fn of_report(body: ReportBody) -> Self {
        let table = ReportTable::of(&body);
        let group = match &body {
            ReportBody::ActivityDetail(_) => None,
            ReportBody::Utilisation(r) => GroupBy::parse(&r.group_by),
            ReportBody::Capacity(r) => GroupBy::parse(&r.group_by),
            ReportBody::Dna(r) => GroupBy::parse(&r.group_by),
            ReportBody::Bookings(r) => GroupBy::parse(&r.group_by),
            ReportBody::Activity(r) => GroupBy::parse(&r.group_by),
            ReportBody::EnhancedAccess(r) => GroupBy::parse(&r.group_by),
        };
        let over_time = group.is_some_and(|g| {
            matches!(
                g,
                GroupBy::Week | GroupBy::Day | GroupBy::Hour | GroupBy::Weekday
            )
        });
        let kind = if over_time { Kind::Line } else { Kind::Bars };
        let by = group.map_or("appointment", group_words).to_lowercase();
        // Practices by their ODS codes on the chart's axis: their names are long and often
        // share a beginning (the table beside it pairs each code with its name).
        let axis_label = |key: &str, label: &str| {
            if group == Some(GroupBy::Practice) && !key.is_empty() {
                key.to_owned()
            } else {
                label.to_owned()
            }
        };
        let series = |name: &str, values: Vec<Option<f64>>| Series {
            name: name.to_owned(),
            values,
        };
        let (chart, totals) = match &body {
            ReportBody::Utilisation(r) => (
                Some(Chart {
                    title: format!("Utilisation by {by}"),
                    description: format!(
                        "{} of the share of offered slots booked in each {by}. The table has every figure.",
                        if over_time { "A line" } else { "Bars" }
                    ),
                    kind,
                    unit: Unit::Percent,
                    y_title: "Slots booked".into(),
                    labels: r.rows.iter().map(|g| axis_label(&g.key, &g.label)).collect(),
                    series: vec![series(
                        "Utilisation",
                        r.rows.iter().map(|g| g.figures.utilisation).collect(),
                    )],
                    target: None,
                }),
                vec![
                    ("Slots offered".into(), r.totals.offered.to_string()),
                    ("Booked".into(), r.totals.booked.to_string()),
                    ("Utilisation".into(), percent(r.totals.utilisation)),
                    ("Did not attend".into(), r.totals.dna.to_string()),
                    ("Unused".into(), r.totals.unused.to_string()),
                    ("Still free".into(), r.totals.still_free.to_string()),
                ],
            ),
            ReportBody::Capacity(r) => (
                Some(Chart {
                    title: format!("Hours offered and lost by {by}"),
                    description: format!(
                        "Clinician hours offered and hours lost (to withdrawn sessions, late cancellations and DNAs) in each {by}. The table has every figure."
                    ),
                    kind,
                    unit: Unit::Number,
                    y_title: "Hours".into(),
                    labels: r.rows.iter().map(|g| axis_label(&g.key, &g.label)).collect(),
                    series: vec![
                        series(
                            "Offered",
                            r.rows.iter().map(|g| Some(g.figures.offered_hours)).collect(),
                        ),
                        series(
                            "Lost",
                            r.rows.iter().map(|g| Some(g.figures.lost_hours)).collect(),
                        ),
                    ],
                    target: None,
                }),
                vec![
                    ("Hours offered".into(), format!("{:.2}", r.totals.offered_hours)),
                    ("Hours unused".into(), format!("{:.2}", r.totals.unused_hours)),
                    ("Hours lost".into(), format!("{:.2}", r.totals.lost_hours)),
                    ("Slots lost".into(), r.totals.lost_slots.to_string()),
                ],
            ),
            ReportBody::Dna(r) => (
                Some(Chart {
                    title: format!("DNA rate by {by}"),
                    description: format!(
                        "The share of appointments with an outcome whose patient did not attend, in each {by}. The table has every figure."
                    ),
                    kind,
                    unit: Unit::Percent,
                    y_title: "Did not attend".into(),
                    labels: r.rows.iter().map(|g| axis_label(&g.key, &g.label)).collect(),
                    series: vec![series(
                        "DNA rate",
                        r.rows.iter().map(|g| g.figures.dna_rate).collect(),
                    )],
                    target: None,
                }),
                vec![
                    ("Appointments".into(), r.totals.appointments.to_string()),
                    ("Attended".into(), r.totals.attended.to_string()),
                    ("Did not attend".into(), r.totals.dna.to_string()),
                    ("DNA rate".into(), percent(r.totals.dna_rate)),
                ],
            ),
            ReportBody::Bookings(r) => {
                let mut all = vec![series(
                    "Share of bookings",
                    r.rows.iter().map(|g| g.share).collect(),
                )];
                if group == Some(GroupBy::Practice) {
                    all.push(series(
                        "Fair share",
                        r.rows.iter().map(|g| g.fair_share).collect(),
                    ));
                }
                (
                    Some(Chart {
                        title: format!("Share of bookings by {by}"),
                        description: format!(
                            "Each {by}'s share of the appointments booked{}. The table has every figure.",
                            if group == Some(GroupBy::Practice) { ", beside its fair share" } else { "" }
                        ),
                        kind: Kind::Bars,
                        unit: Unit::Percent,
                        y_title: "Share".into(),
                        labels: r.rows.iter().map(|g| axis_label(&g.key, &g.label)).collect(),
                        series: all,
                        target: None,
                    }),
                    vec![
                        ("Appointments".into(), r.totals.booked.to_string()),
                        ("In own reservation".into(), r.totals.via_practice.to_string()),
                        ("By NHS 111".into(), r.totals.via_111.to_string()),
                        ("In open slots".into(), r.totals.via_open.to_string()),
                    ],
                )
            }
            ReportBody::Activity(r) => (
                Some(Chart {
                    title: format!("Appointments attended and not by {by} and service"),
                    description:
                        "Appointments attended and not attended for each practice and service. The table has every figure."
                            .into(),
                    kind: Kind::Bars,
                    unit: Unit::Number,
                    y_title: "Appointments".into(),
                    labels: r
                        .rows
                        .iter()
                        .map(|g| {
                            let practice = g.ods_code.as_deref().unwrap_or(&g.practice);
                            match &g.requester_ods {
                                Some(requester) => {
                                    format!("{practice} {} {requester}", g.service_code)
                                }
                                None => format!("{practice} {}", g.service_code),
                            }
                        })
                        .collect(),
                    series: vec![
                        series(
                            "Attended",
                            r.rows.iter().map(|g| Some(g.figures.attended as f64)).collect(),
                        ),
                        series(
                            "Did not attend",
                            r.rows.iter().map(|g| Some(g.figures.dna as f64)).collect(),
                        ),
                    ],
                    target: None,
                }),
                activity_totals(r.totals.booked, r.totals.attended, r.totals.dna),
            ),
            ReportBody::ActivityDetail(r) => (
                None,
                activity_totals(r.totals.booked, r.totals.attended, r.totals.dna),
            ),
            ReportBody::EnhancedAccess(r) => (
                Some(Chart {
                    title: "Enhanced Access minutes per 1,000 patients by week".into(),
                    description: format!(
                        "A line of the minutes offered each week per 1,000 registered patients, and the requirement of {:.0}. The table has every figure.",
                        hubbook_core::report::ENHANCED_ACCESS_MINUTES_PER_1000
                    ),
                    kind: Kind::Line,
                    unit: Unit::Number,
                    y_title: "Minutes per 1,000 patients".into(),
                    labels: r.rows.iter().map(|g| axis_label(&g.key, &g.label)).collect(),
                    series: vec![series(
                        "Offered",
                        r.rows.iter().map(|g| g.figures.minutes_per_1000).collect(),
                    )],
                    target: Some((
                        hubbook_core::report::ENHANCED_ACCESS_MINUTES_PER_1000,
                        "Required".into(),
                    )),
                }),
                vec![
                    ("Registered patients".into(), r.totals.list_size.to_string()),
                    ("Minutes offered".into(), r.totals.offered_minutes.to_string()),
                    ("Minutes required".into(), format!("{:.2}", r.totals.required_minutes)),
                    (
                        "Minutes per 1,000 patients a week".into(),
                        r.totals
                            .minutes_per_1000
                            .map_or_else(|| "None".into(), |m| format!("{m:.2}")),
                    ),
                    (
                        "Meets the requirement".into(),
                        if r.totals.meets_requirement { "Yes" } else { "No" }.into(),
                    ),
                ],
            ),
        };
        Self {
            table,
            chart,
            totals,
            group,
        }
    }

    /// The fair-share report: bars of each practice's quota, reservation and bookings.
    fn of_fair_share(report: &FairShare) -> Self {
        let p = &report.practices;
        let values =
            |f: fn(&hubbook_service::sharing::PracticeFairShare) -> f64| -> Vec<Option<f64>> {
                p.iter().map(|x| Some(f(x))).collect()
            };
        Self {
            table: ReportTable::fair_share(report),
            chart: Some(Chart {
                title: "Fair share and slots reserved by practice".into(),
                description: "For each practice, its exact quota of the slots apportioned, the slots reserved for it and those it booked from its reservation. The table has every figure.".into(),
                kind: Kind::Bars,
                unit: Unit::Number,
                y_title: "Slots".into(),
                labels: p.iter().map(|x| x.ods_code.clone()).collect(),
                series: vec![
                    Series { name: "Exact quota".into(), values: values(|x| x.exact_quota) },
                    Series { name: "Reserved".into(), values: values(|x| x.reserved as f64) },
                    Series {
                        name: "Booked from reservation".into(),
                        values: values(|x| x.booked_from_reservation as f64),
                    },
                ],
                target: None,
            }),
            totals: vec![
                ("Slots apportioned".into(), report.apportioned.to_string()),
                ("Practices".into(), p.len().to_string()),
            ],
            group: Some(GroupBy::Practice),
        }
    }
}

fn activity_totals(booked: i64, attended: i64, dna: i64) -> Vec<(String, String)> {
    vec![
        ("Appointments".into(), booked.to_string()),
        ("Attended (to claim for)".into(), attended.to_string()),
        ("Did not attend".into(), dna.to_string()),
    ]
}

/// A rate as a percentage to one place, or "None" over nothing.
pub(crate) fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "None".into(), |r| format!("{:.1}%", r * 100.0))
}

/// A grouping in words.
fn group_words(group: GroupBy) -> &'static str {
    match group {
        GroupBy::Week => "Week",
        GroupBy::Day => "Day",
        GroupBy::Weekday => "Day of the week",
        GroupBy::Hour => "Hour of the day",
        GroupBy::Site => "Site",
        GroupBy::Service => "Service",
        GroupBy::Role => "Clinician",
        GroupBy::Channel => "Channel",
        GroupBy::Practice => "Practice",
        GroupBy::LeadTime => "Time from booking",
        GroupBy::Requester => "Requesting organisation",
    }
}

/// A table column's header in words (the CSV keeps the API's names).
fn column_words(column: &str, group: Option<GroupBy>) -> String {
    let words = match column {
        "label" => return group.map_or("Group", group_words).to_owned(),
        "key" => match group {
            Some(GroupBy::Week) => "Week starting",
            Some(GroupBy::Day) => "Date",
            Some(GroupBy::Hour) => "Hour",
            Some(GroupBy::Service) => "Service code",
            Some(GroupBy::Practice) => "ODS code",
            Some(GroupBy::LeadTime) => "Band",
            Some(GroupBy::Weekday) => "Day number",
            _ => "Code",
        },
        "offered" => "Offered",
        "booked" => "Booked",
        "attended" => "Attended",
        "dna" => "Did not attend",
        "cancelled_late" => "Cancelled late",
        "unused" => "Unused",
        "still_free" => "Still free",
        "utilisation" => "Utilisation",
        "offered_slots" => "Slots offered",
        "offered_hours" => "Hours offered",
        "unused_slots" => "Slots unused",
        "unused_hours" => "Hours unused",
        "lost_withdrawn_slots" => "Slots lost to withdrawal",
        "lost_withdrawn_hours" => "Hours lost to withdrawal",
        "lost_late_cancel_slots" => "Slots lost to late cancellation",
        "lost_late_cancel_hours" => "Hours lost to late cancellation",
        "lost_dna_slots" => "Slots lost to DNA",
        "lost_dna_hours" => "Hours lost to DNA",
        "lost_slots" => "Slots lost",
        "lost_hours" => "Hours lost",
        "appointments" => "Appointments",
        "no_outcome" => "No outcome yet",
        "dna_rate" => "DNA rate",
        "list_size" => "List size",
        "via_practice" => "In own reservation",
        "via_111" => "By NHS 111",
        "via_open" => "In open slots",
        "share" => "Share",
        "fair_share" => "Fair share",
        "ods_code" => "ODS code",
        "practice" => "Practice",
        "practice_id" => "Practice id",
        "service_code" => "Service code",
        "service" => "Service",
        "requester_ods" => "Requester",
        "appointment_id" => "Appointment",
        "date" => "Date",
        "starts_at" => "Starts (UTC)",
        "status" => "Status",
        "requester_reference" => "Requester's reference",
        "days" => "Days",
        "offered_minutes" => "Minutes offered",
        "standard_hours_minutes" => "Minutes in standard hours",
        "minutes_per_1000" => "Minutes per 1,000 patients a week",
        "standard_hours_share" => "Share in standard hours",
        "required_minutes" => "Minutes required",
        "meets_requirement" => "Meets the requirement",
        "exact_quota" => "Exact quota",
        "reserved" => "Reserved",
        "booked_from_reservation" => "Booked from reservation",
        "booked_from_open" => "Booked from open slots",
        "released_unused" => "Released unused",
        other => other,
    };
    words.to_owned()
}

/// Whether a column holds a rate (shown as a percentage).
fn is_rate(column: &str) -> bool {
    matches!(
        column,
        "utilisation" | "dna_rate" | "share" | "fair_share" | "standard_hours_share"
    )
}

/// A field as the table shows it: the CSV's text, rates as percentages (to the same
/// precision), yes or no, and "None" for no value.
pub(crate) fn shown_text(column: &str, field: &Field) -> String {
    match field {
        Field::Decimal(x, places) if is_rate(column) => {
            let places = places.saturating_sub(2);
            format!("{:.places$}%", x * 100.0)
        }
        Field::Bool(true) => "Yes".into(),
        Field::Bool(false) => "No".into(),
        Field::Empty => "None".into(),
        other => other.text(),
    }
}

/// Orders two fields of one column: numbers by value, text alphabetically (ignoring case),
/// dates and instants in time; no value comes last either way.
fn compare(a: &Field, b: &Field) -> Ordering {
    let number = |f: &Field| match f {
        Field::Int(n) => Some(*n as f64),
        Field::Decimal(x, _) => Some(*x),
        Field::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a.text().to_lowercase().cmp(&b.text().to_lowercase()),
    }
}

/// Sorts a table's rows by the column named `column` (stable, rows with no value last); false
/// when the table has no such column (the rows keep the report's order).
pub(crate) fn sort_rows(table: &mut ReportTable, column: &str, descending: bool) -> bool {
    let Some(i) = table.columns.iter().position(|c| *c == column) else {
        return false;
    };
    table.rows.sort_by(|a, b| {
        let (x, y) = (&a[i], &b[i]);
        match (x == &Field::Empty, y == &Field::Empty) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ if descending => compare(y, x),
            _ => compare(x, y),
        }
    });
    true
}

/// Whether a column holds ids people do not read (a site's or practice's UUID): the page leaves
/// it out and the CSV keeps it.
fn hidden(column: &str, group: Option<GroupBy>) -> bool {
    (column == "key" && group == Some(GroupBy::Site)) || column == "practice_id"
}

/// "2 November 2026 to 6 December 2026".
fn period_words(form: &ReportForm) -> String {
    let long = |d: &str| {
        NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(|d| d.format("%-d %B %Y").to_string())
            .unwrap_or_else(|_| d.to_owned())
    };
    format!("{} to {}", long(&form.from), long(&form.to))
}

/// Renders a report page: the form, and the report when there is one.
fn render(
    c: &Console,
    m: &Manager,
    offered: &Offered,
    form: &ReportForm,
    shown: Option<Shown>,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    let mut ctx = m.base(&format!("{} report", offered.title));
    let base_path = format!("/manage/reports/{}", offered.name);
    let groups: Vec<Value> = ReportName::ALL
        .iter()
        .find(|r| r.as_str() == offered.name)
        .map(|r| {
            r.groups()
                .iter()
                .map(|g| json!({"value": g.as_str(), "label": group_words(*g)}))
                .collect()
        })
        .unwrap_or_default();
    ctx.insert(
        "report".into(),
        json!({"name": offered.name, "title": offered.title, "about": offered.about}),
    );
    ctx.insert("form".into(), json!(form));
    ctx.insert("groups".into(), json!(groups));
    ctx.insert("detail_offered".into(), json!(offered.name == "activity"));
    ctx.insert("action".into(), json!(base_path));
    ctx.insert("period".into(), json!(period_words(form)));
    ctx.insert("errors".into(), json!(errors));
    if let Some(shown) = shown {
        insert_shown(&mut ctx, offered.title, form, &base_path, shown);
    }
    c.templates
        .page(status, "manage_report.html", Value::Object(ctx))
}

/// The report's chart, totals and table in the page's context.
fn insert_shown(
    ctx: &mut Map<String, Value>,
    title: &str,
    form: &ReportForm,
    base_path: &str,
    shown: Shown,
) {
    let Shown {
        table,
        chart,
        totals,
        group,
    } = shown;
    let svg = chart.as_ref().and_then(|chart| chart.svg("report-chart"));
    let by = group.map_or_else(
        || "appointment".to_owned(),
        |g| group_words(g).to_lowercase(),
    );
    let sorted_by = table
        .columns
        .iter()
        .any(|c| *c == form.sort)
        .then_some(form.sort.as_str());
    let descending = form.dir == "desc";
    // The group's label first (the row's heading), then its key and the figures.
    let mut visible: Vec<usize> = (0..table.columns.len())
        .filter(|i| !hidden(table.columns[*i], group))
        .collect();
    if let Some(at) = visible.iter().position(|&i| table.columns[i] == "label") {
        let label = visible.remove(at);
        visible.insert(0, label);
    }
    let numeric = |i: usize| {
        table
            .rows
            .iter()
            .any(|r| matches!(r[i], Field::Int(_) | Field::Decimal(..)))
    };
    let headers: Vec<Value> = visible
        .iter()
        .map(|&i| {
            let column = table.columns[i];
            let this = sorted_by == Some(column);
            // A click sorts ascending, or reverses the order it is sorted in.
            let next_descending = this && !descending;
            json!({
                "name": column,
                "words": column_words(column, group),
                "numeric": numeric(i),
                "sort": if this { if descending { "descending" } else { "ascending" } } else { "" },
                "next": if next_descending { "descending" } else { "ascending" },
                "href": format!("{base_path}?{}", form.query(Some((column, next_descending)))),
            })
        })
        .collect();
    let total_rows = table.rows.len();
    let rows = body_rows(&table, &visible, MAX_ROWS_SHOWN);
    ctx.insert("chart".into(), json!(svg));
    ctx.insert(
        "chart_title".into(),
        json!(chart.map(|c| c.title).unwrap_or_default()),
    );
    ctx.insert(
        "totals".into(),
        json!(totals
            .into_iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect::<Vec<_>>()),
    );
    ctx.insert(
        "table".into(),
        json!({
            "caption": format!("{title} by {by}"),
            "headers": headers,
            "body_rows": rows,
            "count": total_rows,
            "cut": total_rows > MAX_ROWS_SHOWN,
            "shown": MAX_ROWS_SHOWN.min(total_rows),
            "hidden_ids": table.columns.iter().any(|c| hidden(c, group)),
        }),
    );
    ctx.insert(
        "csv".into(),
        json!({
            "href": format!("{base_path}.csv?{}", form.query(None)),
            "file": table.file_name,
        }),
    );
}

/// The table's body rows as HTML, the first of the `visible` columns as each row's heading,
/// numbers aligned as numbers, every text escaped. Written here rather than in the template:
/// the activity's fee lines run to thousands of rows, which the template engine takes ten
/// times longer to write.
fn body_rows(table: &ReportTable, visible: &[usize], most: usize) -> String {
    let mut html = String::new();
    for row in table.rows.iter().take(most) {
        html.push_str("<tr class=\"nhsuk-table__row\">");
        for (n, &i) in visible.iter().enumerate() {
            let tag = if n == 0 { "th scope=\"row\"" } else { "td" };
            let numeric = if matches!(row[i], Field::Int(_) | Field::Decimal(..)) {
                " nhsuk-table__cell--numeric"
            } else {
                ""
            };
            html.push_str(&format!(
                "<{tag} class=\"nhsuk-table__cell{numeric}\">{}</{}>",
                escape_html(&shown_text(table.columns[i], &row[i])),
                if n == 0 { "th" } else { "td" },
            ));
        }
        html.push_str("</tr>\n");
    }
    html
}

/// Text escaped for HTML, as the templates escape it.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> ReportTable {
        ReportTable {
            columns: vec!["label", "booked", "utilisation"],
            rows: vec![
                vec![
                    Field::Text("b".into()),
                    Field::Int(10),
                    Field::Decimal(0.5, 4),
                ],
                vec![Field::Text("A".into()), Field::Int(2), Field::Empty],
                vec![
                    Field::Text("c".into()),
                    Field::Int(7),
                    Field::Decimal(0.25, 4),
                ],
            ],
            file_name: "x.csv".into(),
        }
    }

    fn column(t: &ReportTable, i: usize) -> Vec<String> {
        t.rows.iter().map(|r| r[i].text()).collect()
    }

    #[test]
    fn tables_sort_by_any_column_with_no_value_last() {
        let mut t = table();
        assert!(sort_rows(&mut t, "booked", false));
        assert_eq!(
            column(&t, 1),
            ["2", "7", "10"],
            "numbers by value, not as text"
        );
        assert!(sort_rows(&mut t, "booked", true));
        assert_eq!(column(&t, 1), ["10", "7", "2"]);
        assert!(sort_rows(&mut t, "label", false));
        assert_eq!(column(&t, 0), ["A", "b", "c"], "text ignoring case");
        assert!(sort_rows(&mut t, "utilisation", true));
        assert_eq!(column(&t, 2), ["0.5000", "0.2500", ""]);
        assert!(sort_rows(&mut t, "utilisation", false));
        assert_eq!(
            column(&t, 2),
            ["0.2500", "0.5000", ""],
            "no value last either way"
        );
        let before = t.clone();
        assert!(!sort_rows(&mut t, "nope", false));
        assert_eq!(t, before);
    }

    #[test]
    fn body_rows_head_each_row_and_escape_its_text() {
        let mut t = table();
        t.rows[0][0] = Field::Text("Smith & <Jones>".into());
        let html = body_rows(&t, &[0, 2], 2);
        assert_eq!(
            html,
            "<tr class=\"nhsuk-table__row\"><th scope=\"row\" class=\"nhsuk-table__cell\">Smith &amp; &lt;Jones&gt;</th>\
             <td class=\"nhsuk-table__cell nhsuk-table__cell--numeric\">50.00%</td></tr>\n\
             <tr class=\"nhsuk-table__row\"><th scope=\"row\" class=\"nhsuk-table__cell\">A</th>\
             <td class=\"nhsuk-table__cell\">None</td></tr>\n"
        );
    }

    #[test]
    fn fields_read_as_the_csv_writes_them_rates_as_percentages() {
        assert_eq!(
            shown_text("utilisation", &Field::Decimal(0.4231, 4)),
            "42.31%"
        );
        assert_eq!(shown_text("offered_hours", &Field::Decimal(2.5, 2)), "2.50");
        assert_eq!(shown_text("meets_requirement", &Field::Bool(true)), "Yes");
        assert_eq!(shown_text("dna_rate", &Field::Empty), "None");
        assert_eq!(percent(Some(0.4231)), "42.3%");
        assert_eq!(percent(None), "None");
    }

    #[test]
    fn forms_check_dates_and_default_to_five_weeks() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
        let mut form = ReportForm::default();
        let Ok(Read::Report(r)) = check("utilisation", &mut form, today) else {
            panic!("the default period reads")
        };
        assert_eq!(
            (form.from.as_str(), form.to.as_str()),
            ("2026-11-09", "2026-12-13")
        );
        assert_eq!(
            (r.group, r.from),
            (GroupBy::Week, today - Duration::days(30))
        );
        let mut bad = ReportForm {
            from: "2026-12-40".into(),
            to: "soon".into(),
            ..ReportForm::default()
        };
        let errors = check("dna", &mut bad, today).err().unwrap();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_deref()).collect();
        assert_eq!(fields, [Some("from"), Some("to")]);
        let mut reversed = ReportForm {
            from: "2026-12-10".into(),
            to: "2026-12-01".into(),
            ..ReportForm::default()
        };
        let errors = check("fair-share", &mut reversed, today).err().unwrap();
        assert_eq!(errors[0].field.as_deref(), Some("to"));
        let mut grouped = ReportForm {
            group_by: "hour".into(),
            ..reversed.clone()
        };
        grouped.to = "2026-12-31".into();
        let errors = check("capacity", &mut grouped, today).err().unwrap();
        assert_eq!(errors[0].field.as_deref(), Some("group_by"));
        assert_eq!(
            grouped.query(Some(("booked", true))),
            "from=2026-12-10&to=2026-12-31&group_by=hour&sort=booked&dir=desc"
        );
    }
}
