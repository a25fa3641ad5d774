//! The server's periodic work: announcing reserved slots as their release time comes, and
//! delivering the event feed to webhooks. Nothing a request needs waits for it.
//!
//! Any number of processes may run it on one database. Each piece of work is claimed there first:
//! the release announcements by one lease for the installation, each webhook's deliveries by a
//! lease on its row. The holder renews its lease before every delivery and gives it up when its
//! batch is done; a process that dies or stops keeps it only until it expires, and another takes
//! over from the position stored in the database. Back-off after a failure is stored too
//! (`next_attempt_at`), so no process, restarted or not, retries early.
//!
//! Webhook deliveries are posted one event at a time, in feed order, at least once: an event is
//! passed only when its receiver answers 2xx; a failure backs off (doubling from the base up to
//! an hour) and the same event is tried again. Without faults each event is posted once; a
//! process stopped or cut off from the database between a post and its record may have that
//! event posted again by its successor. Each delivery carries
//! `Hubbook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>`.

use std::time::{Duration, Instant};

use actix_web::web;
use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use hubbook_store::models::{Event, Webhook};
use hubbook_store::repo::{clusters, events, leases, webhooks};
use sha2::Sha256;

use crate::feed::EventView;
use crate::AppState;

/// How the periodic work runs.
#[derive(Debug, Clone, Copy)]
pub struct Background {
    /// How often it wakes.
    pub interval: Duration,
    /// The first wait after a failed delivery; doubled per failure up to an hour.
    pub backoff: Duration,
    /// How long a claimed piece of work stays this process's without being renewed.
    pub lease: Duration,
    /// How long a receiver may take to answer; shorter than the lease.
    pub timeout: Duration,
}

/// The most slots announced, and events delivered per webhook, in one wake-up.
const BATCH: i64 = 500;

/// The most webhooks one process claims in one wake-up, so that others share a large number.
const WEBHOOKS_PER_WAKE: i64 = 64;

/// The longest back-off after failed deliveries.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Signs a delivery body: the value of the `Hubbook-Signature` header.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map(|mut mac| {
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        mac.finalize().into_bytes()
    });
    let hex: String = match mac {
        Ok(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        Err(_) => String::new(),
    };
    format!("t={timestamp},v1={hex}")
}

/// The wait after `failures` failed attempts in a row.
pub fn backoff_after(base: Duration, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

/// This process's name on the leases it holds: host, process id and a random part, so that an
/// operator can tell which process holds what and a restarted process is never taken for its
/// predecessor.
pub fn lease_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    let random = hubbook_store::new_id();
    format!(
        "{host}/{}/{}",
        std::process::id(),
        &random[random.len().saturating_sub(8)..]
    )
}

/// Leases and back-off are kept in wall-clock time, which every process shares (the domain
/// clock may be a test's).
fn wall_clock() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// The wall-clock time now and the end of a lease taken now. Called inside the database call,
/// after any wait for a connection, so that a lease is never written already spent.
fn lease_from_now(lease: Duration) -> (NaiveDateTime, NaiveDateTime) {
    let now = wall_clock();
    (
        now,
        now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30)),
    )
}

/// Runs the periodic work, holding leases as `owner`, until the task is dropped.
pub async fn run(state: web::Data<AppState>, config: Background, owner: String) {
    let client = match reqwest::Client::builder()
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not be built; deliveries are off");
            return;
        }
    };
    tracing::info!(owner = %owner, "background work starts");
    // Announcements run on their own, so that slow receivers never delay them.
    let _announcer = AbortOnDrop({
        let (state, owner) = (state.clone(), owner.clone());
        tokio::spawn(async move {
            loop {
                if let Err(e) = announce(&state, &config, &owner).await {
                    tracing::warn!(error = %e, "announcing released slots failed; will retry");
                }
                tokio::time::sleep(config.interval).await;
            }
        })
    });
    loop {
        if let Err(e) = deliver(&state, &client, &config, &owner).await {
            tracing::warn!(error = %e, "webhook deliveries failed; will retry");
        }
        tokio::time::sleep(config.interval).await;
    }
}

/// Gives up every lease `owner` holds, when the server stops, so that another process carries on
/// at once rather than after the leases expire.
pub async fn release_leases(state: &web::Data<AppState>, owner: &str) {
    let owner = owner.to_owned();
    let released = state.db(move |c| Ok(leases::release_all(c, &owner)?)).await;
    if let Err(e) = released {
        tracing::warn!(error = %e, "leases could not be given up; they expire by themselves");
    }
}

/// Aborts the announcer when the delivery loop is dropped (the server stopping).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Announces the releases that are due, when this process holds (or can take) the lease on that
/// work; the lease is kept between wake-ups, so one process announces while it lives.
async fn announce(
    state: &web::Data<AppState>,
    config: &Background,
    owner: &str,
) -> Result<(), crate::ApiError> {
    let now = state.now();
    loop {
        let (owner, lease) = (owner.to_owned(), config.lease);
        let marked = state
            .db(move |c| {
                let (wall, until) = lease_from_now(lease);
                if !leases::claim(c, leases::ANNOUNCE_RELEASES, &owner, wall, until)? {
                    return Ok(0);
                }
                Ok(events::announce_releases(c, now, BATCH)?)
            })
            .await?;
        state
            .metrics
            .releases_announced(u64::try_from(marked).unwrap_or(0));
        if marked < usize::try_from(BATCH).unwrap_or(usize::MAX) {
            return Ok(());
        }
    }
}

/// How long one wake-up spends on one webhook before the next wake-up carries on.
const BUDGET: Duration = Duration::from_secs(20);

async fn deliver(
    state: &web::Data<AppState>,
    client: &reqwest::Client,
    config: &Background,
    owner: &str,
) -> Result<(), crate::ApiError> {
    let claimed = {
        let (owner, lease) = (owner.to_owned(), config.lease);
        state
            .db(move |c| {
                let (now, until) = lease_from_now(lease);
                Ok(webhooks::claim_due(
                    c,
                    &owner,
                    now,
                    until,
                    WEBHOOKS_PER_WAKE,
                )?)
            })
            .await?
    };
    // Webhooks are served side by side, each in feed order, so one slow receiver delays no other.
    let outcomes = futures_util::future::join_all(
        claimed
            .into_iter()
            .map(|hook| deliver_one(state, client, config, owner, hook)),
    )
    .await;
    for outcome in outcomes {
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "a webhook's deliveries failed; will retry");
        }
    }
    Ok(())
}

/// Delivers one claimed webhook's pending events, then gives its lease up.
async fn deliver_one(
    state: &web::Data<AppState>,
    client: &reqwest::Client,
    config: &Background,
    owner: &str,
    hook: Webhook,
) -> Result<(), crate::ApiError> {
    let delivered = deliver_claimed(state, client, config, owner, hook.clone()).await;
    let owner = owner.to_owned();
    let released = state
        .db(move |c| Ok(webhooks::release_lease(c, &hook, &owner, wall_clock())?))
        .await;
    delivered.and(released)
}

/// Delivers a webhook's pending events in order until one fails, the budget is spent, the lease
/// is lost, or the webhook is paused or changed.
async fn deliver_claimed(
    state: &web::Data<AppState>,
    client: &reqwest::Client,
    config: &Background,
    owner: &str,
    hook: Webhook,
) -> Result<(), crate::ApiError> {
    let started = Instant::now();
    let (code, pending) = {
        let hook = hook.clone();
        state
            .db(move |c| {
                let code = clusters::get_cluster(c, &hook.cluster_id)?.code;
                Ok((code, webhooks::pending_events(c, &hook, BATCH)?))
            })
            .await?
    };
    if pending.is_empty() {
        // Only events of kinds it does not take: move it past them, so it is not claimed again.
        let (hook, owner) = (hook.clone(), owner.to_owned());
        return state
            .db(move |c| Ok(webhooks::pass_over_untaken(c, &hook, &owner)?))
            .await;
    }
    for event in pending {
        if started.elapsed() > BUDGET {
            return Ok(());
        }
        // Renewed before each post: a process stopped past its lease learns here that another
        // has taken the webhook over, and stops.
        let current = {
            let (hook, owner, lease) = (hook.clone(), owner.to_owned(), config.lease);
            state
                .db(move |c| {
                    let (_, until) = lease_from_now(lease);
                    Ok(webhooks::renew_lease(c, &hook, &owner, until)?)
                })
                .await?
        };
        let Some(current) = current else {
            tracing::info!(webhook = %hook.id, "the webhook's lease was taken over; stopping");
            return Ok(());
        };
        // Paused or pointed elsewhere since this batch began: stop, the next wake-up re-reads it.
        if !current.active || current.url != hook.url || current.version != hook.version {
            return Ok(());
        }
        if current.delivered_seq >= event.seq {
            continue;
        }
        let view = EventView::from_event(&event, Some(&code));
        if !post(state, client, config, owner, &current, &event, &view).await? {
            return Ok(());
        }
    }
    Ok(())
}

/// Posts one event and logs the attempt, with the back-off after a failure; true when the
/// receiver took it.
async fn post(
    state: &web::Data<AppState>,
    client: &reqwest::Client,
    config: &Background,
    owner: &str,
    hook: &Webhook,
    event: &Event,
    view: &EventView,
) -> Result<bool, crate::ApiError> {
    let body = serde_json::to_string(view).map_err(|e| crate::ApiError::Internal(e.to_string()))?;
    let now = state.clock.now();
    let started = Instant::now();
    let result = client
        .post(&hook.url)
        .header("Content-Type", "application/json")
        .header("User-Agent", "hubbook-webhooks")
        .header("Hubbook-Event-Id", &event.id)
        .header("Hubbook-Event-Type", &event.kind)
        .header(
            "Hubbook-Signature",
            signature(&hook.secret, now.timestamp(), &body),
        )
        .body(body)
        .send()
        .await;
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (succeeded, status_code, error) = match result {
        Ok(response) if response.status().is_success() => {
            (true, Some(i32::from(response.status().as_u16())), None)
        }
        Ok(response) => (
            false,
            Some(i32::from(response.status().as_u16())),
            Some(format!("the receiver answered {}", response.status())),
        ),
        Err(e) => (false, None, Some(error_text(&e))),
    };
    state
        .metrics
        .webhook_delivered(match (succeeded, status_code) {
            (true, _) => crate::metrics::DeliveryOutcome::Delivered,
            (false, Some(_)) => crate::metrics::DeliveryOutcome::Refused,
            (false, None) => crate::metrics::DeliveryOutcome::Unreachable,
        });
    let failures = u32::try_from(hook.failures).unwrap_or(0) + 1;
    let wait = backoff_after(config.backoff, failures);
    let retry_at = (!succeeded).then(|| {
        wall_clock() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1))
    });
    if !succeeded {
        tracing::info!(webhook = %hook.id, seq = event.seq, failures, "webhook delivery failed; backing off");
    }
    let attempt = webhooks::Attempt {
        event_seq: event.seq,
        event_id: event.id.clone(),
        at: now.naive_utc(),
        status_code,
        error,
        succeeded,
        duration_ms,
        retry_at,
    };
    let (hook, owner) = (hook.clone(), owner.to_owned());
    state
        .db(move |c| Ok(webhooks::record_attempt(c, &hook, &owner, &attempt)?))
        .await?;
    Ok(succeeded)
}

/// A transport error in words, without the URL's query (which might hold a token).
fn error_text(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the receiver did not answer in time".into()
    } else if e.is_connect() {
        "the receiver could not be reached".into()
    } else {
        "the delivery failed in transport".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_over_timestamp_and_body() {
        // The expected value was computed independently (Python's hmac module).
        assert_eq!(
            signature("secret", 1_700_000_000, r#"{"a":1}"#),
            "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
        assert_ne!(
            signature("other", 1_700_000_000, "{}"),
            signature("secret", 1_700_000_000, "{}")
        );
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(5);
        assert_eq!(backoff_after(base, 1), Duration::from_secs(5));
        assert_eq!(backoff_after(base, 2), Duration::from_secs(10));
        assert_eq!(backoff_after(base, 4), Duration::from_secs(40));
        assert_eq!(backoff_after(base, 40), MAX_BACKOFF);
    }
}
