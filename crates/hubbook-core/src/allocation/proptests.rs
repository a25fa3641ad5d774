//! Property tests of capacity sharing, against an independent oracle of the documented rules.
//!
//! What is checked, for random clusters (1 to 12 members; list sizes realistic, 1,000 to 20,000,
//! small, 1 to 20, or very uneven, 1 to 1,000, with some zero; agreements mostly in force) and
//! random runs of sessions (0 to 24 slots, 0 to 6 for 111), apportionment on:
//! * each session's channels number its slots; 111 has exactly the configured share capped by the
//!   session, never more, spread so that every prefix of the session holds its proportion of
//!   111 slots within one; every other slot is a practice's when some member is eligible and
//!   open otherwise; a member without an agreement or patients gets nothing;
//! * after every session, each eligible practice's total since its segment began is its exact
//!   quota (shared slots × list size / total list size) rounded down or up, so within one slot;
//!   at the end of every rotation cycle (W / gcd shared slots) it is exactly its quota, so over
//!   any whole number of cycles every practice gets exactly its quota; a practice's count in one
//!   session is that session's quota rounded, or at most one beyond;
//! * the same holds from the point where the members change (a new segment);
//! * with equal list sizes every practice has the same count whenever the shared slots are a
//!   multiple of the number of practices (a whole number of cycles), and never more than one
//!   apart in between;
//! * the results do not depend on the order the members are listed in;
//! * the 111 helpers: a daily spread adds up to the daily number (or every slot, if fewer),
//!   gives each session its quota rounded down or up and never more than it has; a percentage
//!   never exceeds itself; the GP contract rule is the documented sum.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

/// List sizes of one of three styles per cluster: realistic, small (many ties and short
/// cycles), or very uneven (where a plain per-slot largest remainder would lose quota).
fn arb_list_sizes() -> impl Strategy<Value = Vec<u32>> {
    let realistic = prop_oneof![1 => Just(0u32), 6 => 1_000u32..=20_000];
    let small = prop_oneof![1 => Just(0u32), 6 => 1u32..=20];
    let uneven = prop::sample::select(vec![0u32, 1, 2, 3, 50, 1_000]);
    prop_oneof![
        prop::collection::vec(realistic, 1..=12),
        prop::collection::vec(small, 1..=12),
        prop::collection::vec(uneven, 2..=12),
    ]
}

fn arb_members() -> impl Strategy<Value = Vec<Member>> {
    arb_list_sizes()
        .prop_flat_map(|sizes| {
            let n = sizes.len();
            (
                Just(sizes),
                prop::collection::vec(prop::bool::weighted(0.9), n),
            )
        })
        .prop_map(|(sizes, agreements)| sizes.into_iter().zip(agreements).collect::<Vec<_>>())
        .prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (list_size, agreement))| {
                    Member::new(format!("P{i:02}"), list_size, agreement)
                })
                .collect()
        })
}

/// Sessions as (slots, 111 share).
fn arb_sessions() -> impl Strategy<Value = Vec<(u32, u32)>> {
    prop::collection::vec((0u32..=24, 0u32..=6), 1..=60)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The oracle's view of a segment: eligible practices with list sizes, slots given since it
/// began, and shared slots since it began.
#[derive(Default)]
struct Oracle {
    key: Vec<(String, u32)>,
    given: BTreeMap<String, u64>,
    shared: u64,
}

impl Oracle {
    /// Checks one session's channels against the documented rules and updates the segment.
    fn check(
        &mut self,
        slots: u32,
        triage: u32,
        members: &[Member],
        channels: &[Channel],
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(channels.len(), slots as usize);
        let expected_triage = triage.min(slots);
        let mut seen_triage = 0u64;
        for (m, channel) in channels.iter().enumerate() {
            if *channel == Channel::Triage {
                seen_triage += 1;
            }
            // Spread: every prefix of m + 1 slots holds its share of 111 slots within one.
            let prefix = m as u64 + 1;
            let ideal = u64::from(expected_triage) * prefix;
            prop_assert!(
                (seen_triage * u64::from(slots)).abs_diff(ideal) <= u64::from(slots),
                "111 slots bunched: {:?}",
                channels
            );
        }
        prop_assert_eq!(seen_triage, u64::from(expected_triage));
        prop_assert!(seen_triage <= u64::from(triage));

        let mut key: Vec<(String, u32)> = members
            .iter()
            .filter(|m| m.agreement_in_force && m.list_size > 0)
            .map(|m| (m.practice_id.clone(), m.list_size))
            .collect();
        key.sort();
        let shared = u64::from(slots - expected_triage);
        let mut this_session: BTreeMap<String, u64> = BTreeMap::new();
        for channel in channels {
            match channel {
                Channel::Triage => {}
                Channel::Open => prop_assert!(key.is_empty(), "open slot with eligible members"),
                Channel::Practice(id) => {
                    prop_assert!(
                        key.iter().any(|(k, _)| k == id),
                        "slot for ineligible {}",
                        id
                    );
                    *this_session.entry(id.clone()).or_default() += 1;
                }
            }
        }
        if key.is_empty() || shared == 0 {
            prop_assert!(this_session.is_empty());
            return Ok(());
        }
        if key != self.key {
            self.key = key;
            self.given.clear();
            self.shared = 0;
        }
        self.shared += shared;
        let total: u64 = self.key.iter().map(|&(_, w)| u64::from(w)).sum();
        let g = self.key.iter().fold(0, |g, &(_, w)| gcd(g, u64::from(w)));
        let cycle = total / g;
        for (id, w) in &self.key {
            let w = u64::from(*w);
            let here = this_session.get(id).copied().unwrap_or(0);
            let given = self.given.entry(id.clone()).or_default();
            *given += here;
            let exact = self.shared * w;
            // floor(S w / W) <= given <= ceil(S w / W)
            prop_assert!(
                *given * total + total > exact && *given * total < exact + total,
                "{} has {} of quota {}/{} after {} shared slots",
                id,
                *given,
                exact,
                total,
                self.shared
            );
            if self.shared.is_multiple_of(cycle) {
                prop_assert_eq!(*given * total, exact);
            }
            // In one session: the session's quota rounded, or one beyond.
            let session_exact = shared * w;
            prop_assert!(here * total + 2 * total > session_exact);
            prop_assert!(here * total < session_exact + 2 * total);
        }
        Ok(())
    }
}

fn run(
    members_of: impl Fn(usize) -> Vec<Member>,
    sessions: &[(u32, u32)],
) -> Result<Vec<Vec<Channel>>, TestCaseError> {
    let mut apportioner = Apportioner::new();
    let mut oracle = Oracle::default();
    let mut all = Vec::new();
    for (k, &(slots, triage)) in sessions.iter().enumerate() {
        let members = members_of(k);
        let share = SessionShare {
            slots,
            triage,
            members: &members,
            apportion: true,
        };
        let channels = apportioner.allocate(&share);
        prop_assert!(channels.is_ok());
        let channels = channels.unwrap_or_default();
        oracle.check(slots, triage, &members, &channels)?;
        all.push(channels);
    }
    Ok(all)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn shares_add_up_and_stay_within_quota(members in arb_members(), sessions in arb_sessions()) {
        let forward = run(|_| members.clone(), &sessions)?;
        let mut reversed = members.clone();
        reversed.reverse();
        let backward = run(|_| reversed.clone(), &sessions)?;
        prop_assert_eq!(forward, backward);
    }

    #[test]
    fn quota_holds_again_from_a_change_of_members(
        members in arb_members(),
        sessions in arb_sessions(),
        change in any::<prop::sample::Index>(),
        switch in any::<prop::sample::Index>(),
        size in 1u32..=20_000,
    ) {
        let mut changed = members.clone();
        let which = change.index(changed.len());
        let flipped = &mut changed[which];
        if flipped.list_size > 0 && flipped.agreement_in_force {
            flipped.agreement_in_force = false;
        } else {
            flipped.agreement_in_force = true;
            flipped.list_size = size;
        }
        let at = switch.index(sessions.len());
        run(|k| if k < at { members.clone() } else { changed.clone() }, &sessions)?;
    }

    #[test]
    fn equal_list_sizes_share_equally(
        n in 1usize..=12,
        size in 1u32..=20_000,
        sessions in arb_sessions(),
    ) {
        let members: Vec<Member> =
            (0..n).map(|i| Member::new(format!("P{i:02}"), size, true)).collect();
        let all = run(|_| members.clone(), &sessions)?;
        let mut counts: BTreeMap<&str, u64> =
            members.iter().map(|m| (m.practice_id.as_str(), 0)).collect();
        let mut shared = 0u64;
        for channels in &all {
            for channel in channels {
                if let Channel::Practice(id) = channel {
                    *counts.entry(id.as_str()).or_default() += 1;
                    shared += 1;
                }
            }
            let most = counts.values().max().copied().unwrap_or(0);
            let least = counts.values().min().copied().unwrap_or(0);
            prop_assert!(most - least <= 1);
            if shared.is_multiple_of(n as u64) {
                prop_assert_eq!(most, least);
            }
        }
    }

    #[test]
    fn daily_spread_keeps_to_the_daily_number(
        per_day in 0u32..=60,
        sessions in prop::collection::vec(0u32..=40, 0..=6),
        rotation in any::<usize>(),
    ) {
        let shares = spread_daily_reservation(per_day, &sessions, rotation);
        prop_assert_eq!(shares.len(), sessions.len());
        let total: u64 = sessions.iter().map(|&s| u64::from(s)).sum();
        let sum: u64 = shares.iter().map(|&s| u64::from(s)).sum();
        prop_assert_eq!(sum, u64::from(per_day).min(total));
        for (&share, &slots) in shares.iter().zip(&sessions) {
            prop_assert!(share <= slots);
            if u64::from(per_day) < total {
                let exact = u64::from(per_day) * u64::from(slots);
                prop_assert!(u64::from(share) * total + total > exact);
                prop_assert!(u64::from(share) * total < exact + total);
            }
        }
    }

    #[test]
    fn percentages_and_the_gp_contract_rule(
        percent in 0u32..=100,
        slots in 0u32..=40,
        lists in prop::collection::vec(0u32..=40_000, 0..=12),
        sessions in prop::collection::vec(0u32..=40, 1..=6),
    ) {
        let share = percent_of_session(percent, slots);
        prop_assert!(share <= slots);
        prop_assert!(100 * share <= percent * slots);
        prop_assert!(100 * (share + 1) > percent * slots);
        let expected: u32 = lists
            .iter()
            .map(|&l| if l == 0 { 0 } else { (l / 3_000).max(1) })
            .sum();
        prop_assert_eq!(gp_contract_daily_slots(&lists), expected);
        let day = TriageRule::GpContract.day_reservations(&lists, &sessions, 0);
        let total: u32 = sessions.iter().sum();
        prop_assert_eq!(day.iter().sum::<u32>(), expected.min(total));
    }
}
