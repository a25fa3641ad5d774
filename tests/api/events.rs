//! The event feed and webhooks: 1,000 mixed operations read back in pages of 37, once each and
//! in commit order from any cursor; release announcements from the periodic task; and a real
//! receiver on loopback that fails its first deliveries and still sees every event, signed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::both;
use crate::helpers::{at, nhs, sample, Cluster, TestApp};

fn patient(n: u32) -> Value {
    json!({"nhs_number": nhs(n), "name": format!("Feed Patient {n}"), "birth_date": "1980-02-02", "phone": "0113 496 0202"})
}

/// A cluster with `sharing` rules and two weeks of GP sessions (09:00-17:00, two lanes,
/// ten-minute slots: 96 slots a weekday) from Monday 7 December 2026; the clock at 1 December.
async fn cluster_with_fortnight(app: &TestApp, code: &str, sharing: Value) -> Cluster {
    let c = app.cluster(code).await;
    app.send(
        Method::PUT,
        &format!("/api/v1/clusters/{code}/sharing"),
        Some(&c.manager),
        Some(sharing),
        &[("If-Match", "*")],
    )
    .await
    .ok(200);
    app.clock.set(at("2026-12-01T08:00:00Z"));
    let template = json!({"key": "gp", "site_id": c.site_id, "service_id": c.service_id, "start": "09:00", "end": "17:00",
        "slot_minutes": 10, "capacity": 2, "delivery": "face_to_face", "weekdays": ["mon", "tue", "wed", "thu", "fri"], "valid_from": "2026-01-01"});
    let rota = app
        .post(
            &format!("/api/v1/clusters/{code}/rotas"),
            &c.manager,
            json!({"name": "Fortnight", "templates": [template]}),
        )
        .await;
    let rota = rota.ok(201)["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/clusters/{code}/rotas/{rota}/publish"),
        &c.manager,
        json!({"from": "2026-12-07", "to": "2026-12-18"}),
    )
    .await
    .ok(200);
    c
}

async fn open_slots(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path =
            "/api/v1/slots?from=2026-12-07T00:00:00Z&to=2026-12-19T00:00:00Z&limit=500".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.get(&path, token).await;
        let page = page.ok(200).clone();
        for o in page["items"].as_array().unwrap() {
            out.push((
                o["slot_id"].as_str().unwrap().to_owned(),
                o["starts_at"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// Books patient `n` into `slot` with the key `<prefix>-<n>`; returns the appointment's id.
async fn book_patient(app: &TestApp, token: &str, slot: &str, n: u32, prefix: &str) -> String {
    let reply = app
        .send(
            Method::POST,
            "/api/v1/appointments",
            Some(token),
            Some(json!({"slot_id": slot, "patient": patient(n)})),
            &[("Idempotency-Key", &format!("{prefix}-{n}"))],
        )
        .await;
    reply.ok(201)["id"].as_str().unwrap().to_owned()
}

/// Cancels an appointment, whatever its version.
async fn cancel_appointment(app: &TestApp, token: &str, id: &str) {
    app.send(
        Method::POST,
        &format!("/api/v1/appointments/{id}/cancel"),
        Some(token),
        Some(json!({"reason": "no longer needed"})),
        &[("If-Match", "*")],
    )
    .await
    .ok(200);
}

type Job = std::pin::Pin<Box<dyn std::future::Future<Output = u16> + Send>>;

/// Runs the jobs 8 at a time; each returns the status it got.
async fn run_all(jobs: Vec<Job>) -> Vec<u16> {
    use futures_util::StreamExt;
    futures_util::stream::iter(jobs)
        .buffer_unordered(8)
        .collect()
        .await
}

async fn read_feed(
    app: &TestApp,
    token: &str,
    code: &str,
    after: &str,
    limit: usize,
) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = after.to_owned();
    loop {
        let page = app
            .get(
                &format!("/api/v1/clusters/{code}/events?after={cursor}&limit={limit}"),
                token,
            )
            .await;
        let page = page.ok(200).clone();
        let got = page["items"].as_array().unwrap().clone();
        assert!(got.len() <= limit);
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        let more = page["has_more"] == true;
        items.extend(got);
        if !more {
            return items;
        }
    }
}

async fn a_thousand_operations_read_back_in_pages_of_37(app: TestApp) {
    let c = cluster_with_fortnight(
        &app,
        "U60001",
        json!({"triage": {"kind": "per_day", "slots": 0}, "apportionment": false}),
    )
    .await;
    let slots = open_slots(&app, &c.receptionist).await;
    assert_eq!(slots.len(), 960);
    let app = Arc::new(app);
    // A consumer reads the feed in pages of 37 from its cursor while the writes go on: if
    // numbers were not handed out in commit order it would step past an event committed late.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let consumer = {
        let (app, token, stop) = (app.clone(), c.manager.clone(), stop.clone());
        tokio::spawn(async move {
            let mut cursor = "0".to_owned();
            let mut seen: Vec<Value> = Vec::new();
            loop {
                let done = stop.load(std::sync::atomic::Ordering::SeqCst);
                let page = app
                    .get(
                        &format!("/api/v1/clusters/U60001/events?after={cursor}&limit=37"),
                        &token,
                    )
                    .await;
                let page = page.ok(200).clone();
                seen.extend(page["items"].as_array().unwrap().iter().cloned());
                cursor = page["next_cursor"].as_str().unwrap().to_owned();
                if done && page["has_more"] == false {
                    return seen;
                }
                if page["has_more"] == false {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        })
    };
    // 600 bookings, 8 at a time.
    let booked: Arc<Mutex<Vec<(String, String, u32)>>> = Arc::default();
    let jobs: Vec<Job> = (0..600u32)
        .map(|n| {
            let (app, token, booked) = (app.clone(), c.receptionist.clone(), booked.clone());
            let slot = slots[n as usize].0.clone();
            Box::pin(async move {
                let reply = app
                    .send(
                        Method::POST,
                        "/api/v1/appointments",
                        Some(&token),
                        Some(json!({"slot_id": slot, "patient": patient(n)})),
                        &[("Idempotency-Key", &format!("feed-{n}"))],
                    )
                    .await;
                if reply.status == 201 {
                    booked.lock().unwrap().push((
                        reply.body["id"].as_str().unwrap().to_owned(),
                        reply.body["starts_at"].as_str().unwrap().to_owned(),
                        n,
                    ));
                }
                reply.status.as_u16()
            }) as Job
        })
        .collect();
    assert!(run_all(jobs).await.iter().all(|s| *s == 201));
    let mut booked = booked.lock().unwrap().clone();
    booked.sort_by_key(|b| b.2);
    // 200 cancellations and 100 reschedules of later appointments, 8 at a time.
    let mut jobs: Vec<Job> = Vec::new();
    for (id, _, _) in booked.iter().skip(300).take(200) {
        let (app, token, id) = (app.clone(), c.receptionist.clone(), id.clone());
        jobs.push(Box::pin(async move {
            app.send(
                Method::POST,
                &format!("/api/v1/appointments/{id}/cancel"),
                Some(&token),
                Some(json!({"reason": "patient cancelled"})),
                &[("If-Match", "*")],
            )
            .await
            .status
            .as_u16()
        }));
    }
    for (k, (id, _, _)) in booked.iter().skip(500).take(100).enumerate() {
        let (app, token, id) = (app.clone(), c.receptionist.clone(), id.clone());
        let to = slots[600 + k].0.clone();
        jobs.push(Box::pin(async move {
            app.send(
                Method::POST,
                &format!("/api/v1/appointments/{id}/reschedule"),
                Some(&token),
                Some(json!({"slot_id": to})),
                &[("If-Match", "*")],
            )
            .await
            .status
            .as_u16()
        }));
    }
    let statuses = run_all(jobs).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // 100 outcomes of the first week's earliest appointments, once they have started.
    app.clock.set(at("2026-12-12T08:00:00Z"));
    let mut first: Vec<&(String, String, u32)> = booked.iter().take(300).collect();
    first.sort_by(|a, b| a.1.cmp(&b.1));
    let jobs: Vec<Job> = first
        .iter()
        .take(100)
        .enumerate()
        .map(|(k, (id, _, _))| {
            let (app, token, id) = (app.clone(), c.hub_staff.clone(), id.clone());
            let outcome = if k % 5 == 0 {
                "did_not_attend"
            } else {
                "arrived"
            };
            Box::pin(async move {
                app.send(
                    Method::POST,
                    &format!("/api/v1/appointments/{id}/outcome"),
                    Some(&token),
                    Some(json!({"outcome": outcome})),
                    &[("If-Match", "*")],
                )
                .await
                .status
                .as_u16()
            }) as Job
        })
        .collect();
    let statuses = run_all(jobs).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    // The feed, in pages of 37: every event once, numbered 1..=1000 in order.
    let feed = read_feed(&app, &c.manager, "U60001", "0", 37).await;
    assert_eq!(feed.len(), 1000);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let live = consumer.await.unwrap();
    let live_ids: Vec<&Value> = live.iter().map(|e| &e["id"]).collect();
    let all_ids: Vec<&Value> = feed.iter().map(|e| &e["id"]).collect();
    assert_eq!(
        live_ids, all_ids,
        "the live consumer missed or repeated an event"
    );
    let cursors: Vec<i64> = feed
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(cursors, (1..=1000).collect::<Vec<i64>>());
    let ids: HashSet<&str> = feed.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1000);
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for e in &feed {
        *kinds.entry(e["type"].as_str().unwrap()).or_default() += 1;
        assert!(e.get("patient").is_none() && !e.to_string().contains("Feed Patient"));
    }
    assert_eq!(kinds["appointment.booked"], 600);
    assert_eq!(kinds["appointment.cancelled"], 200);
    assert_eq!(kinds["appointment.rescheduled"], 100);
    assert_eq!(kinds["appointment.outcome"], 100);
    // Commit order: an appointment's booking comes before whatever happened to it after.
    let mut position: HashMap<String, usize> = HashMap::new();
    for (i, e) in feed.iter().enumerate() {
        let data = &e["data"];
        match e["type"].as_str().unwrap() {
            "appointment.booked" => {
                position.insert(data["appointment_id"].as_str().unwrap().to_owned(), i);
            }
            "appointment.rescheduled" => {
                let from = data["from_appointment_id"].as_str().unwrap();
                assert!(position[from] < i);
                position.insert(data["appointment_id"].as_str().unwrap().to_owned(), i);
            }
            _ => assert!(position[data["appointment_id"].as_str().unwrap()] < i),
        }
    }
    // Resuming from any cursor gives exactly the rest.
    for from in [0usize, 1, 36, 37, 500, 963, 999, 1000] {
        let rest = read_feed(&app, &c.manager, "U60001", &from.to_string(), 37).await;
        assert_eq!(rest.len(), 1000 - from, "resuming after {from}");
        if let Some(first) = rest.first() {
            assert_eq!(first["id"], feed[from]["id"]);
        }
    }
    // Filters, and scope: a triage client booked nothing here and sees nothing.
    let cancelled = app
        .get(
            "/api/v1/clusters/U60001/events?types=appointment.cancelled&limit=500",
            &c.manager,
        )
        .await;
    assert_eq!(cancelled.ok(200)["items"].as_array().unwrap().len(), 200);
    let triage = app.get("/api/v1/clusters/U60001/events", &c.triage).await;
    assert_eq!(triage.ok(200)["items"], json!([]));
    app.get("/api/v1/clusters/U60001/events", &c.receptionist)
        .await
        .problem(403, "forbidden");
    app.get("/api/v1/clusters/U60001/events?after=abc", &c.manager)
        .await
        .problem(400, "invalid-cursor");
    app.get(
        "/api/v1/clusters/U60001/events?types=appointment.deleted",
        &c.manager,
    )
    .await
    .problem(422, "unknown-event-type");
}

async fn releases_are_announced_once_by_the_periodic_task(app: TestApp) {
    // Every slot reserved for the one practice, released 48 hours before its session.
    let c = cluster_with_fortnight(
        &app,
        "U60002",
        json!({"triage": {"kind": "per_day", "slots": 0}, "apportionment": true, "practice_release_hours": 48}),
    )
    .await;
    // Book one of Monday's reserved slots; the rest of Monday's 96 are free.
    let slots = open_slots(&app, &c.receptionist).await;
    let reply = app
        .send(
            Method::POST,
            "/api/v1/appointments",
            Some(&c.receptionist),
            Some(json!({"slot_id": slots[0].0, "patient": patient(1)})),
            &[("Idempotency-Key", "rel-1")],
        )
        .await;
    reply.ok(201);
    // Saturday 5 December 10:00: Monday's sessions (09:00 on the 7th) released at 09:00 on the 5th.
    app.clock.set(at("2026-12-05T10:00:00Z"));
    let mut released = Vec::new();
    for _ in 0..100 {
        released = read_feed(&app, &c.manager, "U60002", "0", 500)
            .await
            .into_iter()
            .filter(|e| e["type"] == "slot.released")
            .collect();
        if released.len() >= 95 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(released.len(), 95, "one event per free released slot");
    assert!(released
        .iter()
        .all(|e| e["data"]["reserved_for"] == "practice"
            && e["data"]["starts_at"]
                .as_str()
                .unwrap()
                .starts_with("2026-12-07")));
    // Later ticks announce nothing twice; Tuesday's come when their time does.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let again = read_feed(&app, &c.manager, "U60002", "0", 500).await;
    assert_eq!(
        again
            .iter()
            .filter(|e| e["type"] == "slot.released")
            .count(),
        95
    );
    // The background work counted what it marked: the 95 announced and the booked one.
    let announced = sample(
        &app.metrics().await,
        "hubbook_slot_releases_announced_total",
    );
    assert!(
        announced.is_some_and(|n| (95.0..=96.0).contains(&n)),
        "{announced:?}"
    );
}

type Received = Arc<Mutex<Vec<(HashMap<String, String>, String)>>>;

/// A receiver on loopback that answers 500 to its first `fail_first` requests, then 204.
async fn receiver(fail_first: usize) -> (String, Received, actix_web::dev::ServerHandle) {
    slow_receiver(fail_first, std::time::Duration::ZERO).await
}

/// A receiver that fails its first `fail_first` deliveries and takes `delay` over each answer.
async fn slow_receiver(
    fail_first: usize,
    delay: std::time::Duration,
) -> (String, Received, actix_web::dev::ServerHandle) {
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    let received: Received = Arc::default();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let store = received.clone();
    let server = HttpServer::new(move || {
        let store = store.clone();
        let calls = calls.clone();
        App::new().route(
            "/hook",
            web::post().to(move |req: HttpRequest, body: String| {
                let store = store.clone();
                let calls = calls.clone();
                async move {
                    tokio::time::sleep(delay).await;
                    let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if n < fail_first {
                        return HttpResponse::InternalServerError().finish();
                    }
                    let headers = req
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    store.lock().unwrap().push((headers, body));
                    HttpResponse::NoContent().finish()
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/hook"), received, handle)
}

fn verify(secret: &str, header: &str, body: &str) -> bool {
    let Some((t, v1)) = header
        .split_once(',')
        .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v.strip_prefix("v1=")?)))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1
}

async fn a_webhook_receiver_that_fails_first_sees_every_event_signed(app: TestApp) {
    let c = cluster_with_fortnight(
        &app,
        "U60003",
        json!({"triage": {"kind": "per_day", "slots": 0}, "apportionment": false}),
    )
    .await;
    let (url, received, handle) = receiver(3).await;
    app.post(
        "/api/v1/clusters/U60003/webhooks",
        &c.manager,
        json!({"url": "http://reminders.example.org/hook"}),
    )
    .await
    .problem(422, "invalid-webhook-url");
    app.post(
        "/api/v1/clusters/U60003/webhooks",
        &c.receptionist,
        json!({"url": url}),
    )
    .await
    .problem(403, "forbidden");
    let created = app
        .post(
            "/api/v1/clusters/U60003/webhooks",
            &c.manager,
            json!({"url": url, "event_types": ["appointment.booked", "appointment.cancelled"]}),
        )
        .await;
    let created = created.ok(201).clone();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let hook = created["id"].as_str().unwrap().to_owned();
    let slots = open_slots(&app, &c.receptionist).await;
    let mut ids = Vec::new();
    for n in 0..5u32 {
        ids.push(book_patient(&app, &c.receptionist, &slots[n as usize].0, n, "hook").await);
    }
    cancel_appointment(&app, &c.receptionist, &ids[0]).await;
    let feed = read_feed(&app, &c.manager, "U60003", "0", 100).await;
    assert_eq!(feed.len(), 6);
    let wanted: Vec<String> = feed
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    // Wait for every event to arrive (the first three attempts fail and back off).
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..150 {
        seen = received
            .lock()
            .unwrap()
            .iter()
            .map(|(h, _)| h["hubbook-event-id"].clone())
            .collect();
        if wanted.iter().all(|w| seen.contains(w)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut first_seen: Vec<String> = Vec::new();
    for id in &seen {
        if !first_seen.contains(id) {
            first_seen.push(id.clone());
        }
    }
    assert_eq!(first_seen, wanted, "every event, first seen in feed order");
    for (headers, body) in received.lock().unwrap().iter() {
        assert!(
            verify(&secret, &headers["hubbook-signature"], body),
            "a delivery's signature does not verify"
        );
        assert!(!verify("wrong-secret", &headers["hubbook-signature"], body));
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(event["cluster"], "U60003");
        assert_eq!(
            headers["hubbook-event-type"],
            event["type"].as_str().unwrap()
        );
    }
    // The log shows the failures, then the successes; the webhook has caught up. A delivery is
    // logged once its receiver has answered, so the last may be logged a moment after it
    // arrived: wait for it, for at most five seconds.
    let mut log = Vec::new();
    for _ in 0..50 {
        let read = app
            .get(
                &format!("/api/v1/clusters/U60003/webhooks/{hook}/deliveries?limit=100"),
                &c.manager,
            )
            .await;
        log = read.ok(200)["items"].as_array().unwrap().clone();
        if log.iter().filter(|d| d["succeeded"] == true).count() >= 6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        log.iter()
            .filter(|d| d["succeeded"] == false && d["status_code"] == 500)
            .count(),
        3
    );
    assert!(log.iter().filter(|d| d["succeeded"] == true).count() >= 6);
    let state = app
        .get(
            &format!("/api/v1/clusters/U60003/webhooks/{hook}"),
            &c.manager,
        )
        .await;
    let state = state.ok(200);
    assert_eq!(state["failures"], 0);
    assert_eq!(state["delivered_cursor"], feed[5]["cursor"]);
    let metrics = app.metrics().await;
    let outcome = |o: &str| {
        sample(
            &metrics,
            &format!("hubbook_webhook_deliveries_total{{outcome=\"{o}\"}}"),
        )
    };
    assert_eq!(outcome("refused"), Some(3.0), "{metrics}");
    assert!(outcome("delivered").is_some_and(|n| n >= 6.0), "{metrics}");
    assert_eq!(outcome("unreachable"), Some(0.0));
    assert_eq!(
        sample(
            &metrics,
            "hubbook_webhook_oldest_undelivered_event_age_seconds"
        ),
        Some(0.0),
        "caught up"
    );
    handle.stop(false).await;
}

/// A webhook whose receiver cannot be reached counts its deliveries as unreachable, and the age
/// of the event it still has to be sent grows with the clock.
async fn an_unreachable_webhook_is_measured_and_its_backlog_ages(app: TestApp) {
    let c = cluster_with_fortnight(
        &app,
        "U60009",
        json!({"triage": {"kind": "per_day", "slots": 0}, "apportionment": false}),
    )
    .await;
    // Nothing listens on port 9 of loopback (discard is not served).
    app.post(
        "/api/v1/clusters/U60009/webhooks",
        &c.manager,
        json!({"url": "http://127.0.0.1:9/hook"}),
    )
    .await
    .ok(201);
    let age = "hubbook_webhook_oldest_undelivered_event_age_seconds";
    assert_eq!(
        sample(&app.metrics().await, age),
        Some(0.0),
        "nothing to send yet"
    );
    let slots = open_slots(&app, &c.receptionist).await;
    book_patient(&app, &c.receptionist, &slots[0].0, 1, "lost").await;
    app.clock.advance(chrono::Duration::seconds(120));
    let unreachable = r#"hubbook_webhook_deliveries_total{outcome="unreachable"}"#;
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = app.metrics().await;
        if sample(&metrics, unreachable).is_some_and(|n| n >= 1.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        sample(&metrics, unreachable).is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"hubbook_webhook_deliveries_total{outcome="delivered"}"#
        ),
        Some(0.0)
    );
    assert_eq!(sample(&metrics, age), Some(120.0), "{metrics}");
    app.clock.advance(chrono::Duration::seconds(30));
    assert_eq!(sample(&app.metrics().await, age), Some(150.0));
}

/// Three processes on one database share a webhook whose receiver takes 300 ms to answer, while
/// bookings and cancellations go on: every event arrives exactly once, in feed order.
async fn three_processes_deliver_each_event_once_in_order(app: TestApp) {
    let c = cluster_with_fortnight(
        &app,
        "U60004",
        json!({"triage": {"kind": "per_day", "slots": 0}, "apportionment": false}),
    )
    .await;
    let (url, received, handle) = slow_receiver(0, std::time::Duration::from_millis(300)).await;
    let _second = app.server_process(5_000);
    let _third = app.server_process(5_000);
    let before = read_feed(&app, &c.manager, "U60004", "0", 100).await.len();
    let created = app
        .post(
            "/api/v1/clusters/U60004/webhooks",
            &c.manager,
            json!({"url": url}),
        )
        .await;
    let hook = created.ok(201)["id"].as_str().unwrap().to_owned();
    let slots = open_slots(&app, &c.receptionist).await;
    let mut ids = Vec::new();
    for n in 0..20u32 {
        ids.push(book_patient(&app, &c.receptionist, &slots[n as usize].0, n, "three").await);
        if n % 5 == 4 {
            cancel_appointment(&app, &c.receptionist, &ids[n as usize - 2]).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let feed = read_feed(&app, &c.manager, "U60004", "0", 100).await;
    let wanted: Vec<String> = feed[before..]
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(wanted.len(), 24, "20 bookings and 4 cancellations");
    let arrived = |received: &Received| -> Vec<String> {
        received
            .lock()
            .unwrap()
            .iter()
            .map(|(h, _)| h["hubbook-event-id"].clone())
            .collect()
    };
    for _ in 0..600 {
        if arrived(&received).len() >= wanted.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Time for a late duplicate to show itself.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(
        arrived(&received),
        wanted,
        "every event once, in feed order"
    );
    let log = app
        .get(
            &format!("/api/v1/clusters/U60004/webhooks/{hook}/deliveries?limit=100"),
            &c.manager,
        )
        .await;
    let log = log.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(log.len(), 24, "one logged attempt per event: {log:?}");
    handle.stop(false).await;
}

/// Leases as the store keeps them: a held lease is not taken before it expires, is taken after,
/// and its old holder then renews and moves nothing; a failure's back-off holds for every
/// process. Times are a day ahead of the server's own background work, which therefore never
/// competes.
async fn background_work_is_leased_and_its_back_off_kept_in_the_database(app: TestApp) {
    use hubbook_store::repo::{leases, webhooks};
    // One booking, so that the webhook has an event to deliver once moved to the feed's start.
    let c = cluster_with_fortnight(
        &app,
        "U60005",
        json!({"triage": {"kind": "per_day", "slots": 0}, "apportionment": false}),
    )
    .await;
    let slots = open_slots(&app, &c.receptionist).await;
    book_patient(&app, &c.receptionist, &slots[0].0, 1, "lease").await;
    let created = app
        .post(
            "/api/v1/clusters/U60005/webhooks",
            &c.manager,
            json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let id = created.ok(201)["id"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now().naive_utc() + chrono::Duration::days(1);
    let secs = chrono::Duration::seconds;
    let mut conn = app.pool.get().unwrap();

    let name = leases::ANNOUNCE_RELEASES;
    assert!(leases::claim(&mut conn, name, "a", now, now + secs(30)).unwrap());
    assert!(!leases::claim(&mut conn, name, "b", now + secs(10), now + secs(40)).unwrap());
    assert!(leases::claim(&mut conn, name, "a", now + secs(10), now + secs(40)).unwrap());
    assert!(leases::claim(&mut conn, name, "b", now + secs(41), now + secs(70)).unwrap());
    assert!(!leases::claim(&mut conn, name, "a", now + secs(42), now + secs(72)).unwrap());
    leases::release(&mut conn, name, "a").unwrap();
    assert_eq!(leases::holder(&mut conn, name).unwrap().0, "b");
    leases::release(&mut conn, name, "b").unwrap();
    assert!(leases::claim(&mut conn, name, "a", now + secs(43), now + secs(73)).unwrap());

    // Caught up, a webhook is not claimed; with an event to deliver, it is.
    use diesel::connection::SimpleConnection;
    let set_position = |conn: &mut hubbook_store::DbConn, seq: i64| {
        conn.batch_execute(&format!(
            "UPDATE webhooks SET delivered_seq = {seq} WHERE id = '{id}'"
        ))
        .unwrap();
    };
    // Held by "x" until a second before the test's own time, so that the server's background
    // work, a day behind, never claims it.
    let held = (now - secs(1)).format("%Y-%m-%d %H:%M:%S");
    conn.batch_execute(&format!(
        "UPDATE webhooks SET lease_owner = 'x', lease_expires_at = '{held}' WHERE id = '{id}'"
    ))
    .unwrap();
    set_position(&mut conn, 1_000_000);
    assert!(webhooks::claim_due(&mut conn, "a", now, now + secs(30), 10)
        .unwrap()
        .is_empty());
    set_position(&mut conn, 0);
    let claimed = webhooks::claim_due(&mut conn, "a", now, now + secs(30), 10).unwrap();
    let hook = claimed
        .iter()
        .find(|h| h.id == id)
        .expect("claimed")
        .clone();
    assert!(
        webhooks::claim_due(&mut conn, "b", now + secs(5), now + secs(35), 10)
            .unwrap()
            .iter()
            .all(|h| h.id != id),
        "held by a until its lease expires"
    );
    let taken = webhooks::claim_due(&mut conn, "b", now + secs(31), now + secs(60), 10).unwrap();
    assert!(taken.iter().any(|h| h.id == id), "taken over once expired");
    assert!(webhooks::renew_lease(&mut conn, &hook, "a", now + secs(90))
        .unwrap()
        .is_none());
    let attempt = |succeeded: bool, retry_at| webhooks::Attempt {
        event_seq: hook.delivered_seq + 1,
        event_id: "event".into(),
        at: now,
        status_code: Some(if succeeded { 204 } else { 500 }),
        error: None,
        succeeded,
        duration_ms: 1,
        retry_at,
    };
    // a posted while stopped past its lease: logged, but the webhook is b's to move on.
    webhooks::record_attempt(&mut conn, &hook, "a", &attempt(true, None)).unwrap();
    let current = webhooks::renew_lease(&mut conn, &hook, "b", now + secs(60))
        .unwrap()
        .unwrap();
    assert_eq!(current.delivered_seq, hook.delivered_seq);
    webhooks::record_attempt(
        &mut conn,
        &hook,
        "b",
        &attempt(false, Some(now + secs(120))),
    )
    .unwrap();
    webhooks::release_lease(&mut conn, &hook, "b", now + secs(61)).unwrap();
    assert!(
        webhooks::claim_due(&mut conn, "c", now + secs(119), now + secs(150), 10)
            .unwrap()
            .iter()
            .all(|h| h.id != id),
        "backing off, for every process"
    );
    let due = webhooks::claim_due(&mut conn, "c", now + secs(121), now + secs(150), 10).unwrap();
    let due = due
        .iter()
        .find(|h| h.id == id)
        .expect("due after its back-off");
    assert_eq!(due.failures, 1);
    let deliveries = webhooks::list_deliveries(&mut conn, &hook, None, 10).unwrap();
    assert_eq!(deliveries.items.len(), 2, "both attempts are in the log");
    // A webhook that takes none of the kinds after its position is moved past them, and is then
    // not claimed for them again.
    conn.batch_execute(&format!(
        "UPDATE webhooks SET event_types = 'rebooking.needed' WHERE id = '{id}'"
    ))
    .unwrap();
    let due = webhooks::claim_due(&mut conn, "d", now + secs(200), now + secs(230), 10).unwrap();
    let due = due.iter().find(|h| h.id == id).expect("still due");
    webhooks::pass_over_untaken(&mut conn, due, "d").unwrap();
    let moved = webhooks::renew_lease(&mut conn, due, "d", now + secs(230))
        .unwrap()
        .unwrap();
    assert!(
        moved.delivered_seq > due.delivered_seq,
        "moved past the feed"
    );
    webhooks::release_lease(&mut conn, due, "d", now + secs(201)).unwrap();
    assert!(
        webhooks::claim_due(&mut conn, "d", now + secs(300), now + secs(330), 10)
            .unwrap()
            .iter()
            .all(|h| h.id != id)
    );
}

both!(
    background_work_is_leased_and_its_back_off_kept_in_the_database,
    three_processes_deliver_each_event_once_in_order,
    a_thousand_operations_read_back_in_pages_of_37,
    releases_are_announced_once_by_the_periodic_task,
    a_webhook_receiver_that_fails_first_sees_every_event_signed,
    an_unreachable_webhook_is_measured_and_its_backlog_ages,
);
