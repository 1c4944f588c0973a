//! Dispatch: failure rules, hostile answers, then the `/openapi/v1` router.

use serde_json::json;

use super::config::{DeviceFlow, Hostile, SwitchRoute};
use super::http::{Outcome, Request, Response, pct_decode, reason};
use super::state::State;
use super::util::error_body;
use super::{API, NOT_FOUND_TEXT};

pub(super) enum Route {
    Version,
    Health,
    Catalog,
    DeviceCode,
    DeviceToken,
    DeviceLookup,
    DeviceDecision(bool),
    Account,
    Sessions,
    RevokeSelf,
    RevokeId(String),
    Workspaces,
    Workspace(String),
    WorkspaceSwitch(String),
}

impl State {
    // --- dispatch --------------------------------------------------------------------

    pub(super) fn dispatch(&mut self, req: &Request) -> Outcome {
        if let Some(rule) = self
            .fail_rules
            .iter_mut()
            .find(|r| r.remaining > 0 && req.path.starts_with(&r.prefix))
        {
            rule.remaining -= 1;
            let (status, retry_after) = (rule.status, rule.retry_after);
            self.fail_rules.retain(|r| r.remaining > 0);
            let resp = self.error(status, None, reason(status));
            return Outcome::Respond(match retry_after {
                Some(secs) => resp.with_header("Retry-After", &secs.to_string()),
                None => resp,
            });
        }
        if let Some(prefix) = &self.cfg.hang
            && req.path.starts_with(prefix.as_str())
        {
            return Outcome::Hang;
        }
        if let Some((_, answer)) = self
            .cfg
            .hostile
            .iter()
            .find(|(prefix, _)| req.path.starts_with(prefix.as_str()))
        {
            return self.hostile_answer(answer, req);
        }
        let path = req.path.clone();
        let resp = if let Some(sub) = under(&path, API) {
            self.openapi(req, sub)
        } else if let Some(sub) = under(&path, "/console/api") {
            self.console(req, sub)
        } else if path == "/device" {
            self.device_page(req)
        } else {
            self.html_404()
        };
        Outcome::Respond(if self.cfg.version_header {
            let version = self.cfg.version.clone();
            resp.with_header("X-Version", &version)
        } else {
            resp
        })
    }

    pub(super) fn hostile_answer(&self, answer: &Hostile, req: &Request) -> Outcome {
        Outcome::Respond(match answer {
            Hostile::Oversized(n) => {
                let mut body = Vec::with_capacity(n + 2);
                body.push(b'"');
                body.resize(n + 1, b'x');
                body.push(b'"');
                Response {
                    body,
                    ..Response::text(200, "application/json", "")
                }
            }
            Hostile::Body {
                status,
                content_type,
                body,
            } => Response::text(*status, content_type, body),
            Hostile::Redirect(to) => {
                Response::text(302, "text/html", "<a>moved</a>").with_header("Location", to)
            }
            Hostile::Drip(every) => return Outcome::Drip(*every),
            Hostile::EchoBearer(status) => {
                let auth = req.header("authorization").unwrap_or("");
                let token = auth.split_once(' ').map_or(auth, |(_, t)| t.trim());
                let body = json!({
                    "code": "bad_request",
                    "message": format!("rejected {auth}"),
                    "status": status,
                    "hint": format!("your token is {token}"),
                    "details": [{"type": "echo", "loc": [token], "msg": token}],
                });
                self.json(*status, &body)
                    .with_header("Location", &format!("https://elsewhere.test/?t={token}"))
            }
        })
    }

    pub(super) fn openapi(&mut self, req: &Request, sub: &str) -> Response {
        if self.cfg.openapi_disabled {
            return self.html_404();
        }
        let resp = self.openapi_route(req, sub);
        self.stamp_catalog(resp)
    }

    fn openapi_route(&mut self, req: &Request, sub: &str) -> Response {
        if self.cfg.upgrade_required && sub != "/_version" && sub != "/_health" {
            let mut body = error_body(426, Some("upgrade_required"), "difyctl is too old");
            body["hint"] = json!("Upgrade difyctl: https://docs.dify.ai/en/cli/install");
            return self.json(426, &body);
        }
        if let Some(refusal) = self.client_gate(req, sub) {
            return refusal;
        }
        let segs: Vec<String> = sub
            .strip_prefix('/')
            .unwrap_or(sub)
            .split('/')
            .map(|s| pct_decode(s, false))
            .collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let colon = self.cfg.switch_route == SwitchRoute::Colon;
        let (route, allowed): (Route, &[&str]) = match segs.as_slice() {
            ["_version"] => (Route::Version, &["GET"]),
            ["_health"] => (Route::Health, &["GET"]),
            ["_catalog"] if self.cfg.catalog => (Route::Catalog, &["GET"]),
            ["oauth", "device", "code"] => (Route::DeviceCode, &["POST"]),
            ["oauth", "device", "token"] => (Route::DeviceToken, &["POST"]),
            ["oauth", "device", "lookup"] => (Route::DeviceLookup, &["GET"]),
            ["oauth", "device", "approve"] => (Route::DeviceDecision(true), &["POST"]),
            ["oauth", "device", "deny"] => (Route::DeviceDecision(false), &["POST"]),
            ["account"] => (Route::Account, &["GET"]),
            ["account", "sessions"] => (Route::Sessions, &["GET"]),
            ["account", "sessions", "self"] => (Route::RevokeSelf, &["DELETE"]),
            ["account", "sessions", id] if !id.is_empty() => {
                (Route::RevokeId(id.to_string()), &["DELETE"])
            }
            ["workspaces"] => (Route::Workspaces, &["GET"]),
            // Flask's `<string:id>` takes `<id>:switch` whole: only a server with the
            // colon route answers it, others see a GET-only workspace path (405).
            ["workspaces", seg] if colon && seg.len() > 7 && seg.ends_with(":switch") => (
                Route::WorkspaceSwitch(seg.trim_end_matches(":switch").to_string()),
                &["POST"],
            ),
            ["workspaces", id] if !id.is_empty() => (Route::Workspace(id.to_string()), &["GET"]),
            ["workspaces", id, "switch"] if !colon && !id.is_empty() => {
                (Route::WorkspaceSwitch(id.to_string()), &["POST"])
            }
            _ => return self.error(404, None, NOT_FOUND_TEXT),
        };
        let device = matches!(
            route,
            Route::DeviceCode | Route::DeviceToken | Route::DeviceLookup | Route::DeviceDecision(_)
        );
        if device {
            match self.cfg.device_flow {
                DeviceFlow::Enabled => {}
                DeviceFlow::HtmlNotFound => return self.html_404(),
                DeviceFlow::JsonNotFound => return self.error(404, None, NOT_FOUND_TEXT),
            }
        }
        if !allowed.contains(&req.method.as_str()) {
            return self
                .error(
                    405,
                    None,
                    "The method is not allowed for the requested URL.",
                )
                .with_header("Allow", &allowed.join(", "));
        }
        let caller = match route {
            Route::Version => {
                return self.json(
                    200,
                    &json!({"version": self.cfg.version, "edition": self.cfg.edition}),
                );
            }
            Route::Health => return self.json(200, &json!({"ok": true})),
            Route::Catalog => return self.catalog_answer(),
            Route::DeviceCode => return self.device_code(req),
            Route::DeviceToken => return self.device_token(req),
            Route::DeviceLookup => return self.device_lookup(req),
            Route::DeviceDecision(approve) => return self.console_decision(req, approve),
            // Everything below needs a bearer, then (on a catalog server) the
            // current fingerprint.
            _ => match self
                .bearer(req)
                .and_then(|c| self.catalog_guard(req).map(|()| c))
            {
                Ok(caller) => caller,
                Err(refusal) => return refusal,
            },
        };
        match route {
            Route::Account => self.get_account(),
            Route::Sessions => self.list_sessions(req, caller),
            Route::RevokeSelf => {
                self.revoke(caller);
                self.json(200, &json!({"status": "revoked"}))
            }
            Route::RevokeId(id) => self.revoke_by_id(caller, &id),
            Route::Workspaces => self.list_workspaces(req),
            Route::Workspace(id) => match self.cfg.workspaces.iter().find(|w| w.id == id) {
                Some(w) => self.json(200, &self.workspace_detail(w)),
                None => self.error(404, None, "workspace not found"),
            },
            Route::WorkspaceSwitch(id) => {
                match self.cfg.workspaces.iter().find(|w| w.id == id).cloned() {
                    Some(w) => {
                        self.cfg.default_workspace_id = Some(w.id.clone());
                        self.json(200, &self.workspace_detail(&w))
                    }
                    None => self.error(404, None, "workspace not found"),
                }
            }
            _ => unreachable!("answered above"),
        }
    }
}

/// `path` below `prefix` (`""` for the prefix itself, else starting with `/`).
pub(super) fn under<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}
