//! Every operation of the OpenAPI document, called by every role in and out of scope: the status
//! each caller gets is written in one table, and out-of-scope callers never get data. An
//! operation in the document without a row in the table (or a row without an operation) fails.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{at, nhs, Cluster, TestApp, PASSWORD};

/// The seven callers, in the order of every row's statuses.
const CALLERS: [&str; 7] = [
    "admin",
    "manager",
    "other manager",
    "hub staff",
    "receptionist",
    "triage",
    "other triage",
];
const ADMIN: usize = 0;
const MANAGER: usize = 1;
const OTHER_MANAGER: usize = 2;
const HUB: usize = 3;
const TRIAGE: usize = 5;
const OTHER_TRIAGE: usize = 6;

/// The test's "now": Monday 7 December 2026, 08:30 in London (UTC in winter).
const NOW: &str = "2026-12-07T08:30:00Z";
const TODAY: &str = "2026-12-07";

/// What one caller sends to one operation.
struct Req {
    /// The path with its parameters filled in, and any query.
    path: String,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

impl Req {
    fn get(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            body: None,
            headers: Vec::new(),
        }
    }

    fn with(path: impl Into<String>, body: Value) -> Self {
        Self {
            body: Some(body),
            ..Self::get(path)
        }
    }

    /// Adds a fresh `Idempotency-Key`.
    fn key(mut self, n: u32) -> Self {
        self.headers.push(("Idempotency-Key", format!("scope-{n}")));
        self
    }
}

/// Builds the request of a caller (by index) from the fixture and a number unique to the call.
type Build = fn(&Fixture, usize, u32) -> Req;

/// One operation: its method and path template as in the OpenAPI document, the status each
/// caller gets (in the order of [`CALLERS`]), and how to call it.
struct Row {
    method: &'static str,
    path: &'static str,
    expect: [u16; 7],
    build: Build,
}

const fn row(method: &'static str, path: &'static str, expect: [u16; 7], build: Build) -> Row {
    Row {
        method,
        path,
        expect,
        build,
    }
}

/// The rows in the order they run. Within a row the refused callers go first and the allowed
/// ones after, so an allowed caller's cancel, revoke or release cannot decide a later caller's
/// status; where two callers may both do something once, each has its own object.
///
/// Columns: admin, manager, other cluster's manager, hub staff, receptionist, triage (111),
/// other cluster's triage. 403: the role may not; 404: not in the caller's scope. A role that may
/// never do a change anywhere hears 403 before its body or the cluster is looked at, which says
/// nothing of the cluster (another cluster's triage service on a manager's change, for one).
#[rustfmt::skip]
fn table() -> Vec<Row> {
    const C: &str = "/api/v1/clusters/U40001";
    vec![
        // Clusters: an admin creates them; members read their own; the manager or an admin renames.
        row("GET", "/api/v1/clusters", [200, 200, 200, 200, 200, 200, 200],
            |_, _, _| Req::get("/api/v1/clusters")),
        row("POST", "/api/v1/clusters", [201, 403, 403, 403, 403, 403, 403],
            |_, _, n| Req::with("/api/v1/clusters", json!({"code": format!("U5{n:04}"), "name": "New"}))),
        row("GET", "/api/v1/clusters/{code}", [200, 200, 404, 200, 200, 200, 404],
            |_, _, _| Req::get(C)),
        row("PATCH", "/api/v1/clusters/{code}", [200, 200, 404, 403, 403, 403, 403],
            |_, _, _| Req::with(C, json!({"name": "Renamed"}))),
        // Reference data: any member reads, an admin too; only the manager changes it.
        row("GET", "/api/v1/clusters/{code}/practices", [200, 200, 404, 200, 200, 200, 404],
            |_, _, _| Req::get(format!("{C}/practices"))),
        row("POST", "/api/v1/clusters/{code}/practices", [403, 201, 404, 403, 403, 403, 403],
            |_, _, n| Req::with(format!("{C}/practices"), json!({"ods_code": format!("D9{n:04}"), "name": "P", "list_size": 100}))),
        row("GET", "/api/v1/clusters/{code}/practices/{id}", [200, 200, 404, 200, 200, 200, 404],
            |f, _, _| Req::get(format!("{C}/practices/{}", f.practice))),
        row("PATCH", "/api/v1/clusters/{code}/practices/{id}", [403, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("{C}/practices/{}", f.practice), json!({"list_size": 9001}))),
        row("GET", "/api/v1/clusters/{code}/sites", [200, 200, 404, 200, 200, 200, 404],
            |_, _, _| Req::get(format!("{C}/sites"))),
        row("POST", "/api/v1/clusters/{code}/sites", [403, 201, 404, 403, 403, 403, 403],
            |_, _, n| Req::with(format!("{C}/sites"), json!({"name": format!("Site {n}"), "kind": "surgery", "address": "A", "postcode": "LS2 7AA", "latitude": 53.8, "longitude": -1.55}))),
        row("GET", "/api/v1/clusters/{code}/sites/{id}", [200, 200, 404, 200, 200, 200, 404],
            |f, _, _| Req::get(format!("{C}/sites/{}", f.site))),
        row("PATCH", "/api/v1/clusters/{code}/sites/{id}", [403, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("{C}/sites/{}", f.site), json!({"address": "2 Test Street"}))),
        row("GET", "/api/v1/clusters/{code}/services", [200, 200, 404, 200, 200, 200, 404],
            |_, _, _| Req::get(format!("{C}/services"))),
        row("POST", "/api/v1/clusters/{code}/services", [403, 201, 404, 403, 403, 403, 403],
            |_, _, n| Req::with(format!("{C}/services"), json!({"code": format!("s{n}"), "name": "S", "clinical_role": "nurse"}))),
        row("GET", "/api/v1/clusters/{code}/services/{id}", [200, 200, 404, 200, 200, 200, 404],
            |f, _, _| Req::get(format!("{C}/services/{}", f.service))),
        row("PATCH", "/api/v1/clusters/{code}/services/{id}", [403, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("{C}/services/{}", f.service), json!({"name": "GP (evening)"}))),
        // Users: the manager or an admin.
        row("GET", "/api/v1/clusters/{code}/users", [200, 200, 404, 403, 403, 403, 404],
            |_, _, _| Req::get(format!("{C}/users"))),
        row("POST", "/api/v1/clusters/{code}/users", [201, 201, 404, 403, 403, 403, 403],
            |_, _, n| Req::with(format!("{C}/users"), json!({"username": format!("u{n}-x"), "display_name": "U", "password": PASSWORD, "role": "hub_staff"}))),
        row("GET", "/api/v1/clusters/{code}/users/{id}", [200, 200, 404, 403, 403, 403, 404],
            |f, _, _| Req::get(format!("{C}/users/{}", f.hub_user))),
        row("PATCH", "/api/v1/clusters/{code}/users/{id}", [200, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("{C}/users/{}", f.hub_user), json!({"display_name": "Renamed"}))),
        // Integrations: an admin, or a manager for clients of its cluster alone.
        row("GET", "/api/v1/integrations", [200, 200, 200, 403, 403, 403, 403],
            |_, _, _| Req::get("/api/v1/integrations")),
        // The other manager names a cluster it may not manage: `unknown-cluster`.
        row("POST", "/api/v1/integrations", [201, 201, 422, 403, 403, 403, 403],
            |_, _, _| Req::with("/api/v1/integrations", json!({"name": "I", "clusters": ["U40001"]}))),
        row("GET", "/api/v1/integrations/{id}", [200, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::get(format!("/api/v1/integrations/{}", f.client))),
        row("PATCH", "/api/v1/integrations/{id}", [200, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("/api/v1/integrations/{}", f.client), json!({"name": "Renamed 111"}))),
        row("GET", "/api/v1/integrations/{id}/secrets", [200, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::get(format!("/api/v1/integrations/{}/secrets", f.client))),
        // A cut-over at once, so that each rotation leaves one live secret (at most two may be).
        row("POST", "/api/v1/integrations/{id}/secrets", [201, 201, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("/api/v1/integrations/{}/secrets", f.client), json!({"previous_valid_minutes": 0}))),
        row("DELETE", "/api/v1/integrations/{id}/secrets/{secret_id}", [200, 200, 404, 403, 403, 403, 403],
            |f, i, _| {
                let (client, secret) = &f.revocable[i];
                Req::get(format!("/api/v1/integrations/{client}/secrets/{secret}"))
            }),
        // Client certificates: as the client's secrets.
        row("GET", "/api/v1/integrations/{id}/certificates", [200, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::get(format!("/api/v1/integrations/{}/certificates", f.client))),
        row("POST", "/api/v1/integrations/{id}/certificates", [201, 201, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("/api/v1/integrations/{}/certificates", f.client), json!({"certificate": certificate()}))),
        row("DELETE", "/api/v1/integrations/{id}/certificates/{sha256}", [200, 200, 404, 403, 403, 403, 403],
            |f, i, _| Req::get(format!("/api/v1/integrations/{}/certificates/{}", f.client, f.certificates[i]))),
        // Dispositions: read by 111, managers and admins; changed by an admin.
        row("GET", "/api/v1/dispositions", [200, 200, 200, 403, 403, 200, 200],
            |_, _, _| Req::get("/api/v1/dispositions")),
        row("POST", "/api/v1/dispositions", [201, 403, 403, 403, 403, 403, 403],
            |_, _, n| Req::with("/api/v1/dispositions", json!({"code": format!("Zy{n}"), "description": "Scope test", "timeframe_minutes": 60, "delivery": "either", "services": ["gp"]}))),
        row("GET", "/api/v1/dispositions/{code}", [200, 200, 200, 403, 403, 200, 200],
            |f, _, _| Req::get(format!("/api/v1/dispositions/{}", f.disposition))),
        row("PATCH", "/api/v1/dispositions/{code}", [200, 403, 403, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("/api/v1/dispositions/{}", f.disposition), json!({"description": "Scope test, renamed"}))),
        // Sharing and rotas: the manager alone (not an admin).
        row("GET", "/api/v1/clusters/{code}/sharing", [403, 200, 404, 403, 403, 403, 404],
            |_, _, _| Req::get(format!("{C}/sharing"))),
        row("PUT", "/api/v1/clusters/{code}/sharing", [403, 200, 404, 403, 403, 403, 403],
            |_, _, _| Req::with(format!("{C}/sharing"), sharing_rules())),
        row("GET", "/api/v1/clusters/{code}/rotas", [403, 200, 404, 403, 403, 403, 404],
            |_, _, _| Req::get(format!("{C}/rotas"))),
        row("POST", "/api/v1/clusters/{code}/rotas", [403, 201, 404, 403, 403, 403, 403],
            |f, _, n| Req::with(format!("{C}/rotas"), spare_rota(f, &format!("Rota {n}")))),
        row("GET", "/api/v1/clusters/{code}/rotas/{id}", [403, 200, 404, 403, 403, 403, 404],
            |f, _, _| Req::get(format!("{C}/rotas/{}", f.spare_rota))),
        row("PUT", "/api/v1/clusters/{code}/rotas/{id}", [403, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("{C}/rotas/{}", f.spare_rota), spare_rota(f, "Spare"))),
        row("POST", "/api/v1/clusters/{code}/rotas/{id}/publish", [403, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("{C}/rotas/{}/publish", f.spare_rota), json!({"from": "2026-12-14", "to": "2026-12-14"}))),
        row("POST", "/api/v1/clusters/{code}/rotas/{id}/withdraw", [403, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("{C}/rotas/{}/withdraw", f.spare_rota), json!({"from": "2026-12-14", "to": "2026-12-14", "reason": "Hub closed"}))),
        // Sessions: the manager, hub staff or an admin read; the manager changes.
        row("GET", "/api/v1/clusters/{code}/sessions", [200, 200, 404, 200, 403, 403, 404],
            |_, _, _| Req::get(format!("{C}/sessions?from={TODAY}&to={TODAY}"))),
        row("GET", "/api/v1/clusters/{code}/sessions/{id}", [200, 200, 404, 200, 403, 403, 404],
            |f, _, _| Req::get(format!("{C}/sessions/{}", f.session))),
        row("PATCH", "/api/v1/clusters/{code}/sessions/{id}", [403, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("{C}/sessions/{}", f.session), json!({"clinician": "Dr Scope"}))),
        // Slots: receptionists and 111 search and hold; the manager explains and sets channels.
        row("GET", "/api/v1/slots", [403, 403, 403, 403, 200, 200, 200],
            |_, _, _| Req::get("/api/v1/slots")),
        row("GET", "/api/v1/slots/{id}/visibility", [403, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::get(format!("/api/v1/slots/{}/visibility", f.channel_slot))),
        row("PUT", "/api/v1/slots/{id}/channel", [403, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("/api/v1/slots/{}/channel", f.channel_slot), json!({"channel": "open"}))),
        row("POST", "/api/v1/slots/{id}/hold", [403, 403, 403, 403, 201, 201, 404],
            |f, i, _| Req::get(format!("/api/v1/slots/{}/hold", f.hold_slot[i]))),
        row("GET", "/api/v1/triage/availability", [403, 403, 403, 403, 403, 200, 200],
            |_, _, _| Req::get("/api/v1/triage/availability?disposition=Dx05")),
        row("POST", "/api/v1/triage/bookings", [403, 403, 403, 403, 403, 201, 404],
            |f, _, n| Req::with("/api/v1/triage/bookings", json!({
                "disposition": "Dx05", "triaged_at": NOW, "patient": patient("Triage", n),
                "cluster": "U40001", "slot_id": f.triage_slot,
                "location": {"latitude": 53.801, "longitude": -1.549},
            })).key(n)),
        // Appointments: no admin reads patients; hub staff see the hubs' and record outcomes.
        row("POST", "/api/v1/appointments", [403, 201, 404, 403, 201, 403, 403],
            |f, i, n| {
                let mut body = json!({"slot_id": f.book_slot[i], "patient": patient("Practice", n)});
                if i == MANAGER || i == OTHER_MANAGER {
                    body["on_behalf_of"] = json!("B82001");
                }
                Req::with("/api/v1/appointments", body).key(n)
            }),
        row("GET", "/api/v1/appointments", [403, 200, 200, 200, 200, 200, 200],
            |_, _, _| Req::get("/api/v1/appointments")),
        row("GET", "/api/v1/appointments/{id}", [403, 200, 404, 200, 200, 404, 404],
            |f, _, _| Req::get(format!("/api/v1/appointments/{}", f.appointment))),
        row("PATCH", "/api/v1/appointments/{id}", [403, 200, 404, 403, 200, 403, 403],
            |f, _, _| Req::with(format!("/api/v1/appointments/{}", f.appointment), json!({"notes": "Bring glasses"}))),
        row("POST", "/api/v1/appointments/{id}/outcome", [403, 200, 404, 200, 200, 403, 403],
            |f, i, _| Req::with(format!("/api/v1/appointments/{}/outcome", f.outcome[i]), json!({"outcome": "arrived"}))),
        row("POST", "/api/v1/appointments/{id}/reschedule", [403, 200, 404, 403, 200, 403, 403],
            |f, i, _| Req::with(format!("/api/v1/appointments/{}/reschedule", f.reschedule[i].0), json!({"slot_id": f.reschedule[i].1}))),
        row("POST", "/api/v1/appointments/{id}/cancel", [403, 200, 404, 403, 200, 404, 404],
            |f, i, _| Req::with(format!("/api/v1/appointments/{}/cancel", f.cancel[i]), json!({"reason": "Asked by phone"}))),
        // Only the holder lets a hold go.
        // Only a role that may hold has a hold to let go; the others hear 403 before any lookup.
        row("DELETE", "/api/v1/holds/{id}", [403, 403, 403, 403, 204, 404, 404],
            |f, _, _| Req::get(format!("/api/v1/holds/{}", f.hold))),
        row("GET", "/api/v1/sites/{id}/day-list", [403, 200, 404, 200, 403, 403, 403],
            |f, _, _| Req::get(format!("/api/v1/sites/{}/day-list?date={TODAY}", f.site))),
        // Rebooking: the manager all of it, a receptionist its practice's.
        row("GET", "/api/v1/clusters/{code}/rebooking", [403, 200, 404, 403, 200, 403, 404],
            |_, _, _| Req::get(format!("{C}/rebooking"))),
        row("POST", "/api/v1/clusters/{code}/rebooking/{id}/resolve", [403, 200, 404, 403, 200, 403, 403],
            |f, i, _| Req::with(format!("{C}/rebooking/{}/resolve", f.rebook[i]), json!({"resolution": "keep"}))),
        // Events: the manager, and 111 its own bookings'; webhooks the manager alone.
        row("GET", "/api/v1/clusters/{code}/events", [403, 200, 404, 403, 403, 200, 404],
            |_, _, _| Req::get(format!("{C}/events"))),
        row("GET", "/api/v1/clusters/{code}/webhooks", [403, 200, 404, 403, 403, 403, 404],
            |_, _, _| Req::get(format!("{C}/webhooks"))),
        row("POST", "/api/v1/clusters/{code}/webhooks", [403, 201, 404, 403, 403, 403, 403],
            |_, _, n| Req::with(format!("{C}/webhooks"), json!({"url": format!("http://127.0.0.1:9/hook/{n}"), "event_types": ["slot.released"]}))),
        row("GET", "/api/v1/clusters/{code}/webhooks/{id}", [403, 200, 404, 403, 403, 403, 404],
            |f, _, _| Req::get(format!("{C}/webhooks/{}", f.webhook))),
        row("PATCH", "/api/v1/clusters/{code}/webhooks/{id}", [403, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("{C}/webhooks/{}", f.webhook), json!({"active": false}))),
        row("GET", "/api/v1/clusters/{code}/webhooks/{id}/deliveries", [403, 200, 404, 403, 403, 403, 404],
            |f, _, _| Req::get(format!("{C}/webhooks/{}/deliveries", f.webhook))),
        // Reports: the manager alone.
        row("GET", "/api/v1/clusters/{code}/reports/fair-share", [403, 200, 404, 403, 403, 403, 403],
            |_, _, _| Req::get(format!("{C}/reports/fair-share?from=2026-12-01&to=2026-12-07"))),
        row("GET", "/api/v1/clusters/{code}/reports/{name}", [403, 200, 404, 403, 403, 403, 403],
            |_, _, _| Req::get(format!("{C}/reports/utilisation?from=2026-12-01&to=2026-12-07"))),
        // Cancelling a session last but one: nothing after it reads that session.
        row("POST", "/api/v1/clusters/{code}/sessions/{id}/cancel", [403, 200, 404, 403, 403, 403, 403],
            |f, _, _| Req::with(format!("{C}/sessions/{}/cancel", f.cancel_session), json!({"reason": "Clinician unwell"}))),
        // The audit trail: a manager its cluster's, an admin every cluster's.
        row("GET", "/api/v1/audit", [200, 200, 200, 403, 403, 403, 403],
            |_, _, _| Req::get("/api/v1/audit?limit=500")),
    ]
}

/// Operations any caller may use without a token, with the status they answer.
#[rustfmt::skip]
fn public() -> Vec<(&'static str, &'static str, u16, Option<Value>)> {
    vec![
        ("POST", "/api/v1/auth/token", 200,
            Some(json!({"grant_type": "password", "username": "root", "password": PASSWORD}))),
        ("GET", "/health/live", 200, None),
        ("GET", "/health/ready", 200, None),
        ("GET", "/metrics", 200, None),
    ]
}

/// Public routes served beside the document rather than described in it.
const OUTSIDE_THE_DOCUMENT: [&str; 2] = ["/openapi.json", "/docs/"];

/// The ids a row needs, of cluster U40001. Arrays are per caller: where two callers may each
/// do something once (cancel, reschedule, hold...), each has its own object.
struct Fixture {
    practice: String,
    site: String,
    service: String,
    hub_user: String,
    /// An integration of U40001 alone.
    client: String,
    /// Per caller: an integration and a live secret of it to revoke.
    revocable: [(String, String); 7],
    /// Per caller: the SHA-256 of a live certificate of `client` to revoke.
    certificates: [String; 7],
    disposition: String,
    spare_rota: String,
    /// The morning hub session.
    session: String,
    /// A session with nobody booked, to cancel.
    cancel_session: String,
    channel_slot: String,
    hold_slot: [String; 7],
    triage_slot: String,
    book_slot: [String; 7],
    /// Booked by the receptionist, at the hub.
    appointment: String,
    outcome: [String; 7],
    /// Per caller: an appointment and a free slot to move it to.
    reschedule: [(String, String); 7],
    cancel: [String; 7],
    /// A hold of the receptionist's.
    hold: String,
    /// Appointments of a cancelled session, needing rebooking.
    rebook: [String; 7],
    webhook: String,
}

/// The same value for every caller but those named.
/// A fresh self-signed certificate as PEM (registration keeps only its SHA-256).
fn certificate() -> String {
    rcgen::generate_simple_self_signed(vec!["scope.example".into()])
        .unwrap()
        .cert
        .pem()
}

fn per<T: Clone>(default: T, own: &[(usize, T)]) -> [T; 7] {
    std::array::from_fn(|i| {
        own.iter()
            .find(|(j, _)| *j == i)
            .map_or_else(|| default.clone(), |(_, v)| v.clone())
    })
}

fn patient(kind: &str, n: u32) -> Value {
    json!({"nhs_number": nhs(n), "name": format!("{kind} Patient {n}"), "birth_date": "1962-05-01", "phone": "0113 496 0000"})
}

fn sharing_rules() -> Value {
    json!({"triage": {"kind": "per_day", "slots": 0}, "apportionment": false, "triage_may_book_open": true})
}

fn template(site: &str, service: &str, key: &str, start: &str, end: &str, capacity: u32) -> Value {
    json!({"key": key, "site_id": site, "service_id": service, "start": start, "end": end,
        "slot_minutes": 10, "capacity": capacity, "delivery": "face_to_face", "weekdays": ["mon"],
        "valid_from": "2026-01-01"})
}

fn spare_rota(f: &Fixture, name: &str) -> Value {
    json!({"name": name, "templates": [template(&f.site, &f.service, "evening", "18:00", "19:00", 1)]})
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// Books a slot as the receptionist; returns the appointment id.
async fn book(app: &TestApp, c: &Cluster, slot: &str, n: u32) -> String {
    let reply = app
        .send(
            Method::POST,
            "/api/v1/appointments",
            Some(&c.receptionist),
            Some(json!({"slot_id": slot, "patient": patient("Practice", n)})),
            &[("Idempotency-Key", &format!("fixture-{n}"))],
        )
        .await;
    id(reply.ok(201))
}

/// Creates an integration of U40001 as the admin; returns its id and its first secret's.
async fn integration(app: &TestApp, name: &str) -> (String, String) {
    let created = app
        .post(
            "/api/v1/integrations",
            &app.admin,
            json!({"name": name, "clusters": ["U40001"]}),
        )
        .await;
    let client = id(created.ok(201));
    let secrets = app
        .get(
            &format!("/api/v1/integrations/{client}/secrets"),
            &app.admin,
        )
        .await;
    let secret = id(&secrets.ok(200)[0]);
    (client, secret)
}

/// Cluster U40001 with a morning of bookable hub slots (all open, 111 may book them), what the
/// rows act on, and appointments in every state a row needs.
async fn fixture(app: &TestApp, a: &Cluster) -> Fixture {
    const C: &str = "/api/v1/clusters/U40001";
    app.send(
        Method::PUT,
        &format!("{C}/sharing"),
        Some(&a.manager),
        Some(sharing_rules()),
        &[],
    )
    .await
    .ok(200);
    let (site, service) = (a.site_id.as_str(), a.service_id.as_str());
    let rota = app
        .post(
            &format!("{C}/rotas"),
            &a.manager,
            json!({"name": "Hubs", "templates": [
                template(site, service, "morning", "09:00", "11:00", 4),
                template(site, service, "noon", "12:00", "12:20", 2),
                template(site, service, "afternoon", "14:00", "15:00", 1),
            ]}),
        )
        .await;
    let rota = id(rota.ok(201));
    app.post(
        &format!("{C}/rotas/{rota}/publish"),
        &a.manager,
        json!({"from": TODAY, "to": TODAY}),
    )
    .await
    .ok(200);
    let sessions = app
        .get(&format!("{C}/sessions?from={TODAY}&to={TODAY}"), &a.manager)
        .await;
    let session_of = |key: &str| {
        sessions.ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["template_key"] == key)
            .map(id)
            .unwrap()
    };
    let (morning, noon, afternoon) = (
        session_of("morning"),
        session_of("noon"),
        session_of("afternoon"),
    );
    let slots_of = |detail: &Value| -> Vec<(String, String)> {
        detail["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (id(s), s["starts_at"].as_str().unwrap().to_owned()))
            .collect()
    };
    let detail = app
        .get(&format!("{C}/sessions/{morning}"), &a.manager)
        .await;
    let mut slots = slots_of(detail.ok(200)).into_iter();
    let mut take = move || slots.next().expect("a free morning slot");
    // Arrival may be recorded from an hour before the start: three of the 09:00 lanes.
    let mut outcome = Vec::new();
    for n in [1, 2, 3] {
        let (slot, starts) = take();
        assert_eq!(starts, "2026-12-07T09:00:00Z");
        outcome.push(book(app, a, &slot, n).await);
    }
    // 111 books a chosen slot inside Dx05's two hours.
    let triage_slot = take().0;
    let appointment = book(app, a, &take().0, 4).await;
    let cancel = [
        book(app, a, &take().0, 5).await,
        book(app, a, &take().0, 6).await,
    ];
    let moves = [
        (book(app, a, &take().0, 7).await, take().0),
        (book(app, a, &take().0, 8).await, take().0),
    ];
    let held = take().0;
    let hold = app
        .call(
            Method::POST,
            &format!("/api/v1/slots/{held}/hold"),
            Some(&a.receptionist),
            None,
        )
        .await;
    let hold = hold.ok(201)["hold_id"].as_str().unwrap().to_owned();
    let (channel_slot, hold_rec, hold_111, book_mgr, book_rec) =
        (take().0, take().0, take().0, take().0, take().0);
    // Two patients at noon, whose session is then cancelled: both need rebooking.
    let detail = app.get(&format!("{C}/sessions/{noon}"), &a.manager).await;
    let noon_slots = slots_of(detail.ok(200));
    let rebook = [
        book(app, a, &noon_slots[0].0, 9).await,
        book(app, a, &noon_slots[1].0, 10).await,
    ];
    app.post(
        &format!("{C}/sessions/{noon}/cancel"),
        &a.manager,
        json!({"reason": "Clinician unwell"}),
    )
    .await
    .ok(200);
    let spare = app
        .post(
            &format!("{C}/rotas"),
            &a.manager,
            json!({"name": "Spare", "templates": [template(site, service, "evening", "18:00", "19:00", 1)]}),
        )
        .await;
    let webhook = app
        .post(
            &format!("{C}/webhooks"),
            &a.manager,
            json!({"url": "http://127.0.0.1:9/hook", "event_types": ["slot.released"]}),
        )
        .await;
    let disposition = app
        .post(
            "/api/v1/dispositions",
            &app.admin,
            json!({"code": "Zx99", "description": "Scope test", "timeframe_minutes": 60, "delivery": "either", "services": ["gp"]}),
        )
        .await;
    let users = app.get(&format!("{C}/users"), &a.manager).await;
    let hub_user = users.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "hub_staff")
        .map(id)
        .unwrap();
    let client = integration(app, "Scope client").await.0;
    let mut certificates: [String; 7] = Default::default();
    for sha256 in &mut certificates {
        let added = app
            .post(
                &format!("/api/v1/integrations/{client}/certificates"),
                &app.admin,
                json!({"certificate": certificate()}),
            )
            .await;
        *sha256 = added.ok(201)["sha256"].as_str().unwrap().to_owned();
    }
    let revoke_admin = integration(app, "Revoked by the admin").await;
    let revoke_manager = integration(app, "Revoked by the manager").await;
    Fixture {
        practice: a.practice_id.clone(),
        site: a.site_id.clone(),
        service: a.service_id.clone(),
        hub_user,
        client,
        revocable: per(revoke_manager, &[(ADMIN, revoke_admin)]),
        certificates,
        disposition: disposition.ok(201)["code"].as_str().unwrap().to_owned(),
        spare_rota: id(spare.ok(201)),
        session: morning,
        cancel_session: afternoon,
        channel_slot,
        hold_slot: per(hold_rec, &[(TRIAGE, hold_111)]),
        triage_slot,
        book_slot: per(book_rec, &[(MANAGER, book_mgr)]),
        appointment,
        outcome: per(
            outcome[2].clone(),
            &[(MANAGER, outcome[0].clone()), (HUB, outcome[1].clone())],
        ),
        reschedule: per(moves[1].clone(), &[(MANAGER, moves[0].clone())]),
        cancel: per(cancel[1].clone(), &[(MANAGER, cancel[0].clone())]),
        hold,
        rebook: per(rebook[1].clone(), &[(MANAGER, rebook[0].clone())]),
        webhook: id(webhook.ok(201)),
    }
}

/// Replies known to show a caller what it should not be shown, left out of that check until
/// the API is fixed: (caller, method, path template). Their statuses are still checked.
/// Operations allowed to show what the checks above forbid (none: an admin's audit trail leaves
/// out appointments' states, which hold patient details).
const KNOWN_LEAKS: [(usize, &str, &str); 0] = [];

/// Some 300 characters of a reply around `at`, for a failure message.
fn excerpt(text: &str, at: usize) -> String {
    let start = text.floor_char_boundary(at.saturating_sub(100));
    let end = text.floor_char_boundary(at + 200);
    text[start..end].to_owned()
}

/// Whether a concrete path (without its query) is an instance of an OpenAPI path template.
fn fits(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            if t.starts_with('{') && t.ends_with('}') {
                !p.is_empty()
            } else {
                t == p
            }
        })
}

/// Every (method, path template) of the OpenAPI document the code generates.
fn documented() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(hubbook_api::openapi()).unwrap();
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .contains(&method.as_str())
            {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// The problem type a refusal must carry.
fn problem_kind(status: u16) -> Option<&'static str> {
    match status {
        401 => Some("invalid-token"),
        403 => Some("forbidden"),
        404 => Some("not-found"),
        _ => None,
    }
}

async fn every_route_checks_role_and_scope(app: TestApp) {
    // The table and the document name the same operations, before anything is called.
    let rows = table();
    let public = public();
    let documented = documented();
    let mut listed: BTreeMap<(String, String), usize> = BTreeMap::new();
    for key in rows
        .iter()
        .map(|r| (r.method, r.path))
        .chain(public.iter().map(|p| (p.0, p.1)))
    {
        *listed
            .entry((key.0.to_owned(), key.1.to_owned()))
            .or_default() += 1;
    }
    let missing: Vec<String> = documented
        .iter()
        .filter(|op| !listed.contains_key(*op))
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    let stale: Vec<String> = listed
        .keys()
        .filter(|op| !documented.contains(*op))
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    let twice: Vec<String> = listed
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|((m, p), _)| format!("{m} {p}"))
        .collect();
    assert!(
        missing.is_empty() && stale.is_empty() && twice.is_empty(),
        "the scope table of tests/api/scope.rs must have one row per operation of the OpenAPI \
         document, with the status each caller gets.\n  no row (add one): {missing:?}\n  \
         no such operation (remove the row): {stale:?}\n  more than one row: {twice:?}"
    );
    for (_, method, path) in KNOWN_LEAKS {
        assert!(
            rows.iter().any(|r| (r.method, r.path) == (method, path)),
            "KNOWN_LEAKS names {method} {path}, which has no row"
        );
    }
    for path in OUTSIDE_THE_DOCUMENT {
        assert!(
            !documented.iter().any(|(_, p)| p == path),
            "{path} is now in the document: give it a row of its own in `public`"
        );
    }

    app.clock.set(at(NOW));
    let a = app.cluster("U40001").await;
    let b = app.cluster("U40002").await;
    let tokens = [
        app.admin.clone(),
        a.manager.clone(),
        b.manager.clone(),
        a.hub_staff.clone(),
        a.receptionist.clone(),
        a.triage.clone(),
        b.triage.clone(),
    ];
    let f = fixture(&app, &a).await;

    // What each caller must never be shown in a successful reply: the other cluster's callers
    // nothing of U40001, an admin no patient, 111 no patient it did not book.
    let mut of_a = vec![
        "U40001".to_owned(),
        f.practice.clone(),
        f.site.clone(),
        f.service.clone(),
        f.hub_user.clone(),
        f.client.clone(),
        f.session.clone(),
        f.spare_rota.clone(),
        f.webhook.clone(),
        f.appointment.clone(),
        "Practice Patient".to_owned(),
        "Triage Patient".to_owned(),
    ];
    of_a.extend(f.outcome.iter().chain(&f.cancel).chain(&f.rebook).cloned());
    let mut never: [Vec<String>; 7] = Default::default();
    never[ADMIN] = vec!["Practice Patient".to_owned(), "Triage Patient".to_owned()];
    never[TRIAGE] = vec!["Practice Patient".to_owned()];
    never[OTHER_MANAGER].clone_from(&of_a);
    never[OTHER_TRIAGE] = of_a;

    let mut n = 1000;
    let mut failures = Vec::new();
    for row in &rows {
        let method = Method::from_bytes(row.method.as_bytes()).unwrap();
        let mut order: Vec<usize> = (0..7).collect();
        order.sort_by_key(|&i| row.expect[i] < 300);
        for i in order {
            n += 1;
            let req = (row.build)(&f, i, n);
            assert!(
                fits(row.path, &req.path),
                "the row of {} {} calls {}",
                row.method,
                row.path,
                req.path
            );
            let headers: Vec<(&str, &str)> =
                req.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let reply = app
                .send(
                    method.clone(),
                    &req.path,
                    Some(&tokens[i]),
                    req.body,
                    &headers,
                )
                .await;
            let status = reply.status.as_u16();
            let who = CALLERS[i];
            if status != row.expect[i] {
                failures.push(format!(
                    "{who} {} {}: {status}, expected {} ({})",
                    row.method,
                    req.path,
                    row.expect[i],
                    excerpt(&reply.body.to_string(), 0)
                ));
                continue;
            }
            if let Some(kind) = problem_kind(status) {
                reply.problem(status, kind);
            }
            if status < 300 && !KNOWN_LEAKS.contains(&(i, row.method, row.path)) {
                let text = reply.body.to_string();
                for secret in &never[i] {
                    if let Some(at) = text.find(secret.as_str()) {
                        failures.push(format!(
                            "{who} {} {} shows {secret:?}: ...{}...",
                            row.method,
                            req.path,
                            excerpt(&text, at)
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} calls did not answer as the scope table says:\n{}",
        failures.len(),
        rows.len() * 7,
        failures.join("\n")
    );

    // Without a token, every operation but the public ones refuses the caller.
    for row in &rows {
        let req = (row.build)(&f, MANAGER, 0);
        let method = Method::from_bytes(row.method.as_bytes()).unwrap();
        let reply = app.call(method, &req.path, None, req.body).await;
        assert_eq!(
            reply.status.as_u16(),
            401,
            "{} {} without a token: {}",
            row.method,
            req.path,
            reply.body
        );
        reply.problem(401, "invalid-token");
    }
    for (method, path, status, body) in public {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let reply = app.call(method.clone(), path, None, body).await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {path}: {:?}",
            reply.body
        );
    }
    for path in OUTSIDE_THE_DOCUMENT {
        let reply = app.call(Method::GET, path, None, None).await;
        assert_eq!(reply.status.as_u16(), 200, "GET {path}");
    }

    // Scoped by name, the other cluster's 111 service is refused, not shown nothing.
    for path in [
        "/api/v1/slots?cluster=U40001",
        "/api/v1/triage/availability?cluster=U40001&disposition=Dx05",
    ] {
        app.get(path, &b.triage).await.problem(404, "not-found");
        app.get(path, &a.triage).await.ok(200);
    }
    // Lists show only what is in scope.
    let other = app.get("/api/v1/clusters", &b.manager).await;
    let codes: Vec<&str> = other.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["U40002"]);
    let other_integrations = app.get("/api/v1/integrations", &b.manager).await;
    assert!(other_integrations.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["clusters"] == json!(["U40002"])));
    // A client shared by two clusters is the admin's: neither manager may see or change it.
    let shared = app
        .post(
            "/api/v1/integrations",
            &app.admin,
            json!({"name": "Regional 111", "clusters": ["U40001", "U40002"]}),
        )
        .await;
    let shared_id = shared.ok(201)["id"].as_str().unwrap().to_owned();
    for manager in [&a.manager, &b.manager] {
        app.get(&format!("/api/v1/integrations/{shared_id}"), manager)
            .await
            .problem(404, "not-found");
        app.post(
            &format!("/api/v1/integrations/{shared_id}/secrets"),
            manager,
            json!({}),
        )
        .await
        .problem(404, "not-found");
        app.patch(
            &format!("/api/v1/integrations/{shared_id}"),
            manager,
            json!({"active": false}),
        )
        .await
        .problem(404, "not-found");
        let listed = app.get("/api/v1/integrations?limit=500", manager).await;
        assert!(listed.ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != shared_id.as_str()));
    }
    assert_eq!(
        app.get(&format!("/api/v1/integrations/{shared_id}"), &app.admin)
            .await
            .ok(200)["active"],
        true
    );
    // A manager cannot read another cluster's user by id through its own cluster.
    let users_b = app.get("/api/v1/clusters/U40002/users", &b.manager).await;
    let id_b = users_b.ok(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get(&format!("/api/v1/clusters/U40001/users/{id_b}"), &a.manager)
        .await
        .problem(404, "not-found");
}

both!(every_route_checks_role_and_scope);
