//! The caller as the sharing rules see it, and the facts about its practice that access rules
//! need (is its data-sharing agreement in force today, in its cluster's zone).

use chrono::{DateTime, NaiveDate, Utc};
use hubbook_core::access::Forbidden;
use hubbook_core::sharing::Viewer;
use hubbook_core::{DataSharingAgreement, OdsCode, Role};
use hubbook_store::models::{Cluster, Practice};
use hubbook_store::repo::practices;
use hubbook_store::{ClusterId, DbConn, PracticeId, StoreError};

use crate::kept::{ClusterReference, Reference};
use crate::{Caller, ServiceError};

/// A cluster's local date at `now`: "today" for agreements and the same-day rule.
pub fn today_in(cluster: &Cluster, now: DateTime<Utc>) -> Result<NaiveDate, ServiceError> {
    Ok(cluster.time_zone.date_of(now))
}

/// Whether a practice's data-sharing agreement is in force on `today`.
pub fn agreement_in_force(practice: &Practice, today: NaiveDate) -> bool {
    DataSharingAgreement::new(practice.dsa_from, practice.dsa_to)
        .is_ok_and(|a| a.in_force_on(today))
}

/// The clusters a caller books in and how sharing sees it: a receptionist is its practice (with
/// its agreement judged today in the cluster's zone); a triage service is 111 in its clusters
/// (or one of them, by code). Other roles do not book. `refs` holds the caller's clusters
/// ([`crate::access::clusters_of`]).
pub fn viewer_for(
    refs: &Reference,
    who: &Caller,
    now: DateTime<Utc>,
    only_cluster: Option<&str>,
) -> Result<(Vec<ClusterId>, Viewer), ServiceError> {
    match who.role {
        Role::Receptionist => {
            let (cluster_id, practice_id) = match (&who.scope.cluster, &who.scope.practice) {
                (Some(c), Some(p)) => (ClusterId::from(c), PracticeId::from(p)),
                _ => return Err(Forbidden("a receptionist needs a practice").into()),
            };
            let cluster = refs.cluster(&cluster_id)?;
            let practice = cluster.practice(&practice_id)?;
            let in_force = agreement_in_force(practice, today_in(&cluster.cluster, now)?);
            Ok((
                vec![cluster_id],
                Viewer::Practice {
                    practice_id: practice_id.into(),
                    agreement_in_force: in_force,
                    own_site: practice.site_id.clone(),
                },
            ))
        }
        Role::Triage => {
            let mut ids: Vec<ClusterId> = who.scope.clusters.iter().map(ClusterId::from).collect();
            if let Some(code) = only_cluster {
                let wanted = refs
                    .cluster_by_code(&code.to_ascii_uppercase())
                    .map(|r| r.cluster.id.clone());
                ids.retain(|id| Some(id) == wanted.as_ref());
                if ids.is_empty() {
                    return Err(ServiceError::NotFound(format!(
                        "no cluster {code} that you may book in"
                    )));
                }
            }
            let open_clusters = ids
                .iter()
                .filter(|id| refs.cluster(id).is_ok_and(|r| r.rules.triage_may_book_open))
                .map(|id| id.to_string())
                .collect();
            Ok((ids, Viewer::Triage { open_clusters }))
        }
        _ => Err(
            Forbidden("searching and booking slots is for receptionists and triage services")
                .into(),
        ),
    }
}

/// The id of the member practice with this ODS code, or `PracticeNotInCluster`.
pub fn member_practice(
    c: &mut DbConn,
    cluster_id: &ClusterId,
    ods: &str,
) -> Result<PracticeId, ServiceError> {
    let code = OdsCode::parse(ods)?;
    match practices::get_practice_by_ods(c, cluster_id, code.as_str()) {
        Ok(p) => Ok(p.id),
        Err(StoreError::NotFound) => Err(ServiceError::PracticeNotInCluster(code.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// The id of the member practice of `cluster` (as kept, [`Reference`]) with this ODS code, or
/// `PracticeNotInCluster`: [`member_practice`] without a statement.
pub fn member_practice_in(
    cluster: &ClusterReference,
    ods: &str,
) -> Result<PracticeId, ServiceError> {
    let code = OdsCode::parse(ods)?;
    cluster
        .practices
        .values()
        .find(|p| p.ods_code == code.as_str())
        .map(|p| p.id.clone())
        .ok_or_else(|| ServiceError::PracticeNotInCluster(code.to_string()))
}

/// Whether the caller's own practice (a receptionist's) has its agreement in force today.
pub(crate) fn own_agreement_in_force(
    c: &mut DbConn,
    who: &Caller,
    today: NaiveDate,
) -> Result<bool, ServiceError> {
    match (&who.scope.cluster, &who.scope.practice, who.role) {
        (Some(cluster_id), Some(practice_id), Role::Receptionist) => Ok(agreement_in_force(
            &practices::get_practice(
                c,
                &ClusterId::from(cluster_id),
                &PracticeId::from(practice_id),
            )?,
            today,
        )),
        _ => Ok(false),
    }
}
