//! Services: what a cluster's slots offer (GP, nurse, phlebotomy...), each with one clinical role.

use diesel::prelude::*;

use super::{audited, insert_audited, update_audited, Change};
use crate::ids::ClusterId;
use crate::models::{Service, ServiceChanges};
use crate::schema::services;
use crate::{new_id, DbConn, Page, StoreError};

audited!(Service, "service", |s| Some(&s.cluster_id));

/// A validated service to create.
#[derive(Debug, Clone)]
pub struct NewService {
    /// Code, unique in the cluster.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Clinical role.
    pub clinical_role: hubbook_core::ClinicalRole,
}

/// Creates a service; a code already in the cluster is a `Duplicate` conflict.
pub fn create_service(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    new: NewService,
) -> Result<Service, StoreError> {
    let row = Service {
        cluster_id: cluster_id.to_owned(),
        id: new_id(),
        code: new.code,
        name: new.name,
        clinical_role: new.clinical_role,
        version: 1,
        created_at: change.at,
        updated_at: change.at,
    };
    let id = row.id.clone();
    insert_audited(
        conn,
        change,
        |c| {
            diesel::insert_into(services::table)
                .values(row.clone())
                .execute(c)
        },
        |c| load(c, cluster_id, &id),
    )
}

fn load(conn: &mut DbConn, cluster_id: &ClusterId, id: &str) -> QueryResult<Service> {
    services::table
        .find((cluster_id, id))
        .select(Service::as_select())
        .first(conn)
}

/// Reads one service of a cluster.
pub fn get_service(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    id: &str,
) -> Result<Service, StoreError> {
    Ok(load(conn, cluster_id, id)?)
}

/// The cluster's services with these ids, in one query; ids that name no service are left out.
pub fn get_services(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    ids: &[&str],
) -> Result<Vec<Service>, StoreError> {
    Ok(services::table
        .filter(services::cluster_id.eq(cluster_id))
        .filter(services::id.eq_any(ids))
        .select(Service::as_select())
        .load(conn)?)
}

/// Lists a cluster's services in id order after a cursor.
pub fn list_services(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Service>, StoreError> {
    super::cluster_page!(conn, services, Service, cluster_id, after, limit)
}

/// Changes a service, guarded by its version.
pub fn update_service(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    id: &str,
    expected: Option<i64>,
    changes: ServiceChanges,
) -> Result<Service, StoreError> {
    update_audited(
        conn,
        change,
        expected,
        |c| load(c, cluster_id, id),
        |c, version| {
            diesel::update(
                services::table
                    .find((cluster_id, id))
                    .filter(services::version.eq(version)),
            )
            .set((
                &changes,
                services::version.eq(version + 1),
                services::updated_at.eq(change.at),
            ))
            .execute(c)
        },
    )
}
