//! Staff users: one role and scope each, signed in with an argon2id-hashed password.

use diesel::prelude::*;

use super::{audited, insert_audited, update_audited, Change};
use crate::ids::ClusterId;
use crate::models::{User, UserChanges};
use crate::schema::{sign_in_failures, users};
use crate::{new_id, write_tx, ConflictKind, DbConn, Page, StoreError};
use chrono::{DateTime, NaiveDateTime, Utc};
use hubbook_core::lockout::FailedSignIns;

audited!(User, "user", |u| u.cluster_id.as_deref());

/// A validated user to create; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name (stored lower case).
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Role name.
    pub role: hubbook_core::Role,
    /// Cluster scope.
    pub cluster_id: Option<String>,
    /// Practice scope (receptionists).
    pub practice_id: Option<String>,
}

/// Creates a user; a taken username is a `Duplicate` conflict and a practice outside the
/// cluster a `MissingReference`.
pub fn create_user(conn: &mut DbConn, change: &Change, new: NewUser) -> Result<User, StoreError> {
    let row = User {
        id: new_id(),
        username: new.username.to_lowercase(),
        display_name: new.display_name,
        password_hash: new.password_hash,
        role: new.role,
        cluster_id: new.cluster_id.map(Into::into),
        practice_id: new.practice_id.map(Into::into),
        active: true,
        version: 1,
        created_at: change.at,
        updated_at: change.at,
    };
    let id = row.id.clone();
    insert_audited(
        conn,
        change,
        |c| {
            // Users are a reference table, which holds no foreign key into a cluster's practices
            // (see the schema): the practice is checked here, alike on both backends.
            if let (Some(cluster_id), Some(practice_id)) = (&row.cluster_id, &row.practice_id) {
                let found: i64 = crate::schema::practices::table
                    .filter(crate::schema::practices::cluster_id.eq(cluster_id))
                    .filter(crate::schema::practices::id.eq(practice_id))
                    .count()
                    .get_result(c)?;
                if found == 0 {
                    return Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                        Box::new("users_practice".to_owned()),
                    ));
                }
            }
            diesel::insert_into(users::table)
                .values(row.clone())
                .execute(c)
        },
        |c| load(c, &id),
    )
}

fn load(conn: &mut DbConn, id: &str) -> QueryResult<User> {
    users::table.find(id).select(User::as_select()).first(conn)
}

/// Reads a user by id.
pub fn get_user(conn: &mut DbConn, id: &str) -> Result<User, StoreError> {
    Ok(load(conn, id)?)
}

/// Finds a user by login name, case-insensitively.
pub fn find_user_by_username(conn: &mut DbConn, username: &str) -> Result<User, StoreError> {
    Ok(users::table
        .filter(users::username.eq(username.to_lowercase()))
        .select(User::as_select())
        .first(conn)?)
}

/// A user by id, if there is one (a token may outlive its user).
pub fn find_user(conn: &mut DbConn, id: &str) -> Result<Option<User>, StoreError> {
    Ok(load(conn, id).optional()?)
}

/// Lists the users of a cluster in id order after a cursor.
pub fn list_users(
    conn: &mut DbConn,
    cluster_id: &ClusterId,
    after: Option<&str>,
    limit: i64,
) -> Result<Page<User>, StoreError> {
    super::cluster_page!(conn, users, User, cluster_id, after, limit)
}

/// Changes a user's name, password or whether it may sign in, guarded by its version.
pub fn update_user(
    conn: &mut DbConn,
    change: &Change,
    id: &str,
    expected: Option<i64>,
    changes: UserChanges,
) -> Result<User, StoreError> {
    update_audited(
        conn,
        change,
        expected,
        |c| load(c, id),
        |c, version| {
            let updated = diesel::update(users::table.find(id).filter(users::version.eq(version)))
                .set((
                    &changes,
                    users::version.eq(version + 1),
                    users::updated_at.eq(change.at),
                ))
                .execute(c)?;
            // A new password, or turning the user on or off, unlocks the login name.
            if updated > 0 && (changes.password_hash.is_some() || changes.active.is_some()) {
                let name = users::table.find(id).select(users::username);
                diesel::delete(
                    sign_in_failures::table.filter(sign_in_failures::username.eq_any(name)),
                )
                .execute(c)?;
            }
            Ok(updated)
        },
    )
}

/// The wrong passwords recently given for a login name (any case), if any.
pub fn failed_sign_ins(
    conn: &mut DbConn,
    username: &str,
) -> Result<Option<FailedSignIns>, StoreError> {
    Ok(sign_in_failures::table
        .find(username.to_lowercase())
        .select(FAILURE_COLUMNS)
        .first::<FailureRow>(conn)
        .optional()?
        .map(from_row))
}

/// Counts one more wrong password for a login name at `now`, as the core's lockout rule counts
/// it, and returns the new count. The name's row is written first in the transaction, so
/// concurrent wrong tries wait for each other and every one of them counts.
pub fn record_failed_sign_in(
    conn: &mut DbConn,
    username: &str,
    now: DateTime<Utc>,
) -> Result<FailedSignIns, StoreError> {
    let name = username.to_lowercase();
    let once = |c: &mut DbConn| {
        write_tx(c, |c| {
            let row = sign_in_failures::table.find(&name);
            let touched = diesel::update(row)
                .set(sign_in_failures::failures.eq(sign_in_failures::failures))
                .execute(c)?;
            let previous = if touched == 0 {
                None
            } else {
                Some(from_row(
                    row.select(FAILURE_COLUMNS).first::<FailureRow>(c)?,
                ))
            };
            let next = FailedSignIns::after_failure(previous.as_ref(), now);
            let values = (
                sign_in_failures::failures.eq(next.failures),
                sign_in_failures::last_failed_at.eq(next.last_failed_at.naive_utc()),
                sign_in_failures::locked_until.eq(next.locked_until.map(|t| t.naive_utc())),
            );
            if touched == 0 {
                diesel::insert_into(sign_in_failures::table)
                    .values((sign_in_failures::username.eq(&name), values))
                    .execute(c)?;
            } else {
                diesel::update(row).set(values).execute(c)?;
            }
            Ok::<_, StoreError>(next)
        })
    };
    match once(conn) {
        // Another wrong try for a name seen for the first time inserted its row first.
        Err(StoreError::Conflict(ConflictKind::Duplicate(_))) => once(conn),
        other => other,
    }
}

/// Forgets the wrong passwords given for a login name (after a right one).
pub fn clear_failed_sign_ins(conn: &mut DbConn, username: &str) -> Result<(), StoreError> {
    diesel::delete(sign_in_failures::table.find(username.to_lowercase())).execute(conn)?;
    Ok(())
}

type FailureRow = (i32, NaiveDateTime, Option<NaiveDateTime>);

const FAILURE_COLUMNS: (
    sign_in_failures::failures,
    sign_in_failures::last_failed_at,
    sign_in_failures::locked_until,
) = (
    sign_in_failures::failures,
    sign_in_failures::last_failed_at,
    sign_in_failures::locked_until,
);

fn from_row((failures, last_failed_at, locked_until): FailureRow) -> FailedSignIns {
    FailedSignIns {
        failures,
        last_failed_at: last_failed_at.and_utc(),
        locked_until: locked_until.map(|t| t.and_utc()),
    }
}
