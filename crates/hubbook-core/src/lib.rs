//! Pure domain rules of hubbook: validated domain objects and the rules that act on them.
//!
//! Nothing here knows about HTTP or SQL. Every constructor validates its input, so a value of a
//! type from this crate is always a valid one; the store and the API build on that guarantee.

mod text;

pub mod access;
pub mod account;
pub mod allocation;
pub mod appointment;
pub mod bank_holidays;
pub mod clock;
pub mod cluster;
pub mod control;
pub mod error;
pub mod fair_share;
pub mod nhs_number;
pub mod patient;
pub mod practice;
pub mod publish;
pub mod ranking;
pub mod refusal;
pub mod report;
pub mod role;
pub mod rota;
pub mod service;
pub mod sharing;
pub mod site;
pub mod throttle;
pub mod triage;

pub use clock::{Clock, ManualClock, SystemClock};
pub use cluster::{ClusterCode, ClusterTimeZone, LocalDay};
pub use error::ValidationError;
pub use nhs_number::NhsNumber;
pub use practice::{DataSharingAgreement, ListSize, OdsCode};
pub use refusal::Refusal;
pub use role::Role;
pub use service::{ClinicalRole, ServiceCode};
pub use site::{Coordinates, Postcode, SiteKind};

/// The longest name of a thing a cluster keeps (a practice, site, service, cluster, user's
/// display name, integration or clinician), in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The longest free text a person writes into a booking or a site (an address, a reason, a
/// cancellation reason, a clinical note), in characters.
pub const MAX_TEXT_CHARS: usize = 500;

/// The longest clinical note or booking note, in characters.
pub const MAX_NOTES_CHARS: usize = 2000;

/// The longest short reference a caller gives (a 111 case reference), in characters.
pub const MAX_REFERENCE_CHARS: usize = 100;

/// A character a text may hold anywhere (anything but a control character), as an ECMA-262 and
/// Rust regular expression class; the building block of [`name_pattern`] and [`text_pattern`].
const TEXT_CHAR: &str = r"[^\x00-\x1F\x7F-\x9F]";

/// A character a text may start or end with: neither a control character nor white space.
const TEXT_EDGE: &str = r"[^\s\x00-\x1F\x7F-\x9F]";

/// The regular expression (ECMA-262, for an OpenAPI `pattern`) of exactly the texts of 1 to
/// `max` characters with no control character nor white space at either end, as
/// [`rota::SessionTemplate`] keys and references are checked.
pub fn text_pattern(max: usize) -> String {
    format!("^{}$", text_core(max))
}

/// The regular expression (ECMA-262, for an OpenAPI `pattern`) of exactly the values
/// [`validate_name`] accepts with this `max`: white space around is trimmed, the rest is 1 to
/// `max` characters without a control character.
pub fn name_pattern(max: usize) -> String {
    format!(
        "^{SPACE}*{}{SPACE}*$",
        text_core(max),
        SPACE = control::SPACE
    )
}

fn text_core(max: usize) -> String {
    match max {
        0 => r"[^\s\S]".to_owned(),
        1 => TEXT_EDGE.to_owned(),
        _ => format!("{TEXT_EDGE}(?:{TEXT_CHAR}{{0,{}}}{TEXT_EDGE})?", max - 2),
    }
}

/// Checks an optional human-readable text as [`validate_name`] does, when it is given.
pub fn validate_optional_name(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    value.map(|v| validate_name(field, v, max)).transpose()
}

/// Checks a human-readable name: trimmed, not empty and at most `max` characters.
pub fn validate_name(
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max || trimmed.chars().any(char::is_control)
    {
        return Err(ValidationError::InvalidName { field, max });
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            validate_name("name", "  Hub North ", 50).unwrap(),
            "Hub North"
        );
        assert!(validate_name("name", "   ", 50).is_err());
        assert!(validate_name("name", &"x".repeat(51), 50).is_err());
        assert!(validate_name("name", "a\u{0}b", 50).is_err());
    }

    /// The pattern a schema states for a name agrees with [`validate_name`] on every sample a
    /// request may carry.
    #[test]
    fn name_patterns_agree_with_the_check() {
        for max in [1, 2, 5, MAX_NAME_CHARS] {
            let pattern = regex::Regex::new(&name_pattern(max)).unwrap();
            let samples = [
                "a".to_owned(),
                " a ".to_owned(),
                "\ta b\n".to_owned(),
                "ab".to_owned(),
                "Hub North".to_owned(),
                "Dr Ngozi Okafor-Smith".to_owned(),
                "é".repeat(max),
                format!("  {}  ", "x".repeat(max)),
                "x".repeat(max + 1),
                String::new(),
                "   ".to_owned(),
                "a\u{0}b".to_owned(),
                "a\u{85}".to_owned(),
                "a\nb".to_owned(),
                "a\u{7f}".to_owned(),
                "\u{b}a".to_owned(),
                "a\u{c}".to_owned(),
                "\u{2003}a\u{3000}".to_owned(),
            ];
            // A request holding a refused control character is refused before any check.
            for sample in samples {
                assert_eq!(
                    pattern.is_match(&sample),
                    validate_name("name", &sample, max).is_ok()
                        && !sample.chars().any(control::refused),
                    "{max} {sample:?}"
                );
            }
        }
    }

    /// The pattern of a text that is not trimmed refuses white space at its ends as the rota's
    /// check does.
    #[test]
    fn text_patterns_refuse_white_space_around() {
        let pattern = regex::Regex::new(&text_pattern(4)).unwrap();
        for good in ["a", "a b", "abcd"] {
            assert!(pattern.is_match(good), "{good}");
        }
        for bad in ["", " a", "a ", "abcde", "a\tb"] {
            assert!(!pattern.is_match(bad), "{bad:?}");
        }
    }
}
