//! The catalog handshake of newer Dify servers, and what difyctl remembers
//! about each server between runs.
//!
//! # The handshake
//!
//! A server with a catalog (Dify after 1.16) answers `GET /openapi/v1/_catalog`
//! (no bearer) with one JSON document describing every operation:
//! `{"ops": {"<op id>": {"summary", "method", "path", "kind", "input", "bind",
//! "tags", "internal", "deprecated"}}}`, where `path` is the full path with
//! `{name}` placeholders (`/openapi/v1/workspaces/{workspace_id}:switch`).
//! Every `/openapi/v1` response carries `X-Dify-Catalog: <fingerprint>`, the
//! lower-case hex SHA-256 of the exact catalog bytes.
//!
//! Every bearer-authenticated route requires the request header
//! `X-Dify-Catalog` to equal that fingerprint, else it answers **412**
//! `{"code": "catalog_stale", …}`. The check runs after the bearer check (an
//! invalid bearer is still 401) and before the handler, so a refused `POST` or
//! `DELETE` had no effect and may be sent again. `/_health`, `/_version`,
//! `/_catalog` and the device flow (`/oauth/device/*`) are not guarded.
//!
//! What the client does (see [`Client::send`]):
//!
//! 1. Before the first bearer request to a host it knows nothing about, it
//!    fetches `_catalog` and checks the body's SHA-256 against the response
//!    header. A mismatch, or a body that is not a catalog, is `version_skew`
//!    (exit 6). A 404 means a server from before the catalog: that is
//!    remembered and no header is ever sent to it. Any other failure (one
//!    attempt only) sends the request without the header: its own answer
//!    tells.
//! 2. Every bearer request carries the fingerprint (`api` too, unless the user
//!    set the header with `-H`).
//! 3. A response whose `X-Dify-Catalog` differs from the remembered one (or
//!    that has one where the server had no catalog) makes the memo stale: the
//!    next bearer request fetches the catalog first.
//! 4. A 412 `catalog_stale` fetches the catalog again and sends the request
//!    once more. A 412 after that is a mismatch between this difyctl and the
//!    server: the error `catalog_stale` (exit 6).
//!
//! In the steady state a command makes no request beyond its own.
//!
//! # The memo
//!
//! What was learned is kept per server origin in a [`Memo`], which the
//! command layer persists through a [`MemoStore`] (in the cache directory).
//! The memo holds the fingerprint and each operation's method and path, the
//! server version when known, and the workspace-switch route that worked when
//! the expected one did not. Losing it costs one request.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, ErrorCode, Result};

use super::errors::{error_body, status_error};
use super::server::{self, ServerVersion, SwitchRoute, VERSION_HEADER};
use super::{Client, Method, Request, Response};

/// The header that carries the catalog fingerprint, both ways.
pub const HEADER: &str = "X-Dify-Catalog";

/// Where the catalog is served, under `/openapi/v1/`.
pub const PATH: &str = "_catalog";

/// Operation ids that name the workspace switch in the catalogs seen so far.
pub const SWITCH_WORKSPACE_OPS: [&str; 3] =
    ["switch.workspace", "workspaces.switch", "workspace.switch"];

/// What difyctl knows about one server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memo {
    /// The server's catalog, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<Catalog>,
    /// `GET _catalog` answered 404: a server from before the catalog.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_catalog: bool,
    /// The version the server last reported (`X-Version` or `GET _version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The edition from `GET _version`, as the server reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
    /// The switch route that worked after the expected one was missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_route: Option<SwitchRoute>,
}

impl Memo {
    /// Whether the server's catalog situation is known (a catalog or a 404).
    pub fn knows_catalog(&self) -> bool {
        self.catalog.is_some() || self.no_catalog
    }
}

/// The parts of a catalog difyctl uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub fingerprint: String,
    /// Operation id → method and full path.
    #[serde(default)]
    pub ops: BTreeMap<String, Op>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    pub method: String,
    pub path: String,
}

impl Catalog {
    /// Checks `body` against the fingerprint the server sent with it and reads
    /// the operations. Either failing means difyctl cannot trust the catalog.
    pub fn from_response(
        body: &[u8],
        header: Option<&str>,
    ) -> std::result::Result<Catalog, String> {
        let fingerprint = sha256_hex(body);
        match header.map(str::trim) {
            Some(h) if h.eq_ignore_ascii_case(&fingerprint) => {}
            Some(_) => {
                return Err("the catalog does not match its fingerprint (X-Dify-Catalog)".into());
            }
            None => return Err("the catalog came without its fingerprint (X-Dify-Catalog)".into()),
        }
        let doc: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("the catalog is not JSON: {e}"))?;
        let ops = doc
            .get("ops")
            .and_then(serde_json::Value::as_object)
            .ok_or("the catalog has no ops")?;
        let ops = ops
            .iter()
            .filter_map(|(id, op)| {
                let method = op.get("method")?.as_str()?;
                let path = op.get("path")?.as_str()?;
                Some((
                    id.clone(),
                    Op {
                        method: method.to_ascii_uppercase(),
                        path: path.to_owned(),
                    },
                ))
            })
            .collect();
        Ok(Catalog { fingerprint, ops })
    }

    /// The request path of the first of `ids` this catalog has with `method`,
    /// under `/openapi/v1/`, its single `{placeholder}` replaced by
    /// `encoded_arg`. Paths that would leave `/openapi/v1/` are ignored.
    pub fn route(&self, ids: &[&str], method: &str, encoded_arg: &str) -> Option<String> {
        ids.iter().find_map(|id| {
            let op = self.ops.get(*id).filter(|op| op.method == method)?;
            let rest = op.path.strip_prefix("/openapi/v1/")?;
            let open = rest.find('{')?;
            let close = open + rest[open..].find('}')?;
            let path = format!("{}{encoded_arg}{}", &rest[..open], &rest[close + 1..]);
            let safe = !path.contains(['{', '}', '?', '#', '\\'])
                && !path.split('/').any(|seg| seg == "." || seg == "..");
            safe.then_some(path)
        })
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a response is the catalog guard's refusal.
pub fn is_stale(resp: &Response) -> bool {
    resp.status == 412 && error_body(&resp.body).is_some_and(|b| b.code == "catalog_stale")
}

/// Where memos live between runs, keyed by the client's origin
/// (`<scheme>://<host>[/<prefix>]`). Failing to keep one only costs a request.
pub trait MemoStore: Send + Sync {
    fn load(&self, origin: &str) -> Option<Memo>;
    fn save(&self, origin: &str, memo: &Memo) -> Result<()>;
}

/// The handshake state of one client (shared by its clones).
pub(crate) struct Handshake {
    origin: String,
    store: Option<Arc<dyn MemoStore>>,
    /// `None` until loaded from the store.
    memo: Mutex<Option<Memo>>,
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("origin", &self.origin)
            .field("stored", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

/// How a failed `_catalog` fetch is taken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fetch {
    /// Before a request: a server that cannot say (unreachable, a 5xx, a 426,
    /// …) gets the request without the header, and its own answer tells.
    Tolerant,
    /// After a 412: the request cannot succeed without the catalog.
    Strict,
}

impl Handshake {
    pub(crate) fn new(origin: &str, store: Option<Arc<dyn MemoStore>>) -> Handshake {
        Handshake {
            origin: origin.to_owned(),
            store,
            memo: Mutex::new(None),
        }
    }

    /// The memo, loaded on first use.
    fn memo(&self) -> MutexGuard<'_, Option<Memo>> {
        let mut guard = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let loaded = self.store.as_ref().and_then(|s| s.load(&self.origin));
            *guard = Some(loaded.unwrap_or_default());
        }
        guard
    }

    /// A copy of what is known now (no request).
    pub(crate) fn snapshot(&self) -> Memo {
        self.memo().clone().unwrap_or_default()
    }

    /// Changes the memo and keeps it when it changed.
    fn update(&self, client: &Client, change: impl FnOnce(&mut Memo)) {
        let mut guard = self.memo();
        let memo = guard.get_or_insert_with(Memo::default);
        let before = memo.clone();
        change(memo);
        if *memo != before {
            self.save(client, memo);
        }
    }

    fn save(&self, client: &Client, memo: &Memo) {
        if let Some(store) = &self.store
            && let Err(e) = store.save(&self.origin, memo)
        {
            client.log(&format!(
                "! cannot keep what was learned about the server: {}",
                e.message
            ));
        }
    }

    /// The fingerprint to send, fetching the catalog when the server's
    /// situation is unknown. `None`: send no header.
    pub(crate) fn fingerprint(&self, client: &Client) -> Result<Option<String>> {
        let known = self.snapshot();
        if !known.knows_catalog() {
            self.fetch(client, Fetch::Tolerant)?;
        }
        Ok(self.snapshot().catalog.map(|c| c.fingerprint))
    }

    /// After a 412: the catalog again, whatever is remembered.
    pub(crate) fn refetch(&self, client: &Client) -> Result<()> {
        self.fetch(client, Fetch::Strict)
    }

    fn fetch(&self, client: &Client, mode: Fetch) -> Result<()> {
        let resp = match mode {
            Fetch::Strict => client.send_unguarded(&Request::new(Method::Get, PATH))?,
            // One attempt: whatever goes wrong, the request itself follows with
            // its own retries, and its error is the one worth showing.
            Fetch::Tolerant => {
                match client.send_unguarded(&Request::new(Method::Get, PATH).no_retry()) {
                    Ok(resp) => resp,
                    Err(e) => {
                        client.log(&format!(
                            "* catalog unavailable ({}); sending without it",
                            e.message
                        ));
                        return Ok(());
                    }
                }
            }
        };
        match resp.status {
            200 => {
                let catalog = Catalog::from_response(&resp.body, resp.header(HEADER))
                    .map_err(|why| untrusted(why, &resp))?;
                client.log(&format!(
                    "* catalog {} ({} ops)",
                    catalog.fingerprint,
                    catalog.ops.len()
                ));
                self.update(client, |m| {
                    m.catalog = Some(catalog);
                    m.no_catalog = false;
                    note_version(m, &resp);
                });
            }
            404 => {
                client.log("* no catalog: a server from before the catalog handshake");
                self.update(client, |m| {
                    m.catalog = None;
                    m.no_catalog = true;
                    note_version(m, &resp);
                });
            }
            _ if mode == Fetch::Tolerant => {
                client.log(&format!(
                    "* catalog unavailable (HTTP {}); sending without it",
                    resp.status
                ));
            }
            _ => return Err(status_error(&resp)),
        }
        Ok(())
    }

    /// Learns from any `/openapi/v1` response about a server it knows: a
    /// fingerprint that differs from the remembered one makes the memo stale,
    /// a new version is noted. Nothing is kept about a server not yet known
    /// (a sign-in's device flow leaves no memo behind).
    pub(crate) fn observe(&self, client: &Client, resp: &Response) {
        let seen = resp.header(HEADER).map(str::trim).filter(|h| !h.is_empty());
        self.update(client, |m| {
            if !m.knows_catalog() {
                return;
            }
            note_version(m, resp);
            let Some(seen) = seen else {
                return;
            };
            let stale = match &m.catalog {
                Some(c) => !c.fingerprint.eq_ignore_ascii_case(seen),
                None => m.no_catalog,
            };
            if stale {
                client.log("* the server's catalog changed; fetching it before the next request");
                m.catalog = None;
                m.no_catalog = false;
            }
        });
    }

    /// The server version: remembered, else probed (and remembered). `None`
    /// when the server does not say.
    pub(crate) fn version(&self, client: &Client) -> Option<String> {
        if let Some(v) = self.snapshot().version {
            return Some(v);
        }
        let probed: ServerVersion = server::probe_version(client).ok()?;
        self.update(client, |m| {
            if !probed.edition.is_empty() {
                m.edition = Some(probed.edition.clone());
            }
            if !probed.version.is_empty() {
                m.version = Some(probed.version.clone());
            }
        });
        Some(probed.version).filter(|v| !v.is_empty())
    }

    pub(crate) fn remember_switch_route(&self, client: &Client, route: SwitchRoute) {
        self.update(client, |m| m.switch_route = Some(route));
    }
}

/// Notes the version an answer names (`X-Version`).
fn note_version(m: &mut Memo, resp: &Response) {
    let Some(version) = resp
        .header(VERSION_HEADER)
        .map(str::trim)
        .filter(|v| !v.is_empty())
    else {
        return;
    };
    if m.version.as_deref() != Some(version) {
        m.version = Some(version.to_owned());
        // A learned route belongs to the version it was learned on.
        m.switch_route = None;
    }
}

/// A catalog difyctl cannot use: the server and this client disagree on
/// the protocol itself.
fn untrusted(why: String, resp: &Response) -> CliError {
    CliError::new(
        ErrorCode::VersionSkew,
        format!("cannot use the server's catalog: {why}"),
    )
    .with_hint(
        "something between difyctl and the server changes its answers, or the server \
             is not one this difyctl supports; run again with -v for details",
    )
    .about(resp)
}

#[cfg(test)]
mod tests;
