//! Pure domain rules of hubbook: validated domain objects and the rules that act on them.
//!
//! Nothing here knows about HTTP or SQL. Every constructor validates its input, so a value of a
//! type from this crate is always a valid one; the store and the API build on that guarantee.

mod text;

pub mod access;
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
}
