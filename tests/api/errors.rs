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
    // In a body: never a 500 (PostgreSQL refuses the NUL as the caller's value; SQLite stores it).
    for body in [
        json!({"ods_code": "A81001", "name": "Nul\u{0}Surgery", "list_size": 5}),
        json!({"ods_code": "A81001", "name": "Nul\u{0}", "list_size": 5}),
    ] {
        let reply = app
            .post("/api/v1/clusters/U30003/practices", &c.manager, body)
            .await;
        assert!(
            reply.status.is_client_error() || reply.status.is_success(),
            "{:?}",
            reply.body
        );
    }
    let sign_in = app
        .client
        .post(format!("{}/api/v1/auth/token", app.base))
        .json(&json!({"grant_type": "password", "username": "man\u{0}ager", "password": "x"}))
        .send()
        .await
        .unwrap();
    let sign_in = TestApp::reply(sign_in).await;
    assert!(sign_in.status.is_client_error(), "{:?}", sign_in.body);
}

both!(
    malformed_bodies_get_clear_problems,
    unknown_routes_and_ids_are_not_found,
    a_nul_is_a_clear_problem_never_a_500
);

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
