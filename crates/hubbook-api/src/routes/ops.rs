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

/// Readiness: the database answers and every migration of this build is applied.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health), (status = 503, body = crate::Problem, content_type = "application/problem+json")))]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    let pending = state.db(|c| Ok(c.has_pending_migrations()?)).await?;
    if pending {
        return Err(ApiError::Store(hubbook_store::StoreError::Busy));
    }
    Ok(web::Json(Health {
        status: "ok".into(),
    }))
}

/// Metrics in the Prometheus text format: requests by route and status, latency, pool usage.
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(&state.pool))
}
