//! Property tests of rota expansion: random templates over date ranges spanning daylight-saving
//! changes in Europe/London, Europe/Dublin, America/New_York and Australia/Lord_Howe.
//!
//! What is checked, for every generated rota (valid by construction) and range:
//! * the expansion either succeeds, or fails with `NonexistentTime` for a template, a scheduled
//!   date in range and one of the template's wall times for which chrono's
//!   `from_local_datetime` gives `LocalResult::None`;
//! * on success, the (template, date) pairs are exactly those a naive, independently written
//!   schedule oracle picks, and sessions are sorted by start then key;
//! * each session's start and end instants convert back to the template's wall times on its
//!   date; the start is the earliest and the end the latest instant of their wall times; the
//!   session is flagged ambiguous exactly when one of its wall times (start, end, breaks) occurs
//!   twice, and then a warning names it;
//! * per lane, slots are `slot_minutes` long, start on the grid `session start + k * slot`, lie
//!   inside the session, never overlap each other or a break, are numbered 0, 1, 2, ..., and are
//!   exactly the grid positions that fit before the end and miss every break; every lane has the
//!   same slots;
//! * minute accounting per lane: without breaks, `slots * slot_minutes == session_minutes -
//!   session_minutes % slot_minutes` (session minutes on the UTC timeline); with breaks, cutting
//!   the session at the (merged) break instants into free intervals of `g` minutes, the first
//!   interval holds exactly `g / slot` slots (it starts on the grid) and each later one `g / slot`
//!   or `g / slot - 1` (integer division), and these counts add up to all the lane's slots;
//! * where the UTC offset is the same at the session's start and end, its length equals the wall
//!   length and each slot starts at wall time `start + k * slot`;
//! * expanding `[a, b]` and `[b + 1, c]` gives, concatenated, exactly the expansion of `[a, c]`
//!   (sessions and warnings), and either half fails exactly when the whole does;
//! * expansion is deterministic and does not depend on the order of the rota's templates.

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;
use proptest::prelude::*;
use proptest::sample::Index;

use super::*;

const ZONES: [Tz; 4] = [
    Tz::Europe__London,
    Tz::Europe__Dublin,
    Tz::America__New_York,
    Tz::Australia__Lord_Howe,
];

/// The raw draw of one template, placed relative to the range's first date when built.
#[derive(Debug, Clone)]
struct Spec {
    start_unit: u32,
    len_units: u32,
    slot: u32,
    capacity: u32,
    break_points: Vec<u32>,
    weekday_bits: u8,
    pattern: PatternSpec,
    from_offset: i64,
    valid_days: Option<i64>,
    skips: Vec<i64>,
    delivery: Delivery,
}

#[derive(Debug, Clone)]
enum PatternSpec {
    EveryWeek,
    EveryNth { n: u32, anchor_offset: i64 },
    Nth(u32),
    Last,
}

#[derive(Debug, Clone)]
struct Scenario {
    tz: Tz,
    from: NaiveDate,
    to: NaiveDate,
    /// A date in `from..to` to split the range after, if the range has two dates or more.
    split: Option<NaiveDate>,
    rota: Rota,
}

fn minute(m: u32) -> NaiveTime {
    NaiveTime::from_num_seconds_from_midnight_opt(m * 60, 0).unwrap()
}

fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

fn arb_pattern() -> impl Strategy<Value = PatternSpec> {
    prop_oneof![
        6 => Just(PatternSpec::EveryWeek),
        2 => (1u32..=4, -400i64..400)
            .prop_map(|(n, anchor_offset)| PatternSpec::EveryNth { n, anchor_offset }),
        1 => (1u32..=5).prop_map(PatternSpec::Nth),
        1 => Just(PatternSpec::Last),
    ]
}

fn arb_spec() -> impl Strategy<Value = Spec> {
    (
        // Most sessions start in the small hours, where the clocks change.
        prop_oneof![3 => 0u32..40, 1 => 0u32..287],
        1u32..=60,
        prop_oneof![
            Just(5u32),
            Just(10),
            Just(15),
            Just(20),
            Just(30),
            Just(45),
            5u32..=240
        ],
        1u32..=3,
        prop_oneof![2 => Just(Vec::new()), 1 => prop::collection::vec(0u32..1000, 2..=4)],
        // Sunday, the day of every clock change in these zones, is in three templates out of four.
        prop_oneof![1 => 1u8..128, 3 => (0u8..64).prop_map(|bits| bits | 64)],
        arb_pattern(),
        -20i64..20,
        prop::option::of(0i64..60),
        prop::collection::vec(0i64..50, 0..3),
        prop::sample::select(Delivery::ALL.to_vec()),
    )
        .prop_map(
            |(
                start_unit,
                len_units,
                slot,
                capacity,
                break_points,
                weekday_bits,
                pattern,
                from_offset,
                valid_days,
                skips,
                delivery,
            )| Spec {
                start_unit,
                len_units,
                slot,
                capacity,
                break_points,
                weekday_bits,
                pattern,
                from_offset,
                valid_days,
                skips,
                delivery,
            },
        )
}

fn build(spec: &Spec, key: String, base: NaiveDate) -> SessionTemplate {
    // Times on a 5-minute grid; the session ends by 23:55 and lasts at least 5 minutes.
    let end_unit = (spec.start_unit + spec.len_units).min(287);
    let session_minutes = (end_unit - spec.start_unit) * 5;
    let mut points: Vec<u32> = spec
        .break_points
        .iter()
        .map(|p| spec.start_unit + p % (end_unit - spec.start_unit + 1))
        .collect();
    points.sort_unstable();
    points.dedup();
    let breaks = points
        .chunks_exact(2)
        .map(|pair| Break {
            start: minute(pair[0] * 5),
            end: minute(pair[1] * 5),
        })
        .collect();
    let valid_from = base + days(spec.from_offset);
    SessionTemplate {
        key,
        site_id: "hub-north".into(),
        service_id: "gp".into(),
        start: minute(spec.start_unit * 5),
        end: minute(end_unit * 5),
        slot_minutes: spec.slot.min(session_minutes),
        capacity: spec.capacity,
        delivery: spec.delivery,
        breaks,
        weekdays: (0..7)
            .filter(|i| spec.weekday_bits & (1 << i) != 0)
            .map(|i| super::WEEK[i])
            .collect(),
        pattern: match spec.pattern {
            PatternSpec::EveryWeek => WeekPattern::EveryWeek,
            PatternSpec::EveryNth { n, anchor_offset } => WeekPattern::EveryNthWeek {
                n,
                anchor: base + days(anchor_offset),
            },
            PatternSpec::Nth(n) => WeekPattern::NthWeekdayOfMonth { n },
            PatternSpec::Last => WeekPattern::LastWeekdayOfMonth,
        },
        valid_from,
        valid_to: spec.valid_days.map(|n| valid_from + days(n)),
        skip_dates: spec.skips.iter().map(|n| base + days(*n)).collect(),
    }
}

/// The months of the spring and autumn clock changes of each of [`ZONES`].
const CHANGE_MONTHS: [[u32; 2]; 4] = [[3, 10], [3, 10], [3, 11], [10, 4]];

/// The local date in `month` on which `tz` changes its UTC offset (its first such date).
fn change_date(tz: Tz, year: i32, month: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap();
    let offset = |d: NaiveDate| {
        local(tz, d, minute(12 * 60))
            .earliest()
            .map(|t| t.offset().fix())
    };
    first
        .iter_days()
        .take(31)
        .find(|d| offset(*d) != offset(*d - days(1)))
        .unwrap()
}

fn arb_scenario() -> impl Strategy<Value = Scenario> {
    (
        0usize..ZONES.len(),
        2025i32..=2027,
        0usize..2,
        // Ranges hold a clock change: they start up to three weeks before it and end up to three
        // weeks after it.
        0i64..=21,
        0i64..=21,
        prop::collection::vec(arb_spec(), 1..=3),
        any::<Index>(),
    )
        .prop_map(|(zone, year, season, before, after, specs, split)| {
            let tz = ZONES[zone];
            let change = change_date(tz, year, CHANGE_MONTHS[zone][season]);
            let (from, to, len) = (change - days(before), change + days(after), before + after);
            let templates = specs
                .iter()
                .enumerate()
                .map(|(i, spec)| build(spec, format!("t{i}"), from))
                .collect();
            let split = (len > 0).then(|| from + days(split.index(len as usize) as i64));
            Scenario {
                tz,
                from,
                to,
                split,
                rota: Rota {
                    name: "Generated".into(),
                    templates,
                },
            }
        })
}

/// A naive schedule oracle, written independently of [`SessionTemplate::runs_on`].
fn oracle_runs_on(tpl: &SessionTemplate, date: NaiveDate) -> bool {
    if date < tpl.valid_from
        || tpl.valid_to.is_some_and(|to| date > to)
        || !tpl.weekdays.contains(&date.weekday())
        || tpl.skip_dates.contains(&date)
    {
        return false;
    }
    match tpl.pattern {
        WeekPattern::EveryWeek => true,
        WeekPattern::EveryNthWeek { n, anchor } => {
            // Walk from the anchor's Monday in steps of n weeks to the date's Monday.
            let target = date - days(i64::from(date.weekday().num_days_from_monday()));
            let mut monday = anchor - days(i64::from(anchor.weekday().num_days_from_monday()));
            let step = TimeDelta::weeks(i64::from(n));
            while monday > target {
                monday -= step;
            }
            while monday < target {
                monday += step;
            }
            monday == target
        }
        WeekPattern::NthWeekdayOfMonth { n } => {
            let earlier_or_same = (1..=date.day())
                .filter(|day| {
                    date.with_day(*day)
                        .is_some_and(|other| other.weekday() == date.weekday())
                })
                .count();
            earlier_or_same == n as usize
        }
        WeekPattern::LastWeekdayOfMonth => (date.day() + 1..=31)
            .filter_map(|day| date.with_day(day))
            .all(|other| other.weekday() != date.weekday()),
    }
}

fn wall_times(tpl: &SessionTemplate) -> Vec<NaiveTime> {
    let mut times = vec![tpl.start, tpl.end];
    times.extend(tpl.breaks.iter().flat_map(|b| [b.start, b.end]));
    times
}

fn local(tz: Tz, date: NaiveDate, time: NaiveTime) -> LocalResult<DateTime<Tz>> {
    tz.from_local_datetime(&date.and_time(time))
}

fn earliest(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    local(tz, date, time)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

fn latest(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    local(tz, date, time).latest().unwrap().with_timezone(&Utc)
}

fn check_session(tpl: &SessionTemplate, s: &ExpandedSession, tz: Tz) -> Result<(), TestCaseError> {
    let wall = |instant: DateTime<Utc>| instant.with_timezone(&tz).naive_local();
    let date = s.date;
    prop_assert_eq!(&s.template_key, &tpl.key);
    prop_assert_eq!((s.capacity, s.delivery), (tpl.capacity, tpl.delivery));

    // Every wall time exists; the session is ambiguous exactly when one occurs twice.
    let times = wall_times(tpl);
    prop_assert!(times
        .iter()
        .all(|t| !matches!(local(tz, date, *t), LocalResult::None)));
    let any_ambiguous = times
        .iter()
        .any(|t| matches!(local(tz, date, *t), LocalResult::Ambiguous(..)));
    prop_assert_eq!(s.ambiguous, any_ambiguous);

    // Start and end convert back to the template's wall times: earliest start, latest end.
    prop_assert_eq!(wall(s.start), date.and_time(tpl.start));
    prop_assert_eq!(wall(s.end), date.and_time(tpl.end));
    prop_assert_eq!(s.start, earliest(tz, date, tpl.start));
    prop_assert_eq!(s.end, latest(tz, date, tpl.end));
    prop_assert!(s.start < s.end);

    // Break instants, merged where the fold makes them overlap.
    let mut breaks: Vec<(DateTime<Utc>, DateTime<Utc>)> = tpl
        .breaks
        .iter()
        .map(|b| (earliest(tz, date, b.start), latest(tz, date, b.end)))
        .collect();
    breaks.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (b_start, b_end) in breaks {
        match merged.last_mut() {
            Some(last) if b_start <= last.1 => last.1 = last.1.max(b_end),
            _ => merged.push((b_start, b_end)),
        }
    }
    for &(b_start, b_end) in &merged {
        prop_assert!(s.start <= b_start && b_end <= s.end);
    }

    let slot_minutes = i64::from(tpl.slot_minutes);
    let step = TimeDelta::minutes(slot_minutes);
    let session_minutes = (s.end - s.start).num_minutes();
    let misses_breaks = |a: DateTime<Utc>, b: DateTime<Utc>| {
        merged
            .iter()
            .all(|&(b_start, b_end)| b <= b_start || a >= b_end)
    };
    let expected: Vec<i64> = (0..session_minutes / slot_minutes)
        .filter(|k| {
            let a = s.start + step * (*k as i32);
            misses_breaks(a, a + step)
        })
        .collect();
    prop_assert_eq!(s.slots.len(), expected.len() * tpl.capacity as usize);

    // Slots come by index then lane.
    for (i, slot) in s.slots.iter().enumerate() {
        prop_assert_eq!(
            (slot.index as usize, slot.lane as usize),
            (i / tpl.capacity as usize, i % tpl.capacity as usize)
        );
    }

    let same_offset = tz.offset_from_utc_datetime(&s.start.naive_utc()).fix()
        == tz.offset_from_utc_datetime(&s.end.naive_utc()).fix();
    if same_offset {
        prop_assert_eq!(session_minutes, (tpl.end - tpl.start).num_minutes());
    }

    for lane in 0..tpl.capacity {
        let lane_slots: Vec<&ExpandedSlot> =
            s.slots.iter().filter(|slot| slot.lane == lane).collect();
        prop_assert_eq!(lane_slots.len(), expected.len());
        for (slot, k) in lane_slots.iter().zip(&expected) {
            prop_assert_eq!(slot.start, s.start + step * (*k as i32));
            prop_assert_eq!(slot.end - slot.start, step);
            prop_assert!(s.start <= slot.start && slot.end <= s.end);
            prop_assert!(misses_breaks(slot.start, slot.end));
            prop_assert_eq!(wall(slot.start).date(), date);
            if same_offset {
                prop_assert_eq!(
                    wall(slot.start),
                    date.and_time(tpl.start) + step * (*k as i32)
                );
            }
        }
        for pair in lane_slots.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start);
        }

        // Minute accounting.
        let count = lane_slots.len() as i64;
        if merged.is_empty() {
            prop_assert_eq!(
                count * slot_minutes,
                session_minutes - session_minutes % slot_minutes
            );
        } else {
            let mut free = Vec::new();
            let mut cursor = s.start;
            for &(b_start, b_end) in &merged {
                free.push((cursor, b_start));
                cursor = b_end;
            }
            free.push((cursor, s.end));
            let mut counted = 0;
            for (i, &(a, b)) in free.iter().enumerate() {
                let fits = (b - a).num_minutes() / slot_minutes;
                let inside = lane_slots
                    .iter()
                    .filter(|slot| a <= slot.start && slot.end <= b)
                    .count() as i64;
                if i == 0 {
                    prop_assert_eq!(inside, fits);
                } else {
                    prop_assert!(
                        inside == fits || inside == fits - 1,
                        "interval {i}: {inside} of {fits}"
                    );
                }
                counted += inside;
            }
            prop_assert_eq!(counted, count);
            let break_minutes: i64 = merged.iter().map(|(a, b)| (*b - *a).num_minutes()).sum();
            prop_assert!(count * slot_minutes + break_minutes <= session_minutes);
        }
    }
    Ok(())
}

fn check_expansion(sc: &Scenario, exp: &Expansion) -> Result<(), TestCaseError> {
    let mut expected = Vec::new();
    for tpl in &sc.rota.templates {
        for date in sc.from.iter_days().take_while(|d| *d <= sc.to) {
            if oracle_runs_on(tpl, date) {
                expected.push((tpl.key.clone(), date));
            }
        }
    }
    let mut got: Vec<(String, NaiveDate)> = exp
        .sessions
        .iter()
        .map(|s| (s.template_key.clone(), s.date))
        .collect();
    expected.sort();
    got.sort();
    prop_assert_eq!(got, expected);

    for pair in exp.sessions.windows(2) {
        prop_assert!(
            (pair[0].start, &pair[0].template_key) < (pair[1].start, &pair[1].template_key)
        );
    }
    let mut warnings = 0;
    for s in &exp.sessions {
        let Some(tpl) = sc.rota.templates.iter().find(|t| t.key == s.template_key) else {
            return Err(TestCaseError::fail("session of an unknown template"));
        };
        check_session(tpl, s, sc.tz)?;
        let about = |w: &&ExpansionWarning| w.template() == s.template_key && w.date() == s.date;
        let has = |code| exp.warnings.iter().filter(about).any(|w| w.code() == code);
        prop_assert_eq!(has("ambiguous-local-time"), s.ambiguous);
        prop_assert_eq!(has("session-without-slots"), s.slots.is_empty());
        warnings += usize::from(s.ambiguous) + usize::from(s.slots.is_empty());
    }
    prop_assert_eq!(exp.warnings.len(), warnings);
    Ok(())
}

fn check_whole(sc: &Scenario) -> Result<(), TestCaseError> {
    prop_assert_eq!(sc.rota.validate(), Ok(()));
    match expand(&sc.rota, sc.from, sc.to, sc.tz) {
        Ok(exp) => check_expansion(sc, &exp)?,
        Err(RotaError::NonexistentTime {
            template,
            date,
            time,
            zone,
        }) => {
            let Some(tpl) = sc.rota.templates.iter().find(|t| t.key == template) else {
                return Err(TestCaseError::fail(format!("no template {template}")));
            };
            prop_assert!(sc.from <= date && date <= sc.to && oracle_runs_on(tpl, date));
            prop_assert!(wall_times(tpl).contains(&time));
            let exists = !matches!(local(sc.tz, date, time), LocalResult::None);
            prop_assert!(!exists, "{} {} exists in {}", date, time, zone);
            prop_assert_eq!(zone, sc.tz.name());
        }
        Err(other) => prop_assert!(false, "unexpected error {}", other),
    }
    Ok(())
}

fn check_split(sc: &Scenario) -> Result<(), TestCaseError> {
    let Some(b) = sc.split else { return Ok(()) };
    let whole = expand(&sc.rota, sc.from, sc.to, sc.tz);
    let left = expand(&sc.rota, sc.from, b, sc.tz);
    let right = expand(&sc.rota, b + days(1), sc.to, sc.tz);
    match (whole, left, right) {
        (Ok(whole), Ok(left), Ok(right)) => {
            let sessions: Vec<_> = left.sessions.into_iter().chain(right.sessions).collect();
            let warnings: Vec<_> = left.warnings.into_iter().chain(right.warnings).collect();
            prop_assert_eq!(sessions, whole.sessions);
            prop_assert_eq!(warnings, whole.warnings);
        }
        (Err(_), left, right) => prop_assert!(left.is_err() || right.is_err()),
        (Ok(_), left, right) => {
            prop_assert!(false, "whole ok, halves {:?} {:?}", left.err(), right.err())
        }
    }
    Ok(())
}

fn check_deterministic(sc: &Scenario) -> Result<(), TestCaseError> {
    let first = expand(&sc.rota, sc.from, sc.to, sc.tz);
    prop_assert_eq!(&first, &expand(&sc.rota, sc.from, sc.to, sc.tz));
    let mut reversed = sc.rota.clone();
    reversed.templates.reverse();
    let other = expand(&reversed, sc.from, sc.to, sc.tz);
    prop_assert_eq!(first.is_ok(), other.is_ok());
    if let (Ok(first), Ok(other)) = (first, other) {
        prop_assert_eq!(first, other);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn expansion_keeps_the_time_rules(sc in arb_scenario()) {
        check_whole(&sc)?;
    }

    #[test]
    fn expanding_two_adjacent_ranges_equals_expanding_their_union(sc in arb_scenario()) {
        check_split(&sc)?;
    }

    #[test]
    fn expansion_is_deterministic_and_ignores_template_order(sc in arb_scenario()) {
        check_deterministic(&sc)?;
    }
}
