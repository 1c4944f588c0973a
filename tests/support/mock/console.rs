//! The console sign-in endpoints and the mock-only `/device` page.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::http::{Request, Response, pct_decode};
use super::state::{CodeStatus, ConsoleSession, State};
use super::util::{base64_decode, error_body, html_escape};
use super::{NOT_FOUND_TEXT, URL_SAFE};

impl State {
    // --- console ---------------------------------------------------------------------

    pub(super) fn console(&mut self, req: &Request, sub: &str) -> Response {
        let known = [
            "/login",
            "/email-code-login",
            "/email-code-login/validity",
            "/logout",
        ];
        if !known.contains(&sub) {
            return self.error(404, None, NOT_FOUND_TEXT);
        }
        if req.method != "POST" {
            return self.error(
                405,
                None,
                "The method is not allowed for the requested URL.",
            );
        }
        if let (Some((status, code, message)), "/login" | "/email-code-login") =
            (&self.cfg.console_login_error, sub)
        {
            return self.error(*status, Some(code), message);
        }
        let body = req.json().unwrap_or_default();
        let field = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let email_ok = |st: &State, email: &str| {
            !st.cfg.account.email.is_empty() && st.cfg.account.email.eq_ignore_ascii_case(email)
        };
        match sub {
            "/login" => {
                let email = field("email");
                let Some(password) =
                    base64_decode(&field("password")).and_then(|p| String::from_utf8(p).ok())
                else {
                    return self.error(
                        401,
                        Some("authentication_failed"),
                        "Invalid encrypted data",
                    );
                };
                if !email_ok(self, &email) || password != self.cfg.console_password {
                    return self.error(
                        401,
                        Some("authentication_failed"),
                        "Invalid email or password.",
                    );
                }
                self.console_sign_in(&email)
            }
            "/email-code-login" => {
                let email = field("email");
                if !email_ok(self, &email) {
                    return self.json(
                        400,
                        &error_body(400, Some("account_not_found"), "Account not found."),
                    );
                }
                let token = self.uuid();
                self.email_code_tokens.insert(token.clone(), (email, false));
                self.json(200, &json!({"result": "success", "data": token}))
            }
            "/email-code-login/validity" => {
                let token = field("token");
                let email = field("email");
                let valid = !self.cfg.email_code_tokens_expired
                    && self
                        .email_code_tokens
                        .get(&token)
                        .is_some_and(|(e, used)| !used && e.eq_ignore_ascii_case(&email));
                if !valid {
                    return self.json(
                        400,
                        &error_body(
                            400,
                            Some("invalid_or_expired_token"),
                            "The token is invalid or has expired.",
                        ),
                    );
                }
                let code = base64_decode(&field("code")).and_then(|c| String::from_utf8(c).ok());
                if code.as_deref() != Some(self.cfg.console_email_code.as_str()) {
                    return self.json(
                        400,
                        &error_body(
                            400,
                            Some("email_code_error"),
                            "Email code is invalid or expired.",
                        ),
                    );
                }
                if let Some(entry) = self.email_code_tokens.get_mut(&token) {
                    entry.1 = true;
                }
                self.console_sign_in(&email)
            }
            _ => {
                // "/logout": ends the console session (the access token stays usable).
                let session = req
                    .cookie("access_token")
                    .and_then(|a| self.console.iter().position(|c| c.access == a));
                match session {
                    Some(i) => {
                        self.console[i].logged_out = true;
                        self.json(200, &json!({"result": "success"}))
                    }
                    None => self.error(401, None, "Invalid Authorization token."),
                }
            }
        }
    }

    pub(super) fn console_sign_in(&mut self, email: &str) -> Response {
        let access = format!(
            "eyJhbGciOiJIUzI1NiJ9.{}.{}",
            self.random_from(URL_SAFE, 40),
            self.random_from(URL_SAFE, 43)
        );
        let refresh = self.random_from(URL_SAFE, 64);
        let csrf = self.random_from(URL_SAFE, 43);
        self.console.push(ConsoleSession {
            email: email.to_string(),
            access: access.clone(),
            csrf: csrf.clone(),
            logged_out: false,
        });
        let (prefix, secure) = if self.cfg.host_cookie_prefix {
            ("__Host-", "; Secure")
        } else {
            ("", "")
        };
        self.json(200, &json!({"result": "success"}))
            .with_header(
                "Set-Cookie",
                &format!("{prefix}access_token={access}; Path=/; HttpOnly; SameSite=Lax{secure}"),
            )
            .with_header(
                "Set-Cookie",
                &format!("{prefix}refresh_token={refresh}; Path=/; HttpOnly; SameSite=Lax{secure}"),
            )
            .with_header(
                "Set-Cookie",
                &format!("{prefix}csrf_token={csrf}; Path=/; SameSite=Lax{secure}"),
            )
    }

    // --- demo page -------------------------------------------------------------------

    /// Mock-only `/device` page: GET shows a form, POST (form-encoded `user_code` and
    /// `action=approve|deny`) resolves the code without a console session.
    pub(super) fn device_page(&mut self, req: &Request) -> Response {
        let mut message = String::new();
        let mut prefill = req
            .query
            .iter()
            .find(|(k, _)| k == "user_code")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if req.method == "POST" {
            let form: HashMap<String, String> = String::from_utf8_lossy(&req.body)
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (pct_decode(k, true), pct_decode(v, true)))
                .collect();
            let code = form.get("user_code").cloned().unwrap_or_default();
            prefill.clone_from(&code);
            message = match self.pending_code(&code) {
                Err(e) => format!("Cannot resolve {code}: {e}"),
                Ok(idx) if form.get("action").map(String::as_str) == Some("deny") => {
                    self.codes[idx].status = CodeStatus::Denied;
                    format!("Denied {code}.")
                }
                Ok(idx) => match self.approve_code(idx) {
                    Ok(_) => format!("Approved {code}. You can close this page."),
                    Err(e) => format!("Cannot approve {code}: {e}"),
                },
            };
        } else if req.method != "GET" {
            return Response::text(405, "text/plain", "method not allowed\n");
        }
        let page = format!(
            "<!doctype html>\n<html><head><title>Dify mock: authorize device</title></head><body>\n\
             <h1>Authorize difyctl</h1>\n<p>{}</p>\n\
             <form method=\"post\" action=\"/device\">\n\
             <input name=\"user_code\" value=\"{}\" placeholder=\"XXXX-XXXX\">\n\
             <button name=\"action\" value=\"approve\">Approve</button>\n\
             <button name=\"action\" value=\"deny\">Deny</button>\n</form>\n</body></html>\n",
            html_escape(&message),
            html_escape(&prefill)
        );
        Response::text(200, "text/html; charset=utf-8", &page)
    }
}
