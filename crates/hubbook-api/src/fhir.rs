//! FHIR R4 representation of a hubbook appointment, for NHS 111 and other systems that speak FHIR.
//!
//! The caller gathers an [`AppointmentFacts`] from the store; [`appointment`] turns it into an
//! R4 `Appointment` resource as JSON. Absent values are left out rather than sent as `null`,
//! because FHIR JSON forbids nulls and empty arrays or objects.

use chrono::{DateTime, SecondsFormat, Utc};
use hubbook_core::appointment::AppointmentStatus;
use serde_json::{json, Map, Value};

/// The media type of FHIR JSON.
pub const FHIR_JSON: &str = "application/fhir+json";

/// Code system of hubbook's service codes (`gp`, `nurse`, ...).
const SERVICE_SYSTEM: &str = "https://hubbook.invalid/fhir/CodeSystem/service";
/// Extension carrying how the appointment was booked: `practice`, `open` or `111`.
const BOOKING_CHANNEL_URL: &str =
    "https://hubbook.invalid/fhir/StructureDefinition/booking-channel";
/// Extension carrying how the appointment is delivered: `face_to_face`, `telephone` or `video`.
const DELIVERY_CHANNEL_URL: &str =
    "https://hubbook.invalid/fhir/StructureDefinition/delivery-channel";
/// Identifier system of NHS numbers in England.
const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// HL7 v3 participation types, of which `PPRF` is the primary performer.
const PARTICIPATION_TYPE_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

/// What a FHIR Appointment is built from, gathered by the caller.
///
/// Borrowed strings keep the mapping free of allocation decisions; the caller owns the rows.
#[derive(Debug, Clone)]
pub struct AppointmentFacts<'a> {
    /// The appointment id, used as the resource's logical id.
    pub id: &'a str,
    /// The appointment's row version, sent as `meta.versionId` (the same value as the ETag).
    pub version: i64,
    /// hubbook's status.
    pub status: AppointmentStatus,
    /// When the appointment starts.
    pub starts_at: DateTime<Utc>,
    /// When the appointment ends.
    pub ends_at: DateTime<Utc>,
    /// When the appointment was booked.
    pub created_at: DateTime<Utc>,
    /// The slot the appointment fills.
    pub slot_id: &'a str,
    /// The patient's ten-digit NHS number; absent for a temporary resident without one.
    pub nhs_number: Option<&'a str>,
    /// The patient's name, shown as the participant's display text.
    pub patient_name: &'a str,
    /// The site where the appointment takes place.
    pub site_id: &'a str,
    /// The site's name.
    pub site_name: &'a str,
    /// hubbook's service code, such as `gp` or `nurse`.
    pub service_code: &'a str,
    /// The service's name.
    pub service_name: &'a str,
    /// The clinical role of the session, such as `gp`, `nurse` or `physiotherapist`.
    pub clinical_role: &'a str,
    /// The session the slot belongs to, standing in for the practitioner role.
    pub session_id: &'a str,
    /// The named clinician of the session, if any.
    pub clinician: Option<&'a str>,
    /// How the appointment is delivered: `face_to_face`, `telephone` or `video`.
    pub delivery: &'a str,
    /// How the appointment was booked: `practice`, `open` or `111`.
    pub channel: &'a str,
    /// Why the patient is coming, if recorded.
    pub reason: Option<&'a str>,
    /// Why the appointment was cancelled, if it was and a reason was given.
    pub cancel_reason: Option<&'a str>,
}

/// Maps hubbook's appointment status to FHIR R4 `Appointment.status`.
pub fn status_code(status: AppointmentStatus) -> &'static str {
    match status {
        AppointmentStatus::Booked => "booked",
        AppointmentStatus::Arrived => "arrived",
        AppointmentStatus::Seen => "fulfilled",
        AppointmentStatus::DidNotAttend => "noshow",
        AppointmentStatus::Cancelled => "cancelled",
    }
}

/// The FHIR R4 Appointment resource for the facts.
///
/// Keys whose value is absent are omitted, never sent as `null`.
pub fn appointment(f: &AppointmentFacts<'_>) -> Value {
    let status = status_code(f.status);
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("Appointment"));
    r.insert("id".into(), json!(f.id));
    r.insert("meta".into(), json!({ "versionId": f.version.to_string() }));
    r.insert(
        "extension".into(),
        json!([
            { "url": BOOKING_CHANNEL_URL, "valueCode": f.channel },
            { "url": DELIVERY_CHANNEL_URL, "valueCode": f.delivery },
        ]),
    );
    r.insert("status".into(), json!(status));
    if status == "cancelled" {
        if let Some(why) = text(f.cancel_reason) {
            r.insert("cancelationReason".into(), json!({ "text": why }));
        }
    }
    r.insert(
        "serviceType".into(),
        json!([{
            "coding": [{
                "system": SERVICE_SYSTEM,
                "code": f.service_code,
                "display": f.service_name,
            }],
            "text": f.service_name,
        }]),
    );
    if let Some(reason) = text(f.reason) {
        r.insert("description".into(), json!(reason));
    }
    r.insert("start".into(), json!(instant(f.starts_at)));
    r.insert("end".into(), json!(instant(f.ends_at)));
    let minutes = (f.ends_at - f.starts_at).num_minutes();
    if minutes > 0 {
        r.insert("minutesDuration".into(), json!(minutes));
    }
    r.insert(
        "slot".into(),
        json!([{ "reference": format!("Slot/{}", f.slot_id) }]),
    );
    r.insert("created".into(), json!(instant(f.created_at)));
    r.insert("participant".into(), json!(participants(f)));
    Value::Object(r)
}

/// The patient, the location and the practitioner role, each accepted and required.
fn participants(f: &AppointmentFacts<'_>) -> Vec<Value> {
    let patient = match text(f.nhs_number) {
        Some(nhs) => json!({
            "identifier": { "system": NHS_NUMBER_SYSTEM, "value": nhs },
            "display": f.patient_name,
        }),
        None => json!({ "display": f.patient_name }),
    };
    let location = json!({
        "reference": format!("Location/{}", f.site_id),
        "display": f.site_name,
    });
    let performer = json!({
        "reference": format!("PractitionerRole/{}", f.session_id),
        "display": text(f.clinician).unwrap_or(f.clinical_role),
    });
    vec![
        json!({ "actor": patient, "required": "required", "status": "accepted" }),
        json!({ "actor": location, "required": "required", "status": "accepted" }),
        json!({
            "type": [{
                "coding": [{
                    "system": PARTICIPATION_TYPE_SYSTEM,
                    "code": "PPRF",
                    "display": "primary performer",
                }],
            }],
            "actor": performer,
            "required": "required",
            "status": "accepted",
        }),
    ]
}

/// Optional free text, trimmed, with blank treated as absent (FHIR strings may not be empty).
fn text(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// A FHIR `instant` (also a valid `dateTime`): RFC 3339 in UTC with "Z", seconds always present
/// and a fraction only when non-zero.
fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SCHEMA: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fhir/appointment.schema.json"
    ));

    fn validator() -> jsonschema::Validator {
        let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
        jsonschema::draft6::new(&schema).expect("schema compiles")
    }

    /// Panics with every schema error, so a failure says what is wrong.
    fn assert_valid(v: &jsonschema::Validator, resource: &Value) {
        let errors: Vec<String> = v
            .iter_errors(resource)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "invalid FHIR: {errors:#?}\n{resource:#}");
    }

    /// FHIR JSON never holds null, an empty array or an empty object.
    fn assert_no_empty(v: &Value) {
        match v {
            Value::Null => panic!("null in FHIR JSON"),
            Value::Array(a) => {
                assert!(!a.is_empty(), "empty array in FHIR JSON");
                a.iter().for_each(assert_no_empty);
            }
            Value::Object(o) => {
                assert!(!o.is_empty(), "empty object in FHIR JSON");
                o.values().for_each(assert_no_empty);
            }
            Value::String(s) => assert!(!s.is_empty(), "empty string in FHIR JSON"),
            _ => {}
        }
    }

    fn facts() -> AppointmentFacts<'static> {
        AppointmentFacts {
            id: "0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b",
            version: 3,
            status: AppointmentStatus::Booked,
            starts_at: Utc.with_ymd_and_hms(2026, 3, 30, 9, 0, 0).unwrap(),
            ends_at: Utc.with_ymd_and_hms(2026, 3, 30, 9, 15, 0).unwrap(),
            created_at: Utc.with_ymd_and_hms(2026, 3, 27, 16, 42, 7).unwrap()
                + chrono::Duration::microseconds(123_456),
            slot_id: "0193a2b4-0000-7000-8000-000000000001",
            nhs_number: Some("9434765919"),
            patient_name: "Ada Lovelace",
            site_id: "site-1",
            site_name: "Riverside Surgery",
            service_code: "gp",
            service_name: "GP appointment",
            clinical_role: "gp",
            session_id: "session-7",
            clinician: Some("Dr A Patel"),
            delivery: "face_to_face",
            channel: "111",
            reason: Some("Cough for three weeks"),
            cancel_reason: None,
        }
    }

    fn participant_with<'v>(r: &'v Value, reference_prefix: &str) -> &'v Value {
        r["participant"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| {
                p["actor"]["reference"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(reference_prefix))
            })
            .unwrap()
    }

    #[test]
    fn booked_with_nhs_number_is_valid_fhir() {
        let v = validator();
        let r = appointment(&facts());
        assert_valid(&v, &r);
        assert_no_empty(&r);

        assert_eq!(r["resourceType"], "Appointment");
        assert_eq!(r["meta"]["versionId"], "3");
        assert_eq!(r["status"], "booked");
        assert_eq!(r["start"], "2026-03-30T09:00:00Z");
        assert_eq!(r["end"], "2026-03-30T09:15:00Z");
        assert_eq!(r["minutesDuration"], 15);
        assert_eq!(r["created"], "2026-03-27T16:42:07.123456Z");
        assert_eq!(r["description"], "Cough for three weeks");
        assert!(r.get("cancelationReason").is_none());
        assert_eq!(
            r["slot"],
            json!([{ "reference": "Slot/0193a2b4-0000-7000-8000-000000000001" }])
        );
        assert_eq!(r["serviceType"][0]["coding"][0]["code"], "gp");

        let patient = &r["participant"][0]["actor"];
        assert_eq!(
            patient["identifier"],
            json!({ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919" })
        );
        assert_eq!(patient["display"], "Ada Lovelace");
        assert!(r["participant"][0].get("type").is_none());

        let location = participant_with(&r, "Location/");
        assert_eq!(location["actor"]["reference"], "Location/site-1");
        assert_eq!(location["actor"]["display"], "Riverside Surgery");

        let role = participant_with(&r, "PractitionerRole/");
        assert_eq!(role["actor"]["reference"], "PractitionerRole/session-7");
        assert_eq!(role["actor"]["display"], "Dr A Patel");
        assert_eq!(role["type"][0]["coding"][0]["code"], "PPRF");

        let ext = r["extension"].as_array().unwrap();
        assert!(ext.contains(&json!({ "url": BOOKING_CHANNEL_URL, "valueCode": "111" })));
        assert!(ext.contains(&json!({ "url": DELIVERY_CHANNEL_URL, "valueCode": "face_to_face" })));
    }

    #[test]
    fn cancelled_temporary_resident_is_valid_fhir() {
        let v = validator();
        let f = AppointmentFacts {
            status: AppointmentStatus::Cancelled,
            nhs_number: None,
            clinician: None,
            reason: None,
            cancel_reason: Some("Patient felt better"),
            ..facts()
        };
        let r = appointment(&f);
        assert_valid(&v, &r);
        assert_no_empty(&r);

        assert_eq!(r["status"], "cancelled");
        assert_eq!(
            r["cancelationReason"],
            json!({ "text": "Patient felt better" })
        );
        assert!(r.get("description").is_none());
        assert_eq!(
            r["participant"][0]["actor"],
            json!({ "display": "Ada Lovelace" })
        );
        let role = participant_with(&r, "PractitionerRole/");
        assert_eq!(role["actor"]["display"], "gp");
    }

    #[test]
    fn blank_optional_text_is_left_out() {
        let v = validator();
        let f = AppointmentFacts {
            status: AppointmentStatus::Cancelled,
            nhs_number: Some(" "),
            clinician: Some(""),
            reason: Some("  "),
            cancel_reason: Some(""),
            ..facts()
        };
        let r = appointment(&f);
        assert_valid(&v, &r);
        assert_no_empty(&r);
        assert!(r.get("description").is_none());
        assert!(r.get("cancelationReason").is_none());
        assert!(r["participant"][0]["actor"].get("identifier").is_none());
    }

    #[test]
    fn cancel_reason_only_when_cancelled() {
        let f = AppointmentFacts {
            status: AppointmentStatus::Booked,
            cancel_reason: Some("stale"),
            ..facts()
        };
        assert!(appointment(&f).get("cancelationReason").is_none());
    }

    #[test]
    fn statuses_map_to_fhir() {
        let v = validator();
        for (ours, fhir) in [
            (AppointmentStatus::Booked, "booked"),
            (AppointmentStatus::Arrived, "arrived"),
            (AppointmentStatus::Seen, "fulfilled"),
            (AppointmentStatus::DidNotAttend, "noshow"),
            (AppointmentStatus::Cancelled, "cancelled"),
        ] {
            assert_eq!(status_code(ours), fhir, "{ours}");
            let r = appointment(&AppointmentFacts {
                status: ours,
                ..facts()
            });
            assert_eq!(r["status"], fhir);
            assert_valid(&v, &r);
        }
    }

    #[test]
    fn schema_rejects_what_fhir_forbids() {
        let v = validator();
        let good = appointment(&facts());
        assert!(v.is_valid(&good));

        let mut bad_status = good.clone();
        bad_status["status"] = json!("done");
        assert!(!v.is_valid(&bad_status), "unknown status accepted");

        let mut null_field = good.clone();
        null_field["description"] = Value::Null;
        assert!(!v.is_valid(&null_field), "null accepted");

        let mut unknown = good.clone();
        unknown["colour"] = json!("blue");
        assert!(!v.is_valid(&unknown), "unknown top-level field accepted");

        let mut no_zone = good.clone();
        no_zone["start"] = json!("2026-03-30T09:00:00");
        assert!(!v.is_valid(&no_zone), "start without timezone accepted");

        let mut no_seconds = good.clone();
        no_seconds["end"] = json!("2026-03-30T09:15Z");
        assert!(!v.is_valid(&no_seconds), "end without seconds accepted");

        let mut wrong_type = good.clone();
        wrong_type["resourceType"] = json!("Slot");
        assert!(!v.is_valid(&wrong_type), "wrong resourceType accepted");

        let mut no_participant = good.clone();
        no_participant
            .as_object_mut()
            .unwrap()
            .remove("participant");
        assert!(!v.is_valid(&no_participant), "missing participant accepted");

        let mut bad_participant = good.clone();
        bad_participant["participant"][0]["status"] = json!("maybe");
        assert!(!v.is_valid(&bad_participant), "participant status accepted");

        let mut nested_unknown = good.clone();
        nested_unknown["participant"][1]["actor"]["name"] = json!("x");
        assert!(
            !v.is_valid(&nested_unknown),
            "unknown Reference field accepted"
        );

        let mut bad_id = good;
        bad_id["id"] = json!("has space");
        assert!(!v.is_valid(&bad_id), "invalid id accepted");
    }
}
