//! Reports against a hand-built cluster whose answers are known by construction, in JSON and in
//! CSV, on both backends; and the refusals of bad report requests.
//!
//! The cluster (Europe/London), published for Monday 19 October to Sunday 1 November 2026, which
//! spans the end of British Summer Time (Sunday 25 October, 02:00 BST -> 01:00 GMT):
//!
//! | session | local | site | service | slots |
//! | --- | --- | --- | --- | --- |
//! | S1 | Wed 21 Oct 18:30-19:30 BST (17:30Z) | Hub North | GP | 6 x 10 min |
//! | S3 | Sun 25 Oct 09:00-10:00 GMT, the change day | Hub South, Annexe | Phlebotomy, 2 chairs | 8 x 15 min |
//! | S2 | Wed 28 Oct 18:30-19:30 GMT | Hub North | GP | 6 x 10 min |
//! | S5 | Thu 29 Oct 18:30-19:00 GMT, withdrawn on 20 Oct | Hub North | GP | 3 x 10 min |
//! | S4 | Sat 31 Oct 16:30-17:30 GMT | Hub South, Annexe | GP | 6 x 10 min |
//!
//! Practices: B82001 Test Surgery (9,000 patients, receptionist A) and B82002 "Smith, Jones &
//! Partners" (3,000, receptionist B). S1 19:00 is reserved for 111, S2 19:00 for B82001; every
//! other slot is open. Appointments (created = when booked, clock in UTC):
//!
//! | id | slot | booked by, when | then |
//! | --- | --- | --- | --- |
//! | a1 | S1 18:30 | A, 1 Oct | seen |
//! | a2 | S1 18:40 | B, 1 Oct | did not attend |
//! | a3 | S1 18:50 | A, 1 Oct | cancelled 1 Oct (early) |
//! | a4 | S1 19:00 (111) | NHS 111 (Dx08), 21 Oct 12:00, patient of B82001 | arrived |
//! | a5 | S2 18:30 | A, 27 Oct | seen |
//! | a6 | S2 18:40 | B, 26 Oct | cancelled 28 Oct 16:30 (2h10 before: late) |
//! | a7 | S2 18:50 | B, 1 Oct | cancelled 28 Oct 17:00 (late) |
//! | a8 | S2 18:50 | A, 28 Oct 17:05 | did not attend |
//! | a9 | S2 19:00 (B82001's) | A, 21 Oct | booked, no outcome |
//! | a10 | S3 09:00 chair 1 | A, 1 Oct, for RR8 `BLOODS-0001` | seen |
//! | a11 | S3 09:00 chair 2 | B, 1 Oct, for RHQ `RHQ-"7", urgent` | arrived |
//! | a12 | S3 09:15 chair 1 | A, 24 Oct 23:30Z = 25 Oct 00:30 BST, for RR8 `BLOODS-0002` | did not attend |
//! | a13 | S4 16:30 | A, 29 Oct | seen |
//! | a14 | S4 16:40 | B, 31 Oct 07:00 | booked, no outcome |
//! | a15 | S4 16:50 | A, 1 Oct | cancelled 30 Oct 16:30 (24h20 before: early) |
//! | a16 | S5 18:30 | A, 1 Oct | booked; the session was withdrawn, so it needs rebooking |
//!
//! The reports are read at Saturday 31 October 16:45Z, when S4's 16:50 and later slots have not
//! started.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};

use hubbook_core::Clock;

use crate::both;
use crate::helpers::{at, nhs, Cluster, Reply, TestApp, PASSWORD};

fn patient(n: u32) -> Value {
    json!({"nhs_number": nhs(n), "name": format!("Report Patient {n}"), "birth_date": "1958-07-14", "phone": "0113 496 0202"})
}

/// The hand-built cluster: its fixture, receptionist B's token and the appointment ids by name.
struct World {
    c: Cluster,
    ids: HashMap<&'static str, String>,
}

/// Every slot of the cluster by its UTC start and lane.
fn slot_ids(app: &TestApp, code: &str) -> HashMap<(String, i32), String> {
    use diesel::prelude::*;
    use hubbook_store::schema::slots;
    let cluster_id = app.cluster_id(code);
    let mut conn = app.pool.get().unwrap();
    let rows: Vec<(chrono::NaiveDateTime, i32, String)> = slots::table
        .filter(slots::cluster_id.eq(cluster_id))
        .select((slots::starts_at, slots::lane, slots::id))
        .load(&mut *conn)
        .unwrap();
    rows.into_iter()
        .map(|(t, lane, id)| ((t.and_utc().to_rfc3339(), lane), id))
        .collect()
}

/// A booking to make: name, receptionist (`A` or `B`), when (UTC), the slot's start (UTC) and
/// lane, the patient's number, and the requesting organisation and reference.
type Planned = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i32,
    u32,
    Option<(&'static str, &'static str)>,
);

async fn build(app: &TestApp, code: &str) -> World {
    let c = app.cluster(code).await;
    let m = &c.manager;
    let base = format!("/api/v1/clusters/{code}");
    app.send(
        Method::PUT,
        &format!("{base}/sharing"),
        Some(m),
        Some(json!({"triage": {"kind": "per_day", "slots": 0}, "apportionment": false})),
        &[("If-Match", "*")],
    )
    .await
    .ok(200);
    let annexe = app.post(&format!("{base}/sites"), m, json!({
        "name": "Hub South, Annexe", "kind": "hub", "address": "2 Test Road", "postcode": "LS11 5AA", "latitude": 53.78, "longitude": -1.54
    })).await;
    let annexe = annexe.ok(201)["id"].as_str().unwrap().to_owned();
    let bloods = app
        .post(
            &format!("{base}/services"),
            m,
            json!({"code": "bloods", "name": "Phlebotomy", "clinical_role": "phlebotomist"}),
        )
        .await;
    let bloods = bloods.ok(201)["id"].as_str().unwrap().to_owned();
    let practice_b = app.post(&format!("{base}/practices"), m, json!({
        "ods_code": "B82002", "name": "Smith, Jones & Partners", "list_size": 3000, "data_sharing_from": "2026-01-01"
    })).await;
    let practice_b = practice_b.ok(201)["id"].as_str().unwrap().to_owned();
    let user_b = format!("rec-b-{}", code.to_lowercase());
    app.post(&format!("{base}/users"), m, json!({
        "username": user_b, "display_name": "Reception B", "password": PASSWORD, "role": "receptionist", "practice_id": practice_b
    })).await.ok(201);
    let rec_b = app.login(&user_b, PASSWORD).await;

    app.clock.set(at("2026-10-01T08:00:00Z"));
    let template = |key: &str,
                    site: &str,
                    service: &str,
                    day: &str,
                    date: &str,
                    times: (&str, &str),
                    minutes: u32,
                    capacity: u32| {
        json!({"key": key, "site_id": site, "service_id": service, "start": times.0, "end": times.1,
            "slot_minutes": minutes, "capacity": capacity, "delivery": "face_to_face", "weekdays": [day],
            "valid_from": date, "valid_to": date})
    };
    let (north, gp) = (c.site_id.as_str(), c.service_id.as_str());
    let rota = app
        .post(
            &format!("{base}/rotas"),
            m,
            json!({"name": "Reports", "templates": [
                template("s1", north, gp, "wed", "2026-10-21", ("18:30", "19:30"), 10, 1),
                template("s3", &annexe, &bloods, "sun", "2026-10-25", ("09:00", "10:00"), 15, 2),
                template("s2", north, gp, "wed", "2026-10-28", ("18:30", "19:30"), 10, 1),
                template("s5", north, gp, "thu", "2026-10-29", ("18:30", "19:00"), 10, 1),
                template("s4", &annexe, gp, "sat", "2026-10-31", ("16:30", "17:30"), 10, 1),
            ]}),
        )
        .await;
    let rota = rota.ok(201)["id"].as_str().unwrap().to_owned();
    let published = app
        .post(
            &format!("{base}/rotas/{rota}/publish"),
            m,
            json!({"from": "2026-10-19", "to": "2026-11-01"}),
        )
        .await;
    assert_eq!(published.ok(200)["slots_created"], 29);
    let slots = slot_ids(app, code);
    assert_eq!(slots.len(), 29);
    let slot = |utc: &str, lane: i32| slots[&(at(utc).to_rfc3339(), lane)].clone();
    for (utc, body) in [
        ("2026-10-21T18:00:00Z", json!({"channel": "111"})),
        (
            "2026-10-28T19:00:00Z",
            json!({"channel": "practice", "practice": "B82001"}),
        ),
    ] {
        app.send(
            Method::PUT,
            &format!("/api/v1/slots/{}/channel", slot(utc, 0)),
            Some(m),
            Some(body),
            &[("If-Match", "*")],
        )
        .await
        .ok(200);
    }

    let mut ids: HashMap<&'static str, String> = HashMap::new();
    let rec_a = c.receptionist.clone();
    let tokens = [("A", rec_a.as_str()), ("B", rec_b.as_str())];
    let token = |who: &str| tokens.iter().find(|(n, _)| *n == who).unwrap().1.to_owned();
    let bookings: [Planned; 15] = [
        (
            "a1",
            "A",
            "2026-10-01T08:00:00Z",
            "2026-10-21T17:30:00Z",
            0,
            1,
            None,
        ),
        (
            "a2",
            "B",
            "2026-10-01T08:00:00Z",
            "2026-10-21T17:40:00Z",
            0,
            2,
            None,
        ),
        (
            "a3",
            "A",
            "2026-10-01T08:00:00Z",
            "2026-10-21T17:50:00Z",
            0,
            3,
            None,
        ),
        (
            "a7",
            "B",
            "2026-10-01T08:00:00Z",
            "2026-10-28T18:50:00Z",
            0,
            7,
            None,
        ),
        (
            "a10",
            "A",
            "2026-10-01T08:00:00Z",
            "2026-10-25T09:00:00Z",
            0,
            10,
            Some(("RR8", "BLOODS-0001")),
        ),
        (
            "a11",
            "B",
            "2026-10-01T08:00:00Z",
            "2026-10-25T09:00:00Z",
            1,
            11,
            Some(("RHQ", "RHQ-\"7\", urgent")),
        ),
        (
            "a15",
            "A",
            "2026-10-01T08:00:00Z",
            "2026-10-31T16:50:00Z",
            0,
            15,
            None,
        ),
        (
            "a16",
            "A",
            "2026-10-01T08:00:00Z",
            "2026-10-29T18:30:00Z",
            0,
            16,
            None,
        ),
        (
            "a9",
            "A",
            "2026-10-21T10:00:00Z",
            "2026-10-28T19:00:00Z",
            0,
            9,
            None,
        ),
        (
            "a12",
            "A",
            "2026-10-24T23:30:00Z",
            "2026-10-25T09:15:00Z",
            0,
            12,
            Some(("RR8", "BLOODS-0002")),
        ),
        (
            "a6",
            "B",
            "2026-10-26T09:00:00Z",
            "2026-10-28T18:40:00Z",
            0,
            6,
            None,
        ),
        (
            "a5",
            "A",
            "2026-10-27T10:00:00Z",
            "2026-10-28T18:30:00Z",
            0,
            5,
            None,
        ),
        (
            "a8",
            "A",
            "2026-10-28T17:05:00Z",
            "2026-10-28T18:50:00Z",
            0,
            8,
            None,
        ),
        (
            "a13",
            "A",
            "2026-10-29T09:00:00Z",
            "2026-10-31T16:30:00Z",
            0,
            13,
            None,
        ),
        (
            "a14",
            "B",
            "2026-10-31T07:00:00Z",
            "2026-10-31T16:40:00Z",
            0,
            14,
            None,
        ),
    ];
    // Everything that happens, in time order: bookings, cancellations, a withdrawal, the 111
    // booking and outcomes.
    enum Step {
        Book(usize),
        Cancel(&'static str, &'static str),
        Withdraw,
        Triage,
        Outcome(&'static str, &'static str),
    }
    let mut steps: Vec<(&str, Step)> = bookings
        .iter()
        .enumerate()
        .map(|(i, b)| (b.2, Step::Book(i)))
        .collect();
    steps.extend([
        ("2026-10-01T09:00:00Z", Step::Cancel("a3", "A")),
        ("2026-10-20T10:00:00Z", Step::Withdraw),
        ("2026-10-21T12:00:00Z", Step::Triage),
        ("2026-10-21T19:00:00Z", Step::Outcome("a1", "seen")),
        (
            "2026-10-21T19:00:00Z",
            Step::Outcome("a2", "did_not_attend"),
        ),
        ("2026-10-21T19:00:00Z", Step::Outcome("a4", "arrived")),
        ("2026-10-25T10:30:00Z", Step::Outcome("a10", "seen")),
        ("2026-10-25T10:30:00Z", Step::Outcome("a11", "arrived")),
        (
            "2026-10-25T10:30:00Z",
            Step::Outcome("a12", "did_not_attend"),
        ),
        ("2026-10-28T16:30:00Z", Step::Cancel("a6", "B")),
        ("2026-10-28T17:00:00Z", Step::Cancel("a7", "B")),
        ("2026-10-28T20:00:00Z", Step::Outcome("a5", "seen")),
        (
            "2026-10-28T20:00:00Z",
            Step::Outcome("a8", "did_not_attend"),
        ),
        ("2026-10-30T16:30:00Z", Step::Cancel("a15", "A")),
        ("2026-10-31T16:45:00Z", Step::Outcome("a13", "seen")),
    ]);
    steps.sort_by_key(|(when, _)| at(when));
    for (when, step) in steps {
        app.clock.set(at(when));
        match step {
            Step::Book(i) => {
                let (name, by, _, start, lane, n, requester) = bookings[i];
                let mut body = json!({"slot_id": slot(start, lane), "patient": patient(n)});
                if let Some((ods, reference)) = requester {
                    body["requester"] = json!({"ods": ods, "reference": reference});
                }
                let booked = app
                    .send(
                        Method::POST,
                        "/api/v1/appointments",
                        Some(&token(by)),
                        Some(body),
                        &[("Idempotency-Key", name)],
                    )
                    .await;
                let id = booked.ok(201)["id"].as_str().unwrap().to_owned();
                ids.insert(name, id);
            }
            Step::Cancel(name, by) => {
                app.post(
                    &format!("/api/v1/appointments/{}/cancel", ids[name]),
                    &token(by),
                    json!({"reason": "Patient asked"}),
                )
                .await
                .ok(200);
            }
            Step::Withdraw => {
                let withdrawn = app
                    .post(
                        &format!("{base}/rotas/{rota}/withdraw"),
                        m,
                        json!({"from": "2026-10-29", "to": "2026-10-29", "reason": "Clinician unwell, no cover"}),
                    )
                    .await;
                assert_eq!(withdrawn.ok(200)["slots_removed"], 2);
            }
            Step::Triage => {
                let booked = app
                    .send(
                        Method::POST,
                        "/api/v1/triage/bookings",
                        Some(&c.triage),
                        Some(json!({"disposition": "Dx08", "triaged_at": when, "patient": patient(4),
                            "registered_practice": "B82001", "location": {"latitude": 53.801, "longitude": -1.549}})),
                        &[("Idempotency-Key", "a4")],
                    )
                    .await;
                let booked = booked.ok(201).clone();
                assert_eq!(
                    booked["slot"]["slot_id"],
                    slot("2026-10-21T18:00:00Z", 0).as_str()
                );
                assert_eq!(booked["appointment"]["channel"], "111");
                ids.insert(
                    "a4",
                    booked["appointment"]["id"].as_str().unwrap().to_owned(),
                );
            }
            Step::Outcome(name, outcome) => {
                app.post(
                    &format!("/api/v1/appointments/{}/outcome", ids[name]),
                    &c.hub_staff,
                    json!({"outcome": outcome}),
                )
                .await
                .ok(200);
            }
        }
    }
    assert_eq!(app.clock.now(), at("2026-10-31T16:45:00Z"));
    World { c, ids }
}

/// An RFC 4180 document: every record ends with CRLF; quoted fields may hold commas, CR, LF
/// and doubled quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        if quoted {
            match ch {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                _ => field.push(ch),
            }
            continue;
        }
        match ch {
            '"' => {
                assert!(field.is_empty(), "a quote inside an unquoted field");
                quoted = true;
            }
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            '\n' => panic!("a bare LF ends a record"),
            _ => field.push(ch),
        }
    }
    assert!(
        field.is_empty() && row.is_empty() && !quoted,
        "the last record ends with CRLF"
    );
    let width = rows[0].len();
    assert!(rows.iter().all(|r| r.len() == width), "ragged rows");
    rows
}

/// A CSV answer: its headers and records (the first being the header row).
async fn get_csv(
    app: &TestApp,
    path: &str,
    token: &str,
) -> (reqwest::header::HeaderMap, Vec<Vec<String>>, String) {
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "status of {path}");
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    let text = response.text().await.unwrap();
    (headers, parse_csv(&text), text)
}

/// The named fields of each JSON row, as arrays, to compare with literal expectations.
fn project(rows: &Value, fields: &[&str]) -> Vec<Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| Value::Array(fields.iter().map(|f| r[*f].clone()).collect()))
        .collect()
}

/// Checks that a CSV document holds exactly the JSON rows: its header names their fields and
/// each cell renders the field's value (numbers equal, null empty).
#[track_caller]
fn same_rows(csv: &[Vec<String>], json_rows: &Value) {
    let header = &csv[0];
    let rows = json_rows.as_array().unwrap();
    assert_eq!(csv.len() - 1, rows.len(), "rows of {header:?}");
    for (record, row) in csv[1..].iter().zip(rows) {
        assert_eq!(
            row.as_object().unwrap().len(),
            header.len(),
            "every field is a column: {row}"
        );
        for (name, cell) in header.iter().zip(record) {
            let value = &row[name.as_str()];
            let ok = match value {
                Value::Null => cell.is_empty(),
                Value::String(s) => cell == s,
                Value::Bool(b) => cell == &b.to_string(),
                Value::Number(n) if n.is_i64() => cell == &n.to_string(),
                Value::Number(n) => cell
                    .parse::<f64>()
                    .is_ok_and(|c| (c - n.as_f64().unwrap()).abs() < 1e-9),
                _ => false,
            };
            assert!(ok, "column {name}: CSV {cell:?}, JSON {value}");
        }
    }
}

/// Reads a report as JSON and as CSV; checks the two agree and the CSV's file name.
async fn report(
    app: &TestApp,
    w: &World,
    name: &str,
    query: &str,
) -> (Value, Vec<Vec<String>>, String) {
    let code = &w.c.code;
    let path =
        format!("/api/v1/clusters/{code}/reports/{name}?from=2026-10-19&to=2026-11-01{query}");
    let json = app.get(&path, &w.c.manager).await.ok(200).clone();
    assert_eq!(json["report"], name);
    assert_eq!(json["cluster"], code.as_str());
    assert_eq!(
        (json["from"].as_str(), json["to"].as_str()),
        (Some("2026-10-19"), Some("2026-11-01"))
    );
    assert_eq!(json["as_of"], "2026-10-31T16:45:00Z");
    let (headers, csv, text) = get_csv(app, &path, &w.c.manager).await;
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"{code}-{name}-2026-10-19-2026-11-01.csv\"").as_str()
    );
    same_rows(&csv, &json["rows"]);
    (json, csv, text)
}

const UTILISATION: [&str; 9] = [
    "key",
    "offered",
    "booked",
    "attended",
    "dna",
    "cancelled_late",
    "unused",
    "still_free",
    "utilisation",
];

async fn utilisation_and_capacity_by_construction(app: TestApp) {
    let w = build(&app, "U71001").await;
    let (week, csv, _) = report(&app, &w, "utilisation", "").await;
    assert_eq!(week["group_by"], "week");
    assert_eq!(week["late_cancel_hours"], 24);
    assert_eq!(
        project(&week["rows"], &UTILISATION),
        vec![
            json!(["2026-10-19", 14, 6, 4, 2, 0, 8, 0, 0.4286]),
            json!(["2026-10-26", 12, 5, 2, 1, 2, 3, 4, 0.4167]),
        ]
    );
    assert_eq!(
        project(&week["rows"], &["label"]),
        vec![json!(["2026-W43"]), json!(["2026-W44"])]
    );
    assert_eq!(
        week["totals"],
        json!({"offered": 26, "booked": 11, "attended": 6, "dna": 3, "cancelled_late": 2,
               "unused": 11, "still_free": 4, "utilisation": 0.4231})
    );
    assert_eq!(
        csv[0],
        [
            "key",
            "label",
            "offered",
            "booked",
            "attended",
            "dna",
            "cancelled_late",
            "unused",
            "still_free",
            "utilisation"
        ]
    );
    assert_eq!(
        csv[1],
        [
            "2026-10-19",
            "2026-W43",
            "14",
            "6",
            "4",
            "2",
            "0",
            "8",
            "0",
            "0.4286"
        ]
    );

    // Local hours: S1 runs 17:30-18:30 UTC in summer time and S2 18:30-19:30 UTC in winter;
    // both are 18:30-19:30 on the clock.
    let (hour, csv, _) = report(&app, &w, "utilisation", "&group_by=hour").await;
    assert_eq!(
        project(
            &hour["rows"],
            &[
                "key",
                "label",
                "offered",
                "booked",
                "attended",
                "dna",
                "cancelled_late",
                "unused",
                "still_free"
            ]
        ),
        vec![
            json!(["09", "09:00-10:00", 8, 3, 2, 1, 0, 5, 0]),
            json!(["16", "16:00-17:00", 3, 2, 1, 0, 0, 0, 1]),
            json!(["17", "17:00-18:00", 3, 0, 0, 0, 0, 0, 3]),
            json!(["18", "18:00-19:00", 6, 4, 2, 2, 2, 2, 0]),
            json!(["19", "19:00-20:00", 6, 2, 1, 0, 0, 4, 0]),
        ]
    );
    assert_eq!(csv[4][1], "18:00-19:00");

    let (day, _, _) = report(&app, &w, "utilisation", "&group_by=day").await;
    assert_eq!(
        project(
            &day["rows"],
            &["key", "label", "offered", "booked", "unused", "still_free"]
        ),
        vec![
            json!(["2026-10-21", "Wednesday", 6, 3, 3, 0]),
            json!(["2026-10-25", "Sunday", 8, 3, 5, 0]),
            json!(["2026-10-28", "Wednesday", 6, 3, 3, 0]),
            json!(["2026-10-31", "Saturday", 6, 2, 0, 4]),
        ]
    );

    let (site, _, text) = report(&app, &w, "utilisation", "&group_by=site").await;
    assert_eq!(
        project(
            &site["rows"],
            &[
                "label",
                "offered",
                "booked",
                "attended",
                "dna",
                "cancelled_late",
                "unused",
                "still_free"
            ]
        ),
        vec![
            json!(["Hub North", 12, 6, 3, 2, 2, 6, 0]),
            json!(["Hub South, Annexe", 14, 5, 3, 1, 0, 5, 4]),
        ]
    );
    assert_eq!(site["rows"][0]["key"], w.c.site_id.as_str());
    assert!(text.contains(",\"Hub South, Annexe\",14,5,3,1,0,5,4,0.3571\r\n"));

    let (service, _, _) = report(&app, &w, "utilisation", "&group_by=service").await;
    assert_eq!(
        project(&service["rows"], &UTILISATION),
        vec![
            json!(["gp", 18, 8, 4, 2, 2, 6, 4, 0.4444]),
            json!(["bloods", 8, 3, 2, 1, 0, 5, 0, 0.375]),
        ]
    );
    let (role, _, _) = report(&app, &w, "utilisation", "&group_by=role").await;
    assert_eq!(
        project(&role["rows"], &["key", "offered", "booked"]),
        vec![json!(["gp", 18, 8]), json!(["phlebotomist", 8, 3])]
    );
    let (channel, _, _) = report(&app, &w, "utilisation", "&group_by=channel").await;
    assert_eq!(
        project(&channel["rows"], &UTILISATION),
        vec![
            json!(["111", 1, 1, 1, 0, 0, 0, 0, 1.0]),
            json!(["open", 24, 9, 5, 3, 2, 11, 4, 0.375]),
            json!(["practice", 1, 1, 0, 0, 0, 0, 0, 1.0]),
        ]
    );
    assert_eq!(channel["rows"][0]["label"], "Reserved for NHS 111");

    // The late-cancellation window: none late at 0 hours; a15 (24h20 before) joins at 48.
    let (none, _, _) = report(&app, &w, "utilisation", "&late_cancel_hours=0").await;
    assert_eq!(none["late_cancel_hours"], 0);
    assert_eq!(none["totals"]["cancelled_late"], 0);
    let (wide, _, _) = report(&app, &w, "utilisation", "&late_cancel_hours=48").await;
    assert_eq!(wide["totals"]["cancelled_late"], 3);

    // Capacity: S5's three slots (one kept for a16) are lost to the withdrawal; S2 18:40 to a
    // late cancellation; three DNAs (two of 10 minutes, one of 15).
    let capacity_fields = [
        "key",
        "offered_slots",
        "offered_hours",
        "unused_slots",
        "unused_hours",
        "lost_withdrawn_slots",
        "lost_withdrawn_hours",
        "lost_late_cancel_slots",
        "lost_late_cancel_hours",
        "lost_dna_slots",
        "lost_dna_hours",
        "lost_slots",
        "lost_hours",
    ];
    let (capacity, csv, _) = report(&app, &w, "capacity", "").await;
    assert_eq!(
        project(&capacity["rows"], &capacity_fields),
        vec![
            json!([
                "2026-10-19",
                14,
                3.0,
                8,
                1.75,
                0,
                0.0,
                0,
                0.0,
                2,
                0.42,
                2,
                0.42
            ]),
            json!([
                "2026-10-26",
                12,
                2.0,
                2,
                0.33,
                3,
                0.5,
                1,
                0.17,
                1,
                0.17,
                5,
                0.83
            ]),
        ]
    );
    assert_eq!(
        capacity["totals"],
        json!({"offered_slots": 26, "offered_hours": 5.0, "unused_slots": 10, "unused_hours": 2.08,
               "lost_withdrawn_slots": 3, "lost_withdrawn_hours": 0.5, "lost_late_cancel_slots": 1,
               "lost_late_cancel_hours": 0.17, "lost_dna_slots": 3, "lost_dna_hours": 0.58,
               "lost_slots": 7, "lost_hours": 1.25})
    );
    assert_eq!(
        csv[2],
        [
            "2026-10-26",
            "2026-W44",
            "12",
            "2.00",
            "2",
            "0.33",
            "3",
            "0.50",
            "1",
            "0.17",
            "1",
            "0.17",
            "5",
            "0.83"
        ]
    );
    let (by_site, _, _) = report(&app, &w, "capacity", "&group_by=site").await;
    assert_eq!(
        project(&by_site["rows"], &capacity_fields[1..]),
        vec![
            json!([12, 2.0, 5, 0.83, 3, 0.5, 1, 0.17, 2, 0.33, 6, 1.0]),
            json!([14, 3.0, 5, 1.25, 0, 0.0, 0, 0.0, 1, 0.25, 1, 0.25]),
        ]
    );
}

async fn dna_bookings_activity_and_access_by_construction(app: TestApp) {
    let w = build(&app, "U71002").await;
    let dna_fields = [
        "key",
        "label",
        "appointments",
        "attended",
        "dna",
        "no_outcome",
        "dna_rate",
    ];
    let (practice, csv, text) = report(&app, &w, "dna", "").await;
    assert_eq!(practice["group_by"], "practice");
    assert_eq!(practice["late_cancel_hours"], Value::Null);
    assert_eq!(
        project(&practice["rows"], &dna_fields),
        vec![
            json!(["B82002", "Smith, Jones & Partners", 3, 1, 1, 1, 0.5]),
            json!(["B82001", "Test Surgery", 9, 5, 2, 2, 0.2857]),
        ]
    );
    assert_eq!(
        practice["totals"],
        json!({"appointments": 12, "attended": 6, "dna": 3, "no_outcome": 3, "dna_rate": 0.3333})
    );
    assert_eq!(csv[1][1], "Smith, Jones & Partners");
    assert!(text.contains("\r\nB82002,\"Smith, Jones & Partners\",3,1,1,1,0.5000\r\n"));

    // a12 was booked at 23:30 UTC on 24 October, 00:30 on the 25th in London: the same day.
    let (lead, _, _) = report(&app, &w, "dna", "&group_by=lead_time").await;
    assert_eq!(
        project(&lead["rows"], &dna_fields),
        vec![
            json!(["0", "same day", 4, 1, 2, 1, 0.6667]),
            json!(["1", "1-2 days", 2, 2, 0, 0, 0.0]),
            json!(["2", "3-7 days", 1, 0, 0, 1, null]),
            json!(["4", "15+ days", 5, 3, 1, 1, 0.25]),
        ]
    );
    let (weekday, _, _) = report(&app, &w, "dna", "&group_by=weekday").await;
    assert_eq!(
        project(&weekday["rows"], &dna_fields),
        vec![
            json!(["3", "Wednesday", 6, 3, 2, 1, 0.4]),
            json!(["4", "Thursday", 1, 0, 0, 1, null]),
            json!(["6", "Saturday", 2, 1, 0, 1, 0.0]),
            json!(["7", "Sunday", 3, 2, 1, 0, 0.3333]),
        ]
    );
    let (hour, _, _) = report(&app, &w, "dna", "&group_by=hour").await;
    assert_eq!(
        project(
            &hour["rows"],
            &["key", "appointments", "attended", "dna", "no_outcome"]
        ),
        vec![
            json!(["09", 3, 2, 1, 0]),
            json!(["16", 2, 1, 0, 1]),
            json!(["18", 5, 2, 2, 1]),
            json!(["19", 2, 1, 0, 1]),
        ]
    );
    let (service, _, _) = report(&app, &w, "dna", "&group_by=service").await;
    assert_eq!(
        project(&service["rows"], &["key", "appointments", "dna"]),
        vec![json!(["gp", 9, 2]), json!(["bloods", 3, 1])]
    );

    // Bookings by booking practice and channel, against list-size fair shares of 3:1.
    let booking_fields = [
        "key",
        "label",
        "list_size",
        "booked",
        "via_practice",
        "via_111",
        "via_open",
        "share",
        "fair_share",
    ];
    let (bookings, csv, _) = report(&app, &w, "bookings", "").await;
    assert_eq!(
        project(&bookings["rows"], &booking_fields),
        vec![
            json!(["B82001", "Test Surgery", 9000, 8, 1, 0, 7, 0.7273, 0.75]),
            json!([
                "B82002",
                "Smith, Jones & Partners",
                3000,
                3,
                0,
                0,
                3,
                0.2727,
                0.25
            ]),
            json!(["", "No practice", null, 1, 0, 1, 0, null, null]),
        ]
    );
    assert_eq!(
        bookings["totals"],
        json!({"booked": 12, "via_practice": 1, "via_111": 1, "via_open": 10})
    );
    assert_eq!(csv[0], booking_fields);
    assert_eq!(csv[3], ["", "No practice", "", "1", "0", "1", "0", "", ""]);
    let (channels, _, _) = report(&app, &w, "bookings", "&group_by=channel").await;
    assert_eq!(
        project(&channels["rows"], &["key", "booked", "share"]),
        vec![
            json!(["111", 1, 0.0833]),
            json!(["open", 10, 0.8333]),
            json!(["practice", 1, 0.0833])
        ]
    );

    // Activity for fee claims: the patient's practice by service, then by requester, then
    // line by line with the requesters' references.
    let activity_fields = [
        "ods_code",
        "practice",
        "service_code",
        "requester_ods",
        "booked",
        "attended",
        "dna",
    ];
    let (activity, _, _) = report(&app, &w, "activity", "").await;
    assert_eq!(
        project(&activity["rows"], &activity_fields),
        vec![
            json!(["B82001", "Test Surgery", "bloods", null, 2, 1, 1]),
            json!(["B82001", "Test Surgery", "gp", null, 7, 4, 1]),
            json!(["B82002", "Smith, Jones & Partners", "bloods", null, 1, 1, 0]),
            json!(["B82002", "Smith, Jones & Partners", "gp", null, 2, 0, 1]),
        ]
    );
    assert_eq!(
        activity["totals"],
        json!({"booked": 12, "attended": 6, "dna": 3})
    );
    let (by_requester, _, _) = report(&app, &w, "activity", "&group_by=requester").await;
    assert_eq!(
        project(&by_requester["rows"], &activity_fields),
        vec![
            json!(["B82001", "Test Surgery", "bloods", "RR8", 2, 1, 1]),
            json!(["B82001", "Test Surgery", "gp", null, 7, 4, 1]),
            json!([
                "B82002",
                "Smith, Jones & Partners",
                "bloods",
                "RHQ",
                1,
                1,
                0
            ]),
            json!(["B82002", "Smith, Jones & Partners", "gp", null, 2, 0, 1]),
        ]
    );
    let (detail, csv, text) = report(&app, &w, "activity", "&detail=true").await;
    assert_eq!(detail["group_by"], "appointment");
    assert_eq!(detail["rows"].as_array().unwrap().len(), 12);
    let line = |name: &str| {
        detail["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["appointment_id"] == w.ids[name].as_str())
            .unwrap()
            .clone()
    };
    assert_eq!(
        project(
            &json!([line("a11"), line("a12"), line("a4")]),
            &[
                "date",
                "starts_at",
                "ods_code",
                "service_code",
                "status",
                "requester_ods",
                "requester_reference"
            ]
        ),
        vec![
            json!([
                "2026-10-25",
                "2026-10-25T09:00:00Z",
                "B82002",
                "bloods",
                "arrived",
                "RHQ",
                "RHQ-\"7\", urgent"
            ]),
            json!([
                "2026-10-25",
                "2026-10-25T09:15:00Z",
                "B82001",
                "bloods",
                "did_not_attend",
                "RR8",
                "BLOODS-0002"
            ]),
            json!([
                "2026-10-21",
                "2026-10-21T18:00:00Z",
                "B82001",
                "gp",
                "arrived",
                null,
                null
            ]),
        ]
    );
    assert_eq!(csv[1][0], w.ids["a1"]);
    assert!(text.contains(&format!(
        "{},2026-10-25,2026-10-25T09:00:00Z,B82002,\"Smith, Jones & Partners\",bloods,Phlebotomy,arrived,RHQ,\"RHQ-\"\"7\"\", urgent\"\r\n",
        w.ids["a11"]
    )));
    let (headers, _, _) = get_csv(
        &app,
        &format!(
            "/api/v1/clusters/{}/reports/activity?from=2026-10-19&to=2026-11-01&detail=true",
            w.c.code
        ),
        &w.c.manager,
    )
    .await;
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"U71002-activity-2026-10-19-2026-11-01.csv\""
    );

    // Enhanced access: 12,000 patients; S1 (summer time) and S2 lie inside the weekday
    // standard hours, half of S4 inside Saturday's, and Sunday's S3 outside.
    let (access, csv, _) = report(&app, &w, "enhanced-access", "").await;
    assert_eq!(
        project(
            &access["rows"],
            &[
                "key",
                "label",
                "days",
                "list_size",
                "offered_minutes",
                "standard_hours_minutes",
                "minutes_per_1000",
                "standard_hours_share",
                "required_minutes",
                "meets_requirement"
            ]
        ),
        vec![
            json!([
                "2026-10-19",
                "2026-W43",
                7,
                12000,
                180,
                60,
                15.0,
                0.3333,
                720.0,
                false
            ]),
            json!([
                "2026-10-26",
                "2026-W44",
                7,
                12000,
                120,
                90,
                10.0,
                0.75,
                720.0,
                false
            ]),
        ]
    );
    assert_eq!(
        access["totals"],
        json!({"days": 14, "list_size": 12000, "offered_minutes": 300, "standard_hours_minutes": 150,
               "minutes_per_1000": 12.5, "standard_hours_share": 0.5, "required_minutes": 1440.0,
               "meets_requirement": false})
    );
    assert_eq!(
        csv[1],
        [
            "2026-10-19",
            "2026-W43",
            "7",
            "12000",
            "180",
            "60",
            "15.00",
            "0.3333",
            "720.00",
            "false"
        ]
    );

    // The fair-share report keeps its JSON and answers CSV too.
    let path = format!(
        "/api/v1/clusters/{}/reports/fair-share?from=2026-10-19&to=2026-11-01",
        w.c.code
    );
    let fair = app.get(&path, &w.c.manager).await.ok(200).clone();
    assert_eq!(fair["apportioned"], 1);
    let (headers, csv, _) = get_csv(&app, &path, &w.c.manager).await;
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"U71002-fair-share-2026-10-19-2026-11-01.csv\""
    );
    assert_eq!(
        csv[0],
        [
            "practice_id",
            "ods_code",
            "list_size",
            "exact_quota",
            "reserved",
            "booked_from_reservation",
            "booked_from_open",
            "released_unused"
        ]
    );
    let mut rows: Vec<Vec<String>> = csv[1..].iter().map(|r| r[1..].to_vec()).collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![
            vec!["B82001", "9000", "0.75", "1", "1", "7", "0"],
            vec!["B82002", "3000", "0.25", "0", "0", "3", "0"],
        ]
    );
    assert_eq!(fair["practices"].as_array().unwrap().len(), 2);

    // The rebooking worklist as CSV: a16, whose session was withdrawn.
    let path = format!("/api/v1/clusters/{}/rebooking", w.c.code);
    let (headers, csv, _) = get_csv(&app, &path, &w.c.manager).await;
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"U71002-rebooking-2026-10-31.csv\""
    );
    let json = app.get(&path, &w.c.manager).await.ok(200).clone();
    same_rows(&csv, &json["items"]);
    assert_eq!(csv.len(), 2);
    assert_eq!(csv[1][0], w.ids["a16"]);
    assert_eq!(csv[1][2], "Clinician unwell, no cover");
    assert_eq!(csv[1][4], "2026-10-29T18:30:00Z");
}

async fn bad_report_requests_are_refused(app: TestApp) {
    let c = app.cluster("U71003").await;
    let other = app.cluster("U71004").await;
    let path = |name: &str, query: &str| format!("/api/v1/clusters/U71003/reports/{name}?{query}");
    let period = "from=2026-10-01&to=2026-10-31";
    app.get(&path("footfall", period), &c.manager)
        .await
        .problem(404, "unknown-report");
    let bad = app
        .get(
            &path("capacity", &format!("{period}&group_by=hour")),
            &c.manager,
        )
        .await;
    let detail = bad.problem(422, "invalid-group-by")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains("week, day, site, service, role"),
        "{detail}"
    );
    app.get(&path("dna", "from=2026-10-31&to=2026-10-01"), &c.manager)
        .await
        .problem(422, "invalid-date-range");
    app.get(&path("dna", "from=2026-01-01&to=2027-02-05"), &c.manager)
        .await
        .problem(422, "invalid-date-range");
    app.get(&path("dna", "from=2026-01-01&to=2027-02-04"), &c.manager)
        .await
        .ok(200);
    app.get(
        &path("utilisation", &format!("{period}&late_cancel_hours=169")),
        &c.manager,
    )
    .await
    .problem(422, "invalid-late-cancel-hours");
    app.get(&path("utilisation", "from=2026-10-01"), &c.manager)
        .await
        .problem(400, "invalid-query");
    app.get(&path("utilisation", period), &c.receptionist)
        .await
        .problem(403, "forbidden");
    app.get(&path("utilisation", period), &other.manager)
        .await
        .problem(404, "not-found");
    app.get(&path("fair-share", period), &other.manager)
        .await
        .problem(404, "not-found");
    // An empty cluster answers with no rows and zero totals; enhanced access lists its weeks.
    let empty: Reply = app.get(&path("utilisation", period), &c.manager).await;
    assert_eq!(empty.ok(200)["rows"], json!([]));
    assert_eq!(empty.body["totals"]["offered"], 0);
    assert_eq!(empty.body["totals"]["utilisation"], Value::Null);
    let access = app.get(&path("enhanced-access", period), &c.manager).await;
    let weeks = project(&access.ok(200)["rows"], &["key", "days", "offered_minutes"]);
    assert_eq!(weeks.first(), Some(&json!(["2026-09-28", 4, 0])));
    assert_eq!(weeks.last(), Some(&json!(["2026-10-26", 6, 0])));
    assert_eq!(weeks.len(), 5);
    // JSON stays the default; CSV only when preferred.
    let both = app
        .send(
            Method::GET,
            &path("dna", period),
            Some(&c.manager),
            None,
            &[("Accept", "application/json, text/csv")],
        )
        .await;
    assert_eq!(both.ok(200)["report"], "dna");
    let (_, csv, _) = get_csv(&app, &path("dna", period), &c.manager).await;
    assert_eq!(
        csv,
        vec![vec![
            "key",
            "label",
            "appointments",
            "attended",
            "dna",
            "no_outcome",
            "dna_rate"
        ]]
    );
}

both!(
    utilisation_and_capacity_by_construction,
    dna_bookings_activity_and_access_by_construction,
    bad_report_requests_are_refused,
);
