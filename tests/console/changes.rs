//! Changing a booked appointment from its page: moving it to another slot in one step,
//! cancelling it with a reason, and amending the notes for the clinician.

use crate::both;
use crate::browser::{pairs, set, Browser};
use crate::desk::{book_first, receptionist};
use crate::helpers::{TestApp, PASSWORD};

async fn move_then_cancel(app: TestApp) {
    let c = app.open_week("U70009").await;
    let mut b = receptionist(&app, &c.code).await;
    let old = book_first(&mut b, 9, "Dee Testpatient").await;

    // Move: the page links to a search for the new slot; choosing one moves it at once.
    let page = b.get(&format!("/appointments/{old}")).await;
    assert_eq!(page.status, 200);
    let anchor = &page.body[..page.body.find(">Move to another slot").unwrap()];
    let href = &anchor[anchor.rfind("href=\"").unwrap() + 6..];
    let link = href[..href.find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    assert!(link.contains(&format!("move={old}")), "{link}");
    let choose = b.get(&link).await;
    assert_eq!(choose.status, 200);
    choose.assert_local();
    assert!(choose.body.contains("Choose a new slot") && choose.body.contains("Move here"));
    let action = format!("/appointments/{old}/move");
    let moved = b.post(&action, &choose.form(&action)).await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    let new = moved
        .location()
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(new, old);
    let confirmation = b.get(moved.location()).await;
    assert!(confirmation
        .assert_local()
        .body
        .contains("Appointment moved"));
    let token = app.login("rec-u70009", PASSWORD).await;
    assert_eq!(
        app.get(&format!("/api/v1/appointments/{old}"), &token)
            .await
            .ok(200)["status"],
        "cancelled"
    );
    assert_eq!(
        app.get(&format!("/api/v1/appointments/{new}"), &token)
            .await
            .ok(200)["status"],
        "booked"
    );
    // The old form again is stale: the patient keeps the new appointment.
    let again = b.post(&action, &choose.form(&action)).await;
    assert!(again.status >= 400, "{}", again.status);
    assert!(again.assert_local().body.contains("nhsuk-error-summary"));

    // Cancel: a reason is needed, then the slot is free again.
    let page = b.get(&format!("/appointments/{new}")).await;
    let cancel = format!("/appointments/{new}/cancel");
    let mut form = page.form(&cancel);
    let refused = b.post(&cancel, &form).await;
    assert_eq!(refused.status, 422);
    assert!(refused
        .assert_local()
        .body
        .contains("href=\"#cancel_reason\""));
    set(&mut form, "cancel_reason", "The patient is feeling better");
    let cancelled = b.post(&cancel, &form).await;
    assert_eq!(cancelled.status, 303, "{}", cancelled.body);
    let page = b.get(cancelled.location()).await;
    assert!(page.assert_local().body.contains("Appointment cancelled"));
    assert!(page.body.contains("The patient is feeling better"));
    assert!(
        !page.body.contains(&format!("action=\"{cancel}\"")),
        "nothing left to cancel"
    );
    assert_eq!(
        app.get(&format!("/api/v1/appointments/{new}"), &token)
            .await
            .ok(200)["status"],
        "cancelled"
    );
    let stale = b.post(&cancel, &form).await;
    assert!(stale.status >= 400 && stale.assert_local().body.contains("nhsuk-error-summary"));
    let _ = Browser::new(&app);
}

async fn notes_are_added_changed_and_cleared(app: TestApp) {
    let c = app.open_week("U70011").await;
    let mut b = receptionist(&app, &c.code).await;
    let id = book_first(&mut b, 11, "Noel Testpatient").await;
    let token = app.login("rec-u70011", PASSWORD).await;
    let action = format!("/appointments/{id}/notes");

    let page = b.get(&format!("/appointments/{id}")).await;
    assert!(page
        .assert_local()
        .body
        .contains("Add notes for the clinician"));
    let mut form = page.form(&action);
    set(&mut form, "notes", "Bring the blood pressure diary");
    let saved = b.post(&action, &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let shown = b.get(saved.location()).await;
    assert!(shown.assert_local().body.contains("Notes saved"));
    assert!(shown.body.contains("Bring the blood pressure diary"));
    let stored = app.get(&format!("/api/v1/appointments/{id}"), &token).await;
    let stored = stored.ok(200);
    assert_eq!(stored["notes"], "Bring the blood pressure diary");
    assert_eq!(
        stored["status"], "booked",
        "the booking itself is untouched"
    );

    // The form read before the change is stale now: nothing is overwritten.
    let stale = b.post(&action, &form).await;
    assert!(stale.status >= 400, "{}", stale.status);
    assert!(stale
        .assert_local()
        .body
        .contains("Someone else changed this appointment"));

    // Too long: the error links to the field, and the notes stay as they were.
    let mut form = shown.form(&action);
    set(&mut form, "notes", &"x".repeat(2_001));
    let refused = b.post(&action, &form).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.assert_local().body.contains("href=\"#notes\""));
    assert_eq!(
        app.get(&format!("/api/v1/appointments/{id}"), &token)
            .await
            .ok(200)["notes"],
        "Bring the blood pressure diary"
    );

    // Empty clears them.
    set(&mut form, "notes", "");
    let cleared = b.post(&action, &form).await;
    assert_eq!(cleared.status, 303, "{}", cleared.body);
    assert!(app
        .get(&format!("/api/v1/appointments/{id}"), &token)
        .await
        .ok(200)["notes"]
        .is_null());
}

async fn the_rebooking_worklist_keeps_or_cancels(app: TestApp) {
    let c = app.open_week("U70012").await;
    let mut b = receptionist(&app, &c.code).await;
    let first = book_first(&mut b, 12, "Rhea Testpatient").await;
    let second = book_first(&mut b, 13, "Remy Testpatient").await;
    let token = app.login("rec-u70012", PASSWORD).await;

    let empty = b.get("/rebooking").await;
    assert_eq!(empty.status, 200);
    assert!(empty
        .assert_local()
        .body
        .contains("There is nothing to rebook."));

    // The manager cancels Monday's session: both appointments need rebooking.
    app.cancel_sessions_on(&c, "2026-12-07", "The GP is unwell")
        .await;

    let list = b.get("/rebooking").await;
    assert_eq!(list.status, 200);
    let body = &list.assert_local().body;
    assert!(body.contains("Rhea Testpatient") && body.contains("Remy Testpatient"));
    assert!(body.contains("The GP is unwell"));
    assert!(
        body.contains(&format!("move={first}")),
        "a link to find a new slot"
    );

    // One keeps the time, the other is cancelled; both leave the list.
    let keep = format!("/rebooking/{first}/keep");
    let kept = b.post(&keep, &list.form(&keep)).await;
    assert_eq!(kept.status, 303, "{}", kept.body);
    let cancel = format!("/rebooking/{second}/cancel");
    let cancelled = b.post(&cancel, &list.form(&cancel)).await;
    assert_eq!(cancelled.status, 303, "{}", cancelled.body);
    let after = b.get(cancelled.location()).await;
    assert!(after
        .assert_local()
        .body
        .contains("The appointment is cancelled"));
    assert!(after.body.contains("There is nothing to rebook."));
    let status = |id: String| {
        let app = &app;
        let token = token.clone();
        async move {
            app.get(&format!("/api/v1/appointments/{id}"), &token)
                .await
                .ok(200)["status"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(status(first.clone()).await, "booked");
    assert_eq!(status(second.clone()).await, "cancelled");

    // The same form again finds nothing to resolve, and says so.
    let again = b.post(&keep, &list.form(&keep)).await;
    assert!(again.status >= 400, "{}", again.status);
    assert!(again.assert_local().body.contains("nhsuk-error-summary"));
}

/// Ticked rows are resolved together with one reason, recorded with each; a row changed
/// meanwhile is named and left on the list while the others are done.
async fn ticked_rebookings_are_resolved_together_with_a_reason(app: TestApp) {
    let c = app.open_week("U70013").await;
    let mut b = receptionist(&app, &c.code).await;
    let first = book_first(&mut b, 14, "Tess Testpatient").await;
    let second = book_first(&mut b, 15, "Toby Testpatient").await;
    let third = book_first(&mut b, 16, "Tara Testpatient").await;
    app.cancel_sessions_on(&c, "2026-12-07", "The hub is closed")
        .await;
    let list = b.get("/rebooking").await;
    let csrf = list.field("/rebooking/bulk", "csrf_token");
    let version = |id: &str| list.field(&format!("/rebooking/{id}/keep"), "version");
    // Nothing ticked: told what to do.
    let none = b
        .post(
            "/rebooking/bulk",
            &pairs(&[("csrf_token", csrf.as_str()), ("action", "keep")]),
        )
        .await;
    assert_eq!(none.status, 422);
    assert!(none.body.contains("Tick at least one patient"));
    // The third changes meanwhile (kept from its own row).
    let keep_third = format!("/rebooking/{third}/keep");
    assert_eq!(
        b.post(&keep_third, &list.form(&keep_third)).await.status,
        303
    );
    let picks: Vec<(String, String)> = [&first, &second, &third]
        .iter()
        .map(|id| (format!("pick_{id}"), version(id)))
        .collect();
    let mut ticked = pairs(&[
        ("csrf_token", csrf.as_str()),
        ("action", "cancel"),
        ("note", "Patients told by text; they will call back"),
    ]);
    ticked.extend(picks);
    let done = b.post("/rebooking/bulk", &ticked).await;
    assert_eq!(done.status, 409, "{}", done.body);
    assert!(done
        .body
        .contains("1 of the ticked appointments could not be changed"));
    assert!(done.body.contains("There is nothing to rebook."));
    let token = app.login("rec-u70013", PASSWORD).await;
    for id in [&first, &second] {
        let a = app.get(&format!("/api/v1/appointments/{id}"), &token).await;
        let a = a.ok(200);
        assert_eq!(a["status"], "cancelled");
        assert_eq!(
            a["cancel_reason"],
            "Patients told by text; they will call back"
        );
    }
    for id in [&first, &second] {
        assert_eq!(
            app.rebooking_note(id).as_deref(),
            Some("Patients told by text; they will call back")
        );
    }
}

both!(
    ticked_rebookings_are_resolved_together_with_a_reason,
    move_then_cancel,
    notes_are_added_changed_and_cleared,
    the_rebooking_worklist_keeps_or_cancels,
);
