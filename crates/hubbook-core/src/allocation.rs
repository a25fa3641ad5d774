//! Sharing a cluster's capacity (DESIGN section 5): each slot of a published session gets a
//! [`Channel`], either 111, one named member practice, or open to every practice.
//!
//! Everything here is pure and deterministic: no I/O, no clock, no randomness. The same sessions,
//! members and rules always give the same channels, whatever order the members are listed in.
//!
//! # The 111 share
//!
//! A session's 111 share is worked out first, by the caller with the helpers of this module:
//! [`TriageRule::GpContract`] (each member practice `max(1, floor(list size / 3,000))` slots a day,
//! summed; see [`gp_contract_daily_slots`]), [`TriageRule::PerDay`] (a fixed number a day), both
//! spread over the day's sessions by [`spread_daily_reservation`], or
//! [`TriageRule::PercentOfSession`] (the percentage of each session, rounded down; see
//! [`percent_of_session`]). A session never gives 111 more slots than it was asked to, nor more
//! than it has. The 111 slots are spread evenly through the session: of `n` slots, the `k` for
//! 111 are those at positions `floor((2j + 1) n / 2k)` for `j = 0 .. k - 1` (the centres of `k`
//! equal parts), so 111 has early, middle and late slots alike.
//!
//! # Apportionment between practices
//!
//! A member practice is *eligible* for a session when its data-sharing agreement is in force on
//! the session's date and its list size is above zero; any other member gets nothing. With
//! apportionment off, or no eligible practice, every slot not given to 111 is open.
//!
//! With apportionment on, the slots that are left (the *shared slots*) go to eligible practices
//! in proportion to list size. The shared slots of successive sessions, taken in time order and
//! within a session by slot index then lane, form one stream, handed out by an [`Apportioner`]
//! one slot at a time by the largest-remainder method with the remainders carried from slot to
//! slot and from session to session, guarded so that it stays within quota (a *quota method* in
//! the sense of Balinski and Young, 1975, with the eligibility test of Still, 1979):
//!
//! * Let `W` be the total list size of the eligible practices, `w` a practice's list size, `a`
//!   the slots it has had so far and `h` the number of the shared slot being handed out (1 for
//!   the first of the segment, see below). The practice's exact quota after `h` slots is
//!   `h w / W`, and its *remainder* is `h w / W - a`.
//! * The slot goes to the practice with the largest remainder (ties: the one served least
//!   recently, one never served first, then the smallest practice id) among those below their
//!   quota rounded up (`a < h w / W`), provided that giving it the slot leaves room for the
//!   others: for every later slot number `h'` before the one at which this practice's quota
//!   rounded down would reach `a + 2`, the slots the other practices still lack to reach their
//!   quotas rounded down at `h'` number at most `h' - h` (this look-ahead is skipped, and the
//!   test failed, when it would span more than [`LOOKAHEAD_SLOTS`] slots, which only happens
//!   for a practice with under about 1/128 of the patients).
//! * Otherwise the slot goes to the practice, among those below their quota rounded up, whose
//!   next slot is due soonest: the smallest `ceil((a + 1) W / w)`, the first slot number at
//!   which its quota rounded down would reach `a + 1` (same ties).
//!
//! The second rule is "earliest deadline first" for the windows within which each practice's
//! next slot must fall to stay within quota; it is optimal for such unit windows, and Balinski
//! and Young showed a schedule meeting them all exists, so it never loses quota. The first is
//! Still's eligibility test, which admits only choices after which such a schedule is still
//! possible (the property tests check this too, on very uneven list sizes). Either way, after **every** shared slot, and in particular after every session,
//! each practice's total is its exact quota rounded down or up: always within one slot of its
//! exact quota. The remainders rotate by themselves: a practice that has just had a slot beyond
//! its quota waits until the others have caught up. For one session at the start of a segment
//! the result is usually the plain largest-remainder split of that session (14,200, 6,300 and
//! 4,100 patients sharing 9 slots get 5, 2 and 2).
//!
//! A stream is needed because a largest-remainder split of each session on its own cannot be
//! fair over time, whatever order its ties rotate in: with list sizes 7,000 and 3,000 and one
//! shared slot a session, the larger practice would take every slot (remainder 0.7 beats 0.3
//! each time), ten slots in ten sessions against an exact quota of seven.
//!
//! Within a session the practices' slots come out interleaved, in the order of the stream, so
//! no practice is given all the early (or all the late) slots. As a practice's totals before and
//! after a session are both within quota, its count in the session is the session's own quota
//! rounded down or up, or at most one beyond either; over the period it evens out.
//!
//! # Rotation cycles and segments
//!
//! The stream runs over a *segment*: consecutive sessions whose eligible practices and list sizes
//! are the same. A session with a different set (an agreement starts or ends, a list size is
//! updated) starts a new segment, counting from zero again; a session with no shared slot or no
//! eligible practice leaves the stream as it is. A *rotation cycle* is `W / g` shared slots of
//! a segment, where `g` is the greatest common divisor of the list sizes: at the end of each
//! cycle every exact quota is a whole number, so every practice has had exactly its quota. Hence
//! over any whole number of cycles every practice gets exactly its quota, and at any point in
//! between (any session boundary) it is within one slot of it. With `n` practices of equal list
//! size a cycle is `n` shared slots and each practice has one slot in every cycle.

use std::cmp::Reverse;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

/// Registered patients per 111 slot a day under the GP contract's default rule.
pub const GP_CONTRACT_PATIENTS_PER_SLOT: u32 = 3_000;

/// The longest look-ahead, in shared slots, of the test that lets the largest remainder take a
/// slot (see the [module documentation](self)); beyond it the slot goes by earliest deadline.
pub const LOOKAHEAD_SLOTS: u32 = 256;

/// Why a sharing rule, a list of members or a stored channel was refused.
///
/// Each variant has a stable [`code`](AllocationError::code).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AllocationError {
    /// Two members of a session share a practice id.
    #[error("practice '{practice_id}' is listed more than once among the cluster's members")]
    DuplicatePractice {
        /// The repeated id.
        practice_id: String,
    },
    /// A 111 percentage above 100.
    #[error("the 111 share of a session is 0 to 100 percent, got {percent}")]
    InvalidPercentage {
        /// The percentage refused.
        percent: u32,
    },
    /// A stored channel kind that is not `111`, `practice` or `open`, or a practice id given or
    /// missing where it should not be.
    #[error("'{kind}' with that practice id is not a channel (111, practice with an id, or open)")]
    InvalidChannel {
        /// The kind refused.
        kind: String,
    },
    /// A release lead time longer than allowed (the bound, in hours).
    #[error("a release lead time is at most {0} hours")]
    InvalidLeadTime(u32),
}

impl AllocationError {
    /// A stable, lower-case, hyphenated code naming the kind of error, for machines to match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DuplicatePractice { .. } => "duplicate-practice",
            Self::InvalidPercentage { .. } => "invalid-triage-percentage",
            Self::InvalidChannel { .. } => "invalid-channel",
            Self::InvalidLeadTime(_) => "invalid-lead-time",
        }
    }
}

crate::text_enum! {
    /// The kind of a slot's channel as stored (its practice, if any, is stored beside it), and
    /// how an appointment was booked: through 111, as its practice's own, or from the open pool.
    pub enum ChannelKind(
        crate::ValidationError,
        |value| crate::ValidationError::UnknownName {
            what: "channel",
            value,
            known: "open, practice, 111",
        }
    ) {
        /// Open to every practice of the cluster.
        Open = "open",
        /// Reserved for one member practice.
        Practice = "practice",
        /// Reserved for NHS 111.
        Triage = "111",
    }
}

/// Who may book a slot before it is released: 111, one member practice, or any practice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Reserved for NHS 111 (stored as `111`).
    Triage,
    /// Reserved for the member practice with this id (stored as `practice` and the id).
    Practice(String),
    /// Open to every practice of the cluster (stored as `open`).
    Open,
}

impl Channel {
    /// The channel's stored kind.
    pub fn kind(&self) -> ChannelKind {
        match self {
            Self::Triage => ChannelKind::Triage,
            Self::Practice(_) => ChannelKind::Practice,
            Self::Open => ChannelKind::Open,
        }
    }

    /// The channel's stored kind's name: `111`, `practice` or `open`.
    pub fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The practice a [`Channel::Practice`] slot is reserved for.
    pub fn practice_id(&self) -> Option<&str> {
        match self {
            Self::Practice(id) => Some(id),
            Self::Triage | Self::Open => None,
        }
    }

    /// Rebuilds a channel from its stored kind and practice id (an id only with `practice`).
    pub fn from_stored(
        kind: ChannelKind,
        practice_id: Option<&str>,
    ) -> Result<Self, AllocationError> {
        match (kind, practice_id) {
            (ChannelKind::Triage, None) => Ok(Self::Triage),
            (ChannelKind::Open, None) => Ok(Self::Open),
            (ChannelKind::Practice, Some(id)) if !id.is_empty() => {
                Ok(Self::Practice(id.to_owned()))
            }
            _ => Err(AllocationError::InvalidChannel {
                kind: kind.as_str().to_owned(),
            }),
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Practice(id) => write!(f, "practice {id}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// A member practice of the cluster as it stands on a session's date.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    /// The practice's id (unique within the cluster).
    pub practice_id: String,
    /// Its registered list size; zero means it gets no share.
    pub list_size: u32,
    /// Whether its data-sharing agreement is in force on the session's date.
    pub agreement_in_force: bool,
}

impl Member {
    /// A member practice with its list size and whether its agreement is in force.
    pub fn new(practice_id: impl Into<String>, list_size: u32, agreement_in_force: bool) -> Self {
        Self {
            practice_id: practice_id.into(),
            list_size,
            agreement_in_force,
        }
    }

    /// Whether the practice takes a share of slots: its agreement is in force and its list is not
    /// empty.
    pub fn is_eligible(&self) -> bool {
        self.agreement_in_force && self.list_size > 0
    }
}

/// What the apportionment needs to know about one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionShare<'a> {
    /// The session's number of slots (all lanes), given channels in time order: by slot index,
    /// then lane, as [`ExpandedSession::slots`](crate::rota::ExpandedSession::slots) lists them.
    pub slots: u32,
    /// The slots reserved for 111, as the cluster's [`TriageRule`] gives them; capped at `slots`.
    pub triage: u32,
    /// The cluster's member practices on the session's date.
    pub members: &'a [Member],
    /// Whether the slots left after 111 are apportioned to practices (otherwise they are open).
    pub apportion: bool,
}

/// One eligible practice's place in the stream of shared slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Standing {
    practice_id: String,
    list_size: u32,
    given: u64,
    last_served: Option<u64>,
}

/// The stream of shared slots among one unchanging set of eligible practices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Segment {
    /// Sorted by practice id.
    practices: Vec<Standing>,
    total_list_size: u64,
    /// Shared slots handed out so far.
    seats: u64,
}

impl Segment {
    fn new(eligible: &[(&str, u32)]) -> Self {
        Self {
            practices: eligible
                .iter()
                .map(|&(id, list_size)| Standing {
                    practice_id: id.to_owned(),
                    list_size,
                    given: 0,
                    last_served: None,
                })
                .collect(),
            total_list_size: eligible.iter().map(|&(_, w)| u64::from(w)).sum(),
            seats: 0,
        }
    }

    fn matches(&self, eligible: &[(&str, u32)]) -> bool {
        self.practices.len() == eligible.len()
            && self
                .practices
                .iter()
                .zip(eligible)
                .all(|(p, &(id, w))| p.practice_id == id && p.list_size == w)
    }

    /// Hands out the next shared slot by the rule of the module documentation and returns the
    /// practice's position.
    fn next(&mut self) -> usize {
        let h = u128::from(self.seats + 1);
        let total = u128::from(self.total_list_size);
        // Among practices below their quota rounded up: the largest remainder `h w - a W` (over
        // `W`) and the earliest due next slot, each with ties to the least recently served.
        let mut largest: Option<(Reverse<u128>, Option<u64>, usize)> = None;
        let mut soonest: Option<(u128, Option<u64>, usize)> = None;
        for (i, p) in self.practices.iter().enumerate() {
            let w = u128::from(p.list_size);
            let owed = h * w;
            let had = u128::from(p.given) * total;
            if had >= owed {
                continue;
            }
            let by_remainder = (Reverse(owed - had), p.last_served, i);
            if largest.is_none_or(|best| by_remainder < best) {
                largest = Some(by_remainder);
            }
            let by_due = ((had + total).div_ceil(w), p.last_served, i);
            if soonest.is_none_or(|best| by_due < best) {
                soonest = Some(by_due);
            }
        }
        let chosen = largest
            .map(|(_, _, i)| i)
            .filter(|&i| self.leaves_room(i, h, total))
            .or(soonest.map(|(_, _, i)| i));
        // Some practice is always below its quota rounded up, as those add up to at least `h`.
        let i = chosen.unwrap_or(0);
        self.seats += 1;
        if let Some(p) = self.practices.get_mut(i) {
            p.given += 1;
            p.last_served = Some(self.seats);
        }
        i
    }

    /// Still's test: whether giving slot `h` to practice `i` leaves the others enough later slots
    /// to reach their quotas rounded down until `i` itself needs another slot.
    fn leaves_room(&self, i: usize, h: u128, total: u128) -> bool {
        let Some(me) = self.practices.get(i) else {
            return false;
        };
        // The first slot number at which its quota rounded down reaches `given + 2`.
        let end = ((u128::from(me.given) + 2) * total).div_ceil(u128::from(me.list_size));
        if end.saturating_sub(h) > u128::from(LOOKAHEAD_SLOTS) {
            return false;
        }
        // Each other practice's quota at slot `later` rounded down, kept as a whole part and a
        // remainder over `total` and stepped by adding its list size, with what it has had.
        let mut others: Vec<(u128, u128, u128, u128)> = self
            .practices
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, p)| {
                let w = u128::from(p.list_size);
                let owed = h * w;
                (owed / total, owed % total, w, u128::from(p.given))
            })
            .collect();
        for later in h + 1..end {
            let mut lacking = 0u128;
            for (whole, remainder, w, given) in &mut others {
                *remainder += *w;
                if *remainder >= total {
                    *whole += 1;
                    *remainder -= total;
                }
                lacking += whole.saturating_sub(*given);
            }
            if lacking > later - h {
                return false;
            }
        }
        true
    }
}

/// Hands out the channels of a rota period's sessions, one session after another in time order,
/// by the rules of the [module documentation](self).
///
/// It carries the stream of shared slots from one session to the next, so sessions must be given
/// in time order; the same sessions in the same order always give the same channels. It can be
/// stored (serde) to carry the stream on across publications.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Apportioner {
    segment: Option<Segment>,
}

impl Apportioner {
    /// An apportioner with no history: the next session starts a new segment.
    pub fn new() -> Self {
        Self::default()
    }

    /// The channel of each of the session's slots, in the slots' time order.
    ///
    /// Fails only when two members share a practice id.
    pub fn allocate(
        &mut self,
        session: &SessionShare<'_>,
    ) -> Result<Vec<Channel>, AllocationError> {
        let mut eligible: Vec<(&str, u32)> = Vec::with_capacity(session.members.len());
        let mut ids: Vec<&str> = session
            .members
            .iter()
            .map(|m| m.practice_id.as_str())
            .collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(AllocationError::DuplicatePractice {
                practice_id: pair[0].to_owned(),
            });
        }
        for member in session.members.iter().filter(|m| m.is_eligible()) {
            eligible.push((member.practice_id.as_str(), member.list_size));
        }
        eligible.sort_unstable();

        let slots = session.slots;
        let triage = session.triage.min(slots);
        let shared = slots - triage;
        let apportion = session.apportion && shared > 0 && !eligible.is_empty();
        let segment = if apportion {
            if !self.segment.as_ref().is_some_and(|s| s.matches(&eligible)) {
                self.segment = Some(Segment::new(&eligible));
            }
            self.segment.as_mut()
        } else {
            None
        };

        let mut channels = Vec::with_capacity(slots as usize);
        let mut triage_positions = EvenPositions::new(slots, triage);
        match segment {
            Some(segment) => {
                for position in 0..slots {
                    if triage_positions.take(position) {
                        channels.push(Channel::Triage);
                    } else {
                        let i = segment.next();
                        let id = segment
                            .practices
                            .get(i)
                            .map(|p| p.practice_id.clone())
                            .unwrap_or_default();
                        channels.push(Channel::Practice(id));
                    }
                }
            }
            None => {
                for position in 0..slots {
                    channels.push(if triage_positions.take(position) {
                        Channel::Triage
                    } else {
                        Channel::Open
                    });
                }
            }
        }
        Ok(channels)
    }
}

/// The positions of `k` of `n` slots spread evenly: `floor((2j + 1) n / 2k)` for `j < k`.
struct EvenPositions {
    n: u64,
    k: u64,
    j: u64,
}

impl EvenPositions {
    fn new(n: u32, k: u32) -> Self {
        Self {
            n: u64::from(n),
            k: u64::from(k),
            j: 0,
        }
    }

    /// Whether `position` (asked in increasing order) is one of the chosen positions.
    fn take(&mut self, position: u32) -> bool {
        if self.j < self.k && (2 * self.j + 1) * self.n / (2 * self.k) == u64::from(position) {
            self.j += 1;
            true
        } else {
            false
        }
    }
}

/// The channels of a whole run of sessions, in time order, by one fresh [`Apportioner`].
pub fn allocate_period(
    sessions: &[SessionShare<'_>],
) -> Result<Vec<Vec<Channel>>, AllocationError> {
    let mut apportioner = Apportioner::new();
    sessions.iter().map(|s| apportioner.allocate(s)).collect()
}

/// Each member's exact quota of `slots` shared slots, in the members' order: `slots * w / W` for
/// an eligible practice of list size `w` (`W` the eligible total), zero for the others.
pub fn exact_quotas(slots: u64, members: &[Member]) -> Vec<f64> {
    let total: u64 = members
        .iter()
        .filter(|m| m.is_eligible())
        .map(|m| u64::from(m.list_size))
        .sum();
    members
        .iter()
        .map(|m| {
            if m.is_eligible() {
                slots as f64 * f64::from(m.list_size) / total as f64
            } else {
                0.0
            }
        })
        .collect()
}

/// The largest share of a session [`TriageRule::PercentOfSession`] may reserve, in per cent.
pub const MAX_TRIAGE_PERCENT: u32 = 100;

/// How a cluster sets the number of slots reserved for 111.
///
/// In JSON it is tagged by `kind`: `{"kind":"gp_contract"}`, `{"kind":"per_day","slots":12}` or
/// `{"kind":"percent_of_session","percent":10}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TriageRule {
    /// The GP contract's default: [`gp_contract_daily_slots`] of the member practices a day.
    #[default]
    GpContract,
    /// A fixed number of slots a day.
    PerDay {
        /// Slots a day for 111.
        slots: u32,
    },
    /// A percentage of each session's slots, rounded down.
    PercentOfSession {
        /// The percentage, 0 to 100.
        percent: u32,
    },
}

impl TriageRule {
    /// Checks that a percentage is at most 100.
    pub fn validate(&self) -> Result<(), AllocationError> {
        match *self {
            Self::PercentOfSession { percent } if percent > MAX_TRIAGE_PERCENT => {
                Err(AllocationError::InvalidPercentage { percent })
            }
            _ => Ok(()),
        }
    }

    /// The 111 share of each of one day's sessions (given by slot count, in time order).
    ///
    /// `list_sizes` are the member practices' list sizes, used by the GP contract rule; `rotation`
    /// (such as the day's number) rotates ties of a daily spread, see
    /// [`spread_daily_reservation`]. A percentage above 100 counts as 100.
    pub fn day_reservations(
        &self,
        list_sizes: &[u32],
        session_slots: &[u32],
        rotation: usize,
    ) -> Vec<u32> {
        match *self {
            Self::GpContract => spread_daily_reservation(
                gp_contract_daily_slots(list_sizes),
                session_slots,
                rotation,
            ),
            Self::PerDay { slots } => spread_daily_reservation(slots, session_slots, rotation),
            Self::PercentOfSession { percent } => session_slots
                .iter()
                .map(|&slots| percent_of_session(percent, slots))
                .collect(),
        }
    }
}

/// The GP contract's daily 111 slots for a cluster: for each practice `max(1, floor(list size /
/// 3,000))`, summed; a practice with an empty list counts for nothing.
pub fn gp_contract_daily_slots(list_sizes: &[u32]) -> u32 {
    list_sizes
        .iter()
        .filter(|&&size| size > 0)
        .map(|&size| (size / GP_CONTRACT_PATIENTS_PER_SLOT).max(1))
        .fold(0u32, u32::saturating_add)
}

/// `percent` of a session's slots, rounded down (so never above the percentage); 100 and above
/// give the whole session.
pub fn percent_of_session(percent: u32, slots: u32) -> u32 {
    let share = u64::from(percent.min(100)) * u64::from(slots) / 100;
    u32::try_from(share).unwrap_or(slots)
}

/// Spreads a day's `per_day` reservation over the day's sessions in proportion to their slot
/// counts, by the largest-remainder method.
///
/// Each session gets its quota `per_day * slots / total slots` rounded down or up, never more
/// than it has, and the shares add up to `per_day` (or to every slot of the day when that is
/// fewer). Ties between equal remainders go to sessions in order starting from
/// `rotation % sessions`, so that passing the day's number spreads the odd slot over the sessions
/// from day to day.
pub fn spread_daily_reservation(per_day: u32, session_slots: &[u32], rotation: usize) -> Vec<u32> {
    let total: u64 = session_slots.iter().map(|&s| u64::from(s)).sum();
    let per_day = u64::from(per_day);
    if per_day >= total {
        return session_slots.to_vec();
    }
    // Here per_day < total, so total > 0 and each quota is below the session's slot count.
    let mut shares: Vec<u32> = Vec::with_capacity(session_slots.len());
    let mut remainders: Vec<(u64, usize)> = Vec::with_capacity(session_slots.len());
    for (i, &slots) in session_slots.iter().enumerate() {
        let numerator = per_day * u64::from(slots);
        shares.push(u32::try_from(numerator / total).unwrap_or(slots));
        remainders.push((numerator % total, i));
    }
    let given: u64 = shares.iter().map(|&s| u64::from(s)).sum();
    let left = usize::try_from(per_day - given).unwrap_or(0);
    let n = session_slots.len();
    let start = if n == 0 { 0 } else { rotation % n };
    remainders.sort_by_key(|&(remainder, i)| (Reverse(remainder), (i + n - start) % n));
    for &(_, i) in remainders.iter().take(left) {
        if let Some(share) = shares.get_mut(i) {
            *share += 1;
        }
    }
    shares
}
