//! The cluster manager's screens in Chromium, as the manager's whole flow: create a rota, add a
//! session in the grid (a start the spring clock change skips is refused with the error summary
//! focused), change the sharing rules with their preview (a stale second tab refused), preview
//! and publish, compare the fair-share report and a CSV download, move a booked patient and
//! resolve the rebooking; every screen checked with axe-core and saved as a screenshot.

use hubbook_store::Backend;

use crate::driver::Browser;
use serde_json::json;

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

/// The rows of the table matching `selector` as the cells' texts.
async fn rows(b: &Browser, selector: &str) -> Vec<Vec<String>> {
    let sel = serde_json::to_string(&format!("{selector} tbody tr")).unwrap();
    let rows = b
        .js(&format!(
            "return Array.from(document.querySelectorAll({sel})).map(r => Array.from(r.cells).map(c => c.textContent.trim()))"
        ))
        .await;
    serde_json::from_value(rows).unwrap()
}

/// Publishes the rota page's rota over `from..=to` through its preview and confirmation;
/// returns the preview's list of patients who would move (empty when none would).
async fn preview_and_publish(b: &Browser, from: &str, to: &str) -> Vec<Vec<String>> {
    b.fill("#from", from).await;
    b.fill("#to", to).await;
    b.click("form[action$='/preview'] button[type=submit]")
        .await;
    b.wait_heading("check before you confirm").await;
    let moved = rows(b, "#moved").await;
    b.check(if moved.is_empty() {
        "manage-rota-preview"
    } else {
        "manage-rota-preview-moved"
    })
    .await;
    b.click("form[action$='/apply'] button[type=submit]").await;
    b.wait_heading("published").await;
    moved
}

/// The whole flow for a cluster manager, in one Chromium session: a rota drawn in the
/// grid (the spring clock change's missing hour refused), the sharing rules changed with their
/// preview (and a second tab's stale save refused, the other change shown), the rota published
/// through its preview and the fair-share report matching the sharing preview; then a booked
/// patient's session changed, the patient named in the preview, the change confirmed and the
/// rebooking resolved with a reason; and a report's CSV download matching the JSON API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managers_whole_flow_from_the_grid_to_a_resolved_rebooking() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.cluster("U81001").await;
    app.post(
        &format!("/api/v1/clusters/{}/practices", c.code),
        &c.manager,
        json!({"ods_code": "B82002", "name": "Second Surgery", "list_size": 3000, "data_sharing_from": "2026-01-01"}),
    )
    .await
    .ok(201);
    app.clock.set(at("2026-12-01T08:00:00Z"));
    let b = Browser::open(&app.base, true).await;
    sign_in(&b, "manager-u81001").await;

    // A rota drawn in the grid.
    b.goto("/manage/rotas").await;
    b.wait_heading("Rotas").await;
    b.check("manage-rotas").await;
    b.fill("#name", "Evenings").await;
    b.press_enter().await;
    b.wait_heading("Rota: Evenings").await;
    b.check("manage-rota-empty").await;
    let rota_path = b.js("return document.location.pathname").await;
    let rota_path = rota_path.as_str().unwrap().to_owned();

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

    // The sharing rules, with their effect over the next four weeks shown before saving; a
    // second tab drawn before the save is refused with the rules saved meanwhile shown.
    b.goto("/manage/sharing").await;
    b.wait_heading("Sharing rules").await;
    let (first_tab, second_tab) = b.open_tab().await;
    b.switch_to(&second_tab).await;
    b.goto("/manage/sharing").await;
    b.wait_heading("Sharing rules").await;
    b.switch_to(&first_tab).await;
    b.check("manage-sharing").await;
    b.click("#triage_kind-per_day").await;
    b.fill("#triage_slots", "2").await;
    // Enter in a field submits the form's first button: Preview.
    b.press_enter().await;
    b.wait_for(
        "document.querySelector('#preview-table') !== null",
        "the preview",
    )
    .await;
    b.check("manage-sharing-preview").await;
    let preview = rows(&b, "#preview-table").await;
    assert_eq!(preview.len(), 2, "{preview:?}");
    b.click("button[value=save]").await;
    b.wait_for(
        "document.querySelector('.nhsuk-notification-banner--success') !== null",
        "the saved banner",
    )
    .await;
    assert!(b.text("#in-force").await.contains("2 slots a day for 111"));
    b.check("manage-sharing-saved").await;
    b.switch_to(&second_tab).await;
    b.click("#triage_kind-per_day").await;
    b.fill("#triage_slots", "5").await;
    b.click("button[value=save]").await;
    b.wait_focus(".nhsuk-error-summary").await;
    assert!(b
        .text(".nhsuk-error-summary")
        .await
        .contains("Someone else changed"));
    assert!(b.text("#in-force").await.contains("2 slots a day for 111"));
    b.check("manage-sharing-stale").await;
    b.switch_to(&first_tab).await;

    // Published for those four weeks through the preview: the fair-share report shows what
    // the sharing preview said.
    b.goto(&rota_path).await;
    b.wait_heading("Rota: Evenings").await;
    let moved = preview_and_publish(&b, "2026-12-01", "2026-12-28").await;
    assert!(moved.is_empty());
    b.check("manage-rota-published").await;
    b.goto("/manage/reports/fair-share?from=2026-12-01&to=2026-12-28")
        .await;
    b.wait_heading("Fair share").await;
    let report = rows(&b, ".console-report").await;
    for line in &preview {
        // Practice (ODS code), list size, fair share, slots kept for it.
        let row = report
            .iter()
            .find(|r| r.iter().any(|cell| cell.contains(&line[0])))
            .unwrap_or_else(|| panic!("{} in {report:?}", line[0]));
        for figure in &line[1..] {
            assert!(row.contains(figure), "{figure} of {line:?} in {row:?}");
        }
    }

    // A report's CSV download is the JSON report's figures.
    b.goto("/manage/reports/utilisation?from=2026-12-01&to=2026-12-28")
        .await;
    b.wait_heading("Utilisation").await;
    let csv = b
        .js_async(
            "const done = arguments[arguments.length - 1]; \
             const a = Array.from(document.querySelectorAll('a[download]')).find(a => a.href.includes('.csv')); \
             fetch(a.href).then(r => r.text()).then(done, e => done('failed: ' + e));",
        )
        .await;
    let csv = csv.as_str().unwrap().to_owned();
    let json = app
        .get(
            &format!(
                "/api/v1/clusters/{}/reports/utilisation?from=2026-12-01&to=2026-12-28",
                c.code
            ),
            &c.manager,
        )
        .await;
    let json = json.ok(200).clone();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name} column in {csv}"))
    };
    let (offered, booked) = (column("offered"), column("booked"));
    let body: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let groups = json["rows"].as_array().unwrap();
    assert_eq!(body.len(), groups.len(), "{csv}\n{json}");
    for (line, group) in body.iter().zip(groups) {
        assert_eq!(
            line[offered],
            group["offered"].to_string(),
            "{csv}\n{group}"
        );
        assert_eq!(line[booked], group["booked"].to_string(), "{csv}\n{group}");
    }

    // A patient is booked on Monday 7 December in the first slot the practice may book (the
    // first ones of the evening are kept for NHS 111); the session moves to 19:00.
    let monday = app
        .get(
            "/api/v1/slots?from=2026-12-07T18:00:00Z&to=2026-12-07T19:00:00Z&limit=5",
            &c.receptionist,
        )
        .await;
    let first = monday.ok(200)["items"][0].clone();
    let slot = first["slot_id"].as_str().unwrap().to_owned();
    // 18:mm UTC is 6pm or 6:mmpm in London in December.
    let minute = &first["starts_at"].as_str().unwrap()[14..16];
    let booked_for = if minute == "00" {
        "Monday 7 December 2026 at 6pm".to_owned()
    } else {
        format!("Monday 7 December 2026 at 6:{minute}pm")
    };
    let appointment = app.book_directly(&c.code, &slot, &c.practice_id).unwrap();
    b.goto(&rota_path).await;
    b.wait_heading("Rota: Evenings").await;
    b.click(".console-rota-grid tbody td a").await;
    b.wait_for(
        "document.querySelector('#start') && document.querySelector('#start').value === '18:00'",
        "the session's form",
    )
    .await;
    b.fill("#start", "19:00").await;
    b.click("form[action$='/templates'] button[type=submit]")
        .await;
    b.wait_for(
        "document.querySelector('.nhsuk-notification-banner--success') !== null",
        "the saved banner",
    )
    .await;
    let moved = preview_and_publish(&b, "2026-12-07", "2026-12-11").await;
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(moved[0][0].contains("Ada Testpatient"), "{moved:?}");
    assert!(
        moved[0].iter().any(|cell| cell.contains(&booked_for)),
        "{booked_for} in {moved:?}"
    );
    assert!(b
        .text("main")
        .await
        .contains("1 patient is on the rebooking list"));

    // The rebooking resolved from the worklist, with the reason recorded.
    b.goto("/rebooking").await;
    b.wait_heading("Appointments to rebook").await;
    b.check("manage-rebooking").await;
    b.click(&format!("#pick_{appointment}")).await;
    b.fill("#note", "Patient phoned: keeps 6pm with the duty GP")
        .await;
    b.click("button[value=keep]").await;
    b.wait_for(
        "document.querySelector('.nhsuk-notification-banner--success') !== null",
        "the done banner",
    )
    .await;
    assert!(b.text("main").await.contains("There is nothing to rebook."));
    b.check("manage-rebooking-done").await;
    b.close().await;
    let list = app
        .get(
            &format!("/api/v1/clusters/{}/rebooking", c.code),
            &c.manager,
        )
        .await;
    assert_eq!(list.ok(200)["items"], json!([]));
    let kept = app
        .get(&format!("/api/v1/appointments/{appointment}"), &c.manager)
        .await;
    assert_eq!(
        kept.ok(200)["status"],
        "booked",
        "the patient keeps the time"
    );
    assert_eq!(
        app.rebooking_note(&appointment).as_deref(),
        Some("Patient phoned: keeps 6pm with the duty GP")
    );

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
        assert!(starts.contains("T19:"), "an evening slot: {starts}");
    }
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
