//! The hub's day list: arrived, seen and did-not-attend from the list, the focus kept on the
//! row, a stale form said plainly, and another cluster's hub not found.

use crate::both;
use crate::browser::{set, Browser};
use crate::desk::receptionist;
use crate::helpers::{at, Cluster, TestApp, PASSWORD};

/// The slots of the published week, earliest first, as the API lists them.
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

async fn the_hub_day_list_records_outcomes(app: TestApp) {
    let c = app.open_week("U70007").await;
    let slots = week_slots(&app, &c).await;
    let first = app
        .book_directly(&c.code, &slots[0], &c.practice_id)
        .unwrap();
    let second = app
        .book_directly(&c.code, &slots[1], &c.practice_id)
        .unwrap();
    app.clock.set(at("2026-12-07T09:15:00Z"));
    let mut hub = Browser::new(&app);
    assert_eq!(hub.sign_in("hub-u70007", PASSWORD).await.status, 303);
    let home = hub.get("/").await;
    assert_eq!((home.status, home.location()), (303, "/hub/day"));
    let day = hub.get("/hub/day").await;
    assert_eq!(day.status, 200, "{}", day.body);
    day.assert_local();
    assert!(day.body.contains("Monday 7 December 2026"));
    assert!(day.body.contains("Ada Testpatient") && day.body.contains("9am to 9:10am"));
    let action = format!("/hub/appointments/{first}/outcome");
    let mut arrived = day.form(&action);
    assert_eq!(day.field(&action, "outcome"), "arrived");

    // Arrived: the list comes back with the focus on the same row's next button.
    let recorded = hub.post(&action, &arrived).await;
    assert_eq!(recorded.status, 303, "{}", recorded.body);
    assert!(recorded.location().contains(&format!("focus={first}")));
    let after = hub.get(recorded.location()).await;
    assert!(after.body.contains(&format!("id=\"status-{first}\"")));
    let row = &after.body[after.body.find(&format!("id=\"row-{first}\"")).unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains(">Arrived</strong>"), "{row}");
    assert!(row.contains("value=\"seen\""));
    assert!(row.contains(" autofocus>Seen"), "{row}");

    // The same form again is stale: said plainly, nothing changed twice.
    let stale = hub.post(&action, &arrived).await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert!(stale
        .assert_local()
        .body
        .contains("Someone else updated this appointment"));
    set(&mut arrived, "outcome", "no-such-outcome");
    assert_eq!(hub.post(&action, &arrived).await.status, 422);

    // Did not attend: hub staff cannot correct it, so the row offers nothing more.
    let dna_action = format!("/hub/appointments/{second}/outcome");
    let mut dna = after.form(&dna_action);
    set(&mut dna, "outcome", "did_not_attend");
    assert_eq!(hub.post(&dna_action, &dna).await.status, 303);
    let after = hub.get("/hub/day?date=2026-12-07").await;
    assert!(after.body.contains(">Did not attend</strong>"));
    assert!(!after.body.contains(&format!("action=\"{dna_action}\"")));

    // Another cluster's hub is not found, as in the API; a receptionist has no day lists.
    let other = app.cluster("U70008").await;
    let refused = hub
        .get(&format!("/hub/day?site={}&date=2026-12-07", other.site_id))
        .await;
    assert_eq!(refused.status, 404);
    refused.assert_local();
    let mut rec = receptionist(&app, &c.code).await;
    assert_eq!(rec.get("/hub/day").await.status, 403);
}

both!(the_hub_day_list_records_outcomes);
