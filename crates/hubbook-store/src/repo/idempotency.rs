//! Idempotency keys: a create retried with the same key returns the first response.
//!
//! The key row is claimed first inside the creating transaction, so a concurrent retry waits for
//! (PostgreSQL) or is serialised behind (SQLite) the first, then finds its stored response.

use diesel::prelude::*;

use crate::models::IdempotencyRecord;
use crate::schema::idempotency_keys;
use crate::{write_tx, ConflictKind, DbConn, StoreError};

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

/// A create request's identity for idempotency: who sent it, their key, and a hash of what was
/// sent (so the same key with another request is refused, not replayed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The caller (`user:<id>` or `client:<id>`): keys are per caller.
    pub owner: String,
    /// The `Idempotency-Key` sent.
    pub key: String,
    /// A keyed hash of the request.
    pub request_hash: String,
}

/// What a create under a key came to: done now, or done before (its stored record).
#[derive(Debug, Clone, PartialEq)]
pub enum Once<T> {
    /// The create ran now and this is its result.
    Created(T),
    /// The key was used before for the same request; this is what was stored then.
    Replayed(String),
}

/// Runs `create` at most once per claim, in one write transaction that also claims the key and
/// stores `record(&result)` under it; a retry (even one racing the first) gets the stored record.
/// Without a claim it simply runs `create` in a write transaction.
pub fn once<T, E, F, R>(
    conn: &mut DbConn,
    claim: Option<&Claim>,
    now: chrono::NaiveDateTime,
    create: F,
    record: R,
) -> Result<Once<T>, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    R: FnOnce(&T) -> Result<String, E>,
    E: From<StoreError>,
{
    let Some(claim) = claim else {
        return crate::write_tx(conn, create).map(Once::Created);
    };
    if let Some(stored) = stored(conn, claim)? {
        return Ok(Once::Replayed(stored));
    }
    let result = crate::write_tx(conn, |c| {
        claim_key(
            c,
            &IdempotencyRecord {
                owner: claim.owner.clone(),
                key: claim.key.clone(),
                request_hash: claim.request_hash.clone(),
                status: 0,
                body: String::new(),
                created_at: now,
            },
        )?;
        let value = create(c)?;
        let body = record(&value)?;
        complete_key(c, &claim.owner, &claim.key, 201, &body)?;
        Ok(value)
    });
    match result {
        Ok(value) => Ok(Once::Created(value)),
        // A concurrent request with the same key committed first: answer as it did.
        Err(e) => match stored(conn, claim)? {
            Some(body) => Ok(Once::Replayed(body)),
            None => Err(e),
        },
    }
}

/// The record stored under a claim's key, if the key was used; a key used for another request is
/// an `IdempotencyKeyReused` conflict.
fn stored(conn: &mut DbConn, claim: &Claim) -> Result<Option<String>, StoreError> {
    match find_key(conn, &claim.owner, &claim.key)? {
        None => Ok(None),
        Some(r) if r.request_hash != claim.request_hash => Err(StoreError::Conflict(
            crate::ConflictKind::IdempotencyKeyReused,
        )),
        Some(r) => Ok(Some(r.body)),
    }
}

/// The installation's key for the hashes of idempotent requests: the one stored, else `fresh`,
/// stored now. Kept in the database so that every process, before and after a restart or a
/// rotation of the token-signing secret, recognises the same retry.
pub fn request_key(conn: &mut DbConn, fresh: &str) -> Result<String, StoreError> {
    use crate::schema::installation_keys as keys;
    let stored = |c: &mut DbConn| -> Result<Option<String>, StoreError> {
        Ok(keys::table
            .find("idempotency")
            .select(keys::key)
            .first::<String>(c)
            .optional()?)
    };
    if let Some(key) = stored(conn)? {
        return Ok(key);
    }
    let made = write_tx(conn, |c| {
        if let Some(key) = stored(c)? {
            return Ok(key);
        }
        diesel::insert_into(keys::table)
            .values((
                keys::name.eq("idempotency"),
                keys::key.eq(fresh),
                keys::created_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(c)?;
        Ok::<_, StoreError>(fresh.to_owned())
    });
    match made {
        // Another process stored one first.
        Err(StoreError::Conflict(ConflictKind::Duplicate(_))) => {
            stored(conn)?.ok_or(StoreError::NotFound)
        }
        other => other,
    }
}
