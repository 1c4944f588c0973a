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

use crate::output::{CliError, Result};

use super::catalog::SWITCH_WORKSPACE_OPS;
use super::errors::status_error;
use super::request::encode_segment;
use super::secret::Secret;
use super::server::SwitchRoute;
use super::{Client, Method, Request, Response};

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
    CliError::new("unknown", format!("decode {what} response: {err}")).about(resp)
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
mod tests {
    use super::*;
    use crate::dify::stub::{Canned, serve, test_options};

    const SESSIONS: &str = r#"{"page":1,"limit":20,"total":2,"has_more":false,"data":[
        {"id":"s-1","prefix":"dfoa_","client_id":"difyctl","device_label":"difyctl on a",
         "created_at":"2026-06-01T10:00:00.123456Z","last_used_at":null,"expires_at":"2026-06-15T10:00:00Z"},
        {"id":"s-2","prefix":"dfoa_","client_id":"difyctl","device_label":null,
         "created_at":"2026-06-02T10:00:00Z","last_used_at":"2026-06-03T00:00:00Z","expires_at":"2026-06-16T10:00:00Z",
         "extra":"kept in raw"}]}"#;

    #[test]
    fn lists_sessions_and_keeps_the_envelope() {
        let stub = serve(vec![Canned::json(200, SESSIONS)]);
        let (opts, _) = test_options();
        let bearer = Secret::new("dfoa_tok");
        let page = list_sessions(&stub.client(opts), &bearer, 1, 20).unwrap();
        assert_eq!(
            (page.page, page.limit, page.total, page.has_more),
            (1, 20, 2, false)
        );
        assert_eq!(page.data[0].last_used_at, None);
        assert_eq!(page.data[0].created_at, "2026-06-01T10:00:00.123456Z");
        assert_eq!(page.data[1].device_label, "");
        assert_eq!(
            page.data[1].last_used_at.as_deref(),
            Some("2026-06-03T00:00:00Z")
        );
        assert_eq!(page.raw["data"][1]["extra"], "kept in raw");
        let req = &stub.requests()[0];
        assert_eq!(
            (req.method.as_str(), req.path.as_str()),
            ("GET", "/openapi/v1/account/sessions?page=1&limit=20")
        );
        assert_eq!(req.header("authorization"), Some("Bearer dfoa_tok"));
    }

    #[test]
    fn reads_the_account() {
        let body = r#"{"subject_type":"account","subject_email":"a@x.test","subject_issuer":null,
            "account":{"id":"acc-1","email":"a@x.test","name":"A"},
            "workspaces":[{"id":"ws-1","name":"Team","role":"owner"}],"default_workspace_id":"ws-1"}"#;
        let stub = serve(vec![Canned::json(200, body)]);
        let (opts, _) = test_options();
        let info = get_account(&stub.client(opts), &Secret::new("dfoa_t")).unwrap();
        assert_eq!(info.account.unwrap().name, "A");
        assert_eq!(info.workspaces[0].role, "owner");
        assert_eq!(info.default_workspace_id.as_deref(), Some("ws-1"));
        assert_eq!(info.subject_issuer, None);
    }

    #[test]
    fn an_answer_that_names_no_account_is_a_decode_error() {
        let stub = serve(vec![
            Canned::json(200, "{}"),
            Canned::json(200, "[]"),
            Canned::json(200, r#"{"account":null,"subject_email":""}"#),
            Canned::json(200, r#"{"account":"x"}"#),
        ]);
        let (opts, _) = test_options();
        let client = stub.client(opts);
        for _ in 0..4 {
            let e = get_account(&client, &Secret::new("dfoa_t")).unwrap_err();
            assert_eq!(e.code, "unknown");
            assert_eq!(e.message, "decode account response: it names no account");
        }
    }

    #[test]
    fn a_page_without_its_list_is_a_decode_error() {
        let stub = serve(vec![
            Canned::json(200, "{}"),
            Canned::json(200, r#"{"page":1,"data":null}"#),
        ]);
        let (opts, _) = test_options();
        let client = stub.client(opts);
        for _ in 0..2 {
            let e = list_sessions(&client, &Secret::new("dfoa_t"), 1, 20).unwrap_err();
            assert_eq!(e.message, "decode sessions response: it has no data list");
        }
    }

    #[test]
    fn revoke_encodes_the_id_and_self_is_tried_once() {
        let stub = serve(vec![
            Canned::json(200, r#"{"status":"revoked"}"#),
            Canned::json(
                503,
                r#"{"code":"bad_gateway","message":"Internal Server Error","status":503}"#,
            ),
            Canned::json(200, r#"{"status":"revoked"}"#),
        ]);
        let (opts, waits) = test_options();
        let client = stub.client(opts);
        let bearer = Secret::new("dfoa_t");
        revoke_session(&client, &bearer, "a b/../c").unwrap();
        let e = revoke_self(&client, &bearer).unwrap_err();
        assert_eq!(e.code, "server_5xx");
        let reqs = stub.requests();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].path, "/openapi/v1/account/sessions/a%20b%2F..%2Fc");
        assert_eq!(
            (reqs[1].method.as_str(), reqs[1].path.as_str()),
            ("DELETE", "/openapi/v1/account/sessions/self")
        );
        assert!(waits.lock().unwrap().is_empty());
        assert_eq!(
            revoke_session(&client, &bearer, "").unwrap_err().code,
            "client_error"
        );
    }

    #[test]
    fn workspaces_list_and_switch() {
        let stub = serve(vec![
            Canned::json(
                200,
                r#"{"workspaces":[{"id":"w-1","name":"A","role":"owner","current":true}]}"#,
            ),
            Canned::json(200, r#"[{"id":"w-2","name":"B","role":null}]"#),
            Canned::json(200, r#"{"workspaces":"no"}"#),
            Canned::json(
                200,
                r#"{"id":"w-2","name":"B","role":"normal","status":"normal"}"#,
            ),
            Canned::json(200, r#"{"result":"success"}"#),
        ]);
        let (opts, _) = test_options();
        let client = stub.client(opts);
        let bearer = Secret::new("dfoa_t");
        assert_eq!(list_workspaces(&client, &bearer).unwrap()[0].name, "A");
        assert_eq!(list_workspaces(&client, &bearer).unwrap()[0].role, "");
        assert_eq!(
            list_workspaces(&client, &bearer).unwrap_err().code,
            "unknown"
        );
        let ws = switch_workspace(&client, &bearer, "w-2").unwrap();
        assert_eq!((ws.id.as_str(), ws.role.as_str()), ("w-2", "normal"));
        assert!(
            switch_workspace(&client, &bearer, "w/2")
                .unwrap_err()
                .message
                .starts_with("decode workspace switch response")
        );
        let reqs = stub.requests();
        assert_eq!(
            (reqs[3].method.as_str(), reqs[3].path.as_str()),
            ("POST", "/openapi/v1/workspaces/w-2/switch")
        );
        assert_eq!(reqs[4].path, "/openapi/v1/workspaces/w%2F2/switch");
    }

    #[test]
    fn a_500_from_a_bearer_route_hints_at_a_stale_session() {
        let stub = serve(vec![Canned::json(
            500,
            r#"{"code":"internal_server_error","message":"Internal Server Error","status":500}"#,
        )]);
        let (opts, _) = test_options();
        let opts = crate::dify::ClientOptions { retries: 1, ..opts };
        let e = get_account(&stub.client(opts), &Secret::new("dfoa_revoked")).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("server_5xx", "Internal Server Error")
        );
        assert_eq!(e.hint.as_deref(), Some(STALE_SESSION_HINT));
        let http = e.http.unwrap();
        assert_eq!(http.server.unwrap().code, "internal_server_error");
        assert_eq!(
            http.url,
            format!("http://127.0.0.1:{}/openapi/v1/account", stub.port)
        );
    }

    #[test]
    fn a_401_is_auth_expired_and_junk_is_a_decode_error() {
        let stub = serve(vec![
            Canned::json(
                401,
                r#"{"code":"unauthorized","message":"invalid bearer","status":401}"#,
            ),
            Canned::json(200, "[]"),
            Canned::new(200, "<html>"),
        ]);
        let (opts, _) = test_options();
        let client = stub.client(opts);
        let bearer = Secret::new("dfoa_t");
        let e = list_sessions(&client, &bearer, 1, 20).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str(), e.exit_code()),
            ("auth_expired", "invalid bearer", 4)
        );
        assert_eq!(
            e.hint.as_deref(),
            Some("run 'difyctl auth login' to sign in again")
        );
        let e = list_sessions(&client, &bearer, 1, 20).unwrap_err();
        assert_eq!(e.code, "unknown");
        assert!(
            e.message.starts_with("decode sessions response"),
            "{}",
            e.message
        );
        let e = get_account(&client, &bearer).unwrap_err();
        assert!(
            e.message.starts_with("decode account response"),
            "{}",
            e.message
        );
    }

    /// A client with the handshake on and this memo already known.
    fn remembering(stub: &crate::dify::stub::Stub, memo: crate::dify::catalog::Memo) -> Client {
        use crate::dify::catalog::{Memo, MemoStore};
        struct One(std::sync::Mutex<Memo>);
        impl MemoStore for One {
            fn load(&self, _: &str) -> Option<Memo> {
                Some(self.0.lock().unwrap().clone())
            }
            fn save(&self, _: &str, memo: &Memo) -> Result<()> {
                *self.0.lock().unwrap() = memo.clone();
                Ok(())
            }
        }
        let (opts, _) = test_options();
        stub.client(opts)
            .with_handshake(Some(std::sync::Arc::new(One(std::sync::Mutex::new(memo)))))
    }

    fn older(version: &str) -> crate::dify::catalog::Memo {
        crate::dify::catalog::Memo {
            no_catalog: true,
            version: Some(version.into()),
            ..Default::default()
        }
    }

    const SWITCHED: &str = r#"{"id":"w-1","name":"A","role":"owner"}"#;
    const NO_ROUTE: &str = r#"{"code":"not_found","message":"The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.","status":404}"#;
    const NOT_ALLOWED: &str = r#"{"code":"method_not_allowed","message":"The method is not allowed for the requested URL.","status":405}"#;

    fn paths(stub: &crate::dify::stub::Stub) -> Vec<String> {
        stub.requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    #[test]
    fn the_switch_route_follows_the_server_generation() {
        let bearer = Secret::new("dfoa_t");
        for (version, path) in [
            ("1.14.2", "/openapi/v1/workspaces/w-1/switch"),
            ("1.16.1", "/openapi/v1/workspaces/w-1:switch"),
        ] {
            let stub = serve(vec![Canned::json(200, SWITCHED)]);
            let client = remembering(&stub, older(version));
            assert_eq!(switch_workspace(&client, &bearer, "w-1").unwrap().id, "w-1");
            assert_eq!(paths(&stub), [format!("POST {path}")]);
        }
        // A catalog names the route.
        let body = r#"{"ops":{"switch.workspace":{"method":"POST","path":"/openapi/v1/ws/{workspace_id}/use"}}}"#;
        let catalog = crate::dify::catalog::Catalog::from_response(
            body.as_bytes(),
            Some(&crate::dify::catalog::sha256_hex(body.as_bytes())),
        )
        .unwrap();
        let stub = serve(vec![Canned::json(200, SWITCHED)]);
        let memo = crate::dify::catalog::Memo {
            catalog: Some(catalog),
            ..Default::default()
        };
        switch_workspace(&remembering(&stub, memo), &bearer, "w 1").unwrap();
        assert_eq!(paths(&stub), ["POST /openapi/v1/ws/w%201/use"]);
    }

    #[test]
    fn a_missing_switch_route_is_tried_in_the_other_form_once_and_remembered() {
        let bearer = Secret::new("dfoa_t");
        // Remembered as 1.14, upgraded since: `/switch` is gone.
        let stub = serve(vec![
            Canned::json(404, NO_ROUTE),
            Canned::json(200, SWITCHED),
            Canned::json(200, SWITCHED),
        ]);
        let client = remembering(&stub, older("1.14.2"));
        switch_workspace(&client, &bearer, "w-1").unwrap();
        switch_workspace(&client, &bearer, "w-1").unwrap();
        assert_eq!(
            paths(&stub),
            [
                "POST /openapi/v1/workspaces/w-1/switch",
                "POST /openapi/v1/workspaces/w-1:switch",
                "POST /openapi/v1/workspaces/w-1:switch",
            ]
        );
        // Remembered as 1.16 on a 1.14 server: `<id>:switch` is a GET-only path.
        let stub = serve(vec![
            Canned::json(405, NOT_ALLOWED),
            Canned::json(200, SWITCHED),
        ]);
        switch_workspace(&remembering(&stub, older("1.16.1")), &bearer, "w-1").unwrap();
        assert_eq!(paths(&stub)[1], "POST /openapi/v1/workspaces/w-1/switch");
    }

    #[test]
    fn the_handlers_own_404_is_not_retried_and_two_missing_routes_report_the_first() {
        let bearer = Secret::new("dfoa_t");
        let stub = serve(vec![Canned::json(
            404,
            r#"{"code":"not_found","message":"workspace not found","status":404}"#,
        )]);
        let e = switch_workspace(&remembering(&stub, older("1.16.1")), &bearer, "w-9").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("server_4xx_other", "workspace not found")
        );
        assert_eq!(stub.requests().len(), 1);

        let stub = serve(vec![
            Canned::json(404, NO_ROUTE),
            Canned::json(405, NOT_ALLOWED),
        ]);
        let e = switch_workspace(&remembering(&stub, older("1.16.1")), &bearer, "w-1").unwrap_err();
        assert_eq!(e.http.unwrap().status, Some(404));
        assert_eq!(stub.requests().len(), 2);
    }

    #[test]
    fn workspaces_follow_the_pages() {
        let page = |ids: &[&str], has_more: bool| {
            let data: Vec<String> = ids
                .iter()
                .map(|id| format!(r#"{{"id":"{id}","name":"N","role":"normal"}}"#))
                .collect();
            Canned::json(
                200,
                &format!(
                    r#"{{"page":1,"limit":2,"total":5,"has_more":{has_more},"data":[{}]}}"#,
                    data.join(",")
                ),
            )
        };
        let stub = serve(vec![
            page(&["a", "b"], true),
            page(&["c", "d"], true),
            page(&["e"], false),
        ]);
        let (opts, _) = test_options();
        let list = list_workspaces(&stub.client(opts), &Secret::new("dfoa_t")).unwrap();
        let ids: Vec<&str> = list.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d", "e"]);
        assert_eq!(
            paths(&stub),
            [1, 2, 3].map(|n| format!("GET /openapi/v1/workspaces?page={n}&limit=100"))
        );
        // A page that says "more" but is empty ends the walk.
        let stub = serve(vec![page(&[], true)]);
        let (opts, _) = test_options();
        assert!(
            list_workspaces(&stub.client(opts), &Secret::new("dfoa_t"))
                .unwrap()
                .is_empty()
        );
        assert_eq!(stub.requests().len(), 1);
    }
}
