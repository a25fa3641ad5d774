//! What the web console reads beside the use cases it shares with the JSON API: the caller's own
//! hold with the slot it keeps (for the hold page's summary), and the sites and services its
//! search can be narrowed to, and the caller's own cluster (its code and zone).

use hubbook_core::ClusterTimeZone;
use hubbook_store::models::{Hold, Service, Site};
use hubbook_store::repo::{booking, clusters, services, sharing, sites, MAX_PAGE};
use hubbook_store::{ClusterId, HoldId};

use crate::access::own_cluster;
use crate::error::found;
use crate::slots::{offers, Offer};
use crate::{Caller, Hubbook, ServiceError};

/// A hold of the caller's with the slot it keeps, as a search offered it.
#[derive(Debug, Clone)]
pub struct HeldSlot {
    /// The hold (live or expired: its `expires_at` says which).
    pub hold: Hold,
    /// The held slot with its site, service and cluster.
    pub offer: Offer,
}

/// A signed-in caller's own cluster: the code its use cases are addressed by, and its zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeCluster {
    /// The cluster's code; none for a caller without a cluster.
    pub code: Option<String>,
    /// The zone its times are shown in.
    pub zone: ClusterTimeZone,
}

/// What a slot search in the caller's cluster can be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct SearchChoices {
    /// The cluster's sites.
    pub sites: Vec<Site>,
    /// The cluster's services.
    pub services: Vec<Service>,
}

impl Hubbook {
    /// The caller's hold with this id and its slot; another caller's hold is not found.
    pub async fn held_slot(&self, who: &Caller, hold_id: String) -> Result<HeldSlot, ServiceError> {
        let (who, kept) = (who.clone(), std::sync::Arc::clone(&self.kept));
        self.run(move |c| {
            let hold = found(
                booking::hold_of(c, &HoldId::from(hold_id), &who.actor()),
                "hold",
            )?;
            if !who.in_cluster(&hold.cluster_id) {
                return Err(ServiceError::NotFound(
                    "no hold here that you may see".into(),
                ));
            }
            let slot = found(
                sharing::find_slot(c, std::slice::from_ref(&hold.cluster_id), &hold.slot_id),
                "slot",
            )?;
            let refs = kept.read(c, std::slice::from_ref(&slot.cluster_id))?;
            let offer = offers(&refs, vec![slot])?
                .pop()
                .ok_or_else(|| ServiceError::NotFound("no slot here that you may see".into()))?;
            Ok(HeldSlot { hold, offer })
        })
        .await
    }

    /// The caller's cluster as its pages address and show it: its code and time zone (the
    /// default zone and no code for a caller without a cluster, an admin).
    pub async fn home_cluster(&self, who: &Caller) -> Result<HomeCluster, ServiceError> {
        let Some(cluster_id) = who.scope.cluster.clone() else {
            return Ok(HomeCluster {
                code: None,
                zone: ClusterTimeZone::DEFAULT,
            });
        };
        self.run(move |c| {
            let cluster = clusters::get_cluster(c, &ClusterId::from(cluster_id))?;
            Ok(HomeCluster {
                code: Some(cluster.code),
                zone: cluster.time_zone,
            })
        })
        .await
    }

    /// The sites and services of the caller's cluster, for a search's filters.
    pub async fn search_choices(&self, who: &Caller) -> Result<SearchChoices, ServiceError> {
        let cluster_id = own_cluster(who)?;
        self.run(move |c| {
            Ok(SearchChoices {
                sites: sites::list_sites(c, &cluster_id, None, MAX_PAGE)?.items,
                services: services::list_services(c, &cluster_id, None, MAX_PAGE)?.items,
            })
        })
        .await
    }
}
