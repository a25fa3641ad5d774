//! A practice's fair share of the capacity its cluster shares among practices: the one rule
//! behind the fair-share report (an exact quota of the apportioned slots) and the bookings report
//! (a share to set against each practice's share of the bookings).
//!
//! # Definition
//!
//! The *shared slots* of a day are the cluster's slots on that local date that are not reserved
//! for 111 (reserved for a practice, or open). They are due to the practices *eligible* on that
//! date, those whose data-sharing agreement is in force on it and whose list is not empty (the
//! test the [`Apportioner`](crate::allocation::Apportioner) applies to each session, see
//! [`Member::is_eligible`](crate::allocation::Member::is_eligible)), in proportion to list size.
//! Over a period, a practice's fair share is the part of the shared slots due to it, over the
//! shared slots of the days on which some practice was eligible:
//!
//! ```text
//! share(p) = sum over days d of s(d) * w(p) / W(d)  /  sum over days d of s(d)
//! ```
//!
//! where `s(d)` is the day's shared slots, `w(p)` the practice's list size, `W(d)` the summed
//! list sizes of the practices eligible on `d`, and the first sum runs over the days on which
//! `p` was eligible. Its *exact quota* of `n` apportioned slots is `n * share(p)`. A practice
//! that was eligible on none of the days that count has no fair share (`None`, not zero); when
//! no day counts (no shared slot, or no eligible practice) no practice has one. Otherwise the
//! shares add up to one.
//!
//! # Why
//!
//! It is the yardstick the allocator works to: apportionment hands each session's shared slots
//! to the practices eligible on the session's date, so a practice whose agreement starts or ends
//! inside the period is due slots only for the days on which it is in force. Fixing the eligible
//! practices on the period's first day (the reports' earlier rule) gives such a practice its full
//! share for the whole period, or none of it, and the report then shows it well above or below a
//! quota the allocator never aimed at. Weighting each day by its shared slots makes the period's
//! quota the sum of the days' quotas, so a day without sessions counts for nothing and a busy day
//! for more. When no agreement changes within the period it is simply list size over the summed
//! list sizes of the practices in force. List sizes are the practices' current ones.

use chrono::NaiveDate;

use crate::sharing::PracticeShare;

/// The slots a cluster's practices shared on one local date: those not reserved for 111.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedDay {
    /// The local date.
    pub date: NaiveDate,
    /// Its slots not reserved for 111 (reserved for a practice, or open).
    pub slots: u64,
}

/// Each practice's fair share over the days given, in the practices' order, by the rule of the
/// [module documentation](self): `None` for a practice eligible on none of the days that count.
///
/// A date listed twice counts with both its slot numbers.
pub fn fair_shares(practices: &[PracticeShare], days: &[SharedDay]) -> Vec<Option<f64>> {
    let mut due = vec![None::<f64>; practices.len()];
    let mut counted: u64 = 0;
    let mut eligible: Vec<(usize, u32)> = Vec::with_capacity(practices.len());
    for day in days.iter().filter(|d| d.slots > 0) {
        eligible.clear();
        eligible.extend(
            practices
                .iter()
                .enumerate()
                .filter(|(_, p)| p.member_on(day.date).is_eligible())
                .map(|(i, p)| (i, p.list_size)),
        );
        let total: u64 = eligible.iter().map(|&(_, w)| u64::from(w)).sum();
        if total == 0 {
            continue;
        }
        counted = counted.saturating_add(day.slots);
        for &(i, w) in &eligible {
            if let Some(slot) = due.get_mut(i) {
                let today = day.slots as f64 * f64::from(w) / total as f64;
                *slot = Some(slot.unwrap_or(0.0) + today);
            }
        }
    }
    if counted == 0 {
        return vec![None; practices.len()];
    }
    due.into_iter()
        .map(|d| d.map(|slots| slots / counted as f64))
        .collect()
}

/// A practice's exact quota of `slots` apportioned slots: `slots` times its fair share, zero
/// without one.
pub fn exact_quota(slots: u64, share: Option<f64>) -> f64 {
    share.map_or(0.0, |s| slots as f64 * s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocation::{allocate_period, exact_quotas, Channel, Member, SessionShare};
    use crate::practice::DataSharingAgreement;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn practice(id: &str, list_size: u32, from: Option<&str>, to: Option<&str>) -> PracticeShare {
        PracticeShare {
            practice_id: id.into(),
            list_size,
            agreement: DataSharingAgreement::new(from.map(d), to.map(d)).unwrap(),
        }
    }

    fn week(slots: u64) -> Vec<SharedDay> {
        (7..=11)
            .map(|day| SharedDay {
                date: NaiveDate::from_ymd_opt(2026, 12, day).unwrap(),
                slots,
            })
            .collect()
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn agreements_in_force_throughout_share_by_list_size() {
        let practices = [
            practice("A", 9_000, Some("2026-01-01"), None),
            practice("B", 4_500, Some("2026-01-01"), None),
            practice("N", 7_000, None, None),
        ];
        let shares = fair_shares(&practices, &week(18));
        assert!(close(shares[0], 2.0 / 3.0));
        assert!(close(shares[1], 1.0 / 3.0));
        assert_eq!(shares[2], None, "no agreement, no fair share");
        assert!((exact_quota(90, shares[0]) - 60.0).abs() < 1e-9);
        assert_eq!(exact_quota(90, shares[2]), 0.0);
    }

    #[test]
    fn an_agreement_counts_only_on_the_days_it_is_in_force() {
        // C signs on Wednesday 9 December; D's agreement ended on Tuesday 8 December.
        let practices = [
            practice("A", 9_000, Some("2026-01-01"), None),
            practice("C", 3_000, Some("2026-12-09"), None),
            practice("D", 6_000, Some("2026-01-01"), Some("2026-12-08")),
        ];
        let shares = fair_shares(&practices, &week(10));
        // Mon, Tue: A 9/15, D 6/15 of 10 slots each; Wed-Fri: A 9/12, C 3/12 of 10 each.
        let a = 2.0 * 10.0 * 0.6 + 3.0 * 10.0 * 0.75;
        let c = 3.0 * 10.0 * 0.25;
        let dd = 2.0 * 10.0 * 0.4;
        assert!(close(shares[0], a / 50.0));
        assert!(close(shares[1], c / 50.0));
        assert!(close(shares[2], dd / 50.0));
        // Not none for C and 40% for D, as Monday's practices alone would have it.
        assert!(close(shares[1], 0.15) && close(shares[2], 0.16));
    }

    #[test]
    fn days_weigh_by_their_shared_slots() {
        let practices = [
            practice("A", 1_000, Some("2026-01-01"), None),
            practice("B", 1_000, Some("2026-12-08"), None),
        ];
        let days = [
            SharedDay {
                date: d("2026-12-07"),
                slots: 30,
            },
            SharedDay {
                date: d("2026-12-08"),
                slots: 10,
            },
            SharedDay {
                date: d("2026-12-09"),
                slots: 0,
            },
        ];
        let shares = fair_shares(&practices, &days);
        assert!(close(shares[0], 35.0 / 40.0));
        assert!(close(shares[1], 5.0 / 40.0));
    }

    #[test]
    fn nothing_shared_gives_no_fair_share() {
        let practices = [
            practice("A", 1_000, Some("2026-01-01"), None),
            practice("N", 1_000, None, None),
        ];
        assert_eq!(fair_shares(&practices, &[]), vec![None, None]);
        assert_eq!(fair_shares(&practices, &week(0)), vec![None, None]);
        // Slots on a day with no practice in force are open to all and due to none.
        let early = [SharedDay {
            date: d("2025-12-31"),
            slots: 12,
        }];
        assert_eq!(fair_shares(&practices, &early), vec![None, None]);
        let mut with_early = week(6);
        with_early.extend(early);
        assert_eq!(fair_shares(&practices, &with_early)[0], Some(1.0));
        assert_eq!(fair_shares(&[], &week(6)), Vec::<Option<f64>>::new());
    }

    #[test]
    fn an_empty_list_is_never_eligible() {
        let practices = [
            practice("A", 2_000, Some("2026-01-01"), None),
            practice("Z", 0, Some("2026-01-01"), None),
        ];
        assert_eq!(fair_shares(&practices, &week(4)), vec![Some(1.0), None]);
    }

    /// A cluster of 1 to 8 practices, each with a list (sometimes empty) and an agreement that
    /// may be missing, start within the fortnight, or end within it.
    fn arb_practices() -> impl Strategy<Value = Vec<PracticeShare>> {
        let one = (
            prop_oneof![1 => Just(0u32), 8 => 1u32..=20_000],
            prop_oneof![1 => Just(None), 6 => (0u32..14).prop_map(Some)],
            prop_oneof![3 => Just(None), 1 => (0u32..14).prop_map(Some)],
        );
        prop::collection::vec(one, 1..=8).prop_map(|specs| {
            let start = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
            let day = |n: u32| start + chrono::Duration::days(i64::from(n));
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (list_size, from, to))| {
                    let from = from.map(day);
                    let to = to.map(day).filter(|t| from.is_some_and(|f| f <= *t));
                    PracticeShare {
                        practice_id: format!("P{i:02}"),
                        list_size,
                        agreement: DataSharingAgreement::new(from, to).unwrap(),
                    }
                })
                .collect()
        })
    }

    /// Up to 14 days of the fortnight, each with 0 to 40 shared slots.
    fn arb_days() -> impl Strategy<Value = Vec<SharedDay>> {
        prop::collection::vec(0u64..=40, 0..=14).prop_map(|slots| {
            let start = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
            slots
                .into_iter()
                .enumerate()
                .map(|(i, slots)| SharedDay {
                    date: start + chrono::Duration::days(i as i64),
                    slots,
                })
                .collect()
        })
    }

    fn members_on(practices: &[PracticeShare], date: NaiveDate) -> Vec<Member> {
        practices.iter().map(|p| p.member_on(date)).collect()
    }

    proptest! {
        /// The shares of the practices in force on some day that counts add up to one; each is
        /// between zero and one.
        #[test]
        fn shares_add_up_to_one(practices in arb_practices(), days in arb_days()) {
            let shares = fair_shares(&practices, &days);
            prop_assert_eq!(shares.len(), practices.len());
            let given: Vec<f64> = shares.iter().flatten().copied().collect();
            for s in &given {
                prop_assert!((0.0..=1.0 + 1e-12).contains(s));
            }
            if !given.is_empty() {
                prop_assert!((given.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            }
            let counts = days.iter().any(|day| {
                day.slots > 0 && practices.iter().any(|p| p.member_on(day.date).is_eligible())
            });
            prop_assert_eq!(!given.is_empty(), counts);
        }

        /// The period's exact quota is the sum of each day's, and a day's is the allocator's own
        /// exact quota of that day's shared slots.
        #[test]
        fn the_period_quota_is_the_sum_of_the_days(practices in arb_practices(), days in arb_days()) {
            let shares = fair_shares(&practices, &days);
            let counted: u64 = days
                .iter()
                .filter(|day| practices.iter().any(|p| p.member_on(day.date).is_eligible()))
                .map(|day| day.slots)
                .sum();
            let mut by_day = vec![0.0; practices.len()];
            for day in &days {
                for (sum, q) in by_day.iter_mut().zip(exact_quotas(day.slots, &members_on(&practices, day.date))) {
                    *sum += q;
                }
            }
            for (share, expected) in shares.iter().zip(by_day) {
                prop_assert!((exact_quota(counted, *share) - expected).abs() < 1e-6);
            }
        }

        /// Listing the practices in another order, or scaling every day's slots, changes no share.
        #[test]
        fn order_and_scale_do_not_matter(practices in arb_practices(), days in arb_days(), k in 1u64..=5) {
            let shares = fair_shares(&practices, &days);
            let mut reversed = practices.clone();
            reversed.reverse();
            let mut back = fair_shares(&reversed, &days);
            back.reverse();
            let scaled: Vec<SharedDay> = days.iter().map(|d| SharedDay { slots: d.slots * k, ..*d }).collect();
            for other in [back, fair_shares(&practices, &scaled)] {
                for (a, b) in shares.iter().zip(other) {
                    prop_assert_eq!(a.is_some(), b.is_some());
                    prop_assert!((a.unwrap_or(0.0) - b.unwrap_or(0.0)).abs() < 1e-9);
                }
            }
        }

        /// What the allocator gives each practice over the period, one session a day, is within
        /// one slot of its exact quota per run of days with the same eligible practices.
        #[test]
        fn the_allocator_keeps_to_the_fair_share(practices in arb_practices(), days in arb_days()) {
            let members: Vec<Vec<Member>> = days.iter().map(|d| members_on(&practices, d.date)).collect();
            let sessions: Vec<SessionShare<'_>> = days
                .iter()
                .zip(&members)
                .map(|(d, m)| SessionShare { slots: d.slots as u32, triage: 0, members: m, apportion: true })
                .collect();
            let channels = allocate_period(&sessions).unwrap();
            let apportioned = channels.iter().flatten().filter(|c| matches!(c, Channel::Practice(_))).count() as u64;
            let eligible_sets: Vec<Vec<bool>> = members
                .iter()
                .zip(&days)
                .filter(|(m, d)| d.slots > 0 && m.iter().any(Member::is_eligible))
                .map(|(m, _)| m.iter().map(Member::is_eligible).collect())
                .collect();
            let segments = 1 + eligible_sets.windows(2).filter(|w| w[0] != w[1]).count();
            let shares = fair_shares(&practices, &days);
            for (p, share) in practices.iter().zip(shares) {
                let got = channels
                    .iter()
                    .flatten()
                    .filter(|c| c.practice_id() == Some(p.practice_id.as_str()))
                    .count() as f64;
                let quota = exact_quota(apportioned, share);
                prop_assert!((got - quota).abs() < segments as f64 + 1e-9, "{} got {} of {}", p.practice_id, got, quota);
            }
        }
    }
}
