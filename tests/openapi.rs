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

/// Every kind of problem the API answers with is documented for integrators: the general ones
/// (a body that does not parse, an expired token, a busy database) in the API's description,
/// every other one in the error responses of at least one operation.
#[test]
fn every_problem_type_is_documented() {
    let doc = serde_json::to_value(hubbook_api::openapi()).unwrap();
    let general = doc["info"]["description"].as_str().unwrap_or_default();
    let mut operations = String::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                if status.starts_with('4') || status.starts_with('5') {
                    operations.push_str(response["description"].as_str().unwrap_or_default());
                    operations.push('\n');
                }
            }
        }
    }
    let missing: Vec<&str> = hubbook_api::ProblemType::ALL
        .iter()
        .filter(|kind| {
            let name = format!("`{}`", kind.as_str());
            if kind.is_general() {
                !general.contains(&name)
            } else {
                !operations.contains(&name)
            }
        })
        .map(|kind| kind.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "problem types no operation documents: {missing:?}"
    );
}
