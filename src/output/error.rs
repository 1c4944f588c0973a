//! The one error type every command returns, and the one table that turns its
//! code into an exit status.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A server `ErrorBody` (see [`crate::dify`]), kept so errors can show the
/// server's own code, message, hint and validation details.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<ErrorDetail>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub loc: Vec<serde_json::Value>,
    #[serde(default)]
    pub msg: String,
}

/// Where an HTTP error came from; URLs never carry tokens (they go in headers).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpContext {
    pub method: String,
    pub url: String,
    pub status: Option<u16>,
    /// The body as received (already redacted), shown only with `-v`.
    pub raw_response: Option<String>,
    pub server: Option<ErrorBody>,
}

/// A CLI error: an official code string, a message and an optional hint.
#[derive(Debug, Clone, PartialEq)]
pub struct CliError {
    pub code: &'static str,
    pub message: String,
    pub hint: Option<String>,
    /// Boxed: errors travel through every `Result`, keep them small.
    pub http: Option<Box<HttpContext>>,
    /// Parser errors are printed as bare text (`unknown flag: --x`), never as
    /// `<code>: <message>` nor as JSON.
    pub plain: bool,
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// Exit statuses, as difyctl(1) lists them. Unknown codes map to 1.
pub fn exit_code(code: &str) -> u8 {
    match code {
        "usage_invalid_flag"
        | "usage_missing_arg"
        | "config_invalid_key"
        | "config_invalid_value"
        | "illegal_argument" => 2,
        "not_logged_in" | "auth_expired" | "token_expired" | "access_denied" | "expired_token" => 4,
        "version_skew" | "catalog_stale" | "unsupported_endpoint" | "config_schema_unsupported" => {
            6
        }
        "rate_limited" => 7,
        "compat_check_failed" => 64,
        "interrupted" => 130,
        _ => 1,
    }
}

impl CliError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
            hint: None,
            http: None,
            plain: false,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub fn with_http(mut self, http: HttpContext) -> Self {
        self.http = Some(Box::new(http));
        self
    }

    /// A parser-level mistake: plain text, exit 1.
    pub fn parse(message: impl Into<String>) -> Self {
        CliError {
            plain: true,
            ..CliError::new("unknown", message)
        }
    }

    pub fn usage_invalid(message: impl Into<String>) -> Self {
        CliError::new("usage_invalid_flag", message)
    }

    pub fn usage_missing(message: impl Into<String>) -> Self {
        CliError::new("usage_missing_arg", message)
    }

    pub fn not_logged_in() -> Self {
        CliError::new("not_logged_in", "not logged in").with_hint("run 'difyctl auth login'")
    }

    pub fn client(message: impl Into<String>) -> Self {
        CliError::new("client_error", message)
    }

    pub fn not_implemented(command: &str) -> Self {
        CliError::new(
            "unknown",
            format!("'difyctl {command}' is not implemented yet"),
        )
        .with_hint("this command arrives in a later release of difyctl-rs")
    }

    pub fn exit_code(&self) -> u8 {
        exit_code(self.code)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CliError {}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::client(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_official_table() {
        for (code, exit) in [
            ("network_connection", 1),
            ("server_5xx", 1),
            ("client_error", 1),
            ("keyring_unavailable", 1),
            ("illegal_argument", 2),
            ("usage_missing_arg", 2),
            ("not_logged_in", 4),
            ("expired_token", 4),
            ("unsupported_endpoint", 6),
            ("version_skew", 6),
            ("catalog_stale", 6),
            ("rate_limited", 7),
            ("compat_check_failed", 64),
            ("no_such_code", 1),
        ] {
            assert_eq!(exit_code(code), exit, "{code}");
        }
    }
}
