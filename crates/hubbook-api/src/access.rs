//! Authorisation: which role may do what, in which scope (DESIGN section 6).
//!
//! A caller outside a cluster gets `not-found` (the cluster's existence is not revealed); a caller
//! inside it whose role may not act gets `forbidden`.

use hubbook_core::Role;
use hubbook_store::models::Cluster;
use hubbook_store::repo::clusters::get_cluster_by_code;
use hubbook_store::{DbConn, StoreError};

use crate::{auth::Principal, ApiError};

/// What a route needs of its caller within a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Read the cluster's reference data (practices, sites, services): any member, or an admin.
    Read,
    /// Change the cluster's set-up: its cluster manager.
    Manage,
    /// Manage the cluster's users: its cluster manager, or an admin.
    ManageUsers,
    /// Change the cluster itself (name, time zone): its cluster manager, or an admin.
    ManageCluster,
    /// Read the cluster's sessions and day lists: its manager or hub staff, or an admin.
    Operate,
}

/// Resolves a cluster by code and checks the caller may act in it as `need` says.
pub fn cluster_for(
    conn: &mut DbConn,
    who: &Principal,
    code: &str,
    need: Need,
) -> Result<Cluster, ApiError> {
    let not_found = || ApiError::NotFound(format!("no cluster {code} that you may see"));
    let cluster = match get_cluster_by_code(conn, &code.to_ascii_uppercase()) {
        Err(StoreError::NotFound) => return Err(not_found()),
        other => other?,
    };
    if !who.in_cluster(&cluster.id) {
        return Err(not_found());
    }
    let allowed = match need {
        Need::Read => true,
        Need::Manage => who.role == Role::ClusterManager,
        Need::ManageUsers | Need::ManageCluster => {
            matches!(who.role, Role::ClusterManager | Role::Admin)
        }
        Need::Operate => matches!(
            who.role,
            Role::ClusterManager | Role::HubStaff | Role::Admin
        ),
    };
    if allowed {
        Ok(cluster)
    } else {
        Err(ApiError::Forbidden(format!(
            "the role {} may not do this in this cluster",
            who.role
        )))
    }
}

/// Refuses every caller but an admin.
pub fn require_admin(who: &Principal) -> Result<(), ApiError> {
    if who.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only an admin may do this".into()))
    }
}

/// Maps a store `NotFound` to a problem that names what was looked for.
pub fn found<T>(result: Result<T, StoreError>, what: &str) -> Result<T, ApiError> {
    match result {
        Err(StoreError::NotFound) => Err(ApiError::NotFound(format!(
            "no {what} here that you may see"
        ))),
        other => Ok(other?),
    }
}
