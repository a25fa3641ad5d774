//! Integration clients (triage services such as NHS 111): an admin creates them for any
//! clusters, a cluster manager for its own; the secret is shown once, at creation.

use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
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
                    secret_hash: None,
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
