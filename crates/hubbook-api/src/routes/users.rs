//! Staff users of a cluster: created and managed by the cluster's manager (or an admin).

use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hubbook_core::{validate_name, Role};
use hubbook_store::models::{User, UserChanges};
use hubbook_store::repo::{practices, users};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{cluster_for, found, Need};
use crate::auth::hash_secret;
use crate::extract::{etag, if_match, PageOf, PageQuery};
use crate::idempotency::{self, Replay};
use crate::{auth::Principal, ApiError, AppState};

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;

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
            role: u.role,
            practice_id: u.practice_id,
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
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// At least 12 characters.
    pub password: String,
    /// `cluster_manager`, `hub_staff` or `receptionist`.
    pub role: String,
    /// Required for a receptionist: the id of their practice in this cluster.
    pub practice_id: Option<String>,
}

/// Changes to a user; omitted fields stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New display name.
    pub display_name: Option<String>,
    /// New password (at least 12 characters).
    pub password: Option<String>,
    /// `false` stops the user signing in.
    pub active: Option<bool>,
}

fn check_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::Unprocessable(
            "weak-password",
            format!("a password needs at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// Checks the caller may manage the cluster's users before any slow password hashing is done.
async fn authorise(state: &AppState, who: &Principal, code: &str) -> Result<(), ApiError> {
    let (who, code) = (who.clone(), code.to_owned());
    state
        .db(move |c| cluster_for(c, &who, &code, Need::ManageUsers).map(|_| ()))
        .await
}

async fn hash(password: String) -> Result<String, ApiError> {
    Ok(web::block(move || hash_secret(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??)
}

/// List the cluster's staff users (its manager, or an admin).
#[utoipa::path(tag = "users", params(("code" = String, Path, description = "Cluster code"), PageQuery), responses((status = 200, body = PageOf<UserView>)), security(("bearer" = [])))]
#[get("/clusters/{code}/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<PageOf<UserView>>, ApiError> {
    let (after, limit) = page.decode()?;
    let page = state
        .db(move |c| {
            let cluster = cluster_for(c, &who, &code, Need::ManageUsers)?;
            Ok(users::list_users(c, &cluster.id, after.as_deref(), limit)?)
        })
        .await?;
    Ok(web::Json(PageOf::from_page(page, UserView::from)))
}

/// Create a staff user in the cluster (its manager, or an admin). Accepts `Idempotency-Key`.
#[utoipa::path(
    tag = "users",
    params(("code" = String, Path, description = "Cluster code"), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = NewUserBody,
    responses(
        (status = 201, body = UserView),
        (status = 409, description = "Username taken", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid role, practice or weak password", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/clusters/{code}/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    body: web::Json<NewUserBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let replay = Replay::from_request(
        &state,
        &req,
        &who,
        &format!("POST /clusters/{code}/users"),
        &body,
    )?;
    let role: Role = body.role.parse()?;
    if !role.needs_cluster() {
        return Err(ApiError::Unprocessable(
            "invalid-role",
            format!("a cluster user is a cluster_manager, hub_staff or receptionist, not {role}"),
        ));
    }
    if role.needs_practice() != body.practice_id.is_some() {
        return Err(ApiError::Unprocessable(
            "invalid-role",
            "a receptionist needs a practice_id, and only a receptionist has one".into(),
        ));
    }
    let username = body.username.trim().to_lowercase();
    if !(3..=64).contains(&username.len())
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(ApiError::Unprocessable(
            "invalid-username",
            "a username is 3 to 64 letters, digits, dots, hyphens or underscores".into(),
        ));
    }
    let display_name = validate_name("display_name", &body.display_name, 200)?;
    check_password(&body.password)?;
    authorise(&state, &who, &code).await?;
    let password_hash = hash(body.password.clone()).await?;
    let change = state.change(&who);
    idempotency::create(&state, replay, move |c| {
        let cluster = cluster_for(c, &who, &code, Need::ManageUsers)?;
        if let Some(practice_id) = &body.practice_id {
            found(
                practices::get_practice(c, &cluster.id, practice_id),
                "practice",
            )?;
        }
        let new = users::NewUser {
            username,
            display_name,
            password_hash,
            role: role.as_str().to_owned(),
            cluster_id: Some(cluster.id),
            practice_id: body.practice_id,
        };
        let created = users::create_user(c, &change, new)?;
        let version = created.version;
        Ok((UserView::from(created), Some(version)))
    })
    .await
}

/// Read one staff user of the cluster.
#[utoipa::path(tag = "users", params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "User id")), responses((status = 200, body = UserView), (status = 404, body = crate::Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
#[get("/clusters/{code}/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (code, id) = path.into_inner();
    let user = state
        .db(move |c| {
            let cluster = cluster_for(c, &who, &code, Need::ManageUsers)?;
            user_in(c, &cluster.id, &id)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(user.version))
        .json(UserView::from(user)))
}

fn user_in(c: &mut hubbook_store::DbConn, cluster_id: &str, id: &str) -> Result<User, ApiError> {
    let user = found(users::get_user(c, id), "user")?;
    if user.cluster_id.as_deref() == Some(cluster_id) {
        Ok(user)
    } else {
        Err(ApiError::NotFound("no user here that you may see".into()))
    }
}

/// Change a user's name or password, or stop them signing in. Send `If-Match` with the ETag read.
#[utoipa::path(
    tag = "users",
    params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "User id"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` updates whatever is current)")),
    request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 412, body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[patch("/clusters/{code}/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    let (code, id) = path.into_inner();
    let body = body.into_inner();
    let display_name = body
        .display_name
        .as_deref()
        .map(|n| validate_name("display_name", n, 200))
        .transpose()?;
    authorise(&state, &who, &code).await?;
    let password_hash = match body.password {
        Some(p) => {
            check_password(&p)?;
            Some(hash(p).await?)
        }
        None => None,
    };
    let expected = if_match(&req)?;
    let change = state.change(&who);
    let updated = state
        .db(move |c| {
            let cluster = cluster_for(c, &who, &code, Need::ManageUsers)?;
            user_in(c, &cluster.id, &id)?;
            Ok(users::update_user(
                c,
                &change,
                &id,
                expected,
                UserChanges {
                    display_name,
                    password_hash,
                    active: body.active,
                },
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(updated.version))
        .json(UserView::from(updated)))
}
