//! Clusters: the tenant boundary, a PCN or federation with its own code and time zone.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The regular expression (ECMA-262, for an OpenAPI `pattern`) of exactly the texts
/// [`ClusterCode::parse`] accepts: a letter then 2 to 15 letters or digits, in either case,
/// white space around trimmed.
pub const CLUSTER_CODE_PATTERN: &str = concat!(
    r"^",
    crate::space_class!(),
    r"*[A-Za-z][A-Za-z0-9]{2,15}",
    crate::space_class!(),
    r"*$"
);

/// A cluster's code, such as a PCN code `U00001`: 3 to 16 capital letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClusterCode(String);

impl ClusterCode {
    /// Parses a cluster code, upper-casing it first.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let code = input.trim().to_ascii_uppercase();
        let ok = (3..=16).contains(&code.len())
            && code.starts_with(|c: char| c.is_ascii_uppercase())
            && code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok {
            Ok(Self(code))
        } else {
            Err(ValidationError::InvalidClusterCode)
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClusterCode {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ClusterCode> for String {
    fn from(value: ClusterCode) -> Self {
        value.0
    }
}

impl fmt::Display for ClusterCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The IANA time zone a cluster writes its rotas in; Europe/London unless said otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClusterTimeZone(pub Tz);

impl ClusterTimeZone {
    /// The zone of every cluster in England.
    pub const DEFAULT: ClusterTimeZone = ClusterTimeZone(Tz::Europe__London);

    /// Parses an IANA zone name such as `Europe/London`.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        input
            .trim()
            .parse::<Tz>()
            .map(Self)
            .map_err(|_| ValidationError::InvalidTimeZone(input.to_owned()))
    }

    /// Every zone name [`ClusterTimeZone::parse`] knows, from the zone database built in.
    pub fn names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The local date at an instant: "today" in the cluster when `at` is now.
    pub fn date_of(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.0).date_naive()
    }

    /// The instants bounding a local date, `[start, end)`, right across clock changes (a day of
    /// 23 or 25 hours) and zones that change at midnight.
    pub fn day(&self, date: NaiveDate) -> LocalDay {
        LocalDay {
            date,
            from: start_of_day(self.0, date),
            to: start_of_day(self.0, date + Duration::days(1)),
        }
    }

    /// The local day an instant falls in: the one function every rule about "that day" uses
    /// (the same-day booking rule, day lists, agreements in force today).
    pub fn day_of(&self, at: DateTime<Utc>) -> LocalDay {
        self.day(self.date_of(at))
    }
}

impl TryFrom<String> for ClusterTimeZone {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ClusterTimeZone> for String {
    fn from(zone: ClusterTimeZone) -> Self {
        zone.name().to_owned()
    }
}

impl fmt::Display for ClusterTimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One local date of a cluster and the instants that bound it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDay {
    /// The local date.
    pub date: NaiveDate,
    /// Its first instant.
    pub from: DateTime<Utc>,
    /// The first instant of the next date.
    pub to: DateTime<Utc>,
}

/// The first instant of a local date: its midnight, or where midnight falls in a gap (a zone
/// that changes its clocks at midnight), the first minute after it that exists. A date a zone
/// skipped altogether starts where the next one does, so its span is empty.
pub fn start_of_day(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    (0..48 * 60)
        .find_map(|m| {
            tz.from_local_datetime(&(midnight + Duration::minutes(m)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

impl Default for ClusterTimeZone {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_days_have_the_right_length_across_clock_changes() {
        let london = ClusterTimeZone::DEFAULT;
        let hours = |d: &str| {
            let day = london.day(d.parse().unwrap());
            (day.to - day.from).num_hours()
        };
        assert_eq!(hours("2026-03-29"), 23);
        assert_eq!(hours("2026-10-25"), 25);
        assert_eq!(hours("2026-12-01"), 24);
        // 23:30 UTC on 31 May is 00:30 on 1 June in London.
        let late = DateTime::parse_from_rfc3339("2026-05-31T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let day = london.day_of(late);
        assert_eq!(day.date, "2026-06-01".parse::<NaiveDate>().unwrap());
        assert!(day.from <= late && late < day.to);
        // A zone whose clocks jump at midnight still has a first instant for that date.
        let santiago = ClusterTimeZone::parse("America/Santiago").unwrap();
        let gap = santiago.day("2026-09-06".parse().unwrap());
        assert_eq!((gap.to - gap.from).num_hours(), 23);
    }

    #[test]
    fn cluster_codes() {
        assert_eq!(ClusterCode::parse("u00001").unwrap().as_str(), "U00001");
        assert_eq!(ClusterCode::parse("BNSSGFED").unwrap().as_str(), "BNSSGFED");
        for bad in ["", "U1", "1U0001", "U 0001", "U0000-1", "ABCDEFGHIJKLMNOPQ"] {
            assert_eq!(
                ClusterCode::parse(bad),
                Err(ValidationError::InvalidClusterCode),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_cluster_code_pattern_agrees_with_the_parser() {
        let pattern = regex::Regex::new(CLUSTER_CODE_PATTERN).unwrap();
        for sample in [
            "U00001",
            "u00001",
            " BNSSGFED ",
            "ABC",
            "ABCDEFGHIJKLMNOP",
            "",
            "U1",
            "1U0001",
            "U 0001",
            "U0000-1",
            "ABCDEFGHIJKLMNOPQ",
            "ÜBER1",
            "U0000\u{0}",
        ] {
            assert_eq!(
                pattern.is_match(sample),
                ClusterCode::parse(sample).is_ok(),
                "{sample:?}"
            );
        }
    }

    #[test]
    fn every_named_time_zone_parses_and_no_other() {
        assert!(ClusterTimeZone::names().count() > 400);
        for name in ClusterTimeZone::names() {
            assert!(ClusterTimeZone::parse(name).is_ok(), "{name}");
        }
        for bad in [
            "",
            "Europe London",
            "/London",
            "Europe//London",
            "Europe/",
            "../etc",
        ] {
            assert!(!ClusterTimeZone::names().any(|n| n == bad), "{bad:?}");
            assert!(ClusterTimeZone::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn time_zones() {
        assert_eq!(
            ClusterTimeZone::parse("Europe/London").unwrap(),
            ClusterTimeZone::DEFAULT
        );
        assert_eq!(
            ClusterTimeZone::parse("Australia/Lord_Howe")
                .unwrap()
                .name(),
            "Australia/Lord_Howe"
        );
        let err = ClusterTimeZone::parse("Europe/Londinium").unwrap_err();
        assert_eq!(err.code(), "invalid-time-zone");
        assert!(ClusterTimeZone::parse("").is_err());
    }
}
