//! One request to a Dify host: method, path, body, bearer and headers.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use crate::error::{CliError, Result};

use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    /// Any other method, by its uppercase name (`difyctl api -X HEAD`); see
    /// [`Method::custom`].
    Other(String),
}

impl Method {
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Other(name) => name,
        }
    }

    /// Only these are ever retried: a POST may have taken effect.
    pub fn is_idempotent(&self) -> bool {
        matches!(self, Method::Get | Method::Put | Method::Delete)
    }

    /// Any method name made of ASCII letters, uppercased: a known one becomes
    /// its variant, anything else [`Method::Other`]. `None` for names with other
    /// characters (or none at all).
    pub fn custom(name: &str) -> Option<Method> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
            return None;
        }
        Some(
            name.parse()
                .unwrap_or_else(|()| Method::Other(name.to_ascii_uppercase())),
        )
    }
}

impl FromStr for Method {
    type Err = ();

    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => return Err(()),
        })
    }
}

/// One request. Paths are relative to `<base>/openapi/v1/` unless built with
/// [`Request::at_host_root`].
#[derive(Clone)]
pub struct Request<'a> {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) host_root: bool,
    pub(super) body: Option<(Vec<u8>, String)>,
    pub(super) bearer: Option<&'a Secret>,
    pub(super) headers: Vec<(String, String)>,
    pub(super) retry: bool,
    pub(super) timeout: Option<Duration>,
}

impl<'a> Request<'a> {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Request {
            method,
            path: path.into(),
            host_root: false,
            body: None,
            bearer: None,
            headers: Vec::new(),
            retry: true,
            timeout: None,
        }
    }

    /// A path under the host (and any path prefix) itself, e.g. `console/api/login`.
    pub fn at_host_root(method: Method, path: impl Into<String>) -> Self {
        Request {
            host_root: true,
            ..Request::new(method, path)
        }
    }

    pub fn bearer(mut self, bearer: Option<&'a Secret>) -> Self {
        self.bearer = bearer;
        self
    }

    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| CliError::client(format!("encode request body: {e}")))?;
        Ok(self.body(bytes, "application/json"))
    }

    pub fn body(mut self, bytes: Vec<u8>, content_type: &str) -> Self {
        self.body = Some((bytes, content_type.to_owned()));
        self
    }

    /// An extra header. Verbose logs redact the values of credential headers
    /// (see [`is_sensitive_header`]) and token-like text in the others.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Whether the request sets this header itself (case-insensitive).
    pub fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// A single attempt whatever the budget (e.g. logout's `DELETE self`).
    pub fn no_retry(mut self) -> Self {
        self.retry = false;
        self
    }

    /// Overrides the per-attempt timeout (e.g. 2 s for `/_version` probes).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

// Bodies may hold device codes, passwords or tokens: Debug shows their size only.
impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("host_root", &self.host_root)
            .field("body_len", &self.body.as_ref().map(|(b, _)| b.len()))
            .field("bearer", &self.bearer)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Headers whose values verbose logs never show.
pub fn is_sensitive_header(name: &str) -> bool {
    [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-csrf-token",
    ]
    .iter()
    .any(|h| h.eq_ignore_ascii_case(name))
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved
/// characters; dots too when the segment is `.` or `..`, which would move up).
pub fn encode_segment(segment: &str) -> String {
    let dots_only = !segment.is_empty() && segment.bytes().all(|b| b == b'.');
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') || (b == b'.' && !dots_only)
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        assert!(
            Method::Get.is_idempotent()
                && Method::Put.is_idempotent()
                && Method::Delete.is_idempotent()
        );
        assert!(!Method::Post.is_idempotent() && !Method::Patch.is_idempotent());
        assert_eq!("delete".parse::<Method>(), Ok(Method::Delete));
        assert!("TRACE".parse::<Method>().is_err());
        assert_eq!(Method::custom("patch"), Some(Method::Patch));
        assert_eq!(Method::custom("head"), Some(Method::Other("HEAD".into())));
        assert!(!Method::custom("HEAD").unwrap().is_idempotent());
        for bad in ["", "GE T", "GET\r\n", "G3T", "PÖST"] {
            assert_eq!(Method::custom(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("0190-abc_~."), "0190-abc_~.");
        assert_eq!(encode_segment("a/b?c d#é"), "a%2Fb%3Fc%20d%23%C3%A9");
        assert_eq!(encode_segment(".."), "%2E%2E");
        assert_eq!(encode_segment("a..b"), "a..b");
    }
}
