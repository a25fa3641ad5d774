//! Slots: the search a receptionist or 111 service books from, and, for a cluster manager, why
//! a slot is or is not offered to someone and a hand-set channel.

use super::schema;
use actix_web::{get, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hubbook_core::sharing::Visibility;
use hubbook_service::sharing::{SetChannel, ViewerVisibility, VisibilityAnswer, VisibilityFor};
use hubbook_service::slots::{FindSlots, Offer};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{etag, if_match, PageOf, PageQuery};
use crate::{auth::Principal, ApiError, AppState};

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
    #[param(value_type = Option<schema::Postcode>, inline)]
    pub postcode: Option<String>,
    /// Rank by distance from these coordinates (with `longitude`).
    #[param(value_type = Option<schema::Latitude>, inline)]
    pub latitude: Option<f64>,
    /// Rank by distance from these coordinates (with `latitude`).
    #[param(value_type = Option<schema::Longitude>, inline)]
    pub longitude: Option<f64>,
    /// How many minutes of waiting one kilometre of travel is worth in the ranking (0 to 1,440;
    /// default 10). Results are ranked by minutes until the start plus this times the distance.
    #[param(schema_with = schema::minutes_per_km)]
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

impl From<Offer> for SlotOffer {
    fn from(o: Offer) -> Self {
        Self {
            cluster: o.cluster_code,
            cluster_id: o.slot.cluster_id.into(),
            site: OfferSite {
                id: o.site.id.into(),
                name: o.site.name,
                kind: o.site.kind.into(),
                address: o.site.address,
                postcode: o.site.postcode,
                latitude: o.site.latitude,
                longitude: o.site.longitude,
            },
            service: OfferService {
                id: o.service.id,
                code: o.service.code,
                name: o.service.name,
            },
            clinical_role: o.service.clinical_role.into(),
            delivery: o.slot.delivery.into(),
            starts_at: o.slot.starts_at.and_utc(),
            ends_at: o.slot.ends_at.and_utc(),
            channel: o.slot.channel.into(),
            released_at: o.slot.released_at.map(|t| t.and_utc()),
            distance_km: o.distance_km,
            slot_id: o.slot.id.into(),
        }
    }
}

crate::problems!(
    SearchProblems: Forbidden,
    NotFound,
    InvalidCursor,
    InvalidDateRange,
    InvalidWeighting,
    UnknownPostcode,
    InvalidPostcode,
    InvalidCoordinates,
);

/// Free slots the caller may book now, by start time: a receptionist sees its cluster's open
/// slots, its practice's reserved ones and released ones; a 111 service sees 111 slots (and open
/// ones where its clusters allow). A slot under someone else's live hold is not offered.
#[utoipa::path(tag = "slots", params(SlotQuery), responses((status = 200, body = PageOf<SlotOffer>), SearchProblems), security(("bearer" = [])))]
#[get("/slots")]
pub async fn search_slots(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<SlotQuery>,
) -> Result<web::Json<PageOf<SlotOffer>>, ApiError> {
    who.may(hubbook_service::access::Rights::Appointment(
        hubbook_core::access::Action::Book,
    ))?;
    let q = query.into_inner();
    let (after, limit) = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .decode()?;
    for (field, t) in [("from", q.from), ("to", q.to)] {
        if let Some(t) = t {
            crate::extract::check_date(field, t.date_naive())?;
        }
    }
    let at = match (q.latitude, q.longitude) {
        (Some(lat), Some(lon)) => Some((lat, lon)),
        (None, None) => None,
        _ => {
            return Err(ApiError::InvalidQuery(
                "give a postcode, or latitude and longitude together, not both".into(),
            ))
        }
    };
    let find = FindSlots {
        from: q.from,
        to: q.to,
        service: q.service,
        role: q.role,
        site: q.site,
        delivery: q.delivery,
        cluster: q.cluster,
        postcode: q.postcode,
        at,
        minutes_per_km: q.minutes_per_km,
    };
    let page = state.hubbook.search_slots(&who, find, after, limit).await?;
    Ok(web::Json(PageOf::from_page(page, SlotOffer::from)))
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

impl From<ViewerVisibility> for VisibilityLine {
    fn from(v: ViewerVisibility) -> Self {
        Self {
            viewer: v.viewer,
            visible: v.visible,
            reason: v.visibility.code().to_owned(),
            explanation: explain(&v.visibility),
        }
    }
}

impl From<VisibilityAnswer> for SlotVisibility {
    fn from(v: VisibilityAnswer) -> Self {
        Self {
            released_at: v.slot.released_at.map(|t| t.and_utc()),
            slot_id: v.slot.id.into(),
            channel: v.slot.channel.into(),
            reserved_for: v.reserved_for,
            free: v.free,
            rules_version: v.rules_version,
            viewers: v.viewers.into_iter().map(VisibilityLine::from).collect(),
        }
    }
}

crate::problems!(SlotVisibilityProblems: Forbidden, NotFound);

/// Why a slot is or is not offered right now, to one practice, to 111, or to everyone (its
/// cluster's manager): its channel, its release time, and the rule or agreement that hides it.
#[utoipa::path(tag = "slots", params(("id" = String, Path, description = "Slot id"), VisibilityQuery), responses((status = 200, body = SlotVisibility), SlotVisibilityProblems), security(("bearer" = [])))]
#[get("/slots/{id}/visibility")]
pub async fn slot_visibility(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
    query: web::Query<VisibilityQuery>,
) -> Result<web::Json<SlotVisibility>, ApiError> {
    let q = query.into_inner();
    let asked = VisibilityFor {
        practice: q.practice,
        triage: q.triage,
    };
    let answer = state
        .hubbook
        .slot_visibility(&who, id.into_inner(), asked)
        .await?;
    Ok(web::Json(answer.into()))
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
    #[schema(value_type = schema::ChannelName)]
    pub channel: String,
    /// For `practice`: the practice's ODS code.
    #[schema(value_type = Option<schema::OdsCode>)]
    pub practice: Option<String>,
}

crate::problems!(SetSlotChannelProblems: Forbidden, NotFound, PreconditionRequired, PreconditionFailed, InvalidChannel, DuplicatePractice, InvalidOdsCode, UnknownReference);

/// Set a slot's channel by hand (its cluster's manager), e.g. to keep it for a housebound
/// patient's practice; its release time follows the rules in force. Audited. Send `If-Match`.
#[utoipa::path(
    tag = "slots",
    params(("id" = String, Path, description = "Slot id"), ("If-Match" = String, Header, description = "The slot's ETag (required; `*` for whatever is current)")),
    request_body = ChannelBody,
    responses((status = 200, body = SlotChannelView), SetSlotChannelProblems),
    security(("bearer" = []))
)]
#[put("/slots/{id}/channel")]
pub async fn set_slot_channel(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: crate::extract::Json<ChannelBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let expected = if_match(&req)?;
    let body = body.into_inner()?;
    let set = SetChannel {
        channel: body.channel,
        practice: body.practice,
    };
    let slot = state
        .hubbook
        .set_slot_channel(&who, id.into_inner(), expected, set)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(slot.version))
        .json(SlotChannelView {
            slot_id: slot.id.into(),
            channel: slot.channel.into(),
            practice_id: slot.channel_practice_id.map(Into::into),
            released_at: slot.released_at.map(|t| t.and_utc()),
            version: slot.version,
        }))
}
