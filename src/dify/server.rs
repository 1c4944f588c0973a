//! What a server says about itself, and which generation of the API that
//! makes it.
//!
//! `GET /openapi/v1/_version` needs no bearer and answers
//! `{"version": "1.16.1", "edition": "COMMUNITY"}`. Servers also name their
//! version in an `X-Version` header on every response, which spares the probe
//! once any other request has been made. The edition is shown as the server
//! reports it, lower-cased (`self_hosted`, `community`, `cloud`, …): nothing
//! here depends on a fixed list of editions.
//!
//! The workspace-switch route is the one route whose form changed between
//! generations: `POST /workspaces/<id>/switch` up to Dify 1.15,
//! `POST /workspaces/<id>:switch` from 1.16 on (and on every server with a
//! catalog, see [`catalog`](super::catalog)).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{CliError, ErrorCode, Result};

use super::account::null_as_default;
use super::{Client, Method, Request};

/// The probe's timeout: `/_version` answers at once or not at all.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The response header that carries the server's version.
pub const VERSION_HEADER: &str = "x-version";

/// `GET /_version` as the server answers it (the edition as reported:
/// `version` shows it lower-cased, its JSON keeps it as the official does).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerVersion {
    #[serde(default, deserialize_with = "null_as_default")]
    pub version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub edition: String,
}

/// Asks the server its version: one attempt, [`PROBE_TIMEOUT`], no bearer.
pub fn probe_version(client: &Client) -> Result<ServerVersion> {
    let req = Request::new(Method::Get, "_version")
        .no_retry()
        .timeout(PROBE_TIMEOUT);
    let resp = client.call(&req)?;
    let v: ServerVersion = resp.json().map_err(|e| {
        CliError::new(ErrorCode::Unknown, format!("decode _version response: {e}")).about(&resp)
    })?;
    Ok(v)
}

/// The numeric core of a version (`1.16.1-rc.2` → `(1, 16, 1)`); `None`
/// when it does not start with `major.minor`.
pub fn version_core(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.trim().trim_start_matches('v');
    let core = core.split(['-', '+']).next().unwrap_or("");
    let mut parts = core.split('.');
    let mut number = |required: bool| match parts.next() {
        Some(p) => p.parse::<u64>().ok(),
        None if required => None,
        None => Some(0),
    };
    Some((number(true)?, number(true)?, number(false)?))
}

/// The two forms of the workspace-switch route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchRoute {
    /// `workspaces/<id>/switch` (Dify up to 1.15).
    Slash,
    /// `workspaces/<id>:switch` (Dify 1.16 and later).
    Colon,
}

impl SwitchRoute {
    /// The route of the generation a server version belongs to; an unknown
    /// version gets the older form (the fallback tries the other one).
    pub fn for_version(version: Option<&str>) -> SwitchRoute {
        match version.and_then(version_core) {
            Some(v) if v >= (1, 16, 0) => SwitchRoute::Colon,
            _ => SwitchRoute::Slash,
        }
    }

    pub fn other(self) -> SwitchRoute {
        match self {
            SwitchRoute::Slash => SwitchRoute::Colon,
            SwitchRoute::Colon => SwitchRoute::Slash,
        }
    }

    /// The request path for workspace `id`, already percent-encoded.
    pub fn path(self, encoded_id: &str) -> String {
        match self {
            SwitchRoute::Slash => format!("workspaces/{encoded_id}/switch"),
            SwitchRoute::Colon => format!("workspaces/{encoded_id}:switch"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dify::stub::{Canned, serve, test_options};

    #[test]
    fn versions_compare_by_their_numeric_core() {
        assert_eq!(version_core("1.16.1"), Some((1, 16, 1)));
        assert_eq!(version_core("v1.16"), Some((1, 16, 0)));
        assert_eq!(version_core("1.16.0-rc.1"), Some((1, 16, 0)));
        assert_eq!(version_core(" 2.0.0+build "), Some((2, 0, 0)));
        for bad in ["", "1", "one.two", "1.x.3", "1.2.x"] {
            assert_eq!(version_core(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_switch_route_follows_the_generation() {
        let route = |v: Option<&str>| SwitchRoute::for_version(v);
        assert_eq!(route(Some("1.14.2")), SwitchRoute::Slash);
        assert_eq!(route(Some("1.15.9")), SwitchRoute::Slash);
        assert_eq!(route(Some("1.16.0-rc.1")), SwitchRoute::Colon);
        assert_eq!(route(Some("1.16.1")), SwitchRoute::Colon);
        assert_eq!(route(Some("2.0.0")), SwitchRoute::Colon);
        assert_eq!(route(Some("nightly")), SwitchRoute::Slash);
        assert_eq!(route(None), SwitchRoute::Slash);
        assert_eq!(SwitchRoute::Colon.path("w%2F1"), "workspaces/w%2F1:switch");
        assert_eq!(SwitchRoute::Slash.path("w-1"), "workspaces/w-1/switch");
        assert_eq!(SwitchRoute::Slash.other(), SwitchRoute::Colon);
    }

    #[test]
    fn the_probe_reports_the_edition_as_the_server_does() {
        let stub = serve(vec![
            Canned::json(200, r#"{"version":"1.16.1","edition":"COMMUNITY"}"#),
            Canned::json(200, r#"{"version":"1.99.0","edition":"Enterprise_Plus"}"#),
            Canned::json(200, r#"{"version":null}"#),
            Canned::new(200, "<html>"),
        ]);
        let (opts, waits) = test_options();
        let client = stub.client(opts);
        let v = probe_version(&client).unwrap();
        assert_eq!(
            (v.version.as_str(), v.edition.as_str()),
            ("1.16.1", "COMMUNITY")
        );
        assert_eq!(probe_version(&client).unwrap().edition, "Enterprise_Plus");
        assert_eq!(probe_version(&client).unwrap(), ServerVersion::default());
        let e = probe_version(&client).unwrap_err();
        assert!(
            e.message.starts_with("decode _version response"),
            "{}",
            e.message
        );
        let req = &stub.requests()[0];
        assert_eq!(
            (req.method.as_str(), req.path.as_str()),
            ("GET", "/openapi/v1/_version")
        );
        assert_eq!(req.header("authorization"), None);
        assert!(waits.lock().unwrap().is_empty());
    }
}
