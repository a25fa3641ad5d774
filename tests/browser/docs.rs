//! The API guide at `/docs/` in a real browser: Swagger UI renders the OpenAPI document from
//! this server's files alone, with no validator badge and no request to another host.

use crate::driver::Browser;
use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_guide_renders_from_this_server_alone() {
    let app = TestApp::spawn(hubbook_store::Backend::Sqlite).await;
    let b = Browser::open(&app.base, true).await;
    b.goto("/docs/").await;
    b.wait_for(
        "document.querySelector('.swagger-ui .info .title') && \
         document.querySelector('.swagger-ui .info .title').textContent.includes('hubbook') && \
         document.querySelectorAll('.opblock').length > 20",
        "Swagger UI to draw the document's title and operations",
    )
    .await;
    b.screenshot("api-guide").await;
    // Everything the page loaded (scripts, styles, icons, the document) came from this server.
    let loaded = b
        .js(
            "return performance.getEntriesByType('resource').map(e => e.name)\
             .concat(Array.from(document.querySelectorAll('img')).map(i => i.src));",
        )
        .await;
    let loaded: Vec<String> = serde_json::from_value(loaded).unwrap();
    assert!(
        loaded.iter().any(|u| u.ends_with("/openapi.json")),
        "{loaded:?}"
    );
    let elsewhere: Vec<&String> = loaded
        .iter()
        .filter(|u| !u.starts_with(&format!("{}/", app.base)) && !u.starts_with("data:"))
        .collect();
    assert!(elsewhere.is_empty(), "loaded from elsewhere: {elsewhere:?}");
    assert_eq!(
        b.count(".swagger-ui .validator, .swagger-ui img[src*='validator']")
            .await,
        0,
        "no validator badge"
    );
}
