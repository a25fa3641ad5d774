//! The desk's scenarios, each its own test: three Enter presses from the search box to a
//! booking; cancel, move and the hub's day list; a wrong password; an expired hold; two
//! receptionists racing for one slot; the same booking with JavaScript off.

use chrono::Duration;
use hubbook_store::Backend;
use serde_json::json;

use crate::driver::Browser;
use crate::helpers::{at, nhs, Cluster, TestApp, PASSWORD};

/// A server with a cluster whose slots are all open, a week of GP mornings published (7 to 11
/// December 2026) and the clock before it.
async fn open_week(code: &str) -> (TestApp, Cluster) {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.open_week(code).await;
    (app, c)
}

/// The week's free slots, earliest first, as the API lists them to the receptionist.
async fn week_slots(app: &TestApp, c: &Cluster) -> Vec<String> {
    let offers = app
        .get(
            "/api/v1/slots?from=2026-12-07T00:00:00Z&to=2026-12-12T00:00:00Z&limit=500",
            &c.receptionist,
        )
        .await;
    offers.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slot_id"].as_str().unwrap().to_owned())
        .collect()
}

/// How many appointments the store holds for a slot.
fn appointments_on(app: &TestApp, slot_id: &str) -> i64 {
    use diesel::prelude::*;
    use hubbook_store::schema::appointments;
    let mut conn = app.pool.get().expect("connection");
    appointments::table
        .filter(appointments::slot_id.eq(slot_id))
        .count()
        .get_result(&mut *conn)
        .expect("count")
}

/// Gives an appointment made by `TestApp::book_directly` another patient's NHS number.
fn set_patient(app: &TestApp, id: &str, nhs_number: &str) {
    use diesel::prelude::*;
    use hubbook_store::schema::appointments;
    let mut conn = app.pool.get().expect("connection");
    let updated = diesel::update(appointments::table.filter(appointments::id.eq(id)))
        .set(appointments::nhs_number.eq(nhs_number))
        .execute(&mut *conn)
        .expect("update");
    assert_eq!(updated, 1);
}

/// Signs in through the sign-in page with the keyboard; checks the page on the way.
async fn sign_in(b: &Browser, username: &str, password: &str, check: bool) {
    b.goto("/sign-in").await;
    b.wait_heading("Sign in").await;
    b.wait_focus("#username").await;
    if check {
        b.check("sign-in").await;
    }
    b.type_text(username).await;
    b.fill("#password", password).await;
    b.press_enter().await;
}

/// The patient the fixtures' previous appointments are for (`TestApp::book_directly`).
const KNOWN_PATIENT: &str = "9990000018";

/// Search, hold, book: three Enter presses from the search box, the patient's details prefilled
/// from their previous appointment.
async fn three_enters_book(b: &Browser, nhs_number: &str, check: bool) {
    b.wait_focus("#nhs").await;
    b.type_text(nhs_number).await;
    b.press_enter().await;
    b.wait_heading("Appointments and free slots for").await;
    b.wait_focus(".console-hold").await;
    let first = b
        .js("return document.activeElement === document.querySelector('.console-hold')")
        .await;
    assert_eq!(first, json!(true), "the first Hold has the focus");
    if check {
        b.check("results").await;
    }
    b.press_enter().await;
    b.wait_heading("Check the slot and the patient's details")
        .await;
    b.wait_focus("#book").await;
    if check {
        b.check("hold").await;
    }
    b.press_enter().await;
    b.wait_heading("Appointment booked").await;
    b.wait_for(
        "document.querySelector('.nhsuk-panel--confirmation') && document.querySelector('.nhsuk-panel--confirmation').offsetHeight > 0",
        "the confirmation panel shown",
    )
    .await;
}

async fn three_enters_from_the_search_box_book(javascript: bool) {
    let (app, c) = open_week("U80001").await;
    let slots = week_slots(&app, &c).await;
    // A previous appointment (the week's last slot), so the hold page is prefilled.
    app.book_directly(&c.code, slots.last().unwrap(), &c.practice_id)
        .unwrap();
    let b = Browser::open(&app.base, javascript).await;
    sign_in(&b, "rec-u80001", PASSWORD, javascript).await;
    b.wait_heading("Find a patient's appointments and slots")
        .await;
    let scripted = b.count("body.js-enabled").await;
    assert_eq!(
        scripted,
        usize::from(javascript),
        "the console script ran or not"
    );
    if javascript {
        b.check("find-empty").await;
    }
    three_enters_book(&b, KNOWN_PATIENT, javascript).await;
    if javascript {
        b.check("confirmation").await;
    } else {
        // axe-core cannot run in a page whose scripts are off; the same page is checked above
        // with them on.
        b.screenshot("confirmation-no-javascript").await;
    }
    let heading = b.text("main h1").await;
    assert_eq!(heading.trim(), "Appointment booked");
    // Exactly one appointment on the first slot offered; with the previous one, two in all.
    assert_eq!(appointments_on(&app, &slots[0]), 1);
    assert_eq!(app.count("appointments"), 2);
    assert_eq!(app.count("holds"), 0, "the hold became the booking");

    if javascript {
        // A day with nothing free says when the next free slot is.
        b.goto(&format!("/?nhs={KNOWN_PATIENT}&date=2026-12-06"))
            .await;
        b.wait_heading("Appointments and free slots for").await;
        assert!(b
            .text(".console-nothing")
            .await
            .contains("The next free slot is on Monday 7 December 2026"));
        b.check("nothing-free").await;
    }
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_enters_from_the_search_box_book() {
    three_enters_from_the_search_box_book(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f_with_javascript_off_the_same_three_enters_book_by_full_page_posts() {
    three_enters_from_the_search_box_book(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_a_wrong_password_shows_the_error_summary_with_the_focus() {
    let (app, _c) = open_week("U80002").await;
    let b = Browser::open(&app.base, true).await;
    sign_in(&b, "rec-u80002", "not-the-password", true).await;
    b.wait_focus(".nhsuk-error-summary").await;
    assert!(b
        .text(".nhsuk-error-summary")
        .await
        .contains("The username or password is not right"));
    let title = b.js("return document.title").await;
    assert!(title.as_str().unwrap().starts_with("Error: "), "{title}");
    b.check("sign-in-error").await;
    // The check can fail: a planted image without a text alternative is found.
    b.js("const i = document.createElement('img'); i.src = '/assets/images/nhsuk-icon-cross.svg'; document.querySelector('main').append(i)")
        .await;
    let planted = b.axe_violations("sign-in-error with a planted fault").await;
    assert!(
        planted.iter().any(|v| v["id"] == "image-alt"),
        "{planted:?}"
    );
    // Signing in then works from the same page.
    b.fill("#password", PASSWORD).await;
    b.press_enter().await;
    b.wait_heading("Find a patient's appointments and slots")
        .await;
    // A page loaded whole with a bad NHS number (from a link) puts the cursor back in the box,
    // which names its error.
    b.goto("/?nhs=9990000019").await;
    b.wait_focus("#nhs[aria-describedby~='nhs-error']").await;
    assert!(b
        .text(".nhsuk-error-summary")
        .await
        .contains("Enter a valid NHS number"));
    b.check("find-error").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d_an_expired_hold_says_so_and_offers_keep_holding() {
    let (app, _c) = open_week("U80003").await;
    let b = Browser::open(&app.base, true).await;
    sign_in(&b, "rec-u80003", PASSWORD, false).await;
    b.wait_heading("Find a patient's appointments and slots")
        .await;
    b.wait_focus("#nhs").await;
    b.type_text(&nhs(3)).await;
    b.press_enter().await;
    b.wait_focus(".console-hold").await;
    b.press_enter().await;
    b.wait_heading("Check the slot and the patient's details")
        .await;
    // A new patient: the cursor is in the first empty field.
    b.wait_focus("#name").await;
    b.type_text("Dora Testpatient").await;
    b.fill("#birth_date", "4").await;
    b.fill("#birth_month", "8").await;
    b.fill("#birth_year", "1985").await;
    b.fill("#phone", "0113 496 0004").await;

    // The hold runs out before Book is pressed.
    app.clock.advance(Duration::minutes(3));
    b.focus("#book").await;
    b.press_enter().await;
    b.wait_focus(".nhsuk-error-summary").await;
    assert!(
        b.text(".nhsuk-error-summary")
            .await
            .contains("The hold on this slot ran out before you booked"),
        "{}",
        b.describe().await
    );
    let keep = b
        .js("return Array.from(document.querySelectorAll('button')).some(x => x.textContent.trim() === 'Keep holding')")
        .await;
    assert_eq!(keep, json!(true), "Keep holding is offered");
    b.check("hold-error").await;
    assert_eq!(app.count("appointments"), 0);

    // The summary links to Keep holding; Enter there renews the hold with what was typed.
    b.click(".nhsuk-error-summary a[href='#keep']").await;
    b.wait_focus("#keep").await;
    b.press_enter().await;
    b.wait_for(
        "document.querySelector('#hold-countdown') && document.querySelector('#hold-countdown').textContent.includes('held for you until') && !document.querySelector('.nhsuk-error-summary')",
        "the hold renewed",
    )
    .await;
    b.wait_focus("#book").await;
    assert_eq!(
        b.js("return document.querySelector('#name').value").await,
        json!("Dora Testpatient")
    );
    // The address bar names the renewed hold: reloading shows it, not an ended one.
    let url = b.client.current_url().await.unwrap();
    b.client.refresh().await.unwrap();
    b.wait_heading("Check the slot and the patient's details")
        .await;
    assert_eq!(
        b.js("return document.querySelector('#nhs_number').value")
            .await,
        json!(nhs(3)),
        "reloaded {url}"
    );
    b.fill("#name", "Dora Testpatient").await;
    b.fill("#birth_date", "4").await;
    b.fill("#birth_month", "8").await;
    b.fill("#birth_year", "1985").await;
    b.fill("#phone", "0113 496 0004").await;
    b.focus("#book").await;
    // Enter pressed twice in a hurry books once.
    b.press_enter().await;
    b.press_enter().await;
    b.wait_heading("Appointment booked").await;
    assert_eq!(app.count("appointments"), 1);
    b.close().await;
}

/// Signs in and searches for a patient, up to the focus on the first Hold.
async fn reach_results(b: &Browser, user: &str, patient: String) {
    sign_in(b, user, PASSWORD, false).await;
    b.wait_heading("Find a patient's appointments and slots")
        .await;
    b.wait_focus("#nhs").await;
    b.type_text(&patient).await;
    b.press_enter().await;
    b.wait_focus(".console-hold").await;
}

/// The slot of the focused Hold (or Move here) button.
async fn focused_slot(b: &Browser) -> serde_json::Value {
    b.js("return document.activeElement.form.querySelector('[name=slot_id]').value")
        .await
}

/// Waits for the answer to a hold: true for the hold page, false for an error summary.
async fn held_or_refused(b: &Browser) -> bool {
    b.wait_for(
        "document.readyState === 'complete' && (document.querySelector('#book') || document.querySelector('.nhsuk-error-summary'))",
        "a hold page or an error summary",
    )
    .await;
    b.count("#book").await == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_two_receptionists_race_for_one_slot() {
    let (app, c) = open_week("U80004").await;
    app.post(&format!("/api/v1/clusters/{}/users", c.code), &c.manager, json!({
        "username": "rec2-u80004", "display_name": "Second desk", "password": PASSWORD, "role": "receptionist", "practice_id": c.practice_id
    })).await.ok(201);
    let (one, two) = tokio::join!(
        Browser::open(&app.base, true),
        Browser::open(&app.base, true)
    );
    tokio::join!(
        reach_results(&one, "rec-u80004", nhs(41)),
        reach_results(&two, "rec2-u80004", nhs(42))
    );
    let (first_one, first_two) = tokio::join!(focused_slot(&one), focused_slot(&two));
    assert_eq!(first_one, first_two, "both are offered the same slot first");
    let slot_id = first_one.as_str().unwrap().to_owned();

    // Both press Enter at once: one holds the slot, the other is offered the next ones.
    tokio::join!(one.press_enter(), two.press_enter());
    let (one_held, two_held) = tokio::join!(held_or_refused(&one), held_or_refused(&two));
    assert!(one_held ^ two_held, "exactly one holds the slot");
    let (winner, loser) = if one_held { (&one, &two) } else { (&two, &one) };
    loser.wait_focus(".nhsuk-error-summary").await;
    assert!(
        loser
            .text(".nhsuk-error-summary")
            .await
            .contains("Someone else has just booked or is holding this slot"),
        "{}",
        loser.describe().await
    );
    assert!(
        loser.count(".console-hold").await > 0,
        "the next free slots are offered"
    );
    let offered_again = loser
        .js(&format!(
            "return !!document.querySelector('input[name=slot_id][value=\"{slot_id}\"]')"
        ))
        .await;
    assert_eq!(offered_again, json!(false), "not the taken slot");
    loser.check("slot-taken").await;
    // The address bar names the patient's search: a reload searches again.
    loser.client.refresh().await.unwrap();
    loser.wait_heading("Appointments and free slots for").await;
    loser.wait_focus(".console-hold").await;
    assert_eq!(loser.count(".nhsuk-error-summary").await, 0);

    // The winner books it (a new patient: the details typed), and the loser holds the next.
    winner.wait_focus("#name").await;
    winner.type_text("Eve Testpatient").await;
    winner.fill("#birth_date", "5").await;
    winner.fill("#birth_month", "9").await;
    winner.fill("#birth_year", "1975").await;
    winner.fill("#phone", "0113 496 0005").await;
    winner.focus("#book").await;
    winner.press_enter().await;
    winner.wait_heading("Appointment booked").await;
    assert_eq!(appointments_on(&app, &slot_id), 1);
    loser.focus(".console-hold").await;
    loser.press_enter().await;
    loser
        .wait_heading("Check the slot and the patient's details")
        .await;
    one.close().await;
    two.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_cancel_move_and_the_hub_day_list() {
    let (app, c) = open_week("U80005").await;
    let slots = week_slots(&app, &c).await;
    let moving = app
        .book_directly(&c.code, &slots[0], &c.practice_id)
        .unwrap();
    let arrives = app
        .book_directly(&c.code, &slots[1], &c.practice_id)
        .unwrap();
    let missed = app
        .book_directly(&c.code, &slots[2], &c.practice_id)
        .unwrap();
    // The hub's two are other patients' (one patient has one GP appointment a day).
    set_patient(&app, &arrives, &nhs(51));
    set_patient(&app, &missed, &nhs(52));

    let b = Browser::open(&app.base, true).await;
    sign_in(&b, "rec-u80005", PASSWORD, false).await;
    b.wait_heading("Find a patient's appointments and slots")
        .await;

    // Move: the appointment's page, then the search for a new slot, then Enter on the first.
    b.goto(&format!("/appointments/{moving}")).await;
    b.wait_heading("Appointment").await;
    b.check("appointment").await;

    // Notes for the clinician: added from the appointment's page, the booking untouched.
    b.click("details:has(form[action$='/notes']) .nhsuk-details__summary")
        .await;
    b.fill("#notes", "Bring the blood pressure diary").await;
    b.check("notes-form").await;
    b.click("form[action$='/notes'] button").await;
    b.wait_heading("Notes saved").await;
    assert!(b
        .text("main")
        .await
        .contains("Bring the blood pressure diary"));
    b.check("notes-saved").await;
    b.click("a[href*='move=']").await;
    b.wait_heading("Choose a new slot").await;
    b.wait_focus(".console-hold").await;
    b.check("move-search").await;
    let target = focused_slot(&b).await;
    b.press_enter().await;
    b.wait_heading("Appointment moved").await;
    let target = target.as_str().unwrap().to_owned();
    assert_eq!(appointments_on(&app, &target), 1, "booked in the new slot");
    let url = b.client.current_url().await.unwrap();
    let moved = url.path().rsplit('/').next().unwrap().to_owned();

    // Cancel it: first without a reason, which the error summary links to; then with one.
    b.click("details:has(form[action$='/cancel']) .nhsuk-details__summary")
        .await;
    b.click("form[action$='/cancel'] button").await;
    b.wait_focus(".nhsuk-error-summary").await;
    b.check("cancel-error").await;
    b.click(".nhsuk-error-summary a[href='#cancel_reason']")
        .await;
    b.wait_focus("#cancel_reason").await;
    b.fill("#cancel_reason", "The patient is feeling better")
        .await;
    b.check("cancel-form").await;
    b.click("form[action$='/cancel'] button").await;
    b.wait_heading("Appointment cancelled").await;
    assert!(b
        .text("main")
        .await
        .contains("The patient is feeling better"));
    b.check("cancelled").await;

    // The practice's rebooking worklist, empty here.
    b.goto("/rebooking").await;
    b.wait_heading("Appointments to rebook").await;
    assert!(b.text("main").await.contains("There is nothing to rebook."));
    b.check("rebooking-empty").await;
    let reply = app
        .get(&format!("/api/v1/appointments/{moved}"), &c.receptionist)
        .await;
    assert_eq!(reply.ok(200)["status"], "cancelled");
    b.close().await;

    // Hub staff on the day: arrived, then did not attend, the focus kept on the row.
    app.clock.set(at("2026-12-07T09:25:00Z"));
    let hub = Browser::open(&app.base, true).await;
    sign_in(&hub, "hub-u80005", PASSWORD, false).await;
    hub.wait_heading("Day list").await;
    hub.check("hub-day").await;
    hub.focus(&format!("#row-{arrives} button")).await;
    hub.press_enter().await;
    hub.wait_for(
        &format!("document.querySelector('#status-{arrives}') && document.querySelector('#status-{arrives}').textContent.includes('Arrived')"),
        "the row says Arrived",
    )
    .await;
    hub.wait_focus(&format!("#row-{arrives} *")).await;
    hub.check("hub-day-arrived").await;

    let dna = format!("#row-{missed} form:has(input[name=outcome][value=did_not_attend]) button");
    hub.focus(&dna).await;
    hub.press_enter().await;
    hub.wait_for(
        &format!("document.querySelector('#status-{missed}') && document.querySelector('#status-{missed}').textContent.includes('Did not attend')"),
        "the row says Did not attend",
    )
    .await;
    hub.wait_focus(&format!("#row-{missed} *")).await;
    hub.check("hub-day-did-not-attend").await;
    let reply = app
        .get(&format!("/api/v1/appointments/{missed}"), &c.hub_staff)
        .await;
    assert_eq!(reply.ok(200)["status"], "did_not_attend");
    hub.close().await;
}

/// Presses one key wherever the focus is.
async fn press(b: &Browser, key: char) {
    b.type_text(&key.to_string()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_counts_down_announces_and_returns_to_the_search() {
    let (app, _c) = open_week("U80006").await;
    let b = Browser::open(&app.base, true).await;
    sign_in(&b, "rec-u80006", PASSWORD, false).await;
    b.wait_heading("Find a patient's appointments and slots")
        .await;
    b.wait_focus("#nhs").await;
    b.type_text(&nhs(61)).await;
    b.press_enter().await;
    b.wait_focus(".console-hold").await;
    // The one live region says the new page.
    b.wait_for(
        "document.getElementById('announce').textContent.includes('Appointments and free slots for 999')",
        "the search announced",
    )
    .await;
    // "/" from a button returns to the search box, its text selected.
    press(&b, '/').await;
    b.wait_focus("#nhs").await;
    assert_eq!(
        b.js("const e = document.activeElement; return e.value.substring(e.selectionStart, e.selectionEnd)").await,
        json!(nhs(61))
    );
    b.press_enter().await;
    b.wait_focus(".console-hold").await;
    b.press_enter().await;
    b.wait_heading("Check the slot and the patient's details")
        .await;
    // The hold counts down in minutes and seconds.
    b.wait_for(
        "/\\(\\d:\\d\\d left\\)/.test(document.getElementById('hold-countdown').textContent)",
        "the countdown ticking",
    )
    .await;
    b.wait_for(
        "document.getElementById('announce').textContent.includes('Check the slot')",
        "the hold page announced",
    )
    .await;
    // Let it go: the slot is free again and the search is back, the first Hold focused.
    b.click("form[action$='/release'] button").await;
    b.wait_heading("Appointments and free slots for").await;
    b.wait_focus(".console-hold").await;
    assert_eq!(app.count("holds"), 0);
    // "/" from a page without the search box goes to it.
    b.goto("/hub/day").await;
    b.wait_heading("").await;
    press(&b, '/').await;
    b.wait_heading("Find a patient's appointments and slots")
        .await;
    b.wait_focus("#nhs").await;
    // Stay signed in keeps the page; signing out ends the session.
    b.click(".console-session button").await;
    b.wait_heading("Find a patient's appointments and slots")
        .await;
    b.click(".nhsuk-header__account-button").await;
    b.wait_heading("Sign in").await;
    assert!(b.text("main").await.contains("You have signed out"));
    b.goto("/").await;
    b.wait_heading("Sign in").await;
    b.close().await;
}

/// Fails when the page scrolls sideways (WCAG 1.4.10, reflow at 320 CSS pixels), naming the
/// elements that stick out.
async fn assert_reflows(b: &Browser, name: &str) {
    let wide = b
        .js("const root = document.documentElement; if (root.scrollWidth <= root.clientWidth) return ''; \
             return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > root.clientWidth + 1 && !e.closest('.nhsuk-table-container table'))\
               .slice(0, 5).map(e => e.tagName + '.' + e.className).join(' | ') || ('something ' + root.scrollWidth + ' ' + root.clientWidth + ' ' + Array.from(document.querySelectorAll('.nhsuk-table-container')).map(c => getComputedStyle(c).overflowX + ' ' + JSON.stringify(c.getBoundingClientRect()) + ' ' + c.scrollWidth).join(';'))")
        .await;
    assert_eq!(wide, json!(""), "{name} scrolls sideways at 320 pixels");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_reflow_at_320_pixels_wide() {
    let (app, c) = open_week("U80008").await;
    let slots = week_slots(&app, &c).await;
    app.book_directly(&c.code, &slots[5], &c.practice_id)
        .unwrap();
    let b = Browser::open(&app.base, true).await;
    b.client.set_window_size(320, 800).await.unwrap();
    sign_in(&b, "rec-u80008", PASSWORD, false).await;
    b.wait_heading("Find a patient's appointments and slots")
        .await;
    assert_reflows(&b, "the find page").await;
    b.goto(&format!("/?nhs={KNOWN_PATIENT}")).await;
    b.wait_heading("Appointments and free slots for").await;
    assert_reflows(&b, "the results").await;
    // The first Hold is in view when focused (the table scrolls, not the page).
    b.focus(".console-hold").await;
    b.screenshot("narrow-results").await;
    b.press_enter().await;
    b.wait_heading("Check the slot").await;
    assert_reflows(&b, "the hold page").await;
    b.close().await;
    let hub = Browser::open(&app.base, true).await;
    hub.client.set_window_size(320, 800).await.unwrap();
    sign_in(&hub, "hub-u80008", PASSWORD, false).await;
    hub.wait_heading("Day list").await;
    hub.goto("/hub/day?date=2026-12-07").await;
    hub.wait_heading("Day list").await;
    assert_eq!(
        hub.count(".console-day").await,
        1,
        "{}",
        hub.describe().await
    );
    assert_reflows(&hub, "the day list").await;
    hub.screenshot("narrow-day-list").await;
    hub.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_javascript_off_the_day_list_keeps_the_focus_on_the_row() {
    let (app, c) = open_week("U80009").await;
    let slots = week_slots(&app, &c).await;
    let first = app
        .book_directly(&c.code, &slots[0], &c.practice_id)
        .unwrap();
    app.clock.set(at("2026-12-07T09:05:00Z"));
    let hub = Browser::open(&app.base, false).await;
    sign_in(&hub, "hub-u80009", PASSWORD, false).await;
    hub.wait_heading("Day list").await;
    hub.focus(&format!("#row-{first} button")).await;
    hub.press_enter().await;
    hub.wait_for(
        &format!("document.querySelector('#status-{first}') && document.querySelector('#status-{first}').textContent.includes('Arrived')"),
        "the row says Arrived",
    )
    .await;
    // The full page comes back with the focus on the row's next button, Seen.
    hub.wait_focus(&format!("#row-{first} button")).await;
    assert!(hub
        .js("return document.activeElement.textContent")
        .await
        .as_str()
        .unwrap()
        .starts_with("Seen"));
    hub.screenshot("hub-day-no-javascript").await;
    hub.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rebooking_worklist_is_worked_from_the_keyboard() {
    let (app, c) = open_week("U80010").await;
    let slots = week_slots(&app, &c).await;
    let kept = app
        .book_directly(&c.code, &slots[0], &c.practice_id)
        .unwrap();
    let other = app
        .book_directly(&c.code, &slots[1], &c.practice_id)
        .unwrap();
    set_patient(&app, &other, &nhs(61));
    // The manager cancels Monday's session: both appointments need rebooking.
    app.cancel_sessions_on(&c, "2026-12-07", "The GP is unwell")
        .await;

    let b = Browser::open(&app.base, true).await;
    sign_in(&b, "rec-u80010", PASSWORD, false).await;
    b.wait_heading("Find a patient's appointments and slots")
        .await;
    b.click("a[href='/rebooking']").await;
    b.wait_heading("Appointments to rebook").await;
    assert_eq!(b.count("tbody tr").await, 2);
    b.check("rebooking").await;
    b.focus(&format!("form[action='/rebooking/{kept}/keep'] button"))
        .await;
    b.press_enter().await;
    b.wait_for(
        "document.querySelector('.nhsuk-notification-banner--success') !== null",
        "the success banner",
    )
    .await;
    assert_eq!(b.count("tbody tr").await, 1, "the kept one left the list");
    b.check("rebooking-kept").await;
    let reply = app
        .get(&format!("/api/v1/appointments/{kept}"), &c.receptionist)
        .await;
    assert_eq!(reply.ok(200)["status"], "booked");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_slots_kept_for_others_say_why_and_a_name_made_to_wait_says_what_to_do() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.cluster("U80011").await;
    app.publish_week(
        &c,
        json!({"triage": {"kind": "per_day", "slots": 2}, "apportionment": false}),
    )
    .await;
    let b = Browser::open(&app.base, true).await;
    sign_in(&b, "rec-u80011", PASSWORD, false).await;
    b.wait_heading("Find a patient's appointments and slots")
        .await;
    b.wait_focus("#nhs").await;
    b.type_text(&nhs(71)).await;
    b.press_enter().await;
    b.wait_heading("Appointments and free slots for").await;
    // The explanation is a link away, reached from the keyboard.
    b.focus("#not-offered-link").await;
    b.press_enter().await;
    b.wait_heading("Free slots your practice cannot book yet")
        .await;
    assert!(b
        .text("#not-offered")
        .await
        .contains("kept for NHS 111 until Monday 7 December 2026 at 5am"));
    b.check("not-offered").await;
    b.close().await;

    let waiting = Browser::open(&app.base, true).await;
    for _ in 0..6 {
        sign_in(&waiting, "hub-u80011", "not-the-password", false).await;
        waiting.wait_focus(".nhsuk-error-summary").await;
    }
    let summary = waiting.text(".nhsuk-error-summary").await;
    assert!(
        summary.contains("too many wrong passwords lately")
            && summary.contains("Try again in 30 seconds"),
        "{summary}"
    );
    waiting.check("sign-in-throttled").await;
    waiting.close().await;
}
