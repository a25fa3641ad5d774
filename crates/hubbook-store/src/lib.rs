//! Storage for hubbook on SQLite (embedded default) and PostgreSQL (production) with one set of
//! diesel queries.
//!
//! Every function takes a `&mut DbConn`; writes that must be atomic run inside [`write_tx`], which
//! on SQLite takes the write lock first so that no transaction can fail half way with SQLITE_BUSY.

pub mod conn;
pub mod error;
pub mod ids;
pub mod models;
mod prepared;
pub mod repo;
pub mod schema;
#[cfg(feature = "test-db")]
pub mod test_db;
mod writer;

pub use conn::{
    connect, planned_per_execution, write_tx, Backend, DatabaseUrl, DbConn, DbPool, Durability,
    PoolOptions,
};
pub use error::{ConflictKind, DbError, StoreError, WriteError};
pub use ids::{AppointmentId, ClusterId, HoldId, PracticeId, SiteId, SlotId};

/// A new identifier: a UUIDv7 as text, so ids sort by creation time on both backends.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// One page of a list ordered by id, and the id to continue after, if more rows follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// The last id of this page when another page follows.
    pub next_after: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in id order.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, id_of: impl Fn(&T) -> &str) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let next_after = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| id_of(r).to_owned())
        } else {
            None
        };
        Self {
            items: rows,
            next_after,
        }
    }
}
