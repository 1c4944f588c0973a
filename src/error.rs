//! The one error type every command returns: an [`ErrorCode`], a message, an
//! optional hint and, for an error about an HTTP answer, that answer's
//! context. The code alone decides the exit status ([`ErrorCode::exit_status`]).
//!
//! A leaf module: rendering lives in [`crate::output`], the HTTP details are
//! filled in by [`crate::dify`].

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

/// Declares the codes once: each variant with the exact string difyctl prints
/// and the official tool uses. Adding a code here makes
/// [`ErrorCode::exit_status`] fail to compile until the code has a status.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// The code of a [`CliError`]: what scripts switch on, as `<code>:` in
        /// the human format and `"code"` in the JSON envelope.
        ///
        /// A code is a variant, never a string, so a misspelled one does not
        /// compile:
        ///
        /// ```compile_fail
        /// # use difyctl::error::{CliError, ErrorCode};
        /// let e = CliError::new(ErrorCode::NotLogedIn, "not logged in");
        /// ```
        ///
        /// ```compile_fail
        /// # use difyctl::error::CliError;
        /// let e = CliError::new("not_logged_in", "not logged in");
        /// ```
        ///
        /// ```compile_fail
        /// # use difyctl::error::{CliError, ErrorCode};
        /// # let e = CliError::not_logged_in();
        /// assert!(e.code == "not_logged_in");
        /// ```
        ///
        /// ```
        /// # use difyctl::error::{CliError, ErrorCode};
        /// let e = CliError::new(ErrorCode::NotLoggedIn, "not logged in");
        /// assert_eq!((e.code.as_str(), e.exit_code()), ("not_logged_in", 4));
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as printed, e.g. `not_logged_in`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }
        }
    };
}

error_codes! {
    /// A transport failure: refused, DNS, timeout, TLS.
    NetworkConnection = "network_connection",
    /// HTTP 5xx.
    Server5xx = "server_5xx",
    /// HTTP 4xx with no more specific code (and redirects, never followed).
    Server4xxOther = "server_4xx_other",
    /// A local file or lock problem.
    ClientError = "client_error",
    /// Anything else, and the parser's mistakes.
    Unknown = "unknown",
    /// The OS keychain could not be used.
    KeyringUnavailable = "keyring_unavailable",
    /// A bad value for a known flag or argument.
    UsageInvalidFlag = "usage_invalid_flag",
    /// A required value missing where it cannot be asked for.
    UsageMissingArg = "usage_missing_arg",
    /// A value outside an enumerated flag's choices.
    IllegalArgument = "illegal_argument",
    /// No active context, or no token stored for it.
    NotLoggedIn = "not_logged_in",
    /// HTTP 401: the session expired or was revoked.
    AuthExpired = "auth_expired",
    /// The sign-in was denied, or HTTP 403.
    AccessDenied = "access_denied",
    /// The sign-in code expired before it was approved.
    ExpiredToken = "expired_token",
    /// HTTP 426, or a server catalog difyctl cannot use.
    VersionSkew = "version_skew",
    /// HTTP 412 even with the server's current catalog.
    CatalogStale = "catalog_stale",
    /// The server lacks the endpoint (no OpenAPI, no device flow).
    UnsupportedEndpoint = "unsupported_endpoint",
    /// HTTP 429.
    RateLimited = "rate_limited",
    /// `version --check-compat`: the server is not one this build supports.
    CompatCheckFailed = "compat_check_failed",
    /// Stopped by Ctrl-C.
    Interrupted = "interrupted",
    /// `auth login --resume`: the sign-in still waits for its approval. Not
    /// an error: stdout says `pending`; the status lets a script loop.
    AuthorizationPending = "authorization_pending",
}

impl ErrorCode {
    /// The exit status of a command that fails with this code, as difyctl(1)
    /// lists it under EXIT STATUS. Every code is listed: a new one must be
    /// given its status here.
    pub const fn exit_status(self) -> u8 {
        use ErrorCode::*;
        match self {
            NetworkConnection | Server5xx | Server4xxOther | ClientError | Unknown
            | KeyringUnavailable => 1,
            UsageInvalidFlag | UsageMissingArg | IllegalArgument => 2,
            AuthorizationPending => 3,
            NotLoggedIn | AuthExpired | AccessDenied | ExpiredToken => 4,
            VersionSkew | CatalogStale | UnsupportedEndpoint => 6,
            RateLimited => 7,
            CompatCheckFailed => 64,
            Interrupted => 130,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The code an error is shown under in the human format. The official tool
/// leads with the server's own code when the answer carried an
/// [`ErrorBody`] (`too_many_requests: …` for a 429), which need not be one of
/// ours; the JSON envelope keeps ours in `code` and the server's in
/// `server.code`, so scripts switch on [`ErrorCode`]s only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShownCode<'a> {
    Ours(ErrorCode),
    Server(&'a str),
}

impl fmt::Display for ShownCode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShownCode::Ours(code) => f.write_str(code.as_str()),
            ShownCode::Server(code) => f.write_str(code),
        }
    }
}

/// A server `ErrorBody` (see [`crate::dify`]), kept so errors can show the
/// server's own code, message, hint and validation details.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The server's code, any string (`not_found`, `too_many_requests`, …).
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

/// A CLI error: a code, a message and an optional hint.
#[derive(Debug, Clone, PartialEq)]
pub struct CliError {
    pub code: ErrorCode,
    pub message: String,
    pub hint: Option<String>,
    /// Boxed: errors travel through every `Result`, keep them small.
    pub http: Option<Box<HttpContext>>,
    /// Printed as the bare message (`unknown flag: --x`), never as
    /// `<code>: <message>` nor as JSON: the parser's mistakes, and the
    /// one-line verdict of `version --check-compat`.
    pub plain: bool,
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
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

    /// Printed as the bare message (see [`CliError::plain`]).
    pub fn plain(mut self) -> Self {
        self.plain = true;
        self
    }

    /// A parser-level mistake: plain text, exit 1.
    pub fn parse(message: impl Into<String>) -> Self {
        CliError::new(ErrorCode::Unknown, message).plain()
    }

    pub fn usage_invalid(message: impl Into<String>) -> Self {
        CliError::new(ErrorCode::UsageInvalidFlag, message)
    }

    pub fn usage_missing(message: impl Into<String>) -> Self {
        CliError::new(ErrorCode::UsageMissingArg, message)
    }

    pub fn not_logged_in() -> Self {
        CliError::new(ErrorCode::NotLoggedIn, "not logged in").with_hint("run 'difyctl auth login'")
    }

    pub fn client(message: impl Into<String>) -> Self {
        CliError::new(ErrorCode::ClientError, message)
    }

    pub fn exit_code(&self) -> u8 {
        self.code.exit_status()
    }

    /// The server's `ErrorBody`, when the answer carried one.
    pub fn server(&self) -> Option<&ErrorBody> {
        self.http.as_deref().and_then(|h| h.server.as_ref())
    }

    /// The code the human format leads with (see [`ShownCode`]).
    pub fn shown_code(&self) -> ShownCode<'_> {
        match self.server() {
            Some(body) => ShownCode::Server(&body.code),
            None => ShownCode::Ours(self.code),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.shown_code(), self.message)
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
    fn exit_statuses_follow_the_official_table() {
        use ErrorCode::*;
        for (code, exit) in [
            (NetworkConnection, 1),
            (Server5xx, 1),
            (ClientError, 1),
            (KeyringUnavailable, 1),
            (IllegalArgument, 2),
            (AuthorizationPending, 3),
            (UsageMissingArg, 2),
            (NotLoggedIn, 4),
            (ExpiredToken, 4),
            (UnsupportedEndpoint, 6),
            (VersionSkew, 6),
            (CatalogStale, 6),
            (RateLimited, 7),
            (CompatCheckFailed, 64),
            (Interrupted, 130),
        ] {
            assert_eq!(code.exit_status(), exit, "{code}");
        }
    }

    /// difyctl(1) lists each code under its exit status (the codes of
    /// errors printed as a bare line, never shown, may be left out).
    #[test]
    fn the_manual_lists_each_code_under_its_exit_status() {
        let page =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/difyctl.1")).unwrap();
        let section = page.split(".SH EXIT STATUS").nth(1).unwrap();
        let section = &section[..section.find(".SH ").unwrap()];
        // One `.TP` item per status: `.B <status>`, then its text.
        let items = &section[section.find(".TP").unwrap()..];
        let mut listed = Vec::new();
        let mut status = None;
        for line in items.lines() {
            if let Some(n) = line.strip_prefix(".B ") {
                status = Some(n.parse::<u8>().unwrap());
            }
            for word in line.split("\\fB").skip(1) {
                let name = &word[..word.find("\\fR").unwrap()];
                if let Some(code) = ErrorCode::ALL.iter().find(|c| c.as_str() == name) {
                    assert_eq!(Some(code.exit_status()), status, "{name}");
                    listed.push(*code);
                } else {
                    assert!(!name.contains('_'), "{name} is not a code");
                }
            }
        }
        for code in ErrorCode::ALL {
            let bare = matches!(code, ErrorCode::Interrupted | ErrorCode::CompatCheckFailed);
            assert!(bare || listed.contains(code), "{code} is not in difyctl(1)");
        }
    }

    #[test]
    fn codes_print_as_the_official_strings() {
        assert_eq!(ErrorCode::NotLoggedIn.to_string(), "not_logged_in");
        assert_eq!(ErrorCode::Server4xxOther.as_str(), "server_4xx_other");
        assert_eq!(
            serde_json::to_string(&ErrorCode::RateLimited).unwrap(),
            "\"rate_limited\""
        );
        // Each string names one code, and reads as the variant's name does.
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            let name = code.as_str();
            assert!(
                ErrorCode::ALL[..i].iter().all(|c| c.as_str() != name),
                "{name} twice"
            );
            let camel: String = name
                .split('_')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect();
            assert_eq!(format!("{code:?}"), camel);
        }
    }

    #[test]
    fn the_server_code_leads_when_the_answer_had_one() {
        let ours = CliError::new(ErrorCode::RateLimited, "too many requests");
        assert_eq!(ours.shown_code(), ShownCode::Ours(ErrorCode::RateLimited));
        let theirs = ours.with_http(HttpContext {
            server: Some(ErrorBody {
                code: "too_many_requests".into(),
                ..ErrorBody::default()
            }),
            ..HttpContext::default()
        });
        assert_eq!(theirs.shown_code(), ShownCode::Server("too_many_requests"));
        assert_eq!(theirs.to_string(), "too_many_requests: too many requests");
        assert_eq!(theirs.exit_code(), 7);
    }
}
