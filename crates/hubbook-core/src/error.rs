//! The one error type of the domain's validation rules.

use thiserror::Error;

/// Why a value offered for a domain object was refused.
///
/// Each variant has a stable [`code`](ValidationError::code) that callers use to tell kinds apart.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// An NHS number that is not ten digits with a valid modulus-11 check digit.
    #[error("an NHS number is ten digits whose last is a modulus-11 check digit")]
    InvalidNhsNumber,
    /// An ODS code that is not a letter followed by five digits.
    #[error("a practice ODS code is one letter followed by five digits, for example A81001")]
    InvalidOdsCode,
    /// A cluster code that is not 3 to 16 capital letters and digits starting with a letter.
    #[error("a cluster code is 3 to 16 capital letters and digits starting with a letter, for example U00001")]
    InvalidClusterCode,
    /// A time zone name that is not in the IANA database.
    #[error("'{0}' is not an IANA time zone name such as Europe/London")]
    InvalidTimeZone(String),
    /// A string that is not a well-formed UK postcode.
    #[error("'{0}' is not a well-formed UK postcode such as LS1 4AP")]
    InvalidPostcode(String),
    /// Coordinates outside the British Isles or not numbers.
    #[error("latitude must lie in 49..61 and longitude in -11..2 (the British Isles)")]
    InvalidCoordinates,
    /// A registered list size of zero or below.
    #[error("a registered list size must be greater than zero")]
    InvalidListSize,
    /// A service code that is not a short lower-case slug.
    #[error(
        "a service code is 1 to 32 lower-case letters, digits or hyphens, for example gp-evening"
    )]
    InvalidServiceCode,
    /// A clinical role name this product does not know.
    #[error("'{0}' is not a known clinical role")]
    UnknownClinicalRole(String),
    /// A role name this product does not know.
    #[error("'{0}' is not a known role")]
    UnknownRole(String),
    /// A stored or requested name that is not one of a field's values (a status, a channel...).
    #[error("'{value}' is not a {what}; the {what}s are {known}")]
    UnknownName {
        /// What the name should have been (`appointment status`, `channel`...).
        what: &'static str,
        /// The name given.
        value: String,
        /// The names known, comma-separated.
        known: &'static str,
    },
    /// A site kind other than hub or surgery.
    #[error("'{0}' is not a site kind (hub or surgery)")]
    UnknownSiteKind(String),
    /// A date range whose end comes before its start.
    #[error("the date range of {0} ends before it starts")]
    InvalidDateRange(&'static str),
    /// A date of birth in the future or more than 130 years ago.
    #[error("the date of birth is in the future or over 130 years ago")]
    InvalidBirthDate,
    /// A phone number that is not 7 to 15 digits with the usual separators.
    #[error("a phone number is 7 to 15 digits, with spaces, +, ( ) or - between them")]
    InvalidPhone,
    /// An email address without one `@`, or with spaces.
    #[error("an email address has one @ and no spaces")]
    InvalidEmail,
    /// A requesting organisation's code that is not 3 to 10 letters and digits.
    #[error("a requesting organisation's ODS code is 3 to 10 letters and digits")]
    InvalidRequester,
    /// A name that is empty, too long or holds control characters.
    #[error("{field} must be 1 to {max} printable characters")]
    InvalidName {
        /// The field that was refused.
        field: &'static str,
        /// The longest value allowed.
        max: usize,
    },
}

impl ValidationError {
    /// A stable, lower-case, hyphenated code naming the kind of error, for machines to match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidNhsNumber => "invalid-nhs-number",
            Self::UnknownName { .. } => "invalid-value",
            Self::InvalidOdsCode => "invalid-ods-code",
            Self::InvalidClusterCode => "invalid-cluster-code",
            Self::InvalidTimeZone(_) => "invalid-time-zone",
            Self::InvalidPostcode(_) => "invalid-postcode",
            Self::InvalidCoordinates => "invalid-coordinates",
            Self::InvalidListSize => "invalid-list-size",
            Self::InvalidServiceCode => "invalid-service-code",
            Self::UnknownClinicalRole(_) => "unknown-clinical-role",
            Self::UnknownRole(_) => "unknown-role",
            Self::UnknownSiteKind(_) => "unknown-site-kind",
            Self::InvalidDateRange(_) => "invalid-date-range",
            Self::InvalidName { .. } => "invalid-name",
            Self::InvalidBirthDate => "invalid-birth-date",
            Self::InvalidPhone => "invalid-phone",
            Self::InvalidEmail => "invalid-email",
            Self::InvalidRequester => "invalid-requester",
        }
    }
}
