//! Wrong sign-in tries per key (login name, client id, address), counted in the database so
//! that every process of an installation throttles alike (`hubbook_core::throttle`). A block's
//! start and every try refused while blocked are audited, installation-wide (cluster id empty),
//! by the actor `anonymous`: nobody is signed in yet.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use hubbook_core::throttle::{Counted, Failures, ThrottleKey};

use crate::models::AuditEvent;
use crate::schema::sign_in_throttle;
use crate::{new_id, write_tx, ConflictKind, DbConn, StoreError};

/// The actor of the audit events of sign-in throttling: the caller is not known yet.
pub const ANONYMOUS: &str = "anonymous";

/// The entity of those audit events; the entity id is the stored key (`user:<name>`...).
pub const ENTITY: &str = "sign_in_throttle";

/// The counts of those of `keys` that have one.
pub fn failures(
    conn: &mut DbConn,
    keys: &[ThrottleKey],
) -> Result<Vec<(ThrottleKey, Failures)>, StoreError> {
    let stored: Vec<String> = keys.iter().map(ThrottleKey::stored).collect();
    let rows: Vec<(String, FailureRow)> = sign_in_throttle::table
        .filter(sign_in_throttle::key.eq_any(&stored))
        .select((sign_in_throttle::key, COLUMNS))
        .load(conn)?;
    Ok(keys
        .iter()
        .filter_map(|key| {
            let name = key.stored();
            rows.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, row)| (key.clone(), from_row(*row)))
        })
        .collect())
}

/// Counts one more wrong try against `key` at `now`, as the core's rule counts it, and audits
/// the start of a block in the same transaction. The key's row is written first, so concurrent
/// wrong tries wait for each other and every one of them counts.
pub fn record_failure(
    conn: &mut DbConn,
    key: &ThrottleKey,
    now: DateTime<Utc>,
) -> Result<Counted, StoreError> {
    let name = key.stored();
    let once = |c: &mut DbConn| {
        write_tx(c, |c| {
            let row = sign_in_throttle::table.find(&name);
            let touched = diesel::update(row)
                .set(sign_in_throttle::failures.eq(sign_in_throttle::failures))
                .execute(c)?;
            let previous = if touched == 0 {
                None
            } else {
                Some(from_row(row.select(COLUMNS).first::<FailureRow>(c)?))
            };
            let counted = Failures::after_failure(previous.as_ref(), key.limit(), now);
            let next = counted.failures;
            let values = (
                sign_in_throttle::failures.eq(next.failures),
                sign_in_throttle::last_failed_at.eq(next.last_failed_at.naive_utc()),
                sign_in_throttle::blocked_until.eq(next.blocked_until.map(|t| t.naive_utc())),
            );
            if touched == 0 {
                diesel::insert_into(sign_in_throttle::table)
                    .values((sign_in_throttle::key.eq(&name), values))
                    .execute(c)?;
            } else {
                diesel::update(row).set(values).execute(c)?;
            }
            if counted.started_block {
                audit(c, "sign_in.blocked", &name, &next, now)?;
            }
            Ok::<_, StoreError>(counted)
        })
    };
    match once(conn) {
        // Another wrong try for a key seen for the first time inserted its row first.
        Err(StoreError::Conflict(ConflictKind::Duplicate(_))) => once(conn),
        other => other,
    }
}

/// Audits a try refused at `now` because `key` is blocked (its count as it stands).
pub fn record_refusal(
    conn: &mut DbConn,
    key: &ThrottleKey,
    failures: &Failures,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit(conn, "sign_in.throttled", &key.stored(), failures, now)
}

/// Forgets the wrong tries counted against a key (a login name or client id after a right
/// password or secret, or a new password set by a manager).
pub fn clear(conn: &mut DbConn, key: &ThrottleKey) -> Result<(), StoreError> {
    diesel::delete(sign_in_throttle::table.find(key.stored())).execute(conn)?;
    Ok(())
}

fn audit(
    conn: &mut DbConn,
    action: &str,
    key: &str,
    failures: &Failures,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let state = serde_json::json!({
        "failures": failures.failures,
        "last_failed_at": failures.last_failed_at,
        "blocked_until": failures.blocked_until,
    });
    super::audit::record(
        conn,
        AuditEvent {
            id: new_id(),
            cluster_id: Default::default(),
            at: now.naive_utc(),
            actor: ANONYMOUS.to_owned(),
            action: action.to_owned(),
            entity: ENTITY.to_owned(),
            entity_id: key.to_owned(),
            before_json: None,
            after_json: Some(state.to_string()),
        },
    )
}

type FailureRow = (i32, NaiveDateTime, Option<NaiveDateTime>);

const COLUMNS: (
    sign_in_throttle::failures,
    sign_in_throttle::last_failed_at,
    sign_in_throttle::blocked_until,
) = (
    sign_in_throttle::failures,
    sign_in_throttle::last_failed_at,
    sign_in_throttle::blocked_until,
);

fn from_row((failures, last_failed_at, blocked_until): FailureRow) -> Failures {
    Failures {
        failures,
        last_failed_at: last_failed_at.and_utc(),
        blocked_until: blocked_until.map(|t| t.and_utc()),
    }
}
