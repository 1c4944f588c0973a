//! What a test can read back from the mock: sessions, requests, polls, console sessions.

use serde_json::Value;

/// A server-side session (one minted token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// UUID (`token_id` at login, `id` in the sessions list).
    pub id: String,
    /// The plaintext bearer (`dfoa_…` or `dfoe_…`).
    pub token: String,
    /// `device_label`.
    pub device_label: String,
    /// `client_id` it was minted for.
    pub client_id: String,
    /// Subject email (account email or SSO subject email).
    pub email: String,
    /// `created_at`, ISO-8601 with `Z`.
    pub created_at: String,
    /// `expires_at`, ISO-8601 with `Z`.
    pub expires_at: String,
    /// Whether it has been revoked.
    pub revoked: bool,
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path with query string (absolute-form targets reduced to origin form).
    pub path: String,
    /// The request target exactly as sent.
    pub target: String,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body (lossy UTF-8).
    pub body: String,
}

impl Recorded {
    /// First header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The body parsed as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    /// The path without the query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
}

/// One poll of the token endpoint and what it was answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Poll {
    /// The `device_code` sent.
    pub device_code: String,
    /// The `error` answered (`authorization_pending`, `slow_down`, `expired_token`,
    /// `access_denied`, `invalid_request`), or `token` for the 200.
    pub answer: String,
}

/// A console (cookie) session created by the console sign-in endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleSessionInfo {
    /// Who signed in.
    pub email: String,
    /// `access_token` cookie value.
    pub access_token: String,
    /// `csrf_token` cookie value.
    pub csrf_token: String,
    /// Whether `POST /console/api/logout` was called for it.
    pub logged_out: bool,
}
