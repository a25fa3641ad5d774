//! The one error type of the store, with the single mapping from diesel's errors.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use thiserror::Error;

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
    /// The slot is booked, held by someone else, or no longer offered.
    SlotUnavailable,
    /// The hold named does not exist, is someone else's, or has expired.
    HoldExpired,
    /// The patient already has a live appointment for the same service that day.
    DuplicateBooking,
    /// The slot has already started.
    SlotInPast,
    /// The slot is not offered to the caller now; the text says why.
    NotOffered(String),
    /// The appointment's status does not allow the change; the text says why.
    InvalidTransition(String),
    /// An integration already has as many live secrets as it may.
    SecretLimit,
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
    /// A value breaks a rule the database itself enforces (a CHECK or NOT NULL constraint).
    #[error("invalid value: {0}")]
    Invalid(String),
    /// The database is momentarily too busy (lock timeout, serialization failure, pool exhausted).
    #[error("the database is busy")]
    Busy,
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
    Db(DieselError),
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
                        Self::Invalid(named)
                    }
                    _ if is_busy_message(&message) => Self::Busy,
                    _ => Self::Db(DieselError::DatabaseError(kind, info)),
                }
            }
            other => Self::Db(other),
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
