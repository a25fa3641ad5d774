//! The use cases of hubbook: one function per thing a user does (hold a slot, book, cancel,
//! reschedule, record an outcome, list appointments...), and the only door the front ends use.
//!
//! Each use case takes the [`Caller`] and a typed command, decides with the rules of
//! `hubbook-core` (access, patient checks, the local day), and has `hubbook-store` run the reads
//! and the one transaction it needs. The JSON API, the web console and the FHIR facade call the
//! same functions, so a rule is written once. Nothing here knows HTTP; nothing above the store
//! begins a transaction.

pub mod access;
pub mod appointments;
pub mod booking;
pub mod console;
pub mod dashboard;
pub mod dispositions;
mod error;
pub mod events;
pub mod idempotency;
pub mod integrations;
pub mod kept;
pub mod patients;
pub mod rebooking;
mod recent;
pub mod reference;
pub mod reports;
pub mod request;
pub mod rotas;
pub mod secrets;
pub mod sessions;
pub mod sharing;
pub mod sign_in;
pub mod slots;
pub mod triage;
pub mod users;
pub mod viewer;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use hubbook_core::Clock;
use hubbook_store::{DbConn, DbPool, StoreError};

pub use error::ServiceError;
pub use hubbook_core::access::Caller;

/// How long a hold lasts unless configured otherwise: two minutes.
pub const DEFAULT_HOLD_SECONDS: i64 = 120;

/// The use cases' handle: the database, the clock and the settings every use case shares.
/// Cheap to clone; one per server, shared by every front end.
#[derive(Debug, Clone)]
pub struct Hubbook {
    pool: DbPool,
    clock: Arc<dyn Clock>,
    hold_ttl: Duration,
    request_key: Arc<[u8; 32]>,
    certificates: Arc<recent::Recent<Option<Caller>>>,
    standing: Arc<recent::Recent<Option<sign_in::Standing>>>,
    call: Option<Arc<integrations::PendingCall>>,
    sign_in_refusals: Arc<sign_in::SignInRefusals>,
    kept: Arc<kept::KeptReference>,
}

impl Hubbook {
    /// The use cases over `pool`, telling time by `clock`. The hashes of idempotent requests
    /// are keyed by the installation's own key, read from the database (made there the first
    /// time), so that a retry is recognised by every process, across restarts and rotations of
    /// the token-signing secret; the database holds what the requests held anyway.
    pub fn new(pool: DbPool, clock: Arc<dyn Clock>) -> Result<Self, ServiceError> {
        let key = {
            let mut conn = pool.get().map_err(StoreError::from)?;
            hubbook_store::repo::idempotency::request_key(&mut conn, &secrets::generate_secret())?
        };
        Ok(Self {
            pool,
            clock,
            hold_ttl: Duration::seconds(DEFAULT_HOLD_SECONDS),
            request_key: Arc::new(idempotency::request_key(key.as_bytes())),
            certificates: Arc::new(recent::Recent::new(std::time::Duration::from_secs(
                integrations::CERTIFICATE_CACHE_SECONDS,
            ))),
            standing: Arc::new(recent::Recent::new(std::time::Duration::from_secs(
                sign_in::STANDING_CACHE_SECONDS,
            ))),
            call: None,
            sign_in_refusals: Arc::default(),
            kept: Arc::default(),
        })
    }

    /// Sets how long a hold keeps a slot for its holder.
    pub fn set_hold_ttl(&mut self, ttl: Duration) {
        self.hold_ttl = ttl;
    }

    /// The current instant, from the injected clock (the only clock any rule reads).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Runs blocking database work off the async threads with a pooled connection.
    async fn run<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ServiceError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = request::current_span();
        tokio::task::spawn_blocking(move || {
            let _in_request = span.enter();
            let mut conn = pool.get().map_err(StoreError::from)?;
            let done = f(&mut conn);
            // A connection the server cut is not handed out again.
            if let Err(ServiceError::Store(StoreError::Unavailable(_))) = &done {
                conn.discard();
            }
            done
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("blocking task failed: {e}")))?
    }

    /// Runs work for a caller as [`Hubbook::run`] does; when the caller acts in several clusters
    /// (a 111 service of a region), its statements bind them all and are planned per execution
    /// ([`hubbook_store::planned_per_execution`]).
    async fn run_for<T, F>(&self, who: Caller, f: F) -> Result<T, ServiceError>
    where
        F: FnOnce(&mut DbConn, &Caller) -> Result<T, ServiceError> + Send + 'static,
        T: Send + 'static,
    {
        if who.clusters().len() > 1 {
            self.run(move |c| hubbook_store::planned_per_execution(c, |c| f(c, &who)))
                .await
        } else {
            self.run(move |c| f(c, &who)).await
        }
    }

    /// Runs work that makes a change as [`Hubbook::run`] runs any work, with the consumer's call
    /// this handle audits ([`Hubbook::auditing`]), if not yet written, for the work to write in
    /// its change's transaction ([`integrations::CallAudit::change`]); when the work made no
    /// change, the call is written on its own before this returns.
    async fn run_audited<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        F: FnOnce(&mut DbConn, &mut integrations::CallAudit) -> Result<T, ServiceError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        let mut audit = integrations::CallAudit(self.unwritten_call());
        self.run(move |c| {
            let done = f(c, &mut audit);
            audit.settle(c)?;
            done
        })
        .await
    }

    /// Who is acting and when, for the rows and the audit trail a change writes.
    fn change(&self, who: &Caller) -> hubbook_store::repo::Change {
        hubbook_store::repo::Change {
            actor: who.actor(),
            at: self.now().naive_utc(),
        }
    }
}
