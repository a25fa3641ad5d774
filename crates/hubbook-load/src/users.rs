//! Who the virtual users are: the receptionist each one logs in as (the demo's, an explicit
//! list, or the seeded data set's `rcp-{cluster:05}-{practice}`), and the invented patients they
//! book.
//!
//! Everything here is pure and deterministic, so that a run with the same `--seed` drives the
//! same users and a comparison between two builds compares like with like.

/// The demo's receptionists, one per member practice, as `hubbook demo` creates them.
pub const DEMO_RECEPTIONISTS: [&str; 6] = [
    "reception-x00001",
    "reception-x00002",
    "reception-x00003",
    "reception-x00004",
    "reception-x00005",
    "reception-x00006",
];

/// How many practices of every seeded cluster have a receptionist the load generator uses; the
/// seed gives every cluster at least this many.
pub const SEEDED_PRACTICES_PER_CLUSTER: u32 = 4;

/// Where the receptionists come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roster {
    /// These usernames, shared round-robin by the virtual users.
    Explicit(Vec<String>),
    /// The seeded data set's clusters `1..=clusters`; each virtual user draws its own cluster and
    /// practice from `seed`.
    Seeded {
        /// How many seeded clusters to spread over.
        clusters: u32,
        /// Seed of the draw.
        seed: u64,
    },
}

/// The seeded data set's receptionist of practice `practice` (1-based) of cluster `cluster`.
pub fn seeded_username(cluster: u32, practice: u32) -> String {
    format!("rcp-{cluster:05}-{practice}")
}

/// The receptionist each of `vus` virtual users works as, in virtual-user order.
///
/// An explicit list is shared round-robin. For the seeded data set the clusters are dealt from a
/// seeded shuffle of `1..=clusters`, so no two virtual users share a cluster until there are
/// more virtual users than clusters; each picks one of the first four practices at random.
pub fn assign(roster: &Roster, vus: usize) -> Vec<String> {
    match roster {
        Roster::Explicit(names) if names.is_empty() => Vec::new(),
        Roster::Explicit(names) => (0..vus).map(|i| names[i % names.len()].clone()).collect(),
        Roster::Seeded { clusters: 0, .. } => Vec::new(),
        Roster::Seeded { clusters, seed } => {
            let mut rng = SplitMix64::new(*seed);
            let mut order: Vec<u32> = (1..=*clusters).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i as u64 + 1) as usize);
            }
            (0..vus)
                .map(|i| {
                    let practice = 1 + rng.below(u64::from(SEEDED_PRACTICES_PER_CLUSTER)) as u32;
                    seeded_username(order[i % order.len()], practice)
                })
                .collect()
        }
    }
}

/// The distinct usernames of an assignment, in first-use order: whom to log in before the clock
/// starts.
pub fn distinct(assigned: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    assigned
        .iter()
        .filter(|u| seen.insert(u.as_str()))
        .cloned()
        .collect()
}

/// A small, fixed pseudo-random generator (SplitMix64) for the user draw, so that the same seed
/// names the same users whatever version of `rand` is linked.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0); the modulo bias is negligible for the small `n` used here.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// How many distinct patients [`test_nhs_number`] can name.
pub const DISTINCT_PATIENTS: u64 = 100_000;

/// A valid NHS number from the 999 test range, different for each `n` below
/// [`DISTINCT_PATIENTS`] (and repeating after that).
pub fn test_nhs_number(n: u64) -> String {
    let n = n % DISTINCT_PATIENTS;
    (0..10)
        .map(|k| format!("999{:06}", n * 10 + k))
        .find_map(|nine| {
            let digits: Vec<u32> = nine.bytes().map(|b| u32::from(b - b'0')).collect();
            hubbook_core::nhs_number::check_digit(&digits).map(|c| format!("{nine}{c}"))
        })
        .unwrap_or_else(|| "9990000018".to_owned())
}

/// The invented patient numbered `serial`: a test-range NHS number and the name
/// `Load Patient {serial}`, as the booking bodies' `patient`.
pub fn patient(serial: u64) -> serde_json::Value {
    serde_json::json!({
        "nhs_number": test_nhs_number(serial),
        "name": format!("Load Patient {serial}"),
        "birth_date": "1970-01-01",
        "phone": "0113 496 0000",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn seeded_names_follow_the_seed_command() {
        assert_eq!(seeded_username(1, 1), "rcp-00001-1");
        assert_eq!(seeded_username(12345, 4), "rcp-12345-4");
    }

    #[test]
    fn explicit_users_are_shared_round_robin() {
        let roster = Roster::Explicit(vec!["a".into(), "b".into()]);
        assert_eq!(assign(&roster, 5), ["a", "b", "a", "b", "a"]);
        assert_eq!(distinct(&assign(&roster, 5)), ["a", "b"]);
        assert!(assign(&Roster::Explicit(Vec::new()), 3).is_empty());
    }

    fn cluster_of(name: &str) -> u32 {
        name[4..9].parse().unwrap()
    }

    fn practice_of(name: &str) -> u32 {
        name[10..].parse().unwrap()
    }

    #[test]
    fn seeded_users_do_not_share_a_cluster_while_there_are_enough() {
        let users = assign(
            &Roster::Seeded {
                clusters: 1000,
                seed: 1,
            },
            200,
        );
        assert_eq!(users.len(), 200);
        let clusters: HashSet<u32> = users.iter().map(|u| cluster_of(u)).collect();
        assert_eq!(clusters.len(), 200, "two virtual users share a cluster");
        assert!(clusters.iter().all(|c| (1..=1000).contains(c)));
        assert!(users
            .iter()
            .all(|u| (1..=SEEDED_PRACTICES_PER_CLUSTER).contains(&practice_of(u))));
        // Not simply 1, 2, 3...: the draw is spread over the whole range.
        assert!(clusters.iter().any(|c| *c > 500));
        let practices: HashSet<u32> = users.iter().map(|u| practice_of(u)).collect();
        assert_eq!(practices.len(), 4, "every practice number is drawn");
    }

    #[test]
    fn one_seeded_cluster_is_shared_by_everyone() {
        let users = assign(
            &Roster::Seeded {
                clusters: 1,
                seed: 7,
            },
            16,
        );
        assert!(users.iter().all(|u| u.starts_with("rcp-00001-")));
        assert!(distinct(&users).len() <= 4);
    }

    #[test]
    fn the_seed_decides_the_draw() {
        let draw = |seed| {
            assign(
                &Roster::Seeded {
                    clusters: 500,
                    seed,
                },
                20,
            )
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn test_nhs_numbers_are_valid_distinct_and_in_the_test_range() {
        let mut seen = HashSet::new();
        for n in 0..DISTINCT_PATIENTS {
            let nhs = test_nhs_number(n);
            assert!(nhs.starts_with("999") && nhs.len() == 10, "{nhs}");
            let digits: Vec<u32> = nhs.bytes().map(|b| u32::from(b - b'0')).collect();
            assert_eq!(
                hubbook_core::nhs_number::check_digit(&digits[..9]),
                Some(digits[9]),
                "{nhs}"
            );
            assert!(seen.insert(nhs), "repeated at {n}");
        }
        assert_eq!(test_nhs_number(DISTINCT_PATIENTS + 5), test_nhs_number(5));
    }

    #[test]
    fn patients_are_named_by_their_serial() {
        let p = patient(42);
        assert_eq!(p["name"], "Load Patient 42");
        assert_eq!(p["nhs_number"], test_nhs_number(42));
    }
}
