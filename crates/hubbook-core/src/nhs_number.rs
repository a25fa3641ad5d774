//! The NHS number: ten digits whose last is a modulus-11 check digit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The regular expression (ECMA-262, for an OpenAPI `pattern`) of the texts
/// [`NhsNumber::parse`] reads: ten digits with spaces or hyphens anywhere among them. The
/// modulus-11 check digit is beyond a regular expression: a number of this shape whose check
/// digit is wrong is refused by the server alone.
pub const NHS_NUMBER_PATTERN: &str = r"^[ -]*(?:[0-9][ -]*){10}$";

/// A patient's NHS number, always ten digits with a valid check digit.
///
/// Parsing accepts the spaced form people read out (`943 476 5919`) and stores the bare digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NhsNumber(String);

impl NhsNumber {
    /// Parses and checks an NHS number, ignoring spaces and hyphens between digit groups.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let digits: String = input.chars().filter(|c| *c != ' ' && *c != '-').collect();
        if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::InvalidNhsNumber);
        }
        let values: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        match check_digit(&values[..9]) {
            Some(check) if check == values[9] => Ok(Self(digits)),
            _ => Err(ValidationError::InvalidNhsNumber),
        }
    }

    /// The ten digits, without spaces.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number in the 3-3-4 form people read out, such as `943 476 5919`.
    pub fn spaced(&self) -> String {
        format!("{} {} {}", &self.0[..3], &self.0[3..6], &self.0[6..])
    }
}

/// The modulus-11 check digit of the first nine digits, or `None` when no check digit fits
/// (a remainder that would need the digit 10), which makes those nine digits unusable.
pub fn check_digit(first_nine: &[u32]) -> Option<u32> {
    let sum: u32 = first_nine
        .iter()
        .zip((2..=10).rev())
        .map(|(d, w)| d * w)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        check => Some(check),
    }
}

impl FromStr for NhsNumber {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for NhsNumber {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<NhsNumber> for String {
    fn from(value: NhsNumber) -> Self {
        value.0
    }
}

impl fmt::Display for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_known_valid_numbers_in_any_spacing() {
        for n in ["9434765919", "943 476 5919", "943-476-5919", "9990000018"] {
            assert!(NhsNumber::parse(n).is_ok(), "{n}");
        }
        assert_eq!(
            NhsNumber::parse("943 476 5919").unwrap().as_str(),
            "9434765919"
        );
        assert_eq!(
            NhsNumber::parse("9434765919").unwrap().spaced(),
            "943 476 5919"
        );
    }

    #[test]
    fn rejects_wrong_length_letters_and_bad_check_digits() {
        for n in [
            "",
            "943476591",
            "94347659190",
            "94347659x9",
            "9434765918",
            "+943476591",
        ] {
            assert_eq!(
                NhsNumber::parse(n),
                Err(ValidationError::InvalidNhsNumber),
                "{n}"
            );
        }
    }

    /// Every number the parser accepts has the pattern's shape, and nothing of another shape
    /// is accepted.
    #[test]
    fn the_nhs_number_pattern_covers_the_parser() {
        let pattern = regex::Regex::new(NHS_NUMBER_PATTERN).unwrap();
        for good in [
            "9434765919",
            "943 476 5919",
            "943-476-5919",
            " 9434765919-",
            "9 4 3 4 7 6 5 9 1 9",
        ] {
            assert!(pattern.is_match(good), "{good:?}");
            assert!(NhsNumber::parse(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "943476591",
            "94347659190",
            "94347659x9",
            "+943476591",
            "943\t476 5919",
            "９434765919",
        ] {
            assert!(!pattern.is_match(bad), "{bad:?}");
            assert!(NhsNumber::parse(bad).is_err(), "{bad:?}");
        }
        // The shape is right but the check digit is not: only the parser can tell.
        assert!(pattern.is_match("9434765918"));
        assert!(NhsNumber::parse("9434765918").is_err());
    }

    #[test]
    fn rejects_nine_digits_whose_check_would_be_ten() {
        // Some nine-digit prefixes would need a check digit of 10: no tenth digit makes them valid.
        let nine = (0..1_000_000u32)
            .map(|n| format!("999{n:06}"))
            .find(|s| check_digit(&digits(s)).is_none())
            .unwrap();
        for last in 0..10 {
            assert!(NhsNumber::parse(&format!("{nine}{last}")).is_err());
        }
    }

    fn digits(s: &str) -> Vec<u32> {
        s.bytes().map(|b| u32::from(b - b'0')).collect()
    }

    fn valid_number() -> impl Strategy<Value = String> {
        proptest::collection::vec(0u32..10, 9).prop_filter_map(
            "nine digits without a check digit",
            |nine| {
                check_digit(&nine).map(|c| {
                    nine.iter()
                        .chain(std::iter::once(&c))
                        .map(|d| char::from(b'0' + *d as u8))
                        .collect()
                })
            },
        )
    }

    proptest! {
        #[test]
        fn every_generated_valid_number_is_accepted(n in valid_number()) {
            let parsed = NhsNumber::parse(&n).unwrap();
            prop_assert_eq!(parsed.as_str(), n.as_str());
        }

        #[test]
        fn any_single_digit_change_is_rejected(n in valid_number(), pos in 0usize..10, delta in 1u8..10) {
            let mut bytes = n.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert_eq!(NhsNumber::parse(&changed), Err(ValidationError::InvalidNhsNumber));
        }
    }
}
