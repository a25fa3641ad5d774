//! Signing in: a staff user's password or an integration client's secret checked against its
//! argon2 hash, giving the [`Caller`] every front end then carries (in a token or a session).
//!
//! A wrong username, a disabled user, an unknown client and a wrong secret all take the same
//! number of hash checks and give the same answer, so that neither timing nor wording tells which
//! names exist. Wrong tries are counted per login name or client id (known or not) and per
//! address, and too many make that key wait a while, doubling per further wrong try up to a few
//! minutes (`hubbook_core::throttle`): a try while a key waits is refused unchecked.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use hubbook_core::access::{Caller, Scope, SubjectKind};
use hubbook_core::throttle::ThrottleKey;
use hubbook_core::Role;
use hubbook_store::repo::{integrations, throttle, users};
use hubbook_store::StoreError;

use crate::secrets::verify_secret;
use crate::{Hubbook, ServiceError};

/// A hash to check against when the user or client does not exist, so that a wrong name takes as
/// long as a wrong password.
/// Made with the parameters new hashes use ([`crate::secrets::hash_secret`]).
const DUMMY_HASH: &str = "$argon2id$v=19$m=7168,t=5,p=1$c29tZXNhbHRzb21lc2FsdA$7BY12oRrVKXc5uQzGDYO5fHFkjnt9yOSJxvWlFUG2b8";

/// What a caller signs in with.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A staff user's login name (case-insensitive) and password.
    Password {
        /// Login name.
        username: String,
        /// Password.
        password: String,
    },
    /// An integration client's id and one of its live secrets.
    ClientSecret {
        /// The client id issued with the integration.
        client_id: String,
        /// The secret shown once when it was issued.
        client_secret: String,
    },
}

/// Sign-in refusals since the process started, by reason, for the metrics.
#[derive(Debug, Default)]
pub struct SignInRefusals {
    wrong_credentials: AtomicU64,
    throttled: AtomicU64,
}

impl SignInRefusals {
    /// Tries whose credentials were checked and wrong (the one that starts a wait included).
    pub fn wrong_credentials(&self) -> u64 {
        self.wrong_credentials.load(Ordering::Relaxed)
    }

    /// Tries refused unchecked because a key was waiting.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }
}

/// How long a process trusts what it read of whether a user is active before reading it
/// again: every staff request asks. A change of the user in this process forgets at once.
pub const STANDING_CACHE_SECONDS: u64 = 10;

impl Hubbook {
    /// Checks credentials, sent from `address` (the TCP peer; `None` when unknown), and returns
    /// who they belong to. Anything wrong is [`ServiceError::InvalidCredentials`], whatever was
    /// wrong; a try while the login name, client id or address waits after too many wrong ones,
    /// and the wrong try that starts the wait, are [`ServiceError::Throttled`].
    pub async fn sign_in(
        &self,
        credentials: Credentials,
        address: Option<IpAddr>,
    ) -> Result<Caller, ServiceError> {
        let instant = self.now();
        let now = instant.naive_utc();
        let name_key = match &credentials {
            Credentials::Password { username, .. } => ThrottleKey::user(username),
            Credentials::ClientSecret { client_id, .. } => ThrottleKey::client(client_id),
        };
        let mut keys = vec![name_key.clone()];
        keys.extend(address.map(ThrottleKey::address));
        let checked_keys = keys.clone();
        // Look the caller up, then let the connection go before the deliberately slow checks.
        let looked_up = self
            .run(move |c| {
                let counts = throttle::failures(c, &checked_keys)?;
                let waiting = counts
                    .iter()
                    .filter_map(|(key, f)| f.blocked_at(instant).map(|until| (key, f, until)))
                    .max_by_key(|(_, _, until)| *until);
                if let Some((key, failures, until)) = waiting {
                    throttle::record_refusal(c, key, failures, instant)?;
                    return Ok(Err(until));
                }
                let counted_before = counts
                    .iter()
                    .any(|(key, _)| matches!(key, ThrottleKey::User(_) | ThrottleKey::Client(_)));
                look_up(c, credentials, now).map(|found| Ok((found, counted_before)))
            })
            .await?;
        let ((candidate, secret, hashes), counted_before) = match looked_up {
            Ok(found) => found,
            Err(until) => {
                self.sign_in_refusals
                    .throttled
                    .fetch_add(1, Ordering::Relaxed);
                return Err(ServiceError::throttled(until, instant));
            }
        };
        // Every hash is checked (no early exit), then the first match is taken.
        let matched = tokio::task::spawn_blocking(move || {
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
        .map_err(|e| ServiceError::Internal(format!("blocking task failed: {e}")))?;
        let signed_in = match (candidate, matched) {
            (Some(caller), Some(credential))
                if caller.kind == SubjectKind::Client && credential.is_some() =>
            {
                Some(Caller {
                    credential,
                    ..caller
                })
            }
            (Some(caller), Some(_)) if caller.kind == SubjectKind::User => Some(caller),
            _ => None,
        };
        match signed_in {
            Some(caller) => {
                crate::request::name_caller(&caller);
                // A right password clears the name's count, never the address's.
                if counted_before {
                    self.run(move |c| Ok(throttle::clear(c, &name_key)?))
                        .await?;
                }
                Ok(caller)
            }
            None => {
                self.sign_in_refusals
                    .wrong_credentials
                    .fetch_add(1, Ordering::Relaxed);
                let counted = self
                    .run(move |c| {
                        keys.iter()
                            .map(|key| Ok(throttle::record_failure(c, key, instant)?))
                            .collect::<Result<Vec<_>, ServiceError>>()
                    })
                    .await?;
                let waits = counted
                    .iter()
                    .filter(|c| c.started_block)
                    .filter_map(|c| c.failures.blocked_at(instant))
                    .max();
                match waits {
                    Some(until) => Err(ServiceError::throttled(until, instant)),
                    None => Err(ServiceError::InvalidCredentials),
                }
            }
        }
    }

    /// Sign-in refusals since the process started, by reason.
    pub fn sign_in_refusals(&self) -> &SignInRefusals {
        &self.sign_in_refusals
    }

    /// Whether a caller is still live: a client's secret and the client itself (so that revoking
    /// either stops its tokens at once), a user's account as it stands now (so that deactivating
    /// it or changing its role or practice refuses the user's next request, token or console
    /// session, at once in the process that changed it and within [`STANDING_CACHE_SECONDS`] in
    /// any other).
    pub async fn still_signed_in(&self, who: &Caller) -> Result<bool, ServiceError> {
        crate::request::name_caller(who);
        if who.kind != SubjectKind::Client {
            let standing = match self.standing.get(&who.id) {
                Some(standing) => standing,
                None => {
                    let id = who.id.clone();
                    let user = self.run(move |c| Ok(users::find_user(c, &id)?)).await?;
                    let standing = user.map(|u| Standing {
                        active: u.active,
                        role: u.role,
                        cluster: u.cluster_id.map(|c| c.into_string()),
                        practice: u.practice_id.map(|p| p.into_string()),
                    });
                    self.standing.put(who.id.clone(), standing.clone());
                    standing
                }
            };
            return Ok(standing.is_some_and(|s| {
                who.stands_as(
                    s.active,
                    s.role,
                    s.cluster.as_deref(),
                    s.practice.as_deref(),
                )
            }));
        }
        let Some(secret_id) = who.credential.clone() else {
            return Ok(false);
        };
        let id = who.id.clone();
        let now = self.now().naive_utc();
        self.run(move |c| Ok(integrations::credential_live(c, &id, &secret_id, now)?))
            .await
    }
}

/// A user's account as stored, as far as a token's standing goes: read once and remembered for a
/// few seconds, then held against each token of that user.
#[derive(Debug, Clone)]
pub(crate) struct Standing {
    active: bool,
    role: hubbook_core::Role,
    cluster: Option<String>,
    practice: Option<String>,
}

/// An integration client as a caller: a triage service in its clusters, or, bound to a
/// practice, that practice's system in its one cluster (it sees and books as the practice's
/// receptionists do).
pub(crate) fn client_caller(
    integration: &hubbook_store::models::Integration,
    clusters: Vec<hubbook_store::ClusterId>,
) -> Caller {
    let scope = match (&integration.practice_id, clusters.as_slice()) {
        (Some(practice), [cluster]) => Scope {
            cluster: Some(cluster.to_string()),
            practice: Some(practice.clone()),
            ..Scope::default()
        },
        _ => Scope {
            clusters: clusters.into_iter().map(String::from).collect(),
            ..Scope::default()
        },
    };
    Caller {
        id: integration.id.clone(),
        kind: SubjectKind::Client,
        role: if scope.practice.is_some() {
            Role::Receptionist
        } else {
            Role::Triage
        },
        scope,
        credential: None,
    }
}

/// What a sign-in checks: who the credentials would be (if an active user or client), the
/// secret given, and the hashes to check it against, as many for a name that does not exist as
/// for one that does.
type LookedUp = (Option<Caller>, String, Vec<(Option<String>, String)>);

/// Looks up the user or client that credentials name.
fn look_up(
    c: &mut hubbook_store::DbConn,
    credentials: Credentials,
    now: chrono::NaiveDateTime,
) -> Result<LookedUp, ServiceError> {
    match credentials {
        Credentials::Password { username, password } => {
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
                    role: u.role,
                    scope: Scope {
                        cluster: u.cluster_id.map(Into::into),
                        practice: u.practice_id.map(Into::into),
                        clusters: Vec::new(),
                    },
                    credential: None,
                }),
                _ => None,
            };
            Ok((candidate, password, vec![(None, hash)]))
        }
        Credentials::ClientSecret {
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
                    Some(client_caller(&i, clusters))
                }
                _ => None,
            };
            Ok((candidate, client_secret, hashes))
        }
    }
}

#[cfg(test)]
mod dummy_hash_tests {
    #![allow(clippy::unwrap_used)]

    use super::DUMMY_HASH;

    #[test]
    fn an_unknown_name_costs_what_a_known_one_does() {
        // The dummy hash has the parameters of the hashes stored now, so a check against it
        // takes as long, and it matches nothing anyone would send.
        let stored = crate::secrets::hash_secret("correct horse").unwrap();
        let params = |h: &str| h.split('$').nth(3).unwrap().to_owned();
        assert_eq!(params(DUMMY_HASH), params(&stored));
        assert!(!crate::secrets::verify_secret("correct horse", DUMMY_HASH));
        assert!(crate::secrets::verify_secret(
            "hubbook dummy password",
            DUMMY_HASH
        ));
    }
}
