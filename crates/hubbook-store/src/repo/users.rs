//! Staff users: one role and scope each, signed in with an argon2id-hashed password.

use diesel::prelude::*;

use super::{audited, insert_audited, update_audited, Change};
use crate::ids::ClusterId;
use crate::models::{User, UserChanges};
use crate::schema::users;
use crate::{new_id, DbConn, Page, StoreError};
use hubbook_core::throttle::ThrottleKey;

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
            // A new password, or turning the user on or off, ends the login name's back-off
            // (not its address's).
            if updated > 0 && (changes.password_hash.is_some() || changes.active.is_some()) {
                let name: String = users::table.find(id).select(users::username).first(c)?;
                let key = ThrottleKey::user(&name).stored();
                diesel::delete(crate::schema::sign_in_throttle::table.find(key)).execute(c)?;
            }
            Ok(updated)
        },
    )
}
