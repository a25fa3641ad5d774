//! The demo data set: seeded once, reused after, and usable at once by its users.

use hubbook::demo::{demo_usernames, seed_demo, Seeded, DEMO_PRACTICES};
use serde_json::json;

use crate::both;
use crate::helpers::TestApp;

async fn the_demo_seeds_once_and_every_user_can_sign_in(app: TestApp) {
    let now = chrono::Utc::now().naive_utc();
    let mut conn = app.pool.get().unwrap();
    assert_eq!(
        seed_demo(&mut conn, "demo-password", now).unwrap(),
        Seeded::Created
    );
    assert_eq!(
        seed_demo(&mut conn, "demo-password", now).unwrap(),
        Seeded::Reused
    );
    drop(conn);
    assert_eq!(app.count("practices"), DEMO_PRACTICES.len() as i64);
    for username in demo_usernames() {
        app.login(&username, "demo-password").await;
    }
    let reception = app.login("reception-x00002", "demo-password").await;
    let practices = app
        .get("/api/v1/clusters/U00001/practices", &reception)
        .await;
    assert_eq!(practices.ok(200)["items"].as_array().unwrap().len(), 6);
    let sites = app.get("/api/v1/clusters/U00001/sites", &reception).await;
    let kinds: Vec<&str> = sites.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["hub", "hub", "surgery"]);
    let token = app.client_token("demo-111", "demo-password").await;
    let triage = token.ok(200)["access_token"].as_str().unwrap().to_owned();
    app.get("/api/v1/clusters/U00001/services", &triage)
        .await
        .ok(200);
    // The rota is published four weeks ahead: evenings and Saturdays at both hubs, bloods with two chairs.
    let hub = app.login("hubstaff", "demo-password").await;
    let today = chrono::Utc::now().date_naive();
    let horizon = today + chrono::Duration::days(27);
    let sessions = app
        .get(
            &format!("/api/v1/clusters/U00001/sessions?limit=500&from={today}&to={horizon}"),
            &hub,
        )
        .await;
    let sessions = sessions.ok(200)["items"].as_array().unwrap().clone();
    assert!(sessions.len() > 100, "{} sessions", sessions.len());
    for key in [
        "north-gp-evening",
        "south-nurse-saturday",
        "surgery-phlebotomy",
        "south-physio-saturday",
    ] {
        assert!(sessions.iter().any(|s| s["template_key"] == key), "{key}");
    }
    assert!(sessions
        .iter()
        .all(|s| s["date"].as_str().unwrap() <= horizon.to_string().as_str()));
    let bloods = sessions
        .iter()
        .find(|s| s["template_key"] == "surgery-phlebotomy")
        .unwrap();
    assert_eq!(bloods["capacity"], 2);
    // A handful of appointments exist on day one, each visible to its own practice.
    assert_eq!(app.count("appointments WHERE status = 'booked'"), 6);
    let reception1 = app.login("reception-x00001", "demo-password").await;
    let theirs = app.get("/api/v1/appointments", &reception1).await;
    assert_eq!(theirs.ok(200)["items"].as_array().unwrap().len(), 2);
    // The receptionist may read but not change the cluster's set-up.
    app.post(
        "/api/v1/clusters/U00001/services",
        &reception,
        json!({"code": "x", "name": "X", "clinical_role": "gp"}),
    )
    .await
    .problem(403, "forbidden");
}

both!(the_demo_seeds_once_and_every_user_can_sign_in);
