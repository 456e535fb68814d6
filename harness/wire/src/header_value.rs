//! The 2026-07-28 encoding of a value mirrored into a header (`Mcp-Name`,
//! `Mcp-Param-*`; basic/transports/streamable-http "Value Encoding"): plain
//! visible ASCII as it is; anything else (non-ASCII, control characters,
//! leading or trailing whitespace, or text that looks like the sentinel) as
//! `=?base64?{Base64 of its UTF-8}?=`. Pure, no I/O.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

const PREFIX: &str = "=?base64?";
const SUFFIX: &str = "?=";

/// `value` as a header value.
pub fn encode(value: &str) -> String {
    let safe_bytes = value
        .bytes()
        .all(|b| (0x20..=0x7e).contains(&b) || b == b'\t');
    let padded = value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']);
    let looks_encoded = value.starts_with(PREFIX) && value.ends_with(SUFFIX);
    let plain = safe_bytes && !padded && !looks_encoded;
    if plain {
        value.to_owned()
    } else {
        format!("{PREFIX}{}{SUFFIX}", STANDARD.encode(value))
    }
}

/// The value a header carries, decoded if it is in the sentinel form;
/// `None` for a sentinel that is not valid Base64 of UTF-8.
pub fn decode(header: &str) -> Option<String> {
    match header
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_suffix(SUFFIX))
    {
        Some(encoded) => String::from_utf8(STANDARD.decode(encoded).ok()?).ok(),
        None => Some(header.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_examples_encode_as_written() {
        assert_eq!(encode("us-west1"), "us-west1");
        assert_eq!(encode("Hello, 世界"), "=?base64?SGVsbG8sIOS4lueVjA==?=");
        assert_eq!(encode(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(encode("line1\nline2"), "=?base64?bGluZTEKbGluZTI=?=");
        assert_eq!(
            encode("=?base64?literal?="),
            "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="
        );
    }

    #[test]
    fn decoding_undoes_encoding() {
        for value in [
            "us-west1",
            "Hello, 世界",
            " padded ",
            "=?base64?literal?=",
            "",
        ] {
            assert_eq!(decode(&encode(value)).as_deref(), Some(value));
        }
        assert_eq!(decode("=?base64?not base64!?="), None);
    }
}
