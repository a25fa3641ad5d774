//! Idempotent creates: the claim a request makes with its `Idempotency-Key`, hashed under the
//! server's key so a stored hash says nothing of the request (bodies may hold passwords).

use hmac::{Hmac, Mac};
use hubbook_store::repo::idempotency::{once, Claim, Once};
use hubbook_store::DbConn;
use sha2::{Digest, Sha256};

use crate::{Caller, Hubbook, ServiceError};

/// Runs a create at most once per claim (in the store's transaction, which also claims the key):
/// the key keeps the id of what was made, and a retry reads it back with `load`. A record kept
/// by an earlier version (the whole JSON response, `{"version", "body"}`) is read back by the
/// `id` in its body, or its `code` for what is known by code (clusters, dispositions).
pub fn create_once<T, F, L>(
    c: &mut DbConn,
    claim: Option<&Claim>,
    now: chrono::NaiveDateTime,
    create: F,
    id_of: impl FnOnce(&T) -> String,
    load: L,
) -> Result<T, ServiceError>
where
    F: FnOnce(&mut DbConn) -> Result<T, ServiceError>,
    L: FnOnce(&mut DbConn, &str) -> Result<T, ServiceError>,
{
    let record = |value: &T| Ok(serde_json::json!({ "id": id_of(value) }).to_string());
    match once(c, claim, now, create, record)? {
        Once::Created(value) => Ok(value),
        Once::Replayed(record) => load(c, &recorded_id(&record)?),
    }
}

/// The id a key's record names: `{"id"}`, or the `id` (else the `code`) of an earlier version's
/// stored body.
fn recorded_id(record: &str) -> Result<String, ServiceError> {
    let value: serde_json::Value =
        serde_json::from_str(record).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let id = match value["id"].as_str() {
        Some(id) => Some(id.to_owned()),
        None => value["body"]
            .as_str()
            .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            .and_then(|b| b["id"].as_str().or(b["code"].as_str()).map(str::to_owned)),
    };
    id.ok_or_else(|| ServiceError::Internal("unreadable idempotency record".into()))
}

/// The key that request hashes are made with, derived from the server secret.
pub(crate) fn request_key(secret: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"hubbook idempotency key\0")
        .chain_update(secret)
        .finalize()
        .into()
}

impl Hubbook {
    /// The claim of a create request: the caller's `key`, and a keyed hash of the operation's
    /// name and the request as JSON, so the same key with another request is refused.
    pub fn claim<B: serde::Serialize>(
        &self,
        who: &Caller,
        key: String,
        operation: &str,
        request: &B,
    ) -> Result<Claim, ServiceError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.request_key[..])
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        mac.update(operation.as_bytes());
        mac.update(&[0]);
        mac.update(
            &serde_json::to_vec(request).map_err(|e| ServiceError::Internal(e.to_string()))?,
        );
        let request_hash = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Claim {
            owner: who.actor(),
            key,
            request_hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_what_was_made_by_id_or_code() {
        let read = |record: &str| recorded_id(record).ok();
        assert_eq!(read(r#"{"id":"a1"}"#), Some("a1".into()));
        let earlier = |body: &str| serde_json::json!({"version": 1, "body": body}).to_string();
        assert_eq!(
            read(&earlier(r#"{"id":"p1","ods_code":"A81001"}"#)),
            Some("p1".into())
        );
        assert_eq!(
            read(&earlier(r#"{"code":"U00001","name":"North"}"#)),
            Some("U00001".into())
        );
        assert_eq!(read(&earlier(r#"{"name":"nameless"}"#)), None);
    }
}
