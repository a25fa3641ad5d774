//! Webhooks of a cluster (its manager): the event feed posted to a receiver, signed with a
//! secret shown once, retried with back-off, with a delivery log.

use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hubbook_service::events::{check_types, check_url, NewWebhook};
use hubbook_store::models::{Webhook, WebhookChanges, WebhookDelivery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::generate_secret;
use crate::extract::{etag, if_match, PageOf, PageQuery};
use crate::idempotency::Replay;
use crate::ProblemType;
use crate::{auth::Principal, ApiError, AppState};

/// A webhook as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    /// Id.
    pub id: String,
    /// Where deliveries are posted.
    pub url: String,
    /// The event types delivered (`*`: all).
    pub event_types: Vec<String>,
    /// Whether deliveries are made.
    pub active: bool,
    /// The feed cursor delivered up to.
    pub delivered_cursor: String,
    /// Failed attempts in a row at the next event.
    pub failures: i32,
    /// After a failure: when the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Current version; also the ETag.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url,
            event_types: w
                .event_types
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            active: w.active,
            delivered_cursor: w.delivered_seq.to_string(),
            failures: w.failures,
            next_attempt_at: w.next_attempt_at.map(|t| t.and_utc()),
            version: w.version,
            created_at: w.created_at.and_utc(),
        }
    }
}

/// A new webhook with its signing secret, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedWebhook {
    /// The webhook.
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The HMAC-SHA256 signing secret. Deliveries carry `Hubbook-Signature: t=<unix seconds>,
    /// v1=<hex HMAC-SHA256 of "<t>.<body>">`; recompute it to verify. Absent on a replay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A webhook to create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    /// `https://...` (plain `http` only to this machine, for local receivers).
    pub url: String,
    /// The event types to deliver; all when absent or `["*"]`.
    pub event_types: Option<Vec<String>>,
    /// `now` (default): events from now on; `start`: the whole feed from its beginning.
    pub from: Option<String>,
}

/// Changes to a webhook.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    /// New URL.
    pub url: Option<String>,
    /// New event types.
    pub event_types: Option<Vec<String>>,
    /// `false` pauses deliveries (events wait in the feed); `true` resumes at once.
    pub active: Option<bool>,
}

/// A delivery attempt, as the log shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// Id.
    pub id: String,
    /// The event's cursor.
    pub event_cursor: String,
    /// The event's id.
    pub event_id: String,
    /// 1 for the first attempt at this event, then 2, 3...
    pub attempt: i32,
    /// When.
    pub attempted_at: DateTime<Utc>,
    /// Whether the receiver answered 2xx.
    pub succeeded: bool,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i32>,
    /// Why it failed.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}

impl From<WebhookDelivery> for DeliveryView {
    fn from(d: WebhookDelivery) -> Self {
        Self {
            id: d.id,
            event_cursor: d.event_seq.to_string(),
            event_id: d.event_id,
            attempt: d.attempt,
            attempted_at: d.attempted_at.and_utc(),
            succeeded: d.succeeded,
            status_code: d.status_code,
            error: d.error,
            duration_ms: d.duration_ms,
        }
    }
}

crate::problems!(
    CreateWebhookProblems: InvalidIdempotencyKey,
    Forbidden,
    NotFound,
    IdempotencyKeyReused,
    InvalidWebhookUrl,
    UnknownEventType,
);
crate::problems!(ListWebhookProblems: Forbidden, NotFound, InvalidCursor);
crate::problems!(WebhookProblems: Forbidden, NotFound);
crate::problems!(
    UpdateWebhookProblems: Forbidden,
    NotFound,
    PreconditionRequired,
    PreconditionFailed,
    InvalidWebhookUrl,
    UnknownEventType,
);
crate::problems!(DeliveryProblems: Forbidden, NotFound, InvalidCursor);

/// Add a webhook (the cluster's manager): events are posted to it in order, at least once,
/// signed with the secret in the answer (shown only this once). Accepts `Idempotency-Key`.
#[utoipa::path(
    tag = "events",
    params(("code" = String, Path, description = "Cluster code"), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    request_body = NewWebhookBody,
    responses((status = 201, body = CreatedWebhook), CreateWebhookProblems),
    security(("bearer" = []))
)]
#[post("/clusters/{code}/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    code: web::Path<String>,
    body: crate::extract::Json<NewWebhookBody>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let body = body.into_inner()?;
    let replay = Replay::from_request(
        &state,
        &req,
        &who,
        &format!("POST /clusters/{code}/webhooks"),
        &body,
    )?;
    let new = NewWebhook {
        url: check_url(&body.url)?,
        event_types: check_types(body.event_types.as_deref())?,
        from_start: match body.from.as_deref() {
            None | Some("now") => false,
            Some("start") => true,
            Some(_) => {
                return Err(ApiError::Refused(
                    ProblemType::InvalidBody,
                    "`from` is `now` or `start`".into(),
                ))
            }
        },
        secret: generate_secret(),
    };
    let secret = new.secret.clone();
    let created = state
        .hubbook
        .create_webhook(&who, code.into_inner(), replay.map(|r| r.0), new)
        .await?;
    // A replay answers the webhook made first, without a secret: it is shown only once.
    let secret = (created.secret == secret).then_some(secret);
    Ok(HttpResponse::Created()
        .insert_header(etag(created.version))
        .json(CreatedWebhook {
            webhook: WebhookView::from(created),
            secret,
        }))
}

/// List the cluster's webhooks.
#[utoipa::path(tag = "events", params(("code" = String, Path, description = "Cluster code"), PageQuery), responses((status = 200, body = PageOf<WebhookView>), ListWebhookProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    who: Principal,
    code: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<PageOf<WebhookView>>, ApiError> {
    let (after, limit) = page.decode()?;
    let page = state
        .hubbook
        .list_webhooks(&who, code.into_inner(), after, limit)
        .await?;
    Ok(web::Json(PageOf::from_page(page, WebhookView::from)))
}

/// Read one webhook, with where its deliveries have reached.
#[utoipa::path(tag = "events", params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Webhook id")), responses((status = 200, body = WebhookView, headers(("ETag" = String))), WebhookProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (code, id) = path.into_inner();
    let hook = state.hubbook.webhook(&who, code, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(hook.version))
        .json(WebhookView::from(hook)))
}

/// Change, pause or resume a webhook. Send `If-Match` with the ETag read.
#[utoipa::path(
    tag = "events",
    params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Webhook id"), ("If-Match" = String, Header, description = "The ETag last read (required; `*` updates whatever is current)")),
    request_body = WebhookPatch,
    responses((status = 200, body = WebhookView), UpdateWebhookProblems),
    security(("bearer" = []))
)]
#[patch("/clusters/{code}/webhooks/{id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: crate::extract::Json<WebhookPatch>,
) -> Result<HttpResponse, ApiError> {
    who.may(hubbook_service::access::Rights::Cluster(
        hubbook_core::access::ClusterNeed::Manage,
    ))?;
    let (code, id) = path.into_inner();
    let body = body.into_inner()?;
    let changes = WebhookChanges {
        url: body.url.as_deref().map(check_url).transpose()?,
        event_types: body
            .event_types
            .as_deref()
            .map(|t| check_types(Some(t)))
            .transpose()?,
        active: body.active,
    };
    let expected = if_match(&req)?;
    let hook = state
        .hubbook
        .update_webhook(&who, code, id, expected, changes)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(hook.version))
        .json(WebhookView::from(hook)))
}

/// Which deliveries to list.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Page size (1 to 500, default 50).
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// A webhook's delivery log, newest first: every attempt, its status and how long it took.
#[utoipa::path(tag = "events", params(("code" = String, Path, description = "Cluster code"), ("id" = String, Path, description = "Webhook id"), DeliveryQuery), responses((status = 200, body = PageOf<DeliveryView>), DeliveryProblems), security(("bearer" = [])))]
#[get("/clusters/{code}/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<DeliveryQuery>,
) -> Result<web::Json<PageOf<DeliveryView>>, ApiError> {
    let (code, id) = path.into_inner();
    let q = query.into_inner();
    let (before, limit) = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .decode()?;
    let page = state
        .hubbook
        .webhook_deliveries(&who, code, id, before, limit)
        .await?;
    Ok(web::Json(PageOf::from_page(page, DeliveryView::from)))
}
