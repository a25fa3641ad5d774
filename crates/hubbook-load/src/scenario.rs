//! The scenarios over HTTP: logging in, and what one iteration of a virtual user sends for
//! `search`, `book`, `triage` and `mixed`, timing each request into the shared [`Tally`].
//!
//! The first request of an iteration is timed from the iteration's scheduled start (in the open
//! model that includes any wait for a free worker); later requests from their own send.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{SecondsFormat, Utc};
use clap::ValueEnum;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use crate::report::{Op, Tally};
use crate::schedule::{Action, Mix};
use crate::users::{patient, DISTINCT_PATIENTS};

/// What each virtual user does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Search the cluster for the next week.
    Search,
    /// Search, hold one offer (retrying the next on 409) and book it.
    Book,
    /// 111 bookings with random dispositions and locations, as the triage client.
    Triage,
    /// 90% search, 8% book, 2% cancel of an own earlier booking (see `--mix`).
    Mixed,
}

impl Scenario {
    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Search => "search",
            Scenario::Book => "book",
            Scenario::Triage => "triage",
            Scenario::Mixed => "mixed",
        }
    }
}

/// How many times a hold refused with 409 is retried on the next offer.
pub const HOLD_RETRIES: usize = 3;

/// How far ahead a search looks.
const SEARCH_WINDOW: chrono::Duration = chrono::Duration::days(7);

/// How many offers a search asks for.
const SEARCH_LIMIT: u32 = 20;

/// Where 111 patients are: a random point in a box, or one of some postcodes.
#[derive(Debug, Clone)]
pub enum Locations {
    /// Uniformly inside latitudes `lat` and longitudes `lon`.
    Box {
        /// South and north edges.
        lat: (f64, f64),
        /// West and east edges.
        lon: (f64, f64),
    },
    /// One of these postcodes.
    Postcodes(Vec<String>),
}

impl Locations {
    /// A random patient location, as a triage booking's `location`.
    fn draw(&self, rng: &mut StdRng) -> Value {
        match self {
            Locations::Box { lat, lon } => json!({
                "latitude": rng.gen_range(lat.0..=lat.1),
                "longitude": rng.gen_range(lon.0..=lon.1),
            }),
            Locations::Postcodes(codes) => {
                json!({ "postcode": codes[rng.gen_range(0..codes.len())] })
            }
        }
    }
}

/// What every virtual user shares: the client, the server, the tally and the run's numbering.
pub struct Shared {
    /// The HTTP client (one connection pool for all).
    pub client: reqwest::Client,
    /// The server's base URL, without a trailing slash.
    pub base: String,
    /// Where measurements go.
    pub tally: Arc<Mutex<Tally>>,
    /// A number unique to this run, in every Idempotency-Key, so a rerun books afresh.
    pub run: u128,
    /// The next patient serial.
    pub serials: AtomicU64,
    /// Where this run's patient serials start, so reruns on the same data rarely reuse patients.
    pub serial_offset: u64,
    /// The `mixed` scenario's weights.
    pub mix: Mix,
    /// The active disposition codes (triage).
    pub dispositions: Vec<String>,
    /// Where triage patients are.
    pub locations: Locations,
}

impl Shared {
    fn with_tally(&self, f: impl FnOnce(&mut Tally)) {
        f(&mut self.tally.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn next_patient(&self) -> (u64, Value) {
        let serial =
            (self.serial_offset + self.serials.fetch_add(1, Ordering::Relaxed)) % DISTINCT_PATIENTS;
        (serial, patient(serial))
    }
}

/// An answer: its status and its JSON body (`null` when it has none).
struct Reply {
    status: u16,
    body: Value,
}

/// One virtual user: its login, its own randomness and the bookings it made.
pub struct VirtualUser {
    /// Its number, in Idempotency-Keys.
    pub id: usize,
    /// Its bearer token (a receptionist's, or the triage client's).
    pub token: String,
    /// Its random draws.
    pub rng: StdRng,
    /// Iterations so far.
    n: u64,
    /// Its own bookings not yet cancelled, for `mixed`'s cancels.
    booked: Vec<String>,
    /// Whether a request of the current iteration got no answer.
    failed: bool,
    /// The week its bookings look in, from this one (0): when a week has nothing left for its
    /// practice it books the next, as a receptionist would, up to [`BOOKING_WEEKS`] ahead.
    weeks_ahead: u32,
}

/// How many weeks ahead a virtual user's bookings move on to before starting again at this one.
pub const BOOKING_WEEKS: u32 = 26;

impl VirtualUser {
    /// A virtual user with this number, token and random stream.
    pub fn new(id: usize, token: String, rng: StdRng) -> Self {
        Self {
            id,
            token,
            rng,
            n: 0,
            booked: Vec::new(),
            weeks_ahead: 0,
            failed: false,
        }
    }

    /// Runs one iteration of `scenario` scheduled to start at `scheduled`; `false` when a request
    /// got no answer (so a closed loop can pause instead of spinning on a dead server).
    pub async fn iterate(&mut self, s: &Shared, scenario: Scenario, scheduled: Instant) -> bool {
        self.n += 1;
        self.failed = false;
        match scenario {
            Scenario::Search => {
                self.search(s, scheduled, 0).await;
            }
            Scenario::Book => self.book(s, scheduled).await,
            Scenario::Triage => self.triage(s, scheduled).await,
            Scenario::Mixed => match s.mix.pick(self.rng.gen_range(0..s.mix.total())) {
                Action::Search => {
                    self.search(s, scheduled, 0).await;
                }
                Action::Book => self.book(s, scheduled).await,
                Action::Cancel => self.cancel(s, scheduled).await,
            },
        }
        !self.failed
    }

    /// Sends `req` as `op`, timing it from `since` to the end of the body and counting its
    /// status (with the problem `type`) or its failure.
    async fn send(
        &mut self,
        s: &Shared,
        op: Op,
        req: reqwest::RequestBuilder,
        since: Instant,
    ) -> Option<Reply> {
        let answer = match req.bearer_auth(&self.token).send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                r.bytes().await.map(|b| (status, b))
            }
            Err(e) => Err(e),
        };
        let took = since.elapsed();
        match answer {
            Ok((status, bytes)) => {
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let problem = (status >= 400)
                    .then(|| body.get("type").and_then(Value::as_str))
                    .flatten();
                s.with_tally(|t| {
                    t.time(op, took);
                    t.status(op, status, problem);
                });
                Some(Reply { status, body })
            }
            Err(e) => {
                self.failed = true;
                s.with_tally(|t| t.transport_error(op, transport_kind(&e)));
                None
            }
        }
    }

    /// Searches a week of the cluster (the next seven days, or the week `weeks_ahead` later);
    /// the offers when it answered 200.
    async fn search(&mut self, s: &Shared, since: Instant, weeks_ahead: u32) -> Option<Vec<Value>> {
        let now = Utc::now() + chrono::Duration::weeks(i64::from(weeks_ahead));
        let stamp = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let req = s.client.get(format!("{}/api/v1/slots", s.base)).query(&[
            ("from", stamp(now)),
            ("to", stamp(now + SEARCH_WINDOW)),
            ("limit", SEARCH_LIMIT.to_string()),
        ]);
        let reply = self.send(s, Op::Search, req, since).await?;
        (reply.status == 200).then(|| reply.body["items"].as_array().cloned().unwrap_or_default())
    }

    /// Search, hold an offer (the next one after a 409, at most [`HOLD_RETRIES`] times), book it.
    async fn book(&mut self, s: &Shared, scheduled: Instant) {
        let Some(offers) = self.search(s, scheduled, self.weeks_ahead).await else {
            return;
        };
        if offers.is_empty() {
            s.with_tally(|t| t.event("book: nothing offered, looking a week later"));
            self.weeks_ahead = (self.weeks_ahead + 1) % BOOKING_WEEKS;
            return;
        }
        let first = self.rng.gen_range(0..offers.len());
        let mut held = None;
        for attempt in 0..=HOLD_RETRIES.min(offers.len() - 1) {
            let slot_id = offers[(first + attempt) % offers.len()]["slot_id"].clone();
            let Some(slot) = slot_id.as_str() else {
                s.with_tally(|t| t.event("book: offer without slot_id"));
                return;
            };
            let req = s
                .client
                .post(format!("{}/api/v1/slots/{slot}/hold", s.base));
            let Some(reply) = self.send(s, Op::Hold, req, Instant::now()).await else {
                return;
            };
            match reply.status {
                201 => {
                    held = Some((slot_id, reply.body["hold_id"].clone()));
                    break;
                }
                409 if attempt < HOLD_RETRIES && attempt + 1 < offers.len() => {
                    s.with_tally(|t| t.event("hold: retried on the next offer after 409"));
                }
                409 => {
                    s.with_tally(|t| t.event("hold: gave up after 409s"));
                    return;
                }
                _ => return,
            }
        }
        let Some((slot_id, hold_id)) = held else {
            return;
        };
        let (serial, patient) = s.next_patient();
        let req = s
            .client
            .post(format!("{}/api/v1/appointments", s.base))
            .header(
                "Idempotency-Key",
                format!("load-{}-{}-{}-{serial}", s.run, self.id, self.n),
            )
            .json(&json!({ "slot_id": slot_id, "hold_id": hold_id, "patient": patient }));
        let reply = self.send(s, Op::Book, req, Instant::now()).await;
        s.with_tally(|t| t.time(Op::BookIteration, scheduled.elapsed()));
        if let Some(Reply { status: 201, body }) = reply {
            if let Some(id) = body["id"].as_str() {
                self.booked.push(id.to_owned());
            }
        }
    }

    /// Cancels one of this user's own bookings, or books when it has none yet.
    async fn cancel(&mut self, s: &Shared, scheduled: Instant) {
        if self.booked.is_empty() {
            s.with_tally(|t| t.event("cancel: none of its own yet, booked instead"));
            return self.book(s, scheduled).await;
        }
        let id = self
            .booked
            .swap_remove(self.rng.gen_range(0..self.booked.len()));
        let req = s
            .client
            .post(format!("{}/api/v1/appointments/{id}/cancel", s.base))
            .json(&json!({ "reason": "Load test cancellation" }));
        self.send(s, Op::Cancel, req, scheduled).await;
    }

    /// Books a 111 patient with a random active disposition at a random location.
    async fn triage(&mut self, s: &Shared, scheduled: Instant) {
        let disposition = &s.dispositions[self.rng.gen_range(0..s.dispositions.len())];
        let location = s.locations.draw(&mut self.rng);
        let (serial, patient) = s.next_patient();
        let req = s
            .client
            .post(format!("{}/api/v1/triage/bookings", s.base))
            .header(
                "Idempotency-Key",
                format!("load-111-{}-{}-{}-{serial}", s.run, self.id, self.n),
            )
            .json(&json!({
                "disposition": disposition,
                "triaged_at": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
                "patient": patient,
                "location": location,
                "case_reference": format!("load-{serial}"),
            }));
        self.send(s, Op::Triage, req, scheduled).await;
    }
}

/// A short name for why a request got no answer.
fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "error"
    }
}

/// An access token and how long it lives.
pub struct Token {
    /// The bearer token.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Exchanges credentials (`grant`, a whole token request body) for an access token.
pub async fn token(client: &reqwest::Client, base: &str, grant: &Value) -> anyhow::Result<Token> {
    let who = grant
        .get("username")
        .or_else(|| grant.get("client_id"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    let reply = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(grant)
        .send()
        .await
        .with_context(|| format!("logging in as {who}"))?;
    let status = reply.status();
    let body: Value = reply.json().await.unwrap_or(Value::Null);
    let access_token = body["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no token for {who}: {status} {body}"))?;
    Ok(Token {
        access_token,
        expires_in: body["expires_in"].as_u64().unwrap_or(u64::MAX),
    })
}

/// The active disposition codes, read once (following pages) before the clock starts.
pub async fn active_dispositions(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> anyhow::Result<Vec<String>> {
    let mut codes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = client
            .get(format!("{base}/api/v1/dispositions"))
            .bearer_auth(token)
            .query(&[("limit", "500")]);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c)]);
        }
        let reply = req.send().await.context("listing dispositions")?;
        let status = reply.status();
        let page: Value = reply.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "listing dispositions: {status} {page}");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        codes.extend(
            items
                .iter()
                .filter(|d| d["active"] == true)
                .filter_map(|d| d["code"].as_str().map(str::to_owned)),
        );
        match page["next_cursor"].as_str() {
            Some(next) if !items.is_empty() => cursor = Some(next.to_owned()),
            _ => return Ok(codes),
        }
    }
}

/// A token request for a staff user.
pub fn password_grant(username: &str, password: &str) -> Value {
    json!({"grant_type": "password", "username": username, "password": password})
}

/// A token request for an integration client.
pub fn client_grant(client_id: &str, secret: &str) -> Value {
    json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
}

/// Runs `f` once per item with at most `limit` at a time, keeping the input order.
pub async fn bounded<T, F, Fut, R>(items: Vec<T>, limit: usize, f: F) -> anyhow::Result<Vec<R>>
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = R> + Send + 'static,
    R: Send + 'static,
{
    let gate = Arc::new(tokio::sync::Semaphore::new(limit.max(1)));
    let mut tasks = Vec::new();
    for item in items {
        let gate = gate.clone();
        let fut = f(item);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            fut.await
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await?);
    }
    Ok(out)
}

/// How long a closed-loop user pauses after a request got no answer.
pub const PAUSE_AFTER_FAILURE: Duration = Duration::from_millis(50);
