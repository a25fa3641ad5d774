//! An appointment's life: the statuses it moves through and which moves are allowed when.

use chrono::{Duration, NaiveDateTime};

use crate::ValidationError;

crate::text_enum! {
    /// Where an appointment stands: booked, then arrived and seen or did-not-attend, or cancelled.
    pub enum AppointmentStatus(
        ValidationError,
        |value| ValidationError::UnknownName {
            what: "appointment status",
            value,
            known: "booked, cancelled, arrived, seen, did_not_attend",
        }
    ) {
        /// Booked and not yet attended.
        Booked = "booked",
        /// Cancelled (or moved away by a reschedule); the slot is free again.
        Cancelled = "cancelled",
        /// The patient has arrived.
        Arrived = "arrived",
        /// The patient has been seen.
        Seen = "seen",
        /// The patient did not attend.
        DidNotAttend = "did_not_attend",
    }
}

impl AppointmentStatus {
    /// The statuses of a live appointment, one that occupies its slot: at most one per slot.
    pub const LIVE: [AppointmentStatus; 3] = [Self::Booked, Self::Arrived, Self::Seen];

    /// Whether an appointment in this status occupies its slot.
    pub fn is_live(self) -> bool {
        Self::LIVE.contains(&self)
    }
}

/// The stored names of [`AppointmentStatus::LIVE`], for the queries and the partial unique index
/// (`appointments_one_live_per_slot`) that must list them literally.
pub const LIVE_STATUSES: [&str; 3] = [
    AppointmentStatus::Booked.as_str(),
    AppointmentStatus::Arrived.as_str(),
    AppointmentStatus::Seen.as_str(),
];

/// An attendance outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The patient has arrived.
    Arrived,
    /// The patient has been seen.
    Seen,
    /// The patient did not attend.
    DidNotAttend,
}

impl Outcome {
    /// The status the appointment takes.
    pub fn status(self) -> AppointmentStatus {
        match self {
            Self::Arrived => AppointmentStatus::Arrived,
            Self::Seen => AppointmentStatus::Seen,
            Self::DidNotAttend => AppointmentStatus::DidNotAttend,
        }
    }

    /// The stored status.
    pub fn as_str(self) -> &'static str {
        self.status().as_str()
    }
}

/// Whether an appointment may move from `status` to `outcome` at `now`: booked to arrived (from
/// an hour before the start), to seen or to did-not-attend (from the start); arrived to seen; a
/// did-not-attend corrected to arrived or seen only when `correcting` (a manager).
pub fn outcome_allowed(
    status: AppointmentStatus,
    outcome: Outcome,
    starts_at: NaiveDateTime,
    now: NaiveDateTime,
    correcting: bool,
) -> Result<(), String> {
    use AppointmentStatus::{Arrived, Booked, DidNotAttend};
    let started = now >= starts_at;
    match (status, outcome) {
        (Booked, Outcome::Arrived) if now >= starts_at - Duration::hours(1) => Ok(()),
        (Booked, Outcome::Arrived) => {
            Err("a patient can be marked arrived from an hour before the appointment".into())
        }
        (Booked | Arrived, Outcome::Seen) | (Booked, Outcome::DidNotAttend) if started => Ok(()),
        (Booked | Arrived, Outcome::Seen) | (Booked, Outcome::DidNotAttend) => {
            Err("the appointment has not started yet".into())
        }
        (DidNotAttend, Outcome::Arrived | Outcome::Seen) if correcting => Ok(()),
        (DidNotAttend, _) => Err("only a cluster manager may correct a did-not-attend".into()),
        (from, to) => Err(format!(
            "an appointment cannot go from {from} to {}",
            to.as_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn outcomes_follow_the_allowed_transitions() {
        let start = t("2026-12-07 09:00");
        assert!(outcome_allowed(
            AppointmentStatus::Booked,
            Outcome::Arrived,
            start,
            t("2026-12-07 08:15"),
            false
        )
        .is_ok());
        assert!(outcome_allowed(
            AppointmentStatus::Booked,
            Outcome::Arrived,
            start,
            t("2026-12-07 07:00"),
            false
        )
        .is_err());
        assert!(outcome_allowed(
            AppointmentStatus::Booked,
            Outcome::DidNotAttend,
            start,
            t("2026-12-07 08:59"),
            false
        )
        .is_err());
        assert!(outcome_allowed(
            AppointmentStatus::Booked,
            Outcome::DidNotAttend,
            start,
            t("2026-12-07 09:20"),
            false
        )
        .is_ok());
        assert!(outcome_allowed(
            AppointmentStatus::Arrived,
            Outcome::Seen,
            start,
            t("2026-12-07 09:10"),
            false
        )
        .is_ok());
        assert!(outcome_allowed(
            AppointmentStatus::Seen,
            Outcome::Arrived,
            start,
            t("2026-12-07 09:10"),
            true
        )
        .is_err());
        assert!(outcome_allowed(
            AppointmentStatus::Cancelled,
            Outcome::Seen,
            start,
            t("2026-12-07 09:10"),
            true
        )
        .is_err());
        assert!(outcome_allowed(
            AppointmentStatus::DidNotAttend,
            Outcome::Seen,
            start,
            t("2026-12-07 10:00"),
            false
        )
        .is_err());
        assert!(outcome_allowed(
            AppointmentStatus::DidNotAttend,
            Outcome::Seen,
            start,
            t("2026-12-07 10:00"),
            true
        )
        .is_ok());
    }
}
