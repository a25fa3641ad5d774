//! Reference data read whole, for the processes that keep it: the installation's reference
//! version, and the clusters, practices, sites, services and current sharing rules of many
//! clusters at once (one statement each, whatever the number of clusters).

use std::collections::HashMap;

use diesel::prelude::*;
use hubbook_core::sharing::SharingRules;

use super::sites::{keep_scope, SCOPE_FILTERED_IN_SQL};
use crate::ids::ClusterId;
use crate::models::{Cluster, Practice, Service, Site};
use crate::schema::{clusters, practices, reference_version, services};
use crate::{DbConn, StoreError};

/// The version of the reference data: a trigger bumps it in the transaction of every change to
/// clusters, practices, sites, services, sharing rules or dispositions, so what was read at an
/// equal version is still true.
pub fn version(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(reference_version::table
        .find(1)
        .select(reference_version::version)
        .first(conn)?)
}

/// One cluster's reference data as read together.
#[derive(Debug, Clone)]
pub struct ClusterRows {
    /// The cluster.
    pub cluster: Cluster,
    /// Its current sharing rules (the defaults when none were ever set).
    pub rules: SharingRules,
    /// Its member practices.
    pub practices: Vec<Practice>,
    /// Its sites.
    pub sites: Vec<Site>,
    /// Its services.
    pub services: Vec<Service>,
}

/// The reference data of these clusters, one entry per cluster that exists (an unknown id is
/// left out): five statements however many clusters are asked for. Past a few dozen clusters
/// every row is read and the wanted kept here, as planning `= ANY` over a thousand ids costs
/// more than reading the whole of these small tables.
pub fn clusters_rows(
    conn: &mut DbConn,
    cluster_ids: &[ClusterId],
) -> Result<Vec<ClusterRows>, StoreError> {
    if cluster_ids.is_empty() {
        return Ok(Vec::new());
    }
    let in_sql = cluster_ids.len() <= SCOPE_FILTERED_IN_SQL;
    let found: Vec<Cluster> = if in_sql {
        clusters::table
            .filter(clusters::id.eq_any(cluster_ids))
            .select(Cluster::as_select())
            .load(conn)?
    } else {
        keep_scope(
            clusters::table.select(Cluster::as_select()).load(conn)?,
            cluster_ids,
            |c: &Cluster| &c.id,
        )
    };
    let practices: Vec<Practice> = if in_sql {
        practices::table
            .filter(practices::cluster_id.eq_any(cluster_ids))
            .select(Practice::as_select())
            .load(conn)?
    } else {
        keep_scope(
            practices::table.select(Practice::as_select()).load(conn)?,
            cluster_ids,
            |p: &Practice| &p.cluster_id,
        )
    };
    let sites: Vec<Site> = super::sites::sites_of_clusters(conn, cluster_ids)?;
    let services: Vec<Service> = if in_sql {
        services::table
            .filter(services::cluster_id.eq_any(cluster_ids))
            .select(Service::as_select())
            .load(conn)?
    } else {
        keep_scope(
            services::table.select(Service::as_select()).load(conn)?,
            cluster_ids,
            |s: &Service| &s.cluster_id,
        )
    };
    let mut rules = super::sharing::current_rules_of(conn, cluster_ids)?;
    let mut by_cluster: HashMap<ClusterId, ClusterRows> = found
        .into_iter()
        .map(|cluster| {
            let rules = rules.remove(cluster.id.as_str()).unwrap_or_default();
            (
                cluster.id.clone(),
                ClusterRows {
                    cluster,
                    rules,
                    practices: Vec::new(),
                    sites: Vec::new(),
                    services: Vec::new(),
                },
            )
        })
        .collect();
    for p in practices {
        if let Some(rows) = by_cluster.get_mut(&p.cluster_id) {
            rows.practices.push(p);
        }
    }
    for s in sites {
        if let Some(rows) = by_cluster.get_mut(&s.cluster_id) {
            rows.sites.push(s);
        }
    }
    for s in services {
        if let Some(rows) = by_cluster.get_mut(&s.cluster_id) {
            rows.services.push(s);
        }
    }
    Ok(by_cluster.into_values().collect())
}
