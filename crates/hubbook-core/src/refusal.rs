//! Refusals: a write that is well formed but that the facts stored now do not allow (the slot is
//! taken, the hold has run out, the appointment is already cancelled...).
//!
//! The store finds the facts inside the write's transaction and answers with one of these; the
//! rule's words and its stable code live here, so every front end says the same thing.

use thiserror::Error;

/// Why a booking, hold or change was refused by what is stored now.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The slot is booked, held by someone else, withdrawn from the rota, or its session is not
    /// active: search again.
    #[error("the slot has just been booked or is held by someone else; search again")]
    SlotUnavailable,
    /// The hold named does not exist, is someone else's, or has expired.
    #[error(
        "the hold named is not yours or has expired; hold the slot again or book without a hold"
    )]
    HoldExpired,
    /// The patient already has a live appointment for the same service that day.
    #[error("the patient already has an appointment for this service that day")]
    DuplicateBooking,
    /// The slot has already started.
    #[error("the slot has already started")]
    SlotInPast,
    /// The slot is not offered to the caller now; the text is the sharing rule's code for why.
    #[error("the slot is not offered to you now ({0})")]
    NotOffered(String),
    /// The appointment's status does not allow the change; the text says why.
    #[error("{0}")]
    InvalidTransition(String),
    /// Slots asked for as one appointment that are not adjacent (each starting when the one
    /// before ends, of one session, service and delivery); the text says which.
    #[error("{0}")]
    NotAdjacent(String),
    /// An integration already has as many live secrets as it may.
    #[error("two secrets are live already; revoke one before rotating again")]
    SecretLimit,
}

impl Refusal {
    /// A stable, lower-case, hyphenated code naming the kind of refusal, for machines to match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SlotUnavailable => "slot-unavailable",
            Self::HoldExpired => "hold-expired",
            Self::DuplicateBooking => "duplicate-booking",
            Self::SlotInPast => "slot-in-past",
            Self::NotOffered(_) => "slot-not-offered",
            Self::InvalidTransition(_) => "invalid-transition",
            Self::NotAdjacent(_) => "slots-not-adjacent",
            Self::SecretLimit => "secret-limit",
        }
    }

    /// Whether another slot might still do: the chosen one was taken, has started or is not
    /// offered, so a search for the next best is worth it (a triage booking walks on).
    pub fn another_slot_may_do(&self) -> bool {
        matches!(
            self,
            Self::SlotUnavailable | Self::SlotInPast | Self::NotOffered(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_distinct() {
        let all = [
            Refusal::SlotUnavailable,
            Refusal::HoldExpired,
            Refusal::DuplicateBooking,
            Refusal::SlotInPast,
            Refusal::NotOffered("reserved-for-111".into()),
            Refusal::InvalidTransition("a cancelled appointment cannot be cancelled".into()),
            Refusal::SecretLimit,
        ];
        let mut codes: Vec<_> = all.iter().map(Refusal::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert!(Refusal::NotOffered("x".into()).another_slot_may_do());
        assert!(!Refusal::DuplicateBooking.another_slot_may_do());
        assert!(!Refusal::HoldExpired.another_slot_may_do());
    }
}
