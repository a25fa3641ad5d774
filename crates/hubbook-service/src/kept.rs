//! What a process keeps of the reference data (clusters with their sharing rules, practices,
//! sites and services): read once, then trusted for as long as the database's reference version
//! (`hubbook_store::repo::reference::version`) stays the same.
//!
//! Every search and booking reads that version, one row, and uses what is kept only if it was
//! kept at that version; a change made through any process bumps the version in its own
//! transaction, so the next request of every process reads the changed rows again. Five lookups
//! a search become one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use hubbook_core::sharing::SharingRules;
use hubbook_store::models::{Cluster, Practice, Service, Site};
use hubbook_store::repo::reference::{self, ClusterRows};
use hubbook_store::{ClusterId, DbConn, PracticeId, SiteId, StoreError};

/// One cluster's reference data, as read at one version.
#[derive(Debug)]
pub struct ClusterReference {
    /// The cluster.
    pub cluster: Cluster,
    /// Its current sharing rules.
    pub rules: SharingRules,
    /// Its member practices, by id.
    pub practices: BTreeMap<PracticeId, Practice>,
    /// Its sites, by id.
    pub sites: BTreeMap<SiteId, Site>,
    /// Its services, by id.
    pub services: BTreeMap<String, Service>,
}

impl ClusterReference {
    /// A member practice by id, or `NotFound`.
    pub fn practice(&self, id: &PracticeId) -> Result<&Practice, StoreError> {
        self.practices.get(id).ok_or(StoreError::NotFound)
    }

    /// A site by id, or `NotFound`.
    pub fn site(&self, id: &SiteId) -> Result<&Site, StoreError> {
        self.sites.get(id).ok_or(StoreError::NotFound)
    }
}

impl From<ClusterRows> for ClusterReference {
    fn from(rows: ClusterRows) -> Self {
        Self {
            cluster: rows.cluster,
            rules: rows.rules,
            practices: rows
                .practices
                .into_iter()
                .map(|p| (p.id.clone(), p))
                .collect(),
            sites: rows.sites.into_iter().map(|s| (s.id.clone(), s)).collect(),
            services: rows
                .services
                .into_iter()
                .map(|s| (s.id.clone(), s))
                .collect(),
        }
    }
}

/// The reference data of the clusters one request works in, all true at the version it read.
#[derive(Debug, Default)]
pub struct Reference {
    clusters: HashMap<ClusterId, Arc<ClusterReference>>,
}

impl Reference {
    /// One of the request's clusters, or `NotFound` (an id that names no cluster).
    pub fn cluster(&self, id: &ClusterId) -> Result<&ClusterReference, StoreError> {
        self.clusters
            .get(id)
            .map(Arc::as_ref)
            .ok_or(StoreError::NotFound)
    }

    /// The request's cluster with this code (capitals), if it is one of them.
    pub fn cluster_by_code(&self, code: &str) -> Option<&ClusterReference> {
        self.clusters
            .values()
            .map(Arc::as_ref)
            .find(|r| r.cluster.code == code)
    }
}

/// The reference data a process keeps, and the version it was read at.
#[derive(Debug, Default)]
pub(crate) struct KeptReference {
    state: RwLock<Kept>,
    /// Held while reading what is missing, so that requests arriving together after a change
    /// read it once (a national 111 service's clusters are thousands of rows), not once each.
    reading: Mutex<()>,
}

#[derive(Debug, Default)]
struct Kept {
    version: i64,
    clusters: HashMap<ClusterId, Arc<ClusterReference>>,
}

impl KeptReference {
    /// Puts into `clusters` what is kept of `wanted` at `version`; returns the ids not kept.
    fn take_kept(
        &self,
        version: i64,
        wanted: &[ClusterId],
        clusters: &mut HashMap<ClusterId, Arc<ClusterReference>>,
    ) -> Vec<ClusterId> {
        let kept = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let mut missing = Vec::new();
        for id in wanted {
            match kept.clusters.get(id).filter(|_| kept.version == version) {
                Some(found) => {
                    clusters.insert(id.clone(), Arc::clone(found));
                }
                None => missing.push(id.clone()),
            }
        }
        missing
    }

    /// The reference data of `cluster_ids` as of now: the version read from the database, what
    /// is kept at that version, and the rest read (five statements for all of it) and kept.
    pub(crate) fn read(
        &self,
        c: &mut DbConn,
        cluster_ids: &[ClusterId],
    ) -> Result<Reference, StoreError> {
        let version = reference::version(c)?;
        let mut clusters = HashMap::with_capacity(cluster_ids.len());
        let mut missing = self.take_kept(version, cluster_ids, &mut clusters);
        if missing.is_empty() {
            return Ok(Reference { clusters });
        }
        let _reading = self.reading.lock().unwrap_or_else(PoisonError::into_inner);
        // Another request may have read them while this one waited.
        missing = self.take_kept(version, &missing, &mut clusters);
        if missing.is_empty() {
            return Ok(Reference { clusters });
        }
        missing.sort_unstable();
        missing.dedup();
        // Read after the version, so what is read is at least as new as the version says.
        let read = reference::clusters_rows(c, &missing)?;
        let mut kept = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if kept.version != version {
            kept.clusters.clear();
            kept.version = version;
        }
        for rows in read {
            let one = Arc::new(ClusterReference::from(rows));
            kept.clusters
                .insert(one.cluster.id.clone(), Arc::clone(&one));
            clusters.insert(one.cluster.id.clone(), one);
        }
        Ok(Reference { clusters })
    }
}
