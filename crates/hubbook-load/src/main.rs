//! `hubbook-load`: drives a running hubbook over HTTP with virtual users (receptionists of the
//! demo cluster, of a seeded data set, or a 111 triage client) and reports throughput, latency
//! percentiles, statuses and the server's memory, as markdown and optionally as JSON.
//!
//! Scenarios: `search`, `book` (search, hold, book), `triage` (111 bookings) and `mixed`
//! (search, book and cancel). Closed model by default (each virtual user sends its next
//! iteration when the last one answered), or an open model with `--rate`, which measures from
//! each arrival's scheduled time so a server that falls behind cannot hide its queueing.

mod report;
mod rss;
mod scenario;
mod schedule;
mod users;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Parser;
use rand::rngs::StdRng;
use rand::SeedableRng;

use report::{Arrivals, RunInfo, Tally};
use scenario::{Locations, Scenario, Shared, VirtualUser, PAUSE_AFTER_FAILURE};
use schedule::{Mix, Schedule, Start};
use users::{Roster, SplitMix64};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    about = "Load a running hubbook and report latency percentiles, statuses and server memory"
)]
struct Args {
    /// The server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// What each virtual user does.
    #[arg(long, value_enum, default_value_t = Scenario::Search)]
    scenario: Scenario,
    /// Virtual users (closed model), or the most iterations in flight at once (with --rate).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Open model: start this many iterations per second at fixed intervals, whatever the
    /// server's pace; latency is measured from each one's scheduled start.
    #[arg(long)]
    rate: Option<f64>,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Receptionist usernames, shared round-robin by the virtual users (default: the demo's).
    #[arg(
        long,
        value_delimiter = ',',
        default_values_t = users::DEMO_RECEPTIONISTS.map(String::from),
        conflicts_with = "seeded_clusters"
    )]
    users: Vec<String>,
    /// Use the seeded data set's clusters 1..=N instead: receptionists `rcp-{c:05}-{p}`, p in
    /// 1..=4, each virtual user drawing its own cluster and practice from --seed.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    seeded_clusters: Option<u32>,
    /// Seed of every random draw (users, offers, mix, dispositions, locations).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The receptionists' password (the seeded data set uses `seed-password`).
    #[arg(
        long,
        env = "HUBBOOK_DEMO_PASSWORD",
        default_value = "demo-password",
        hide_env_values = true
    )]
    password: String,
    /// The triage client's id (the seeded data set's is `seed-111`).
    #[arg(long, default_value = "demo-111")]
    client_id: String,
    /// The triage client's secret (default: --password).
    #[arg(long, env = "HUBBOOK_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Triage patients: southern edge of the box they are placed in (degrees north).
    #[arg(long, default_value_t = 50.5, allow_negative_numbers = true)]
    lat_min: f64,
    /// Triage patients: northern edge (degrees north).
    #[arg(long, default_value_t = 55.0, allow_negative_numbers = true)]
    lat_max: f64,
    /// Triage patients: western edge (degrees east).
    #[arg(long, default_value_t = -3.5, allow_negative_numbers = true)]
    lon_min: f64,
    /// Triage patients: eastern edge (degrees east).
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    lon_max: f64,
    /// Triage patients: send one of these postcodes as the location instead of coordinates.
    #[arg(long, value_delimiter = ',')]
    postcodes: Vec<String>,
    /// The `mixed` scenario's weights of search, book and cancel.
    #[arg(long, default_value_t = Mix::DEFAULT)]
    mix: Mix,
    /// Logins sent at once before the clock starts (each is a slow argon2 check on the server).
    #[arg(long, default_value_t = 4)]
    login_concurrency: usize,
    /// Give up on a request after this many seconds (counted as a transport timeout).
    #[arg(long, default_value_t = 30)]
    timeout_seconds: u64,
    /// The server's process id: report its peak RSS (VmHWM) after the run and the largest
    /// VmRSS sampled every 250 ms during it, from /proc/PID/status.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Also write every figure as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

impl Args {
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.concurrency > 0, "--concurrency must be at least 1");
        anyhow::ensure!(self.seconds > 0, "--seconds must be at least 1");
        if let Some(rate) = self.rate {
            anyhow::ensure!(
                rate.is_finite() && rate > 0.0,
                "--rate must be a positive number"
            );
        }
        anyhow::ensure!(
            self.seeded_clusters.is_some() || !self.users.is_empty(),
            "give at least one user"
        );
        anyhow::ensure!(
            self.lat_min <= self.lat_max && self.lon_min <= self.lon_max,
            "the triage box needs --lat-min <= --lat-max and --lon-min <= --lon-max"
        );
        anyhow::ensure!(
            (-90.0..=90.0).contains(&self.lat_min) && (-90.0..=90.0).contains(&self.lat_max),
            "latitudes lie between -90 and 90"
        );
        anyhow::ensure!(
            (-180.0..=180.0).contains(&self.lon_min) && (-180.0..=180.0).contains(&self.lon_max),
            "longitudes lie between -180 and 180"
        );
        Ok(())
    }

    fn roster(&self) -> Roster {
        match self.seeded_clusters {
            Some(clusters) => Roster::Seeded {
                clusters,
                seed: self.seed,
            },
            None => Roster::Explicit(self.users.clone()),
        }
    }

    fn locations(&self) -> Locations {
        if self.postcodes.is_empty() {
            Locations::Box {
                lat: (self.lat_min, self.lat_max),
                lon: (self.lon_min, self.lon_max),
            }
        } else {
            Locations::Postcodes(self.postcodes.clone())
        }
    }
}

/// The open model's counters, shared by its workers.
#[derive(Default)]
struct OpenCounters {
    next: AtomicU64,
    started: AtomicU64,
    late: AtomicU64,
    max_lag_micros: AtomicU64,
}

/// A closed-model virtual user: the next iteration as soon as the last one answered.
async fn closed_loop(mut vu: VirtualUser, s: Arc<Shared>, scenario: Scenario, until: Instant) {
    while Instant::now() < until {
        if !vu.iterate(&s, scenario, Instant::now()).await {
            tokio::time::sleep(PAUSE_AFTER_FAILURE).await;
        }
    }
}

/// An open-model worker: claims the next arrival, waits for its time (or starts at once, late,
/// if it was already due) and times the iteration from when it was due.
async fn open_loop(
    mut vu: VirtualUser,
    s: Arc<Shared>,
    scenario: Scenario,
    schedule: Schedule,
    start: Instant,
    counters: Arc<OpenCounters>,
) {
    loop {
        let k = counters.next.fetch_add(1, Ordering::Relaxed);
        let Some(due) = schedule.due(k) else {
            return;
        };
        match schedule.start(due, start.elapsed()) {
            Start::OnTime { .. } => {
                tokio::time::sleep_until(tokio::time::Instant::from_std(start + due)).await;
            }
            Start::Late { lag } => {
                counters.late.fetch_add(1, Ordering::Relaxed);
                let micros = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
                counters.max_lag_micros.fetch_max(micros, Ordering::Relaxed);
            }
            Start::Dropped => return,
        }
        counters.started.fetch_add(1, Ordering::Relaxed);
        vu.iterate(&s, scenario, start + due).await;
    }
}

/// Logs every distinct user in, a few at a time: username to bearer token, and the shortest
/// token lifetime.
async fn log_in(
    client: &reqwest::Client,
    base: &str,
    names: Vec<String>,
    password: &str,
    limit: usize,
) -> anyhow::Result<(HashMap<String, String>, u64)> {
    let logins = scenario::bounded(names, limit, |name| {
        let (client, base) = (client.clone(), base.to_owned());
        let grant = scenario::password_grant(&name, password);
        async move { (name, scenario::token(&client, &base, &grant).await) }
    })
    .await?;
    let mut tokens = HashMap::new();
    let mut shortest = u64::MAX;
    for (name, token) in logins {
        let token = token?;
        shortest = shortest.min(token.expires_in);
        tokens.insert(name, token.access_token);
    }
    Ok((tokens, shortest))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    args.check()?;
    let base = args.base_url.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(args.timeout_seconds))
        .build()?;
    if let Some(pid) = args.server_pid {
        rss::check(pid)?;
    }

    // Everyone logs in before the clock starts.
    let (tokens, distinct_logins, lifetime, dispositions) = if args.scenario == Scenario::Triage {
        let secret = args.client_secret.as_deref().unwrap_or(&args.password);
        let grant = scenario::client_grant(&args.client_id, secret);
        let token = scenario::token(&client, &base, &grant).await?;
        let codes = scenario::active_dispositions(&client, &base, &token.access_token).await?;
        anyhow::ensure!(!codes.is_empty(), "no active dispositions to triage with");
        let tokens = vec![token.access_token; args.concurrency];
        (tokens, 1, token.expires_in, codes)
    } else {
        let assigned = users::assign(&args.roster(), args.concurrency);
        let names = users::distinct(&assigned);
        let count = names.len();
        let (by_name, lifetime) = log_in(
            &client,
            &base,
            names,
            &args.password,
            args.login_concurrency,
        )
        .await?;
        let tokens = assigned
            .iter()
            .map(|u| by_name.get(u).cloned().unwrap_or_default())
            .collect();
        (tokens, count, lifetime, Vec::new())
    };
    if lifetime < args.seconds + 30 {
        eprintln!(
            "warning: tokens live {lifetime} s, shorter than the run; later requests will get 401"
        );
    }

    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let shared = Arc::new(Shared {
        client,
        base,
        tally: Arc::new(Mutex::new(Tally::new()?)),
        run,
        serials: AtomicU64::new(0),
        serial_offset: (run % u128::from(users::DISTINCT_PATIENTS)) as u64,
        mix: args.mix,
        dispositions,
        locations: args.locations(),
    });
    let mut seeds = SplitMix64::new(args.seed);
    let vus: Vec<VirtualUser> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| VirtualUser::new(i, token, StdRng::seed_from_u64(seeds.next_u64())))
        .collect();

    let sampler = args.server_pid.map(rss::Sampler::start);
    let run_for = Duration::from_secs(args.seconds);
    let started = Instant::now();
    let open = args.rate.and_then(|rate| Schedule::new(rate, run_for));
    let counters = Arc::new(OpenCounters::default());
    let tasks: Vec<_> = vus
        .into_iter()
        .map(|vu| match open {
            Some(schedule) => tokio::spawn(open_loop(
                vu,
                shared.clone(),
                args.scenario,
                schedule,
                started,
                counters.clone(),
            )),
            None => tokio::spawn(closed_loop(
                vu,
                shared.clone(),
                args.scenario,
                started + run_for,
            )),
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let memory = sampler.map(rss::Sampler::finish);

    let info = RunInfo {
        scenario: args.scenario.name().to_owned(),
        model: if open.is_some() { "open" } else { "closed" }.to_owned(),
        concurrency: args.concurrency,
        rate: open.and(args.rate),
        users: distinct_logins,
    };
    let mut summary = shared
        .tally
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .summary(info, seconds);
    summary.arrivals = open.map(|schedule| {
        let started = counters.started.load(Ordering::Relaxed);
        Arrivals {
            scheduled: schedule.arrivals(),
            started,
            late: counters.late.load(Ordering::Relaxed),
            max_lag_ms: counters.max_lag_micros.load(Ordering::Relaxed) as f64 / 1000.0,
            dropped: schedule.arrivals().saturating_sub(started),
        }
    });
    summary.peak_rss_kb = memory.as_ref().and_then(|m| m.peak_rss_kb);
    summary.server = memory;
    print!("{}", summary.markdown());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, text + "\n")
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn the_defaults_drive_the_demo() {
        let args = Args::try_parse_from(["hubbook-load"]).unwrap();
        assert_eq!(args.users, users::DEMO_RECEPTIONISTS);
        assert_eq!(args.roster(), Roster::Explicit(args.users.clone()));
        assert_eq!(args.client_id, "demo-111");
        assert_eq!(args.mix, Mix::DEFAULT);
        assert!(args.rate.is_none());
        args.check().unwrap();
    }

    #[test]
    fn seeded_clusters_replace_the_user_list() {
        let args = Args::try_parse_from(["hubbook-load", "--seeded-clusters", "3", "--seed", "9"])
            .unwrap();
        assert_eq!(
            args.roster(),
            Roster::Seeded {
                clusters: 3,
                seed: 9
            }
        );
        assert!(
            Args::try_parse_from(["hubbook-load", "--seeded-clusters", "3", "--users", "a,b"])
                .is_err()
        );
        assert!(Args::try_parse_from(["hubbook-load", "--seeded-clusters", "0"]).is_err());
    }

    #[test]
    fn nonsense_settings_are_refused() {
        for bad in [
            &["--rate", "0"][..],
            &["--rate", "-5"],
            &["--concurrency", "0"],
            &["--lat-min", "56", "--lat-max", "55"],
            &["--lon-min", "-200"],
        ] {
            let args =
                Args::try_parse_from(std::iter::once("hubbook-load").chain(bad.iter().copied()));
            assert!(args.map_or(true, |a| a.check().is_err()), "{bad:?}");
        }
    }

    #[test]
    fn postcodes_replace_the_box() {
        let args =
            Args::try_parse_from(["hubbook-load", "--postcodes", "LS7 3AA,LS11 5AA"]).unwrap();
        match args.locations() {
            Locations::Postcodes(p) => assert_eq!(p, ["LS7 3AA", "LS11 5AA"]),
            other => panic!("{other:?}"),
        }
        let args = Args::try_parse_from(["hubbook-load"]).unwrap();
        match args.locations() {
            Locations::Box { lat, lon } => {
                assert_eq!(lat, (50.5, 55.0));
                assert_eq!(lon, (-3.5, 0.5));
            }
            other => panic!("{other:?}"),
        }
    }
}
