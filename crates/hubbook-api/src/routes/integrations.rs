//! Integration clients (triage services such as NHS 111): an admin creates them for any
//! clusters, a cluster manager for its own; the secret is shown once, at creation.

use super::schema;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hubbook_core::validate_optional_name;
use hubbook_service::integrations::{
    ClientSecret, CreateIntegration, IntegrationClient, UpdateIntegration,
};
use hubbook_store::models::IntegrationCertificate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::{etag, if_match, PageOf, PageQuery};
use crate::idempotency::Replay;
use crate::{auth::Principal, ApiError, AppState};

pub use hubbook_service::integrations::{DEFAULT_CHANGEOVER_MINUTES, MAX_CHANGEOVER_MINUTES};

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
    /// The ODS code of the practice it books for, when it is a practice's own system (it then
    /// sees and books what the practice's receptionists do); absent for a triage service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practice: Option<String>,
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
    #[schema(value_type = schema::Name)]
    pub name: String,
    /// Codes of the clusters it may book in (a manager may name only its own); at least one.
    #[schema(value_type = Vec<schema::ClusterCode>, min_items = 1)]
    pub clusters: Vec<String>,
    /// The client id to use; generated when omitted.
    #[schema(value_type = Option<schema::ClientId>)]
    pub client_id: Option<String>,
    /// A practice's own system: the ODS code of the practice it books for, a member of the one
    /// cluster named. Omitted for a triage service such as NHS 111.
    #[serde(default)]
    #[schema(value_type = Option<schema::OdsCode>)]
    pub practice: Option<String>,
}

/// Changes to an integration; `active: false` revokes it at once.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationPatch {
    /// New display name.
    #[schema(value_type = Option<schema::Name>)]
    pub name: Option<String>,
    /// `false` revokes the client: it can no longer obtain tokens.
    pub active: Option<bool>,
}

impl From<IntegrationClient> for IntegrationView {
    fn from(client: IntegrationClient) -> Self {
        let i = client.integration;
        Self {
            id: i.id,
            client_id: i.client_id,
            name: i.name,
            clusters: client.cluster_codes,
            practice: client.practice_ods,
            active: i.active,
            version: i.version,
            created_at: i.created_at.and_utc(),
        }
    }
}

impl From<NewIntegrationBody> for CreateIntegration {
    fn from(body: NewIntegrationBody) -> Self {
        Self {
            name: body.name,
            clusters: body.clusters,
            client_id: body.client_id,
            practice: body.practice,
        }
    }
}

impl TryFrom<IntegrationPatch> for UpdateIntegration {
    type Error = ApiError;
    fn try_from(body: IntegrationPatch) -> Result<Self, ApiError> {
        Ok(Self {
            name: validate_optional_name(
                "name",
                body.name.as_deref(),
                hubbook_core::MAX_NAME_CHARS,
            )?,
            active: body.active,
        })
    }
}

crate::problems!(ListIntegrationsProblems: Forbidden, InvalidCursor);

/// List integrations: all for an admin, those of its cluster for a manager.
#[utoipa::path(tag = "integrations", params(PageQuery), responses((status = 200, body = PageOf<IntegrationView>), ListIntegrationsProblems), security(("bearer" = [])))]
#[get("/integrations")]
pub async fn list_integrations(
    state: web::Data<AppState>,
    who: Principal,
    page: web::Query<PageQuery>,
) -> Result<web::Json<PageOf<IntegrationView>>, ApiError> {
    let (after, limit) = page.decode()?;
    let page = state.hubbook.list_integrations(&who, after, limit).await?;
    Ok(web::Json(PageOf::from_page(page, IntegrationView::from)))
}

crate::problems!(CreateIntegrationProblems: Forbidden, AlreadyExists, UnknownCluster, InvalidClientId, InvalidName, InvalidBody, InvalidOdsCode, PracticeNotInCluster, IdempotencyKeyReused, InvalidIdempotencyKey);

/// Create an integration client; the response holds its secret, shown only this once.
#[utoipa::path(
    tag = "integrations",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key; a retry returns the same secret")),
    request_body = NewIntegrationBody,
    responses(
        (status = 201, body = CreatedIntegration),
        CreateIntegrationProblems,
    ),
    security(("bearer" = []))
)]
#[post("/integrations")]
pub async fn create_integration(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    body: crate::extract::Json<NewIntegrationBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Integrations)?;
    let body = body.into_inner()?;
    let replay = Replay::from_request(&state, &req, &who, "POST /integrations", &body)?;
    let created = state
        .hubbook
        .create_integration(&who, replay.map(|r| r.0), CreateIntegration::from(body))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(created.client.integration.version))
        .json(CreatedIntegration {
            integration: IntegrationView::from(created.client),
            client_secret: created.secret,
        }))
}

crate::problems!(GetIntegrationProblems: Forbidden, NotFound);

/// Read one integration.
#[utoipa::path(tag = "integrations", params(("id" = String, Path, description = "Integration id")), responses((status = 200, body = IntegrationView), GetIntegrationProblems), security(("bearer" = [])))]
#[get("/integrations/{id}")]
pub async fn get_integration(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let client = state.hubbook.integration(&who, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(client.integration.version))
        .json(IntegrationView::from(client)))
}

crate::problems!(UpdateIntegrationProblems: Forbidden, NotFound, PreconditionRequired, PreconditionFailed, InvalidName, UnknownCluster);

/// Rename or revoke an integration. Send `If-Match` with the ETag read.
#[utoipa::path(
    tag = "integrations",
    params(("id" = String, Path, description = "Integration id"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` updates whatever is current)")),
    request_body = IntegrationPatch,
    responses((status = 200, body = IntegrationView), UpdateIntegrationProblems),
    security(("bearer" = []))
)]
#[patch("/integrations/{id}")]
pub async fn update_integration(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: crate::extract::Json<IntegrationPatch>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Integrations)?;
    let changes = UpdateIntegration::try_from(body.into_inner()?)?;
    let expected = if_match(&req)?;
    let client = state
        .hubbook
        .update_integration(&who, id.into_inner(), expected, changes)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(client.integration.version))
        .json(IntegrationView::from(client)))
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
    #[schema(value_type = Option<schema::ChangeoverMinutes>)]
    pub previous_valid_minutes: Option<i64>,
}

impl From<ClientSecret> for SecretView {
    fn from(s: ClientSecret) -> Self {
        Self {
            live: s.live,
            id: s.secret.id,
            created_at: s.secret.created_at.and_utc(),
            expires_at: s.secret.expires_at.map(|t| t.and_utc()),
            revoked_at: s.secret.revoked_at.map(|t| t.and_utc()),
        }
    }
}

crate::problems!(ListSecretsProblems: Forbidden, NotFound);

/// List an integration's secrets, newest first, with whether each works now.
#[utoipa::path(tag = "integrations", params(("id" = String, Path, description = "Integration id")), responses((status = 200, body = Vec<SecretView>), ListSecretsProblems), security(("bearer" = [])))]
#[get("/integrations/{id}/secrets")]
pub async fn list_secrets(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> Result<web::Json<Vec<SecretView>>, ApiError> {
    let secrets = state.hubbook.list_secrets(&who, id.into_inner()).await?;
    Ok(web::Json(
        secrets.into_iter().map(SecretView::from).collect(),
    ))
}

crate::problems!(RotateSecretProblems: Forbidden, NotFound, SecretLimit, InvalidChangeover);

/// Rotate an integration's secret: a new secret (shown once) works at once, and the current one
/// keeps working for `previous_valid_minutes` so the client can change over without a gap. At
/// most two secrets are live at a time: revoke one before rotating again (`secret-limit`).
#[utoipa::path(
    tag = "integrations",
    params(("id" = String, Path, description = "Integration id")),
    request_body = RotationBody,
    responses(
        (status = 201, body = CreatedSecret),
        RotateSecretProblems,
    ),
    security(("bearer" = []))
)]
#[post("/integrations/{id}/secrets")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
    body: crate::extract::Json<RotationBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Integrations)?;
    let body = body.into_inner()?;
    let issued = state
        .hubbook
        .rotate_secret(&who, id.into_inner(), body.previous_valid_minutes)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(CreatedSecret {
            secret: SecretView::from(issued.secret),
            client_secret: issued.client_secret,
        }))
}

crate::problems!(RevokeSecretProblems: Forbidden, NotFound);

/// Revoke one secret at once: tokens issued with it stop working on their next request.
#[utoipa::path(
    tag = "integrations",
    params(("id" = String, Path, description = "Integration id"), ("secret_id" = String, Path, description = "Secret id")),
    responses((status = 200, body = SecretView), RevokeSecretProblems),
    security(("bearer" = []))
)]
#[delete("/integrations/{id}/secrets/{secret_id}")]
pub async fn revoke_secret(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<web::Json<SecretView>, ApiError> {
    let (id, secret_id) = path.into_inner();
    let revoked = state.hubbook.revoke_secret(&who, id, secret_id).await?;
    Ok(web::Json(SecretView::from(revoked)))
}

/// One of an integration's TLS client certificates, by its SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CertificateView {
    /// The SHA-256 of the certificate's DER, 64 lower-case hex digits.
    pub sha256: String,
    /// Whether a connection with it is accepted now.
    pub live: bool,
    /// When registered.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When revoked, if it was.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<IntegrationCertificate> for CertificateView {
    fn from(c: IntegrationCertificate) -> Self {
        Self {
            live: c.revoked_at.is_none(),
            sha256: c.sha256,
            created_at: c.created_at.and_utc(),
            revoked_at: c.revoked_at.map(|t| t.and_utc()),
        }
    }
}

/// A client certificate to register.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateBody {
    /// The certificate as one PEM block (`-----BEGIN CERTIFICATE-----` ...); only its SHA-256
    /// is kept.
    pub certificate: String,
}

crate::problems!(AddCertificateProblems: Forbidden, NotFound, InvalidCertificate, AlreadyExists);

/// Register a TLS client certificate for an integration: a client connecting with it (to a
/// server started with `--tls-client-ca`) is that integration, as the GP Connect facade
/// authenticates its consumers. A certificate registered already, anywhere, is `already-exists`.
#[utoipa::path(
    tag = "integrations",
    params(("id" = String, Path, description = "Integration id")),
    request_body = CertificateBody,
    responses((status = 201, body = CertificateView), AddCertificateProblems),
    security(("bearer" = []))
)]
#[post("/integrations/{id}/certificates")]
pub async fn add_certificate(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
    body: crate::extract::Json<CertificateBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Integrations)?;
    let added = state
        .hubbook
        .add_certificate(&who, id.into_inner(), body.into_inner()?.certificate)
        .await?;
    Ok(HttpResponse::Created().json(CertificateView::from(added)))
}

crate::problems!(ListCertificatesProblems: Forbidden, NotFound);

/// List an integration's client certificates, newest first, revoked ones too.
#[utoipa::path(tag = "integrations", params(("id" = String, Path, description = "Integration id")), responses((status = 200, body = Vec<CertificateView>), ListCertificatesProblems), security(("bearer" = [])))]
#[get("/integrations/{id}/certificates")]
pub async fn list_certificates(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> Result<web::Json<Vec<CertificateView>>, ApiError> {
    let certificates = state
        .hubbook
        .list_certificates(&who, id.into_inner())
        .await?;
    Ok(web::Json(
        certificates
            .into_iter()
            .map(CertificateView::from)
            .collect(),
    ))
}

crate::problems!(RevokeCertificateProblems: Forbidden, NotFound);

/// Revoke a client certificate at once: the next request made with it is refused.
#[utoipa::path(
    tag = "integrations",
    params(("id" = String, Path, description = "Integration id"), ("sha256" = String, Path, description = "The certificate's SHA-256")),
    responses((status = 200, body = CertificateView), RevokeCertificateProblems),
    security(("bearer" = []))
)]
#[delete("/integrations/{id}/certificates/{sha256}")]
pub async fn revoke_certificate(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<web::Json<CertificateView>, ApiError> {
    let (id, sha256) = path.into_inner();
    let revoked = state.hubbook.revoke_certificate(&who, id, sha256).await?;
    Ok(web::Json(CertificateView::from(revoked)))
}
