//! Local time for reports: a cluster reports by its own days, ISO weeks (Monday first), weekdays
//! and hours, in its own zone, although instants are stored in UTC and SQLite has no time zones.
//!
//! [`local_spans`] cuts a period of local dates into spans during which the zone's UTC offset does
//! not change, each labelled with its local date, week and weekday. The store joins rows to the
//! spans by UTC range and derives the local minute of the day from the span's offset, so grouping
//! is exact on both backends, daylight-saving change days included. [`offset_periods`] does the
//! same for instants outside the period (when a booking was made). The bands that reports group
//! by (hours, lead times, the network standard hours) are stated here once.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// The national enhanced-access requirement: minutes of clinical capacity offered per 1,000
/// registered patients per week.
pub const ENHANCED_ACCESS_MINUTES_PER_1000: f64 = 60.0;

/// A stretch of one local date during which the zone's UTC offset does not change; a date has
/// one span, or two on a daylight-saving change day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSpan {
    /// The local date.
    pub date: NaiveDate,
    /// The Monday that starts the date's ISO week.
    pub week: NaiveDate,
    /// The ISO weekday number: 1 for Monday to 7 for Sunday.
    pub weekday: u32,
    /// The first instant of the span.
    pub from: DateTime<Utc>,
    /// The instant after the span.
    pub to: DateTime<Utc>,
    /// Local time minus UTC during the span, in minutes (60 in British Summer Time).
    pub utc_offset_minutes: i32,
}

/// A stretch of time during which the zone's UTC offset does not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPeriod {
    /// The first instant.
    pub from: DateTime<Utc>,
    /// The instant after the period.
    pub to: DateTime<Utc>,
    /// Local time minus UTC, in minutes.
    pub utc_offset_minutes: i32,
}

/// Local time minus UTC at an instant, in minutes.
pub fn utc_offset_minutes(tz: Tz, at: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
        / 60
}

pub use crate::cluster::start_of_day;

/// The first instant in `(from, to)` whose offset differs from the offset at `from`, if the
/// offset just before `to` differs (zones change their clocks at most once in a day).
fn next_change(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let last = to - Duration::seconds(1);
    if last <= from {
        return None;
    }
    first_change(tz, from, last)
}

/// The first instant in `(from, probe]` whose offset differs from the offset at `from`, if the
/// offset at `probe` differs, found by bisection to the second.
fn first_change(tz: Tz, from: DateTime<Utc>, probe: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let start = utc_offset_minutes(tz, from);
    if probe <= from || utc_offset_minutes(tz, probe) == start {
        return None;
    }
    // Invariant: the offset at `lo` is `start`, the offset at `hi` is not.
    let (mut lo, mut hi) = (from.timestamp(), probe.timestamp());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let at = DateTime::from_timestamp(mid, 0)?;
        if utc_offset_minutes(tz, at) == start {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

/// The local dates `from..=to` cut into spans of constant UTC offset, in time order; together
/// they tile `[start_of_day(from), start_of_day(to + 1))` without gaps or overlaps.
pub fn local_spans(tz: Tz, from: NaiveDate, to: NaiveDate) -> Vec<LocalSpan> {
    let mut spans = Vec::new();
    let mut date = from;
    while date <= to {
        let Some(next) = date.succ_opt() else { break };
        let end = start_of_day(tz, next);
        let mut at = start_of_day(tz, date);
        let week = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
        while at < end {
            let offset = utc_offset_minutes(tz, at);
            let until = next_change(tz, at, end).unwrap_or(end);
            spans.push(LocalSpan {
                date,
                week,
                weekday: date.weekday().number_from_monday(),
                from: at,
                to: until,
                utc_offset_minutes: offset,
            });
            at = until;
        }
        date = next;
    }
    spans
}

/// The instants `[from, to)` cut into periods of constant UTC offset, in time order.
pub fn offset_periods(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<OffsetPeriod> {
    let mut periods = Vec::new();
    let (mut start, mut at) = (from, from);
    while at < to {
        // Probe a day ahead, or the last second of the range.
        let step = (at + Duration::days(1)).min(to);
        let probe = if step < to {
            step
        } else {
            to - Duration::seconds(1)
        };
        match first_change(tz, at, probe) {
            Some(change) => {
                periods.push(OffsetPeriod {
                    from: start,
                    to: change,
                    utc_offset_minutes: utc_offset_minutes(tz, start),
                });
                start = change;
                at = change;
            }
            None => at = step,
        }
    }
    if start < to {
        periods.push(OffsetPeriod {
            from: start,
            to,
            utc_offset_minutes: utc_offset_minutes(tz, start),
        });
    }
    periods
}

/// The network standard hours of a weekday, as local minutes of the day `[from, to)`: weekdays
/// 18:30-20:00 and Saturdays 09:00-17:00; none on Sundays.
pub fn network_standard_hours(weekday: Weekday) -> Option<(u32, u32)> {
    match weekday {
        Weekday::Sat => Some((9 * 60, 17 * 60)),
        Weekday::Sun => None,
        _ => Some((18 * 60 + 30, 20 * 60)),
    }
}

/// The weekday of an ISO weekday number (1 for Monday to 7 for Sunday).
pub fn weekday_of(number: u32) -> Option<Weekday> {
    let index = usize::try_from(number.checked_sub(1)?).ok()?;
    crate::rota::WEEK.get(index).copied()
}

/// A weekday's English name, `Monday` to `Sunday`.
pub fn weekday_label(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// The hour band of a local hour of the day, labelled `18:00-19:00` (the last is `23:00-24:00`).
pub fn hour_band(hour: u32) -> String {
    format!("{hour:02}:00-{:02}:00", hour + 1)
}

/// The ISO week of a date, labelled `2026-W43`.
pub fn iso_week_label(date: NaiveDate) -> String {
    let week = date.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// How long before the appointment it was booked, in local calendar days: the local date of
/// the appointment less the local date of the booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LeadTime {
    /// Booked on the day of the appointment (0 days; a booking stamped after the start counts here).
    SameDay,
    /// 1 or 2 days ahead.
    OneToTwoDays,
    /// 3 to 7 days ahead.
    ThreeToSevenDays,
    /// 8 to 14 days ahead.
    EightToFourteenDays,
    /// 15 days ahead or more.
    FifteenDaysOrMore,
}

impl LeadTime {
    /// Every band, shortest first; a band's index in this list is its stable number.
    pub const ALL: [LeadTime; 5] = [
        Self::SameDay,
        Self::OneToTwoDays,
        Self::ThreeToSevenDays,
        Self::EightToFourteenDays,
        Self::FifteenDaysOrMore,
    ];

    /// The most days of each band but the last, in order: a lead of `d` days falls in the first
    /// band whose bound is at least `d`, else in the last.
    pub const UPPER_DAYS: [i64; 4] = [0, 2, 7, 14];

    /// The band of a lead time in days.
    pub fn from_days(days: i64) -> Self {
        Self::UPPER_DAYS
            .iter()
            .position(|&upper| days <= upper)
            .map_or(Self::FifteenDaysOrMore, |i| Self::ALL[i])
    }

    /// The band's number, its index in [`LeadTime::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The band with this number.
    pub fn from_index(index: usize) -> Option<Self> {
        Self::ALL.get(index).copied()
    }

    /// The band's label: `same day`, `1-2 days`, `3-7 days`, `8-14 days` or `15+ days`.
    pub fn label(self) -> &'static str {
        match self {
            Self::SameDay => "same day",
            Self::OneToTwoDays => "1-2 days",
            Self::ThreeToSevenDays => "3-7 days",
            Self::EightToFourteenDays => "8-14 days",
            Self::FifteenDaysOrMore => "15+ days",
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Timelike;
    use proptest::prelude::*;

    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn an_autumn_change_day_has_two_spans() {
        let spans = local_spans(Tz::Europe__London, date("2026-10-25"), date("2026-10-25"));
        assert_eq!(spans.len(), 2);
        assert_eq!(
            (spans[0].from, spans[0].to, spans[0].utc_offset_minutes),
            (at("2026-10-24T23:00:00Z"), at("2026-10-25T01:00:00Z"), 60)
        );
        assert_eq!(
            (spans[1].from, spans[1].to, spans[1].utc_offset_minutes),
            (at("2026-10-25T01:00:00Z"), at("2026-10-26T00:00:00Z"), 0)
        );
        assert!(spans
            .iter()
            .all(|s| s.week == date("2026-10-19") && s.weekday == 7));
    }

    #[test]
    fn a_spring_change_day_is_23_hours() {
        let spans = local_spans(Tz::Europe__London, date("2026-03-29"), date("2026-03-29"));
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].from, at("2026-03-29T00:00:00Z"));
        assert_eq!(spans[0].to, at("2026-03-29T01:00:00Z"));
        assert_eq!(spans[1].to, at("2026-03-29T23:00:00Z"));
        assert_eq!(
            (spans[0].utc_offset_minutes, spans[1].utc_offset_minutes),
            (0, 60)
        );
    }

    #[test]
    fn weeks_start_on_monday() {
        let spans = local_spans(Tz::Europe__London, date("2026-11-29"), date("2026-12-01"));
        let weeks: Vec<(NaiveDate, u32)> = spans.iter().map(|s| (s.week, s.weekday)).collect();
        assert_eq!(
            weeks,
            vec![
                (date("2026-11-23"), 7),
                (date("2026-11-30"), 1),
                (date("2026-11-30"), 2)
            ]
        );
        assert_eq!(iso_week_label(date("2026-11-30")), "2026-W49");
        assert_eq!(iso_week_label(date("2027-01-01")), "2026-W53");
    }

    #[test]
    fn a_skipped_date_has_no_span() {
        // Samoa moved across the date line: 2011-12-30 never happened in Apia.
        let spans = local_spans(Tz::Pacific__Apia, date("2011-12-29"), date("2011-12-31"));
        let dates: Vec<NaiveDate> = spans.iter().map(|s| s.date).collect();
        assert_eq!(dates, vec![date("2011-12-29"), date("2011-12-31")]);
        assert_eq!(spans[0].to, spans[1].from);
    }

    #[test]
    fn offset_periods_follow_the_changes() {
        let periods = offset_periods(
            Tz::Europe__London,
            at("2026-01-01T00:00:00Z"),
            at("2027-01-01T00:00:00Z"),
        );
        let cuts: Vec<(DateTime<Utc>, i32)> = periods
            .iter()
            .map(|p| (p.from, p.utc_offset_minutes))
            .collect();
        assert_eq!(
            cuts,
            vec![
                (at("2026-01-01T00:00:00Z"), 0),
                (at("2026-03-29T01:00:00Z"), 60),
                (at("2026-10-25T01:00:00Z"), 0)
            ]
        );
        assert_eq!(periods[2].to, at("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn bands_and_labels() {
        let cuts: Vec<&str> = [-1, 0, 1, 2, 3, 7, 8, 14, 15, 400]
            .into_iter()
            .map(|d| LeadTime::from_days(d).label())
            .collect();
        assert_eq!(
            cuts,
            vec![
                "same day",
                "same day",
                "1-2 days",
                "1-2 days",
                "3-7 days",
                "3-7 days",
                "8-14 days",
                "8-14 days",
                "15+ days",
                "15+ days"
            ]
        );
        for band in LeadTime::ALL {
            assert_eq!(LeadTime::from_index(band.index()), Some(band));
        }
        assert_eq!(hour_band(18), "18:00-19:00");
        assert_eq!(hour_band(9), "09:00-10:00");
        assert_eq!(hour_band(23), "23:00-24:00");
        assert_eq!(network_standard_hours(Weekday::Wed), Some((1110, 1200)));
        assert_eq!(network_standard_hours(Weekday::Sat), Some((540, 1020)));
        assert_eq!(network_standard_hours(Weekday::Sun), None);
        assert_eq!(weekday_of(3).map(weekday_label), Some("Wednesday"));
        assert_eq!(weekday_of(8), None);
    }

    const ZONES: [Tz; 4] = [
        Tz::Europe__London,
        Tz::America__New_York,
        Tz::Australia__Lord_Howe,
        Tz::America__Santiago,
    ];

    proptest! {
        /// Spans tile the period, keep their offset throughout, and carry the local date,
        /// week and weekday of every instant in them.
        #[test]
        fn spans_tile_the_period_with_constant_offsets(
            zone in 0..ZONES.len(),
            start in 0i64..(365 * 30),
            days in 0i64..120,
        ) {
            let tz = ZONES[zone];
            let from = date("2000-01-01") + Duration::days(start);
            let to = from + Duration::days(days);
            let spans = local_spans(tz, from, to);
            prop_assert_eq!(spans.first().map(|s| s.from), Some(start_of_day(tz, from)));
            prop_assert_eq!(spans.last().map(|s| s.to), Some(start_of_day(tz, to + Duration::days(1))));
            for pair in spans.windows(2) {
                prop_assert_eq!(pair[0].to, pair[1].from);
                prop_assert!(pair[0].date <= pair[1].date);
            }
            for s in &spans {
                prop_assert!(s.from < s.to);
                for probe in [s.from, s.to - Duration::seconds(1), s.from + (s.to - s.from) / 2] {
                    prop_assert_eq!(utc_offset_minutes(tz, probe), s.utc_offset_minutes);
                    let local = probe.with_timezone(&tz);
                    prop_assert_eq!(local.date_naive(), s.date);
                    let shifted = probe + Duration::minutes(i64::from(s.utc_offset_minutes));
                    prop_assert_eq!(shifted.hour(), local.hour());
                }
                prop_assert_eq!(s.week.weekday(), Weekday::Mon);
                prop_assert!(s.week <= s.date && s.date - s.week < Duration::days(7));
                prop_assert_eq!(weekday_of(s.weekday), Some(s.date.weekday()));
            }
        }

        /// Offset periods tile their range and keep their offset throughout.
        #[test]
        fn offset_periods_tile_with_constant_offsets(
            zone in 0..ZONES.len(),
            start in 0i64..(365 * 30 * 24),
            hours in 1i64..(24 * 800),
        ) {
            let tz = ZONES[zone];
            let from = at("2000-01-01T00:00:00Z") + Duration::hours(start);
            let to = from + Duration::hours(hours);
            let periods = offset_periods(tz, from, to);
            prop_assert_eq!(periods.first().map(|p| p.from), Some(from));
            prop_assert_eq!(periods.last().map(|p| p.to), Some(to));
            for pair in periods.windows(2) {
                prop_assert_eq!(pair[0].to, pair[1].from);
                prop_assert_ne!(pair[0].utc_offset_minutes, pair[1].utc_offset_minutes);
            }
            for p in &periods {
                prop_assert_eq!(utc_offset_minutes(tz, p.from), p.utc_offset_minutes);
                prop_assert_eq!(utc_offset_minutes(tz, p.to - Duration::seconds(1)), p.utc_offset_minutes);
            }
        }
    }
}
