//! Staff users of a cluster: its manager (or an admin) lists them, creates them, renames them,
//! sets new passwords and stops them signing in. A password is kept only as an argon2id hash,
//! made on the use case's blocking task once the caller is known to be allowed.

use hubbook_core::access::ClusterNeed;
use hubbook_core::{validate_name, Role};
use hubbook_store::ids::PracticeId;
use hubbook_store::models::{User, UserChanges};
use hubbook_store::repo::idempotency::Claim;
use hubbook_store::repo::{practices, users};
use hubbook_store::{DbConn, Page};

use crate::access::cluster_for;
use crate::error::found;
use crate::idempotency::create_once;
use crate::secrets::hash_secret;
use crate::{Caller, Hubbook, ServiceError};

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;

/// A staff user to create in a cluster, checked: build it with [`CreateUser::new`].
#[derive(Clone)]
pub struct CreateUser {
    /// Login name, lower case.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// The password, to be hashed.
    pub password: String,
    /// A role held within one cluster.
    pub role: Role,
    /// The receptionist's practice (id in the cluster).
    pub practice_id: Option<String>,
}

impl CreateUser {
    /// Checks a staff user as sent, in this order: the role (one held in a cluster, with a
    /// practice for a receptionist only), the username, the display name, the password.
    pub fn new(
        username: &str,
        display_name: &str,
        password: String,
        role: &str,
        practice_id: Option<String>,
    ) -> Result<Self, ServiceError> {
        let role: Role = role.parse()?;
        if !role.needs_cluster() {
            return Err(ServiceError::InvalidRole(format!(
                "a cluster user is a cluster_manager, hub_staff or receptionist, not {role}"
            )));
        }
        if role.needs_practice() != practice_id.is_some() {
            return Err(ServiceError::InvalidRole(
                "a receptionist needs a practice_id, and only a receptionist has one".into(),
            ));
        }
        let username = hubbook_core::account::normal_username(username)
            .ok_or(ServiceError::InvalidUsername)?;
        let display_name =
            validate_name("display_name", display_name, hubbook_core::MAX_NAME_CHARS)?;
        check_password(&password)?;
        Ok(Self {
            username,
            display_name,
            password,
            role,
            practice_id,
        })
    }
}

/// Changes to a staff user; absent fields stay as they are. A new password is checked once the
/// caller is known to be allowed.
#[derive(Clone, Default)]
pub struct UpdateUser {
    /// New display name, checked.
    pub display_name: Option<String>,
    /// New password, as sent.
    pub password: Option<String>,
    /// `false` stops the user signing in.
    pub active: Option<bool>,
}

/// Refuses a password shorter than [`MIN_PASSWORD_LEN`] characters.
fn check_password(password: &str) -> Result<(), ServiceError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ServiceError::WeakPassword);
    }
    Ok(())
}

/// A user of the cluster with this id, or `NotFound`.
fn user_in(c: &mut DbConn, cluster_id: &str, id: &str) -> Result<User, ServiceError> {
    let user = found(users::get_user(c, id), "user")?;
    if user.cluster_id.as_deref() == Some(cluster_id) {
        Ok(user)
    } else {
        Err(ServiceError::NotFound(
            "no user here that you may see".into(),
        ))
    }
}

impl Hubbook {
    /// The cluster's staff users (its manager, or an admin).
    pub async fn list_users(
        &self,
        who: &Caller,
        code: String,
        after: Option<String>,
        limit: i64,
    ) -> Result<Page<User>, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::ManageUsers)?;
            Ok(users::list_users(c, &cluster.id, after.as_deref(), limit)?)
        })
        .await
    }

    /// Creates a staff user in the cluster (its manager the desk's roles, an admin any: see
    /// `hubbook_core::access::may_add_user`); a receptionist's practice must be the cluster's. With a claim, a retry returns the user the first created.
    pub async fn create_user(
        &self,
        who: &Caller,
        claim: Option<Claim>,
        code: String,
        cmd: CreateUser,
    ) -> Result<User, ServiceError> {
        let (who, change, now) = (who.clone(), self.change(who), self.now().naive_utc());
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::ManageUsers)?;
            hubbook_core::access::may_add_user(who.role, cmd.role)?;
            let password_hash = hash_secret(&cmd.password)?;
            create_once(
                c,
                claim.as_ref(),
                now,
                |c| {
                    if let Some(practice_id) = &cmd.practice_id {
                        found(
                            practices::get_practice(c, &cluster.id, &PracticeId::from(practice_id)),
                            "practice",
                        )?;
                    }
                    let new = users::NewUser {
                        username: cmd.username,
                        display_name: cmd.display_name,
                        password_hash,
                        role: cmd.role,
                        cluster_id: Some(cluster.id.clone().into()),
                        practice_id: cmd.practice_id,
                    };
                    Ok(users::create_user(c, &change, new)?)
                },
                |u: &User| u.id.clone(),
                |c, id| user_in(c, &cluster.id, id),
            )
        })
        .await
    }

    /// One staff user of the cluster (its manager, or an admin).
    pub async fn user(&self, who: &Caller, code: String, id: String) -> Result<User, ServiceError> {
        let who = who.clone();
        self.run(move |c| {
            let cluster = cluster_for(c, &who, &code, ClusterNeed::ManageUsers)?;
            user_in(c, &cluster.id, &id)
        })
        .await
    }

    /// Renames a staff user, sets a new password or stops them signing in (the cluster's
    /// manager, or an admin).
    pub async fn update_user(
        &self,
        who: &Caller,
        code: String,
        id: String,
        expected: Option<i64>,
        cmd: UpdateUser,
    ) -> Result<User, ServiceError> {
        let (who, change) = (who.clone(), self.change(who));
        let updated = self
            .run(move |c| {
                let cluster = cluster_for(c, &who, &code, ClusterNeed::ManageUsers)?;
                if let Some(password) = &cmd.password {
                    check_password(password)?;
                }
                user_in(c, &cluster.id, &id)?;
                let password_hash = cmd.password.as_deref().map(hash_secret).transpose()?;
                Ok(users::update_user(
                    c,
                    &change,
                    &id,
                    expected,
                    UserChanges {
                        display_name: cmd.display_name,
                        password_hash,
                        active: cmd.active,
                    },
                )?)
            })
            .await;
        // After the write, so that no request in between caches what was true before it.
        self.standing.forget();
        updated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(username: &str, password: &str, role: &str, practice: Option<&str>) -> String {
        match CreateUser::new(
            username,
            "Display",
            password.into(),
            role,
            practice.map(str::to_owned),
        ) {
            Ok(_) => "accepted".into(),
            Err(e) => format!("{e:?}"),
        }
    }

    #[test]
    fn a_new_user_is_checked_role_first_then_username_then_password() {
        let strong = "a long enough password";
        assert!(refusal("x", "short", "admin", None).starts_with("InvalidRole"));
        assert!(refusal("x", "short", "receptionist", None).starts_with("InvalidRole"));
        assert!(refusal("x", "short", "hub_staff", Some("p1")).starts_with("InvalidRole"));
        assert!(refusal("x", "short", "nurse", None).starts_with("Validation"));
        assert!(refusal("x", "short", "hub_staff", None).starts_with("InvalidUsername"));
        assert!(refusal("a b c", strong, "hub_staff", None).starts_with("InvalidUsername"));
        assert!(refusal("abc", "short", "hub_staff", None).starts_with("WeakPassword"));
        assert_eq!(
            refusal("abc", strong, "receptionist", Some("p1")),
            "accepted"
        );
        let user = CreateUser::new(" Mary.Jones ", " Mary ", strong.into(), "hub_staff", None);
        let user = user.map(|u| (u.username, u.display_name)).ok();
        assert_eq!(user, Some(("mary.jones".into(), "Mary".into())));
    }
}
