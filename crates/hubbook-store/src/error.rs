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
    /// The row's status does not allow the change (a session already cancelled); the text says
    /// why.
    Transition(String),
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
    /// A page cursor that is not one a list of this kind handed out.
    #[error("the cursor is not one this list handed out")]
    InvalidCursor,
    /// The write conflicts with what is stored.
    #[error("conflict: {0:?}")]
    Conflict(ConflictKind),
    /// The database is momentarily too busy (lock timeout, serialization failure, pool exhausted).
    #[error("the database is busy")]
    Busy,
    /// The connection to the database was lost, or the server is shutting down, starting or
    /// failing over: a retry shortly may succeed (a change cut off at its commit may or may not
    /// have been made, which an idempotent retry settles).
    #[error("the database cannot be reached: {0}")]
    Unavailable(String),
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
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                        Self::Unavailable(message)
                    }
                    _ if is_unavailable_message(&message) => Self::Unavailable(message),
                    _ if is_unstorable_text(&message) => Self::rejected(
                        "text with a character the database cannot store (a NUL or an invalid sequence)",
                    ),
                    _ => Self::Db(DbError::Query(DieselError::DatabaseError(kind, info))),
                }
            }
            DieselError::BrokenTransactionManager => {
                Self::Unavailable("the connection broke inside a transaction".into())
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

/// PostgreSQL's words for a connection lost or refused (SQLSTATE class 08) and for a server
/// shutting down or not yet accepting (57P01-57P03), which diesel reports as unknown errors.
fn is_unavailable_message(message: &str) -> bool {
    const LOST: [&str; 9] = [
        "terminating connection",
        "server closed the connection",
        "no connection to the server",
        "connection to server",
        "could not connect to server",
        "the database system is",
        "could not receive data from server",
        "could not send data to server",
        "SSL SYSCALL error",
    ];
    LOST.iter().any(|words| message.contains(words))
}

/// PostgreSQL refuses a NUL character in text (SQLSTATE 22021, or 22P05 in a JSON escape),
/// which SQLite would store: the caller's value, not the database, is at fault.
fn is_unstorable_text(message: &str) -> bool {
    message.contains("invalid byte sequence for encoding")
        || message.contains("unsupported Unicode escape sequence")
}

/// SQLite reports lock contention as a generic error whose text says so.
fn is_busy_message(message: &str) -> bool {
    message.contains("database is locked")
        || message.contains("database is busy")
        || message.contains("deadlock detected")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(message: &str) -> StoreError {
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_owned())).into()
    }

    #[test]
    fn a_lost_connection_or_a_shutdown_is_unavailable_not_a_failure() {
        for message in [
            "terminating connection due to administrator command",
            "server closed the connection unexpectedly",
            "no connection to the server",
            "the database system is shutting down",
            "the database system is starting up",
        ] {
            assert!(
                matches!(unknown(message), StoreError::Unavailable(_)),
                "{message}"
            );
        }
        let closed: StoreError = DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("gone".to_owned()),
        )
        .into();
        assert!(matches!(closed, StoreError::Unavailable(_)));
        assert!(matches!(
            StoreError::from(DieselError::BrokenTransactionManager),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn text_the_database_cannot_store_is_the_callers_value_at_fault() {
        let nul = unknown("invalid byte sequence for encoding \"UTF8\": 0x00");
        assert!(
            matches!(nul, StoreError::Db(DbError::Rejected(_))),
            "{nul:?}"
        );
        // Anything else unknown stays a failure of the database.
        assert!(matches!(
            unknown("relation \"x\" does not exist"),
            StoreError::Db(DbError::Query(_))
        ));
    }
}
