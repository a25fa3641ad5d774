//! Authentication: short-lived HS256 JWTs; the argon2id password and secret hashes are
//! `hubbook_service::secrets`, re-exported here.
//!
//! A token carries the caller's role and scope, so handlers authorise without a database read.
//! Only HS256 is accepted: a token signed otherwise, or with `alg: none`, is refused.

use std::future::ready;

use futures_util::future::LocalBoxFuture;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use chrono::{DateTime, Utc};
use hubbook_core::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{ApiError, AppState};

pub use hubbook_core::access::{Caller, Scope, SubjectKind};
pub use hubbook_service::secrets::{generate_secret, hash_secret, verify_secret};

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

impl Principal {
    /// Refuses a caller whose role lacks the rights an operation asks for, before its body is
    /// read (the use case checks again, in full, with the data).
    pub fn may(&self, rights: hubbook_service::access::Rights) -> Result<(), crate::ApiError> {
        Ok(hubbook_service::access::may(&self.0, rights)?)
    }
}

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

    /// A token is checked by its signature, then against the store: revoking a client's secret
    /// or the client, or deactivating a user, stops its tokens on their next request.
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
        Box::pin(async move {
            if state.hubbook.still_signed_in(&principal).await? {
                Ok(principal)
            } else if principal.kind == SubjectKind::Client {
                Err(ApiError::InvalidToken(
                    "the client or the secret this token was issued against has been revoked; request a new token with a live secret".into(),
                ))
            } else {
                Err(ApiError::InvalidToken(
                    "this token's user is no longer active, or no longer has the role it was issued for; sign in again"
                        .into(),
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
}
