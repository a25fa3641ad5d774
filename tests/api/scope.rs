//! Every route built so far, called by every role in and out of scope: 403 or 404, never data.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{TestApp, PASSWORD};

struct Callers {
    names: Vec<&'static str>,
    tokens: Vec<String>,
}

async fn every_route_checks_role_and_scope(app: TestApp) {
    let a = app.cluster("U40001").await;
    let b = app.cluster("U40002").await;
    let callers = Callers {
        names: vec![
            "admin",
            "manager",
            "other manager",
            "hub staff",
            "receptionist",
            "triage",
            "other triage",
        ],
        tokens: vec![
            app.admin.clone(),
            a.manager.clone(),
            b.manager.clone(),
            a.hub_staff.clone(),
            a.receptionist.clone(),
            a.triage.clone(),
            b.triage.clone(),
        ],
    };
    let p = &a.practice_id;
    let s = &a.site_id;
    let v = &a.service_id;
    let counter = std::cell::Cell::new(0);
    let next = || {
        counter.set(counter.get() + 1);
        counter.get()
    };
    // (method, path, body maker, expected status per caller in the order above)
    type Body<'a> = Box<dyn FnMut() -> Option<Value> + 'a>;
    let mut routes: Vec<(Method, String, Body, [u16; 7])> = vec![
        (
            Method::GET,
            "/api/v1/clusters/U40001".into(),
            Box::new(|| None),
            [200, 200, 404, 200, 200, 200, 404],
        ),
        (
            Method::PATCH,
            "/api/v1/clusters/U40001".into(),
            Box::new(|| Some(json!({"name": "Renamed"}))),
            [200, 200, 404, 403, 403, 403, 404],
        ),
        (
            Method::GET,
            "/api/v1/clusters/U40001/practices".into(),
            Box::new(|| None),
            [200, 200, 404, 200, 200, 200, 404],
        ),
        (
            Method::GET,
            format!("/api/v1/clusters/U40001/practices/{p}"),
            Box::new(|| None),
            [200, 200, 404, 200, 200, 200, 404],
        ),
        (
            Method::PATCH,
            format!("/api/v1/clusters/U40001/practices/{p}"),
            Box::new(|| Some(json!({"list_size": 9001}))),
            [403, 200, 404, 403, 403, 403, 404],
        ),
        (
            Method::GET,
            "/api/v1/clusters/U40001/sites".into(),
            Box::new(|| None),
            [200, 200, 404, 200, 200, 200, 404],
        ),
        (
            Method::GET,
            format!("/api/v1/clusters/U40001/sites/{s}"),
            Box::new(|| None),
            [200, 200, 404, 200, 200, 200, 404],
        ),
        (
            Method::PATCH,
            format!("/api/v1/clusters/U40001/sites/{s}"),
            Box::new(|| Some(json!({"address": "2 Test Street"}))),
            [403, 200, 404, 403, 403, 403, 404],
        ),
        (
            Method::GET,
            "/api/v1/clusters/U40001/services".into(),
            Box::new(|| None),
            [200, 200, 404, 200, 200, 200, 404],
        ),
        (
            Method::GET,
            format!("/api/v1/clusters/U40001/services/{v}"),
            Box::new(|| None),
            [200, 200, 404, 200, 200, 200, 404],
        ),
        (
            Method::PATCH,
            format!("/api/v1/clusters/U40001/services/{v}"),
            Box::new(|| Some(json!({"name": "GP (evening)"}))),
            [403, 200, 404, 403, 403, 403, 404],
        ),
        (
            Method::GET,
            "/api/v1/clusters/U40001/users".into(),
            Box::new(|| None),
            [200, 200, 404, 403, 403, 403, 404],
        ),
        (
            Method::GET,
            "/api/v1/integrations".into(),
            Box::new(|| None),
            [200, 200, 200, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/dispositions".into(),
            Box::new(|| None),
            [200, 200, 200, 403, 403, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/triage/availability?disposition=Dx05".into(),
            Box::new(|| None),
            [403, 403, 403, 403, 403, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/clusters/U40001/events".into(),
            Box::new(|| None),
            [403, 200, 404, 403, 403, 200, 404],
        ),
        (
            Method::GET,
            "/api/v1/clusters/U40001/webhooks".into(),
            Box::new(|| None),
            [403, 200, 404, 403, 403, 403, 404],
        ),
        (
            Method::GET,
            "/api/v1/clusters/U40001/reports/utilisation?from=2026-12-01&to=2026-12-07".into(),
            Box::new(|| None),
            [403, 200, 404, 403, 403, 403, 404],
        ),
    ];
    let creates: Vec<(Method, String, Body, [u16; 7])> = vec![
        (
            Method::POST,
            "/api/v1/clusters".into(),
            Box::new(|| Some(json!({"code": format!("U5{:04}", next()), "name": "New"}))),
            [201, 403, 403, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            "/api/v1/clusters/U40001/practices".into(),
            Box::new(|| {
                Some(json!({"ods_code": format!("D9{:04}", next()), "name": "P", "list_size": 100}))
            }),
            [403, 201, 404, 403, 403, 403, 404],
        ),
    ];
    routes.extend(creates);
    for (method, path, mut body, expected) in routes {
        for (i, token) in callers.tokens.iter().enumerate() {
            let reply = app.call(method.clone(), &path, Some(token), body()).await;
            let status = reply.status.as_u16();
            assert_eq!(
                status, expected[i],
                "{} {method} {path}: {:?}",
                callers.names[i], reply.body
            );
            match status {
                403 => {
                    reply.problem(403, "forbidden");
                }
                404 => {
                    reply.problem(404, "not-found");
                }
                _ => {}
            }
        }
    }
    // Creates of sites, services, users and integrations, with unique bodies per caller.
    for (i, token) in callers.tokens.iter().enumerate() {
        let site = app.post("/api/v1/clusters/U40001/sites", token, json!({"name": format!("Site {i}"), "kind": "surgery", "address": "A", "postcode": "LS2 7AA", "latitude": 53.8, "longitude": -1.55})).await;
        let service = app
            .post(
                "/api/v1/clusters/U40001/services",
                token,
                json!({"code": format!("s{i}"), "name": "S", "clinical_role": "nurse"}),
            )
            .await;
        let user = app.post("/api/v1/clusters/U40001/users", token, json!({"username": format!("u{i}-x"), "display_name": "U", "password": PASSWORD, "role": "hub_staff"})).await;
        let integration = app
            .post(
                "/api/v1/integrations",
                token,
                json!({"name": "I", "clusters": ["U40001"]}),
            )
            .await;
        let got = [
            site.status.as_u16(),
            service.status.as_u16(),
            user.status.as_u16(),
            integration.status.as_u16(),
        ];
        let want = match callers.names[i] {
            "admin" => [403, 403, 201, 201],
            "manager" => [201, 201, 201, 201],
            "other manager" => [404, 404, 404, 422],
            "other triage" => [404, 404, 404, 403],
            _ => [403, 403, 403, 403],
        };
        assert_eq!(
            got, want,
            "{} creating site, service, user, integration",
            callers.names[i]
        );
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
    // Items of users and integrations, per role.
    let users_a = app.get("/api/v1/clusters/U40001/users", &a.manager).await;
    let hub_id = users_a.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "hub_staff")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user_path = format!("/api/v1/clusters/U40001/users/{hub_id}");
    let integrations_a = app.get("/api/v1/integrations", &a.manager).await;
    let client_id = integrations_a.ok(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let client_path = format!("/api/v1/integrations/{client_id}");
    for (i, token) in callers.tokens.iter().enumerate() {
        let got = [
            app.get(&user_path, token).await.status.as_u16(),
            app.patch(&user_path, token, json!({"display_name": "Renamed"}))
                .await
                .status
                .as_u16(),
            app.get(&client_path, token).await.status.as_u16(),
            app.patch(&client_path, token, json!({"name": "Renamed 111"}))
                .await
                .status
                .as_u16(),
        ];
        let want = match callers.names[i] {
            "admin" | "manager" => [200, 200, 200, 200],
            "other manager" => [404, 404, 404, 404],
            "other triage" => [404, 404, 403, 403],
            _ => [403, 403, 403, 403],
        };
        assert_eq!(
            got, want,
            "{} on a user and an integration",
            callers.names[i]
        );
    }
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
