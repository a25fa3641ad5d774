//! The committed `openapi/openapi.json` must be what the code generates.
//!
//! After changing a route or a schema, regenerate it with
//! `cargo run -- openapi --output openapi/openapi.json`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[test]
fn committed_openapi_matches_the_code() {
    let generated = hubbook_api::openapi().to_pretty_json().unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == committed,
        "openapi/openapi.json is out of date: run `cargo run -- openapi --output openapi/openapi.json` and commit it"
    );
}

#[test]
fn every_operation_is_documented_with_its_errors() {
    let doc = serde_json::to_value(hubbook_api::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 15, "{} paths", paths.len());
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["description"].is_string() || op["summary"].is_string(),
                "{method} {path} has no description"
            );
            if path.starts_with("/api/v1/") && path != "/api/v1/auth/token" {
                assert!(
                    op["security"].is_array(),
                    "{method} {path} does not say it needs a token"
                );
            }
        }
    }
}
