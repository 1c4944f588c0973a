//! Talking to a Dify server: the HTTP client and the parts of the Dify wire
//! protocol difyctl relies on.
//!
//! # The surface
//!
//! Everything but the console sign-in lives under
//! `<scheme>://<host>[/<prefix>]/openapi/v1/` (a path prefix typed in
//! `--host` is used for that session's requests only). Bodies are JSON both
//! ways; servers escape `/` as `\/` in their JSON, so answers are always
//! decoded, never matched as text.
//!
//! | endpoint | auth | module |
//! |---|---|---|
//! | `GET _version`, `GET _health` | none | [`server`] |
//! | `GET _catalog` (servers after 1.16) | none | [`catalog`] |
//! | `POST oauth/device/code`, `POST oauth/device/token` | none | [`device`] |
//! | `POST oauth/device/approve`, `…/deny` | console cookies | [`console`] |
//! | `GET account`, `GET account/sessions`, `DELETE account/sessions/{self,<id>}` | bearer | [`account`] |
//! | `GET workspaces`, `POST workspaces/<id>:switch` (or `/switch`) | bearer | [`account`] |
//! | `POST /console/api/login`, `…/email-code-login[/validity]`, `…/logout` | none, then cookies | [`console`] |
//!
//! # Requests
//!
//! * `User-Agent: difyctl-rs/<version> (<os>; <arch>)` (see
//!   [`options::user_agent`]), `Accept: application/json`, and
//!   `Content-Type: application/json` with a JSON body.
//! * `Authorization: Bearer <token>` on the bearer routes: a `dfoa_` token
//!   (an account, 14 days, no refresh) or `dfoe_` (an external-SSO subject,
//!   which the account routes refuse with 403 `unsupported_token_type`).
//! * `X-Dify-Catalog: <fingerprint>` on every bearer request to a server with
//!   a catalog: the handshake, described in [`catalog`].
//! * Redirects are never followed (a bearer must not travel elsewhere).
//! * GET, PUT and DELETE are retried on transport errors and 408, 413, 500,
//!   502, 503, 504, and a 429 `too_many_requests` asking to wait at most a
//!   minute is waited out; POST and PATCH are sent once (see [`retry`]).
//!
//! # Answers
//!
//! Errors on `/openapi/v1` are an ErrorBody, `{"code", "message", "status",
//! "hint"?, "details"?: [{"type", "loc", "msg"}]}` (for status ≥ 500 the
//! message is always `Internal Server Error`), except the device-flow
//! endpoints, which answer RFC 8628's `{"error": "<code>"}`. How a status
//! becomes an error code and exit status is in [`errors`]: 401
//! `auth_expired`, 403 `access_denied`, 412 `catalog_stale`, 426
//! `version_skew`, 429 `rate_limited`, other 4xx `server_4xx_other`, 5xx
//! `server_5xx`.
//!
//! Every answer names the server's version in `X-Version`; newer servers add
//! `X-Dify-Catalog`.
//!
//! # Server generations
//!
//! | | 1.14 – 1.15 | 1.16 | after 1.16 |
//! |---|---|---|---|
//! | workspace switch | `workspaces/<id>/switch` | `workspaces/<id>:switch` | the catalog's `switch.workspace` op |
//! | `GET workspaces` | whole list | whole list | paged (`page`, `limit` ≤ 100) |
//! | catalog handshake | — (`_catalog` is 404) | — | required on bearer routes (412) |
//! | `edition` in `_version` | `SELF_HOSTED`, `CLOUD` | `COMMUNITY`, … | `COMMUNITY`, … |
//! | invalid or revoked bearer | 500 | 500 | 401 `invalid bearer` |
//! | client gate | — | 426 for `difyctl/` agents below 0.2.0 | the same |
//!
//! difyctl finds out which one it talks to without asking twice: the
//! catalog's presence and `X-Version` are remembered per server (see
//! [`catalog::Memo`]).

pub mod account;
pub mod catalog;
pub mod client;
pub mod console;
pub mod device;
pub mod errors;
pub mod forward;
pub mod label;
pub mod net;
pub mod options;
pub mod origin;
pub mod request;
pub mod resolve;
pub mod response;
pub mod retry;
pub mod server;
pub mod trust;

#[cfg(test)]
pub(crate) mod stub;

pub use client::Client;
pub use net::NetEnv;
pub use options::ClientOptions;
pub use origin::HostUrl;
pub use request::{Method, Request};
pub use response::Response;
