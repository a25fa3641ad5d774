//! The rebooking worklist: appointments a rota change left in a slot that no longer belongs,
//! kept valid until a receptionist or manager rebooks, cancels or confirms them.

use actix_web::{get, post, web, HttpRequest};
use chrono::{DateTime, NaiveDate, Utc};
use hubbook_core::Role;
use hubbook_store::models::{Appointment, Rebooking};
use hubbook_store::repo::appointments::{self, Resolution};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{cluster_for, found, Need};
use crate::extract::{if_match_optional, PageOf, PageQuery};
use crate::{auth::Principal, ApiError, AppState};

/// One appointment to rebook or confirm.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RebookingItem {
    /// The appointment.
    pub appointment_id: String,
    /// Its status (still live until resolved).
    pub status: String,
    /// Why it needs rebooking.
    pub reason: String,
    /// When the change flagged it.
    pub flagged_at: DateTime<Utc>,
    /// The booked start.
    pub starts_at: DateTime<Utc>,
    /// The booked end.
    pub ends_at: DateTime<Utc>,
    /// The booked site.
    pub site_id: String,
    /// The booked service.
    pub service_id: String,
    /// The practice that booked it.
    pub booking_practice_id: Option<String>,
    /// The patient's name, to call them.
    pub patient_name: String,
    /// The patient's phone number.
    pub patient_phone: String,
    /// The patient's date of birth, to confirm who answers.
    pub patient_birth_date: NaiveDate,
    /// The appointment's version, for `If-Match` when resolving.
    pub version: i64,
}

fn item((need, a): (Rebooking, Appointment)) -> RebookingItem {
    RebookingItem {
        appointment_id: a.id,
        status: a.status,
        reason: need.reason,
        flagged_at: need.flagged_at.and_utc(),
        starts_at: a.starts_at.and_utc(),
        ends_at: a.ends_at.and_utc(),
        site_id: a.site_id,
        service_id: a.service_id,
        booking_practice_id: a.booking_practice_id,
        patient_name: a.patient_name,
        patient_phone: a.patient_phone,
        patient_birth_date: a.patient_birth_date,
        version: a.version,
    }
}

/// How to resolve a rebooking need.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionBody {
    /// The patient keeps the old time; the appointment stays as it is.
    Keep,
    /// The appointment is cancelled.
    Cancel,
}

/// A resolution.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// `keep` or `cancel`.
    pub resolution: ResolutionBody,
}

fn practice_scope(who: &Principal) -> Result<Option<String>, ApiError> {
    match who.role {
        Role::ClusterManager => Ok(None),
        Role::Receptionist => Ok(who.scope.practice.clone()),
        _ => Err(ApiError::Forbidden(
            "only a cluster manager or a receptionist may work the rebooking list".into(),
        )),
    }
}

/// The appointments needing rebooking: all of the cluster's for its manager, a practice's own
/// for its receptionist. Each stays valid and visible until resolved.
#[utoipa::path(tag = "rebooking", params(("code" = String, Path, description = "Cluster code"), PageQuery), responses((status = 200, body = PageOf<RebookingItem>)), security(("bearer" = [])))]
#[get("/clusters/{code}/rebooking")]
pub async fn list_rebooking(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<PageOf<RebookingItem>>, ApiError> {
    let (after, limit) = page.decode()?;
    let page = state
        .db(move |c| {
            let cluster = cluster_for(c, &who, &code, Need::Read)?;
            let practice = practice_scope(&who)?;
            Ok(appointments::list_rebooking(
                c,
                &cluster.id,
                practice.as_deref(),
                after.as_deref(),
                limit,
            )?)
        })
        .await?;
    Ok(web::Json(PageOf::from_page(page, item)))
}

/// Resolve one appointment's rebooking need: keep the old time, or cancel it. (Rescheduling it
/// to another slot also resolves it.) Send `If-Match` with the appointment's version.
#[utoipa::path(
    tag = "rebooking",
    params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Appointment id"), ("If-Match" = Option<String>, Header, description = "The appointment's version")),
    request_body = ResolveBody,
    responses((status = 200, body = RebookingItem), (status = 404, description = "No open need for this appointment that you may see", body = crate::Problem, content_type = "application/problem+json"), (status = 412, body = crate::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[post("/clusters/{code}/rebooking/{id}/resolve")]
pub async fn resolve_rebooking(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<ResolveBody>,
) -> Result<web::Json<RebookingItem>, ApiError> {
    let (code, id) = path.into_inner();
    let resolution = match body.resolution {
        ResolutionBody::Keep => Resolution::Kept,
        ResolutionBody::Cancel => Resolution::Cancelled,
    };
    let expected = if_match_optional(&req);
    let change = state.change(&who);
    let resolved = state
        .db(move |c| {
            let cluster = cluster_for(c, &who, &code, Need::Read)?;
            let practice = practice_scope(&who)?;
            let appointment = found(
                appointments::get_appointment(c, &cluster.id, &id),
                "appointment",
            )?;
            if practice.is_some() && appointment.booking_practice_id != practice {
                return Err(ApiError::NotFound(
                    "no appointment here that you may see".into(),
                ));
            }
            found(
                appointments::resolve_rebooking(c, &change, &cluster.id, &id, expected, resolution),
                "open rebooking need",
            )
        })
        .await?;
    Ok(web::Json(item(resolved)))
}
