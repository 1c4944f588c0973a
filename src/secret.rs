//! Secrets: the [`Secret`] type for tokens, passwords, codes and cookies,
//! which never prints itself, and [`redact`], which takes bearer material out
//! of text that is about to be shown (server answers, URLs, error messages).
//!
//! A leaf module: everything that handles a secret can depend on it.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A secret string. `Debug` prints `[redacted]` and there is no `Display`
/// (as in cargo's credential crates): a secret cannot be formatted into a
/// message by accident. The only way to the value is [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for the `Authorization` header and `auth token` only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

// Deserialize only: serializing a secret must be a deliberate `expose()`.
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Replaces bearer material with `[redacted]`: `dfoa_…`/`dfoe_…` tokens,
/// whatever follows `Bearer ` (any case), and the value of a JSON
/// `"device_code"` field (a device code is as good as the token it will be
/// exchanged for, and the server's answers carry it under that name).
pub fn redact(text: &str) -> String {
    redact_device_codes(&redact_tokens(text))
}

fn redact_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, keep)) = next_secret(rest) {
        out.push_str(&rest[..at + keep]);
        let tail = &rest[at + keep..];
        let len = tail.find(|c: char| !is_token_char(c)).unwrap_or(tail.len());
        let len = len + tail[len..].len() - tail[len..].trim_start_matches('=').len();
        if len > 0 {
            out.push_str("[redacted]");
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// `"device_code": "…"` → `"device_code": "[redacted]"`, wherever it is.
fn redact_device_codes(text: &str) -> String {
    const KEY: &str = "\"device_code\"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        let after_key = &rest[at + KEY.len()..];
        let value = after_key.trim_start();
        let Some(value) = value.strip_prefix(':').map(str::trim_start) else {
            out.push_str(&rest[..at + KEY.len()]);
            rest = after_key;
            continue;
        };
        let Some(inner) = value.strip_prefix('"') else {
            out.push_str(&rest[..at + KEY.len()]);
            rest = after_key;
            continue;
        };
        // The string ends at the first quote that is not escaped (or at the
        // end of a cut text: all of it is then the secret).
        let mut end = inner.len();
        let mut escaped = false;
        for (i, c) in inner.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        // `inner` is a suffix of `rest`: keep all up to its opening quote.
        out.push_str(&rest[..rest.len() - inner.len()]);
        out.push_str("[redacted]");
        rest = &inner[end..];
    }
    out.push_str(rest);
    out
}

/// The next place a secret starts: (offset, length of the label to keep).
fn next_secret(s: &str) -> Option<(usize, usize)> {
    let bytes = s.as_bytes();
    (0..bytes.len()).find_map(|i| {
        let tail = &bytes[i..];
        if (tail.starts_with(b"dfoa_") || tail.starts_with(b"dfoe_"))
            && (i == 0 || !is_token_char(bytes[i - 1] as char))
        {
            return Some((i, 5));
        }
        if tail.len() > 7 && tail[..6].eq_ignore_ascii_case(b"bearer") && tail[6] == b' ' {
            let spaces = tail[6..].iter().take_while(|b| **b == b' ').count();
            return Some((i, 6 + spaces));
        }
        None
    })
}

// token68 characters (RFC 9110 §11.2), which also cover `dfoa_` tokens.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("dfoa_abc");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([redacted])");
        assert_eq!(s.expose(), "dfoa_abc");
    }

    #[test]
    fn deserializes_from_a_json_string() {
        let s: Secret = serde_json::from_str("\"dfoa_x\"").unwrap();
        assert_eq!(s.expose(), "dfoa_x");
    }

    #[test]
    fn redacts_tokens_and_bearer_values() {
        let token = "dfoa_AbC-12_xyz";
        assert_eq!(redact(token), "dfoa_[redacted]");
        assert_eq!(
            redact(r#"{"token":"dfoe_q9","n":1}"#),
            r#"{"token":"dfoe_[redacted]","n":1}"#
        );
        assert_eq!(
            redact("Authorization: Bearer abc.def=="),
            "Authorization: Bearer [redacted]"
        );
        assert_eq!(redact("bearer   xyz rest"), "bearer   [redacted] rest");
        assert_eq!(redact("BEARER dfoa_zz"), "BEARER [redacted]");
        assert_eq!(redact("x=dfoa_1&y=2"), "x=dfoa_[redacted]&y=2");
        // Lookalikes inside words and bare labels are left alone.
        assert_eq!(redact("undfoa_x"), "undfoa_x");
        assert_eq!(redact("dfoa_ prefix"), "dfoa_ prefix");
        assert_eq!(redact("Bearer"), "Bearer");
        assert_eq!(redact("bearers x"), "bearers x");
        assert_eq!(redact("ünïcödé dfoa_é"), "ünïcödé dfoa_é");
        assert_eq!(redact(""), "");
    }

    #[test]
    fn redacts_device_codes_in_json() {
        assert_eq!(
            redact(r#"{"device_code":"dc_abc","user_code":"ABCD-3456"}"#),
            r#"{"device_code":"[redacted]","user_code":"ABCD-3456"}"#
        );
        assert_eq!(
            redact(r#"{"device_code" : "dc_a\"b", "x": 1}"#),
            r#"{"device_code" : "[redacted]", "x": 1}"#
        );
        // Cut short: everything after the quote is the code.
        assert_eq!(
            redact(r#"{"device_code":"dc_ab"#),
            r#"{"device_code":"[redacted]"#
        );
        // Not a string value, or no value: nothing to hide.
        assert_eq!(redact(r#"{"device_code":null}"#), r#"{"device_code":null}"#);
        assert_eq!(redact(r#"["device_code"]"#), r#"["device_code"]"#);
        assert_eq!(
            redact(r#""device_code":"a" "device_code":"b""#),
            r#""device_code":"[redacted]" "device_code":"[redacted]""#
        );
    }
}
