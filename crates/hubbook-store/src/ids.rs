//! Ids of the rows that rules and queries pass around most: clusters, practices, sites, slots,
//! holds and appointments. Each is its own type, so a slot's id cannot be handed where an
//! appointment's is wanted; in SQL they are the text they wrap.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use diesel_derive_newtype::DieselNewType;
use serde::{Deserialize, Serialize};

macro_rules! ids {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(
            Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            DieselNewType,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<&String> for $name {
            fn from(id: &String) -> Self {
                Self(id.clone())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}

ids! {
    /// A cluster's id: the tenant every other row belongs to.
    ClusterId,
    /// A member practice's id within its cluster.
    PracticeId,
    /// A hub's or surgery's id within its cluster.
    SiteId,
    /// A slot's id within its cluster.
    SlotId,
    /// A hold's id.
    HoldId,
    /// An appointment's id within its cluster.
    AppointmentId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_their_text_and_nothing_else() {
        let slot = SlotId::from("0193a2b4-slot");
        assert_eq!(slot.as_str(), "0193a2b4-slot");
        assert_eq!(slot, "0193a2b4-slot");
        assert_eq!(serde_json::to_string(&slot).unwrap(), "\"0193a2b4-slot\"");
        let back: SlotId = serde_json::from_str("\"0193a2b4-slot\"").unwrap();
        assert_eq!(back, slot);
        assert_eq!(String::from(back), "0193a2b4-slot");
    }
}
