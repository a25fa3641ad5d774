//! Bulk availability for aggregators, as SMART Scheduling Links publishes it:
//! `GET /$bulk-publish` answers a manifest naming, for each cluster of the consumer, an NDJSON
//! file of its Locations (sites), one of its Schedules (sessions) and one of its Slots, free and
//! busy, each with the slot-capacity extension. The files are drawn from the same use case and
//! rules as the slot search: a slot is free when the consumer could book it now.
//!
//! Every answer carries an `ETag` (a digest of what it says), and a request whose
//! `If-None-Match` names it is answered `304 Not Modified` with no body, so a poller fetches
//! only what changed. `_since` (an instant) keeps, in the Slot files, only the slots whose
//! availability changed since then. The consumer is authenticated by its TLS client certificate,
//! as for every GP Connect interaction; no Spine headers or JWT are asked for (an aggregator is
//! not a GP Connect consumer).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hubbook_service::slots::Availability;
use serde_json::{json, Value};
use sha2::Digest;

use crate::error::{from_service, ErrorCode, GpcError};
use crate::fhir::{instant, uk};
use crate::Facade;

/// How many days from now the files cover.
pub const BULK_DAYS: i64 = 14;
/// SMART Scheduling Links' slot capacity extension.
pub const CAPACITY_EXTENSION: &str =
    "http://fhir-registry.smarthealthit.org/StructureDefinition/slot-capacity";
/// The kinds of file, in the manifest's order.
pub const KINDS: [&str; 3] = ["Location", "Schedule", "Slot"];

fn etag(body: &str) -> String {
    let digest = sha2::Sha256::digest(body.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Answers `body` under the ETag `tag`, or 304 with no body when the request's `If-None-Match`
/// names it.
fn conditional(req: &HttpRequest, content_type: &str, tag: String, body: String) -> HttpResponse {
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == tag)
        });
    if matches {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_TYPE, content_type))
        .body(body)
}

/// The `_since` of a query: an instant with its offset.
fn since(query: &str) -> Result<Option<DateTime<Utc>>, GpcError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| GpcError::bad_request("the query string does not parse"))?;
    match pairs.iter().find(|(k, _)| k == "_since") {
        None => Ok(None),
        Some((_, v)) => instant(&v.replace(' ', "+")).map(Some).ok_or_else(|| {
            GpcError::new(
                ErrorCode::InvalidParameter,
                format!("_since is an instant with its offset (2026-12-07T09:00:00Z), not {v}"),
            )
        }),
    }
}

/// `GET /$bulk-publish`: the manifest.
pub async fn manifest(
    req: HttpRequest,
    facade: web::Data<Facade>,
) -> Result<HttpResponse, GpcError> {
    let caller = crate::request::authenticate(&req, &facade.hubbook).await?;
    let since = since(req.query_string())?;
    let clusters = facade
        .hubbook
        .availability_clusters(&caller)
        .await
        .map_err(from_service)?;
    let info = req.connection_info();
    let base = format!("{}://{}{}", info.scheme(), info.host(), crate::BASE_PATH);
    let suffix = since
        .map(|t| format!("?_since={}", t.to_rfc3339().replace('+', "%2B")))
        .unwrap_or_default();
    let mut output = Vec::new();
    for (code, _) in &clusters {
        for kind in KINDS {
            let query = if kind == "Slot" { suffix.as_str() } else { "" };
            output.push(
                json!({"type": kind, "url": format!("{base}/bulk/{code}/{kind}.ndjson{query}")}),
            );
        }
    }
    let request = if req.query_string().is_empty() {
        format!("{base}/$bulk-publish")
    } else {
        format!("{base}/$bulk-publish?{}", req.query_string())
    };
    // The ETag is of what the manifest names, not of its transactionTime.
    let tag = etag(&serde_json::to_string(&output).unwrap_or_default());
    let body = json!({
        "transactionTime": Utc::now().to_rfc3339(),
        "request": request,
        "output": output,
        "error": [],
    });
    Ok(conditional(&req, "application/json", tag, body.to_string()))
}

/// The lines of one kind of file for a cluster's availability.
pub fn lines(kind: &str, slots: &[Availability], since: Option<DateTime<Utc>>) -> Vec<Value> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for a in slots {
        let slot = &a.offer.slot;
        match kind {
            "Location" => {
                if seen.insert(slot.site_id.to_string()) {
                    let site = &a.offer.site;
                    out.push(json!({
                        "resourceType": "Location",
                        "id": site.id,
                        "name": site.name,
                        "address": {"line": [site.address], "postalCode": site.postcode, "country": "GB"},
                        "position": {"latitude": site.latitude, "longitude": site.longitude},
                    }));
                }
            }
            "Schedule" => {
                if seen.insert(slot.session_id.clone()) {
                    out.push(json!({
                        "resourceType": "Schedule",
                        "id": slot.session_id,
                        "serviceType": [{"text": a.offer.service.name}],
                        "actor": [{"reference": format!("Location/{}", slot.site_id)}],
                    }));
                }
            }
            _ => {
                if since.is_some_and(|t| a.changed_at < t) {
                    continue;
                }
                out.push(json!({
                    "resourceType": "Slot",
                    "id": slot.id,
                    "meta": {"lastUpdated": a.changed_at.to_rfc3339()},
                    "schedule": {"reference": format!("Schedule/{}", slot.session_id)},
                    "status": if a.free { "free" } else { "busy" },
                    "start": uk(slot.starts_at),
                    "end": uk(slot.ends_at),
                    "extension": [{"url": CAPACITY_EXTENSION, "valueInteger": if a.free { 1 } else { 0 }}],
                }));
            }
        }
    }
    out
}

/// `GET /bulk/{cluster}/{kind}.ndjson`: one file of the manifest.
pub async fn file(
    req: HttpRequest,
    facade: web::Data<Facade>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, GpcError> {
    let caller = crate::request::authenticate(&req, &facade.hubbook).await?;
    let (code, file) = path.into_inner();
    let kind = file
        .strip_suffix(".ndjson")
        .filter(|k| KINDS.contains(k))
        .ok_or_else(|| {
            GpcError::new(
                ErrorCode::NoRecordFound,
                format!("no file {file}: the files are Location.ndjson, Schedule.ndjson and Slot.ndjson"),
            )
        })?;
    let since = since(req.query_string())?;
    let slots = facade
        .hubbook
        .availability(&caller, code.clone(), BULK_DAYS)
        .await
        .map_err(|e| match e {
            hubbook_service::ServiceError::NotFound(_) => GpcError::new(
                ErrorCode::NoRecordFound,
                format!("no cluster {code} whose availability you may read"),
            ),
            other => from_service(other),
        })?;
    let mut body = String::new();
    for line in lines(kind, &slots, since) {
        body.push_str(&line.to_string());
        body.push('\n');
    }
    Ok(conditional(
        &req,
        "application/fhir+ndjson",
        etag(&body),
        body,
    ))
}
