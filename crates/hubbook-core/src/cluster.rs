//! Clusters: the tenant boundary, a PCN or federation with its own code and time zone.

use std::fmt;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A cluster's code, such as a PCN code `U00001`: 3 to 16 capital letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClusterCode(String);

impl ClusterCode {
    /// Parses a cluster code, upper-casing it first.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let code = input.trim().to_ascii_uppercase();
        let ok = (3..=16).contains(&code.len())
            && code.starts_with(|c: char| c.is_ascii_uppercase())
            && code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok {
            Ok(Self(code))
        } else {
            Err(ValidationError::InvalidClusterCode)
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClusterCode {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ClusterCode> for String {
    fn from(value: ClusterCode) -> Self {
        value.0
    }
}

impl fmt::Display for ClusterCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The IANA time zone a cluster writes its rotas in; Europe/London unless said otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClusterTimeZone(pub Tz);

impl ClusterTimeZone {
    /// The zone of every cluster in England.
    pub const DEFAULT: ClusterTimeZone = ClusterTimeZone(Tz::Europe__London);

    /// Parses an IANA zone name such as `Europe/London`.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        input
            .trim()
            .parse::<Tz>()
            .map(Self)
            .map_err(|_| ValidationError::InvalidTimeZone(input.to_owned()))
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl Default for ClusterTimeZone {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_codes() {
        assert_eq!(ClusterCode::parse("u00001").unwrap().as_str(), "U00001");
        assert_eq!(ClusterCode::parse("BNSSGFED").unwrap().as_str(), "BNSSGFED");
        for bad in ["", "U1", "1U0001", "U 0001", "U0000-1", "ABCDEFGHIJKLMNOPQ"] {
            assert_eq!(
                ClusterCode::parse(bad),
                Err(ValidationError::InvalidClusterCode),
                "{bad}"
            );
        }
    }

    #[test]
    fn time_zones() {
        assert_eq!(
            ClusterTimeZone::parse("Europe/London").unwrap(),
            ClusterTimeZone::DEFAULT
        );
        assert_eq!(
            ClusterTimeZone::parse("Australia/Lord_Howe")
                .unwrap()
                .name(),
            "Australia/Lord_Howe"
        );
        let err = ClusterTimeZone::parse("Europe/Londinium").unwrap_err();
        assert_eq!(err.code(), "invalid-time-zone");
        assert!(ClusterTimeZone::parse("").is_err());
    }
}
