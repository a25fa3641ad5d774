//! Integration clients (triage services such as NHS 111): an admin creates them for any
//! clusters, a cluster manager for its own; the secret is shown once, at creation.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hubbook_core::{validate_name, Role};
use hubbook_store::models::{Integration, IntegrationChanges};
use hubbook_store::repo::{clusters, integrations};
use hubbook_store::{DbConn, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::found;
use crate::auth::{generate_secret, hash_secret};
use crate::extract::{etag, if_match, PageOf, PageQuery};
use crate::idempotency::{self, Replay};
use crate::{auth::Principal, ApiError, AppState};

/// An integration client as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntegrationView {
    /// Id.
    pub id: String,
    /// The client id to send with `grant_type=client_credentials`.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Codes of the clusters it may book in.
    pub clusters: Vec<String>,
    /// Whether it may obtain tokens; `false` once revoked.
    pub active: bool,
    /// Current version; also the ETag.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A newly created integration, with its secret: shown this once and never again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedIntegration {
    /// The integration.
    #[serde(flatten)]
    pub integration: IntegrationView,
    /// The client secret. Store it now: it is kept only as a hash. Absent when this answer is a
    /// replay of an earlier create with the same `Idempotency-Key`: a secret is shown only once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// An integration client to create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIntegrationBody {
    /// Display name, e.g. `NHS 111 Yorkshire`.
    pub name: String,
    /// Codes of the clusters it may book in (a manager may name only its own).
    pub clusters: Vec<String>,
    /// The client id to use; generated when omitted.
    pub client_id: Option<String>,
}

/// Changes to an integration; `active: false` revokes it at once.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationPatch {
    /// New display name.
    pub name: Option<String>,
    /// `false` revokes the client: it can no longer obtain tokens.
    pub active: Option<bool>,
}

fn view(c: &mut DbConn, i: Integration) -> Result<IntegrationView, ApiError> {
    let clusters = integrations::integration_cluster_ids(c, &i.id)?
        .iter()
        .map(|id| clusters::get_cluster(c, id).map(|cl| cl.code))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(IntegrationView {
        id: i.id,
        client_id: i.client_id,
        name: i.name,
        clusters,
        active: i.active,
        version: i.version,
        created_at: i.created_at.and_utc(),
    })
}

/// Who may manage integrations: an admin (all), or a cluster manager (those of its cluster only).
fn manager_scope(who: &Principal) -> Result<Option<String>, ApiError> {
    match who.role {
        Role::Admin => Ok(None),
        Role::ClusterManager => Ok(who.scope.cluster.clone()),
        _ => Err(ApiError::Forbidden(
            "only an admin or a cluster manager may manage integrations".into(),
        )),
    }
}

/// Loads an integration the caller may manage: a manager sees only those scoped to its cluster alone.
fn visible(c: &mut DbConn, who: &Principal, id: &str) -> Result<Integration, ApiError> {
    let scope = manager_scope(who)?;
    let integration = found(integrations::get_integration(c, id), "integration")?;
    if let Some(cluster_id) = scope {
        // A manager manages only clients of its cluster alone; one shared with other clusters
        // is the admin's, so that no manager can rename or revoke it for another cluster.
        let ids = integrations::integration_cluster_ids(c, &integration.id)?;
        if ids != [cluster_id] {
            return Err(ApiError::NotFound(
                "no integration here that you may see".into(),
            ));
        }
    }
    Ok(integration)
}

/// List integrations: all for an admin, those of its cluster for a manager.
#[utoipa::path(tag = "integrations", params(PageQuery), responses((status = 200, body = PageOf<IntegrationView>)), security(("bearer" = [])))]
#[get("/integrations")]
pub async fn list_integrations(
    state: web::Data<AppState>,
    who: Principal,
    page: web::Query<PageQuery>,
) -> Result<web::Json<PageOf<IntegrationView>>, ApiError> {
    let scope = manager_scope(&who)?;
    let (after, limit) = page.decode()?;
    let page = state
        .db(move |c| {
            let page =
                integrations::list_integrations(c, scope.as_deref(), after.as_deref(), limit)?;
            let mut items = Vec::with_capacity(page.items.len());
            for i in page.items {
                items.push(view(c, i)?);
            }
            Ok(hubbook_store::Page {
                items,
                next_after: page.next_after,
            })
        })
        .await?;
    Ok(web::Json(PageOf::from_page(page, |v| v)))
}

/// Create an integration client; the response holds its secret, shown only this once.
#[utoipa::path(
    tag = "integrations",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key; a retry returns the same secret")),
    request_body = NewIntegrationBody,
    responses(
        (status = 201, body = CreatedIntegration),
        (status = 409, description = "Client id taken", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown cluster or invalid name", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/integrations")]
pub async fn create_integration(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    body: web::Json<NewIntegrationBody>,
) -> Result<HttpResponse, ApiError> {
    let scope = manager_scope(&who)?;
    let body = body.into_inner();
    let replay = Replay::from_request(&state, &req, &who, "POST /integrations", &body)?;
    let name = validate_name("name", &body.name, 200)?;
    if body.clusters.is_empty() {
        return Err(ApiError::Unprocessable(
            "invalid-body",
            "an integration needs at least one cluster".into(),
        ));
    }
    let client_id = match body.client_id {
        Some(id)
            if (3..=64).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) =>
        {
            id
        }
        Some(_) => {
            return Err(ApiError::Unprocessable(
                "invalid-client-id",
                "a client id is 3 to 64 letters, digits, dots, hyphens or underscores".into(),
            ))
        }
        None => format!("hb-{}", uuid::Uuid::now_v7().simple()),
    };
    let secret = generate_secret();
    let secret_for_hash = secret.clone();
    let secret_hash = web::block(move || hash_secret(&secret_for_hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let change = state.change(&who);
    let codes = body.clusters;
    let forget_secret: fn(&mut serde_json::Value) = |v| {
        if let Some(map) = v.as_object_mut() {
            map.remove("client_secret");
        }
    };
    idempotency::create_redacted(&state, replay, forget_secret, move |c| {
        let mut cluster_ids = Vec::new();
        for code in &codes {
            let cluster = match clusters::get_cluster_by_code(c, &code.to_ascii_uppercase()) {
                Ok(cl) if scope.as_ref().is_none_or(|s| *s == cl.id) => cl,
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(ApiError::Unprocessable(
                        "unknown-cluster",
                        format!("no cluster {code} that you may manage"),
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            if !cluster_ids.contains(&cluster.id) {
                cluster_ids.push(cluster.id);
            }
        }
        let created = integrations::create_integration(
            c,
            &change,
            integrations::NewIntegration {
                client_id,
                name,
                secret_hash,
                cluster_ids,
            },
        )?;
        let version = created.version;
        Ok((
            CreatedIntegration {
                integration: view(c, created)?,
                client_secret: Some(secret),
            },
            Some(version),
        ))
    })
    .await
}

/// Read one integration.
#[utoipa::path(tag = "integrations", params(("id" = String, Path, description = "Integration id")), responses((status = 200, body = IntegrationView), (status = 404, body = crate::Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
#[get("/integrations/{id}")]
pub async fn get_integration(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .db(move |c| {
            let i = visible(c, &who, &id)?;
            view(c, i)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(view.version))
        .json(view))
}

/// Rename or revoke an integration. Send `If-Match` with the ETag read.
#[utoipa::path(
    tag = "integrations",
    params(("id" = String, Path, description = "Integration id"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` updates whatever is current)")),
    request_body = IntegrationPatch,
    responses((status = 200, body = IntegrationView), (status = 412, body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[patch("/integrations/{id}")]
pub async fn update_integration(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<IntegrationPatch>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let name = body
        .name
        .as_deref()
        .map(|n| validate_name("name", n, 200))
        .transpose()?;
    let expected = if_match(&req)?;
    let change = state.change(&who);
    let view = state
        .db(move |c| {
            visible(c, &who, &id)?;
            let updated = integrations::update_integration(
                c,
                &change,
                &id,
                expected,
                IntegrationChanges {
                    name,
                    active: body.active,
                },
            )?;
            view(c, updated)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(view.version))
        .json(view))
}

/// One of an integration's secrets, as the API shows it (never the secret itself).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SecretView {
    /// Id, to revoke it by.
    pub id: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working by itself (the old secret of a rotation).
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Whether it works now.
    pub live: bool,
}

/// A newly created secret: shown this once and never again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedSecret {
    /// The secret's record.
    #[serde(flatten)]
    pub secret: SecretView,
    /// The client secret. Store it now: it is kept only as a hash.
    pub client_secret: String,
}

/// A rotation: a new secret, with the current one kept working for a changeover.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotationBody {
    /// Minutes the current secret keeps working (0 to 43,200, default 1,440: a day); 0 cuts over
    /// at once. Revoke it earlier with `DELETE /api/v1/integrations/{id}/secrets/{secret_id}`.
    pub previous_valid_minutes: Option<i64>,
}

/// The default changeover of a rotation, in minutes (a day).
pub const DEFAULT_CHANGEOVER_MINUTES: i64 = 1_440;

/// The longest changeover of a rotation, in minutes (thirty days).
pub const MAX_CHANGEOVER_MINUTES: i64 = 43_200;

fn secret_view(
    s: hubbook_store::models::IntegrationSecret,
    now: chrono::NaiveDateTime,
) -> SecretView {
    SecretView {
        live: s.live_at(now),
        id: s.id,
        created_at: s.created_at.and_utc(),
        expires_at: s.expires_at.map(|t| t.and_utc()),
        revoked_at: s.revoked_at.map(|t| t.and_utc()),
    }
}

/// List an integration's secrets, newest first, with whether each works now.
#[utoipa::path(tag = "integrations", params(("id" = String, Path, description = "Integration id")), responses((status = 200, body = Vec<SecretView>), (status = 404, body = crate::Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
#[get("/integrations/{id}/secrets")]
pub async fn list_secrets(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> Result<web::Json<Vec<SecretView>>, ApiError> {
    let now = state.now();
    let secrets = state
        .db(move |c| {
            let i = visible(c, &who, &id)?;
            Ok(integrations::list_secrets(c, &i.id)?)
        })
        .await?;
    Ok(web::Json(
        secrets.into_iter().map(|s| secret_view(s, now)).collect(),
    ))
}

/// Rotate an integration's secret: a new secret (shown once) works at once, and the current one
/// keeps working for `previous_valid_minutes` so the client can change over without a gap. At
/// most two secrets are live at a time: revoke one before rotating again (`secret-limit`).
#[utoipa::path(
    tag = "integrations",
    params(("id" = String, Path, description = "Integration id")),
    request_body = RotationBody,
    responses(
        (status = 201, body = CreatedSecret),
        (status = 404, body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`secret-limit`: two secrets are already live", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-changeover`", body = crate::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/integrations/{id}/secrets")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
    body: web::Json<RotationBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let minutes = body
        .previous_valid_minutes
        .unwrap_or(DEFAULT_CHANGEOVER_MINUTES);
    if !(0..=MAX_CHANGEOVER_MINUTES).contains(&minutes) {
        return Err(ApiError::Unprocessable(
            "invalid-changeover",
            format!("previous_valid_minutes is 0 to {MAX_CHANGEOVER_MINUTES}"),
        ));
    }
    let secret = generate_secret();
    let for_hash = secret.clone();
    let hash = web::block(move || hash_secret(&for_hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let change = state.change(&who);
    let until = change.at + chrono::Duration::minutes(minutes);
    let now = change.at;
    let created = state
        .db(move |c| {
            let i = visible(c, &who, &id)?;
            Ok(integrations::add_secret(c, &change, &i.id, hash, until)?)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(CreatedSecret {
            secret: secret_view(created, now),
            client_secret: secret,
        }))
}

/// Revoke one secret at once: tokens issued with it stop working on their next request.
#[utoipa::path(
    tag = "integrations",
    params(("id" = String, Path, description = "Integration id"), ("secret_id" = String, Path, description = "Secret id")),
    responses((status = 200, body = SecretView), (status = 404, body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[delete("/integrations/{id}/secrets/{secret_id}")]
pub async fn revoke_secret(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<web::Json<SecretView>, ApiError> {
    let (id, secret_id) = path.into_inner();
    let change = state.change(&who);
    let now = change.at;
    let revoked = state
        .db(move |c| {
            let i = visible(c, &who, &id)?;
            found(
                integrations::revoke_secret(c, &change, &i.id, &secret_id),
                "secret",
            )
        })
        .await?;
    Ok(web::Json(secret_view(revoked, now)))
}
