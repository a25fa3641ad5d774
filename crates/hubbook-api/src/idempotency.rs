//! `Idempotency-Key` on creates: the first response is stored with the key in the creating
//! transaction, and a retry with the same key and body gets it again without a second create.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use hubbook_store::repo::idempotency::{once, Claim, Once};
use hubbook_store::DbConn;
use serde::Serialize;

use crate::{auth::Principal, ApiError, AppState};

/// A create request's identity for idempotency: the claim its `Idempotency-Key` makes.
#[derive(Debug, Clone)]
pub struct Replay(pub Claim);

impl Replay {
    /// Describes a request from its `Idempotency-Key` header, if it has one. The request hash is
    /// an HMAC of the route and the body's JSON under the server's key: bodies may hold passwords.
    pub fn from_request<B: Serialize>(
        state: &AppState,
        req: &HttpRequest,
        who: &Principal,
        route: &str,
        body: &B,
    ) -> Result<Option<Self>, ApiError> {
        let Some(key) = crate::extract::idempotency_key(req)? else {
            return Ok(None);
        };
        Ok(Some(Self(state.hubbook.claim(who, key, route, body)?)))
    }
}

/// A created resource's response: status, body and ETag version.
pub struct Created {
    /// The JSON body.
    pub body: String,
    /// The version for the ETag header, if the resource has one.
    pub version: Option<i64>,
}

/// Runs a create with optional idempotency and renders the 201 response (or the stored one).
///
/// `create` runs inside the store's write transaction that also claims and completes the key.
pub async fn create<T, F>(
    state: &AppState,
    replay: Option<Replay>,
    create: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<(T, Option<i64>), ApiError> + Send + 'static,
{
    create_redacted(state, replay, |_| {}, create).await
}

/// Like [`create`], but `redact` removes from the stored copy what must be shown only once
/// (a client secret), so a replay answers without it.
pub async fn create_redacted<T, F>(
    state: &AppState,
    replay: Option<Replay>,
    redact: fn(&mut serde_json::Value),
    create: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<(T, Option<i64>), ApiError> + Send + 'static,
{
    let now = state.now();
    let outcome = state
        .db(move |c| {
            let claim = replay.map(|r| r.0);
            let record = |(value, version): &(T, Option<i64>)| {
                let mut kept =
                    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.to_string()))?;
                redact(&mut kept);
                Ok(serde_json::json!({ "version": version, "body": kept.to_string() }).to_string())
            };
            match once(c, claim.as_ref(), now, create, record)? {
                Once::Created((value, version)) => Ok(Created {
                    body: serde_json::to_string(&value)
                        .map_err(|e| ApiError::Internal(e.to_string()))?,
                    version,
                }),
                Once::Replayed(record) => {
                    let stored: serde_json::Value = serde_json::from_str(&record)
                        .map_err(|e| ApiError::Internal(e.to_string()))?;
                    Ok(Created {
                        body: stored["body"].as_str().unwrap_or_default().to_owned(),
                        version: stored["version"].as_i64(),
                    })
                }
            }
        })
        .await?;
    let mut response = HttpResponse::build(StatusCode::CREATED);
    response.content_type("application/json");
    if let Some(v) = outcome.version {
        response.insert_header(crate::extract::etag(v));
    }
    Ok(response.body(outcome.body))
}
