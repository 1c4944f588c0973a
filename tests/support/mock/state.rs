//! The mock's internal state and the bookkeeping on it: codes, sessions, tokens.

use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::config::{MockConfig, Workspace};
use super::http::Response;
use super::util::{error_body, iso, now_unix};
use super::views::{Poll, Recorded, SessionInfo};
use super::{ACCOUNT_ISSUER, CLIENT_ID, NOT_FOUND_TEXT, URL_SAFE};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum CodeStatus {
    Pending,
    Approved(Value),
    Denied,
    Consumed,
}

pub(super) struct DeviceCode {
    pub(super) device_code: String,
    pub(super) user_code: String,
    pub(super) issued: Instant,
    pub(super) approved: Option<Instant>,
    pub(super) expires_in: u64,
    pub(super) device_label: String,
    pub(super) status: CodeStatus,
    pub(super) last_poll: Option<Instant>,
    pub(super) polls: usize,
}

#[derive(Clone)]
pub(super) struct Session {
    pub(super) id: String,
    pub(super) token: String,
    pub(super) sso: bool,
    pub(super) email: String,
    pub(super) issuer: String,
    pub(super) client_id: String,
    pub(super) device_label: String,
    pub(super) created_at: i64,
    pub(super) expires_at: i64,
    pub(super) revoked: bool,
}

impl Session {
    pub(super) fn live(&self, now: i64) -> bool {
        !self.revoked && self.expires_at > now
    }
    pub(super) fn same_owner(&self, other: &Session) -> bool {
        self.sso == other.sso && self.email == other.email && self.issuer == other.issuer
    }
    pub(super) fn info(&self) -> SessionInfo {
        SessionInfo {
            id: self.id.clone(),
            token: self.token.clone(),
            device_label: self.device_label.clone(),
            client_id: self.client_id.clone(),
            email: self.email.clone(),
            created_at: iso(self.created_at, "Z"),
            expires_at: iso(self.expires_at, "Z"),
            revoked: self.revoked,
        }
    }
}

pub(super) struct ConsoleSession {
    pub(super) email: String,
    pub(super) access: String,
    pub(super) csrf: String,
    pub(super) logged_out: bool,
}

pub(super) struct FailRule {
    pub(super) prefix: String,
    pub(super) remaining: usize,
    pub(super) status: u16,
    /// A `Retry-After` header (seconds) on the answer.
    pub(super) retry_after: Option<u64>,
}

pub(super) struct State {
    pub(super) cfg: MockConfig,
    pub(super) base_url: String,
    pub(super) rng: u64,
    pub(super) codes: Vec<DeviceCode>,
    pub(super) sessions: Vec<Session>,
    pub(super) by_token: HashMap<String, usize>,
    pub(super) by_id: HashMap<String, usize>,
    pub(super) last_created: i64,
    pub(super) revoked: Vec<String>,
    pub(super) requests: Vec<Recorded>,
    pub(super) polls: Vec<Poll>,
    pub(super) fail_rules: Vec<FailRule>,
    /// Path prefixes whose requests wait (recorded, unanswered) until released.
    pub(super) holds: Vec<String>,
    pub(super) revoke_deletes: usize,
    pub(super) rate: HashMap<String, (Instant, u32)>,
    pub(super) approve_attempts: u32,
    pub(super) console: Vec<ConsoleSession>,
    pub(super) email_code_tokens: HashMap<String, (String, bool)>,
    pub(super) shutdown: bool,
    pub(super) conns: HashMap<u64, TcpStream>,
    pub(super) next_conn: u64,
    /// Bearer requests that passed the catalog guard (for [`CatalogChange`]).
    ///
    /// [`CatalogChange`]: super::config::CatalogChange
    pub(super) guard_passes: usize,
    /// A catalog change to apply once the current answer is stamped.
    pub(super) catalog_bump_after_answer: bool,
}

pub(super) struct Shared {
    pub(super) state: Mutex<State>,
    pub(super) cv: Condvar,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Clone)]
pub(super) struct Owner {
    pub(super) sso: bool,
    pub(super) email: String,
    pub(super) issuer: String,
}

impl State {
    pub(super) fn next_u64(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn random_from(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[(self.next_u64() % alphabet.len() as u64) as usize] as char)
            .collect()
    }

    pub(super) fn uuid(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&a.to_be_bytes());
        bytes[8..].copy_from_slice(&b.to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    pub(super) fn json(&self, status: u16, v: &Value) -> Response {
        let mut body = serde_json::to_string(v).expect("serialise");
        if self.cfg.escape_slashes {
            // '/' can only occur inside JSON strings, so this is what Python's json does.
            body = body.replace('/', "\\/");
        }
        Response::text(status, "application/json", &body)
    }

    pub(super) fn error(&self, status: u16, code: Option<&str>, message: &str) -> Response {
        let resp = self.json(status, &error_body(status, code, message));
        if status == 401 {
            resp.with_header("WWW-Authenticate", "Bearer realm=\"api\"")
        } else {
            resp
        }
    }

    pub(super) fn oauth_error(&self, error: &str) -> Response {
        self.json(400, &json!({ "error": error }))
    }

    pub(super) fn html_404(&self) -> Response {
        Response::text(
            404,
            "text/html; charset=utf-8",
            &format!(
                "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>{NOT_FOUND_TEXT}</p>\n"
            ),
        )
    }

    pub(super) fn account_owner(&self) -> Owner {
        Owner {
            sso: false,
            email: self.cfg.account.email.clone(),
            issuer: ACCOUNT_ISSUER.into(),
        }
    }

    pub(super) fn approving_owner(&self) -> Owner {
        match &self.cfg.sso {
            Some(s) => Owner {
                sso: true,
                email: s.email.clone(),
                issuer: s.issuer.clone(),
            },
            None => self.account_owner(),
        }
    }

    /// Mint a token; with `rotate`, live sessions of the same owner, client and label are
    /// revoked first (one live token per subject, client and label).
    pub(super) fn mint(
        &mut self,
        owner: Owner,
        client_id: &str,
        label: &str,
        rotate: bool,
    ) -> usize {
        let now = now_unix();
        let token = format!(
            "{}{}",
            if owner.sso { "dfoe_" } else { "dfoa_" },
            self.random_from(URL_SAFE, 43)
        );
        let id = self.uuid();
        let created_at = now.max(self.last_created + 1);
        self.last_created = created_at;
        let session = Session {
            id: id.clone(),
            token: token.clone(),
            sso: owner.sso,
            email: owner.email,
            issuer: owner.issuer,
            client_id: client_id.into(),
            device_label: label.into(),
            created_at,
            expires_at: created_at + self.cfg.token_ttl_secs,
            revoked: false,
        };
        if rotate {
            let stale: Vec<usize> = (0..self.sessions.len())
                .filter(|&i| {
                    let s = &self.sessions[i];
                    s.live(now)
                        && s.same_owner(&session)
                        && s.client_id == session.client_id
                        && s.device_label == session.device_label
                })
                .collect();
            for i in stale {
                self.revoke(i);
            }
        }
        let idx = self.sessions.len();
        self.sessions.push(session);
        self.by_token.insert(token, idx);
        self.by_id.insert(id, idx);
        idx
    }

    pub(super) fn revoke(&mut self, idx: usize) {
        let s = &mut self.sessions[idx];
        if !s.revoked {
            s.revoked = true;
            let id = s.id.clone();
            self.revoked.push(id);
        }
    }

    pub(super) fn code_live(&self, idx: usize, now: Instant) -> bool {
        let c = &self.codes[idx];
        if self.cfg.expire_codes {
            return false;
        }
        let mut end = c.issued + Duration::from_secs(c.expires_in);
        if let Some(at) = c.approved {
            end = end.max(at + Duration::from_secs(60));
        }
        now < end
    }

    pub(super) fn find_user_code(&self, user_code: &str) -> Option<usize> {
        let exact = self.codes.iter().rposition(|c| c.user_code == user_code);
        exact.or_else(|| {
            let up = user_code.trim().to_ascii_uppercase();
            self.codes.iter().rposition(|c| c.user_code == up)
        })
    }

    pub(super) fn pending_code(&self, user_code: &str) -> Result<usize, String> {
        let idx = self
            .find_user_code(user_code)
            .ok_or_else(|| "unknown user code".to_string())?;
        if !self.code_live(idx, Instant::now()) {
            return Err("code expired".into());
        }
        if self.codes[idx].status != CodeStatus::Pending {
            return Err("code already resolved".into());
        }
        Ok(idx)
    }

    /// Approve a pending code: mint the token now (rotating the label) and store the
    /// payload the next poll hands out.
    pub(super) fn approve_code(&mut self, idx: usize) -> Result<usize, String> {
        let label = self.codes[idx].device_label.clone();
        if label.chars().count() > 255 {
            return Err("device_label longer than 255 characters".into());
        }
        let owner = self.approving_owner();
        let sid = self.mint(owner, CLIENT_ID, &label, true);
        let s = self.sessions[sid].clone();
        let expires_at = iso(s.expires_at, "+00:00");
        let payload = if s.sso {
            json!({
                "token": s.token,
                "expires_at": expires_at,
                "subject_type": "external_sso",
                "subject_email": s.email,
                "subject_issuer": s.issuer,
                "account": null,
                "workspaces": [],
                "default_workspace_id": null,
                "token_id": s.id,
            })
        } else {
            json!({
                "token": s.token,
                "expires_at": expires_at,
                "subject_type": "account",
                "account": self.account_json(),
                "workspaces": self.workspaces_json(),
                "default_workspace_id": self.cfg.default_workspace_id,
                "token_id": s.id,
            })
        };
        let code = &mut self.codes[idx];
        code.status = CodeStatus::Approved(payload);
        code.approved = Some(Instant::now());
        Ok(sid)
    }

    pub(super) fn account_json(&self) -> Value {
        let a = &self.cfg.account;
        json!({"id": a.id, "email": a.email, "name": a.name})
    }

    pub(super) fn workspaces_json(&self) -> Value {
        self.cfg
            .workspaces
            .iter()
            .map(|w| json!({"id": w.id, "name": w.name, "role": w.role}))
            .collect()
    }

    pub(super) fn workspace_detail(&self, w: &Workspace) -> Value {
        json!({
            "id": w.id,
            "name": w.name,
            "role": w.role,
            "status": "normal",
            "current": self.cfg.default_workspace_id.as_deref() == Some(w.id.as_str()),
            "created_at": "2026-01-01T00:00:00",
        })
    }
}
