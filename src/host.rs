//! Host URLs as people type them (`--host`, `DIFY_HOST`, the sign-in
//! prompt): parsed once, here, into where requests go and the bare host
//! (`host[:port]`) that names a stored context (the keys of `hosts.yml`; see
//! difyctl-files(5)).
//!
//! * No scheme means `https://`; the scheme and host are lower-cased.
//! * A port must be a number from 1 to 65535; the scheme's default port is
//!   dropped from the bare host (`https://h:443` is `h`).
//! * Credentials (`user@`) are refused; a query or fragment is refused.
//! * A path after the host is kept as the URL's path prefix. Whether one is
//!   allowed is the caller's decision: sign-ins refuse it (a context is named
//!   by its bare host and requests go to `/openapi/v1` at the root of it), a
//!   `DIFY_TOKEN` session honours it.
//!
//! A leaf: it knows nothing of commands or stored state.

use crate::dify::HostUrl;
use crate::error::{CliError, Result};

/// A host as typed, normalised: where to send requests and the bare host
/// (`host[:port]`) that names the context.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub url: HostUrl,
    pub bare: String,
}

impl Target {
    /// Whether a path came after the host.
    pub fn has_path(&self) -> bool {
        !self.url.path_prefix.is_empty()
    }
}

/// `https://` or `http://`, a host, an optional port in range, an optional
/// path; nothing else. Errors are `usage_invalid_flag` (exit 2).
pub fn parse(raw: &str) -> Result<Target> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    let uri: ureq::http::Uri = with_scheme
        .parse()
        .map_err(|e| CliError::usage_invalid(format!("host parse: {e}")))?;
    let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
    let host = uri.host().unwrap_or("").to_ascii_lowercase();
    if host.is_empty() {
        return Err(CliError::usage_invalid("host parse: the URL has no host"));
    }
    if authority.contains('@') {
        return Err(CliError::usage_invalid(
            "host parse: credentials in the host URL are not supported",
        ));
    }
    if uri.query().is_some() || with_scheme.contains('#') {
        return Err(CliError::usage_invalid(
            "host parse: a query or fragment is not part of a host URL",
        ));
    }
    match scheme.as_str() {
        "https" | "http" => {}
        other => {
            return Err(CliError::usage_invalid(format!(
                "only https:// hosts are accepted (got {other}://)"
            )));
        }
    }
    let default_port = if scheme == "https" { 443 } else { 80 };
    // Read from the authority: the parsed port is `None` when it does not fit
    // in 16 bits, which must be an error, not "no port".
    let port = match authority
        .strip_prefix(uri.host().unwrap_or(""))
        .and_then(|rest| rest.strip_prefix(':'))
        .filter(|p| !p.is_empty())
    {
        None => None,
        Some(p) => match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                return Err(CliError::usage_invalid(format!(
                    "host parse: port {p} is out of range (1 to 65535)"
                )));
            }
        },
    };
    // `h:` (a colon and no port) is the host alone.
    let bare = match port {
        Some(p) if p != default_port => format!("{host}:{p}"),
        _ => host,
    };
    let mut url = HostUrl::new(&scheme, &bare);
    let prefix = uri.path().trim_end_matches('/');
    if !prefix.is_empty() {
        url = url.with_path_prefix(prefix);
    }
    Ok(Target { url, bare })
}

/// [`parse`] for a sign-in (`auth login --host`): https, or http only
/// with `--insecure`; and no path after the host, refused before anything is
/// stored: a context is named by its bare host and every later request goes
/// to `/openapi/v1` at its root, so a path would be silently lost.
pub fn for_sign_in(raw: &str, insecure: bool) -> Result<Target> {
    let target = parse(raw)?;
    if target.url.scheme == "http" && !insecure {
        return Err(
            CliError::usage_invalid("only https:// hosts are accepted").with_hint(
                "add --insecure to allow http:// (local-dev only; user_code/device_code travel plaintext)",
            ),
        );
    }
    if target.has_path() {
        let root = format!("{}://{}", target.url.scheme, target.bare);
        return Err(CliError::usage_invalid(format!(
            "host parse: a path after the host ({}) is not supported",
            target.url.path_prefix
        ))
        .with_hint(format!(
            "difyctl talks to {root}/openapi/v1; pass --host {root} (the Dify API must be \
             served at the root of its host)"
        )));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn bare(raw: &str) -> String {
        parse(raw)
            .map(|t| format!("{}://{}{}", t.url.scheme, t.bare, t.url.path_prefix))
            .unwrap_or_else(|e| format!("ERR {}: {}", e.code, e.message))
    }

    #[test]
    fn normalisation() {
        assert_eq!(bare("cloud.dify.ai"), "https://cloud.dify.ai");
        assert_eq!(bare("  https://Cloud.Dify.AI/  "), "https://cloud.dify.ai");
        assert_eq!(bare("HTTPS://x.test:443"), "https://x.test");
        assert_eq!(bare("https://x.test:8443/"), "https://x.test:8443");
        assert_eq!(bare("http://localhost:5001"), "http://localhost:5001");
        assert_eq!(bare("http://localhost:80"), "http://localhost");
        assert_eq!(bare("http://localhost:443"), "http://localhost:443");
        assert_eq!(bare("https://x.test:"), "https://x.test");
        assert_eq!(bare("https://[::1]:8443"), "https://[::1]:8443");
        assert_eq!(bare("https://x.test/dify/"), "https://x.test/dify");
        assert!(bare("ftp://x").starts_with("ERR usage_invalid_flag: only https://"));
        assert!(bare("https://").starts_with("ERR usage_invalid_flag: host parse"));
        assert!(bare("https://user:pw@x.test").contains("credentials"));
        assert!(bare("https://x.test/?a=b").contains("query"));
        assert!(bare("https://x.test/#a").contains("query or fragment"));
    }

    #[test]
    fn ports_outside_1_to_65535_are_usage_errors() {
        for (raw, port) in [
            ("https://h:99999", "99999"),
            ("https://h:65536", "65536"),
            ("https://h:0", "0"),
            ("h:00", "00"),
            ("https://h:184467440737095516150", "184467440737095516150"),
        ] {
            let e = parse(raw).unwrap_err();
            assert_eq!(
                (e.code, e.message),
                (
                    ErrorCode::UsageInvalidFlag,
                    format!("host parse: port {port} is out of range (1 to 65535)")
                ),
                "{raw}"
            );
            assert_eq!(exit(raw), 2);
        }
        assert_eq!(bare("h:65535"), "https://h:65535");
        assert_eq!(bare("h:1"), "https://h:1");
        assert_eq!(bare("h:0443"), "https://h");
    }

    fn exit(raw: &str) -> u8 {
        parse(raw).unwrap_err().exit_code()
    }

    #[test]
    fn sign_ins_want_https_or_insecure_and_no_path() {
        assert_eq!(for_sign_in("x.test", false).unwrap().bare, "x.test");
        assert_eq!(
            for_sign_in("http://localhost:5001", true).unwrap().bare,
            "localhost:5001"
        );
        let e = for_sign_in("http://localhost:5001", false).unwrap_err();
        assert_eq!(e.message, "only https:// hosts are accepted");
        let e = for_sign_in("https://h.test/dify/", false).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str(), e.hint.as_deref()),
            (
                ErrorCode::UsageInvalidFlag,
                "host parse: a path after the host (/dify) is not supported",
                Some(
                    "difyctl talks to https://h.test/openapi/v1; pass --host https://h.test \
                     (the Dify API must be served at the root of its host)"
                )
            )
        );
    }
}
