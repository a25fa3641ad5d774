//! The event feed of a cluster: every booking, cancellation, reschedule, outcome, release of a
//! reserved slot and rebooking need, in commit order, read after a cursor (at least once,
//! resumable). A triage service reads the events of what it booked.

use actix_web::{get, web};
use hubbook_service::events::ReadFeed;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ProblemType;
use crate::{auth::Principal, ApiError, AppState};

pub use crate::feed::EventView;

/// A page of the feed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    /// The events after the cursor, in order.
    pub items: Vec<EventView>,
    /// Where to resume: pass it as `after` next time (the same cursor when nothing was new).
    pub next_cursor: String,
    /// Whether more events are waiting now.
    pub has_more: bool,
}

/// Where to read from.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// The `next_cursor` (or an event's `cursor`) last processed; the feed's start when absent.
    pub after: Option<String>,
    /// Page size (1 to 500, default 100).
    pub limit: Option<i64>,
    /// Only these types, comma-separated, e.g. `appointment.booked,appointment.cancelled`.
    pub types: Option<String>,
}

crate::problems!(FeedProblems: Forbidden, NotFound, InvalidCursor, UnknownEventType);

/// Read a cluster's event feed after a cursor (its manager, or a triage service of the cluster,
/// which sees the events of what it booked). Events come in commit order; store `next_cursor`
/// after processing a page and pass it as `after` to resume without losing any.
#[utoipa::path(tag = "events", params(("code" = String, Path, description = "Cluster code"), EventQuery), responses((status = 200, body = EventPage), FeedProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
    query: web::Query<EventQuery>,
) -> Result<web::Json<EventPage>, ApiError> {
    who.may(hubbook_service::access::Rights::Feed)?;
    let q = query.into_inner();
    let after = match q.after.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(a) => a.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::Refused(
                ProblemType::InvalidCursor,
                "the cursor is not one this feed returned".into(),
            )
        })?,
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let kinds: Vec<String> = q
        .types
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let read = ReadFeed {
        cluster: code.into_inner(),
        after,
        limit,
        kinds,
    };
    let page = state.hubbook.read_feed(&who, read).await?;
    Ok(web::Json(EventPage {
        items: page
            .events
            .iter()
            .map(|e| EventView::from_event(e, Some(&page.cluster_code)))
            .collect(),
        next_cursor: page.next_after.to_string(),
        has_more: page.has_more,
    }))
}
