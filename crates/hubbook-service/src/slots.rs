//! Finding slots to book: the free slots the caller may book now, in time order or ranked by time
//! and distance (`hubbook_core::ranking`), each with its site, service and cluster.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use hubbook_core::access::{permit, Action};
use hubbook_store::ids::SiteId;

use chrono::{DateTime, Duration, Utc};
use hubbook_core::ranking::{rank, round_km, Candidate, Weighting, DEFAULT_MINUTES_PER_KM};
use hubbook_core::sharing::{visibility, Viewer, Visibility};
use hubbook_core::{Coordinates, Postcode, ValidationError};
use hubbook_store::models::{Service, Site, Slot};
use hubbook_store::repo::sharing::{self, SlotSearch};
use hubbook_store::repo::MAX_PAGE;
use hubbook_store::{Page, StoreError};

use crate::access::clusters_of;
use crate::kept::Reference;
use crate::viewer::viewer_for;
use crate::{Caller, Hubbook, ServiceError};

/// How far ahead a search looks when `to` is not given.
pub const DEFAULT_SEARCH_DAYS: i64 = 7;

/// The most offers one ranking search considers (the earliest in its window).
pub const MAX_RANKED: i64 = 1_000;

/// A free slot offered to the caller, with where, what and in which cluster.
#[derive(Debug, Clone)]
pub struct Offer {
    /// The slot.
    pub slot: Slot,
    /// Its cluster's code.
    pub cluster_code: String,
    /// Its site.
    pub site: Site,
    /// Its service.
    pub service: Service,
    /// Kilometres from the search's origin, when there is one.
    pub distance_km: Option<f64>,
}

impl Offer {
    /// Where its site is, when the site's coordinates are valid.
    pub fn coordinates(&self) -> Option<Coordinates> {
        Coordinates::new(self.site.latitude, self.site.longitude).ok()
    }

    /// The offer as the ranking rules in core see it.
    pub fn candidate(&self) -> Candidate<'_> {
        Candidate {
            slot_id: &self.slot.id,
            starts_at: self.slot.starts_at.and_utc(),
            site: self.coordinates(),
        }
    }

    /// Kilometres from `origin` to its site, rounded as shown to callers.
    pub fn distance_from(&self, origin: Option<Coordinates>) -> Option<f64> {
        origin
            .zip(self.coordinates())
            .map(|(o, s)| round_km(o.distance_km(&s)))
    }
}

/// Where a search ranks distance from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Origin<'a> {
    /// The caller's practice site, if it has one (no ranking by distance otherwise).
    OwnSite,
    /// The site of the searched clusters with this postcode.
    Postcode(&'a str),
    /// These coordinates.
    At(f64, f64),
}

/// A search for slots the caller may book now.
#[derive(Debug, Clone, Default)]
pub struct FindSlots {
    /// Slots starting at or after this instant; now when absent.
    pub from: Option<DateTime<Utc>>,
    /// Slots starting before this instant; a week after `from` when absent.
    pub to: Option<DateTime<Utc>>,
    /// Only this service (id).
    pub service: Option<String>,
    /// Only this clinical role.
    pub role: Option<String>,
    /// Only this site (id).
    pub site: Option<String>,
    /// Only this delivery channel.
    pub delivery: Option<String>,
    /// For a triage service of several clusters: only this cluster (code).
    pub cluster: Option<String>,
    /// Rank by distance from a postcode's site ...
    pub postcode: Option<String>,
    /// ... or from these coordinates (latitude, longitude).
    pub at: Option<(f64, f64)>,
    /// Minutes of waiting one kilometre of travel is worth in the ranking.
    pub minutes_per_km: Option<f64>,
}

impl Hubbook {
    /// The free slots the caller may book now: without an origin in time order, paged by the
    /// database; with one, the window's first [`MAX_RANKED`] ranked by time and distance, paged
    /// by position (`ranked:<n>` cursors).
    pub async fn search_slots(
        &self,
        who: &Caller,
        query: FindSlots,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<Offer>, ServiceError> {
        let now = self.now();
        let (from, to) = window(&query, now)?;
        let weighting = Weighting {
            minutes_per_km: query.minutes_per_km.unwrap_or(DEFAULT_MINUTES_PER_KM),
        };
        weighting.validate()?;
        let (who, kept) = (who.clone(), Arc::clone(&self.kept));
        self.run_for(who, move |c, who| {
            let refs = kept.read(c, &clusters_of(who))?;
            let search = slot_search(&refs, who, now, (from, to), query.clone())?;
            let origin = match (query.at, query.postcode.as_deref()) {
                (Some((lat, lon)), None) => Origin::At(lat, lon),
                (None, Some(postcode)) => Origin::Postcode(postcode),
                (None, None) => Origin::OwnSite,
                (Some(_), Some(_)) => return Err(ServiceError::TwoOrigins),
            };
            let Some(origin) = origin_of(&refs, &search, origin)? else {
                let page = sharing::search_slots(c, &search, after.as_deref(), limit)?;
                return Ok(Page {
                    items: offers(&refs, page.items)?,
                    next_after: page.next_after,
                });
            };
            let offset: usize = match after.as_deref() {
                None => 0,
                Some(a) => a
                    .strip_prefix("ranked:")
                    .and_then(|n| n.parse().ok())
                    .ok_or(ServiceError::InvalidCursor)?,
            };
            let window = sharing::search_slots(c, &search, None, MAX_RANKED)?.items;
            let ordered = ranked(
                offers(&refs, window)?,
                Some(origin),
                now.max(from),
                &weighting,
            );
            let limit = usize::try_from(limit).unwrap_or(0);
            let next_after =
                (offset + limit < ordered.len()).then(|| format!("ranked:{}", offset + limit));
            let items = ordered.into_iter().skip(offset).take(limit).collect();
            Ok(Page { items, next_after })
        })
        .await
    }

    /// The clusters whose availability the caller may publish (its own), as code and name, in
    /// code order.
    pub async fn availability_clusters(
        &self,
        who: &Caller,
    ) -> Result<Vec<(String, String)>, ServiceError> {
        permit(who.role, Action::Book)?;
        let (cluster_ids, kept) = (clusters_of(who), Arc::clone(&self.kept));
        self.run(move |c| {
            let refs = kept.read(c, &cluster_ids)?;
            let mut out = Vec::with_capacity(cluster_ids.len());
            for id in &cluster_ids {
                let cluster = &refs.cluster(id)?.cluster;
                out.push((cluster.code.clone(), cluster.name.clone()));
            }
            out.sort();
            Ok(out)
        })
        .await
    }

    /// Every slot of one of the caller's clusters starting from now for `days`, each free (the
    /// caller could book it now, the same rule as its search) or busy (booked, held, kept for
    /// someone else), with when its availability last changed: what a bulk availability file
    /// publishes for aggregators.
    pub async fn availability(
        &self,
        who: &Caller,
        cluster_code: String,
        days: i64,
    ) -> Result<Vec<Availability>, ServiceError> {
        permit(who.role, Action::Book)?;
        let (who, now, kept) = (who.clone(), self.now(), Arc::clone(&self.kept));
        let (from, to) = (now, now + Duration::days(days));
        self.run(move |c| {
            let query = FindSlots {
                cluster: Some(cluster_code.clone()),
                ..FindSlots::default()
            };
            let refs = kept.read(c, &clusters_of(&who))?;
            let search = slot_search(&refs, &who, now, (from, to), query)?;
            // A practice's caller searches its own cluster whatever is named: check the code.
            let cluster_id = match search.cluster_ids.as_slice() {
                [one]
                    if refs
                        .cluster(one)?
                        .cluster
                        .code
                        .eq_ignore_ascii_case(&cluster_code) =>
                {
                    one.clone()
                }
                _ => return Err(ServiceError::NotFound("no such cluster of yours".into())),
            };
            let mut free = BTreeSet::new();
            let mut after: Option<String> = None;
            loop {
                let page = sharing::search_slots(c, &search, after.as_deref(), MAX_PAGE)?;
                free.extend(page.items.into_iter().map(|s| s.id));
                after = page.next_after;
                if after.is_none() {
                    break;
                }
            }
            let booked: HashMap<String, chrono::NaiveDateTime> =
                sharing::last_booking_changes(c, &cluster_id, from.naive_utc(), to.naive_utc())?
                    .into_iter()
                    .collect();
            let all = sharing::slots_in_window(c, &cluster_id, from.naive_utc(), to.naive_utc())?;
            Ok(offers(&refs, all)?
                .into_iter()
                .map(|offer| {
                    let slot = &offer.slot;
                    let released = slot.released_at.filter(|r| *r <= now.naive_utc());
                    let changed_at = [
                        Some(slot.created_at),
                        released,
                        booked.get(&*slot.id).copied(),
                    ]
                    .into_iter()
                    .flatten()
                    .max()
                    .unwrap_or(slot.created_at)
                    .and_utc();
                    Availability {
                        free: free.contains(&slot.id),
                        changed_at,
                        offer,
                    }
                })
                .collect())
        })
        .await
    }

    /// The free slots of a search that the caller may not book now, earliest first, each with
    /// why (`hubbook_core::sharing::visibility`): so a desk can say when a slot it cannot offer
    /// opens, instead of wondering why it is missing.
    pub async fn slots_not_offered(
        &self,
        who: &Caller,
        query: FindSlots,
        limit: i64,
    ) -> Result<Vec<NotOffered>, ServiceError> {
        let now = self.now();
        let window = window(&query, now)?;
        let (who, kept) = (who.clone(), Arc::clone(&self.kept));
        self.run(move |c| {
            let refs = kept.read(c, &clusters_of(&who))?;
            let search = slot_search(&refs, &who, now, window, query)?;
            let hidden = sharing::slots_not_offered(c, &search, limit.clamp(1, MAX_PAGE))?;
            let mut out = Vec::with_capacity(hidden.len());
            for offer in offers(&refs, hidden)? {
                let channel = hubbook_store::repo::booking::slot_channel(&offer.slot)?;
                let why = visibility(
                    &channel,
                    offer.slot.released_at.map(|t| t.and_utc()),
                    &offer.slot.cluster_id,
                    &offer.slot.site_id,
                    &search.viewer,
                    now,
                );
                if !why.visible() {
                    out.push(NotOffered { offer, why });
                }
            }
            Ok(out)
        })
        .await
    }
}

/// A free slot the caller may not book now, and why.
#[derive(Debug, Clone)]
pub struct NotOffered {
    /// The slot, as a search would offer it.
    pub offer: Offer,
    /// Why it is not offered, and when it opens if it will.
    pub why: Visibility,
}

/// A search's `[from, to)`: from now, a week long unless said otherwise.
fn window(
    query: &FindSlots,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ServiceError> {
    let from = query.from.unwrap_or(now);
    let to = query
        .to
        .unwrap_or(from + Duration::days(DEFAULT_SEARCH_DAYS));
    if to <= from {
        return Err(ValidationError::InvalidDateRange("the search").into());
    }
    Ok((from, to))
}

/// The store's search for a caller's query: its clusters, how the sharing rules see it, and
/// the filters.
fn slot_search(
    refs: &Reference,
    who: &Caller,
    now: DateTime<Utc>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    query: FindSlots,
) -> Result<SlotSearch, ServiceError> {
    let (cluster_ids, viewer) = viewer_for(refs, who, now, query.cluster.as_deref())?;
    Ok(SlotSearch {
        cluster_ids,
        viewer,
        holder: who.actor(),
        now: now.naive_utc(),
        from: from.naive_utc(),
        to: to.naive_utc(),
        service_id: query.service,
        clinical_role: query.role,
        site_id: query.site,
        delivery: query.delivery,
        service_codes: None,
        deliveries: None,
    })
}

/// Offers in the order of `hubbook_core::ranking::rank` (minutes until the start plus the
/// weighted distance from `origin`), each with its distance.
pub fn ranked(
    all: Vec<Offer>,
    origin: Option<Coordinates>,
    now: DateTime<Utc>,
    weighting: &Weighting,
) -> Vec<Offer> {
    let candidates: Vec<Candidate<'_>> = all.iter().map(Offer::candidate).collect();
    let order: Vec<(usize, Option<f64>)> = rank(&candidates, origin, now, weighting)
        .iter()
        .map(|r| (r.index, r.distance_km.map(round_km)))
        .collect();
    arrange(all, order)
}

/// The offers in a ranking's order (`(index, distance in km)`, best first), with their distances.
pub fn arrange(all: Vec<Offer>, order: Vec<(usize, Option<f64>)>) -> Vec<Offer> {
    let mut slots: Vec<Option<Offer>> = all.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(i, km)| {
            let mut offer = slots.get_mut(i)?.take()?;
            offer.distance_km = km;
            Some(offer)
        })
        .collect()
}

/// The search's origin: given coordinates, a searched cluster's site with that postcode, or the
/// caller's own practice site.
fn origin_of(
    refs: &Reference,
    search: &SlotSearch,
    origin: Origin<'_>,
) -> Result<Option<Coordinates>, ServiceError> {
    match origin {
        Origin::At(lat, lon) => Ok(Some(Coordinates::new(lat, lon)?)),
        Origin::Postcode(postcode) => {
            let wanted = Postcode::parse(postcode)?;
            for cluster_id in &search.cluster_ids {
                let sites = &refs.cluster(cluster_id)?.sites;
                if let Some(site) = sites.values().find(|s| s.postcode == wanted.as_str()) {
                    return Ok(Some(Coordinates::new(site.latitude, site.longitude)?));
                }
            }
            Err(ServiceError::UnknownPostcode(wanted.to_string()))
        }
        Origin::OwnSite => match (&search.viewer, search.cluster_ids.first()) {
            (
                Viewer::Practice {
                    own_site: Some(site_id),
                    ..
                },
                Some(cluster_id),
            ) => {
                let site = refs.cluster(cluster_id)?.site(&SiteId::from(site_id))?;
                Ok(Coordinates::new(site.latitude, site.longitude).ok())
            }
            _ => Ok(None),
        },
    }
}

/// One slot of a bulk availability file.
#[derive(Debug, Clone)]
pub struct Availability {
    /// The slot with its site and service.
    pub offer: Offer,
    /// Whether the caller could book it now.
    pub free: bool,
    /// When its availability last changed: made, released, or an appointment in it made or
    /// changed.
    pub changed_at: DateTime<Utc>,
}

/// Turns slots into offers with their cluster's code, site and service, from the reference data
/// of the slots' clusters (`refs`): no statement.
pub fn offers(refs: &Reference, slots: Vec<Slot>) -> Result<Vec<Offer>, ServiceError> {
    let mut out = Vec::with_capacity(slots.len());
    for slot in slots {
        let cluster = refs.cluster(&slot.cluster_id)?;
        let (Some(site), Some(service)) = (
            cluster.sites.get(&slot.site_id),
            cluster.services.get(&slot.service_id),
        ) else {
            return Err(StoreError::NotFound.into());
        };
        out.push(Offer {
            cluster_code: cluster.cluster.code.clone(),
            site: site.clone(),
            service: service.clone(),
            distance_km: None,
            slot,
        });
    }
    Ok(out)
}
