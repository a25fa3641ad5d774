//! Ranking slot offers for a caller: the next slot near the patient (issue 6, item 1).
//!
//! A receptionist on the phone wants the soonest slot that is not too far away. Each offer gets a
//! score in minutes, and lower is better:
//!
//! ```text
//! score = minutes from `reference` until the slot starts + minutes_per_km × distance_km
//! ```
//!
//! * `reference` is an instant the caller chooses: now, or the start of the search window. It
//!   shifts every score by the same amount, so it never changes the order; slots before it get
//!   negative minutes rather than being clamped, which would change the order.
//! * `distance_km` is the great-circle distance ([`Coordinates::distance_km`]) from the origin
//!   (the caller's practice, a postcode's or given coordinates) to the slot's site.
//! * [`Weighting::minutes_per_km`] is the tunable trade-off: one kilometre of travel is worth as
//!   much as waiting that many minutes. With the default of 10, a slot 3 km nearer is preferred
//!   when it starts less than 30 minutes later; with 0 the order is by start time alone.
//! * Without an origin no distance is known: every distance is `None` and offers are ranked by
//!   start time (then slot id).
//! * An offer whose site has no coordinates (or whose distance is not a finite number) has
//!   distance `None` and is scored as if it were as far away as the farthest offer whose
//!   distance is known (zero if none is). An unknown place thus never wins on distance: among
//!   offers starting at the same time it comes after every offer with a known distance, but a
//!   much earlier one can still come first.
//! * Ties are broken, in turn, by start time (earlier first), distance (nearer first, unknown
//!   last), slot id and finally position in the input, so the order is fully deterministic and
//!   does not depend on the order the offers are given in (up to offers that agree on all four).

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::site::Coordinates;

/// The largest weighting allowed: one kilometre worth a whole day of waiting.
pub const MAX_MINUTES_PER_KM: f64 = 1440.0;

/// The default weighting: one kilometre of travel is worth ten minutes of waiting.
pub const DEFAULT_MINUTES_PER_KM: f64 = 10.0;

/// Why a ranking weighting was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RankingError {
    /// Minutes per kilometre that are negative, not a finite number or above the bound.
    #[error("minutes per kilometre must be a number from 0 to 1440, got {0}")]
    InvalidWeighting(f64),
}

impl RankingError {
    /// A stable, lower-case, hyphenated code naming the kind of error, for machines to match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidWeighting(_) => "invalid-weighting",
        }
    }
}

/// How travel distance is traded against waiting time when ranking offers.
///
/// A missing field takes its default; see the [module documentation](self) for the rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weighting {
    /// One kilometre of travel is worth as much as waiting this many minutes (0 to 1440).
    pub minutes_per_km: f64,
}

impl Default for Weighting {
    fn default() -> Self {
        Self {
            minutes_per_km: DEFAULT_MINUTES_PER_KM,
        }
    }
}

impl Weighting {
    /// Checks the weighting: minutes per kilometre a finite number from 0 to 1440.
    pub fn validate(&self) -> Result<(), RankingError> {
        let m = self.minutes_per_km;
        if m.is_finite() && (0.0..=MAX_MINUTES_PER_KM).contains(&m) {
            Ok(())
        } else {
            Err(RankingError::InvalidWeighting(m))
        }
    }
}

/// One slot offer to be ranked: its id, when it starts and where its site is, if known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate<'a> {
    /// The slot's id, the last tie-breaker.
    pub slot_id: &'a str,
    /// When the slot starts.
    pub starts_at: DateTime<Utc>,
    /// The coordinates of the slot's site; `None` when the site has none.
    pub site: Option<Coordinates>,
}

/// One offer's place in a ranking: which input it was, how far away and its score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ranked {
    /// The offer's position in the slice given to [`rank`].
    pub index: usize,
    /// The distance from the origin in kilometres; `None` without an origin or site coordinates.
    pub distance_km: Option<f64>,
    /// The offer's score in minutes; lower is better.
    pub score: f64,
}

/// Ranks offers best first by the rule of the [module documentation](self).
///
/// `weighting` should have passed [`Weighting::validate`]; with any other the result is still a
/// deterministic permutation of the input, but its order means nothing.
pub fn rank(
    candidates: &[Candidate<'_>],
    origin: Option<Coordinates>,
    reference: DateTime<Utc>,
    weighting: &Weighting,
) -> Vec<Ranked> {
    let distances: Vec<Option<f64>> = candidates
        .iter()
        .map(|c| match (origin, c.site) {
            (Some(o), Some(s)) => Some(o.distance_km(&s)).filter(|d| d.is_finite()),
            _ => None,
        })
        .collect();
    let farthest = distances.iter().flatten().copied().fold(0.0_f64, f64::max);
    let mut ranked: Vec<Ranked> = candidates
        .iter()
        .zip(&distances)
        .enumerate()
        .map(|(index, (c, &distance_km))| {
            let minutes = (c.starts_at - reference).num_seconds() as f64 / 60.0;
            let km = distance_km.unwrap_or(farthest);
            Ranked {
                index,
                distance_km,
                // Adding 0.0 turns a negative zero into a positive one.
                score: minutes + weighting.minutes_per_km * km + 0.0,
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        let (ca, cb) = (&candidates[a.index], &candidates[b.index]);
        a.score
            .total_cmp(&b.score)
            .then_with(|| ca.starts_at.cmp(&cb.starts_at))
            .then_with(|| compare_distance(a.distance_km, b.distance_km))
            .then_with(|| ca.slot_id.cmp(cb.slot_id))
            .then_with(|| a.index.cmp(&b.index))
    });
    ranked
}

/// Nearer first, unknown last.
fn compare_distance(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// A distance rounded to one decimal place for display, e.g. 13.46 km to 13.5 km.
pub fn round_km(km: f64) -> f64 {
    (km * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    use super::*;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 23, hour, minute, 0).unwrap()
    }

    fn leeds() -> Coordinates {
        Coordinates::new(53.7997, -1.5492).unwrap()
    }

    fn bradford() -> Coordinates {
        Coordinates::new(53.7938, -1.7564).unwrap()
    }

    fn headingley() -> Coordinates {
        Coordinates::new(53.8190, -1.5800).unwrap()
    }

    fn w(minutes_per_km: f64) -> Weighting {
        Weighting { minutes_per_km }
    }

    fn ids<'a>(candidates: &[Candidate<'a>], ranked: &[Ranked]) -> Vec<&'a str> {
        ranked.iter().map(|r| candidates[r.index].slot_id).collect()
    }

    #[test]
    fn weighting_default_validation_and_serde() {
        assert_eq!(Weighting::default().minutes_per_km, 10.0);
        for ok in [0.0, 0.5, 10.0, 1440.0] {
            assert!(w(ok).validate().is_ok(), "{ok}");
        }
        for bad in [-0.1, 1440.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = w(bad).validate().unwrap_err();
            assert_eq!(err.code(), "invalid-weighting", "{bad}");
        }
        let parsed: Weighting = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, Weighting::default());
        let parsed: Weighting = serde_json::from_str(r#"{"minutes_per_km": 2.5}"#).unwrap();
        assert_eq!(parsed, w(2.5));
        assert!(serde_json::from_str::<Weighting>(r#"{"minutes_per_km": 1, "x": 2}"#).is_err());
    }

    /// Leeds to Bradford is about 13.7 km, Leeds to Headingley about 2.9 km. A Headingley slot
    /// 60 minutes after a Bradford one wins exactly when 60 minutes are worth less than the
    /// difference in distance, that is when minutes_per_km > 60 / (d_bradford - d_headingley).
    #[test]
    fn nearer_later_slot_wins_exactly_when_the_weighting_says_so() {
        let origin = leeds();
        let candidates = [
            Candidate {
                slot_id: "far-early",
                starts_at: at(9, 0),
                site: Some(bradford()),
            },
            Candidate {
                slot_id: "near-late",
                starts_at: at(10, 0),
                site: Some(headingley()),
            },
        ];
        let gap = origin.distance_km(&bradford()) - origin.distance_km(&headingley());
        assert!((10.0..11.5).contains(&gap), "{gap}");
        let break_even = 60.0 / gap;

        let above = rank(&candidates, Some(origin), at(8, 0), &w(break_even + 0.01));
        assert_eq!(ids(&candidates, &above), ["near-late", "far-early"]);
        let below = rank(&candidates, Some(origin), at(8, 0), &w(break_even - 0.01));
        assert_eq!(ids(&candidates, &below), ["far-early", "near-late"]);

        // The default, 10 minutes per km, prefers the nearer slot (break-even is about 5.6).
        let default = rank(&candidates, Some(origin), at(8, 0), &Weighting::default());
        assert_eq!(ids(&candidates, &default), ["near-late", "far-early"]);
        let near = default[0];
        assert_eq!(near.index, 1);
        let d = origin.distance_km(&headingley());
        assert_eq!(near.distance_km, Some(d));
        assert!((near.score - (120.0 + 10.0 * d)).abs() < 1e-9);
        assert_eq!(round_km(d), 2.9);
    }

    #[test]
    fn zero_weighting_is_pure_time_order() {
        let candidates = [
            Candidate {
                slot_id: "b",
                starts_at: at(10, 0),
                site: Some(leeds()),
            },
            Candidate {
                slot_id: "a",
                starts_at: at(9, 30),
                site: Some(bradford()),
            },
            Candidate {
                slot_id: "c",
                starts_at: at(9, 45),
                site: None,
            },
        ];
        let ranked = rank(&candidates, Some(leeds()), at(9, 0), &w(0.0));
        assert_eq!(ids(&candidates, &ranked), ["a", "c", "b"]);
        let scores: Vec<f64> = ranked.iter().map(|r| r.score).collect();
        assert_eq!(scores, [30.0, 45.0, 60.0]);
        assert_eq!(ranked[1].distance_km, None);
        assert_eq!(ranked[2].distance_km, Some(0.0));
    }

    #[test]
    fn without_an_origin_rank_by_time_then_slot_id() {
        let candidates = [
            Candidate {
                slot_id: "z",
                starts_at: at(9, 0),
                site: Some(bradford()),
            },
            Candidate {
                slot_id: "y",
                starts_at: at(9, 0),
                site: None,
            },
            Candidate {
                slot_id: "x",
                starts_at: at(8, 50),
                site: Some(leeds()),
            },
        ];
        let ranked = rank(&candidates, None, at(9, 0), &Weighting::default());
        assert_eq!(ids(&candidates, &ranked), ["x", "y", "z"]);
        assert!(ranked.iter().all(|r| r.distance_km.is_none()));
        // A slot before the reference scores negative minutes; it is not clamped.
        assert_eq!(ranked[0].score, -10.0);
    }

    #[test]
    fn an_unknown_site_counts_as_the_farthest_known_one() {
        let candidates = [
            Candidate {
                slot_id: "a-unknown",
                starts_at: at(9, 0),
                site: None,
            },
            Candidate {
                slot_id: "b-far",
                starts_at: at(9, 0),
                site: Some(bradford()),
            },
            Candidate {
                slot_id: "c-near",
                starts_at: at(9, 0),
                site: Some(headingley()),
            },
            Candidate {
                slot_id: "d-unknown-early",
                starts_at: at(7, 0),
                site: None,
            },
        ];
        let origin = leeds();
        let ranked = rank(&candidates, Some(origin), at(8, 0), &Weighting::default());
        // The early unknown one is two hours earlier, worth more than 13.7 km at 10 min/km.
        assert_eq!(
            ids(&candidates, &ranked),
            ["d-unknown-early", "c-near", "b-far", "a-unknown"]
        );
        let far = 60.0 + 10.0 * origin.distance_km(&bradford());
        assert_eq!(ranked[2].score, far);
        assert_eq!(ranked[3].score, far);
        assert_eq!(ranked[3].distance_km, None);
    }

    #[test]
    fn ties_break_by_start_then_distance_then_slot_id() {
        let origin = leeds();
        let candidates = [
            Candidate {
                slot_id: "s2",
                starts_at: at(9, 0),
                site: Some(leeds()),
            },
            Candidate {
                slot_id: "s1",
                starts_at: at(9, 0),
                site: Some(leeds()),
            },
            Candidate {
                slot_id: "s0",
                starts_at: at(9, 10),
                site: Some(leeds()),
            },
        ];
        // 10 minutes later with 0 km against 0 minutes later with 0 km: time decides.
        let ranked = rank(&candidates, Some(origin), at(9, 0), &w(5.0));
        assert_eq!(ids(&candidates, &ranked), ["s1", "s2", "s0"]);
        assert!(rank(&[], Some(origin), at(9, 0), &w(5.0)).is_empty());
    }

    #[test]
    fn rounding_for_display() {
        assert_eq!(round_km(13.46), 13.5);
        assert_eq!(round_km(13.44), 13.4);
        assert_eq!(round_km(0.04), 0.0);
        assert_eq!(round_km(2.0), 2.0);
    }

    /// A generated offer: index into [`SLOT_IDS`], start in quarter hours after noon, site.
    type Offer = (usize, i64, Option<(f64, f64)>);

    const SLOT_IDS: [&str; 6] = ["s0", "s1", "s2", "s3", "s4", "s5"];

    /// Offers with few distinct ids, start times on a 15-minute grid and sites that repeat, so
    /// ties of every kind are common; about one in five has no site.
    fn arb_offers() -> impl Strategy<Value = Vec<Offer>> {
        let site = prop_oneof![
            1 => Just(None),
            2 => prop::sample::select(vec![(53.7997, -1.5492), (53.7938, -1.7564), (53.8190, -1.58)])
                .prop_map(Some),
            2 => (53.0..55.0f64, -3.0..0.0f64).prop_map(Some),
        ];
        prop::collection::vec((0..SLOT_IDS.len(), -4i64..40, site), 0..24)
    }

    fn arb_origin() -> impl Strategy<Value = Option<Coordinates>> {
        prop::option::of((53.0..55.0f64, -3.0..0.0f64))
            .prop_map(|o| o.map(|(lat, lon)| Coordinates::new(lat, lon).unwrap()))
    }

    fn arb_weighting() -> impl Strategy<Value = Weighting> {
        prop_oneof![Just(0.0), Just(10.0), 0.0..MAX_MINUTES_PER_KM].prop_map(w)
    }

    fn candidates(offers: &[Offer]) -> Vec<Candidate<'static>> {
        offers
            .iter()
            .map(|&(id, quarter, site)| Candidate {
                slot_id: SLOT_IDS[id],
                starts_at: at(12, 0) + Duration::minutes(15 * quarter),
                site: site.map(|(lat, lon)| Coordinates::new(lat, lon).unwrap()),
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Every input offer appears exactly once, scores never decrease, distances are known
        /// exactly when there is an origin and a site, and among offers starting together those
        /// with a known distance come first.
        #[test]
        fn a_permutation_in_score_order(offers in arb_offers(), origin in arb_origin(), weighting in arb_weighting()) {
            let cs = candidates(&offers);
            let ranked = rank(&cs, origin, at(11, 0), &weighting);
            let mut seen: Vec<usize> = ranked.iter().map(|r| r.index).collect();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..cs.len()).collect::<Vec<_>>());
            for pair in ranked.windows(2) {
                prop_assert!(pair[0].score <= pair[1].score, "{:?}", pair);
                let (a, b) = (&cs[pair[0].index], &cs[pair[1].index]);
                if a.starts_at == b.starts_at {
                    prop_assert!(!(pair[0].distance_km.is_none() && pair[1].distance_km.is_some()), "{:?}", pair);
                }
            }
            for r in &ranked {
                prop_assert_eq!(r.distance_km.is_some(), origin.is_some() && cs[r.index].site.is_some());
            }
        }

        /// With a weighting of zero the order is by start time, then slot id among offers
        /// starting together whose distance is unknown.
        #[test]
        fn zero_weighting_orders_by_start_time(offers in arb_offers(), origin in arb_origin()) {
            let cs = candidates(&offers);
            let ranked = rank(&cs, origin, at(11, 0), &w(0.0));
            for pair in ranked.windows(2) {
                let (a, b) = (&cs[pair[0].index], &cs[pair[1].index]);
                prop_assert!(a.starts_at <= b.starts_at);
                if a.starts_at == b.starts_at && pair[0].distance_km.is_none() && pair[1].distance_km.is_none() {
                    prop_assert!(a.slot_id <= b.slot_id);
                }
            }
        }

        /// The same input gives the same output, and a shuffled input gives the same order of
        /// slot ids, start times and distances.
        #[test]
        fn deterministic_and_independent_of_input_order(
            (offers, shuffled) in arb_offers().prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
            origin in arb_origin(),
            weighting in arb_weighting(),
        ) {
            let cs = candidates(&offers);
            let first = rank(&cs, origin, at(11, 0), &weighting);
            prop_assert_eq!(&first, &rank(&cs, origin, at(11, 0), &weighting));
            let other = candidates(&shuffled);
            let second = rank(&other, origin, at(11, 0), &weighting);
            let key = |cs: &[Candidate<'static>], r: &Ranked| (cs[r.index].slot_id, cs[r.index].starts_at, r.distance_km, r.score);
            let a: Vec<_> = first.iter().map(|r| key(&cs, r)).collect();
            let b: Vec<_> = second.iter().map(|r| key(&other, r)).collect();
            prop_assert_eq!(a, b);
        }

        /// The reference instant shifts every score equally and never changes the order (cases
        /// with scores too close for floating point to keep apart are skipped).
        #[test]
        fn reference_does_not_change_the_order(offers in arb_offers(), origin in arb_origin(), weighting in arb_weighting(), shift in -600i64..600) {
            let cs = candidates(&offers);
            let a = rank(&cs, origin, at(11, 0), &weighting);
            for pair in a.windows(2) {
                let same = cs[pair[0].index].starts_at == cs[pair[1].index].starts_at
                    && pair[0].distance_km == pair[1].distance_km;
                prop_assume!(same || pair[1].score - pair[0].score > 1e-6);
            }
            let b = rank(&cs, origin, at(11, 0) + Duration::minutes(shift), &weighting);
            let order = |r: &[Ranked]| r.iter().map(|x| x.index).collect::<Vec<_>>();
            prop_assert_eq!(order(&a), order(&b));
        }
    }
}
