//! Bad requests of every shape get a problem+json with a stable type, never a 500.

use reqwest::Method;
use serde_json::json;

use crate::both;
use crate::helpers::TestApp;

async fn malformed_bodies_get_clear_problems(app: TestApp) {
    let c = app.cluster("U30001").await;
    let url = format!("{}/api/v1/clusters/U30001/practices", app.base);
    let raw = |body: &'static str, content_type: &'static str| {
        app.client
            .post(&url)
            .bearer_auth(&c.manager)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let not_json = TestApp::reply(raw("{\"ods_code\": ", "application/json").await.unwrap()).await;
    not_json.problem(400, "malformed-json");
    let wrong_type = TestApp::reply(
        raw(
            r#"{"ods_code": "A81001", "name": "P", "list_size": "many"}"#,
            "application/json",
        )
        .await
        .unwrap(),
    )
    .await;
    wrong_type.problem(422, "invalid-body");
    let unknown_field = TestApp::reply(
        raw(
            r#"{"ods_code": "A81001", "name": "P", "list_size": 5, "colour": "red"}"#,
            "application/json",
        )
        .await
        .unwrap(),
    )
    .await;
    assert!(unknown_field.problem(422, "invalid-body")["detail"]
        .as_str()
        .unwrap()
        .contains("colour"));
    let missing = TestApp::reply(
        raw(r#"{"ods_code": "A81001"}"#, "application/json")
            .await
            .unwrap(),
    )
    .await;
    missing.problem(422, "invalid-body");
    let text = TestApp::reply(raw("ods_code=A81001", "text/plain").await.unwrap()).await;
    text.problem(415, "unsupported-media-type");
    let big = format!(
        r#"{{"ods_code": "A81001", "name": "{}", "list_size": 5}}"#,
        "x".repeat(300 * 1024)
    );
    let too_large = app
        .client
        .post(&url)
        .bearer_auth(&c.manager)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    TestApp::reply(too_large)
        .await
        .problem(413, "payload-too-large");
    let token_text = app
        .client
        .post(format!("{}/api/v1/auth/token", app.base))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    TestApp::reply(token_text)
        .await
        .problem(415, "unsupported-media-type");
    let token_garbage = app
        .client
        .post(format!("{}/api/v1/auth/token", app.base))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    TestApp::reply(token_garbage)
        .await
        .problem(400, "malformed-json");
    let huge_token = app
        .client
        .post(format!("{}/api/v1/auth/token", app.base))
        .header("content-type", "application/json")
        .body("x".repeat(64 * 1024))
        .send()
        .await
        .unwrap();
    TestApp::reply(huge_token)
        .await
        .problem(413, "payload-too-large");
    assert_eq!(app.count("practices"), 1, "no bad request stored anything");
}

async fn unknown_routes_and_ids_are_not_found(app: TestApp) {
    let c = app.cluster("U30002").await;
    app.call(Method::GET, "/api/v1/nothing-here", Some(&c.manager), None)
        .await
        .problem(404, "not-found");
    app.get("/api/v1/clusters/U30002/practices/no-such-id", &c.manager)
        .await
        .problem(404, "not-found");
    app.get("/api/v1/clusters/U99999", &app.admin)
        .await
        .problem(404, "not-found");
    app.patch(
        "/api/v1/clusters/U30002/sites/nope",
        &c.manager,
        json!({"name": "X"}),
    )
    .await
    .problem(404, "not-found");
    app.get("/api/v1/integrations/nope", &app.admin)
        .await
        .problem(404, "not-found");
}

async fn a_nul_is_a_clear_problem_never_a_500(app: TestApp) {
    let c = app.cluster("U30003").await;
    // In a path or a query string, refused before any database sees it, alike on both.
    for path in [
        "/api/v1/appointments/%00",
        "/api/v1/clusters/U30003/practices/a%00b",
        "/api/v1/clusters/U30003/sites?limit=5&after=%00",
        "/api/v1/slots?service=%1F",
    ] {
        app.get(path, &c.manager).await.problem(400, "invalid-text");
    }
    // Without a token too: the path is refused before anyone is asked who they are.
    let anonymous = app
        .client
        .get(format!("{}/api/v1/appointments/%00", app.base))
        .send()
        .await
        .unwrap();
    TestApp::reply(anonymous).await.problem(400, "invalid-text");
    // In a body: refused alike, and nothing is stored. Line breaks and tabs are text, left to
    // each field's own rule (a practice's name is one line).
    for body in [
        json!({"ods_code": "A81001", "name": "Nul\u{0}Surgery", "list_size": 5}),
        json!({"ods_code": "A81001", "name": "Bell\u{7}", "list_size": 5}),
    ] {
        app.post("/api/v1/clusters/U30003/practices", &c.manager, body)
            .await
            .problem(400, "invalid-text");
    }
    assert_eq!(app.count("practices WHERE ods_code = 'A81001'"), 0);
    let sign_in = app
        .client
        .post(format!("{}/api/v1/auth/token", app.base))
        .json(&json!({"grant_type": "password", "username": "man\u{0}ager", "password": "x"}))
        .send()
        .await
        .unwrap();
    TestApp::reply(sign_in).await.problem(400, "invalid-text");
    app.post(
        "/api/v1/clusters/U30003/practices",
        &c.manager,
        json!({"ods_code": "A81002", "name": "Two\nLines\tSurgery", "list_size": 5}),
    )
    .await
    .problem(422, "invalid-name");
}

/// A gzip-encoded JSON body is read as well as a plain one, and its text is checked the same.
async fn a_gzip_encoded_body_is_read_and_checked(app: TestApp) {
    use std::io::Write;
    let c = app.cluster("U30004").await;
    let send = |body: serde_json::Value| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(body.to_string().as_bytes()).unwrap();
        let zipped = gz.finish().unwrap();
        app.client
            .post(format!("{}/api/v1/clusters/U30004/practices", app.base))
            .bearer_auth(&c.manager)
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .body(zipped)
            .send()
    };
    let made = send(json!({"ods_code": "A81003", "name": "Zipped Surgery", "list_size": 5}))
        .await
        .unwrap();
    TestApp::reply(made).await.ok(201);
    let nul = send(json!({"ods_code": "A81004", "name": "Zip\u{0}ped", "list_size": 5}))
        .await
        .unwrap();
    TestApp::reply(nul).await.problem(400, "invalid-text");
}

/// Every string the OpenAPI document declares, in a path, a query or a JSON body (to any depth),
/// is sent holding a NUL, one at a time, to every operation: each answer is 400 `invalid-text`,
/// on both databases. Read from the served document, so a new route is covered when it is added.
async fn a_nul_in_any_text_the_openapi_declares_is_refused(app: TestApp) {
    use serde_json::Value;
    let doc = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let resolve = |schema: &Value| -> Value {
        let mut schema = schema.clone();
        for _ in 0..8 {
            let Some(name) = schema["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            else {
                break;
            };
            schema = doc["components"]["schemas"][name].clone();
        }
        schema
    };
    // Every path to a string inside a body schema, as keys and array positions.
    fn strings(schema: &Value, resolve: &dyn Fn(&Value) -> Value, depth: usize) -> Vec<Vec<Value>> {
        let schema = resolve(schema);
        if depth > 4 {
            return Vec::new();
        }
        let mut found = Vec::new();
        for combined in ["allOf", "oneOf", "anyOf"] {
            for part in schema[combined].as_array().into_iter().flatten() {
                found.extend(strings(part, resolve, depth + 1));
            }
        }
        let kind = match &schema["type"] {
            Value::Array(kinds) => kinds
                .iter()
                .find(|k| *k != "null")
                .cloned()
                .unwrap_or(Value::Null),
            other => other.clone(),
        };
        match kind.as_str() {
            Some("string") => found.push(Vec::new()),
            Some("array") => {
                for mut path in strings(&schema["items"], resolve, depth + 1) {
                    path.insert(0, json!(0));
                    found.push(path);
                }
            }
            _ => {}
        }
        for (key, property) in schema["properties"].as_object().into_iter().flatten() {
            for mut path in strings(property, resolve, depth + 1) {
                path.insert(0, json!(key));
                found.push(path);
            }
        }
        found
    }
    fn body_with_nul(path: &[Value]) -> Value {
        match path.split_first() {
            None => json!("a\u{0}b"),
            Some((Value::String(key), rest)) => json!({ key.as_str(): body_with_nul(rest) }),
            Some((_, rest)) => json!([body_with_nul(rest)]),
        }
    }
    let mut cases = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            let params: Vec<&Value> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .collect();
            let fill = |nul: Option<&str>| -> String {
                let mut path = template.clone();
                for p in params.iter().filter(|p| p["in"] == "path") {
                    let name = p["name"].as_str().unwrap();
                    let value = if nul == Some(name) { "a%00b" } else { "x" };
                    path = path.replace(&format!("{{{name}}}"), value);
                }
                path
            };
            let mut sent = Vec::new();
            for p in &params {
                let name = p["name"].as_str().unwrap();
                let string = resolve(&p["schema"])["type"] == "string";
                match p["in"].as_str() {
                    Some("path") => sent.push((fill(Some(name)), None)),
                    Some("query") if string => {
                        sent.push((format!("{}?{name}=a%00b", fill(None)), None));
                    }
                    _ => {}
                }
            }
            let body = &operation["requestBody"]["content"]["application/json"]["schema"];
            if !body.is_null() {
                for path in strings(body, &resolve, 0) {
                    sent.push((fill(None), Some(body_with_nul(&path))));
                }
            }
            for (path, body) in sent {
                let reply = app
                    .send(method.clone(), &path, Some(&app.admin), body.clone(), &[])
                    .await;
                assert_eq!(
                    (
                        reply.status.as_u16(),
                        reply.body["type"].as_str().unwrap_or("")
                    ),
                    (400, "invalid-text"),
                    "{method} {path} {body:?}: {:?}",
                    reply.body
                );
                cases += 1;
            }
        }
    }
    assert!(cases > 150, "only {cases} cases: is the document read?");
}

async fn bodies_of_the_wrong_shape_and_methods_a_path_lacks_are_refused_clearly(app: TestApp) {
    let c = app.cluster("U30007").await;
    let services = "/api/v1/clusters/U30007/services";
    // serde alone would read the array as the service's fields in order.
    let array = app
        .post(
            services,
            &c.manager,
            json!(["arr-svc", "Array service", "nurse"]),
        )
        .await;
    let problem = array.problem(422, "invalid-body");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("object"),
        "{problem}"
    );
    let nested = app
        .post(
            "/api/v1/clusters/U30007/sharing",
            &c.manager,
            json!({"triage": ["not", "an", "object"]}),
        )
        .await;
    assert_eq!(
        nested.status.as_u16(),
        405,
        "sharing is PUT: {:?}",
        nested.body
    );
    let rules = app
        .send(
            Method::PUT,
            "/api/v1/clusters/U30007/sharing",
            Some(&c.manager),
            Some(json!({"triage": ["not", "an", "object"]})),
            &[],
        )
        .await;
    rules.problem(422, "invalid-body");
    // A value of the wrong type is JSON of the wrong shape (422), not text that is not JSON.
    let wrong_type = app
        .post(
            "/api/v1/clusters/U30007/rebooking/some-id/resolve",
            &c.manager,
            json!({"resolution": 1}),
        )
        .await;
    wrong_type.problem(422, "invalid-body");
    // The caller's rights come before its body: a receptionist hears 403 whatever it sent.
    for body in [json!({"code": 1}), json!([1, 2]), json!({})] {
        app.post(services, &c.receptionist, body)
            .await
            .problem(403, "forbidden");
    }
    let not_json = app
        .client
        .post(format!("{}{services}", app.base))
        .bearer_auth(&c.hub_staff)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    TestApp::reply(not_json).await.problem(403, "forbidden");
    // A method the path does not have: 405 naming those it has.
    let wrong_method = app
        .call(Method::DELETE, services, Some(&c.manager), None)
        .await;
    wrong_method.problem(405, "method-not-allowed");
    assert_eq!(
        wrong_method
            .headers
            .get("allow")
            .and_then(|v| v.to_str().ok()),
        Some("GET, POST")
    );
    let trace = app.call(Method::TRACE, "/health/ready", None, None).await;
    trace.problem(405, "method-not-allowed");
    assert_eq!(
        trace.headers.get("allow").and_then(|v| v.to_str().ok()),
        Some("GET")
    );
    app.call(
        Method::DELETE,
        "/api/v1/no-such-thing",
        Some(&c.manager),
        None,
    )
    .await
    .problem(404, "not-found");
}

/// What a client generated from the document may send is read as the document says: a whole
/// number written with a fraction is an integer, a tagged shape has no other members, a cursor
/// the list never handed out is `invalid-cursor` (not a missing row), and a caller without the
/// rights hears 403 before its query is read.
async fn the_server_reads_requests_as_the_document_says(app: TestApp) {
    let c = app.open_week("U30017").await;
    // JSON Schema counts 2100.0 as an integer; so does the server.
    let practice = app
        .post(
            "/api/v1/clusters/U30017/practices",
            &c.manager,
            json!({"ods_code": "Y30017", "name": "Whole Number Surgery", "list_size": 2100.0}),
        )
        .await;
    assert_eq!(practice.status.as_u16(), 201, "{:?}", practice.body);
    assert_eq!(practice.body["list_size"], 2100);
    app.post(
        "/api/v1/clusters/U30017/practices",
        &c.manager,
        json!({"ods_code": "Y30018", "name": "Half Surgery", "list_size": 2100.5}),
    )
    .await
    .problem(422, "invalid-body");
    // serde ignores unknown members of a variant without fields; the shape check does not.
    for triage in [
        json!({"kind": "gp_contract", "slots": 3}),
        json!({"kind": "per_day", "slots": 3, "percent": 10}),
    ] {
        let refused = app
            .send(
                Method::PUT,
                "/api/v1/clusters/U30017/sharing",
                Some(&c.manager),
                Some(json!({ "triage": triage })),
                &[("if-match", "*")],
            )
            .await;
        let problem = refused.problem(422, "invalid-body");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("no member"),
            "{problem}"
        );
    }
    let kept = app
        .send(
            Method::PUT,
            "/api/v1/clusters/U30017/sharing",
            Some(&c.manager),
            Some(json!({"triage": {"kind": "per_day", "slots": 3}})),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(kept.status.as_u16(), 200, "{:?}", kept.body);
    // A cursor of the right alphabet that no list handed out.
    for list in [
        "/api/v1/appointments?cursor=eXyy1BWA0NLbNhjj",
        "/api/v1/clusters/U30017/sessions?cursor=eXyy1BWA0NLbNhjj",
    ] {
        app.get(list, &c.manager)
            .await
            .problem(400, "invalid-cursor");
    }
    // Rights before the query: an admin reads no appointments, whatever it filters by.
    app.get("/api/v1/appointments?nhs_number=1234567890", &app.admin)
        .await
        .problem(403, "forbidden");
    app.get(
        "/api/v1/clusters/U30017/reports/no-such-report?from=2026-01-01&to=2025-01-01",
        &c.receptionist,
    )
    .await
    .problem(403, "forbidden");
    // A publication's reason is held to the rules of a withdrawal's.
    let rota = app.get("/api/v1/clusters/U30017/rotas", &c.manager).await;
    let rota = rota.body["items"][0]["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/clusters/U30017/rotas/{rota}/publish"),
        &c.manager,
        json!({"from": "2026-12-07", "to": "2026-12-08", "dry_run": true, "reason": "  "}),
    )
    .await
    .problem(422, "invalid-name");
}

both!(
    the_server_reads_requests_as_the_document_says,
    bodies_of_the_wrong_shape_and_methods_a_path_lacks_are_refused_clearly,
    a_gzip_encoded_body_is_read_and_checked,
    a_nul_in_any_text_the_openapi_declares_is_refused,
    malformed_bodies_get_clear_problems,
    unknown_routes_and_ids_are_not_found,
    a_nul_is_a_clear_problem_never_a_500
);

/// Without a `SELECT 1` per checkout, connections PostgreSQL cut under load (as a restart or a
/// failover cuts them all) each fail one request with 503 and `Retry-After`, never a 500, and
/// are replaced: the server then answers as before. The fault harness restarts the server itself.
#[actix_web::test]
async fn searches_survive_every_connection_being_cut_under_load() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::spawn(hubbook_store::Backend::Postgres).await;
    let c = app.open_week("U30019").await;
    let search = "/api/v1/slots?limit=5";
    app.get(search, &c.receptionist).await.ok(200);
    let schema = app
        .db
        .url
        .rsplit("application_name=")
        .next()
        .unwrap()
        .to_owned();
    let admin_url = std::env::var("HUBBOOK_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let cut = move || {
        let mut admin =
            <diesel::PgConnection as diesel::Connection>::establish(&admin_url).unwrap();
        admin
            .batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = '{schema}' AND pid <> pg_backend_pid()"
            ))
            .unwrap();
    };
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for round in 0..3 {
        let load = (0..24).map(|_| app.get(search, &c.receptionist));
        if round > 0 {
            tokio::task::spawn_blocking(cut.clone()).await.unwrap();
        }
        for reply in futures_util::future::join_all(load).await {
            let status = reply.status.as_u16();
            *statuses.entry(status).or_default() += 1;
            match status {
                200 => {}
                503 => {
                    reply.problem(503, "service-busy");
                    assert!(reply.headers.contains_key("retry-after"));
                }
                other => panic!("{other}: {:?}", reply.body),
            }
        }
    }
    // A cut connection the rounds did not happen to take (a search is quick, so fewer than the
    // pool's eight may be busy at once) fails the one request that next takes it, and no more:
    // at most one 503 per pooled connection, then every search answers as before.
    let mut late = 0;
    for _ in 0..40 {
        let reply = app.get(search, &c.receptionist).await;
        if reply.status.as_u16() == 503 {
            reply.problem(503, "service-busy");
            assert!(reply.headers.contains_key("retry-after"));
            late += 1;
        } else {
            reply.ok(200);
        }
    }
    assert!(late <= 8, "{late} late 503s from a pool of 8 connections");
    for _ in 0..20 {
        app.get(search, &c.receptionist).await.ok(200);
    }
    // The cuts were met (no probe hid them) and answered as a moment's unavailability.
    assert!(
        statuses.get(&503).copied().unwrap_or(0) + late > 0,
        "{statuses:?}"
    );
    assert!(statuses.get(&200).copied().unwrap_or(0) > 0, "{statuses:?}");
}

/// A connection PostgreSQL's administrator terminates (SQLSTATE 57P01) is `Unavailable`, a 503
/// to the caller, not a failure; the pool replaces it.
#[test]
fn a_connection_terminated_by_postgresql_is_unavailable_and_replaced() {
    use diesel::connection::SimpleConnection;
    let db = hubbook_store::test_db::TestDb::postgres();
    let pool = db.pool().unwrap();
    let mut conn = pool.get().unwrap();
    let cut = conn
        .batch_execute("SELECT pg_terminate_backend(pg_backend_pid())")
        .unwrap_err();
    let cut = hubbook_store::StoreError::from(cut);
    assert!(
        matches!(cut, hubbook_store::StoreError::Unavailable(_)),
        "{cut:?}"
    );
    drop(conn);
    let mut again = pool.get().unwrap();
    again.batch_execute("SELECT 1").unwrap();
    // A NUL bound as text is refused as the caller's value, not as a failure.
    let nul = again
        .batch_execute("SELECT convert_from('\\x610062'::bytea, 'UTF8')")
        .unwrap_err();
    assert!(
        matches!(
            hubbook_store::StoreError::from(nul),
            hubbook_store::StoreError::Db(hubbook_store::DbError::Rejected(_))
        ),
        "a NUL in text"
    );
}
