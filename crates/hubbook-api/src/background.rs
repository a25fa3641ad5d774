//! The server's periodic work: announcing reserved slots as their release time comes, and
//! delivering the event feed to webhooks. Nothing a request needs waits for it.
//!
//! Webhook deliveries are posted one event at a time, in feed order, at least once: an event is
//! passed only when its receiver answers 2xx; a failure backs off (doubling from the base up to
//! an hour) and the same event is tried again. Each delivery carries
//! `Hubbook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix_web::web;
use hmac::{Hmac, Mac};
use hubbook_store::models::{Event, Webhook};
use hubbook_store::repo::{clusters, events, webhooks};
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
    /// How long a receiver may take to answer.
    pub timeout: Duration,
}

/// The most slots announced, and events delivered per webhook, in one wake-up.
const BATCH: i64 = 500;

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

/// Runs the periodic work until the task is dropped.
pub async fn run(state: web::Data<AppState>, config: Background) {
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
    // Announcements run on their own, so that slow receivers never delay them.
    let _announcer = AbortOnDrop({
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = announce(&state).await {
                    tracing::warn!(error = %e, "announcing released slots failed; will retry");
                }
                tokio::time::sleep(config.interval).await;
            }
        })
    });
    let mut waiting: HashMap<String, Instant> = HashMap::new();
    loop {
        if let Err(e) = deliver(&state, &client, &config, &mut waiting).await {
            tracing::warn!(error = %e, "webhook deliveries failed; will retry");
        }
        tokio::time::sleep(config.interval).await;
    }
}

/// Aborts the announcer when the delivery loop is dropped (the server stopping).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn announce(state: &web::Data<AppState>) -> Result<(), crate::ApiError> {
    let now = state.now();
    loop {
        let marked = state
            .db(move |c| Ok(events::announce_releases(c, now, BATCH)?))
            .await?;
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
    waiting: &mut HashMap<String, Instant>,
) -> Result<(), crate::ApiError> {
    let hooks = state.db(move |c| Ok(webhooks::active_webhooks(c)?)).await?;
    let mut due = Vec::new();
    for hook in hooks {
        // A webhook with no retry time set was resumed by its manager (or never failed).
        if hook.next_attempt_at.is_none() {
            waiting.remove(&hook.id);
        }
        if waiting
            .get(&hook.id)
            .is_some_and(|until| *until > Instant::now())
        {
            continue;
        }
        waiting.remove(&hook.id);
        due.push(hook);
    }
    // Webhooks are served side by side, each in feed order, so one slow receiver delays no other.
    let outcomes = futures_util::future::join_all(
        due.into_iter()
            .map(|hook| deliver_one(state, client, config, hook)),
    )
    .await;
    for outcome in outcomes {
        match outcome {
            Ok(Some((id, until))) => {
                waiting.insert(id, until);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "a webhook's deliveries failed; will retry"),
        }
    }
    Ok(())
}

/// Delivers one webhook's pending events in order until one fails, the budget is spent, or the
/// webhook is paused or changed; on a failure, returns when it may be tried again.
async fn deliver_one(
    state: &web::Data<AppState>,
    client: &reqwest::Client,
    config: &Background,
    hook: Webhook,
) -> Result<Option<(String, Instant)>, crate::ApiError> {
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
    let mut hook = hook;
    for event in pending {
        if started.elapsed() > BUDGET {
            return Ok(None);
        }
        // Paused or pointed elsewhere since this batch began: stop, the next wake-up re-reads it.
        let current = {
            let (cluster_id, id) = (hook.cluster_id.clone(), hook.id.clone());
            state
                .db(move |c| Ok(webhooks::get_webhook(c, &cluster_id, &id)?))
                .await?
        };
        if !current.active || current.url != hook.url || current.version != hook.version {
            return Ok(None);
        }
        let view = EventView::from_event(&event, Some(&code));
        if let Some(until) = post(state, client, config, &hook, &event, &view).await? {
            return Ok(Some((hook.id.clone(), until)));
        }
        hook.delivered_seq = event.seq;
        hook.failures = 0;
    }
    Ok(None)
}

/// Posts one event and logs the attempt; on a failure, returns when to try again.
async fn post(
    state: &web::Data<AppState>,
    client: &reqwest::Client,
    config: &Background,
    hook: &Webhook,
    event: &Event,
    view: &EventView,
) -> Result<Option<Instant>, crate::ApiError> {
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
    let failures = u32::try_from(hook.failures).unwrap_or(0) + 1;
    let wait = backoff_after(config.backoff, failures);
    let retry_at = (!succeeded).then(|| {
        now.naive_utc() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1))
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
    let hook = hook.clone();
    state
        .db(move |c| Ok(webhooks::record_attempt(c, &hook, &attempt)?))
        .await?;
    Ok((!succeeded).then(|| Instant::now() + wait))
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
