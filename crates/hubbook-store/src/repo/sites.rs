//! Sites: the hubs and surgeries where a cluster's sessions run.

use diesel::prelude::*;

use super::{audited, insert_audited, update_audited, Change};
use crate::ids::{ClusterId, SiteId};
use crate::models::{Site, SiteChanges};
use crate::schema::sites;
use crate::{new_id, DbConn, Page, StoreError};

audited!(Site, "site", |s| Some(&s.cluster_id));

/// A validated site to create.
#[derive(Debug, Clone)]
pub struct NewSite {
    /// Display name.
    pub name: String,
    /// `hub` or `surgery`.
    pub kind: hubbook_core::SiteKind,
    /// Street address.
    pub address: String,
    /// Normalised postcode.
    pub postcode: String,
    /// Latitude.
    pub latitude: f64,
    /// Longitude.
    pub longitude: f64,
}

/// Creates a site in a cluster; a name already used in the cluster is a `Duplicate` conflict.
pub fn create_site(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    new: NewSite,
) -> Result<Site, StoreError> {
    let row = Site {
        cluster_id: cluster_id.to_owned(),
        id: new_id().into(),
        name: new.name,
        kind: new.kind,
        address: new.address,
        postcode: new.postcode,
        latitude: new.latitude,
        longitude: new.longitude,
        version: 1,
        created_at: change.at,
        updated_at: change.at,
    };
    let id = row.id.clone();
    insert_audited(
        conn,
        change,
        |c| {
            diesel::insert_into(sites::table)
                .values(row.clone())
                .execute(c)
        },
        |c| load(c, cluster_id, &id),
    )
}

fn load(conn: &mut DbConn, cluster_id: &ClusterId, id: &SiteId) -> QueryResult<Site> {
    sites::table
        .find((cluster_id, id))
        .select(Site::as_select())
        .first(conn)
}

/// Reads one site of a cluster.
pub fn get_site(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    id: &SiteId,
) -> Result<Site, StoreError> {
    Ok(load(conn, cluster_id, id)?)
}

/// The cluster's sites with these ids, in one query; ids that name no site are left out.
pub fn get_sites(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    ids: &[&str],
) -> Result<Vec<Site>, StoreError> {
    Ok(sites::table
        .filter(sites::cluster_id.eq(cluster_id))
        .filter(sites::id.eq_any(ids))
        .select(Site::as_select())
        .load(conn)?)
}

/// Above this many clusters, reading every site and keeping the scope's here is cheaper than
/// filtering in SQL: planning `= ANY` over a thousand ids cost 5 ms, more than reading all of
/// England's 2,500 hub sites.
pub(crate) const SCOPE_FILTERED_IN_SQL: usize = 64;

/// The rows whose cluster (by `cluster_of`) is one of `cluster_ids`.
pub(crate) fn keep_scope<T>(
    rows: Vec<T>,
    cluster_ids: &[ClusterId],
    cluster_of: impl Fn(&T) -> &str,
) -> Vec<T> {
    let wanted: std::collections::HashSet<&str> =
        cluster_ids.iter().map(ClusterId::as_str).collect();
    rows.into_iter()
        .filter(|row| wanted.contains(cluster_of(row)))
        .collect()
}

/// Every site of these clusters, in one query (a national 111 service's scope is about 2,500),
/// by cluster then id.
pub fn sites_of_clusters(
    conn: &mut DbConn,
    cluster_ids: &[ClusterId],
) -> Result<Vec<Site>, StoreError> {
    let ordered = sites::table
        .order((sites::cluster_id.asc(), sites::id.asc()))
        .select(Site::as_select());
    if cluster_ids.len() <= SCOPE_FILTERED_IN_SQL {
        return Ok(ordered
            .filter(sites::cluster_id.eq_any(cluster_ids))
            .load(conn)?);
    }
    let all = ordered.load(conn)?;
    Ok(keep_scope(all, cluster_ids, |s: &Site| &s.cluster_id))
}

/// Where the sites of these clusters are, `(cluster_id, latitude, longitude)`: three columns,
/// for ranking clusters by distance on every triage request.
pub fn site_positions(
    conn: &mut DbConn,
    cluster_ids: &[ClusterId],
) -> Result<Vec<(String, f64, f64)>, StoreError> {
    let positions = sites::table.select((sites::cluster_id, sites::latitude, sites::longitude));
    if cluster_ids.len() <= SCOPE_FILTERED_IN_SQL {
        return Ok(positions
            .filter(sites::cluster_id.eq_any(cluster_ids))
            .load(conn)?);
    }
    let all = positions.load(conn)?;
    Ok(keep_scope(
        all,
        cluster_ids,
        |(c, _, _): &(String, f64, f64)| c,
    ))
}

/// Lists a cluster's sites in id order after a cursor.
pub fn list_sites(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<Site>, StoreError> {
    super::cluster_page!(conn, sites, Site, cluster_id, after, limit)
}

/// Changes a site, guarded by its version.
pub fn update_site(
    conn: &mut DbConn,
    change: &Change,
    cluster_id: &ClusterId,
    id: &SiteId,
    expected: Option<i64>,
    changes: SiteChanges,
) -> Result<Site, StoreError> {
    update_audited(
        conn,
        change,
        expected,
        |c| load(c, cluster_id, id),
        |c, version| {
            diesel::update(
                sites::table
                    .find((cluster_id, id))
                    .filter(sites::version.eq(version)),
            )
            .set((
                &changes,
                sites::version.eq(version + 1),
                sites::updated_at.eq(change.at),
            ))
            .execute(c)
        },
    )
}
