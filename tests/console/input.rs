//! Bad input never breaks a page: malformed, missing, oversized and hostile values on every
//! route are answered with a page saying what to do, never a server error.

use crate::both;
use crate::browser::Page;
use crate::desk::receptionist;
use crate::helpers::TestApp;

#[track_caller]
fn answered(page: &Page, what: &str) {
    assert!(page.status < 500, "{what}: {} {}", page.status, page.body);
    page.assert_local();
}

async fn bad_input_is_answered_not_failed(app: TestApp) {
    let c = app.open_week("U70010").await;
    let mut b = receptionist(&app, &c.code).await;
    let long = "9".repeat(20_000);
    for query in [
        "/?nhs=%00%01",
        "/?nhs=99900000181234567890",
        &format!("/?nhs={long}"),
        "/?nhs=9990000018&date=2026-02-30",
        "/?nhs=9990000018&date=99999-01-01",
        "/?nhs=9990000018&site=%27%20OR%201%3D1&service=%E2%9C%93&role=%3Cscript%3E&delivery=x",
        "/?nhs=9990000018&move=nope",
        "/?%zz=%zz",
        "/holds/no-such-hold",
        "/holds/%2e%2e",
        "/appointments/no-such-appointment",
        "/hub/day?site=nope&date=not-a-date",
        "/hub/day?date=1900-01-01",
    ] {
        let page = b.get(query).await;
        answered(&page, query);
        assert!(!page.body.contains("<script>"), "{query} is escaped");
    }
    let page = b.get("/?nhs=9990000018").await;
    let csrf = page.field("/sign-out", "csrf_token");
    let hostile = [
        ("slot_id", long.as_str()),
        ("nhs_number", "\u{0}\u{7}"),
        ("name", "\u{202e}evil\r\nname"),
        ("birth_day", "-1"),
        ("birth_month", "13"),
        ("birth_year", "99999999999999999999"),
        ("phone", "+44 (0) 113 496 0000 ext 1"),
        ("email", "@@"),
        ("idempotency_key", "key with spaces"),
        ("version", "NaN"),
        ("outcome", "seen"),
        ("cancel_reason", ""),
        ("site", "nope"),
        ("date", "2026-13-40"),
    ];
    let mut form: Vec<(String, String)> = vec![("csrf_token".into(), csrf)];
    form.extend(
        hostile
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    for route in [
        "/hold",
        "/holds/no-such-hold/book",
        "/holds/no-such-hold/keep",
        "/holds/no-such-hold/release",
        "/appointments/no-such-appointment/cancel",
        "/appointments/no-such-appointment/move",
        "/hub/appointments/no-such-appointment/outcome",
    ] {
        let page = b.post(route, &form).await;
        answered(&page, route);
    }
    // A body that is not a form at all.
    let page = b.post("/hold", &[("\u{fffd}".into(), "%%%".into())]).await;
    answered(&page, "a body that is not a form");
    // Nothing was made by any of it.
    assert_eq!(app.count("appointments"), 0);
}

/// A control character a browser never sends, in a form value, is dropped before the database:
/// the booking is made, its name without the NUL, alike on both backends.
async fn a_control_character_in_a_form_never_reaches_the_database(app: TestApp) {
    let c = app.open_week("U70011").await;
    let mut b = receptionist(&app, &c.code).await;
    crate::desk::book_first(&mut b, 15, "Nul\u{0}Testpatient").await;
    assert_eq!(
        app.count("appointments WHERE patient_name = 'NulTestpatient'"),
        1
    );
}

both!(
    bad_input_is_answered_not_failed,
    a_control_character_in_a_form_never_reaches_the_database
);
