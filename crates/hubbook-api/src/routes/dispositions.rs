//! Dispositions: the triage outcome codes a 111 service books by. Triage services and cluster
//! managers read them; admins add, change and retire them.

use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hubbook_core::triage::{check_code, check_timeframe, DeliveryFit};
use hubbook_core::{validate_name, Role, ServiceCode};
use hubbook_store::models::{Disposition, DispositionChanges};
use hubbook_store::repo::dispositions::{self, DispositionEntry};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::found;
use crate::extract::{etag, if_match, PageOf, PageQuery};
use crate::idempotency::{self, Replay};
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
            delivery: d.delivery,
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
    pub code: String,
    /// What it asks for, in words.
    pub description: String,
    /// Minutes from triage (1 to 20,160).
    pub timeframe_minutes: i64,
    /// `face_to_face`, `telephone` or `either`.
    pub delivery: String,
    /// The service codes or clinical roles that fit (at least one).
    pub services: Vec<String>,
}

/// Changes to a disposition; absent fields stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispositionPatch {
    /// New description.
    pub description: Option<String>,
    /// New timeframe in minutes.
    pub timeframe_minutes: Option<i64>,
    /// New delivery fit.
    pub delivery: Option<String>,
    /// The services that fit, replacing the current ones.
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

fn may_read(who: &Principal) -> Result<(), ApiError> {
    match who.role {
        Role::Triage | Role::ClusterManager | Role::Admin => Ok(()),
        _ => Err(ApiError::Forbidden(
            "dispositions are read by triage services, cluster managers and admins".into(),
        )),
    }
}

fn admin_only(who: &Principal) -> Result<(), ApiError> {
    if who.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only an admin may change dispositions".into(),
        ))
    }
}

fn services(codes: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::with_capacity(codes.len());
    for code in codes {
        let code = ServiceCode::parse(code)?.as_str().to_owned();
        if !out.contains(&code) {
            out.push(code);
        }
    }
    if out.is_empty() {
        return Err(ApiError::Unprocessable(
            "invalid-body",
            "a disposition needs at least one service code".into(),
        ));
    }
    out.sort();
    Ok(out)
}

fn timeframe(minutes: i64) -> Result<i32, ApiError> {
    let minutes = check_timeframe(minutes)?;
    i32::try_from(minutes).map_err(|_| ApiError::Internal("timeframe out of range".into()))
}

/// List the disposition codes, their timeframes and what fits them, in code order.
#[utoipa::path(tag = "triage", params(DispositionQuery), responses((status = 200, body = PageOf<DispositionView>), (status = 403, body = crate::Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
#[get("/dispositions")]
pub async fn list_dispositions(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<DispositionQuery>,
) -> Result<web::Json<PageOf<DispositionView>>, ApiError> {
    may_read(&who)?;
    let q = query.into_inner();
    let (after, limit) = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .decode()?;
    let page = state
        .db(move |c| {
            Ok(dispositions::list_dispositions(
                c,
                q.include_retired,
                after.as_deref(),
                limit,
            )?)
        })
        .await?;
    Ok(web::Json(PageOf::from_page(page, DispositionView::from)))
}

/// Read one disposition.
#[utoipa::path(tag = "triage", params(("code" = String, Path, description = "Disposition code")), responses((status = 200, body = DispositionView, headers(("ETag" = String))), (status = 404, body = crate::Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
#[get("/dispositions/{code}")]
pub async fn get_disposition(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    may_read(&who)?;
    let entry = state
        .db(move |c| found(dispositions::get_disposition(c, &code), "disposition"))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(entry.disposition.version))
        .json(DispositionView::from(entry)))
}

/// Add a disposition (an admin). Accepts `Idempotency-Key`.
#[utoipa::path(
    tag = "triage",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = NewDispositionBody,
    responses(
        (status = 201, body = DispositionView),
        (status = 409, description = "Code already used", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-disposition-code`, `invalid-timeframe`, `unknown-delivery-fit`, `invalid-service-code`", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/dispositions")]
pub async fn create_disposition(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    body: web::Json<NewDispositionBody>,
) -> Result<HttpResponse, ApiError> {
    admin_only(&who)?;
    let body = body.into_inner();
    let replay = Replay::from_request(&state, &req, &who, "POST /dispositions", &body)?;
    let change = state.change(&who);
    let row = Disposition {
        code: check_code(body.code.trim())?.to_owned(),
        description: validate_name("description", &body.description, 300)?,
        timeframe_minutes: timeframe(body.timeframe_minutes)?,
        delivery: DeliveryFit::parse(&body.delivery)?.as_str().to_owned(),
        active: true,
        version: 1,
        created_at: change.at,
        updated_at: change.at,
    };
    let service_codes = services(&body.services)?;
    idempotency::create(&state, replay, move |c| {
        let created = dispositions::create_disposition(c, &change, row, &service_codes)?;
        let version = created.disposition.version;
        Ok((DispositionView::from(created), Some(version)))
    })
    .await
}

/// Change or retire a disposition (an admin). Send `If-Match` with the ETag read.
#[utoipa::path(
    tag = "triage",
    params(("code" = String, Path, description = "Disposition code"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` updates whatever is current)")),
    request_body = DispositionPatch,
    responses((status = 200, body = DispositionView), (status = 404, body = crate::Problem, content_type = "application/problem+json"), (status = 412, body = crate::Problem, content_type = "application/problem+json"), (status = 422, body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[patch("/dispositions/{code}")]
pub async fn update_disposition(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    body: web::Json<DispositionPatch>,
) -> Result<HttpResponse, ApiError> {
    admin_only(&who)?;
    let body = body.into_inner();
    let changes = DispositionChanges {
        description: body
            .description
            .as_deref()
            .map(|d| validate_name("description", d, 300))
            .transpose()?,
        timeframe_minutes: body.timeframe_minutes.map(timeframe).transpose()?,
        delivery: body
            .delivery
            .as_deref()
            .map(|d| DeliveryFit::parse(d).map(|f| f.as_str().to_owned()))
            .transpose()?,
        active: body.active,
    };
    let service_codes = body.services.as_deref().map(services).transpose()?;
    let expected = if_match(&req)?;
    let change = state.change(&who);
    let updated = state
        .db(move |c| {
            found(
                dispositions::update_disposition(
                    c,
                    &change,
                    &code,
                    expected,
                    changes,
                    service_codes.as_deref(),
                ),
                "disposition",
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(updated.disposition.version))
        .json(DispositionView::from(updated)))
}
