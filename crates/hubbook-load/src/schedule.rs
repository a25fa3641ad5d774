//! When iterations start and what they do: the open model's fixed arrival schedule, and the
//! `mixed` scenario's draw between search, book and cancel.
//!
//! The open model measures latency from each arrival's *scheduled* time, so a server that falls
//! behind shows its queueing in the percentiles instead of slowing the generator down
//! (coordinated omission).

use std::str::FromStr;
use std::time::Duration;

/// The open model: arrival `k` is due `k / rate` seconds after the start, for every `k` due
/// before the end of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    rate: f64,
    run: Duration,
    arrivals: u64,
}

impl Schedule {
    /// Arrivals at `rate` per second for `run`; `None` unless the rate is positive and finite.
    pub fn new(rate: f64, run: Duration) -> Option<Self> {
        if !(rate.is_finite() && rate > 0.0) {
            return None;
        }
        let arrivals = (run.as_secs_f64() * rate).ceil() as u64;
        Some(Self {
            rate,
            run,
            arrivals,
        })
    }

    /// How many arrivals are due before the end of the run.
    pub fn arrivals(&self) -> u64 {
        self.arrivals
    }

    /// When arrival `k` is due, after the start; `None` for arrivals beyond the run.
    pub fn due(&self, k: u64) -> Option<Duration> {
        (k < self.arrivals).then(|| Duration::from_secs_f64(k as f64 / self.rate))
    }

    /// What a worker that claims the arrival due at `due` at time `now` (both after the start)
    /// does with it.
    pub fn start(&self, due: Duration, now: Duration) -> Start {
        if now <= due {
            Start::OnTime { wait: due - now }
        } else if now < self.run {
            Start::Late { lag: now - due }
        } else {
            Start::Dropped
        }
    }
}

/// How a claimed arrival starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A worker was free: wait this long, then start on time.
    OnTime {
        /// Time until it is due.
        wait: Duration,
    },
    /// Every worker was busy when it was due: start now, this far behind schedule.
    Late {
        /// How far behind.
        lag: Duration,
    },
    /// No worker became free before the run ended: not sent at all.
    Dropped,
}

/// What one iteration of the `mixed` scenario does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Search the cluster.
    Search,
    /// Search, hold and book.
    Book,
    /// Cancel one of this virtual user's own bookings (or book, if it has none).
    Cancel,
}

/// The `mixed` scenario's weights of search, book and cancel, e.g. `90,8,2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    search: u32,
    book: u32,
    cancel: u32,
}

impl Mix {
    /// The specified mix: 90% search, 8% book, 2% cancel.
    pub const DEFAULT: Mix = Mix {
        search: 90,
        book: 8,
        cancel: 2,
    };

    /// The sum of the weights: draws are taken in `0..total()`.
    pub fn total(&self) -> u32 {
        self.search + self.book + self.cancel
    }

    /// The action for a uniform draw in `0..total()`.
    pub fn pick(&self, draw: u32) -> Action {
        if draw < self.search {
            Action::Search
        } else if draw < self.search + self.book {
            Action::Book
        } else {
            Action::Cancel
        }
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let weights = s
            .split(',')
            .map(|w| w.trim().parse::<u32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("the mix is three whole weights, e.g. 90,8,2: {e}"))?;
        let [search, book, cancel] = weights[..] else {
            return Err("the mix is three weights: search,book,cancel, e.g. 90,8,2".into());
        };
        let mix = Mix {
            search,
            book,
            cancel,
        };
        match search.checked_add(book).and_then(|s| s.checked_add(cancel)) {
            Some(0) => Err("at least one weight of the mix must be above zero".into()),
            Some(_) => Ok(mix),
            None => Err("the mix's weights are too large".into()),
        }
    }
}

impl std::fmt::Display for Mix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{},{}", self.search, self.book, self.cancel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn arrivals_are_evenly_spaced_from_the_start() {
        let s = Schedule::new(200.0, Duration::from_secs(10)).unwrap();
        assert_eq!(s.arrivals(), 2000);
        assert_eq!(s.due(0), Some(Duration::ZERO));
        assert_eq!(s.due(1), Some(5 * MS));
        assert_eq!(s.due(200), Some(Duration::from_secs(1)));
        assert_eq!(s.due(1999), Some(Duration::from_millis(9995)));
        assert_eq!(s.due(2000), None);
    }

    #[test]
    fn a_fractional_rate_counts_every_arrival_due_before_the_end() {
        // Due at 0, 0.4, 0.8, 1.2 s: four before 1.5 s.
        let s = Schedule::new(2.5, Duration::from_millis(1500)).unwrap();
        assert_eq!(s.arrivals(), 4);
        assert!(s.due(3).is_some() && s.due(4).is_none());
        // An arrival due exactly at the end is not part of the run.
        assert_eq!(
            Schedule::new(1.0, Duration::from_secs(3))
                .unwrap()
                .arrivals(),
            3
        );
    }

    #[test]
    fn nonsense_rates_are_refused() {
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(
                Schedule::new(rate, Duration::from_secs(1)).is_none(),
                "{rate}"
            );
        }
    }

    #[test]
    fn a_claim_is_on_time_late_or_dropped() {
        let s = Schedule::new(100.0, Duration::from_secs(1)).unwrap();
        assert_eq!(s.start(50 * MS, 20 * MS), Start::OnTime { wait: 30 * MS });
        assert_eq!(
            s.start(50 * MS, 50 * MS),
            Start::OnTime {
                wait: Duration::ZERO
            }
        );
        assert_eq!(s.start(50 * MS, 80 * MS), Start::Late { lag: 30 * MS });
        assert_eq!(s.start(990 * MS, 1000 * MS), Start::Dropped);
        assert_eq!(s.start(990 * MS, 2000 * MS), Start::Dropped);
    }

    #[test]
    fn the_default_mix_splits_a_hundred_draws_90_8_2() {
        let mix = Mix::DEFAULT;
        assert_eq!(mix.total(), 100);
        let count = |a| (0..100).filter(|d| mix.pick(*d) == a).count();
        assert_eq!(count(Action::Search), 90);
        assert_eq!(count(Action::Book), 8);
        assert_eq!(count(Action::Cancel), 2);
        assert_eq!(mix.pick(89), Action::Search);
        assert_eq!(mix.pick(90), Action::Book);
        assert_eq!(mix.pick(97), Action::Book);
        assert_eq!(mix.pick(98), Action::Cancel);
    }

    #[test]
    fn mixes_parse_and_zero_weights_are_never_drawn() {
        let mix: Mix = "0, 3, 1".parse().unwrap();
        assert_eq!(mix.to_string(), "0,3,1");
        assert!((0..mix.total()).all(|d| mix.pick(d) != Action::Search));
        assert_eq!(mix.pick(3), Action::Cancel);
        assert_eq!("90,8,2".parse::<Mix>().unwrap(), Mix::DEFAULT);
        for bad in ["90,10", "1,2,3,4", "0,0,0", "a,b,c", "", "4294967295,1,0"] {
            assert!(bad.parse::<Mix>().is_err(), "{bad}");
        }
    }
}
