//! Sessions and their slots: read by managers and hub staff per site and date; a manager can
//! cancel one session or name its clinician without editing the rota.

use super::schema;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use hubbook_core::publish::Occupancy;
use hubbook_core::validate_name;
use hubbook_service::sessions::{SessionFilter, SessionWithSlots, SlotState};
use hubbook_store::models::Session;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{etag, if_match, if_match_optional, PageOf, PageQuery};
use crate::routes::rotas::ChangeReportView;
use crate::{auth::Principal, ApiError, AppState};

/// A session as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    /// Id.
    pub id: String,
    /// The rota that published it.
    pub rota_id: String,
    /// The template it came from.
    pub template_key: String,
    /// Its local date in the cluster's time zone.
    pub date: NaiveDate,
    /// Where it runs.
    pub site_id: String,
    /// What it offers.
    pub service_id: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Slot length in minutes.
    pub slot_minutes: i32,
    /// Patients in parallel per slot interval.
    pub capacity: i32,
    /// `face_to_face`, `telephone` or `video`.
    pub delivery: String,
    /// `active`, `cancelled` or `withdrawn`.
    pub status: String,
    /// Why it was cancelled or withdrawn.
    pub status_reason: Option<String>,
    /// The clinician running it, if named.
    pub clinician: Option<String>,
    /// Whether a wall time fell in an autumn clock change and was resolved by rule.
    pub ambiguous: bool,
    /// Current version; also the ETag.
    pub version: i64,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        Self {
            id: s.id,
            rota_id: s.rota_id,
            template_key: s.template_key,
            date: s.local_date,
            site_id: s.site_id.into(),
            service_id: s.service_id,
            starts_at: s.starts_at.and_utc(),
            ends_at: s.ends_at.and_utc(),
            slot_minutes: s.slot_minutes,
            capacity: s.capacity,
            delivery: s.delivery.into(),
            status: s.status.into(),
            status_reason: s.status_reason,
            clinician: s.clinician,
            ambiguous: s.ambiguous,
            version: s.version,
        }
    }
}

/// A slot of a session and what occupies it now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlotView {
    /// Id.
    pub id: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Parallel place, from 0.
    pub lane: i32,
    /// Who may book it: `open`, `practice` or `111`.
    pub channel: String,
    /// `free`, `held` or `booked`.
    pub state: String,
    /// The live appointment in it, when booked.
    pub appointment_id: Option<String>,
}

impl From<SlotState> for SlotView {
    fn from(s: SlotState) -> Self {
        let (state, appointment_id) = match s.occupancy {
            Occupancy::Free => ("free", None),
            Occupancy::Held => ("held", None),
            Occupancy::Booked { appointment_id } => ("booked", Some(appointment_id)),
        };
        Self {
            id: s.slot.id.into(),
            starts_at: s.slot.starts_at.and_utc(),
            ends_at: s.slot.ends_at.and_utc(),
            lane: s.slot.lane,
            channel: s.slot.channel.into(),
            state: state.into(),
            appointment_id,
        }
    }
}

/// A session with its slots.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionDetail {
    /// The session.
    #[serde(flatten)]
    pub session: SessionView,
    /// Its slots in time then lane order.
    pub slots: Vec<SlotView>,
}

impl From<SessionWithSlots> for SessionDetail {
    fn from(s: SessionWithSlots) -> Self {
        Self {
            session: s.session.into(),
            slots: s.slots.into_iter().map(SlotView::from).collect(),
        }
    }
}

/// Filters for listing sessions.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// Only this site.
    pub site: Option<String>,
    /// First local date.
    pub from: Option<NaiveDate>,
    /// Last local date (inclusive).
    pub to: Option<NaiveDate>,
    /// `active`, `cancelled` or `withdrawn`.
    pub status: Option<String>,
    /// Page size (1 to 500, default 50).
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// A cancellation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelSessionBody {
    /// Why, shown to whoever rebooks its patients.
    #[schema(value_type = schema::FreeText)]
    pub reason: String,
}

/// Changes to a session.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionPatch {
    /// The clinician running it (`null` clears it).
    #[schema(value_type = Option<schema::Name>)]
    pub clinician: Option<String>,
}

crate::problems!(ListSessionsProblems: Forbidden, NotFound, InvalidCursor, InvalidDateRange);

/// List sessions by site and local date (a manager or hub staff of the cluster).
#[utoipa::path(tag = "sessions", params(("code" = String, Path, description = "Cluster code"), SessionQuery), responses((status = 200, body = PageOf<SessionView>), ListSessionsProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/sessions")]
pub async fn list_sessions(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
    query: web::Query<SessionQuery>,
) -> Result<web::Json<PageOf<SessionView>>, ApiError> {
    let q = query.into_inner();
    let (after, limit) = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .decode()?;
    let filter = SessionFilter {
        site_id: q.site,
        from: q.from,
        to: q.to,
        status: q.status,
    };
    let page = state
        .hubbook
        .list_sessions(&who, code.into_inner(), filter, after, limit)
        .await?;
    Ok(web::Json(PageOf::from_page(page, SessionView::from)))
}

crate::problems!(GetSessionProblems: Forbidden, NotFound);

/// Read a session with its slots and whether each is free, held or booked.
#[utoipa::path(tag = "sessions", params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Session id")), responses((status = 200, body = SessionDetail, headers(("ETag" = String))), GetSessionProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/sessions/{id}")]
pub async fn get_session(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (code, id) = path.into_inner();
    let detail = state.hubbook.session(&who, code, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(detail.session.version))
        .json(SessionDetail::from(detail)))
}

crate::problems!(CancelSessionProblems: Forbidden, NotFound, InvalidTransition, PreconditionFailed, InvalidName);

/// Cancel one session (its cluster's manager), by the same rules as a withdrawal: free slots go,
/// booked patients are kept and listed for rebooking. Republishing leaves it cancelled.
#[utoipa::path(
    tag = "sessions",
    params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Session id"), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = CancelSessionBody,
    responses((status = 200, body = ChangeReportView), CancelSessionProblems),
    security(("bearer" = []))
)]
#[post("/clusters/{code}/sessions/{id}/cancel")]
pub async fn cancel_session(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: crate::extract::Json<CancelSessionBody>,
) -> Result<web::Json<ChangeReportView>, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let body = body.into_inner()?;
    let (code, id) = path.into_inner();
    let expected = if_match_optional(&req);
    let report = state
        .hubbook
        .cancel_session(&who, code, id, expected, &body.reason)
        .await?;
    Ok(web::Json(report.into()))
}

crate::problems!(UpdateSessionProblems: Forbidden, NotFound, PreconditionRequired, PreconditionFailed, InvalidName);

/// Name or clear the clinician of one session (its cluster's manager). Send `If-Match`.
#[utoipa::path(
    tag = "sessions",
    params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Session id"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` updates whatever is current)")),
    request_body = SessionPatch,
    responses((status = 200, body = SessionView), UpdateSessionProblems),
    security(("bearer" = []))
)]
#[patch("/clusters/{code}/sessions/{id}")]
pub async fn update_session(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: crate::extract::Json<SessionPatch>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let (code, id) = path.into_inner();
    let clinician = body
        .into_inner()?
        .clinician
        .map(|n| validate_name("clinician", &n, hubbook_core::MAX_NAME_CHARS))
        .transpose()?;
    let expected = if_match(&req)?;
    let session = state
        .hubbook
        .set_clinician(&who, code, id, expected, clinician)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(session.version))
        .json(SessionView::from(session)))
}
