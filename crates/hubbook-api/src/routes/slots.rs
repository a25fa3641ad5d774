//! Slots: the search a receptionist or 111 service books from, and, for a cluster manager, why
//! a slot is or is not offered to someone and a hand-set channel.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use hubbook_core::allocation::Channel;
use hubbook_core::ranking::{rank, round_km, Candidate, Weighting, DEFAULT_MINUTES_PER_KM};
use hubbook_core::sharing::{visibility, Viewer, Visibility};
use hubbook_core::Coordinates;
use hubbook_core::{ClusterTimeZone, DataSharingAgreement, Role};
use hubbook_store::models::{Cluster, Practice, Service, Site, Slot};
use hubbook_store::repo::sharing::{self, Searcher, SlotSearch};
use hubbook_store::repo::{clusters, practices, services, sites};
use hubbook_store::{DbConn, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::found;
use crate::extract::{etag, if_match, PageOf, PageQuery};
use crate::{auth::Principal, ApiError, AppState};

/// How far ahead a search looks when `to` is not given.
pub const DEFAULT_SEARCH_DAYS: i64 = 7;

/// A search for slots the caller may book now.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SlotQuery {
    /// Slots starting at or after this instant (RFC 3339); now when absent.
    pub from: Option<DateTime<Utc>>,
    /// Slots starting before this instant; a week after `from` when absent.
    pub to: Option<DateTime<Utc>>,
    /// Only this service (id).
    pub service: Option<String>,
    /// Only this clinical role, e.g. `gp`, `nurse`, `phlebotomist`.
    pub role: Option<String>,
    /// Only this site (id).
    pub site: Option<String>,
    /// Only `face_to_face`, `telephone` or `video`.
    pub delivery: Option<String>,
    /// For a triage service scoped to several clusters: only this cluster (code).
    pub cluster: Option<String>,
    /// Rank by distance from the site with this postcode (a site of the cluster).
    pub postcode: Option<String>,
    /// Rank by distance from these coordinates (with `longitude`).
    pub latitude: Option<f64>,
    /// Rank by distance from these coordinates (with `latitude`).
    pub longitude: Option<f64>,
    /// How many minutes of waiting one kilometre of travel is worth in the ranking (0 to 1,440;
    /// default 10). Results are ranked by minutes until the start plus this times the distance.
    pub minutes_per_km: Option<f64>,
    /// Page size (1 to 500, default 50).
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// A site, as a slot offer shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OfferSite {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `hub` or `surgery`.
    pub kind: String,
    /// Street address.
    pub address: String,
    /// Postcode.
    pub postcode: String,
    /// Latitude.
    pub latitude: f64,
    /// Longitude.
    pub longitude: f64,
}

/// A service, as a slot offer shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OfferService {
    /// Id.
    pub id: String,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
}

/// A slot the caller may book now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlotOffer {
    /// The slot, to hold or book.
    pub slot_id: String,
    /// The cluster it belongs to.
    pub cluster: String,
    /// The cluster's internal id (not shown).
    #[serde(skip)]
    pub cluster_id: String,
    /// Where.
    pub site: OfferSite,
    /// What.
    pub service: OfferService,
    /// Who sees the patient: `gp`, `nurse`, ...
    pub clinical_role: String,
    /// `face_to_face`, `telephone` or `video`.
    pub delivery: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// Its channel: `open`, `practice` (reserved for the caller's practice) or `111`.
    pub channel: String,
    /// When a reserved slot was, or will be, released to every practice.
    pub released_at: Option<DateTime<Utc>>,
    /// Kilometres from the search's origin (the caller's practice, or the postcode or
    /// coordinates given), when there is one.
    pub distance_km: Option<f64>,
}

fn today_in(cluster: &Cluster, now: DateTime<Utc>) -> Result<chrono::NaiveDate, ApiError> {
    Ok(now
        .with_timezone(&ClusterTimeZone::parse(&cluster.time_zone)?.0)
        .date_naive())
}

/// Turns slots into offers, reading each site, service and cluster once.
pub(crate) fn offers(c: &mut DbConn, slots: Vec<Slot>) -> Result<Vec<SlotOffer>, ApiError> {
    // Three queries a cluster (its code, the page's sites, the page's services), not one per
    // offer: a page of 20 is one cluster, usually.
    let mut wanted: BTreeMap<&str, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for slot in &slots {
        let (site_ids, service_ids) = wanted.entry(&slot.cluster_id).or_default();
        site_ids.insert(&slot.site_id);
        service_ids.insert(&slot.service_id);
    }
    let mut code_of = HashMap::new();
    let mut site_of: HashMap<String, HashMap<String, Site>> = HashMap::new();
    let mut service_of: HashMap<String, HashMap<String, Service>> = HashMap::new();
    for (cluster_id, (site_ids, service_ids)) in wanted {
        let site_ids: Vec<&str> = site_ids.into_iter().collect();
        let service_ids: Vec<&str> = service_ids.into_iter().collect();
        code_of.insert(
            cluster_id.to_owned(),
            clusters::get_cluster(c, cluster_id)?.code,
        );
        site_of.insert(
            cluster_id.to_owned(),
            sites::get_sites(c, cluster_id, &site_ids)?
                .into_iter()
                .map(|s| (s.id.clone(), s))
                .collect(),
        );
        service_of.insert(
            cluster_id.to_owned(),
            services::get_services(c, cluster_id, &service_ids)?
                .into_iter()
                .map(|s| (s.id.clone(), s))
                .collect(),
        );
    }
    let mut out = Vec::with_capacity(slots.len());
    for slot in slots {
        let cluster_id = slot.cluster_id.as_str();
        let (Some(code), Some(site), Some(service)) = (
            code_of.get(cluster_id),
            site_of.get(cluster_id).and_then(|m| m.get(&slot.site_id)),
            service_of
                .get(cluster_id)
                .and_then(|m| m.get(&slot.service_id)),
        ) else {
            return Err(StoreError::NotFound.into());
        };
        out.push(SlotOffer {
            cluster: code.clone(),
            cluster_id: slot.cluster_id.clone(),
            site: OfferSite {
                id: site.id.clone(),
                name: site.name.clone(),
                kind: site.kind.clone(),
                address: site.address.clone(),
                postcode: site.postcode.clone(),
                latitude: site.latitude,
                longitude: site.longitude,
            },
            service: OfferService {
                id: service.id.clone(),
                code: service.code.clone(),
                name: service.name.clone(),
            },
            clinical_role: service.clinical_role.clone(),
            delivery: slot.delivery,
            starts_at: slot.starts_at.and_utc(),
            ends_at: slot.ends_at.and_utc(),
            channel: slot.channel,
            released_at: slot.released_at.map(|t| t.and_utc()),
            distance_km: None,
            slot_id: slot.id,
        });
    }
    Ok(out)
}

/// The clusters a caller books in and how sharing sees it: a receptionist is its practice (with
/// its agreement judged today in the cluster's zone); a triage service is 111 in its clusters
/// (optionally one of them, by code). Other roles do not book.
pub fn searcher_for(
    c: &mut DbConn,
    who: &Principal,
    now: DateTime<Utc>,
    only_cluster: Option<&str>,
) -> Result<(Vec<String>, Searcher), ApiError> {
    match who.role {
        Role::Receptionist => {
            let (cluster_id, practice_id) = match (&who.scope.cluster, &who.scope.practice) {
                (Some(c), Some(p)) => (c.clone(), p.clone()),
                _ => {
                    return Err(ApiError::Forbidden(
                        "a receptionist needs a practice".into(),
                    ))
                }
            };
            let cluster = clusters::get_cluster(c, &cluster_id)?;
            let practice = practices::get_practice(c, &cluster_id, &practice_id)?;
            let today = today_in(&cluster, now)?;
            let in_force = DataSharingAgreement::new(practice.dsa_from, practice.dsa_to)
                .is_ok_and(|a| a.in_force_on(today));
            Ok((
                vec![cluster_id],
                Searcher::Practice {
                    practice_id,
                    agreement_in_force: in_force,
                    own_site: practice.site_id,
                },
            ))
        }
        Role::Triage => {
            let mut ids = who.scope.clusters.clone();
            if let Some(code) = only_cluster {
                let wanted = clusters::get_cluster_by_code(c, &code.to_ascii_uppercase())
                    .ok()
                    .map(|cl| cl.id);
                ids.retain(|id| Some(id) == wanted.as_ref());
                if ids.is_empty() {
                    return Err(ApiError::NotFound(format!(
                        "no cluster {code} that you may book in"
                    )));
                }
            }
            let rules = sharing::current_rules_of(c, &ids)?;
            let open_clusters = ids
                .iter()
                .filter(|id| rules.get(*id).is_some_and(|r| r.triage_may_book_open))
                .cloned()
                .collect();
            Ok((ids, Searcher::Triage { open_clusters }))
        }
        _ => Err(ApiError::Forbidden(
            "searching and booking slots is for receptionists and triage services".into(),
        )),
    }
}

/// Free slots the caller may book now, by start time: a receptionist sees its cluster's open
/// slots, its practice's reserved ones and released ones; a 111 service sees 111 slots (and open
/// ones where its clusters allow). A slot under someone else's live hold is not offered.
#[utoipa::path(tag = "slots", params(SlotQuery), responses((status = 200, body = PageOf<SlotOffer>), (status = 403, body = crate::Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
#[get("/slots")]
pub async fn search_slots(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<SlotQuery>,
) -> Result<web::Json<PageOf<SlotOffer>>, ApiError> {
    let q = query.into_inner();
    let (after, limit) = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .decode()?;
    let now = state.clock.now();
    for (field, t) in [("from", q.from), ("to", q.to)] {
        if let Some(t) = t {
            crate::extract::check_date(field, t.date_naive())?;
        }
    }
    let from = q.from.unwrap_or(now);
    let to = q.to.unwrap_or(from + Duration::days(DEFAULT_SEARCH_DAYS));
    if to <= from {
        return Err(ApiError::Unprocessable(
            "invalid-date-range",
            "`to` must be after `from`".into(),
        ));
    }
    let holder = who.actor();
    let weighting = Weighting {
        minutes_per_km: q.minutes_per_km.unwrap_or(DEFAULT_MINUTES_PER_KM),
    };
    weighting
        .validate()
        .map_err(|e| ApiError::Unprocessable(e.code(), e.to_string()))?;
    let origin_query = OriginQuery {
        postcode: q.postcode.clone(),
        latitude: q.latitude,
        longitude: q.longitude,
    };
    let page = state
        .db(move |c| {
            let (cluster_ids, searcher) = searcher_for(c, &who, now, q.cluster.as_deref())?;
            let search = SlotSearch {
                cluster_ids,
                searcher,
                holder,
                now: now.naive_utc(),
                from: from.naive_utc(),
                to: to.naive_utc(),
                service_id: q.service,
                clinical_role: q.role,
                site_id: q.site,
                delivery: q.delivery,
                service_codes: None,
                deliveries: None,
            };
            let origin = origin_of(c, &search, &origin_query)?;
            let Some(origin) = origin else {
                // No origin: time order, paginated by the database.
                let page = sharing::search_slots(c, &search, after.as_deref(), limit)?;
                return Ok(hubbook_store::Page {
                    items: offers(c, page.items)?,
                    next_after: page.next_after,
                });
            };
            // With an origin: rank the window's first MAX_RANKED offers in core, page by position.
            let offset: usize = match after.as_deref() {
                None => 0,
                Some(a) => a
                    .strip_prefix("ranked:")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| {
                        ApiError::InvalidHeader(
                            "invalid-cursor",
                            "the cursor is not one this search returned".into(),
                        )
                    })?,
            };
            let window = sharing::search_slots(c, &search, None, MAX_RANKED)?.items;
            let all = offers(c, window)?;
            let ranked = rank(&candidates(&all), Some(origin), now.max(from), &weighting);
            let ordered = arrange(
                all,
                ranked
                    .iter()
                    .map(|r| (r.index, r.distance_km.map(round_km))),
            );
            let limit = usize::try_from(limit).unwrap_or(0);
            let items: Vec<SlotOffer> = ordered.iter().skip(offset).take(limit).cloned().collect();
            let next_after =
                (offset + limit < ordered.len()).then(|| format!("ranked:{}", offset + limit));
            Ok(hubbook_store::Page { items, next_after })
        })
        .await?;
    Ok(web::Json(PageOf::from_page(page, |o| o)))
}

/// The offers as the ranking rules in core see them.
pub(crate) fn candidates(all: &[SlotOffer]) -> Vec<Candidate<'_>> {
    all.iter()
        .map(|o| Candidate {
            slot_id: &o.slot_id,
            starts_at: o.starts_at,
            site: o.coordinates(),
        })
        .collect()
}

/// The offers in a ranking's order (`(index, distance in km)`, best first), with their distances.
pub(crate) fn arrange(
    all: Vec<SlotOffer>,
    order: impl Iterator<Item = (usize, Option<f64>)>,
) -> Vec<SlotOffer> {
    let mut slots: Vec<Option<SlotOffer>> = all.into_iter().map(Some).collect();
    order
        .filter_map(|(i, km)| {
            let mut offer = slots.get_mut(i)?.take()?;
            offer.distance_km = km;
            Some(offer)
        })
        .collect()
}

impl SlotOffer {
    /// Where its site is, when the site's coordinates are valid.
    pub fn coordinates(&self) -> Option<Coordinates> {
        Coordinates::new(self.site.latitude, self.site.longitude).ok()
    }

    /// Kilometres from `origin` to its site, rounded as shown to callers.
    pub fn distance_from(&self, origin: Option<Coordinates>) -> Option<f64> {
        origin
            .zip(self.coordinates())
            .map(|(o, s)| round_km(o.distance_km(&s)))
    }
}

/// The most offers one ranking search considers (the earliest in its window).
pub const MAX_RANKED: i64 = 1_000;

/// Where a search ranks distance from.
#[derive(Debug, Clone, Default)]
struct OriginQuery {
    postcode: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
}

/// The search's origin: given coordinates, a cluster site's postcode, or the caller's practice site.
fn origin_of(
    c: &mut DbConn,
    search: &SlotSearch,
    q: &OriginQuery,
) -> Result<Option<Coordinates>, ApiError> {
    match (q.latitude, q.longitude, &q.postcode) {
        (Some(lat), Some(lon), None) => return Ok(Some(Coordinates::new(lat, lon)?)),
        (None, None, None) => {}
        (None, None, Some(postcode)) => {
            let wanted = hubbook_core::Postcode::parse(postcode)?;
            for cluster_id in &search.cluster_ids {
                let sites = hubbook_store::repo::sites::list_sites(
                    c,
                    cluster_id,
                    None,
                    hubbook_store::repo::MAX_PAGE,
                )?
                .items;
                if let Some(site) = sites.iter().find(|s| s.postcode == wanted.as_str()) {
                    return Ok(Some(Coordinates::new(site.latitude, site.longitude)?));
                }
            }
            return Err(ApiError::Unprocessable("unknown-postcode", format!("{wanted} is not the postcode of a site of this cluster; give latitude and longitude instead")));
        }
        _ => {
            return Err(ApiError::InvalidQuery(
                "give a postcode, or latitude and longitude together, not both".into(),
            ))
        }
    }
    if let Searcher::Practice {
        own_site: Some(site_id),
        ..
    } = &search.searcher
    {
        if let Some(cluster_id) = search.cluster_ids.first() {
            let site = sites::get_site(c, cluster_id, site_id)?;
            return Ok(Coordinates::new(site.latitude, site.longitude).ok());
        }
    }
    Ok(None)
}

/// Whom to explain a slot's visibility for.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VisibilityQuery {
    /// A practice's ODS code; every practice and 111 when neither this nor `triage` is given.
    pub practice: Option<String>,
    /// `true` for the 111 services of the cluster.
    pub triage: Option<bool>,
}

/// Whether a slot is offered to one viewer now, and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VisibilityLine {
    /// `111`, or the practice's ODS code.
    pub viewer: String,
    /// Whether it is offered now.
    pub visible: bool,
    /// Why: `open`, `reserved_for_you`, `reserved_for111`, `released`,
    /// `reserved_for_another_practice`, `reserved_for111_until`, `reserved_for_practices`,
    /// `open_not_for111` or `no_data_sharing_agreement`.
    pub reason: String,
    /// The same in words.
    pub explanation: String,
}

/// Why a slot is or is not offered, to whom.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlotVisibility {
    /// The slot.
    pub slot_id: String,
    /// `open`, `practice` or `111`.
    pub channel: String,
    /// The practice it is reserved for (ODS code).
    pub reserved_for: Option<String>,
    /// When its reservation opens to every practice.
    pub released_at: Option<DateTime<Utc>>,
    /// Whether it is free now (no live appointment or hold); a slot that is not is offered to nobody.
    pub free: bool,
    /// The version of the sharing rules in force.
    pub rules_version: i64,
    /// One line per viewer asked about.
    pub viewers: Vec<VisibilityLine>,
}

fn explain(v: &Visibility) -> String {
    match v {
        Visibility::Open => "open to every practice of the cluster".into(),
        Visibility::ReservedForYou => "reserved for this practice".into(),
        Visibility::ReservedFor111 => "reserved for 111".into(),
        Visibility::Released { at } => {
            format!("its reservation was released to every practice at {at}")
        }
        Visibility::ReservedForAnotherPractice { until } => format!(
            "reserved for another practice until {}",
            until.map_or("it is released".into(), |t| t.to_string())
        ),
        Visibility::ReservedFor111Until { until } => format!(
            "reserved for 111 until {}",
            until.map_or("it is released".into(), |t| t.to_string())
        ),
        Visibility::ReservedForPractices => "reserved for a practice; 111 may not book it".into(),
        Visibility::OpenNotFor111 => {
            "open to practices, but this cluster's rules keep open slots from 111".into()
        }
        Visibility::NoDataSharingAgreement => {
            "the practice has no data-sharing agreement in force, so it sees only its own site"
                .into()
        }
    }
}

fn manager_cluster(who: &Principal) -> Result<String, ApiError> {
    match (who.role, &who.scope.cluster) {
        (Role::ClusterManager, Some(cluster)) => Ok(cluster.clone()),
        _ => Err(ApiError::Forbidden(
            "only a cluster manager may do this".into(),
        )),
    }
}

/// Why a slot is or is not offered right now, to one practice, to 111, or to everyone (its
/// cluster's manager): its channel, its release time, and the rule or agreement that hides it.
#[utoipa::path(tag = "slots", params(("id" = String, Path, description = "Slot id"), VisibilityQuery), responses((status = 200, body = SlotVisibility), (status = 404, body = crate::Problem, content_type = "application/problem+json")), security(("bearer" = [])))]
#[get("/slots/{id}/visibility")]
pub async fn slot_visibility(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
    query: web::Query<VisibilityQuery>,
) -> Result<web::Json<SlotVisibility>, ApiError> {
    let cluster_id = manager_cluster(&who)?;
    let now = state.clock.now();
    let q = query.into_inner();
    let answer = state
        .db(move |c| {
            let slot = found(sharing::get_live_slot(c, &cluster_id, &id), "slot")?;
            let cluster = clusters::get_cluster(c, &cluster_id)?;
            let today = today_in(&cluster, now)?;
            let rules = sharing::current_rules(c, &cluster_id)?;
            let all: Vec<Practice> =
                practices::list_practices(c, &cluster_id, None, i64::MAX / 2)?.items;
            let free = sharing::slot_is_free(c, &cluster_id, &slot, now.naive_utc())?;
            let channel = Channel::from_stored(&slot.channel, slot.channel_practice_id.as_deref())
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let released = slot.released_at.map(|t| t.and_utc());
            let mut lines = Vec::new();
            let ask_triage = q.triage.unwrap_or(q.practice.is_none());
            let wanted: Vec<&Practice> = match &q.practice {
                Some(ods) => {
                    let p = all
                        .iter()
                        .find(|p| p.ods_code.eq_ignore_ascii_case(ods))
                        .ok_or_else(|| {
                            ApiError::NotFound(format!("no practice {ods} in this cluster"))
                        })?;
                    vec![p]
                }
                None if q.triage == Some(true) => Vec::new(),
                None => all.iter().collect(),
            };
            for p in wanted {
                let in_force = DataSharingAgreement::new(p.dsa_from, p.dsa_to)
                    .is_ok_and(|a| a.in_force_on(today));
                let viewer = Viewer::Practice {
                    practice_id: &p.id,
                    agreement_in_force: in_force,
                    own_site: p.site_id.as_deref(),
                };
                let v = visibility(&channel, released, &slot.site_id, &viewer, now);
                lines.push(VisibilityLine {
                    viewer: p.ods_code.clone(),
                    visible: v.visible() && free,
                    reason: v.code().to_owned(),
                    explanation: explain(&v),
                });
            }
            if ask_triage {
                let v = visibility(
                    &channel,
                    released,
                    &slot.site_id,
                    &Viewer::Triage {
                        may_book_open: rules.rules.triage_may_book_open,
                    },
                    now,
                );
                lines.push(VisibilityLine {
                    viewer: "111".into(),
                    visible: v.visible() && free,
                    reason: v.code().to_owned(),
                    explanation: explain(&v),
                });
            }
            let reserved_for = slot
                .channel_practice_id
                .as_ref()
                .and_then(|id| all.iter().find(|p| &p.id == id))
                .map(|p| p.ods_code.clone());
            Ok(SlotVisibility {
                slot_id: slot.id,
                channel: slot.channel,
                reserved_for,
                released_at: released,
                free,
                rules_version: rules.version,
                viewers: lines,
            })
        })
        .await?;
    Ok(web::Json(answer))
}

/// A slot's channel after a change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlotChannelView {
    /// The slot.
    pub slot_id: String,
    /// `open`, `practice` or `111`.
    pub channel: String,
    /// The practice it is reserved for (id), for `practice`.
    pub practice_id: Option<String>,
    /// When it opens to every practice; absent for an open slot.
    pub released_at: Option<DateTime<Utc>>,
    /// The slot's version; also its ETag.
    pub version: i64,
}

/// A channel to set by hand.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    /// `open`, `practice` or `111`.
    pub channel: String,
    /// For `practice`: the practice's ODS code.
    pub practice: Option<String>,
}

/// Set a slot's channel by hand (its cluster's manager), e.g. to keep it for a housebound
/// patient's practice; its release time follows the rules in force. Audited. Send `If-Match`.
#[utoipa::path(
    tag = "slots",
    params(("id" = String, Path, description = "Slot id"), ("If-Match" = String, Header, description = "The slot's ETag (required; `*` for whatever is current)")),
    request_body = ChannelBody,
    responses((status = 200, body = SlotChannelView), (status = 404, body = crate::Problem, content_type = "application/problem+json"), (status = 422, body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[put("/slots/{id}/channel")]
pub async fn set_slot_channel(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<ChannelBody>,
) -> Result<HttpResponse, ApiError> {
    let cluster_id = manager_cluster(&who)?;
    let expected = if_match(&req)?;
    let change = state.change(&who);
    let body = body.into_inner();
    let slot = state
        .db(move |c| {
            let slot = found(sharing::get_live_slot(c, &cluster_id, &id), "slot")?;
            let channel = match (body.channel.as_str(), &body.practice) {
                ("open", None) => Channel::Open,
                ("111", None) => Channel::Triage,
                ("practice", Some(ods)) => {
                    match practices::get_practice_by_ods(c, &cluster_id, &ods.to_ascii_uppercase())
                    {
                        Ok(p) => Channel::Practice(p.id),
                        Err(StoreError::NotFound) => {
                            return Err(ApiError::Unprocessable(
                                "unknown-reference",
                                format!("no practice {ods} in this cluster"),
                            ))
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                _ => {
                    return Err(ApiError::Unprocessable(
                        "invalid-channel",
                        "channel is open or 111 (without practice) or practice (with its ODS code)"
                            .into(),
                    ))
                }
            };
            let session =
                hubbook_store::repo::sessions::get_session(c, &cluster_id, &slot.session_id)?;
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
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(slot.version))
        .json(SlotChannelView {
            slot_id: slot.id,
            channel: slot.channel,
            practice_id: slot.channel_practice_id,
            released_at: slot.released_at.map(|t| t.and_utc()),
            version: slot.version,
        }))
}
