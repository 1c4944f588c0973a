//! The bearer-authenticated endpoints: account, sessions, revoke.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::RATE_LIMIT_MESSAGE;
use super::http::{Request, Response};
use super::state::{Session, State};
use super::util::{error_body, is_uuid, iso, now_unix};

impl State {
    // --- bearer endpoints ------------------------------------------------------------

    /// Authenticate an account bearer; the caller's session index or the error answer.
    pub(super) fn bearer(&mut self, req: &Request) -> Result<usize, Response> {
        let token = req
            .header("authorization")
            .and_then(|h| {
                let (scheme, rest) = h.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err(self.error(401, None, "bearer required"));
        };
        let now = now_unix();
        let found = if self.cfg.invalid_bearer
            || !(token.starts_with("dfoa_") || token.starts_with("dfoe_"))
        {
            None
        } else {
            self.by_token
                .get(token)
                .copied()
                .filter(|&i| self.sessions[i].live(now))
        };
        let Some(idx) = found else {
            return Err(if self.cfg.baseline_invalid_bearer_500 {
                self.error(500, None, "")
            } else {
                self.error(401, None, "invalid bearer")
            });
        };
        if self.sessions[idx].sso && !self.cfg.sso_acts_for_account {
            return Err(self.error(403, None, "unsupported_token_type"));
        }
        if let Some(limit) = self.cfg.rate_limit_per_min {
            let t = Instant::now();
            let entry = self.rate.entry(token.to_string()).or_insert((t, 0));
            if t.duration_since(entry.0) >= Duration::from_secs(60) {
                *entry = (t, 0);
            }
            entry.1 += 1;
            if entry.1 > limit {
                let resp = self.error(429, None, RATE_LIMIT_MESSAGE);
                return Err(match self.cfg.rate_limit_retry_after {
                    Some(secs) => resp.with_header("Retry-After", &secs.to_string()),
                    None => resp,
                });
            }
        }
        Ok(idx)
    }

    /// Whether the caller's bearer may see and revoke `session`: its owner's
    /// sessions, or the account's for an SSO bearer under
    /// [`sso_acts_for_account`](super::MockConfig::sso_acts_for_account).
    fn acts_for(&self, caller: usize, session: &Session) -> bool {
        let me = &self.sessions[caller];
        if me.sso && self.cfg.sso_acts_for_account {
            let account = self.account_owner();
            return !session.sso
                && session.email == account.email
                && session.issuer == account.issuer;
        }
        session.same_owner(me)
    }

    pub(super) fn get_account(&self) -> Response {
        let a = &self.cfg.account;
        self.json(
            200,
            &json!({
                "subject_type": "account",
                "subject_email": a.email,
                "subject_issuer": null,
                "account": self.account_json(),
                "workspaces": self.workspaces_json(),
                "default_workspace_id": self.cfg.default_workspace_id,
            }),
        )
    }

    /// The `page` and `limit` query of a paged route, validated as the server does
    /// (other keys are refused); the 422 otherwise.
    pub(super) fn page_query(
        &self,
        req: &Request,
        max_limit: u64,
        default_limit: u64,
    ) -> Result<(u64, u64), Response> {
        let mut details = Vec::new();
        let mut page: Option<u64> = None;
        let mut limit: Option<u64> = None;
        for (k, v) in &req.query {
            let (slot, max) = match k.as_str() {
                "page" => (&mut page, None),
                "limit" => (&mut limit, Some(max_limit)),
                _ => {
                    details.push(json!({"type": "extra_forbidden", "loc": [k], "msg": "Extra inputs are not permitted"}));
                    continue;
                }
            };
            if slot.is_some() {
                continue; // first value wins, as Flask's args.to_dict()
            }
            match v.trim().parse::<i64>() {
                Err(_) => details.push(json!({"type": "int_parsing", "loc": [k], "msg": "Input should be a valid integer, unable to parse string as an integer"})),
                Ok(n) if n < 1 => details.push(json!({"type": "greater_than_equal", "loc": [k], "msg": "Input should be greater than or equal to 1"})),
                Ok(n) if max.is_some_and(|m| n as u64 > m) => details.push(json!({"type": "less_than_equal", "loc": [k], "msg": format!("Input should be less than or equal to {max_limit}")})),
                Ok(n) => *slot = Some(n as u64),
            }
        }
        if !details.is_empty() {
            let mut body = error_body(422, None, "Request validation failed");
            body["details"] = Value::Array(details);
            return Err(self.json(422, &body));
        }
        Ok((page.unwrap_or(1), limit.unwrap_or(default_limit)))
    }

    pub(super) fn list_sessions(&self, req: &Request, caller: usize) -> Response {
        let (page, limit) = match self.page_query(req, 200, 100) {
            Ok(pl) => pl,
            Err(refusal) => return refusal,
        };
        let now = now_unix();
        let mine: Vec<&Session> = self
            .sessions
            .iter()
            .rev()
            .filter(|s| s.live(now) && self.acts_for(caller, s))
            .collect();
        let total = mine.len() as u64;
        let start = ((page - 1).saturating_mul(limit)).min(total) as usize;
        let data: Vec<Value> = mine
            .iter()
            .skip(start)
            .take(limit as usize)
            .map(|s| {
                json!({
                    "id": s.id,
                    "prefix": if s.sso { "dfoe_" } else { "dfoa_" },
                    "client_id": s.client_id,
                    "device_label": s.device_label,
                    "created_at": iso(s.created_at, "Z"),
                    "last_used_at": null,
                    "expires_at": iso(s.expires_at, "Z"),
                })
            })
            .collect();
        self.json(
            200,
            &json!({
                "page": page,
                "limit": limit,
                "total": total,
                "has_more": page.saturating_mul(limit) < total,
                "data": data,
            }),
        )
    }

    pub(super) fn revoke_by_id(&mut self, caller: usize, id: &str) -> Response {
        if let Some(n) = self.cfg.fail_revoke_after {
            self.revoke_deletes += 1;
            if self.revoke_deletes > n {
                return self.error(500, None, "");
            }
        }
        if !is_uuid(id) {
            // The 1.14-era server does not validate the id before the UUID column query.
            return self.error(500, None, "");
        }
        let target = self
            .by_id
            .get(id)
            .copied()
            .filter(|&i| self.acts_for(caller, &self.sessions[i]));
        match target {
            Some(i) => {
                self.revoke(i);
                self.json(200, &json!({"status": "revoked"}))
            }
            None => self.error(404, None, "session not found"),
        }
    }

    /// `GET /workspaces`: the whole list, or a page of it on a paged server.
    pub(super) fn list_workspaces(&self, req: &Request) -> Response {
        let list: Vec<Value> = self
            .cfg
            .workspaces
            .iter()
            .map(|w| {
                let mut v = self.workspace_detail(w);
                v.as_object_mut().map(|o| o.remove("created_at"));
                v
            })
            .collect();
        if !self.cfg.paged_workspaces {
            return self.json(200, &json!({ "workspaces": list }));
        }
        let (page, limit) = match self.page_query(req, 100, 20) {
            Ok(pl) => pl,
            Err(refusal) => return refusal,
        };
        let total = list.len() as u64;
        let start = ((page - 1).saturating_mul(limit)).min(total) as usize;
        let data: Vec<Value> = list.into_iter().skip(start).take(limit as usize).collect();
        self.json(
            200,
            &json!({
                "page": page,
                "limit": limit,
                "total": total,
                "has_more": page.saturating_mul(limit) < total,
                "data": data,
            }),
        )
    }
}
