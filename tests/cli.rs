//! The `hubbook` binary as an operator runs it: migrate, add the first admin, print the OpenAPI,
//! serve with JSON logs, and stop cleanly on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn hubbook() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hubbook"))
}

struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

#[test]
fn an_operator_migrates_adds_an_admin_serves_and_stops() {
    let file =
        TempFile(std::env::temp_dir().join(format!("hubbook-cli-{}.db", std::process::id())));
    let url = format!("sqlite://{}", file.0.display());

    let migrate = hubbook()
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&migrate.stdout).starts_with("0 "),
        "the first run applies every migration"
    );
    let again = hubbook()
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&again.stdout).starts_with("0 migration(s) applied"),
        "a second run applies none"
    );

    let short = hubbook()
        .args([
            "user",
            "add",
            "--database-url",
            &url,
            "--username",
            "admin",
            "--role",
            "admin",
        ])
        .env("HUBBOOK_USER_PASSWORD", "short")
        .output()
        .unwrap();
    assert!(!short.status.success());
    let add = hubbook()
        .args([
            "user",
            "add",
            "--database-url",
            &url,
            "--username",
            "admin",
            "--role",
            "admin",
        ])
        .env("HUBBOOK_USER_PASSWORD", "a-long-enough-password")
        .output()
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );

    let openapi = hubbook().arg("openapi").output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&openapi.stdout).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");

    let short_secret = hubbook()
        .args(["serve", "--database-url", &url, "--bind", "127.0.0.1:0"])
        .env("HUBBOOK_JWT_SECRET", "too-short")
        .output()
        .unwrap();
    assert!(!short_secret.status.success());
    assert!(String::from_utf8_lossy(&short_secret.stderr).contains("at least 32 bytes"));

    let mut server = hubbook()
        .args([
            "--log-format",
            "json",
            "serve",
            "--database-url",
            &url,
            "--bind",
            "127.0.0.1:0",
        ])
        .env(
            "HUBBOOK_JWT_SECRET",
            "a-jwt-secret-that-is-long-enough-for-tests",
        )
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(server.stderr.take().unwrap());
    let mut lines = Vec::new();
    let started = Instant::now();
    let port = loop {
        let mut line = String::new();
        assert!(
            log.read_line(&mut line).unwrap() > 0,
            "the server exited: {lines:?}"
        );
        let event: serde_json::Value = serde_json::from_str(&line).expect("every log line is JSON");
        lines.push(line.clone());
        if event["message"] == "hubbook is serving" {
            break event["port"].as_u64().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no start: {lines:?}"
        );
    };
    let base = format!("http://127.0.0.1:{port}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (ready, token) = runtime.block_on(async {
        let ready = reqwest::get(format!("{base}/health/ready")).await.unwrap().status();
        let body = serde_json::json!({"grant_type": "password", "username": "admin", "password": "a-long-enough-password"});
        let token = reqwest::Client::new().post(format!("{base}/api/v1/auth/token")).json(&body).send().await.unwrap();
        (ready, token.json::<serde_json::Value>().await.unwrap())
    });
    assert_eq!(ready, 200);
    assert!(token["access_token"].is_string(), "{token}");

    let kill = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = server.wait().unwrap();
    assert!(status.success(), "a clean exit on SIGTERM: {status:?}");
    let rest: Vec<String> = log.lines().map_while(Result::ok).collect();
    lines.extend(rest);
    let all = lines.join("");
    assert!(all.contains("hubbook stopped"), "{all}");
    assert!(
        all.contains("/api/v1/auth/token"),
        "requests are logged by route: {all}"
    );
    assert!(
        !all.contains("a-long-enough-password") && !all.contains("eyJ"),
        "no password or token in the log"
    );
}

/// Three processes migrating a new PostgreSQL database at once take turns: each succeeds, and
/// the migrations are applied once.
#[test]
fn processes_migrating_together_take_turns() {
    let schema = PgSchema::new();
    let url = schema.url.clone();
    let runs: Vec<_> = (0..3)
        .map(|_| {
            hubbook()
                .args(["migrate", "--database-url", &url])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = runs
        .into_iter()
        .map(|r| r.wait_with_output().unwrap())
        .collect();
    drop(schema);
    for output in &outputs {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let applied: Vec<String> = outputs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .collect();
    assert_eq!(
        applied
            .iter()
            .filter(|a| a.starts_with("0 migration(s) applied"))
            .count(),
        2,
        "one process migrates, the others find nothing pending: {applied:?}"
    );
}

/// A failed command's standard error, checked to be one line `error: ...` with exit status 1,
/// even under `RUST_BACKTRACE=1` (which every run here sets).
#[track_caller]
fn one_line_error(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

/// A directory of a test's own, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "hubbook-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const SECRET: &str = "a-jwt-secret-that-is-long-enough-for-tests";

/// A port in use is refused by `serve` and `demo` before any database file is made, naming the
/// address.
#[test]
fn a_busy_port_is_refused_before_the_database_is_made() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = TempDir::new("busy");
    for command in ["serve", "demo"] {
        let file = dir.0.join(format!("{command}.db"));
        let output = hubbook()
            .args([command, "--bind", &address, "--database-url"])
            .arg(format!("sqlite://{}", file.display()))
            .env("HUBBOOK_JWT_SECRET", SECRET)
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let error = one_line_error(&output);
        assert!(
            error.contains(&format!("cannot listen on {address}")),
            "{error}"
        );
        assert!(!file.exists(), "{command} made {} first", file.display());
    }
    let output = hubbook()
        .args(["serve", "--bind", "not-an-address", "--database-url"])
        .arg(format!("sqlite://{}", dir.0.join("bad.db").display()))
        .env("HUBBOOK_JWT_SECRET", SECRET)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let error = one_line_error(&output);
    assert!(error.contains("not-an-address"), "{error}");
    assert!(!dir.0.join("bad.db").exists());
}

/// A database URL without a scheme is refused with an example of the right one, by every
/// command, and nothing is created.
#[test]
fn a_url_without_a_scheme_is_refused_with_an_example() {
    let dir = TempDir::new("scheme");
    let runs: [&[&str]; 4] = [
        &["migrate", "--database-url", "hubbook.db"],
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            "hubbook.db",
        ],
        &[
            "demo",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            "hubbook.db",
        ],
        &["seed", "--database-url", "hubbook.db"],
    ];
    for args in runs {
        let output = hubbook()
            .args(args)
            .current_dir(&dir.0)
            .env("HUBBOOK_JWT_SECRET", SECRET)
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let error = one_line_error(&output);
        assert!(
            error.contains("has no scheme") && error.contains("sqlite://hubbook.db"),
            "{args:?}: {error}"
        );
    }
    assert_eq!(
        std::fs::read_dir(&dir.0).unwrap().count(),
        0,
        "nothing made"
    );
}

/// An SQLite file that cannot be made is named: its directory missing, or a directory in its
/// place.
#[test]
fn an_sqlite_file_that_cannot_be_opened_is_named() {
    let dir = TempDir::new("unopenable");
    let missing = dir.0.join("no-such-directory").join("hubbook.db");
    for (path, why) in [
        (missing.display().to_string(), "does not exist"),
        (dir.0.display().to_string(), "is a directory"),
    ] {
        for command in ["migrate", "serve"] {
            let output = hubbook()
                .args([command, "--database-url", &format!("sqlite://{path}")])
                .args(if command == "serve" {
                    &["--bind", "127.0.0.1:0"][..]
                } else {
                    &[][..]
                })
                .env("HUBBOOK_JWT_SECRET", SECRET)
                .env("RUST_BACKTRACE", "1")
                .output()
                .unwrap();
            let error = one_line_error(&output);
            assert!(
                error.contains(&path) && error.contains(why),
                "{command}: {error}"
            );
        }
    }
}

/// Starts `hubbook serve` with these arguments, configuration file and variables (over a clean
/// environment of HUBBOOK_* variables), and returns the port it says it serves on; the process
/// is killed.
fn serving_port(args: &[&str], vars: &[(&str, &str)]) -> u16 {
    let mut command = hubbook();
    for (name, _) in std::env::vars() {
        if name.starts_with("HUBBOOK_") {
            command.env_remove(name);
        }
    }
    let mut server = command
        .args(["--log-format", "json", "serve"])
        .args(args)
        .envs(vars.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(server.stderr.take().unwrap());
    let port = first_line(&mut server, &mut log, |line| {
        let event = serde_json::from_str::<serde_json::Value>(line).ok()?;
        (event["message"] == "hubbook is serving").then(|| event["port"].as_u64().unwrap() as u16)
    });
    server.kill().unwrap();
    server.wait().unwrap();
    port
}

/// Reads a child's output line by line until `wanted` finds what it looks for in one; kills the
/// child and fails, with all it said, if it ends first.
fn first_line<T>(
    child: &mut std::process::Child,
    output: &mut impl BufRead,
    mut wanted: impl FnMut(&str) -> Option<T>,
) -> T {
    let mut said = String::new();
    loop {
        let mut line = String::new();
        if output.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("the process exited: {said}");
        }
        if let Some(found) = wanted(&line) {
            return found;
        }
        said.push_str(&line);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A setting comes from the flag, else the environment, else the configuration file (named by
/// --config or HUBBOOK_CONFIG), else the default; an unknown key in the file is refused by name.
#[test]
fn a_flag_wins_over_the_environment_which_wins_over_the_file() {
    let dir = TempDir::new("config");
    let [a, b, c] = [free_port(), free_port(), free_port()];
    let file = dir.0.join("hubbook.toml");
    std::fs::write(
        &file,
        format!(
            "# every key is a HUBBOOK_ variable\nbind = \"127.0.0.1:{a}\"\ndatabase_url = \"sqlite://{}\"\njwt_secret = \"{SECRET}\"\ntoken_ttl = 600\n",
            dir.0.join("config.db").display()
        ),
    )
    .unwrap();
    let config = file.display().to_string();
    let env_bind = format!("127.0.0.1:{b}");
    let flag_bind = format!("127.0.0.1:{c}");
    assert_eq!(
        serving_port(
            &["--config", &config, "--bind", &flag_bind],
            &[("HUBBOOK_BIND", &env_bind)]
        ),
        c,
        "the flag"
    );
    assert_eq!(
        serving_port(&["--config", &config], &[("HUBBOOK_BIND", &env_bind)]),
        b,
        "the environment"
    );
    assert_eq!(serving_port(&["--config", &config], &[]), a, "the file");
    assert_eq!(
        serving_port(&[], &[("HUBBOOK_CONFIG", &config)]),
        a,
        "the file named by HUBBOOK_CONFIG"
    );
    assert!(
        dir.0.join("config.db").exists(),
        "the database of the file's URL"
    );

    std::fs::write(
        &file,
        "bind = \"127.0.0.1:0\"\ndatabse_url = \"sqlite://x.db\"\n",
    )
    .unwrap();
    let output = hubbook()
        .args(["--config", &config, "migrate"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let error = one_line_error(&output);
    assert!(
        error.contains("unknown key `databse_url`") && error.contains(&config),
        "{error}"
    );
    let missing = dir.0.join("missing.toml").display().to_string();
    let output = hubbook()
        .args(["migrate", "--config", &missing])
        .output()
        .unwrap();
    assert!(one_line_error(&output).contains(&missing));
}

/// `hubbook completions SHELL` prints a completion script naming the subcommands.
#[test]
fn completions_name_the_subcommands() {
    let bash = hubbook().args(["completions", "bash"]).output().unwrap();
    assert!(bash.status.success());
    let script = String::from_utf8_lossy(&bash.stdout);
    assert!(script.contains("complete -F"), "{script}");
    for sub in [
        "serve",
        "demo",
        "migrate",
        "seed",
        "user",
        "openapi",
        "completions",
    ] {
        assert!(script.contains(sub), "{sub}");
    }
    for shell in ["zsh", "fish"] {
        let output = hubbook().args(["completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("serve"),
            "{shell}"
        );
    }
    let unknown = hubbook().args(["completions", "cmd.exe"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2), "a usage error");
}

/// Without a terminal (a pipe, a log), `hubbook seed` shows no progress bar but a line per batch
/// written, with its rate.
#[test]
fn seed_reports_lines_when_not_on_a_terminal() {
    let dir = TempDir::new("seed");
    let output = hubbook()
        .args([
            "seed",
            "--clusters",
            "1",
            "--weeks",
            "1",
            "--history-weeks",
            "1",
        ])
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.0.join("seed.db").display()))
        .env("HUBBOOK_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("seed: 1 of 1 clusters, "), "{stderr}");
    assert!(stderr.contains(" rows/s"), "{stderr}");
    assert!(
        !stderr.contains('\r') && !stderr.contains('\u{1b}') && !stderr.contains('█'),
        "no bar drawn: {stderr:?}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("seeded 1 clusters"));
}

/// A `hubbook demo` process; killed when dropped.
struct Demo {
    child: std::process::Child,
    base: String,
    _dir: Option<TempDir>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `hubbook demo` on a free port over a new SQLite file, as a reader of the README would,
/// and waits until it says where it serves.
fn fresh_demo() -> Demo {
    let dir = TempDir::new("demo");
    let url = format!("sqlite://{}", dir.0.join("demo.db").display());
    let mut demo = demo_on(&url);
    demo._dir = Some(dir);
    demo
}

/// Starts `hubbook demo` on a free port over `database_url` (seeding it unless it already has the
/// demo cluster) and waits until it says where it serves.
fn demo_on(database_url: &str) -> Demo {
    let mut command = hubbook();
    for (name, _) in std::env::vars() {
        if name.starts_with("HUBBOOK_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args([
            "demo",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ])
        .env("HUBBOOK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let base = first_line(&mut child, &mut out, |line| {
        let rest = line.trim().strip_prefix("console: ")?;
        Some(rest.split('/').take(3).collect::<Vec<_>>().join("/"))
    });
    // The rest of what it prints is not read; it stays in the pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    Demo {
        child,
        base,
        _dir: None,
    }
}

/// The README's walk-through (scripts/walkthrough.sh, every curl step with the status it
/// expects) passes against a fresh demo, and again at once with the same answers.
#[test]
fn the_readme_walkthrough_passes_twice_on_a_fresh_demo() {
    let demo = fresh_demo();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/walkthrough.sh");
    let mut runs = Vec::new();
    for run in ["first", "second"] {
        let output = Command::new("bash")
            .args([script, &demo.base])
            .env_remove("HUBBOOK_DEMO_PASSWORD")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "the {run} run failed:\n{stdout}\n{stderr}"
        );
        assert!(stdout.contains("walk-through passed"), "{stdout}");
        println!("{run} run:\n{stdout}");
        // The statuses, in order: the same on both runs.
        runs.push(
            stdout
                .lines()
                .filter(|l| l.len() > 4 && l.as_bytes()[..3].iter().all(u8::is_ascii_digit))
                .map(|l| l[..3].to_owned())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].len() >= 20, "{:?}", runs[0]);
}

/// The walk-through fails, naming the step, when an answer is not the one it expects: here,
/// against a server where the demo's users do not exist.
#[test]
fn the_walkthrough_fails_on_an_unexpected_status() {
    let demo = fresh_demo();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/walkthrough.sh");
    let output = Command::new("bash")
        .args([script, &demo.base])
        .env("HUBBOOK_DEMO_PASSWORD", "not-the-demo-password")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("FAILED: sign in as manager: expected 200, got 401"),
        "{stderr}"
    );
}

/// A signed-in user of one demo process, calling its JSON API.
struct Desk<'a> {
    http: &'a reqwest::Client,
    demo: &'a Demo,
    token: String,
}

impl<'a> Desk<'a> {
    /// Signs `username` in at `demo` with the demo password.
    async fn sign_in(http: &'a reqwest::Client, demo: &'a Demo, username: &str) -> Self {
        let answer = http
            .post(format!("{}/api/v1/auth/token", demo.base))
            .json(&serde_json::json!({
                "grant_type": "password", "username": username, "password": "demo-password"
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{username} signs in");
        let body: serde_json::Value = answer.json().await.unwrap();
        Self {
            http,
            demo,
            token: body["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Sends a request to an API path (JSON body if any, `If-Match: *` on PATCH) and returns
    /// the status and JSON answer.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.demo.base))
            .bearer_auth(&self.token);
        if method == reqwest::Method::PATCH {
            request = request.header("If-Match", "*");
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or_default())
    }

    /// The sites of the slots this desk's search offers for the coming week, `(id, name)`.
    async fn offered_sites(&self) -> std::collections::BTreeSet<(String, String)> {
        let (status, page) = self
            .call(reqwest::Method::GET, "/slots?limit=500", None)
            .await;
        assert_eq!(status, 200, "{page}");
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let site = &o["site"];
                (
                    site["id"].as_str().unwrap().to_owned(),
                    site["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

/// Two server processes over one database, each keeping the reference data it read: a change
/// made through one (a site renamed, a practice's data-sharing agreement ended) is obeyed by the
/// other on its very next request, with no restart and no wait.
fn a_change_through_one_process_is_obeyed_by_the_other(database_url: &str) {
    let one = demo_on(database_url);
    let other = demo_on(database_url);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let manager = Desk::sign_in(&http, &one, "manager").await;
        let desk = Desk::sign_in(&http, &other, "reception-x00001").await;
        let (_, practices) = manager
            .call(
                reqwest::Method::GET,
                "/clusters/U00001/practices?limit=50",
                None,
            )
            .await;
        let riverside = practices["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["ods_code"] == "X00001")
            .unwrap()
            .clone();
        let own_site = riverside["site_id"].as_str().unwrap().to_owned();

        // The other process reads (and keeps) the cluster's sites and the practice's agreement.
        let before = desk.offered_sites().await;
        let (hub, _) = before
            .iter()
            .find(|(id, _)| *id != own_site)
            .expect("with an agreement, the desk is offered slots at other sites")
            .clone();
        assert_eq!(desk.offered_sites().await, before, "read twice, the same");

        // Renamed through the first process: the second shows the new name at once.
        let (status, site) = manager
            .call(
                reqwest::Method::PATCH,
                &format!("/clusters/U00001/sites/{hub}"),
                Some(serde_json::json!({"name": "Renamed Evening Hub"})),
            )
            .await;
        assert_eq!(status, 200, "{site}");
        let renamed = desk.offered_sites().await;
        assert!(
            renamed
                .iter()
                .any(|(id, name)| *id == hub && name == "Renamed Evening Hub"),
            "the other process shows the new name on its next request: {renamed:?}"
        );
        assert!(renamed
            .iter()
            .all(|(id, name)| *id != hub || name == "Renamed Evening Hub"));

        // The practice's agreement ended yesterday: the other process offers only its own site.
        let (status, changed) = manager
            .call(
                reqwest::Method::PATCH,
                &format!(
                    "/clusters/U00001/practices/{}",
                    riverside["id"].as_str().unwrap()
                ),
                Some(serde_json::json!({
                    "data_sharing_from": "2020-01-01",
                    "data_sharing_to": "2020-12-31"
                })),
            )
            .await;
        assert_eq!(status, 200, "{changed}");
        let after = desk.offered_sites().await;
        assert!(
            after.iter().all(|(id, _)| *id == own_site),
            "without an agreement, only the practice's own site: {after:?}"
        );
    });
}

#[test]
fn a_change_through_one_process_is_obeyed_by_another_on_sqlite() {
    let dir = TempDir::new("two-processes");
    a_change_through_one_process_is_obeyed_by_the_other(&format!(
        "sqlite://{}",
        dir.0.join("shared.db").display()
    ));
}

#[test]
fn a_change_through_one_process_is_obeyed_by_another_on_postgres() {
    let schema = PgSchema::new();
    a_change_through_one_process_is_obeyed_by_the_other(&schema.url);
}

/// An empty schema of its own on the test PostgreSQL server (`HUBBOOK_TEST_PG_URL`), with the URL
/// that selects it; dropped with everything in it when the guard is.
struct PgSchema {
    admin_url: String,
    name: String,
    url: String,
}

impl PgSchema {
    fn new() -> Self {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let admin_url = std::env::var("HUBBOOK_TEST_PG_URL")
            .unwrap_or_else(|_| hubbook_store::test_db::DEFAULT_TEST_PG_URL.to_owned());
        let name = format!("hb_cli_{}", uuid::Uuid::now_v7().simple());
        let mut admin = diesel::PgConnection::establish(&admin_url).expect("the test PostgreSQL");
        admin
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .unwrap();
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-csearch_path%3D{name}");
        Self {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
