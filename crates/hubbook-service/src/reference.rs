//! A cluster's reference data: the cluster itself, its member practices, its sites (hubs and
//! surgeries) and its services. An admin creates clusters; everyone working in a cluster (and an
//! admin) reads its reference data; its manager changes it, and an admin may also rename it.

use chrono::NaiveDate;
use hubbook_core::access::ClusterNeed;
use hubbook_core::{
    validate_name, ClinicalRole, ClusterCode, ClusterTimeZone, Coordinates, DataSharingAgreement,
    ListSize, OdsCode, Postcode, Role, ServiceCode, SiteKind,
};
use hubbook_store::ids::{ClusterId, PracticeId, SiteId};
use hubbook_store::models::{
    Cluster, ClusterChanges, Practice, PracticeChanges, Service, ServiceChanges, Site, SiteChanges,
};
use hubbook_store::repo::idempotency::Claim;
use hubbook_store::repo::{clusters, practices, services, sites};
use hubbook_store::Page;

use crate::access::{cluster_for, require_admin};
use crate::error::found;
use crate::idempotency::create_once;
use crate::{Caller, Hubbook, ServiceError};

/// A cluster to create, as sent: checked once the caller is known to be an admin.
#[derive(Debug, Clone)]
pub struct CreateCluster {
    /// The code: 3 to 16 capital letters and digits starting with a letter.
    pub code: String,
    /// Display name.
    pub name: String,
    /// IANA time zone; `Europe/London` when absent.
    pub time_zone: Option<String>,
}

/// Changes to a cluster, checked; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct UpdateCluster {
    /// New display name.
    pub name: Option<String>,
    /// New time zone.
    pub time_zone: Option<ClusterTimeZone>,
}

/// A practice to add to a cluster, checked.
#[derive(Debug, Clone)]
pub struct CreatePractice {
    /// ODS code.
    pub ods_code: OdsCode,
    /// Display name.
    pub name: String,
    /// Registered list size.
    pub list_size: ListSize,
    /// Its own site in the cluster, if any.
    pub site_id: Option<String>,
    /// Its data-sharing agreement.
    pub agreement: DataSharingAgreement,
}

/// Changes to a practice; absent fields stay, `Some(None)` clears an optional one. The agreement
/// is checked as it will stand after the change.
#[derive(Debug, Clone, Default)]
pub struct UpdatePractice {
    /// New display name.
    pub name: Option<String>,
    /// New list size.
    pub list_size: Option<ListSize>,
    /// New own site, or none.
    pub site_id: Option<Option<String>>,
    /// New agreement start, or no agreement.
    pub data_sharing_from: Option<Option<NaiveDate>>,
    /// New agreement end, or open-ended.
    pub data_sharing_to: Option<Option<NaiveDate>>,
}

/// A site to add to a cluster, checked.
#[derive(Debug, Clone)]
pub struct CreateSite {
    /// Display name.
    pub name: String,
    /// Hub or surgery.
    pub kind: SiteKind,
    /// Street address.
    pub address: String,
    /// Postcode.
    pub postcode: Postcode,
    /// Where it is.
    pub position: Coordinates,
}

/// Changes to a site, checked; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct UpdateSite {
    /// New name.
    pub name: Option<String>,
    /// New kind.
    pub kind: Option<SiteKind>,
    /// New address.
    pub address: Option<String>,
    /// New postcode.
    pub postcode: Option<Postcode>,
    /// New position (see [`site_position`]).
    pub position: Option<Coordinates>,
}

/// A service to add to a cluster, checked.
#[derive(Debug, Clone)]
pub struct CreateService {
    /// Short code, unique in the cluster.
    pub code: ServiceCode,
    /// Display name.
    pub name: String,
    /// The clinical role who delivers it.
    pub clinical_role: ClinicalRole,
}

/// Changes to a service, checked; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct UpdateService {
    /// New display name.
    pub name: Option<String>,
    /// New clinical role.
    pub clinical_role: Option<ClinicalRole>,
}

/// A site's new position from the coordinates sent: both or neither, never one alone.
pub fn site_position(
    latitude: Option<f64>,
    longitude: Option<f64>,
) -> Result<Option<Coordinates>, ServiceError> {
    match (latitude, longitude) {
        (None, None) => Ok(None),
        (Some(latitude), Some(longitude)) => Ok(Some(Coordinates::new(latitude, longitude)?)),
        _ => Err(ServiceError::HalfCoordinates),
    }
}

impl Hubbook {
    /// Creates a cluster (an admin). With a claim, a retry returns the cluster the first made.
    pub async fn create_cluster(
        &self,
        who: &Caller,
        claim: Option<Claim>,
        cmd: CreateCluster,
    ) -> Result<Cluster, ServiceError> {
        require_admin(who)?;
        let new = clusters::NewCluster {
            code: ClusterCode::parse(&cmd.code)?.as_str().to_owned(),
            name: validate_name("name", &cmd.name, hubbook_core::MAX_NAME_CHARS)?,
            time_zone: cmd
                .time_zone
                .as_deref()
                .map(ClusterTimeZone::parse)
                .transpose()?
                .unwrap_or_default(),
        };
        let (change, now) = (self.change(who), self.now().naive_utc());
        self.run(move |c| {
            create_once(
                c,
                claim.as_ref(),
                now,
                |c| Ok(clusters::create_cluster(c, &change, new)?),
                |cluster: &Cluster| cluster.code.clone(),
                |c, code| Ok(clusters::get_cluster_by_code(c, code)?),
            )
        })
        .await
    }

    /// The clusters the caller may see: every one for an admin, its own otherwise.
    pub async fn list_clusters(
        &self,
        who: &Caller,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<Cluster>, ServiceError> {
        let only: Option<Vec<ClusterId>> = match who.role {
            Role::Admin => None,
            _ => Some(
                who.scope
                    .cluster
                    .iter()
                    .chain(who.scope.clusters.iter())
                    .map(ClusterId::from)
                    .collect(),
            ),
        };
        self.run(move |c| {
            Ok(clusters::list_clusters(
                c,
                only.as_deref(),
                after.as_deref(),
                limit,
            )?)
        })
        .await
    }

    /// One cluster: for an admin, or anyone working in it.
    pub async fn cluster(&self, who: &Caller, code: String) -> Result<Cluster, ServiceError> {
        let who = who.clone();
        self.run(move |c| cluster_for(c, &who, &code, ClusterNeed::Read))
            .await
    }

    /// Renames a cluster or changes its time zone: its manager, or an admin.
    pub async fn update_cluster(
        &self,
        who: &Caller,
        code: String,
        expected: Option<i64>,
        cmd: UpdateCluster,
    ) -> Result<Cluster, ServiceError> {
        let (who, change) = (who.clone(), self.change(who));
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::ManageCluster)?;
            let changes = ClusterChanges {
                name: cmd.name,
                time_zone: cmd.time_zone.map(|z| z.name().to_owned()),
            };
            Ok(clusters::update_cluster(
                c,
                &change,
                &cluster.code,
                expected,
                changes,
            )?)
        })
        .await
    }

    /// The cluster's member practices.
    pub async fn list_practices(
        &self,
        who: &Caller,
        code: String,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<Practice>, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Read)?;
            Ok(practices::list_practices(
                c,
                &cluster.id,
                after.as_deref(),
                limit,
            )?)
        })
        .await
    }

    /// Adds a practice to the cluster (its manager). With a claim, a retry returns the practice
    /// the first added.
    pub async fn create_practice(
        &self,
        who: &Caller,
        claim: Option<Claim>,
        code: String,
        cmd: CreatePractice,
    ) -> Result<Practice, ServiceError> {
        let (who, change, now) = (who.clone(), self.change(who), self.now().naive_utc());
        let new = practices::NewPractice {
            ods_code: cmd.ods_code.as_str().to_owned(),
            name: cmd.name,
            list_size: i64::from(cmd.list_size),
            site_id: cmd.site_id,
            dsa_from: cmd.agreement.from,
            dsa_to: cmd.agreement.to,
        };
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            create_once(
                c,
                claim.as_ref(),
                now,
                |c| Ok(practices::create_practice(c, &change, &cluster.id, new)?),
                |p: &Practice| p.id.clone().into(),
                |c, id| {
                    found(
                        practices::get_practice(c, &cluster.id, &PracticeId::from(id)),
                        "practice",
                    )
                },
            )
        })
        .await
    }

    /// One practice of the cluster.
    pub async fn practice(
        &self,
        who: &Caller,
        code: String,
        id: String,
    ) -> Result<Practice, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Read)?;
            found(
                practices::get_practice(c, &cluster.id, &PracticeId::from(&id)),
                "practice",
            )
        })
        .await
    }

    /// Changes a practice (its cluster's manager); its agreement must hold as it will stand.
    pub async fn update_practice(
        &self,
        who: &Caller,
        code: String,
        id: String,
        expected: Option<i64>,
        cmd: UpdatePractice,
    ) -> Result<Practice, ServiceError> {
        let (who, change) = (who.clone(), self.change(who));
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            let current = found(
                practices::get_practice(c, &cluster.id, &PracticeId::from(&id)),
                "practice",
            )?;
            DataSharingAgreement::new(
                cmd.data_sharing_from.unwrap_or(current.dsa_from),
                cmd.data_sharing_to.unwrap_or(current.dsa_to),
            )?;
            let changes = PracticeChanges {
                name: cmd.name,
                list_size: cmd.list_size.map(i64::from),
                site_id: cmd.site_id,
                dsa_from: cmd.data_sharing_from,
                dsa_to: cmd.data_sharing_to,
            };
            Ok(practices::update_practice(
                c,
                &change,
                &cluster.id,
                &PracticeId::from(&id),
                expected,
                changes,
            )?)
        })
        .await
    }

    /// The cluster's sites.
    pub async fn list_sites(
        &self,
        who: &Caller,
        code: String,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<Site>, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Read)?;
            Ok(sites::list_sites(c, &cluster.id, after.as_deref(), limit)?)
        })
        .await
    }

    /// Adds a site to the cluster (its manager). With a claim, a retry returns the site the
    /// first added.
    pub async fn create_site(
        &self,
        who: &Caller,
        claim: Option<Claim>,
        code: String,
        cmd: CreateSite,
    ) -> Result<Site, ServiceError> {
        let (who, change, now) = (who.clone(), self.change(who), self.now().naive_utc());
        let new = sites::NewSite {
            name: cmd.name,
            kind: cmd.kind,
            address: cmd.address,
            postcode: cmd.postcode.as_str().to_owned(),
            latitude: cmd.position.latitude,
            longitude: cmd.position.longitude,
        };
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            create_once(
                c,
                claim.as_ref(),
                now,
                |c| Ok(sites::create_site(c, &change, &cluster.id, new)?),
                |s: &Site| s.id.clone().into(),
                |c, id| found(sites::get_site(c, &cluster.id, &SiteId::from(id)), "site"),
            )
        })
        .await
    }

    /// One site of the cluster.
    pub async fn site(&self, who: &Caller, code: String, id: String) -> Result<Site, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Read)?;
            found(sites::get_site(c, &cluster.id, &SiteId::from(&id)), "site")
        })
        .await
    }

    /// Changes a site (its cluster's manager).
    pub async fn update_site(
        &self,
        who: &Caller,
        code: String,
        id: String,
        expected: Option<i64>,
        cmd: UpdateSite,
    ) -> Result<Site, ServiceError> {
        let (who, change) = (who.clone(), self.change(who));
        let changes = SiteChanges {
            name: cmd.name,
            kind: cmd.kind.map(|k| k.as_str().to_owned()),
            address: cmd.address,
            postcode: cmd.postcode.map(|p| p.as_str().to_owned()),
            latitude: cmd.position.map(|p| p.latitude),
            longitude: cmd.position.map(|p| p.longitude),
        };
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            found(
                sites::update_site(
                    c,
                    &change,
                    &cluster.id,
                    &SiteId::from(&id),
                    expected,
                    changes,
                ),
                "site",
            )
        })
        .await
    }

    /// The cluster's services.
    pub async fn list_services(
        &self,
        who: &Caller,
        code: String,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<Service>, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Read)?;
            Ok(services::list_services(
                c,
                &cluster.id,
                after.as_deref(),
                limit,
            )?)
        })
        .await
    }

    /// Adds a service to the cluster (its manager). With a claim, a retry returns the service
    /// the first added.
    pub async fn create_service(
        &self,
        who: &Caller,
        claim: Option<Claim>,
        code: String,
        cmd: CreateService,
    ) -> Result<Service, ServiceError> {
        let (who, change, now) = (who.clone(), self.change(who), self.now().naive_utc());
        let new = services::NewService {
            code: cmd.code.as_str().to_owned(),
            name: cmd.name,
            clinical_role: cmd.clinical_role,
        };
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            create_once(
                c,
                claim.as_ref(),
                now,
                |c| Ok(services::create_service(c, &change, &cluster.id, new)?),
                |s: &Service| s.id.clone(),
                |c, id| found(services::get_service(c, &cluster.id, id), "service"),
            )
        })
        .await
    }

    /// One service of the cluster.
    pub async fn service(
        &self,
        who: &Caller,
        code: String,
        id: String,
    ) -> Result<Service, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Read)?;
            found(services::get_service(c, &cluster.id, &id), "service")
        })
        .await
    }

    /// Changes a service (its cluster's manager).
    pub async fn update_service(
        &self,
        who: &Caller,
        code: String,
        id: String,
        expected: Option<i64>,
        cmd: UpdateService,
    ) -> Result<Service, ServiceError> {
        let (who, change) = (who.clone(), self.change(who));
        let changes = ServiceChanges {
            name: cmd.name,
            clinical_role: cmd.clinical_role.map(|r| r.as_str().to_owned()),
        };
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            found(
                services::update_service(c, &change, &cluster.id, &id, expected, changes),
                "service",
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_moves_by_both_coordinates_or_not_at_all() {
        assert!(matches!(site_position(None, None), Ok(None)));
        assert!(matches!(site_position(Some(53.8), Some(-1.5)), Ok(Some(_))));
        assert!(matches!(
            site_position(Some(53.8), None),
            Err(ServiceError::HalfCoordinates)
        ));
        assert!(matches!(
            site_position(None, Some(-1.5)),
            Err(ServiceError::HalfCoordinates)
        ));
        assert!(matches!(
            site_position(Some(-1.5), Some(53.8)),
            Err(ServiceError::Validation(_))
        ));
    }
}
