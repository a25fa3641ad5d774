//! The rebooking worklist: appointments a rota change left in a slot that no longer belongs,
//! kept valid until a receptionist or manager rebooks, cancels or confirms them.

use super::schema;
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use hubbook_service::rebooking::{RebookingEntry, Resolution};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::csv::{attachment, wants_csv, Cell, CsvWriter};
use crate::extract::{if_match_optional, PageOf, PageQuery};
use crate::{auth::Principal, ApiError, AppState};

/// One appointment to rebook or confirm.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RebookingItem {
    /// The appointment.
    pub appointment_id: String,
    /// Its status (still live until resolved).
    pub status: String,
    /// Why it needs rebooking.
    pub reason: String,
    /// When the change flagged it.
    pub flagged_at: DateTime<Utc>,
    /// The booked start.
    pub starts_at: DateTime<Utc>,
    /// The booked end.
    pub ends_at: DateTime<Utc>,
    /// The booked site.
    pub site_id: String,
    /// The booked service.
    pub service_id: String,
    /// The practice that booked it.
    pub booking_practice_id: Option<String>,
    /// The patient's name, to call them.
    pub patient_name: String,
    /// The patient's phone number.
    pub patient_phone: String,
    /// The patient's date of birth, to confirm who answers.
    pub patient_birth_date: NaiveDate,
    /// The appointment's version, for `If-Match` when resolving.
    pub version: i64,
}

impl From<RebookingEntry> for RebookingItem {
    fn from(entry: RebookingEntry) -> Self {
        let (need, a) = (entry.need, entry.appointment);
        Self {
            appointment_id: a.id.into(),
            status: a.status.into(),
            reason: need.reason,
            flagged_at: need.flagged_at.and_utc(),
            starts_at: a.starts_at.and_utc(),
            ends_at: a.ends_at.and_utc(),
            site_id: a.site_id.into(),
            service_id: a.service_id,
            booking_practice_id: a.booking_practice_id.map(Into::into),
            patient_name: a.patient_name,
            patient_phone: a.patient_phone,
            patient_birth_date: a.patient_birth_date,
            version: a.version,
        }
    }
}

/// How to resolve a rebooking need.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionBody {
    /// The patient keeps the old time; the appointment stays as it is.
    Keep,
    /// The appointment is cancelled.
    Cancel,
}

/// A resolution.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// `keep` or `cancel`.
    pub resolution: ResolutionBody,
    /// Why (up to 500 characters): recorded with the resolution, and as the cancellation's
    /// reason when cancelled.
    #[serde(default)]
    #[schema(value_type = Option<schema::ResolutionNote>)]
    pub note: Option<String>,
}

/// The most rows the CSV worklist holds.
pub const MAX_CSV_ROWS: usize = hubbook_service::rebooking::MAX_WORKLIST_ROWS;

crate::problems!(ListRebookingProblems: Forbidden, NotFound, InvalidCursor);

/// The appointments needing rebooking: all of the cluster's for its manager, a practice's own
/// for its receptionist. Each stays valid and visible until resolved. With `Accept: text/csv`
/// the whole worklist (up to 10,000 rows, oldest need first; `limit` and `cursor` are ignored)
/// comes as RFC 4180 CSV whose columns are the JSON item's fields, offered as
/// `<cluster>-rebooking-<date>.csv`.
#[utoipa::path(
    tag = "rebooking",
    params(("code" = String, Path, description = "Cluster code"), PageQuery, ("Accept" = Option<String>, Header, description = "`text/csv` for the whole worklist as CSV; JSON pages otherwise")),
    responses((status = 200, description = "A page of the worklist, or all of it as CSV",
        content((PageOf<RebookingItem> = "application/json"), (String = "text/csv")),
        headers(("Content-Disposition" = String, description = "CSV only: `attachment; filename=\"U00001-rebooking-2026-12-01.csv\"`"))),
        ListRebookingProblems,
    ),
    security(("bearer" = []))
)]
#[get("/clusters/{code}/rebooking")]
pub async fn list_rebooking(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (after, limit) = page.decode()?;
    if wants_csv(&req) {
        let list = state
            .hubbook
            .rebooking_worklist(&who, code.into_inner())
            .await?;
        return Ok(attachment(
            &format!(
                "{}-rebooking-{}.csv",
                list.cluster_code,
                list.as_of.date_naive()
            ),
            worklist_csv(list.entries.into_iter().map(RebookingItem::from)),
        ));
    }
    let page = state
        .hubbook
        .rebooking_list(&who, code.into_inner(), after, limit)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::VARY, "Accept"))
        .json(PageOf::from_page(page, RebookingItem::from)))
}

/// The worklist as CSV, one row per appointment.
fn worklist_csv(items: impl Iterator<Item = RebookingItem>) -> String {
    let mut csv = CsvWriter::new(&[
        "appointment_id",
        "status",
        "reason",
        "flagged_at",
        "starts_at",
        "ends_at",
        "site_id",
        "service_id",
        "booking_practice_id",
        "patient_name",
        "patient_phone",
        "patient_birth_date",
        "version",
    ]);
    for i in items {
        csv.row(&[
            Cell::Text(i.appointment_id),
            Cell::Text(i.status),
            Cell::Text(i.reason),
            Cell::Time(i.flagged_at),
            Cell::Time(i.starts_at),
            Cell::Time(i.ends_at),
            Cell::Text(i.site_id),
            Cell::Text(i.service_id),
            Cell::opt_text(i.booking_practice_id.as_deref()),
            Cell::Text(i.patient_name),
            Cell::Text(i.patient_phone),
            Cell::Date(i.patient_birth_date),
            Cell::Int(i.version),
        ]);
    }
    csv.finish()
}

crate::problems!(ResolveRebookingProblems: Forbidden, NotFound, InvalidTransition, PreconditionFailed, InvalidName);

/// Resolve one appointment's rebooking need: keep the old time, or cancel it. (Rescheduling it
/// to another slot also resolves it.) Send `If-Match` with the appointment's version.
#[utoipa::path(
    tag = "rebooking",
    params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The appointment's version")),
    request_body = ResolveBody,
    responses((status = 200, body = RebookingItem), ResolveRebookingProblems),
    security(("bearer" = []))
)]
#[post("/clusters/{code}/rebooking/{id}/resolve")]
pub async fn resolve_rebooking(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: crate::extract::Json<ResolveBody>,
) -> Result<web::Json<RebookingItem>, ApiError> {
    who.may(hubbook_service::access::Rights::Rebooking)?;
    let (code, id) = path.into_inner();
    let body = body.into_inner()?;
    let resolution = match body.resolution {
        ResolutionBody::Keep => Resolution::Kept,
        ResolutionBody::Cancel => Resolution::Cancelled,
    };
    let expected = if_match_optional(&req);
    let resolved = state
        .hubbook
        .resolve_rebooking(&who, code, id, expected, resolution, body.note)
        .await?;
    Ok(web::Json(resolved.into()))
}
