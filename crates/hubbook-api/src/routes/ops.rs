//! Operations: liveness, readiness and Prometheus metrics; no authentication.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ApiError, AppState};

/// A health answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` when healthy.
    pub status: String,
}

/// Liveness: the process is up and serving.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/health/live")]
pub async fn live() -> web::Json<Health> {
    web::Json(Health {
        status: "ok".into(),
    })
}

/// How long readiness waits for the database: a load balancer's probe is answered within it,
/// whatever the database does.
pub const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Readiness: the database answers within [`READY_WITHIN`] and every migration of this build is
/// applied; otherwise 503 with `Retry-After`.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health), (status = 503, body = crate::Problem, content_type = "application/problem+json")))]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    let pending = tokio::time::timeout(READY_WITHIN, state.db(|c| Ok(c.has_pending_migrations()?)))
        .await
        .map_err(|_| {
            ApiError::Store(hubbook_store::StoreError::Unavailable(
                "no answer within a second".into(),
            ))
        })??;
    if pending {
        return Err(ApiError::Store(hubbook_store::StoreError::Busy));
    }
    Ok(web::Json(Health {
        status: "ok".into(),
    }))
}

/// Metrics in the Prometheus text format: requests by route and status, latency, pool usage,
/// the process, the build, webhook deliveries and their backlog, releases announced and sign-in
/// refusals.
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let now = state.now();
    // One query per active webhook; a database out of reach leaves the last figure.
    let oldest = state
        .db(move |c| Ok(hubbook_store::repo::webhooks::oldest_undelivered(c)?))
        .await
        .ok()
        .map(|oldest| {
            oldest.map_or(0.0, |at| {
                (now - at).num_milliseconds().max(0) as f64 / 1000.0
            })
        });
    let refusals = state.hubbook.sign_in_refusals();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(&state.pool, refusals, oldest))
}
