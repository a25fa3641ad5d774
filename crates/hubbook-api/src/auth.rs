//! Authentication: argon2id password and secret hashes, and short-lived HS256 JWTs.
//!
//! A token carries the caller's role and scope, so handlers authorise without a database read.
//! Only HS256 is accepted: a token signed otherwise, or with `alg: none`, is refused.

use std::future::ready;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};

use futures_util::future::LocalBoxFuture;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Argon2, Block, Params};
use base64::Engine;
use chrono::{DateTime, Utc};
use hubbook_core::Role;
use hubbook_store::repo::integrations;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{ApiError, AppState};

pub use hubbook_core::access::{Caller, Scope, SubjectKind};

/// The claims of a hubbook access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's or integration's id.
    pub sub: String,
    /// User or client.
    pub kind: SubjectKind,
    /// The caller's one role.
    pub role: Role,
    /// Where the role applies.
    pub scope: Scope,
    /// For a client: the id of the secret the token was issued against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

/// The authenticated caller of a request, taken from its bearer token: the use cases' [`Caller`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(pub Caller);

impl std::ops::Deref for Principal {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

/// Issues and verifies access tokens with one HS256 secret.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_seconds: i64,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("ttl_seconds", &self.ttl_seconds)
            .finish_non_exhaustive()
    }
}

impl TokenService {
    /// A service signing with `secret`; tokens live `ttl_seconds`.
    pub fn new(secret: &[u8], ttl_seconds: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_seconds,
        }
    }

    /// How long a token lives, in seconds.
    pub fn ttl_seconds(&self) -> i64 {
        self.ttl_seconds
    }

    /// Signs a token for the principal, valid from `now` for the configured lifetime.
    pub fn issue(&self, who: &Principal, now: DateTime<Utc>) -> Result<String, ApiError> {
        self.issue_for(who, now, self.ttl_seconds)
    }

    /// Signs a token with an explicit lifetime (the demo prints a longer-lived one).
    pub fn issue_for(
        &self,
        who: &Principal,
        now: DateTime<Utc>,
        ttl_seconds: i64,
    ) -> Result<String, ApiError> {
        let claims = Claims {
            sub: who.id.clone(),
            kind: who.kind,
            role: who.role,
            scope: who.scope.clone(),
            sid: who.credential.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + ttl_seconds,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("token signing failed: {e}")))
    }

    /// Checks a token's signature, algorithm and expiry and returns its caller.
    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                ApiError::InvalidToken(match e.kind() {
                    ErrorKind::ExpiredSignature => {
                        "the access token has expired; request a new one".to_owned()
                    }
                    ErrorKind::InvalidAlgorithm => {
                        "the access token must be signed with HS256".to_owned()
                    }
                    _ => "the access token is not valid".to_owned(),
                })
            })?;
        let c = data.claims;
        Ok(Principal(Caller {
            id: c.sub,
            kind: c.kind,
            role: c.role,
            scope: c.scope,
            credential: c.sid,
        }))
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    /// A staff token is checked by its signature alone; a client's also against the store, so
    /// that revoking its secret or the client stops its tokens at once.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = match req.app_data::<web::Data<AppState>>() {
            Some(state) => state.clone(),
            None => {
                return Box::pin(ready(Err(ApiError::Internal(
                    "application state missing".into(),
                ))))
            }
        };
        let principal = match principal_of(req, &state) {
            Ok(p) => p,
            Err(e) => return Box::pin(ready(Err(e))),
        };
        if principal.kind != SubjectKind::Client {
            return Box::pin(ready(Ok(principal)));
        }
        Box::pin(async move {
            let Some(secret_id) = principal.credential.clone() else {
                return Err(ApiError::InvalidToken(
                    "the access token is not valid".into(),
                ));
            };
            let id = principal.id.clone();
            let now = state.now();
            let live = state
                .db(move |c| Ok(integrations::credential_live(c, &id, &secret_id, now)?))
                .await?;
            if live {
                Ok(principal)
            } else {
                Err(ApiError::InvalidToken(
                    "the client or the secret this token was issued against has been revoked; request a new token with a live secret".into(),
                ))
            }
        })
    }
}

fn principal_of(req: &HttpRequest, state: &AppState) -> Result<Principal, ApiError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::InvalidToken("this route needs an `Authorization: Bearer <token>` header".into())
    })?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::InvalidToken("the Authorization header must be `Bearer <token>`".into())
        })?;
    state.tokens.verify(token)
}

/// The largest argon2 memory a stored hash may ask for (64 MiB); a bigger one never matches.
const MAX_HASH_BLOCKS: usize = 64 * 1024;

/// Argon2 working memory, a few buffers reused by every hash and check.
///
/// Each check needs 19 MiB. Allocated afresh per check, a morning's burst of sign-ins leaves
/// hundreds of megabytes with the allocator (seen: 32 sign-ins took the server from 55 MB to
/// 480 MB); with one buffer per core, the cost is fixed and checks beyond that wait their turn,
/// which is all a CPU-bound hash could do anyway.
struct HashMemory {
    free: Mutex<Vec<Vec<Block>>>,
    returned: Condvar,
}

impl HashMemory {
    fn shared() -> &'static HashMemory {
        static MEMORY: OnceLock<HashMemory> = OnceLock::new();
        MEMORY.get_or_init(|| {
            let buffers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
            HashMemory {
                free: Mutex::new((0..buffers).map(|_| Vec::new()).collect()),
                returned: Condvar::new(),
            }
        })
    }

    /// Runs `f` with `blocks` blocks of memory, waiting for a buffer if all are in use.
    fn with<T>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let mut buffer = {
            let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(buffer) = free.pop() {
                    break buffer;
                }
                free = self
                    .returned
                    .wait(free)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        if buffer.len() < blocks {
            buffer.resize(blocks, Block::default());
        }
        let result = f(&mut buffer[..blocks]);
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(buffer);
        self.returned.notify_one();
        result
    }
}

/// Hashes a password or client secret with argon2id and a random salt (PHC string format).
///
/// Deliberately slow: call it off the async threads (`web::block`).
pub fn hash_secret(secret: &str) -> Result<String, ApiError> {
    let failed =
        |e: argon2::password_hash::Error| ApiError::Internal(format!("hashing failed: {e}"));
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt_string = SaltString::encode_b64(&salt).map_err(failed)?;
    let params = Params::default();
    let hasher = Argon2::from(&params);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    HashMemory::shared()
        .with(params.block_count(), |memory| {
            hasher.hash_password_into_with_memory(secret.as_bytes(), &salt, &mut out, memory)
        })
        .map_err(|e| failed(e.into()))?;
    let hash = PasswordHash {
        algorithm: argon2::Algorithm::Argon2id.ident(),
        version: Some(argon2::Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(failed)?,
        salt: Some(salt_string.as_salt()),
        hash: Some(Output::new(&out).map_err(failed)?),
    };
    Ok(hash.to_string())
}

/// Checks a password or secret against a stored argon2 hash (any variant, version and
/// parameters); a malformed hash never matches.
pub fn verify_secret(secret: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        argon2::Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    if params.block_count() > MAX_HASH_BLOCKS {
        return false;
    }
    let hasher = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let computed = HashMemory::shared().with(params.block_count(), |memory| {
        hasher.hash_password_into_with_memory(secret.as_bytes(), salt, &mut out, memory)
    });
    // `Output` compares in constant time.
    computed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
}

/// A fresh random secret for an integration client: 32 bytes, base64url without padding.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Principal {
        Principal(Caller {
            id: "u1".into(),
            kind: SubjectKind::User,
            role: Role::HubStaff,
            scope: Scope {
                cluster: Some("c1".into()),
                ..Scope::default()
            },
            credential: None,
        })
    }

    #[test]
    fn tokens_round_trip_and_expire() {
        let tokens = TokenService::new(b"test-secret-of-enough-length-123", 900);
        let now = Utc::now();
        let token = tokens.issue(&principal(), now).unwrap();
        assert_eq!(tokens.verify(&token).unwrap(), principal());
        let old = tokens
            .issue(&principal(), now - chrono::Duration::hours(2))
            .unwrap();
        assert!(
            matches!(tokens.verify(&old), Err(ApiError::InvalidToken(m)) if m.contains("expired"))
        );
        let other = TokenService::new(b"another-secret-of-enough-length", 900);
        assert!(other.verify(&token).is_err());
    }

    #[test]
    fn secrets_hash_and_verify() {
        let hash = hash_secret("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_secret("correct horse", &hash));
        assert!(!verify_secret("wrong horse", &hash));
        assert!(!verify_secret("correct horse", "not a hash"));
        assert_ne!(generate_secret(), generate_secret());
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        // Ours verify with the crate's checker, and the crate's (other parameters too) with ours.
        let ours = hash_secret("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        for params in [
            Params::default(),
            Params::new(4096, 3, 1, Some(24)).unwrap(),
        ] {
            for algorithm in [argon2::Algorithm::Argon2id, argon2::Algorithm::Argon2i] {
                let theirs = Argon2::new(algorithm, argon2::Version::V0x13, params.clone())
                    .hash_password(b"battery staple", &salt)
                    .unwrap()
                    .to_string();
                assert!(verify_secret("battery staple", &theirs), "{theirs}");
                assert!(!verify_secret("battery stapler", &theirs), "{theirs}");
            }
        }
        // A tampered output or an absurd memory cost never matches.
        let at = ours.len() - 10;
        let flipped = if &ours[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &ours[..at], &ours[at + 1..]);
        assert!(PasswordHash::new(&tampered).is_ok());
        assert!(!verify_secret("correct horse", &tampered));
        let greedy = ours.replace("m=19456", "m=4194304");
        assert!(!verify_secret("correct horse", &greedy));
    }

    #[test]
    fn checks_beyond_the_buffers_wait_their_turn() {
        let hash = hash_secret("correct horse").unwrap();
        let checks: Vec<_> = (0..12)
            .map(|i| {
                let hash = hash.clone();
                std::thread::spawn(move || {
                    verify_secret(if i % 3 == 0 { "wrong" } else { "correct horse" }, &hash)
                })
            })
            .collect();
        let results: Vec<bool> = checks.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|ok| **ok).count(), 8);
    }
}
