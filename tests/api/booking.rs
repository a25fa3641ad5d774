//! Holding and booking: the happy path, every refusal, and the races (200 bookers on 10 slots,
//! racing holds, 50 retries of one key), with the one-live-appointment rule checked in SQL.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{at, nhs, Cluster, TestApp, PASSWORD};

fn patient(n: u32) -> Value {
    json!({"nhs_number": nhs(n), "name": format!("Test Patient {n}"), "birth_date": "1960-05-01", "phone": "0113 496 0000"})
}

/// A cluster whose slots are all open, a week of GP mornings published, the clock before it.
async fn open_week(app: &TestApp, code: &str) -> (Cluster, Vec<String>) {
    let c = app.open_week(code).await;
    let offers = app
        .get(
            "/api/v1/slots?from=2026-12-07T00:00:00Z&to=2026-12-12T00:00:00Z&limit=500",
            &c.receptionist,
        )
        .await;
    let ids = offers.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slot_id"].as_str().unwrap().to_owned())
        .collect();
    (c, ids)
}

async fn book(app: &TestApp, token: &str, key: &str, body: Value) -> crate::helpers::Reply {
    app.send(
        Method::POST,
        "/api/v1/appointments",
        Some(token),
        Some(body),
        &[("Idempotency-Key", key)],
    )
    .await
}

async fn hold_then_book_records_what_was_true(app: TestApp) {
    let (c, slots) = open_week(&app, "U80001").await;
    assert_eq!(slots.len(), 90);
    let hold = app
        .call(
            Method::POST,
            &format!("/api/v1/slots/{}/hold", slots[0]),
            Some(&c.receptionist),
            None,
        )
        .await;
    let hold = hold.ok(201).clone();
    assert_eq!(hold["expires_at"], "2026-12-01T08:02:00Z");
    let body = json!({"slot_id": slots[0], "hold_id": hold["hold_id"], "patient": patient(1), "reason": "Chest pain review",
        "requester": {"ods": "RR8", "reference": "BLOODS-0001"}});
    let booked = book(&app, &c.receptionist, "k-1", body.clone()).await;
    let a = booked.ok(201).clone();
    assert_eq!(
        (
            a["status"].as_str(),
            a["channel"].as_str(),
            a["clinical_role"].as_str()
        ),
        (Some("booked"), Some("open"), Some("gp"))
    );
    assert_eq!(a["starts_at"], "2026-12-07T09:00:00Z");
    assert_eq!(
        a["requester"],
        json!({"ods": "RR8", "reference": "BLOODS-0001"})
    );
    assert_eq!(a["registered_practice_id"], c.practice_id.as_str());
    assert_eq!(booked.etag(), "\"1\"");
    // A retry returns the same appointment; the same key with another body is refused.
    assert_eq!(
        book(&app, &c.receptionist, "k-1", body).await.ok(201)["id"],
        a["id"]
    );
    book(
        &app,
        &c.receptionist,
        "k-1",
        json!({"slot_id": slots[1], "patient": patient(2)}),
    )
    .await
    .problem(422, "idempotency-key-reused");
    let read = app
        .get(
            &format!("/api/v1/appointments/{}", a["id"].as_str().unwrap()),
            &c.hub_staff,
        )
        .await;
    assert_eq!(read.ok(200)["patient"]["nhs_number"], nhs(1).as_str());
    // The hold was used up; the slot is no longer offered; the audit trail tells the story.
    let offers = app
        .get(
            "/api/v1/slots?from=2026-12-07T00:00:00Z&to=2026-12-08T00:00:00Z&limit=500",
            &c.receptionist,
        )
        .await;
    assert!(offers.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["slot_id"] != slots[0].as_str()));
    assert_eq!(app.count("holds"), 0);
    let actions = app.count(&format!(
        "audit_events WHERE entity_id IN ('{}', '{}')",
        a["id"].as_str().unwrap(),
        hold["hold_id"].as_str().unwrap()
    ));
    assert_eq!(actions, 2, "hold.create and appointment.book");
    assert_eq!(app.count("appointments"), 1);
}

async fn bookings_are_refused_clearly(app: TestApp) {
    let (c, slots) = open_week(&app, "U80002").await;
    let plain = |slot: &str, n: u32| json!({"slot_id": slot, "patient": patient(n)});
    let no_key = app
        .call(
            Method::POST,
            "/api/v1/appointments",
            Some(&c.receptionist),
            Some(plain(&slots[0], 1)),
        )
        .await;
    no_key.problem(400, "idempotency-key-required");
    let mut bad = plain(&slots[0], 1);
    bad["patient"]["nhs_number"] = json!("9434765918");
    book(&app, &c.receptionist, "k-bad", bad)
        .await
        .problem(422, "invalid-nhs-number");
    let mut phone = plain(&slots[0], 1);
    phone["patient"]["phone"] = json!("call me");
    book(&app, &c.receptionist, "k-phone", phone)
        .await
        .problem(422, "invalid-phone");
    let mut born = plain(&slots[0], 1);
    born["patient"]["birth_date"] = json!("2030-01-01");
    book(&app, &c.receptionist, "k-born", born)
        .await
        .problem(422, "invalid-birth-date");
    let mut elsewhere = plain(&slots[0], 1);
    elsewhere["registered_practice"] = json!("Z99999");
    book(&app, &c.receptionist, "k-else", elsewhere)
        .await
        .problem(422, "practice-not-in-cluster");
    book(&app, &c.receptionist, "k-none", plain("no-such-slot", 1))
        .await
        .problem(404, "not-found");
    book(&app, &c.hub_staff, "k-hub", plain(&slots[0], 1))
        .await
        .problem(403, "forbidden");
    let (other, other_slots) = open_week(&app, "U80003").await;
    book(&app, &c.receptionist, "k-other", plain(&other_slots[0], 1))
        .await
        .problem(404, "not-found");
    // A slot held by someone else; an expired hold keeps nobody out.
    app.call(
        Method::POST,
        &format!("/api/v1/slots/{}/hold", slots[0]),
        Some(&c.manager),
        None,
    )
    .await
    .problem(403, "forbidden");
    app.post(&format!("/api/v1/clusters/{}/users", c.code), &c.manager, json!({"username": "rec2-u80002", "display_name": "R2", "password": PASSWORD, "role": "receptionist", "practice_id": c.practice_id})).await.ok(201);
    let colleague = app.login("rec2-u80002", PASSWORD).await;
    let hold = app
        .call(
            Method::POST,
            &format!("/api/v1/slots/{}/hold", slots[0]),
            Some(&colleague),
            None,
        )
        .await;
    let hold_id = hold.ok(201)["hold_id"].as_str().unwrap().to_owned();
    app.call(
        Method::POST,
        &format!("/api/v1/slots/{}/hold", slots[0]),
        Some(&c.receptionist),
        None,
    )
    .await
    .problem(409, "slot-unavailable");
    book(&app, &c.receptionist, "k-held", plain(&slots[0], 1))
        .await
        .problem(409, "slot-unavailable");
    book(
        &app,
        &c.receptionist,
        "k-theirs",
        json!({"slot_id": slots[0], "hold_id": hold_id, "patient": patient(1)}),
    )
    .await
    .problem(409, "hold-expired");
    app.call(
        Method::DELETE,
        &format!("/api/v1/holds/{hold_id}"),
        Some(&c.receptionist),
        None,
    )
    .await
    .problem(404, "not-found");
    app.clock.set(at("2026-12-01T08:03:00Z"));
    book(
        &app,
        &colleague,
        "k-late",
        json!({"slot_id": slots[0], "hold_id": hold_id, "patient": patient(1)}),
    )
    .await
    .problem(409, "hold-expired");
    let a = book(&app, &c.receptionist, "k-free", plain(&slots[0], 1)).await;
    a.ok(201);
    // The same patient, service and day again; a slot in the past.
    book(&app, &c.receptionist, "k-twice", plain(&slots[1], 1))
        .await
        .problem(409, "duplicate-booking");
    app.clock.set(at("2026-12-07T09:05:00Z"));
    book(&app, &c.receptionist, "k-past", plain(&slots[0], 7))
        .await
        .problem(422, "slot-in-past");
    assert_eq!(app.count("appointments"), 1, "no refusal stored anything");
    let _ = other;
}

async fn cancelling_frees_the_slot_and_reads_are_scoped(app: TestApp) {
    let (c, slots) = open_week(&app, "U80004").await;
    let a = book(
        &app,
        &c.receptionist,
        "k-1",
        json!({"slot_id": slots[3], "patient": patient(3)}),
    )
    .await;
    let id = a.ok(201)["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/appointments/{id}");
    // Another practice's receptionist, 111 and an admin do not see it.
    app.post(&format!("/api/v1/clusters/{}/practices", c.code), &c.manager, json!({"ods_code": "B82009", "name": "Other", "list_size": 100, "data_sharing_from": "2026-01-01"})).await.ok(201);
    let practices = app
        .get(
            &format!("/api/v1/clusters/{}/practices", c.code),
            &c.manager,
        )
        .await;
    let other_id = practices.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["ods_code"] == "B82009")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/api/v1/clusters/{}/users", c.code), &c.manager, json!({"username": "rec-other", "display_name": "O", "password": PASSWORD, "role": "receptionist", "practice_id": other_id})).await.ok(201);
    let stranger = app.login("rec-other", PASSWORD).await;
    app.get(&path, &stranger).await.problem(404, "not-found");
    app.get(&path, &c.triage).await.problem(404, "not-found");
    app.get(&path, &app.admin).await.problem(403, "forbidden");
    app.get(&path, &c.manager).await.ok(200);
    let cancel = format!("{path}/cancel");
    app.post(&cancel, &stranger, json!({"reason": "x"}))
        .await
        .problem(404, "not-found");
    app.post(&cancel, &c.hub_staff, json!({"reason": "x"}))
        .await
        .problem(403, "forbidden");
    app.send(
        Method::POST,
        &cancel,
        Some(&c.receptionist),
        Some(json!({"reason": "Patient better"})),
        &[("If-Match", "\"7\"")],
    )
    .await
    .problem(412, "precondition-failed");
    let done = app
        .send(
            Method::POST,
            &cancel,
            Some(&c.receptionist),
            Some(json!({"reason": "Patient better"})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(
        (
            done.ok(200)["status"].as_str(),
            done.body["cancel_reason"].as_str()
        ),
        (Some("cancelled"), Some("Patient better"))
    );
    app.post(&cancel, &c.receptionist, json!({"reason": "again"}))
        .await
        .problem(409, "invalid-transition");
    // The slot is free again at once.
    let again = book(
        &app,
        &c.receptionist,
        "k-2",
        json!({"slot_id": slots[3], "patient": patient(4)}),
    )
    .await;
    again.ok(201);
    assert_eq!(
        app.count(&format!("audit_events WHERE entity_id = '{id}'")),
        2
    );
}

async fn two_hundred_bookers_on_ten_slots(app: TestApp) {
    let (c, slots) = open_week(&app, "U80005").await;
    let replies = futures_util::future::join_all((0..200u32).map(|i| {
        let body = json!({"slot_id": slots[(i % 10) as usize], "patient": patient(100 + i)});
        let key = format!("race-{i}");
        let token = c.receptionist.clone();
        let app = &app;
        async move { book(app, &token, &key, body).await }
    }))
    .await;
    let won = replies.iter().filter(|r| r.status == 201).count();
    for r in replies.iter().filter(|r| r.status != 201) {
        r.problem(409, "slot-unavailable");
    }
    assert_eq!(won, 10);
    assert_eq!(
        app.count("appointments WHERE status IN ('booked', 'arrived', 'seen')"),
        10
    );
    let doubled = app.count("(SELECT slot_id FROM appointments WHERE status IN ('booked', 'arrived', 'seen') GROUP BY slot_id HAVING COUNT(*) > 1) AS d");
    assert_eq!(doubled, 0);
}

/// Twelve bookings of one patient race for twelve slots of one day and service: one is booked,
/// the others are refused as the same-day duplicate (on PostgreSQL they queue on the patient's
/// lock row; without it, each would count no other booking and all would pass).
async fn one_patient_racing_for_one_day_is_booked_once(app: TestApp) {
    let (c, slots) = open_week(&app, "U80011").await;
    let replies = futures_util::future::join_all((0..12usize).map(|i| {
        let body = json!({"slot_id": slots[i], "patient": patient(500)});
        let key = format!("same-{i}");
        let token = c.receptionist.clone();
        let app = &app;
        async move { book(app, &token, &key, body).await }
    }))
    .await;
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 1);
    for r in replies.iter().filter(|r| r.status != 201) {
        r.problem(409, "duplicate-booking");
    }
    assert_eq!(
        app.count(&format!(
            "appointments WHERE nhs_number = '{}' AND status = 'booked'",
            nhs(500)
        )),
        1
    );
}

async fn racing_holds_and_retries(app: TestApp) {
    let (c, slots) = open_week(&app, "U80006").await;
    let mut tokens = Vec::new();
    for i in 0..10 {
        app.post(&format!("/api/v1/clusters/{}/users", c.code), &c.manager, json!({"username": format!("desk-{i}"), "display_name": "D", "password": PASSWORD, "role": "receptionist", "practice_id": c.practice_id})).await.ok(201);
        tokens.push(app.login(&format!("desk-{i}"), PASSWORD).await);
    }
    let hold_path = format!("/api/v1/slots/{}/hold", slots[0]);
    let holds = futures_util::future::join_all(
        tokens
            .iter()
            .map(|t| app.call(Method::POST, &hold_path, Some(t), None)),
    )
    .await;
    assert_eq!(
        holds.iter().filter(|r| r.status == 201).count(),
        1,
        "exactly one desk holds the slot"
    );
    for r in holds.iter().filter(|r| r.status != 201) {
        r.problem(409, "slot-unavailable");
    }
    // Fifty retries of one key: one appointment, the same answer every time.
    let body = json!({"slot_id": slots[5], "patient": patient(50)});
    let retries = futures_util::future::join_all(
        (0..50).map(|_| book(&app, &tokens[3], "one-key", body.clone())),
    )
    .await;
    let ids: std::collections::BTreeSet<String> = retries
        .iter()
        .map(|r| r.ok(201)["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.count("appointments"), 1);
}

async fn the_database_itself_refuses_a_second_live_appointment(app: TestApp) {
    let (c, slots) = open_week(&app, "U80007").await;
    app.book_directly(&c.code, &slots[0], &c.practice_id)
        .unwrap();
    let second = app.book_directly(&c.code, &slots[0], &c.practice_id);
    assert!(
        matches!(
            second,
            Err(hubbook_store::StoreError::Conflict(
                hubbook_store::ConflictKind::Duplicate(_)
            ))
        ),
        "{second:?}"
    );
    assert_eq!(app.count("appointments"), 1);
}

/// How many free slots of the week the caller is offered.
async fn free_count(app: &TestApp, token: &str) -> usize {
    app.get(
        "/api/v1/slots?from=2026-12-07T00:00:00Z&to=2026-12-12T00:00:00Z&limit=500",
        token,
    )
    .await
    .ok(200)["items"]
        .as_array()
        .unwrap()
        .len()
}

/// Adjacent slots booked as one appointment: one row a slot, one appointment to every reader,
/// ending when its last slot ends; all or nothing; cancelled and freed together.
async fn adjacent_slots_book_as_one_appointment(app: TestApp) {
    let (c, slots) = open_week(&app, "U80009").await;
    // Not adjacent (a gap, or out of order): refused, and nothing is booked.
    for further in [json!([slots[2]]), json!([slots[0]])] {
        let first = if further[0] == slots[0] {
            &slots[1]
        } else {
            &slots[0]
        };
        let refused = book(
            &app,
            &c.receptionist,
            &format!("gap-{first}"),
            json!({"slot_id": first, "further_slot_ids": further, "patient": patient(7)}),
        )
        .await;
        refused.problem(422, "slots-not-adjacent");
    }
    assert_eq!(free_count(&app, &c.receptionist).await, 90);
    // Two adjacent slots: one appointment from 09:00 to 09:20.
    let booked = book(
        &app,
        &c.receptionist,
        "double",
        json!({"slot_id": slots[0], "further_slot_ids": [slots[1]], "patient": patient(7), "reason": "Long review"}),
    )
    .await;
    let a = booked.ok(201).clone();
    assert_eq!(a["starts_at"], "2026-12-07T09:00:00Z");
    assert_eq!(a["ends_at"], "2026-12-07T09:20:00Z");
    assert_eq!(free_count(&app, &c.receptionist).await, 88);
    let id = a["id"].as_str().unwrap();
    let read = app
        .get(&format!("/api/v1/appointments/{id}"), &c.receptionist)
        .await;
    assert_eq!(read.ok(200)["ends_at"], "2026-12-07T09:20:00Z");
    let listed = app.get("/api/v1/appointments", &c.receptionist).await;
    let items = listed.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "one appointment, not a row a slot");
    assert_eq!(items[0]["ends_at"], "2026-12-07T09:20:00Z");
    // The second slot is taken for anyone else; the appointment is not moved whole.
    book(
        &app,
        &c.receptionist,
        "other",
        json!({"slot_id": slots[1], "patient": patient(8)}),
    )
    .await
    .problem(409, "slot-unavailable");
    app.post(
        &format!("/api/v1/appointments/{id}/reschedule"),
        &c.receptionist,
        json!({"slot_id": slots[5]}),
    )
    .await
    .problem(409, "invalid-transition");
    // Cancelling frees both slots.
    app.post(
        &format!("/api/v1/appointments/{id}/cancel"),
        &c.receptionist,
        json!({"reason": "Asked by phone"}),
    )
    .await
    .ok(200);
    assert_eq!(free_count(&app, &c.receptionist).await, 90);
    // The database holds a row a slot (the refused bookings left none).
    assert_eq!(app.count("appointments"), 2);
}

async fn a_retry_after_a_restart_with_a_new_secret_books_once(app: TestApp) {
    // The idempotency key outlives the process and its token-signing secret: a second server on
    // the same database, signing with another secret, answers the retry with the original.
    let (c, slots) = open_week(&app, "U80009").await;
    let body = json!({"slot_id": slots[0], "patient": patient(9), "reason": "Review"});
    let first = book(&app, &c.receptionist, "restart-1", body.clone()).await;
    let first = first.ok(201).clone();
    let other = app
        .second_server("a-rotated-signing-secret-of-forty-chars-00")
        .await;
    let sign_in = json!({"grant_type": "password", "username": "rec-u80009", "password": PASSWORD});
    let sign_in = app
        .send_to(
            &other,
            Method::POST,
            "/api/v1/auth/token",
            None,
            Some(sign_in),
            &[],
        )
        .await;
    let token = sign_in.ok(200)["access_token"].as_str().unwrap().to_owned();
    let book_there = |body: Value| {
        app.send_to(
            &other,
            Method::POST,
            "/api/v1/appointments",
            Some(&token),
            Some(body),
            &[("Idempotency-Key", "restart-1")],
        )
    };
    // The old token is not the new server's.
    let id = first["id"].as_str().unwrap();
    app.send_to(
        &other,
        Method::GET,
        &format!("/api/v1/appointments/{id}"),
        Some(&c.receptionist),
        None,
        &[],
    )
    .await
    .problem(401, "invalid-token");
    let retry = book_there(body).await;
    assert_eq!(retry.ok(201)["id"], first["id"]);
    // The same key with another request is still refused on the new server.
    let changed = json!({"slot_id": slots[1], "patient": patient(9), "reason": "Review"});
    book_there(changed)
        .await
        .problem(422, "idempotency-key-reused");
    assert_eq!(app.count("appointments"), 1);
}

both!(
    one_patient_racing_for_one_day_is_booked_once,
    a_retry_after_a_restart_with_a_new_secret_books_once,
    adjacent_slots_book_as_one_appointment,
    hold_then_book_records_what_was_true,
    bookings_are_refused_clearly,
    cancelling_frees_the_slot_and_reads_are_scoped,
    two_hundred_bookers_on_ten_slots,
    racing_holds_and_retries,
    the_database_itself_refuses_a_second_live_appointment,
);

mod more {
    use super::*;

    async fn reschedule_outcomes_notes_and_lists(app: TestApp) {
        let (c, slots) = open_week(&app, "U80008").await;
        let first = book(
            &app,
            &c.receptionist,
            "k-1",
            json!({"slot_id": slots[0], "patient": patient(8)}),
        )
        .await;
        let old = first.ok(201)["id"].as_str().unwrap().to_owned();
        // Reschedule to a slot someone else holds: refused, and the patient keeps the old one.
        app.post(&format!("/api/v1/clusters/{}/users", c.code), &c.manager, json!({"username": "desk-x", "display_name": "D", "password": PASSWORD, "role": "receptionist", "practice_id": c.practice_id})).await.ok(201);
        let desk = app.login("desk-x", PASSWORD).await;
        app.call(
            Method::POST,
            &format!("/api/v1/slots/{}/hold", slots[2]),
            Some(&desk),
            None,
        )
        .await
        .ok(201);
        let path = format!("/api/v1/appointments/{old}/reschedule");
        app.post(&path, &c.receptionist, json!({"slot_id": slots[2]}))
            .await
            .problem(409, "slot-unavailable");
        assert_eq!(
            app.get(&format!("/api/v1/appointments/{old}"), &c.receptionist)
                .await
                .ok(200)["status"],
            "booked"
        );
        app.post(&path, &c.receptionist, json!({"slot_id": slots[0]}))
            .await
            .problem(409, "invalid-transition");
        // The same day and service is allowed for the patient's own move.
        let moved = app
            .post(&path, &c.receptionist, json!({"slot_id": slots[1]}))
            .await;
        let new = moved.ok(200)["id"].as_str().unwrap().to_owned();
        assert_eq!(moved.body["starts_at"], "2026-12-07T09:10:00Z");
        let was = app
            .get(&format!("/api/v1/appointments/{old}"), &c.receptionist)
            .await;
        assert_eq!(was.ok(200)["status"], "cancelled");
        assert!(was.body["cancel_reason"].as_str().unwrap().contains(&new));
        // Notes need If-Match and leave the booking alone.
        let notes = app
            .send(
                Method::PATCH,
                &format!("/api/v1/appointments/{new}"),
                Some(&c.receptionist),
                Some(json!({"notes": "Wheelchair user"})),
                &[("If-Match", "\"1\"")],
            )
            .await;
        assert_eq!(
            (notes.ok(200)["status"].as_str(), notes.etag().as_str()),
            (Some("booked"), "\"2\"")
        );
        // Outcomes: not before their time; arrived then seen; a DNA corrected only by the manager.
        let outcome = format!("/api/v1/appointments/{new}/outcome");
        app.post(&outcome, &c.hub_staff, json!({"outcome": "seen"}))
            .await
            .problem(409, "invalid-transition");
        app.clock.set(at("2026-12-07T09:05:00Z"));
        assert_eq!(
            app.post(&outcome, &c.hub_staff, json!({"outcome": "arrived"}))
                .await
                .ok(200)["status"],
            "arrived"
        );
        app.clock.set(at("2026-12-07T09:12:00Z"));
        assert_eq!(
            app.post(&outcome, &c.hub_staff, json!({"outcome": "seen"}))
                .await
                .ok(200)["status"],
            "seen"
        );
        app.post(&outcome, &c.hub_staff, json!({"outcome": "did_not_attend"}))
            .await
            .problem(409, "invalid-transition");
        app.post(&outcome, &c.triage, json!({"outcome": "arrived"}))
            .await
            .problem(403, "forbidden");
        let dna = book(
            &app,
            &c.receptionist,
            "k-dna",
            json!({"slot_id": slots[4], "patient": patient(9)}),
        )
        .await;
        let dna = dna.ok(201)["id"].as_str().unwrap().to_owned();
        app.clock.set(at("2026-12-07T09:50:00Z"));
        let dna_path = format!("/api/v1/appointments/{dna}/outcome");
        app.post(
            &dna_path,
            &c.hub_staff,
            json!({"outcome": "did_not_attend"}),
        )
        .await
        .ok(200);
        app.post(&dna_path, &c.hub_staff, json!({"outcome": "seen"}))
            .await
            .problem(409, "invalid-transition");
        assert_eq!(
            app.post(&dna_path, &c.manager, json!({"outcome": "seen"}))
                .await
                .ok(200)["status"],
            "seen"
        );
        // Lists, the day list, and the audit trail of the moved appointment.
        let mine = app
            .get(
                "/api/v1/appointments?from=2026-12-07T00:00:00Z&limit=10",
                &c.receptionist,
            )
            .await;
        assert_eq!(mine.ok(200)["items"].as_array().unwrap().len(), 3);
        let by_patient = app
            .get(
                &format!("/api/v1/appointments?nhs_number={}", nhs(8)),
                &c.manager,
            )
            .await;
        let statuses: Vec<&str> = by_patient.ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, vec!["cancelled", "seen"]);
        app.get("/api/v1/appointments?nhs_number=123", &c.manager)
            .await
            .problem(422, "invalid-nhs-number");
        let day = app
            .get(
                &format!("/api/v1/sites/{}/day-list?date=2026-12-07", c.site_id),
                &c.hub_staff,
            )
            .await;
        assert_eq!(day.ok(200).as_array().unwrap().len(), 3);
        app.get(
            &format!("/api/v1/sites/{}/day-list?date=2026-12-07", c.site_id),
            &c.receptionist,
        )
        .await
        .problem(403, "forbidden");
        let trail = app
            .get(
                &format!("/api/v1/audit?entity=appointment&entity_id={old}"),
                &c.manager,
            )
            .await;
        let actions: Vec<&str> = trail.ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, vec!["appointment.book", "appointment.reschedule"]);
        let other = app.cluster("U80009").await;
        let theirs = app
            .get(&format!("/api/v1/audit?entity_id={old}"), &other.manager)
            .await;
        assert!(
            theirs.ok(200)["items"].as_array().unwrap().is_empty(),
            "another cluster's manager sees none of it"
        );
        app.get("/api/v1/audit", &c.receptionist)
            .await
            .problem(403, "forbidden");
    }

    async fn reschedules_racing_bookings_never_lose_a_patient(app: TestApp) {
        let (c, slots) = open_week(&app, "U80010").await;
        let mut moving = Vec::new();
        for i in 0..10u32 {
            let a = book(
                &app,
                &c.receptionist,
                &format!("m-{i}"),
                json!({"slot_id": slots[20 + i as usize], "patient": patient(300 + i)}),
            )
            .await;
            moving.push(a.ok(201)["id"].as_str().unwrap().to_owned());
        }
        // Ten patients move to slots 0..9 while forty new bookings race for the same slots.
        let moves = moving.iter().enumerate().map(|(i, id)| {
            let path = format!("/api/v1/appointments/{id}/reschedule");
            let body = json!({"slot_id": slots[i]});
            let token = c.receptionist.clone();
            let app = &app;
            async move { app.post(&path, &token, body).await }
        });
        let books = (0..40u32).map(|i| {
            let body = json!({"slot_id": slots[(i % 10) as usize], "patient": patient(400 + i)});
            let key = format!("b-{i}");
            let token = c.receptionist.clone();
            let app = &app;
            async move { book(app, &token, &key, body).await }
        });
        let (moves, books) = futures_util::future::join(
            futures_util::future::join_all(moves),
            futures_util::future::join_all(books),
        )
        .await;
        for r in moves.iter().chain(books.iter()) {
            assert!(
                r.status == 200 || r.status == 201 || r.status == 409,
                "{:?}",
                r.body
            );
        }
        // Every moving patient has exactly one live appointment; no slot has two.
        for i in 0..10u32 {
            let live = app.count(&format!(
                "appointments WHERE nhs_number = '{}' AND status = 'booked'",
                nhs(300 + i)
            ));
            assert_eq!(live, 1, "patient {i}");
        }
        assert_eq!(app.count("(SELECT slot_id FROM appointments WHERE status = 'booked' GROUP BY slot_id HAVING COUNT(*) > 1) AS d"), 0);
        let moved = moves.iter().filter(|r| r.status == 200).count() as i64;
        let booked = books.iter().filter(|r| r.status == 201).count() as i64;
        assert_eq!(
            moved + booked,
            10,
            "each of the ten slots went to exactly one of them"
        );
    }

    async fn a_manager_may_book_a_second_same_day_appointment(app: TestApp) {
        let (c, slots) = open_week(&app, "U80012").await;
        book(
            &app,
            &c.receptionist,
            "s-1",
            json!({"slot_id": slots[0], "patient": patient(60)}),
        )
        .await
        .ok(201);
        book(
            &app,
            &c.receptionist,
            "s-2",
            json!({"slot_id": slots[1], "patient": patient(60)}),
        )
        .await
        .problem(409, "duplicate-booking");
        book(
            &app,
            &c.receptionist,
            "s-3",
            json!({"slot_id": slots[1], "patient": patient(60), "allow_same_day": true}),
        )
        .await
        .problem(403, "forbidden");
        book(
            &app,
            &c.manager,
            "s-4",
            json!({"slot_id": slots[1], "patient": patient(60), "allow_same_day": true}),
        )
        .await
        .problem(422, "invalid-body");
        let second = book(&app, &c.manager, "s-5", json!({"slot_id": slots[1], "patient": patient(60), "allow_same_day": true, "on_behalf_of": "B82001"})).await;
        let body = second.ok(201).clone();
        assert_eq!(body["booking_practice_id"], c.practice_id.as_str());
        assert!(body["booked_by"].as_str().unwrap().starts_with("user:"));
        assert_eq!(app.count("appointments WHERE status = 'booked'"), 2);
    }

    both!(
        reschedule_outcomes_notes_and_lists,
        reschedules_racing_bookings_never_lose_a_patient,
        a_manager_may_book_a_second_same_day_appointment
    );
}

mod ranking {
    use super::*;

    async fn search_ranks_by_time_and_distance(app: TestApp) {
        let (c, _) = open_week(&app, "U80011").await;
        let code = &c.code;
        // A far hub (about 14 km west) running earlier, and the practice's own surgery nearby later.
        let far = app.post(&format!("/api/v1/clusters/{code}/sites"), &c.manager, json!({"name": "Far Hub", "kind": "hub", "address": "West", "postcode": "BD1 1AA", "latitude": 53.7938, "longitude": -1.7564})).await;
        let far = far.ok(201)["id"].as_str().unwrap().to_owned();
        let near = app.post(&format!("/api/v1/clusters/{code}/sites"), &c.manager, json!({"name": "Home Surgery", "kind": "surgery", "address": "Here", "postcode": "LS2 9AA", "latitude": 53.80, "longitude": -1.55})).await;
        let near = near.ok(201)["id"].as_str().unwrap().to_owned();
        app.patch(
            &format!("/api/v1/clusters/{code}/practices/{}", c.practice_id),
            &c.manager,
            json!({"site_id": near}),
        )
        .await
        .ok(200);
        let tpl = |key: &str, site: &str, start: &str, end: &str| {
            json!({"key": key, "site_id": site, "service_id": c.service_id, "start": start, "end": end,
            "slot_minutes": 30, "capacity": 1, "delivery": "face_to_face", "weekdays": ["sat"], "valid_from": "2026-01-01"})
        };
        let rota = app.post(&format!("/api/v1/clusters/{code}/rotas"), &c.manager, json!({"name": "Sat", "templates": [tpl("far", &far, "09:00", "09:30"), tpl("near", &near, "10:00", "10:30")]})).await;
        let rota = rota.ok(201)["id"].as_str().unwrap().to_owned();
        app.post(
            &format!("/api/v1/clusters/{code}/rotas/{rota}/publish"),
            &c.manager,
            json!({"from": "2026-12-12", "to": "2026-12-12"}),
        )
        .await
        .ok(200);
        let window = "from=2026-12-12T00:00:00Z&to=2026-12-13T00:00:00Z";
        let names = |reply: &crate::helpers::Reply| {
            reply.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["site"]["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        // 60 minutes earlier against ~14 km further: at 10 min/km the nearer, later slot wins.
        let ranked = app
            .get(&format!("/api/v1/slots?{window}"), &c.receptionist)
            .await;
        ranked.ok(200);
        assert_eq!(names(&ranked), vec!["Home Surgery", "Far Hub"]);
        let km = ranked.body["items"][1]["distance_km"].as_f64().unwrap();
        assert!((13.0..15.0).contains(&km), "{km}");
        let by_time = app
            .get(
                &format!("/api/v1/slots?{window}&minutes_per_km=0"),
                &c.receptionist,
            )
            .await;
        by_time.ok(200);
        assert_eq!(names(&by_time), vec!["Far Hub", "Home Surgery"]);
        // From the far hub's postcode the far slot is both nearer and earlier.
        let from_far = app
            .get(
                &format!("/api/v1/slots?{window}&postcode=bd11aa"),
                &c.receptionist,
            )
            .await;
        from_far.ok(200);
        assert_eq!(names(&from_far), vec!["Far Hub", "Home Surgery"]);
        let paged = app
            .get(&format!("/api/v1/slots?{window}&limit=1"), &c.receptionist)
            .await;
        let next = paged.ok(200)["next_cursor"].as_str().unwrap().to_owned();
        let second = app
            .get(
                &format!("/api/v1/slots?{window}&limit=1&cursor={next}"),
                &c.receptionist,
            )
            .await;
        second.ok(200);
        assert_eq!(names(&second), vec!["Far Hub"]);
        app.get(
            &format!("/api/v1/slots?{window}&minutes_per_km=-1"),
            &c.receptionist,
        )
        .await
        .problem(422, "invalid-weighting");
        app.get(
            &format!("/api/v1/slots?{window}&postcode=EC1A1BB"),
            &c.receptionist,
        )
        .await
        .problem(422, "unknown-postcode");
        app.get(
            &format!("/api/v1/slots?{window}&latitude=53.8"),
            &c.receptionist,
        )
        .await
        .problem(400, "invalid-query");
    }

    both!(search_ranks_by_time_and_distance);
}
