//! Operations routes, the docs page, and the committed OpenAPI document.

use reqwest::Method;

use crate::both;
use crate::helpers::{sample, TestApp};

async fn health_metrics_and_docs_need_no_token(app: TestApp) {
    assert_eq!(
        app.call(Method::GET, "/health/live", None, None)
            .await
            .ok(200)["status"],
        "ok"
    );
    assert_eq!(
        app.call(Method::GET, "/health/ready", None, None)
            .await
            .ok(200)["status"],
        "ok"
    );
    app.get("/api/v1/clusters", &app.admin).await.ok(200);
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"hubbook_http_requests_total{method="GET",route="/api/v1/clusters",status="200"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("hubbook_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("hubbook_db_pool_max_connections 8"));

    let docs = app
        .client
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("https://") && !html.contains("http://"),
        "the docs page loads nothing from elsewhere"
    );
    let initializer = app
        .client
        .get(format!("{}/docs/swagger-initializer.js", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("/openapi.json"));
    let served: serde_json::Value = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served["openapi"], "3.1.0");
    assert!(served["paths"]["/api/v1/clusters/{code}/practices"]["post"].is_object());
}

/// Every response of every front end carries a request id: the caller's when sane, else a new
/// UUID; a problem's `instance` names it, also for a request refused before any route.
async fn every_request_has_an_id_echoed_and_in_its_problem(app: TestApp) {
    let with = |id: &'static str| [("X-Request-Id", id)];
    let refused = app
        .send(
            Method::GET,
            "/api/v1/no-such-route",
            None,
            None,
            &with("demo-1"),
        )
        .await;
    assert_eq!(refused.headers["x-request-id"], "demo-1");
    assert_eq!(refused.problem(404, "not-found")["instance"], "demo-1");
    // Refused by a middleware before any route, still named.
    let control = app
        .send(
            Method::GET,
            "/api/v1/clusters/%00",
            None,
            None,
            &with("a.b_c:d-2"),
        )
        .await;
    assert_eq!(control.headers["x-request-id"], "a.b_c:d-2");
    assert_eq!(
        control.problem(400, "invalid-text")["instance"],
        "a.b_c:d-2"
    );
    // A token refused names the request, as does a successful request.
    let bad_token = app
        .send(
            Method::GET,
            "/api/v1/clusters",
            Some("nonsense"),
            None,
            &with("demo-3"),
        )
        .await;
    assert_eq!(
        bad_token.problem(401, "invalid-token")["instance"],
        "demo-3"
    );
    let ok = app
        .send(
            Method::GET,
            "/api/v1/clusters",
            Some(&app.admin),
            None,
            &with("demo-4"),
        )
        .await;
    ok.ok(200);
    assert_eq!(ok.headers["x-request-id"], "demo-4");
    // No id, or one that is not sane, gets a UUID of the server's.
    let long = "x".repeat(129);
    for sent in [None, Some("two words"), Some(long.as_str()), Some("")] {
        let headers: Vec<(&str, &str)> = sent.map(|s| ("X-Request-Id", s)).into_iter().collect();
        let reply = app
            .send(Method::GET, "/api/v1/no-such-route", None, None, &headers)
            .await;
        let id = reply.headers["x-request-id"].to_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id} for {sent:?}");
        assert_eq!(
            reply.problem(404, "not-found")["instance"],
            format!("urn:uuid:{id}")
        );
    }
    // The console, the GP Connect facade (an OperationOutcome) and the docs echo it too.
    for path in ["/sign-in", "/gpconnect/fhir/metadata", "/docs/", "/metrics"] {
        let reply = app
            .send(Method::GET, path, None, None, &with("demo-5"))
            .await;
        assert_eq!(reply.headers["x-request-id"], "demo-5", "{path}");
    }
}

/// The process, the build and sign-in refusals are measured, each family with its HELP and
/// TYPE, and a refusal moves its counter: a wrong password counts as wrong credentials, a try
/// while the name waits as throttled.
async fn process_build_and_sign_in_refusals_are_measured(app: TestApp) {
    let before = app.metrics().await;
    for (family, kind) in [
        ("process_cpu_seconds_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
        ("hubbook_build_info", "gauge"),
        ("hubbook_sign_in_refusals_total", "counter"),
        ("hubbook_webhook_deliveries_total", "counter"),
        (
            "hubbook_webhook_oldest_undelivered_event_age_seconds",
            "gauge",
        ),
        ("hubbook_slot_releases_announced_total", "counter"),
    ] {
        assert!(
            before.contains(&format!("# HELP {family} ")),
            "{family}: {before}"
        );
        assert!(
            before.contains(&format!("# TYPE {family} {kind}\n")),
            "{family}: {before}"
        );
    }
    assert!(sample(&before, "process_resident_memory_bytes").unwrap() > 1e6);
    assert!(sample(&before, "process_open_fds").unwrap() >= 3.0);
    let started = sample(&before, "process_start_time_seconds").unwrap();
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        started > now - 86_400.0 && started <= now + 1.0,
        "{started}"
    );
    let build = before
        .lines()
        .find(|l| l.starts_with("hubbook_build_info{"))
        .unwrap();
    let commit = build
        .split("commit=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{build}"
    );
    assert!(
        build.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
        "{build}"
    );
    assert!(build.ends_with(" 1"), "{build}");
    let wrong = r#"hubbook_sign_in_refusals_total{reason="wrong_credentials"}"#;
    let throttled = r#"hubbook_sign_in_refusals_total{reason="throttled"}"#;
    assert_eq!(sample(&before, wrong), Some(0.0));
    assert_eq!(sample(&before, throttled), Some(0.0));
    let token = |password: &'static str| {
        app.call(
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(serde_json::json!({"grant_type": "password", "username": "root", "password": password})),
        )
    };
    token("not-the-password")
        .await
        .problem(401, "invalid-credentials");
    let after = app.metrics().await;
    assert_eq!(sample(&after, wrong), Some(1.0));
    assert_eq!(sample(&after, throttled), Some(0.0));
    for _ in 0..5 {
        token("not-the-password").await;
    }
    token(crate::helpers::PASSWORD)
        .await
        .problem(429, "sign-in-throttled");
    let throttled_now = app.metrics().await;
    assert_eq!(sample(&throttled_now, wrong), Some(6.0));
    assert_eq!(sample(&throttled_now, throttled), Some(1.0));
    let cpu = sample(&throttled_now, "process_cpu_seconds_total").unwrap();
    assert!(cpu > 0.0, "{cpu}");
}

both!(
    process_build_and_sign_in_refusals_are_measured,
    health_metrics_and_docs_need_no_token,
    every_request_has_an_id_echoed_and_in_its_problem,
);
