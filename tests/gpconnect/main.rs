//! End-to-end tests of the GP Connect facade, driven as a GP Connect consumer would (the Spine
//! headers and an unsigned GP Connect JWT on every request), on SQLite and on PostgreSQL. Every
//! answer is also parsed by a FHIR STU3 parser hubbook did not write (`fhir.resources` from PyPI,
//! through `tests/fhir/stu3_check.py`), and checked for what the GP Connect profiles require.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

mod booking;
#[path = "../console/browser.rs"]
mod browser;
#[path = "../api/helpers.rs"]
mod helpers;
mod pki;

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::{json, Value};

use booking::*;
use helpers::{TestApp, ASID};
use hubbook_store::Backend;
use pki::{ClientCert, Pki};

const BASE: &str = "/gpconnect/fhir";
/// The server's clock in every TLS test: before the published week (7 to 11 December 2026).
const NOW: &str = "2026-12-01T08:00:00Z";

/// The server's clock, as the JWT's `iat` is written.
fn now() -> i64 {
    helpers::at(NOW).timestamp()
}
const METADATA: &str = "urn:nhs:names:services:gpconnect:fhir:rest:read:metadata-1";

/// A GP Connect JWT (unsigned, as GP Connect has it) with these claims.
fn jwt(claims: &Value) -> String {
    let part = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    format!(
        "{}.{}.",
        part(&json!({"alg": "none", "typ": "JWT"})),
        part(claims)
    )
}

/// The claims a consumer sends by default, issued now for `scope`.
fn claims(scope: &str) -> Value {
    let now = now();
    json!({
        "iss": "https://consumer.example", "sub": "1", "aud": "https://authorize.fhir.nhs.net/token",
        "iat": now, "exp": now + 300, "reason_for_request": "directcare", "requested_scope": scope,
        "requesting_device": {"resourceType": "Device", "model": "v1", "version": "1.1",
            "identifier": [{"system": "GPConnectTestSystem", "value": "Client"}]},
        "requesting_organization": {"resourceType": "Organization", "name": "Invented Urgent Care",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A20047"}]},
        "requesting_practitioner": {"resourceType": "Practitioner", "id": "1",
            "name": [{"family": "Testdoctor", "given": ["Invented"]}],
            "identifier": [{"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "GCASDS0001"}]},
    })
}

/// A GP Connect request: the Spine headers and the JWT, each of which a test may change.
struct Call {
    method: reqwest::Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<Value>,
}

impl Call {
    fn get(path: &str, interaction: &str, scope: &str) -> Self {
        Self {
            method: reqwest::Method::GET,
            path: path.to_owned(),
            headers: vec![
                ("Ssp-TraceID", uuid::Uuid::now_v7().to_string()),
                ("Ssp-From", "200000000359".into()),
                ("Ssp-To", ASID.into()),
                ("Ssp-InteractionID", interaction.into()),
                ("Authorization", format!("Bearer {}", jwt(&claims(scope)))),
                ("Accept", "application/fhir+json".into()),
            ],
            body: None,
        }
    }

    /// A request with a FHIR body.
    fn with_body(
        method: reqwest::Method,
        path: &str,
        interaction: &str,
        scope: &str,
        body: Value,
    ) -> Self {
        Self {
            method,
            body: Some(body),
            ..Self::get(path, interaction, scope)
        }
    }

    /// The request's `Ssp-TraceID`.
    fn trace_id(&self) -> String {
        self.headers
            .iter()
            .find(|(n, _)| *n == "Ssp-TraceID")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn metadata() -> Self {
        Self::get("/metadata", METADATA, "organization/*.read")
    }

    fn set(mut self, name: &'static str, value: &str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.to_owned()));
        self
    }

    fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self
    }

    fn claims(self, change: impl Fn(&mut Value)) -> Self {
        self.claims_for("organization/*.read", change)
    }

    /// The JWT for `scope`, changed.
    fn claims_for(self, scope: &str, change: impl Fn(&mut Value)) -> Self {
        let mut c = claims(scope);
        change(&mut c);
        self.set("Authorization", &format!("Bearer {}", jwt(&c)))
    }
}

/// What the facade answered.
struct Answer {
    status: u16,
    content_type: String,
    cache_control: String,
    etag: String,
    location: String,
    body: Value,
}

impl Answer {
    /// Asserts an OperationOutcome as GP Connect profiles it, with this status and Spine code.
    fn refused(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.body["resourceType"], "OperationOutcome",
            "{}",
            self.body
        );
        assert_eq!(
            self.body["meta"]["profile"],
            json!(["https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-OperationOutcome-1"])
        );
        let issues = self.body["issue"].as_array().unwrap();
        for issue in issues {
            assert_eq!(issue["severity"], "error");
            assert!(issue["code"].is_string());
            let codings = issue["details"]["coding"].as_array().unwrap();
            assert_eq!(codings.len(), 1, "{}", self.body);
            assert_eq!(codings[0]["code"], code, "{}", self.body);
            assert!(codings[0]["display"].is_string());
            assert!(!issue["diagnostics"].as_str().unwrap().is_empty());
        }
        assert!(self.cache_control.contains("no-store"));
        assert!(self.content_type.starts_with("application/fhir+json"));
    }
}

/// The ids of the slots of the published week that the JSON API's search offers `token`.
async fn api_week_slot_ids(app: &TestApp, token: &str) -> Vec<String> {
    let native = app
        .get(
            "/api/v1/slots?from=2026-12-07T00:00:00Z&to=2026-12-12T00:00:00Z&limit=500",
            token,
        )
        .await;
    native.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slot_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A server speaking HTTPS, with a cluster whose triage integration has a client certificate
/// registered (through the JSON API, as an admin would).
struct Gpc {
    app: TestApp,
    pki: Pki,
    /// The integration's id.
    integration: String,
    /// Its registered client certificate.
    registered: ClientCert,
    /// The cluster's manager's token.
    manager: String,
    /// Its triage client's token for the JSON API.
    triage: String,
    /// The first practice's receptionist's token for the JSON API.
    receptionist: String,
}

async fn gpc(backend: Backend) -> Gpc {
    let pki = Pki::new();
    let app = TestApp::spawn_tls(backend, pki.files.clone(), &pki.ca_pem).await;
    let cluster = app.cluster("U90001").await;
    // A second practice of the same size, whose reserved slots the first must never see.
    app.post(
        "/api/v1/clusters/U90001/practices",
        &cluster.manager,
        json!({"ods_code": "B82002", "name": "Other Surgery", "list_size": 9000, "data_sharing_from": "2026-01-01"}),
    )
    .await
    .ok(201);
    // Two slots a day kept for NHS 111, the rest apportioned to the practices; the week of 7
    // December published, the clock at 1 December.
    app.publish_week(
        &cluster,
        json!({"triage": {"kind": "per_day", "slots": 2}, "apportionment": true}),
    )
    .await;
    app.clock.set(helpers::at(NOW));
    let list = app.get("/api/v1/integrations", &app.admin).await;
    let integration = list.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["client_id"] == "nhs111-u90001")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let registered = pki.client("Invented 111 consumer");
    app.post(
        &format!("/api/v1/integrations/{integration}/certificates"),
        &app.admin,
        json!({"certificate": registered.cert}),
    )
    .await
    .ok(201);
    Gpc {
        app,
        pki,
        integration,
        registered,
        manager: cluster.manager,
        triage: cluster.triage,
        receptionist: cluster.receptionist,
    }
}

/// Each test on both backends, against a [`Gpc`] server.
macro_rules! tls_both {
    ($($name:ident),* $(,)?) => {
        mod tls_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::gpc(hubbook_store::Backend::Sqlite).await).await }
            )*
        }
        mod tls_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::gpc(hubbook_store::Backend::Postgres).await).await }
            )*
        }
    };
}

/// Sends calls as a consumer with a client certificate, and keeps every answer's body for the
/// STU3 parser.
struct Consumer<'a> {
    base: &'a str,
    client: reqwest::Client,
    seen: Vec<Value>,
}

impl<'a> Consumer<'a> {
    /// The consumer whose certificate is registered.
    fn new(g: &'a Gpc) -> Self {
        Self::with(g, Some(&g.registered))
    }

    /// A consumer presenting `cert` (or none).
    fn with(g: &'a Gpc, cert: Option<&ClientCert>) -> Self {
        Self {
            base: &g.app.base,
            client: g.pki.https(cert),
            seen: Vec::new(),
        }
    }

    async fn send(&mut self, call: Call) -> Answer {
        self.try_send(call).await.expect("an answer")
    }

    async fn try_send(&mut self, call: Call) -> Result<Answer, reqwest::Error> {
        let mut request = self
            .client
            .request(call.method, format!("{}{BASE}{}", self.base, call.path));
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = &call.body {
            request = request
                .header("Content-Type", "application/fhir+json")
                .body(serde_json::to_vec(body).unwrap());
        }
        let response = request.send().await?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let (content_type, cache_control) = (header("content-type"), header("cache-control"));
        let (etag, location) = (header("etag"), header("location"));
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            let body: Value = serde_json::from_slice(&bytes).expect("a JSON answer");
            self.seen.push(body.clone());
            body
        };
        Ok(Answer {
            status,
            content_type,
            cache_control,
            etag,
            location,
            body,
        })
    }

    /// Parses every answer seen with the STU3 parser; fails (never skips) without it.
    fn all_parse_as_stu3(&self) {
        // HUBBOOK_FHIR_PYTHON, else the README's virtual environment, else python3.
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/target/fhir-venv/bin/python");
        let python = std::env::var("HUBBOOK_FHIR_PYTHON").unwrap_or_else(|_| {
            if std::path::Path::new(venv).exists() {
                venv.into()
            } else {
                "python3".into()
            }
        });
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fhir/stu3_check.py");
        let mut child = Command::new(&python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running {python} (HUBBOOK_FHIR_PYTHON): {e}"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&serde_json::to_vec(&self.seen).unwrap())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "the STU3 parser refused an answer ({python}, exit {:?}):\n{said}",
            out.status.code()
        );
    }
}

async fn the_capability_statement_says_what_is_served(g: Gpc) {
    let mut c = Consumer::new(&g);
    let call = Call::metadata();
    let trace_id = call
        .headers
        .iter()
        .find(|(n, _)| *n == "Ssp-TraceID")
        .unwrap()
        .1
        .clone();
    let answer = c.send(call).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // The call is in the audit trail: the integration, what, for whom and why; the cluster's
    // manager sees it too.
    for reader in [&g.app.admin, &g.manager] {
        let audit = g
            .app
            .get(
                &format!("/api/v1/audit?entity=integration_call&entity_id={trace_id}"),
                reader,
            )
            .await;
        let events = audit.ok(200)["items"].as_array().unwrap().clone();
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        assert_eq!(event["action"], METADATA);
        assert_eq!(event["actor"], format!("client:{}", g.integration));
        assert_eq!(event["after"]["requesting_organization"], "A20047");
        assert_eq!(event["after"]["sds_user_id"], "GCASDS0001");
        assert_eq!(event["after"]["reason_for_request"], "directcare");
    }
    assert!(answer.content_type.starts_with("application/fhir+json"));
    assert!(answer.cache_control.contains("no-store"));
    let statement = &answer.body;
    assert_eq!(statement["resourceType"], "CapabilityStatement");
    assert_eq!(statement["version"], "1.2.8");
    assert_eq!(statement["fhirVersion"], "3.0.1");
    assert!(!statement["software"]["name"].as_str().unwrap().is_empty());
    assert!(!statement["software"]["version"]
        .as_str()
        .unwrap()
        .is_empty());
    // Only what is served: the slot search with its parameters and includes, the appointment
    // interactions, finding and registering a patient.
    let resources = statement["rest"][0]["resource"].as_array().unwrap();
    let kinds: Vec<(&str, Value)> = resources
        .iter()
        .map(|r| (r["type"].as_str().unwrap(), r["interaction"].clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("Slot", json!([{"code": "search-type"}])),
            (
                "Appointment",
                json!([{"code": "create"}, {"code": "read"}, {"code": "update"}])
            ),
            (
                "Patient",
                json!([{"code": "search-type"}, {"code": "read"}])
            ),
        ]
    );
    assert_eq!(
        statement["rest"][0]["operation"][0]["name"],
        "gpc.registerpatient"
    );

    // An interaction hubbook does not serve is NOT_IMPLEMENTED, and says what is.
    let read = c
        .send(Call::get(
            "/Practitioner/1",
            "urn:nhs:names:services:gpconnect:fhir:rest:read:practitioner-1",
            "organization/*.read",
        ))
        .await;
    read.refused(501, "NOT_IMPLEMENTED");
    assert!(read.body["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("GET /gpconnect/fhir/metadata"));
    // So is a wrong verb or a wrong case.
    let mut post = Call::metadata();
    post.method = reqwest::Method::POST;
    c.send(post).await.refused(501, "NOT_IMPLEMENTED");
    let mut upper = Call::metadata();
    upper.path = "/Metadata".into();
    c.send(upper).await.refused(501, "NOT_IMPLEMENTED");
    c.all_parse_as_stu3();
}

async fn concurrent_calls_are_each_audited(g: Gpc) {
    // Forty calls at once: each is answered, and each is in the audit trail once, under its
    // own trace id.
    let client = g.pki.https(Some(&g.registered));
    let calls: Vec<Call> = (0..40).map(|_| Call::metadata()).collect();
    let traces: Vec<String> = calls.iter().map(Call::trace_id).collect();
    let answers = futures_util::future::join_all(calls.into_iter().map(|call| {
        let mut request = client.get(format!("{}{BASE}{}", g.app.base, call.path));
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        request.send()
    }))
    .await;
    for answer in answers {
        assert_eq!(answer.unwrap().status().as_u16(), 200);
    }
    for trace in traces {
        let audit = g
            .app
            .get(
                &format!("/api/v1/audit?entity=integration_call&entity_id={trace}"),
                &g.app.admin,
            )
            .await;
        assert_eq!(
            audit.ok(200)["items"].as_array().unwrap().len(),
            1,
            "{trace}"
        );
    }
}

async fn the_spine_headers_are_checked(g: Gpc) {
    let mut c = Consumer::new(&g);
    for header in [
        "Ssp-TraceID",
        "Ssp-From",
        "Ssp-To",
        "Ssp-InteractionID",
        "Authorization",
    ] {
        c.send(Call::metadata().without(header))
            .await
            .refused(400, "BAD_REQUEST");
    }
    // Ssp-To names another provider.
    c.send(Call::metadata().set("Ssp-To", "123456789123"))
        .await
        .refused(400, "BAD_REQUEST");
    // The interaction id of another route, or of nothing.
    for wrong in [
        "urn:nhs:names:services:gpconnect:fhir:rest:search:slot-1",
        "urn:nhs:names:services:gpconnect:fhir:operation:gpc.getcarerecord",
        "urn:nhs:names:services:gpconnect:fhir:rest:gpc.invalidoperation",
    ] {
        let answer = c
            .send(Call::metadata().set("Ssp-InteractionID", wrong))
            .await;
        answer.refused(400, "BAD_REQUEST");
    }
    c.send(Call::metadata().set("Ssp-TraceID", "not-a-guid"))
        .await
        .refused(400, "BAD_REQUEST");
    // Only JSON is answered; _format wins over Accept.
    c.send(Call::metadata().set("Accept", "application/fhir+xml"))
        .await
        .refused(400, "BAD_REQUEST");
    let mut json_format = Call::metadata().set("Accept", "application/fhir+xml");
    json_format.path = "/metadata?_format=application/fhir%2Bjson".into();
    assert_eq!(c.send(json_format).await.status, 200);
    c.all_parse_as_stu3();
}

async fn the_jwt_claims_are_checked(g: Gpc) {
    let mut c = Consumer::new(&g);
    // Not base64url: the parts sent as raw JSON.
    c.send(Call::metadata().set(
        "Authorization",
        "Bearer {\"alg\":\"none\"}.{\"iss\":\"x\"}.",
    ))
    .await
    .refused(400, "BAD_REQUEST");
    for claim in [
        "iss",
        "exp",
        "iat",
        "reason_for_request",
        "aud",
        "requesting_device",
        "requesting_practitioner",
        "requested_scope",
    ] {
        c.send(Call::metadata().claims(|v| drop(v.as_object_mut().unwrap().remove(claim))))
            .await
            .refused(400, "BAD_REQUEST");
    }
    let now = now();
    for (iat, exp) in [(now, now + 301), (now, now + 299), (now, now - 1)] {
        c.send(Call::metadata().claims(|v| {
            v["iat"] = json!(iat);
            v["exp"] = json!(exp);
        }))
        .await
        .refused(400, "BAD_REQUEST");
    }
    // Expired.
    c.send(Call::metadata().claims(|v| {
        v["iat"] = json!(now - 600);
        v["exp"] = json!(now - 300);
    }))
    .await
    .refused(400, "BAD_REQUEST");
    // An iat in the future is allowed.
    let future = c
        .send(Call::metadata().claims(|v| {
            v["iat"] = json!(now + 200);
            v["exp"] = json!(now + 500);
        }))
        .await;
    assert_eq!(future.status, 200, "{}", future.body);
    // A scope of another interaction, or none GP Connect has.
    for scope in ["patient/*.read", "badScope"] {
        c.send(Call::metadata().claims(|v| v["requested_scope"] = json!(scope)))
            .await
            .refused(400, "BAD_REQUEST");
    }
    // A FHIR resource in the JWT that is not valid.
    c.send(Call::metadata().claims(|v| v["requesting_device"]["invalidField"] = json!("x")))
        .await
        .refused(422, "INVALID_RESOURCE");
    c.send(
        Call::metadata().claims(|v| {
            v["requesting_practitioner"]["resourceType"] = json!("InvalidResourceType")
        }),
    )
    .await
    .refused(422, "INVALID_RESOURCE");
    // A practitioner without a smartcard (only an SDS user id of UNK) is fine.
    let unk = c
        .send(Call::metadata().claims(|v| {
            v["requesting_practitioner"]["identifier"] =
                json!([{"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "UNK"}])
        }))
        .await;
    assert_eq!(unk.status, 200, "{}", unk.body);
    c.all_parse_as_stu3();
}

async fn only_a_registered_client_certificate_is_served(g: Gpc) {
    // No certificate, or one the CA signed but no integration registered: ACCESS_DENIED.
    let mut none = Consumer::with(&g, None);
    none.send(Call::metadata())
        .await
        .refused(403, "ACCESS_DENIED");
    let unregistered = g.pki.client("Invented stranger");
    let mut other = Consumer::with(&g, Some(&unregistered));
    other
        .send(Call::metadata())
        .await
        .refused(403, "ACCESS_DENIED");
    // One another CA signed does not get past the handshake.
    let stranger = g.pki.stranger("Invented impostor");
    let mut impostor = Consumer::with(&g, Some(&stranger));
    assert!(impostor.try_send(Call::metadata()).await.is_err());

    // Registered, it is served; revoked, it is refused at its next request.
    let mut c = Consumer::new(&g);
    assert_eq!(c.send(Call::metadata()).await.status, 200);
    let listed = g
        .app
        .get(
            &format!("/api/v1/integrations/{}/certificates", g.integration),
            &g.app.admin,
        )
        .await;
    let listed = listed.ok(200).clone();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["live"], true);
    let sha256 = listed[0]["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha256.len(), 64);
    let revoked = g
        .app
        .call(
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/integrations/{}/certificates/{sha256}",
                g.integration
            ),
            Some(&g.app.admin),
            None,
        )
        .await;
    assert_eq!(revoked.ok(200)["live"], false);
    c.send(Call::metadata()).await.refused(403, "ACCESS_DENIED");
    // A disabled integration's certificate is refused too.
    g.app
        .post(
            &format!("/api/v1/integrations/{}/certificates", g.integration),
            &g.app.admin,
            json!({"certificate": unregistered.cert}),
        )
        .await
        .ok(201);
    assert_eq!(other.send(Call::metadata()).await.status, 200);
    let integration = g
        .app
        .get(
            &format!("/api/v1/integrations/{}", g.integration),
            &g.app.admin,
        )
        .await;
    let etag = integration.etag();
    g.app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/integrations/{}", g.integration),
            Some(&g.app.admin),
            Some(json!({"active": false})),
            &[("If-Match", &etag)],
        )
        .await
        .ok(200);
    other
        .send(Call::metadata())
        .await
        .refused(403, "ACCESS_DENIED");
    c.all_parse_as_stu3();
    other.all_parse_as_stu3();
}

async fn certificates_are_registered_through_the_api(g: Gpc) {
    let path = format!("/api/v1/integrations/{}/certificates", g.integration);
    // Not a PEM certificate; two of them; the same one again.
    for bad in [
        "not a certificate".to_owned(),
        format!("{}{}", g.registered.cert, g.pki.client("second").cert),
        g.registered.key.clone(),
    ] {
        g.app
            .post(&path, &g.app.admin, json!({"certificate": bad}))
            .await
            .problem(422, "invalid-certificate");
    }
    let again = g
        .app
        .post(
            &path,
            &g.app.admin,
            json!({"certificate": g.registered.cert}),
        )
        .await;
    again.problem(409, "already-exists");
    // Another cluster's manager cannot see the integration, nor register for it.
    let other = g.app.cluster("U90002").await;
    let hidden = g
        .app
        .post(
            &path,
            &other.manager,
            json!({"certificate": g.pki.client("sneaky").cert}),
        )
        .await;
    hidden.problem(404, "not-found");
    g.app
        .get(&path, &other.manager)
        .await
        .problem(404, "not-found");
    // A receptionist may not manage integrations at all.
    g.app
        .get(&path, &other.receptionist)
        .await
        .problem(403, "forbidden");
    // Only the certificate's SHA-256 is kept, and the audit trail has its registration.
    let listed = g.app.get(&path, &g.app.admin).await;
    assert_eq!(listed.ok(200).as_array().unwrap().len(), 1);
    assert_eq!(g.app.count("integration_certificates"), 1);
}

async fn a_plain_http_server_serves_no_gp_connect_consumer(app: TestApp) {
    let answer = app
        .client
        .get(format!("{}{BASE}/metadata", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(
        body["issue"][0]["details"]["coding"][0]["code"],
        "ACCESS_DENIED"
    );
}

const SLOT_SEARCH: &str = "urn:nhs:names:services:gpconnect:fhir:rest:search:slot-1";

fn slots(query: &str) -> Call {
    Call::get(
        &format!("/Slot?{query}"),
        SLOT_SEARCH,
        "organization/*.read",
    )
}

/// The standard search: the published week, 111's booking organisation, the schedule included.
const WEEK: &str = "start=ge2026-12-07&end=le2026-12-11&status=free&_include=Slot:schedule\
    &searchFilter=https://fhir.nhs.uk/Id/ods-organization-code%7CA20047\
    &searchFilter=https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1%7Curgent-care";

async fn the_slot_search_offers_exactly_what_the_api_offers_111(g: Gpc) {
    let mut c = Consumer::new(&g);
    let all = format!(
        "{WEEK}&_include:recurse=Schedule:actor:Location&_include:recurse=Location:managingOrganization\
         &searchFilter=https://example.org/FilterCategory%7COtherConsumerCategory"
    );
    let answer = c.send(slots(&all)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let bundle = &answer.body;
    assert_eq!(bundle["type"], "searchset");
    let entries = bundle["entry"].as_array().unwrap();
    let of = |kind: &str| -> Vec<&Value> {
        entries
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["resourceType"] == kind)
            .collect()
    };
    // The same slots as the JSON API's search offers the triage client.
    let mut expected = api_week_slot_ids(&g.app, &g.triage).await;
    let mut got: Vec<String> = of("Slot")
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    got.sort();
    assert_eq!(got.len(), 10, "two a day kept for 111 over five days");
    assert_eq!(got, expected);
    // Every slot free, profiled, in England's time, with its schedule in the bundle.
    let schedules: Vec<String> = of("Schedule")
        .iter()
        .map(|s| format!("Schedule/{}", s["id"].as_str().unwrap()))
        .collect();
    for slot in of("Slot") {
        assert_eq!(slot["status"], "free");
        assert_eq!(
            slot["meta"]["profile"],
            json!(["https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Slot-1"])
        );
        assert!(
            slot["start"].as_str().unwrap().ends_with("+00:00"),
            "{slot}"
        );
        assert_eq!(slot["extension"][0]["valueCode"], "In-person");
        assert!(schedules.contains(&slot["schedule"]["reference"].as_str().unwrap().to_owned()));
        assert!(slot.get("comment").is_none());
    }
    assert_eq!(schedules.len(), 5, "one session a day");
    for schedule in of("Schedule") {
        let roles: Vec<&Value> = schedule["extension"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["url"].as_str().unwrap().ends_with("PractitionerRole-1"))
            .collect();
        assert_eq!(roles.len(), 1);
        assert_eq!(
            roles[0]["valueCodeableConcept"]["coding"][0]["code"],
            "R0260"
        );
        assert!(schedule["serviceCategory"]["text"].is_string());
    }
    let locations = of("Location");
    assert_eq!(locations.len(), 1);
    assert_eq!(locations[0]["name"], "Hub North");
    let organizations = of("Organization");
    assert_eq!(organizations.len(), 1);
    assert_eq!(organizations[0]["identifier"][0]["value"], "U90001");
    assert_eq!(organizations[0]["name"], "Cluster U90001");
    assert_eq!(
        locations[0]["managingOrganization"]["reference"],
        format!("Organization/{}", organizations[0]["id"].as_str().unwrap())
    );

    // Without the recursive includes: slots and schedules only. A window that holds no slot:
    // an empty searchset. A date-time window: only slots wholly inside it.
    let plain = c.send(slots(WEEK)).await;
    let kinds: std::collections::BTreeSet<String> = plain.body["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["Schedule", "Slot"].map(String::from).into());
    let empty = c
        .send(slots(
            "start=ge2026-12-14&end=le2026-12-18&status=free&_include=Slot:schedule",
        ))
        .await;
    assert_eq!(empty.status, 200);
    assert!(empty.body.get("entry").is_none(), "{}", empty.body);
    let morning = c
        .send(slots(
            "start=ge2026-12-07T09:00:00%2B00:00&end=le2026-12-07T12:00:00%2B00:00&status=free&_include=Slot:schedule",
        ))
        .await;
    assert_eq!(morning.status, 200, "{}", morning.body);
    let monday: Vec<&Value> = morning.body["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "Slot")
        .collect();
    assert_eq!(monday.len(), 2);
    // The offset's + sent unencoded, as some clients do, reads the same.
    let raw = c
        .send(slots(
            "start=ge2026-12-07T09:00:00+00:00&end=le2026-12-07T12:00:00+00:00&status=free&_include=Slot:schedule",
        ))
        .await;
    assert_eq!(raw.body["entry"], morning.body["entry"]);
    // service.identifier keeps the slots of the service with that code, with or without a
    // system; another code finds none.
    let services = g
        .app
        .get("/api/v1/clusters/U90001/services", &g.manager)
        .await;
    let code = services.ok(200)["items"][0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let monday_query = "start=ge2026-12-07T09:00:00%2B00:00&end=le2026-12-07T12:00:00%2B00:00&status=free&_include=Slot:schedule";
    for filter in [
        code.clone(),
        format!("https://fhir.nhs.uk/Id/dos-service-id%7C{code}"),
    ] {
        let same = c
            .send(slots(&format!(
                "{monday_query}&service.identifier={filter}"
            )))
            .await;
        assert_eq!(same.body["entry"], morning.body["entry"], "{filter}");
    }
    let none = c
        .send(slots(&format!(
            "{monday_query}&service.identifier=no-such-service"
        )))
        .await;
    assert_eq!(none.status, 200);
    assert!(none.body.get("entry").is_none(), "{}", none.body);
    c.all_parse_as_stu3();
}

async fn a_slot_search_with_bad_parameters_is_refused(g: Gpc) {
    let mut c = Consumer::new(&g);
    let base = "status=free&_include=Slot:schedule";
    for (query, status, code) in [
        // Missing: BAD_REQUEST.
        (base.to_owned(), 400, "BAD_REQUEST"),
        (format!("end=le2026-12-11&{base}"), 400, "BAD_REQUEST"),
        (
            "start=ge2026-12-07&end=le2026-12-11&_include=Slot:schedule".to_owned(),
            400,
            "BAD_REQUEST",
        ),
        (
            "start=ge2026-12-07&end=le2026-12-11&status=free".to_owned(),
            400,
            "BAD_REQUEST",
        ),
        // Wrong: INVALID_PARAMETER.
        (
            format!("start=ge2026-12-07&end=le2026-12-22&{base}"),
            422,
            "INVALID_PARAMETER",
        ),
        (
            format!("start=ge2026-12-07&end=le2026-12-06&{base}"),
            422,
            "INVALID_PARAMETER",
        ),
        (
            format!("start=gt2026-12-07&end=le2026-12-11&{base}"),
            422,
            "INVALID_PARAMETER",
        ),
        (
            format!("start=ge2026-12-07&end=ge2026-12-11&{base}"),
            422,
            "INVALID_PARAMETER",
        ),
        (
            format!("start=ne2026-12-07&end=ne2026-12-11&{base}"),
            422,
            "INVALID_PARAMETER",
        ),
        (
            format!("start=geinvalidStartDate&end=le2026-12-11&{base}"),
            422,
            "INVALID_PARAMETER",
        ),
        (
            format!("start=ge2026-12-07T09:00:00&end=le2026-12-11&{base}"),
            422,
            "INVALID_PARAMETER",
        ),
        (
            format!("start=ge2026&end=le2026-12&{base}"),
            422,
            "INVALID_PARAMETER",
        ),
        (
            "start=ge2026-12-07&end=le2026-12-11&status=busy&_include=Slot:schedule".to_owned(),
            422,
            "INVALID_PARAMETER",
        ),
    ] {
        let answer = c.send(slots(&query)).await;
        assert_eq!(answer.status, status, "{query}: {}", answer.body);
        answer.refused(status, code);
    }
    // Fourteen days is the longest window.
    let fortnight = c
        .send(slots(&format!(
            "start=ge2026-12-01&end=le2026-12-15&{base}"
        )))
        .await;
    assert_eq!(fortnight.status, 200, "{}", fortnight.body);
    // A practice's booking organisation is not this integration's to book for.
    let practice = c
        .send(slots(&format!(
            "start=ge2026-12-07&end=le2026-12-11&{base}\
             &searchFilter=https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1%7Cgp-practice"
        )))
        .await;
    practice.refused(403, "ACCESS_DENIED");
    c.all_parse_as_stu3();
}

tls_both!(
    the_capability_statement_says_what_is_served,
    concurrent_calls_are_each_audited,
    the_spine_headers_are_checked,
    the_jwt_claims_are_checked,
    only_a_registered_client_certificate_is_served,
    certificates_are_registered_through_the_api,
    the_slot_search_offers_exactly_what_the_api_offers_111,
    a_slot_search_with_bad_parameters_is_refused,
    a_111_consumer_books_reads_amends_and_cancels,
    a_booking_is_refused_as_gp_connect_has_it,
    a_practice_consumer_sees_and_books_what_its_receptionists_do,
    a_booking_made_in_the_api_is_the_same_in_gp_connect,
    aggregators_read_bulk_availability_with_etags_and_since,
    adjacent_slots_book_as_one_appointment,
    every_change_and_every_refusal_is_audited_once,
);

both!(a_plain_http_server_serves_no_gp_connect_consumer);
