//! Times as the pages show them: in the signed-in member of staff's cluster zone, worded as the
//! NHS writes them ("Monday 7 December 2026 at 9:30am").

use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike, Utc};
use hubbook_core::ClusterTimeZone;

/// Instants read in one cluster's zone; every page takes its zone from the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local(pub ClusterTimeZone);

impl Local {
    fn at(self, at: NaiveDateTime) -> DateTime<chrono_tz::Tz> {
        at.and_utc().with_timezone(&self.0 .0)
    }

    /// "9am", "9:30am", "12pm".
    pub fn clock_time(self, at: NaiveDateTime) -> String {
        let t = self.at(at);
        let (pm, hour) = t.hour12();
        let suffix = if pm { "pm" } else { "am" };
        if t.minute() == 0 {
            format!("{hour}{suffix}")
        } else {
            format!("{hour}:{:02}{suffix}", t.minute())
        }
    }

    /// "Monday 7 December 2026".
    pub fn long_date(self, at: NaiveDateTime) -> String {
        self.at(at).format("%A %-d %B %Y").to_string()
    }

    /// "Monday 7 December 2026 at 9:30am".
    pub fn when(self, at: NaiveDateTime) -> String {
        format!("{} at {}", self.long_date(at), self.clock_time(at))
    }

    /// The local date at an instant ("today" when it is now).
    pub fn date_of(self, at: DateTime<Utc>) -> NaiveDate {
        self.0.date_of(at)
    }

    /// The first instant of a local date (right across clock changes).
    pub fn start_of(self, date: NaiveDate) -> DateTime<Utc> {
        self.0.day(date).from
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn times_read_as_the_nhs_writes_them_in_the_cluster_zone() {
        let london = Local(ClusterTimeZone::DEFAULT);
        assert_eq!(
            london.when(at(2026, 12, 7, 9, 30)),
            "Monday 7 December 2026 at 9:30am"
        );
        assert_eq!(
            london.clock_time(at(2026, 7, 6, 17, 0)),
            "6pm",
            "British Summer Time"
        );
        let jersey_is_london = Local(ClusterTimeZone::parse("Europe/Jersey").unwrap());
        assert_eq!(jersey_is_london.clock_time(at(2026, 7, 6, 17, 0)), "6pm");
        let belfast = Local(ClusterTimeZone::parse("Europe/Dublin").unwrap());
        assert_eq!(belfast.clock_time(at(2026, 12, 7, 12, 0)), "12pm");
        let azores = Local(ClusterTimeZone::parse("Atlantic/Azores").unwrap());
        assert_eq!(azores.clock_time(at(2026, 12, 7, 12, 0)), "11am");
        assert_eq!(
            azores.date_of(at(2026, 12, 7, 0, 30).and_utc()),
            NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(),
            "half past midnight in London is still the day before in the Azores"
        );
        assert_eq!(
            london.start_of(NaiveDate::from_ymd_opt(2026, 7, 6).unwrap()),
            at(2026, 7, 5, 23, 0).and_utc()
        );
    }
}
