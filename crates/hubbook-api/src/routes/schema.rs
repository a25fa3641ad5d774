//! The OpenAPI schemas of values the API takes as plain JSON strings and numbers but checks by a
//! rule of the core: each is built from the core's own list of names, bound or regular
//! expression, so the document says exactly what the server accepts and the rule lives once.
//!
//! A body field keeps its Rust type (a `String`, so that a bad value earns its own problem type
//! such as `unknown-delivery` rather than `invalid-body`) and borrows one of these schemas with
//! `#[schema(value_type = schema::Delivery)]`; a query parameter with
//! `#[param(value_type = Option<schema::Delivery>, inline)]`.

use std::ops::RangeInclusive;

use hubbook_core::allocation::{ChannelKind, MAX_TRIAGE_PERCENT};
use hubbook_core::rota::{self, Delivery as CoreDelivery};
use hubbook_core::triage::{self, DeliveryFit as CoreDeliveryFit};
use hubbook_core::{account, cluster, nhs_number, patient, practice, service, sharing, site};
use hubbook_core::{name_pattern, text_pattern, ClinicalRole as CoreClinicalRole, Role};
use hubbook_service::reports::ReportName as CoreReportName;
use hubbook_store::repo::reports::GroupBy as CoreGroupBy;
use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, Object, ObjectBuilder, OneOfBuilder, SchemaFormat, Type,
};
use utoipa::openapi::{RefOr, Schema};

/// A password: any text but the control characters the server refuses (tab and line breaks
/// are text).
const PASSWORD_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$";

/// A string schema of exactly the texts matching `pattern`.
fn text(pattern: impl Into<String>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .build()
}

/// A string schema of exactly these names.
fn names<'a>(values: impl IntoIterator<Item = &'a str>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

/// An integer schema bounded by a range of the core.
fn whole<N: Copy + Into<i64>>(range: RangeInclusive<N>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some((*range.start()).into()))
        .maximum(Some((*range.end()).into()))
        .description(Some(description))
        .build()
}

/// A number schema bounded by a range of the core.
fn number(range: RangeInclusive<f64>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
        .minimum(Some(*range.start()))
        .maximum(Some(*range.end()))
        .description(Some(description))
        .build()
}

/// Declares a schema of the document, named after the type, from an expression building it.
macro_rules! schema {
    ($($(#[$meta:meta])* $name:ident => $object:expr;)+) => {$(
        $(#[$meta])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                Schema::Object($object).into()
            }
        }

        impl utoipa::ToSchema for $name {}
    )+};
}

schema! {
    /// How a session's patients are seen, as [`hubbook_core::rota::Delivery`] names it.
    Delivery => names(
        CoreDelivery::ALL.iter().map(|d| d.as_str()),
        "How patients are seen: in person, by telephone or by video.",
    );
    /// The clinical role of whoever runs a service's sessions.
    ClinicalRole => names(
        CoreClinicalRole::ALL.iter().map(|r| r.as_str()),
        "The clinical role of whoever runs the sessions.",
    );
    /// The roles a user of a cluster may hold (an admin or a triage service is no cluster user).
    StaffRole => names(
        Role::ALL.iter().filter(|r| r.needs_cluster()).map(|r| r.as_str()),
        "The user's role in the cluster; a receptionist also has a practice.",
    );
    /// Who may book a slot before it is released.
    ChannelName => names(
        ChannelKind::ALL.iter().map(|c| c.as_str()),
        "`open` to every practice, reserved for one `practice`, or for NHS `111`.",
    );
    /// Which kinds of slot a 111 disposition can be met by.
    DeliveryFit => names(
        CoreDeliveryFit::ALL.iter().map(|f| f.as_str()),
        "The slots that meet the disposition: face to face only, remote (telephone or video), or either.",
    );
    /// The reports a cluster's manager may read.
    ReportName => names(
        CoreReportName::ALL.iter().map(|r| r.as_str()),
        "The report to read.",
    );
    /// Every grouping of some report; which a report offers is said in its description.
    GroupBy => names(
        CoreGroupBy::ALL.iter().map(|g| g.as_str()),
        "How rows are grouped; each report offers some of these (see the operation).",
    );
    /// A cluster's code, such as `U00001`.
    ClusterCode => text(
        cluster::CLUSTER_CODE_PATTERN,
        "A letter then 2 to 15 letters or digits; upper-cased when stored.",
    );
    /// An IANA time zone name, such as `Europe/London`.
    TimeZoneName => names(
        hubbook_core::ClusterTimeZone::names(),
        "An IANA time zone name such as `Europe/London`, from the zone database the server has.",
    );
    /// A GP practice's ODS code, such as `A81001`.
    OdsCode => text(practice::ODS_CODE_PATTERN, "One letter and five digits.");
    /// A service's code within its cluster, such as `gp-evening`.
    ServiceCode => text(
        service::SERVICE_CODE_PATTERN,
        "A lower-case letter then up to 31 lower-case letters, digits or hyphens.",
    );
    /// A UK postcode in any case and spacing.
    Postcode => text(
        site::POSTCODE_PATTERN,
        "A UK postcode in any case and spacing, such as `LS1 4AP`.",
    );
    /// An NHS number, bare or spaced.
    NhsNumber => text(
        nhs_number::NHS_NUMBER_PATTERN,
        "Ten digits, spaces or hyphens allowed among them; a wrong check digit is refused as `invalid-nhs-number`.",
    );
    /// A patient's phone number.
    Phone => text(
        patient::PHONE_PATTERN,
        "7 to 15 digits among spaces, `+`, `(`, `)` and `-`.",
    );
    /// A patient's email address.
    Email => text(
        patient::EMAIL_PATTERN,
        "One `@` and no white space; at most 254 characters once trimmed.",
    );
    /// The ODS code of an organisation asking for an appointment.
    RequesterCode => text(
        patient::REQUESTER_ODS_PATTERN,
        "3 to 10 letters or digits.",
    );
    /// A staff user's sign-in name.
    Username => text(
        account::USERNAME_PATTERN,
        "3 to 64 letters, digits, dots, hyphens or underscores; lower-cased when stored.",
    );
    /// An integration's client id.
    ClientId => text(
        account::CLIENT_ID_PATTERN,
        "3 to 64 letters, digits, dots, hyphens or underscores.",
    );
    /// A 111 disposition's code, such as `Dx05`.
    DispositionCode => text(
        triage::DISPOSITION_CODE_PATTERN,
        "2 to 16 letters, digits, dots, hyphens or underscores.",
    );
    /// A wall time of a rota, such as `18:30`.
    TimeOfDay => text(
        rota::TIME_OF_DAY_PATTERN,
        "A whole minute of the day, `HH:MM` (or `HH:MM:00`).",
    );
    /// A weekday a session template runs on.
    WeekdayName => text(
        rota::WEEKDAY_PATTERN,
        "`mon` to `sun`, or the full English name, in any case.",
    );
    /// A session template's key within its rota.
    TemplateKey => text(
        text_pattern(rota::MAX_KEY_CHARS),
        "1 to 64 characters, no control character, no white space at either end.",
    );
    /// A site or service id a session template refers to.
    TemplateReference => text(
        text_pattern(rota::MAX_REFERENCE_CHARS),
        "An id of this cluster: 1 to 100 characters, no white space at either end.",
    );
    /// The name of a thing a cluster keeps (a practice, site, service, user, integration).
    Name => text(
        name_pattern(hubbook_core::MAX_NAME_CHARS),
        "1 to 200 characters once trimmed, no control character.",
    );
    /// A rota's name.
    RotaName => text(
        name_pattern(rota::MAX_ROTA_NAME_CHARS),
        "1 to 100 characters once trimmed, no control character.",
    );
    /// Free text a person writes: an address, a reason.
    FreeText => text(
        name_pattern(hubbook_core::MAX_TEXT_CHARS),
        "1 to 500 characters once trimmed, no control character.",
    );
    /// A clinical or booking note.
    Notes => text(
        name_pattern(hubbook_core::MAX_NOTES_CHARS),
        "1 to 2000 characters once trimmed, no control character.",
    );
    /// A caller's short reference, such as a 111 case reference.
    Reference => text(
        name_pattern(hubbook_core::MAX_REFERENCE_CHARS),
        "1 to 100 characters once trimmed, no control character.",
    );
    /// The requesting organisation's reference for its request.
    RequesterReference => text(
        name_pattern(patient::MAX_REQUESTER_REFERENCE_CHARS),
        "1 to 100 characters once trimmed, no control character.",
    );
    /// A patient's reasonable adjustments.
    Adjustments => text(
        name_pattern(patient::MAX_ADJUSTMENTS_CHARS),
        "1 to 1000 characters once trimmed, no control character.",
    );
    /// A 111 disposition's description.
    Description => text(
        name_pattern(triage::MAX_DESCRIPTION_CHARS),
        "1 to 300 characters once trimmed, no control character.",
    );
    /// A note on resolving a rebooking; blank is no note.
    ResolutionNote => text(
        format!(
            r"^{}*$|{}",
            hubbook_core::control::SPACE,
            name_pattern(hubbook_service::rebooking::MAX_NOTE_CHARS)
        ),
        "Up to 500 characters once trimmed, no control character; blank is no note.",
    );
    /// A new password.
    Password => ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(hubbook_service::users::MIN_PASSWORD_LEN))
        .pattern(Some(PASSWORD_PATTERN))
        .description(Some("At least 12 characters, no control character but tab and line breaks."))
        .build();
    /// Patients seen in parallel per slot interval.
    Capacity => whole(rota::CAPACITY, "Patients seen in parallel per slot interval.");
    /// The length of one slot, in minutes.
    SlotMinutes => whole(rota::SLOT_MINUTES, "The length of one slot, in minutes.");
    /// How many weeks apart the sessions of an `every_nth_week` pattern run.
    WeeksApart => whole(rota::EVERY_NTH_WEEK, "How many weeks apart the sessions run; 1 is every week.");
    /// Which occurrence of the weekday in its month.
    WeekOfMonth => whole(
        rota::NTH_WEEKDAY_OF_MONTH,
        "Which occurrence of the weekday in its month: 1 is days 1-7, 5 is days 29-31.",
    );
    /// A practice's registered list size.
    ListSize => whole(practice::LIST_SIZE, "Patients registered at the practice.");
    /// Hours before a session's start at which reserved slots open to every practice.
    LeadHours => whole(0..=sharing::MAX_LEAD_HOURS, "Hours before a session starts, at most four weeks.");
    /// The share of each session reserved for 111, in per cent.
    TriagePercent => whole(0..=MAX_TRIAGE_PERCENT, "The percentage of each session's slots, rounded down.");
    /// A disposition's timeframe in minutes.
    TimeframeMinutes => whole(
        1..=triage::MAX_TIMEFRAME_MINUTES,
        "Within how many minutes of triage the patient must be seen.",
    );
    /// How long a rotated secret keeps working, in minutes.
    ChangeoverMinutes => whole(
        0..=hubbook_service::integrations::MAX_CHANGEOVER_MINUTES,
        "How long the current secret keeps working beside the new one, in minutes.",
    );
    /// Degrees north, within the British Isles.
    Latitude => number(site::LATITUDE, "Degrees north (WGS84), within the British Isles.");
    /// Degrees east, within the British Isles.
    Longitude => number(site::LONGITUDE, "Degrees east (WGS84; west is negative), within the British Isles.");
}

/// One shape of an internally tagged value: an object whose `kind` is the constant `kind`, whose
/// other properties (all required) are those given, and nothing else. serde ignores unknown
/// fields of a variant without fields, so the server's shape check (`document::Shapes`)
/// refuses them before serde reads the body.
fn tagged(kind: &str, properties: Vec<(&str, RefOr<Schema>)>, description: &str) -> RefOr<Schema> {
    let mut shape = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("kind", names([kind], "The shape's name."))
        .required("kind")
        .description(Some(description));
    for (name, schema) in properties {
        shape = shape.property(name, schema).required(name);
    }
    shape
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .into()
}

/// A reference to a schema of this module, by its name.
fn reference<S: utoipa::ToSchema>() -> RefOr<Schema> {
    utoipa::openapi::Ref::from_schema_name(S::name()).into()
}

/// A date, as the API writes one.
fn date() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .into()
}

/// Which weeks a session template runs in, as [`hubbook_core::rota::WeekPattern`] reads it.
pub struct WeekPattern;

impl utoipa::PartialSchema for WeekPattern {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .description(Some(
                "Which weeks the template runs in, tagged by `kind`; every week when absent.",
            ))
            .item(tagged("every_week", vec![], "Every week."))
            .item(tagged(
                "every_nth_week",
                vec![("n", reference::<WeeksApart>()), ("anchor", date())],
                "Every `n`-th ISO week, counted from the week holding `anchor`.",
            ))
            .item(tagged(
                "nth_weekday_of_month",
                vec![("n", reference::<WeekOfMonth>())],
                "The `n`-th occurrence of the weekday in its month, such as the first Saturday.",
            ))
            .item(tagged(
                "last_weekday_of_month",
                vec![],
                "The last occurrence of the weekday in its month.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for WeekPattern {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        use utoipa::PartialSchema;
        schemas.push((WeeksApart::name().into(), WeeksApart::schema()));
        schemas.push((WeekOfMonth::name().into(), WeekOfMonth::schema()));
    }
}

/// How a cluster sets the slots reserved for 111, as [`hubbook_core::allocation::TriageRule`]
/// reads it.
pub struct TriageRule;

impl utoipa::PartialSchema for TriageRule {
    fn schema() -> RefOr<Schema> {
        let slots = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .minimum(Some(u32::MIN))
            .maximum(Some(u32::MAX))
            .description(Some("Slots a day reserved for 111."))
            .into();
        OneOfBuilder::new()
            .description(Some("The 111 reservation, tagged by `kind`; `gp_contract` when absent."))
            .item(tagged(
                "gp_contract",
                vec![],
                "The GP contract's default: each practice max(1, list size / 3,000) slots a day, summed.",
            ))
            .item(tagged("per_day", vec![("slots", slots)], "A fixed number of slots a day."))
            .item(tagged(
                "percent_of_session",
                vec![("percent", reference::<TriagePercent>())],
                "A percentage of each session's slots, rounded down.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for TriageRule {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        use utoipa::PartialSchema;
        schemas.push((TriagePercent::name().into(), TriagePercent::schema()));
    }
}

/// The query parameter `late_cancel_hours` of a report.
pub fn late_cancel_hours() -> Object {
    whole(
        0..=hubbook_service::reports::MAX_LATE_CANCEL_HOURS,
        "A cancellation less than this many hours before the start (or after it) is late; default 24.",
    )
}

/// The query parameter `minutes_per_km` of a slot search.
pub fn minutes_per_km() -> Object {
    number(
        0.0..=hubbook_core::ranking::MAX_MINUTES_PER_KM,
        "How many minutes of waiting one kilometre of travel is worth when ranking (default 10).",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    fn json<S: PartialSchema>() -> serde_json::Value {
        serde_json::to_value(S::schema()).unwrap()
    }

    #[test]
    fn names_come_from_the_core() {
        assert_eq!(
            json::<Delivery>()["enum"],
            serde_json::json!(["face_to_face", "telephone", "video"])
        );
        assert_eq!(
            json::<StaffRole>()["enum"],
            serde_json::json!(["cluster_manager", "hub_staff", "receptionist"])
        );
        assert_eq!(
            json::<ChannelName>()["enum"],
            serde_json::json!(["open", "practice", "111"])
        );
    }

    #[test]
    fn bounds_come_from_the_core() {
        let capacity = json::<Capacity>();
        assert_eq!(capacity["minimum"], 1.0);
        assert_eq!(capacity["maximum"], 20.0);
        let latitude = json::<Latitude>();
        assert_eq!(latitude["minimum"], 49.0);
        assert_eq!(latitude["maximum"], 61.0);
        assert_eq!(json::<LeadHours>()["maximum"], 672.0);
    }

    /// Whether a JSON Schema validator (with its ECMA-262 regular expressions) finds `value`
    /// valid against the schema `S`.
    fn valid<S: PartialSchema>(value: &str) -> bool {
        jsonschema::draft202012::new(&json::<S>())
            .unwrap()
            .is_valid(&serde_json::Value::from(value))
    }

    /// A JSON value is valid against a schema of this module whose references are resolved.
    fn fits<S: utoipa::ToSchema>(value: serde_json::Value) -> bool {
        let mut components = Vec::new();
        S::schemas(&mut components);
        let mut schema = json::<S>();
        schema["components"]["schemas"] = components
            .into_iter()
            .map(|(name, schema)| (name, serde_json::to_value(schema).unwrap()))
            .collect::<serde_json::Map<_, _>>()
            .into();
        jsonschema::draft202012::new(&schema)
            .unwrap()
            .is_valid(&value)
    }

    /// Each week pattern the core reads fits exactly one shape, and what the core refuses to
    /// read fits none.
    #[test]
    fn week_patterns_fit_what_the_core_reads() {
        use serde_json::json;
        for value in [
            json!({"kind": "every_week"}),
            json!({"kind": "every_nth_week", "n": 2, "anchor": "2026-01-05"}),
            json!({"kind": "nth_weekday_of_month", "n": 5}),
            json!({"kind": "last_weekday_of_month"}),
        ] {
            assert!(serde_json::from_value::<rota::WeekPattern>(value.clone()).is_ok());
            assert!(fits::<WeekPattern>(value.clone()), "{value}");
        }
        // serde ignores other members of a shape without fields; the schema, and so the
        // server's shape check before serde, refuses them.
        assert!(
            serde_json::from_value::<rota::WeekPattern>(json!({"kind": "every_week", "n": 2}))
                .is_ok()
        );
        assert!(!fits::<WeekPattern>(json!({"kind": "every_week", "n": 2})));
        for value in [
            json!({"kind": "nth_weekday_of_month", "n": 1, "anchor": "2026-01-05"}),
            json!({"kind": "every_nth_week", "n": 2}),
            json!({"kind": "fortnightly"}),
            json!({}),
        ] {
            assert!(serde_json::from_value::<rota::WeekPattern>(value.clone()).is_err());
            assert!(!fits::<WeekPattern>(value.clone()), "{value}");
        }
        // Read by the core but refused by its rules, and by the schema.
        assert!(!fits::<WeekPattern>(
            json!({"kind": "nth_weekday_of_month", "n": 6})
        ));
        assert!(!fits::<WeekPattern>(
            json!({"kind": "every_nth_week", "n": 0, "anchor": "2026-01-05"})
        ));
    }

    #[test]
    fn triage_rules_fit_what_the_core_reads() {
        use hubbook_core::allocation::TriageRule as Rule;
        use serde_json::json;
        for value in [
            json!({"kind": "gp_contract"}),
            json!({"kind": "per_day", "slots": 6}),
            json!({"kind": "percent_of_session", "percent": 100}),
        ] {
            let rule: Rule = serde_json::from_value(value.clone()).unwrap();
            assert!(rule.validate().is_ok());
            assert!(fits::<TriageRule>(value.clone()), "{value}");
        }
        for value in [
            json!({"kind": "percent_of_session", "percent": 101}),
            json!({"kind": "per_day"}),
            json!({"kind": "weekly", "slots": 6}),
        ] {
            let read = serde_json::from_value::<Rule>(value.clone());
            assert!(
                read.map_or(true, |rule| rule.validate().is_err()),
                "{value}"
            );
            assert!(!fits::<TriageRule>(value.clone()), "{value}");
        }
        // Other members serde would ignore; the schema, and so the shape check, refuses them.
        assert!(!fits::<TriageRule>(
            json!({"kind": "per_day", "slots": 6, "percent": 10})
        ));
        assert!(!fits::<TriageRule>(
            json!({"kind": "gp_contract", "slots": 6})
        ));
    }

    /// Every `$ref` of the document names a schema the document holds.
    #[test]
    fn every_reference_of_the_document_resolves() {
        fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::String(r)) = map.get("$ref") {
                        out.push(r.clone());
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 100, "{}", found.len());
        let dangling: Vec<&String> = found
            .iter()
            .filter(|r| {
                let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
                doc["components"]["schemas"].get(name).is_none()
            })
            .collect();
        assert!(dangling.is_empty(), "{dangling:?}");
    }

    #[test]
    fn a_blank_resolution_note_is_allowed() {
        assert!(valid::<ResolutionNote>("   "));
        assert!(valid::<ResolutionNote>(" kept, patient rang "));
        assert!(!valid::<ResolutionNote>(&"x".repeat(501)));
        assert!(!valid::<ResolutionNote>("a\u{1}b"));
        // A vertical tab is white space to a regular expression but a control the server refuses.
        assert!(!valid::<ResolutionNote>("\u{b}"));
        assert!(valid::<Password>("correct horse battery"));
        assert!(!valid::<Password>("correct\u{0}horse battery"));
    }

    /// The core's patterns read the same as ECMA-262 expressions in a schema validator.
    #[test]
    fn patterns_hold_in_a_schema_validator() {
        assert!(valid::<OdsCode>(" a81001 "));
        assert!(!valid::<OdsCode>("A8100X"));
        assert!(valid::<Postcode>("ls1 4ap"));
        assert!(!valid::<Postcode>("LS1 4CI"));
        assert!(valid::<NhsNumber>("943 476 5919"));
        assert!(!valid::<NhsNumber>("943 476 591"));
        assert!(valid::<TimeOfDay>("18:30"));
        assert!(!valid::<TimeOfDay>("24:00"));
        assert!(valid::<WeekdayName>("Monday"));
        assert!(!valid::<WeekdayName>("mond"));
        assert!(valid::<Name>("  Hub North "));
        assert!(!valid::<Name>(" "));
        assert!(!valid::<Name>(&"x".repeat(201)));
        assert!(valid::<TemplateKey>("evening"));
        assert!(!valid::<TemplateKey>(" evening"));
        assert!(valid::<TimeZoneName>("Etc/GMT+1"));
        assert!(valid::<TimeZoneName>("Europe/London"));
        assert!(!valid::<TimeZoneName>("Europe London"));
        assert!(!valid::<TimeZoneName>("Mars/Olympus_Mons"));
    }
}
