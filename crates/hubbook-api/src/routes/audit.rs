//! The audit trail: who changed what, when, before and after (a manager for its cluster, an
//! admin for the whole installation).

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use hubbook_store::models::AuditEvent;
use hubbook_store::repo::audit::AuditFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extract::{PageOf, PageQuery};
use crate::{auth::Principal, ApiError, AppState};

/// Filters for the audit trail.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The kind of entity, e.g. `appointment`, `slot`, `hold`, `rota`.
    pub entity: Option<String>,
    /// One entity's id.
    pub entity_id: Option<String>,
    /// Who: `user:<id>`, `client:<id>` or `system`.
    pub actor: Option<String>,
    /// At or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Page size (1 to 500, default 50).
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// One audit event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditView {
    /// Id (time-ordered).
    pub id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What, e.g. `appointment.cancel`.
    pub action: String,
    /// The kind of entity.
    pub entity: String,
    /// The entity's id.
    pub entity_id: String,
    /// Its state before, as JSON.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// Its state after, as JSON.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

impl From<AuditEvent> for AuditView {
    fn from(e: AuditEvent) -> Self {
        let parse = |j: Option<String>| j.and_then(|s| serde_json::from_str(&s).ok());
        Self {
            id: e.id,
            at: e.at.and_utc(),
            actor: e.actor,
            action: e.action,
            entity: e.entity,
            entity_id: e.entity_id,
            before: parse(e.before_json),
            after: parse(e.after_json),
        }
    }
}

crate::problems!(AuditProblems: Forbidden, InvalidCursor);

/// Read audit events, oldest first: a manager its cluster's, an admin every cluster's.
#[utoipa::path(tag = "audit", params(AuditQuery), responses((status = 200, body = PageOf<AuditView>), AuditProblems), security(("bearer" = [])))]
#[get("/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<PageOf<AuditView>>, ApiError> {
    let q = query.into_inner();
    let (after, limit) = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .decode()?;
    let filter = AuditFilter {
        cluster_id: None,
        entity: q.entity,
        entity_id: q.entity_id,
        actor: q.actor,
        from: q.from.map(|t| t.naive_utc()),
        to: q.to.map(|t| t.naive_utc()),
    };
    let page = state
        .hubbook
        .audit_trail(&who, filter, after, limit)
        .await?;
    Ok(web::Json(PageOf::from_page(page, AuditView::from)))
}
