//! How a cluster shares its capacity: the rules (versioned; they apply to slots published after
//! a change) and the fair-share report of what each practice was given and used.

use super::schema;
use actix_web::http::header;
use actix_web::{get, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use hubbook_core::sharing::SharingRules;
use hubbook_service::reports::document::ReportTable;
use hubbook_service::sharing::{FairShare, PracticeFairShare, RulesVersion};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::csv::{attachment, wants_csv};
use crate::extract::{etag, if_match};
use crate::ProblemType;
use crate::{auth::Principal, ApiError, AppState};

pub use hubbook_service::sharing::practice_share;

/// The sharing rules as the API shows and takes them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SharingRulesBody {
    /// The 111 reservation: `{"kind": "gp_contract"}` (each practice max(1, list size / 3,000)
    /// slots a day, summed; the default), `{"kind": "per_day", "slots": 6}`, or
    /// `{"kind": "percent_of_session", "percent": 10}`.
    #[serde(default)]
    #[schema(value_type = Option<schema::TriageRule>)]
    pub triage: Option<serde_json::Value>,
    /// Service ids the 111 reservation applies to; every service when empty.
    #[serde(default)]
    pub triage_services: Vec<String>,
    /// Hours before a session starts at which practice reservations open to every practice (default 48).
    #[schema(value_type = Option<schema::LeadHours>)]
    pub practice_release_hours: Option<u32>,
    /// Hours before a session starts at which 111 reservations open to every practice (default 4).
    #[schema(value_type = Option<schema::LeadHours>)]
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

impl TryFrom<SharingRulesBody> for SharingRules {
    type Error = ApiError;
    fn try_from(body: SharingRulesBody) -> Result<Self, ApiError> {
        let defaults = SharingRules::default();
        let triage = match body.triage {
            None => defaults.triage,
            Some(v) => serde_json::from_value(v)
                .map_err(|e| ApiError::InvalidBody(format!("triage: {e}")))?,
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
            .map_err(|e| ApiError::Refused(ProblemType::coded(e.code()), e.to_string()))?;
        Ok(rules)
    }
}

crate::problems!(GetSharingProblems: Forbidden, NotFound);

/// Read the cluster's sharing rules (its manager).
#[utoipa::path(tag = "sharing", params(("code" = String, Path, description = "Cluster code")), responses((status = 200, body = SharingView, headers(("ETag" = String))), GetSharingProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/sharing")]
pub async fn get_sharing(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rules = state.hubbook.sharing_rules(&who, code.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(rules.version))
        .json(SharingView::from(rules)))
}

crate::problems!(SetSharingProblems: Forbidden, NotFound, PreconditionRequired, PreconditionFailed, InvalidTriagePercentage, InvalidLeadTime, UnknownReference);

/// Set the cluster's sharing rules (its manager): a new version, audited, applied to slots
/// published from now on. Send `If-Match` with the version last read.
#[utoipa::path(
    tag = "sharing",
    params(("code" = String, Path, description = "Cluster code"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` replaces whatever is current)")),
    request_body = SharingRulesBody,
    responses((status = 200, body = SharingView), SetSharingProblems),
    security(("bearer" = []))
)]
#[put("/clusters/{code}/sharing")]
pub async fn set_sharing(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    body: crate::extract::Json<SharingRulesBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let rules = SharingRules::try_from(body.into_inner()?)?;
    let expected = if_match(&req)?;
    let saved = state
        .hubbook
        .set_sharing_rules(&who, code.into_inner(), expected, rules)
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

impl From<PracticeFairShare> for FairShareRow {
    fn from(p: PracticeFairShare) -> Self {
        Self {
            practice_id: p.practice_id,
            ods_code: p.ods_code,
            list_size: p.list_size,
            exact_quota: p.exact_quota,
            reserved: p.reserved,
            booked_from_reservation: p.booked_from_reservation,
            booked_from_open: p.booked_from_open,
            released_unused: p.released_unused,
        }
    }
}

impl From<FairShare> for FairShareReport {
    fn from(r: FairShare) -> Self {
        Self {
            from: r.from,
            to: r.to,
            apportioned: r.apportioned,
            practices: r.practices.into_iter().map(FairShareRow::from).collect(),
        }
    }
}

crate::problems!(FairShareProblems: Forbidden, NotFound, InvalidDateRange);

/// Per practice: its list size, exact quota, slots reserved for it, booked from its reservation,
/// booked from open slots, and released unused (its cluster's manager). JSON, or with
/// `Accept: text/csv` RFC 4180 CSV with one row per practice, offered as
/// `<cluster>-fair-share-<from>-<to>.csv`.
#[utoipa::path(
    tag = "reports",
    params(("code" = String, Path, description = "Cluster code"), PeriodQuery, ("Accept" = Option<String>, Header, description = "`text/csv` for CSV; JSON otherwise")),
    responses((status = 200, description = "The report; as CSV the columns are a practice row's fields",
        content((FairShareReport = "application/json"), (String = "text/csv")),
        headers(("Content-Disposition" = String, description = "CSV only: `attachment; filename=\"U00001-fair-share-2026-12-01-2026-12-31.csv\"`"))),
        FairShareProblems,
    ),
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
    // The rights first: a caller who may not read reports hears 403 whatever it asked for.
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let PeriodQuery { from, to } = period.into_inner();
    crate::extract::check_date("from", from)?;
    crate::extract::check_date("to", to)?;
    let report = state
        .hubbook
        .fair_share(&who, code.into_inner(), from, to)
        .await?;
    let table = ReportTable::fair_share(&report);
    let report = FairShareReport::from(report);
    if !wants_csv(&req) {
        return Ok(HttpResponse::Ok()
            .insert_header((header::VARY, "Accept"))
            .json(report));
    }
    Ok(attachment(
        &table.file_name,
        super::reports::csv_text(&table),
    ))
}
