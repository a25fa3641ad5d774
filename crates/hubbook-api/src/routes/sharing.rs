//! How a cluster shares its capacity: the rules (versioned; they apply to slots published after
//! a change) and the fair-share report of what each practice was given and used.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{get, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use hubbook_core::fair_share::{exact_quota, fair_shares};
use hubbook_core::sharing::{PracticeShare, SharingRules};
use hubbook_core::{ClusterTimeZone, DataSharingAgreement};
use hubbook_store::models::Cluster;
use hubbook_store::repo::practices;
use hubbook_store::repo::reports::{self, Window};
use hubbook_store::repo::sharing::{self, RulesVersion};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::{cluster_for, Need};
use crate::csv::{attachment, wants_csv, Cell, CsvWriter};
use crate::extract::{etag, if_match};
use crate::{auth::Principal, ApiError, AppState};

/// The sharing rules as the API shows and takes them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SharingRulesBody {
    /// The 111 reservation: `{"kind": "gp_contract"}` (each practice max(1, list size / 3,000)
    /// slots a day, summed; the default), `{"kind": "per_day", "slots": 6}`, or
    /// `{"kind": "percent_of_session", "percent": 10}`.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub triage: Option<serde_json::Value>,
    /// Service ids the 111 reservation applies to; every service when empty.
    #[serde(default)]
    pub triage_services: Vec<String>,
    /// Hours before a session starts at which practice reservations open to every practice (default 48).
    pub practice_release_hours: Option<u32>,
    /// Hours before a session starts at which 111 reservations open to every practice (default 4).
    pub triage_release_hours: Option<u32>,
    /// Whether 111 may also book open and released slots (default false).
    pub triage_may_book_open: Option<bool>,
    /// Whether slots not reserved for 111 are shared among practices by list size (default true).
    pub apportionment: Option<bool>,
}

/// The sharing rules in force.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SharingView {
    /// The version (0: the defaults, never set); also the ETag.
    pub version: i64,
    /// The rules.
    #[schema(value_type = SharingRulesBody)]
    pub rules: SharingRules,
    /// When they were set.
    pub set_at: Option<DateTime<Utc>>,
}

impl From<RulesVersion> for SharingView {
    fn from(r: RulesVersion) -> Self {
        Self {
            version: r.version,
            rules: r.rules,
            set_at: r.set_at.map(|t| t.and_utc()),
        }
    }
}

fn into_rules(body: SharingRulesBody) -> Result<SharingRules, ApiError> {
    let defaults = SharingRules::default();
    let triage = match body.triage {
        None => defaults.triage,
        Some(v) => {
            serde_json::from_value(v).map_err(|e| ApiError::InvalidBody(format!("triage: {e}")))?
        }
    };
    let rules = SharingRules {
        triage,
        triage_services: body.triage_services,
        practice_release_hours: body
            .practice_release_hours
            .unwrap_or(defaults.practice_release_hours),
        triage_release_hours: body
            .triage_release_hours
            .unwrap_or(defaults.triage_release_hours),
        triage_may_book_open: body
            .triage_may_book_open
            .unwrap_or(defaults.triage_may_book_open),
        apportionment: body.apportionment.unwrap_or(defaults.apportionment),
    };
    rules
        .validate()
        .map_err(|e| ApiError::Unprocessable(e.code(), e.to_string()))?;
    Ok(rules)
}

/// Read the cluster's sharing rules (its manager).
#[utoipa::path(tag = "sharing", params(("code" = String, Path, description = "Cluster code")), responses((status = 200, body = SharingView, headers(("ETag" = String)))), security(("bearer" = [])))]
#[get("/clusters/{code}/sharing")]
pub async fn get_sharing(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rules = state
        .db(move |c| {
            let cluster = cluster_for(c, &who, &code, Need::Manage)?;
            Ok(sharing::current_rules(c, &cluster.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(rules.version))
        .json(SharingView::from(rules)))
}

/// Set the cluster's sharing rules (its manager): a new version, audited, applied to slots
/// published from now on. Send `If-Match` with the version last read.
#[utoipa::path(
    tag = "sharing",
    params(("code" = String, Path, description = "Cluster code"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` replaces whatever is current)")),
    request_body = SharingRulesBody,
    responses((status = 200, body = SharingView), (status = 412, body = crate::Problem, content_type = "application/problem+json"), (status = 422, description = "An unknown service, a percentage over 100 or a lead time over four weeks", body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[put("/clusters/{code}/sharing")]
pub async fn set_sharing(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    body: web::Json<SharingRulesBody>,
) -> Result<HttpResponse, ApiError> {
    let rules = into_rules(body.into_inner())?;
    let expected = if_match(&req)?;
    let change = state.change(&who);
    let saved = state
        .db(move |c| {
            let cluster = cluster_for(c, &who, &code, Need::Manage)?;
            for id in &rules.triage_services {
                if let Err(hubbook_store::StoreError::NotFound) =
                    hubbook_store::repo::services::get_service(c, &cluster.id, id)
                {
                    return Err(ApiError::Unprocessable(
                        "unknown-reference",
                        format!("service {id} is not a service of this cluster"),
                    ));
                }
            }
            Ok(sharing::set_rules(
                c,
                &change,
                &cluster.id,
                expected,
                &rules,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(saved.version))
        .json(SharingView::from(saved)))
}

/// A period of local dates.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First local date.
    pub from: NaiveDate,
    /// Last local date (inclusive); the period is at most 400 days.
    pub to: NaiveDate,
}

/// One practice's fair share over a period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FairShareRow {
    /// The practice.
    pub practice_id: String,
    /// Its ODS code.
    pub ods_code: String,
    /// Its registered list size.
    pub list_size: i64,
    /// Its exact quota of the slots apportioned to practices in the period: their number times its
    /// fair share (the bookings report's `fair_share`: its part, by list size, of each day's slots
    /// not reserved for 111 among the practices whose agreement is in force that day); 0 without.
    pub exact_quota: f64,
    /// Slots reserved for it.
    pub reserved: i64,
    /// Of those, booked by it.
    pub booked_from_reservation: i64,
    /// Appointments it booked in slots not reserved for it (open or released).
    pub booked_from_open: i64,
    /// Slots reserved for it that were released to every practice without it booking them.
    pub released_unused: i64,
}

/// The fair-share report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FairShareReport {
    /// First local date.
    pub from: NaiveDate,
    /// Last local date.
    pub to: NaiveDate,
    /// Slots apportioned to practices in the period.
    pub apportioned: i64,
    /// One row per practice.
    pub practices: Vec<FairShareRow>,
}

/// A member practice as the fair-share rule sees it, from its stored list size and agreement
/// dates; an agreement whose dates are inconsistent counts as none, so it is never in force.
pub fn practice_share(
    practice_id: &str,
    list_size: i64,
    dsa_from: Option<NaiveDate>,
    dsa_to: Option<NaiveDate>,
) -> PracticeShare {
    PracticeShare {
        practice_id: practice_id.to_owned(),
        list_size: u32::try_from(list_size).unwrap_or(0),
        agreement: DataSharingAgreement::new(dsa_from, dsa_to).unwrap_or_default(),
    }
}

/// The instants that bound a period of local dates in the cluster's time zone: `[from 00:00, to + 1 00:00)`.
/// Like every report's, the period is at most [`MAX_REPORT_DAYS`](super::reports::MAX_REPORT_DAYS) days.
pub fn period_bounds(
    cluster: &Cluster,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    crate::extract::check_date("from", from)?;
    crate::extract::check_date("to", to)?;
    if to < from {
        return Err(ApiError::Unprocessable(
            "invalid-date-range",
            "`to` is before `from`".into(),
        ));
    }
    let max_days = super::reports::MAX_REPORT_DAYS;
    if (to - from).num_days() + 1 > max_days {
        return Err(ApiError::Unprocessable(
            "invalid-date-range",
            format!("a report covers at most {max_days} days"),
        ));
    }
    let zone = ClusterTimeZone::parse(&cluster.time_zone)?.0;
    let midnight = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| ApiError::Internal(format!("no midnight on {d}")))
    };
    Ok((midnight(from)?, midnight(to + chrono::Duration::days(1))?))
}

/// Per practice: its list size, exact quota, slots reserved for it, booked from its reservation,
/// booked from open slots, and released unused (its cluster's manager). JSON, or with
/// `Accept: text/csv` RFC 4180 CSV with one row per practice, offered as
/// `<cluster>-fair-share-<from>-<to>.csv`.
#[utoipa::path(
    tag = "reports",
    params(("code" = String, Path, description = "Cluster code"), PeriodQuery, ("Accept" = Option<String>, Header, description = "`text/csv` for CSV; JSON otherwise")),
    responses((status = 200, description = "The report; as CSV the columns are a practice row's fields",
        content((FairShareReport = "application/json"), (String = "text/csv")),
        headers(("Content-Disposition" = String, description = "CSV only: `attachment; filename=\"U00001-fair-share-2026-12-01-2026-12-31.csv\"`")))),
    security(("bearer" = []))
)]
#[get("/clusters/{code}/reports/fair-share")]
pub async fn fair_share(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    period: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ApiError> {
    let PeriodQuery { from, to } = period.into_inner();
    let now = state.now();
    let report = state
        .db(move |c| {
            let cluster = cluster_for(c, &who, &code, Need::Manage)?;
            let (start, end) = period_bounds(&cluster, from, to)?;
            let (reserved, open) =
                sharing::fair_share(c, &cluster.id, start.naive_utc(), end.naive_utc(), now)?;
            let zone = ClusterTimeZone::parse(&cluster.time_zone)?;
            let window = Window::new(zone, from, to, now);
            let days = reports::shared_slots_by_day(c, &cluster.id, &window)?;
            let members = practices::list_practices(c, &cluster.id, None, i64::MAX / 2)?.items;
            Ok((cluster.code, reserved, open, members, days))
        })
        .await?;
    let (cluster_code, reserved, open, members, days) = report;
    let reserved: HashMap<String, _> = reserved
        .into_iter()
        .map(|r| (r.practice_id.clone(), r))
        .collect();
    let open: HashMap<String, i64> = open
        .into_iter()
        .map(|o| (o.practice_id, o.booked_from_open))
        .collect();
    let apportioned: i64 = reserved.values().map(|r| r.reserved).sum();
    let shares = fair_shares(
        &members
            .iter()
            .map(|p| practice_share(&p.id, p.list_size, p.dsa_from, p.dsa_to))
            .collect::<Vec<_>>(),
        &days,
    );
    let slots = u64::try_from(apportioned).unwrap_or(0);
    let practices = members
        .into_iter()
        .zip(shares)
        .map(|(p, share)| {
            let quota = exact_quota(slots, share);
            let r = reserved.get(&p.id).cloned().unwrap_or_default();
            FairShareRow {
                booked_from_open: open.get(&p.id).copied().unwrap_or(0),
                practice_id: p.id,
                ods_code: p.ods_code,
                list_size: p.list_size,
                exact_quota: (quota * 100.0).round() / 100.0,
                reserved: r.reserved,
                booked_from_reservation: r.booked_from_reservation,
                released_unused: r.released_unused,
            }
        })
        .collect();
    let report = FairShareReport {
        from,
        to,
        apportioned,
        practices,
    };
    if !wants_csv(&req) {
        return Ok(HttpResponse::Ok()
            .insert_header((header::VARY, "Accept"))
            .json(report));
    }
    let mut csv = CsvWriter::new(&[
        "practice_id",
        "ods_code",
        "list_size",
        "exact_quota",
        "reserved",
        "booked_from_reservation",
        "booked_from_open",
        "released_unused",
    ]);
    for p in &report.practices {
        csv.row(&[
            Cell::Text(p.practice_id.clone()),
            Cell::Text(p.ods_code.clone()),
            Cell::Int(p.list_size),
            Cell::Decimal(p.exact_quota, 2),
            Cell::Int(p.reserved),
            Cell::Int(p.booked_from_reservation),
            Cell::Int(p.booked_from_open),
            Cell::Int(p.released_unused),
        ]);
    }
    Ok(attachment(
        &format!("{cluster_code}-fair-share-{from}-{to}.csv"),
        csv.finish(),
    ))
}
