//! The cluster manager's "today": this week's figures from the reports (utilisation, the 111
//! share used and unused, the DNA rate, enhanced-access minutes against the requirement) and
//! the slots still free in the next 48 hours by site and service, read in one go.
//!
//! The week's figures are the reports' own: the same store aggregates shaped by
//! [`crate::reports::document`], so each figure equals the report it links to.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc, Weekday};
use hubbook_core::access::ClusterNeed;
use hubbook_store::repo::reports::{self as store_reports, GroupBy, Window};
use hubbook_store::repo::{dashboard, services, sites};

use crate::access::cluster_for;
use crate::reports::document::{
    shape, DnaFigures, EnhancedAccessFigures, ReportBody, UtilisationFigures,
};
use crate::reports::{
    ReportData, ReportName, ReportRequest, ReportRows, DEFAULT_LATE_CANCEL_HOURS,
};
use crate::{Caller, Hubbook, ServiceError};

/// How far ahead the dashboard counts free slots, in hours.
pub const FREE_AHEAD_HOURS: i64 = 48;

/// The ISO week (Monday to Sunday) of a local date: the period of the dashboard's figures.
pub fn week_of(date: NaiveDate) -> (NaiveDate, NaiveDate) {
    let week = date.week(Weekday::Mon);
    (week.first_day(), week.last_day())
}

/// The free slots of one site and service in the hours ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeAhead {
    /// The site's id.
    pub site_id: String,
    /// The site's name.
    pub site: String,
    /// The service's code (the reports' key for it).
    pub service_code: String,
    /// The service's name.
    pub service: String,
    /// Free slots.
    pub free: i64,
}

/// The manager's dashboard of a cluster, read at one instant.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// The cluster's code.
    pub cluster_code: String,
    /// The local date now.
    pub today: NaiveDate,
    /// The week's Monday.
    pub week_from: NaiveDate,
    /// The week's Sunday.
    pub week_to: NaiveDate,
    /// The week's slots: offered, booked, unused, still free and utilisation.
    pub utilisation: UtilisationFigures,
    /// The week's slots reserved for NHS 111 (the utilisation report's `111` channel).
    pub triage: UtilisationFigures,
    /// The week's appointments and their DNA rate.
    pub dna: DnaFigures,
    /// The week's enhanced-access minutes against the requirement.
    pub enhanced_access: EnhancedAccessFigures,
    /// The start of the free slots' stretch (now).
    pub free_from: DateTime<Utc>,
    /// Its end, [`FREE_AHEAD_HOURS`] later.
    pub free_to: DateTime<Utc>,
    /// Free slots in that stretch by site and service, in site then service name order; only
    /// those with a free slot.
    pub free: Vec<FreeAhead>,
}

impl Hubbook {
    /// The dashboard of a cluster (its manager): this week's figures and the free slots of the
    /// next [`FREE_AHEAD_HOURS`] hours.
    pub async fn dashboard(&self, who: &Caller, code: String) -> Result<Dashboard, ServiceError> {
        let (who, now) = (who.clone(), self.now());
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            let today = cluster.time_zone.date_of(now);
            let (week_from, week_to) = week_of(today);
            let window = Window::new(cluster.time_zone, week_from, week_to, now.naive_utc());
            let id = &cluster.id;
            let late = DEFAULT_LATE_CANCEL_HOURS;
            let read = |name: ReportName, group: GroupBy, rows: ReportRows| {
                shape(ReportData {
                    request: ReportRequest {
                        name,
                        from: week_from,
                        to: week_to,
                        group,
                        late_cancel_hours: late,
                        detail: false,
                    },
                    cluster_code: cluster.code.clone(),
                    window: window.clone(),
                    as_of: now,
                    rows,
                })
            };
            let by_channel = store_reports::utilisation(c, id, &window, GroupBy::Channel, late)?;
            let (utilisation, triage) = match read(
                ReportName::Utilisation,
                GroupBy::Channel,
                ReportRows::Utilisation(by_channel),
            ) {
                ReportBody::Utilisation(r) => {
                    let triage = r
                        .rows
                        .into_iter()
                        .find(|g| g.key == "111")
                        .map(|g| g.figures)
                        .unwrap_or_default();
                    (r.totals, triage)
                }
                _ => Default::default(),
            };
            let dna = match read(
                ReportName::Dna,
                GroupBy::Week,
                ReportRows::Dna(store_reports::dna(c, id, &window, GroupBy::Week)?),
            ) {
                ReportBody::Dna(r) => r.totals,
                _ => DnaFigures::default(),
            };
            let enhanced_access = match read(
                ReportName::EnhancedAccess,
                GroupBy::Week,
                ReportRows::EnhancedAccess(store_reports::enhanced_access(c, id, &window)?),
            ) {
                ReportBody::EnhancedAccess(r) => r.totals,
                _ => EnhancedAccessFigures::default(),
            };
            let free_to = now + Duration::hours(FREE_AHEAD_HOURS);
            let counts = dashboard::free_slots_by_site_and_service(
                c,
                id,
                now.naive_utc(),
                free_to.naive_utc(),
            )?;
            let free = name_free_slots(c, id, counts)?;
            Ok(Dashboard {
                cluster_code: cluster.code.clone(),
                today,
                week_from,
                week_to,
                utilisation,
                triage,
                dna,
                enhanced_access,
                free_from: now,
                free_to,
                free,
            })
        })
        .await
    }
}

/// The free-slot counts with their sites' and services' names, in name order.
fn name_free_slots(
    c: &mut hubbook_store::DbConn,
    cluster_id: &hubbook_store::ClusterId,
    counts: Vec<dashboard::FreeSlots>,
) -> Result<Vec<FreeAhead>, ServiceError> {
    let site_ids: Vec<&str> = counts.iter().map(|r| r.site_id.as_str()).collect();
    let service_ids: Vec<&str> = counts.iter().map(|r| r.service_id.as_str()).collect();
    let site_names: HashMap<String, String> = sites::get_sites(c, cluster_id, &site_ids)?
        .into_iter()
        .map(|s| (s.id.into(), s.name))
        .collect();
    let service_names: HashMap<String, (String, String)> =
        services::get_services(c, cluster_id, &service_ids)?
            .into_iter()
            .map(|s| (s.id.clone(), (s.code, s.name)))
            .collect();
    let mut free: Vec<FreeAhead> = counts
        .into_iter()
        .map(|r| {
            let (service_code, service) = service_names
                .get(&r.service_id)
                .cloned()
                .unwrap_or_else(|| (r.service_id.clone(), r.service_id.clone()));
            FreeAhead {
                site: site_names
                    .get(&r.site_id)
                    .cloned()
                    .unwrap_or_else(|| r.site_id.clone()),
                site_id: r.site_id,
                service_code,
                service,
                free: r.free,
            }
        })
        .collect();
    free.sort_by(|a, b| (&a.site, &a.service).cmp(&(&b.site, &b.service)));
    Ok(free)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_week_runs_monday_to_sunday() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 12, day).unwrap();
        assert_eq!(week_of(d(7)), (d(7), d(13)), "a Monday starts its week");
        assert_eq!(week_of(d(10)), (d(7), d(13)));
        assert_eq!(week_of(d(13)), (d(7), d(13)), "a Sunday ends it");
        assert_eq!(
            week_of(d(31)),
            (d(28), NaiveDate::from_ymd_opt(2027, 1, 3).unwrap()),
            "across the new year"
        );
    }
}
