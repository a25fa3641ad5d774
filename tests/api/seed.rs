//! The national-scale data set at a small size: what it writes, that it refuses a second run, and
//! that its receptionists and its 111 client can sign in and book at once.

use hubbook::seed::{monday_of, seed, SeedPlan, SEED_CLIENT};
use hubbook_api::auth::hash_secret;
use reqwest::Method;
use serde_json::json;

use crate::both;
use crate::helpers::{at, nhs, TestApp};

/// A plan of `clusters` clusters starting this week (Monday 30 November 2026), "now" being
/// Wednesday 2 December 10:00, where the server's clock is set too.
fn plan(app: &TestApp, clusters: u32, weeks: u32, history_weeks: u32, seed: u64) -> SeedPlan {
    let now = at("2026-12-02T10:00:00Z");
    app.clock.set(now);
    SeedPlan {
        clusters,
        weeks,
        history_weeks,
        seed,
        start: monday_of(now.date_naive()),
        now: now.naive_utc(),
        password_hash: hash_secret("seed-password").unwrap(),
    }
}

/// Slots of sessions dated in `[from, to)`, joined to what `join` adds, filtered by `filter`.
fn count_between(app: &TestApp, from: &str, to: &str, join: &str, filter: &str) -> i64 {
    app.count(&format!(
        "slots s JOIN sessions e ON e.cluster_id = s.cluster_id AND e.id = s.session_id {join} \
         WHERE e.local_date >= '{from}' AND e.local_date < '{to}' {filter}"
    ))
}

async fn a_small_seed_is_realistic_refuses_a_rerun_and_is_usable(app: TestApp) {
    // One week of history before Monday 30 November, two ahead.
    let plan = plan(&app, 2, 2, 1, 7);
    assert_eq!(plan.start.to_string(), "2026-11-30");
    let report = {
        let mut conn = app.pool.get().unwrap();
        seed(&mut conn, &plan, &|_| {}).unwrap()
    };

    // What it reports is what it wrote.
    assert_eq!(report.clusters, 2);
    assert_eq!(app.count("clusters"), 2);
    assert!((8..=24).contains(&report.practices), "{report:?}");
    assert_eq!(app.count("practices"), report.practices as i64);
    assert_eq!(app.count("sessions"), report.sessions as i64);
    assert_eq!(app.count("slots"), report.slots as i64);
    assert_eq!(app.count("appointments"), report.appointments as i64);
    assert_eq!(
        app.count("users WHERE role = 'receptionist'"),
        report.practices as i64
    );
    let average = report.patients as f64 / report.practices as f64;
    assert!((4_000.0..20_000.0).contains(&average), "{report:?}");
    assert!(report.rows > report.slots + report.appointments);

    // The history week is about 80% used, 5-10% of those not attending.
    let past = count_between(&app, "2026-11-23", "2026-11-30", "", "");
    let used_join = "JOIN appointments a ON a.cluster_id = s.cluster_id AND a.slot_id = s.id";
    let used = count_between(
        &app,
        "2026-11-23",
        "2026-11-30",
        used_join,
        "AND a.status IN ('seen', 'did_not_attend')",
    );
    let dna = count_between(
        &app,
        "2026-11-23",
        "2026-11-30",
        used_join,
        "AND a.status = 'did_not_attend'",
    );
    assert!(past > 500, "{past} slots in the history week");
    let utilisation = used as f64 / past as f64;
    assert!(
        (0.72..0.88).contains(&utilisation),
        "utilisation {utilisation}"
    );
    let dna_rate = dna as f64 / used as f64;
    assert!((0.02..0.14).contains(&dna_rate), "DNA rate {dna_rate}");
    // Next week is less booked than this week's history; the future holds no outcomes.
    let next = count_between(&app, "2026-12-07", "2026-12-14", "", "");
    let next_booked = count_between(
        &app,
        "2026-12-07",
        "2026-12-14",
        used_join,
        "AND a.status = 'booked'",
    );
    assert!(next > 0 && next_booked > 0, "{next} {next_booked}");
    assert!((next_booked as f64) < 0.7 * next as f64);
    assert_eq!(
        count_between(
            &app,
            "2026-12-03",
            "2026-12-14",
            used_join,
            "AND a.status IN ('seen', 'did_not_attend')"
        ),
        0
    );
    // 111 has its share, and every booking on it is a triage booking; no slot holds two.
    let for_111 = app.count("slots WHERE channel = '111'");
    assert!(
        for_111 > 0 && for_111 * 5 < report.slots as i64,
        "{for_111} of {}",
        report.slots
    );
    assert_eq!(
        app.count("triage_bookings"),
        app.count("appointments WHERE channel = '111'")
    );
    assert_eq!(
        app.count(
            "(SELECT slot_id FROM appointments WHERE status <> 'cancelled' \
             GROUP BY cluster_id, slot_id HAVING COUNT(*) > 1) twice"
        ),
        0
    );

    // A second run is refused and changes nothing.
    let again = {
        let mut conn = app.pool.get().unwrap();
        seed(&mut conn, &plan, &|_| {}).unwrap_err().to_string()
    };
    assert!(again.contains("already seeded"), "{again}");
    assert_eq!(app.count("slots"), report.slots as i64);

    // A receptionist signs in, searches the coming week, holds and books.
    let reception = app.login("rcp-00001-2", "seed-password").await;
    let offers = app.get("/api/v1/slots?limit=20", &reception).await;
    let offers = offers.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(offers.len(), 20);
    assert!(offers
        .iter()
        .all(|o| o["starts_at"].as_str().unwrap() > "2026-12-02T10:00:00Z"));
    let slot = offers[0]["slot_id"].as_str().unwrap();
    let hold = app
        .call(
            Method::POST,
            &format!("/api/v1/slots/{slot}/hold"),
            Some(&reception),
            None,
        )
        .await;
    let hold = hold.ok(201).clone();
    let booked = app
        .send(
            Method::POST,
            "/api/v1/appointments",
            Some(&reception),
            Some(json!({"slot_id": slot, "hold_id": hold["hold_id"],
                "patient": {"nhs_number": nhs(1), "name": "Seed Test Patient", "birth_date": "1980-05-06", "phone": "0113 496 0999"}})),
            &[("Idempotency-Key", "seed-test-1")],
        )
        .await;
    assert_eq!(booked.ok(201)["status"], "booked");

    // The 111 client signs in and books in the second cluster.
    let token = app.client_token(SEED_CLIENT, "seed-password").await;
    let triage = token.ok(200)["access_token"].as_str().unwrap().to_owned();
    let triaged = app
        .send(
            Method::POST,
            "/api/v1/triage/bookings",
            Some(&triage),
            Some(json!({"cluster": "N00002", "disposition": "Dx75", "triaged_at": "2026-12-02T09:55:00Z",
                "patient": {"nhs_number": nhs(2), "name": "Seed Triage Patient", "birth_date": "1990-01-02", "phone": "0113 496 0998"},
                "location": {"latitude": 52.5, "longitude": -1.5}})),
            &[("Idempotency-Key", "seed-test-2")],
        )
        .await;
    let triaged = triaged.ok(201).clone();
    assert_eq!(triaged["appointment"]["channel"], "111", "{triaged}");
}

async fn a_national_111_client_books_near_the_patient(app: TestApp) {
    // More clusters than a triage search looks in: the patient stands at the 17th's hub.
    let plan = plan(&app, 17, 1, 0, 3);
    let hub = {
        let mut conn = app.pool.get().unwrap();
        seed(&mut conn, &plan, &|_| {}).unwrap();
        let last = hubbook_store::repo::clusters::get_cluster_by_code(&mut conn, "N00017")
            .unwrap()
            .id;
        hubbook_store::repo::sites::list_sites(&mut conn, &last, None, 10)
            .unwrap()
            .items
            .remove(0)
    };
    let token = app.client_token(SEED_CLIENT, "seed-password").await;
    let triage = token.ok(200)["access_token"].as_str().unwrap().to_owned();
    let booked = app
        .send(
            Method::POST,
            "/api/v1/triage/bookings",
            Some(&triage),
            Some(json!({"disposition": "Dx75", "triaged_at": "2026-12-02T09:55:00Z",
                "patient": {"nhs_number": nhs(3), "name": "Seed Triage Patient", "birth_date": "1990-01-02", "phone": "0113 496 0997"},
                "location": {"latitude": hub.latitude, "longitude": hub.longitude}})),
            &[("Idempotency-Key", "seed-test-3")],
        )
        .await;
    let booked = booked.ok(201).clone();
    assert_eq!(booked["slot"]["cluster"], "N00017", "{booked}");
    assert_eq!(booked["slot"]["distance_km"], 0.0, "{booked}");
}

both!(
    a_small_seed_is_realistic_refuses_a_rerun_and_is_usable,
    a_national_111_client_books_near_the_patient
);
