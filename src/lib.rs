//! The `hubbook` application: configuration, start-up and the demo data set.
//!
//! [`Application::build`] checks the settings, binds the listener, then connects and migrates
//! the database and returns a server ready to run; end-to-end tests start it on port 0 exactly
//! as `hubbook serve` does.

pub mod config;
pub mod demo;
pub mod seed;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{web, HttpServer};
use anyhow::Context;
use hubbook_api::background::Background;
use hubbook_api::AppState;
use hubbook_core::Clock;
use hubbook_store::{connect, DbPool, PoolOptions};

/// Everything needed to run the server. Its `Debug` output hides the JWT secret.
#[derive(Clone)]
pub struct Settings {
    /// `sqlite://path` or `postgres://...`.
    pub database_url: String,
    /// Address to listen on, e.g. `127.0.0.1:8080` (port 0 picks a free one).
    pub bind: String,
    /// The HS256 secret that signs access tokens; at least 32 bytes.
    pub jwt_secret: String,
    /// Access-token lifetime in seconds.
    pub token_ttl_seconds: i64,
    /// Most database connections.
    pub pool_size: u32,
    /// HTTP worker threads; the number of cores when `None`.
    pub workers: Option<usize>,
    /// How long a hold keeps a slot, in seconds.
    pub hold_seconds: i64,
    /// How often the periodic work (release announcements, webhook deliveries) wakes, in ms.
    pub events_interval_ms: u64,
    /// The first wait after a failed webhook delivery, in ms; doubled per failure up to an hour.
    pub webhook_backoff_ms: u64,
    /// How long a process holds a piece of background work (a webhook's queue, the release
    /// announcements) without renewing it, in ms; another process takes the work over after it.
    pub work_lease_ms: u64,
    /// This provider's GP Connect ASID: the `Ssp-To` every GP Connect request must name.
    pub gpconnect_asid: String,
    /// Serve HTTPS with these files instead of plain HTTP.
    pub tls: Option<TlsFiles>,
}

/// The PEM files of `hubbook serve --tls-cert --tls-key [--tls-client-ca]`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server's certificate chain.
    pub cert: std::path::PathBuf,
    /// Its private key.
    pub key: std::path::PathBuf,
    /// The CA that signs client certificates: with it, a client may present a certificate
    /// (checked against this CA, and then by the registered integration it names); without, no
    /// client certificate is asked for. A client without one is served as before.
    pub client_ca: Option<std::path::PathBuf>,
}

/// The rustls configuration of these files.
pub fn tls_config(files: &TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let read_certs = |path: &std::path::Path| -> anyhow::Result<Vec<CertificateDer<'static>>> {
        let certs = CertificateDer::pem_file_iter(path)
            .with_context(|| format!("reading {}", path.display()))?
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("reading the certificates of {}", path.display()))?;
        anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", path.display());
        Ok(certs)
    };
    let chain = read_certs(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("reading the private key of {}", files.key.display()))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS versions")?;
    let builder = match &files.client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in read_certs(ca)? {
                roots
                    .add(cert)
                    .with_context(|| format!("adding the CA of {}", ca.display()))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .context("the client certificate verifier")?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .context("the server certificate and key do not match")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Keeps the client certificate a TLS connection presented (its SHA-256) with the connection,
/// for the front ends that authenticate by it.
fn keep_client_certificate(conn: &dyn std::any::Any, data: &mut actix_web::dev::Extensions) {
    use actix_tls::accept::rustls_0_23::TlsStream;
    if let Some(tls) = conn.downcast_ref::<TlsStream<actix_web::rt::net::TcpStream>>() {
        if let Some(first) = tls.get_ref().1.peer_certificates().and_then(|c| c.first()) {
            data.insert(hubbook_service::integrations::PresentedCertificate {
                sha256: hubbook_service::integrations::certificate_sha256(first),
            });
        }
    }
}

/// The GP Connect ASID a server answers to unless told another (`--gpconnect-asid`): twelve
/// digits no Spine directory gives out.
pub const DEMO_ASID: &str = "999999999999";

impl Settings {
    /// Checks every setting that needs no database or network: the secret's length, the
    /// ranges of the timings and the database URL's form.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.jwt_secret.len() >= MIN_JWT_SECRET_BYTES,
            "the JWT secret (HUBBOOK_JWT_SECRET) must be at least {MIN_JWT_SECRET_BYTES} bytes"
        );
        anyhow::ensure!(
            TOKEN_TTL_SECONDS.contains(&self.token_ttl_seconds),
            "the token lifetime (HUBBOOK_TOKEN_TTL) must be 60 to 3600 seconds"
        );
        anyhow::ensure!(
            (10..=3600).contains(&self.hold_seconds),
            "a hold (HUBBOOK_HOLD_SECONDS) lasts 10 to 3600 seconds"
        );
        anyhow::ensure!(
            EVENTS_INTERVAL_MS.contains(&self.events_interval_ms),
            "the events interval (HUBBOOK_EVENTS_INTERVAL_MS) is 10 to 60000 ms"
        );
        anyhow::ensure!(
            (10..=3_600_000).contains(&self.webhook_backoff_ms),
            "the webhook back-off (HUBBOOK_WEBHOOK_BACKOFF_MS) is 10 to 3600000 ms"
        );
        anyhow::ensure!(
            WORK_LEASE_MS.contains(&self.work_lease_ms),
            "the work lease (HUBBOOK_WORK_LEASE_MS) is 1000 to 600000 ms"
        );
        check_database_url(&self.database_url)
    }

    /// The periodic work's timing from these settings.
    pub fn background(&self) -> Background {
        let lease = std::time::Duration::from_millis(self.work_lease_ms);
        Background {
            interval: std::time::Duration::from_millis(self.events_interval_ms),
            backoff: std::time::Duration::from_millis(self.webhook_backoff_ms),
            lease,
            // A delivery never outlasts the lease renewed just before it.
            timeout: (lease / 3).min(std::time::Duration::from_secs(10)),
        }
    }
}

/// A lease on background work lasts from a second to ten minutes.
pub const WORK_LEASE_MS: std::ops::RangeInclusive<u64> = 1_000..=600_000;

/// Release announcements are made within a minute: the periodic work wakes at least this often.
pub const EVENTS_INTERVAL_MS: std::ops::RangeInclusive<u64> = 10..=60_000;

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("jwt_secret", &"<redacted>")
            .field("token_ttl_seconds", &self.token_ttl_seconds)
            .field("pool_size", &self.pool_size)
            .field("workers", &self.workers)
            .field("hold_seconds", &self.hold_seconds)
            .field("events_interval_ms", &self.events_interval_ms)
            .field("webhook_backoff_ms", &self.webhook_backoff_ms)
            .field("work_lease_ms", &self.work_lease_ms)
            .field("gpconnect_asid", &self.gpconnect_asid)
            .field("tls", &self.tls)
            .finish()
    }
}

/// A database URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:<redacted>{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The range of access-token lifetimes accepted, in seconds: revoking a user or client takes
/// effect when its current token expires, so tokens are kept short.
pub const TOKEN_TTL_SECONDS: std::ops::RangeInclusive<i64> = 60..=3600;

/// The shortest JWT secret accepted.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// A built, not yet running, hubbook server.
pub struct Application {
    port: u16,
    state: web::Data<AppState>,
    server: actix_web::dev::Server,
    background: Background,
}

impl Application {
    /// Checks the settings, binds the listener, then connects to the database and applies
    /// pending migrations: a wrong setting, a bad database URL or a busy port is reported before
    /// the database is created or touched.
    pub fn build(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        settings.check()?;
        // The TLS files are read before the database is touched, so a wrong path says so first.
        let tls = settings.tls.as_ref().map(tls_config).transpose()?;
        let listener = bind(&settings.bind)?;
        Self::build_on(listener, tls, settings, clock)
    }

    /// [`Application::build`] on a listener already bound (the demo binds before it seeds),
    /// serving TLS with `tls` when given; `settings.bind` is not used.
    pub fn build_on(
        listener: TcpListener,
        tls: Option<rustls::ServerConfig>,
        settings: &Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        settings.check()?;
        let pool = open_database(&settings.database_url, settings.pool_size)?;
        let mut state = AppState::new(
            pool,
            settings.jwt_secret.as_bytes(),
            settings.token_ttl_seconds,
            clock,
        )
        .map_err(|e| anyhow::anyhow!("starting the use cases and metrics: {e}"))?;
        state
            .hubbook
            .set_hold_ttl(chrono::Duration::seconds(settings.hold_seconds));
        let state = web::Data::new(state);
        let port = listener.local_addr()?.port();
        // Read once for every worker; the document is not kept.
        let doc = hubbook_api::Document::new(&hubbook_api::openapi());
        let app_state = state.clone();
        let console = web::Data::new(hubbook_console::Console::new(
            state.hubbook.clone(),
            settings.jwt_secret.as_bytes(),
        ));
        let facade = web::Data::new(hubbook_gpconnect::Facade {
            hubbook: state.hubbook.clone(),
            asid: settings.gpconnect_asid.clone(),
            clock: state.clock.clone(),
        });
        let server = HttpServer::new(move || {
            hubbook_api::app(app_state.clone(), doc.clone())
                .configure(hubbook_gpconnect::configure(facade.clone()))
                .configure(hubbook_console::configure(console.clone()))
                // Outermost: every request of every front end has an id from its first line on.
                .wrap(actix_web::middleware::from_fn(
                    hubbook_api::request_id::assign,
                ))
        })
        .shutdown_timeout(30)
        .on_connect(keep_client_certificate);
        let mut server = match tls {
            Some(config) => server.listen_rustls_0_23(listener, config)?,
            None => server.listen(listener)?,
        };
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Self {
            port,
            state,
            server: server.run(),
            background: settings.background(),
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (pool, token service, clock), for the demo and for tests.
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGINT or SIGTERM, then lets in-flight requests finish (up to 30 s). The
    /// periodic work (release announcements, webhook deliveries) runs alongside and stops with
    /// it, giving up its leases.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let owner = hubbook_api::background::lease_owner();
        let background = tokio::spawn(hubbook_api::background::run(
            self.state.clone(),
            self.background,
            owner.clone(),
        ));
        let served = self.server.await;
        background.abort();
        // Its leases go with it, so that another process takes the work at once.
        hubbook_api::background::release_leases(&self.state, &owner).await;
        served
    }
}

/// Checks a database URL's form (its scheme, SQLite's options) without touching the database.
pub fn check_database_url(url: &str) -> anyhow::Result<()> {
    hubbook_store::DatabaseUrl::parse(url)
        .map(drop)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("the database URL (--database-url)")
}

/// Binds the address to listen on, naming it when it cannot (busy, not local, not an address).
pub fn bind(address: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address).with_context(|| format!("cannot listen on {address}"))
}

/// Opens a pool on the database and brings its schema up to date.
pub fn open_database(url: &str, pool_size: u32) -> anyhow::Result<DbPool> {
    let pool = connect(
        url,
        &PoolOptions {
            max_size: pool_size,
            ..PoolOptions::default()
        },
    )
    .context("opening the database")?;
    let applied = pool
        .get()
        .context("connecting to the database")?
        .run_migrations()
        .context("applying migrations")?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_files_that_cannot_be_read_are_named() {
        let missing = std::env::temp_dir().join("hubbook-no-such-certificate.pem");
        let files = TlsFiles {
            cert: missing.clone(),
            key: missing.clone(),
            client_ca: None,
        };
        let error = format!("{:#}", tls_config(&files).expect_err("refused"));
        assert!(error.contains("hubbook-no-such-certificate.pem"), "{error}");
        let empty = std::env::temp_dir().join(format!("hubbook-empty-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate\n").expect("written");
        let files = TlsFiles {
            cert: empty.clone(),
            key: empty.clone(),
            client_ca: None,
        };
        let error = format!("{:#}", tls_config(&files).expect_err("refused"));
        let _ = std::fs::remove_file(&empty);
        assert!(error.contains("holds no certificate"), "{error}");
    }
}
