//! Triage: what a 111 disposition asks for, and which free slot answers it best.
//!
//! A disposition gives a timeframe from the moment of triage and the kind of contact that fits
//! (face to face, telephone, or either). A slot fits when it starts after now and no later than
//! the end of the timeframe, its delivery fits, and its service is one the disposition names.
//! Of the fitting slots the best is the **nearest** to the patient, then the **earliest**: the
//! patient is sent to the closest place that can see them in time. Distances are compared to
//! the tenth of a kilometre shown to callers, so two sites that look equally near are decided by
//! time; a slot whose site has no known position comes after every slot whose site has one.

use std::cmp::Ordering;

use chrono::{DateTime, Duration, Utc};
use thiserror::Error;

use crate::ranking::{round_km, Candidate};
use crate::rota::Delivery;
use crate::Coordinates;

/// The longest timeframe a disposition may have: two weeks, in minutes.
pub const MAX_TIMEFRAME_MINUTES: i64 = 20_160;

/// How far ahead of the server's clock a triage time may be (the caller's clock may run fast).
pub const MAX_CLOCK_SKEW_MINUTES: i64 = 5;

/// How far past the timeframe a `no-capacity` answer looks for the next fitting slot, in days.
pub const NEXT_SLOT_HORIZON_DAYS: i64 = 14;

/// Why a triage request or a disposition was refused by the domain rules.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TriageError {
    /// A disposition code that is not 2 to 16 letters, digits, dots, hyphens or underscores.
    #[error("a disposition code is 2 to 16 letters, digits, dots, hyphens or underscores, for example Dx05")]
    InvalidDispositionCode,
    /// A timeframe outside 1 minute to two weeks.
    #[error("a timeframe is 1 to {MAX_TIMEFRAME_MINUTES} minutes, got {0}")]
    InvalidTimeframe(i64),
    /// A delivery fit other than `face_to_face`, `telephone` or `either`.
    #[error("'{0}' is not a delivery fit (face_to_face, telephone or either)")]
    UnknownDeliveryFit(String),
    /// A triage time later than the server's clock allows.
    #[error("the triage time is in the future")]
    TriagedInFuture,
    /// The disposition's timeframe ended before now.
    #[error("the disposition's timeframe ended at {due_by}; triage the patient again")]
    TimeframePassed {
        /// When the timeframe ended.
        due_by: DateTime<Utc>,
    },
}

impl TriageError {
    /// A stable, lower-case, hyphenated code naming the kind of error, for machines to match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidDispositionCode => "invalid-disposition-code",
            Self::InvalidTimeframe(_) => "invalid-timeframe",
            Self::UnknownDeliveryFit(_) => "unknown-delivery-fit",
            Self::TriagedInFuture => "triage-time-in-future",
            Self::TimeframePassed { .. } => "timeframe-passed",
        }
    }
}

/// The regular expression (ECMA-262, for an OpenAPI `pattern`) of exactly the disposition codes
/// [`check_code`] accepts: 2 to 16 letters, digits, dots, hyphens or underscores.
pub const DISPOSITION_CODE_PATTERN: &str = r"^[A-Za-z0-9._-]{2,16}$";

/// The longest description of a disposition, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 300;

/// Checks a disposition code: 2 to 16 ASCII letters, digits, dots, hyphens or underscores.
pub fn check_code(code: &str) -> Result<&str, TriageError> {
    let ok = (2..=16).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c));
    if ok {
        Ok(code)
    } else {
        Err(TriageError::InvalidDispositionCode)
    }
}

/// Checks a timeframe in minutes: 1 to [`MAX_TIMEFRAME_MINUTES`].
pub fn check_timeframe(minutes: i64) -> Result<i64, TriageError> {
    if (1..=MAX_TIMEFRAME_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(TriageError::InvalidTimeframe(minutes))
    }
}

/// Which kinds of slot a disposition can be met by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryFit {
    /// Only a face-to-face slot.
    FaceToFace,
    /// A remote slot: telephone, or video (a call with a picture).
    Telephone,
    /// Any slot.
    Either,
}

impl std::str::FromStr for DeliveryFit {
    type Err = TriageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

crate::stored_as_text!(DeliveryFit);

impl DeliveryFit {
    /// Every fit, in a stable order.
    pub const ALL: [DeliveryFit; 3] = [Self::FaceToFace, Self::Telephone, Self::Either];

    /// Parses `face_to_face`, `telephone` or `either`.
    pub fn parse(s: &str) -> Result<Self, TriageError> {
        match s {
            "face_to_face" => Ok(Self::FaceToFace),
            "telephone" => Ok(Self::Telephone),
            "either" => Ok(Self::Either),
            other => Err(TriageError::UnknownDeliveryFit(other.to_owned())),
        }
    }

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FaceToFace => "face_to_face",
            Self::Telephone => "telephone",
            Self::Either => "either",
        }
    }

    /// The slot deliveries that fit.
    pub fn deliveries(self) -> &'static [Delivery] {
        match self {
            Self::FaceToFace => &[Delivery::FaceToFace],
            Self::Telephone => &[Delivery::Telephone, Delivery::Video],
            Self::Either => &Delivery::ALL,
        }
    }

    /// Whether a slot delivered this way fits.
    pub fn fits(self, delivery: Delivery) -> bool {
        self.deliveries().contains(&delivery)
    }
}

/// The instants a triaged patient may be booked between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Slots must start after this instant (now).
    pub from: DateTime<Utc>,
    /// The end of the timeframe: slots must start no later than this.
    pub due_by: DateTime<Utc>,
}

impl Window {
    /// The exclusive upper bound for a search of starts: one second after `due_by`, since starts
    /// are stored to the second and a slot starting exactly at `due_by` is in time.
    pub fn until(&self) -> DateTime<Utc> {
        self.due_by + Duration::seconds(1)
    }

    /// Whether a slot starting at `starts_at` is inside the window.
    pub fn contains(&self, starts_at: DateTime<Utc>) -> bool {
        starts_at > self.from && starts_at <= self.due_by
    }
}

/// The booking window for a patient triaged at `triaged_at` with a timeframe of
/// `timeframe_minutes`, judged at `now`: refused if triage is in the future (beyond
/// [`MAX_CLOCK_SKEW_MINUTES`]) or the timeframe has already ended.
pub fn window(
    triaged_at: DateTime<Utc>,
    timeframe_minutes: i64,
    now: DateTime<Utc>,
) -> Result<Window, TriageError> {
    check_timeframe(timeframe_minutes)?;
    if triaged_at > now + Duration::minutes(MAX_CLOCK_SKEW_MINUTES) {
        return Err(TriageError::TriagedInFuture);
    }
    let due_by = triaged_at + Duration::minutes(timeframe_minutes);
    if due_by <= now {
        return Err(TriageError::TimeframePassed { due_by });
    }
    Ok(Window { from: now, due_by })
}

/// One fitting slot in the order a triage booking tries them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choice {
    /// The slot's position in the input.
    pub index: usize,
    /// Kilometres from the patient, when both positions are known.
    pub distance_km: Option<f64>,
}

/// Orders fitting slots best first: nearest to `origin` (to 0.1 km), then earliest, then by slot
/// id so that the order is the same on every call.
pub fn order(candidates: &[Candidate<'_>], origin: Option<Coordinates>) -> Vec<Choice> {
    let mut choices: Vec<Choice> = candidates
        .iter()
        .enumerate()
        .map(|(index, c)| Choice {
            index,
            distance_km: match (origin, c.site) {
                (Some(o), Some(s)) => Some(round_km(o.distance_km(&s))).filter(|d| d.is_finite()),
                _ => None,
            },
        })
        .collect();
    choices.sort_by(|a, b| {
        let (ca, cb) = (&candidates[a.index], &candidates[b.index]);
        nearer(a.distance_km, b.distance_km)
            .then_with(|| ca.starts_at.cmp(&cb.starts_at))
            .then_with(|| ca.slot_id.cmp(cb.slot_id))
            .then_with(|| a.index.cmp(&b.index))
    });
    choices
}

/// The `limit` clusters whose nearest site (of `sites`, `(cluster_id, position)`) is nearest
/// `origin`, nearest first; clusters with no site come last, in the order given.
///
/// A 111 service may book in every cluster of the country; a triage search looks in these only,
/// since the nearest fitting slot is in a nearby cluster.
pub fn nearest_clusters<Id: AsRef<str> + Clone>(
    sites: &[(String, Coordinates)],
    cluster_ids: &[Id],
    origin: Coordinates,
    limit: usize,
) -> Vec<Id> {
    let mut nearest: std::collections::HashMap<&str, f64> = std::collections::HashMap::new();
    for (cluster_id, at) in sites {
        let km = origin.distance_km(at);
        let best = nearest.entry(cluster_id.as_str()).or_insert(f64::INFINITY);
        *best = best.min(km);
    }
    let mut ranked: Vec<(usize, &Id)> = cluster_ids.iter().enumerate().collect();
    ranked.sort_by(|(i, a), (j, b)| {
        let km = |id: &Id| nearest.get(id.as_ref()).copied().unwrap_or(f64::INFINITY);
        km(a).total_cmp(&km(b)).then(i.cmp(j))
    });
    ranked
        .into_iter()
        .take(limit)
        .map(|(_, id)| id.clone())
        .collect()
}

/// Nearer first, unknown last.
fn nearer(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_disposition_code_pattern_agrees_with_the_check() {
        let pattern = regex::Regex::new(super::DISPOSITION_CODE_PATTERN).unwrap();
        let longest = "D".repeat(16);
        let too_long = "D".repeat(17);
        for sample in [
            "Dx05",
            "DX.1-2_3",
            "ab",
            longest.as_str(),
            too_long.as_str(),
            "D",
            "",
            "Dx 05",
            " Dx05",
            "Dx05é",
        ] {
            assert_eq!(
                pattern.is_match(sample),
                super::check_code(sample).is_ok(),
                "{sample:?}"
            );
        }
    }

    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0)
            .single()
            .unwrap()
    }

    fn here(lat: f64, lon: f64) -> Coordinates {
        Coordinates::new(lat, lon).unwrap()
    }

    #[test]
    fn nearest_clusters_rank_by_their_nearest_site() {
        let ids: Vec<String> = ["leeds", "york", "hull", "nowhere", "bradford"]
            .map(String::from)
            .to_vec();
        let sites = vec![
            ("york".to_owned(), here(53.96, -1.08)),
            ("leeds".to_owned(), here(53.80, -1.55)),
            ("hull".to_owned(), here(53.74, -0.33)),
            // Bradford's second site is in Leeds: its nearest site counts.
            ("bradford".to_owned(), here(53.79, -1.75)),
            ("bradford".to_owned(), here(53.801, -1.548)),
            ("elsewhere".to_owned(), here(51.5, -0.1)),
        ];
        let leeds = here(53.80, -1.55);
        assert_eq!(
            nearest_clusters(&sites, &ids, leeds, 3),
            ["leeds", "bradford", "york"]
        );
        // A cluster without a site comes last; a site outside the list is ignored.
        assert_eq!(
            nearest_clusters(&sites, &ids, leeds, 10),
            ["leeds", "bradford", "york", "hull", "nowhere"]
        );
        assert!(nearest_clusters(&sites, &ids, leeds, 0).is_empty());
        assert_eq!(
            nearest_clusters(&[], &ids, leeds, 2),
            ["leeds", "york"],
            "with no sites the order given stands"
        );
    }

    #[test]
    fn window_runs_from_now_to_the_end_of_the_timeframe() {
        let w = window(at(10, 0), 120, at(10, 30)).unwrap();
        assert_eq!(w.from, at(10, 30));
        assert_eq!(w.due_by, at(12, 0));
        assert!(w.contains(at(12, 0)), "a slot at the due time is in time");
        assert!(!w.contains(at(12, 1)));
        assert!(!w.contains(at(10, 30)), "a slot starting now has begun");
        assert_eq!(w.until(), at(12, 0) + Duration::seconds(1));
    }

    #[test]
    fn a_passed_timeframe_names_when_it_ended() {
        let e = window(at(8, 0), 60, at(9, 0)).unwrap_err();
        assert_eq!(e, TriageError::TimeframePassed { due_by: at(9, 0) });
        assert_eq!(e.code(), "timeframe-passed");
    }

    #[test]
    fn triage_in_the_future_is_refused_beyond_the_skew() {
        assert!(window(at(10, 5), 60, at(10, 0)).is_ok());
        let e = window(at(10, 6), 60, at(10, 0)).unwrap_err();
        assert_eq!(e.code(), "triage-time-in-future");
    }

    #[test]
    fn timeframes_and_codes_are_checked() {
        assert_eq!(check_timeframe(0).unwrap_err().code(), "invalid-timeframe");
        assert!(check_timeframe(MAX_TIMEFRAME_MINUTES).is_ok());
        assert!(check_timeframe(MAX_TIMEFRAME_MINUTES + 1).is_err());
        assert!(check_code("Dx05").is_ok());
        assert!(check_code("D").is_err());
        assert!(check_code("Dx 05").is_err());
        assert_eq!(
            check_code("Dx05;drop").unwrap_err().code(),
            "invalid-disposition-code"
        );
    }

    #[test]
    fn delivery_fits() {
        let f = DeliveryFit::parse("telephone").unwrap();
        assert!(
            f.fits(Delivery::Telephone) && f.fits(Delivery::Video) && !f.fits(Delivery::FaceToFace)
        );
        let f = DeliveryFit::parse("face_to_face").unwrap();
        assert!(f.fits(Delivery::FaceToFace) && !f.fits(Delivery::Telephone));
        assert!(DeliveryFit::Either.fits(Delivery::Video));
        assert_eq!(
            DeliveryFit::parse("in person").unwrap_err().code(),
            "unknown-delivery-fit"
        );
        for f in [
            DeliveryFit::FaceToFace,
            DeliveryFit::Telephone,
            DeliveryFit::Either,
        ] {
            assert_eq!(DeliveryFit::parse(f.as_str()).unwrap(), f);
        }
    }

    #[test]
    fn nearest_wins_over_earliest_then_time_decides() {
        let patient = here(53.80, -1.55);
        let near = here(53.81, -1.55); // about 1.1 km
        let far = here(53.90, -1.55); // about 11 km
        let slots = [
            Candidate {
                slot_id: "far-early",
                starts_at: at(11, 0),
                site: Some(far),
            },
            Candidate {
                slot_id: "near-late",
                starts_at: at(13, 0),
                site: Some(near),
            },
            Candidate {
                slot_id: "near-later",
                starts_at: at(14, 0),
                site: Some(near),
            },
            Candidate {
                slot_id: "unknown-place",
                starts_at: at(10, 45),
                site: None,
            },
        ];
        let ids: Vec<&str> = order(&slots, Some(patient))
            .iter()
            .map(|c| slots[c.index].slot_id)
            .collect();
        assert_eq!(
            ids,
            ["near-late", "near-later", "far-early", "unknown-place"]
        );
    }

    #[test]
    fn without_a_position_the_earliest_wins() {
        let slots = [
            Candidate {
                slot_id: "b",
                starts_at: at(12, 0),
                site: Some(here(53.8, -1.5)),
            },
            Candidate {
                slot_id: "a",
                starts_at: at(11, 0),
                site: Some(here(53.9, -1.5)),
            },
        ];
        let first = order(&slots, None)[0];
        assert_eq!(slots[first.index].slot_id, "a");
        assert_eq!(first.distance_km, None);
    }

    proptest! {
        #[test]
        fn the_order_is_a_permutation_led_by_a_nearest_earliest_slot(
            raw in prop::collection::vec((0u32..600, 0.0f64..0.5, 0.0f64..0.5), 1..40),
            origin in (53.5f64..54.0, -2.0f64..-1.0),
        ) {
            let ids: Vec<String> = (0..raw.len()).map(|i| format!("s{i:03}")).collect();
            let slots: Vec<Candidate<'_>> = raw
                .iter()
                .zip(&ids)
                .map(|((min, dlat, dlon), id)| Candidate {
                    slot_id: id,
                    starts_at: at(8, 0) + Duration::minutes(i64::from(*min)),
                    site: Some(here(53.5 + dlat, -1.5 - dlon)),
                })
                .collect();
            let origin = here(origin.0, origin.1);
            let order = order(&slots, Some(origin));
            let mut seen: Vec<usize> = order.iter().map(|c| c.index).collect();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..slots.len()).collect::<Vec<_>>());
            let best = order[0];
            for (i, s) in slots.iter().enumerate() {
                let km = round_km(origin.distance_km(&s.site.unwrap()));
                let best_km = best.distance_km.unwrap();
                prop_assert!(best_km <= km, "slot {} is nearer than the chosen one", i);
                if (best_km - km).abs() < f64::EPSILON {
                    prop_assert!(slots[best.index].starts_at <= s.starts_at);
                }
            }
        }
    }
}
