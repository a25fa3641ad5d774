//! What happened in the cluster, for its manager: the event feed (newest page first, paged by
//! position), each webhook with its deliveries and failures, and the audit trail filtered by
//! entity, actor and time. Read-only screens over the same use cases as the JSON API's feed,
//! webhook and audit routes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use hubbook_service::events::ReadFeed;
use hubbook_store::repo::audit::AuditFilter;
use serde_json::{json, Value};

use super::Manager;
use crate::errors::{refusal, FieldError};
use crate::pages::{urlencode, Params};
use crate::Console;

/// Events on one page of the feed.
const EVENTS_SHOWN: i64 = 50;
/// Rows on one page of the audit trail or a webhook's deliveries.
const ROWS_SHOWN: i64 = 50;
/// How far back the audit trail looks when no start date is given, in days.
const AUDIT_DAYS: i64 = 7;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/manage/events", web::get().to(feed))
        .route("/manage/webhooks", web::get().to(webhooks))
        .route("/manage/webhooks/{id}", web::get().to(deliveries))
        .route("/manage/audit", web::get().to(audit));
}

/// `GET /manage/events[?after=N]`: a page of the feed; without a position, the newest page.
async fn feed(c: web::Data<Console>, m: Manager, req: HttpRequest) -> HttpResponse {
    let params = Params::parse(req.query_string());
    let who = m.user.caller();
    let mut ctx = m.base("Events");
    let mut errors = Vec::new();
    let after = match params.get("after").parse::<i64>() {
        Ok(n) if n >= 0 => n,
        _ => match c.hubbook.feed_position(&who, m.code.clone()).await {
            Ok(last) => (last - EVENTS_SHOWN).max(0),
            Err(e) => {
                errors.push(refusal(e).error);
                0
            }
        },
    };
    let read = ReadFeed {
        cluster: m.code.clone(),
        after,
        limit: EVENTS_SHOWN,
        kinds: Vec::new(),
    };
    let local = m.user.local();
    match c.hubbook.read_feed(&who, read).await {
        Ok(page) => {
            let rows: Vec<Value> = page
                .events
                .iter()
                .rev()
                .map(|e| {
                    json!({
                        "seq": e.seq,
                        "when": local.when(e.occurred_at),
                        "kind": e.kind,
                        "appointment": e.appointment_id,
                        "by": e.booked_by,
                    })
                })
                .collect();
            ctx.insert("events".into(), json!(rows));
            if page.has_more {
                ctx.insert(
                    "newer".into(),
                    json!(format!("/manage/events?after={}", page.next_after)),
                );
            }
            if after > 0 {
                ctx.insert(
                    "older".into(),
                    json!(format!(
                        "/manage/events?after={}",
                        (after - EVENTS_SHOWN).max(0)
                    )),
                );
            }
        }
        Err(e) => errors.push(refusal(e).error),
    }
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(StatusCode::OK, "manage_events.html", Value::Object(ctx))
}

/// `GET /manage/webhooks`: the cluster's webhooks, each with where the feed is delivered up to
/// and its failures in a row.
async fn webhooks(c: web::Data<Console>, m: Manager) -> HttpResponse {
    let mut ctx = m.base("Webhooks");
    let local = m.user.local();
    let mut errors = Vec::new();
    match c
        .hubbook
        .list_webhooks(&m.user.caller(), m.code.clone(), None, ROWS_SHOWN)
        .await
    {
        Ok(page) => {
            let rows: Vec<Value> = page
                .items
                .iter()
                .map(|w| {
                    json!({
                        "id": w.id,
                        "link": format!("/manage/webhooks/{}", urlencode(&w.id)),
                        "url": w.url,
                        "types": w.event_types,
                        "active": w.active,
                        "delivered": w.delivered_seq,
                        "failures": w.failures,
                        "next": w.next_attempt_at.map(|t| local.when(t)),
                    })
                })
                .collect();
            ctx.insert("webhooks".into(), json!(rows));
        }
        Err(e) => errors.push(refusal(e).error),
    }
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(StatusCode::OK, "manage_webhooks.html", Value::Object(ctx))
}

/// `GET /manage/webhooks/{id}[?before=..]`: one webhook's deliveries, newest first.
async fn deliveries(
    c: web::Data<Console>,
    m: Manager,
    id: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    let params = Params::parse(req.query_string());
    let who = m.user.caller();
    let id = id.into_inner();
    let hook = match c.hubbook.webhook(&who, m.code.clone(), id.clone()).await {
        Ok(hook) => hook,
        Err(e) => return m.refused(&c, "Webhook not found", e, "/manage/webhooks"),
    };
    let mut ctx = m.base("Webhook deliveries");
    let local = m.user.local();
    let before = Some(params.get("before").to_owned()).filter(|b| !b.is_empty());
    let mut errors = Vec::new();
    match c
        .hubbook
        .webhook_deliveries(&who, m.code.clone(), id.clone(), before, ROWS_SHOWN)
        .await
    {
        Ok(page) => {
            let rows: Vec<Value> = page
                .items
                .iter()
                .map(|d| {
                    json!({
                        "when": local.when(d.attempted_at),
                        "event": d.event_seq,
                        "attempt": d.attempt,
                        "succeeded": d.succeeded,
                        "status": d.status_code,
                        "error": d.error,
                        "ms": d.duration_ms,
                    })
                })
                .collect();
            ctx.insert("deliveries".into(), json!(rows));
            if let Some(next) = page.next_after {
                ctx.insert(
                    "older".into(),
                    json!(format!(
                        "/manage/webhooks/{}?before={}",
                        urlencode(&id),
                        urlencode(&next)
                    )),
                );
            }
        }
        Err(e) => errors.push(refusal(e).error),
    }
    ctx.insert(
        "hook".into(),
        json!({"url": hook.url, "active": hook.active, "failures": hook.failures, "delivered": hook.delivered_seq}),
    );
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(StatusCode::OK, "manage_deliveries.html", Value::Object(ctx))
}

/// `GET /manage/audit?entity=&actor=&from=&to=&after=`: the audit trail, oldest first, from
/// [`AUDIT_DAYS`] ago unless a start date is given.
async fn audit(c: web::Data<Console>, m: Manager, req: HttpRequest) -> HttpResponse {
    let params = Params::parse(req.query_string());
    let local = m.user.local();
    let mut ctx = m.base("Audit trail");
    let mut errors = Vec::new();
    let date = |field: &str, errors: &mut Vec<FieldError>| {
        let value = params.get(field);
        if value.is_empty() {
            return None;
        }
        match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::at(field, "Enter a date, like 2026-12-07"));
                None
            }
        }
    };
    let today = local.date_of(c.hubbook.now());
    let from = date("from", &mut errors).unwrap_or(today - chrono::Duration::days(AUDIT_DAYS));
    let to = date("to", &mut errors);
    if to.is_some_and(|to| to < from) {
        errors.push(FieldError::at(
            "to",
            "The last date must be on or after the first",
        ));
    }
    let given = |v: &str| Some(v.to_owned()).filter(|v| !v.is_empty());
    let filter = AuditFilter {
        cluster_id: None,
        entity: given(params.get("entity")),
        entity_id: given(params.get("entity_id")),
        actor: given(params.get("actor")),
        from: Some(local.start_of(from).naive_utc()),
        to: to.map(|d| local.start_of(d + chrono::Duration::days(1)).naive_utc()),
    };
    let mut status = StatusCode::OK;
    if errors.is_empty() {
        let after = given(params.get("after"));
        match c
            .hubbook
            .audit_trail(&m.user.caller(), filter, after, ROWS_SHOWN)
            .await
        {
            Ok(page) => {
                let rows: Vec<Value> = page
                    .items
                    .iter()
                    .map(|e| {
                        json!({
                            "when": local.when(e.at),
                            "actor": e.actor,
                            "action": e.action,
                            "entity": e.entity,
                            "entity_id": e.entity_id,
                        })
                    })
                    .collect();
                ctx.insert("rows".into(), json!(rows));
                if let Some(next) = page.next_after {
                    let query = serde_urlencoded::to_string([
                        ("entity", params.get("entity")),
                        ("entity_id", params.get("entity_id")),
                        ("actor", params.get("actor")),
                        ("from", params.get("from")),
                        ("to", params.get("to")),
                        ("after", next.as_str()),
                    ])
                    .unwrap_or_default();
                    ctx.insert("next".into(), json!(format!("/manage/audit?{query}")));
                }
            }
            Err(e) => {
                let r = refusal(e);
                status = r.status;
                errors.push(r.error);
            }
        }
    } else {
        status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    ctx.insert(
        "filter".into(),
        json!({
            "entity": params.get("entity"),
            "entity_id": params.get("entity_id"),
            "actor": params.get("actor"),
            "from": if params.get("from").is_empty() { from.to_string() } else { params.get("from").to_owned() },
            "to": params.get("to"),
        }),
    );
    ctx.insert(
        "entities".into(),
        json!([
            "appointment",
            "hold",
            "cluster",
            "practice",
            "site",
            "service",
            "user",
            "integration",
            "integration_secret",
            "rota",
            "session",
            "slot",
            "sharing",
            "webhook"
        ]),
    );
    ctx.insert("errors".into(), json!(errors));
    c.templates
        .page(status, "manage_audit.html", Value::Object(ctx))
}
