//! Idempotent creates: the claim a request makes with its `Idempotency-Key`, hashed under the
//! server's key so a stored hash says nothing of the request (bodies may hold passwords).

use hmac::{Hmac, Mac};
use hubbook_store::repo::idempotency::Claim;
use sha2::{Digest, Sha256};

use crate::{Caller, Hubbook, ServiceError};

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
