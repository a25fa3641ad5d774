//! The reception desk: signing in and out, CSRF, finding a patient's appointments and slots,
//! holding and booking once, an expired hold, a slot taken by someone else, and scope.

use chrono::Duration;
use hubbook_core::Clock;
use serde_json::json;

use crate::both;
use crate::browser::{assert_local, fill_patient, pairs, set, Browser, Page};
use crate::helpers::{nhs, TestApp, PASSWORD};

/// A signed-in receptionist of the cluster's practice.
pub async fn receptionist(app: &TestApp, code: &str) -> Browser {
    let mut b = Browser::new(app);
    let signed = b
        .sign_in(&format!("rec-{}", code.to_lowercase()), PASSWORD)
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    b
}

/// Every asset a page links to is served from here, with its type and a long cache lifetime, and
/// names no other host.
async fn assert_assets_local(b: &mut Browser, page: &Page) {
    let mut rest = page.body.as_str();
    let mut seen = 0;
    while let Some(i) = rest.find("\"/assets/") {
        let tail = &rest[i + 1..];
        let end = tail.find('"').unwrap();
        let path = &tail[..end];
        let asset = b.get(path).await;
        assert_eq!(asset.status, 200, "{path}");
        let content_type = asset.headers["content-type"].to_str().unwrap();
        let cache = asset.headers["cache-control"].to_str().unwrap();
        assert!(cache.contains("max-age=31536000"), "{path}: {cache}");
        if path.contains(".css") {
            assert!(
                content_type.starts_with("text/css"),
                "{path}: {content_type}"
            );
        } else if path.contains(".js") {
            assert!(content_type.starts_with("text/javascript"), "{path}");
        }
        assert_local(&asset.body, path);
        seen += 1;
        rest = &tail[end..];
    }
    assert!(seen >= 4, "a page links its stylesheets and scripts");
    for icon in [
        "/assets/images/nhsuk-icon-cross.svg",
        "/assets/images/nhsuk-icon-arrow-up-down.svg",
    ] {
        let asset = b.get(icon).await;
        assert_eq!(asset.status, 200, "{icon}");
        assert_eq!(asset.headers["content-type"], "image/svg+xml");
        assert_local(&asset.body, icon);
    }
    assert_eq!(b.get("/assets/no-such-file.js").await.status, 404);
}

async fn signing_in_and_out(app: TestApp) {
    let c = app.cluster("U70001").await;
    let mut b = Browser::new(&app);
    let home = b.get("/").await;
    assert_eq!((home.status, home.location()), (303, "/sign-in"));

    // A wrong password: an NHS error summary saying what to do, and no session.
    let wrong = b.sign_in("rec-u70001", "not-the-password").await;
    assert_eq!(wrong.status, 401);
    wrong.assert_local();
    assert!(wrong.body.contains("nhsuk-error-summary"));
    assert!(wrong.body.contains("The username or password is not right"));
    assert!(wrong.body.contains("href=\"#username\""));
    assert_eq!(b.get("/").await.status, 303);

    // The right one: a session cookie that scripts cannot read and other sites do not send.
    let right = b.sign_in("rec-u70001", PASSWORD).await;
    assert_eq!((right.status, right.location()), (303, "/"));
    let cookie = right.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let home = b.get("/").await;
    assert_eq!(home.status, 200);
    home.assert_local();
    assert!(home.body.contains("rec-u70001 (Receptionist)"));
    assert!(home.body.contains("<main") && home.body.contains("aria-live=\"polite\""));
    assert!(home.body.contains("nhsuk-skip-link"));
    assert_assets_local(&mut b, &home).await;

    // The page says when the session ends, and staying signed in moves it on.
    assert!(home.body.contains("You are signed in until"));
    let stay = home.form("/session/extend");
    app.clock.advance(Duration::hours(9));
    b.extra
        .push(("referer", format!("{}/?nhs={}", app.base, nhs(2))));
    let stayed = b.post("/session/extend", &stay).await;
    b.extra.clear();
    assert_eq!(stayed.status, 303, "{}", stayed.body);
    assert_eq!(stayed.location(), format!("/?nhs={}", nhs(2)));
    app.clock.advance(Duration::hours(2));
    let home = b.get("/").await;
    assert_eq!(
        home.status, 200,
        "still signed in after the shift it was first given"
    );

    // Signing out ends the session.
    let form = home.form("/sign-out");
    let out = b.post("/sign-out", &form).await;
    assert_eq!((out.status, out.location()), (303, "/sign-in?signed_out=1"));
    let signed_out = b.get("/sign-in?signed_out=1").await;
    assert!(signed_out
        .assert_local()
        .body
        .contains("You have signed out"));
    assert_eq!(b.get("/").await.status, 303);

    // Behind a TLS proxy the cookie is Secure.
    let mut tls = Browser::new(&app);
    tls.extra.push(("x-forwarded-proto", "https".into()));
    let right = tls.sign_in("hub-u70001", PASSWORD).await;
    assert_eq!(right.status, 303);
    assert!(right.headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Secure"));

    // An administrator's home is the clusters page, not a desk.
    let mut admin = Browser::new(&app);
    assert_eq!(admin.sign_in("root", PASSWORD).await.status, 303);
    let home = admin.get("/").await;
    assert_eq!(home.status, 303);
    assert_eq!(home.location(), "/admin");
    let _ = c;
}

async fn forms_need_their_token_and_this_site(app: TestApp) {
    let c = app.open_week("U70002").await;
    let mut b = receptionist(&app, &c.code).await;
    let page = b.get(&format!("/?nhs={}", nhs(1))).await;
    assert_eq!(page.status, 200);
    let form = page.form("/hold");

    // No token: refused, nothing held.
    let mut tokenless = form.clone();
    tokenless.retain(|(n, _)| n != "csrf_token");
    let refused = b.post("/hold", &tokenless).await;
    assert_eq!(refused.status, 403);
    assert!(refused.assert_local().body.contains("nothing was changed"));
    // A forged token: refused.
    let mut forged = form.clone();
    set(&mut forged, "csrf_token", "forged");
    assert_eq!(b.post("/hold", &forged).await.status, 403);
    // The right token from another site's page: refused by its origin.
    b.extra.push(("origin", "http://elsewhere.example".into()));
    assert_eq!(b.post("/hold", &form).await.status, 403);
    b.extra.clear();
    b.extra.push(("sec-fetch-site", "cross-site".into()));
    assert_eq!(b.post("/hold", &form).await.status, 403);
    b.extra.clear();
    assert_eq!(app.count("holds"), 0);
    // A sign-in form from another site: refused too.
    let mut other = Browser::new(&app);
    other
        .extra
        .push(("origin", "http://elsewhere.example".into()));
    assert_eq!(other.sign_in("rec-u70002", PASSWORD).await.status, 403);

    // The same form from this site holds.
    b.extra.push(("origin", app.base.clone()));
    b.extra.push(("sec-fetch-site", "same-origin".into()));
    let held = b.post("/hold", &form).await;
    assert_eq!(held.status, 303, "{}", held.body);
    assert_eq!(app.count("holds"), 1);
}

async fn find_hold_and_book_once(app: TestApp) {
    let c = app.open_week("U70003").await;
    let mut b = receptionist(&app, &c.code).await;
    let patient = nhs(3);

    // A bad NHS number is refused on the server, linked to the search box.
    let bad = b.get("/?nhs=9990000019").await;
    assert_eq!(bad.status, 422);
    assert!(bad.assert_local().body.contains("href=\"#nhs\""));

    // Search: the patient's appointments (none yet), then the slots in the API's order.
    let found = b.get(&format!("/?nhs={patient}")).await;
    assert_eq!(found.status, 200);
    found.assert_local();
    assert!(found.body.contains("No live appointments"));
    let api = app.get("/api/v1/slots?limit=10", &c.receptionist).await;
    let api_ids: Vec<String> = api.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slot_id"].as_str().unwrap().to_owned())
        .collect();
    let page_ids: Vec<String> = found
        .body
        .split("name=\"slot_id\" value=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect();
    assert_eq!(page_ids, api_ids, "ranked as the API ranks them");
    assert!(found
        .body
        .contains("Monday 7 December 2026, <strong>9am</strong>"));
    let first_hold = &found.body[found.body.find("console-hold").unwrap()..];
    assert!(first_hold[..first_hold.find('>').unwrap()].contains("autofocus"));

    // Filters are query parameters: a date with nothing free says when the next one is.
    let sunday = b.get(&format!("/?nhs={patient}&date=2026-12-06")).await;
    assert_eq!(sunday.status, 200);
    assert!(
        sunday
            .body
            .contains("The next free slot is on Monday 7 December 2026 at 9am"),
        "{}",
        sunday.body
    );
    let by_site = b
        .get(&format!(
            "/?nhs={patient}&site={}&role=gp&delivery=face_to_face",
            c.site_id
        ))
        .await;
    assert_eq!(by_site.status, 200);
    assert!(by_site.body.contains("console-hold"));

    // Hold the first slot: a summary, the patient form, the hold's end and a key for the booking.
    let held = b.post("/hold", &found.form("/hold")).await;
    assert_eq!(held.status, 303);
    let hold_page = b.get(held.location()).await;
    assert_eq!(hold_page.status, 200);
    hold_page.assert_local();
    assert!(hold_page.body.contains("Hub North") && hold_page.body.contains("1 Test Street"));
    assert!(hold_page.body.contains("This slot is held for you until"));
    let hold_id = held.hold_id();
    let action = format!("/holds/{hold_id}/book");
    let mut form = hold_page.form(&action);
    assert_eq!(hold_page.field(&action, "nhs_number"), patient);
    assert!(!hold_page.field(&action, "idempotency_key").is_empty());
    assert!(hold_page.body.contains(
        "id=\"name\" name=\"name\" type=\"text\" value=\"\" autocomplete=\"off\" autofocus"
    ));

    // A phone number that is not one: an error summary linked to the field, nothing booked.
    fill_patient(&mut form, "Ada Testpatient", ("1", "5", "1960"), "call me");
    let refused = b.post(&action, &form).await;
    assert_eq!(refused.status, 422);
    assert!(refused.assert_local().body.contains("href=\"#phone\""));
    assert_eq!(app.count("appointments"), 0);

    // Booked once, however many times the same form is sent.
    set(&mut form, "phone", "0113 496 0000");
    set(&mut form, "reason", "Blood pressure review");
    let booked = b.post(&action, &form).await;
    assert_eq!(booked.status, 303, "{}", booked.body);
    let again = b.post(&action, &form).await;
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(again.location(), booked.location());
    assert_eq!(app.count("appointments"), 1);
    let confirmation = b.get(booked.location()).await;
    assert_eq!(confirmation.status, 200);
    confirmation.assert_local();
    assert!(confirmation.body.contains("nhsuk-panel--confirmation"));
    assert!(confirmation.body.contains("Monday 7 December 2026 at 9am"));
    assert!(confirmation.body.contains("Blood pressure review"));

    // The patient's next search shows the appointment, and the next visit's form is prefilled.
    let found = b.get(&format!("/?nhs={patient}")).await;
    assert!(found.body.contains("Booked"));
    let held = b.post("/hold", &found.form("/hold")).await;
    let hold_page = b.get(held.location()).await;
    assert!(hold_page.body.contains("value=\"Ada Testpatient\""));
    assert!(
        hold_page.body.contains("id=\"book\" autofocus"),
        "Enter books"
    );
    // Letting it go frees the slot for others and returns to the search.
    let hold_id = held.hold_id();
    let released = b
        .post(
            &format!("/holds/{hold_id}/release"),
            &hold_page.form(&format!("/holds/{hold_id}/release")),
        )
        .await;
    assert_eq!(
        (released.status, released.location()),
        (303, format!("/?nhs={patient}").as_str())
    );
}

async fn an_expired_hold_says_so_and_keep_holding_renews_it(app: TestApp) {
    let c = app.open_week("U70004").await;
    let mut b = receptionist(&app, &c.code).await;
    let found = b.get(&format!("/?nhs={}", nhs(4))).await;
    let held = b.post("/hold", &found.form("/hold")).await;
    let hold_page = b.get(held.location()).await;
    let hold_id = held.hold_id();
    let action = format!("/holds/{hold_id}/book");
    let mut form = hold_page.form(&action);
    fill_patient(
        &mut form,
        "Bea Testpatient",
        ("2", "6", "1970"),
        "0113 496 0001",
    );
    // Someone else holds the slot once this hold has run out: the booking is refused and the
    // page offers the next free slots instead.
    app.clock.advance(Duration::minutes(3));
    let late = b.get(held.location()).await;
    assert!(late.body.contains("The hold on this slot ran out"));
    let expired = b.post(&action, &form).await;
    assert_eq!(expired.status, 409, "{}", expired.body);
    expired.assert_local();
    assert!(
        expired
            .body
            .contains("The hold on this slot ran out before you booked"),
        "{}",
        expired.body
    );
    assert!(
        expired.body.contains("href=\"#keep\"") && expired.body.contains("id=\"keep\""),
        "the summary links to Keep holding"
    );
    assert_eq!(app.count("appointments"), 0);

    // Keep holding renews it, keeping what was typed; then the booking goes through.
    let kept = b.post(&format!("/holds/{hold_id}/keep"), &form).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert!(kept.body.contains("value=\"Bea Testpatient\""));
    assert!(kept.body.contains("This slot is held for you until"));
    let new_action = kept
        .body
        .split("action=\"/holds/")
        .nth(1)
        .map(|s| format!("/holds/{}", &s[..s.find('"').unwrap()]))
        .unwrap();
    let booked = b.post(&new_action, &kept.form(&new_action)).await;
    assert_eq!(booked.status, 303, "{}", booked.body);
    assert_eq!(app.count("appointments"), 1);
}

async fn a_slot_taken_by_someone_else_offers_the_next(app: TestApp) {
    let c = app.open_week("U70005").await;
    let mut b = receptionist(&app, &c.code).await;
    let found = b.get(&format!("/?nhs={}", nhs(5))).await;
    let form = found.form("/hold");
    let slot = form.iter().find(|(n, _)| n == "slot_id").unwrap().1.clone();
    app.hold_directly(&c.code, &slot, app.clock.now() + Duration::minutes(2));
    let taken = b.post("/hold", &form).await;
    assert_eq!(taken.status, 409);
    taken.assert_local();
    assert!(taken
        .body
        .contains("Someone else has just booked or is holding this slot"));
    assert!(
        taken.body.contains("console-hold"),
        "the next free slots are offered"
    );
    assert!(
        !taken.body.contains(&format!("value=\"{slot}\"")),
        "not the taken one"
    );
}

async fn another_practice_cannot_open_the_appointment(app: TestApp) {
    let c = app.open_week("U70006").await;
    let practice = app
        .post(
            &format!("/api/v1/clusters/{}/practices", c.code),
            &c.manager,
            json!({"ods_code": "B82002", "name": "Other Surgery", "list_size": 5000, "data_sharing_from": "2026-01-01"}),
        )
        .await;
    let other_id = practice.ok(201)["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/v1/clusters/{}/users", c.code), &c.manager, json!({
        "username": "rec2-u70006", "display_name": "Other", "password": PASSWORD, "role": "receptionist", "practice_id": other_id
    })).await.ok(201);
    let mut b = receptionist(&app, &c.code).await;
    let found = b.get(&format!("/?nhs={}", nhs(6))).await;
    let held = b.post("/hold", &found.form("/hold")).await;
    let hold_page = b.get(held.location()).await;
    let hold_id = held.hold_id();
    let action = format!("/holds/{hold_id}/book");
    let mut form = hold_page.form(&action);
    fill_patient(
        &mut form,
        "Cy Testpatient",
        ("3", "7", "1980"),
        "0113 496 0002",
    );
    let booked = b.post(&action, &form).await;
    assert_eq!(booked.status, 303);
    let path = booked.location().split('?').next().unwrap().to_owned();
    let id = path.rsplit('/').next().unwrap().to_owned();

    let mut other = Browser::new(&app);
    assert_eq!(other.sign_in("rec2-u70006", PASSWORD).await.status, 303);
    let refused = other.get(&path).await;
    assert_eq!(refused.status, 404);
    refused.assert_local();
    assert!(!refused.body.contains("Cy Testpatient"));
    // The same answer as the API's.
    let token = app.login("rec2-u70006", PASSWORD).await;
    app.get(&format!("/api/v1/appointments/{id}"), &token)
        .await
        .problem(404, "not-found");
    // Nor is another receptionist's hold theirs to see or book.
    assert_eq!(other.get(&format!("/holds/{hold_id}")).await.status, 404);
    let _ = pairs(&[]);
}

/// Five wrong passwords in a row cost nothing; the sixth makes the name wait (the console
/// obeys the API's throttle), and the page says for how long and who can end the wait; a
/// manager setting a new password ends it at once.
async fn a_name_waits_after_too_many_wrong_passwords(app: TestApp) {
    let c = app.cluster("U70007").await;
    let mut b = Browser::new(&app);
    for left in (1..=5).rev() {
        let wrong = b.sign_in("rec-u70007", "not-the-password").await;
        assert_eq!(wrong.status, 401, "{left} tries left");
        assert!(wrong
            .body
            .contains("after 5 wrong passwords in a row you must wait a while"));
    }
    let throttled = b.sign_in("rec-u70007", "not-the-password").await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.headers["retry-after"], "30");
    throttled.assert_local();
    assert!(throttled.body.contains("nhsuk-error-summary"));
    assert!(
        throttled.body.contains("too many wrong passwords lately"),
        "{}",
        throttled.body
    );
    assert!(throttled.body.contains("Try again in 30 seconds"));
    assert!(throttled
        .body
        .contains("ask your cluster manager to set a new password"));
    // The right password does not get past the wait either, nor lengthens it.
    app.clock.advance(Duration::seconds(10));
    let still = b.sign_in("rec-u70007", PASSWORD).await;
    assert_eq!(still.status, 429);
    assert!(still.body.contains("Try again in 20 seconds"));
    assert_eq!(b.get("/").await.status, 303, "no session");
    // The wait ends by itself.
    app.clock.advance(Duration::seconds(20));
    assert_eq!(b.sign_in("rec-u70007", PASSWORD).await.status, 303);

    // Another name made to wait, the manager sets a new password: it works at once.
    let mut other = Browser::new(&app);
    for _ in 0..6 {
        other.sign_in("hub-u70007", "not-the-password").await;
    }
    assert_eq!(other.sign_in("hub-u70007", PASSWORD).await.status, 429);
    app.update_user(
        &c,
        "hub-u70007",
        json!({"password": "a-new-password-for-hub-staff"}),
    )
    .await;
    assert_eq!(
        other
            .sign_in("hub-u70007", "a-new-password-for-hub-staff")
            .await
            .status,
        303
    );
}

/// A member of staff disabled while signed in is signed out at their next page and form.
async fn a_disabled_user_is_signed_out_at_once(app: TestApp) {
    let c = app.cluster("U70009").await;
    let mut b = receptionist(&app, &c.code).await;
    let home = b.get("/").await;
    assert_eq!(home.status, 200);
    app.update_user(&c, "rec-u70009", json!({"active": false}))
        .await;
    // A form from before is refused too, and the session's cookie is gone.
    let mut form_tab = b.clone();
    let out = form_tab
        .post("/session/extend", &home.form("/session/extend"))
        .await;
    assert_eq!((out.status, out.location()), (303, "/sign-in"));
    let next = b.get(&format!("/?nhs={}", nhs(9))).await;
    assert_eq!((next.status, next.location()), (303, "/sign-in"));
    assert!(next.headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(b.get("/sign-in").await.status, 200, "no redirect loop");
    assert_eq!(b.sign_in("rec-u70009", PASSWORD).await.status, 401);
}

/// A cluster in another zone reads its own times everywhere, and the slots kept for 111 are
/// listed under the offers with when they open to the practice.
async fn times_are_the_clusters_own_and_slots_not_offered_say_why(app: TestApp) {
    let c = app.cluster("U70008").await;
    let path = format!("/api/v1/clusters/{}", c.code);
    let etag = app.get(&path, &c.manager).await.etag();
    app.send(
        reqwest::Method::PATCH,
        &path,
        Some(&c.manager),
        Some(json!({"time_zone": "Atlantic/Azores"})),
        &[("If-Match", &etag)],
    )
    .await
    .ok(200);
    // Two slots a day kept for 111, released four hours before their session starts.
    app.publish_week(
        &c,
        json!({"triage": {"kind": "per_day", "slots": 2}, "apportionment": false}),
    )
    .await;
    let mut b = receptionist(&app, &c.code).await;
    let found = b.get(&format!("/?nhs={}", nhs(8))).await;
    assert_eq!(found.status, 200, "{}", found.body);
    // The rota's 09:00 to 12:00 is the Azores' own (10am to 1pm in London).
    assert!(
        found.body.contains("Monday 7 December 2026, <strong>9"),
        "{}",
        found.body
    );
    assert!(
        !found.body.contains("<strong>12"),
        "no slot reads as London's noon"
    );
    // The free slots kept for 111 are a link away, each with when it opens to the practice.
    let link = found.body.split("id=\"not-offered-link\"").next().unwrap();
    let href = link.rsplit("href=\"").next().unwrap();
    let href = html_unescape(&href[..href.find('"').unwrap()]);
    assert!(href.starts_with("/not-offered?nhs="), "{href}");
    let hidden = b.get(&href).await;
    assert_eq!(hidden.status, 200, "{}", hidden.body);
    hidden.assert_local();
    assert_eq!(hidden.body.matches("kept for NHS 111 until").count(), 2);
    assert!(
        hidden.body.contains(
            "kept for NHS 111 until Monday 7 December 2026 at 5am, then open to every practice"
        ),
        "{}",
        hidden.body
    );
    let bad = b.get("/not-offered?nhs=9990000018&date=soon").await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("href=\"#date\""));
    // The hold page's expiry is the cluster's clock too: 08:00 UTC is 7am in the Azores.
    let held = b.post("/hold", &found.form("/hold")).await;
    let hold_page = b.get(held.location()).await;
    assert!(hold_page.body.contains("until 7:"), "{}", hold_page.body);
}

fn html_unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&#x3d;", "=")
        .replace("&#x2f;", "/")
}

both!(
    a_name_waits_after_too_many_wrong_passwords,
    a_disabled_user_is_signed_out_at_once,
    times_are_the_clusters_own_and_slots_not_offered_say_why,
    signing_in_and_out,
    forms_need_their_token_and_this_site,
    find_hold_and_book_once,
    an_expired_hold_says_so_and_keep_holding_renews_it,
    a_slot_taken_by_someone_else_offers_the_next,
    another_practice_cannot_open_the_appointment,
);

/// Books the first slot offered for patient `n` through the console; returns the appointment id.
pub async fn book_first(b: &mut Browser, n: u32, name: &str) -> String {
    let found = b.get(&format!("/?nhs={}", nhs(n))).await;
    let held = b.post("/hold", &found.form("/hold")).await;
    assert_eq!(held.status, 303, "{}", held.body);
    let hold_page = b.get(held.location()).await;
    let hold_id = held.hold_id();
    let action = format!("/holds/{hold_id}/book");
    let mut form = hold_page.form(&action);
    fill_patient(&mut form, name, ("9", "9", "1990"), "0113 496 0009");
    let booked = b.post(&action, &form).await;
    assert_eq!(booked.status, 303, "{}", booked.body);
    booked
        .location()
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}
