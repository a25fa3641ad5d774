//! `POST /api/v1/auth/token`: exchanges a password or client secret for a short-lived JWT.

use actix_web::{http::header, post, web, HttpRequest, HttpResponse};
use hubbook_service::sign_in::Credentials;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Principal;
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

crate::problems!(TokenProblems: InvalidCredentials, SignInThrottled);

/// Exchange credentials for an access token.
///
/// `grant_type=password` with `username` and `password` for staff, or
/// `grant_type=client_credentials` with `client_id` and `client_secret` for integrations.
/// Wrong tries are throttled per username or client id and per address: past a few, each
/// further one makes them wait longer (`429 sign-in-throttled` with `Retry-After`).
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
    let credentials = match parse_request(&req, &body)? {
        TokenRequest::Password { username, password } => {
            Credentials::Password { username, password }
        }
        TokenRequest::ClientCredentials {
            client_id,
            client_secret,
        } => Credentials::ClientSecret {
            client_id,
            client_secret,
        },
    };
    // The TCP peer: behind a reverse proxy, the proxy's address (no forwarded header is trusted).
    let address = req.peer_addr().map(|a| a.ip());
    let principal = Principal(state.hubbook.sign_in(credentials, address).await?);
    // A token's lifetime runs on the wall clock, the one its expiry is checked against, whatever
    // the clock of the appointment book says (a test may set that one anywhere).
    let token = state.tokens.issue(&principal, chrono::Utc::now())?;
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
        let request: TokenRequest = serde_urlencoded::from_bytes(body).map_err(|e| {
            ApiError::InvalidBody(format!("the form is not a valid token request: {e}"))
        })?;
        // As a JSON body is checked before any route: no name or secret holds one, and
        // PostgreSQL could not look up a NUL.
        let (name, secret) = match &request {
            TokenRequest::Password { username, password } => (username, password),
            TokenRequest::ClientCredentials {
                client_id,
                client_secret,
            } => (client_id, client_secret),
        };
        if name
            .chars()
            .chain(secret.chars())
            .any(hubbook_core::control::refused)
        {
            return Err(ApiError::Refused(
                crate::ProblemType::InvalidText,
                "a value of the form holds a control character such as %00".into(),
            ));
        }
        Ok(request)
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
