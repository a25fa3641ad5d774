//! `GET /Slot`: the free slots hubbook offers the consumer now, as a GP Connect searchset with
//! their Schedules (one per session) and, when asked, their Locations (the sites) and the
//! Organization that runs them (the cluster, by its network's ODS code).
//!
//! The consumer is an integration that books as NHS 111, or one bound to a practice (the
//! practice's own system): it is offered exactly the slots the JSON API's slot search offers it
//! (the same use case), those that start and end inside the window: a practice its reserved and
//! open slots, never another practice's reserved ones; 111 the slots kept for 111 and, where
//! the cluster allows, the open ones. A booking organisation type that is not the consumer's
//! (`urgent-care` for 111, any other for a practice) is refused with `ACCESS_DENIED`.
//!
//! Parameters as GP Connect 1.2.8 has them: `start=ge` and `end=le` once each, as dates or
//! date-times with a UTC offset (dates are England's), at most 14 days apart; `status=free`;
//! `_include=Slot:schedule`; `service.identifier` (`system|code` or `code`) keeps the slots of
//! the service the cluster set up with that code. A missing one is `BAD_REQUEST`; a wrong one
//! `INVALID_PARAMETER`.
//! Search filters hubbook does not know are ignored.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::London;
use hubbook_service::slots::{FindSlots, Offer};
use serde::Serialize;
use serde_json::Value;

use crate::error::{ErrorCode, GpcError};
use crate::fhir::{channel, practitioner_role, uk, PROFILE_BASE};
use crate::request::{Interaction, ODS_SYSTEM};
use crate::Facade;

/// The longest window a search may ask for.
pub const MAX_WINDOW_DAYS: i64 = 14;
/// The organisation type of an NHS 111 (urgent care) consumer.
pub const URGENT_CARE: &str = "urgent-care";
/// The code system of booking organisation types.
pub const ORGANISATION_TYPE_SYSTEM: &str =
    "https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1";

/// A slot search as asked: the window, and what to include.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotQuery {
    /// Slots starting at or after this instant.
    pub from: DateTime<Utc>,
    /// Slots ending at or before this instant.
    pub to: DateTime<Utc>,
    /// Include the schedules' Locations.
    pub locations: bool,
    /// Include the Locations' managing Organizations.
    pub organizations: bool,
    /// The booking organisation's type, when a search filter names one.
    pub organisation_type: Option<String>,
    /// Only slots of the service with this code (`service.identifier`; the code a cluster gives
    /// its service, such as a Directory of Services id it was set up with).
    pub service: Option<String>,
}

fn invalid(why: impl Into<String>) -> GpcError {
    GpcError::new(ErrorCode::InvalidParameter, why)
}

/// A `start` or `end` value after its prefix: a date (England's day), or a date-time with a
/// UTC offset; with the instant it names and whether it was a date.
fn instant(name: &str, value: &str) -> Result<(DateTime<Utc>, bool), GpcError> {
    // An offset's `+` sent unencoded reads as a space in a query string: it is taken as `+`.
    let value = &value.replace(' ', "+");
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let midnight = London
            .from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .ok_or_else(|| invalid(format!("{name}: {value} has no midnight in England")))?;
        return Ok((midnight.with_timezone(&Utc), true));
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| (t.with_timezone(&Utc), false))
        .map_err(|_| {
            invalid(format!(
                "{name} must be a date (2026-12-07) or a date-time with its UTC offset \
                 (2026-12-07T09:00:00+00:00), not {value}"
            ))
        })
}

/// Reads a slot search's query string.
pub fn parse(query: &str) -> Result<SlotQuery, GpcError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| GpcError::bad_request("the query string does not parse"))?;
    let all = |name: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let once = |name: &str| -> Result<&str, GpcError> {
        match all(name).as_slice() {
            [] => Err(GpcError::bad_request(format!("{name} is required"))),
            [one] => Ok(one),
            _ => Err(invalid(format!("{name} may be given once"))),
        }
    };
    let start = once("start")?;
    let end = once("end")?;
    let status = once("status")?;
    if status != "free" {
        return Err(invalid(format!("status must be free, not {status}")));
    }
    if !all("_include").contains(&"Slot:schedule") {
        return Err(GpcError::bad_request("_include=Slot:schedule is required"));
    }
    let start = start
        .strip_prefix("ge")
        .ok_or_else(|| invalid("start takes the prefix ge, as in start=ge2026-12-07"))?;
    let end = end
        .strip_prefix("le")
        .ok_or_else(|| invalid("end takes the prefix le, as in end=le2026-12-20"))?;
    let (from, _) = instant("start", start)?;
    let (end_at, end_is_date) = instant("end", end)?;
    if end_at < from {
        return Err(invalid("end is before start"));
    }
    if end_at - from > Duration::days(MAX_WINDOW_DAYS) {
        return Err(invalid(format!(
            "the window is over {MAX_WINDOW_DAYS} days: search two weeks at a time"
        )));
    }
    // A date as the end means slots ending on that day too.
    let to = if end_is_date {
        instant(
            "end",
            &(end_at.with_timezone(&London).date_naive() + Duration::days(1)).to_string(),
        )?
        .0
    } else {
        end_at
    };
    let recurse = all("_include:recurse");
    let organisation_type = all("searchFilter").iter().find_map(|f| {
        f.strip_prefix(ORGANISATION_TYPE_SYSTEM)
            .and_then(|rest| rest.strip_prefix('|'))
            .map(str::to_owned)
    });
    let service = match all("service.identifier").as_slice() {
        [] => None,
        [one] => Some(
            one.rsplit_once('|')
                .map_or(*one, |(_, code)| code)
                .to_owned(),
        ),
        _ => return Err(invalid("service.identifier may be given once")),
    };
    Ok(SlotQuery {
        service,
        from,
        to,
        locations: recurse.contains(&"Schedule:actor:Location"),
        organizations: recurse.contains(&"Location:managingOrganization"),
        organisation_type,
    })
}

/// A FHIR `meta` as written: a version and one profile.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    version_id: String,
    profile: [String; 1],
}

fn typed_meta(profile: &str, version: i64) -> Meta {
    Meta {
        version_id: version.to_string(),
        profile: [format!("{PROFILE_BASE}{profile}")],
    }
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
struct Reference {
    reference: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CodeExtension {
    url: String,
    value_code: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConceptExtension {
    url: String,
    value_codeable_concept: Value,
}

/// A `GPConnect-Slot-1` as the search writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SlotResource<'a> {
    resource_type: &'static str,
    id: &'a str,
    meta: Meta,
    extension: [CodeExtension; 1],
    service_type: [Text<'a>; 1],
    schedule: Reference,
    status: &'static str,
    start: String,
    end: String,
}

/// A `GPConnect-Schedule-1`: one per session.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScheduleResource<'a> {
    resource_type: &'static str,
    id: &'a str,
    meta: Meta,
    extension: [ConceptExtension; 1],
    service_category: Text<'a>,
    actor: [Reference; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Address<'a> {
    postal_code: &'a str,
}

/// A `CareConnect-GPC-Location-1`: a site.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LocationResource<'a> {
    resource_type: &'static str,
    id: &'a str,
    meta: Meta,
    name: &'a str,
    address: Address<'a>,
    managing_organization: Reference,
}

#[derive(Serialize)]
struct Identifier<'a> {
    system: &'static str,
    value: &'a str,
}

/// A `CareConnect-GPC-Organization-1`: the cluster, by its network's ODS code.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationResource<'a> {
    resource_type: &'static str,
    id: &'a str,
    meta: Meta,
    identifier: [Identifier<'a>; 1],
    name: &'a str,
}

/// Any of the resources a search bundles.
#[derive(Serialize)]
#[serde(untagged)]
enum Resource<'a> {
    Slot(SlotResource<'a>),
    Schedule(ScheduleResource<'a>),
    Location(LocationResource<'a>),
    Organization(OrganizationResource<'a>),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    full_url: String,
    resource: Resource<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LastUpdated {
    last_updated: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Searchset<'a> {
    resource_type: &'static str,
    meta: LastUpdated,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<Entry<'a>>,
}

/// The searchset of these offers, with what the query asks included, as JSON. Written from
/// typed, borrowing resources rather than `serde_json::Value`s: a two-week search holds
/// hundreds of slots, and building a tree of maps for each cost a third of the answer's time.
pub fn bundle(
    offers: &[Offer],
    query: &SlotQuery,
    cluster_names: &BTreeMap<String, String>,
) -> String {
    let mut slots = Vec::with_capacity(offers.len());
    let mut schedules: BTreeMap<&str, Entry<'_>> = BTreeMap::new();
    let mut locations: BTreeMap<&str, Entry<'_>> = BTreeMap::new();
    let mut organizations: BTreeMap<&str, Entry<'_>> = BTreeMap::new();
    for offer in offers {
        let slot = &offer.slot;
        let schedule = slot.session_id.as_str();
        slots.push(Entry {
            full_url: format!("Slot/{}", slot.id),
            resource: Resource::Slot(SlotResource {
                resource_type: "Slot",
                id: &slot.id,
                meta: typed_meta("GPConnect-Slot-1", slot.version),
                extension: [CodeExtension {
                    url: format!("{PROFILE_BASE}Extension-GPConnect-DeliveryChannel-2"),
                    value_code: channel(slot.delivery),
                }],
                service_type: [Text {
                    text: &offer.service.name,
                }],
                schedule: Reference {
                    reference: format!("Schedule/{schedule}"),
                },
                status: "free",
                start: uk(slot.starts_at),
                end: uk(slot.ends_at),
            }),
        });
        let site_id = slot.site_id.as_str();
        schedules.entry(schedule).or_insert_with(|| Entry {
            full_url: format!("Schedule/{schedule}"),
            resource: Resource::Schedule(ScheduleResource {
                resource_type: "Schedule",
                id: schedule,
                meta: typed_meta("GPConnect-Schedule-1", 1),
                extension: [ConceptExtension {
                    url: format!("{PROFILE_BASE}Extension-GPConnect-PractitionerRole-1"),
                    value_codeable_concept: practitioner_role(offer.service.clinical_role),
                }],
                service_category: Text {
                    text: &offer.service.name,
                },
                actor: [Reference {
                    reference: format!("Location/{site_id}"),
                }],
            }),
        });
        if query.locations {
            let organisation = offer.cluster_code.as_str();
            locations.entry(site_id).or_insert_with(|| Entry {
                full_url: format!("Location/{site_id}"),
                resource: Resource::Location(LocationResource {
                    resource_type: "Location",
                    id: site_id,
                    meta: typed_meta("CareConnect-GPC-Location-1", offer.site.version),
                    name: &offer.site.name,
                    address: Address {
                        postal_code: &offer.site.postcode,
                    },
                    managing_organization: Reference {
                        reference: format!("Organization/{organisation}"),
                    },
                }),
            });
            if query.organizations {
                organizations.entry(organisation).or_insert_with(|| Entry {
                    full_url: format!("Organization/{organisation}"),
                    resource: Resource::Organization(OrganizationResource {
                        resource_type: "Organization",
                        id: organisation,
                        meta: typed_meta("CareConnect-GPC-Organization-1", 1),
                        identifier: [Identifier {
                            system: ODS_SYSTEM,
                            value: organisation,
                        }],
                        name: cluster_names
                            .get(organisation)
                            .map_or(organisation, String::as_str),
                    }),
                });
            }
        }
    }
    let entry: Vec<Entry<'_>> = slots
        .into_iter()
        .chain(schedules.into_values())
        .chain(locations.into_values())
        .chain(organizations.into_values())
        .collect();
    let searchset = Searchset {
        resource_type: "Bundle",
        meta: LastUpdated {
            last_updated: uk(Utc::now().naive_utc()),
        },
        kind: "searchset",
        entry,
    };
    serde_json::to_string(&searchset).unwrap_or_default()
}

/// `GET /Slot`.
pub async fn search(req: HttpRequest, facade: web::Data<Facade>) -> Result<HttpResponse, GpcError> {
    let (integration, _, hubbook) =
        crate::admit_pending(&req, Interaction::SearchSlots, &facade).await?;
    crate::audited_alongside(&hubbook, search_as(&req, &hubbook, &integration)).await
}

/// Searches as `GET /Slot` asks.
async fn search_as(
    req: &HttpRequest,
    hubbook: &hubbook_service::Hubbook,
    integration: &hubbook_service::Caller,
) -> Result<HttpResponse, GpcError> {
    let query = parse(req.query_string())?;
    let books_as_111 = integration.role == hubbook_core::Role::Triage;
    match query.organisation_type.as_deref() {
        Some(kind) if books_as_111 && kind != URGENT_CARE => {
            return Err(GpcError::new(
                ErrorCode::AccessDenied,
                format!(
                    "this integration books as NHS 111 (organisation type {URGENT_CARE}), not for a {kind} organisation"
                ),
            ))
        }
        Some(URGENT_CARE) if !books_as_111 => {
            return Err(GpcError::new(
                ErrorCode::AccessDenied,
                "this integration books for its practice, not as an urgent-care (NHS 111) service",
            ))
        }
        _ => {}
    }
    let find = FindSlots {
        from: Some(query.from),
        to: Some(query.to),
        ..FindSlots::default()
    };
    let mut offers: Vec<Offer> = Vec::new();
    let mut after = None;
    loop {
        let page = hubbook
            .search_slots(integration, find.clone(), after, 500)
            .await
            .map_err(crate::error::from_service)?;
        offers.extend(page.items);
        after = page.next_after;
        if after.is_none() {
            break;
        }
    }
    // Slots that fall wholly inside the window, of the service asked for.
    offers.retain(|o| {
        o.slot.ends_at.and_utc() <= query.to
            && query
                .service
                .as_ref()
                .is_none_or(|code| *code == o.service.code)
    });
    let mut names = BTreeMap::new();
    if query.organizations {
        for code in offers.iter().map(|o| o.cluster_code.clone()) {
            if let std::collections::btree_map::Entry::Vacant(e) = names.entry(code.clone()) {
                if let Ok(cluster) = hubbook.cluster(integration, code).await {
                    e.insert(cluster.name);
                }
            }
        }
    }
    Ok(crate::fhir_text(
        StatusCode::OK,
        bundle(&offers, &query, &names),
    ))
}
