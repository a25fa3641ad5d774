//! Integration clients (triage services such as NHS 111) and their secrets: an admin manages
//! every client, a cluster manager those of its cluster alone. A secret is shown once, when it is
//! made, and kept only as an argon2id hash; a rotation keeps the old secret working for a
//! changeover so that the client can switch without a gap.

use std::sync::{Arc, Mutex};

use hubbook_core::access::Forbidden;
use hubbook_core::{validate_name, Role};
use hubbook_store::ids::{ClusterId, PracticeId};
use hubbook_store::models::{
    AuditEvent, Integration, IntegrationCertificate, IntegrationChanges, IntegrationSecret,
};
use hubbook_store::repo::idempotency::Claim;
use hubbook_store::repo::{clusters, integrations, practices};
use hubbook_store::{DbConn, Page, StoreError};

use crate::error::found;
use crate::idempotency::create_once;
use crate::secrets::{generate_secret, hash_secret};
use crate::viewer::member_practice;
use crate::{Caller, Hubbook, ServiceError};

/// The default changeover of a rotation, in minutes (a day).
pub const DEFAULT_CHANGEOVER_MINUTES: i64 = 1_440;

/// The longest changeover of a rotation, in minutes (thirty days).
pub const MAX_CHANGEOVER_MINUTES: i64 = 43_200;

/// An integration client and the codes of the clusters it may book in.
#[derive(Debug, Clone)]
pub struct IntegrationClient {
    /// The client.
    pub integration: Integration,
    /// The codes of its clusters, in the order of their ids.
    pub cluster_codes: Vec<String>,
    /// The ODS code of the practice it books for, when it is a practice's system.
    pub practice_ods: Option<String>,
}

/// A client just created, with its secret; the secret is absent when a retried create reads the
/// client back, for a secret is shown only once.
#[derive(Debug, Clone)]
pub struct CreatedClient {
    /// The client.
    pub client: IntegrationClient,
    /// Its secret, shown this once.
    pub secret: Option<String>,
}

/// One of a client's secrets (its record, never the secret) and whether it works now.
#[derive(Debug, Clone)]
pub struct ClientSecret {
    /// The record.
    pub secret: IntegrationSecret,
    /// Whether it works now.
    pub live: bool,
}

/// A secret just made by a rotation, with the secret itself, shown this once.
#[derive(Debug, Clone)]
pub struct IssuedSecret {
    /// The new secret's record.
    pub secret: ClientSecret,
    /// The secret.
    pub client_secret: String,
}

/// An integration client to create, as sent: checked once the caller may manage integrations.
#[derive(Debug, Clone)]
pub struct CreateIntegration {
    /// Display name.
    pub name: String,
    /// Codes of the clusters it may book in (a manager may name only its own).
    pub clusters: Vec<String>,
    /// The client id to use; generated when absent.
    pub client_id: Option<String>,
    /// The ODS code of the practice it books for (a practice's own system, in its one cluster);
    /// absent for a triage service.
    pub practice: Option<String>,
}

/// Changes to an integration client, checked; `active: Some(false)` revokes it at once.
#[derive(Debug, Clone, Default)]
pub struct UpdateIntegration {
    /// New display name.
    pub name: Option<String>,
    /// Whether it may obtain tokens.
    pub active: Option<bool>,
}

/// Who may manage integrations: an admin (all: `None`), or a cluster manager (those of its
/// cluster alone: `Some(cluster id)`).
pub(crate) fn manager_scope(who: &Caller) -> Result<Option<ClusterId>, ServiceError> {
    match who.role {
        Role::Admin => Ok(None),
        Role::ClusterManager => Ok(who.scope.cluster.as_deref().map(ClusterId::from)),
        _ => Err(Forbidden("only an admin or a cluster manager may manage integrations").into()),
    }
}

/// Loads an integration the caller may manage. A manager manages only clients of its cluster
/// alone; one shared with other clusters is the admin's, so that no manager can rename or revoke
/// it for another cluster.
fn visible(c: &mut DbConn, who: &Caller, id: &str) -> Result<Integration, ServiceError> {
    let scope = manager_scope(who)?;
    let integration = found(integrations::get_integration(c, id), "integration")?;
    if let Some(cluster_id) = scope {
        let ids = integrations::integration_cluster_ids(c, &integration.id)?;
        if ids != [cluster_id] {
            return Err(ServiceError::NotFound(
                "no integration here that you may see".into(),
            ));
        }
    }
    Ok(integration)
}

/// A client with the codes of its clusters.
fn with_clusters(c: &mut DbConn, i: Integration) -> Result<IntegrationClient, ServiceError> {
    let ids = integrations::integration_cluster_ids(c, &i.id)?;
    let cluster_codes = ids
        .iter()
        .map(|id| clusters::get_cluster(c, id).map(|cl| cl.code))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let practice_ods = match (&i.practice_id, ids.as_slice()) {
        (Some(practice), [cluster]) => {
            Some(practices::get_practice(c, cluster, &PracticeId::from(practice))?.ods_code)
        }
        _ => None,
    };
    Ok(IntegrationClient {
        integration: i,
        cluster_codes,
        practice_ods,
    })
}

/// A secret's record and whether it works at `now`.
fn status(secret: IntegrationSecret, now: chrono::NaiveDateTime) -> ClientSecret {
    ClientSecret {
        live: secret.live_at(now),
        secret,
    }
}

/// The client id asked for, or a fresh one: 3 to 64 letters, digits, dots, hyphens or
/// underscores.
fn client_id(asked: Option<String>) -> Result<String, ServiceError> {
    match asked {
        Some(id) if hubbook_core::account::is_client_id(&id) => Ok(id),
        Some(_) => Err(ServiceError::InvalidClientId),
        None => Ok(format!("hb-{}", uuid::Uuid::now_v7().simple())),
    }
}

/// The ids of the clusters named by code, each once; a cluster that does not exist or is not
/// the manager's own is `UnknownCluster`.
fn clusters_named(
    c: &mut DbConn,
    scope: Option<&ClusterId>,
    codes: &[String],
) -> Result<Vec<ClusterId>, ServiceError> {
    let mut cluster_ids = Vec::new();
    for code in codes {
        let cluster = match clusters::get_cluster_by_code(c, &code.to_ascii_uppercase()) {
            Ok(cl) if scope.is_none_or(|s| *s == cl.id) => cl,
            Ok(_) | Err(StoreError::NotFound) => {
                return Err(ServiceError::UnknownCluster(code.clone()))
            }
            Err(e) => return Err(e.into()),
        };
        if !cluster_ids.contains(&cluster.id) {
            cluster_ids.push(cluster.id);
        }
    }
    Ok(cluster_ids)
}

/// How long this process trusts what it read of a client certificate (who it authenticates, or
/// that it authenticates no one) before reading it again: a GP Connect consumer sends many
/// requests a second, each naming its certificate. A registration, revocation or change of an
/// integration in this process forgets everything at once; another process sees it within this.
pub const CERTIFICATE_CACHE_SECONDS: u64 = 10;

/// The client certificate a TLS connection presented (its SHA-256), kept with the connection so
/// that a front end can ask who it authenticates ([`Hubbook::certificate_caller`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedCertificate {
    /// The SHA-256 of its DER, as [`certificate_sha256`] gives it.
    pub sha256: String,
}

/// A call a consumer made through the GP Connect facade, as the audit trail keeps it.
#[derive(Debug, Clone)]
pub struct ConsumerCall {
    /// What it did (the GP Connect interaction id).
    pub interaction: String,
    /// The consumer's own id for the request (`Ssp-TraceID`).
    pub trace_id: String,
    /// On whose behalf and why, as the consumer said it (the JWT's claims).
    pub details: serde_json::Value,
}

/// A consumer's call on its way to the audit trail: taken (once) by whichever writes it.
#[derive(Debug)]
pub(crate) struct PendingCall(Mutex<Option<AuditEvent>>);

/// A consumer's call taken to be written with the change made for it, by the work that makes it
/// ([`Hubbook::run_audited`]).
#[derive(Debug)]
pub(crate) struct CallAudit(pub(crate) Option<AuditEvent>);

impl CallAudit {
    /// Makes a change (work that opens its transaction in the store) with the call's audit
    /// event in the same transaction, the first time; any later change runs as it is. Reads
    /// belong outside it, so that no writer waits on them.
    pub(crate) fn change<T>(
        &mut self,
        c: &mut DbConn,
        change: impl FnOnce(&mut DbConn) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        match self.0.take() {
            Some(event) => integrations::with_call_recorded(c, &event, change),
            None => change(c),
        }
    }

    /// Writes the call on its own if no change has.
    pub(crate) fn settle(&mut self, c: &mut DbConn) -> Result<(), ServiceError> {
        match self.0.take() {
            Some(event) => Ok(integrations::record_calls(c, &[event])?),
            None => Ok(()),
        }
    }
}

/// The SHA-256 of a certificate's DER as 64 lower-case hex digits: how a TLS client certificate
/// is registered and recognised.
pub fn certificate_sha256(der: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The DER of the one certificate in a PEM text.
fn certificate_der(pem: &str) -> Result<Vec<u8>, ServiceError> {
    use rustls_pki_types::pem::PemObject;
    let mut certificates = rustls_pki_types::CertificateDer::pem_slice_iter(pem.as_bytes());
    match (certificates.next(), certificates.next()) {
        (Some(Ok(der)), None) => Ok(der.to_vec()),
        _ => Err(ServiceError::InvalidCertificate),
    }
}

impl Hubbook {
    /// Registers a TLS client certificate (its PEM) for an integration the caller may manage:
    /// the client then connects to the GP Connect facade with it. The certificate is kept by
    /// its SHA-256; one already registered anywhere is refused.
    pub async fn add_certificate(
        &self,
        who: &Caller,
        id: String,
        pem: String,
    ) -> Result<IntegrationCertificate, ServiceError> {
        let der = certificate_der(&pem)?;
        let (who, change) = (who.clone(), self.change(who));
        let written = self
            .run(move |c| {
                let i = visible(c, &who, &id)?;
                Ok(integrations::add_certificate(
                    c,
                    &change,
                    &i.id,
                    &certificate_sha256(&der),
                )?)
            })
            .await;
        // After the write, so that no request in between caches what was true before it.
        self.certificates.forget();
        written
    }

    /// An integration's client certificates, newest first (revoked ones too).
    pub async fn list_certificates(
        &self,
        who: &Caller,
        id: String,
    ) -> Result<Vec<IntegrationCertificate>, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let i = visible(c, &who, &id)?;
            Ok(integrations::list_certificates(c, &i.id)?)
        })
        .await
    }

    /// Revokes one of an integration's client certificates: its next request is refused.
    pub async fn revoke_certificate(
        &self,
        who: &Caller,
        id: String,
        sha256: String,
    ) -> Result<IntegrationCertificate, ServiceError> {
        let (who, change) = (who.clone(), self.change(who));
        let written = self
            .run(move |c| {
                let i = visible(c, &who, &id)?;
                found(
                    integrations::revoke_certificate(
                        c,
                        &change,
                        &i.id,
                        &sha256.to_ascii_lowercase(),
                    ),
                    "certificate",
                )
            })
            .await;
        // After the write, so that no request in between caches what was true before it.
        self.certificates.forget();
        written
    }

    /// Writes a consumer's call to the audit trail (entity `integration_call`, under its trace
    /// id): which integration, what, on whose behalf and why. It is its cluster's event when the
    /// integration has one cluster.
    pub async fn record_call(&self, who: &Caller, call: ConsumerCall) -> Result<(), ServiceError> {
        self.auditing(who, call).record_unwritten_call().await
    }

    /// This handle with a consumer's call to audit as [`Hubbook::record_call`] does, but in the
    /// transaction of the first change made through it (a booking, a cancellation), so that a
    /// call that changes something costs one commit. A call that changed nothing is written by
    /// [`Hubbook::record_unwritten_call`], which the front end calls before it answers.
    pub fn auditing(&self, who: &Caller, call: ConsumerCall) -> Hubbook {
        let change = self.change(who);
        let cluster_id = match who.clusters().as_slice() {
            [only] => Some(ClusterId::from(only.as_str())),
            _ => None,
        };
        let event = integrations::call_event(
            &change,
            cluster_id,
            &call.interaction,
            &call.trace_id,
            &call.details,
        );
        Hubbook {
            call: Some(Arc::new(PendingCall(Mutex::new(Some(event))))),
            ..self.clone()
        }
    }

    /// Writes the call this handle audits ([`Hubbook::auditing`]) when no change has written it:
    /// a call refused, or one that only read. Does nothing on any other handle.
    pub async fn record_unwritten_call(&self) -> Result<(), ServiceError> {
        match self.unwritten_call() {
            Some(event) => {
                self.run(move |c| Ok(integrations::record_calls(c, &[event])?))
                    .await
            }
            None => Ok(()),
        }
    }

    /// Takes the call this handle audits, if no change has written it yet: whoever takes it
    /// writes it.
    pub(crate) fn unwritten_call(&self) -> Option<AuditEvent> {
        let pending = self.call.as_ref()?;
        pending
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Who a TLS client certificate (its SHA-256) authenticates: the active integration it is
    /// registered to and not revoked from, as the triage service or practice system it is;
    /// `None` for any other.
    pub async fn certificate_caller(&self, sha256: String) -> Result<Option<Caller>, ServiceError> {
        if let Some(known) = self.certificates.get(&sha256) {
            if let Some(caller) = &known {
                crate::request::name_caller(caller);
            }
            return Ok(known);
        }
        let key = sha256.clone();
        let caller = self
            .run(move |c| {
                let integration = match integrations::integration_by_certificate(c, &sha256) {
                    Ok(i) if i.active => i,
                    Ok(_) | Err(StoreError::NotFound) => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                let clusters = integrations::integration_cluster_ids(c, &integration.id)?;
                Ok(Some(crate::sign_in::client_caller(&integration, clusters)))
            })
            .await?;
        self.certificates.put(key, caller.clone());
        if let Some(caller) = &caller {
            crate::request::name_caller(caller);
        }
        Ok(caller)
    }

    /// The integration clients the caller may manage: all for an admin, those of its cluster
    /// alone for a manager.
    pub async fn list_integrations(
        &self,
        who: &Caller,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<IntegrationClient>, ServiceError> {
        let scope = manager_scope(who)?;
        self.run(move |c| {
            let page = integrations::list_integrations(c, scope.as_ref(), after.as_deref(), limit)?;
            let mut items = Vec::with_capacity(page.items.len());
            for i in page.items {
                items.push(with_clusters(c, i)?);
            }
            Ok(Page {
                items,
                next_after: page.next_after,
            })
        })
        .await
    }

    /// Creates an integration client with a fresh secret, shown in the result only. With a
    /// claim, a retry returns the client the first created, without the secret.
    pub async fn create_integration(
        &self,
        who: &Caller,
        claim: Option<Claim>,
        cmd: CreateIntegration,
    ) -> Result<CreatedClient, ServiceError> {
        let scope = manager_scope(who)?;
        let name = validate_name("name", &cmd.name, hubbook_core::MAX_NAME_CHARS)?;
        if cmd.clusters.is_empty() {
            return Err(ServiceError::InvalidCommand(
                "an integration needs at least one cluster",
            ));
        }
        let client_id = client_id(cmd.client_id)?;
        let (change, now) = (self.change(who), self.now().naive_utc());
        self.run(move |c| {
            let secret = generate_secret();
            let secret_hash = hash_secret(&secret)?;
            create_once(
                c,
                claim.as_ref(),
                now,
                |c| {
                    let cluster_ids = clusters_named(c, scope.as_ref(), &cmd.clusters)?;
                    let practice_id = match (&cmd.practice, cluster_ids.as_slice()) {
                        (None, _) => None,
                        (Some(ods), [cluster]) => Some(member_practice(c, cluster, ods)?.to_string()),
                        (Some(_), _) => {
                            return Err(ServiceError::InvalidCommand(
                                "a practice's integration books in the practice's one cluster: name that cluster alone",
                            ))
                        }
                    };
                    let created = integrations::create_integration(
                        c,
                        &change,
                        integrations::NewIntegration {
                            client_id,
                            name,
                            secret_hash,
                            cluster_ids,
                            practice_id,
                        },
                    )?;
                    Ok(CreatedClient {
                        client: with_clusters(c, created)?,
                        secret: Some(secret),
                    })
                },
                |created: &CreatedClient| created.client.integration.id.clone(),
                |c, id| {
                    let integration = found(integrations::get_integration(c, id), "integration")?;
                    Ok(CreatedClient {
                        client: with_clusters(c, integration)?,
                        secret: None,
                    })
                },
            )
        })
        .await
    }

    /// One integration client the caller may manage.
    pub async fn integration(
        &self,
        who: &Caller,
        id: String,
    ) -> Result<IntegrationClient, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let i = visible(c, &who, &id)?;
            with_clusters(c, i)
        })
        .await
    }

    /// Renames or revokes an integration client the caller may manage.
    pub async fn update_integration(
        &self,
        who: &Caller,
        id: String,
        expected: Option<i64>,
        cmd: UpdateIntegration,
    ) -> Result<IntegrationClient, ServiceError> {
        let (who, change) = (who.clone(), self.change(who));
        let written = self
            .run(move |c| {
                visible(c, &who, &id)?;
                let updated = integrations::update_integration(
                    c,
                    &change,
                    &id,
                    expected,
                    IntegrationChanges {
                        name: cmd.name,
                        active: cmd.active,
                    },
                )?;
                with_clusters(c, updated)
            })
            .await;
        // After the write, so that no request in between caches what was true before it.
        self.certificates.forget();
        written
    }

    /// A client's secrets, newest first, with whether each works now.
    pub async fn list_secrets(
        &self,
        who: &Caller,
        id: String,
    ) -> Result<Vec<ClientSecret>, ServiceError> {
        let (who, now) = (who.clone(), self.now().naive_utc());
        self.run(move |c| {
            let i = visible(c, &who, &id)?;
            Ok(integrations::list_secrets(c, &i.id)?
                .into_iter()
                .map(|s| status(s, now))
                .collect())
        })
        .await
    }

    /// Rotates a client's secret: a new one (shown in the result only) works at once, and the
    /// current one keeps working for `previous_valid_minutes` ([`DEFAULT_CHANGEOVER_MINUTES`]
    /// when absent; 0 cuts over at once).
    pub async fn rotate_secret(
        &self,
        who: &Caller,
        id: String,
        previous_valid_minutes: Option<i64>,
    ) -> Result<IssuedSecret, ServiceError> {
        let minutes = previous_valid_minutes.unwrap_or(DEFAULT_CHANGEOVER_MINUTES);
        if !(0..=MAX_CHANGEOVER_MINUTES).contains(&minutes) {
            return Err(ServiceError::InvalidChangeover);
        }
        let (who, change) = (who.clone(), self.change(who));
        let now = change.at;
        let until = now + chrono::Duration::minutes(minutes);
        self.run(move |c| {
            let i = visible(c, &who, &id)?;
            let client_secret = generate_secret();
            let hash = hash_secret(&client_secret)?;
            let created = integrations::add_secret(c, &change, &i.id, hash, until)?;
            Ok(IssuedSecret {
                secret: status(created, now),
                client_secret,
            })
        })
        .await
    }

    /// Revokes one of a client's secrets at once: tokens issued with it stop working on their
    /// next request.
    pub async fn revoke_secret(
        &self,
        who: &Caller,
        id: String,
        secret_id: String,
    ) -> Result<ClientSecret, ServiceError> {
        let (who, change) = (who.clone(), self.change(who));
        let now = change.at;
        self.run(move |c| {
            let i = visible(c, &who, &id)?;
            let revoked = found(
                integrations::revoke_secret(c, &change, &i.id, &secret_id),
                "secret",
            )?;
            Ok(status(revoked, now))
        })
        .await
    }
}
