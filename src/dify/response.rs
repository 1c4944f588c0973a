//! One complete response, as the client read it.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;

use super::retry;
use crate::secret::Secret;
use crate::secret::redact;

/// A complete response. `url` is the request URL (it never holds a token).
#[derive(Clone, PartialEq)]
pub struct Response {
    pub method: String,
    pub url: String,
    pub status: u16,
    /// Lowercase names, in arrival order; repeated headers appear repeatedly.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The bearer the request carried: errors made from this response redact
    /// it wherever the server echoes it, whatever its form.
    pub bearer: Option<Secret>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    pub fn retry_after(&self, now: SystemTime) -> Option<Duration> {
        retry::parse_retry_after(self.header("retry-after")?, now)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.body)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("method", &self.method)
            .field("url", &redact(&self.url))
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}
