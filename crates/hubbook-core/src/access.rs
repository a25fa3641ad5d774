//! Who may see and change what (roles and scopes): pure functions over the caller and the facts of
//! a row, so that every front end asks the same questions and gets the same answers.
//!
//! Two shapes of each rule live here: a yes or no for one row ([`may_see_appointment`]), and a
//! description of the rows a caller may list ([`AppointmentScope`]) that the store turns into SQL,
//! so a page of `limit` rows holds `limit` rows whenever that many exist.

use serde::{Deserialize, Serialize};

use crate::Role;

/// Whether a caller is a staff user or an integration client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A person signed in with username and password.
    User,
    /// A machine client signed in with client id and secret.
    Client,
}

/// Where a caller may act: its cluster and practice, or for a triage client its clusters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The cluster id of a manager, hub staff member or receptionist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The practice id of a receptionist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practice: Option<String>,
    /// The cluster ids a triage client may act in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
}

/// The authenticated caller of a use case: who, in which role, and where the role applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user's or integration's id.
    pub id: String,
    /// User or client.
    pub kind: SubjectKind,
    /// The caller's role.
    pub role: Role,
    /// Where the role applies.
    pub scope: Scope,
    /// For a client: the secret its token was issued against; the token dies with it.
    pub credential: Option<String>,
}

impl Caller {
    /// Whether a user's token still stands against the account as stored now: active, with the
    /// role, cluster and practice the token was issued for. A deactivated account, a changed
    /// role or a moved receptionist is refused on the next request, not when the token expires.
    pub fn stands_as(
        &self,
        active: bool,
        role: Role,
        cluster: Option<&str>,
        practice: Option<&str>,
    ) -> bool {
        active
            && self.kind == SubjectKind::User
            && self.role == role
            && self.scope.cluster.as_deref() == cluster
            && self.scope.practice.as_deref() == practice
    }

    /// How the caller is named in audit events and on rows: `user:<id>` or `client:<id>`.
    pub fn actor(&self) -> String {
        match self.kind {
            SubjectKind::User => format!("user:{}", self.id),
            SubjectKind::Client => format!("client:{}", self.id),
        }
    }

    /// Whether the caller's scope includes the cluster with this id.
    pub fn in_cluster(&self, cluster_id: &str) -> bool {
        self.role == Role::Admin
            || self.scope.cluster.as_deref() == Some(cluster_id)
            || self.scope.clusters.iter().any(|c| c == cluster_id)
    }

    /// The clusters whose appointments the caller may look in: a triage client's clusters, or the
    /// one cluster of a staff member.
    pub fn clusters(&self) -> Vec<String> {
        match self.role {
            Role::Triage => self.scope.clusters.clone(),
            _ => self.scope.cluster.iter().cloned().collect(),
        }
    }

    /// The same person acting as a receptionist of `practice_id` in `cluster_id`: a manager
    /// booking or moving a patient on a practice's behalf sees the slots that practice sees,
    /// while rows and the audit trail still name the manager.
    pub fn as_practice(&self, cluster_id: &str, practice_id: &str) -> Caller {
        Caller {
            role: Role::Receptionist,
            scope: Scope {
                cluster: Some(cluster_id.to_owned()),
                practice: Some(practice_id.to_owned()),
                clusters: Vec::new(),
            },
            credential: None,
            ..self.clone()
        }
    }
}

/// Why a caller may not do something; the text says who may, for a person to read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Forbidden(pub &'static str);

/// What an operation needs of its caller within a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterNeed {
    /// Read the cluster's reference data (practices, sites, services): any member, or an admin.
    Read,
    /// Change the cluster's set-up (sites, rotas, sharing): its cluster manager.
    Manage,
    /// Manage the cluster's users: its cluster manager, or an admin.
    ManageUsers,
    /// Change the cluster itself (name, time zone): its cluster manager, or an admin.
    ManageCluster,
    /// Read the cluster's sessions: its manager or hub staff, or an admin.
    Operate,
}

/// Why a caller may not act in a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterDenied {
    /// The cluster is outside the caller's scope: answered as if it did not exist.
    OutOfScope,
    /// The caller is in the cluster, but its role may not do this.
    Forbidden(Forbidden),
}

/// Whether `caller` may act in the cluster `cluster_id` as `need` says: outside its scope it
/// learns nothing (not even that the cluster exists); inside, its role decides.
pub fn cluster_access(
    caller: &Caller,
    cluster_id: &str,
    need: ClusterNeed,
) -> Result<(), ClusterDenied> {
    if !caller.in_cluster(cluster_id) {
        return Err(ClusterDenied::OutOfScope);
    }
    cluster_role_may(caller.role, need).map_err(ClusterDenied::Forbidden)
}

/// The role part of [`cluster_access`]: whether a role may do what `need` says in a cluster of
/// its scope. Checked on its own before a request is read, so that a caller without the rights
/// hears it whatever it sent.
pub fn cluster_role_may(role: Role, need: ClusterNeed) -> Result<(), Forbidden> {
    use Role::{Admin, ClusterManager, HubStaff};
    let (allowed, why) = match need {
        ClusterNeed::Read => (true, ""),
        ClusterNeed::Manage => (
            role == ClusterManager,
            "only the cluster's manager may do this",
        ),
        ClusterNeed::ManageUsers => (
            matches!(role, ClusterManager | Admin),
            "only the cluster's manager or an admin may manage its users",
        ),
        ClusterNeed::ManageCluster => (
            matches!(role, ClusterManager | Admin),
            "only the cluster's manager or an admin may change the cluster",
        ),
        ClusterNeed::Operate => (
            matches!(role, ClusterManager | HubStaff | Admin),
            "only the cluster's manager, hub staff or an admin may do this",
        ),
    };
    if allowed {
        Ok(())
    } else {
        Err(Forbidden(why))
    }
}

/// Whether a caller of role `by` may add a staff user of role `role` to a cluster: an admin any
/// cluster role, a cluster manager only the desk's roles (receptionist, hub staff), so that a
/// manager cannot make another manager.
pub fn may_add_user(by: Role, role: Role) -> Result<(), Forbidden> {
    match (by, role) {
        (Role::Admin, _) => Ok(()),
        (Role::ClusterManager, Role::Receptionist | Role::HubStaff) => Ok(()),
        (Role::ClusterManager, _) => Err(Forbidden(
            "a cluster manager may add receptionists and hub staff; an admin adds managers",
        )),
        _ => Err(Forbidden(
            "only the cluster's manager or an admin may manage its users",
        )),
    }
}

/// Something a user does to an appointment, for the role rules of [`permit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Search and hold slots, book into them.
    Book,
    /// Book as a receptionist or manager (a triage service uses the triage booking).
    BookForPractice,
    /// Read or list appointments.
    ReadAppointments,
    /// Cancel an appointment.
    Cancel,
    /// Move an appointment to another slot.
    Reschedule,
    /// Record arrived, seen or did-not-attend.
    RecordOutcome,
    /// Amend an appointment's notes.
    AmendNotes,
    /// Read a site's day list.
    ReadDayList,
}

/// Whether a role may take an action at all; which rows it may take it on is [`may_see_appointment`].
pub fn permit(role: Role, action: Action) -> Result<(), Forbidden> {
    use Role::{Admin, ClusterManager, HubStaff, Receptionist, Triage};
    let (allowed, why) = match action {
        Action::Book => (
            matches!(role, Receptionist | Triage),
            "searching and booking slots is for receptionists and triage services",
        ),
        Action::BookForPractice => (
            matches!(role, Receptionist | ClusterManager),
            "receptionists and cluster managers book here; triage services use /api/v1/triage/bookings",
        ),
        Action::ReadAppointments => (
            role != Admin,
            "patient appointments are not an admin's to read",
        ),
        Action::Cancel => (
            !matches!(role, HubStaff | Admin),
            "hub staff record outcomes; they do not cancel",
        ),
        Action::Reschedule => (
            matches!(role, Receptionist | ClusterManager),
            "a receptionist or a cluster manager reschedules",
        ),
        Action::RecordOutcome => (
            !matches!(role, Triage | Admin),
            "outcomes are recorded by the hub or the practice",
        ),
        Action::AmendNotes => (
            matches!(role, Receptionist | ClusterManager),
            "notes are amended by the booking practice or the cluster manager",
        ),
        Action::ReadDayList => (
            matches!(role, HubStaff | ClusterManager),
            "day lists are for hub staff and managers",
        ),
    };
    if allowed {
        Ok(())
    } else if role == Admin && action != Action::ReadDayList {
        Err(Forbidden("patient appointments are not an admin's to read"))
    } else {
        Err(Forbidden(why))
    }
}

/// What the access rules need to know of one appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppointmentFacts<'a> {
    /// The cluster it is in.
    pub cluster_id: &'a str,
    /// The practice that booked it, if a practice did.
    pub booking_practice: Option<&'a str>,
    /// The patient's registered practice.
    pub registered_practice: Option<&'a str>,
    /// Who booked it (`user:<id>` or `client:<id>`).
    pub booked_by: &'a str,
    /// Whether its site is a hub.
    pub at_hub: bool,
    /// Whether the booking practice's data-sharing agreement is in force today.
    pub booker_shares: bool,
}

/// Which of a cluster's appointments a caller may see, as a rule the store can write as SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppointmentScope {
    /// Every appointment of the clusters (a cluster manager).
    All,
    /// Appointments at the cluster's hub sites (hub staff).
    Hubs,
    /// What this caller booked (`client:<id>`, a triage service).
    BookedBy(String),
    /// A practice's: those it booked, and those of its registered patients that another practice
    /// booked when both practices' data-sharing agreements are in force today.
    Practice {
        /// The practice.
        practice_id: String,
        /// Whether the practice's own agreement is in force today.
        shares: bool,
    },
}

impl AppointmentScope {
    /// The scope of a caller; `own_agreement_in_force` is the receptionist's practice's agreement
    /// today (ignored for other roles).
    pub fn of(caller: &Caller, own_agreement_in_force: bool) -> Result<Self, Forbidden> {
        permit(caller.role, Action::ReadAppointments)?;
        Ok(match caller.role {
            Role::ClusterManager => Self::All,
            Role::HubStaff => Self::Hubs,
            Role::Triage => Self::BookedBy(caller.actor()),
            Role::Receptionist => match &caller.scope.practice {
                Some(practice_id) => Self::Practice {
                    practice_id: practice_id.clone(),
                    shares: own_agreement_in_force,
                },
                None => return Err(Forbidden("a receptionist needs a practice")),
            },
            Role::Admin => {
                return Err(Forbidden("patient appointments are not an admin's to read"))
            }
        })
    }

    /// Whether one appointment is in this scope: the same rule the store writes as SQL.
    pub fn contains(&self, a: &AppointmentFacts<'_>) -> bool {
        match self {
            Self::All => true,
            Self::Hubs => a.at_hub,
            Self::BookedBy(actor) => a.booked_by == actor,
            Self::Practice {
                practice_id,
                shares,
            } => {
                a.booking_practice == Some(practice_id.as_str())
                    || (a.registered_practice == Some(practice_id.as_str())
                        && a.booking_practice.is_some()
                        && *shares
                        && a.booker_shares)
            }
        }
    }
}

/// Whether `caller` may see one appointment: in its clusters and its [`AppointmentScope`].
pub fn may_see_appointment(
    caller: &Caller,
    own_agreement_in_force: bool,
    a: &AppointmentFacts<'_>,
) -> bool {
    caller.in_cluster(a.cluster_id)
        && AppointmentScope::of(caller, own_agreement_in_force).is_ok_and(|s| s.contains(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_add_the_desk_and_admins_add_managers() {
        assert!(may_add_user(Role::ClusterManager, Role::Receptionist).is_ok());
        assert!(may_add_user(Role::ClusterManager, Role::HubStaff).is_ok());
        assert!(may_add_user(Role::ClusterManager, Role::ClusterManager).is_err());
        assert!(may_add_user(Role::ClusterManager, Role::Admin).is_err());
        assert!(may_add_user(Role::Admin, Role::ClusterManager).is_ok());
        assert!(may_add_user(Role::Receptionist, Role::Receptionist).is_err());
    }

    fn caller(role: Role, practice: Option<&str>) -> Caller {
        Caller {
            id: "u1".into(),
            kind: if role == Role::Triage {
                SubjectKind::Client
            } else {
                SubjectKind::User
            },
            role,
            scope: Scope {
                cluster: (role != Role::Triage).then(|| "c1".to_owned()),
                practice: practice.map(str::to_owned),
                clusters: if role == Role::Triage {
                    vec!["c1".into()]
                } else {
                    Vec::new()
                },
            },
            credential: None,
        }
    }

    fn facts<'a>(booking: Option<&'a str>, registered: Option<&'a str>) -> AppointmentFacts<'a> {
        AppointmentFacts {
            cluster_id: "c1",
            booking_practice: booking,
            registered_practice: registered,
            booked_by: "user:r9",
            at_hub: true,
            booker_shares: true,
        }
    }

    #[test]
    fn a_receptionist_sees_its_bookings_and_shared_ones_of_its_patients() {
        let me = caller(Role::Receptionist, Some("p1"));
        assert!(may_see_appointment(
            &me,
            false,
            &facts(Some("p1"), Some("p2"))
        ));
        assert!(may_see_appointment(
            &me,
            true,
            &facts(Some("p2"), Some("p1"))
        ));
        // Either agreement out of force hides another practice's booking of my patient.
        assert!(!may_see_appointment(
            &me,
            false,
            &facts(Some("p2"), Some("p1"))
        ));
        let unsigned_booker = AppointmentFacts {
            booker_shares: false,
            ..facts(Some("p2"), Some("p1"))
        };
        assert!(!may_see_appointment(&me, true, &unsigned_booker));
        // A 111 booking of my patient has no booking practice to share with.
        assert!(!may_see_appointment(&me, true, &facts(None, Some("p1"))));
        assert!(!may_see_appointment(
            &me,
            true,
            &facts(Some("p2"), Some("p3"))
        ));
        let elsewhere = AppointmentFacts {
            cluster_id: "c2",
            ..facts(Some("p1"), None)
        };
        assert!(!may_see_appointment(&me, true, &elsewhere));
    }

    #[test]
    fn hub_staff_see_hubs_triage_its_own_managers_all_admins_none() {
        let surgery = AppointmentFacts {
            at_hub: false,
            ..facts(Some("p1"), None)
        };
        assert!(may_see_appointment(
            &caller(Role::HubStaff, None),
            false,
            &facts(None, None)
        ));
        assert!(!may_see_appointment(
            &caller(Role::HubStaff, None),
            false,
            &surgery
        ));
        assert!(may_see_appointment(
            &caller(Role::ClusterManager, None),
            false,
            &surgery
        ));
        assert!(!may_see_appointment(
            &caller(Role::Admin, None),
            false,
            &surgery
        ));
        let triage = caller(Role::Triage, None);
        let mine = AppointmentFacts {
            booked_by: "client:u1",
            ..facts(None, None)
        };
        assert!(may_see_appointment(&triage, false, &mine));
        assert!(!may_see_appointment(&triage, false, &surgery));
    }

    #[test]
    fn cluster_needs() {
        let hub = caller(Role::HubStaff, None);
        assert_eq!(cluster_access(&hub, "c1", ClusterNeed::Read), Ok(()));
        assert_eq!(cluster_access(&hub, "c1", ClusterNeed::Operate), Ok(()));
        assert!(matches!(
            cluster_access(&hub, "c1", ClusterNeed::Manage),
            Err(ClusterDenied::Forbidden(_))
        ));
        assert_eq!(
            cluster_access(&hub, "c2", ClusterNeed::Read),
            Err(ClusterDenied::OutOfScope)
        );
        let admin = caller(Role::Admin, None);
        assert_eq!(
            cluster_access(&admin, "c9", ClusterNeed::ManageUsers),
            Ok(())
        );
        assert!(cluster_access(&admin, "c9", ClusterNeed::Manage).is_err());
        let triage = caller(Role::Triage, None);
        assert_eq!(cluster_access(&triage, "c1", ClusterNeed::Read), Ok(()));
        assert!(cluster_access(&triage, "c1", ClusterNeed::Operate).is_err());
    }

    #[test]
    fn roles_and_actions() {
        assert!(permit(Role::HubStaff, Action::Cancel).is_err());
        assert!(permit(Role::Triage, Action::Cancel).is_ok());
        assert!(permit(Role::Triage, Action::RecordOutcome).is_err());
        assert!(permit(Role::HubStaff, Action::ReadDayList).is_ok());
        assert!(permit(Role::Receptionist, Action::ReadDayList).is_err());
        assert!(permit(Role::Triage, Action::Reschedule).is_err());
        assert!(permit(Role::ClusterManager, Action::Book).is_err());
        assert!(permit(Role::ClusterManager, Action::BookForPractice).is_ok());
        for action in [
            Action::ReadAppointments,
            Action::Cancel,
            Action::RecordOutcome,
        ] {
            assert_eq!(
                permit(Role::Admin, action),
                Err(Forbidden("patient appointments are not an admin's to read"))
            );
        }
    }
}
