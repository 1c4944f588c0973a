//! A mock Dify server for the integration tests and for `make demo`.
//!
//! It speaks the `/openapi/v1` surface that `difyctl`'s `auth` and `use` commands use
//! (PROTOCOL.md §6), with the quirks a real server shows on the wire (§14), plus the
//! console sign-in endpoints a headless login needs (§13). std and `serde_json` only.
//!
//! # Starting
//!
//! ```ignore
//! let mock = MockDify::start();                                   // defaults
//! let mock = MockDify::with(MockConfig::default().auto_approve()); // approve every code at issue
//! let url = mock.url();   // "http://127.0.0.1:PORT", pass it as `--host` with `--insecure`
//! let host = mock.host(); // "127.0.0.1:PORT", the bare host stored in hosts.yml
//! ```
//!
//! The server binds `127.0.0.1:0`, serves each connection on its own thread (one request
//! per connection, every answer carries `Connection: close`) and stops when the
//! [`MockDify`] is dropped: open connections, including hanging ones, are shut down.
//!
//! # Defaults ([`MockConfig::default`])
//!
//! Account [`DEFAULT_ACCOUNT_ID`] / `tester@dify.ai` / `Tester`; one workspace
//! [`DEFAULT_WORKSPACE_ID`] `Acme Team` (`owner`), also the default workspace; poll
//! `interval` 1 s (a poll less than `interval` seconds after the previous poll of the same
//! code gets `slow_down`, never the first); `expires_in` 900 s; no auto-approval; tokens
//! live 14 days; `verification_uri` `<url>/device`; no rate limits; invalid bearers answer
//! 401 `invalid bearer` (set [`MockConfig::baseline_invalid_bearer_500`] for the 500 a
//! 1.14-era server sends); JSON bodies escape `/` as `\/` like the real server.
//!
//! # Driving the device flow from a test
//!
//! * [`MockDify::wait_for_code`] blocks until a device code was issued and returns its
//!   user code; [`MockDify::approve`] / [`MockDify::deny`] resolve it.
//! * [`MockDify::wait_for_polls`] blocks until the token endpoint was polled `n` times;
//!   [`MockDify::polls`] tells what each poll was answered.
//! * Every wait panics after 30 s, so a broken test fails instead of hanging.
//! * Headless logins can use the console endpoints instead: `POST /console/api/login`
//!   (password [`MockConfig::console_password`], base64-encoded on the wire),
//!   `POST /console/api/email-code-login` + `/validity` (code
//!   [`MockConfig::console_email_code`]), then `POST /openapi/v1/oauth/device/approve`
//!   with the cookies; [`MockDify::console_sessions`] shows whether the client signed out.
//! * `GET /device` is a mock-only HTML page with approve/deny buttons, for demos.
//!
//! # Scenario switches
//!
//! Set them in the [`MockConfig`] given to [`MockDify::with`], or at runtime with
//! [`MockDify::configure`] (`mock.configure(|c| c.deny = true)`). The counters live on
//! [`MockDify`].
//!
//! | scenario | how |
//! |---|---|
//! | denied | `deny` (2nd poll → `access_denied`), or [`MockDify::deny`] |
//! | code expired | `expire_codes`; a short `expires_in` (the server expires the code); `announced_expires_in` (only the client's own deadline ends the wait) |
//! | `slow_down` | `slow_down_once` (2nd poll of each code); by timing: `timing_slow_down` + `interval` |
//! | device code rate-limited | `device_code_rate_limited` (429, no `Retry-After`) |
//! | 5xx on a path | [`MockDify::fail_next`]`(path_prefix, n, status)` |
//! | no device flow | `device_flow` = [`DeviceFlow::HtmlNotFound`] / [`DeviceFlow::JsonNotFound`]; `openapi_disabled` |
//! | no email | [`MockConfig::no_email`] |
//! | external SSO | `sso` / [`MockConfig::sso`] (`dfoe_` tokens) |
//! | invalid bearer | `invalid_bearer`; `baseline_invalid_bearer_500` turns every invalid bearer into a 500 |
//! | expired / revoked elsewhere | [`MockDify::expire_session`], [`MockDify::revoke_session`] |
//! | revoke fails half way | [`MockDify::fail_revoke_after`]`(n)` |
//! | per-token 429 | `rate_limit_per_min`, `rate_limit_retry_after` |
//! | many sessions, colliding labels | [`MockDify::add_session`] in a loop, same label allowed |
//! | hang | `hang: Some(path_prefix)` (released when the mock is dropped) |
//! | hostile strings | `account.name`, `user_code`, labels via [`MockDify::add_session`] |
//! | 426 version gate | `upgrade_required` |
//! | console sign-in | `console_password`, `console_email_code`, `host_cookie_prefix`, `enforce_csrf`, `approve_rate_limit` |
//! | console sign-in refused (frozen, banned, login limit, login disabled) | `console_login_error` |
//! | email-code token expired | `email_code_tokens_expired` |
//! | hostile or broken server on a path: oversized body, non-JSON, wrong-shape JSON, redirect, slow drip, bearer echoed back | `hostile` / [`MockConfig::hostile`] with a [`Hostile`] |
//!
//! # Inspecting
//!
//! [`MockDify::requests`] (every request, headers lower-cased), [`MockDify::sessions`]
//! (live sessions), [`MockDify::revoked_ids`], [`MockDify::device_labels`],
//! [`MockDify::polls`], [`MockDify::add_session`] to seed sessions (450 are cheap).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Path prefix of the bearer/device API.
pub const API: &str = "/openapi/v1";
/// The only `client_id` the server knows (`OPENAPI_KNOWN_CLIENT_IDS` default).
pub const CLIENT_ID: &str = "difyctl";
/// Id of the default account.
pub const DEFAULT_ACCOUNT_ID: &str = "5b0c8a3e-1f2d-4c6b-9a7e-0d1c2b3a4f5e";
/// Id of the default (and only) workspace.
pub const DEFAULT_WORKSPACE_ID: &str = "9e4d3c2b-1a0f-4e8d-b7c6-a5f4e3d2c1b0";
/// Message of the per-token 429.
pub const RATE_LIMIT_MESSAGE: &str =
    "This user has exceeded an allotted request count. Try again later.";
/// Issuer stored for account (non-SSO) tokens.
const ACCOUNT_ISSUER: &str = "dify:account";
const USER_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXY3456789";
const URL_SAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);
const NOT_FOUND_TEXT: &str = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 8 * 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// The signed-in Dify account (`account` in the token payload and `GET /account`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// UUID.
    pub id: String,
    /// Email; empty for the "no email" scenario.
    pub email: String,
    /// Display name (may hold hostile strings for sanitising tests).
    pub name: String,
}

/// A workspace (tenant) the account is a member of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    /// UUID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `owner`, `admin`, `editor`, `normal`, ...
    pub role: String,
}

/// The external-SSO subject minted instead of an account when [`MockConfig::sso`] is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoSubject {
    /// `subject_email`.
    pub email: String,
    /// `subject_issuer`.
    pub issuer: String,
}

/// How the device-flow endpoints (`/openapi/v1/oauth/device/*`) behave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceFlow {
    /// Normal operation.
    #[default]
    Enabled,
    /// 404 with an HTML page (non-JSON), as legacy/enterprise-only routes answer.
    HtmlNotFound,
    /// 404 with an ErrorBody `not_found`.
    JsonNotFound,
}

/// How requests to a path are answered instead of by the normal routes: a hostile
/// or broken server (see [`MockConfig::hostile`]). Requests are recorded as usual.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hostile {
    /// 200 `application/json` whose body is one JSON string `n` bytes long: valid
    /// JSON, but larger than any sane cap.
    Oversized(usize),
    /// This status, content type and body, verbatim (non-JSON, JSON of the wrong
    /// shape, hostile strings in an error body, ...).
    Body {
        status: u16,
        content_type: String,
        body: String,
    },
    /// `302 Found` with this `Location`.
    Redirect(String),
    /// A 200 announcing a 1 MiB JSON body, then one space every interval, never
    /// finishing (until the mock is dropped): a slow drip.
    Drip(Duration),
    /// This status with an ErrorBody that quotes the request's `Authorization`
    /// value in `message`, `hint` and `details`, and a `Location` header carrying
    /// it: a server that echoes the bearer back.
    EchoBearer(u16),
}

impl Hostile {
    /// [`Hostile::Body`] with status 200.
    pub fn body(content_type: &str, body: &str) -> Hostile {
        Hostile::Body {
            status: 200,
            content_type: content_type.into(),
            body: body.into(),
        }
    }

    /// [`Hostile::Body`] with status 200 and `application/json`.
    pub fn json(body: &Value) -> Hostile {
        Hostile::body("application/json", &body.to_string())
    }
}

/// Everything the mock can be told. Public fields; every field can also be changed at
/// runtime with [`MockDify::configure`].
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// The account that approves codes and owns the seeded sessions.
    pub account: Account,
    /// The account's workspaces.
    pub workspaces: Vec<Workspace>,
    /// `default_workspace_id` in payloads; `None` → JSON `null`. `POST
    /// /workspaces/<id>/switch` sets it.
    pub default_workspace_id: Option<String>,
    /// `interval` announced for the device code, in seconds; also the `slow_down`
    /// threshold when [`MockConfig::timing_slow_down`] is on.
    pub interval: u64,
    /// `expires_in` of device codes, in seconds.
    pub expires_in: u64,
    /// The `expires_in` announced to the client when it differs from the lifetime the
    /// mock enforces (`None` = `expires_in`): announce 2 s, enforce 900 s, and only a
    /// client that keeps its own deadline ever stops polling a pending code.
    pub announced_expires_in: Option<u64>,
    /// Approve every device code as soon as it is issued (token minted at issue).
    pub auto_approve: bool,
    /// Lifetime of minted tokens, in seconds (14 days by default).
    pub token_ttl_secs: i64,
    /// `verification_uri`; `None` → `<mock url>/device`.
    pub verification_uri: Option<String>,
    /// Force every issued `user_code` to this string (hostile-string tests).
    pub user_code: Option<String>,
    /// `GET /_version` `version`.
    pub version: String,
    /// `GET /_version` `edition`.
    pub edition: String,
    /// Password accepted by `POST /console/api/login` (sent base64-encoded).
    pub console_password: String,
    /// Code accepted by `POST /console/api/email-code-login/validity` (sent base64-encoded).
    pub console_email_code: String,
    /// Console cookies carry the `__Host-` prefix (as on https without `COOKIE_DOMAIN`).
    pub host_cookie_prefix: bool,
    /// Require `X-CSRF-Token` equal to the csrf cookie on approve/deny (the 1.14 server
    /// does not check it).
    pub enforce_csrf: bool,
    /// Approve/deny attempts allowed in total (global bucket, failures count); `None` = no
    /// limit (the real server allows 10 per hour).
    pub approve_rate_limit: Option<u32>,
    /// `POST /console/api/login` and `POST /console/api/email-code-login` answer this
    /// `(status, code, message)` as a console error body (`{"code","message","status"}`),
    /// e.g. `(400, "account_in_freeze", …)`, `(429, "email_password_login_limit", …)` or
    /// `(403, "forbidden", …)` for a server with that sign-in method disabled.
    pub console_login_error: Option<(u16, String, String)>,
    /// Every `POST /console/api/email-code-login/validity` answers 400
    /// `invalid_or_expired_token`, as when the code's token is older than its 5 minutes.
    pub email_code_tokens_expired: bool,
    /// Escape `/` as `\/` in JSON bodies, as the real server does.
    pub escape_slashes: bool,
    /// Print one line per request on stderr (for the standalone binary).
    pub log_requests: bool,

    // --- scenario switches -----------------------------------------------------------
    /// Denied: a pending code's first poll answers `authorization_pending`, every later
    /// poll `access_denied` (the code is consumed).
    pub deny: bool,
    /// Expired: every token poll answers `expired_token`; lookups report invalid.
    pub expire_codes: bool,
    /// Answer `slow_down` on the 2nd poll of every code regardless of timing (once).
    pub slow_down_once: bool,
    /// Answer `slow_down` when a poll comes less than `interval` seconds after the
    /// previous poll of the same code (on by default, as the real server).
    pub timing_slow_down: bool,
    /// `POST /oauth/device/code` (and lookup) answer 429 ErrorBody `rate_limited`
    /// without `Retry-After`.
    pub device_code_rate_limited: bool,
    /// Whether the device-flow endpoints exist.
    pub device_flow: DeviceFlow,
    /// Every `/openapi/v1/*` path answers an HTML 404 (`OPENAPI_ENABLED=false`).
    pub openapi_disabled: bool,
    /// Approvals mint external-SSO `dfoe_` tokens for this subject.
    pub sso: Option<SsoSubject>,
    /// Every bearer is treated as invalid (unknown/revoked).
    pub invalid_bearer: bool,
    /// An invalid bearer answers 500 `internal_server_error` (no `WWW-Authenticate`), as
    /// the 1.14-era server does, instead of 401 `invalid bearer`.
    pub baseline_invalid_bearer_500: bool,
    /// `DELETE /account/sessions/<id>` succeeds this many times (counted from start or
    /// from [`MockDify::fail_revoke_after`]), then answers 500 every time.
    pub fail_revoke_after: Option<usize>,
    /// Per-token limit of bearer requests per minute (fixed window); `None` = off.
    pub rate_limit_per_min: Option<u32>,
    /// `Retry-After` seconds on the per-token 429; `None` omits the header.
    pub rate_limit_retry_after: Option<u64>,
    /// Requests whose path starts with this prefix are read, recorded and never
    /// answered (until the mock is dropped). `Some("")` hangs everything.
    pub hang: Option<String>,
    /// Every `/openapi/v1` path except `/_version` and `/_health` answers 426
    /// `upgrade_required` (a later server's minimum-version gate).
    pub upgrade_required: bool,
    /// Requests whose path (with `/openapi/v1`, without query) starts with a prefix
    /// get that answer (the first match), before anything but
    /// [`MockDify::fail_next`]; see [`MockConfig::hostile`].
    pub hostile: Vec<(String, Hostile)>,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            account: Account {
                id: DEFAULT_ACCOUNT_ID.into(),
                email: "tester@dify.ai".into(),
                name: "Tester".into(),
            },
            workspaces: vec![Workspace {
                id: DEFAULT_WORKSPACE_ID.into(),
                name: "Acme Team".into(),
                role: "owner".into(),
            }],
            default_workspace_id: Some(DEFAULT_WORKSPACE_ID.into()),
            interval: 1,
            expires_in: 900,
            announced_expires_in: None,
            auto_approve: false,
            token_ttl_secs: 14 * 24 * 3600,
            verification_uri: None,
            user_code: None,
            version: "1.14.2".into(),
            edition: "SELF_HOSTED".into(),
            console_password: "Passw0rd!".into(),
            console_email_code: "123456".into(),
            host_cookie_prefix: false,
            enforce_csrf: false,
            approve_rate_limit: None,
            console_login_error: None,
            email_code_tokens_expired: false,
            escape_slashes: true,
            log_requests: false,
            deny: false,
            expire_codes: false,
            slow_down_once: false,
            timing_slow_down: true,
            device_code_rate_limited: false,
            device_flow: DeviceFlow::Enabled,
            openapi_disabled: false,
            sso: None,
            invalid_bearer: false,
            baseline_invalid_bearer_500: false,
            fail_revoke_after: None,
            rate_limit_per_min: None,
            rate_limit_retry_after: Some(60),
            hang: None,
            upgrade_required: false,
            hostile: Vec::new(),
        }
    }
}

impl MockConfig {
    /// Approve every device code at issue.
    pub fn auto_approve(mut self) -> Self {
        self.auto_approve = true;
        self
    }
    /// Poll interval (and `slow_down` threshold) in seconds.
    pub fn interval(mut self, secs: u64) -> Self {
        self.interval = secs;
        self
    }
    /// Account email.
    pub fn email(mut self, email: &str) -> Self {
        self.account.email = email.into();
        self
    }
    /// Account display name.
    pub fn name(mut self, name: &str) -> Self {
        self.account.name = name.into();
        self
    }
    /// The account has no email (`account.email` and `subject_email` empty).
    pub fn no_email(self) -> Self {
        self.email("")
    }
    /// Requests whose path starts with `path_prefix` (e.g.
    /// `/openapi/v1/oauth/device/code`; `""` for every path) get `answer`.
    pub fn hostile(mut self, path_prefix: &str, answer: Hostile) -> Self {
        self.hostile.push((path_prefix.into(), answer));
        self
    }
    /// Mint external-SSO `dfoe_` tokens for this subject.
    pub fn sso(mut self, email: &str, issuer: &str) -> Self {
        self.sso = Some(SsoSubject {
            email: email.into(),
            issuer: issuer.into(),
        });
        self
    }
    /// Behave like the 1.14-era server: invalid bearers answer 500.
    pub fn baseline(mut self) -> Self {
        self.baseline_invalid_bearer_500 = true;
        self
    }
}

// ---------------------------------------------------------------------------------------
// Public views
// ---------------------------------------------------------------------------------------

/// A server-side session (one minted token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// UUID (`token_id` at login, `id` in the sessions list).
    pub id: String,
    /// The plaintext bearer (`dfoa_…` or `dfoe_…`).
    pub token: String,
    /// `device_label`.
    pub device_label: String,
    /// `client_id` it was minted for.
    pub client_id: String,
    /// Subject email (account email or SSO subject email).
    pub email: String,
    /// `created_at`, ISO-8601 with `Z`.
    pub created_at: String,
    /// `expires_at`, ISO-8601 with `Z`.
    pub expires_at: String,
    /// Whether it has been revoked.
    pub revoked: bool,
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path with query string (absolute-form targets reduced to origin form).
    pub path: String,
    /// The request target exactly as sent.
    pub target: String,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body (lossy UTF-8).
    pub body: String,
}

impl Recorded {
    /// First header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The body parsed as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    /// The path without the query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
}

/// One poll of the token endpoint and what it was answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Poll {
    /// The `device_code` sent.
    pub device_code: String,
    /// The `error` answered (`authorization_pending`, `slow_down`, `expired_token`,
    /// `access_denied`, `invalid_request`), or `token` for the 200.
    pub answer: String,
}

/// A console (cookie) session created by the console sign-in endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleSessionInfo {
    /// Who signed in.
    pub email: String,
    /// `access_token` cookie value.
    pub access_token: String,
    /// `csrf_token` cookie value.
    pub csrf_token: String,
    /// Whether `POST /console/api/logout` was called for it.
    pub logged_out: bool,
}

// ---------------------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum CodeStatus {
    Pending,
    Approved(Value),
    Denied,
    Consumed,
}

struct DeviceCode {
    device_code: String,
    user_code: String,
    issued: Instant,
    approved: Option<Instant>,
    expires_in: u64,
    device_label: String,
    status: CodeStatus,
    last_poll: Option<Instant>,
    polls: usize,
}

#[derive(Clone)]
struct Session {
    id: String,
    token: String,
    sso: bool,
    email: String,
    issuer: String,
    client_id: String,
    device_label: String,
    created_at: i64,
    expires_at: i64,
    revoked: bool,
}

impl Session {
    fn live(&self, now: i64) -> bool {
        !self.revoked && self.expires_at > now
    }
    fn same_owner(&self, other: &Session) -> bool {
        self.sso == other.sso && self.email == other.email && self.issuer == other.issuer
    }
    fn info(&self) -> SessionInfo {
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

struct ConsoleSession {
    email: String,
    access: String,
    csrf: String,
    logged_out: bool,
}

struct FailRule {
    prefix: String,
    remaining: usize,
    status: u16,
}

struct State {
    cfg: MockConfig,
    base_url: String,
    rng: u64,
    codes: Vec<DeviceCode>,
    sessions: Vec<Session>,
    by_token: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
    last_created: i64,
    revoked: Vec<String>,
    requests: Vec<Recorded>,
    polls: Vec<Poll>,
    fail_rules: Vec<FailRule>,
    revoke_deletes: usize,
    rate: HashMap<String, (Instant, u32)>,
    approve_attempts: u32,
    console: Vec<ConsoleSession>,
    email_code_tokens: HashMap<String, (String, bool)>,
    shutdown: bool,
    conns: HashMap<u64, TcpStream>,
    next_conn: u64,
}

struct Shared {
    state: Mutex<State>,
    cv: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

// ---------------------------------------------------------------------------------------
// The handle
// ---------------------------------------------------------------------------------------

/// A running mock server; stops when dropped.
pub struct MockDify {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl MockDify {
    /// Start with [`MockConfig::default`].
    pub fn start() -> MockDify {
        MockDify::with(MockConfig::default())
    }

    /// Start with `config` on `127.0.0.1:0`.
    pub fn with(config: MockConfig) -> MockDify {
        MockDify::bind(config, 0).expect("mock: cannot bind 127.0.0.1")
    }

    /// Start with `config` on `127.0.0.1:port` (0 = any free port).
    pub fn bind(config: MockConfig, port: u16) -> io::Result<MockDify> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let seed = {
            let mut h = RandomState::new().build_hasher();
            h.write_u16(addr.port());
            h.finish()
        };
        let state = State {
            cfg: config,
            base_url: format!("http://{addr}"),
            rng: seed,
            codes: Vec::new(),
            sessions: Vec::new(),
            by_token: HashMap::new(),
            by_id: HashMap::new(),
            last_created: 0,
            revoked: Vec::new(),
            requests: Vec::new(),
            polls: Vec::new(),
            fail_rules: Vec::new(),
            revoke_deletes: 0,
            rate: HashMap::new(),
            approve_attempts: 0,
            console: Vec::new(),
            email_code_tokens: HashMap::new(),
            shutdown: false,
            conns: HashMap::new(),
            next_conn: 0,
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            cv: Condvar::new(),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("dify-mock-accept".into())
                .spawn(move || accept_loop(shared, listener))?
        };
        Ok(MockDify {
            shared,
            addr,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT` (the bare host).
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Change the configuration (any switch) while running.
    pub fn configure(&self, f: impl FnOnce(&mut MockConfig)) {
        let mut st = self.shared.lock();
        f(&mut st.cfg);
        if st.cfg.fail_revoke_after.is_none() {
            st.revoke_deletes = 0;
        }
        drop(st);
        self.shared.cv.notify_all();
    }

    /// A copy of the current configuration.
    pub fn config(&self) -> MockConfig {
        self.shared.lock().cfg.clone()
    }

    // --- device flow -----------------------------------------------------------------

    /// Approve a pending code as the configured account (or SSO subject); returns the
    /// minted session. Panics when the code is unknown, expired or already resolved.
    pub fn approve(&self, user_code: &str) -> SessionInfo {
        self.try_approve(user_code)
            .unwrap_or_else(|e| panic!("mock: cannot approve {user_code:?}: {e}"))
    }

    /// [`MockDify::approve`] without the panic.
    pub fn try_approve(&self, user_code: &str) -> Result<SessionInfo, String> {
        let mut st = self.shared.lock();
        let idx = st.pending_code(user_code)?;
        let sid = st.approve_code(idx)?;
        let info = st.sessions[sid].info();
        drop(st);
        self.shared.cv.notify_all();
        Ok(info)
    }

    /// Deny a pending code. Panics when the code is unknown, expired or resolved.
    pub fn deny(&self, user_code: &str) {
        let mut st = self.shared.lock();
        let idx = st
            .pending_code(user_code)
            .unwrap_or_else(|e| panic!("mock: cannot deny {user_code:?}: {e}"));
        st.codes[idx].status = CodeStatus::Denied;
        drop(st);
        self.shared.cv.notify_all();
    }

    /// Block until a device code has been issued; returns the newest user code. For a
    /// second sign-in in the same test use [`MockDify::wait_for_codes`]`(2)`.
    pub fn wait_for_code(&self) -> String {
        self.wait_for_codes(1).pop().expect("one code")
    }

    /// Block until `n` device codes have been issued; returns all user codes in order.
    pub fn wait_for_codes(&self, n: usize) -> Vec<String> {
        self.wait_until(&format!("{n} device code(s)"), |st| {
            (st.codes.len() >= n).then(|| st.codes.iter().map(|c| c.user_code.clone()).collect())
        })
    }

    /// Block until the token endpoint has been polled `n` times in total.
    pub fn wait_for_polls(&self, n: usize) {
        self.wait_until(&format!("{n} token poll(s)"), |st| {
            (st.polls.len() >= n).then_some(())
        })
    }

    /// Every token poll so far, in order.
    pub fn polls(&self) -> Vec<Poll> {
        self.shared.lock().polls.clone()
    }

    /// `device_label` of every issued device code, in order.
    pub fn device_labels(&self) -> Vec<String> {
        let st = self.shared.lock();
        st.codes.iter().map(|c| c.device_label.clone()).collect()
    }

    /// Device codes issued so far: `(device_code, user_code)`.
    pub fn codes(&self) -> Vec<(String, String)> {
        let st = self.shared.lock();
        st.codes
            .iter()
            .map(|c| (c.device_code.clone(), c.user_code.clone()))
            .collect()
    }

    // --- sessions --------------------------------------------------------------------

    /// Seed a live session for the configured account (client `difyctl`). A session with
    /// the same label is *not* rotated out (colliding labels are allowed).
    pub fn add_session(&self, label: &str) -> SessionInfo {
        let mut st = self.shared.lock();
        let owner = st.account_owner();
        let idx = st.mint(owner, CLIENT_ID, label, false);
        st.sessions[idx].info()
    }

    /// Seed a live session that belongs to another account (`other@dify.ai`): the caller
    /// cannot see or revoke it.
    pub fn add_foreign_session(&self, label: &str) -> SessionInfo {
        let mut st = self.shared.lock();
        let owner = Owner {
            sso: false,
            email: "other@dify.ai".into(),
            issuer: ACCOUNT_ISSUER.into(),
        };
        let idx = st.mint(owner, CLIENT_ID, label, false);
        st.sessions[idx].info()
    }

    /// Live sessions (not revoked, not expired), oldest first.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let st = self.shared.lock();
        let now = now_unix();
        st.sessions
            .iter()
            .filter(|s| s.live(now))
            .map(Session::info)
            .collect()
    }

    /// The session of a token, live or not.
    pub fn session_for_token(&self, token: &str) -> Option<SessionInfo> {
        let st = self.shared.lock();
        st.by_token.get(token).map(|&i| st.sessions[i].info())
    }

    /// Ids of revoked sessions in revocation order (API revokes, label rotation and
    /// [`MockDify::revoke_session`]).
    pub fn revoked_ids(&self) -> Vec<String> {
        self.shared.lock().revoked.clone()
    }

    /// Revoke a session server-side (as if from another device).
    pub fn revoke_session(&self, id: &str) {
        let mut st = self.shared.lock();
        let idx = *st.by_id.get(id).expect("mock: unknown session id");
        st.revoke(idx);
    }

    /// Make a session expired (its `expires_at` moves into the past).
    pub fn expire_session(&self, id: &str) {
        let mut st = self.shared.lock();
        let idx = *st.by_id.get(id).expect("mock: unknown session id");
        st.sessions[idx].expires_at = now_unix() - 1;
    }

    /// Block until at least `n` sessions have been revoked.
    pub fn wait_for_revoked(&self, n: usize) -> Vec<String> {
        self.wait_until(&format!("{n} revoked session(s)"), |st| {
            (st.revoked.len() >= n).then(|| st.revoked.clone())
        })
    }

    // --- console ---------------------------------------------------------------------

    /// Console sessions created by the console sign-in endpoints.
    pub fn console_sessions(&self) -> Vec<ConsoleSessionInfo> {
        let st = self.shared.lock();
        st.console
            .iter()
            .map(|c| ConsoleSessionInfo {
                email: c.email.clone(),
                access_token: c.access.clone(),
                csrf_token: c.csrf.clone(),
                logged_out: c.logged_out,
            })
            .collect()
    }

    // --- failures --------------------------------------------------------------------

    /// The next `n` requests whose path (with `/openapi/v1`, without query) starts with
    /// `path_prefix` answer `status` (an ErrorBody) before anything else happens.
    pub fn fail_next(&self, path_prefix: &str, n: usize, status: u16) {
        let mut st = self.shared.lock();
        st.fail_rules.push(FailRule {
            prefix: path_prefix.into(),
            remaining: n,
            status,
        });
    }

    /// From now on, `DELETE /account/sessions/<id>` succeeds `n` times and then answers
    /// 500 every time (a revoke that fails half way).
    pub fn fail_revoke_after(&self, n: usize) {
        let mut st = self.shared.lock();
        st.cfg.fail_revoke_after = Some(n);
        st.revoke_deletes = 0;
    }

    // --- requests --------------------------------------------------------------------

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// Requests whose path (without query) equals `path`, e.g. `/openapi/v1/account`.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        let st = self.shared.lock();
        st.requests
            .iter()
            .filter(|r| r.path_only() == path)
            .cloned()
            .collect()
    }

    /// Block until `n` requests have arrived.
    pub fn wait_for_requests(&self, n: usize) -> Vec<Recorded> {
        self.wait_until(&format!("{n} request(s)"), |st| {
            (st.requests.len() >= n).then(|| st.requests.clone())
        })
    }

    /// Block until a request with this method and a path starting with `path_prefix`
    /// has arrived; returns the first such request.
    pub fn wait_for_request(&self, method: &str, path_prefix: &str) -> Recorded {
        self.wait_until(&format!("{method} {path_prefix}"), |st| {
            st.requests
                .iter()
                .find(|r| r.method == method && r.path.starts_with(path_prefix))
                .cloned()
        })
    }

    fn wait_until<T>(&self, what: &str, mut f: impl FnMut(&State) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        let mut st = self.shared.lock();
        loop {
            if let Some(v) = f(&st) {
                return v;
            }
            let now = Instant::now();
            if now >= deadline {
                drop(st);
                panic!("mock: timed out after 30 s waiting for {what}");
            }
            st = self
                .shared
                .cv
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for MockDify {
    fn drop(&mut self) {
        {
            let mut st = self.shared.lock();
            st.shutdown = true;
            for (_, c) in st.conns.drain() {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
        self.shared.cv.notify_all();
        // Unblock accept() with a connection of our own.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).is_ok();
        if let Some(handle) = self.accept.take()
            && woke
        {
            let _ = handle.join();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------

fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            if shared.lock().shutdown {
                break;
            }
            continue;
        };
        let id = {
            let mut st = shared.lock();
            if st.shutdown {
                break;
            }
            let Ok(clone) = stream.try_clone() else {
                continue;
            };
            st.next_conn += 1;
            let id = st.next_conn;
            st.conns.insert(id, clone);
            id
        };
        workers.retain(|w| !w.is_finished());
        let shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("dify-mock-conn".into())
            .spawn(move || {
                serve(&shared, stream);
                shared.lock().conns.remove(&id);
            });
        if let Ok(w) = spawned {
            workers.push(w);
        }
    }
    for w in workers {
        let _ = w.join();
    }
}

fn serve(shared: &Shared, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let req = match read_request(&stream) {
        Ok(Some(req)) => req,
        Ok(None) => return,
        Err(_) => {
            let resp = Response::text(400, "text/plain", "bad request\n");
            let _ = write_response(&mut stream, &resp);
            return;
        }
    };
    let outcome = {
        let mut st = shared.lock();
        if st.shutdown {
            return;
        }
        st.requests.push(Recorded {
            method: req.method.clone(),
            path: req.path_query.clone(),
            target: req.target.clone(),
            headers: req.headers.clone(),
            body: String::from_utf8_lossy(&req.body).into_owned(),
        });
        let outcome = st.dispatch(&req);
        if st.cfg.log_requests {
            let status = match &outcome {
                Outcome::Respond(r) => r.status.to_string(),
                Outcome::Hang => "(hang)".into(),
                Outcome::Drip(_) => "(drip)".into(),
            };
            eprintln!("{} {} -> {}", req.method, req.path_query, status);
        }
        outcome
    };
    shared.cv.notify_all();
    match outcome {
        Outcome::Respond(resp) => {
            let _ = write_response(&mut stream, &resp);
        }
        Outcome::Hang => {
            let mut st = shared.lock();
            while !st.shutdown {
                st = shared.cv.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        }
        Outcome::Drip(every) => drip(shared, &mut stream, every),
    }
}

/// A 200 that announces 1 MiB of JSON and sends one space per `every`, until
/// the client gives up or the mock is dropped.
fn drip(shared: &Shared, stream: &mut TcpStream, every: Duration) {
    let head = "HTTP/1.1 200 OK\r\nServer: dify-mock\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let mut st = shared.lock();
    while !st.shutdown {
        drop(st);
        if stream
            .write_all(b" ")
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
        st = shared.lock();
        st = shared
            .cv
            .wait_timeout(st, every)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

struct Request {
    method: String,
    target: String,
    /// Origin-form path plus query.
    path_query: String,
    /// Path without query (still percent-encoded).
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Option<serde_json::Map<String, Value>> {
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }
    fn cookie(&self, name: &str) -> Option<String> {
        let prefixed = format!("__Host-{name}");
        self.headers
            .iter()
            .filter(|(k, _)| k == "cookie")
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name || *k == prefixed)
            .map(|(_, v)| v.to_string())
    }
}

fn read_line(r: &mut impl BufRead, budget: &mut usize) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = r.take(*budget as u64 + 1).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if n > *budget || !buf.ends_with(b"\n") {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
    }
    *budget -= n;
    let line = String::from_utf8_lossy(&buf);
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

fn read_request(stream: &TcpStream) -> io::Result<Option<Request>> {
    let mut r = BufReader::new(stream);
    let mut budget = MAX_HEAD;
    let Some(line) = read_line(&mut r, &mut budget)? else {
        return Ok(None);
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("bad request line"));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || target.is_empty() {
        return Err(bad("bad request line"));
    }
    let mut headers = Vec::new();
    loop {
        let Some(line) = read_line(&mut r, &mut budget)? else {
            return Err(bad("eof in head"));
        };
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').ok_or_else(|| bad("bad header"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            let size_line = read_line(&mut r, &mut budget)?.ok_or_else(|| bad("eof in chunk"))?;
            let hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(hex, 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                while read_line(&mut r, &mut budget)?.is_some_and(|l| !l.is_empty()) {}
                break;
            }
            if body.len() + size > MAX_BODY {
                return Err(bad("body too large"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf)?;
        }
    } else if let Some(len) = get("content-length") {
        let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
        if len > MAX_BODY {
            return Err(bad("body too large"));
        }
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    }
    // Absolute-form (as sent to a proxy) → origin-form.
    let origin = match target.find("://") {
        Some(i) => match target[i + 3..].find('/') {
            Some(j) => target[i + 3 + j..].to_string(),
            None => "/".to_string(),
        },
        None => target.to_string(),
    };
    let (path, query) = match origin.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (origin.clone(), String::new()),
    };
    let query = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (pct_decode(k, true), pct_decode(v, true))
        })
        .collect();
    Ok(Some(Request {
        method: method.to_string(),
        target: target.to_string(),
        path_query: origin,
        path,
        query,
        headers,
        body,
    }))
}

fn pct_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit() =>
            {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("0");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 3;
                continue;
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Response {
    status: u16,
    content_type: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn text(status: u16, content_type: &str, body: &str) -> Response {
        Response {
            status,
            content_type: content_type.into(),
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }
    fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }
}

enum Outcome {
    Respond(Response),
    Hang,
    /// Headers, then one byte per interval until shutdown.
    Drip(Duration),
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

fn write_response(stream: &mut TcpStream, resp: &Response) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nServer: dify-mock\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(&resp.body);
    stream.write_all(&out)?;
    stream.flush()?;
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Helpers: time, randomness, ids
// ---------------------------------------------------------------------------------------

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// ISO-8601 UTC with whole seconds and the given suffix (`Z` or `+00:00`).
fn iso(secs: i64, suffix: &str) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{suffix}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().trim_end_matches('=');
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn status_code_name(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "request_entity_too_large",
        415 => "unsupported_media_type",
        422 => "invalid_param",
        429 => "too_many_requests",
        500 => "internal_server_error",
        502 => "bad_gateway",
        _ => "unknown",
    }
}

/// An ErrorBody (§6.2): the code defaults from the status, ≥ 500 always says
/// `Internal Server Error`.
fn error_body(status: u16, code: Option<&str>, message: &str) -> Value {
    let code = code.unwrap_or_else(|| status_code_name(status));
    let message = if status >= 500 {
        "Internal Server Error"
    } else {
        message
    };
    json!({"code": code, "message": message, "status": status})
}

#[derive(Clone)]
struct Owner {
    sso: bool,
    email: String,
    issuer: String,
}

enum Route {
    Version,
    Health,
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

// ---------------------------------------------------------------------------------------
// The server logic
// ---------------------------------------------------------------------------------------

impl State {
    fn next_u64(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn random_from(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[(self.next_u64() % alphabet.len() as u64) as usize] as char)
            .collect()
    }

    fn uuid(&mut self) -> String {
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

    fn json(&self, status: u16, v: &Value) -> Response {
        let mut body = serde_json::to_string(v).expect("serialise");
        if self.cfg.escape_slashes {
            // '/' can only occur inside JSON strings, so this is what Python's json does.
            body = body.replace('/', "\\/");
        }
        Response::text(status, "application/json", &body)
    }

    fn error(&self, status: u16, code: Option<&str>, message: &str) -> Response {
        let resp = self.json(status, &error_body(status, code, message));
        if status == 401 {
            resp.with_header("WWW-Authenticate", "Bearer realm=\"api\"")
        } else {
            resp
        }
    }

    fn oauth_error(&self, error: &str) -> Response {
        self.json(400, &json!({ "error": error }))
    }

    fn html_404(&self) -> Response {
        Response::text(
            404,
            "text/html; charset=utf-8",
            &format!(
                "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>{NOT_FOUND_TEXT}</p>\n"
            ),
        )
    }

    fn account_owner(&self) -> Owner {
        Owner {
            sso: false,
            email: self.cfg.account.email.clone(),
            issuer: ACCOUNT_ISSUER.into(),
        }
    }

    fn approving_owner(&self) -> Owner {
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
    /// revoked first (§6.5).
    fn mint(&mut self, owner: Owner, client_id: &str, label: &str, rotate: bool) -> usize {
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

    fn revoke(&mut self, idx: usize) {
        let s = &mut self.sessions[idx];
        if !s.revoked {
            s.revoked = true;
            let id = s.id.clone();
            self.revoked.push(id);
        }
    }

    fn code_live(&self, idx: usize, now: Instant) -> bool {
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

    fn find_user_code(&self, user_code: &str) -> Option<usize> {
        let exact = self.codes.iter().rposition(|c| c.user_code == user_code);
        exact.or_else(|| {
            let up = user_code.trim().to_ascii_uppercase();
            self.codes.iter().rposition(|c| c.user_code == up)
        })
    }

    fn pending_code(&self, user_code: &str) -> Result<usize, String> {
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
    fn approve_code(&mut self, idx: usize) -> Result<usize, String> {
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

    fn account_json(&self) -> Value {
        let a = &self.cfg.account;
        json!({"id": a.id, "email": a.email, "name": a.name})
    }

    fn workspaces_json(&self) -> Value {
        self.cfg
            .workspaces
            .iter()
            .map(|w| json!({"id": w.id, "name": w.name, "role": w.role}))
            .collect()
    }

    fn workspace_detail(&self, w: &Workspace) -> Value {
        json!({
            "id": w.id,
            "name": w.name,
            "role": w.role,
            "status": "normal",
            "current": self.cfg.default_workspace_id.as_deref() == Some(w.id.as_str()),
            "created_at": "2026-01-01T00:00:00",
        })
    }

    // --- dispatch --------------------------------------------------------------------

    fn dispatch(&mut self, req: &Request) -> Outcome {
        if let Some(rule) = self
            .fail_rules
            .iter_mut()
            .find(|r| r.remaining > 0 && req.path.starts_with(&r.prefix))
        {
            rule.remaining -= 1;
            let status = rule.status;
            self.fail_rules.retain(|r| r.remaining > 0);
            return Outcome::Respond(self.error(status, None, reason(status)));
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
        Outcome::Respond(resp)
    }

    fn hostile_answer(&self, answer: &Hostile, req: &Request) -> Outcome {
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

    fn openapi(&mut self, req: &Request, sub: &str) -> Response {
        if self.cfg.openapi_disabled {
            return self.html_404();
        }
        if self.cfg.upgrade_required && sub != "/_version" && sub != "/_health" {
            let mut body = error_body(426, Some("upgrade_required"), "difyctl is too old");
            body["hint"] = json!("Upgrade difyctl: https://docs.dify.ai/en/cli/install");
            return self.json(426, &body);
        }
        let segs: Vec<String> = sub
            .strip_prefix('/')
            .unwrap_or(sub)
            .split('/')
            .map(|s| pct_decode(s, false))
            .collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let (route, allowed): (Route, &[&str]) = match segs.as_slice() {
            ["_version"] => (Route::Version, &["GET"]),
            ["_health"] => (Route::Health, &["GET"]),
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
            ["workspaces", id] if !id.is_empty() => (Route::Workspace(id.to_string()), &["GET"]),
            ["workspaces", id, "switch"] if !id.is_empty() => {
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
        match route {
            Route::Version => self.json(
                200,
                &json!({"version": self.cfg.version, "edition": self.cfg.edition}),
            ),
            Route::Health => self.json(200, &json!({"ok": true})),
            Route::DeviceCode => self.device_code(req),
            Route::DeviceToken => self.device_token(req),
            Route::DeviceLookup => self.device_lookup(req),
            Route::DeviceDecision(approve) => self.console_decision(req, approve),
            Route::Account => match self.bearer(req) {
                Ok(_) => self.get_account(),
                Err(resp) => resp,
            },
            Route::Sessions => match self.bearer(req) {
                Ok(caller) => self.list_sessions(req, caller),
                Err(resp) => resp,
            },
            Route::RevokeSelf => match self.bearer(req) {
                Ok(caller) => {
                    self.revoke(caller);
                    self.json(200, &json!({"status": "revoked"}))
                }
                Err(resp) => resp,
            },
            Route::RevokeId(id) => match self.bearer(req) {
                Ok(caller) => self.revoke_by_id(caller, &id),
                Err(resp) => resp,
            },
            Route::Workspaces => match self.bearer(req) {
                Ok(_) => {
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
                    self.json(200, &json!({ "workspaces": list }))
                }
                Err(resp) => resp,
            },
            Route::Workspace(id) => match self.bearer(req) {
                Ok(_) => match self.cfg.workspaces.iter().find(|w| w.id == id) {
                    Some(w) => self.json(200, &self.workspace_detail(w)),
                    None => self.error(404, None, "workspace not found"),
                },
                Err(resp) => resp,
            },
            Route::WorkspaceSwitch(id) => match self.bearer(req) {
                Ok(_) => match self.cfg.workspaces.iter().find(|w| w.id == id).cloned() {
                    Some(w) => {
                        self.cfg.default_workspace_id = Some(w.id.clone());
                        self.json(200, &self.workspace_detail(&w))
                    }
                    None => self.error(404, None, "workspace not found"),
                },
                Err(resp) => resp,
            },
        }
    }

    // --- device flow -----------------------------------------------------------------

    fn device_code(&mut self, req: &Request) -> Response {
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
            // A too-long label fails the approval (§14); the code then stays pending.
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

    fn device_token(&mut self, req: &Request) -> Response {
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

    fn poll(
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

    fn device_lookup(&mut self, req: &Request) -> Response {
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

    /// `POST /oauth/device/approve|deny` with a console cookie session (§13).
    fn console_decision(&mut self, req: &Request, approve: bool) -> Response {
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

    // --- bearer endpoints ------------------------------------------------------------

    /// Authenticate an account bearer; the caller's session index or the error answer.
    fn bearer(&mut self, req: &Request) -> Result<usize, Response> {
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
        if self.sessions[idx].sso {
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

    fn get_account(&self) -> Response {
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

    fn list_sessions(&self, req: &Request, caller: usize) -> Response {
        let mut details = Vec::new();
        let mut page: Option<u64> = None;
        let mut limit: Option<u64> = None;
        for (k, v) in &req.query {
            let (slot, max) = match k.as_str() {
                "page" => (&mut page, None),
                "limit" => (&mut limit, Some(200)),
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
                Ok(n) if max.is_some_and(|m| n > m) => details.push(json!({"type": "less_than_equal", "loc": [k], "msg": "Input should be less than or equal to 200"})),
                Ok(n) => *slot = Some(n as u64),
            }
        }
        if !details.is_empty() {
            let mut body = error_body(422, None, "Request validation failed");
            body["details"] = Value::Array(details);
            return self.json(422, &body);
        }
        let (page, limit) = (page.unwrap_or(1), limit.unwrap_or(100));
        let now = now_unix();
        let me = &self.sessions[caller];
        let mine: Vec<&Session> = self
            .sessions
            .iter()
            .rev()
            .filter(|s| s.live(now) && s.same_owner(me))
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

    fn revoke_by_id(&mut self, caller: usize, id: &str) -> Response {
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
            .filter(|&i| self.sessions[i].same_owner(&self.sessions[caller]));
        match target {
            Some(i) => {
                self.revoke(i);
                self.json(200, &json!({"status": "revoked"}))
            }
            None => self.error(404, None, "session not found"),
        }
    }

    // --- console ---------------------------------------------------------------------

    fn console(&mut self, req: &Request, sub: &str) -> Response {
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

    fn console_sign_in(&mut self, email: &str) -> Response {
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
    fn device_page(&mut self, req: &Request) -> Response {
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

/// `path` below `prefix` (`""` for the prefix itself, else starting with `/`).
fn under<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}
