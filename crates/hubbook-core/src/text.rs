//! One way for a domain value to travel as text: the store reads a column's text into the type
//! (`TryFrom<String>`, refusing a value the type does not know) and writes it back (`Into<String>`),
//! so rows carry typed values and no rule compares strings.

/// Implements `TryFrom<String>` (by the type's `FromStr`) and `From<T> for String` (by its
/// `as_str`) for a value stored as text.
#[macro_export]
macro_rules! stored_as_text {
    ($($ty:ty),+ $(,)?) => {$(
        impl TryFrom<String> for $ty {
            type Error = <$ty as std::str::FromStr>::Err;
            fn try_from(text: String) -> Result<Self, Self::Error> {
                text.parse()
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.as_str().to_owned()
            }
        }
    )+};
}

/// Declares a fieldless enum with its stored names, `as_str`, `ALL`, `FromStr` (refusing with
/// the error `$make_err` builds from the unknown text) and `Display`:
/// `text_enum! { pub enum Status(Error, |text| Error::Unknown(text)) { Active = "active" } }`.
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($err:ty, $make_err:expr) {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in a stable order.
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            /// The value's stored and displayed name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $err;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    other => Err(($make_err)(other.to_owned())),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $crate::stored_as_text!($name);
    };
}

#[cfg(test)]
mod tests {
    use crate::allocation::ChannelKind;
    use crate::appointment::AppointmentStatus;
    use crate::rota::{Delivery, SessionStatus};
    use crate::{Role, SiteKind};

    fn round_trips<T>(all: &[T])
    where
        T: Copy + PartialEq + std::fmt::Debug + TryFrom<String> + Into<String>,
    {
        for value in all {
            let text: String = (*value).into();
            assert_eq!(T::try_from(text.clone()).ok(), Some(*value), "{text}");
        }
        assert!(T::try_from("no-such-value".to_owned()).is_err());
    }

    #[test]
    fn every_stored_value_reads_back_as_itself() {
        round_trips(AppointmentStatus::ALL);
        round_trips(SessionStatus::ALL);
        round_trips(ChannelKind::ALL);
        round_trips(&Role::ALL);
        round_trips(&Delivery::ALL);
        round_trips(&crate::ClinicalRole::ALL);
        round_trips(&[SiteKind::Hub, SiteKind::Surgery]);
    }

    #[test]
    fn stored_names_are_the_database_checks() {
        // The CHECK constraints of the migrations list exactly these names.
        let names = |all: &[&str]| all.join(",");
        assert_eq!(
            names(
                &AppointmentStatus::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
            ),
            "booked,cancelled,arrived,seen,did_not_attend"
        );
        assert_eq!(
            names(
                &SessionStatus::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
            ),
            "active,cancelled,withdrawn"
        );
        assert_eq!(
            names(
                &ChannelKind::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
            ),
            "open,practice,111"
        );
    }
}
