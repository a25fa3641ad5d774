//! Integration clients: machine callers such as NHS 111, scoped to one or more clusters.

use diesel::prelude::*;

use super::{audited, insert_audited, update_audited, Change};
use chrono::NaiveDateTime;

use crate::ids::ClusterId;
use crate::models::{
    AuditEvent, Integration, IntegrationCertificate, IntegrationChanges, IntegrationSecret,
};
use crate::schema::{
    integration_certificates, integration_clusters, integration_secrets, integrations,
};
use crate::{new_id, write_tx, DbConn, Page, StoreError, WriteError};
use hubbook_core::Refusal;

/// How many secrets an integration may have live at once: the current one and, during a
/// changeover, the one it replaces.
pub const MAX_LIVE_SECRETS: usize = 2;

audited!(Integration, "integration", |_i| None);

/// A validated integration to create; the secret is already hashed.
#[derive(Debug, Clone)]
pub struct NewIntegration {
    /// The public client id.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// argon2id PHC string of the secret.
    pub secret_hash: String,
    /// Ids of the clusters it may act in.
    pub cluster_ids: Vec<ClusterId>,
    /// The practice it books for (a member of its one cluster), or `None` for a triage service.
    pub practice_id: Option<String>,
}

/// Creates an integration and its cluster scope in one transaction.
pub fn create_integration(
    conn: &mut DbConn,
    change: &Change,
    new: NewIntegration,
) -> Result<Integration, StoreError> {
    let row = Integration {
        id: new_id(),
        client_id: new.client_id,
        name: new.name,
        active: true,
        version: 1,
        created_at: change.at,
        updated_at: change.at,
        practice_id: new.practice_id,
    };
    let id = row.id.clone();
    write_tx(conn, |c| {
        let created = insert_audited(
            c,
            change,
            |c| {
                diesel::insert_into(integrations::table)
                    .values(&row)
                    .execute(c)
            },
            |c| load(c, &id),
        )?;
        for cluster_id in &new.cluster_ids {
            diesel::insert_into(integration_clusters::table)
                .values((
                    integration_clusters::cluster_id.eq(cluster_id),
                    integration_clusters::integration_id.eq(&id),
                ))
                .execute(c)?;
        }
        diesel::insert_into(integration_secrets::table)
            .values(&IntegrationSecret {
                id: new_id(),
                integration_id: id.clone(),
                secret_hash: new.secret_hash,
                created_at: change.at,
                expires_at: None,
                revoked_at: None,
            })
            .execute(c)?;
        Ok(created)
    })
}

/// An integration's secrets, newest first, revoked and expired ones included.
pub fn list_secrets(
    conn: &mut DbConn,
    integration_id: &str,
) -> Result<Vec<IntegrationSecret>, StoreError> {
    Ok(integration_secrets::table
        .filter(integration_secrets::integration_id.eq(integration_id))
        .order((
            integration_secrets::created_at.desc(),
            integration_secrets::id.desc(),
        ))
        .select(IntegrationSecret::as_select())
        .load(conn)?)
}

/// Whether a token issued against `secret_id` of `integration_id` may still be used at `now`:
/// the integration active and the secret neither revoked nor expired.
pub fn credential_live(
    conn: &mut DbConn,
    integration_id: &str,
    secret_id: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let found: Option<(bool, Option<NaiveDateTime>, Option<NaiveDateTime>)> =
        integration_secrets::table
            .inner_join(integrations::table)
            .filter(integration_secrets::id.eq(secret_id))
            .filter(integration_secrets::integration_id.eq(integration_id))
            .select((
                integrations::active,
                integration_secrets::expires_at,
                integration_secrets::revoked_at,
            ))
            .first(conn)
            .optional()?;
    Ok(matches!(found, Some((true, expires, None)) if expires.is_none_or(|t| t > now)))
}

fn audit_secret(
    c: &mut DbConn,
    change: &Change,
    action: &str,
    before: Option<&IntegrationSecret>,
    after: Option<&IntegrationSecret>,
) -> Result<(), StoreError> {
    let s = after.or(before);
    let (id, integration) = s
        .map(|s| (s.id.clone(), s.integration_id.clone()))
        .unwrap_or_default();
    audit_integration(
        c,
        change,
        action,
        ("integration_secret", &id, &integration),
        before,
        after,
    )
}

/// Audits something about an integration (`entity`, its id, the integration): a change to one
/// of its credentials, never with a secret's hash (their `Serialize` skips it), or a call it made.
pub(crate) fn audit_integration<T: serde::Serialize>(
    c: &mut DbConn,
    change: &Change,
    action: &str,
    (entity, id, integration): (&str, &str, &str),
    before: Option<&T>,
    after: Option<&T>,
) -> Result<(), StoreError> {
    let json = |s: &T| serde_json::to_string(s).map_err(|e| StoreError::corrupt(e.to_string()));
    // A client of one cluster is its manager's to watch: its credentials' events are the cluster's.
    let clusters = integration_cluster_ids(c, integration)?;
    let cluster_id = match clusters.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    };
    super::audit::record(
        c,
        event(
            change,
            cluster_id,
            action,
            (entity, id),
            before.map(json).transpose()?,
            after.map(json).transpose()?,
        ),
    )
}

/// An audit event of an integration's: `entity` and its id, with what it was and became.
fn event(
    change: &Change,
    cluster_id: Option<ClusterId>,
    action: &str,
    (entity, id): (&str, &str),
    before_json: Option<String>,
    after_json: Option<String>,
) -> AuditEvent {
    AuditEvent {
        id: new_id(),
        cluster_id: cluster_id.unwrap_or_default(),
        at: change.at,
        actor: change.actor.clone(),
        action: action.to_owned(),
        entity: entity.into(),
        entity_id: id.to_owned(),
        before_json,
        after_json,
    }
}

/// Adds a secret to an integration (a rotation): every other live secret stops working at
/// `previous_until` (now, to cut over at once). Refused with `SecretLimit` when that would leave
/// more than [`MAX_LIVE_SECRETS`] live. Audited without the hash.
pub fn add_secret(
    conn: &mut DbConn,
    change: &Change,
    integration_id: &str,
    secret_hash: String,
    previous_until: NaiveDateTime,
) -> Result<IntegrationSecret, WriteError> {
    write_tx(conn, |c| {
        // Claim the integration's row so that two rotations queue.
        let claimed = diesel::update(integrations::table.find(integration_id))
            .set(integrations::version.eq(integrations::version + 1))
            .execute(c)?;
        if claimed == 0 {
            return Err(StoreError::NotFound.into());
        }
        let live: Vec<IntegrationSecret> = list_secrets(c, integration_id)?
            .into_iter()
            .filter(|s| s.live_at(change.at))
            .collect();
        let kept = if previous_until > change.at {
            live.len()
        } else {
            0
        };
        if kept + 1 > MAX_LIVE_SECRETS {
            return Err(Refusal::SecretLimit.into());
        }
        for old in &live {
            let until = old
                .expires_at
                .map_or(previous_until, |t| t.min(previous_until));
            diesel::update(integration_secrets::table.find(&old.id))
                .set(integration_secrets::expires_at.eq(Some(until)))
                .execute(c)?;
            let after = IntegrationSecret {
                expires_at: Some(until),
                ..old.clone()
            };
            audit_secret(
                c,
                change,
                "integration_secret.expire",
                Some(old),
                Some(&after),
            )?;
        }
        let secret = IntegrationSecret {
            id: new_id(),
            integration_id: integration_id.to_owned(),
            secret_hash,
            created_at: change.at,
            expires_at: None,
            revoked_at: None,
        };
        diesel::insert_into(integration_secrets::table)
            .values(&secret)
            .execute(c)?;
        audit_secret(c, change, "integration_secret.create", None, Some(&secret))?;
        Ok(secret)
    })
}

/// Revokes one secret at once: tokens issued against it stop working on their next request.
pub fn revoke_secret(
    conn: &mut DbConn,
    change: &Change,
    integration_id: &str,
    secret_id: &str,
) -> Result<IntegrationSecret, StoreError> {
    write_tx(conn, |c| {
        let before: IntegrationSecret = integration_secrets::table
            .filter(integration_secrets::id.eq(secret_id))
            .filter(integration_secrets::integration_id.eq(integration_id))
            .select(IntegrationSecret::as_select())
            .first(c)?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        diesel::update(integration_secrets::table.find(secret_id))
            .set(integration_secrets::revoked_at.eq(Some(change.at)))
            .execute(c)?;
        let after = IntegrationSecret {
            revoked_at: Some(change.at),
            ..before.clone()
        };
        audit_secret(
            c,
            change,
            "integration_secret.revoke",
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Registers a TLS client certificate (the SHA-256 of its DER) for an integration. A
/// certificate registered already, to this integration or another, is refused as a duplicate.
pub fn add_certificate(
    conn: &mut DbConn,
    change: &Change,
    integration_id: &str,
    sha256: &str,
) -> Result<IntegrationCertificate, StoreError> {
    write_tx(conn, |c| {
        load(c, integration_id)?;
        let certificate = IntegrationCertificate {
            sha256: sha256.to_owned(),
            integration_id: integration_id.to_owned(),
            created_at: change.at,
            revoked_at: None,
        };
        diesel::insert_into(integration_certificates::table)
            .values(&certificate)
            .execute(c)?;
        audit_integration(
            c,
            change,
            "integration_certificate.create",
            ("integration_certificate", sha256, integration_id),
            None,
            Some(&certificate),
        )?;
        Ok(certificate)
    })
}

/// An integration's certificates, newest first.
pub fn list_certificates(
    conn: &mut DbConn,
    integration_id: &str,
) -> Result<Vec<IntegrationCertificate>, StoreError> {
    Ok(integration_certificates::table
        .filter(integration_certificates::integration_id.eq(integration_id))
        .order((
            integration_certificates::created_at.desc(),
            integration_certificates::sha256,
        ))
        .select(IntegrationCertificate::as_select())
        .load(conn)?)
}

/// Revokes one of an integration's certificates at once: its next connection is refused.
pub fn revoke_certificate(
    conn: &mut DbConn,
    change: &Change,
    integration_id: &str,
    sha256: &str,
) -> Result<IntegrationCertificate, StoreError> {
    write_tx(conn, |c| {
        let before: IntegrationCertificate = integration_certificates::table
            .filter(integration_certificates::sha256.eq(sha256))
            .filter(integration_certificates::integration_id.eq(integration_id))
            .select(IntegrationCertificate::as_select())
            .first(c)?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        diesel::update(integration_certificates::table.find(sha256))
            .set(integration_certificates::revoked_at.eq(Some(change.at)))
            .execute(c)?;
        let after = IntegrationCertificate {
            revoked_at: Some(change.at),
            ..before.clone()
        };
        audit_integration(
            c,
            change,
            "integration_certificate.revoke",
            ("integration_certificate", sha256, integration_id),
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// The audit event of a call an integration made through the GP Connect facade (`action`,
/// under the consumer's own id for the request), with what the consumer said of it (`details`).
/// `cluster_id` is the integration's one cluster, if it has only one (its manager then reads
/// the call in the audit trail).
pub fn call_event(
    change: &Change,
    cluster_id: Option<ClusterId>,
    action: &str,
    call_id: &str,
    details: &serde_json::Value,
) -> AuditEvent {
    event(
        change,
        cluster_id,
        action,
        ("integration_call", call_id),
        None,
        Some(details.to_string()),
    )
}

/// Writes calls' audit events (from [`call_event`]) in one transaction: all or none.
pub fn record_calls(conn: &mut DbConn, events: &[AuditEvent]) -> Result<(), StoreError> {
    write_tx(conn, |c| {
        for event in events {
            super::audit::record(c, event.clone())?;
        }
        Ok(())
    })
}

/// Runs `change` in one transaction with the audit event of the call (from [`call_event`]) that
/// asks for it, so that the call is in the trail exactly as soon as its change is, for one
/// commit; when the change fails and is rolled back, the event is written alone.
pub fn with_call_recorded<T, E, F>(conn: &mut DbConn, event: &AuditEvent, change: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<StoreError>,
{
    let changed = write_tx(conn, |c| {
        super::audit::record(c, event.clone()).map_err(E::from)?;
        change(c)
    });
    if changed.is_err() {
        record_calls(conn, std::slice::from_ref(event))?;
    }
    changed
}

/// The integration a live (registered, not revoked) certificate authenticates; `NotFound`
/// for any other certificate.
pub fn integration_by_certificate(
    conn: &mut DbConn,
    sha256: &str,
) -> Result<Integration, StoreError> {
    Ok(integration_certificates::table
        .inner_join(integrations::table)
        .filter(integration_certificates::sha256.eq(sha256))
        .filter(integration_certificates::revoked_at.is_null())
        .select(Integration::as_select())
        .first(conn)?)
}

fn load(conn: &mut DbConn, id: &str) -> QueryResult<Integration> {
    integrations::table
        .find(id)
        .select(Integration::as_select())
        .first(conn)
}

/// Reads an integration by id.
pub fn get_integration(conn: &mut DbConn, id: &str) -> Result<Integration, StoreError> {
    Ok(load(conn, id)?)
}

/// Finds an integration by its public client id.
pub fn find_integration_by_client_id(
    conn: &mut DbConn,
    client_id: &str,
) -> Result<Integration, StoreError> {
    Ok(integrations::table
        .filter(integrations::client_id.eq(client_id))
        .select(Integration::as_select())
        .first(conn)?)
}

/// The ids of the clusters an integration may act in.
pub fn integration_cluster_ids(
    conn: &mut DbConn,
    integration_id: &str,
) -> Result<Vec<ClusterId>, StoreError> {
    Ok(integration_clusters::table
        .filter(integration_clusters::integration_id.eq(integration_id))
        .select(integration_clusters::cluster_id)
        .order(integration_clusters::cluster_id.asc())
        .load(conn)?)
}

/// Lists integrations in id order after a cursor, optionally only those scoped to one cluster alone.
pub fn list_integrations(
    conn: &mut DbConn,
    cluster_id: Option<&ClusterId>,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Integration>, StoreError> {
    let mut query = integrations::table
        .select(Integration::as_select())
        .order(integrations::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(integrations::id.gt(after.to_owned()));
    }
    if let Some(cluster_id) = cluster_id {
        let scoped = integration_clusters::table
            .filter(integration_clusters::cluster_id.eq(cluster_id.to_owned()))
            .select(integration_clusters::integration_id);
        let elsewhere = integration_clusters::table
            .filter(integration_clusters::cluster_id.ne(cluster_id.to_owned()))
            .select(integration_clusters::integration_id);
        query = query
            .filter(integrations::id.eq_any(scoped))
            .filter(integrations::id.ne_all(elsewhere));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |i| &i.id))
}

/// Changes an integration's name, secret or whether it is active, guarded by its version.
pub fn update_integration(
    conn: &mut DbConn,
    change: &Change,
    id: &str,
    expected: Option<i64>,
    changes: IntegrationChanges,
) -> Result<Integration, StoreError> {
    update_audited(
        conn,
        change,
        expected,
        |c| load(c, id),
        |c, version| {
            diesel::update(
                integrations::table
                    .find(id)
                    .filter(integrations::version.eq(version)),
            )
            .set((
                &changes,
                integrations::version.eq(version + 1),
                integrations::updated_at.eq(change.at),
            ))
            .execute(c)
        },
    )
}
