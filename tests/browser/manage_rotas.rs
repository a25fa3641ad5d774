//! The cluster manager's rota screens in Chromium: create a rota, add a session in the grid (a
//! start the spring clock change skips is refused with the error summary focused), preview and
//! publish; every screen checked with axe-core and saved as a screenshot.

use hubbook_store::Backend;

use crate::driver::Browser;
use crate::helpers::{at, TestApp, PASSWORD};

/// Signs in through the sign-in page.
async fn sign_in(b: &Browser, username: &str) {
    b.goto("/sign-in").await;
    b.wait_heading("Sign in").await;
    b.fill("#username", username).await;
    b.fill("#password", PASSWORD).await;
    b.press_enter().await;
    b.wait_for("document.location.pathname !== '/sign-in'", "signed in")
        .await;
}

/// Fills the session form (site and service: the cluster's only ones).
async fn fill_session(b: &Browser, start: &str, end: &str, days: &[&str], from: &str) {
    b.fill("#key", "evening").await;
    b.js("document.querySelector('#site').selectedIndex = 1; document.querySelector('#service').selectedIndex = 1;")
        .await;
    b.fill("#start", start).await;
    b.fill("#end", end).await;
    b.js("document.querySelectorAll('.nhsuk-checkboxes__input').forEach(c => c.checked = false)")
        .await;
    for day in days {
        b.click(&format!("#day_{day}")).await;
    }
    b.fill("#valid_from", from).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_draws_a_session_previews_and_publishes_it() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.cluster("U81001").await;
    app.clock.set(at("2026-12-01T08:00:00Z"));
    let b = Browser::open(&app.base, true).await;
    sign_in(&b, "manager-u81001").await;

    b.goto("/manage/rotas").await;
    b.wait_heading("Rotas").await;
    b.check("manage-rotas").await;
    b.fill("#name", "Evenings").await;
    b.press_enter().await;
    b.wait_heading("Rota: Evenings").await;
    b.check("manage-rota-empty").await;

    // 01:30 on Sundays from March 2027: the clocks skip it on the 28th.
    fill_session(&b, "01:30", "03:00", &["sun"], "2027-03-01").await;
    b.click("form[action$='/templates'] button[type=submit]")
        .await;
    b.wait_focus(".nhsuk-error-summary").await;
    let summary = b.text(".nhsuk-error-summary").await;
    assert!(
        summary.contains("does not exist on 2027-03-28"),
        "{summary}"
    );
    b.check("manage-rota-error").await;

    fill_session(
        &b,
        "18:00",
        "20:00",
        &["mon", "tue", "wed", "thu", "fri"],
        "2026-12-01",
    )
    .await;
    b.click("form[action$='/templates'] button[type=submit]")
        .await;
    b.wait_for(
        "document.querySelector('.nhsuk-notification-banner--success') !== null",
        "the saved banner",
    )
    .await;
    assert_eq!(b.count(".console-rota-grid tbody td a").await, 5);
    b.check("manage-rota-grid").await;

    b.fill("#from", "2026-12-07").await;
    b.fill("#to", "2026-12-11").await;
    b.click("form[action$='/preview'] button[type=submit]")
        .await;
    b.wait_heading("check before you confirm").await;
    assert_eq!(b.text("#slots-created").await, "60");
    b.check("manage-rota-preview").await;
    b.click("form[action$='/apply'] button[type=submit]").await;
    b.wait_heading("Evenings published").await;
    b.check("manage-rota-published").await;
    b.close().await;

    // The receptionist can book the new evening slots.
    let offers = app
        .get(
            "/api/v1/slots?from=2026-12-07T00:00:00Z&to=2026-12-12T00:00:00Z&limit=500",
            &c.receptionist,
        )
        .await;
    let items = offers.ok(200)["items"].as_array().unwrap().clone();
    assert!(!items.is_empty());
    for offer in items {
        let starts = offer["starts_at"].as_str().unwrap();
        assert!(
            starts.contains("T18:") || starts.contains("T19:"),
            "an evening slot: {starts}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_previews_and_saves_sharing_rules() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.open_week("U81002").await;
    let b = Browser::open(&app.base, true).await;
    sign_in(&b, "manager-u81002").await;
    b.goto("/manage/sharing").await;
    b.wait_heading("Sharing rules").await;
    b.check("manage-sharing").await;
    b.click("#triage_kind-per_day").await;
    b.fill("#triage_slots", "3").await;
    // Enter in a field submits the form's first button: Preview.
    b.press_enter().await;
    b.wait_for(
        "document.querySelector('#preview-table') !== null",
        "the preview",
    )
    .await;
    b.check("manage-sharing-preview").await;
    b.click("button[value=save]").await;
    b.wait_for(
        "document.querySelector('.nhsuk-notification-banner--success') !== null",
        "the saved banner",
    )
    .await;
    assert!(b.text("#in-force").await.contains("3 slots a day for 111"));
    b.check("manage-sharing-saved").await;
    b.close().await;
    let _ = c;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activity_screens_pass_axe() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.open_week("U81003").await;
    let offers = app
        .get(
            "/api/v1/slots?from=2026-12-07T00:00:00Z&to=2026-12-12T00:00:00Z&limit=5",
            &c.receptionist,
        )
        .await;
    let slot = offers.ok(200)["items"][0]["slot_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.book_directly(&c.code, &slot, &c.practice_id).unwrap();
    let hook = app
        .post(
            &format!("/api/v1/clusters/{}/webhooks", c.code),
            &c.manager,
            serde_json::json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let hook_id = hook.ok(201)["id"].as_str().unwrap().to_owned();
    let b = Browser::open(&app.base, true).await;
    sign_in(&b, "manager-u81003").await;
    for (path, heading, name) in [
        ("/manage/events?after=0", "Events", "manage-events"),
        ("/manage/webhooks", "Webhooks", "manage-webhooks"),
        (
            &format!("/manage/webhooks/{hook_id}") as &str,
            "Webhook deliveries",
            "manage-webhook-deliveries",
        ),
        ("/manage/audit", "Audit trail", "manage-audit"),
        (
            "/manage/audit?from=soon",
            "Audit trail",
            "manage-audit-error",
        ),
    ] {
        b.goto(path).await;
        b.wait_heading(heading).await;
        b.check(name).await;
    }
    b.close().await;
}
