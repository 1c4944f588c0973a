//! The OAuth device flow (RFC 8628 as Dify speaks it), no auth needed.
//!
//! * `POST oauth/device/code` `{"client_id": "difyctl", "device_label"}` →
//!   `{"device_code", "user_code": "XXXX-XXXX", "verification_uri",
//!   "expires_in": 900, "interval": 5}`. 60 an hour per client address (429,
//!   no `Retry-After`); an unknown client id is 400 `{"error":
//!   "unsupported_client"}`; a server without the device flow answers 404
//!   (an HTML page when the OpenAPI is off or the route is enterprise-only).
//! * `POST oauth/device/token` `{"client_id", "device_code"}`: 400 `{"error":
//!   "authorization_pending" | "slow_down" | "expired_token" |
//!   "access_denied"}` until the code is approved, then 200 with the token
//!   payload `{"token", "expires_at", "subject_type", "account",
//!   "workspaces", "default_workspace_id", "token_id"}` (external SSO:
//!   `subject_email`, `subject_issuer`, no account), handed out once. A poll
//!   sooner than `interval` after the previous one is `slow_down`.
//! * Approval mints the token, revoking the live token of the same subject,
//!   client and device label: signing in again from one machine rotates its
//!   session. Labels over 255 characters make approval fail.

use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_json::json;

use crate::error::{CliError, ErrorCode, Result};

use super::account::{Account, Workspace, decode_error, null_as_default};
use super::errors::status_error;
use super::{Client, Method, Request, Response};
use crate::secret::Secret;

/// The only `client_id` the server knows.
pub const CLIENT_ID: &str = "difyctl";

/// Poll attempts when the token endpoint answers 5xx, and the waits between them.
pub const POLL_5XX_ATTEMPTS: u32 = 5;

/// The poll interval when the server gives no usable one.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// A code's lifetime when the server gives no usable `expires_in` (missing,
/// zero, negative, not a whole number): the server's own default, so polling
/// always ends.
pub const DEFAULT_CODE_LIFETIME: Duration = Duration::from_secs(900);

/// The longest code lifetime believed (a day): no deadline is out of reach.
pub const MAX_CODE_LIFETIME: Duration = Duration::from_secs(86_400);

/// `POST /oauth/device/code` → 200.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeviceCode {
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    /// Seconds; `None` when missing or unusable (see `seconds`).
    #[serde(default, deserialize_with = "seconds")]
    pub expires_in: Option<u64>,
    #[serde(default, deserialize_with = "seconds")]
    pub interval: Option<u64>,
}

impl DeviceCode {
    /// The server's interval, or 5 s when it gives none that is usable.
    pub fn poll_interval(&self) -> Duration {
        self.interval.map_or(DEFAULT_INTERVAL, Duration::from_secs)
    }

    /// How long the code lives: the server's `expires_in`, at most a day,
    /// else [`DEFAULT_CODE_LIFETIME`].
    pub fn expires_after(&self) -> Duration {
        self.expires_in.map_or(DEFAULT_CODE_LIFETIME, |n| {
            Duration::from_secs(n).min(MAX_CODE_LIFETIME)
        })
    }
}

/// A positive whole number of seconds as the server sends it: an integer of
/// any size (saturated), or a float with no fraction (`5.0`). Anything else
/// (missing, null, zero, negative, `5.5`, a string) is `None`: unusable, and
/// the caller's default applies rather than an error.
fn seconds<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    let n = match value {
        serde_json::Value::Number(n) => n,
        _ => return Ok(None),
    };
    if let Some(u) = n.as_u64() {
        return Ok((u > 0).then_some(u));
    }
    if n.as_i64().is_some() {
        return Ok(None); // negative
    }
    Ok(n.as_f64()
        .filter(|f| f.is_finite() && f.fract() == 0.0 && *f >= 1.0)
        // `as` saturates: 1e300 is u64::MAX seconds, capped by the caller.
        .map(|f| f as u64))
}

/// The approved poll's payload. Only `token` is required.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TokenPayload {
    pub token: Secret,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub subject_type: Option<String>,
    #[serde(default)]
    pub account: Option<Account>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub workspaces: Vec<Workspace>,
    #[serde(default)]
    pub default_workspace_id: Option<String>,
    #[serde(default)]
    pub token_id: Option<String>,
    #[serde(default)]
    pub subject_email: Option<String>,
    #[serde(default)]
    pub subject_issuer: Option<String>,
}

impl TokenPayload {
    /// The email a context is stored under: the account's, else the subject's.
    pub fn email(&self) -> Option<&str> {
        let account = self
            .account
            .as_ref()
            .map(|a| a.email.as_str())
            .filter(|e| !e.is_empty());
        account.or(self.subject_email.as_deref().filter(|e| !e.is_empty()))
    }

    /// The workspace named by `default_workspace_id`, if listed.
    pub fn default_workspace(&self) -> Option<&Workspace> {
        let id = self.default_workspace_id.as_deref()?;
        self.workspaces.iter().find(|w| w.id == id)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PollOutcome {
    Pending,
    SlowDown,
    Token(Box<TokenPayload>),
}

fn unsupported(resp: &Response) -> CliError {
    CliError::new(
        ErrorCode::UnsupportedEndpoint,
        "this Dify host does not implement the OAuth device flow",
    )
    .with_hint("the host needs OPENAPI_ENABLED=true; use the Dify API URL as --host")
    .about(resp)
}

/// Starts a sign-in: `POST oauth/device/code`.
pub fn request_code(client: &Client, label: &str) -> Result<DeviceCode> {
    let body = json!({ "client_id": CLIENT_ID, "device_label": label });
    let resp = client.send(&Request::new(Method::Post, "oauth/device/code").json(&body)?)?;
    decode_device_code(&resp)
}

/// The answer to `POST oauth/device/code`: the code, or the error its status
/// and body mean. Pure, so it can be fuzzed.
pub fn decode_device_code(resp: &Response) -> Result<DeviceCode> {
    let status = resp.status;
    let code = match status {
        200..=299 => return parse_device_code(resp),
        404 => return Err(unsupported(resp)),
        300..=399 | 426 | 429 => return Err(status_error(resp)),
        // Dify has every route it does not implement answer 404; a 501, or
        // an error that is neither OAuth's nor Dify's JSON, is someone else.
        501 => return Err(not_dify(resp)),
        400..=499 if !speaks_dify(resp) => return Err(not_dify(resp)),
        500.. => ErrorCode::Server5xx,
        _ => ErrorCode::Server4xxOther,
    };
    Err(CliError::new(code, format!("device/code: HTTP {status}")).about(resp))
}

/// An error body in a shape Dify answers with: RFC 8628's `{"error"}` or
/// Dify's `{"code", "message"}`.
fn speaks_dify(resp: &Response) -> bool {
    let Ok(serde_json::Value::Object(body)) = resp.json::<serde_json::Value>() else {
        return false;
    };
    body.get("error").is_some_and(|e| e.is_string())
        || (body.get("code").is_some_and(|c| c.is_string()) && body.contains_key("message"))
}

/// The device-code request reached something that is not Dify's OpenAPI: a
/// web page, another service, a proxy's own answer (exit 6).
fn not_dify(resp: &Response) -> CliError {
    CliError::new(
        ErrorCode::UnsupportedEndpoint,
        format!(
            "not a Dify server (or no OpenAPI at this URL): the sign-in request was answered \
             with HTTP {}",
            resp.status
        ),
    )
    .with_hint(
        "use the URL of the Dify API as --host (difyctl adds /openapi/v1); the server needs \
         OPENAPI_ENABLED=true",
    )
    .about(resp)
}

fn parse_device_code(resp: &Response) -> Result<DeviceCode> {
    // A 2xx that is not JSON, or JSON with none of the fields, is not Dify's
    // answer; one with some of them empty is Dify's, broken.
    let value: serde_json::Value = resp.json().map_err(|_| not_dify(resp))?;
    if !["device_code", "user_code", "verification_uri"]
        .iter()
        .any(|k| value.get(k).is_some())
    {
        return Err(not_dify(resp));
    }
    let code: DeviceCode =
        serde_json::from_value(value).map_err(|e| decode_error("device/code", resp, e))?;
    let missing = [
        ("device_code", code.device_code.is_empty()),
        ("user_code", code.user_code.trim().is_empty()),
        ("verification_uri", code.verification_uri.trim().is_empty()),
    ]
    .into_iter()
    .find_map(|(name, empty)| empty.then_some(name));
    match missing {
        Some(name) => Err(decode_error("device/code", resp, format!("empty {name}"))),
        None => Ok(code),
    }
}

/// One poll of `POST oauth/device/token`. A 5xx comes back as a `server_5xx`
/// error, which [`is_retryable_poll_error`] recognises.
pub fn poll_once(client: &Client, device_code: &Secret) -> Result<PollOutcome> {
    let body = json!({ "client_id": CLIENT_ID, "device_code": device_code.expose() });
    let resp = client.send(&Request::new(Method::Post, "oauth/device/token").json(&body)?)?;
    decode_poll(&resp)
}

/// What one answer of `POST oauth/device/token` means: pending, slow down, the
/// token, or an error. Pure, so it can be fuzzed.
pub fn decode_poll(resp: &Response) -> Result<PollOutcome> {
    let status = resp.status;
    match status {
        300..=399 | 429 => return Err(status_error(resp)),
        404 => return Err(unsupported(resp)),
        500.. => {
            return Err(CliError::new(
                ErrorCode::Server5xx,
                format!("device-flow poll failed (HTTP {status})"),
            )
            .about(resp));
        }
        _ => {}
    }
    let unknown = |message: String| CliError::new(ErrorCode::Unknown, message).about(resp);
    let value: serde_json::Value = resp
        .json()
        .map_err(|e| unknown(format!("decode poll response: {e}")))?;
    if value
        .get("token")
        .and_then(|t| t.as_str())
        .is_some_and(|t| !t.is_empty())
    {
        let payload: TokenPayload = serde_json::from_value(value)
            .map_err(|e| unknown(format!("decode poll response: {e}")))?;
        return Ok(PollOutcome::Token(Box::new(payload)));
    }
    match value.get("error").and_then(|e| e.as_str()) {
        Some("authorization_pending") => Ok(PollOutcome::Pending),
        Some("slow_down") => Ok(PollOutcome::SlowDown),
        Some("expired_token") => Err(CliError::new(
            ErrorCode::ExpiredToken,
            "code expired before authorization",
        )
        .with_hint("run 'difyctl auth login' again and approve the code within its lifetime")),
        Some("access_denied") => Err(CliError::new(
            ErrorCode::AccessDenied,
            "authorization denied",
        )),
        Some(other) => Err(unknown(format!("unknown poll error {other:?}"))),
        None => Err(unknown(format!("poll: {status} with no OAuth envelope"))),
    }
}

/// Whether a poll error is a server hiccup worth polling again for.
pub fn is_retryable_poll_error(err: &CliError) -> bool {
    // A dropped connection during a long wait is as passing as a 5xx.
    matches!(
        err.code,
        ErrorCode::Server5xx | ErrorCode::NetworkConnection
    )
}

/// The wait after the `n`th consecutive failed poll: 1, 2, 4, 8 s (cap 16 s).
pub fn poll_5xx_wait(n: u32) -> Duration {
    Duration::from_secs(1 << n.saturating_sub(1).min(4))
}

/// [`poll_once`], riding out up to [`POLL_5XX_ATTEMPTS`] server errors in a row.
pub fn poll(
    client: &Client,
    device_code: &Secret,
    sleep: &dyn Fn(Duration) -> Result<()>,
) -> Result<PollOutcome> {
    let mut failures = 0;
    loop {
        match poll_once(client, device_code) {
            Err(e) if is_retryable_poll_error(&e) => {
                failures += 1;
                if failures >= POLL_5XX_ATTEMPTS {
                    return Err(CliError {
                        message: "device-flow poll unavailable after retries".into(),
                        ..e
                    });
                }
                let wait = poll_5xx_wait(failures);
                let why = match e.http.as_ref().and_then(|h| h.status) {
                    Some(status) => format!("{} answered HTTP {status}", client.host()),
                    None => format!("cannot reach {}", client.host()),
                };
                client.announce_wait(&format!("{why} while waiting for the approval"), wait);
                sleep(wait)?;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::dify::stub::{Canned, serve, test_options};

    const CODE: &str = r#"{"device_code":"dc_abc","user_code":"ABCD-3456",
        "verification_uri":"https:\/\/dify.test\/device","expires_in":900,"interval":5}"#;

    #[test]
    fn server_numbers_are_range_checked() {
        let code = |fields: &str| -> DeviceCode {
            serde_json::from_str(&format!(
                r#"{{"device_code":"dc","user_code":"U","verification_uri":"https://x/d"{fields}}}"#
            ))
            .unwrap()
        };
        let d = Duration::from_secs;
        for (fields, interval, lifetime) in [
            (r#","expires_in":900,"interval":5"#, d(5), d(900)),
            (r#","expires_in":600.0,"interval":5.0"#, d(5), d(600)),
            ("", d(5), d(900)),
            (r#","expires_in":null,"interval":null"#, d(5), d(900)),
            (r#","expires_in":0,"interval":0"#, d(5), d(900)),
            (r#","expires_in":-1,"interval":-5"#, d(5), d(900)),
            (r#","expires_in":9.5,"interval":2.5"#, d(5), d(900)),
            (r#","expires_in":"900","interval":"5""#, d(5), d(900)),
            (r#","expires_in":[1],"interval":true"#, d(5), d(900)),
            (r#","expires_in":9223372036854775807"#, d(5), d(86_400)),
            (r#","expires_in":18446744073709551615"#, d(5), d(86_400)),
            (
                r#","expires_in":1e300,"interval":1e300"#,
                d(u64::MAX),
                d(86_400),
            ),
            (r#","expires_in":-9223372036854775808"#, d(5), d(900)),
        ] {
            let c = code(fields);
            assert_eq!(
                (c.poll_interval(), c.expires_after()),
                (interval, lifetime),
                "{fields}"
            );
        }
    }

    #[test]
    fn requests_a_code() {
        let stub = serve(vec![Canned::json(200, CODE)]);
        let (opts, _) = test_options();
        let code = request_code(&stub.client(opts), "difyctl on box").unwrap();
        assert_eq!(code.device_code.expose(), "dc_abc");
        assert_eq!(code.verification_uri, "https://dify.test/device");
        assert_eq!(
            (code.poll_interval(), code.expires_after()),
            (Duration::from_secs(5), Duration::from_secs(900))
        );
        assert!(!format!("{code:?}").contains("dc_abc"));
        let req = &stub.requests()[0];
        assert_eq!(
            (req.method.as_str(), req.path.as_str()),
            ("POST", "/openapi/v1/oauth/device/code")
        );
        assert_eq!(req.header("content-type"), Some("application/json"));
        assert_eq!(req.header("authorization"), None);
        let sent: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            sent,
            json!({"client_id": "difyctl", "device_label": "difyctl on box"})
        );
    }

    #[test]
    fn code_errors() {
        let stub = serve(vec![
            Canned::json(
                404,
                r#"{"code":"not_found","message":"Not Found","status":404}"#,
            ),
            Canned::new(404, "<html><body>Not Found</body></html>")
                .header("Content-Type", "text/html"),
            Canned::json(
                429,
                r#"{"code":"too_many_requests","message":"rate_limited","status":429}"#,
            ),
            Canned::json(400, r#"{"error":"unsupported_client"}"#),
            Canned::json(
                502,
                r#"{"code":"bad_gateway","message":"Internal Server Error","status":502}"#,
            ),
            Canned::json(
                200,
                r#"{"device_code":"dc","user_code":"","verification_uri":"u"}"#,
            ),
            Canned::json(200, "not json"),
        ]);
        let (opts, waits) = test_options();
        let client = stub.client(opts);
        let got = |n: usize| {
            (0..n)
                .map(|_| request_code(&client, "l").unwrap_err())
                .collect::<Vec<_>>()
        };
        let errs = got(7);
        let summary: Vec<(ErrorCode, &str, u8)> = errs
            .iter()
            .map(|e| (e.code, e.message.as_str(), e.exit_code()))
            .collect();
        assert_eq!(
            summary[..5],
            [
                (
                    ErrorCode::UnsupportedEndpoint,
                    "this Dify host does not implement the OAuth device flow",
                    6
                ),
                (
                    ErrorCode::UnsupportedEndpoint,
                    "this Dify host does not implement the OAuth device flow",
                    6
                ),
                (ErrorCode::RateLimited, "rate_limited", 7),
                (ErrorCode::Server4xxOther, "device/code: HTTP 400", 1),
                (ErrorCode::Server5xx, "device/code: HTTP 502", 1),
            ]
        );
        assert_eq!(errs[5].code, ErrorCode::Unknown);
        assert!(
            errs[5].message.contains("empty user_code"),
            "{}",
            errs[5].message
        );
        assert_eq!(
            (errs[6].code, errs[6].message.as_str(), errs[6].exit_code()),
            (
                ErrorCode::UnsupportedEndpoint,
                "not a Dify server (or no OpenAPI at this URL): the sign-in request was answered \
                 with HTTP 200",
                6
            )
        );
        assert_eq!(
            errs[3].http.as_ref().unwrap().raw_response.as_deref(),
            Some(r#"{"error":"unsupported_client"}"#)
        );
        // POST is never retried.
        assert_eq!(stub.requests().len(), 7);
        assert!(waits.lock().unwrap().is_empty());
    }

    #[test]
    fn poll_outcomes() {
        let token = r#"{"token":"dfoa_secret","expires_at":"2026-07-01T00:00:00+00:00","subject_type":"account",
            "account":{"id":"acc","email":"a@x.test","name":"A"},
            "workspaces":[{"id":"w1","name":"One","role":"owner"},{"id":"w2","name":"Two","role":"normal"}],
            "default_workspace_id":"w2","token_id":"tok-1"}"#;
        let sso = r#"{"token":"dfoe_s","subject_type":"external_sso","subject_email":"e@x.test",
            "subject_issuer":"https://idp.test","account":null,"workspaces":[],"default_workspace_id":null}"#;
        let stub = serve(vec![
            Canned::json(400, r#"{"error":"authorization_pending"}"#),
            Canned::json(400, r#"{"error":"slow_down"}"#),
            Canned::json(200, token),
            Canned::json(200, sso),
        ]);
        let (opts, _) = test_options();
        let client = stub.client(opts);
        let dc = Secret::new("dc_abc");
        assert_eq!(poll_once(&client, &dc).unwrap(), PollOutcome::Pending);
        assert_eq!(poll_once(&client, &dc).unwrap(), PollOutcome::SlowDown);
        let PollOutcome::Token(t) = poll_once(&client, &dc).unwrap() else {
            panic!("no token")
        };
        assert_eq!(t.token.expose(), "dfoa_secret");
        assert_eq!(t.email(), Some("a@x.test"));
        assert_eq!(t.default_workspace().map(|w| w.name.as_str()), Some("Two"));
        assert_eq!(t.token_id.as_deref(), Some("tok-1"));
        assert!(!format!("{t:?}").contains("dfoa_secret"));
        let PollOutcome::Token(t) = poll_once(&client, &dc).unwrap() else {
            panic!("no token")
        };
        assert_eq!((t.account.as_ref(), t.email()), (None, Some("e@x.test")));
        assert_eq!(t.subject_issuer.as_deref(), Some("https://idp.test"));
        assert_eq!(t.default_workspace(), None);
        let sent: serde_json::Value = serde_json::from_slice(&stub.requests()[0].body).unwrap();
        assert_eq!(
            sent,
            json!({"client_id": "difyctl", "device_code": "dc_abc"})
        );
        assert_eq!(stub.requests()[0].path, "/openapi/v1/oauth/device/token");
    }

    #[test]
    fn poll_errors() {
        let stub = serve(vec![
            Canned::json(400, r#"{"error":"expired_token"}"#),
            Canned::json(400, r#"{"error":"access_denied"}"#),
            Canned::json(400, r#"{"error":"weird\u001b[31m"}"#),
            Canned::json(400, r#"{"code":"bad_request","message":"x","status":400}"#),
            Canned::new(200, "<html>"),
            Canned::new(404, "<html>"),
            Canned::json(503, "{}"),
            Canned::json(200, r#"{"token":"dfoa_x","workspaces":"nope"}"#),
        ]);
        let (opts, _) = test_options();
        let client = stub.client(opts);
        let dc = Secret::new("dc");
        let errs: Vec<CliError> = (0..8)
            .map(|_| poll_once(&client, &dc).unwrap_err())
            .collect();
        let summary: Vec<(ErrorCode, &str, u8)> = errs
            .iter()
            .map(|e| (e.code, e.message.as_str(), e.exit_code()))
            .collect();
        assert_eq!(
            summary[0],
            (
                ErrorCode::ExpiredToken,
                "code expired before authorization",
                4
            )
        );
        assert_eq!(
            summary[1],
            (ErrorCode::AccessDenied, "authorization denied", 4)
        );
        assert_eq!(
            summary[2],
            (
                ErrorCode::Unknown,
                "unknown poll error \"weird\\u{1b}[31m\"",
                1
            )
        );
        assert_eq!(
            summary[3],
            (ErrorCode::Unknown, "poll: 400 with no OAuth envelope", 1)
        );
        assert!(
            summary[4].1.starts_with("decode poll response: "),
            "{}",
            summary[4].1
        );
        assert_eq!(summary[5].0, ErrorCode::UnsupportedEndpoint);
        assert_eq!(
            summary[6],
            (
                ErrorCode::Server5xx,
                "device-flow poll failed (HTTP 503)",
                1
            )
        );
        assert!(is_retryable_poll_error(&errs[6]) && !is_retryable_poll_error(&errs[0]));
        assert!(
            summary[7].1.starts_with("decode poll response: "),
            "{}",
            summary[7].1
        );
        // The token never reaches the error's raw body.
        let raw = errs[7]
            .http
            .as_ref()
            .unwrap()
            .raw_response
            .as_deref()
            .unwrap();
        assert!(
            raw.contains("dfoa_[redacted]") && !raw.contains("dfoa_x"),
            "{raw}"
        );
    }

    #[test]
    fn poll_rides_out_server_errors() {
        let ise = || {
            Canned::json(
                500,
                r#"{"code":"internal_server_error","message":"Internal Server Error"}"#,
            )
        };
        let stub = serve(vec![
            ise(),
            ise(),
            Canned::json(400, r#"{"error":"authorization_pending"}"#),
        ]);
        let (opts, _) = test_options();
        let client = stub.client(opts);
        let waits = Arc::new(Mutex::new(Vec::new()));
        let record = |d: Duration| {
            waits.lock().unwrap().push(d);
            Ok(())
        };
        assert_eq!(
            poll(&client, &Secret::new("dc"), &record).unwrap(),
            PollOutcome::Pending
        );
        assert_eq!(
            *waits.lock().unwrap(),
            [Duration::from_secs(1), Duration::from_secs(2)]
        );

        let stub = serve((0..5).map(|_| ise()).collect());
        let client = stub.client(test_options().0);
        waits.lock().unwrap().clear();
        let e = poll(&client, &Secret::new("dc"), &record).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                ErrorCode::Server5xx,
                "device-flow poll unavailable after retries"
            )
        );
        assert_eq!(stub.requests().len(), 5);
        let secs: Vec<u64> = waits
            .lock()
            .unwrap()
            .iter()
            .map(Duration::as_secs)
            .collect();
        assert_eq!(secs, [1, 2, 4, 8]);
        assert_eq!(poll_5xx_wait(9), Duration::from_secs(16));
    }
}
