//! `Idempotency-Key` on creates: the first response is stored with the key in the creating
//! transaction, and a retry with the same key and body gets it again without a second create.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use hubbook_store::models::IdempotencyRecord;
use hubbook_store::repo::idempotency::{claim_key, complete_key, find_key};
use hubbook_store::{write_tx, ConflictKind, DbConn, StoreError};
use serde::Serialize;
use sha2::Sha256;

use crate::{auth::Principal, ApiError, AppState};

/// A create request's identity for idempotency: who sent it, their key, and a hash of what was sent.
#[derive(Debug, Clone)]
pub struct Replay {
    owner: String,
    key: String,
    request_hash: String,
}

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
        let mut mac = Hmac::<Sha256>::new_from_slice(&state.request_key[..])
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        mac.update(route.as_bytes());
        mac.update(&[0]);
        mac.update(&serde_json::to_vec(body).map_err(|e| ApiError::Internal(e.to_string()))?);
        let request_hash = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Some(Self {
            owner: who.actor(),
            key,
            request_hash,
        }))
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
/// `create` runs inside the write transaction that also claims and completes the key.
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
            let Some(replay) = replay else {
                let (value, version) = write_tx(c, create)?;
                return Ok(Created {
                    body: to_body(&value)?,
                    version,
                });
            };
            if let Some(stored) = stored(c, &replay)? {
                return Ok(stored);
            }
            let result = write_tx(c, |c| {
                claim_key(
                    c,
                    &IdempotencyRecord {
                        owner: replay.owner.clone(),
                        key: replay.key.clone(),
                        request_hash: replay.request_hash.clone(),
                        status: 0,
                        body: String::new(),
                        created_at: now,
                    },
                )?;
                let (value, version) = create(c)?;
                let body = to_body(&value)?;
                let mut kept =
                    serde_json::to_value(&value).map_err(|e| ApiError::Internal(e.to_string()))?;
                redact(&mut kept);
                let stored_body =
                    serde_json::json!({ "version": version, "body": kept.to_string() }).to_string();
                complete_key(c, &replay.owner, &replay.key, 201, &stored_body)?;
                Ok::<_, ApiError>(Created { body, version })
            });
            match result {
                // A concurrent request with the same key committed first: answer as it did.
                Err(e) => stored(c, &replay)?.ok_or(e),
                ok => ok,
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

fn to_body<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))
}

fn stored(c: &mut DbConn, replay: &Replay) -> Result<Option<Created>, ApiError> {
    let Some(record) = find_key(c, &replay.owner, &replay.key)? else {
        return Ok(None);
    };
    if record.request_hash != replay.request_hash {
        return Err(StoreError::Conflict(ConflictKind::IdempotencyKeyReused).into());
    }
    let stored: serde_json::Value =
        serde_json::from_str(&record.body).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Some(Created {
        body: stored["body"].as_str().unwrap_or_default().to_owned(),
        version: stored["version"].as_i64(),
    }))
}
