//! The newer servers' handshake: the catalog and its fingerprint, the guard on
//! bearer routes, and the client gate on `difyctl/` agents.

use serde_json::{Map, Value, json};

use super::API;
use super::config::SwitchRoute;
use super::http::{Request, Response};
use super::state::State;
use super::util::error_body;

/// The header the fingerprint travels in, both ways.
pub const CATALOG_HEADER: &str = "X-Dify-Catalog";

/// The guard's refusal, as newer servers word it.
pub const STALE_MESSAGE: &str =
    "The request was built from a catalog that is not this server's current catalog.";
const STALE_HINT: &str =
    "GET /openapi/v1/_catalog, rebuild the request from it, and send its sha256 in X-Dify-Catalog.";

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// One operation of the catalog.
fn op(summary: &str, method: &str, path: &str, params: &[&str], tag: &str) -> Value {
    let properties: Map<String, Value> = params
        .iter()
        .map(|p| (p.to_string(), json!({"type": "string"})))
        .collect();
    let bind: Map<String, Value> = params
        .iter()
        .map(|p| (p.to_string(), json!("path")))
        .collect();
    json!({
        "bind": bind,
        "deprecated": false,
        "input": {"properties": properties, "required": params, "type": "object"},
        "internal": false,
        "kind": if method == "GET" { "read" } else { "write" },
        "method": method,
        "path": format!("{API}{path}"),
        "summary": summary,
        "tags": [tag],
    })
}

/// A JSON value with every object's keys in order: what `json.dumps(…,
/// sort_keys=True)` writes.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

impl State {
    /// The catalog's exact bytes: canonical JSON (sorted keys, no spaces, `/`
    /// not escaped), which the revision is part of.
    pub(super) fn catalog_body(&self) -> Vec<u8> {
        let switch = match self.cfg.switch_route {
            SwitchRoute::Colon => "/workspaces/{workspace_id}:switch",
            SwitchRoute::Slash => "/workspaces/{workspace_id}/switch",
        };
        let revision = self.cfg.catalog_revision;
        let catalog = json!({"ops": {
            "get.account": op("The signed-in account", "GET", "/account", &[], "get"),
            "list.sessions": op("The account's sessions", "GET", "/account/sessions", &[], "list"),
            "revoke.session": op("Revoke a session", "DELETE", "/account/sessions/{session_id}", &["session_id"], "revoke"),
            "list.workspaces": op("The account's workspaces", "GET", "/workspaces", &[], "list"),
            "get.workspace": op("One workspace", "GET", "/workspaces/{workspace_id}", &["workspace_id"], "get"),
            "switch.workspace": op("Switch the current workspace", "POST", switch, &["workspace_id"], "switch"),
            "get.version": op(&format!("Server version (catalog revision {revision})"), "GET", "/_version", &[], "get"),
        }});
        serde_json::to_vec(&sorted(&catalog)).expect("serialise")
    }

    /// The fingerprint every answer carries.
    pub(super) fn catalog_fingerprint(&self) -> String {
        sha256_hex(&self.catalog_body())
    }

    /// `GET /_catalog`.
    pub(super) fn catalog_answer(&self) -> Response {
        let body = self.catalog_body();
        let mut resp = Response::text(200, "application/json", "");
        resp.body = body;
        if self.cfg.catalog_bad_fingerprint {
            resp.with_header(CATALOG_HEADER, &sha256_hex(b"not the catalog"))
        } else {
            resp
        }
    }

    /// The catalog guard, run after the bearer check on every bearer route.
    pub(super) fn catalog_guard(&mut self, req: &Request) -> Result<(), Response> {
        if !self.cfg.catalog {
            return Ok(());
        }
        let current = self.catalog_fingerprint();
        let sent = req.header("x-dify-catalog").map(str::trim);
        if self.cfg.catalog_always_stale || sent != Some(current.as_str()) {
            let mut body = error_body(412, Some("catalog_stale"), STALE_MESSAGE);
            body["hint"] = json!(STALE_HINT);
            return Err(self.json(412, &body));
        }
        self.guard_passes += 1;
        if let Some(change) = self.cfg.catalog_change
            && change.after == self.guard_passes
        {
            if change.announced {
                self.cfg.catalog_revision += 1;
            } else {
                self.catalog_bump_after_answer = true;
            }
        }
        Ok(())
    }

    /// Every `/openapi/v1` answer of a catalog server names the fingerprint; a
    /// change held back until now lands after it.
    pub(super) fn stamp_catalog(&mut self, resp: Response) -> Response {
        if !self.cfg.catalog {
            return resp;
        }
        let already = resp.headers.iter().any(|(k, _)| k == CATALOG_HEADER);
        let resp = if already {
            resp
        } else {
            resp.with_header(CATALOG_HEADER, &self.catalog_fingerprint())
        };
        if std::mem::take(&mut self.catalog_bump_after_answer) {
            self.cfg.catalog_revision += 1;
        }
        resp
    }

    /// The client gate: a `difyctl/<semver>` agent below the minimum gets 426.
    pub(super) fn client_gate(&self, req: &Request, sub: &str) -> Option<Response> {
        let min = self.cfg.min_difyctl_version.as_deref()?;
        if sub == "/_version" || sub == "/_health" {
            return None;
        }
        let agent = req.header("user-agent")?;
        let version = agent.strip_prefix("difyctl/")?;
        let version: String = version
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .collect();
        let core = |v: &str| -> Option<(u64, u64, u64)> {
            let mut it = v
                .split('-')
                .next()?
                .split('.')
                .map(|n| n.parse::<u64>().ok());
            Some((it.next()??, it.next()??, it.next()??))
        };
        if core(&version)? >= core(min)? {
            return None;
        }
        let mut body = error_body(
            426,
            Some("upgrade_required"),
            &format!("difyctl {version} is no longer supported; upgrade to >= {min}."),
        );
        body["hint"] = json!("Upgrade difyctl: https://docs.dify.ai/en/cli/install");
        Some(self.json(426, &body))
    }
}
