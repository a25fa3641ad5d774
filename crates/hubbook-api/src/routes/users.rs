//! Staff users of a cluster: created and managed by the cluster's manager (or an admin).

use super::schema;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hubbook_core::validate_optional_name;
use hubbook_service::users::{CreateUser, UpdateUser};
use hubbook_store::models::User;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::{etag, if_match, PageOf, PageQuery};
use crate::idempotency::Replay;
use crate::{auth::Principal, ApiError, AppState};

pub use hubbook_service::users::MIN_PASSWORD_LEN;

/// A staff user as the API shows it (never its password).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Login name (lower case).
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// `cluster_manager`, `hub_staff` or `receptionist`.
    pub role: String,
    /// The receptionist's practice id.
    pub practice_id: Option<String>,
    /// Whether the user may sign in.
    pub active: bool,
    /// Current version; also the ETag.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role.into(),
            practice_id: u.practice_id.map(Into::into),
            active: u.active,
            version: u.version,
            created_at: u.created_at.and_utc(),
        }
    }
}

/// A staff user to create in the cluster.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    /// Login name: 3 to 64 letters, digits, dots, hyphens or underscores.
    #[schema(value_type = schema::Username)]
    pub username: String,
    /// Name shown to others.
    #[schema(value_type = schema::Name)]
    pub display_name: String,
    /// At least 12 characters.
    #[schema(value_type = schema::Password)]
    pub password: String,
    /// `cluster_manager`, `hub_staff` or `receptionist`.
    #[schema(value_type = schema::StaffRole)]
    pub role: String,
    /// Required for a receptionist: the id of their practice in this cluster.
    pub practice_id: Option<String>,
}

/// Changes to a user; omitted fields stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New display name.
    #[schema(value_type = Option<schema::Name>)]
    pub display_name: Option<String>,
    /// New password (at least 12 characters).
    #[schema(value_type = Option<schema::Password>)]
    pub password: Option<String>,
    /// `false` stops the user signing in.
    pub active: Option<bool>,
}

impl TryFrom<NewUserBody> for CreateUser {
    type Error = ApiError;
    fn try_from(body: NewUserBody) -> Result<Self, ApiError> {
        Ok(CreateUser::new(
            &body.username,
            &body.display_name,
            body.password,
            &body.role,
            body.practice_id,
        )?)
    }
}

impl TryFrom<UserPatch> for UpdateUser {
    type Error = ApiError;
    fn try_from(body: UserPatch) -> Result<Self, ApiError> {
        Ok(Self {
            display_name: validate_optional_name(
                "display_name",
                body.display_name.as_deref(),
                hubbook_core::MAX_NAME_CHARS,
            )?,
            password: body.password,
            active: body.active,
        })
    }
}

crate::problems!(ListUsersProblems: Forbidden, NotFound, InvalidCursor);

/// List the cluster's staff users (its manager, or an admin).
#[utoipa::path(tag = "users", params(("code" = String, Path, description = "Cluster code"), PageQuery), responses((status = 200, body = PageOf<UserView>), ListUsersProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<PageOf<UserView>>, ApiError> {
    let (after, limit) = page.decode()?;
    let page = state
        .hubbook
        .list_users(&who, code.into_inner(), after, limit)
        .await?;
    Ok(web::Json(PageOf::from_page(page, UserView::from)))
}

crate::problems!(CreateUserProblems: Forbidden, NotFound, AlreadyExists, UnknownRole, InvalidRole, InvalidUsername, WeakPassword, InvalidName, UnknownReference, IdempotencyKeyReused, InvalidIdempotencyKey);

/// Create a staff user in the cluster (its manager, or an admin). Accepts `Idempotency-Key`.
#[utoipa::path(
    tag = "users",
    params(("code" = String, Path, description = "Cluster code"), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = NewUserBody,
    responses(
        (status = 201, body = UserView),
        CreateUserProblems,
    ),
    security(("bearer" = []))
)]
#[post("/clusters/{code}/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    body: crate::extract::Json<NewUserBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::ManageUsers,
    ))?;
    let body = body.into_inner()?;
    let replay = Replay::from_request(
        &state,
        &req,
        &who,
        &format!("POST /clusters/{code}/users"),
        &body,
    )?;
    let command = CreateUser::try_from(body)?;
    let user = state
        .hubbook
        .create_user(&who, replay.map(|r| r.0), code.into_inner(), command)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(user.version))
        .json(UserView::from(user)))
}

crate::problems!(GetUserProblems: Forbidden, NotFound);

/// Read one staff user of the cluster.
#[utoipa::path(tag = "users", params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "User id")), responses((status = 200, body = UserView), GetUserProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (code, id) = path.into_inner();
    let user = state.hubbook.user(&who, code, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(user.version))
        .json(UserView::from(user)))
}

crate::problems!(UpdateUserProblems: Forbidden, NotFound, PreconditionRequired, PreconditionFailed, WeakPassword, InvalidName);

/// Change a user's name or password, or stop them signing in. Send `If-Match` with the ETag read.
#[utoipa::path(
    tag = "users",
    params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "User id"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` updates whatever is current)")),
    request_body = UserPatch,
    responses((status = 200, body = UserView), UpdateUserProblems),
    security(("bearer" = []))
)]
#[patch("/clusters/{code}/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: crate::extract::Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::ManageUsers,
    ))?;
    let (code, id) = path.into_inner();
    let changes = UpdateUser::try_from(body.into_inner()?)?;
    let expected = if_match(&req)?;
    let updated = state
        .hubbook
        .update_user(&who, code, id, expected, changes)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(updated.version))
        .json(UserView::from(updated)))
}
