//! The `hubbook` command: serve the API, run the demo, migrate, manage users, print the OpenAPI.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use hubbook::{demo, open_database, seed, Application, Settings};
use hubbook_api::auth::{hash_secret, Caller, Principal, Scope, SubjectKind};
use hubbook_core::{Clock, Role, SystemClock};
use hubbook_store::repo::{clusters, practices, users, Change};

#[derive(Parser)]
#[command(
    name = "hubbook",
    version,
    about = "Shared appointment capacity for GP practices in a cluster"
)]
struct Cli {
    /// Read settings from this TOML file: one key per HUBBOOK_* variable, named without the
    /// prefix in lower case (`bind = "127.0.0.1:8080"`). A flag wins over the environment,
    /// which wins over the file.
    #[arg(long, env = "HUBBOOK_CONFIG", global = true, value_name = "PATH")]
    config: Option<std::path::PathBuf>,
    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, env = "HUBBOOK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (migrating the database first).
    Serve(ServeArgs),
    /// Seed a demo cluster in an embedded SQLite file and serve it on 127.0.0.1:8080.
    Demo(DemoArgs),
    /// Apply pending database migrations and exit.
    Migrate(DbArgs),
    /// Load a deterministic synthetic data set at national scale into an empty database.
    Seed(SeedArgs),
    /// Manage staff users from the command line (for the first admin).
    #[command(subcommand)]
    User(UserCommand),
    /// Print a completion script for a shell (`hubbook completions bash > /etc/bash_completion.d/hubbook`).
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the OpenAPI document generated from the code.
    Openapi {
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
}

#[derive(Clone, Args)]
struct DbArgs {
    /// Database URL: `sqlite://path/to/file.db` or `postgres://user@host/db`.
    #[arg(
        long,
        env = "HUBBOOK_DATABASE_URL",
        default_value = "sqlite://hubbook.db"
    )]
    database_url: String,
}

#[derive(Clone, Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on.
    #[arg(long, env = "HUBBOOK_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Secret that signs access tokens (at least 32 bytes). Never logged.
    #[arg(long, env = "HUBBOOK_JWT_SECRET", hide_env_values = true)]
    jwt_secret: String,
    /// Access-token lifetime in seconds.
    #[arg(long, env = "HUBBOOK_TOKEN_TTL", default_value_t = 900)]
    token_ttl: i64,
    /// Most database connections.
    #[arg(long, env = "HUBBOOK_DB_POOL_SIZE", default_value_t = 16)]
    pool_size: u32,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "HUBBOOK_WORKERS")]
    workers: Option<usize>,
    /// How long a hold keeps a slot for its holder, in seconds.
    #[arg(long, env = "HUBBOOK_HOLD_SECONDS", default_value_t = 120)]
    hold_seconds: i64,
    /// How often release announcements and webhook deliveries run, in milliseconds (10 to 60000).
    #[arg(long, env = "HUBBOOK_EVENTS_INTERVAL_MS", default_value_t = 10_000)]
    events_interval_ms: u64,
    /// The first wait after a failed webhook delivery, in milliseconds; doubled up to an hour.
    #[arg(long, env = "HUBBOOK_WEBHOOK_BACKOFF_MS", default_value_t = 5_000)]
    webhook_backoff_ms: u64,
    /// How long a process holds background work (a webhook's deliveries, release announcements)
    /// without renewing it, in milliseconds (1000 to 600000); another process then takes over.
    #[arg(long, env = "HUBBOOK_WORK_LEASE_MS", default_value_t = 30_000)]
    work_lease_ms: u64,
    /// This provider's ASID (Accredited System ID) for GP Connect: requests whose `Ssp-To`
    /// names another are refused.
    #[arg(long, env = "HUBBOOK_GPCONNECT_ASID", default_value = hubbook::DEMO_ASID)]
    gpconnect_asid: String,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, env = "HUBBOOK_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "HUBBOOK_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// The PEM CA that signs client certificates: with it, clients may present one (the GP
    /// Connect facade's consumers must, and it must be registered to their integration).
    #[arg(long, env = "HUBBOOK_TLS_CLIENT_CA", requires = "tls_cert")]
    tls_client_ca: Option<std::path::PathBuf>,
}

#[derive(Clone, Args)]
struct DemoArgs {
    /// Address to listen on.
    #[arg(long, env = "HUBBOOK_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// The demo's database; created if missing, reused if present.
    #[arg(
        long,
        env = "HUBBOOK_DEMO_DATABASE_URL",
        default_value = "sqlite://hubbook-demo.db"
    )]
    database_url: String,
    /// Password of every demo user and secret of the demo triage client.
    #[arg(
        long,
        env = "HUBBOOK_DEMO_PASSWORD",
        default_value = "demo-password",
        hide_env_values = true
    )]
    password: String,
}

#[derive(Clone, Args)]
struct SeedArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Clusters (primary care networks) to create; England has about 1,250.
    #[arg(long, default_value_t = 1)]
    clusters: u32,
    /// Weeks of rota published from this week on.
    #[arg(long, default_value_t = 26)]
    weeks: u32,
    /// Weeks of booked history published before this week.
    #[arg(long, default_value_t = 4)]
    history_weeks: u32,
    /// The random seed: the same seed, start and sizes give the same data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The first week ahead, as a date in it (default: this week); fix it for repeatable data.
    #[arg(long)]
    start: Option<chrono::NaiveDate>,
    /// Password of every seeded user and secret of the seeded 111 client.
    #[arg(
        long,
        env = "HUBBOOK_SEED_PASSWORD",
        default_value = "seed-password",
        hide_env_values = true
    )]
    password: String,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a staff user; the password is read from HUBBOOK_USER_PASSWORD or standard input.
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// Login name.
        #[arg(long)]
        username: String,
        /// `admin`, `cluster_manager`, `hub_staff` or `receptionist`.
        #[arg(long)]
        role: Role,
        /// Cluster code (every role but admin).
        #[arg(long)]
        cluster: Option<String>,
        /// Practice ODS code (receptionists).
        #[arg(long)]
        practice: Option<String>,
        /// Name shown to others (defaults to the username).
        #[arg(long)]
        display_name: Option<String>,
    },
}

/// Limits glibc's allocator to one arena per two cores (at least one), unless `MALLOC_ARENA_MAX`
/// or `GLIBC_TUNABLES` already says how many.
///
/// glibc gives a thread that finds the allocator busy an arena of its own, up to eight per core,
/// and each arena keeps what is freed into it. The server's blocking threads (a database call
/// each) touch many arenas, and with 16 users booking on SQLite the arenas held 40-45 MB more
/// than the 21 MB the heap itself ever held; with one arena on two cores a search costs the same
/// (2,479-2,548 against 2,473-2,717 a second, alternate runs) and the peak is 62-64 MB against
/// 97 MB. Called first, while the process has one thread.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    let tuned = std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("arena_max"));
    if tuned {
        return;
    }
    let arenas = std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).clamp(1, 64));
    // SAFETY: mallopt only sets one of the allocator's parameters (it returns 0 if it refuses,
    // leaving glibc's default); nothing else runs yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas as libc::c_int);
    }
}

/// Other C libraries' allocators need no limit.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

/// Runs the command; an error is printed as one line, `error: ` and its causes, never with a
/// backtrace (even under `RUST_BACKTRACE=1`), and the process exits with status 1.
fn main() -> ExitCode {
    limit_malloc_arenas();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // The file fills the variables the environment leaves unset, before clap reads them, while
    // this process has one thread.
    if let Err(error) = hubbook::config::apply(&args) {
        eprintln!("error: {error:#}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse_from(args);
    init_logging(cli.log_format);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(args),
        Command::Demo(args) => run_demo(args),
        Command::Migrate(db) => {
            let pool =
                hubbook_store::connect(&db.database_url, &hubbook_store::PoolOptions::default())?;
            let applied = pool.get()?.run_migrations()?;
            println!("{applied} migration(s) applied; the database is up to date");
            Ok(())
        }
        Command::Seed(args) => run_seed(args),
        Command::User(UserCommand::Add {
            db,
            username,
            role,
            cluster,
            practice,
            display_name,
        }) => add_user(
            &db,
            &username,
            role,
            cluster.as_deref(),
            practice.as_deref(),
            display_name.as_deref(),
        ),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "hubbook",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Openapi { output } => {
            let json = hubbook_api::openapi().to_pretty_json()?;
            match output {
                Some(path) => std::fs::write(&path, json + "\n")
                    .with_context(|| format!("writing {}", path.display()))?,
                None => println!("{json}"),
            }
            Ok(())
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HUBBOOK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings {
        database_url: args.db.database_url,
        bind: args.bind,
        jwt_secret: args.jwt_secret,
        token_ttl_seconds: args.token_ttl,
        pool_size: args.pool_size,
        workers: args.workers,
        hold_seconds: args.hold_seconds,
        events_interval_ms: args.events_interval_ms,
        webhook_backoff_ms: args.webhook_backoff_ms,
        work_lease_ms: args.work_lease_ms,
        gpconnect_asid: args.gpconnect_asid,
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(hubbook::TlsFiles {
                cert,
                key,
                client_ca: args.tls_client_ca,
            }),
            _ => None,
        },
    };
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&settings, Arc::new(SystemClock))?;
        tracing::info!(port = app.port(), "hubbook is serving");
        app.run_until_stopped().await?;
        tracing::info!("hubbook stopped");
        Ok(())
    })
}

fn run_demo(args: DemoArgs) -> anyhow::Result<()> {
    let clock = Arc::new(SystemClock);
    let settings = Settings {
        database_url: args.database_url.clone(),
        bind: args.bind,
        jwt_secret: std::env::var("HUBBOOK_JWT_SECRET")
            .unwrap_or_else(|_| hubbook_api::auth::generate_secret()),
        token_ttl_seconds: 900,
        pool_size: 8,
        workers: Some(2),
        hold_seconds: 120,
        events_interval_ms: 10_000,
        webhook_backoff_ms: 5_000,
        work_lease_ms: 30_000,
        gpconnect_asid: hubbook::DEMO_ASID.to_owned(),
        tls: None,
    };
    // Every setting is checked and the port bound before the demo's database is made.
    settings.check()?;
    let listener = hubbook::bind(&settings.bind)?;
    let pool = open_database(&args.database_url, 8)?;
    let seeded = demo::seed_demo(&mut *pool.get()?, &args.password, clock.now().naive_utc())?;
    drop(pool);
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build_on(listener, None, &settings, clock.clone())?;
        let state = app.state();
        let url = format!("http://127.0.0.1:{}", app.port());
        let manager = state
            .db(|c| {
                let m = users::find_user_by_username(c, "manager")?;
                Ok(Principal(Caller { id: m.id, kind: SubjectKind::User, role: Role::ClusterManager, scope: Scope { cluster: m.cluster_id.map(Into::into), ..Scope::default() }, credential: None }))
            })
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let token = state.tokens.issue_for(&manager, clock.now(), 12 * 3600).map_err(|e| anyhow::anyhow!("{e}"))?;
        let custom = std::env::var_os("HUBBOOK_DEMO_PASSWORD").is_some();
        let shown_password = if custom { "the value of HUBBOOK_DEMO_PASSWORD" } else { "demo-password" };
        let password_arg = if custom { "'\"$HUBBOOK_DEMO_PASSWORD\"'" } else { "demo-password" };
        let mut out = std::io::stdout().lock();
        writeln!(out, "hubbook demo ({}) on {}", match seeded { demo::Seeded::Created => "freshly seeded", demo::Seeded::Reused => "reusing the existing demo data" }, args.database_url)?;
        writeln!(out, "  console: {url}/   (sign in as reception-x00001, hubstaff, manager or admin; password: {shown_password})")?;
        writeln!(out, "  API:     {url}/api/v1   docs: {url}/docs/   health: {url}/health/ready")?;
        writeln!(out, "  cluster: {}   users (password: {shown_password}): {}", demo::DEMO_CLUSTER, demo::demo_usernames().join(", "))?;
        writeln!(out, "  triage client: {} (secret: {shown_password})", demo::DEMO_CLIENT)?;
        writeln!(out, "List the demo cluster's practices as its manager (token valid 12 hours):")?;
        writeln!(out, "  curl -s {url}/api/v1/clusters/{}/practices -H 'Authorization: Bearer {token}'", demo::DEMO_CLUSTER)?;
        writeln!(out, "Get a token of your own:")?;
        writeln!(out, "  curl -s -X POST {url}/api/v1/auth/token -H 'Content-Type: application/json' -d '{{\"grant_type\":\"password\",\"username\":\"manager\",\"password\":\"{password_arg}\"}}'")?;
        drop(out);
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn run_seed(args: SeedArgs) -> anyhow::Result<()> {
    let now = SystemClock.now().naive_utc();
    let today = args.start.unwrap_or(now.date());
    let start = seed::monday_of(today);
    let plan = seed::SeedPlan {
        clusters: args.clusters,
        weeks: args.weeks,
        history_weeks: args.history_weeks,
        seed: args.seed,
        start,
        // A fixed start fixes "now" too (Monday 00:00 UTC of that week), so the data repeat.
        now: match args.start {
            Some(_) => start.and_time(chrono::NaiveTime::MIN),
            None => now,
        },
        password_hash: hash_secret(&args.password).map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let pool = open_database(&args.db.database_url, 2)?;
    let mut conn = pool.get()?;
    let report = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(u64::from(plan.clusters))
            .with_style(indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} clusters at {per_sec} ({msg}), {elapsed} spent, about {eta} left",
        )?);
        bar.enable_steady_tick(std::time::Duration::from_millis(500));
        let report = seed::seed(&mut conn, &plan, &|p| {
            bar.set_position(u64::from(p.clusters));
            bar.set_message(format!(
                "{} rows, {:.0} rows/s",
                p.rows,
                p.rows_per_second()
            ));
            if p.clusters == p.of {
                bar.set_message("refreshing the planner's statistics");
            }
        });
        bar.finish_and_clear();
        report?
    } else {
        // Piped or logged: one line a batch, as a log reader expects.
        seed::seed(&mut conn, &plan, &|p| eprintln!("seed: {p}"))?
    };
    println!(
        "seeded {} clusters, {} practices ({} patients), {} sessions, {} slots, {} appointments: \
         {} rows in {:.1} s, {:.0} rows/s; statistics refreshed in {:.1} s",
        report.clusters,
        report.practices,
        report.patients,
        report.sessions,
        report.slots,
        report.appointments,
        report.rows,
        report.seconds,
        report.rows_per_second(),
        report.analyse_seconds
    );
    println!(
        "sign in as rcp-00001-1 .. rcp-{:05}-4 (receptionists), mgr-00001 .. (managers) or the 111 client {}",
        args.clusters,
        seed::SEED_CLIENT
    );
    Ok(())
}

fn add_user(
    db: &DbArgs,
    username: &str,
    role: Role,
    cluster: Option<&str>,
    practice: Option<&str>,
    display_name: Option<&str>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        role != Role::Triage,
        "triage clients are integrations: create them with POST /api/v1/integrations"
    );
    anyhow::ensure!(
        role.needs_cluster() == cluster.is_some(),
        "--cluster is needed for every role but admin, and only then"
    );
    anyhow::ensure!(
        role.needs_practice() == practice.is_some(),
        "--practice is needed for a receptionist, and only then"
    );
    let password = match std::env::var("HUBBOOK_USER_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprint!("password for {username}: ");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    anyhow::ensure!(
        password.chars().count() >= hubbook_api::routes::users::MIN_PASSWORD_LEN,
        "the password needs at least 12 characters"
    );
    let pool = open_database(&db.database_url, 2)?;
    let mut conn = pool.get()?;
    let (cluster_id, practice_id) = match cluster {
        None => (None, None),
        Some(code) => {
            let cluster = clusters::get_cluster_by_code(&mut conn, &code.to_ascii_uppercase())
                .with_context(|| format!("cluster {code}"))?;
            let practice_id = match practice {
                None => None,
                Some(ods) => Some(
                    practices::get_practice_by_ods(
                        &mut conn,
                        &cluster.id,
                        &ods.to_ascii_uppercase(),
                    )
                    .with_context(|| format!("practice {ods}"))?
                    .id,
                ),
            };
            (Some(cluster.id), practice_id)
        }
    };
    let hash = hash_secret(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let change = Change {
        actor: "system:cli".into(),
        at: SystemClock.now().naive_utc(),
    };
    let user = users::create_user(
        &mut conn,
        &change,
        users::NewUser {
            username: username.to_owned(),
            display_name: display_name.unwrap_or(username).to_owned(),
            password_hash: hash,
            role,
            cluster_id: cluster_id.map(Into::into),
            practice_id: practice_id.map(Into::into),
        },
    )?;
    println!("created {} user {} ({})", user.role, user.username, user.id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variable a flag reads has its key in the configuration file, and every key stands
    /// for a variable the command reads (by a flag, or directly: the log filter, the password
    /// of `user add`).
    #[test]
    fn the_file_has_one_key_per_variable() {
        fn variables(command: &clap::Command, into: &mut std::collections::BTreeSet<String>) {
            for arg in command.get_arguments() {
                if let Some(env) = arg.get_env() {
                    into.insert(env.to_string_lossy().into_owned());
                }
            }
            for sub in command.get_subcommands() {
                variables(sub, into);
            }
        }
        let mut read = std::collections::BTreeSet::new();
        variables(&Cli::command(), &mut read);
        read.remove(hubbook::config::CONFIG_VARIABLE);
        read.extend(["HUBBOOK_LOG".to_owned(), "HUBBOOK_USER_PASSWORD".to_owned()]);
        let keys: std::collections::BTreeSet<String> = hubbook::config::KEYS
            .iter()
            .map(|(key, _)| hubbook::config::variable(key))
            .collect();
        assert_eq!(read, keys);
    }
}
