//! Clusters: created by admins, read by their own staff.

use diesel::prelude::*;

use super::{audited, insert_audited, update_audited, Change};
use crate::ids::ClusterId;
use crate::models::{Cluster, ClusterChanges};
use crate::schema::{clusters, event_counters};
use crate::{new_id, DbConn, Page, StoreError};

audited!(Cluster, "cluster", |c| Some(&c.id));

/// What is needed to create a cluster; the code and zone are already validated.
#[derive(Debug, Clone)]
pub struct NewCluster {
    /// Cluster code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// IANA time zone.
    pub time_zone: hubbook_core::ClusterTimeZone,
}

/// Creates a cluster; a taken code is a `Duplicate` conflict.
pub fn create_cluster(
    conn: &mut DbConn,
    change: &Change,
    new: NewCluster,
) -> Result<Cluster, StoreError> {
    let row = Cluster {
        id: new_id().into(),
        code: new.code,
        name: new.name,
        time_zone: new.time_zone,
        version: 1,
        created_at: change.at,
        updated_at: change.at,
    };
    let code = row.code.clone();
    insert_audited(
        conn,
        change,
        |c| {
            let n = diesel::insert_into(clusters::table)
                .values(row.clone())
                .execute(c)?;
            diesel::insert_into(event_counters::table)
                .values((
                    event_counters::cluster_id.eq(&row.id),
                    event_counters::last_seq.eq(0_i64),
                ))
                .execute(c)?;
            Ok(n)
        },
        |c| load(c, &code),
    )
}

fn load(conn: &mut DbConn, code: &str) -> QueryResult<Cluster> {
    clusters::table
        .filter(clusters::code.eq(code))
        .select(Cluster::as_select())
        .first(conn)
}

/// Finds a cluster by its code.
pub fn get_cluster_by_code(conn: &mut DbConn, code: &str) -> Result<Cluster, StoreError> {
    Ok(load(conn, code)?)
}

/// Finds a cluster by its internal id.
pub fn get_cluster(conn: &mut DbConn, id: &ClusterId) -> Result<Cluster, StoreError> {
    Ok(clusters::table
        .find(id)
        .select(Cluster::as_select())
        .first(conn)?)
}

/// Lists clusters in id order after a cursor; `only` restricts the list to those ids.
pub fn list_clusters(
    conn: &mut DbConn,
    only: Option<&[ClusterId]>,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Cluster>, StoreError> {
    let mut query = clusters::table
        .select(Cluster::as_select())
        .order(clusters::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(clusters::id.gt(after.to_owned()));
    }
    if let Some(ids) = only {
        query = query.filter(clusters::id.eq_any(ids.to_vec()));
    }
    Ok(Page::from_rows(query.load(conn)?, limit, |c| &c.id))
}

/// Changes a cluster's name or time zone, guarded by its version.
pub fn update_cluster(
    conn: &mut DbConn,
    change: &Change,
    code: &str,
    expected: Option<i64>,
    changes: ClusterChanges,
) -> Result<Cluster, StoreError> {
    update_audited(
        conn,
        change,
        expected,
        |c| load(c, code),
        |c, version| {
            diesel::update(
                clusters::table
                    .filter(clusters::code.eq(code))
                    .filter(clusters::version.eq(version)),
            )
            .set((
                &changes,
                clusters::version.eq(version + 1),
                clusters::updated_at.eq(change.at),
            ))
            .execute(c)
        },
    )
}
