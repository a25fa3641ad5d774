//! What every handler shares: the pool, the token service, the clock and the metrics.

use std::sync::Arc;

use actix_web::web;
use hubbook_core::Clock;
use hubbook_store::{DbConn, DbPool, StoreError};

use crate::metrics::Metrics;
use crate::{auth::TokenService, ApiError};

pub use hubbook_service::DEFAULT_HOLD_SECONDS;

/// The application state handed to every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The use cases: what handlers call.
    pub hubbook: hubbook_service::Hubbook,
    /// The database pool, for the areas whose use cases are not yet in `hubbook-service`.
    pub pool: DbPool,
    /// Signs and checks access tokens.
    pub tokens: TokenService,
    /// The source of "now" for every rule that depends on time.
    pub clock: Arc<dyn Clock>,
    /// Request and pool metrics.
    pub metrics: Metrics,
}

impl AppState {
    /// The state of a server signing tokens with `secret`, valid `token_ttl_seconds`.
    pub fn new(
        pool: DbPool,
        secret: &[u8],
        token_ttl_seconds: i64,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, prometheus::Error> {
        Ok(Self {
            hubbook: hubbook_service::Hubbook::new(pool.clone(), clock.clone(), secret),
            pool,
            tokens: TokenService::new(secret, token_ttl_seconds),
            clock,
            metrics: Metrics::new()?,
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
