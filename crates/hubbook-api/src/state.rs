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
    /// The database pool, for what is not a use case: readiness, metrics, token issue and the
    /// background workers.
    pub pool: DbPool,
    /// Signs and checks access tokens.
    pub tokens: TokenService,
    /// The source of "now" for every rule that depends on time.
    pub clock: Arc<dyn Clock>,
    /// Request and pool metrics.
    pub metrics: Metrics,
}

impl AppState {
    /// The state of a server signing tokens with `secret`, valid `token_ttl_seconds`. Fails
    /// when the metrics cannot be registered or the database does not answer.
    pub fn new(
        pool: DbPool,
        secret: &[u8],
        token_ttl_seconds: i64,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self {
            hubbook: hubbook_service::Hubbook::new(pool.clone(), clock.clone())?,
            pool,
            tokens: TokenService::new(secret, token_ttl_seconds),
            clock,
            metrics: Metrics::new()?,
        })
    }

    /// Runs blocking database work on actix's blocking pool with a pooled connection.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = hubbook_service::request::current_span();
        web::block(move || {
            let _in_request = span.enter();
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
