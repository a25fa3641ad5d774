//! Roles: what a signed-in user or integration may do (DESIGN section 6).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The one role a user or integration client holds; its scope (cluster, practice) is held beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the whole installation: creates clusters and their managers.
    Admin,
    /// Manages one cluster: sites, rotas, sharing rules, users and reports.
    ClusterManager,
    /// Works at the hubs of one cluster: day lists and attendance outcomes.
    HubStaff,
    /// Books for the patients of one practice.
    Receptionist,
    /// A triage service such as NHS 111, a machine client scoped to one or more clusters.
    Triage,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 5] = [
        Self::Admin,
        Self::ClusterManager,
        Self::HubStaff,
        Self::Receptionist,
        Self::Triage,
    ];

    /// The role's stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::ClusterManager => "cluster_manager",
            Self::HubStaff => "hub_staff",
            Self::Receptionist => "receptionist",
            Self::Triage => "triage",
        }
    }

    /// Whether a user of this role belongs to exactly one cluster.
    pub fn needs_cluster(self) -> bool {
        matches!(
            self,
            Self::ClusterManager | Self::HubStaff | Self::Receptionist
        )
    }

    /// Whether a user of this role belongs to exactly one practice.
    pub fn needs_practice(self) -> bool {
        matches!(self, Self::Receptionist)
    }
}

impl FromStr for Role {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownRole(s.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::stored_as_text!(Role);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_scope() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!(Role::Receptionist.needs_practice() && Role::Receptionist.needs_cluster());
        assert!(!Role::Admin.needs_cluster() && !Role::Triage.needs_cluster());
        assert!("root".parse::<Role>().is_err());
    }
}
