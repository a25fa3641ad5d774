//! Prometheus metrics and the request log: counts and latency by route and status, pool usage,
//! the process (memory, CPU, open files, start time), the build, the background work (webhook
//! deliveries by outcome, the oldest event a webhook still has to be sent, slot releases
//! announced) and sign-in refusals by reason.
//!
//! Requests are labelled and logged by their route pattern (`/api/v1/clusters/{code}`), never by
//! the raw path or query, so no NHS number, name or token reaches a metric or a log line.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::AppState;

/// The registry and instruments of one running application.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_size: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    webhook_deliveries: IntCounterVec,
    oldest_undelivered: Gauge,
    releases_announced: IntCounter,
    sign_in_refusals: IntCounterVec,
    /// Serialises bringing the sign-in refusals (counted by the use cases) up to date.
    refusals_synced: std::sync::Arc<std::sync::Mutex<()>>,
}

/// How a webhook delivery ended: the receiver took it (2xx), answered otherwise, or was not
/// reached (connection refused, timeout...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// A 2xx answer.
    Delivered,
    /// Any other answer.
    Refused,
    /// No answer.
    Unreachable,
}

impl DeliveryOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Refused => "refused",
            Self::Unreachable => "unreachable",
        }
    }
}

/// The version of the server, for `hubbook_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit the server was built from (`unknown` without git), for `hubbook_build_info`.
pub const COMMIT: &str = env!("HUBBOOK_COMMIT");

impl Metrics {
    /// Creates the instruments in a registry of their own.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "hubbook_http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "hubbook_http_request_duration_seconds",
                "HTTP request latency by route and method",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route", "method"],
        )?;
        let pool_size = IntGauge::new("hubbook_db_pool_connections", "Open database connections")?;
        let pool_idle = IntGauge::new(
            "hubbook_db_pool_idle_connections",
            "Idle database connections",
        )?;
        let pool_max = IntGauge::new(
            "hubbook_db_pool_max_connections",
            "Most database connections allowed",
        )?;
        let webhook_deliveries = IntCounterVec::new(
            Opts::new(
                "hubbook_webhook_deliveries_total",
                "Webhook deliveries by outcome: delivered (2xx), refused (another answer), unreachable (no answer)",
            ),
            &["outcome"],
        )?;
        for outcome in [
            DeliveryOutcome::Delivered,
            DeliveryOutcome::Refused,
            DeliveryOutcome::Unreachable,
        ] {
            webhook_deliveries.with_label_values(&[outcome.as_str()]);
        }
        let oldest_undelivered = Gauge::new(
            "hubbook_webhook_oldest_undelivered_event_age_seconds",
            "Age of the oldest event an active webhook still has to be sent (0 when none), read at scrape time",
        )?;
        let releases_announced = IntCounter::new(
            "hubbook_slot_releases_announced_total",
            "Reserved slots whose release time came, marked by this process's background work (announced unless booked or gone)",
        )?;
        let sign_in_refusals = IntCounterVec::new(
            Opts::new(
                "hubbook_sign_in_refusals_total",
                "Sign-ins refused by reason: wrong_credentials (checked and wrong), throttled (refused unchecked while waiting)",
            ),
            &["reason"],
        )?;
        for reason in ["wrong_credentials", "throttled"] {
            sign_in_refusals.with_label_values(&[reason]);
        }
        let build_info = IntGaugeVec::new(
            Opts::new(
                "hubbook_build_info",
                "The server's version and commit, as labels of a constant 1",
            ),
            &["version", "commit"],
        )?;
        build_info.with_label_values(&[VERSION, COMMIT]).set(1);
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        registry.register(Box::new(build_info))?;
        registry.register(Box::new(webhook_deliveries.clone()))?;
        registry.register(Box::new(oldest_undelivered.clone()))?;
        registry.register(Box::new(releases_announced.clone()))?;
        registry.register(Box::new(sign_in_refusals.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool_size.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool_size,
            pool_idle,
            pool_max,
            webhook_deliveries,
            oldest_undelivered,
            releases_announced,
            sign_in_refusals,
            refusals_synced: Default::default(),
        })
    }

    /// Counts one webhook delivery.
    pub fn webhook_delivered(&self, outcome: DeliveryOutcome) {
        self.webhook_deliveries
            .with_label_values(&[outcome.as_str()])
            .inc();
    }

    /// Counts slot releases marked by the background work.
    pub fn releases_announced(&self, count: u64) {
        self.releases_announced.inc_by(count);
    }

    /// Records one finished request.
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[route, method])
            .observe(seconds);
    }

    /// Renders every metric in the Prometheus text format, with what is read at scrape time:
    /// the pool's state, the use cases' sign-in refusals, and the age of the oldest event a
    /// webhook still has to be sent (kept as it was when it could not be read).
    pub fn render(
        &self,
        pool: &hubbook_store::DbPool,
        refusals: &hubbook_service::sign_in::SignInRefusals,
        oldest_undelivered_seconds: Option<f64>,
    ) -> String {
        {
            let _one_at_a_time = self
                .refusals_synced
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (reason, total) in [
                ("wrong_credentials", refusals.wrong_credentials()),
                ("throttled", refusals.throttled()),
            ] {
                let counter = self.sign_in_refusals.with_label_values(&[reason]);
                counter.inc_by(total.saturating_sub(counter.get()));
            }
        }
        if let Some(seconds) = oldest_undelivered_seconds {
            self.oldest_undelivered.set(seconds);
        }
        let state = pool.state();
        self.pool_size.set(i64::from(state.connections));
        self.pool_idle.set(i64::from(state.idle_connections));
        self.pool_max.set(i64::from(pool.max_size()));
        let mut buffer = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// Middleware: times each request, counts it, and writes one log line without patient data.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    // Only standard methods become label values: a made-up method must not create a series.
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m.to_owned(),
        _ => "OTHER".to_owned(),
    };
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    if let Some(state) = state {
        state.metrics.observe(&route, &method, status, seconds);
    }
    tracing::info!(target: "hubbook::http", %method, %route, status, latency_ms = seconds * 1000.0, "request");
    Ok(response)
}
