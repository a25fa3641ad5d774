//! The cluster a use case acts in, looked up by code and checked against the caller with
//! `hubbook_core::access::cluster_access`.

use hubbook_core::access::{
    cluster_access, cluster_role_may, permit, Action, ClusterDenied, ClusterNeed, Forbidden,
};
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

/// What an operation asks of its caller's role, so that a front end can check it before reading
/// the request's body (a caller without the rights hears 403 whatever it sent); each names the
/// rule its use case applies again, in full, with the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rights {
    /// Acting in a cluster as the need says ([`cluster_for`]).
    Cluster(ClusterNeed),
    /// An action on appointments (`hubbook_core::access::permit`).
    Appointment(Action),
    /// The triage endpoints: triage services only.
    Triage,
    /// Working a cluster's rebooking list: its manager or a receptionist.
    Rebooking,
    /// Managing integrations: an admin, or a cluster manager for its own cluster.
    Integrations,
    /// The admin's alone (clusters, dispositions).
    Admin,
    /// Reading a cluster's event feed: its manager, or a triage service (its own bookings' events).
    Feed,
}

/// Whether the caller's role has the rights at all; which rows it may touch is its use case's to
/// say.
pub fn may(who: &Caller, rights: Rights) -> Result<(), ServiceError> {
    match rights {
        Rights::Cluster(need) => Ok(cluster_role_may(who.role, need)?),
        Rights::Appointment(action) => Ok(permit(who.role, action)?),
        Rights::Triage => triage_only(who),
        Rights::Rebooking => rebooking_role(who).map(|_| ()),
        Rights::Integrations => crate::integrations::manager_scope(who).map(|_| ()),
        Rights::Admin => require_admin(who),
        Rights::Feed if who.role == Role::Triage => Ok(()),
        Rights::Feed => Ok(cluster_role_may(who.role, ClusterNeed::Manage)?),
    }
}

/// The triage endpoints are for triage services (client credentials) only.
pub fn triage_only(who: &Caller) -> Result<(), ServiceError> {
    if who.role == Role::Triage {
        Ok(())
    } else {
        Err(Forbidden("the triage endpoints are for triage services (client credentials)").into())
    }
}

/// Whose rebooking list a caller works: a cluster manager the whole cluster's (`None`), a
/// receptionist its practice's; anyone else none.
pub fn rebooking_role(who: &Caller) -> Result<Option<hubbook_store::PracticeId>, ServiceError> {
    match who.role {
        Role::ClusterManager => Ok(None),
        Role::Receptionist => Ok(who
            .scope
            .practice
            .as_deref()
            .map(hubbook_store::PracticeId::from)),
        _ => Err(
            Forbidden("only a cluster manager or a receptionist may work the rebooking list")
                .into(),
        ),
    }
}
