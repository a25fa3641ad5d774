//! Changing a booked appointment from its page: moving it to another slot in one step, and
//! cancelling it with a reason.

use crate::both;
use crate::browser::{set, Browser};
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

both!(move_then_cancel);
