//! Clusters, practices, sites, services, users and integrations: create, read, list, update,
//! with validation, idempotency keys, ETags and cursor pagination.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{Reply, TestApp, PASSWORD};

async fn a_manager_sets_up_a_cluster(app: TestApp) {
    let c = app.cluster("U20001").await;
    let cluster = app.get("/api/v1/clusters/u20001", &c.manager).await;
    assert_eq!(cluster.ok(200)["time_zone"], "Europe/London");
    assert_eq!(cluster.etag(), "\"1\"");
    let practices = app
        .get("/api/v1/clusters/U20001/practices", &c.receptionist)
        .await;
    let items = practices.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["ods_code"], "B82001");
    assert_eq!(items[0]["list_size"], 9000);
    assert_eq!(items[0]["data_sharing_from"], "2026-01-01");
    let site = app
        .get(
            &format!("/api/v1/clusters/U20001/sites/{}", c.site_id),
            &c.hub_staff,
        )
        .await;
    assert_eq!(site.ok(200)["postcode"], "LS1 4AP");
    let service = app
        .get(
            &format!("/api/v1/clusters/U20001/services/{}", c.service_id),
            &c.triage,
        )
        .await;
    assert_eq!(service.ok(200)["clinical_role"], "gp");
    // Every create was audited in its own transaction.
    assert!(app.count("audit_events") >= 8);
}

async fn invalid_domain_values_get_their_own_problem_types(app: TestApp) {
    let c = app.cluster("U20002").await;
    let base = "/api/v1/clusters/U20002";
    let cases = [
        (
            "practices",
            json!({"ods_code": "A8100", "name": "P", "list_size": 10}),
            "invalid-ods-code",
        ),
        (
            "practices",
            json!({"ods_code": "A81002", "name": "P", "list_size": 0}),
            "invalid-list-size",
        ),
        (
            "practices",
            json!({"ods_code": "A81002", "name": "P", "list_size": 10, "data_sharing_from": "2026-02-01", "data_sharing_to": "2026-01-01"}),
            "invalid-date-range",
        ),
        (
            "practices",
            json!({"ods_code": "A81002", "name": "  ", "list_size": 10}),
            "invalid-name",
        ),
        (
            "sites",
            json!({"name": "S", "kind": "hub", "address": "A", "postcode": "LS1 4CI", "latitude": 53.8, "longitude": -1.5}),
            "invalid-postcode",
        ),
        (
            "sites",
            json!({"name": "S", "kind": "hub", "address": "A", "postcode": "LS1 4AP", "latitude": -1.5, "longitude": 53.8}),
            "invalid-coordinates",
        ),
        (
            "services",
            json!({"code": "GP!", "name": "S", "clinical_role": "gp"}),
            "invalid-service-code",
        ),
        (
            "services",
            json!({"code": "gp2", "name": "S", "clinical_role": "surgeon"}),
            "unknown-clinical-role",
        ),
        (
            "users",
            json!({"username": "x1x", "display_name": "X", "password": "short", "role": "hub_staff"}),
            "weak-password",
        ),
        (
            "users",
            json!({"username": "x1x", "display_name": "X", "password": PASSWORD, "role": "receptionist"}),
            "invalid-role",
        ),
        (
            "users",
            json!({"username": "x1x", "display_name": "X", "password": PASSWORD, "role": "admin"}),
            "invalid-role",
        ),
    ];
    for (collection, body, kind) in cases {
        let reply = app
            .post(&format!("{base}/{collection}"), &c.manager, body)
            .await;
        reply.problem(422, kind);
    }
    let zone = app
        .post(
            "/api/v1/clusters",
            &app.admin,
            json!({"code": "U20003", "name": "Z", "time_zone": "Europe/Londinium"}),
        )
        .await;
    zone.problem(422, "invalid-time-zone");
    let code = app
        .post(
            "/api/v1/clusters",
            &app.admin,
            json!({"code": "1-bad", "name": "Z"}),
        )
        .await;
    code.problem(422, "invalid-cluster-code");
    let site = app
        .post(
            &format!("{base}/practices"),
            &c.manager,
            json!({"ods_code": "A81002", "name": "P", "list_size": 10, "site_id": "no-such-site"}),
        )
        .await;
    site.problem(422, "unknown-reference");
    let dup = app
        .post(
            &format!("{base}/practices"),
            &c.manager,
            json!({"ods_code": "b82001", "name": "Again", "list_size": 10}),
        )
        .await;
    assert!(dup.problem(409, "already-exists")["detail"]
        .as_str()
        .unwrap()
        .contains("ODS code"));
    // Nothing half-written: still one practice.
    assert_eq!(app.count("practices"), 1);
}

async fn idempotency_keys_replay_the_first_response(app: TestApp) {
    let c = app.cluster("U20004").await;
    let path = "/api/v1/clusters/U20004/practices";
    let body = json!({"ods_code": "C83001", "name": "Idem Surgery", "list_size": 5000});
    let key = [("Idempotency-Key", "3f1c9a52-practice-1")];
    let first = app
        .send(
            Method::POST,
            path,
            Some(&c.manager),
            Some(body.clone()),
            &key,
        )
        .await;
    let second = app
        .send(
            Method::POST,
            path,
            Some(&c.manager),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(first.ok(201), second.ok(201));
    assert_eq!(first.etag(), second.etag());
    assert_eq!(app.count("practices"), 2);
    let other = app
        .send(
            Method::POST,
            path,
            Some(&c.manager),
            Some(json!({"ods_code": "C83002", "name": "Other", "list_size": 1})),
            &key,
        )
        .await;
    other.problem(422, "idempotency-key-reused");
    assert_eq!(app.count("practices"), 2);

    // Concurrent retries of one key create one row and all get the same answer.
    let key = [("Idempotency-Key", "race-1")];
    let body = json!({"ods_code": "C83003", "name": "Race Surgery", "list_size": 5000});
    let replies = futures_util::future::join_all((0..12).map(|_| {
        app.send(
            Method::POST,
            path,
            Some(&c.manager),
            Some(body.clone()),
            &key,
        )
    }))
    .await;
    let ids: std::collections::BTreeSet<String> = replies
        .iter()
        .map(|r| r.ok(201)["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.count("practices"), 3);

    let bad_key = app
        .send(
            Method::POST,
            path,
            Some(&c.manager),
            Some(body),
            &[("Idempotency-Key", "")],
        )
        .await;
    bad_key.problem(400, "invalid-idempotency-key");
}

async fn updates_honour_if_match(app: TestApp) {
    let c = app.cluster("U20005").await;
    let path = format!("/api/v1/clusters/U20005/practices/{}", c.practice_id);
    let read = app.get(&path, &c.manager).await;
    let etag = read.etag();
    assert_eq!(etag, "\"1\"");
    let updated = app
        .send(
            Method::PATCH,
            &path,
            Some(&c.manager),
            Some(json!({"list_size": 9100, "site_id": c.site_id})),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(updated.ok(200)["list_size"], 9100);
    assert_eq!(updated.etag(), "\"2\"");
    let stale = app
        .send(
            Method::PATCH,
            &path,
            Some(&c.manager),
            Some(json!({"list_size": 1})),
            &[("If-Match", &etag)],
        )
        .await;
    stale.problem(412, "precondition-failed");
    let nonsense = app
        .send(
            Method::PATCH,
            &path,
            Some(&c.manager),
            Some(json!({"list_size": 1})),
            &[("If-Match", "\"abc\"")],
        )
        .await;
    nonsense.problem(412, "precondition-failed");
    // Without If-Match an update is refused; a weak tag never matches.
    let blind = app
        .client
        .patch(format!("{}{path}", app.base))
        .bearer_auth(&c.manager)
        .json(&json!({"list_size": 1}))
        .send()
        .await
        .unwrap();
    TestApp::reply(blind)
        .await
        .problem(428, "precondition-required");
    let weak = app
        .send(
            Method::PATCH,
            &path,
            Some(&c.manager),
            Some(json!({"list_size": 1})),
            &[("If-Match", "W/\"2\"")],
        )
        .await;
    weak.problem(412, "precondition-failed");
    let after = app.get(&path, &c.manager).await;
    assert_eq!(after.ok(200)["list_size"], 9100);
    assert_eq!(after.body["site_id"], c.site_id.as_str());
    // null clears an optional field; an end date before the start is refused as it would stand.
    let cleared = app.patch(&path, &c.manager, json!({"site_id": null})).await;
    assert!(cleared.ok(200)["site_id"].is_null());
    app.patch(&path, &c.manager, json!({"data_sharing_to": "2025-01-01"}))
        .await
        .problem(422, "invalid-date-range");
    let audit = app.count("audit_events");
    assert!(audit > 0);
}

async fn lists_page_with_an_opaque_cursor(app: TestApp) {
    let c = app.cluster("U20006").await;
    let path = "/api/v1/clusters/U20006/services";
    for i in 0..6 {
        app.post(path, &c.manager, json!({"code": format!("svc-{i}"), "name": format!("Service {i}"), "clinical_role": "nurse"})).await.ok(201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?limit=3&cursor={c}"),
            None => format!("{path}?limit=3"),
        };
        let page = app.get(&url, &c.manager).await;
        let body = page.ok(200).clone();
        seen.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["code"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (7, 7));
    app.get(&format!("{path}?cursor=%%%"), &c.manager)
        .await
        .problem(400, "invalid-cursor");
    app.get(&format!("{path}?limit=ten"), &c.manager)
        .await
        .problem(400, "invalid-query");
    let huge = app.get(&format!("{path}?limit=100000"), &c.manager).await;
    assert_eq!(huge.ok(200)["items"].as_array().unwrap().len(), 7);
}

async fn integrations_show_their_secret_once(app: TestApp) {
    let c = app.cluster("U20007").await;
    let created = app
        .post(
            "/api/v1/integrations",
            &c.manager,
            json!({"name": "Manager's 111", "clusters": ["U20007"]}),
        )
        .await;
    let body = created.ok(201).clone();
    assert!(body["client_secret"].as_str().unwrap().len() >= 40);
    assert_eq!(body["clusters"], json!(["U20007"]));
    let read = app
        .get(
            &format!("/api/v1/integrations/{}", body["id"].as_str().unwrap()),
            &c.manager,
        )
        .await;
    assert!(read.ok(200).get("client_secret").is_none());
    // A manager may not scope a client to another cluster.
    app.post(
        "/api/v1/clusters",
        &app.admin,
        json!({"code": "U20008", "name": "Other"}),
    )
    .await
    .ok(201);
    let other = app
        .post(
            "/api/v1/integrations",
            &c.manager,
            json!({"name": "X", "clusters": ["U20008"]}),
        )
        .await;
    other.problem(422, "unknown-cluster");
    let listed = app.get("/api/v1/integrations", &c.manager).await;
    assert_eq!(listed.ok(200)["items"].as_array().unwrap().len(), 2);
    assert!(!listed.body.to_string().contains("secret_hash"));
    // A create retried with its Idempotency-Key returns the same client, without the secret: it
    // is shown once, and the stored copy of the answer never held it.
    let key = [("Idempotency-Key", "client-create-1")];
    let body = json!({"name": "Retry 111", "clusters": ["U20007"]});
    let first = app
        .send(
            Method::POST,
            "/api/v1/integrations",
            Some(&c.manager),
            Some(body.clone()),
            &key,
        )
        .await;
    let secret = first.ok(201)["client_secret"].as_str().unwrap().to_owned();
    let again = app
        .send(
            Method::POST,
            "/api/v1/integrations",
            Some(&c.manager),
            Some(body),
            &key,
        )
        .await;
    assert_eq!(again.ok(201)["id"], first.body["id"]);
    assert!(again.body.get("client_secret").is_none());
    assert_eq!(
        app.count(&format!("idempotency_keys WHERE body LIKE '%{secret}%'")),
        0
    );
}

async fn concurrent_writes_never_fail_busy(app: TestApp) {
    let c = app.cluster("U20009").await;
    let path = "/api/v1/clusters/U20009/services";
    let replies = futures_util::future::join_all((0..40).map(|i| {
        app.post(
            path,
            &c.manager,
            json!({"code": format!("race-{i}"), "name": "Race", "clinical_role": "nurse"}),
        )
    }))
    .await;
    for reply in &replies {
        reply.ok(201);
    }
    // Racing updates of one row: each either wins or gets a clean 412, never a 5xx.
    let site = format!("/api/v1/clusters/U20009/sites/{}", c.site_id);
    let replies = futures_util::future::join_all((0..20).map(|i| {
        app.send(
            Method::PATCH,
            &site,
            Some(&c.manager),
            Some(json!({"address": format!("{i} Race Road")})),
            &[("If-Match", "\"1\"")],
        )
    }))
    .await;
    let won = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(won, 1, "exactly one update of version 1 wins");
    for reply in replies.iter().filter(|r| r.status != 200) {
        reply.problem(412, "precondition-failed");
    }
    assert_eq!(app.count("services"), 41);
}

/// The admin's create, sent twice with the same key.
async fn sent_twice(app: &TestApp, path: &str, key: &str, body: Value) -> (Reply, Reply) {
    let key = [("Idempotency-Key", key)];
    let first = app
        .send(
            Method::POST,
            path,
            Some(&app.admin),
            Some(body.clone()),
            &key,
        )
        .await;
    let again = app
        .send(Method::POST, path, Some(&app.admin), Some(body), &key)
        .await;
    (first, again)
}

async fn creates_known_by_code_replay_by_key(app: TestApp) {
    // Clusters and dispositions have no id in their answers: a retry reads them back by code.
    let body = json!({"code": "U20010", "name": "Retried", "time_zone": "Europe/London"});
    let (first, again) = sent_twice(&app, "/api/v1/clusters", "cluster-create-1", body).await;
    assert_eq!(first.ok(201), again.ok(201));
    assert_eq!(
        (first.etag(), again.etag()),
        ("\"1\"".into(), "\"1\"".into())
    );
    assert_eq!(app.count("clusters WHERE code = 'U20010'"), 1);
    let body = json!({"code": "Zr01", "description": "Retried", "timeframe_minutes": 120, "delivery": "either", "services": ["gp", "nurse"]});
    let (first, again) =
        sent_twice(&app, "/api/v1/dispositions", "disposition-create-1", body).await;
    assert_eq!(first.ok(201), again.ok(201));
    assert_eq!(again.body["services"], json!(["gp", "nurse"]));
    assert_eq!(app.count("dispositions WHERE code = 'Zr01'"), 1);
}

/// A search keeps the reference data it read, and any change to it, however made (here plain
/// SQL behind the server's back), bumps the reference version in the same transaction: the next
/// search reads the change. Every reference table has its trigger.
async fn every_change_to_reference_data_is_read_at_once(app: TestApp) {
    use diesel::connection::SimpleConnection;
    use hubbook_store::repo::reference::version;
    let c = app.open_week("U20031").await;
    let search = "/api/v1/slots?from=2026-12-07T00:00:00Z&to=2026-12-08T00:00:00Z&limit=5";
    let first = app.get(search, &c.receptionist).await;
    assert_eq!(first.ok(200)["items"][0]["site"]["name"], "Hub North");
    app.get(search, &c.receptionist).await.ok(200);
    let mut conn = app.pool.get().unwrap();
    for (table, column) in [
        ("clusters", "name"),
        ("practices", "name"),
        ("sites", "name"),
        ("services", "name"),
        ("sharing_rules", "created_by"),
        ("dispositions", "description"),
        ("disposition_services", "service_code"),
    ] {
        assert!(app.count(table) > 0, "{table} has rows to change");
        let before = version(&mut conn).unwrap();
        conn.batch_execute(&format!("UPDATE {table} SET {column} = {column}"))
            .unwrap();
        assert!(
            version(&mut conn).unwrap() > before,
            "a change to {table} bumps the reference version"
        );
    }
    conn.batch_execute(&format!(
        "UPDATE sites SET name = 'Hub Renamed' WHERE id = '{}'",
        c.site_id
    ))
    .unwrap();
    let renamed = app.get(search, &c.receptionist).await;
    assert_eq!(renamed.ok(200)["items"][0]["site"]["name"], "Hub Renamed");
    // Nothing a search or a booking does writes reference data: the version stands still.
    let before = version(&mut conn).unwrap();
    let slot = renamed.body["items"][0]["slot_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        Method::POST,
        &format!("/api/v1/slots/{slot}/hold"),
        Some(&c.receptionist),
        None,
    )
    .await
    .ok(201);
    app.get(search, &c.receptionist).await.ok(200);
    assert_eq!(version(&mut conn).unwrap(), before);
}

both!(
    every_change_to_reference_data_is_read_at_once,
    concurrent_writes_never_fail_busy,
    a_manager_sets_up_a_cluster,
    invalid_domain_values_get_their_own_problem_types,
    idempotency_keys_replay_the_first_response,
    updates_honour_if_match,
    lists_page_with_an_opaque_cursor,
    integrations_show_their_secret_once,
    creates_known_by_code_replay_by_key,
);
