//! The cluster manager's Today and Reports screens in Chromium: signed in with the keyboard,
//! the dashboard and every report (charts included) checked with axe-core, each report opened
//! from its link with the keyboard, a table sorted both ways, and a refused period.

use hubbook_store::Backend;
use serde_json::json;

use crate::driver::Browser;
use crate::helpers::{at, TestApp, PASSWORD};

/// The reports and the headings of their pages, in the index's order.
const REPORTS: [(&str, &str); 7] = [
    ("utilisation", "Utilisation"),
    ("capacity", "Capacity"),
    ("dna", "Did not attend"),
    ("bookings", "Bookings"),
    ("activity", "Activity for fee claims"),
    ("enhanced-access", "Enhanced Access"),
    ("fair-share", "Fair share"),
];

/// Marks an appointment's outcome straight in the store.
fn set_status(app: &TestApp, id: &str, status: &str) {
    use diesel::prelude::*;
    use hubbook_store::schema::appointments;
    let mut conn = app.pool.get().expect("connection");
    diesel::update(appointments::table.filter(appointments::id.eq(id)))
        .set(appointments::status.eq(status))
        .execute(&mut *conn)
        .expect("update");
}

/// Focuses the element matching `selector` and presses Enter, as a keyboard user follows a
/// link; then waits for the page headed `heading`.
async fn follow(b: &Browser, selector: &str, heading: &str) {
    b.focus(selector).await;
    b.press_enter().await;
    b.wait_heading(heading).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g_a_manager_reads_today_and_every_report_with_the_keyboard() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.cluster("U80101").await;
    app.publish_week(
        &c,
        json!({"triage": {"kind": "per_day", "slots": 2}, "apportionment": false}),
    )
    .await;
    let offers = app
        .get(
            "/api/v1/slots?from=2026-12-07T00:00:00Z&to=2026-12-12T00:00:00Z&limit=500",
            &c.receptionist,
        )
        .await;
    let slots: Vec<String> = offers.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slot_id"].as_str().unwrap().to_owned())
        .collect();
    // Monday's first three slots the practice may book: seen, seen, did not attend; a slot
    // later in the week booked.
    for (slot, status) in slots.iter().zip(["seen", "seen", "did_not_attend"]) {
        let id = app.book_directly(&c.code, slot, &c.practice_id).unwrap();
        set_status(&app, &id, status);
    }
    app.book_directly(&c.code, &slots[60], &c.practice_id)
        .unwrap();
    app.clock.set(at("2026-12-09T10:05:00Z"));

    let b = Browser::open(&app.base, true).await;
    b.goto("/sign-in").await;
    b.wait_focus("#username").await;
    b.type_text("manager-u80101").await;
    b.fill("#password", PASSWORD).await;
    b.press_enter().await;
    b.wait_heading("Today").await;
    let utilisation = b.text("#utilisation").await;
    assert!(
        utilisation.contains("4 of 90 slots booked"),
        "{utilisation}"
    );
    assert!(b.text("#dna").await.contains("33.3%"));
    assert_eq!(b.count(".console-free tbody tr").await, 1);
    b.check("manage-today").await;

    // Each figure is a link to its report, with the week set.
    follow(&b, "#dna a", "Did not attend").await;
    assert_eq!(
        b.js("return document.getElementById('from').value").await,
        json!("2026-12-07")
    );
    assert_eq!(
        b.js("return document.getElementById('to').value").await,
        json!("2026-12-13")
    );

    // Every report from the index, with the keyboard: its chart is a named image, its table
    // has a caption, and axe-core finds nothing on the page.
    follow(
        &b,
        "a.nhsuk-header__account-link[href='/manage/reports']",
        "Reports",
    )
    .await;
    b.check("manage-reports").await;
    for (name, heading) in REPORTS {
        if name != REPORTS[0].0 {
            b.goto("/manage/reports").await;
            b.wait_heading("Reports").await;
        }
        follow(
            &b,
            &format!("a.nhsuk-card__link[href='/manage/reports/{name}']"),
            heading,
        )
        .await;
        assert_eq!(
            b.count("svg[role='img'] > title").await,
            1,
            "{name}'s chart"
        );
        assert_eq!(b.count("table.console-report caption").await, 1, "{name}");
        assert!(
            b.count("table.console-report tbody tr").await >= 1,
            "{name}"
        );
        b.check(&format!("report-{name}")).await;
    }

    // The fee lines: chosen in the form, which is sent from the keyboard.
    b.goto("/manage/reports/activity").await;
    b.wait_heading("Activity for fee claims").await;
    b.focus("#detail").await;
    b.js("document.getElementById('detail').value = 'true'")
        .await;
    follow(
        &b,
        "form.console-report-choice button[type='submit']",
        "Activity for fee claims",
    )
    .await;
    b.wait_for(
        "document.querySelectorAll('table.console-report tbody tr').length === 4",
        "one fee line per appointment",
    )
    .await;
    b.check("report-activity-fee-lines").await;

    // A table sorted by a column, then the other way, from its header.
    b.goto("/manage/reports/utilisation?from=2026-12-07&to=2026-12-13&group_by=day")
        .await;
    b.wait_heading("Utilisation").await;
    let booked = "table.console-report th:nth-child(4) a";
    assert!(b.text(booked).await.trim_start().starts_with("Booked"));
    b.focus(booked).await;
    b.press_enter().await;
    b.wait_for(
        "document.querySelector('th[aria-sort=\"ascending\"]')",
        "the table sorted ascending",
    )
    .await;
    b.focus(booked).await;
    b.press_enter().await;
    b.wait_for(
        "document.querySelector('th[aria-sort=\"descending\"]')",
        "the table sorted descending",
    )
    .await;
    let first = b.text("table.console-report tbody tr:first-child th").await;
    assert_eq!(first.trim(), "Monday", "Monday's three bookings come first");
    b.check("report-sorted").await;

    // A period that ends before it starts: the error summary names the field.
    b.goto("/manage/reports/utilisation?from=2026-12-13&to=2026-12-07")
        .await;
    b.wait_heading("Utilisation").await;
    assert!(b
        .text(".nhsuk-error-summary a[href='#to']")
        .await
        .contains("The last day must be the same as or after the first day"));
    b.check("report-error").await;
    b.close().await;
}
