//! The cluster manager's activity screens: the event feed, webhooks with their deliveries, and
//! the audit trail filtered by entity, actor and time; none of them for other roles.

use serde_json::json;

use crate::both;
use crate::browser::Browser;
use crate::desk::{book_first, receptionist};
use crate::helpers::{TestApp, PASSWORD};
use crate::manage_rotas::manager;

async fn a_manager_reads_the_feed_webhooks_and_audit(app: TestApp) {
    let c = app.open_week("U73001").await;
    let mut desk = receptionist(&app, &c.code).await;
    let booked = book_first(&mut desk, 31, "Ivy Testpatient").await;
    let hook = app
        .post(
            &format!("/api/v1/clusters/{}/webhooks", c.code),
            &c.manager,
            json!({"url": "http://127.0.0.1:9/hubbook-hook"}),
        )
        .await;
    let hook_id = hook.ok(201)["id"].as_str().unwrap().to_owned();

    let mut b = manager(&app, &c.code).await;
    let events = b.get("/manage/events").await;
    assert_eq!(events.status, 200, "{}", events.body);
    events.assert_local();
    assert!(
        events.body.contains("appointment.booked"),
        "{}",
        events.body
    );
    assert!(events.body.contains(&format!("/appointments/{booked}")));
    let first_page = b.get("/manage/events?after=0").await;
    assert!(first_page.body.contains("appointment.booked"));

    let hooks = b.get("/manage/webhooks").await;
    assert_eq!(hooks.status, 200);
    assert!(
        hooks.body.contains("127.0.0.1:9&#x2f;hubbook-hook"),
        "{}",
        hooks.body
    );
    let deliveries = b.get(&format!("/manage/webhooks/{hook_id}")).await;
    assert_eq!(deliveries.status, 200, "{}", deliveries.body);
    assert!(deliveries.body.contains("Nothing has been delivered yet"));
    assert_eq!(b.get("/manage/webhooks/no-such-hook").await.status, 404);

    // The audit trail, filtered: the rota the week was published from, by its manager.
    let all = b.get("/manage/audit").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(all.body.contains("rota.create"), "{}", all.body);
    assert!(all.body.contains("appointment."), "bookings are audited");
    let rotas = b.get("/manage/audit?entity=rota").await;
    assert!(rotas.body.contains("rota.create"));
    assert!(!rotas.body.contains("appointment."), "filtered by entity");
    let nobody = b.get("/manage/audit?actor=user%3Anobody").await;
    assert!(nobody.body.contains("No changes match"));
    let future = b.get("/manage/audit?from=2027-06-01").await;
    assert!(future.body.contains("No changes match"));
    let bad = b.get("/manage/audit?from=yesterday").await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("href=\"#from\""));
    let reversed = b.get("/manage/audit?from=2026-12-02&to=2026-12-01").await;
    assert_eq!(reversed.status, 422);
    assert!(reversed.body.contains("href=\"#to\""));
}

async fn other_roles_find_no_activity_screens(app: TestApp) {
    let c = app.cluster("U73002").await;
    for user in ["rec-u73002", "hub-u73002"] {
        let mut b = Browser::new(&app);
        assert_eq!(b.sign_in(user, PASSWORD).await.status, 303);
        for path in [
            "/manage/events",
            "/manage/webhooks",
            "/manage/webhooks/x",
            "/manage/audit",
        ] {
            assert_eq!(b.get(path).await.status, 404, "{user} {path}");
        }
    }
    let _ = c;
}

both!(
    a_manager_reads_the_feed_webhooks_and_audit,
    other_roles_find_no_activity_screens,
);
