//! Lists filtered by who may see what are filtered in the query, not after it: hub staff paging
//! over a cluster whose hub and surgery appointments interleave, and a receptionist whose
//! practice's appointments interleave with another practice's, get full pages until the last.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{at, nhs, TestApp, PASSWORD};

/// Every page of `path` (which has a `?`), by `limit`: each page's length and all the ids.
async fn pages(app: &TestApp, token: &str, path: &str, limit: usize) -> (Vec<usize>, Vec<Value>) {
    let mut sizes = Vec::new();
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&limit={limit}&cursor={c}"),
            None => format!("{path}&limit={limit}"),
        };
        let page = app.get(&url, token).await;
        let body = page.ok(200);
        let got = body["items"].as_array().unwrap().clone();
        sizes.push(got.len());
        items.extend(got);
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(sizes.len() < 100, "paging does not end");
    }
    (sizes, items)
}

/// Pages are full until the last one, which holds the rest (and is not empty unless all is).
#[track_caller]
fn assert_full_pages(sizes: &[usize], limit: usize, total: usize, who: &str) {
    let (last, full) = sizes.split_last().unwrap();
    assert!(
        full.iter().all(|n| *n == limit),
        "{who}: short page before the last: {sizes:?}"
    );
    assert_eq!(
        full.len() * limit + last,
        total,
        "{who}: pages {sizes:?} do not add up to {total}"
    );
    assert!(*last > 0 || total == 0, "{who}: empty last page {sizes:?}");
}

async fn interleaved_lists_come_in_full_pages(app: TestApp) {
    let c = app.cluster("U80101").await;
    let code = &c.code;
    app.send(
        Method::PUT,
        &format!("/api/v1/clusters/{code}/sharing"),
        Some(&c.manager),
        Some(json!({"triage": {"kind": "per_day", "slots": 0}, "apportionment": false})),
        &[("If-Match", "*")],
    )
    .await
    .ok(200);
    let surgery = app.post(&format!("/api/v1/clusters/{code}/sites"), &c.manager, json!({
        "name": "Surgery East", "kind": "surgery", "address": "2 Test Road", "postcode": "LS9 7TF", "latitude": 53.80, "longitude": -1.50
    })).await;
    let surgery_id = surgery.ok(201)["id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/v1/clusters/{code}/practices"), &c.manager, json!({
        "ods_code": "B82009", "name": "Second Surgery", "list_size": 6000, "data_sharing_from": "2026-01-01"
    })).await.ok(201);
    let practices = app
        .get(&format!("/api/v1/clusters/{code}/practices"), &c.manager)
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
    app.post(&format!("/api/v1/clusters/{code}/users"), &c.manager, json!({
        "username": "rec-second", "display_name": "Second", "password": PASSWORD, "role": "receptionist", "practice_id": other_id
    })).await.ok(201);
    let other = app.login("rec-second", PASSWORD).await;
    app.clock.set(at("2026-12-01T08:00:00Z"));
    let template = |key: &str, site: &str| {
        json!({"key": key, "site_id": site, "service_id": c.service_id, "start": "09:00", "end": "12:00",
            "slot_minutes": 10, "capacity": 1, "delivery": "face_to_face", "weekdays": ["mon", "tue"], "valid_from": "2026-01-01"})
    };
    let rota = app
        .post(
            &format!("/api/v1/clusters/{code}/rotas"),
            &c.manager,
            json!({"name": "R", "templates": [template("hub", &c.site_id), template("surgery", &surgery_id)]}),
        )
        .await;
    let rota = rota.ok(201)["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/clusters/{code}/rotas/{rota}/publish"),
        &c.manager,
        json!({"from": "2026-12-07", "to": "2026-12-08"}),
    )
    .await
    .ok(200);
    let offers = app
        .get(
            "/api/v1/slots?from=2026-12-07T00:00:00Z&to=2026-12-09T00:00:00Z&limit=500",
            &c.receptionist,
        )
        .await;
    let mut slots: Vec<(String, String, String)> = offers.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["starts_at"].as_str().unwrap().to_owned(),
                o["slot_id"].as_str().unwrap().to_owned(),
                o["site"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    slots.sort();
    assert_eq!(slots.len(), 72, "two days of two sites of 18 slots");
    // In time order the two practices take turns, and the hub and the surgery interleave; every
    // third of the second practice's patients is registered with the first.
    let mut at_hub = 0;
    let mut first_sees = HashSet::new();
    for (i, (_, slot_id, site_id)) in slots.iter().enumerate() {
        let first = i % 2 == 0;
        let mut body = json!({"slot_id": slot_id, "patient": {"nhs_number": nhs(i as u32 + 1),
            "name": format!("Paging Patient {i}"), "birth_date": "1970-01-01", "phone": "0113 496 0000"}});
        let registered_with_first = !first && i % 3 == 0;
        if registered_with_first {
            body["registered_practice"] = json!("B82001");
        }
        let token = if first { &c.receptionist } else { &other };
        let booked = app
            .send(
                Method::POST,
                "/api/v1/appointments",
                Some(token),
                Some(body),
                &[("Idempotency-Key", &format!("page-{i}"))],
            )
            .await;
        let id = booked.ok(201)["id"].as_str().unwrap().to_owned();
        if *site_id == c.site_id {
            at_hub += 1;
        }
        if first || registered_with_first {
            first_sees.insert(id);
        }
    }
    assert_eq!(at_hub, 36);
    let list = "/api/v1/appointments?from=2026-12-07T00:00:00Z";
    let (sizes, items) = pages(&app, &c.hub_staff, list, 10).await;
    assert_full_pages(&sizes, 10, at_hub, "hub staff");
    assert!(items.iter().all(|a| a["site_id"] == c.site_id.as_str()));
    let (sizes, items) = pages(&app, &c.receptionist, list, 10).await;
    assert_full_pages(&sizes, 10, first_sees.len(), "receptionist");
    let seen: HashSet<String> = items
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, first_sees);
    let (sizes, _) = pages(&app, &c.manager, list, 10).await;
    assert_full_pages(&sizes, 10, 72, "manager");
    // Once the second practice's agreement has ended, its bookings of the first practice's
    // patients drop out of the first practice's list, and its pages are still full.
    app.send(
        Method::PATCH,
        &format!("/api/v1/clusters/{code}/practices/{other_id}"),
        Some(&c.manager),
        Some(json!({"data_sharing_to": "2026-11-30"})),
        &[("If-Match", "*")],
    )
    .await
    .ok(200);
    let own = slots.len().div_ceil(2);
    let (sizes, items) = pages(&app, &c.receptionist, list, 7).await;
    assert_full_pages(&sizes, 7, own, "receptionist after the agreement ended");
    assert!(items
        .iter()
        .all(|a| a["booking_practice_id"] == c.practice_id.as_str()));
}

both!(interleaved_lists_come_in_full_pages);
