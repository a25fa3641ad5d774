//! Sign-in names: a staff user's username and an integration's client id, checked once for the
//! API, the console and the documents that describe them.

/// The regular expression (ECMA-262, for an OpenAPI `pattern`) of exactly the usernames
/// [`normal_username`] accepts: 3 to 64 letters, digits, dots, hyphens or underscores, white
/// space around trimmed.
pub const USERNAME_PATTERN: &str = concat!(
    r"^",
    crate::space_class!(),
    r"*[A-Za-z0-9._-]{3,64}",
    crate::space_class!(),
    r"*$"
);

/// The regular expression (ECMA-262) of exactly the client ids [`is_client_id`] accepts: 3 to
/// 64 letters, digits, dots, hyphens or underscores.
pub const CLIENT_ID_PATTERN: &str = r"^[A-Za-z0-9._-]{3,64}$";

/// The characters a username or client id is made of besides ASCII letters and digits.
const NAME_PUNCTUATION: &str = "._-";

/// A username as it is stored (trimmed, lower case), or `None` when it is not 3 to 64 letters,
/// digits, dots, hyphens or underscores.
pub fn normal_username(input: &str) -> Option<String> {
    let username = input.trim().to_lowercase();
    let ok = (3..=64).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || NAME_PUNCTUATION.contains(c));
    ok.then_some(username)
}

/// Whether a client id an integration asks for is 3 to 64 letters, digits, dots, hyphens or
/// underscores, as written (it is not trimmed).
pub fn is_client_id(id: &str) -> bool {
    (3..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || NAME_PUNCTUATION.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_lower_case() {
        assert_eq!(
            normal_username(" Reception-X00001 ").unwrap(),
            "reception-x00001"
        );
        assert_eq!(normal_username("ab"), None);
    }

    #[test]
    fn the_username_pattern_agrees_with_the_check() {
        let pattern = regex::Regex::new(USERNAME_PATTERN).unwrap();
        let longest = "a".repeat(64);
        let too_long = "a".repeat(65);
        for sample in [
            "manager",
            " Manager ",
            "a.b_c-d",
            "abc",
            longest.as_str(),
            too_long.as_str(),
            "ab",
            "",
            "a b c",
            "ann@example",
            "änn",
            "ann\u{0}",
        ] {
            assert_eq!(
                pattern.is_match(sample),
                normal_username(sample).is_some(),
                "{sample:?}"
            );
        }
    }

    #[test]
    fn the_client_id_pattern_agrees_with_the_check() {
        let pattern = regex::Regex::new(CLIENT_ID_PATTERN).unwrap();
        let longest = "a".repeat(64);
        let too_long = "a".repeat(65);
        for sample in [
            "demo-111",
            "hb-0190",
            "a.b",
            longest.as_str(),
            too_long.as_str(),
            "ab",
            "",
            " demo",
            "demo 111",
            "démo",
        ] {
            assert_eq!(pattern.is_match(sample), is_client_id(sample), "{sample:?}");
        }
    }
}
