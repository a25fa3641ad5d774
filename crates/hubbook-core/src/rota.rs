//! Rotas and their expansion: a cluster manager's recurring session templates, written in local
//! wall time, turned into dated sessions and bookable slots on the UTC timeline.
//!
//! Everything here is pure and deterministic: the same rota, range and zone always give the same
//! [`Expansion`], with no I/O and no clock.
//!
//! # Time rules (DESIGN invariant 7)
//!
//! * A template's times are local wall times in the cluster's zone. On each date they are turned
//!   into UTC instants, and slots are laid out along the UTC timeline: the session's true length
//!   is `end instant - start instant`. In Europe/London a 00:30-02:30 session lasts one hour on
//!   the spring-forward Sunday and three hours on the autumn Sunday.
//! * Slots tile the session from its start instant in `slot_minutes` steps; a tail shorter than a
//!   slot is dropped, and so is every slot that overlaps a break (breaks are converted to instants
//!   by the same rules as the session).
//! * A wall time that does not exist on a date (it falls in a spring-forward gap) is an error,
//!   [`RotaError::NonexistentTime`], naming the template and the date; nothing is shifted.
//! * A wall time that exists twice (it falls in an autumn fold) resolves to the **earlier**
//!   instant for the session start and break starts, and to the **later** instant for the
//!   session end and break ends, so that the session and its breaks cover the whole wall-clock
//!   interval. Such a session is marked [`ExpandedSession::ambiguous`] and an
//!   [`ExpansionWarning::AmbiguousTime`] names its template and date.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, TimeDelta, TimeZone, Timelike,
    Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub mod sample;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

/// The allowed length of one slot, in minutes.
pub const SLOT_MINUTES: RangeInclusive<u32> = 5..=240;
/// The allowed number of patients seen in parallel in one slot interval.
pub const CAPACITY: RangeInclusive<u32> = 1..=20;
/// The allowed `n` of [`WeekPattern::EveryNthWeek`].
pub const EVERY_NTH_WEEK: RangeInclusive<u32> = 1..=52;
/// The allowed `n` of [`WeekPattern::NthWeekdayOfMonth`].
pub const NTH_WEEKDAY_OF_MONTH: RangeInclusive<u32> = 1..=5;
/// The longest template key, in characters.
pub const MAX_KEY_CHARS: usize = 64;
/// The longest site or service identifier a template may refer to, in characters.
pub const MAX_REFERENCE_CHARS: usize = 100;
/// The longest rota name, in characters.
pub const MAX_ROTA_NAME_CHARS: usize = 100;

/// The regular expression (ECMA-262, for an OpenAPI `pattern`) of exactly the wall times a
/// template reads and [`SessionTemplate::validate`] keeps: `HH:MM` from `00:00` to `23:59`, with
/// seconds only when they are zero (`HH:MM:00`, with any zero fraction); as the reader allows,
/// an hour, minute or second may have one digit and white space may surround each part.
pub const TIME_OF_DAY_PATTERN: &str = concat!(
    r"^",
    crate::space_class!(),
    r"*(?:[01]?[0-9]|2[0-3])",
    crate::space_class!(),
    r"*:",
    crate::space_class!(),
    r"*[0-5]?[0-9]",
    r"(?:",
    crate::space_class!(),
    r"*:",
    crate::space_class!(),
    r"*0?0(?:\.(?:0{1,9}|0{9}[0-9]+))?)?",
    crate::space_class!(),
    r"*$"
);

/// The regular expression (ECMA-262) of exactly the weekday names a template reads: the short
/// (`mon`) or full (`monday`) English name in any case.
pub const WEEKDAY_PATTERN: &str = concat!(
    "^(?:[Mm][Oo][Nn](?:[Dd][Aa][Yy])?",
    "|[Tt][Uu][Ee](?:[Ss][Dd][Aa][Yy])?",
    "|[Ww][Ee][Dd](?:[Nn][Ee][Ss][Dd][Aa][Yy])?",
    "|[Tt][Hh][Uu](?:[Rr][Ss][Dd][Aa][Yy])?",
    "|[Ff][Rr][Ii](?:[Dd][Aa][Yy])?",
    "|[Ss][Aa][Tt](?:[Uu][Rr][Dd][Aa][Yy])?",
    "|[Ss][Uu][Nn](?:[Dd][Aa][Yy])?)$"
);

/// Why a rota was refused or could not be expanded.
///
/// Each variant has a stable [`code`](RotaError::code); every variant about one template names
/// its key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RotaError {
    /// A rota name that is empty, too long or holds control characters.
    #[error("a rota name must be 1 to {max} printable characters")]
    InvalidRotaName {
        /// The longest name allowed.
        max: usize,
    },
    /// A template key that is empty, too long, padded with spaces or holds control characters.
    #[error(
        "template key '{key}' must be 1 to {max} printable characters without surrounding spaces"
    )]
    InvalidTemplateKey {
        /// The key that was refused.
        key: String,
        /// The longest key allowed.
        max: usize,
    },
    /// Two templates of one rota share a key.
    #[error("template key '{template}' is used more than once in the rota")]
    DuplicateTemplateKey {
        /// The repeated key.
        template: String,
    },
    /// A site or service identifier that is empty, too long or holds control characters.
    #[error("template '{template}': {field} must be 1 to {max} printable characters")]
    InvalidReference {
        /// The template's key.
        template: String,
        /// The field refused, `site_id` or `service_id`.
        field: &'static str,
        /// The longest identifier allowed.
        max: usize,
    },
    /// A session whose end is not after its start on the same day.
    #[error("template '{template}': the session must end after it starts, on the same day (got {start}-{end})")]
    InvalidSessionTimes {
        /// The template's key.
        template: String,
        /// The session's start wall time.
        start: NaiveTime,
        /// The session's end wall time.
        end: NaiveTime,
    },
    /// A session or break time with seconds or fractions of a second.
    #[error("template '{template}': {time} is not a whole minute")]
    TimeNotWholeMinute {
        /// The template's key.
        template: String,
        /// The time refused.
        time: NaiveTime,
    },
    /// A slot length outside 5 to 240 minutes or longer than the session.
    #[error("template '{template}': a slot lasts 5 to 240 minutes and no longer than the session, got {minutes}")]
    InvalidSlotLength {
        /// The template's key.
        template: String,
        /// The slot length refused, in minutes.
        minutes: u32,
    },
    /// A parallel capacity outside 1 to 20 patients.
    #[error("template '{template}': capacity is 1 to 20 patients in parallel, got {capacity}")]
    InvalidCapacity {
        /// The template's key.
        template: String,
        /// The capacity refused.
        capacity: u32,
    },
    /// A break that is empty, outside its session or overlapping another break.
    #[error("template '{template}': break {start}-{end} {reason}")]
    InvalidBreak {
        /// The template's key.
        template: String,
        /// The break's start wall time.
        start: NaiveTime,
        /// The break's end wall time.
        end: NaiveTime,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A template with an empty list of weekdays.
    #[error("template '{template}' runs on no weekday")]
    NoWeekdays {
        /// The template's key.
        template: String,
    },
    /// A week pattern whose `n` is out of range.
    #[error("template '{template}': {reason}")]
    InvalidWeekPattern {
        /// The template's key.
        template: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A template whose validity ends before it starts.
    #[error("template '{template}': valid_to {to} is before valid_from {from}")]
    InvalidValidity {
        /// The template's key.
        template: String,
        /// The first valid date.
        from: NaiveDate,
        /// The last valid date.
        to: NaiveDate,
    },
    /// An expansion range whose end comes before its start.
    #[error("the expansion range ends on {to}, before it starts on {from}")]
    InvalidDateRange {
        /// The first date asked for.
        from: NaiveDate,
        /// The last date asked for.
        to: NaiveDate,
    },
    /// A wall time that does not exist on a date because the clocks go forward over it.
    #[error("template '{template}': {time} does not exist on {date} in {zone} (the clocks go forward over it)")]
    NonexistentTime {
        /// The template's key.
        template: String,
        /// The local date of the session.
        date: NaiveDate,
        /// The wall time that does not exist.
        time: NaiveTime,
        /// The IANA zone name.
        zone: &'static str,
    },
    /// A delivery mode other than face_to_face, telephone or video.
    #[error("'{0}' is not a delivery mode (face_to_face, telephone or video)")]
    UnknownDelivery(String),
}

impl RotaError {
    /// A stable, lower-case, hyphenated code naming the kind of error, for machines to match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRotaName { .. } => "invalid-rota-name",
            Self::InvalidTemplateKey { .. } => "invalid-template-key",
            Self::DuplicateTemplateKey { .. } => "duplicate-template-key",
            Self::InvalidReference { .. } => "invalid-template-reference",
            Self::InvalidSessionTimes { .. } => "invalid-session-times",
            Self::TimeNotWholeMinute { .. } => "time-not-whole-minute",
            Self::InvalidSlotLength { .. } => "invalid-slot-length",
            Self::InvalidCapacity { .. } => "invalid-capacity",
            Self::InvalidBreak { .. } => "invalid-break",
            Self::NoWeekdays { .. } => "no-weekdays",
            Self::InvalidWeekPattern { .. } => "invalid-week-pattern",
            Self::InvalidValidity { .. } => "invalid-validity-range",
            Self::InvalidDateRange { .. } => "invalid-date-range",
            Self::NonexistentTime { .. } => "nonexistent-local-time",
            Self::UnknownDelivery(_) => "unknown-delivery",
        }
    }

    /// The key of the template the error is about, if it is about one.
    pub fn template(&self) -> Option<&str> {
        match self {
            Self::InvalidTemplateKey { key, .. } => Some(key),
            Self::DuplicateTemplateKey { template }
            | Self::InvalidReference { template, .. }
            | Self::InvalidSessionTimes { template, .. }
            | Self::TimeNotWholeMinute { template, .. }
            | Self::InvalidSlotLength { template, .. }
            | Self::InvalidCapacity { template, .. }
            | Self::InvalidBreak { template, .. }
            | Self::NoWeekdays { template }
            | Self::InvalidWeekPattern { template, .. }
            | Self::InvalidValidity { template, .. }
            | Self::NonexistentTime { template, .. } => Some(template),
            Self::InvalidRotaName { .. }
            | Self::InvalidDateRange { .. }
            | Self::UnknownDelivery(_) => None,
        }
    }
}

/// How a session's patients are seen: in person, by telephone or by video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// In person at the site.
    FaceToFace,
    /// By telephone.
    Telephone,
    /// By video call.
    Video,
}

impl Delivery {
    /// Every delivery mode, in a stable order.
    pub const ALL: [Delivery; 3] = [Self::FaceToFace, Self::Telephone, Self::Video];

    /// The mode's stored and displayed name: `face_to_face`, `telephone` or `video`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FaceToFace => "face_to_face",
            Self::Telephone => "telephone",
            Self::Video => "video",
        }
    }
}

impl FromStr for Delivery {
    type Err = RotaError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| RotaError::UnknownDelivery(s.to_owned()))
    }
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::stored_as_text!(Delivery);

crate::text_enum! {
    /// Whether a session runs: active, cancelled by its manager, or withdrawn by a later rota.
    pub enum SessionStatus(
        crate::ValidationError,
        |value| crate::ValidationError::UnknownName {
            what: "session status",
            value,
            known: "active, cancelled, withdrawn",
        }
    ) {
        /// Runs as published; its slots may be booked.
        Active = "active",
        /// Cancelled by a manager; its appointments need rebooking.
        Cancelled = "cancelled",
        /// Withdrawn because a newer rota no longer has it.
        Withdrawn = "withdrawn",
    }
}

/// Which weeks a template runs in, combined with its weekdays.
///
/// In JSON it is tagged by `kind`: `{"kind":"every_week"}`,
/// `{"kind":"every_nth_week","n":2,"anchor":"2026-01-05"}`, `{"kind":"nth_weekday_of_month","n":1}`
/// or `{"kind":"last_weekday_of_month"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WeekPattern {
    /// Every week.
    #[default]
    EveryWeek,
    /// Every `n`-th ISO week (Monday to Sunday), counted from the week holding `anchor`: a date is
    /// in when the number of weeks between its Monday and the anchor's Monday is a multiple of
    /// `n`, before the anchor as well as after it.
    EveryNthWeek {
        /// How many weeks apart the sessions run (1 to 52; 1 is every week).
        n: u32,
        /// Any date in the first week the template runs in.
        anchor: NaiveDate,
    },
    /// The `n`-th occurrence of the weekday in its month (1 to 5), such as the first Saturday.
    NthWeekdayOfMonth {
        /// Which occurrence: 1 is days 1-7 of the month, 5 is days 29-31.
        n: u32,
    },
    /// The last occurrence of the weekday in its month, such as the last Friday.
    LastWeekdayOfMonth,
}

impl WeekPattern {
    /// Whether `date` lies in a week (or month position) this pattern selects; weekdays are
    /// checked separately by the template.
    pub fn includes(&self, date: NaiveDate) -> bool {
        match *self {
            Self::EveryWeek => true,
            Self::EveryNthWeek { n, anchor } => {
                if n == 0 {
                    return false;
                }
                let weeks = (monday_number(date) - monday_number(anchor)) / 7;
                weeks.rem_euclid(i64::from(n)) == 0
            }
            Self::NthWeekdayOfMonth { n } => date.day0() / 7 + 1 == n,
            Self::LastWeekdayOfMonth => date
                .checked_add_days(Days::new(7))
                .is_none_or(|next| next.month() != date.month()),
        }
    }
}

/// The day number (from the common era) of the Monday of `date`'s ISO week.
fn monday_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - i64::from(date.weekday().num_days_from_monday())
}

/// A pause inside a session (lunch, admin time), in local wall time; no slot overlaps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Break {
    /// When the break starts (wall time).
    pub start: NaiveTime,
    /// When the break ends (wall time), after its start.
    pub end: NaiveTime,
}

/// One recurring session of a rota: where, what, when in local wall time, and on which dates.
///
/// Times serialize as `HH:MM:SS` and are read from `HH:MM` or `HH:MM:SS`; weekdays serialize as
/// `"mon"`, `"tue"`, ... `"sun"` and are read case-insensitively from short or full English names.
/// `breaks`, `pattern` (every week), `valid_to` (open-ended) and `skip_dates` may be left out.
/// Deserializing does not validate: call [`validate`](SessionTemplate::validate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionTemplate {
    /// A stable name of the template within its rota, used in messages and to match sessions on
    /// republish.
    pub key: String,
    /// The site the session runs at.
    pub site_id: String,
    /// The service the session offers.
    pub service_id: String,
    /// The local wall time the session starts at.
    pub start: NaiveTime,
    /// The local wall time the session ends at: after the start, on the same day.
    pub end: NaiveTime,
    /// The length of one slot, 5 to 240 minutes.
    pub slot_minutes: u32,
    /// Patients seen in parallel in each slot interval, 1 to 20 (one slot per lane).
    pub capacity: u32,
    /// How patients are seen.
    pub delivery: Delivery,
    /// Pauses inside the session, not overlapping each other.
    #[serde(default)]
    pub breaks: Vec<Break>,
    /// The weekdays the session runs on; not empty.
    #[serde(serialize_with = "serialize_weekdays")]
    pub weekdays: Vec<Weekday>,
    /// Which weeks the session runs in.
    #[serde(default)]
    pub pattern: WeekPattern,
    /// The first date the template applies to.
    pub valid_from: NaiveDate,
    /// The last date the template applies to, if it ends.
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
    /// Dates the session does not run on, such as bank holidays.
    #[serde(default)]
    pub skip_dates: Vec<NaiveDate>,
}

/// The days of a week, Monday first (ISO order): a template's weekdays, a rota grid's columns.
pub const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// The lower-case three-letter name of a weekday, as templates serialize it: `mon` to `sun`.
pub fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

fn serialize_weekdays<S: serde::Serializer>(
    days: &[Weekday],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(days.iter().map(|d| weekday_name(*d)))
}

fn check_text(value: &str, max: usize) -> bool {
    !value.is_empty()
        && value.trim() == value
        && value.chars().count() <= max
        && !value.chars().any(char::is_control)
}

fn is_whole_minute(time: NaiveTime) -> bool {
    time.second() == 0 && time.nanosecond() == 0
}

impl SessionTemplate {
    /// Checks every rule of a template, returning the first broken one (naming the key).
    pub fn validate(&self) -> Result<(), RotaError> {
        let template = || self.key.clone();
        if !check_text(&self.key, MAX_KEY_CHARS) {
            return Err(RotaError::InvalidTemplateKey {
                key: self.key.clone(),
                max: MAX_KEY_CHARS,
            });
        }
        for (field, value) in [("site_id", &self.site_id), ("service_id", &self.service_id)] {
            if !check_text(value, MAX_REFERENCE_CHARS) {
                return Err(RotaError::InvalidReference {
                    template: template(),
                    field,
                    max: MAX_REFERENCE_CHARS,
                });
            }
        }
        let times = [self.start, self.end].into_iter();
        let break_times = self.breaks.iter().flat_map(|b| [b.start, b.end]);
        if let Some(time) = times.chain(break_times).find(|t| !is_whole_minute(*t)) {
            return Err(RotaError::TimeNotWholeMinute {
                template: template(),
                time,
            });
        }
        if self.end <= self.start {
            return Err(RotaError::InvalidSessionTimes {
                template: template(),
                start: self.start,
                end: self.end,
            });
        }
        let session_minutes = (self.end - self.start).num_minutes();
        if !SLOT_MINUTES.contains(&self.slot_minutes)
            || i64::from(self.slot_minutes) > session_minutes
        {
            return Err(RotaError::InvalidSlotLength {
                template: template(),
                minutes: self.slot_minutes,
            });
        }
        if !CAPACITY.contains(&self.capacity) {
            return Err(RotaError::InvalidCapacity {
                template: template(),
                capacity: self.capacity,
            });
        }
        self.validate_breaks()?;
        if self.weekdays.is_empty() {
            return Err(RotaError::NoWeekdays {
                template: template(),
            });
        }
        match self.pattern {
            WeekPattern::EveryNthWeek { n, .. } if !EVERY_NTH_WEEK.contains(&n) => {
                return Err(RotaError::InvalidWeekPattern {
                    template: template(),
                    reason: "every_nth_week needs n from 1 to 52",
                });
            }
            WeekPattern::NthWeekdayOfMonth { n } if !NTH_WEEKDAY_OF_MONTH.contains(&n) => {
                return Err(RotaError::InvalidWeekPattern {
                    template: template(),
                    reason: "nth_weekday_of_month needs n from 1 to 5",
                });
            }
            _ => {}
        }
        if let Some(to) = self.valid_to {
            if to < self.valid_from {
                return Err(RotaError::InvalidValidity {
                    template: template(),
                    from: self.valid_from,
                    to,
                });
            }
        }
        Ok(())
    }

    fn validate_breaks(&self) -> Result<(), RotaError> {
        let refuse = |b: &Break, reason| RotaError::InvalidBreak {
            template: self.key.clone(),
            start: b.start,
            end: b.end,
            reason,
        };
        for b in &self.breaks {
            if b.end <= b.start {
                return Err(refuse(b, "must end after it starts"));
            }
            if b.start < self.start || b.end > self.end {
                return Err(refuse(b, "must lie inside the session"));
            }
        }
        let mut sorted: Vec<&Break> = self.breaks.iter().collect();
        sorted.sort_by_key(|b| (b.start, b.end));
        if let Some(pair) = sorted.windows(2).find(|pair| pair[1].start < pair[0].end) {
            return Err(refuse(pair[1], "overlaps another break"));
        }
        Ok(())
    }

    /// Whether the template schedules a session on `date`: inside its validity, on one of its
    /// weekdays, in a week its pattern selects, and not a skip date.
    pub fn runs_on(&self, date: NaiveDate) -> bool {
        date >= self.valid_from
            && self.valid_to.is_none_or(|to| date <= to)
            && self.weekdays.contains(&date.weekday())
            && self.pattern.includes(date)
            && !self.skip_dates.contains(&date)
    }
}

/// A cluster manager's recurring plan: a named set of session templates.
///
/// Deserializing does not validate: call [`validate`](Rota::validate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rota {
    /// The rota's human-readable name.
    pub name: String,
    /// The sessions it runs, each with a key unique within the rota.
    pub templates: Vec<SessionTemplate>,
}

/// Something in a rota that the rules allow but a manager probably did not mean, shown to them as
/// they draw it (it never blocks a save or a publication).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotaAdvice {
    /// Two templates offer the same service at the same site at overlapping times on a common
    /// weekday while both are valid: patients seen in parallel are usually one template's
    /// capacity.
    Overlap {
        /// The first template's key.
        first: String,
        /// The second template's key.
        second: String,
        /// The first weekday they share.
        day: Weekday,
    },
    /// The session is not a whole number of slots long: its last minutes make no slot.
    ShortTail {
        /// The template's key.
        template: String,
        /// The minutes left over at the end.
        minutes: u32,
    },
}

impl fmt::Display for RotaAdvice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Overlap { first, second, day } => write!(
                f,
                "sessions '{first}' and '{second}' offer the same service at the same site at overlapping times on {day}s; for patients seen in parallel, give one session more capacity"
            ),
            Self::ShortTail { template, minutes } => write!(
                f,
                "session '{template}': its last {minutes} minutes are shorter than a slot and make none"
            ),
        }
    }
}

impl Rota {
    /// What in the rota is allowed but probably not meant ([`RotaAdvice`]), templates in order.
    pub fn advice(&self) -> Vec<RotaAdvice> {
        let mut out = Vec::new();
        for t in &self.templates {
            let length = (t.end - t.start).num_minutes();
            let slot = i64::from(t.slot_minutes);
            if slot > 0 && length > 0 && length % slot != 0 {
                out.push(RotaAdvice::ShortTail {
                    template: t.key.clone(),
                    minutes: u32::try_from(length % slot).unwrap_or(0),
                });
            }
        }
        for (i, a) in self.templates.iter().enumerate() {
            for b in &self.templates[i + 1..] {
                let same_place = a.site_id == b.site_id && a.service_id == b.service_id;
                let times_overlap = a.start < b.end && b.start < a.end;
                let valid_together = a.valid_to.is_none_or(|to| b.valid_from <= to)
                    && b.valid_to.is_none_or(|to| a.valid_from <= to);
                let day = a.weekdays.iter().find(|d| b.weekdays.contains(d));
                if let (true, true, true, Some(day)) =
                    (same_place, times_overlap, valid_together, day)
                {
                    out.push(RotaAdvice::Overlap {
                        first: a.key.clone(),
                        second: b.key.clone(),
                        day: *day,
                    });
                }
            }
        }
        out
    }

    /// Each template's slot length in minutes, by key: what a publish stores on its sessions.
    pub fn slot_minutes(&self) -> std::collections::HashMap<String, u32> {
        self.templates
            .iter()
            .map(|t| (t.key.clone(), t.slot_minutes))
            .collect()
    }

    /// Checks the name, that template keys are unique, and every template.
    pub fn validate(&self) -> Result<(), RotaError> {
        let name = self.name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_ROTA_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(RotaError::InvalidRotaName {
                max: MAX_ROTA_NAME_CHARS,
            });
        }
        let mut keys = BTreeSet::new();
        for template in &self.templates {
            template.validate()?;
            if !keys.insert(template.key.as_str()) {
                return Err(RotaError::DuplicateTemplateKey {
                    template: template.key.clone(),
                });
            }
        }
        Ok(())
    }
}

/// One bookable interval of a session for one patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExpandedSlot {
    /// When the slot starts.
    pub start: DateTime<Utc>,
    /// When the slot ends: `slot_minutes` after its start.
    pub end: DateTime<Utc>,
    /// The position of the slot's interval among the session's bookable intervals, from 0; every
    /// lane of one interval has the same index.
    pub index: u32,
    /// Which of the parallel places of the interval this slot is, from 0 to `capacity - 1`.
    pub lane: u32,
}

/// One sitting of a template on one local date, with its slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpandedSession {
    /// The key of the template it comes from.
    pub template_key: String,
    /// The site it runs at.
    pub site_id: String,
    /// The service it offers.
    pub service_id: String,
    /// The local date it runs on.
    pub date: NaiveDate,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
    /// How patients are seen.
    pub delivery: Delivery,
    /// Patients seen in parallel in each slot interval.
    pub capacity: u32,
    /// Its slots, by index then lane.
    pub slots: Vec<ExpandedSlot>,
    /// Whether a wall time of the session fell in an autumn fold and was resolved by the rule in
    /// the [module documentation](self).
    pub ambiguous: bool,
}

/// Something worth telling the cluster manager about an expansion that still succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExpansionWarning {
    /// Wall times of a session that exist twice on its date (autumn fold); starts took the earlier
    /// instant and ends the later one.
    AmbiguousTime {
        /// The template's key.
        template: String,
        /// The local date of the session.
        date: NaiveDate,
        /// The ambiguous wall times, in order.
        times: Vec<NaiveTime>,
    },
    /// A session that has no bookable slot on its date (its breaks, or a short daylight-saving
    /// day, leave no room for one).
    NoSlots {
        /// The template's key.
        template: String,
        /// The local date of the session.
        date: NaiveDate,
    },
}

impl ExpansionWarning {
    /// A stable, lower-case, hyphenated code naming the kind of warning.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AmbiguousTime { .. } => "ambiguous-local-time",
            Self::NoSlots { .. } => "session-without-slots",
        }
    }

    /// The key of the template the warning is about.
    pub fn template(&self) -> &str {
        match self {
            Self::AmbiguousTime { template, .. } | Self::NoSlots { template, .. } => template,
        }
    }

    /// The local date of the session the warning is about.
    pub fn date(&self) -> NaiveDate {
        match self {
            Self::AmbiguousTime { date, .. } | Self::NoSlots { date, .. } => *date,
        }
    }
}

impl fmt::Display for ExpansionWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AmbiguousTime {
                template,
                date,
                times,
            } => {
                write!(f, "template '{template}' on {date}: ")?;
                for (i, time) in times.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", time.format("%H:%M"))?;
                }
                f.write_str(" occur twice (clocks go back); starts take the first, ends the second")
            }
            Self::NoSlots { template, date } => {
                write!(
                    f,
                    "template '{template}' on {date}: the session has no bookable slot"
                )
            }
        }
    }
}

/// The result of expanding a rota over a date range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expansion {
    /// Every session, sorted by start instant, then template key.
    pub sessions: Vec<ExpandedSession>,
    /// Warnings, sorted by date, then template key.
    pub warnings: Vec<ExpansionWarning>,
}

impl Expansion {
    /// The number of slots of all sessions.
    pub fn slot_count(&self) -> usize {
        self.sessions.iter().map(|s| s.slots.len()).sum()
    }

    fn sort(&mut self) {
        self.sessions.sort_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then_with(|| a.template_key.cmp(&b.template_key))
        });
        self.warnings.sort_by(|a, b| {
            (a.date(), a.template(), a.code()).cmp(&(b.date(), b.template(), b.code()))
        });
    }
}

/// Expands a rota into the sessions and slots of every local date from `from` to `to` (inclusive)
/// in zone `tz`, by the time rules of the [module documentation](self).
///
/// The rota is validated first. A wall time that does not exist on a scheduled date fails the
/// whole expansion with [`RotaError::NonexistentTime`] (the first found, taking templates in rota
/// order and each one's dates in order).
pub fn expand(rota: &Rota, from: NaiveDate, to: NaiveDate, tz: Tz) -> Result<Expansion, RotaError> {
    check_range(from, to)?;
    rota.validate()?;
    let mut expansion = Expansion::default();
    let mut scratch = Vec::new();
    for template in &rota.templates {
        expand_into(template, from, to, tz, &mut expansion, &mut scratch)?;
    }
    expansion.sort();
    Ok(expansion)
}

/// Expands one template, like [`expand`] does for a whole rota.
pub fn expand_template(
    template: &SessionTemplate,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
) -> Result<Expansion, RotaError> {
    check_range(from, to)?;
    template.validate()?;
    let mut expansion = Expansion::default();
    expand_into(template, from, to, tz, &mut expansion, &mut Vec::new())?;
    expansion.sort();
    Ok(expansion)
}

fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), RotaError> {
    if to < from {
        return Err(RotaError::InvalidDateRange { from, to });
    }
    Ok(())
}

/// Which instant a wall time in an autumn fold resolves to.
#[derive(Clone, Copy)]
enum Fold {
    Earlier,
    Later,
}

/// Expands a validated template into `out`; `breaks` is scratch space reused between sessions.
fn expand_into(
    template: &SessionTemplate,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
    out: &mut Expansion,
    breaks: &mut Vec<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<(), RotaError> {
    let first = from.max(template.valid_from);
    let last = template.valid_to.map_or(to, |valid_to| valid_to.min(to));
    for date in first.iter_days().take_while(|d| *d <= last) {
        if template.runs_on(date) {
            expand_session(template, date, tz, out, breaks)?;
        }
    }
    Ok(())
}

fn expand_session(
    template: &SessionTemplate,
    date: NaiveDate,
    tz: Tz,
    out: &mut Expansion,
    breaks: &mut Vec<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<(), RotaError> {
    let mut folds = Vec::new();
    let mut instant = |time, fold| resolve(template, date, time, tz, fold, &mut folds);
    let start = instant(template.start, Fold::Earlier)?;
    let end = instant(template.end, Fold::Later)?;
    breaks.clear();
    for b in &template.breaks {
        breaks.push((
            instant(b.start, Fold::Earlier)?,
            instant(b.end, Fold::Later)?,
        ));
    }

    let step = TimeDelta::minutes(i64::from(template.slot_minutes));
    let intervals = (end - start).num_minutes() / i64::from(template.slot_minutes);
    let room = usize::try_from(intervals).unwrap_or(0) * template.capacity as usize;
    let mut slots = Vec::with_capacity(room);
    let mut cursor = start;
    let mut index = 0;
    while let Some(slot_end) = cursor
        .checked_add_signed(step)
        .filter(|slot_end| *slot_end <= end)
    {
        if !breaks
            .iter()
            .any(|&(b_start, b_end)| cursor < b_end && b_start < slot_end)
        {
            slots.extend((0..template.capacity).map(|lane| ExpandedSlot {
                start: cursor,
                end: slot_end,
                index,
                lane,
            }));
            index += 1;
        }
        cursor = slot_end;
    }

    let ambiguous = !folds.is_empty();
    if ambiguous {
        folds.sort_unstable();
        folds.dedup();
        out.warnings.push(ExpansionWarning::AmbiguousTime {
            template: template.key.clone(),
            date,
            times: folds,
        });
    }
    if slots.is_empty() {
        out.warnings.push(ExpansionWarning::NoSlots {
            template: template.key.clone(),
            date,
        });
    }
    out.sessions.push(ExpandedSession {
        template_key: template.key.clone(),
        site_id: template.site_id.clone(),
        service_id: template.service_id.clone(),
        date,
        start,
        end,
        delivery: template.delivery,
        capacity: template.capacity,
        slots,
        ambiguous,
    });
    Ok(())
}

/// Turns a wall time on a date into an instant: an error if it does not exist, the earlier or
/// later instant (by `fold`) if it exists twice, in which case the time is added to `folds`.
fn resolve(
    template: &SessionTemplate,
    date: NaiveDate,
    time: NaiveTime,
    tz: Tz,
    fold: Fold,
    folds: &mut Vec<NaiveTime>,
) -> Result<DateTime<Utc>, RotaError> {
    match tz.from_local_datetime(&date.and_time(time)) {
        LocalResult::Single(instant) => Ok(instant.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => {
            folds.push(time);
            let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            Ok(match fold {
                Fold::Earlier => a.min(b),
                Fold::Later => a.max(b),
            })
        }
        LocalResult::None => Err(RotaError::NonexistentTime {
            template: template.key.clone(),
            date,
            time,
            zone: tz.name(),
        }),
    }
}
