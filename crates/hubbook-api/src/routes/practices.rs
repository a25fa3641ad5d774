//! Practices of a cluster: the manager writes, everyone working in the cluster reads.

use super::schema;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use hubbook_core::{
    validate_name, validate_optional_name, DataSharingAgreement, ListSize, OdsCode,
};
use hubbook_service::reference::{CreatePractice, UpdatePractice};
use hubbook_store::models::Practice;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::{double_option, etag, if_match, PageOf, PageQuery};
use crate::idempotency::Replay;
use crate::{auth::Principal, ApiError, AppState};

/// A member practice as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PracticeView {
    /// Id within the cluster.
    pub id: String,
    /// ODS code, e.g. `A81001`.
    pub ods_code: String,
    /// Display name.
    pub name: String,
    /// Registered list size.
    pub list_size: i64,
    /// The practice's own site, if it runs one for the cluster.
    pub site_id: Option<String>,
    /// First day its data-sharing agreement is in force; none means no agreement.
    pub data_sharing_from: Option<NaiveDate>,
    /// Last day its data-sharing agreement is in force; none means open-ended.
    pub data_sharing_to: Option<NaiveDate>,
    /// Current version; also the ETag.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Practice> for PracticeView {
    fn from(p: Practice) -> Self {
        Self {
            id: p.id.into(),
            ods_code: p.ods_code,
            name: p.name,
            list_size: p.list_size,
            site_id: p.site_id,
            data_sharing_from: p.dsa_from,
            data_sharing_to: p.dsa_to,
            version: p.version,
            created_at: p.created_at.and_utc(),
            updated_at: p.updated_at.and_utc(),
        }
    }
}

/// A practice to add to the cluster.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPracticeBody {
    /// ODS code: one letter and five digits.
    #[schema(value_type = schema::OdsCode)]
    pub ods_code: String,
    /// Display name.
    #[schema(value_type = schema::Name)]
    pub name: String,
    /// Registered list size, above zero.
    #[schema(value_type = schema::ListSize)]
    pub list_size: i64,
    /// Its own site in this cluster, if any.
    pub site_id: Option<String>,
    /// First day of its data-sharing agreement.
    pub data_sharing_from: Option<NaiveDate>,
    /// Last day of its data-sharing agreement.
    pub data_sharing_to: Option<NaiveDate>,
}

/// Changes to a practice; omitted fields stay, `null` clears an optional one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PracticePatch {
    /// New display name.
    #[schema(value_type = Option<schema::Name>)]
    pub name: Option<String>,
    /// New list size.
    #[schema(value_type = Option<schema::ListSize>)]
    pub list_size: Option<i64>,
    /// New own site, or `null` for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub site_id: Option<Option<String>>,
    /// New agreement start, or `null` for no agreement.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub data_sharing_from: Option<Option<NaiveDate>>,
    /// New agreement end, or `null` for open-ended.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub data_sharing_to: Option<Option<NaiveDate>>,
}

impl TryFrom<NewPracticeBody> for CreatePractice {
    type Error = ApiError;
    fn try_from(body: NewPracticeBody) -> Result<Self, ApiError> {
        let agreement = DataSharingAgreement::new(body.data_sharing_from, body.data_sharing_to)?;
        Ok(Self {
            ods_code: OdsCode::parse(&body.ods_code)?,
            name: validate_name("name", &body.name, hubbook_core::MAX_NAME_CHARS)?,
            list_size: ListSize::new(body.list_size)?,
            site_id: body.site_id,
            agreement,
        })
    }
}

impl TryFrom<PracticePatch> for UpdatePractice {
    type Error = ApiError;
    fn try_from(body: PracticePatch) -> Result<Self, ApiError> {
        Ok(Self {
            name: validate_optional_name(
                "name",
                body.name.as_deref(),
                hubbook_core::MAX_NAME_CHARS,
            )?,
            list_size: body.list_size.map(ListSize::new).transpose()?,
            site_id: body.site_id,
            data_sharing_from: body.data_sharing_from,
            data_sharing_to: body.data_sharing_to,
        })
    }
}

crate::problems!(ListPracticesProblems: NotFound, InvalidCursor);

/// List the cluster's practices.
#[utoipa::path(tag = "practices", params(("code" = String, Path, description = "Cluster code"), PageQuery), responses((status = 200, body = PageOf<PracticeView>), ListPracticesProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/practices")]
pub async fn list_practices(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<PageOf<PracticeView>>, ApiError> {
    let (after, limit) = page.decode()?;
    let page = state
        .hubbook
        .list_practices(&who, code.into_inner(), after, limit)
        .await?;
    Ok(web::Json(PageOf::from_page(page, PracticeView::from)))
}

crate::problems!(CreatePracticeProblems: Forbidden, NotFound, AlreadyExists, InvalidOdsCode, InvalidListSize, InvalidName, InvalidDateRange, UnknownReference, IdempotencyKeyReused, InvalidIdempotencyKey);

/// Add a practice to the cluster (its manager). Accepts `Idempotency-Key`.
#[utoipa::path(
    tag = "practices",
    params(("code" = String, Path, description = "Cluster code"), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = NewPracticeBody,
    responses(
        (status = 201, body = PracticeView),
        CreatePracticeProblems,
    ),
    security(("bearer" = []))
)]
#[post("/clusters/{code}/practices")]
pub async fn create_practice(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    body: crate::extract::Json<NewPracticeBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let body = body.into_inner()?;
    let replay = Replay::from_request(
        &state,
        &req,
        &who,
        &format!("POST /clusters/{code}/practices"),
        &body,
    )?;
    let command = CreatePractice::try_from(body)?;
    let practice = state
        .hubbook
        .create_practice(&who, replay.map(|r| r.0), code.into_inner(), command)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(practice.version))
        .json(PracticeView::from(practice)))
}

crate::problems!(GetPracticeProblems: NotFound);

/// Read one practice.
#[utoipa::path(tag = "practices", params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Practice id")), responses((status = 200, body = PracticeView, headers(("ETag" = String))), GetPracticeProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/practices/{id}")]
pub async fn get_practice(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (code, id) = path.into_inner();
    let practice = state.hubbook.practice(&who, code, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(practice.version))
        .json(PracticeView::from(practice)))
}

crate::problems!(UpdatePracticeProblems: Forbidden, NotFound, PreconditionRequired, PreconditionFailed, InvalidListSize, InvalidName, InvalidDateRange, UnknownReference);

/// Change a practice (its cluster's manager). Send `If-Match` with the ETag read.
#[utoipa::path(
    tag = "practices",
    params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Practice id"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` updates whatever is current)")),
    request_body = PracticePatch,
    responses((status = 200, body = PracticeView), UpdatePracticeProblems),
    security(("bearer" = []))
)]
#[patch("/clusters/{code}/practices/{id}")]
pub async fn update_practice(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: crate::extract::Json<PracticePatch>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let (code, id) = path.into_inner();
    let changes = UpdatePractice::try_from(body.into_inner()?)?;
    let expected = if_match(&req)?;
    let updated = state
        .hubbook
        .update_practice(&who, code, id, expected, changes)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(updated.version))
        .json(PracticeView::from(updated)))
}
