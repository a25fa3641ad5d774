//! Sites of a cluster (hubs and surgeries): the manager writes, everyone working in the cluster reads.

use super::schema;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hubbook_core::{validate_name, validate_optional_name, Coordinates, Postcode, SiteKind};
use hubbook_service::reference::{site_position, CreateSite, UpdateSite};
use hubbook_store::models::Site;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::{etag, if_match, PageOf, PageQuery};
use crate::idempotency::Replay;
use crate::{auth::Principal, ApiError, AppState};

/// Whether a site is a hub or a member surgery.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SiteKindView {
    /// An extended-access hub.
    Hub,
    /// A member practice's surgery.
    Surgery,
}

impl From<SiteKindView> for SiteKind {
    fn from(k: SiteKindView) -> Self {
        match k {
            SiteKindView::Hub => SiteKind::Hub,
            SiteKindView::Surgery => SiteKind::Surgery,
        }
    }
}

/// A site as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SiteView {
    /// Id within the cluster.
    pub id: String,
    /// Display name, unique in the cluster.
    pub name: String,
    /// `hub` or `surgery`.
    pub kind: String,
    /// Street address.
    pub address: String,
    /// UK postcode, normalised (`LS1 4AP`).
    pub postcode: String,
    /// WGS84 latitude.
    pub latitude: f64,
    /// WGS84 longitude.
    pub longitude: f64,
    /// Current version; also the ETag.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Site> for SiteView {
    fn from(s: Site) -> Self {
        Self {
            id: s.id.into(),
            name: s.name,
            kind: s.kind.into(),
            address: s.address,
            postcode: s.postcode,
            latitude: s.latitude,
            longitude: s.longitude,
            version: s.version,
            created_at: s.created_at.and_utc(),
            updated_at: s.updated_at.and_utc(),
        }
    }
}

/// A site to add to the cluster.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSiteBody {
    /// Display name.
    #[schema(value_type = schema::Name)]
    pub name: String,
    /// `hub` or `surgery`.
    pub kind: SiteKindView,
    /// Street address.
    #[schema(value_type = schema::FreeText)]
    pub address: String,
    /// UK postcode in any spacing.
    #[schema(value_type = schema::Postcode)]
    pub postcode: String,
    /// WGS84 latitude (49 to 61).
    #[schema(value_type = schema::Latitude)]
    pub latitude: f64,
    /// WGS84 longitude (-11 to 2).
    #[schema(value_type = schema::Longitude)]
    pub longitude: f64,
}

/// Changes to a site; omitted fields stay as they are. Latitude and longitude go together.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SitePatch {
    /// New name.
    #[schema(value_type = Option<schema::Name>)]
    pub name: Option<String>,
    /// New kind.
    pub kind: Option<SiteKindView>,
    /// New address.
    #[schema(value_type = Option<schema::FreeText>)]
    pub address: Option<String>,
    /// New postcode.
    #[schema(value_type = Option<schema::Postcode>)]
    pub postcode: Option<String>,
    /// New latitude.
    #[schema(value_type = Option<schema::Latitude>)]
    pub latitude: Option<f64>,
    /// New longitude.
    #[schema(value_type = Option<schema::Longitude>)]
    pub longitude: Option<f64>,
}

impl TryFrom<NewSiteBody> for CreateSite {
    type Error = ApiError;
    fn try_from(body: NewSiteBody) -> Result<Self, ApiError> {
        let position = Coordinates::new(body.latitude, body.longitude)?;
        Ok(Self {
            name: validate_name("name", &body.name, hubbook_core::MAX_NAME_CHARS)?,
            kind: SiteKind::from(body.kind),
            address: validate_name("address", &body.address, hubbook_core::MAX_TEXT_CHARS)?,
            postcode: Postcode::parse(&body.postcode)?,
            position,
        })
    }
}

impl TryFrom<SitePatch> for UpdateSite {
    type Error = ApiError;
    fn try_from(body: SitePatch) -> Result<Self, ApiError> {
        let position = site_position(body.latitude, body.longitude)?;
        Ok(Self {
            name: validate_optional_name(
                "name",
                body.name.as_deref(),
                hubbook_core::MAX_NAME_CHARS,
            )?,
            kind: body.kind.map(SiteKind::from),
            address: validate_optional_name(
                "address",
                body.address.as_deref(),
                hubbook_core::MAX_TEXT_CHARS,
            )?,
            postcode: body.postcode.as_deref().map(Postcode::parse).transpose()?,
            position,
        })
    }
}

crate::problems!(ListSitesProblems: NotFound, InvalidCursor);

/// List the cluster's sites.
#[utoipa::path(tag = "sites", params(("code" = String, Path, description = "Cluster code"), PageQuery), responses((status = 200, body = PageOf<SiteView>), ListSitesProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/sites")]
pub async fn list_sites(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<PageOf<SiteView>>, ApiError> {
    let (after, limit) = page.decode()?;
    let page = state
        .hubbook
        .list_sites(&who, code.into_inner(), after, limit)
        .await?;
    Ok(web::Json(PageOf::from_page(page, SiteView::from)))
}

crate::problems!(CreateSiteProblems: Forbidden, NotFound, AlreadyExists, UnknownSiteKind, InvalidPostcode, InvalidCoordinates, InvalidName, IdempotencyKeyReused, InvalidIdempotencyKey);

/// Add a site to the cluster (its manager). Accepts `Idempotency-Key`.
#[utoipa::path(
    tag = "sites",
    params(("code" = String, Path, description = "Cluster code"), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = NewSiteBody,
    responses(
        (status = 201, body = SiteView),
        CreateSiteProblems,
    ),
    security(("bearer" = []))
)]
#[post("/clusters/{code}/sites")]
pub async fn create_site(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    body: crate::extract::Json<NewSiteBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let body = body.into_inner()?;
    let replay = Replay::from_request(
        &state,
        &req,
        &who,
        &format!("POST /clusters/{code}/sites"),
        &body,
    )?;
    let command = CreateSite::try_from(body)?;
    let site = state
        .hubbook
        .create_site(&who, replay.map(|r| r.0), code.into_inner(), command)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(site.version))
        .json(SiteView::from(site)))
}

crate::problems!(GetSiteProblems: NotFound);

/// Read one site.
#[utoipa::path(tag = "sites", params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Site id")), responses((status = 200, body = SiteView, headers(("ETag" = String))), GetSiteProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/sites/{id}")]
pub async fn get_site(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (code, id) = path.into_inner();
    let site = state.hubbook.site(&who, code, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(site.version))
        .json(SiteView::from(site)))
}

crate::problems!(UpdateSiteProblems: Forbidden, NotFound, AlreadyExists, PreconditionRequired, PreconditionFailed, InvalidPostcode, InvalidCoordinates, InvalidName);

/// Change a site (its cluster's manager). Send `If-Match` with the ETag read.
#[utoipa::path(
    tag = "sites",
    params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Site id"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` updates whatever is current)")),
    request_body = SitePatch,
    responses((status = 200, body = SiteView), UpdateSiteProblems),
    security(("bearer" = []))
)]
#[patch("/clusters/{code}/sites/{id}")]
pub async fn update_site(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: crate::extract::Json<SitePatch>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let (code, id) = path.into_inner();
    let changes = UpdateSite::try_from(body.into_inner()?)?;
    let expected = if_match(&req)?;
    let updated = state
        .hubbook
        .update_site(&who, code, id, expected, changes)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(updated.version))
        .json(SiteView::from(updated)))
}
