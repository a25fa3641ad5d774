//! A reference rota: the enhanced-access pattern a typical cluster runs, used by the demo, the
//! benchmarks and the data generator so that all three measure and show the same thing.

use chrono::{NaiveDate, NaiveTime, Weekday};

use super::{Break, Delivery, Rota, SessionTemplate, WeekPattern};
use crate::ClinicalRole;

/// Where and what the reference rota runs: two hubs, one surgery, and four services.
#[derive(Debug, Clone)]
pub struct SampleSites<'a> {
    /// The first hub's site id.
    pub hub_north: &'a str,
    /// The second hub's site id.
    pub hub_south: &'a str,
    /// The surgery that runs phlebotomy.
    pub surgery: &'a str,
    /// The GP service id.
    pub gp: &'a str,
    /// The practice-nurse service id.
    pub nurse: &'a str,
    /// The phlebotomy service id.
    pub phlebotomy: &'a str,
    /// The physiotherapy service id.
    pub physio: &'a str,
}

/// England's bank holidays from late 2026 to the end of 2027, skipped by the reference rota.
pub const BANK_HOLIDAYS: [&str; 9] = [
    "2026-12-25",
    "2026-12-28",
    "2027-01-01",
    "2027-03-26",
    "2027-03-29",
    "2027-05-03",
    "2027-05-31",
    "2027-08-30",
    "2027-12-27",
];

/// The weekdays Monday to Friday.
pub const WEEKDAYS: [Weekday; 5] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
];

/// The reference services: code, name and clinical role.
pub const SERVICES: [(&str, &str, ClinicalRole); 4] = [
    ("gp", "GP appointment", ClinicalRole::Gp),
    ("nurse", "Practice nurse appointment", ClinicalRole::Nurse),
    (
        "physio",
        "Physiotherapy clinic",
        ClinicalRole::Physiotherapist,
    ),
    ("phlebotomy", "Blood test", ClinicalRole::Phlebotomist),
];

/// [`BANK_HOLIDAYS`] as dates.
pub fn bank_holidays() -> Vec<NaiveDate> {
    BANK_HOLIDAYS
        .iter()
        .filter_map(|d| d.parse().ok())
        .collect()
}

/// A wall-clock time of day (midnight for an impossible one).
pub fn time(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN)
}

/// A weekly face-to-face session of the reference kind, which skips [`BANK_HOLIDAYS`].
#[derive(Debug, Clone)]
pub struct Weekly<'a> {
    /// The template key.
    pub key: String,
    /// The site id.
    pub site: &'a str,
    /// The service id.
    pub service: &'a str,
    /// Start and end, local time.
    pub hours: (NaiveTime, NaiveTime),
    /// Slot length in minutes.
    pub slot_minutes: u32,
    /// Clinicians (or chairs) side by side.
    pub capacity: u32,
    /// The days it runs.
    pub days: &'a [Weekday],
    /// Breaks within the hours.
    pub breaks: &'a [Break],
}

impl Weekly<'_> {
    /// The session template, in force from `valid_from`.
    pub fn template(self, valid_from: NaiveDate) -> SessionTemplate {
        SessionTemplate {
            key: self.key,
            site_id: self.site.to_owned(),
            service_id: self.service.to_owned(),
            start: self.hours.0,
            end: self.hours.1,
            slot_minutes: self.slot_minutes,
            capacity: self.capacity,
            delivery: Delivery::FaceToFace,
            breaks: self.breaks.to_vec(),
            weekdays: self.days.to_vec(),
            pattern: WeekPattern::EveryWeek,
            valid_from,
            valid_to: None,
            skip_dates: bank_holidays(),
        }
    }
}

/// The reference rota: the network standard hours (weekday evenings 18:30-20:00, Saturdays
/// 09:00-17:00 with a half-hour lunch) at both hubs with a GP (10-minute slots) and a nurse
/// (15-minute slots) each; phlebotomy mornings with two chairs at the surgery; a Saturday
/// physiotherapy clinic; bank holidays skipped.
pub fn enhanced_access(at: &SampleSites<'_>, valid_from: NaiveDate) -> Rota {
    let weekdays = WEEKDAYS;
    let template = |key: String,
                    site: &str,
                    service: &str,
                    hours: (NaiveTime, NaiveTime),
                    slot_minutes: u32,
                    capacity: u32,
                    days: &[Weekday],
                    breaks: &[Break]| {
        Weekly {
            key,
            site,
            service,
            hours,
            slot_minutes,
            capacity,
            days,
            breaks,
        }
        .template(valid_from)
    };
    let evening = (time(18, 30), time(20, 0));
    let saturday = (time(9, 0), time(17, 0));
    let lunch = [Break {
        start: time(13, 0),
        end: time(13, 30),
    }];
    let mut templates = Vec::new();
    for (name, site) in [("north", at.hub_north), ("south", at.hub_south)] {
        templates.push(template(
            format!("{name}-gp-evening"),
            site,
            at.gp,
            evening,
            10,
            1,
            &weekdays,
            &[],
        ));
        templates.push(template(
            format!("{name}-nurse-evening"),
            site,
            at.nurse,
            evening,
            15,
            1,
            &weekdays,
            &[],
        ));
        templates.push(template(
            format!("{name}-gp-saturday"),
            site,
            at.gp,
            saturday,
            10,
            1,
            &[Weekday::Sat],
            &lunch,
        ));
        templates.push(template(
            format!("{name}-nurse-saturday"),
            site,
            at.nurse,
            saturday,
            15,
            1,
            &[Weekday::Sat],
            &lunch,
        ));
    }
    templates.push(template(
        "surgery-phlebotomy".into(),
        at.surgery,
        at.phlebotomy,
        (time(7, 30), time(10, 0)),
        10,
        2,
        &weekdays,
        &[],
    ));
    templates.push(template(
        "south-physio-saturday".into(),
        at.hub_south,
        at.physio,
        (time(9, 0), time(12, 0)),
        15,
        1,
        &[Weekday::Sat],
        &[],
    ));
    Rota {
        name: "Extended access".into(),
        templates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_rota_is_valid_and_sized_like_a_cluster_year() {
        let at = SampleSites {
            hub_north: "n",
            hub_south: "s",
            surgery: "r",
            gp: "gp",
            nurse: "nurse",
            phlebotomy: "bloods",
            physio: "physio",
        };
        let from = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap_or_default();
        let rota = enhanced_access(&at, from);
        rota.validate().unwrap();
        let year = super::super::expand(
            &rota,
            from,
            from + chrono::Duration::days(364),
            chrono_tz::Europe::London,
        )
        .unwrap();
        // 52 weeks less bank holidays: about 1,700 sessions and 24,000 slots.
        assert!(
            (1_500..2_000).contains(&year.sessions.len()),
            "{}",
            year.sessions.len()
        );
        assert!(
            (20_000..28_000).contains(&year.slot_count()),
            "{}",
            year.slot_count()
        );
    }
}
