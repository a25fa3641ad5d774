//! The cluster a use case acts in, looked up by code and checked against the caller with
//! `hubbook_core::access::cluster_access`.

use hubbook_core::access::{cluster_access, ClusterDenied, ClusterNeed, Forbidden};
use hubbook_core::Role;
use hubbook_store::models::Cluster;
use hubbook_store::repo::clusters::get_cluster_by_code;
use hubbook_store::{ClusterId, DbConn, StoreError};

use crate::{Caller, ServiceError};

/// Resolves a cluster by code and checks the caller may act in it as `need` says: a cluster
/// outside the caller's scope is `NotFound` (its existence is not revealed), a role that may not
/// act is `Forbidden`.
pub fn cluster_for(
    conn: &mut DbConn,
    who: &Caller,
    code: &str,
    need: ClusterNeed,
) -> Result<Cluster, ServiceError> {
    let not_found = || ServiceError::NotFound(format!("no cluster {code} that you may see"));
    let cluster = match get_cluster_by_code(conn, &code.to_ascii_uppercase()) {
        Err(StoreError::NotFound) => return Err(not_found()),
        other => other?,
    };
    match cluster_access(who, &cluster.id, need) {
        Ok(()) => Ok(cluster),
        Err(ClusterDenied::OutOfScope) => Err(not_found()),
        Err(ClusterDenied::Forbidden(why)) => Err(why.into()),
    }
}

/// The one cluster a staff caller belongs to; a caller without one (an admin, a triage client)
/// is refused.
pub fn own_cluster(who: &Caller) -> Result<ClusterId, ServiceError> {
    who.scope
        .cluster
        .as_deref()
        .map(ClusterId::from)
        .ok_or_else(|| Forbidden("no cluster in scope").into())
}

/// Every cluster a caller acts in (a staff member's one, a triage client's many), as ids.
pub fn clusters_of(who: &Caller) -> Vec<ClusterId> {
    who.clusters().into_iter().map(ClusterId::from).collect()
}

/// Refuses every caller but an admin.
pub fn require_admin(who: &Caller) -> Result<(), ServiceError> {
    if who.role == Role::Admin {
        Ok(())
    } else {
        Err(Forbidden("only an admin may do this").into())
    }
}
