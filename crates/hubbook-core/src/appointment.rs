//! An appointment's life: the statuses it moves through and which moves are allowed when.

use chrono::{Duration, NaiveDateTime};

use crate::Refusal;

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

/// A slot as the adjacency rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotShape<'a> {
    /// Its id, for the refusal's words.
    pub id: &'a str,
    /// Start (UTC).
    pub starts_at: NaiveDateTime,
    /// End (UTC).
    pub ends_at: NaiveDateTime,
    /// Its session (GP Connect's Schedule).
    pub session: &'a str,
    /// Its service.
    pub service: &'a str,
    /// Its delivery channel.
    pub delivery: crate::rota::Delivery,
}

/// The most slots one appointment may take.
pub const MAX_ADJACENT_SLOTS: usize = 6;

/// Whether slots, in the order given, can be booked as one appointment: at most
/// [`MAX_ADJACENT_SLOTS`], no slot twice, each starting when the one before ends, all of one
/// session, one service and one delivery channel (GP Connect's rule for adjacent slots).
pub fn adjacent(slots: &[SlotShape<'_>]) -> Result<(), Refusal> {
    let refuse = |why: String| Err(Refusal::NotAdjacent(why));
    if slots.len() > MAX_ADJACENT_SLOTS {
        return refuse(format!(
            "an appointment takes at most {MAX_ADJACENT_SLOTS} slots, not {}",
            slots.len()
        ));
    }
    for pair in slots.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.session != b.session {
            return refuse(format!(
                "slots {} and {} are of different sessions",
                a.id, b.id
            ));
        }
        if a.service != b.service || a.delivery != b.delivery {
            return refuse(format!(
                "slots {} and {} differ in service or delivery channel",
                a.id, b.id
            ));
        }
        if a.ends_at != b.starts_at {
            return refuse(format!(
                "slot {} does not start when slot {} ends: give the slots in time order, with no gap",
                b.id, a.id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape<'a>(id: &'a str, start: &str, end: &str, session: &'a str) -> SlotShape<'a> {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        SlotShape {
            id,
            starts_at: t(start),
            ends_at: t(end),
            session,
            service: "gp",
            delivery: crate::rota::Delivery::FaceToFace,
        }
    }

    #[test]
    fn adjacent_slots_follow_each_other_in_one_session() {
        let a = shape("a", "2026-12-07 09:00", "2026-12-07 09:10", "s1");
        let b = shape("b", "2026-12-07 09:10", "2026-12-07 09:20", "s1");
        let c = shape("c", "2026-12-07 09:20", "2026-12-07 09:30", "s1");
        assert!(adjacent(&[a, b, c]).is_ok());
        assert!(adjacent(&[a]).is_ok());
        // Out of order, with a gap, across sessions, or of another service or delivery.
        assert!(adjacent(&[b, a]).is_err());
        assert!(adjacent(&[a, c]).is_err());
        assert!(adjacent(&[a, b]).is_ok());
        let other_session = SlotShape { session: "s2", ..b };
        assert!(adjacent(&[a, other_session]).is_err());
        let video = SlotShape {
            delivery: crate::rota::Delivery::Video,
            ..b
        };
        assert!(adjacent(&[a, video]).is_err());
        let nurse = SlotShape {
            service: "nurse",
            ..b
        };
        assert_eq!(
            adjacent(&[a, nurse]).unwrap_err().code(),
            "slots-not-adjacent"
        );
        assert!(adjacent(&[a, a]).is_err(), "the same slot twice");
        let many: Vec<SlotShape<'_>> = (0..7)
            .map(|i| {
                let start = NaiveDateTime::parse_from_str("2026-12-07 09:00", "%Y-%m-%d %H:%M")
                    .unwrap()
                    + Duration::minutes(10 * i);
                SlotShape {
                    starts_at: start,
                    ends_at: start + Duration::minutes(10),
                    ..a
                }
            })
            .collect();
        assert!(adjacent(&many).is_err());
    }

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
