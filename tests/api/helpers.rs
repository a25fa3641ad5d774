//! The test application: a real hubbook server on port 0 over a throw-away database, and a
//! client that speaks to it as an integrator would.

use std::sync::Arc;

use chrono::Utc;
use hubbook::{Application, Settings};
use hubbook_api::auth::hash_secret;
use hubbook_core::ManualClock;
use hubbook_store::repo::{users, Change};
use hubbook_store::test_db::TestDb;
use hubbook_store::{Backend, DbPool};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The JWT secret of every test server.
pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-0123456789";
/// The password of every user the tests create.
pub const PASSWORD: &str = "a-long-test-password";
/// The GP Connect ASID of the server under test.
pub const ASID: &str = "918999198993";

/// Runs each named `async fn(TestApp)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::helpers::TestApp::spawn(hubbook_store::Backend::Sqlite).await).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::helpers::TestApp::spawn(hubbook_store::Backend::Postgres).await).await }
            )*
        }
    };
}

/// A running server and what a test needs to drive it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// A pool on the server's database, for checking what was stored.
    pub pool: DbPool,
    /// The server's clock, for tests of time-dependent rules.
    #[allow(dead_code)]
    pub clock: Arc<ManualClock>,
    /// A token of the installation's admin.
    pub admin: String,
    /// The database; held so that it is dropped (and removed) with the app.
    #[allow(dead_code)]
    pub db: TestDb,
}

/// A `hubbook serve` process of a test's own; killed when dropped.
#[allow(dead_code)]
pub struct ServerProcess {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The process.
    pub child: std::process::Child,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, headers and body as JSON (or `Null`).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Parsed body.
    pub body: Value,
}

impl Reply {
    /// Asserts the reply is an RFC 9457 problem of this status and type, and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16, kind: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "status of {:?}", self.body);
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(
            content_type, "application/problem+json",
            "content type of {:?}",
            self.body
        );
        assert_eq!(self.body["type"], kind, "problem type of {:?}", self.body);
        assert_eq!(
            self.body["status"], status,
            "problem status of {:?}",
            self.body
        );
        assert!(
            self.body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "title of {:?}",
            self.body
        );
        assert!(
            self.body["detail"].as_str().is_some_and(|t| !t.is_empty()),
            "detail of {:?}",
            self.body
        );
        &self.body
    }

    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "status of {:?}", self.body);
        &self.body
    }

    /// The ETag header.
    pub fn etag(&self) -> String {
        self.headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

/// A seeded cluster: its code and tokens of each role.
pub struct Cluster {
    /// Cluster code.
    pub code: String,
    /// Its manager's token.
    pub manager: String,
    /// A hub staff member's token.
    pub hub_staff: String,
    /// A receptionist's token (of `practice_id`).
    pub receptionist: String,
    /// The receptionist's practice.
    pub practice_id: String,
    /// A site of the cluster.
    pub site_id: String,
    /// A service of the cluster.
    pub service_id: String,
    /// A triage client's token scoped to this cluster.
    pub triage: String,
}

impl TestApp {
    /// Starts a server on a fresh database of the backend, with one admin user.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, None).await
    }

    /// Starts a server that speaks HTTPS with `files`, whose certificate `ca_pem` signed (the
    /// test's client trusts it). Only the GP Connect tests use it.
    #[allow(dead_code)]
    pub async fn spawn_tls(backend: Backend, files: hubbook::TlsFiles, ca_pem: &str) -> Self {
        Self::spawn_with(backend, Some((files, ca_pem))).await
    }

    /// A test server's settings on the database at `url`, signing tokens with `jwt_secret`.
    fn settings(url: &str, jwt_secret: &str, tls: Option<hubbook::TlsFiles>) -> Settings {
        Settings {
            database_url: url.to_owned(),
            bind: "127.0.0.1:0".into(),
            jwt_secret: jwt_secret.into(),
            token_ttl_seconds: 900,
            pool_size: 8,
            workers: Some(2),
            hold_seconds: 120,
            events_interval_ms: 100,
            webhook_backoff_ms: 100,
            work_lease_ms: 5_000,
            gpconnect_asid: ASID.into(),
            tls,
        }
    }

    /// Starts a second server on this test's database and clock, signing tokens with
    /// `jwt_secret`: another process, or this one restarted with its secret rotated. Returns
    /// its base URL.
    #[allow(dead_code)]
    pub async fn second_server(&self, jwt_secret: &str) -> String {
        let settings = Self::settings(&self.db.url, jwt_secret, None);
        let app =
            Application::build(&settings, self.clock.clone()).expect("the application builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        base
    }

    /// Starts `hubbook serve` as a process of its own on this test's database (real clock, the
    /// tests' signing secret, periodic work every 100 ms, leases of `lease_ms`), and waits until
    /// it serves. The process is killed when the returned value is dropped.
    #[allow(dead_code)]
    pub fn server_process(&self, lease_ms: u64) -> ServerProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hubbook"))
            .args([
                "--log-format",
                "json",
                "serve",
                "--database-url",
                &self.db.url,
            ])
            .args(["--bind", "127.0.0.1:0", "--events-interval-ms", "100"])
            .args([
                "--webhook-backoff-ms",
                "100",
                "--pool-size",
                "4",
                "--workers",
                "1",
            ])
            .args(["--work-lease-ms", &lease_ms.to_string()])
            .env("HUBBOOK_JWT_SECRET", JWT_SECRET)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("hubbook starts");
        let mut log = std::io::BufReader::new(child.stderr.take().expect("its log"));
        let mut seen = Vec::new();
        let port = loop {
            let mut line = String::new();
            if log.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                panic!("hubbook exited before serving: {seen:?}");
            }
            let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if event["message"] == "hubbook is serving" {
                break event["port"].as_u64().expect("a port");
            }
            seen.push(line);
        };
        // Keep reading its log, so that the process never blocks on a full pipe.
        std::thread::spawn(move || for _ in log.lines() {});
        ServerProcess {
            base: format!("http://127.0.0.1:{port}"),
            child,
        }
    }

    async fn spawn_with(backend: Backend, tls: Option<(hubbook::TlsFiles, &str)>) -> Self {
        let db = TestDb::new(backend);
        let settings = Self::settings(
            &db.url,
            JWT_SECRET,
            tls.as_ref().map(|(files, _)| files.clone()),
        );
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let app = Application::build(&settings, clock.clone()).expect("the application builds");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base = format!("{scheme}://127.0.0.1:{}", app.port());
        let client = match &tls {
            Some((_, ca)) => reqwest::Client::builder()
                .use_rustls_tls()
                .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("CA"))
                .build()
                .expect("a TLS client"),
            None => reqwest::Client::new(),
        };
        tokio::spawn(app.run_until_stopped());
        let pool = db.pool().expect("pool");
        {
            let mut conn = pool.get().expect("connection");
            let change = Change {
                actor: "system:test".into(),
                at: Utc::now().naive_utc(),
            };
            users::create_user(
                &mut conn,
                &change,
                users::NewUser {
                    username: "root".into(),
                    display_name: "Test Admin".into(),
                    password_hash: hash_secret(PASSWORD).expect("hash"),
                    role: hubbook_core::Role::Admin,
                    cluster_id: None,
                    practice_id: None,
                },
            )
            .expect("admin user");
        }
        let mut app = Self {
            base,
            client,
            pool,
            clock,
            admin: String::new(),
            db,
        };
        app.admin = app.login("root", PASSWORD).await;
        app
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.send(method, path, token, body, &[]).await
    }

    /// Sends a request with extra headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.send_to(&self.base, method, path, token, body, headers)
            .await
    }

    /// Sends a request as [`TestApp::send`] does, to the server at `base` (a
    /// [`TestApp::second_server`]).
    pub async fn send_to(
        &self,
        base: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.client.request(method.clone(), format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        // Updates need If-Match; tests that are not about it update whatever is current.
        let updates = matches!(method, Method::PATCH | Method::PUT);
        if updates
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("if-match"))
        {
            request = request.header("If-Match", "*");
        }
        let reply = Self::reply(request.send().await.expect("the server answers")).await;
        declared::check(method.as_str(), path, &reply);
        reply
    }

    /// Reads a response into a [`Reply`].
    pub async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// GET with a token.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// POST JSON with a token.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// PATCH JSON with a token.
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Signs in with a password and returns the access token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let reply = self
            .call(
                Method::POST,
                "/api/v1/auth/token",
                None,
                Some(json!({"grant_type": "password", "username": username, "password": password})),
            )
            .await;
        reply.ok(200)["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// A cluster whose slots are all open (no 111 share, no apportionment), a week of GP
    /// mornings published (7 to 11 December 2026, every ten minutes from 09:00 to 12:00), and
    /// the clock set before it (1 December, 08:00 UTC).
    pub async fn open_week(&self, code: &str) -> Cluster {
        let c = self.cluster(code).await;
        self.publish_week(
            &c,
            json!({"triage": {"kind": "per_day", "slots": 0}, "apportionment": false}),
        )
        .await;
        c
    }

    /// Sets a cluster's `sharing` rules, then publishes the week [`TestApp::open_week`] does
    /// (in the cluster's own time zone), with the clock set before it.
    pub async fn publish_week(&self, c: &Cluster, sharing: Value) {
        let code = &c.code;
        self.send(
            Method::PUT,
            &format!("/api/v1/clusters/{code}/sharing"),
            Some(&c.manager),
            Some(sharing),
            &[("If-Match", "*")],
        )
        .await
        .ok(200);
        self.clock.set(at("2026-12-01T08:00:00Z"));
        let template = json!({"key": "gp", "site_id": c.site_id, "service_id": c.service_id, "start": "09:00", "end": "12:00",
            "slot_minutes": 10, "capacity": 1, "delivery": "face_to_face", "weekdays": ["mon", "tue", "wed", "thu", "fri"], "valid_from": "2026-01-01"});
        let rota = self
            .post(
                &format!("/api/v1/clusters/{code}/rotas"),
                &c.manager,
                json!({"name": "R", "templates": [template]}),
            )
            .await;
        let rota = rota.ok(201)["id"].as_str().expect("rota id").to_owned();
        self.post(
            &format!("/api/v1/clusters/{code}/rotas/{rota}/publish"),
            &c.manager,
            json!({"from": "2026-12-07", "to": "2026-12-11"}),
        )
        .await
        .ok(200);
    }

    /// Cancels, as the cluster's manager, every session on a local `date` (`YYYY-MM-DD`), giving
    /// `reason`: their booked appointments then need rebooking. (Used by the console and
    /// browser suites, which share this file.)
    #[allow(dead_code)]
    pub async fn cancel_sessions_on(&self, c: &Cluster, date: &str, reason: &str) {
        let sessions = self
            .get(
                &format!(
                    "/api/v1/clusters/{}/sessions?from={date}&to={date}&limit=500",
                    c.code
                ),
                &c.manager,
            )
            .await;
        for session in sessions.ok(200)["items"].as_array().expect("sessions") {
            let id = session["id"].as_str().expect("session id");
            self.post(
                &format!("/api/v1/clusters/{}/sessions/{id}/cancel", c.code),
                &c.manager,
                json!({ "reason": reason }),
            )
            .await
            .ok(200);
        }
    }

    /// Changes a user of the cluster, found by login name, as its manager (`body` as the API's
    /// `PATCH .../users/{id}` takes it: a new password, `active`...).
    #[allow(dead_code)]
    pub async fn update_user(&self, c: &Cluster, username: &str, body: Value) {
        let users = self
            .get(&format!("/api/v1/clusters/{}/users", c.code), &c.manager)
            .await;
        let id = users.ok(200)["items"]
            .as_array()
            .expect("users")
            .iter()
            .find(|u| u["username"] == username)
            .and_then(|u| u["id"].as_str())
            .expect("the user")
            .to_owned();
        self.patch(
            &format!("/api/v1/clusters/{}/users/{id}", c.code),
            &c.manager,
            body,
        )
        .await
        .ok(200);
    }

    /// Creates a cluster with a site, a service, a practice and one user of each role.
    pub async fn cluster(&self, code: &str) -> Cluster {
        self.post(
            "/api/v1/clusters",
            &self.admin,
            json!({"code": code, "name": format!("Cluster {code}")}),
        )
        .await
        .ok(201);
        let lower = code.to_lowercase();
        self.post(&format!("/api/v1/clusters/{code}/users"), &self.admin, json!({
            "username": format!("manager-{lower}"), "display_name": "Manager", "password": PASSWORD, "role": "cluster_manager"
        })).await.ok(201);
        let manager = self.login(&format!("manager-{lower}"), PASSWORD).await;
        let site = self.post(&format!("/api/v1/clusters/{code}/sites"), &manager, json!({
            "name": "Hub North", "kind": "hub", "address": "1 Test Street", "postcode": "LS1 4AP", "latitude": 53.8, "longitude": -1.55
        })).await;
        let site_id = site.ok(201)["id"].as_str().expect("site id").to_owned();
        let service = self
            .post(
                &format!("/api/v1/clusters/{code}/services"),
                &manager,
                json!({"code": "gp", "name": "GP", "clinical_role": "gp"}),
            )
            .await;
        let service_id = service.ok(201)["id"]
            .as_str()
            .expect("service id")
            .to_owned();
        let practice = self.post(&format!("/api/v1/clusters/{code}/practices"), &manager, json!({
            "ods_code": "B82001", "name": "Test Surgery", "list_size": 9000, "data_sharing_from": "2026-01-01"
        })).await;
        let practice_id = practice.ok(201)["id"]
            .as_str()
            .expect("practice id")
            .to_owned();
        for (username, role, practice) in [
            (format!("hub-{lower}"), "hub_staff", None),
            (
                format!("rec-{lower}"),
                "receptionist",
                Some(practice_id.clone()),
            ),
        ] {
            self.post(&format!("/api/v1/clusters/{code}/users"), &manager, json!({
                "username": username, "display_name": "Staff", "password": PASSWORD, "role": role, "practice_id": practice
            })).await.ok(201);
        }
        let hub_staff = self.login(&format!("hub-{lower}"), PASSWORD).await;
        let receptionist = self.login(&format!("rec-{lower}"), PASSWORD).await;
        let created = self
            .post(
                "/api/v1/integrations",
                &self.admin,
                json!({"name": "111", "clusters": [code], "client_id": format!("nhs111-{lower}")}),
            )
            .await;
        let secret = created.ok(201)["client_secret"]
            .as_str()
            .expect("secret")
            .to_owned();
        let triage = self
            .client_token(&format!("nhs111-{lower}"), &secret)
            .await
            .ok(200)["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        Cluster {
            code: code.into(),
            manager,
            hub_staff,
            receptionist,
            practice_id,
            site_id,
            service_id,
            triage,
        }
    }

    /// Requests a client-credentials token as a form, as OAuth 2.0 clients do.
    pub async fn client_token(&self, client_id: &str, secret: &str) -> Reply {
        let response = self
            .client
            .post(format!("{}/api/v1/auth/token", self.base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .expect("answer");
        Self::reply(response).await
    }

    /// The server's metrics, as scraped.
    #[allow(dead_code)]
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("the server answers")
            .text()
            .await
            .expect("metrics")
    }

    /// Counts the rows of a table in the server's database.
    pub fn count(&self, table: &str) -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.pool.get().expect("connection");
        let rows: Vec<Count> = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .load(&mut *conn)
            .expect("count");
        rows[0].n
    }
}

impl TestApp {
    /// The reason recorded when an appointment's rebooking was resolved, if any.
    pub fn rebooking_note(&self, appointment_id: &str) -> Option<String> {
        use diesel::prelude::*;
        use hubbook_store::schema::rebookings;
        let mut conn = self.pool.get().expect("connection");
        rebookings::table
            .filter(rebookings::appointment_id.eq(appointment_id))
            .select(rebookings::resolution_note)
            .first(&mut *conn)
            .expect("a rebooking")
    }

    /// The internal id of a cluster.
    pub fn cluster_id(&self, code: &str) -> String {
        let mut conn = self.pool.get().expect("connection");
        (hubbook_store::repo::clusters::get_cluster_by_code(&mut conn, code)
            .expect("cluster")
            .id)
            .into()
    }

    /// Books a slot straight in the store (the booking API is not under test here); returns the
    /// appointment id.
    pub fn book_directly(
        &self,
        code: &str,
        slot_id: &str,
        practice_id: &str,
    ) -> Result<String, hubbook_store::StoreError> {
        use hubbook_store::models::Appointment;
        use hubbook_store::repo::{appointments, sessions};
        let cluster_id = self.cluster_id(code);
        let mut conn = self.pool.get().expect("connection");
        let slot = sessions::get_slot(
            &mut conn,
            &hubbook_store::ClusterId::from(&cluster_id),
            &hubbook_store::SlotId::from(slot_id),
        )?;
        let now = Utc::now().naive_utc();
        let row = Appointment {
            cluster_id: cluster_id.clone().into(),
            id: (hubbook_store::new_id()).into(),
            slot_id: slot.id.clone(),
            session_id: slot.session_id.clone(),
            status: hubbook_core::appointment::AppointmentStatus::Booked,
            nhs_number: Some("9990000018".into()),
            patient_name: "Ada Testpatient".into(),
            patient_birth_date: chrono::NaiveDate::from_ymd_opt(1950, 1, 1).expect("date"),
            patient_phone: "01130000000".into(),
            patient_email: None,
            adjustments: None,
            registered_practice_id: Some(practice_id.into()),
            booking_practice_id: Some(practice_id.into()),
            booked_by: "user:test".into(),
            channel: hubbook_core::allocation::ChannelKind::Practice,
            reason: None,
            requester_ods: None,
            requester_reference: None,
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
            site_id: slot.site_id.clone(),
            service_id: slot.service_id.clone(),
            clinical_role: hubbook_core::ClinicalRole::Gp,
            delivery: slot.delivery,
            version: 1,
            created_at: now,
            updated_at: now,
            cancel_reason: None,
            cancelled_at: None,
            outcome_at: None,
            notes: None,
            part_of: None,
        };
        let change = Change {
            actor: "user:test".into(),
            at: now,
        };
        appointments::insert_appointment(&mut conn, &change, &row)?;
        Ok(row.id.into())
    }

    /// Puts a live hold on a slot straight in the store, expiring at `expires_at`.
    pub fn hold_directly(&self, code: &str, slot_id: &str, expires_at: chrono::DateTime<Utc>) {
        use diesel::prelude::*;
        use hubbook_store::schema::holds;
        let cluster_id = self.cluster_id(code);
        let mut conn = self.pool.get().expect("connection");
        diesel::insert_into(holds::table)
            .values((
                holds::cluster_id.eq(cluster_id),
                holds::slot_id.eq(slot_id),
                holds::id.eq(hubbook_store::new_id()),
                holds::holder.eq("user:test"),
                holds::created_at.eq(Utc::now().naive_utc()),
                holds::expires_at.eq(expires_at.naive_utc()),
            ))
            .execute(&mut *conn)
            .expect("hold");
    }
}

/// An instant from RFC 3339 text, e.g. `2026-12-07T09:00:00Z`.
/// The value of one series (`name{labels}` exactly as rendered) in scraped metrics, if present.
#[allow(dead_code)]
pub fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        line.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

pub fn at(s: &str) -> chrono::DateTime<Utc> {
    s.parse().expect("an RFC 3339 instant")
}

/// A valid test NHS number in the 999 range (never a real patient's), different for each `n`.
pub fn nhs(n: u32) -> String {
    (0..)
        .map(|k| format!("999{:06}", n * 10 + k))
        .find_map(|nine| {
            let digits: Vec<u32> = nine.bytes().map(|b| u32::from(b - b'0')).collect();
            hubbook_core::nhs_number::check_digit(&digits).map(|c| format!("{nine}{c}"))
        })
        .expect("a check digit within ten tries")
}

/// Every answer the end-to-end tests receive is held to the OpenAPI document: its status must be
/// one the operation declares and, for a problem, its `type` one that status names, so that the
/// document cannot fall behind what the server answers.
pub mod declared {
    use std::sync::OnceLock;

    use serde_json::Value;

    fn document() -> &'static Value {
        static DOC: OnceLock<Value> = OnceLock::new();
        DOC.get_or_init(|| serde_json::to_value(hubbook_api::openapi()).expect("the document"))
    }

    /// The operation of the document that `method` on `path` calls, if any.
    fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> Option<&'a Value> {
        let path = path.split('?').next().unwrap_or(path);
        let wanted: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let paths = doc["paths"].as_object()?;
        // A literal segment beats a template one (`/reports/fair-share` over `/reports/{name}`).
        let mut best: Option<(usize, &Value)> = None;
        for (template, item) in paths {
            let segments: Vec<&str> = template.trim_end_matches('/').split('/').skip(1).collect();
            if segments.len() != wanted.len() {
                continue;
            }
            let mut literal = 0;
            let fits = segments.iter().zip(&wanted).all(|(t, w)| {
                if t.starts_with('{') {
                    !w.is_empty()
                } else {
                    literal += 1;
                    t == w
                }
            });
            let op = item.get(method.to_ascii_lowercase());
            if let (true, Some(op)) = (fits, op) {
                if best.is_none_or(|(l, _)| literal > l) {
                    best = Some((literal, op));
                }
            }
        }
        best.map(|(_, op)| op)
    }

    /// Why a reply breaks the document, if it does.
    pub fn breach(
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: &Value,
    ) -> Option<String> {
        let doc = document();
        let op = operation(doc, method, path)?;
        let Some(response) = op["responses"].get(status.to_string()) else {
            return Some(format!(
                "{method} {path} answered {status}, which its operation does not declare"
            ));
        };
        if !content_type.starts_with("application/problem+json") {
            return None;
        }
        let kind = body["type"].as_str().unwrap_or_default();
        let names = response.to_string();
        (!names.contains(&format!("\"{kind}\""))).then(|| {
            format!("{method} {path} answered {status} `{kind}`, which its operation does not name for {status}")
        })
    }

    /// Panics when a reply breaks the document.
    #[track_caller]
    pub fn check(method: &str, path: &str, reply: &super::Reply) {
        let content_type = reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(why) = breach(
            method,
            path,
            reply.status.as_u16(),
            content_type,
            &reply.body,
        ) {
            panic!("{why}: {}", reply.body);
        }
    }

    #[test]
    fn a_problem_the_document_does_not_name_is_caught() {
        let problem = serde_json::json!({"type": "slot-unavailable"});
        let practice = "/api/v1/clusters/ABC/practices/p1";
        assert!(breach("PATCH", practice, 409, "application/problem+json", &problem).is_some());
        assert!(breach("PATCH", practice, 418, "text/plain", &Value::Null).is_some());
        let refused = serde_json::json!({"type": "invalid-list-size"});
        assert_eq!(
            breach("PATCH", practice, 422, "application/problem+json", &refused),
            None
        );
        let wrong = serde_json::json!({"type": "invalid-cursor"});
        assert!(breach("PATCH", practice, 422, "application/problem+json", &wrong).is_some());
        assert_eq!(
            breach(
                "GET",
                "/api/v1/nowhere",
                404,
                "application/problem+json",
                &problem
            ),
            None
        );
    }
}
