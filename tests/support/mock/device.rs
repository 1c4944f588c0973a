//! The device-flow endpoints: code, token poll, lookup, approve/deny.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http::{Request, Response};
use super::state::{CodeStatus, DeviceCode, State};
use super::util::error_body;
use super::views::Poll;
use super::{CLIENT_ID, URL_SAFE, USER_CODE_ALPHABET};

impl State {
    // --- device flow -----------------------------------------------------------------

    pub(super) fn device_code(&mut self, req: &Request) -> Response {
        if self.cfg.device_code_rate_limited {
            return self.json(
                429,
                &error_body(429, Some("too_many_requests"), "rate_limited"),
            );
        }
        let Some(body) = req.json() else {
            return self.error(
                400,
                None,
                "The browser (or proxy) sent a request that this server could not understand.",
            );
        };
        let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
        let missing: Vec<&str> = ["client_id", "device_label"]
            .into_iter()
            .filter(|f| field(f).is_none())
            .collect();
        if !missing.is_empty() {
            let lines: Vec<String> = missing
                .iter()
                .map(|f| format!("{f}\n  Field required [type=missing]"))
                .collect();
            let msg = format!(
                "{} validation error{} for DeviceCodeRequest\n{}",
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                lines.join("\n")
            );
            return self.error(400, None, &msg);
        }
        let client_id = field("client_id").unwrap_or_default();
        if client_id != CLIENT_ID {
            return self.oauth_error("unsupported_client");
        }
        let label = field("device_label").unwrap_or_default();
        let device_code = format!("dc_{}", self.random_from(URL_SAFE, 32));
        let user_code = match self.cfg.user_code.clone() {
            Some(c) => c,
            None => loop {
                let a = self.random_from(USER_CODE_ALPHABET, 4);
                let b = self.random_from(USER_CODE_ALPHABET, 4);
                let c = format!("{a}-{b}");
                if !self.codes.iter().any(|x| x.user_code == c) {
                    break c;
                }
            },
        };
        self.codes.push(DeviceCode {
            device_code: device_code.clone(),
            user_code: user_code.clone(),
            issued: Instant::now(),
            approved: None,
            expires_in: self.cfg.expires_in,
            device_label: label,
            status: CodeStatus::Pending,
            last_poll: None,
            polls: 0,
        });
        if self.cfg.auto_approve {
            // A too-long label fails the approval, as on a real 1.14 server; the
            // code then stays pending.
            let _ = self.approve_code(self.codes.len() - 1);
        }
        let verification_uri = self
            .cfg
            .verification_uri
            .clone()
            .unwrap_or_else(|| format!("{}/device", self.base_url));
        self.json(
            200,
            &json!({
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": verification_uri,
                "expires_in": self.cfg.announced_expires_in.unwrap_or(self.cfg.expires_in),
                "interval": self.cfg.interval,
            }),
        )
    }

    pub(super) fn device_token(&mut self, req: &Request) -> Response {
        let now = Instant::now();
        let body = req.json().unwrap_or_default();
        let device_code = body
            .get("device_code")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let (status, answer) = self.poll(&device_code, body.contains_key("client_id"), now);
        self.polls.push(Poll {
            device_code,
            answer: match &answer {
                Ok(_) => "token".into(),
                Err(e) => e.to_string(),
            },
        });
        match answer {
            Ok(payload) => self.json(status, &payload),
            Err(e) => self.oauth_error(e),
        }
    }

    pub(super) fn poll(
        &mut self,
        device_code: &str,
        has_client_id: bool,
        now: Instant,
    ) -> (u16, Result<Value, &'static str>) {
        if device_code.is_empty() || !has_client_id {
            return (400, Err("invalid_request"));
        }
        let interval = Duration::from_secs(self.cfg.interval);
        let (slow_once, timing) = (self.cfg.slow_down_once, self.cfg.timing_slow_down);
        let idx = self
            .codes
            .iter()
            .rposition(|c| c.device_code == device_code);
        if let Some(i) = idx {
            let c = &mut self.codes[i];
            let prev = c.last_poll.replace(now);
            c.polls += 1;
            if slow_once && c.polls == 2 {
                return (400, Err("slow_down"));
            }
            if timing && prev.is_some_and(|p| now.duration_since(p) < interval) {
                return (400, Err("slow_down"));
            }
        }
        let Some(i) = idx.filter(|&i| self.code_live(i, now)) else {
            return (400, Err("expired_token"));
        };
        let deny = self.cfg.deny;
        let c = &mut self.codes[i];
        match std::mem::replace(&mut c.status, CodeStatus::Consumed) {
            CodeStatus::Pending if deny && c.polls > 1 => (400, Err("access_denied")),
            CodeStatus::Pending => {
                c.status = CodeStatus::Pending;
                (400, Err("authorization_pending"))
            }
            CodeStatus::Denied => (400, Err("access_denied")),
            CodeStatus::Approved(payload) => (200, Ok(payload)),
            CodeStatus::Consumed => (400, Err("expired_token")),
        }
    }

    pub(super) fn device_lookup(&mut self, req: &Request) -> Response {
        if self.cfg.device_code_rate_limited {
            return self.json(
                429,
                &error_body(429, Some("too_many_requests"), "rate_limited"),
            );
        }
        let code = req
            .query
            .iter()
            .find(|(k, _)| k == "user_code")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let now = Instant::now();
        let valid = self
            .find_user_code(&code)
            .filter(|&i| self.code_live(i, now) && self.codes[i].status == CodeStatus::Pending);
        self.json(
            200,
            &json!({
                "valid": valid.is_some(),
                "expires_in_remaining": if valid.is_some() { self.cfg.expires_in } else { 0 },
                "client_id": valid.map(|_| CLIENT_ID),
            }),
        )
    }

    /// `POST /oauth/device/approve|deny` with a console cookie session.
    pub(super) fn console_decision(&mut self, req: &Request, approve: bool) -> Response {
        if let Some(limit) = self.cfg.approve_rate_limit {
            self.approve_attempts += 1;
            if self.approve_attempts > limit {
                return self.json(
                    429,
                    &error_body(429, Some("too_many_requests"), "rate_limited"),
                );
            }
        }
        let unauthorized = |st: &State| {
            st.json(
                401,
                &json!({"code": "unauthorized", "message": "Unauthorized."}),
            )
        };
        let Some(session) = req
            .cookie("access_token")
            .and_then(|a| self.console.iter().position(|c| c.access == a))
        else {
            return unauthorized(self);
        };
        if self.cfg.enforce_csrf {
            let sent = req.header("x-csrf-token");
            if sent != Some(self.console[session].csrf.as_str()) {
                return unauthorized(self);
            }
        }
        let user_code = req
            .json()
            .and_then(|b| {
                b.get("user_code")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let now = Instant::now();
        let Some(idx) = self
            .find_user_code(&user_code)
            .filter(|&i| self.code_live(i, now))
        else {
            return self.json(404, &json!({"error": "expired_or_unknown"}));
        };
        if self.codes[idx].status != CodeStatus::Pending {
            return self.json(409, &json!({"error": "already_resolved"}));
        }
        if approve {
            match self.approve_code(idx) {
                Ok(_) => self.json(200, &json!({"status": "approved"})),
                Err(_) => self.error(500, None, ""),
            }
        } else {
            self.codes[idx].status = CodeStatus::Denied;
            self.json(200, &json!({"status": "denied"}))
        }
    }
}
