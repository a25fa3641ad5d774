//! Operations routes, the docs page, and the committed OpenAPI document.

use reqwest::Method;

use crate::both;
use crate::helpers::TestApp;

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

both!(health_metrics_and_docs_need_no_token);
