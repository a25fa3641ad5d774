//! Sites: the places sessions run, hubs and member surgeries, with a postcode and coordinates.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Whether a site is one of the cluster's extended-access hubs or a member surgery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    /// An extended-access hub run for the whole cluster.
    Hub,
    /// A member practice's own surgery offering sessions to the cluster.
    Surgery,
}

impl SiteKind {
    /// Every kind, in a stable order.
    pub const ALL: [SiteKind; 2] = [Self::Hub, Self::Surgery];

    /// The kind's stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hub => "hub",
            Self::Surgery => "surgery",
        }
    }
}

impl FromStr for SiteKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hub" => Ok(Self::Hub),
            "surgery" => Ok(Self::Surgery),
            other => Err(ValidationError::UnknownSiteKind(other.to_owned())),
        }
    }
}

crate::stored_as_text!(SiteKind);

/// The regular expression (ECMA-262, for an OpenAPI `pattern`) of exactly the texts
/// [`Postcode::parse`] accepts: an outward code (A9, A99, A9A, AA9, AA99 or AA9A) and an inward
/// code (a digit and two letters other than C, I, K, M, O and V), or `GIR 0AA`, in either case
/// and with white space anywhere.
pub const POSTCODE_PATTERN: &str = concat!(
    r"^",
    crate::space_class!(),
    r"*(?:[Gg]",
    crate::space_class!(),
    r"*[Ii]",
    crate::space_class!(),
    r"*[Rr]",
    crate::space_class!(),
    r"*0",
    crate::space_class!(),
    r"*[Aa]",
    crate::space_class!(),
    r"*[Aa]",
    r"|[A-Za-z]",
    crate::space_class!(),
    r"*(?:[A-Za-z]",
    crate::space_class!(),
    r"*)?[0-9]",
    crate::space_class!(),
    r"*(?:[A-Za-z0-9]",
    crate::space_class!(),
    r"*)?",
    r"[0-9]",
    crate::space_class!(),
    r"*[ABD-HJLNP-UW-Zabd-hjlnp-uw-z]",
    crate::space_class!(),
    r"*[ABD-HJLNP-UW-Zabd-hjlnp-uw-z])",
    crate::space_class!(),
    r"*$"
);

/// The latitudes [`Coordinates::new`] accepts, in degrees north: the British Isles.
pub const LATITUDE: std::ops::RangeInclusive<f64> = 49.0..=61.0;

/// The longitudes [`Coordinates::new`] accepts, in degrees east: the British Isles.
pub const LONGITUDE: std::ops::RangeInclusive<f64> = -11.0..=2.0;

/// A UK postcode in its normal written form: capitals, one space before the inward code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Postcode(String);

impl Postcode {
    /// Parses a postcode in any case and spacing (`ls14ap`, `LS1 4AP`) into its normal form.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let err = || ValidationError::InvalidPostcode(input.trim().to_owned());
        if compact == "GIR0AA" {
            return Ok(Self("GIR 0AA".into()));
        }
        if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
            return Err(err());
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        let inward_ok = {
            let b = inward.as_bytes();
            b[0].is_ascii_digit()
                && b[1..]
                    .iter()
                    .all(|c| c.is_ascii_uppercase() && !b"CIKMOV".contains(c))
        };
        if !inward_ok || !outward_ok(outward.as_bytes()) {
            return Err(err());
        }
        Ok(Self(format!("{outward} {inward}")))
    }

    /// The postcode as text, e.g. `LS1 4AP`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The outward code's shapes: A9, A99, A9A, AA9, AA99, AA9A.
fn outward_ok(o: &[u8]) -> bool {
    let letter = |c: u8| c.is_ascii_uppercase();
    let digit = |c: u8| c.is_ascii_digit();
    match o {
        [a, b] => letter(*a) && digit(*b),
        [a, b, c] => {
            letter(*a) && ((digit(*b) && (digit(*c) || letter(*c))) || (letter(*b) && digit(*c)))
        }
        [a, b, c, d] => letter(*a) && letter(*b) && digit(*c) && (digit(*d) || letter(*d)),
        _ => false,
    }
}

impl TryFrom<String> for Postcode {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Postcode> for String {
    fn from(value: Postcode) -> Self {
        value.0
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A point given as WGS84 latitude and longitude, checked to lie in the British Isles.
///
/// The bound catches swapped or mistyped coordinates, which would otherwise rank every slot wrongly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coordinates {
    /// Degrees north.
    pub latitude: f64,
    /// Degrees east (negative is west).
    pub longitude: f64,
}

impl Coordinates {
    /// Checks a latitude and longitude pair.
    pub fn new(latitude: f64, longitude: f64) -> Result<Self, ValidationError> {
        if LATITUDE.contains(&latitude) && LONGITUDE.contains(&longitude) {
            Ok(Self {
                latitude,
                longitude,
            })
        } else {
            Err(ValidationError::InvalidCoordinates)
        }
    }

    /// The great-circle distance to another point in kilometres (haversine).
    pub fn distance_km(&self, other: &Coordinates) -> f64 {
        const EARTH_RADIUS_KM: f64 = 6371.0088;
        let (p1, p2) = (self.latitude.to_radians(), other.latitude.to_radians());
        let dp = p2 - p1;
        let dl = (other.longitude - self.longitude).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postcodes_in_every_shape() {
        for (input, normal) in [
            ("ls14ap", "LS1 4AP"),
            ("M1 1AE", "M1 1AE"),
            ("B33 8TH", "B33 8TH"),
            ("CR2 6XH", "CR2 6XH"),
            ("DN55 1PT", "DN55 1PT"),
            ("W1A 0AX", "W1A 0AX"),
            ("EC1A 1BB", "EC1A 1BB"),
            (" bs1  6qs ", "BS1 6QS"),
        ] {
            assert_eq!(Postcode::parse(input).unwrap().as_str(), normal, "{input}");
        }
    }

    #[test]
    fn bad_postcodes() {
        for bad in [
            "", "LS1", "LS1 4A", "LS1 AAP", "1S1 4AP", "LS1 4CI", "LSS1 4AP", "LS1-4AP", "ŁS1 4AP",
        ] {
            assert_eq!(
                Postcode::parse(bad).unwrap_err().code(),
                "invalid-postcode",
                "{bad}"
            );
        }
    }

    #[test]
    fn the_postcode_pattern_agrees_with_the_parser() {
        let pattern = regex::Regex::new(POSTCODE_PATTERN).unwrap();
        for sample in [
            "ls14ap",
            "M1 1AE",
            "B33 8TH",
            "CR2 6XH",
            "DN55 1PT",
            "W1A 0AX",
            "EC1A 1BB",
            " bs1  6qs ",
            "L S 1 4 A P",
            "gir0aa",
            "GIR 0AA",
            "",
            "LS1",
            "LS1 4A",
            "LS1 AAP",
            "1S1 4AP",
            "LS1 4CI",
            "LS1 4ai",
            "LSS1 4AP",
            "LS1-4AP",
            "ŁS1 4AP",
            "EC1AA 1BB",
            "GIR 0AB",
            "A1 1AA\u{0}",
        ] {
            assert_eq!(
                pattern.is_match(sample),
                Postcode::parse(sample).is_ok(),
                "{sample:?}"
            );
        }
    }

    #[test]
    fn coordinates_and_distance() {
        let leeds = Coordinates::new(53.7997, -1.5492).unwrap();
        let bradford = Coordinates::new(53.7938, -1.7564).unwrap();
        let km = leeds.distance_km(&bradford);
        assert!((13.0..14.5).contains(&km), "{km}");
        assert_eq!(leeds.distance_km(&leeds), 0.0);
        assert_eq!(
            Coordinates::new(-1.5, 53.8),
            Err(ValidationError::InvalidCoordinates)
        );
        assert_eq!(
            Coordinates::new(f64::NAN, 0.0),
            Err(ValidationError::InvalidCoordinates)
        );
    }
}
