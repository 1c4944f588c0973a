//! Name resolution: the system's, except that `localhost` and `*.localhost`
//! are the loopback addresses without asking anyone (RFC 6761 §6.3), so they
//! work where nothing else resolves them: an empty chroot or container
//! without `/etc/hosts`, as a static binary's resolver reads no other source.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

#[derive(Default)]
pub struct LocalFirst(DefaultResolver);

impl fmt::Debug for LocalFirst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalFirst")
    }
}

/// `localhost`, `*.localhost`, in any case, with or without a final dot.
pub fn is_localhost(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

impl Resolver for LocalFirst {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let local = uri.host().filter(|h| is_localhost(h));
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        match (local, port) {
            (Some(_), Some(port)) => {
                let mut addrs = self.empty();
                addrs.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
                addrs.push(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port));
                Ok(addrs)
            }
            _ => self.0.resolve(uri, config, timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_names() {
        for name in ["localhost", "LOCALHOST", "localhost.", "dify.localhost"] {
            assert!(is_localhost(name), "{name}");
        }
        for name in ["localhost.example", "mylocalhost", "127.0.0.1", ""] {
            assert!(!is_localhost(name), "{name}");
        }
    }
}
