//! Idempotency keys: a create retried with the same key returns the first response.
//!
//! The key row is claimed first inside the creating transaction, so a concurrent retry waits for
//! (PostgreSQL) or is serialised behind (SQLite) the first, then finds its stored response.

use diesel::prelude::*;

use crate::models::IdempotencyRecord;
use crate::schema::idempotency_keys;
use crate::{DbConn, StoreError};

/// Reads the stored record of a caller's key, if the key was used before.
pub fn find_key(
    conn: &mut DbConn,
    owner: &str,
    key: &str,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    Ok(idempotency_keys::table
        .find((owner, key))
        .select(IdempotencyRecord::as_select())
        .first(conn)
        .optional()?)
}

/// Claims a key for a request about to run; a key already claimed is a `Duplicate` conflict.
pub fn claim_key(conn: &mut DbConn, record: &IdempotencyRecord) -> Result<(), StoreError> {
    diesel::insert_into(idempotency_keys::table)
        .values(record)
        .execute(conn)?;
    Ok(())
}

/// Stores the response of the request that claimed the key.
pub fn complete_key(
    conn: &mut DbConn,
    owner: &str,
    key: &str,
    status: i32,
    body: &str,
) -> Result<(), StoreError> {
    diesel::update(idempotency_keys::table.find((owner, key)))
        .set((
            idempotency_keys::status.eq(status),
            idempotency_keys::body.eq(body),
        ))
        .execute(conn)?;
    Ok(())
}
