//! The HTTP client for one Dify host: base URL, headers, timeouts, retries,
//! proxies, TLS roots, verbose logging and the catalog handshake.

use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use ureq::http;

use crate::error::{CliError, ErrorCode, Result};

use super::catalog::{self, Handshake, MemoStore};
use super::errors::{error_body, status_error, transport_error};
use super::forward;
use super::net;
use super::options::ClientOptions;
use super::origin::HostUrl;
use super::request::{Method, Request, is_sensitive_header};
use super::response::Response;
use super::retry::{self, MAX_RETRY_AFTER, RETRY_STATUSES};
use crate::secret::Secret;
use crate::secret::redact;

/// The ureq agent: no redirects, the timeout, the TLS roots, `localhost`
/// resolved locally, and the proxy: a tunnel (`CONNECT`) for https, a
/// forward-proxy request for http (see [`forward`]).
fn agent(
    opts: &ClientOptions,
    scheme: &str,
    authority: &str,
    proxy: Option<ureq::Proxy>,
    tls: ureq::tls::TlsConfig,
) -> ureq::Agent {
    use ureq::unversioned::transport::{
        ConnectProxyConnector, Connector, RustlsConnector, TcpConnector,
    };
    let forward_to = proxy.clone().filter(|_| scheme == "http");
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A redirect must never carry the bearer anywhere: 3xx is surfaced as an error.
        .max_redirects(0)
        .timeout_global(Some(opts.timeout))
        .tls_config(tls)
        .user_agent(opts.user_agent.as_str())
        .accept("application/json");
    let mut forward = forward::Forward::default();
    let mut resolver = forward::ToProxy::default();
    match forward_to {
        None => config = config.proxy(proxy),
        Some(proxy) => {
            // One request per connection: only a connection's first request
            // line is rewritten.
            config = config
                .proxy(None)
                .max_idle_connections(0)
                .max_idle_connections_per_host(0);
            forward.origin = Some(format!("http://{authority}"));
            forward.authorization = proxy.username().map(|user| {
                let pair = format!("{user}:{}", proxy.password().unwrap_or(""));
                format!("Basic {}", super::console::base64(pair.as_bytes()))
            });
            let at = format!("http://{}:{}", proxy.host(), proxy.port());
            resolver.proxy = Some(at.parse().unwrap_or_else(|_| proxy.uri().clone()));
        }
    }
    // ureq's default chain (without SOCKS, which is refused before), then
    // the forward-proxy rewrite, so that there is one agent type.
    let connector =
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(RustlsConnector::default())
            .chain(forward);
    ureq::Agent::with_parts(config.build(), connector, resolver)
}

/// `59 s`, `2.4 s`, `300 ms`.
fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// An HTTP client for one host.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    /// `<scheme>://<host><prefix>` without a trailing slash.
    origin: String,
    opts: ClientOptions,
    /// The catalog handshake; `None` sends requests as they are.
    handshake: Option<Arc<Handshake>>,
    /// The trust roots consulted, in words (see [`super::trust`]).
    trusted: Arc<str>,
    /// The proxy used, as shown (credentials hidden), if any.
    via: Option<Arc<str>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("origin", &self.origin)
            .field("opts", &self.opts)
            .finish()
    }
}

enum AttemptError {
    Transport(ureq::Error),
    Fatal(CliError),
}

impl Client {
    pub fn new(host: &HostUrl, opts: ClientOptions) -> Result<Client> {
        let scheme = host.scheme.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            return Err(CliError::client(format!(
                "unsupported URL scheme {:?}",
                host.scheme
            )));
        }
        let authority = http::uri::Authority::from_str(&host.host)
            .ok()
            .filter(|a| !a.as_str().contains('@') && !a.host().is_empty())
            .ok_or_else(|| CliError::client(format!("invalid host {:?}", host.host)))?;
        let default_port = if scheme == "https" { 443 } else { 80 };
        let port = authority.port_u16().unwrap_or(default_port);
        let prefix = host.path_prefix.trim_matches('/');
        if prefix.contains(['?', '#']) || prefix.contains(char::is_whitespace) {
            return Err(CliError::client(format!(
                "invalid path prefix {:?}",
                host.path_prefix
            )));
        }
        let mut origin = format!("{scheme}://{}", authority.as_str().to_ascii_lowercase());
        if !prefix.is_empty() {
            origin.push('/');
            origin.push_str(prefix);
        }

        let used = net::proxy_setting(&opts.net, &scheme, authority.host(), port)?;
        let via: Option<Arc<str>> = used.as_ref().map(|u| u.shown.as_str().into());
        let proxy = used.map(|u| u.proxy);
        let (tls, trusted) = super::trust::tls_config(&opts.net)?;
        let agent = agent(&opts, &scheme, authority.as_str(), proxy, tls);
        let client = Client {
            agent,
            origin,
            opts,
            handshake: None,
            trusted: trusted.into(),
            via,
        };
        client.log_proxy(&scheme);
        Ok(client)
    }

    /// With `-v`: which proxy the requests go through, or that `NO_PROXY`
    /// exempts the host from a proxy that is set.
    fn log_proxy(&self, scheme: &str) {
        match &self.via {
            Some(via) => self.log(&format!("* proxy: {via}")),
            None => {
                if let Some((var, _)) = self.opts.net.proxy_var(scheme) {
                    self.log(&format!(
                        "* no proxy for {}: NO_PROXY matches it ({var} is set)",
                        self.host()
                    ));
                }
            }
        }
    }

    /// Turns on the catalog handshake (see [`catalog`]), remembering what it
    /// learns in `store` when there is one.
    pub fn with_handshake(mut self, store: Option<Arc<dyn MemoStore>>) -> Client {
        self.handshake = Some(Arc::new(Handshake::new(&self.origin, store)));
        self
    }

    /// `<scheme>://<host>[/<prefix>]`, lower-case, without a trailing slash.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The server's version as it last reported it (every answer names it,
    /// and the handshake remembers it per server), without a request. `None`
    /// before any answer from this server, or without the handshake.
    pub fn known_server_version(&self) -> Option<String> {
        self.handshake()?.snapshot().version
    }

    pub(crate) fn handshake(&self) -> Option<&Handshake> {
        self.handshake.as_deref()
    }

    /// `<scheme>://<host>[/<prefix>]/openapi/v1/`
    pub fn base_url(&self) -> String {
        format!("{}/openapi/v1/", self.origin)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url(), path.trim_start_matches('/'))
    }

    fn request_url(&self, req: &Request) -> String {
        if req.host_root {
            format!("{}/{}", self.origin, req.path.trim_start_matches('/'))
        } else {
            self.url(&req.path)
        }
    }

    pub fn get(&self, path: &str, bearer: Option<&Secret>) -> Result<Response> {
        self.call(&Request::new(Method::Get, path).bearer(bearer))
    }

    pub fn post_json<T: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
        bearer: Option<&Secret>,
    ) -> Result<Response> {
        self.call(&Request::new(Method::Post, path).bearer(bearer).json(body)?)
    }

    pub fn delete(&self, path: &str, bearer: Option<&Secret>) -> Result<Response> {
        self.call(&Request::new(Method::Delete, path).bearer(bearer))
    }

    /// [`Client::send`], then any non-2xx status becomes its `CliError`.
    pub fn call(&self, req: &Request) -> Result<Response> {
        let resp = self.send(req)?;
        if resp.is_success() {
            Ok(resp)
        } else {
            Err(status_error(&resp))
        }
    }

    /// Sends with retries and returns the final response whatever its status.
    /// Errors are transport failures (`network_connection`) and local problems.
    ///
    /// With the handshake on, a bearer request under `/openapi/v1/` carries
    /// the catalog fingerprint and is sent once more after a 412
    /// `catalog_stale` (see [`catalog`]); a request that sets `X-Dify-Catalog`
    /// itself is sent as it is.
    pub fn send(&self, req: &Request) -> Result<Response> {
        let Some(handshake) = self.handshake().filter(|_| !req.host_root) else {
            return self.send_unguarded(req);
        };
        if req.bearer.is_none() || req.has_header(catalog::HEADER) {
            let resp = self.send_unguarded(req)?;
            handshake.observe(self, &resp);
            return Ok(resp);
        }
        let fingerprint = handshake.fingerprint(self)?;
        let resp = self.send_with(req, fingerprint.as_deref())?;
        handshake.observe(self, &resp);
        if !catalog::is_stale(&resp) {
            return Ok(resp);
        }
        self.log("* catalog_stale: fetching the server's catalog again, then retrying once");
        handshake.refetch(self)?;
        let fingerprint = handshake.fingerprint(self)?;
        let resp = self.send_with(req, fingerprint.as_deref())?;
        handshake.observe(self, &resp);
        Ok(resp)
    }

    /// [`Client::send`] without the handshake.
    pub(crate) fn send_unguarded(&self, req: &Request) -> Result<Response> {
        self.send_with(req, None)
    }

    /// The retry loop; `catalog` is the `X-Dify-Catalog` value to send.
    fn send_with(&self, req: &Request, catalog: Option<&str>) -> Result<Response> {
        let url = self.request_url(req);
        let method = req.method.as_str();
        let budget = if req.retry && req.method.is_idempotent() {
            self.opts.retries.saturating_add(1)
        } else {
            1
        };
        let mut attempt = 1;
        loop {
            let outcome = self.attempt(req, &url, catalog);
            let last = attempt >= budget;
            let wait = match &outcome {
                Err(AttemptError::Fatal(_)) => None,
                Err(AttemptError::Transport(e)) => {
                    self.log(&format!(
                        "! {method} {}: {}",
                        redact(&url),
                        redact(&e.to_string())
                    ));
                    (!last).then(|| retry::backoff(attempt))
                }
                Ok(_) if last => None,
                Ok(resp) if RETRY_STATUSES.contains(&resp.status) => Some(retry::backoff(attempt)),
                Ok(resp) if resp.status == 429 => rate_limit_wait(resp, SystemTime::now()),
                Ok(_) => None,
            };
            match (outcome, wait) {
                (outcome, Some(delay)) => {
                    let why = match &outcome {
                        Ok(resp) if resp.status == 429 => {
                            format!("rate limited by {}", self.host())
                        }
                        Ok(resp) => format!("{} answered HTTP {}", self.host(), resp.status),
                        Err(_) => format!("cannot reach {}", self.host()),
                    };
                    self.announce_wait(&format!("{why} (attempt {} of {budget})", attempt), delay);
                    (self.opts.sleeper)(delay);
                    attempt += 1;
                }
                // A forward proxy's own refusal, not the server's answer.
                (Ok(resp), None) if resp.status == 407 && self.via.is_some() => {
                    let via = self.via.as_deref().unwrap_or_default();
                    return Err(super::errors::proxy_wants_credentials(method, &url, via));
                }
                (Ok(resp), None) => return Ok(resp),
                (Err(AttemptError::Fatal(e)), None) => return Err(e),
                (Err(AttemptError::Transport(e)), None) => {
                    let timeout = req.timeout.unwrap_or(self.opts.timeout);
                    return Err(transport_error(
                        method,
                        &url,
                        self.host(),
                        &e,
                        timeout,
                        &self.trusted,
                        self.via.as_deref(),
                    ));
                }
            }
        }
    }

    fn attempt(
        &self,
        req: &Request,
        url: &str,
        catalog: Option<&str>,
    ) -> std::result::Result<Response, AttemptError> {
        let method = req.method.as_str();
        let started = Instant::now();
        self.log(&format!("> {method} {}", redact(url)));
        let mut builder = http::Request::builder().method(method).uri(url);
        if let Some(bearer) = req.bearer {
            builder = builder.header("authorization", format!("Bearer {}", bearer.expose()));
            self.log("> authorization: Bearer [redacted]");
        }
        if let Some((_, content_type)) = &req.body {
            builder = builder.header("content-type", content_type.as_str());
            self.log(&format!("> content-type: {content_type}"));
        }
        if let Some(fingerprint) = catalog {
            builder = builder.header(catalog::HEADER, fingerprint);
            self.log(&format!("> {}: {fingerprint}", catalog::HEADER));
        }
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
            if is_sensitive_header(name) {
                self.log(&format!("> {name}: [redacted]"));
            } else {
                self.log(&format!("> {name}: {}", redact(value)));
            }
        }
        // The message names no value: a bad header may be the bearer itself.
        let invalid = |e: http::Error| {
            AttemptError::Fatal(CliError::client(format!(
                "cannot build request to {}: {e}",
                redact(url)
            )))
        };
        let result = match &req.body {
            Some((bytes, _)) => {
                let request = builder.body(bytes.as_slice()).map_err(invalid)?;
                self.run(request, req.timeout)
            }
            None => {
                let request = builder.body(()).map_err(invalid)?;
                self.run(request, req.timeout)
            }
        };
        let mut resp = result.map_err(|e| match e {
            ureq::Error::BadUri(_) | ureq::Error::Http(_) => AttemptError::Fatal(CliError::client(
                format!("invalid request URL {}", redact(url)),
            )),
            e => AttemptError::Transport(e),
        })?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = match resp
            .body_mut()
            .with_config()
            .limit(self.opts.body_limit)
            .read_to_vec()
        {
            Ok(body) => body,
            Err(ureq::Error::BodyExceedsLimit(_)) => {
                let mib = self.opts.body_limit as f64 / (1024.0 * 1024.0);
                return Err(AttemptError::Fatal(
                    CliError::new(
                        ErrorCode::Unknown,
                        format!(
                            "response from {method} {} exceeds {mib:.0} MiB",
                            redact(url)
                        ),
                    )
                    .with_hint("the server sent far more data than expected; check the host URL"),
                ));
            }
            Err(e) => return Err(AttemptError::Transport(e)),
        };
        self.log(&format!(
            "< HTTP {status} ({} bytes, {} ms){}",
            body.len(),
            started.elapsed().as_millis(),
            headers
                .iter()
                .find(|(k, _)| k == "content-type")
                .map(|(_, v)| format!(" {v}"))
                .unwrap_or_default()
        ));
        Ok(Response {
            method: method.to_owned(),
            url: url.to_owned(),
            status,
            headers,
            body,
            bearer: req.bearer.cloned(),
        })
    }

    fn run<S: ureq::AsSendBody>(
        &self,
        request: http::Request<S>,
        timeout: Option<Duration>,
    ) -> std::result::Result<http::Response<ureq::Body>, ureq::Error> {
        match timeout {
            None => self.agent.run(request),
            Some(t) => {
                let request = self
                    .agent
                    .configure_request(request)
                    .timeout_global(Some(t))
                    .build();
                self.agent.run(request)
            }
        }
    }

    /// The host as the user knows it (`host[:port]`), for messages.
    pub fn host(&self) -> &str {
        let rest = self
            .origin
            .split_once("://")
            .map_or(&*self.origin, |(_, r)| r);
        rest.split('/').next().unwrap_or(rest)
    }

    /// Says on stderr, with or without `-v`, that the command is about to
    /// wait longer than a second and why (`rate limited by HOST`): nobody
    /// should watch a silent pause. Shorter waits are only logged.
    pub fn announce_wait(&self, why: &str, wait: Duration) {
        let line = format!("{why}; retrying in {}", seconds(wait));
        if wait <= Duration::from_secs(1) {
            self.log(&format!("* {line}"));
            return;
        }
        let line = crate::output::term::sanitize_line(&line);
        match &self.opts.log {
            Some(sink) => sink(&line),
            None => drop(writeln!(std::io::stderr(), "{line}")),
        }
    }

    pub(crate) fn log(&self, line: &str) {
        if !self.opts.verbose {
            return;
        }
        // Header values, URLs and TLS errors (certificate names) come from
        // the server: shown like any other server text.
        let line = crate::output::term::sanitize_line(line);
        let line = line.as_str();
        match &self.opts.log {
            Some(sink) => sink(line),
            // A closed stderr must not turn logging into a panic.
            None => drop(writeln!(std::io::stderr(), "{line}")),
        }
    }
}

/// A 429 is waited out only when the server says `too_many_requests` and asks
/// for at most a minute.
fn rate_limit_wait(resp: &Response, now: SystemTime) -> Option<Duration> {
    let body = error_body(&resp.body)?;
    if body.code != "too_many_requests" {
        return None;
    }
    resp.retry_after(now)
        .filter(|wait| *wait <= MAX_RETRY_AFTER)
}

#[cfg(test)]
mod tests;
