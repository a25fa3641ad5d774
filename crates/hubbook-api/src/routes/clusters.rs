//! Clusters: `POST /clusters` (admin), `GET /clusters` and `GET/PATCH /clusters/{code}`.

use super::schema;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hubbook_core::{validate_optional_name, ClusterTimeZone};
use hubbook_service::reference::{CreateCluster, UpdateCluster};
use hubbook_store::models::Cluster;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::{etag, if_match, PageOf, PageQuery};
use crate::idempotency::Replay;
use crate::{auth::Principal, ApiError, AppState};

/// A cluster as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClusterView {
    /// The cluster's code, used in every cluster path, e.g. `U00001`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// The IANA time zone its rotas are written in.
    pub time_zone: String,
    /// The current version; also the ETag.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Cluster> for ClusterView {
    fn from(c: Cluster) -> Self {
        Self {
            code: c.code,
            name: c.name,
            time_zone: c.time_zone.to_string(),
            version: c.version,
            created_at: c.created_at.and_utc(),
            updated_at: c.updated_at.and_utc(),
        }
    }
}

/// A cluster to create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClusterBody {
    /// 3 to 16 capital letters and digits starting with a letter, e.g. a PCN code `U00001`.
    #[schema(value_type = schema::ClusterCode)]
    pub code: String,
    /// Display name.
    #[schema(value_type = schema::Name)]
    pub name: String,
    /// IANA time zone; `Europe/London` when omitted.
    #[schema(value_type = Option<schema::TimeZoneName>)]
    pub time_zone: Option<String>,
}

/// Changes to a cluster; omitted fields stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterPatch {
    /// New display name.
    #[schema(value_type = Option<schema::Name>)]
    pub name: Option<String>,
    /// New IANA time zone.
    #[schema(value_type = Option<schema::TimeZoneName>)]
    pub time_zone: Option<String>,
}

impl From<NewClusterBody> for CreateCluster {
    fn from(body: NewClusterBody) -> Self {
        Self {
            code: body.code,
            name: body.name,
            time_zone: body.time_zone,
        }
    }
}

impl TryFrom<ClusterPatch> for UpdateCluster {
    type Error = ApiError;
    fn try_from(body: ClusterPatch) -> Result<Self, ApiError> {
        Ok(Self {
            name: validate_optional_name(
                "name",
                body.name.as_deref(),
                hubbook_core::MAX_NAME_CHARS,
            )?,
            time_zone: body
                .time_zone
                .as_deref()
                .map(ClusterTimeZone::parse)
                .transpose()?,
        })
    }
}

crate::problems!(CreateClusterProblems: Forbidden, AlreadyExists, InvalidClusterCode, InvalidTimeZone, InvalidName, IdempotencyKeyReused, InvalidIdempotencyKey);

/// Create a cluster (admin only). Accepts `Idempotency-Key`.
#[utoipa::path(
    tag = "clusters",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key; the same key and body return the first response")),
    request_body = NewClusterBody,
    responses(
        (status = 201, description = "Created", body = ClusterView),
        CreateClusterProblems,
    ),
    security(("bearer" = []))
)]
#[post("/clusters")]
pub async fn create_cluster(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    body: crate::extract::Json<NewClusterBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Admin)?;
    let body = body.into_inner()?;
    let replay = Replay::from_request(&state, &req, &who, "POST /clusters", &body)?;
    let cluster = state
        .hubbook
        .create_cluster(&who, replay.map(|r| r.0), CreateCluster::from(body))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(cluster.version))
        .json(ClusterView::from(cluster)))
}

crate::problems!(ListClustersProblems: Forbidden, InvalidCursor);

/// List the clusters you may see: all for an admin, your own otherwise.
#[utoipa::path(tag = "clusters", params(PageQuery), responses((status = 200, body = PageOf<ClusterView>), ListClustersProblems), security(("bearer" = [])))]
#[get("/clusters")]
pub async fn list_clusters(
    state: web::Data<AppState>,
    who: Principal,
    page: web::Query<PageQuery>,
) -> Result<web::Json<PageOf<ClusterView>>, ApiError> {
    let (after, limit) = page.decode()?;
    let page = state.hubbook.list_clusters(&who, after, limit).await?;
    Ok(web::Json(PageOf::from_page(page, ClusterView::from)))
}

crate::problems!(GetClusterProblems: NotFound);

/// Read one cluster: its admin, or anyone working in it.
#[utoipa::path(
    tag = "clusters",
    params(("code" = String, Path, description = "Cluster code")),
    responses((status = 200, body = ClusterView, headers(("ETag" = String))), GetClusterProblems),
    security(("bearer" = []))
)]
#[get("/clusters/{code}")]
pub async fn get_cluster(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cluster = state.hubbook.cluster(&who, code.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(cluster.version))
        .json(ClusterView::from(cluster)))
}

crate::problems!(UpdateClusterProblems: Forbidden, NotFound, PreconditionRequired, PreconditionFailed, InvalidTimeZone, InvalidName);

/// Change a cluster's name or time zone: an admin or its manager. Send `If-Match` with the ETag read.
#[utoipa::path(
    tag = "clusters",
    params(("code" = String, Path, description = "Cluster code"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` updates whatever is current)")),
    request_body = ClusterPatch,
    responses((status = 200, body = ClusterView), UpdateClusterProblems),
    security(("bearer" = []))
)]
#[patch("/clusters/{code}")]
pub async fn update_cluster(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    body: crate::extract::Json<ClusterPatch>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::ManageCluster,
    ))?;
    let changes = UpdateCluster::try_from(body.into_inner()?)?;
    let expected = if_match(&req)?;
    let updated = state
        .hubbook
        .update_cluster(&who, code.into_inner(), expected, changes)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(updated.version))
        .json(ClusterView::from(updated)))
}
