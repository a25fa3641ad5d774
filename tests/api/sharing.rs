//! Sharing capacity: rules, channels at publication, release by time, what each practice and
//! 111 is offered, why, and the fair-share report against the raw rows.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{at, Cluster, TestApp, PASSWORD};

const FROM: &str = "2026-12-07T00:00:00Z";
const TO: &str = "2026-12-12T00:00:00Z";

/// A second practice with half the first's list, its receptionist, and one without an agreement.
async fn members(app: &TestApp, c: &Cluster) -> (String, String, String) {
    let code = &c.code;
    let b = app.post(&format!("/api/v1/clusters/{code}/practices"), &c.manager, json!({"ods_code": "B82002", "name": "Half Surgery", "list_size": 4500, "data_sharing_from": "2026-01-01"})).await;
    let b_id = b.ok(201)["id"].as_str().unwrap().to_owned();
    let n = app
        .post(
            &format!("/api/v1/clusters/{code}/practices"),
            &c.manager,
            json!({"ods_code": "B82003", "name": "Unsigned Surgery", "list_size": 7000}),
        )
        .await;
    let n_id = n.ok(201)["id"].as_str().unwrap().to_owned();
    for (user, practice) in [("rec-b", &b_id), ("rec-n", &n_id)] {
        app.post(&format!("/api/v1/clusters/{code}/users"), &c.manager, json!({"username": user, "display_name": "R", "password": PASSWORD, "role": "receptionist", "practice_id": practice})).await.ok(201);
    }
    (
        b_id,
        app.login("rec-b", PASSWORD).await,
        app.login("rec-n", PASSWORD).await,
    )
}

async fn publish_week(app: &TestApp, c: &Cluster) {
    let template = json!({"key": "gp-morning", "site_id": c.site_id, "service_id": c.service_id, "start": "09:00", "end": "12:00",
        "slot_minutes": 10, "capacity": 1, "delivery": "face_to_face", "weekdays": ["mon", "tue", "wed", "thu", "fri"], "valid_from": "2026-01-01"});
    let rota = app
        .post(
            &format!("/api/v1/clusters/{}/rotas", c.code),
            &c.manager,
            json!({"name": "Mornings", "templates": [template]}),
        )
        .await;
    let rota = rota.ok(201)["id"].as_str().unwrap().to_owned();
    let report = app
        .post(
            &format!("/api/v1/clusters/{}/rotas/{rota}/publish", c.code),
            &c.manager,
            json!({"from": "2026-12-07", "to": "2026-12-11"}),
        )
        .await;
    assert_eq!(report.ok(200)["slots_created"], 90);
}

async fn offers(app: &TestApp, token: &str) -> Vec<Value> {
    let reply = app
        .get(
            &format!("/api/v1/slots?from={FROM}&to={TO}&limit=500"),
            token,
        )
        .await;
    reply.ok(200)["items"].as_array().unwrap().clone()
}

fn ids(offers: &[Value]) -> BTreeSet<String> {
    offers
        .iter()
        .map(|o| o["slot_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_manager_sets_versioned_rules(app: TestApp) {
    let c = app.cluster("U70001").await;
    let path = format!("/api/v1/clusters/{}/sharing", c.code);
    let defaults = app.get(&path, &c.manager).await;
    assert_eq!(defaults.ok(200)["version"], 0);
    assert_eq!(defaults.body["rules"]["practice_release_hours"], 48);
    assert_eq!(defaults.body["rules"]["triage_may_book_open"], false);
    let body = json!({"triage": {"kind": "per_day", "slots": 2}, "triage_release_hours": 6});
    let blind = app
        .client
        .put(format!("{}{path}", app.base))
        .bearer_auth(&c.manager)
        .json(&body)
        .send()
        .await
        .unwrap();
    TestApp::reply(blind)
        .await
        .problem(428, "precondition-required");
    let set = app
        .send(
            Method::PUT,
            &path,
            Some(&c.manager),
            Some(body.clone()),
            &[("If-Match", "\"0\"")],
        )
        .await;
    assert_eq!(set.ok(200)["version"], 1);
    assert_eq!(
        set.body["rules"]["triage"],
        json!({"kind": "per_day", "slots": 2})
    );
    app.send(
        Method::PUT,
        &path,
        Some(&c.manager),
        Some(body),
        &[("If-Match", "\"0\"")],
    )
    .await
    .problem(412, "precondition-failed");
    app.send(
        Method::PUT,
        &path,
        Some(&c.manager),
        Some(json!({"triage": {"kind": "percent_of_session", "percent": 150}})),
        &[("If-Match", "\"1\"")],
    )
    .await
    .problem(422, "invalid-triage-percentage");
    app.send(
        Method::PUT,
        &path,
        Some(&c.manager),
        Some(json!({"triage_services": ["nope"]})),
        &[("If-Match", "\"1\"")],
    )
    .await
    .problem(422, "unknown-reference");
    app.send(
        Method::PUT,
        &path,
        Some(&c.manager),
        Some(json!({"colour": "red"})),
        &[("If-Match", "\"1\"")],
    )
    .await
    .problem(422, "invalid-body");
    app.send(
        Method::PUT,
        &path,
        Some(&c.receptionist),
        Some(json!({})),
        &[("If-Match", "*")],
    )
    .await
    .problem(403, "forbidden");
    app.get(&path, &c.hub_staff).await.problem(403, "forbidden");
    assert_eq!(app.count("audit_events WHERE action = 'sharing.update'"), 1);
}

async fn each_practice_sees_its_own_and_released_slots(app: TestApp) {
    let c = app.cluster("U70002").await;
    let (b_id, rec_b, rec_unsigned) = members(&app, &c).await;
    app.send(
        Method::PUT,
        &format!("/api/v1/clusters/{}/sharing", c.code),
        Some(&c.manager),
        Some(json!({"triage": {"kind": "per_day", "slots": 2}})),
        &[("If-Match", "*")],
    )
    .await
    .ok(200);
    app.clock.set(at("2026-12-01T08:00:00Z"));
    publish_week(&app, &c).await;
    let a_id = &c.practice_id;
    assert_eq!(
        app.count("slots WHERE channel = '111'"),
        10,
        "two a day for 111"
    );
    let a_reserved = app.count(&format!("slots WHERE channel_practice_id = '{a_id}'"));
    let b_reserved = app.count(&format!("slots WHERE channel_practice_id = '{b_id}'"));
    assert_eq!(a_reserved + b_reserved, 80);
    assert!(
        (53..=54).contains(&a_reserved),
        "9,000 of 13,500 patients: quota 53.3, got {a_reserved}"
    );
    assert_eq!(app.count("slots WHERE sharing_version = 1"), 90);

    // Before any release each practice sees only its own reservation; 111 its own slots.
    let a = offers(&app, &c.receptionist).await;
    assert_eq!(a.len() as i64, a_reserved);
    assert!(a.iter().all(|o| o["channel"] == "practice"));
    assert_eq!(offers(&app, &rec_b).await.len() as i64, b_reserved);
    assert!(
        offers(&app, &rec_unsigned).await.is_empty(),
        "no agreement, no other site"
    );
    let triage = offers(&app, &c.triage).await;
    assert_eq!(triage.len(), 10);
    assert!(triage.iter().all(|o| o["channel"] == "111"));
    assert!(triage[0]["site"]["name"].is_string() && triage[0]["clinical_role"] == "gp");

    // 48 hours before Monday's session B's unbooked reservation there is open to A; Tuesday's not.
    app.clock.set(at("2026-12-05T10:00:00Z"));
    let b_monday = app.count(&format!(
        "slots WHERE channel_practice_id = '{b_id}' AND starts_at < '2026-12-08'"
    ));
    let a_now = offers(&app, &c.receptionist).await;
    assert_eq!(a_now.len() as i64, a_reserved + b_monday);
    let released: Vec<&Value> = a_now
        .iter()
        .filter(|o| {
            o["channel"] == "practice"
                && o["released_at"]
                    .as_str()
                    .is_some_and(|r| r <= "2026-12-05T10:00:00Z")
        })
        .collect();
    assert!(released.len() as i64 >= b_monday);
    // 111 sees open and released capacity only when the rules allow it.
    assert_eq!(offers(&app, &c.triage).await.len(), 10);
    app.send(
        Method::PUT,
        &format!("/api/v1/clusters/{}/sharing", c.code),
        Some(&c.manager),
        Some(json!({"triage": {"kind": "per_day", "slots": 2}, "triage_may_book_open": true})),
        &[("If-Match", "*")],
    )
    .await
    .ok(200);
    let a_monday = app.count(&format!(
        "slots WHERE channel_practice_id = '{a_id}' AND starts_at < '2026-12-08'"
    ));
    assert_eq!(
        offers(&app, &c.triage).await.len() as i64,
        10 + a_monday + b_monday
    );

    // A booked slot and a slot held by someone else are offered to nobody.
    let first = &a_now[0];
    app.book_directly(&c.code, first["slot_id"].as_str().unwrap(), a_id)
        .unwrap();
    let second = a_now[1]["slot_id"].as_str().unwrap().to_owned();
    app.hold_directly(&c.code, &second, at("2026-12-05T10:02:00Z"));
    let after = ids(&offers(&app, &c.receptionist).await);
    assert!(!after.contains(first["slot_id"].as_str().unwrap()) && !after.contains(&second));
    assert_eq!(after.len(), a_now.len() - 2);
    app.clock.set(at("2026-12-05T10:03:00Z"));
    assert!(
        ids(&offers(&app, &c.receptionist).await).contains(&second),
        "an expired hold excludes nobody"
    );
    app.get(&format!("/api/v1/slots?from={FROM}"), &c.manager)
        .await
        .problem(403, "forbidden");
    app.get(
        &format!("/api/v1/slots?from={TO}&to={FROM}"),
        &c.receptionist,
    )
    .await
    .problem(422, "invalid-date-range");
}

async fn release_follows_a_session_that_moves(app: TestApp) {
    let c = app.cluster("U70006").await;
    app.clock.set(at("2026-12-01T08:00:00Z"));
    let template = |start: &str, end: &str| {
        json!({"key": "gp-morning", "site_id": c.site_id, "service_id": c.service_id, "start": start, "end": end,
        "slot_minutes": 10, "capacity": 1, "delivery": "face_to_face", "weekdays": ["mon"], "valid_from": "2026-01-01"})
    };
    let rota = app
        .post(
            &format!("/api/v1/clusters/{}/rotas", c.code),
            &c.manager,
            json!({"name": "M", "templates": [template("09:00", "10:00")]}),
        )
        .await;
    let rota = rota.ok(201)["id"].as_str().unwrap().to_owned();
    let publish = format!("/api/v1/clusters/{}/rotas/{rota}/publish", c.code);
    app.post(
        &publish,
        &c.manager,
        json!({"from": "2026-12-07", "to": "2026-12-07"}),
    )
    .await
    .ok(200);
    let live = |channel: &str| {
        app.count(&format!(
            "slots WHERE channel = '{channel}' AND removed_at IS NULL"
        ))
    };
    assert!(live("practice") > 0 && live("111") > 0);
    assert_eq!(
        app.count("slots WHERE channel = 'practice' AND released_at = '2026-12-05 09:00:00'"),
        live("practice")
    );
    assert_eq!(
        app.count("slots WHERE channel = '111' AND released_at = '2026-12-07 05:00:00'"),
        live("111")
    );
    // The session now starts at 08:00: every reserved slot is released 48 hours before that.
    app.send(
        Method::PUT,
        &format!("/api/v1/clusters/{}/rotas/{rota}", c.code),
        Some(&c.manager),
        Some(json!({"name": "M", "templates": [template("08:00", "10:00")]})),
        &[("If-Match", "*")],
    )
    .await
    .ok(200);
    let report = app
        .post(
            &publish,
            &c.manager,
            json!({"from": "2026-12-07", "to": "2026-12-07"}),
        )
        .await;
    assert_eq!(report.ok(200)["sessions_updated"], 1);
    assert_eq!(app.count("slots WHERE channel = 'practice' AND removed_at IS NULL AND released_at = '2026-12-05 08:00:00'"), live("practice"));
    assert_eq!(app.count("slots WHERE channel = '111' AND removed_at IS NULL AND released_at = '2026-12-07 04:00:00'"), live("111"));
}

async fn a_manager_can_ask_why_and_set_a_channel(app: TestApp) {
    let c = app.cluster("U70003").await;
    let (b_id, rec_b, _) = members(&app, &c).await;
    app.clock.set(at("2026-12-01T08:00:00Z"));
    publish_week(&app, &c).await;
    let b_offers = offers(&app, &rec_b).await;
    let tuesday: Vec<&Value> = b_offers
        .iter()
        .filter(|o| o["starts_at"].as_str().unwrap().starts_with("2026-12-08"))
        .collect();
    let slot = tuesday[0]["slot_id"].as_str().unwrap().to_owned();
    app.clock.set(at("2026-12-05T10:00:00Z"));
    let why = app
        .get(&format!("/api/v1/slots/{slot}/visibility"), &c.manager)
        .await;
    let body = why.ok(200).clone();
    assert_eq!(
        (
            body["channel"].as_str(),
            body["reserved_for"].as_str(),
            body["free"].as_bool()
        ),
        (Some("practice"), Some("B82002"), Some(true))
    );
    let line = |viewer: &str| {
        body["viewers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["viewer"] == viewer)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            line("B82001")["visible"].as_bool(),
            line("B82001")["reason"].as_str()
        ),
        (Some(false), Some("reserved_for_another_practice"))
    );
    assert_eq!(
        (
            line("B82002")["visible"].as_bool(),
            line("B82002")["reason"].as_str()
        ),
        (Some(true), Some("reserved_for_you"))
    );
    assert_eq!(line("B82003")["reason"], "no_data_sharing_agreement");
    assert_eq!(line("111")["reason"], "reserved_for_practices");
    assert!(
        line("B82001")["explanation"]
            .as_str()
            .unwrap()
            .contains("2026-12-06"),
        "names the release time"
    );
    let one = app
        .get(
            &format!("/api/v1/slots/{slot}/visibility?practice=b82001"),
            &c.manager,
        )
        .await;
    assert_eq!(one.ok(200)["viewers"].as_array().unwrap().len(), 1);
    app.get(&format!("/api/v1/slots/{slot}/visibility"), &c.receptionist)
        .await
        .problem(403, "forbidden");
    let other = app.cluster("U70004").await;
    app.get(&format!("/api/v1/slots/{slot}/visibility"), &other.manager)
        .await
        .problem(404, "not-found");

    // The hub keeps the slot for the first practice instead: it sees it at once, B no longer does.
    let set = app
        .send(
            Method::PUT,
            &format!("/api/v1/slots/{slot}/channel"),
            Some(&c.manager),
            Some(json!({"channel": "practice", "practice": "B82001"})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(set.ok(200)["practice_id"], c.practice_id.as_str());
    assert!(ids(&offers(&app, &c.receptionist).await).contains(&slot));
    assert!(!ids(&offers(&app, &rec_b).await).contains(&slot));
    app.send(
        Method::PUT,
        &format!("/api/v1/slots/{slot}/channel"),
        Some(&c.manager),
        Some(json!({"channel": "open"})),
        &[("If-Match", "\"1\"")],
    )
    .await
    .problem(412, "precondition-failed");
    app.send(
        Method::PUT,
        &format!("/api/v1/slots/{slot}/channel"),
        Some(&c.manager),
        Some(json!({"channel": "practice"})),
        &[("If-Match", "*")],
    )
    .await
    .problem(422, "invalid-channel");
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'slot.update' AND entity_id = '{slot}'"
        )),
        1
    );
    let _ = b_id;
}

async fn the_fair_share_report_adds_up(app: TestApp) {
    let c = app.cluster("U70005").await;
    let (b_id, _, n_id_token) = members(&app, &c).await;
    let _ = n_id_token;
    app.clock.set(at("2026-12-01T08:00:00Z"));
    publish_week(&app, &c).await;
    let a_id = c.practice_id.clone();
    app.clock.set(at("2026-12-05T10:00:00Z"));
    let a = offers(&app, &c.receptionist).await;
    let own: Vec<&Value> = a
        .iter()
        .filter(|o| {
            o["released_at"]
                .as_str()
                .is_some_and(|r| r > "2026-12-05T10:00:00Z")
        })
        .collect();
    let released_b: Vec<&Value> = a
        .iter()
        .filter(|o| {
            o["released_at"]
                .as_str()
                .is_some_and(|r| r <= "2026-12-05T10:00:00Z")
        })
        .filter(|o| o["starts_at"].as_str().unwrap() < "2026-12-08")
        .collect();
    // A books two of its own and one of B's released slots; the raw rows are the truth.
    for o in [own[0], own[1]] {
        app.book_directly(&c.code, o["slot_id"].as_str().unwrap(), &a_id)
            .unwrap();
    }
    let b_slot = released_b.iter().find(|o| {
        app.count(&format!(
            "slots WHERE id = '{}' AND channel_practice_id = '{b_id}'",
            o["slot_id"].as_str().unwrap()
        )) == 1
    });
    let b_slot = (*b_slot.expect("a released slot of B")).clone();
    app.book_directly(&c.code, b_slot["slot_id"].as_str().unwrap(), &a_id)
        .unwrap();

    let report = app
        .get(
            &format!(
                "/api/v1/clusters/{}/reports/fair-share?from=2026-12-07&to=2026-12-11",
                c.code
            ),
            &c.manager,
        )
        .await;
    let report = report.ok(200).clone();
    assert_eq!(
        report["apportioned"].as_i64(),
        Some(app.count("slots WHERE channel = 'practice'"))
    );
    let row = |ods: &str| {
        report["practices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ods_code"] == ods)
            .unwrap()
            .clone()
    };
    let (ra, rb, rn) = (row("B82001"), row("B82002"), row("B82003"));
    assert_eq!(
        ra["reserved"].as_i64(),
        Some(app.count(&format!("slots WHERE channel_practice_id = '{a_id}'")))
    );
    assert_eq!(
        rb["reserved"].as_i64(),
        Some(app.count(&format!("slots WHERE channel_practice_id = '{b_id}'")))
    );
    assert_eq!(
        (
            ra["booked_from_reservation"].as_i64(),
            ra["booked_from_open"].as_i64()
        ),
        (Some(2), Some(1))
    );
    let b_released = app.count(&format!(
        "slots WHERE channel_practice_id = '{b_id}' AND released_at <= '2026-12-05 10:00:00'"
    ));
    assert_eq!(rb["released_unused"].as_i64(), Some(b_released));
    assert_eq!(
        ra["released_unused"].as_i64(),
        Some(app.count(&format!(
            "slots WHERE channel_practice_id = '{a_id}' AND released_at <= '2026-12-05 10:00:00'"
        )))
    );
    assert_eq!(
        (rn["reserved"].as_i64(), rn["exact_quota"].as_f64()),
        (Some(0), Some(0.0)),
        "no agreement, no quota"
    );
    let quota_sum = ra["exact_quota"].as_f64().unwrap() + rb["exact_quota"].as_f64().unwrap();
    assert!((quota_sum - report["apportioned"].as_f64().unwrap()).abs() < 0.02);
    assert!(
        (ra["exact_quota"].as_f64().unwrap() - ra["reserved"].as_f64().unwrap()).abs() <= 1.0,
        "within one slot of its quota"
    );
    app.get(
        &format!(
            "/api/v1/clusters/{}/reports/fair-share?from=2026-12-07&to=2026-12-11",
            c.code
        ),
        &c.receptionist,
    )
    .await
    .problem(403, "forbidden");
    app.get(
        &format!(
            "/api/v1/clusters/{}/reports/fair-share?from=2026-12-11&to=2026-12-07",
            c.code
        ),
        &c.manager,
    )
    .await
    .problem(422, "invalid-date-range");
}

/// Up to `n` slot ids reserved for a practice, in time order.
fn reserved_slots(app: &TestApp, practice_id: &str, n: i64) -> Vec<String> {
    use diesel::prelude::*;
    use hubbook_store::schema::slots;
    let mut conn = app.pool.get().unwrap();
    slots::table
        .filter(slots::channel_practice_id.eq(practice_id))
        .order((slots::starts_at, slots::id))
        .limit(n)
        .select(slots::id)
        .load(&mut *conn)
        .unwrap()
}

async fn both_reports_give_the_same_fair_share(app: TestApp) {
    let c = app.cluster("U70006").await;
    let code = c.code.clone();
    // A (9,000) and B (4,500) share all week, N (7,000) has no agreement, C's (3,000) starts on
    // Wednesday 9 December and D's (6,000) ended on Tuesday 8 December.
    let (b_id, _, _) = members(&app, &c).await;
    let mut ids = vec![c.practice_id.clone(), b_id];
    for (ods, list, from, to) in [
        ("B82004", 3000, "2026-12-09", None),
        ("B82005", 6000, "2026-01-01", Some("2026-12-08")),
    ] {
        let body = json!({"ods_code": ods, "name": format!("Surgery {ods}"), "list_size": list,
            "data_sharing_from": from, "data_sharing_to": to});
        let made = app
            .post(
                &format!("/api/v1/clusters/{code}/practices"),
                &c.manager,
                body,
            )
            .await;
        ids.push(made.ok(201)["id"].as_str().unwrap().to_owned());
    }
    app.clock.set(at("2026-12-01T08:00:00Z"));
    publish_week(&app, &c).await;
    // Some bookings, each in the booking practice's own reservation.
    for (practice, n) in ids.iter().zip([3, 2, 1, 1]) {
        for slot in reserved_slots(&app, practice, n) {
            app.book_directly(&code, &slot, practice).unwrap();
        }
    }

    let period = "from=2026-12-07&to=2026-12-11";
    let fair = app
        .get(
            &format!("/api/v1/clusters/{code}/reports/fair-share?{period}"),
            &c.manager,
        )
        .await
        .ok(200)
        .clone();
    let bookings = app
        .get(
            &format!("/api/v1/clusters/{code}/reports/bookings?{period}"),
            &c.manager,
        )
        .await
        .ok(200)
        .clone();
    let apportioned = fair["apportioned"].as_f64().unwrap();
    assert_eq!(
        apportioned, 63.0,
        "18 slots a day less 6 (Mon, Tue) or 5 (Wed-Fri) for 111"
    );
    let mut total = 0.0;
    for row in fair["practices"].as_array().unwrap() {
        let ods = row["ods_code"].as_str().unwrap();
        let booked = bookings["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == ods)
            .unwrap();
        let quota = row["exact_quota"].as_f64().unwrap();
        match booked["fair_share"].as_f64() {
            None => assert_eq!(quota, 0.0, "{ods}: no fair share, no quota"),
            Some(share) => {
                assert!(
                    (quota - share * apportioned).abs() < 0.01,
                    "{ods}: quota {quota} against fair share {share} of {apportioned}"
                );
                total += share;
            }
        }
        // The allocator keeps each practice within a slot of its quota in each of the week's
        // two runs of days with the same practices in force.
        assert!(
            (row["reserved"].as_f64().unwrap() - quota).abs() < 2.0,
            "{ods}: {row}"
        );
    }
    assert!((total - 1.0).abs() < 0.001, "the fair shares add up to one");
    let share = |ods: &str| {
        let rows = bookings["rows"].as_array().unwrap();
        rows.iter().find(|r| r["key"] == ods).unwrap()["fair_share"].clone()
    };
    // Mon, Tue: 12 shared slots each among A, B and D; Wed-Fri: 13 each among A, B and C.
    assert_eq!(share("B82003"), Value::Null, "no agreement");
    assert_eq!(share("B82004"), json!(0.1126), "in force from Wednesday");
    assert_eq!(share("B82005"), json!(0.1172), "in force until Tuesday");
    assert_eq!(share("B82001"), json!(0.5135));
    assert_eq!(share("B82002"), json!(0.2567));
    assert_eq!(
        bookings["totals"]["booked"], 7,
        "the bookings the report counts"
    );
    // Like the other reports, the fair-share report covers at most 400 days.
    app.get(
        &format!("/api/v1/clusters/{code}/reports/fair-share?from=2026-01-01&to=2027-02-05"),
        &c.manager,
    )
    .await
    .problem(422, "invalid-date-range");
}

both!(
    release_follows_a_session_that_moves,
    the_manager_sets_versioned_rules,
    each_practice_sees_its_own_and_released_slots,
    a_manager_can_ask_why_and_set_a_channel,
    the_fair_share_report_adds_up,
    both_reports_give_the_same_fair_share,
);
