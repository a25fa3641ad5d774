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
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let admin_url = std::env::var("HUBBOOK_TEST_PG_URL")
        .unwrap_or_else(|_| hubbook_store::test_db::DEFAULT_TEST_PG_URL.to_owned());
    let schema = format!("hb_cli_{}", uuid::Uuid::now_v7().simple());
    let mut admin = diesel::PgConnection::establish(&admin_url).expect("the test PostgreSQL");
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-csearch_path%3D{schema}");
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
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
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
