//! The cluster manager's set-up screens in Chromium: the overview, each add and change page, a
//! refused value (the error summary focused), a stale edit (the other change shown), a user's
//! one-time password and an integration's secret shown once; and the administrator's clusters and
//! a new cluster's first manager. Every screen checked with axe-core and saved as a screenshot.

use hubbook_store::Backend;
use serde_json::json;

use crate::driver::Browser;
use crate::helpers::{TestApp, PASSWORD};

async fn signed_in_manager(app: &TestApp, code: &str) -> Browser {
    signed_in(app, &format!("manager-{}", code.to_lowercase())).await
}

async fn signed_in(app: &TestApp, username: &str) -> Browser {
    let b = Browser::open(&app.base, true).await;
    b.goto("/sign-in").await;
    b.wait_heading("Sign in").await;
    b.fill("#username", username).await;
    b.fill("#password", PASSWORD).await;
    b.press_enter().await;
    b.wait_for("document.location.pathname !== '/sign-in'", "signed in")
        .await;
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_adds_and_changes_practices_sites_and_services() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.cluster("U82001").await;
    let b = signed_in_manager(&app, &c.code).await;

    b.goto("/manage/setup").await;
    b.wait_heading("Cluster set-up").await;
    assert_eq!(b.count("#practices-table tbody tr").await, 1);
    b.check("manage-setup").await;

    b.goto("/manage/setup/practices/new").await;
    b.wait_heading("Add a practice").await;
    b.check("manage-setup-practice-new").await;
    b.fill("#ods_code", "B8200X").await;
    b.fill("#name", "Invented Green Surgery").await;
    b.fill("#list_size", "7250").await;
    b.fill("#data_sharing_from", "2026-01-01").await;
    b.click("main form button[type=submit]").await;
    b.wait_focus(".nhsuk-error-summary").await;
    assert!(b
        .text(".nhsuk-error-summary")
        .await
        .contains("one letter followed by five digits"));
    b.check("manage-setup-practice-error").await;
    b.fill("#ods_code", "B82005").await;
    b.click("main form button[type=submit]").await;
    b.wait_heading("Invented Green Surgery (B82005)").await;
    assert!(b
        .text(".nhsuk-notification-banner")
        .await
        .contains("The practice is saved"));
    b.check("manage-setup-practice").await;

    // Someone else changes the practice while the page is open: saving from it is refused,
    // and what they saved is shown next to the form.
    let id = b
        .js("return document.querySelector('main form').getAttribute('action').split('/').pop()")
        .await;
    let id = id.as_str().unwrap().to_owned();
    app.patch(
        &format!("/api/v1/clusters/{}/practices/{id}", c.code),
        &c.manager,
        json!({"list_size": 9100}),
    )
    .await
    .ok(200);
    b.fill("#name", "Invented Greener Surgery").await;
    b.click("main form button[type=submit]").await;
    b.wait_focus(".nhsuk-error-summary").await;
    assert_eq!(b.text("#now-list_size").await, "9100");
    b.check("manage-setup-practice-stale").await;

    b.goto(&format!("/manage/setup/sites/{}", c.site_id)).await;
    b.wait_heading("Hub North").await;
    b.check("manage-setup-site").await;
    b.fill("#postcode", "LS1").await;
    b.click("main form button[type=submit]").await;
    b.wait_focus(".nhsuk-error-summary").await;
    b.check("manage-setup-site-error").await;
    b.goto("/manage/setup/sites/new").await;
    b.wait_heading("Add a site").await;
    b.check("manage-setup-site-new").await;

    b.goto("/manage/setup/services/new").await;
    b.wait_heading("Add a service").await;
    b.check("manage-setup-service-new").await;
    b.goto(&format!("/manage/setup/services/{}", c.service_id))
        .await;
    b.wait_heading("GP (gp)").await;
    b.check("manage-setup-service").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_adds_a_user_and_an_integration_and_sees_each_secret_once() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.cluster("U82002").await;
    let b = signed_in_manager(&app, &c.code).await;

    b.goto("/manage/setup/users/new").await;
    b.wait_heading("Add a user").await;
    b.check("manage-setup-user-new").await;
    b.fill("#display_name", "Jo Testperson").await;
    b.fill("#username", "jo.testperson").await;
    // A receptionist needs a practice: refused at the practice.
    b.click("main form button[type=submit]").await;
    b.wait_focus(".nhsuk-error-summary").await;
    b.check("manage-setup-user-error").await;
    b.click("#role-hub_staff").await;
    b.click("main form button[type=submit]").await;
    b.wait_heading("Jo Testperson can now sign in").await;
    let password = b.text("#one-time-password").await;
    assert!(password.len() >= 12, "{password}");
    b.wait_for(
        "document.location.pathname.startsWith('/manage/setup/users/')",
        "the user's own address",
    )
    .await;
    b.check("manage-setup-user-created").await;
    // The address shown, loaded again, is the user's page without the password.
    let address = b.js("return document.location.pathname").await;
    b.goto(address.as_str().unwrap()).await;
    b.wait_heading("Jo Testperson").await;
    assert_eq!(b.count("#one-time-password").await, 0);
    b.check("manage-setup-user").await;

    b.goto("/manage/setup/integrations/new").await;
    b.wait_heading("Add a triage integration").await;
    b.check("manage-setup-integration-new").await;
    b.fill("#name", "NHS 111 Invented Region").await;
    b.click("main form button[type=submit]").await;
    b.wait_heading("NHS 111 Invented Region is added").await;
    let client_id = b.text("#new-client-id").await;
    let secret = b.text("#client-secret").await;
    assert_eq!(app.client_token(&client_id, &secret).await.status, 200);
    b.check("manage-setup-integration-created").await;
    b.click("form[action$='/rotate'] button[type=submit]").await;
    b.wait_heading("New secret for NHS 111 Invented Region")
        .await;
    assert_ne!(b.text("#client-secret").await, secret);
    assert_eq!(b.count("#secrets-table form").await, 2);
    b.check("manage-setup-integration-rotated").await;
    // At 320 pixels wide the secret and the client id wrap; nothing scrolls sideways.
    b.client.set_window_size(320, 800).await.unwrap();
    b.wait_for(
        "document.documentElement.clientWidth < 400",
        "the narrow window",
    )
    .await;
    let sideways = b
        .js("const r = document.documentElement; return r.scrollWidth > r.clientWidth")
        .await;
    assert_eq!(sideways, json!(false), "{}", b.describe().await);
    b.screenshot("manage-setup-integration-narrow").await;
    b.close().await;
    // The password shown signs the new member of staff in.
    app.login("jo.testperson", &password).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_cluster_and_its_first_manager() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.cluster("U82003").await;
    let b = signed_in(&app, "root").await;
    b.wait_heading("Clusters").await;
    assert!(b.text("#clusters-table").await.contains(&c.code));
    b.check("admin-clusters").await;

    // A code with a hyphen is refused at its field; the rest is kept.
    b.fill("#code", "U82-004").await;
    b.fill("#name", "Invented Valley PCN").await;
    b.click("main form button[type=submit]").await;
    b.wait_focus(".nhsuk-error-summary").await;
    assert_eq!(
        b.js("return document.querySelector('#name').value").await,
        json!("Invented Valley PCN")
    );
    b.check("admin-clusters-error").await;
    b.fill("#code", "U82004").await;
    b.click("main form button[type=submit]").await;
    b.wait_heading("Invented Valley PCN").await;
    assert_eq!(b.text("#manager-count").await, "0");
    b.check("admin-cluster-new").await;

    b.click(".nhsuk-notification-banner a").await;
    b.wait_heading("Add a user").await;
    b.check("admin-manager-new").await;
    b.fill("#display_name", "Sam Invented").await;
    b.fill("#username", "sam.invented").await;
    b.click("main form button[type=submit]").await;
    b.wait_heading("Sam Invented can now sign in").await;
    let password = b.text("#one-time-password").await;
    assert!(password.len() >= 12, "{password}");
    b.check("admin-manager-created").await;
    b.goto("/admin/clusters/U82004").await;
    b.wait_heading("Invented Valley PCN").await;
    assert_eq!(b.text("#manager-count").await, "1");
    assert!(b.text("#users-table").await.contains("Cluster manager"));
    b.check("admin-cluster").await;
    b.close().await;
}
