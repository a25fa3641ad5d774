//! Practices: GP surgeries identified by ODS code, with a registered list and a data-sharing agreement.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The regular expression (ECMA-262, for an OpenAPI `pattern`) of exactly the texts
/// [`OdsCode::parse`] accepts: a letter in either case and five digits, white space around trimmed.
pub const ODS_CODE_PATTERN: &str = concat!(
    r"^",
    crate::space_class!(),
    r"*[A-Za-z][0-9]{5}",
    crate::space_class!(),
    r"*$"
);

/// The list sizes a practice may have: above zero and under ten million.
pub const LIST_SIZE: std::ops::RangeInclusive<i64> = 1..=9_999_999;

/// An organisation's ODS code as used for GP practices: one letter and five digits, e.g. `A81001`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OdsCode(String);

impl OdsCode {
    /// Parses an ODS code, upper-casing its letter.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let code = input.trim().to_ascii_uppercase();
        let bytes = code.as_bytes();
        let ok = bytes.len() == 6
            && bytes[0].is_ascii_uppercase()
            && bytes[1..].iter().all(u8::is_ascii_digit);
        if ok {
            Ok(Self(code))
        } else {
            Err(ValidationError::InvalidOdsCode)
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OdsCode {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<OdsCode> for String {
    fn from(value: OdsCode) -> Self {
        value.0
    }
}

impl fmt::Display for OdsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A practice's registered list size: the number of patients registered, always above zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct ListSize(u32);

impl ListSize {
    /// Checks that a list size is above zero and of a plausible magnitude (under ten million).
    pub fn new(value: i64) -> Result<Self, ValidationError> {
        if LIST_SIZE.contains(&value) {
            Ok(Self(value as u32))
        } else {
            Err(ValidationError::InvalidListSize)
        }
    }

    /// The number of registered patients.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for ListSize {
    type Error = ValidationError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<ListSize> for i64 {
    fn from(value: ListSize) -> Self {
        i64::from(value.0)
    }
}

/// The dates between which a practice's data-sharing agreement with its cluster is in force.
///
/// Without an agreement a practice may not book into, or see patients at, other sites of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DataSharingAgreement {
    /// First day the agreement is in force; `None` means no agreement has been signed.
    pub from: Option<NaiveDate>,
    /// Last day the agreement is in force; `None` means it runs until ended.
    pub to: Option<NaiveDate>,
}

impl DataSharingAgreement {
    /// Checks that an agreement's end, if any, is not before its start and that it has a start.
    pub fn new(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Self, ValidationError> {
        match (from, to) {
            (None, Some(_)) => Err(ValidationError::InvalidDateRange(
                "the data-sharing agreement",
            )),
            (Some(f), Some(t)) if t < f => Err(ValidationError::InvalidDateRange(
                "the data-sharing agreement",
            )),
            _ => Ok(Self { from, to }),
        }
    }

    /// Whether the agreement is in force on `date`.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        match self.from {
            None => false,
            Some(from) => from <= date && self.to.is_none_or(|to| date <= to),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn ods_codes() {
        assert_eq!(OdsCode::parse(" a81001 ").unwrap().as_str(), "A81001");
        for bad in [
            "", "A8100", "A810011", "181001", "AB1001", "A8100X", "A81 001",
        ] {
            assert_eq!(
                OdsCode::parse(bad),
                Err(ValidationError::InvalidOdsCode),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_ods_code_pattern_agrees_with_the_parser() {
        let pattern = regex::Regex::new(ODS_CODE_PATTERN).unwrap();
        for sample in [
            "A81001", " a81001 ", "Z00000", "", "A8100", "A810011", "181001", "AB1001", "A8100X",
            "A81 001", "Ä81001", "A８1001",
        ] {
            assert_eq!(
                pattern.is_match(sample),
                OdsCode::parse(sample).is_ok(),
                "{sample:?}"
            );
        }
    }

    #[test]
    fn list_sizes() {
        assert_eq!(ListSize::new(9_000).unwrap().get(), 9_000);
        assert_eq!(ListSize::new(0), Err(ValidationError::InvalidListSize));
        assert_eq!(ListSize::new(-5), Err(ValidationError::InvalidListSize));
        assert_eq!(
            ListSize::new(10_000_000),
            Err(ValidationError::InvalidListSize)
        );
    }

    #[test]
    fn agreements() {
        let none = DataSharingAgreement::default();
        assert!(!none.in_force_on(d("2026-01-01")));
        let open = DataSharingAgreement::new(Some(d("2026-01-01")), None).unwrap();
        assert!(open.in_force_on(d("2030-01-01")));
        assert!(!open.in_force_on(d("2025-12-31")));
        let closed =
            DataSharingAgreement::new(Some(d("2026-01-01")), Some(d("2026-03-31"))).unwrap();
        assert!(closed.in_force_on(d("2026-03-31")));
        assert!(!closed.in_force_on(d("2026-04-01")));
        assert!(DataSharingAgreement::new(Some(d("2026-02-01")), Some(d("2026-01-01"))).is_err());
        assert!(DataSharingAgreement::new(None, Some(d("2026-01-01"))).is_err());
    }
}
