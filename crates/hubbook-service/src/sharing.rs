//! How a cluster shares its capacity: the rules its manager sets (versioned; they apply to slots
//! published after a change), the fair-share report of what each practice was given and used,
//! and, slot by slot, why it is offered to whom and a channel set by hand.

use hubbook_store::ids::{ClusterId, SlotId};
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use hubbook_core::access::{ClusterNeed, Forbidden};
use hubbook_core::allocation::Channel;
use hubbook_core::fair_share::{exact_quota, fair_shares, SharedDay};
use hubbook_core::rota::expand;
use hubbook_core::sharing::{
    assign_channels, visibility, NewSlots, PracticeShare, SharingRules, Viewer, Visibility,
};
use hubbook_core::{ClusterTimeZone, DataSharingAgreement};
use hubbook_store::models::{Practice, Slot};
use hubbook_store::repo::reports::{self, Window};
use hubbook_store::repo::sharing;
use hubbook_store::repo::{booking, clusters, practices, rotas, services, sessions};
use hubbook_store::StoreError;

use crate::access::cluster_for;
use crate::error::found;
use crate::viewer::{agreement_in_force, today_in};
use crate::{Caller, Hubbook, ServiceError};

pub use hubbook_store::repo::sharing::RulesVersion;

/// A member practice as the fair-share rule sees it, from its stored list size and agreement
/// dates; an agreement whose dates are inconsistent counts as none, so it is never in force.
pub fn practice_share(
    practice_id: &str,
    list_size: i64,
    dsa_from: Option<NaiveDate>,
    dsa_to: Option<NaiveDate>,
) -> PracticeShare {
    PracticeShare {
        practice_id: practice_id.to_owned(),
        list_size: u32::try_from(list_size).unwrap_or(0),
        agreement: DataSharingAgreement::new(dsa_from, dsa_to).unwrap_or_default(),
    }
}

/// The instants that bound a report's period of local dates in the cluster's zone,
/// `[from 00:00, to + 1 00:00)` (`ClusterTimeZone::day`); the period is in order and at most
/// [`MAX_REPORT_DAYS`](crate::reports::MAX_REPORT_DAYS) days.
pub fn report_period(
    zone: ClusterTimeZone,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ServiceError> {
    crate::reports::check_period(from, to)?;
    Ok((zone.day(from).from, zone.day(to).to))
}

/// One practice's fair share over a period, and what it was given and used.
#[derive(Debug, Clone, PartialEq)]
pub struct PracticeFairShare {
    /// The practice.
    pub practice_id: String,
    /// Its ODS code.
    pub ods_code: String,
    /// Its registered list size.
    pub list_size: i64,
    /// Its exact quota of the slots apportioned to practices (`hubbook_core::fair_share`), to
    /// the hundredth; 0 without a fair share.
    pub exact_quota: f64,
    /// Slots reserved for it.
    pub reserved: i64,
    /// Of those, booked by it.
    pub booked_from_reservation: i64,
    /// Appointments it booked in slots not reserved for it (open or released).
    pub booked_from_open: i64,
    /// Slots reserved for it that were released to every practice without it booking them.
    pub released_unused: i64,
}

/// The fair-share report of a cluster over a period of local dates.
#[derive(Debug, Clone, PartialEq)]
pub struct FairShare {
    /// The cluster's code.
    pub cluster_code: String,
    /// First local date.
    pub from: NaiveDate,
    /// Last local date.
    pub to: NaiveDate,
    /// Slots apportioned to practices in the period.
    pub apportioned: i64,
    /// One line per member practice.
    pub practices: Vec<PracticeFairShare>,
}

/// How many local dates a sharing preview covers, from today: four weeks.
pub const PREVIEW_DAYS: i64 = 28;

/// What publishing the cluster's rotas afresh over the next [`PREVIEW_DAYS`] would give under a
/// set of sharing rules, before they are saved: slots for 111, open and apportioned, and each
/// practice's fair share as the fair-share report computes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SharingPreview {
    /// First local date.
    pub from: NaiveDate,
    /// Last local date.
    pub to: NaiveDate,
    /// Slots the rotas make over the dates.
    pub slots: i64,
    /// Of those, reserved for 111.
    pub triage: i64,
    /// Of those, open to every practice from the start.
    pub open: i64,
    /// Of those, reserved for one practice until released.
    pub apportioned: i64,
    /// One line per member practice: its list size, exact quota and reserved slots.
    pub practices: Vec<PracticeFairShare>,
}

/// Whom to explain a slot's visibility for: one practice, 111, or (neither) every practice
/// and 111.
#[derive(Debug, Clone, Default)]
pub struct VisibilityFor {
    /// A practice's ODS code.
    pub practice: Option<String>,
    /// `Some(true)` for the cluster's 111 services; with a practice, `Some(true)` adds 111.
    pub triage: Option<bool>,
}

/// Whether a slot is offered to one viewer now, and by which rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewerVisibility {
    /// `111`, or the practice's ODS code.
    pub viewer: String,
    /// Whether it is offered now (the rule allows it and the slot is free).
    pub visible: bool,
    /// The rule's answer.
    pub visibility: Visibility,
}

/// Why a slot is or is not offered, to whom.
#[derive(Debug, Clone)]
pub struct VisibilityAnswer {
    /// The slot.
    pub slot: Slot,
    /// The practice it is reserved for (ODS code).
    pub reserved_for: Option<String>,
    /// Whether it is free now (no live appointment or hold).
    pub free: bool,
    /// The version of the sharing rules in force.
    pub rules_version: i64,
    /// One answer per viewer asked about.
    pub viewers: Vec<ViewerVisibility>,
}

/// A channel to set on a slot by hand, as asked for: `open`, `111`, or `practice` with the
/// practice's ODS code.
#[derive(Debug, Clone)]
pub struct SetChannel {
    /// `open`, `practice` or `111`.
    pub channel: String,
    /// For `practice`: the practice's ODS code.
    pub practice: Option<String>,
}

/// The cluster a slot's manager acts in; every other caller is refused.
fn managed_cluster(who: &Caller) -> Result<ClusterId, ServiceError> {
    crate::access::may(who, crate::access::Rights::Cluster(ClusterNeed::Manage))?;
    match &who.scope.cluster {
        Some(cluster) => Ok(ClusterId::from(cluster)),
        None => Err(Forbidden("only a cluster manager may do this").into()),
    }
}

impl Hubbook {
    /// The cluster's sharing rules in force (its manager); version 0 is the defaults.
    pub async fn sharing_rules(
        &self,
        who: &Caller,
        code: String,
    ) -> Result<RulesVersion, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            Ok(sharing::current_rules(c, &cluster.id)?)
        })
        .await
    }

    /// Sets the cluster's sharing rules (its manager) if they are still at version `expected`:
    /// a new version, audited, applied to slots published from now on. The rules have passed
    /// `SharingRules::validate`; their services must be the cluster's.
    pub async fn set_sharing_rules(
        &self,
        who: &Caller,
        code: String,
        expected: Option<i64>,
        rules: SharingRules,
    ) -> Result<RulesVersion, ServiceError> {
        let who = who.clone();
        let change = self.change(&who);
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            for id in &rules.triage_services {
                if let Err(StoreError::NotFound) = services::get_service(c, &cluster.id, id) {
                    return Err(ServiceError::UnknownReference(format!(
                        "service {id} is not a service of this cluster"
                    )));
                }
            }
            Ok(sharing::set_rules(
                c,
                &change,
                &cluster.id,
                expected,
                &rules,
            )?)
        })
        .await
    }

    /// What `rules` would do (its cluster's manager), before they are saved: every rota of the
    /// cluster expanded over the next [`PREVIEW_DAYS`] as a publication would make it, its
    /// slots shared out by `hubbook_core::sharing::assign_channels` exactly as publishing does,
    /// and each practice's exact quota by `hubbook_core::fair_share`, as the fair-share report
    /// then shows it. Slots already published keep their channels: this is the effect on what is
    /// published from now on.
    pub async fn preview_sharing(
        &self,
        who: &Caller,
        code: String,
        rules: SharingRules,
    ) -> Result<SharingPreview, ServiceError> {
        rules.validate()?;
        let (who, now) = (who.clone(), self.now());
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
            let zone = cluster.time_zone;
            let from = zone.date_of(now);
            let to = from + chrono::Duration::days(PREVIEW_DAYS - 1);
            let mut expanded = Vec::new();
            for row in rotas::list_rotas(c, &cluster.id, None, i64::MAX / 2)?.items {
                let rota = crate::rotas::SavedRota::try_from(row)?.rota;
                expanded.extend(expand(&rota, from, to, zone.0)?.sessions);
            }
            expanded.sort_by(|a, b| (a.start, &a.template_key).cmp(&(b.start, &b.template_key)));
            let shares: Vec<NewSlots<'_>> = expanded
                .iter()
                .map(|session| NewSlots {
                    session,
                    count: session.slots.len(),
                    new_session: true,
                })
                .collect();
            let members = practices::list_practices(c, &cluster.id, None, i64::MAX / 2)?.items;
            let sharing_members: Vec<PracticeShare> = members
                .iter()
                .map(|p| practice_share(&p.id, p.list_size, p.dsa_from, p.dsa_to))
                .collect();
            let channels = assign_channels(&rules, &sharing_members, &shares)?;
            let (mut triage, mut open) = (0_i64, 0_i64);
            let mut reserved: HashMap<&str, i64> = HashMap::new();
            let mut by_day: std::collections::BTreeMap<NaiveDate, u64> = Default::default();
            for (session, slots) in expanded.iter().zip(&channels) {
                for slot in slots {
                    match &slot.channel {
                        Channel::Triage => triage += 1,
                        Channel::Open => open += 1,
                        Channel::Practice(id) => {
                            *reserved.entry(id.as_str()).or_default() += 1;
                        }
                    }
                    if !matches!(slot.channel, Channel::Triage) {
                        *by_day.entry(session.date).or_default() += 1;
                    }
                }
            }
            let days: Vec<SharedDay> = by_day
                .into_iter()
                .map(|(date, slots)| SharedDay { date, slots })
                .collect();
            let apportioned: i64 = reserved.values().sum();
            let quotas = fair_shares(&sharing_members, &days);
            let slots = u64::try_from(apportioned).unwrap_or(0);
            let practices = members
                .iter()
                .zip(quotas)
                .map(|(p, share)| PracticeFairShare {
                    practice_id: p.id.to_string(),
                    ods_code: p.ods_code.clone(),
                    list_size: p.list_size,
                    exact_quota: (exact_quota(slots, share) * 100.0).round() / 100.0,
                    reserved: reserved.get(p.id.as_str()).copied().unwrap_or(0),
                    booked_from_reservation: 0,
                    booked_from_open: 0,
                    released_unused: 0,
                })
                .collect();
            Ok(SharingPreview {
                from,
                to,
                slots: triage + open + apportioned,
                triage,
                open,
                apportioned,
                practices,
            })
        })
        .await
    }

    /// Per member practice over a period of local dates (its cluster's manager): list size,
    /// exact quota, slots reserved for it, booked from its reservation and from open slots, and
    /// released unused. `from` and `to` are dates the front end accepts at all.
    pub async fn fair_share(
        &self,
        who: &Caller,
        code: String,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<FairShare, ServiceError> {
        let (who, now) = (who.clone(), self.now());
        let (cluster_code, reserved, open, members, days) = self
            .run(move |c| {
                let cluster = cluster_for(c, &who, &code, ClusterNeed::Manage)?;
                let zone = cluster.time_zone;
                let (start, end) = report_period(zone, from, to)?;
                let (reserved, open) = sharing::fair_share(
                    c,
                    &cluster.id,
                    start.naive_utc(),
                    end.naive_utc(),
                    now.naive_utc(),
                )?;
                let window = Window::new(zone, from, to, now.naive_utc());
                let days = reports::shared_slots_by_day(c, &cluster.id, &window)?;
                let members = practices::list_practices(c, &cluster.id, None, i64::MAX / 2)?.items;
                Ok((cluster.code, reserved, open, members, days))
            })
            .await?;
        let reserved: HashMap<String, _> = reserved
            .into_iter()
            .map(|r| (r.practice_id.clone(), r))
            .collect();
        let open: HashMap<String, i64> = open
            .into_iter()
            .map(|o| (o.practice_id, o.booked_from_open))
            .collect();
        let apportioned: i64 = reserved.values().map(|r| r.reserved).sum();
        let shares = fair_shares(
            &members
                .iter()
                .map(|p| practice_share(&p.id, p.list_size, p.dsa_from, p.dsa_to))
                .collect::<Vec<_>>(),
            &days,
        );
        let slots = u64::try_from(apportioned).unwrap_or(0);
        let practices = members
            .into_iter()
            .zip(shares)
            .map(|(p, share)| {
                let quota = exact_quota(slots, share);
                let r = reserved.get(p.id.as_str()).cloned().unwrap_or_default();
                PracticeFairShare {
                    booked_from_open: open.get(p.id.as_str()).copied().unwrap_or(0),
                    practice_id: p.id.into(),
                    ods_code: p.ods_code,
                    list_size: p.list_size,
                    exact_quota: (quota * 100.0).round() / 100.0,
                    reserved: r.reserved,
                    booked_from_reservation: r.booked_from_reservation,
                    released_unused: r.released_unused,
                }
            })
            .collect();
        Ok(FairShare {
            cluster_code,
            from,
            to,
            apportioned,
            practices,
        })
    }

    /// Why a slot of the manager's cluster is or is not offered right now, to one practice, to
    /// 111, or to everyone: its channel, its release time, and the rule or agreement that hides it.
    pub async fn slot_visibility(
        &self,
        who: &Caller,
        slot_id: String,
        asked: VisibilityFor,
    ) -> Result<VisibilityAnswer, ServiceError> {
        let cluster_id = managed_cluster(who)?;
        let now = self.now();
        self.run(move |c| {
            let slot = found(
                sharing::get_live_slot(c, &cluster_id, &SlotId::from(&slot_id)),
                "slot",
            )?;
            let cluster = clusters::get_cluster(c, &cluster_id)?;
            let today = today_in(&cluster, now)?;
            let rules = sharing::current_rules(c, &cluster_id)?;
            let all: Vec<Practice> =
                practices::list_practices(c, &cluster_id, None, i64::MAX / 2)?.items;
            let free = sharing::slot_is_free(c, &cluster_id, &slot, now.naive_utc())?;
            let channel = booking::slot_channel(&slot)?;
            let released = slot.released_at.map(|t| t.and_utc());
            let ask_triage = asked.triage.unwrap_or(asked.practice.is_none());
            let wanted: Vec<&Practice> = match &asked.practice {
                Some(ods) => {
                    let p = all
                        .iter()
                        .find(|p| p.ods_code.eq_ignore_ascii_case(ods))
                        .ok_or_else(|| {
                            ServiceError::NotFound(format!("no practice {ods} in this cluster"))
                        })?;
                    vec![p]
                }
                None if asked.triage == Some(true) => Vec::new(),
                None => all.iter().collect(),
            };
            let mut viewers = Vec::new();
            for p in wanted {
                let viewer = Viewer::Practice {
                    practice_id: p.id.clone().into(),
                    agreement_in_force: agreement_in_force(p, today),
                    own_site: p.site_id.clone(),
                };
                let v = visibility(&channel, released, &cluster_id, &slot.site_id, &viewer, now);
                viewers.push(ViewerVisibility {
                    viewer: p.ods_code.clone(),
                    visible: v.visible() && free,
                    visibility: v,
                });
            }
            if ask_triage {
                let open_clusters = if rules.rules.triage_may_book_open {
                    vec![cluster_id.to_string()]
                } else {
                    Vec::new()
                };
                let v = visibility(
                    &channel,
                    released,
                    &cluster_id,
                    &slot.site_id,
                    &Viewer::Triage { open_clusters },
                    now,
                );
                viewers.push(ViewerVisibility {
                    viewer: "111".into(),
                    visible: v.visible() && free,
                    visibility: v,
                });
            }
            let reserved_for = slot
                .channel_practice_id
                .as_ref()
                .and_then(|id| all.iter().find(|p| &p.id == id))
                .map(|p| p.ods_code.clone());
            Ok(VisibilityAnswer {
                slot,
                reserved_for,
                free,
                rules_version: rules.version,
                viewers,
            })
        })
        .await
    }

    /// Sets a slot's channel by hand (its cluster's manager) if the slot is still at version
    /// `expected`, e.g. to keep it for a housebound patient's practice; its release time follows
    /// the rules in force. Audited.
    pub async fn set_slot_channel(
        &self,
        who: &Caller,
        slot_id: String,
        expected: Option<i64>,
        set: SetChannel,
    ) -> Result<Slot, ServiceError> {
        let cluster_id = managed_cluster(who)?;
        let change = self.change(who);
        self.run(move |c| {
            let slot = found(
                sharing::get_live_slot(c, &cluster_id, &SlotId::from(&slot_id)),
                "slot",
            )?;
            let channel = match (set.channel.as_str(), &set.practice) {
                ("open", None) => Channel::Open,
                ("111", None) => Channel::Triage,
                ("practice", Some(ods)) => {
                    match practices::get_practice_by_ods(c, &cluster_id, &ods.to_ascii_uppercase())
                    {
                        Ok(p) => Channel::Practice(p.id.into()),
                        Err(StoreError::NotFound) => {
                            return Err(ServiceError::UnknownReference(format!(
                                "no practice {ods} in this cluster"
                            )))
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                _ => return Err(ServiceError::InvalidChannel),
            };
            let session = sessions::get_session(c, &cluster_id, &slot.session_id)?;
            let rules = sharing::current_rules(c, &cluster_id)?.rules;
            let released = rules
                .release_time(&channel, session.starts_at.and_utc())
                .map(|t| t.naive_utc());
            Ok(sharing::set_slot_channel(
                c,
                &change,
                &cluster_id,
                &slot.id,
                expected,
                &channel,
                released,
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
    fn a_report_period_is_bounded_by_local_midnights() {
        let london = ClusterTimeZone::DEFAULT;
        let (start, end) = report_period(london, date("2026-07-01"), date("2026-07-31")).unwrap();
        assert_eq!(start.to_rfc3339(), "2026-06-30T23:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-07-31T23:00:00+00:00");
        assert!(matches!(
            report_period(london, date("2026-07-02"), date("2026-07-01")),
            Err(ServiceError::InvalidDateRange(_))
        ));
        assert!(report_period(london, date("2026-01-01"), date("2027-02-04")).is_ok());
        assert!(matches!(
            report_period(london, date("2026-01-01"), date("2027-02-05")),
            Err(ServiceError::InvalidDateRange(_))
        ));
    }
}
