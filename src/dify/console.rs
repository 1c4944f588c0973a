//! Console sign-in: what the web console does to sign in, used only to
//! approve our own device code without a browser.
//!
//! * `POST /console/api/login` `{"email", "password": <base64 of the
//!   password>, "remember_me": false}` → `{"result": "success"}` and cookies;
//!   refusals are `{"code", "message", "status"}` (`authentication_failed`,
//!   `account_in_freeze`, `email_password_login_limit`, …).
//! * `POST /console/api/email-code-login` `{"email", "language"}` → `{"data":
//!   <code token>}`, then `…/email-code-login/validity` `{"email", "code":
//!   <base64 of the code>, "token"}` → cookies.
//! * `POST /openapi/v1/oauth/device/approve` (or `deny`) `{"user_code"}` with
//!   the cookies and `X-CSRF-Token: <csrf_token>` → `{"status": "approved"}`;
//!   404 `{"error": "expired_or_unknown"}`, 409 `already_resolved`, 429 (one
//!   bucket for the whole server, about 10 an hour).
//! * `POST /console/api/logout` with the cookies ends the session's refresh
//!   token (the access token stays valid until it expires, about an hour).
//!
//! A console session is a set of cookies (`access_token`, `refresh_token`,
//! `csrf_token`, named with a `__Host-` prefix on https servers without a
//! cookie domain). It is never stored: it lives in a [`CookieJar`] for the
//! few requests of one sign-in and is then signed out.

use std::fmt;

use serde_json::{Value, json};

use crate::error::{CliError, ErrorCode, Result};

use super::errors::{http_context, status_error};
use super::{Client, Method, Request, Response};
use crate::secret::Secret;

/// The session cookies a console sign-in sets; other cookies are ignored.
const SESSION_COOKIES: [&str; 3] = ["access_token", "refresh_token", "csrf_token"];

/// The prefix https servers without `COOKIE_DOMAIN` put on cookie names.
const HOST_PREFIX: &str = "__Host-";

/// Codes of console errors that mean "these credentials are refused".
const DENIED_CODES: [&str; 10] = [
    "authentication_failed",
    "email_or_password_mismatch",
    "email_code_error",
    "invalid_or_expired_token",
    "invalid_email",
    "account_not_found",
    "account_in_freeze",
    "account_banned",
    "unauthorized",
    "forbidden",
];

/// Codes of console errors that mean "too many attempts" (some come as 400).
/// Dify has shipped the password limit as both `email_password_login_limit`
/// and `email_code_login_limit`.
const RATE_LIMIT_CODES: [&str; 6] = [
    "email_password_login_limit",
    "email_code_login_limit",
    "email_code_login_rate_limit_exceeded",
    "email_send_ip_limit",
    "too_many_requests",
    "rate_limited",
];

/// The console session cookies, under the names the server (or the user) gave
/// them: the server reads only the spelling it set, so they go back as they came.
#[derive(Clone, Default, PartialEq)]
pub struct CookieJar {
    cookies: Vec<(String, Secret)>,
}

impl fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.cookies.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("CookieJar").field("names", &names).finish()
    }
}

impl CookieJar {
    /// The session cookies of a response's `Set-Cookie` headers.
    pub fn from_set_cookie<'a>(headers: impl IntoIterator<Item = &'a str>) -> CookieJar {
        let mut jar = CookieJar::default();
        for header in headers {
            let pair = header.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                jar.put(name, value);
            }
        }
        jar
    }

    /// A `Cookie` header value as copied from a browser's developer tools:
    /// `access_token=…; csrf_token=…` (any order, other cookies ignored,
    /// `__Host-` names accepted, an optional leading `Cookie:`).
    pub fn from_header(text: &str) -> CookieJar {
        let text = text.trim();
        let text = match text.get(..7) {
            Some(head) if head.eq_ignore_ascii_case("cookie:") => &text[7..],
            _ => text,
        };
        let mut jar = CookieJar::default();
        for pair in text.split(';') {
            if let Some((name, value)) = pair.split_once('=') {
                jar.put(name, value);
            }
        }
        jar
    }

    /// Keeps a session cookie; a later one of the same kind replaces an earlier one.
    fn put(&mut self, name: &str, value: &str) {
        let (name, value) = (name.trim(), value.trim());
        let kind = base_name(name);
        if value.is_empty() || !SESSION_COOKIES.contains(&kind) {
            return;
        }
        self.cookies.retain(|(n, _)| base_name(n) != kind);
        self.cookies.push((name.to_owned(), Secret::new(value)));
    }

    /// The value of `access_token`, `refresh_token` or `csrf_token`, whatever its spelling.
    pub fn get(&self, kind: &str) -> Option<&Secret> {
        self.cookies
            .iter()
            .find(|(n, _)| base_name(n) == kind)
            .map(|(_, v)| v)
    }

    /// The names as they will be sent (never the values).
    pub fn names(&self) -> Vec<&str> {
        self.cookies.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// `name=value; name=value` for the `Cookie` header.
    fn header_value(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={}", v.expose()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A cookie-authenticated request: the cookies and the CSRF header
    /// (`X-CSRF-Token`, the `csrf_token` cookie's value).
    fn authenticate<'a>(&self, req: Request<'a>) -> Request<'a> {
        let req = req.header("Cookie", &self.header_value());
        match self.get("csrf_token") {
            Some(csrf) => req.header("X-CSRF-Token", csrf.expose()),
            None => req,
        }
    }
}

fn base_name(name: &str) -> &str {
    name.strip_prefix(HOST_PREFIX).unwrap_or(name)
}

/// Standard base64 with padding, as the console sends passwords and codes.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Which console step failed: it picks the wording of the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `POST /console/api/login`.
    Password,
    /// `POST /console/api/email-code-login`.
    SendCode,
    /// `POST /console/api/email-code-login/validity`.
    CheckCode,
    /// `POST /console/api/logout`.
    Logout,
}

impl Step {
    fn path(self) -> &'static str {
        match self {
            Step::Password => "console/api/login",
            Step::SendCode => "console/api/email-code-login",
            Step::CheckCode => "console/api/email-code-login/validity",
            Step::Logout => "console/api/logout",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Step::Password => "email and password sign-in",
            Step::SendCode | Step::CheckCode => "email-code sign-in",
            Step::Logout => "console sign-out",
        }
    }
}

fn post(client: &Client, step: Step, body: &Value, jar: Option<&CookieJar>) -> Result<Response> {
    let mut req = Request::at_host_root(Method::Post, step.path()).json(body)?;
    if let Some(jar) = jar {
        req = jar.authenticate(req);
    }
    let resp = client.send(&req)?;
    if resp.is_success() {
        Ok(resp)
    } else {
        Err(console_error(&resp, step))
    }
}

/// `POST /console/api/login` with the password already in its wire form
/// ([`base64`] of its bytes).
pub fn password_login(client: &Client, email: &str, password_b64: &Secret) -> Result<CookieJar> {
    let body = json!({
        "email": email,
        "password": password_b64.expose(),
        "remember_me": false,
    });
    signed_in(&post(client, Step::Password, &body, None)?)
}

/// `POST /console/api/email-code-login`: the server emails a code and answers
/// the token that goes with it.
pub fn send_email_code(client: &Client, email: &str) -> Result<Secret> {
    let body = json!({ "email": email, "language": "en-US" });
    decode_email_code_token(&post(client, Step::SendCode, &body, None)?)
}

/// The token of a 2xx answer of `POST console/api/email-code-login`. Pure, so
/// it can be fuzzed.
pub fn decode_email_code_token(resp: &Response) -> Result<Secret> {
    let value: Value = resp.json().map_err(|e| {
        CliError::new(
            ErrorCode::Unknown,
            format!("decode email-code-login response: {e}"),
        )
        .about(resp)
    })?;
    match value.get("data").and_then(Value::as_str) {
        Some(token) if !token.is_empty() => Ok(Secret::new(token)),
        _ => Err(CliError::new(
            ErrorCode::Unknown,
            "the server sent no email-code token (expected {\"result\":\"success\",\"data\":\"…\"})",
        )
        .about(resp)),
    }
}

/// `POST /console/api/email-code-login/validity` with the code as typed.
pub fn check_email_code(
    client: &Client,
    email: &str,
    code: &Secret,
    token: &Secret,
) -> Result<CookieJar> {
    let body = json!({
        "email": email,
        "code": base64(code.expose().as_bytes()),
        "token": token.expose(),
    });
    signed_in(&post(client, Step::CheckCode, &body, None)?)
}

/// `POST /console/api/logout`: ends the console session (the server ends its
/// refresh token; the short-lived access token expires on its own).
pub fn logout(client: &Client, jar: &CookieJar) -> Result<()> {
    post(client, Step::Logout, &json!({}), Some(jar)).map(drop)
}

/// A 2xx sign-in answer must carry the session cookie; a self-hosted server
/// answers `{"result":"fail","data":"<why>"}` without one when the account
/// has no workspace. Pure, so it can be fuzzed.
pub fn signed_in(resp: &Response) -> Result<CookieJar> {
    let jar = CookieJar::from_set_cookie(resp.header_all("set-cookie"));
    if jar.get("access_token").is_some() {
        return Ok(jar);
    }
    let body: Value = resp.json().unwrap_or(Value::Null);
    if body.get("result").and_then(Value::as_str) == Some("fail") {
        let why = body
            .get("data")
            .or_else(|| body.get("message"))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .unwrap_or("the server refused the sign-in");
        return Err(CliError::new(ErrorCode::AccessDenied, why).about(resp));
    }
    Err(CliError::new(
        ErrorCode::Unknown,
        "the console sign-in answered without a session cookie",
    )
    .with_hint("this server may be too old for a headless sign-in; use the device flow ('difyctl auth login')")
    .about(resp))
}

/// `POST /openapi/v1/oauth/device/approve` with the console session.
pub fn approve(client: &Client, jar: &CookieJar, user_code: &str) -> Result<()> {
    let req = Request::new(Method::Post, "oauth/device/approve")
        .json(&json!({ "user_code": user_code }))?;
    let resp = client.send(&jar.authenticate(req))?;
    if resp.is_success() {
        return Ok(());
    }
    Err(approve_error(&resp))
}

/// The error for a non-2xx answer of device approval. Pure, so it can be fuzzed.
pub fn approve_error(resp: &Response) -> CliError {
    let oauth_error = resp
        .json::<Value>()
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned));
    match (resp.status, oauth_error.as_deref()) {
        (404, Some("expired_or_unknown")) => CliError::new(
            ErrorCode::ExpiredToken,
            "the sign-in code expired before it could be approved",
        )
        .with_hint("run 'difyctl auth login' again"),
        (404, _) => CliError::new(
            ErrorCode::UnsupportedEndpoint,
            "this Dify host does not implement device approval (POST /openapi/v1/oauth/device/approve)",
        )
        .with_hint("the host needs OPENAPI_ENABLED=true; use the Dify API URL as --host"),
        (401 | 403, _) => CliError::new(
            ErrorCode::AccessDenied,
            "the console session was not accepted for device approval",
        )
        .with_hint("sign in to the console again"),
        (409, why) => CliError::new(
            ErrorCode::Server4xxOther,
            format!(
                "the sign-in code could not be approved ({})",
                why.unwrap_or("conflict")
            ),
        )
        .with_hint("run 'difyctl auth login' again"),
        (429, _) => CliError::new(
            ErrorCode::RateLimited,
            "too many device approvals (the server allows about 10 an hour)",
        )
        .with_hint("wait a while before signing in again"),
        _ => return status_error(resp),
    }
    .about(resp)
}

/// The CLI error for a failed console sign-in step: refused credentials exit
/// 4, rate limits 7, a missing endpoint 6.
pub fn console_error(resp: &Response, step: Step) -> CliError {
    let status = resp.status;
    if (300..400).contains(&status) {
        return status_error(resp);
    }
    let http = http_context(resp);
    let server_code = http.server.as_ref().map_or("", |s| s.code.as_str());
    let server_message = http
        .server
        .as_ref()
        .map(|s| s.message.trim())
        .filter(|m| !m.is_empty())
        .map(str::to_owned);
    let denied = DENIED_CODES.contains(&server_code);
    let (code, message, hint): (ErrorCode, String, Option<&str>) = if status == 404 && !denied {
        (
            ErrorCode::UnsupportedEndpoint,
            format!(
                "this Dify host does not offer {} (POST /{})",
                step.what(),
                step.path()
            ),
            Some(
                "use the Dify API URL as --host, or sign in another way (see 'difyctl help auth login')",
            ),
        )
    } else if status == 429 || RATE_LIMIT_CODES.contains(&server_code) {
        (
            ErrorCode::RateLimited,
            server_message.unwrap_or_else(|| "too many sign-in attempts".into()),
            Some("wait a few minutes before trying again"),
        )
    } else if status == 403
        && step != Step::Logout
        && !matches!(server_code, "account_banned" | "account_in_freeze")
    {
        (
            ErrorCode::AccessDenied,
            format!("{} is disabled on this server", step.what()),
            Some(
                "sign in another way: the device flow, --email-code, --password or --console-cookie",
            ),
        )
    } else if denied || status == 401 {
        let hint = match server_code {
            "email_code_error" => {
                Some("check the code in the newest email, or run the sign-in again for a new one")
            }
            "invalid_or_expired_token" => {
                Some("the code is used up or too old; run the sign-in again for a new one")
            }
            _ => None,
        };
        (
            ErrorCode::AccessDenied,
            server_message.unwrap_or_else(|| "sign-in refused".into()),
            hint,
        )
    } else if status >= 500 {
        (
            ErrorCode::Server5xx,
            server_message.unwrap_or_else(|| format!("server error (HTTP {status})")),
            None,
        )
    } else {
        (
            ErrorCode::Server4xxOther,
            server_message.unwrap_or_else(|| format!("request failed (HTTP {status})")),
            None,
        )
    };
    let mut err = CliError::new(code, message).with_http(http);
    err.hint = hint.map(str::to_owned);
    err
}

#[cfg(test)]
mod tests;
