//! `hubbook-load`: drives a running hubbook over HTTP with concurrent virtual users (receptionists
//! of the demo cluster by default) and reports throughput, latency percentiles and statuses.
//!
//! Scenarios: `search` (each user searches its cluster for the next week) and `book` (search,
//! then book one of the offers with a fresh Idempotency-Key and patient). Closed model: each
//! user sends its next request when the last one answered.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "Load a running hubbook and report latency percentiles")]
struct Args {
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// What each virtual user does.
    #[arg(long, value_enum, default_value_t = Scenario::Search)]
    scenario: Scenario,
    /// Virtual users sending requests at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Receptionist usernames, shared round-robin by the virtual users.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "reception-x00001,reception-x00002,reception-x00003,reception-x00004,reception-x00005,reception-x00006"
    )]
    users: Vec<String>,
    /// Their password.
    #[arg(long, env = "HUBBOOK_DEMO_PASSWORD", default_value = "demo-password")]
    password: String,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Search,
    Book,
}

/// What one virtual user measured.
struct Tally {
    search: Histogram<u64>,
    book: Histogram<u64>,
    statuses: BTreeMap<String, u64>,
}

impl Tally {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            search: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            book: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            statuses: BTreeMap::new(),
        })
    }

    fn merge(&mut self, other: &Tally) -> anyhow::Result<()> {
        self.search.add(&other.search)?;
        self.book.add(&other.book)?;
        for (k, v) in &other.statuses {
            *self.statuses.entry(k.clone()).or_default() += v;
        }
        Ok(())
    }
}

/// A valid NHS number from the 999 test range, different for each `n` below a million.
fn test_nhs_number(n: u64) -> String {
    (0..10)
        .map(|k| format!("999{:06}", (n * 10 + k) % 1_000_000))
        .find_map(|nine| {
            let digits: Vec<u32> = nine.bytes().map(|b| u32::from(b - b'0')).collect();
            hubbook_core::nhs_number::check_digit(&digits).map(|c| format!("{nine}{c}"))
        })
        .unwrap_or_else(|| "9990000018".to_owned())
}

async fn token(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> anyhow::Result<String> {
    let reply: Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"grant_type": "password", "username": user, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    reply["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no token for {user}: {reply}"))
}

async fn user(
    id: usize,
    run: u128,
    client: reqwest::Client,
    base: String,
    token: String,
    scenario: Scenario,
    until: Instant,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::new()?;
    let mut n: u64 = 0;
    while Instant::now() < until {
        n += 1;
        let started = Instant::now();
        let search = client
            .get(format!("{base}/api/v1/slots?limit=20"))
            .bearer_auth(&token)
            .send()
            .await?;
        let status = search.status();
        let body: Value = search.json().await.unwrap_or(Value::Null);
        tally
            .search
            .record(started.elapsed().as_micros().max(1) as u64)?;
        *tally
            .statuses
            .entry(format!("search {}", status.as_u16()))
            .or_default() += 1;
        if scenario == Scenario::Search {
            continue;
        }
        let offers = body["items"].as_array().cloned().unwrap_or_default();
        if offers.is_empty() {
            *tally
                .statuses
                .entry("book skipped: nothing offered".into())
                .or_default() += 1;
            continue;
        }
        let pick = &offers[(n as usize * 7 + id) % offers.len()];
        let serial = (id as u64) * 100_000 + n;
        let booking = json!({
            "slot_id": pick["slot_id"],
            "patient": {"nhs_number": test_nhs_number(serial), "name": format!("Load Patient {serial}"), "birth_date": "1970-01-01", "phone": "0113 496 0000"}
        });
        let started = Instant::now();
        let reply = client
            .post(format!("{base}/api/v1/appointments"))
            .bearer_auth(&token)
            .header("Idempotency-Key", format!("load-{run}-{id}-{n}"))
            .json(&booking)
            .send()
            .await?;
        let status = reply.status();
        let _ = reply.bytes().await;
        tally
            .book
            .record(started.elapsed().as_micros().max(1) as u64)?;
        *tally
            .statuses
            .entry(format!("book {}", status.as_u16()))
            .or_default() += 1;
    }
    Ok(tally)
}

fn line(name: &str, h: &Histogram<u64>, seconds: f64) {
    if h.is_empty() {
        return;
    }
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
        h.len(),
        h.len() as f64 / seconds,
        ms(0.50),
        ms(0.90),
        ms(0.99),
        ms(0.999),
        h.max() as f64 / 1000.0
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        !args.users.is_empty() && args.concurrency > 0,
        "give at least one user and one virtual user"
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let mut tokens = Vec::new();
    for u in &args.users {
        tokens.push(token(&client, &args.base_url, u, &args.password).await?);
    }
    // Keys differ from run to run, so a second run against the same data books afresh.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|i| {
            tokio::spawn(user(
                i,
                run,
                client.clone(),
                args.base_url.clone(),
                tokens[i % tokens.len()].clone(),
                args.scenario,
                until,
            ))
        })
        .collect();
    let mut total = Tally::new()?;
    for task in tasks {
        total.merge(&task.await??)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("| requests | count | per second | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |");
    println!("|---|---|---|---|---|---|---|---|");
    line("search", &total.search, seconds);
    line("book", &total.book, seconds);
    println!("statuses: {:?}", total.statuses);
    Ok(())
}
