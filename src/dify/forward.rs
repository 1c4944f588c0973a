//! Plain-http hosts through an HTTP proxy, as forward-proxy requests: the
//! request line carries the absolute URL (`GET http://host:port/path
//! HTTP/1.1`, RFC 9112 §3.2.2) and no tunnel is asked for. ureq tunnels
//! every proxied request with `CONNECT`, which proxies such as Squid refuse by
//! default for ports other than 443; https hosts keep the tunnel.
//!
//! The pieces: [`ToProxy`] resolves every host to the proxy, ureq's TCP
//! connector connects there, and [`AbsoluteForm`] rewrites the request line
//! of the connection's only request (connections are not reused, so each
//! carries one request) and adds `Proxy-Authorization` when the proxy URL
//! holds credentials.

use std::fmt;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, NextTimeout, Transport,
};

use super::resolve::LocalFirst;

/// Resolves every host to the proxy's addresses when there is one, else as
/// [`LocalFirst`] does.
#[derive(Default)]
pub struct ToProxy {
    pub proxy: Option<Uri>,
    pub resolver: LocalFirst,
}

impl fmt::Debug for ToProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ToProxy")
    }
}

impl Resolver for ToProxy {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        self.resolver
            .resolve(self.proxy.as_ref().unwrap_or(uri), config, timeout)
    }
}

/// Wraps the connection to the proxy in [`AbsoluteForm`] when there is
/// one (`origin` set), else passes the connection on.
#[derive(Default)]
pub struct Forward {
    /// `http://host:port` of the target.
    pub origin: Option<String>,
    /// `Basic …` for `Proxy-Authorization`.
    pub authorization: Option<String>,
}

impl fmt::Debug for Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Forward")
    }
}

impl<In: Transport> Connector<In> for Forward {
    type Out = Either<In, AbsoluteForm<In>>;

    fn connect(
        &self,
        _: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| match &self.origin {
            None => Either::A(inner),
            Some(origin) => Either::B(AbsoluteForm {
                inner,
                origin: origin.clone(),
                authorization: self.authorization.clone(),
                rewritten: false,
            }),
        }))
    }
}

pub struct AbsoluteForm<T> {
    inner: T,
    origin: String,
    authorization: Option<String>,
    rewritten: bool,
}

impl<T> fmt::Debug for AbsoluteForm<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AbsoluteForm")
    }
}

/// `METHOD /path HTTP/1.1\r\n…` with the origin put before the path and
/// the authorization header after the request line; `None` when `head` does
/// not start with an origin-form request line.
pub fn rewrite(head: &[u8], origin: &str, authorization: Option<&str>) -> Option<Vec<u8>> {
    let space = head.iter().position(|&b| b == b' ')?;
    if head.get(space + 1) != Some(&b'/') {
        return None;
    }
    let line_end = head.windows(2).position(|w| w == b"\r\n")? + 2;
    let mut out = Vec::with_capacity(head.len() + origin.len() + 64);
    out.extend_from_slice(&head[..=space]);
    out.extend_from_slice(origin.as_bytes());
    out.extend_from_slice(&head[space + 1..line_end]);
    if let Some(value) = authorization {
        out.extend_from_slice(format!("Proxy-Authorization: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(&head[line_end..]);
    Some(out)
}

impl<T: Transport> Transport for AbsoluteForm<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let mut amount = amount;
        if !self.rewritten {
            self.rewritten = true;
            let output = self.inner.buffers().output();
            let rewritten = rewrite(
                &output[..amount],
                &self.origin,
                self.authorization.as_deref(),
            );
            if let Some(bytes) = rewritten.filter(|b| b.len() <= output.len()) {
                output[..bytes.len()].copy_from_slice(&bytes);
                amount = bytes.len();
            }
        }
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_become_absolute() {
        let head = b"POST /openapi/v1/oauth/device/code HTTP/1.1\r\nHost: h:5001\r\n\r\n{}";
        let out = rewrite(head, "http://h:5001", Some("Basic Y2k6cHc=")).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST http://h:5001/openapi/v1/oauth/device/code HTTP/1.1\r\nProxy-Authorization: \
             Basic Y2k6cHc=\r\nHost: h:5001\r\n\r\n{}"
        );
        assert_eq!(rewrite(b"body bytes", "http://h", None), None);
        assert_eq!(rewrite(b"GET /x HTTP/1.1", "http://h", None), None);
    }
}
