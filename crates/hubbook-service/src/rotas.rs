//! Rotas: a cluster manager drafts session templates, then publishes them over a range of local
//! dates to make sessions and slots, or withdraws a range; neither ever drops a booked patient
//! silently (`hubbook_store::repo::sessions` keeps the appointment and lists it for rebooking).

use hubbook_store::ids::{ClusterId, SiteId};
use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveDateTime};
use hubbook_core::access::ClusterNeed;
use hubbook_core::rota::{expand, ExpansionWarning, Rota};
use hubbook_core::validate_name;
use hubbook_store::models;
use hubbook_store::repo::idempotency::Claim;
use hubbook_store::repo::sessions::{self, ChangeReport, PublishTarget, Selection};
use hubbook_store::repo::{rotas, services, sharing, sites};
use hubbook_store::{DbConn, Page, StoreError};

use crate::access::cluster_for;
use crate::error::found;
use crate::idempotency::create_once;
use crate::{Caller, Hubbook, ServiceError};

/// The longest range one publish or withdrawal may cover, in days (two years).
pub const MAX_RANGE_DAYS: i64 = 731;

/// How far ahead a draft rota is checked date by date, in days (a year).
pub const DRAFT_CHECK_DAYS: i64 = 366;

/// Why sessions were withdrawn when the manager gave no reason.
pub const DEFAULT_WITHDRAWAL_REASON: &str = "the session was withdrawn";

/// A rota as stored: its name and templates, with its id, version and times.
#[derive(Debug, Clone)]
pub struct SavedRota {
    /// Id within the cluster.
    pub id: String,
    /// The rota: its name and session templates.
    pub rota: Rota,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When it was created (UTC).
    pub created_at: NaiveDateTime,
    /// When it last changed (UTC).
    pub updated_at: NaiveDateTime,
}

impl TryFrom<models::Rota> for SavedRota {
    type Error = ServiceError;
    fn try_from(r: models::Rota) -> Result<Self, ServiceError> {
        let templates = serde_json::from_str(&r.templates_json).map_err(|e| {
            ServiceError::Internal(format!("stored rota {} does not parse: {e}", r.id))
        })?;
        Ok(Self {
            id: r.id,
            rota: Rota {
                name: r.name,
                templates,
            },
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A range of local dates to publish or withdraw a rota over: in order, and at most
/// [`MAX_RANGE_DAYS`] days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotaRange {
    from: NaiveDate,
    to: NaiveDate,
    dry_run: bool,
}

impl RotaRange {
    /// The range `from..=to`; with `dry_run` a change reports what it would do and writes nothing.
    pub fn new(from: NaiveDate, to: NaiveDate, dry_run: bool) -> Result<Self, ServiceError> {
        let days = (to - from).num_days();
        if days < 0 {
            return Err(ServiceError::InvalidDateRange(
                "`to` is before `from`".into(),
            ));
        }
        if days >= MAX_RANGE_DAYS {
            return Err(ServiceError::InvalidDateRange(format!(
                "a range covers at most {MAX_RANGE_DAYS} days"
            )));
        }
        Ok(Self { from, to, dry_run })
    }

    /// The first local date.
    pub fn from(&self) -> NaiveDate {
        self.from
    }

    /// The last local date (inclusive).
    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Whether nothing is to be written.
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }
}

/// Checks a rota against the expansion rules and against the cluster's sites and services.
fn check_rota(c: &mut DbConn, cluster_id: &str, rota: &Rota) -> Result<(), ServiceError> {
    rota.validate()?;
    let site_ids: BTreeSet<&str> = rota.templates.iter().map(|t| t.site_id.as_str()).collect();
    let service_ids: BTreeSet<&str> = rota
        .templates
        .iter()
        .map(|t| t.service_id.as_str())
        .collect();
    for id in site_ids {
        if let Err(StoreError::NotFound) =
            sites::get_site(c, &ClusterId::from(cluster_id), &SiteId::from(id))
        {
            return Err(ServiceError::UnknownReference(format!(
                "site {id} is not a site of this cluster"
            )));
        }
    }
    for id in service_ids {
        if let Err(StoreError::NotFound) =
            services::get_service(c, &ClusterId::from(cluster_id), id)
        {
            return Err(ServiceError::UnknownReference(format!(
                "service {id} is not a service of this cluster"
            )));
        }
    }
    Ok(())
}

/// The templates as the store keeps them.
fn templates_json(rota: &Rota) -> Result<String, ServiceError> {
    serde_json::to_string(&rota.templates).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// A rota of the cluster, or `NotFound`.
fn saved_rota(c: &mut DbConn, cluster_id: &str, id: &str) -> Result<SavedRota, ServiceError> {
    found(rotas::get_rota(c, &ClusterId::from(cluster_id), id), "rota")?.try_into()
}

impl Hubbook {
    /// The cluster's rotas in id order (its manager).
    pub async fn list_rotas(
        &self,
        who: &Caller,
        code: String,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<SavedRota>, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            let page = rotas::list_rotas(c, &cluster.id, after.as_deref(), limit)?;
            Ok(Page {
                items: page
                    .items
                    .into_iter()
                    .map(SavedRota::try_from)
                    .collect::<Result<_, _>>()?,
                next_after: page.next_after,
            })
        })
        .await
    }

    /// Drafts a rota (its cluster's manager); nothing is bookable until it is published. With a
    /// claim, a retry returns the rota the first request made.
    pub async fn create_rota(
        &self,
        who: &Caller,
        claim: Option<Claim>,
        code: String,
        rota: Rota,
    ) -> Result<SavedRota, ServiceError> {
        let json = templates_json(&rota)?;
        let (who, now) = (who.clone(), self.now());
        let change = self.change(&who);
        self.run(move |c| {
            create_once(
                c,
                claim.as_ref(),
                now.naive_utc(),
                |c| {
                    let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
                    check_rota(c, &cluster.id, &rota)?;
                    rotas::create_rota(c, &change, &cluster.id, rota.name, json)?.try_into()
                },
                |r: &SavedRota| r.id.clone(),
                |c, id| {
                    let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
                    saved_rota(c, &cluster.id, id)
                },
            )
        })
        .await
    }

    /// One rota of the cluster (its manager).
    pub async fn rota(
        &self,
        who: &Caller,
        code: String,
        id: String,
    ) -> Result<SavedRota, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            saved_rota(c, &cluster.id, &id)
        })
        .await
    }

    /// Checks a draft rota as publishing it over the coming [`DRAFT_CHECK_DAYS`] would, without
    /// saving anything: the template rules, the cluster's sites and services, and every wall
    /// time on every date (a start that does not exist on a clock-change day is refused now,
    /// not first when published). Returns the expansion's warnings (ambiguous times, sessions
    /// without slots).
    pub async fn check_draft_rota(
        &self,
        who: &Caller,
        code: String,
        rota: Rota,
    ) -> Result<Vec<ExpansionWarning>, ServiceError> {
        let (who, now) = (who.clone(), self.now());
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            check_rota(c, &cluster.id, &rota)?;
            let from = cluster.time_zone.date_of(now);
            let to = from + chrono::Duration::days(DRAFT_CHECK_DAYS);
            Ok(expand(&rota, from, to, cluster.time_zone.0)?.warnings)
        })
        .await
    }

    /// Replaces a rota's name and templates if it is still at version `expected`; published
    /// sessions change only when it is published again.
    pub async fn replace_rota(
        &self,
        who: &Caller,
        code: String,
        id: String,
        expected: Option<i64>,
        rota: Rota,
    ) -> Result<SavedRota, ServiceError> {
        let json = templates_json(&rota)?;
        let who = who.clone();
        let change = self.change(&who);
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            check_rota(c, &cluster.id, &rota)?;
            let changes = rotas::RotaChanges {
                name: Some(rota.name),
                templates_json: Some(json),
            };
            found(
                rotas::update_rota(c, &change, &cluster.id, &id, expected, changes),
                "rota",
            )?
            .try_into()
        })
        .await
    }

    /// Publishes a rota over a range in one transaction: creates its sessions and slots (shared
    /// out by the rules in force), removes free slots that no longer belong, keeps booked and
    /// held ones, and reports all of it. Publishing the same rota and range twice changes nothing.
    pub async fn publish_rota(
        &self,
        who: &Caller,
        code: String,
        id: String,
        range: RotaRange,
    ) -> Result<ChangeReport, ServiceError> {
        let who = who.clone();
        let change = self.change(&who);
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            let rota = saved_rota(c, &cluster.id, &id)?.rota;
            check_rota(c, &cluster.id, &rota)?;
            let zone = cluster.time_zone;
            let expansion = expand(&rota, range.from, range.to, zone.0)?;
            let target = PublishTarget {
                cluster_id: &cluster.id,
                rota_id: &id,
                from: range.from,
                to: range.to,
                slot_minutes: rota.slot_minutes(),
                sharing: Some(sharing::current(c, &cluster.id)?),
            };
            Ok(sessions::publish(
                c,
                &change,
                &target,
                &expansion,
                range.dry_run,
            )?)
        })
        .await
    }

    /// Withdraws what a rota published over a range (a hub closed for a day): free slots go,
    /// booked ones are kept and listed for rebooking with `reason` (a default when absent).
    pub async fn withdraw_rota(
        &self,
        who: &Caller,
        code: String,
        id: String,
        range: RotaRange,
        reason: Option<String>,
    ) -> Result<ChangeReport, ServiceError> {
        let reason = match reason {
            Some(r) => validate_name("reason", &r, hubbook_core::MAX_TEXT_CHARS)?,
            None => DEFAULT_WITHDRAWAL_REASON.to_owned(),
        };
        let who = who.clone();
        let change = self.change(&who);
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            found(rotas::get_rota(c, &cluster.id, &id), "rota")?;
            let selection = Selection::Rota {
                rota_id: &id,
                from: range.from,
                to: range.to,
            };
            Ok(sessions::withdraw(
                c,
                &change,
                &cluster.id,
                selection,
                &reason,
                range.dry_run,
            )?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_range_is_in_order_and_at_most_two_years() {
        assert!(RotaRange::new(date("2026-12-14"), date("2026-12-14"), false).is_ok());
        assert!(RotaRange::new(date("2026-01-01"), date("2027-12-31"), true).is_ok());
        assert!(matches!(
            RotaRange::new(date("2026-12-14"), date("2026-12-13"), false),
            Err(ServiceError::InvalidDateRange(_))
        ));
        assert!(matches!(
            RotaRange::new(date("2026-01-01"), date("2028-01-02"), false),
            Err(ServiceError::InvalidDateRange(_))
        ));
    }
}
