//! Dispositions: the triage outcome codes a 111 service books by. Triage services and cluster
//! managers read them; admins add, change and retire them.

use super::schema;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hubbook_service::dispositions::{CreateDisposition, DispositionEntry, UpdateDisposition};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{etag, if_match, PageOf, PageQuery};
use crate::idempotency::Replay;
use crate::{auth::Principal, ApiError, AppState};

/// A disposition as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DispositionView {
    /// The code, e.g. `Dx05`.
    pub code: String,
    /// What it asks for, in words.
    pub description: String,
    /// Minutes from triage within which the patient must be seen or called.
    pub timeframe_minutes: i64,
    /// Which slots fit: `face_to_face`, `telephone` (telephone and video slots) or `either`.
    pub delivery: String,
    /// The services whose slots fit: a cluster's service codes or clinical roles (`gp`,
    /// `nurse`, `phlebotomist`...), so that `gp` fits every GP service whatever its code.
    pub services: Vec<String>,
    /// Whether 111 may book with it; retired codes stay readable for the bookings that name them.
    pub active: bool,
    /// Current version; also the ETag.
    pub version: i64,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<DispositionEntry> for DispositionView {
    fn from(e: DispositionEntry) -> Self {
        let d = e.disposition;
        Self {
            code: d.code,
            description: d.description,
            timeframe_minutes: i64::from(d.timeframe_minutes),
            delivery: d.delivery.into(),
            services: e.service_codes,
            active: d.active,
            version: d.version,
            updated_at: d.updated_at.and_utc(),
        }
    }
}

/// A disposition to add.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDispositionBody {
    /// The code, 2 to 16 letters, digits, dots, hyphens or underscores.
    #[schema(value_type = schema::DispositionCode)]
    pub code: String,
    /// What it asks for, in words.
    #[schema(value_type = schema::Description)]
    pub description: String,
    /// Minutes from triage (1 to 20,160).
    #[schema(value_type = schema::TimeframeMinutes)]
    pub timeframe_minutes: i64,
    /// `face_to_face`, `telephone` or `either`.
    #[schema(value_type = schema::DeliveryFit)]
    pub delivery: String,
    /// The service codes or clinical roles that fit (at least one).
    #[schema(value_type = Vec<schema::ServiceCode>, min_items = 1)]
    pub services: Vec<String>,
}

/// Changes to a disposition; absent fields stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispositionPatch {
    /// New description.
    #[schema(value_type = Option<schema::Description>)]
    pub description: Option<String>,
    /// New timeframe in minutes.
    #[schema(value_type = Option<schema::TimeframeMinutes>)]
    pub timeframe_minutes: Option<i64>,
    /// New delivery fit.
    #[schema(value_type = Option<schema::DeliveryFit>)]
    pub delivery: Option<String>,
    /// The services that fit, replacing the current ones.
    #[schema(value_type = Option<Vec<schema::ServiceCode>>, min_items = 1)]
    pub services: Option<Vec<String>>,
    /// `false` retires the code: 111 can no longer book with it.
    pub active: Option<bool>,
}

/// Which dispositions to list.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DispositionQuery {
    /// Include retired codes too.
    #[serde(default)]
    pub include_retired: bool,
    /// Page size (1 to 500, default 50).
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl From<NewDispositionBody> for CreateDisposition {
    fn from(body: NewDispositionBody) -> Self {
        Self {
            code: body.code,
            description: body.description,
            timeframe_minutes: body.timeframe_minutes,
            delivery: body.delivery,
            services: body.services,
        }
    }
}

impl From<DispositionPatch> for UpdateDisposition {
    fn from(body: DispositionPatch) -> Self {
        Self {
            description: body.description,
            timeframe_minutes: body.timeframe_minutes,
            delivery: body.delivery,
            services: body.services,
            active: body.active,
        }
    }
}

crate::problems!(ListDispositionsProblems: Forbidden, InvalidCursor);

/// List the disposition codes, their timeframes and what fits them, in code order.
#[utoipa::path(tag = "triage", params(DispositionQuery), responses((status = 200, body = PageOf<DispositionView>), ListDispositionsProblems), security(("bearer" = [])))]
#[get("/dispositions")]
pub async fn list_dispositions(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<DispositionQuery>,
) -> Result<web::Json<PageOf<DispositionView>>, ApiError> {
    let q = query.into_inner();
    let (after, limit) = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .decode()?;
    let page = state
        .hubbook
        .list_dispositions(&who, q.include_retired, after, limit)
        .await?;
    Ok(web::Json(PageOf::from_page(page, DispositionView::from)))
}

crate::problems!(GetDispositionProblems: Forbidden, NotFound);

/// Read one disposition.
#[utoipa::path(tag = "triage", params(("code" = String, Path, description = "Disposition code")), responses((status = 200, body = DispositionView, headers(("ETag" = String))), GetDispositionProblems), security(("bearer" = [])))]
#[get("/dispositions/{code}")]
pub async fn get_disposition(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let entry = state.hubbook.disposition(&who, code.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(entry.disposition.version))
        .json(DispositionView::from(entry)))
}

crate::problems!(CreateDispositionProblems: Forbidden, AlreadyExists, InvalidDispositionCode, InvalidTimeframe, UnknownDeliveryFit, InvalidServiceCode, InvalidName, IdempotencyKeyReused, InvalidIdempotencyKey);

/// Add a disposition (an admin). Accepts `Idempotency-Key`.
#[utoipa::path(
    tag = "triage",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = NewDispositionBody,
    responses(
        (status = 201, body = DispositionView),
        CreateDispositionProblems,
    ),
    security(("bearer" = []))
)]
#[post("/dispositions")]
pub async fn create_disposition(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    body: crate::extract::Json<NewDispositionBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Admin)?;
    let body = body.into_inner()?;
    let replay = Replay::from_request(&state, &req, &who, "POST /dispositions", &body)?;
    let created = state
        .hubbook
        .create_disposition(&who, replay.map(|r| r.0), CreateDisposition::from(body))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(created.disposition.version))
        .json(DispositionView::from(created)))
}

crate::problems!(UpdateDispositionProblems: Forbidden, NotFound, PreconditionRequired, PreconditionFailed, InvalidTimeframe, UnknownDeliveryFit, InvalidServiceCode, InvalidName);

/// Change or retire a disposition (an admin). Send `If-Match` with the ETag read.
#[utoipa::path(
    tag = "triage",
    params(("code" = String, Path, description = "Disposition code"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` updates whatever is current)")),
    request_body = DispositionPatch,
    responses((status = 200, body = DispositionView), UpdateDispositionProblems),
    security(("bearer" = []))
)]
#[patch("/dispositions/{code}")]
pub async fn update_disposition(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    body: crate::extract::Json<DispositionPatch>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Admin)?;
    let changes = UpdateDisposition::from(body.into_inner()?);
    let expected = if_match(&req)?;
    let updated = state
        .hubbook
        .update_disposition(&who, code.into_inner(), expected, changes)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(updated.disposition.version))
        .json(DispositionView::from(updated)))
}
