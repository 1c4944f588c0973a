//! The bearer-authenticated routes: the identity, the sessions, the
//! workspaces.
//!
//! * `GET account` → `{"subject_type", "subject_email", "subject_issuer",
//!   "account": {"id", "email", "name"}, "workspaces": [{"id", "name",
//!   "role"}], "default_workspace_id"}`. `dfoa_` tokens only.
//! * `GET account/sessions?page=&limit=` (page ≥ 1, limit 1..200; other
//!   query keys are a 422) → `{"page", "limit", "total", "has_more", "data":
//!   [{"id", "prefix", "client_id", "device_label", "created_at",
//!   "last_used_at", "expires_at"}]}`: the caller's live sessions, newest
//!   first, timestamps ISO-8601 kept verbatim.
//! * `DELETE account/sessions/self` revokes the calling token, `DELETE
//!   account/sessions/<id>` one of the caller's sessions (404 `session not
//!   found` for anyone else's; idempotent) → `{"status": "revoked"}`.
//!   Revocation takes effect at once.
//! * `GET workspaces` → `{"workspaces": [{"id", "name", "role", "status",
//!   "current"}]}`, or on newer servers a page `{"page", "limit", "total",
//!   "has_more", "data": [...]}` (`?page=&limit=`, limit ≤ 100; older servers
//!   ignore the query).
//! * The workspace switch, `POST workspaces/<id>/switch` before Dify 1.16 and
//!   `POST workspaces/<id>:switch` from then on (see [`switch_workspace`]),
//!   → the workspace `{"id", "name", "role", "status", "current",
//!   "created_at"}`; 404 `workspace not found` when the account is not in it.
//!   On a server of the other generation the route is missing: 404 for
//!   `/switch`, 405 for `:switch` (1.14's GET-only `workspaces/<id>` takes
//!   `<id>:switch` whole).
//!
//! A missing bearer is 401 `bearer required`. An unknown, expired or revoked
//! one is 401 `invalid bearer` on newer servers but 500 `Internal Server
//! Error` on Dify 1.14 to 1.16: such errors get a hint that says so. Each
//! token may make 60 requests a minute (429 `too_many_requests` with
//! `Retry-After`).

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{CliError, ErrorCode, Result};

use super::catalog::SWITCH_WORKSPACE_OPS;
use super::errors::status_error;
use super::request::encode_segment;
use super::server::SwitchRoute;
use super::{Client, Method, Request, Response};
use crate::secret::Secret;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub email: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub role: String,
}

/// `GET /account`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AccountInfo {
    #[serde(default)]
    pub subject_type: Option<String>,
    #[serde(default)]
    pub subject_email: Option<String>,
    #[serde(default)]
    pub subject_issuer: Option<String>,
    #[serde(default)]
    pub account: Option<Account>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub workspaces: Vec<Workspace>,
    #[serde(default)]
    pub default_workspace_id: Option<String>,
}

/// One row of `GET /account/sessions`. Timestamps stay verbatim strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Session {
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub prefix: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub client_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub device_label: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: String,
    #[serde(default)]
    pub last_used_at: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub expires_at: String,
}

/// A page of sessions, plus the envelope as received (`--json` re-serializes it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionsPage {
    pub page: u64,
    pub limit: u64,
    pub total: u64,
    pub has_more: bool,
    pub data: Vec<Session>,
    pub raw: serde_json::Value,
}

#[derive(Deserialize)]
struct PageFields {
    #[serde(default, deserialize_with = "null_as_default")]
    page: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    limit: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    total: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    has_more: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    data: Vec<Session>,
}

pub(crate) fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The hint for a 500 from a bearer route: servers up to 1.16 answer a
/// revoked or expired token that way instead of 401.
pub const STALE_SESSION_HINT: &str = "older Dify servers answer HTTP 500 for a revoked or expired session: \
     run 'difyctl auth status' to check it, or 'difyctl auth login' to sign in again";

fn bearer_call(client: &Client, req: &Request) -> Result<Response> {
    client.call(req).map_err(stale_hint)
}

/// A 500 from a bearer route gets the hint about older servers.
fn stale_hint(mut e: CliError) -> CliError {
    let status = e.http.as_ref().and_then(|h| h.status);
    if status == Some(500) && e.hint.is_none() {
        e.hint = Some(STALE_SESSION_HINT.to_owned());
    }
    e
}

/// A 2xx body that is not what the route promises.
pub(crate) fn decode_error(what: &str, resp: &Response, err: impl std::fmt::Display) -> CliError {
    CliError::new(ErrorCode::Unknown, format!("decode {what} response: {err}")).about(resp)
}

pub fn get_account(client: &Client, bearer: &Secret) -> Result<AccountInfo> {
    let resp = bearer_call(
        client,
        &Request::new(Method::Get, "account").bearer(Some(bearer)),
    )?;
    decode_account(&resp)
}

/// A 2xx answer of `GET account`. Pure, so it can be fuzzed.
pub fn decode_account(resp: &Response) -> Result<AccountInfo> {
    let value: serde_json::Value = resp.json().map_err(|e| decode_error("account", resp, e))?;
    // Every field has a default and serde reads a struct from an array too:
    // without this, `{}` or `[]` would read as a valid session of nobody.
    let names_someone = value.get("account").is_some_and(|a| a.is_object())
        || value
            .get("subject_email")
            .and_then(|e| e.as_str())
            .is_some_and(|e| !e.is_empty());
    if !names_someone {
        return Err(decode_error("account", resp, "it names no account"));
    }
    serde_json::from_value(value).map_err(|e| decode_error("account", resp, e))
}

pub fn list_sessions(
    client: &Client,
    bearer: &Secret,
    page: u32,
    limit: u32,
) -> Result<SessionsPage> {
    let path = format!("account/sessions?page={page}&limit={limit}");
    let resp = bearer_call(
        client,
        &Request::new(Method::Get, path).bearer(Some(bearer)),
    )?;
    decode_sessions(&resp)
}

/// A 2xx answer of `GET account/sessions`. Pure, so it can be fuzzed.
pub fn decode_sessions(resp: &Response) -> Result<SessionsPage> {
    let raw: serde_json::Value = resp.json().map_err(|e| decode_error("sessions", resp, e))?;
    if !raw.is_object() {
        return Err(decode_error("sessions", resp, "expected a JSON object"));
    }
    // Without its list a page would read as "no sessions at all".
    if !raw.get("data").is_some_and(serde_json::Value::is_array) {
        return Err(decode_error("sessions", resp, "it has no data list"));
    }
    let f: PageFields =
        serde_json::from_value(raw.clone()).map_err(|e| decode_error("sessions", resp, e))?;
    Ok(SessionsPage {
        page: f.page,
        limit: f.limit,
        total: f.total,
        has_more: f.has_more,
        data: f.data,
        raw,
    })
}

/// Revokes one of the caller's sessions by id.
pub fn revoke_session(client: &Client, bearer: &Secret, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(CliError::client("cannot revoke a session with an empty id"));
    }
    let path = format!("account/sessions/{}", encode_segment(id));
    bearer_call(
        client,
        &Request::new(Method::Delete, path).bearer(Some(bearer)),
    )
    .map(drop)
}

/// Revokes the calling token itself: a single attempt, as logout wants.
pub fn revoke_self(client: &Client, bearer: &Secret) -> Result<()> {
    bearer_call(client, &revoke_self_request(bearer)).map(drop)
}

fn revoke_self_request(bearer: &Secret) -> Request<'_> {
    Request::new(Method::Delete, "account/sessions/self")
        .bearer(Some(bearer))
        .no_retry()
}

/// How long a 429 without `Retry-After` is waited out.
pub const RATE_LIMIT_PAUSE: Duration = Duration::from_secs(5);

/// [`revoke_self`], but a 429 (the per-token rate limit, which also covers
/// this route) is waited out as the server asks (`Retry-After`, else
/// [`RATE_LIMIT_PAUSE`]) and tried again, while the waits fit in `budget`;
/// one that does not is the `rate_limited` error, saying how long it asked.
pub fn revoke_self_waiting(
    client: &Client,
    bearer: &Secret,
    budget: Duration,
    sleep: &dyn Fn(Duration) -> Result<()>,
) -> Result<()> {
    let req = revoke_self_request(bearer);
    let mut left = budget;
    loop {
        let resp = client.send(&req)?;
        if resp.status == 429 {
            let wait = resp
                .retry_after(SystemTime::now())
                .unwrap_or(RATE_LIMIT_PAUSE);
            if wait <= left {
                client.announce_wait(&format!("rate limited by {}", client.host()), wait);
                sleep(wait)?;
                left -= wait;
                continue;
            }
            let e = status_error(&resp);
            let message = format!(
                "{} (the server asked to wait {} s more)",
                e.message,
                wait.as_secs()
            );
            return Err(e.with_message(message));
        }
        if resp.is_success() {
            return Ok(());
        }
        return Err(stale_hint(status_error(&resp)));
    }
}

/// Workspaces asked for per page; newer servers accept 1 to 100.
pub const WORKSPACE_PAGE_LIMIT: u32 = 100;

/// Pages followed at most (10,000 workspaces), so a server that always says
/// `has_more` cannot keep difyctl asking forever.
pub const MAX_WORKSPACE_PAGES: u32 = 100;

/// One answer of `GET /workspaces`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkspacesPage {
    pub workspaces: Vec<Workspace>,
    /// The server says there is another page (paged servers only).
    pub has_more: bool,
}

/// `GET /workspaces`: every workspace the account belongs to. Newer servers
/// page the list (`?page=&limit=`, `has_more`); older ones ignore the query
/// and answer the whole list at once.
pub fn list_workspaces(client: &Client, bearer: &Secret) -> Result<Vec<Workspace>> {
    let mut all = Vec::new();
    for page in 1..=MAX_WORKSPACE_PAGES {
        let path = format!("workspaces?page={page}&limit={WORKSPACE_PAGE_LIMIT}");
        let resp = bearer_call(
            client,
            &Request::new(Method::Get, path).bearer(Some(bearer)),
        )?;
        let page = decode_workspaces(&resp)?;
        let last = !page.has_more || page.workspaces.is_empty();
        all.extend(page.workspaces);
        if last {
            break;
        }
    }
    Ok(all)
}

/// A 2xx answer of `GET workspaces`. Pure, so it can be fuzzed. The list is
/// read from `{"workspaces": [...]}` (unpaged servers), `{"data": [...],
/// "has_more": …}` (paged) or a bare array.
pub fn decode_workspaces(resp: &Response) -> Result<WorkspacesPage> {
    let raw: serde_json::Value = resp
        .json()
        .map_err(|e| decode_error("workspaces", resp, e))?;
    let (list, has_more) = match &raw {
        serde_json::Value::Array(_) => (raw.clone(), false),
        serde_json::Value::Object(o) => (
            o.get("workspaces")
                .or_else(|| o.get("data"))
                .cloned()
                .unwrap_or_default(),
            o.get("has_more").and_then(serde_json::Value::as_bool) == Some(true),
        ),
        _ => (serde_json::Value::Null, false),
    };
    if !list.is_array() {
        return Err(decode_error("workspaces", resp, "expected a list"));
    }
    let workspaces =
        serde_json::from_value(list).map_err(|e| decode_error("workspaces", resp, e))?;
    Ok(WorkspacesPage {
        workspaces,
        has_more,
    })
}

/// Makes workspace `id` the account's current one and answers it (`{id,
/// name, role, ...}`); never retried. The route is the catalog's when the
/// server has one, else that of the server's generation (see
/// [`server`](super::server)); when that route is missing (404 or 405), the
/// other form is tried once, and the one that worked is remembered.
pub fn switch_workspace(client: &Client, bearer: &Secret, id: &str) -> Result<Workspace> {
    let encoded = encode_segment(id);
    let (path, learned) = switch_path(client, &encoded)?;
    let post = |path: String| {
        bearer_call(
            client,
            &Request::new(Method::Post, path).bearer(Some(bearer)),
        )
    };
    let resp = match post(path.clone()) {
        Ok(resp) => resp,
        Err(first) if missing_route(&first) => {
            let other = if path.ends_with(":switch") {
                SwitchRoute::Slash
            } else {
                SwitchRoute::Colon
            };
            match post(other.path(&encoded)) {
                Ok(resp) => {
                    if let (Some(handshake), true) = (client.handshake(), learned) {
                        handshake.remember_switch_route(client, other);
                    }
                    resp
                }
                Err(second) if missing_route(&second) => return Err(first),
                Err(second) => return Err(second),
            }
        }
        Err(e) => return Err(e),
    };
    decode_switched_workspace(&resp)
}

/// The switch path to try first, and whether it came from the generation
/// rather than the catalog (only those are worth remembering).
fn switch_path(client: &Client, encoded_id: &str) -> Result<(String, bool)> {
    let Some(handshake) = client.handshake() else {
        return Ok((SwitchRoute::Slash.path(encoded_id), true));
    };
    // The switch carries a bearer, so the catalog is needed anyway.
    handshake.fingerprint(client)?;
    let memo = handshake.snapshot();
    if let Some(catalog) = &memo.catalog {
        let path = catalog
            .route(&SWITCH_WORKSPACE_OPS, "POST", encoded_id)
            .unwrap_or_else(|| SwitchRoute::Colon.path(encoded_id));
        return Ok((path, false));
    }
    let route = match memo.switch_route {
        Some(route) => route,
        None => SwitchRoute::for_version(handshake.version(client).as_deref()),
    };
    Ok((route.path(encoded_id), true))
}

/// A 405, or a 404 that is not the handler's own (`workspace not found`): the
/// route does not exist on this server.
fn missing_route(e: &CliError) -> bool {
    let Some(http) = e.http.as_deref() else {
        return false;
    };
    match http.status {
        Some(405) => true,
        Some(404) => http
            .server
            .as_ref()
            .is_none_or(|s| s.message.starts_with("The requested URL was not found")),
        _ => false,
    }
}

/// A 2xx answer of the workspace switch. Pure, so it can be fuzzed.
pub fn decode_switched_workspace(resp: &Response) -> Result<Workspace> {
    let ws: Workspace = resp
        .json()
        .map_err(|e| decode_error("workspace switch", resp, e))?;
    if ws.id.is_empty() {
        return Err(decode_error("workspace switch", resp, "no workspace id"));
    }
    Ok(ws)
}

#[cfg(test)]
mod tests;
