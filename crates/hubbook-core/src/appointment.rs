//! An appointment's life: the statuses it moves through and which moves are allowed when.

use chrono::{Duration, NaiveDateTime};

/// The statuses of a live appointment, one that occupies its slot: at most one per slot.
pub const LIVE_STATUSES: [&str; 3] = ["booked", "arrived", "seen"];

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
    /// The stored status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Arrived => "arrived",
            Self::Seen => "seen",
            Self::DidNotAttend => "did_not_attend",
        }
    }
}

/// Whether an appointment may move from `status` to `outcome` at `now`: booked to arrived (from
/// an hour before the start), to seen or to did-not-attend (from the start); arrived to seen; a
/// did-not-attend corrected to arrived or seen only when `correcting` (a manager).
pub fn outcome_allowed(
    status: &str,
    outcome: Outcome,
    starts_at: NaiveDateTime,
    now: NaiveDateTime,
    correcting: bool,
) -> Result<(), String> {
    let started = now >= starts_at;
    match (status, outcome) {
        ("booked", Outcome::Arrived) if now >= starts_at - Duration::hours(1) => Ok(()),
        ("booked", Outcome::Arrived) => {
            Err("a patient can be marked arrived from an hour before the appointment".into())
        }
        ("booked" | "arrived", Outcome::Seen) | ("booked", Outcome::DidNotAttend) if started => {
            Ok(())
        }
        ("booked" | "arrived", Outcome::Seen) | ("booked", Outcome::DidNotAttend) => {
            Err("the appointment has not started yet".into())
        }
        ("did_not_attend", Outcome::Arrived | Outcome::Seen) if correcting => Ok(()),
        ("did_not_attend", _) => Err("only a cluster manager may correct a did-not-attend".into()),
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
            "booked",
            Outcome::Arrived,
            start,
            t("2026-12-07 08:15"),
            false
        )
        .is_ok());
        assert!(outcome_allowed(
            "booked",
            Outcome::Arrived,
            start,
            t("2026-12-07 07:00"),
            false
        )
        .is_err());
        assert!(outcome_allowed(
            "booked",
            Outcome::DidNotAttend,
            start,
            t("2026-12-07 08:59"),
            false
        )
        .is_err());
        assert!(outcome_allowed(
            "booked",
            Outcome::DidNotAttend,
            start,
            t("2026-12-07 09:20"),
            false
        )
        .is_ok());
        assert!(outcome_allowed(
            "arrived",
            Outcome::Seen,
            start,
            t("2026-12-07 09:10"),
            false
        )
        .is_ok());
        assert!(
            outcome_allowed("seen", Outcome::Arrived, start, t("2026-12-07 09:10"), true).is_err()
        );
        assert!(outcome_allowed(
            "cancelled",
            Outcome::Seen,
            start,
            t("2026-12-07 09:10"),
            true
        )
        .is_err());
        assert!(outcome_allowed(
            "did_not_attend",
            Outcome::Seen,
            start,
            t("2026-12-07 10:00"),
            false
        )
        .is_err());
        assert!(outcome_allowed(
            "did_not_attend",
            Outcome::Seen,
            start,
            t("2026-12-07 10:00"),
            true
        )
        .is_ok());
    }
}
