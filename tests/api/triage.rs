//! 111 triage: dispositions, the booking rule (nearest fitting slot within the timeframe), the
//! `no-capacity` answer, availability, what a client may read and cancel, secret rotation and
//! revocation, the FHIR form, and 100 racing triage bookings.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{at, nhs, Cluster, Reply, TestApp};

fn patient(n: u32) -> Value {
    json!({"nhs_number": nhs(n), "name": format!("Triage Patient {n}"), "birth_date": "1971-03-02", "phone": "0113 496 0101"})
}

/// Near Hub North (LS1 4AP, 53.80 -1.55).
const NEAR_NORTH: (f64, f64) = (53.801, -1.549);

/// A cluster whose slots are all open to 111, with Hub North (the fixture's) and Hub Far about
/// 20 km away, and on Monday 7 December 2026: GP at Hub Far 09:00-10:00 and at Hub North
/// 10:00-11:00, face to face, ten-minute slots. The clock is at 08:00 that day.
async fn triage_cluster(app: &TestApp, code: &str) -> (Cluster, String) {
    let c = app.cluster(code).await;
    app.send(
        Method::PUT,
        &format!("/api/v1/clusters/{code}/sharing"),
        Some(&c.manager),
        Some(json!({"triage": {"kind": "per_day", "slots": 0}, "apportionment": false, "triage_may_book_open": true})),
        &[("If-Match", "*")],
    )
    .await
    .ok(200);
    let far = app.post(&format!("/api/v1/clusters/{code}/sites"), &c.manager, json!({
        "name": "Hub Far", "kind": "hub", "address": "9 Moor Lane", "postcode": "LS29 9AA", "latitude": 53.92, "longitude": -1.82
    })).await;
    let far = far.ok(201)["id"].as_str().unwrap().to_owned();
    app.clock.set(at("2026-12-07T08:00:00Z"));
    let template = |key: &str, site: &str, start: &str, end: &str| {
        json!({"key": key, "site_id": site, "service_id": c.service_id, "start": start, "end": end,
            "slot_minutes": 10, "capacity": 1, "delivery": "face_to_face", "weekdays": ["mon"], "valid_from": "2026-01-01"})
    };
    let rota = app
        .post(
            &format!("/api/v1/clusters/{code}/rotas"),
            &c.manager,
            json!({"name": "Hubs", "templates": [
                template("far", &far, "09:00", "10:00"),
                template("north", &c.site_id, "10:00", "11:00"),
            ]}),
        )
        .await;
    let rota = rota.ok(201)["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/clusters/{code}/rotas/{rota}/publish"),
        &c.manager,
        json!({"from": "2026-12-07", "to": "2026-12-07"}),
    )
    .await
    .ok(200);
    (c, far)
}

async fn triage_book(app: &TestApp, token: &str, key: &str, body: Value) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/triage/bookings",
        Some(token),
        Some(body),
        &[("Idempotency-Key", key)],
    )
    .await
}

fn request(disposition: &str, triaged_at: &str, n: u32) -> Value {
    json!({
        "disposition": disposition,
        "triaged_at": triaged_at,
        "patient": patient(n),
        "registered_practice": "B82001",
        "location": {"latitude": NEAR_NORTH.0, "longitude": NEAR_NORTH.1},
        "case_reference": format!("CASE-{n}"),
    })
}

async fn books_the_nearest_fitting_slot_and_availability_agrees(app: TestApp) {
    let (c, _) = triage_cluster(&app, "U70001").await;
    // Dx05: either delivery, GP, within 2 hours of 08:00 -> slots starting up to 10:00. Hub Far
    // has six earlier ones; Hub North's 10:00 slot is later but nearer, and wins.
    let available = app
        .get(
            &format!(
                "/api/v1/triage/availability?cluster=U70001&disposition=Dx05&near={},{}",
                NEAR_NORTH.0, NEAR_NORTH.1
            ),
            &c.triage,
        )
        .await;
    let available = available.ok(200).clone();
    assert_eq!(available["bookable"], true);
    assert_eq!(available["fitting_slots"], 7);
    assert_eq!(available["due_by"], "2026-12-07T10:00:00Z");
    assert_eq!(available["earliest_start"], "2026-12-07T09:00:00Z");
    assert_eq!(available["best"]["site"]["name"], "Hub North");
    assert_eq!(available["best"]["starts_at"], "2026-12-07T10:00:00Z");
    assert!(available["best"]["distance_km"].as_f64().unwrap() < 1.0);

    let body = request("Dx05", "2026-12-07T08:00:00Z", 1);
    let booked = triage_book(&app, &c.triage, "case-1", body.clone()).await;
    let booked = booked.ok(201).clone();
    assert_eq!(booked["slot"]["slot_id"], available["best"]["slot_id"]);
    let a = &booked["appointment"];
    assert_eq!(a["channel"], "111");
    assert!(a["booked_by"].as_str().unwrap().starts_with("client:"));
    assert_eq!(a["registered_practice_id"], c.practice_id.as_str());
    assert_eq!(booked["slot"]["site"]["postcode"], "LS1 4AP");
    assert_eq!(booked["triage"]["disposition"], "Dx05");
    assert_eq!(booked["triage"]["due_by"], "2026-12-07T10:00:00Z");
    assert_eq!(booked["triage"]["case_reference"], "CASE-1");
    // A retry with the same key books once and answers the same.
    let again = triage_book(&app, &c.triage, "case-1", body).await;
    assert_eq!(again.ok(201)["appointment"]["id"], a["id"]);
    assert_eq!(app.count("appointments"), 1);
    assert_eq!(app.count("triage_bookings"), 1);
    // The client reads it back, with the triage details; the manager sees channel and client.
    let id = a["id"].as_str().unwrap();
    let read = app
        .get(&format!("/api/v1/appointments/{id}"), &c.triage)
        .await;
    let read = read.ok(200);
    assert_eq!(read["channel"], "111");
    assert_eq!(read["triage"]["disposition"], "Dx05");
    // The FHIR form validates against the R4 schema fragment shipped with the tests.
    let fhir = app
        .send(
            Method::GET,
            &format!("/api/v1/appointments/{id}"),
            Some(&c.triage),
            None,
            &[("Accept", "application/fhir+json")],
        )
        .await;
    assert_eq!(fhir.headers["content-type"], "application/fhir+json");
    let resource = fhir.ok(200).clone();
    let schema: Value =
        serde_json::from_str(include_str!("../fhir/appointment.schema.json")).unwrap();
    let validator = jsonschema::draft6::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&resource)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{resource:#}");
    assert_eq!(resource["resourceType"], "Appointment");
    assert_eq!(resource["status"], "booked");
    assert_eq!(
        resource["slot"][0]["reference"],
        format!("Slot/{}", a["slot_id"].as_str().unwrap())
    );
    let patient_actor = resource["participant"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|p| p["actor"].get("identifier"))
        .unwrap()
        .clone();
    assert_eq!(patient_actor["system"], "https://fhir.nhs.uk/Id/nhs-number");
    assert_eq!(patient_actor["value"], nhs(1));
    let seen = app
        .get(&format!("/api/v1/appointments/{id}"), &c.manager)
        .await;
    assert_eq!(seen.ok(200)["booked_by"], a["booked_by"]);
    let audit = app
        .get(
            &format!("/api/v1/audit?entity=appointment&entity_id={id}"),
            &c.manager,
        )
        .await;
    assert_eq!(audit.ok(200)["items"][0]["actor"], a["booked_by"]);
    // A postcode in Hub Far's district places the patient there: Hub Far's first slot wins.
    let mut far = request("Dx05", "2026-12-07T08:00:00Z", 2);
    far["location"] = json!({"postcode": "LS29 7ZZ"});
    let booked = triage_book(&app, &c.triage, "case-2", far).await;
    let booked = booked.ok(201);
    assert_eq!(booked["slot"]["site"]["name"], "Hub Far");
    assert_eq!(booked["slot"]["starts_at"], "2026-12-07T09:00:00Z");
    // With no location and no practice, hubbook cannot place the patient... it takes the earliest.
    let mut nowhere = request("Dx05", "2026-12-07T08:00:00Z", 3);
    nowhere
        .as_object_mut()
        .unwrap()
        .remove("registered_practice");
    nowhere["location"] = json!({});
    let booked = triage_book(&app, &c.triage, "case-3", nowhere).await;
    assert_eq!(booked.ok(201)["slot"]["starts_at"], "2026-12-07T09:10:00Z");
}

async fn no_capacity_names_the_next_slot_and_refusals_are_typed(app: TestApp) {
    let (c, _) = triage_cluster(&app, "U70002").await;
    app.clock.set(at("2026-12-07T05:00:00Z"));
    // Triaged at 05:00 with 2 hours: nothing starts before 07:00; the next fitting slot is 09:00 at Hub Far.
    let refused = triage_book(
        &app,
        &c.triage,
        "k1",
        request("Dx05", "2026-12-07T05:00:00Z", 1),
    )
    .await;
    let problem = refused.problem(409, "no-capacity");
    assert_eq!(problem["next_slot"]["starts_at"], "2026-12-07T09:00:00Z");
    assert_eq!(problem["next_slot"]["site"]["name"], "Hub Far");
    assert!(problem["detail"].as_str().unwrap().contains("Hub Far"));
    assert_eq!(app.count("appointments"), 0);
    // Availability says the same without booking.
    let available = app
        .get(
            "/api/v1/triage/availability?disposition=Dx05&near=LS1%204AP",
            &c.triage,
        )
        .await;
    let available = available.ok(200);
    assert_eq!(available["bookable"], false);
    assert!(available["best"].is_null());
    assert_eq!(available["next_slot"]["starts_at"], "2026-12-07T09:00:00Z");
    // A telephone disposition finds no telephone slot at all: no next slot either.
    let refused = triage_book(
        &app,
        &c.triage,
        "k2",
        request("Dx11", "2026-12-07T05:00:00Z", 1),
    )
    .await;
    assert!(refused.problem(409, "no-capacity")["next_slot"].is_null());
    // Every other refusal has its own type.
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            request("Dx11", "2026-12-07T03:00:00Z", 1),
            422,
            "timeframe-passed",
        ),
        (
            request("Dx05", "2026-12-07T06:00:00Z", 1),
            422,
            "triage-time-in-future",
        ),
        (
            request("Dx99", "2026-12-07T05:00:00Z", 1),
            422,
            "unknown-disposition",
        ),
        (
            {
                let mut r = request("Dx05", "2026-12-07T05:00:00Z", 1);
                r["registered_practice"] = json!("C84001");
                r
            },
            422,
            "practice-not-in-cluster",
        ),
        (
            {
                let mut r = request("Dx05", "2026-12-07T05:00:00Z", 1);
                r["patient"]["nhs_number"] = json!("9990000011");
                r
            },
            422,
            "invalid-nhs-number",
        ),
        (
            {
                let mut r = request("Dx05", "2026-12-07T05:00:00Z", 1);
                r["location"] = json!({"postcode": "LS1 4AP", "latitude": 53.8, "longitude": -1.5});
                r
            },
            422,
            "invalid-location",
        ),
        (
            {
                let mut r = request("Dx05", "2026-12-07T05:00:00Z", 1);
                r["location"] = json!({"postcode": "ZE1 0AA"});
                r.as_object_mut().unwrap().remove("registered_practice");
                r
            },
            422,
            "unknown-location",
        ),
    ];
    for (i, (body, status, kind)) in cases.into_iter().enumerate() {
        let reply = triage_book(&app, &c.triage, &format!("bad-{i}"), body).await;
        reply.problem(status, kind);
    }
    // A chosen slot outside the timeframe is refused, naming why.
    app.clock.set(at("2026-12-07T08:00:00Z"));
    let later = app
        .get(
            "/api/v1/slots?from=2026-12-07T10:30:00Z&to=2026-12-07T11:00:00Z",
            &c.triage,
        )
        .await;
    let later = later.ok(200)["items"][0]["slot_id"].clone();
    let mut chosen = request("Dx05", "2026-12-07T08:00:00Z", 4);
    chosen["slot_id"] = later;
    let refused = triage_book(&app, &c.triage, "chosen", chosen).await;
    let detail = refused.problem(422, "slot-not-fitting")["detail"].clone();
    assert!(detail.as_str().unwrap().contains("timeframe"));
    // Without a key, or as a receptionist, nothing is booked.
    let no_key = app
        .post(
            "/api/v1/triage/bookings",
            &c.triage,
            request("Dx05", "2026-12-07T08:00:00Z", 5),
        )
        .await;
    no_key.problem(400, "idempotency-key-required");
    triage_book(
        &app,
        &c.receptionist,
        "rec",
        request("Dx05", "2026-12-07T08:00:00Z", 5),
    )
    .await
    .problem(403, "forbidden");
    assert_eq!(app.count("appointments"), 0);
}

async fn a_practice_outside_the_clients_clusters_is_refused(app: TestApp) {
    let (c, _) = triage_cluster(&app, "U70003").await;
    let other = app.cluster("U70004").await;
    app.post(
        "/api/v1/clusters/U70004/practices",
        &other.manager,
        json!({"ods_code": "C84001", "name": "Elsewhere Surgery", "list_size": 5000}),
    )
    .await
    .ok(201);
    let mut body = request("Dx05", "2026-12-07T08:00:00Z", 1);
    body["registered_practice"] = json!("C84001");
    triage_book(&app, &c.triage, "k", body.clone())
        .await
        .problem(422, "practice-not-in-cluster");
    // Naming the other cluster outright finds nothing the client may book in.
    body["cluster"] = json!("U70004");
    triage_book(&app, &c.triage, "k2", body)
        .await
        .problem(404, "not-found");
    assert_eq!(app.count("appointments"), 0);
}

async fn a_client_reads_and_cancels_only_what_it_booked(app: TestApp) {
    let (c, _) = triage_cluster(&app, "U70005").await;
    let mine = triage_book(
        &app,
        &c.triage,
        "mine",
        request("Dx05", "2026-12-07T08:00:00Z", 1),
    )
    .await;
    let mine = mine.ok(201)["appointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A second client of the same cluster books another patient.
    let created = app
        .post(
            "/api/v1/integrations",
            &app.admin,
            json!({"name": "Second 111", "clusters": ["U70005"], "client_id": "second-111"}),
        )
        .await;
    let secret = created.ok(201)["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app.client_token("second-111", &secret).await.ok(200)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = triage_book(
        &app,
        &second,
        "theirs",
        request("Dx05", "2026-12-07T08:00:00Z", 2),
    )
    .await;
    let theirs = theirs.ok(201)["appointment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A receptionist books a third patient the usual way.
    let slots = app
        .get(
            "/api/v1/slots?from=2026-12-07T10:30:00Z&to=2026-12-07T11:00:00Z",
            &c.receptionist,
        )
        .await;
    let slot = slots.ok(200)["items"][0]["slot_id"].clone();
    let reception = app
        .send(
            Method::POST,
            "/api/v1/appointments",
            Some(&c.receptionist),
            Some(json!({"slot_id": slot, "patient": patient(3)})),
            &[("Idempotency-Key", "rec-1")],
        )
        .await;
    let reception = reception.ok(201)["id"].as_str().unwrap().to_owned();
    for other in [&theirs, &reception] {
        app.get(&format!("/api/v1/appointments/{other}"), &c.triage)
            .await
            .problem(404, "not-found");
        app.send(
            Method::POST,
            &format!("/api/v1/appointments/{other}/cancel"),
            Some(&c.triage),
            Some(json!({"reason": "not mine"})),
            &[("If-Match", "*")],
        )
        .await
        .problem(404, "not-found");
    }
    let listed = app
        .get(
            "/api/v1/appointments?from=2026-12-07T00:00:00Z&to=2026-12-08T00:00:00Z",
            &c.triage,
        )
        .await;
    let ids: Vec<&str> = listed.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine.as_str()]);
    let cancelled = app
        .send(
            Method::POST,
            &format!("/api/v1/appointments/{mine}/cancel"),
            Some(&c.triage),
            Some(json!({"reason": "patient feels better"})),
            &[("If-Match", "*")],
        )
        .await;
    assert_eq!(cancelled.ok(200)["status"], "cancelled");
    // The others are untouched.
    let theirs_now = app
        .get(&format!("/api/v1/appointments/{theirs}"), &second)
        .await;
    assert_eq!(theirs_now.ok(200)["status"], "booked");
}

async fn secrets_rotate_with_two_live_and_revocation_is_immediate(app: TestApp) {
    let c = app.cluster("U70006").await;
    let created = app
        .post(
            "/api/v1/integrations",
            &app.admin,
            json!({"name": "Rotating 111", "clusters": ["U70006"], "client_id": "rotating-111"}),
        )
        .await;
    let created = created.ok(201).clone();
    let id = created["id"].as_str().unwrap().to_owned();
    let first = created["client_secret"].as_str().unwrap().to_owned();
    let token = |reply: Reply| reply.ok(200)["access_token"].as_str().unwrap().to_owned();
    let first_token = token(app.client_token("rotating-111", &first).await);
    // Rotate: the new secret works at once and the old one for the changeover.
    let rotated = app
        .post(
            &format!("/api/v1/integrations/{id}/secrets"),
            &app.admin,
            json!({"previous_valid_minutes": 60}),
        )
        .await;
    let rotated = rotated.ok(201).clone();
    let second = rotated["client_secret"].as_str().unwrap().to_owned();
    let second_token = token(app.client_token("rotating-111", &second).await);
    token(app.client_token("rotating-111", &first).await);
    app.get("/api/v1/dispositions", &first_token).await.ok(200);
    // A third live secret is refused until one is revoked.
    app.post(
        &format!("/api/v1/integrations/{id}/secrets"),
        &app.admin,
        json!({}),
    )
    .await
    .problem(409, "secret-limit");
    let listed = app
        .get(&format!("/api/v1/integrations/{id}/secrets"), &app.admin)
        .await;
    let listed = listed.ok(200).as_array().unwrap().clone();
    assert_eq!(listed.len(), 2);
    assert!(listed
        .iter()
        .all(|s| s["live"] == true && s.get("secret_hash").is_none()));
    let old_id = listed[1]["id"].as_str().unwrap().to_owned();
    // Revoking the old secret stops its tokens on their next request, not at their expiry.
    app.call(
        Method::DELETE,
        &format!("/api/v1/integrations/{id}/secrets/{old_id}"),
        Some(&app.admin),
        None,
    )
    .await
    .ok(200);
    app.get("/api/v1/dispositions", &first_token)
        .await
        .problem(401, "invalid-token");
    app.client_token("rotating-111", &first)
        .await
        .problem(401, "invalid-credentials");
    app.get("/api/v1/dispositions", &second_token).await.ok(200);
    // A rotation's old secret also stops by itself when the changeover ends.
    let third = app
        .post(
            &format!("/api/v1/integrations/{id}/secrets"),
            &app.admin,
            json!({"previous_valid_minutes": 30}),
        )
        .await;
    let third = third.ok(201)["client_secret"].as_str().unwrap().to_owned();
    app.clock.advance(chrono::Duration::minutes(31));
    app.client_token("rotating-111", &second)
        .await
        .problem(401, "invalid-credentials");
    app.get("/api/v1/dispositions", &second_token)
        .await
        .problem(401, "invalid-token");
    let third_token = token(app.client_token("rotating-111", &third).await);
    // Revoking the client stops every token at once.
    app.patch(
        &format!("/api/v1/integrations/{id}"),
        &app.admin,
        json!({"active": false}),
    )
    .await
    .ok(200);
    app.get("/api/v1/dispositions", &third_token)
        .await
        .problem(401, "invalid-token");
    app.client_token("rotating-111", &third)
        .await
        .problem(401, "invalid-credentials");
    // The cluster's manager sees its client's rotations and revocations in the audit.
    let audit = app
        .get(
            "/api/v1/audit?entity=integration_secret&limit=100",
            &c.manager,
        )
        .await;
    let actions: Vec<String> = audit.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        actions.contains(&"integration_secret.revoke".to_owned()),
        "{actions:?}"
    );
    assert!(actions.contains(&"integration_secret.create".to_owned()));
    assert!(!audit.body.to_string().contains("argon2"));
    // Bad changeovers are refused.
    app.post(
        &format!("/api/v1/integrations/{id}/secrets"),
        &app.admin,
        json!({"previous_valid_minutes": -1}),
    )
    .await
    .problem(422, "invalid-changeover");
}

async fn dispositions_are_read_by_triage_and_edited_by_admins(app: TestApp) {
    let c = app.cluster("U70007").await;
    let listed = app.get("/api/v1/dispositions?limit=500", &c.triage).await;
    let items = listed.ok(200)["items"].as_array().unwrap().clone();
    let dx05 = items.iter().find(|d| d["code"] == "Dx05").unwrap();
    assert_eq!(dx05["timeframe_minutes"], 120);
    assert_eq!(dx05["delivery"], "either");
    assert_eq!(dx05["services"], json!(["gp"]));
    assert!(items.len() >= 10);
    app.get("/api/v1/dispositions/Dx11", &c.manager)
        .await
        .ok(200);
    app.get("/api/v1/dispositions", &c.receptionist)
        .await
        .problem(403, "forbidden");
    let new = json!({"code": "Dx99", "description": "See a physiotherapist within 3 days", "timeframe_minutes": 4320, "delivery": "face_to_face", "services": ["physio"]});
    for (field, value, kind) in [
        ("timeframe_minutes", json!(0), "invalid-timeframe"),
        ("delivery", json!("in person"), "unknown-delivery-fit"),
        ("code", json!("D x"), "invalid-disposition-code"),
        ("services", json!(["Not A Code"]), "invalid-service-code"),
    ] {
        let mut bad = new.clone();
        bad[field] = value;
        app.post("/api/v1/dispositions", &app.admin, bad)
            .await
            .problem(422, kind);
    }
    app.post("/api/v1/dispositions", &c.manager, new.clone())
        .await
        .problem(403, "forbidden");
    let created = app
        .post("/api/v1/dispositions", &app.admin, new.clone())
        .await;
    assert_eq!(created.ok(201)["services"], json!(["physio"]));
    app.post("/api/v1/dispositions", &app.admin, new)
        .await
        .problem(409, "already-exists");
    let changed = app
        .patch(
            "/api/v1/dispositions/Dx99",
            &app.admin,
            json!({"timeframe_minutes": 2880, "services": ["physio", "gp"]}),
        )
        .await;
    let changed = changed.ok(200);
    assert_eq!(changed["timeframe_minutes"], 2880);
    assert_eq!(changed["services"], json!(["gp", "physio"]));
    assert_eq!(changed["version"], 2);
    // Retired: no longer listed (unless asked) nor bookable.
    app.patch(
        "/api/v1/dispositions/Dx99",
        &app.admin,
        json!({"active": false}),
    )
    .await
    .ok(200);
    let listed = app.get("/api/v1/dispositions?limit=500", &c.triage).await;
    assert!(!listed.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["code"] == "Dx99"));
    let all = app
        .get(
            "/api/v1/dispositions?limit=500&include_retired=true",
            &c.triage,
        )
        .await;
    assert!(all.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["code"] == "Dx99" && d["active"] == false));
    let mut body = request("Dx99", "2026-12-07T08:00:00Z", 1);
    body.as_object_mut().unwrap().remove("registered_practice");
    app.clock.set(at("2026-12-07T08:00:00Z"));
    triage_book(&app, &c.triage, "retired", body)
        .await
        .problem(422, "unknown-disposition");
    let audit = app
        .get(
            "/api/v1/audit?entity=disposition&entity_id=Dx99",
            &app.admin,
        )
        .await;
    assert_eq!(audit.ok(200)["items"].as_array().unwrap().len(), 3);
}

/// 100 triage bookings at once for the same disposition and area against 7 fitting slots:
/// each slot booked once, every other request a clean `no-capacity`, no 5xx.
async fn a_hundred_racing_triage_bookings(app: TestApp) {
    let (c, _) = triage_cluster(&app, "U70008").await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for n in 0..100u32 {
        let app = app.clone();
        let token = c.triage.clone();
        tasks.push(tokio::spawn(async move {
            triage_book(
                &app,
                &token,
                &format!("race-{n}"),
                request("Dx05", "2026-12-07T08:00:00Z", 100 + n),
            )
            .await
        }));
    }
    let mut booked = Vec::new();
    let mut no_capacity = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status.as_u16() {
            201 => booked.push(reply.body["slot"]["slot_id"].as_str().unwrap().to_owned()),
            409 => {
                let p = reply.problem(409, "no-capacity");
                assert_eq!(p["next_slot"]["starts_at"], "2026-12-07T10:10:00Z");
                no_capacity += 1;
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    let mut distinct = booked.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), booked.len(), "a slot was booked twice");
    assert_eq!((booked.len(), no_capacity), (7, 93));
    assert_eq!(app.count("appointments"), 7);
    assert_eq!(
        app.count(
            "(SELECT slot_id FROM appointments WHERE status = 'booked' GROUP BY slot_id HAVING COUNT(*) > 1) AS twice"
        ),
        0
    );
}

async fn holds_choices_retries_and_reschedules(app: TestApp) {
    let (c, _) = triage_cluster(&app, "U70009").await;
    // One call handler holds the best slot (Hub North 10:00) for its patient...
    let available = app
        .get(
            &format!(
                "/api/v1/triage/availability?disposition=Dx05&near={},{}",
                NEAR_NORTH.0, NEAR_NORTH.1
            ),
            &c.triage,
        )
        .await;
    let best = available.ok(200)["best"]["slot_id"].clone();
    let hold = app
        .call(
            Method::POST,
            &format!("/api/v1/slots/{}/hold", best.as_str().unwrap()),
            Some(&c.triage),
            None,
        )
        .await;
    let hold_id = hold.ok(201)["hold_id"].clone();
    // ...so another handler of the same client, booking automatically, is not given it.
    let other = triage_book(
        &app,
        &c.triage,
        "other",
        request("Dx05", "2026-12-07T08:00:00Z", 2),
    )
    .await;
    let other = other.ok(201).clone();
    assert_ne!(other["slot"]["slot_id"], best);
    // The holder books its hold.
    let mut held = request("Dx05", "2026-12-07T08:00:00Z", 1);
    held["hold_id"] = hold_id.clone();
    let mine = triage_book(&app, &c.triage, "held", held.clone()).await;
    let mine = mine.ok(201).clone();
    assert_eq!(mine["slot"]["slot_id"], best);
    // The same key with another body is refused; a second patient can't have the taken slot.
    let mut changed = held.clone();
    changed["case_reference"] = json!("CASE-OTHER");
    triage_book(&app, &c.triage, "held", changed)
        .await
        .problem(422, "idempotency-key-reused");
    let mut taken = request("Dx05", "2026-12-07T08:00:00Z", 3);
    taken["slot_id"] = best.clone();
    triage_book(&app, &c.triage, "taken", taken)
        .await
        .problem(409, "slot-unavailable");
    let mut unknown_hold = request("Dx05", "2026-12-07T08:00:00Z", 3);
    unknown_hold["hold_id"] = json!("no-such-hold");
    triage_book(&app, &c.triage, "unknown-hold", unknown_hold)
        .await
        .problem(409, "hold-expired");
    // The same patient again for the same service that day: duplicate-booking, nothing booked.
    let before = app.count("appointments");
    triage_book(
        &app,
        &c.triage,
        "twice",
        request("Dx05", "2026-12-07T08:00:00Z", 1),
    )
    .await
    .problem(409, "duplicate-booking");
    assert_eq!(app.count("appointments"), before);
    // The manager moves a 111 booking: it stays the service's, with its triage details.
    let id = mine["appointment"]["id"].as_str().unwrap();
    let later = app
        .get(
            "/api/v1/slots?from=2026-12-07T10:30:00Z&to=2026-12-07T11:00:00Z",
            &c.triage,
        )
        .await;
    let later = later.ok(200)["items"][0]["slot_id"].clone();
    let moved = app
        .send(
            Method::POST,
            &format!("/api/v1/appointments/{id}/reschedule"),
            Some(&c.manager),
            Some(json!({"slot_id": later})),
            &[("If-Match", "*")],
        )
        .await;
    let moved = moved.ok(200).clone();
    assert_eq!(moved["channel"], "111");
    assert_eq!(moved["booked_by"], mine["appointment"]["booked_by"]);
    let read = app
        .get(
            &format!("/api/v1/appointments/{}", moved["id"].as_str().unwrap()),
            &c.triage,
        )
        .await;
    assert_eq!(read.ok(200)["triage"]["case_reference"], "CASE-1");
    // Revoking the client stops its token on every route at once.
    let listed = app.get("/api/v1/integrations", &app.admin).await;
    let client = listed.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["client_id"] == "nhs111-u70009")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(
        &format!("/api/v1/integrations/{client}"),
        &app.admin,
        json!({"active": false}),
    )
    .await
    .ok(200);
    app.get("/api/v1/triage/availability?disposition=Dx05", &c.triage)
        .await
        .problem(401, "invalid-token");
    triage_book(
        &app,
        &c.triage,
        "revoked",
        request("Dx05", "2026-12-07T08:00:00Z", 9),
    )
    .await
    .problem(401, "invalid-token");
}

both!(
    holds_choices_retries_and_reschedules,
    books_the_nearest_fitting_slot_and_availability_agrees,
    no_capacity_names_the_next_slot_and_refusals_are_typed,
    a_practice_outside_the_clients_clusters_is_refused,
    a_client_reads_and_cancels_only_what_it_booked,
    secrets_rotate_with_two_live_and_revocation_is_immediate,
    dispositions_are_read_by_triage_and_edited_by_admins,
    a_hundred_racing_triage_bookings,
);
