//! Staff users: one role and scope each, signed in with an argon2id-hashed password.

use diesel::prelude::*;

use super::{audited, insert_audited, update_audited, Change};
use crate::ids::ClusterId;
use crate::models::{User, UserChanges};
use crate::schema::users;
use crate::{new_id, DbConn, Page, StoreError};

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
            diesel::update(users::table.find(id).filter(users::version.eq(version)))
                .set((
                    &changes,
                    users::version.eq(version + 1),
                    users::updated_at.eq(change.at),
                ))
                .execute(c)
        },
    )
}
