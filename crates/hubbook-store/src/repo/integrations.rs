//! Integration clients: machine callers such as NHS 111, scoped to one or more clusters.

use diesel::prelude::*;

use super::{audited, insert_audited, update_audited, Change};
use crate::models::{Integration, IntegrationChanges};
use crate::schema::{integration_clusters, integrations};
use crate::{new_id, write_tx, DbConn, Page, StoreError};

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
    pub cluster_ids: Vec<String>,
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
        secret_hash: new.secret_hash,
        active: true,
        version: 1,
        created_at: change.at,
        updated_at: change.at,
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
        Ok(created)
    })
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
) -> Result<Vec<String>, StoreError> {
    Ok(integration_clusters::table
        .filter(integration_clusters::integration_id.eq(integration_id))
        .select(integration_clusters::cluster_id)
        .order(integration_clusters::cluster_id.asc())
        .load(conn)?)
}

/// Lists integrations in id order after a cursor, optionally only those scoped to one cluster alone.
pub fn list_integrations(
    conn: &mut DbConn,
    cluster_id: Option<&str>,
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
