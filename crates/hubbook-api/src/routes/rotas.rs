//! Rotas: a manager drafts session templates, then publishes them over a date range to create
//! sessions and slots, or withdraws a range; neither ever drops a booked patient silently.

use super::schema;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use hubbook_core::rota::{Rota as CoreRota, SessionTemplate};
use hubbook_core::validate_name;
use hubbook_service::rotas::{RotaRange, SavedRota};
use hubbook_service::sessions::ChangeReport;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::{etag, if_match, PageOf, PageQuery};
use crate::idempotency::Replay;
use crate::{auth::Principal, ApiError, AppState};

/// The longest range one publish or withdrawal may cover, in days (two years).
pub use hubbook_service::rotas::MAX_RANGE_DAYS;

/// A session template as documented for clients (the server reads it into the core's template).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionTemplateDoc {
    /// A stable name of the template within its rota (1 to 64 characters); republishing matches
    /// sessions by this key and the date.
    #[schema(value_type = schema::TemplateKey)]
    pub key: String,
    /// The site the session runs at (a site id of this cluster).
    #[schema(value_type = schema::TemplateReference)]
    pub site_id: String,
    /// The service it offers (a service id of this cluster); the service gives the clinical role.
    #[schema(value_type = schema::TemplateReference)]
    pub service_id: String,
    /// Start in the cluster's local wall time, `HH:MM`.
    #[schema(value_type = schema::TimeOfDay, example = "18:30")]
    pub start: NaiveTime,
    /// End in local wall time, after the start on the same day, `HH:MM`.
    #[schema(value_type = schema::TimeOfDay, example = "20:00")]
    pub end: NaiveTime,
    /// Slot length, 5 to 240 minutes; a tail shorter than a slot is not offered.
    #[schema(value_type = schema::SlotMinutes)]
    pub slot_minutes: u32,
    /// Patients seen in parallel per slot interval (two phlebotomy chairs = 2), 1 to 20.
    #[schema(value_type = schema::Capacity)]
    pub capacity: u32,
    /// `face_to_face`, `telephone` or `video`.
    #[schema(value_type = schema::Delivery)]
    pub delivery: String,
    /// Pauses inside the session in local wall time, e.g. `[{"start": "12:30", "end": "13:30"}]`.
    #[serde(default)]
    pub breaks: Vec<BreakDoc>,
    /// Weekdays it runs on: `mon` to `sun`.
    #[schema(value_type = Vec<schema::WeekdayName>, min_items = 1)]
    pub weekdays: Vec<String>,
    /// Which weeks: `{"kind": "every_week"}` (default), `{"kind": "every_nth_week", "n": 2,
    /// "anchor": "2026-01-05"}`, `{"kind": "nth_weekday_of_month", "n": 1}` or
    /// `{"kind": "last_weekday_of_month"}`.
    #[serde(default)]
    #[schema(value_type = schema::WeekPattern)]
    pub pattern: Option<serde_json::Value>,
    /// First date it applies to.
    pub valid_from: NaiveDate,
    /// Last date it applies to; open-ended when absent.
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
    /// Dates it does not run on, such as bank holidays.
    #[serde(default)]
    pub skip_dates: Vec<NaiveDate>,
}

/// A pause inside a session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakDoc {
    /// Start, `HH:MM`.
    #[schema(value_type = schema::TimeOfDay, example = "12:30")]
    pub start: NaiveTime,
    /// End, `HH:MM`.
    #[schema(value_type = schema::TimeOfDay, example = "13:30")]
    pub end: NaiveTime,
}

/// A rota as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RotaView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Its session templates.
    #[schema(value_type = Vec<SessionTemplateDoc>)]
    pub templates: Vec<SessionTemplate>,
    /// Current version; also the ETag.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<SavedRota> for RotaView {
    fn from(r: SavedRota) -> Self {
        Self {
            id: r.id,
            name: r.rota.name,
            templates: r.rota.templates,
            version: r.version,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

/// A rota to create or replace.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotaBody {
    /// Name, e.g. `Winter 2026 extended access`.
    #[schema(value_type = schema::RotaName)]
    pub name: String,
    /// Session templates; each key unique within the rota.
    #[schema(value_type = Vec<SessionTemplateDoc>)]
    pub templates: Vec<SessionTemplate>,
}

impl TryFrom<RotaBody> for CoreRota {
    type Error = ApiError;
    fn try_from(body: RotaBody) -> Result<Self, ApiError> {
        Ok(CoreRota {
            name: validate_name("name", &body.name, hubbook_core::rota::MAX_ROTA_NAME_CHARS)?,
            templates: body.templates,
        })
    }
}

/// A date range to publish or withdraw.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeBody {
    /// First local date.
    pub from: NaiveDate,
    /// Last local date (inclusive); at most two years after `from`.
    pub to: NaiveDate,
    /// Report what would change without writing anything.
    #[serde(default)]
    pub dry_run: bool,
    /// Why (for a withdrawal), shown on the sessions and the rebooking list.
    #[schema(value_type = Option<schema::FreeText>)]
    pub reason: Option<String>,
}

impl TryFrom<&RangeBody> for RotaRange {
    type Error = ApiError;
    fn try_from(body: &RangeBody) -> Result<Self, ApiError> {
        crate::extract::check_date("from", body.from)?;
        crate::extract::check_date("to", body.to)?;
        Ok(RotaRange::new(body.from, body.to, body.dry_run)?)
    }
}

/// An appointment left needing rebooking by a change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RebookingNeedView {
    /// The appointment, kept and still valid until resolved.
    pub appointment_id: String,
    /// Its slot, kept.
    pub slot_id: String,
    /// Its session.
    pub session_id: String,
}

/// What a publish, withdrawal or cancellation did (or would do, in a dry run).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangeReportView {
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Sessions created.
    pub sessions_created: usize,
    /// Slots created.
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
    /// Slots kept because a live hold is on them (a later publish removes them once it expires).
    pub held_slots_kept: usize,
    /// Booked appointments whose slot would have gone: kept, and listed at `GET .../rebooking`.
    pub needs_rebooking: Vec<RebookingNeedView>,
    /// Ambiguous wall times resolved by rule, sessions with no slot, and the like.
    pub warnings: Vec<String>,
}

impl From<ChangeReport> for ChangeReportView {
    fn from(r: ChangeReport) -> Self {
        Self {
            dry_run: r.dry_run,
            sessions_created: r.sessions_created,
            slots_created: r.slots_created,
            sessions_unchanged: r.sessions_unchanged,
            slots_unchanged: r.slots_unchanged,
            sessions_updated: r.sessions_updated,
            sessions_removed: r.sessions_removed,
            slots_removed: r.slots_removed,
            held_slots_kept: r.held_slots_kept,
            needs_rebooking: r
                .needs_rebooking
                .into_iter()
                .map(|n| RebookingNeedView {
                    appointment_id: n.appointment_id,
                    slot_id: n.slot_id.into(),
                    session_id: n.session_id,
                })
                .collect(),
            warnings: r.warnings,
        }
    }
}

crate::problems!(ListRotasProblems: Forbidden, NotFound, InvalidCursor);

/// List the cluster's rotas (its manager).
#[utoipa::path(tag = "rotas", params(("code" = String, Path, description = "Cluster code"), PageQuery), responses((status = 200, body = PageOf<RotaView>), ListRotasProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/rotas")]
pub async fn list_rotas(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<PageOf<RotaView>>, ApiError> {
    let (after, limit) = page.decode()?;
    let page = state
        .hubbook
        .list_rotas(&who, code.into_inner(), after, limit)
        .await?;
    Ok(web::Json(PageOf::from_page(page, RotaView::from)))
}

crate::problems!(CreateRotaProblems: Forbidden, NotFound, InvalidRotaName, InvalidName, InvalidTemplateKey, DuplicateTemplateKey, InvalidTemplateReference, InvalidSessionTimes, TimeNotWholeMinute, InvalidSlotLength, InvalidCapacity, InvalidBreak, NoWeekdays, InvalidWeekPattern, InvalidValidityRange, UnknownDelivery, UnknownReference, IdempotencyKeyReused, InvalidIdempotencyKey);

/// Draft a rota of session templates (its manager). Nothing is bookable until it is published.
#[utoipa::path(
    tag = "rotas",
    params(("code" = String, Path, description = "Cluster code"), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = RotaBody,
    responses(
        (status = 201, body = RotaView),
        CreateRotaProblems,
    ),
    security(("bearer" = []))
)]
#[post("/clusters/{code}/rotas")]
pub async fn create_rota(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    body: crate::extract::Json<RotaBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let body = body.into_inner()?;
    let replay = Replay::from_request(
        &state,
        &req,
        &who,
        &format!("POST /clusters/{code}/rotas"),
        &body,
    )?;
    let rota = CoreRota::try_from(body)?;
    let created = state
        .hubbook
        .create_rota(&who, replay.map(|r| r.0), code.into_inner(), rota)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(created.version))
        .json(RotaView::from(created)))
}

crate::problems!(GetRotaProblems: Forbidden, NotFound);

/// Read one rota.
#[utoipa::path(tag = "rotas", params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Rota id")), responses((status = 200, body = RotaView, headers(("ETag" = String))), GetRotaProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/rotas/{id}")]
pub async fn get_rota(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (code, id) = path.into_inner();
    let rota = state.hubbook.rota(&who, code, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(rota.version))
        .json(RotaView::from(rota)))
}

crate::problems!(ReplaceRotaProblems: Forbidden, NotFound, PreconditionRequired, PreconditionFailed, InvalidRotaName, InvalidName, InvalidTemplateKey, DuplicateTemplateKey, InvalidTemplateReference, InvalidSessionTimes, TimeNotWholeMinute, InvalidSlotLength, InvalidCapacity, InvalidBreak, NoWeekdays, InvalidWeekPattern, InvalidValidityRange, UnknownDelivery, UnknownReference);

/// Replace a rota's name and templates. Send `If-Match` with the ETag read. Published sessions
/// change only when the rota is published again.
#[utoipa::path(
    tag = "rotas",
    params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Rota id"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` updates whatever is current)")),
    request_body = RotaBody,
    responses((status = 200, body = RotaView), ReplaceRotaProblems),
    security(("bearer" = []))
)]
#[put("/clusters/{code}/rotas/{id}")]
pub async fn replace_rota(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: crate::extract::Json<RotaBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let (code, id) = path.into_inner();
    let rota = CoreRota::try_from(body.into_inner()?)?;
    let expected = if_match(&req)?;
    let updated = state
        .hubbook
        .replace_rota(&who, code, id, expected, rota)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(updated.version))
        .json(RotaView::from(updated)))
}

crate::problems!(PublishRotaProblems: Forbidden, NotFound, InvalidDateRange, NonexistentLocalTime, InvalidTemplateReference, UnknownReference, InvalidName);

/// Publish a rota over a date range: creates its sessions and slots in one transaction and
/// reports what was created, unchanged and removed, and which appointments need rebooking.
///
/// Publishing the same rota and range twice changes nothing. After an edit, new slots are added
/// and free slots that no longer belong are removed; a slot with a live appointment is never
/// removed: the appointment stays valid and is listed at `GET .../rebooking`. Slots under a live
/// hold are kept until it expires. With `dry_run`, nothing is written.
#[utoipa::path(
    tag = "rotas",
    params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Rota id")),
    request_body = RangeBody,
    responses(
        (status = 200, body = ChangeReportView),
        PublishRotaProblems,
    ),
    security(("bearer" = []))
)]
#[post("/clusters/{code}/rotas/{id}/publish")]
pub async fn publish_rota(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
    body: crate::extract::Json<RangeBody>,
) -> Result<web::Json<ChangeReportView>, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let (code, id) = path.into_inner();
    let body = body.into_inner()?;
    // A publication keeps no reason, but one sent is held to the rules it has on a withdrawal.
    hubbook_core::validate_optional_name(
        "reason",
        body.reason.as_deref(),
        hubbook_core::MAX_TEXT_CHARS,
    )?;
    let range = RotaRange::try_from(&body)?;
    let report = state.hubbook.publish_rota(&who, code, id, range).await?;
    Ok(web::Json(report.into()))
}

crate::problems!(WithdrawRotaProblems: Forbidden, NotFound, InvalidDateRange, InvalidName);

/// Withdraw what a rota published over a date range (a hub closed for a day): free slots are
/// removed, booked ones are kept and listed for rebooking, never dropped silently.
#[utoipa::path(
    tag = "rotas",
    params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Rota id")),
    request_body = RangeBody,
    responses((status = 200, body = ChangeReportView), WithdrawRotaProblems),
    security(("bearer" = []))
)]
#[post("/clusters/{code}/rotas/{id}/withdraw")]
pub async fn withdraw_rota(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
    body: crate::extract::Json<RangeBody>,
) -> Result<web::Json<ChangeReportView>, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let (code, id) = path.into_inner();
    let body = body.into_inner()?;
    let range = RotaRange::try_from(&body)?;
    let report = state
        .hubbook
        .withdraw_rota(&who, code, id, range, body.reason)
        .await?;
    Ok(web::Json(report.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_template_is_the_core_template() {
        let example = serde_json::json!({
            "key": "gp-eve", "site_id": "s", "service_id": "v", "start": "18:30", "end": "20:00",
            "slot_minutes": 10, "capacity": 1, "delivery": "face_to_face",
            "breaks": [{"start": "19:00", "end": "19:10"}], "weekdays": ["mon", "fri"],
            "pattern": {"kind": "every_nth_week", "n": 2, "anchor": "2026-01-05"},
            "valid_from": "2026-01-01", "valid_to": "2026-12-31", "skip_dates": ["2026-12-25"]
        });
        let core: SessionTemplate = serde_json::from_value(example.clone()).unwrap();
        let doc: SessionTemplateDoc =
            serde_json::from_value(serde_json::to_value(&core).unwrap()).unwrap();
        assert_eq!(doc.key, "gp-eve");
        let _: SessionTemplateDoc = serde_json::from_value(example).unwrap();
        let typo = serde_json::json!({"key": "k", "site_id": "s", "service_id": "v", "start": "18:30", "end": "20:00", "slot_minutes": 10, "capacity": 1, "delivery": "video", "weekdays": ["mon"], "valid_from": "2026-01-01", "skip_date": []});
        assert!(
            serde_json::from_value::<SessionTemplate>(typo).is_err(),
            "an unknown field is refused, not ignored"
        );
    }
}
