//! What a run measured and how it is shown: latency histograms per operation, statuses by
//! operation and problem `type`, counted events, and the summary printed as markdown and written
//! as JSON for scripts that build comparison tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// What is timed: one request kind, or a whole `book` iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `GET /api/v1/slots`.
    Search,
    /// `POST /api/v1/slots/{id}/hold`.
    Hold,
    /// `POST /api/v1/appointments`.
    Book,
    /// `POST /api/v1/appointments/{id}/cancel`.
    Cancel,
    /// `POST /api/v1/triage/bookings`.
    Triage,
    /// A whole booking: search, hold (with its retries) and book.
    BookIteration,
}

impl Op {
    /// Every operation, in report order.
    pub const ALL: [Op; 6] = [
        Op::Search,
        Op::Hold,
        Op::Book,
        Op::Cancel,
        Op::Triage,
        Op::BookIteration,
    ];

    /// Its key in statuses and in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Op::Search => "search",
            Op::Hold => "hold",
            Op::Book => "book",
            Op::Cancel => "cancel",
            Op::Triage => "triage",
            Op::BookIteration => "book_iteration",
        }
    }

    /// Its row label in the markdown table.
    fn label(self) -> &'static str {
        match self {
            Op::BookIteration => "book iteration (search+hold+book)",
            other => other.name(),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The highest latency a histogram holds, in microseconds (an hour); longer ones are recorded as
/// this.
const HIGHEST_MICROS: u64 = 3_600_000_000;

/// Everything measured during a run, shared by all virtual users behind one lock.
#[derive(Debug)]
pub struct Tally {
    latency: Vec<Histogram<u64>>,
    statuses: BTreeMap<String, u64>,
    events: BTreeMap<String, u64>,
    fivexx: u64,
    transport_errors: u64,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> anyhow::Result<Self> {
        let latency = Op::ALL
            .iter()
            .map(|_| Histogram::new_with_bounds(1, HIGHEST_MICROS, 3))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            latency,
            statuses: BTreeMap::new(),
            events: BTreeMap::new(),
            fivexx: 0,
            transport_errors: 0,
        })
    }

    /// Records one latency of `op`.
    pub fn time(&mut self, op: Op, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        self.latency[op.index()].saturating_record(micros);
    }

    /// Counts one answer of `op`: `"{op} {status}"`, followed by the problem `type` when the
    /// answer is a problem document carrying one.
    pub fn status(&mut self, op: Op, status: u16, problem_type: Option<&str>) {
        let key = match problem_type {
            Some(kind) => format!("{} {status} {kind}", op.name()),
            None => format!("{} {status}", op.name()),
        };
        *self.statuses.entry(key).or_default() += 1;
        if (500..600).contains(&status) {
            self.fivexx += 1;
        }
    }

    /// Counts a request of `op` that got no answer (refused, reset, timed out...).
    pub fn transport_error(&mut self, op: Op, kind: &str) {
        *self
            .statuses
            .entry(format!("{} transport {kind}", op.name()))
            .or_default() += 1;
        self.transport_errors += 1;
    }

    /// Counts an event that is not an answer, e.g. a hold retried after a 409.
    pub fn event(&mut self, name: &str) {
        *self.events.entry(name.to_owned()).or_default() += 1;
    }

    /// The summary of the run, over `seconds` of wall time.
    pub fn summary(&self, run: RunInfo, seconds: f64) -> Summary {
        let operations = Op::ALL
            .iter()
            .filter(|op| !self.latency[op.index()].is_empty())
            .map(|op| {
                (
                    op.name().to_owned(),
                    OpStats::of(&self.latency[op.index()], seconds),
                )
            })
            .collect();
        Summary {
            scenario: run.scenario,
            model: run.model,
            concurrency: run.concurrency,
            rate: run.rate,
            users: run.users,
            seconds,
            operations,
            statuses: self.statuses.clone(),
            fivexx: self.fivexx,
            transport_errors: self.transport_errors,
            events: self.events.clone(),
            arrivals: None,
            server: None,
            peak_rss_kb: None,
        }
    }
}

/// The settings of a run, as the summary repeats them.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// `search`, `book`, `triage` or `mixed`.
    pub scenario: String,
    /// `closed` or `open`.
    pub model: String,
    /// Virtual users (closed) or the cap on iterations in flight (open).
    pub concurrency: usize,
    /// Arrivals per second (open model only).
    pub rate: Option<f64>,
    /// Distinct logins used.
    pub users: usize,
}

/// Latency figures of one operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpStats {
    /// How many were timed.
    pub count: u64,
    /// `count` over the run's seconds.
    pub per_second: f64,
    /// Mean, in milliseconds.
    pub mean_ms: f64,
    /// Median, in milliseconds.
    pub p50_ms: f64,
    /// 90th percentile, in milliseconds.
    pub p90_ms: f64,
    /// 99th percentile, in milliseconds.
    pub p99_ms: f64,
    /// 99.9th percentile, in milliseconds.
    pub p999_ms: f64,
    /// The slowest, in milliseconds.
    pub max_ms: f64,
}

impl OpStats {
    /// The figures of a histogram of microseconds, over `seconds` of run.
    pub fn of(h: &Histogram<u64>, seconds: f64) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            count: h.len(),
            per_second: if seconds > 0.0 {
                h.len() as f64 / seconds
            } else {
                0.0
            },
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// The open model's bookkeeping of arrivals.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Arrivals {
    /// Due before the end of the run.
    pub scheduled: u64,
    /// Sent.
    pub started: u64,
    /// Sent after their time because every worker was busy (the cap was hit); their latency
    /// includes the wait.
    pub late: u64,
    /// The furthest behind schedule an arrival started, in milliseconds.
    pub max_lag_ms: f64,
    /// Never sent: no worker was free before the run ended.
    pub dropped: u64,
}

/// The server's memory, from `/proc/PID/status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerMemory {
    /// The server's process id.
    pub pid: u32,
    /// `VmHWM` after the run: the peak resident set since the process started, in kB.
    pub peak_rss_kb: Option<u64>,
    /// The largest `VmRSS` seen while sampling every 250 ms during the run, in kB.
    pub max_sampled_rss_kb: Option<u64>,
    /// `VmRSS` after the run, in kB.
    pub rss_after_kb: Option<u64>,
}

/// Every figure of a run, as `--json` writes it.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// `search`, `book`, `triage` or `mixed`.
    pub scenario: String,
    /// `closed` or `open`.
    pub model: String,
    /// Virtual users (closed) or the cap on iterations in flight (open).
    pub concurrency: usize,
    /// Arrivals per second (open model), else `null`.
    pub rate: Option<f64>,
    /// Distinct logins used.
    pub users: usize,
    /// Wall time of the run, in seconds.
    pub seconds: f64,
    /// Latency figures by operation (`search`, `hold`, `book`, `cancel`, `triage`,
    /// `book_iteration`); operations that never ran are left out.
    pub operations: BTreeMap<String, OpStats>,
    /// Answers by `"{op} {status}[ {problem type}]"`, and `"{op} transport {kind}"` for requests
    /// that got none.
    pub statuses: BTreeMap<String, u64>,
    /// Answers with a 5xx status, all operations together.
    pub fivexx: u64,
    /// Requests that got no answer.
    pub transport_errors: u64,
    /// Counted events that are not answers (hold retries, nothing offered...).
    pub events: BTreeMap<String, u64>,
    /// The open model's arrivals; `null` for the closed model.
    pub arrivals: Option<Arrivals>,
    /// The server's memory, with `--server-pid`.
    pub server: Option<ServerMemory>,
    /// `VmHWM` of the server in kB, repeated from `server` for scripts.
    pub peak_rss_kb: Option<u64>,
}

impl Summary {
    /// The summary as a markdown report: a header line, the latency table, statuses, and the
    /// lines for 5xx, events, arrivals and server memory.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let model = match self.rate {
            Some(rate) => format!(
                "open model at {rate} per second (at most {} in flight)",
                self.concurrency
            ),
            None => format!("closed model, {} virtual users", self.concurrency),
        };
        let _ = writeln!(
            out,
            "scenario `{}`, {model}, {:.1} s, {} distinct logins\n",
            self.scenario, self.seconds, self.users
        );
        out.push_str(
            "| operation | count | per second | mean ms | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n",
        );
        out.push_str("|---|---|---|---|---|---|---|---|---|\n");
        for op in Op::ALL {
            if let Some(s) = self.operations.get(op.name()) {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                    op.label(),
                    s.count,
                    s.per_second,
                    s.mean_ms,
                    s.p50_ms,
                    s.p90_ms,
                    s.p99_ms,
                    s.p999_ms,
                    s.max_ms
                );
            }
        }
        out.push_str("\n| status | count |\n|---|---|\n");
        for (k, v) in &self.statuses {
            let _ = writeln!(out, "| {k} | {v} |");
        }
        let _ = writeln!(
            out,
            "\n5xx answers: {}; requests without an answer: {}",
            self.fivexx, self.transport_errors
        );
        if !self.events.is_empty() {
            let events: Vec<String> = self
                .events
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            let _ = writeln!(out, "events: {}", events.join("; "));
        }
        if let Some(a) = &self.arrivals {
            let _ = writeln!(
                out,
                "arrivals: {} due, {} sent, {} late (all workers busy; worst {:.1} ms behind), {} dropped",
                a.scheduled, a.started, a.late, a.max_lag_ms, a.dropped
            );
        }
        if let Some(m) = &self.server {
            let kb = |v: Option<u64>| v.map_or("?".to_owned(), |v| format!("{v} kB"));
            let _ = writeln!(
                out,
                "server {}: peak RSS (VmHWM) {}, largest VmRSS sampled during the run {}, VmRSS after {}",
                m.pid,
                kb(m.peak_rss_kb),
                kb(m.max_sampled_rss_kb),
                kb(m.rss_after_kb)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunInfo {
        RunInfo {
            scenario: "book".into(),
            model: "closed".into(),
            concurrency: 8,
            rate: None,
            users: 6,
        }
    }

    #[test]
    fn percentiles_come_from_the_recorded_latencies() {
        let mut t = Tally::new().unwrap();
        for ms in 1..=1000 {
            t.time(Op::Search, Duration::from_millis(ms));
        }
        t.time(Op::Book, Duration::from_secs(2));
        let s = t.summary(run(), 10.0);
        let search = &s.operations["search"];
        assert_eq!(search.count, 1000);
        assert!((search.per_second - 100.0).abs() < 1e-9);
        // hdrhistogram keeps three significant digits: within 0.1%.
        let near = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 1e-9;
        assert!(near(search.p50_ms, 500.0), "{}", search.p50_ms);
        assert!(near(search.p90_ms, 900.0), "{}", search.p90_ms);
        assert!(near(search.p99_ms, 990.0), "{}", search.p99_ms);
        assert!(near(search.p999_ms, 999.0), "{}", search.p999_ms);
        assert!(near(search.max_ms, 1000.0), "{}", search.max_ms);
        assert!(near(search.mean_ms, 500.5), "{}", search.mean_ms);
        assert!(near(s.operations["book"].p50_ms, 2000.0));
        assert!(!s.operations.contains_key("hold"), "never timed, left out");
    }

    #[test]
    fn statuses_carry_the_problem_type_and_5xx_are_counted() {
        let mut t = Tally::new().unwrap();
        t.status(Op::Book, 201, None);
        t.status(Op::Book, 409, Some("slot-unavailable"));
        t.status(Op::Book, 409, Some("slot-unavailable"));
        t.status(Op::Triage, 409, Some("no-capacity"));
        t.status(Op::Search, 500, Some("internal"));
        t.status(Op::Search, 503, None);
        t.transport_error(Op::Hold, "timeout");
        t.event("hold retried after 409");
        let s = t.summary(run(), 1.0);
        assert_eq!(s.statuses["book 201"], 1);
        assert_eq!(s.statuses["book 409 slot-unavailable"], 2);
        assert_eq!(s.statuses["triage 409 no-capacity"], 1);
        assert_eq!(s.statuses["hold transport timeout"], 1);
        assert_eq!(s.fivexx, 2);
        assert_eq!(s.transport_errors, 1);
        assert_eq!(s.events["hold retried after 409"], 1);
    }

    #[test]
    fn the_json_has_the_fields_scripts_read() {
        let mut t = Tally::new().unwrap();
        t.time(Op::BookIteration, Duration::from_millis(12));
        t.status(Op::Book, 201, None);
        let mut s = t.summary(
            RunInfo {
                model: "open".into(),
                rate: Some(200.0),
                ..run()
            },
            2.0,
        );
        s.arrivals = Some(Arrivals {
            scheduled: 400,
            started: 398,
            late: 3,
            max_lag_ms: 4.5,
            dropped: 2,
        });
        s.server = Some(ServerMemory {
            pid: 42,
            peak_rss_kb: Some(50_000),
            max_sampled_rss_kb: Some(49_000),
            rss_after_kb: Some(48_000),
        });
        s.peak_rss_kb = Some(50_000);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["scenario"], "book");
        assert_eq!(json["model"], "open");
        assert_eq!(json["rate"], 200.0);
        assert_eq!(json["concurrency"], 8);
        assert_eq!(json["seconds"], 2.0);
        assert_eq!(json["operations"]["book_iteration"]["count"], 1);
        assert_eq!(json["operations"]["book_iteration"]["per_second"], 0.5);
        assert!(
            json["operations"]["book_iteration"]["p999_ms"]
                .as_f64()
                .unwrap()
                >= 11.9
        );
        assert_eq!(json["statuses"]["book 201"], 1);
        assert_eq!(json["fivexx"], 0);
        assert_eq!(json["arrivals"]["dropped"], 2);
        assert_eq!(json["peak_rss_kb"], 50_000);
        assert_eq!(json["server"]["max_sampled_rss_kb"], 49_000);
        let md = s.markdown();
        assert!(
            md.contains("| book iteration (search+hold+book) | 1 |"),
            "{md}"
        );
        assert!(md.contains("2 dropped"), "{md}");
        assert!(md.contains("peak RSS (VmHWM) 50000 kB"), "{md}");
    }

    #[test]
    fn absurd_latencies_are_kept_at_the_ceiling() {
        let mut t = Tally::new().unwrap();
        t.time(Op::Triage, Duration::from_secs(10 * 3600));
        t.time(Op::Triage, Duration::ZERO);
        let s = t.summary(run(), 1.0);
        assert_eq!(s.operations["triage"].count, 2);
        assert!(s.operations["triage"].max_ms >= 3_599_000.0);
    }
}
