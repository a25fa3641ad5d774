//! The one error type of the store, with the single mapping from diesel's errors.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use thiserror::Error;

use hubbook_core::Refusal;

/// Why a conflicting write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictKind {
    /// A unique key is already taken; the text names the constraint or columns.
    Duplicate(String),
    /// The row changed since the caller read it (its version no longer matches).
    StaleVersion,
    /// A referenced row does not exist in the same cluster; the text says which reference.
    MissingReference(String),
    /// The same idempotency key was used before with a different request.
    IdempotencyKeyReused,
}

/// What went wrong inside the database or with its data, beyond a caller's reach to fix.
#[derive(Debug, Error)]
pub enum DbError {
    /// A value breaks a rule the database itself enforces (a CHECK or NOT NULL constraint), or a
    /// stored rule the write depends on.
    #[error("invalid value: {0}")]
    Rejected(String),
    /// A value read back from the database does not parse; the store's own data is inconsistent.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Migrations could not be applied.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The database URL or connection is unusable.
    #[error("connection failed: {0}")]
    Connection(String),
    /// Any other database error.
    #[error(transparent)]
    Query(DieselError),
}

/// Everything a repository function can fail with.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The row asked for does not exist (or is outside the caller's cluster).
    #[error("not found")]
    NotFound,
    /// The write conflicts with what is stored.
    #[error("conflict: {0:?}")]
    Conflict(ConflictKind),
    /// The database is momentarily too busy (lock timeout, serialization failure, pool exhausted).
    #[error("the database is busy")]
    Busy,
    /// The database failed or holds data it should not.
    #[error(transparent)]
    Db(DbError),
}

impl StoreError {
    /// A value the database refused by one of its own rules; `what` names the rule.
    pub fn rejected(what: impl Into<String>) -> Self {
        Self::Db(DbError::Rejected(what.into()))
    }

    /// Stored data that does not parse; `what` says which.
    pub fn corrupt(what: impl Into<String>) -> Self {
        Self::Db(DbError::Corrupt(what.into()))
    }

    /// A connection that could not be made or used; `why` says what failed.
    pub fn connection(why: impl Into<String>) -> Self {
        Self::Db(DbError::Connection(why.into()))
    }

    /// Migrations that could not be applied; `why` says what failed.
    pub fn migration(why: impl Into<String>) -> Self {
        Self::Db(DbError::Migration(why.into()))
    }
}

/// What a write that the domain may refuse fails with: a [`Refusal`] by the facts stored now (the
/// slot is taken, the hold expired...), or a failure of the store itself.
#[derive(Debug, Error)]
pub enum WriteError {
    /// The facts in the database do not allow the write; nothing was changed.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The store failed or found a conflict of its own (a stale version, a duplicate key...).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DieselError> for WriteError {
    fn from(error: DieselError) -> Self {
        Self::Store(error.into())
    }
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(kind, info) => {
                let message = info.message().to_owned();
                let named = info
                    .constraint_name()
                    .map(str::to_owned)
                    .unwrap_or_else(|| message.clone());
                match kind {
                    DatabaseErrorKind::UniqueViolation => {
                        Self::Conflict(ConflictKind::Duplicate(named))
                    }
                    DatabaseErrorKind::ForeignKeyViolation => {
                        Self::Conflict(ConflictKind::MissingReference(named))
                    }
                    DatabaseErrorKind::SerializationFailure => Self::Busy,
                    DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
                        Self::rejected(named)
                    }
                    _ if is_busy_message(&message) => Self::Busy,
                    _ => Self::Db(DbError::Query(DieselError::DatabaseError(kind, info))),
                }
            }
            other => Self::Db(DbError::Query(other)),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(_: r2d2::Error) -> Self {
        // r2d2 only fails `get` on a timeout: every connection is in use.
        Self::Busy
    }
}

/// SQLite reports lock contention as a generic error whose text says so.
fn is_busy_message(message: &str) -> bool {
    message.contains("database is locked")
        || message.contains("database is busy")
        || message.contains("deadlock detected")
}
