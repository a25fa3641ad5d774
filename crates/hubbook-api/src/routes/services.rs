//! Services of a cluster (GP, nurse, phlebotomy...): the manager writes, everyone in the cluster reads.

use super::schema;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hubbook_core::{validate_name, validate_optional_name, ClinicalRole, ServiceCode};
use hubbook_service::reference::{CreateService, UpdateService};
use hubbook_store::models::Service;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::{etag, if_match, PageOf, PageQuery};
use crate::idempotency::Replay;
use crate::{auth::Principal, ApiError, AppState};

/// A service as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceView {
    /// Id within the cluster.
    pub id: String,
    /// Short code, unique in the cluster, e.g. `phlebotomy`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// The clinical role who delivers it: `gp`, `advanced_nurse_practitioner`, `nurse`,
    /// `physiotherapist`, `pharmacist`, `mental_health_nurse`, `healthcare_assistant`,
    /// `phlebotomist`, `paramedic` or `physician_associate`.
    pub clinical_role: String,
    /// Current version; also the ETag.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Service> for ServiceView {
    fn from(s: Service) -> Self {
        Self {
            id: s.id,
            code: s.code,
            name: s.name,
            clinical_role: s.clinical_role.into(),
            version: s.version,
            created_at: s.created_at.and_utc(),
            updated_at: s.updated_at.and_utc(),
        }
    }
}

/// A service to add to the cluster.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServiceBody {
    /// 1 to 32 lower-case letters, digits or hyphens.
    #[schema(value_type = schema::ServiceCode)]
    pub code: String,
    /// Display name.
    #[schema(value_type = schema::Name)]
    pub name: String,
    /// The clinical role who delivers it (see `ServiceView.clinical_role`).
    #[schema(value_type = schema::ClinicalRole)]
    pub clinical_role: String,
}

/// Changes to a service; omitted fields stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePatch {
    /// New display name.
    #[schema(value_type = Option<schema::Name>)]
    pub name: Option<String>,
    /// New clinical role.
    #[schema(value_type = Option<schema::ClinicalRole>)]
    pub clinical_role: Option<String>,
}

impl TryFrom<NewServiceBody> for CreateService {
    type Error = ApiError;
    fn try_from(body: NewServiceBody) -> Result<Self, ApiError> {
        Ok(Self {
            code: ServiceCode::parse(&body.code)?,
            name: validate_name("name", &body.name, hubbook_core::MAX_NAME_CHARS)?,
            clinical_role: body.clinical_role.parse::<ClinicalRole>()?,
        })
    }
}

impl TryFrom<ServicePatch> for UpdateService {
    type Error = ApiError;
    fn try_from(body: ServicePatch) -> Result<Self, ApiError> {
        Ok(Self {
            name: validate_optional_name(
                "name",
                body.name.as_deref(),
                hubbook_core::MAX_NAME_CHARS,
            )?,
            clinical_role: body
                .clinical_role
                .as_deref()
                .map(str::parse::<ClinicalRole>)
                .transpose()?,
        })
    }
}

crate::problems!(ListServicesProblems: NotFound, InvalidCursor);

/// List the cluster's services.
#[utoipa::path(tag = "services", params(("code" = String, Path, description = "Cluster code"), PageQuery), responses((status = 200, body = PageOf<ServiceView>), ListServicesProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/services")]
pub async fn list_services(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<PageOf<ServiceView>>, ApiError> {
    let (after, limit) = page.decode()?;
    let page = state
        .hubbook
        .list_services(&who, code.into_inner(), after, limit)
        .await?;
    Ok(web::Json(PageOf::from_page(page, ServiceView::from)))
}

crate::problems!(CreateServiceProblems: Forbidden, NotFound, AlreadyExists, InvalidServiceCode, UnknownClinicalRole, InvalidName, IdempotencyKeyReused, InvalidIdempotencyKey);

/// Add a service to the cluster (its manager). Accepts `Idempotency-Key`.
#[utoipa::path(
    tag = "services",
    params(("code" = String, Path, description = "Cluster code"), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = NewServiceBody,
    responses(
        (status = 201, body = ServiceView),
        CreateServiceProblems,
    ),
    security(("bearer" = []))
)]
#[post("/clusters/{code}/services")]
pub async fn create_service(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    body: crate::extract::Json<NewServiceBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let body = body.into_inner()?;
    let replay = Replay::from_request(
        &state,
        &req,
        &who,
        &format!("POST /clusters/{code}/services"),
        &body,
    )?;
    let command = CreateService::try_from(body)?;
    let service = state
        .hubbook
        .create_service(&who, replay.map(|r| r.0), code.into_inner(), command)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(service.version))
        .json(ServiceView::from(service)))
}

crate::problems!(GetServiceProblems: NotFound);

/// Read one service.
#[utoipa::path(tag = "services", params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Service id")), responses((status = 200, body = ServiceView, headers(("ETag" = String))), GetServiceProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/services/{id}")]
pub async fn get_service(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (code, id) = path.into_inner();
    let service = state.hubbook.service(&who, code, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(service.version))
        .json(ServiceView::from(service)))
}

crate::problems!(UpdateServiceProblems: Forbidden, NotFound, PreconditionRequired, PreconditionFailed, UnknownClinicalRole, InvalidName);

/// Change a service (its cluster's manager). Send `If-Match` with the ETag read.
#[utoipa::path(
    tag = "services",
    params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Service id"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` updates whatever is current)")),
    request_body = ServicePatch,
    responses((status = 200, body = ServiceView), UpdateServiceProblems),
    security(("bearer" = []))
)]
#[patch("/clusters/{code}/services/{id}")]
pub async fn update_service(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: crate::extract::Json<ServicePatch>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let (code, id) = path.into_inner();
    let changes = UpdateService::try_from(body.into_inner()?)?;
    let expected = if_match(&req)?;
    let updated = state
        .hubbook
        .update_service(&who, code, id, expected, changes)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(updated.version))
        .json(ServiceView::from(updated)))
}
