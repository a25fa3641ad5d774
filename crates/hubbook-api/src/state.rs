//! What every handler shares: the pool, the token service, the clock and the metrics.

use std::sync::Arc;

use actix_web::web;
use hubbook_core::Clock;
use hubbook_store::{DbConn, DbPool, StoreError};

use crate::metrics::Metrics;
use crate::{auth::TokenService, ApiError};

/// How long a hold lasts unless configured otherwise: two minutes.
pub const DEFAULT_HOLD_SECONDS: i64 = 120;

/// The application state handed to every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database pool.
    pub pool: DbPool,
    /// Signs and checks access tokens.
    pub tokens: TokenService,
    /// The source of "now" for every rule that depends on time.
    pub clock: Arc<dyn Clock>,
    /// Request and pool metrics.
    pub metrics: Metrics,
    /// How long a hold keeps a slot for its holder.
    pub hold_ttl: chrono::Duration,
    /// The key that idempotency request hashes are made with, derived from the server secret so
    /// that a copy of the database alone cannot test guesses against them.
    pub request_key: Arc<[u8; 32]>,
}

impl AppState {
    /// The state of a server signing tokens with `secret`, valid `token_ttl_seconds`.
    pub fn new(
        pool: DbPool,
        secret: &[u8],
        token_ttl_seconds: i64,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, prometheus::Error> {
        use sha2::{Digest, Sha256};
        let request_key: [u8; 32] = Sha256::new()
            .chain_update(b"hubbook idempotency key\0")
            .chain_update(secret)
            .finalize()
            .into();
        Ok(Self {
            pool,
            tokens: TokenService::new(secret, token_ttl_seconds),
            clock,
            metrics: Metrics::new()?,
            request_key: Arc::new(request_key),
            hold_ttl: chrono::Duration::seconds(DEFAULT_HOLD_SECONDS),
        })
    }

    /// Who is acting and when, for the rows and the audit trail a change writes.
    pub fn change(&self, who: &crate::auth::Principal) -> hubbook_store::repo::Change {
        hubbook_store::repo::Change {
            actor: who.actor(),
            at: self.now(),
        }
    }

    /// Runs blocking database work on actix's blocking pool with a pooled connection.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
    }

    /// The current instant as stored (naive UTC).
    pub fn now(&self) -> chrono::NaiveDateTime {
        self.clock.now().naive_utc()
    }
}
