//! Environment-driven network settings: proxies (`HTTP(S)_PROXY`, `ALL_PROXY`,
//! `NO_PROXY`) and where trusted certificates are (`SSL_CERT_FILE`,
//! `SSL_CERT_DIR`, see [`super::trust`]).
//!
//! The variables are captured into a [`NetEnv`] value so tests never touch the
//! process environment.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::{CliError, Result};

const PROXY_VARS: [&str; 8] = [
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

const CERT_FILE_VAR: &str = "SSL_CERT_FILE";
const CERT_DIR_VAR: &str = "SSL_CERT_DIR";

/// A snapshot of the network-related environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetEnv {
    vars: Vec<(String, String)>,
    cert_file: Option<PathBuf>,
    cert_dirs: Vec<PathBuf>,
    /// Where the distribution's CA bundle paths are looked up: `/`, or a
    /// test's directory.
    pub system_root: PathBuf,
}

impl Default for NetEnv {
    fn default() -> Self {
        NetEnv {
            vars: Vec::new(),
            cert_file: None,
            cert_dirs: Vec::new(),
            system_root: PathBuf::from("/"),
        }
    }
}

/// A path variable's value: a text one trimmed, any bytes kept.
fn path_of(v: &std::ffi::OsStr) -> Option<PathBuf> {
    match v.to_str() {
        Some(text) => Some(PathBuf::from(text.trim())).filter(|p| !p.as_os_str().is_empty()),
        None => Some(PathBuf::from(v)),
    }
}

/// `SSL_CERT_DIR`: directories separated by `:`, as OpenSSL reads it.
fn dirs_of(v: &std::ffi::OsStr) -> Vec<PathBuf> {
    match v.to_str() {
        Some(text) => text
            .split(':')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .collect(),
        None => vec![PathBuf::from(v)],
    }
}

impl NetEnv {
    /// No proxy, no extra certificates.
    pub fn empty() -> Self {
        NetEnv::default()
    }

    /// The proxy variables (text: one that is not UTF-8 is a usage error)
    /// and `SSL_CERT_FILE` (a path: any bytes) of `env`.
    pub fn from_env(env: &Env) -> Result<Self> {
        let mut vars = Vec::new();
        for name in PROXY_VARS {
            if let Some(value) = env.text(name)? {
                vars.push((name.to_string(), value.to_string()));
            }
        }
        Ok(NetEnv {
            vars,
            cert_file: env.os(CERT_FILE_VAR).and_then(path_of),
            cert_dirs: env.os(CERT_DIR_VAR).map(dirs_of).unwrap_or_default(),
            ..NetEnv::default()
        })
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut env = NetEnv::default();
        for (k, v) in pairs {
            let (k, v): (String, String) = (k.into(), v.into());
            if k == CERT_FILE_VAR {
                env.cert_file = path_of(std::ffi::OsStr::new(&v));
            } else if k == CERT_DIR_VAR {
                env.cert_dirs = dirs_of(std::ffi::OsStr::new(&v));
            } else {
                env.vars.push((k, v));
            }
        }
        env
    }

    /// The first non-empty value among `names`.
    fn first(&self, names: &[&str]) -> Option<(&str, &str)> {
        names.iter().find_map(|name| {
            self.vars
                .iter()
                .find(|(k, v)| k == name && !v.trim().is_empty())
                .map(|(k, v)| (k.as_str(), v.trim()))
        })
    }

    pub fn ssl_cert_file(&self) -> Option<&Path> {
        self.cert_file.as_deref()
    }

    /// The same settings, the distribution bundles looked up under `root`.
    pub fn with_system_root(self, root: impl Into<PathBuf>) -> NetEnv {
        NetEnv {
            system_root: root.into(),
            ..self
        }
    }

    pub fn ssl_cert_dirs(&self) -> &[PathBuf] {
        &self.cert_dirs
    }

    /// The proxy variable set for `scheme`, before `NO_PROXY` is looked at.
    pub fn proxy_var(&self, scheme: &str) -> Option<(&str, &str)> {
        let names: &[&str] = if scheme == "https" {
            &["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
        } else {
            &["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        };
        self.first(names)
    }

    /// The proxy URL for a request to `scheme://host[:port]`, and the variable it
    /// came from, or `None` for a direct connection. Lowercase names win, as in
    /// curl; `ALL_PROXY` is the fallback for either scheme.
    pub fn proxy_for(&self, scheme: &str, hostname: &str, port: u16) -> Option<(&str, &str)> {
        let found = self.proxy_var(scheme)?;
        match self.first(&["no_proxy", "NO_PROXY"]) {
            Some((_, list)) if no_proxy_matches(list, hostname, port) => None,
            _ => Some(found),
        }
    }
}

/// Whether `NO_PROXY`-style `list` exempts `hostname:port`. Entries are separated
/// by commas or spaces: `*` matches everything; `example.com`, `.example.com`
/// and `*.example.com` match that domain and its subdomains; an IP address
/// matches itself, a CIDR block (`10.0.0.0/8`) its members; `host:port` also
/// requires the port.
pub fn no_proxy_matches(list: &str, hostname: &str, port: u16) -> bool {
    let host = hostname
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.');
    let host = host.to_ascii_lowercase();
    let host_ip: Option<IpAddr> = host.parse().ok();
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let (pattern, want_port) = split_entry_port(entry);
            if want_port.is_some_and(|p| p != port) {
                return false;
            }
            let pattern = pattern.to_ascii_lowercase();
            if let Some((net, bits)) = pattern.split_once('/') {
                return match (host_ip, net.parse::<IpAddr>(), bits.parse::<u8>()) {
                    (Some(ip), Ok(net), Ok(bits)) => cidr_contains(net, bits, ip),
                    _ => false,
                };
            }
            if let Ok(ip) = pattern.parse::<IpAddr>() {
                return host_ip == Some(ip);
            }
            let domain = pattern
                .trim_start_matches('*')
                .trim_start_matches('.')
                .trim_end_matches('.');
            !domain.is_empty()
                && (host == domain
                    || host
                        .strip_suffix(domain)
                        .is_some_and(|rest| rest.ends_with('.')))
        })
}

/// Splits `host:port`, `[v6]:port`, leaving bare IPv6 addresses and CIDR blocks intact.
fn split_entry_port(entry: &str) -> (&str, Option<u16>) {
    if let Some((addr, tail)) = entry
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
    {
        return (addr, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match entry.rsplit_once(':') {
        Some((h, p))
            if !h.contains(':') && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (h, p.parse().ok())
        }
        _ => (entry, None),
    }
}

fn cidr_contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    let (net, ip, width) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n) as u128, u32::from(i) as u128, 32),
        (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
        _ => return false,
    };
    if bits > width {
        return false;
    }
    let shift = width - bits;
    let mask = if shift >= 128 {
        0
    } else {
        (u128::MAX >> (128 - width)) >> shift << shift
    };
    net & mask == ip & mask
}

/// The proxy a client uses, as the user may see it: the URL without its
/// credentials, and the variable it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyUse {
    pub proxy: ureq::Proxy,
    /// `http://proxy.corp:3128 (from HTTPS_PROXY)`, credentials shown as `***`.
    pub shown: String,
}

/// `scheme://***@host:port` for a URL with credentials; others unchanged.
pub fn without_credentials(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    if scheme.is_empty() {
        format!("{authority}{path}")
    } else {
        format!("{scheme}://{authority}{path}")
    }
}

/// The proxy for one host, honouring `NO_PROXY` ourselves (ureq's own env
/// reading ignores the target scheme and treats `example.com` as exact).
/// SOCKS proxies are refused by name: this build has no SOCKS client (it
/// would take the binary over its size limit), and ignoring one would
/// connect directly behind the user's back.
pub fn proxy_setting(
    env: &NetEnv,
    scheme: &str,
    hostname: &str,
    port: u16,
) -> Result<Option<ProxyUse>> {
    let Some((var, url)) = env.proxy_for(scheme, hostname, port) else {
        return Ok(None);
    };
    let shown = without_credentials(url);
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("socks") {
        return Err(CliError::usage_invalid(format!(
            "{var} names a SOCKS proxy ({shown}), which difyctl does not support"
        ))
        .with_hint(format!(
            "use an HTTP proxy (http://host:port) in {var}, or exempt {hostname} with NO_PROXY"
        )));
    }
    // The URL may hold credentials: never echo it whole.
    let proxy = ureq::Proxy::new(url).map_err(|_| {
        CliError::client(format!("invalid proxy URL in {var}"))
            .with_hint(format!("fix or unset {var}"))
    })?;
    Ok(Some(ProxyUse {
        proxy,
        shown: format!("{shown} (from {var})"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn no_proxy_domains() {
        let list = "localhost, .corp.example, *.wild.test internal.test";
        assert!(no_proxy_matches(list, "localhost", 80));
        assert!(no_proxy_matches(list, "LOCALHOST", 80));
        assert!(no_proxy_matches(list, "a.corp.example", 443));
        assert!(no_proxy_matches(list, "corp.example", 443));
        assert!(no_proxy_matches(list, "x.y.wild.test", 443));
        assert!(no_proxy_matches(list, "internal.test", 443));
        assert!(no_proxy_matches(list, "api.internal.test.", 443));
        assert!(!no_proxy_matches(list, "notinternal.test", 443));
        assert!(!no_proxy_matches(list, "example", 443));
        assert!(!no_proxy_matches(list, "cloud.dify.ai", 443));
        assert!(!no_proxy_matches("", "localhost", 80));
        assert!(!no_proxy_matches(" , ", "localhost", 80));
        assert!(!no_proxy_matches(".", "localhost", 80));
    }

    #[test]
    fn no_proxy_star_ports_and_addresses() {
        assert!(no_proxy_matches("*", "anything.example", 1));
        assert!(no_proxy_matches("localhost:5001", "localhost", 5001));
        assert!(!no_proxy_matches("localhost:5001", "localhost", 5002));
        assert!(no_proxy_matches("127.0.0.1", "127.0.0.1", 80));
        assert!(!no_proxy_matches("127.0.0.1", "127.0.0.2", 80));
        assert!(no_proxy_matches("10.0.0.0/8", "10.20.30.40", 80));
        assert!(!no_proxy_matches("10.0.0.0/8", "11.0.0.1", 80));
        assert!(no_proxy_matches("0.0.0.0/0", "8.8.8.8", 80));
        assert!(!no_proxy_matches("10.0.0.0/33", "10.0.0.1", 80));
        assert!(no_proxy_matches("::1", "[::1]", 80));
        assert!(no_proxy_matches("[::1]:8080", "[::1]", 8080));
        assert!(!no_proxy_matches("[::1]:8080", "[::1]", 80));
        assert!(no_proxy_matches("fd00::/8", "[fd12::1]", 80));
        assert!(!no_proxy_matches("fd00::/8", "10.0.0.1", 80));
        // A name never matches an address block.
        assert!(!no_proxy_matches("10.0.0.0/8", "ten.example", 80));
    }

    #[test]
    fn proxy_follows_the_target_scheme() {
        let env = NetEnv::from_pairs([
            ("HTTPS_PROXY", "http://secure-proxy:3128"),
            ("http_proxy", "http://plain-proxy:3128"),
            ("HTTP_PROXY", "http://shadowed:3128"),
            ("NO_PROXY", "localhost,.internal"),
        ]);
        assert_eq!(
            env.proxy_for("https", "cloud.dify.ai", 443),
            Some(("HTTPS_PROXY", "http://secure-proxy:3128"))
        );
        assert_eq!(
            env.proxy_for("http", "dify.lan", 80),
            Some(("http_proxy", "http://plain-proxy:3128"))
        );
        assert_eq!(env.proxy_for("http", "localhost", 5001), None);
        assert_eq!(env.proxy_for("https", "dify.internal", 443), None);

        let all = NetEnv::from_pairs([("ALL_PROXY", "socks5://s:1080"), ("https_proxy", " ")]);
        assert_eq!(
            all.proxy_for("https", "h", 443),
            Some(("ALL_PROXY", "socks5://s:1080"))
        );
        assert_eq!(NetEnv::empty().proxy_for("https", "h", 443), None);
        // Lowercase no_proxy wins over NO_PROXY.
        let lower = NetEnv::from_pairs([
            ("https_proxy", "http://p:1"),
            ("no_proxy", "a.test"),
            ("NO_PROXY", "*"),
        ]);
        assert_eq!(
            lower.proxy_for("https", "b.test", 443),
            Some(("https_proxy", "http://p:1"))
        );
        assert_eq!(lower.proxy_for("https", "a.test", 443), None);
    }

    #[test]
    fn proxy_setting_builds_or_explains() {
        let env = NetEnv::from_pairs([("https_proxy", "http://user:pw@proxy.test:3128")]);
        let used = proxy_setting(&env, "https", "h", 443).unwrap().unwrap();
        assert_eq!(used.proxy.host(), "proxy.test");
        assert_eq!(used.proxy.port(), 3128);
        assert_eq!(used.shown, "http://***@proxy.test:3128 (from https_proxy)");
        for socks in ["socks5h://u:pw@s:1080", "SOCKS5://s:1080", "socks4://s"] {
            let env = NetEnv::from_pairs([("ALL_PROXY", socks)]);
            let e = proxy_setting(&env, "https", "h", 443).unwrap_err();
            assert_eq!(e.code, ErrorCode::UsageInvalidFlag);
            assert!(
                e.message.starts_with("ALL_PROXY names a SOCKS proxy ("),
                "{}",
                e.message
            );
            assert!(!e.message.contains("pw"), "{}", e.message);
        }
        let bad = NetEnv::from_pairs([("HTTPS_PROXY", "ftp://user:hunter2@proxy")]);
        let e = proxy_setting(&bad, "https", "h", 443).unwrap_err();
        assert_eq!(e.code, ErrorCode::ClientError);
        assert_eq!(e.message, "invalid proxy URL in HTTPS_PROXY");
        assert!(!format!("{e:?}").contains("hunter2"));
    }
}
