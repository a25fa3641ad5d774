//! The pieces every GP Connect resource hubbook writes is made of: profiles and their
//! versions, instants in England's local time with their offset, delivery channels and
//! practitioner roles as GP Connect codes them.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::London;
use hubbook_core::rota::Delivery;
use hubbook_core::ClinicalRole;
use serde_json::{json, Value};

/// Where GP Connect's profiles and extensions are defined.
pub const PROFILE_BASE: &str = "https://fhir.nhs.uk/STU3/StructureDefinition/";
/// The identifier system of NHS numbers.
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// A UTC instant as GP Connect writes it: England's local time with its offset
/// (`2026-12-07T18:30:00+00:00`). Written field by field: a search writes two for every slot,
/// and parsing a format string each time was the costliest part of answering one.
pub fn uk(at: chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Offset, TimeZone, Timelike};
    let offset = London.offset_from_utc_datetime(&at).fix().local_minus_utc();
    let local = at + chrono::Duration::seconds(i64::from(offset));
    let (sign, minutes) = if offset < 0 {
        ('-', -offset / 60)
    } else {
        ('+', offset / 60)
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second(),
        minutes / 60,
        minutes % 60
    )
}

/// The GP Connect delivery channel of a slot.
pub fn channel(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::FaceToFace => "In-person",
        Delivery::Telephone => "Telephone",
        Delivery::Video => "Video",
    }
}

/// The practitioner role of a schedule: a GP is SDS job role R0260; other roles are named in
/// words only (their SDS codes are not mapped yet).
pub fn practitioner_role(role: ClinicalRole) -> Value {
    match role {
        ClinicalRole::Gp => json!({"coding": [{
            "system": "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-SDSJobRoleName-1",
            "code": "R0260", "display": "General Medical Practitioner"}]}),
        other => json!({"text": other.as_str()}),
    }
}

/// A resource's `meta`: its version and its GP Connect profile.
pub fn meta(profile: &str, version: i64) -> Value {
    json!({"versionId": version.to_string(), "profile": [format!("{PROFILE_BASE}{profile}")]})
}

/// An instant as the consumer wrote it: a date-time with its UTC offset.
pub fn instant(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The delivery of a GP Connect delivery channel code.
pub fn delivery(code: &str) -> Option<Delivery> {
    [Delivery::FaceToFace, Delivery::Telephone, Delivery::Video]
        .into_iter()
        .find(|d| channel(*d) == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_england_with_their_offset() {
        let winter = "2026-12-07T18:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(uk(winter.naive_utc()), "2026-12-07T18:30:00+00:00");
        let summer = "2027-06-07T17:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(uk(summer.naive_utc()), "2027-06-07T18:30:00+01:00");
        // Either side of the clocks going forward (28 March 2027, 01:00 UTC).
        let before = "2027-03-28T00:59:59Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(uk(before.naive_utc()), "2027-03-28T00:59:59+00:00");
        let after = "2027-03-28T01:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(uk(after.naive_utc()), "2027-03-28T02:00:00+01:00");
        assert_eq!(instant("2027-06-07T18:30:00+01:00"), Some(summer));
        assert_eq!(instant("2027-06-07"), None);
    }

    #[test]
    fn delivery_channels_read_back() {
        for d in [Delivery::FaceToFace, Delivery::Telephone, Delivery::Video] {
            assert_eq!(delivery(channel(d)), Some(d));
        }
        assert_eq!(delivery("Carrier pigeon"), None);
    }
}
