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

both!(
    malformed_bodies_get_clear_problems,
    unknown_routes_and_ids_are_not_found
);
