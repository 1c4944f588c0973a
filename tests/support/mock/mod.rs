//! A mock Dify server for the integration tests and for `make demo`.
//!
//! It speaks the `/openapi/v1` surface that `difyctl`'s `auth` and `use` commands use
//! (the rustdoc of `src/dify` describes it), with the quirks a real server shows on
//! the wire, plus the console sign-in endpoints a headless login needs. std,
//! `serde_json` and `ring` (for the catalog's SHA-256) only.
//!
//! By default it is a Dify 1.14 server; [`MockConfig::dify_1_16`] and
//! [`MockConfig::catalog_era`] make it a newer one (see the generation switches below).
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
//! | external SSO | `sso` / [`MockConfig::sso`] (`dfoe_` tokens); `sso_acts_for_account` (an SSO bearer lists and revokes the account's sessions) |
//! | invalid bearer | `invalid_bearer`; `baseline_invalid_bearer_500` turns every invalid bearer into a 500 |
//! | expired / revoked elsewhere | [`MockDify::expire_session`], [`MockDify::revoke_session`] |
//! | revoke fails half way | [`MockDify::fail_revoke_after`]`(n)` |
//! | per-token 429 | `rate_limit_per_min`, `rate_limit_retry_after`; once on a path: [`MockDify::rate_limit_next`] |
//! | slow server (answers held until released) | [`MockDify::hold`], [`MockDify::release`] |
//! | many sessions, colliding labels | [`MockDify::add_session`] in a loop, same label allowed |
//! | hang | `hang: Some(path_prefix)` (released when the mock is dropped) |
//! | hostile strings | `account.name`, `user_code`, labels via [`MockDify::add_session`] |
//! | 426 version gate | `upgrade_required` |
//! | console sign-in | `console_password`, `console_email_code`, `host_cookie_prefix`, `enforce_csrf`, `approve_rate_limit` |
//! | console sign-in refused (frozen, banned, login limit, login disabled) | `console_login_error` |
//! | email-code token expired | `email_code_tokens_expired` |
//! | hostile or broken server on a path: oversized body, non-JSON, wrong-shape JSON, redirect, slow drip, bearer echoed back | `hostile` / [`MockConfig::hostile`] with a [`Hostile`] |
//!
//! Server generations (each preset sets several; every switch also works alone):
//!
//! | behaviour | how |
//! |---|---|
//! | `X-Version` on every answer | `version_header` (on), `version` |
//! | `:switch` instead of `/switch` | `switch_route` = [`SwitchRoute::Colon`] |
//! | paged `GET /workspaces` | `paged_workspaces`; many workspaces: [`MockConfig::more_workspaces`] |
//! | the catalog handshake (`/_catalog`, `X-Dify-Catalog`, 412 `catalog_stale`) | `catalog` |
//! | a catalog that changes | [`MockDify::change_catalog`] now, [`MockDify::change_catalog_after`]`(n, announced)` within a run |
//! | a 412 that never ends; a catalog that is not its fingerprint | `catalog_always_stale`; `catalog_bad_fingerprint` |
//! | edition | `edition` (`COMMUNITY` from 1.16) |
//! | 426 for `difyctl/` agents below a version | `min_difyctl_version` |
//!
//! # Inspecting
//!
//! [`MockDify::requests`] (every request, headers lower-cased),
//! [`MockDify::command_requests`] (without the handshake's catalog fetch),
//! [`MockDify::take_requests`] and [`MockDify::request_count`] (to count what one
//! command sent), [`MockDify::sessions`] (live sessions), [`MockDify::revoked_ids`],
//! [`MockDify::device_labels`], [`MockDify::polls`], [`MockDify::add_session`] to seed
//! sessions (450 are cheap).
//!
//! # Layout
//!
//! [`config`] holds what a test can set, [`views`] what it can read back, and
//! [`handle`] the [`MockDify`] it drives. Inside: `http` reads requests and writes
//! answers, `state` keeps sessions and codes, `routes` picks the handler,
//! `catalog` does the newer servers' handshake and client gate, and `device`,
//! `bearer` and `console` answer their endpoints.

mod bearer;
mod catalog;
pub mod config;
mod console;
mod device;
pub mod handle;
mod http;
mod routes;
mod state;
mod util;
pub mod views;

use std::time::Duration;

// Each test crate uses its own part of the API.
#[allow(unused_imports)]
pub use catalog::{CATALOG_HEADER, STALE_MESSAGE, sha256_hex};
#[allow(unused_imports)]
pub use config::{
    Account, CatalogChange, DeviceFlow, Hostile, MockConfig, SsoSubject, SwitchRoute, Workspace,
};
pub use handle::MockDify;
#[allow(unused_imports)]
pub use views::{ConsoleSessionInfo, Poll, Recorded, SessionInfo};

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
