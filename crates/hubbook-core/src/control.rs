//! Control characters in text: which the product refuses (every C0 control but tab, line feed
//! and carriage return, and DEL), and how to find them in JSON, in percent-encoded text, or take
//! them out of a form's values. No name, id, note or code has one, and PostgreSQL cannot store a
//! NUL, so each front end refuses (or, for a browser's form, drops) them before the database,
//! alike on both backends.

/// Whether a character is a control character the product refuses in text.
pub fn refused(c: char) -> bool {
    (c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}'
}

/// The white space a request may hold, as a regular expression class (ECMA-262 and Rust): every
/// Unicode white space but those [`refused`] (vertical tab and form feed). Patterns of the
/// OpenAPI document use it where a value may be surrounded by white space.
pub const SPACE: &str = crate::space_class!();

/// The white space a path segment or query value may hold: [`SPACE`] less tab and line breaks,
/// which a percent-encoded path or query string may not hold ([`in_percent_encoded`]).
pub const URL_SPACE: &str = r"[ \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

/// The text of [`SPACE`] as a literal, so that a pattern constant can be built with `concat!`.
#[doc(hidden)]
#[macro_export]
macro_rules! space_class {
    () => {
        r"[\t\n\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
    };
}

/// Whether a JSON text holds an escaped control character other than tab, line feed and
/// carriage return (`\u0000` to `\u001F`, `\u007F`), or a raw DEL. Escapes are read in
/// pairs, so an escaped backslash followed by `u0000` is text, not a NUL.
pub fn in_json(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'\\' if json.get(i + 1) == Some(&b'u') => {
                let code = json
                    .get(i + 2..i + 6)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u32::from_str_radix(h, 16).ok());
                if code.and_then(char::from_u32).is_some_and(refused) {
                    return true;
                }
                i += 6;
            }
            b'\\' => i += 2,
            0x7f => return true,
            _ => i += 1,
        }
    }
    false
}

/// Whether a path or query string holds a percent-encoded control character (`%00` to `%1F`,
/// `%7F`; no id, code or filter has one, tab and line breaks included).
pub fn in_percent_encoded(text: &str) -> bool {
    let hex = |b: u8| char::from(b).to_digit(16);
    text.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && matches!((hex(w[1]), hex(w[2])), (Some(h), Some(l)) if h * 16 + l < 0x20 || h * 16 + l == 0x7f)
    })
}

/// Text with the refused control characters taken out (a browser's form never sends one).
pub fn without(text: &str) -> String {
    text.chars().filter(|c| !refused(*c)).collect()
}

#[cfg(test)]
mod tests {
    use super::{in_json, in_percent_encoded, refused, without, SPACE, URL_SPACE};

    #[test]
    fn the_url_space_class_is_white_space_no_url_refuses() {
        let space = regex::Regex::new(&format!("^{URL_SPACE}$")).unwrap();
        for c in (0..0x3100).chain([0xfeff]).filter_map(char::from_u32) {
            let encoded = format!("%{:02X}", u32::from(c));
            let refused_in_url = u32::from(c) < 0x80 && in_percent_encoded(&encoded);
            assert_eq!(
                space.is_match(&c.to_string()),
                c.is_whitespace() && !refused_in_url,
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn the_space_class_is_white_space_not_refused() {
        let space = regex::Regex::new(&format!("^{SPACE}$")).unwrap();
        for c in (0..0x3100).chain([0xfeff]).filter_map(char::from_u32) {
            assert_eq!(
                space.is_match(&c.to_string()),
                c.is_whitespace() && !refused(c),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn only_refused_characters_are_taken_out() {
        assert_eq!(without("a\u{0}b\u{7}c\u{7f}"), "abc");
        assert_eq!(without("two\r\nlines\tand é"), "two\r\nlines\tand é");
    }

    #[test]
    fn escaped_control_characters_are_found_and_text_is_not() {
        for json in [
            r#"{"a":"\u0000"}"#,
            r#"{"a":"x\u001fy"}"#,
            r#"{"a":"\u007F"}"#,
            r#"{"a\u0001":1}"#,
            "{\"a\":\"\x7f\"}",
            r#"["\\\u0000"]"#,
        ] {
            assert!(in_json(json.as_bytes()), "{json}");
        }
        for json in [
            r#"{"a":"line\nnext\ttab\r"}"#,
            r#"{"a":"\u0009\u000a\u000D"}"#,
            r#"{"a":"\\u0000"}"#,
            r#"{"a":"caf\u00e9 é"}"#,
            r#"{"a":"\u0020"}"#,
            "",
        ] {
            assert!(!in_json(json.as_bytes()), "{json}");
        }
    }

    #[test]
    fn encoded_control_characters_are_found_and_text_is_not() {
        for text in ["%00", "a%0Ab", "id%1f", "%7F", "x=%00&y=1"] {
            assert!(in_percent_encoded(text), "{text}");
        }
        for text in [
            "",
            "%20",
            "abc",
            "%C3%A9",
            "%",
            "%0",
            "%zz",
            "from=2026-12-01T00%3A00Z",
        ] {
            assert!(!in_percent_encoded(text), "{text}");
        }
    }
}
