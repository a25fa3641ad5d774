//! The patient being booked and who asked for the appointment, checked once for every front end.

use chrono::NaiveDate;

use crate::{validate_name, validate_optional_name, NhsNumber, ValidationError, MAX_NAME_CHARS};

/// The regular expression (ECMA-262, for an OpenAPI `pattern`) of exactly the phone numbers
/// [`Patient::parse`] accepts: 7 to 15 digits among spaces, `+`, `(`, `)` and `-`, white space
/// around trimmed.
pub const PHONE_PATTERN: &str = concat!(
    r"^",
    crate::space_class!(),
    r"*[ +()-]*(?:[0-9][ +()-]*){7,15}",
    crate::space_class!(),
    r"*$"
);

/// The regular expression (ECMA-262) of the emails [`Patient::parse`] accepts but for their
/// length: one `@`, no white space nor control character inside, white space around trimmed.
pub const EMAIL_PATTERN: &str = concat!(
    r"^",
    crate::space_class!(),
    r"*[^@\s\x00-\x1F\x7F-\x9F]*@[^@\s\x00-\x1F\x7F-\x9F]*",
    crate::space_class!(),
    r"*$"
);

/// The longest email address, in characters once trimmed.
pub const MAX_EMAIL_CHARS: usize = 254;

/// The longest note of a patient's reasonable adjustments, in characters.
pub const MAX_ADJUSTMENTS_CHARS: usize = 1000;

/// The longest reference a requester gives its request, in characters.
pub const MAX_REQUESTER_REFERENCE_CHARS: usize = 100;

/// The regular expression (ECMA-262) of exactly the requester codes [`Requester::parse`]
/// accepts: 3 to 10 letters or digits in either case, white space around trimmed.
pub const REQUESTER_ODS_PATTERN: &str = concat!(
    r"^",
    crate::space_class!(),
    r"*[A-Za-z0-9]{3,10}",
    crate::space_class!(),
    r"*$"
);

/// A patient's details as a booking records them; a value of this type has passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    /// NHS number, when known.
    pub nhs_number: Option<NhsNumber>,
    /// Full name.
    pub name: String,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// A phone number to reach the patient.
    pub phone: String,
    /// An email address.
    pub email: Option<String>,
    /// Reasonable adjustments (access needs, interpreter...).
    pub adjustments: Option<String>,
}

impl Patient {
    /// Checks the details as given: an NHS number with its check digit, a name, a phone of 7 to
    /// 15 digits and an email with one `@`. The birth date is checked against a day by
    /// [`Patient::born_by`], once the day is known.
    pub fn parse(
        nhs_number: Option<&str>,
        name: &str,
        birth_date: NaiveDate,
        phone: &str,
        email: Option<&str>,
        adjustments: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let nhs_number = nhs_number.map(NhsNumber::parse).transpose()?;
        let phone = phone.trim();
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if !(7..=15).contains(&digits)
            || !phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +()-".contains(c))
        {
            return Err(ValidationError::InvalidPhone);
        }
        let email = validate_optional_name("email", email, MAX_EMAIL_CHARS)?;
        if email
            .as_deref()
            .is_some_and(|e| e.matches('@').count() != 1 || e.contains(char::is_whitespace))
        {
            return Err(ValidationError::InvalidEmail);
        }
        Ok(Self {
            nhs_number,
            name: validate_name("patient.name", name, MAX_NAME_CHARS)?,
            birth_date,
            phone: phone.to_owned(),
            email,
            adjustments: validate_optional_name(
                "patient.adjustments",
                adjustments,
                MAX_ADJUSTMENTS_CHARS,
            )?,
        })
    }

    /// Checks the birth date is plausible on `today`: not after it, nor over 130 years before.
    pub fn born_by(&self, today: NaiveDate) -> Result<(), ValidationError> {
        if self.birth_date > today || today.years_since(self.birth_date).is_none_or(|y| y > 130) {
            return Err(ValidationError::InvalidBirthDate);
        }
        Ok(())
    }
}

/// The organisation that asked for an appointment when it is not the patient's practice (a
/// hospital asking for bloods), carried to every read and report so results find their way back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    /// Its ODS code, upper case: 3 to 10 letters and digits.
    pub ods: String,
    /// Its reference for the request.
    pub reference: Option<String>,
}

impl Requester {
    /// Checks a requester's code and reference.
    pub fn parse(ods: &str, reference: Option<&str>) -> Result<Self, ValidationError> {
        let ods = ods.trim().to_ascii_uppercase();
        if !(3..=10).contains(&ods.len()) || !ods.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ValidationError::InvalidRequester);
        }
        Ok(Self {
            ods,
            reference: validate_optional_name(
                "requester.reference",
                reference,
                MAX_REQUESTER_REFERENCE_CHARS,
            )?,
        })
    }
}

/// How a patient who is not registered at the practice or hub is registered for care there, as
/// GP Connect's "register a patient" names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// A temporary resident (code `T`).
    Temporary,
    /// Emergency treatment (code `E`).
    Emergency,
    /// Immediately necessary treatment (code `IN`).
    ImmediatelyNecessary,
}

impl Registration {
    /// Every registration type, in code order.
    pub const ALL: [Registration; 3] =
        [Self::Temporary, Self::Emergency, Self::ImmediatelyNecessary];

    /// Its code, as stored and as GP Connect's registration type code system has it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Temporary => "T",
            Self::Emergency => "E",
            Self::ImmediatelyNecessary => "IN",
        }
    }

    /// Its name in words.
    pub fn display(self) -> &'static str {
        match self {
            Self::Temporary => "Temporary",
            Self::Emergency => "Emergency",
            Self::ImmediatelyNecessary => "Immediately necessary",
        }
    }

    /// The registration type of a code; `None` for any other.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn parse(birth: &str, phone: &str, email: Option<&str>) -> Result<Patient, ValidationError> {
        let p = Patient::parse(
            Some("999 000 0018"),
            " Ada Example ",
            d(birth),
            phone,
            email,
            None,
        )?;
        p.born_by(d("2026-12-01"))?;
        Ok(p)
    }

    #[test]
    fn registration_codes_read_back() {
        for r in Registration::ALL {
            assert_eq!(Registration::from_code(r.code()), Some(r));
        }
        assert_eq!(Registration::from_code("t"), None);
        assert_eq!(Registration::from_code("R"), None);
    }

    #[test]
    fn patients_are_checked_and_trimmed() {
        let p = parse("1990-05-01", " 0113 496 0000 ", Some("ada@example.org")).unwrap();
        assert_eq!(p.name, "Ada Example");
        assert_eq!(p.phone, "0113 496 0000");
        assert_eq!(p.nhs_number.unwrap().as_str(), "9990000018");
        assert_eq!(
            parse("2026-12-02", "0113 496 0000", None),
            Err(ValidationError::InvalidBirthDate)
        );
        assert_eq!(
            parse("1890-01-01", "0113 496 0000", None),
            Err(ValidationError::InvalidBirthDate)
        );
        assert_eq!(
            parse("1990-05-01", "12345", None),
            Err(ValidationError::InvalidPhone)
        );
        assert_eq!(
            parse("1990-05-01", "0113 496 000x", None),
            Err(ValidationError::InvalidPhone)
        );
        for bad in ["ada.example.org", "ada @example.org", "a@b@c"] {
            assert_eq!(
                parse("1990-05-01", "0113 496 0000", Some(bad)),
                Err(ValidationError::InvalidEmail),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_phone_pattern_agrees_with_the_check() {
        let pattern = regex::Regex::new(PHONE_PATTERN).unwrap();
        for sample in [
            "0113 496 0000",
            " +44 (0)113 496-0000 ",
            "1234567",
            "123456789012345",
            "",
            "123456",
            "1234567890123456",
            "0113 496 000x",
            "0113\t496 0000",
            "(((1234567)))",
            "０１１３４９６００００",
        ] {
            let accepted = Patient::parse(None, "Ada", d("1990-05-01"), sample, None, None).is_ok();
            assert_eq!(pattern.is_match(sample), accepted, "{sample:?}");
        }
    }

    #[test]
    fn the_email_pattern_agrees_with_the_check_but_for_length() {
        let pattern = regex::Regex::new(EMAIL_PATTERN).unwrap();
        let check = |email: &str| {
            Patient::parse(
                None,
                "Ada",
                d("1990-05-01"),
                "0113 496 0000",
                Some(email),
                None,
            )
            .is_ok()
        };
        for sample in [
            "ada@example.org",
            " ada@example.org ",
            "@",
            "ada.example.org",
            "ada @example.org",
            "a@b@c",
            "ada@exa\u{7f}mple.org",
            "",
            " ",
        ] {
            assert_eq!(pattern.is_match(sample), check(sample), "{sample:?}");
        }
    }

    #[test]
    fn the_requester_pattern_agrees_with_the_check() {
        let pattern = regex::Regex::new(REQUESTER_ODS_PATTERN).unwrap();
        for sample in [
            "RR8",
            " rr8 ",
            "ABCDEFGH12",
            "R8",
            "ABCDEFGH123",
            "R-8",
            "RÖ8",
            "",
        ] {
            assert_eq!(
                pattern.is_match(sample),
                Requester::parse(sample, None).is_ok(),
                "{sample:?}"
            );
        }
    }

    #[test]
    fn requesters_are_upper_case_codes() {
        assert_eq!(Requester::parse(" rr8 ", None).unwrap().ods, "RR8");
        assert_eq!(
            Requester::parse("R-8", None),
            Err(ValidationError::InvalidRequester)
        );
        assert_eq!(
            Requester::parse("RR8", Some("  ")),
            Err(ValidationError::InvalidName {
                field: "requester.reference",
                max: 100
            })
        );
    }
}
