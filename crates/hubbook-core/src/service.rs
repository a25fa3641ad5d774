//! Services and clinical roles: what a slot offers and who delivers it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The clinical role of whoever runs a session, so that patients "see the right person from the start".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClinicalRole {
    /// A general practitioner.
    Gp,
    /// An advanced nurse practitioner.
    AdvancedNursePractitioner,
    /// A practice nurse.
    Nurse,
    /// A physiotherapist.
    Physiotherapist,
    /// A clinical pharmacist.
    Pharmacist,
    /// A mental-health nurse.
    MentalHealthNurse,
    /// A healthcare assistant.
    HealthcareAssistant,
    /// A phlebotomist, who takes blood.
    Phlebotomist,
    /// A paramedic.
    Paramedic,
    /// A physician associate.
    PhysicianAssociate,
}

impl ClinicalRole {
    /// Every role, in a stable order.
    pub const ALL: [ClinicalRole; 10] = [
        Self::Gp,
        Self::AdvancedNursePractitioner,
        Self::Nurse,
        Self::Physiotherapist,
        Self::Pharmacist,
        Self::MentalHealthNurse,
        Self::HealthcareAssistant,
        Self::Phlebotomist,
        Self::Paramedic,
        Self::PhysicianAssociate,
    ];

    /// The role's stored and displayed name, such as `advanced_nurse_practitioner`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gp => "gp",
            Self::AdvancedNursePractitioner => "advanced_nurse_practitioner",
            Self::Nurse => "nurse",
            Self::Physiotherapist => "physiotherapist",
            Self::Pharmacist => "pharmacist",
            Self::MentalHealthNurse => "mental_health_nurse",
            Self::HealthcareAssistant => "healthcare_assistant",
            Self::Phlebotomist => "phlebotomist",
            Self::Paramedic => "paramedic",
            Self::PhysicianAssociate => "physician_associate",
        }
    }
}

crate::stored_as_text!(ClinicalRole);

impl FromStr for ClinicalRole {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownClinicalRole(s.to_owned()))
    }
}

impl fmt::Display for ClinicalRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The regular expression (ECMA-262, for an OpenAPI `pattern`) of exactly the texts
/// [`ServiceCode::parse`] accepts: a lower-case letter then up to 31 lower-case letters, digits
/// or hyphens, white space around trimmed.
pub const SERVICE_CODE_PATTERN: &str = concat!(
    r"^",
    crate::space_class!(),
    r"*[a-z][a-z0-9-]{0,31}",
    crate::space_class!(),
    r"*$"
);

/// A service's short code within its cluster, such as `gp-evening` or `phlebotomy`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServiceCode(String);

impl ServiceCode {
    /// Parses a service code: 1 to 32 lower-case letters, digits or hyphens, starting with a letter.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let code = input.trim();
        let ok = (1..=32).contains(&code.len())
            && code.starts_with(|c: char| c.is_ascii_lowercase())
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(code.to_owned()))
        } else {
            Err(ValidationError::InvalidServiceCode)
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ServiceCode {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ServiceCode> for String {
    fn from(value: ServiceCode) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for role in ClinicalRole::ALL {
            assert_eq!(role.as_str().parse::<ClinicalRole>().unwrap(), role);
        }
        assert_eq!(
            "surgeon".parse::<ClinicalRole>().unwrap_err().code(),
            "unknown-clinical-role"
        );
    }

    #[test]
    fn the_service_code_pattern_agrees_with_the_parser() {
        let pattern = regex::Regex::new(SERVICE_CODE_PATTERN).unwrap();
        let longest = format!("a{}", "-".repeat(31));
        let too_long = "a".repeat(33);
        for sample in [
            "gp-evening",
            " phlebotomy2 ",
            "a",
            longest.as_str(),
            too_long.as_str(),
            "",
            "GP",
            "-gp",
            "gp evening",
            "gp_evening",
            "é",
        ] {
            assert_eq!(
                pattern.is_match(sample),
                ServiceCode::parse(sample).is_ok(),
                "{sample:?}"
            );
        }
    }

    #[test]
    fn service_codes() {
        assert!(ServiceCode::parse("gp-evening").is_ok());
        assert!(ServiceCode::parse("phlebotomy2").is_ok());
        for bad in ["", "GP", "-gp", "gp evening", &"a".repeat(33)] {
            assert!(ServiceCode::parse(bad).is_err(), "{bad}");
        }
    }
}
