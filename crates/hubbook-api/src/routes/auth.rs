//! `POST /api/v1/auth/token`: exchanges a password or client secret for a short-lived JWT.

use actix_web::{http::header, post, web, HttpRequest, HttpResponse};
use hubbook_core::Role;
use hubbook_store::repo::{integrations, users};
use hubbook_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{verify_secret, Caller, Principal, Scope, SubjectKind};
use crate::{ApiError, AppState};

/// A token request, by OAuth 2.0 grant type; sent as JSON or as a form.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenRequest {
    /// A staff user's username and password.
    Password {
        /// Login name (case-insensitive).
        username: String,
        /// Password.
        password: String,
    },
    /// An integration client's id and secret.
    ClientCredentials {
        /// The client id issued with the integration.
        client_id: String,
        /// The secret shown once when the integration was created.
        client_secret: String,
    },
}

/// An issued access token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
}

crate::problems!(TokenProblems: InvalidCredentials);

/// A hash to verify against when the user does not exist, so that a wrong username takes as long
/// as a wrong password and does not reveal which usernames exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3x4+H0DqCyeBF2I1CeHGVbqcB6Tf3X5jWZmaSbtnPUk";

/// Exchange credentials for an access token.
///
/// `grant_type=password` with `username` and `password` for staff, or
/// `grant_type=client_credentials` with `client_id` and `client_secret` for integrations.
#[utoipa::path(
    tag = "auth",
    request_body(content(
        (TokenRequest = "application/json"),
        (TokenRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "A token", body = TokenResponse),
        TokenProblems,
    )
)]
#[post("/auth/token")]
pub async fn issue_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(payload, MAX_TOKEN_BODY).await?;
    let request = parse_request(&req, &body)?;
    // Look the caller up, then let the connection go before the deliberately slow hash check.
    let now = state.now();
    let (candidate, secret, hashes) = state
        .db(move |c| match request {
            TokenRequest::Password { username, password } => {
                let user = match users::find_user_by_username(c, &username) {
                    Err(StoreError::NotFound) => None,
                    other => Some(other?),
                };
                let hash = user
                    .as_ref()
                    .map_or(DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
                let candidate = match user {
                    Some(u) if u.active => Some(Caller {
                        id: u.id,
                        kind: SubjectKind::User,
                        role: u
                            .role
                            .parse::<Role>()
                            .map_err(|e| ApiError::Internal(e.to_string()))?,
                        scope: Scope {
                            cluster: u.cluster_id,
                            practice: u.practice_id,
                            clusters: Vec::new(),
                        },
                        credential: None,
                    }),
                    _ => None,
                };
                Ok((candidate, password, vec![(None, hash)]))
            }
            TokenRequest::ClientCredentials {
                client_id,
                client_secret,
            } => {
                let client = match integrations::find_integration_by_client_id(c, &client_id) {
                    Err(StoreError::NotFound) => None,
                    other => Some(other?),
                };
                // An active client's live secrets (one, or two during a rotation).
                let mut hashes: Vec<(Option<String>, String)> = match &client {
                    Some(i) if i.active => integrations::list_secrets(c, &i.id)?
                        .into_iter()
                        .filter(|s| s.live_at(now))
                        .map(|s| (Some(s.id), s.secret_hash))
                        .collect(),
                    _ => Vec::new(),
                };
                // Always as many checks as a client mid-rotation needs, so that timing tells
                // neither whether the client exists nor how many secrets it has.
                while hashes.len() < integrations::MAX_LIVE_SECRETS {
                    hashes.push((None, DUMMY_HASH.to_owned()));
                }
                let candidate = match client {
                    Some(i) if i.active => {
                        let clusters = integrations::integration_cluster_ids(c, &i.id)?;
                        Some(Caller {
                            id: i.id,
                            kind: SubjectKind::Client,
                            role: Role::Triage,
                            scope: Scope {
                                clusters,
                                ..Scope::default()
                            },
                            credential: None,
                        })
                    }
                    _ => None,
                };
                Ok((candidate, client_secret, hashes))
            }
        })
        .await?;
    // An unknown or disabled caller is checked against a hash too, so it takes as long.
    let matched = web::block(move || {
        // Every hash is checked (no early exit), then the first match is taken.
        let results: Vec<(Option<String>, bool)> = hashes
            .into_iter()
            .map(|(id, hash)| {
                let ok = verify_secret(&secret, &hash);
                (id, ok)
            })
            .collect();
        results.into_iter().find(|(_, ok)| *ok).map(|(id, _)| id)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let principal = match (candidate, matched) {
        (Some(p), Some(credential)) if p.kind == SubjectKind::Client && credential.is_some() => {
            Principal(Caller { credential, ..p })
        }
        (Some(p), Some(_)) if p.kind == SubjectKind::User => Principal(p),
        _ => return Err(ApiError::InvalidCredentials),
    };
    let token = state.tokens.issue(&principal, state.clock.now())?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TokenResponse {
            access_token: token,
            token_type: "Bearer".into(),
            expires_in: state.tokens.ttl_seconds(),
        }))
}

/// The largest token request read.
const MAX_TOKEN_BODY: usize = 16 * 1024;

/// Reads a request body up to `limit` bytes; a larger one is a `payload-too-large` problem.
async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, ApiError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::MalformedJson(format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(format!(
                "a token request is at most {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn parse_request(req: &HttpRequest, body: &[u8]) -> Result<TokenRequest, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        serde_urlencoded::from_bytes(body).map_err(|e| {
            ApiError::InvalidBody(format!("the form is not a valid token request: {e}"))
        })
    } else if content_type.starts_with("application/json") {
        serde_json::from_slice(body).map_err(|e| {
            if e.is_data() {
                ApiError::InvalidBody(format!("not a valid token request: {e}"))
            } else {
                ApiError::MalformedJson(format!("the body is not valid JSON: {e}"))
            }
        })
    } else {
        Err(ApiError::UnsupportedMediaType(
            "send application/json or application/x-www-form-urlencoded".into(),
        ))
    }
}
