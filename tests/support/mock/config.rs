//! What a test can tell the mock: the account, workspaces and every scenario switch.

use std::time::Duration;

use serde_json::Value;

use super::DEFAULT_ACCOUNT_ID;
use super::DEFAULT_WORKSPACE_ID;

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

/// Which form of the workspace-switch route the server has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SwitchRoute {
    /// `POST /workspaces/<id>/switch` (Dify up to 1.15); `<id>:switch` then hits the
    /// GET-only `/workspaces/<id>` route: 405.
    #[default]
    Slash,
    /// `POST /workspaces/<id>:switch` (Dify 1.16 and later); `<id>/switch` is 404.
    Colon,
}

/// When the catalog changes by itself (see [`MockConfig::catalog_change`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogChange {
    /// The change follows the `after`-th request that passed the catalog guard.
    pub after: usize,
    /// `true`: that request's answer already carries the new fingerprint (the change
    /// landed while it was handled); `false`: it carries the old one, and the next
    /// guarded request meets a 412 (a deploy between two requests).
    pub announced: bool,
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
    /// External-SSO (`dfoe_`) bearers pass the session routes and act for the
    /// account instead of getting 403 `unsupported_token_type`: `GET
    /// /account/sessions` lists the account's sessions, which never include
    /// the SSO session itself, and `DELETE /account/sessions/<id>` revokes them.
    pub sso_acts_for_account: bool,
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

    // --- server generations ------------------------------------------------------------
    /// `X-Version: <version>` on every answer, as real servers send it.
    pub version_header: bool,
    /// The workspace-switch route the server has.
    pub switch_route: SwitchRoute,
    /// `GET /workspaces` pages: `page` (≥ 1) and `limit` (1..100, default 20), other
    /// query keys 422; `{page, limit, total, has_more, data}`. Off: the whole list as
    /// `{"workspaces": [...]}`, the query ignored (Dify 1.14–1.16).
    pub paged_workspaces: bool,
    /// The server has a catalog: `GET /_catalog` (no auth) answers it, every
    /// `/openapi/v1` answer carries `X-Dify-Catalog: <sha256 of it>`, and bearer routes
    /// answer 412 `catalog_stale` (after the bearer check) unless the request sends that
    /// fingerprint. Off: `/_catalog` is an unknown path (404).
    pub catalog: bool,
    /// Part of the catalog: changing it changes the fingerprint (see
    /// [`MockDify::change_catalog`]).
    pub catalog_revision: u32,
    /// The catalog changes by itself once, during a run of requests.
    pub catalog_change: Option<CatalogChange>,
    /// The guard refuses every bearer request, even one with the current fingerprint.
    pub catalog_always_stale: bool,
    /// `GET /_catalog` sends a fingerprint that is not its body's.
    pub catalog_bad_fingerprint: bool,
    /// The client gate of newer servers: a `User-Agent` of `difyctl/<semver>` below this
    /// version gets 426 `upgrade_required` on every `/openapi/v1` path except
    /// `/_version` and `/_health` (other agents pass).
    pub min_difyctl_version: Option<String>,
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
            sso_acts_for_account: false,
            hostile: Vec::new(),
            version_header: true,
            switch_route: SwitchRoute::Slash,
            paged_workspaces: false,
            catalog: false,
            catalog_revision: 1,
            catalog_change: None,
            catalog_always_stale: false,
            catalog_bad_fingerprint: false,
            min_difyctl_version: None,
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
    /// Dify 1.14.2 as run from the real-dify script: the defaults, invalid bearers 500.
    pub fn dify_1_14() -> Self {
        MockConfig::default().baseline()
    }
    /// Dify 1.16.1: the `:switch` route, edition `COMMUNITY`, the client gate for
    /// `difyctl/` agents below 0.2.0, invalid bearers still 500; no catalog, unpaged
    /// workspaces.
    pub fn dify_1_16() -> Self {
        MockConfig {
            version: "1.16.1".into(),
            edition: "COMMUNITY".into(),
            switch_route: SwitchRoute::Colon,
            min_difyctl_version: Some("0.2.0".into()),
            ..MockConfig::dify_1_14()
        }
    }
    /// A server with the catalog handshake (after 1.16): the catalog and its guard,
    /// paged workspaces, `:switch`, edition `COMMUNITY`, the client gate, and 401
    /// `invalid bearer` for a bad token.
    pub fn catalog_era() -> Self {
        MockConfig {
            version: "1.18.0".into(),
            catalog: true,
            paged_workspaces: true,
            baseline_invalid_bearer_500: false,
            ..MockConfig::dify_1_16()
        }
    }
    /// Add `n` more workspaces (`Team 2`, `Team 3`, … with ids of the same shape as
    /// [`DEFAULT_WORKSPACE_ID`]).
    pub fn more_workspaces(mut self, n: usize) -> Self {
        for _ in 0..n {
            let k = self.workspaces.len() + 1;
            self.workspaces.push(Workspace {
                id: format!("9e4d3c2b-1a0f-4e8d-b7c6-{k:012x}"),
                name: format!("Team {k}"),
                role: "normal".into(),
            });
        }
        self
    }
}
