//! Turning HTTP outcomes into `CliError`s, and keeping tokens out of
//! everything an error carries.

use std::time::Duration;

use crate::error::CliError;
use crate::error::{ErrorBody, ErrorCode, ErrorDetail, HttpContext};

use super::response::Response;
use crate::secret::{Secret, redact};

/// The most of a body an error keeps for `-v`; bodies can be up to the client's cap.
const RAW_RESPONSE_KEEP: usize = 64 * 1024;

/// [`redact`], and also the exact bearer the request carried (a `DIFY_TOKEN`
/// need not look like a Dify token), as is or JSON-escaped.
fn redact_in(text: &str, resp: &Response) -> String {
    // Sanitised first, as it will be shown: dropping control characters and
    // escape sequences later could join a bearer the server split with them.
    let mut text = crate::output::term::sanitize(text).into_owned();
    if let Some(bearer) = resp.bearer.as_ref().map(Secret::expose)
        && !bearer.is_empty()
    {
        text = text
            .replace(bearer, "[redacted]")
            .replace(&bearer.replace('/', "\\/"), "[redacted]");
    }
    redact(&text)
}

/// The HTTP context of a response, its body (and the server's error fields)
/// redacted and bounded.
pub fn http_context(resp: &Response) -> HttpContext {
    // Redact before cutting, so a token split by the cut cannot escape.
    let mut raw = redact_in(&String::from_utf8_lossy(&resp.body), resp);
    if raw.len() > RAW_RESPONSE_KEEP {
        let mut cut = RAW_RESPONSE_KEEP;
        while !raw.is_char_boundary(cut) {
            cut -= 1;
        }
        raw.truncate(cut);
        raw.push_str("… (truncated)");
    }
    // The server's message, hint and details are shown too: a server that
    // echoes the bearer there must not get it printed.
    let server = error_body(&resp.body).map(|b| {
        let clean = |s: &str| redact_in(s, resp);
        ErrorBody {
            code: clean(&b.code),
            message: clean(&b.message),
            status: b.status,
            hint: b.hint.as_deref().map(clean),
            details: b.details.map(|details| {
                details
                    .into_iter()
                    .map(|d| ErrorDetail {
                        kind: clean(&d.kind),
                        loc: d
                            .loc
                            .into_iter()
                            .map(|v| match v {
                                serde_json::Value::String(s) => {
                                    serde_json::Value::String(clean(&s))
                                }
                                other => other,
                            })
                            .collect(),
                        msg: clean(&d.msg),
                    })
                    .collect()
            }),
        }
    });
    HttpContext {
        method: resp.method.clone(),
        url: redact_in(&resp.url, resp),
        status: Some(resp.status),
        raw_response: Some(raw),
        server,
    }
}

/// The server's `ErrorBody`, when the body is one (a JSON object with string
/// `code` and `message`).
pub fn error_body(body: &[u8]) -> Option<ErrorBody> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if !(value.get("code")?.is_string() && value.get("message")?.is_string()) {
        return None;
    }
    // Tolerate odd optional fields rather than losing the code and message.
    serde_json::from_value(value.clone()).ok().or_else(|| {
        Some(ErrorBody {
            code: value["code"].as_str()?.to_owned(),
            message: value["message"].as_str()?.to_owned(),
            ..ErrorBody::default()
        })
    })
}

impl CliError {
    /// Attaches the context of `resp` to an error about it. The message and
    /// hint may quote the server's text (serde's decode errors do, and so do
    /// the console's refusals), so they get the same redaction as that text.
    pub fn about(mut self, resp: &Response) -> CliError {
        self.message = redact_in(&self.message, resp);
        self.hint = self.hint.map(|h| redact_in(&h, resp));
        self.with_http(http_context(resp))
    }
}

/// A 412 `catalog_stale` that outlived a fresh catalog.
pub const CATALOG_MISMATCH: &str = "the server refuses difyctl's request even with its current \
     catalog: this difyctl and this server's version do not match";
pub const CATALOG_MISMATCH_HINT: &str = "upgrade difyctl (or the server) so both speak the same API; run again with -v to see the exchange";

/// The error for a non-2xx response: 401 `auth_expired`, 403
/// `access_denied`, 412 `catalog_stale` (after the handshake's retry), 426
/// `version_skew`, 429 `rate_limited`, 5xx `server_5xx`, any other 4xx
/// `server_4xx_other`.
/// A server `ErrorBody` message replaces the fallback message.
pub fn status_error(resp: &Response) -> CliError {
    let status = resp.status;
    let (code, fallback, hint) = match status {
        300..=399 => return redirect_error(resp),
        401 => (
            ErrorCode::AuthExpired,
            "session expired or revoked".to_owned(),
            Some("run 'difyctl auth login' to sign in again"),
        ),
        403 => (ErrorCode::AccessDenied, "not permitted".to_owned(), None),
        // Reached only after the catalog was fetched again and the request
        // retried (see `catalog`): not a stale copy, a mismatch.
        412 if error_body(&resp.body).is_some_and(|b| b.code == "catalog_stale") => {
            return CliError::new(ErrorCode::CatalogStale, CATALOG_MISMATCH)
                .with_hint(CATALOG_MISMATCH_HINT)
                .with_http(http_context(resp));
        }
        426 => (
            ErrorCode::VersionSkew,
            "client version no longer supported by the server".to_owned(),
            None,
        ),
        429 => (ErrorCode::RateLimited, "too many requests".to_owned(), None),
        500.. => (
            ErrorCode::Server5xx,
            format!("server error (HTTP {status})"),
            None,
        ),
        400..=499 => (
            ErrorCode::Server4xxOther,
            format!("request failed (HTTP {status})"),
            None,
        ),
        _ => (
            ErrorCode::Unknown,
            format!("unexpected HTTP status {status}"),
            None,
        ),
    };
    let http = http_context(resp);
    let message = match &http.server {
        Some(body) if !body.message.trim().is_empty() => body.message.clone(),
        _ => fallback,
    };
    let mut err = CliError::new(code, message).with_http(http);
    err.hint = hint.map(str::to_owned);
    err
}

/// Redirects are never followed, so the bearer never travels to another host.
fn redirect_error(resp: &Response) -> CliError {
    let status = resp.status;
    let message = match resp.header("location") {
        Some(to) => format!("unexpected redirect (HTTP {status}) to {to}"),
        None => format!("unexpected redirect (HTTP {status})"),
    };
    CliError::new(ErrorCode::Server4xxOther, message)
        .with_hint("difyctl does not follow redirects; use the final API URL as the host")
        .about(resp)
}

/// A transport failure (refused, DNS, timeout, TLS): `network_connection`,
/// as one sentence naming `host` and the likely cause; the URL is on the
/// error's `request:` line only. `trusted` names the trust roots consulted,
/// for an untrusted certificate; `via` the proxy, when one is used.
#[allow(clippy::too_many_arguments)]
pub fn transport_error(
    method: &str,
    url: &str,
    host: &str,
    err: &ureq::Error,
    timeout: Duration,
    trusted: &str,
    via: Option<&str>,
) -> CliError {
    let text = redact(&err.to_string());
    let io_kind = match err {
        ureq::Error::Io(e) => Some(e.kind()),
        _ => None,
    };
    let timed_out =
        matches!(err, ureq::Error::Timeout(_)) || io_kind == Some(std::io::ErrorKind::TimedOut);
    if let Some(via) = via
        && (text.contains(" 407") || text.contains("/407"))
    {
        return proxy_wants_credentials(method, url, via);
    }
    let (message, hint): (String, Option<String>) = if let Some(via) = via
        && matches!(err, ureq::Error::ConnectProxyFailed(_))
    {
        (
            format!(
                "the proxy {via} could not connect to {host}: {}",
                tls_words(&text)
            ),
            Some(format!(
                "exempt {host} with NO_PROXY if it is reachable without the proxy"
            )),
        )
    } else if let Some(via) = via
        && io_kind == Some(std::io::ErrorKind::ConnectionRefused)
    {
        (
            format!("cannot connect to the proxy {via}: connection refused"),
            Some(format!(
                "is the proxy running, and is this its port? Or exempt {host} with NO_PROXY"
            )),
        )
    } else if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
        (
            format!("cannot connect to {host}: connection refused"),
            Some("is the server running, and is this its port?".into()),
        )
    } else if timed_out {
        (
            format!("{host} did not answer within {} s", timeout.as_secs()),
            None,
        )
    } else if matches!(err, ureq::Error::HostNotFound) {
        (
            format!("cannot resolve {host}: no such host is known"),
            Some("check the host name, or the machine's DNS settings".into()),
        )
    } else if text.contains("InvalidContentType") || text.contains("corrupt message") {
        (
            format!("{host} speaks plain http, not https"),
            Some(format!(
                "use http://{host} with --insecure (with DIFY_TOKEN: DIFY_HOST=http://{host} and \
                 DIFY_INSECURE=1)"
            )),
        )
    } else if text.contains("certificate") {
        (
            format!(
                "the certificate of {host} is not trusted ({})",
                tls_words(&text)
            ),
            Some(format!(
                "trusted roots: {trusted}; for a private CA, set SSL_CERT_FILE (a PEM file) or \
                 SSL_CERT_DIR (a directory of them) to its certificate"
            )),
        )
    } else {
        let detail = match err {
            ureq::Error::Io(e) => io_words(e),
            _ => tls_words(&text).to_string(),
        };
        (format!("the connection to {host} failed: {detail}"), None)
    };
    let message = match via {
        Some(via) if !message.contains(via) => format!("{message} (through the proxy {via})"),
        _ => message,
    };
    let mut err = CliError::new(ErrorCode::NetworkConnection, message).with_http(HttpContext {
        method: method.to_owned(),
        url: redact(url),
        ..HttpContext::default()
    });
    err.hint = hint;
    err
}

/// A proxy that answered 407: it wants credentials, which go in its URL.
pub fn proxy_wants_credentials(method: &str, url: &str, via: &str) -> CliError {
    CliError::new(
        ErrorCode::NetworkConnection,
        format!("the proxy {via} asks for credentials (HTTP 407)"),
    )
    .with_hint(
        "put them in the proxy URL, http://user:password@host:port (special characters \
         percent-encoded)",
    )
    .with_http(HttpContext {
        method: method.to_owned(),
        url: redact(url),
        ..HttpContext::default()
    })
}

/// An I/O error in words, without the `(os error N)` tail.
fn io_words(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    text.to_ascii_lowercase()
}

/// A TLS error without the library's prefix.
fn tls_words(text: &str) -> &str {
    text.trim_start_matches("io: ")
        .trim_start_matches("rustls: ")
        .trim_start_matches("invalid peer certificate: ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> Response {
        Response {
            method: "GET".into(),
            url: "https://h.test/openapi/v1/account".into(),
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
            bearer: None,
        }
    }

    #[test]
    fn status_table() {
        for (status, code, message, exit) in [
            (401, ErrorCode::AuthExpired, "session expired or revoked", 4),
            (403, ErrorCode::AccessDenied, "not permitted", 4),
            (
                426,
                ErrorCode::VersionSkew,
                "client version no longer supported by the server",
                6,
            ),
            (429, ErrorCode::RateLimited, "too many requests", 7),
            (500, ErrorCode::Server5xx, "server error (HTTP 500)", 1),
            (503, ErrorCode::Server5xx, "server error (HTTP 503)", 1),
            (
                400,
                ErrorCode::Server4xxOther,
                "request failed (HTTP 400)",
                1,
            ),
            (
                404,
                ErrorCode::Server4xxOther,
                "request failed (HTTP 404)",
                1,
            ),
            (
                422,
                ErrorCode::Server4xxOther,
                "request failed (HTTP 422)",
                1,
            ),
        ] {
            let e = status_error(&resp(status, "<html>oops</html>"));
            assert_eq!(
                (e.code, e.message.as_str(), e.exit_code()),
                (code, message, exit)
            );
            let http = e.http.unwrap();
            assert_eq!(http.status, Some(status));
            assert_eq!(http.method, "GET");
            assert_eq!(http.raw_response.as_deref(), Some("<html>oops</html>"));
            assert_eq!(http.server, None);
        }
        let e = status_error(&resp(401, ""));
        assert_eq!(
            e.hint.as_deref(),
            Some("run 'difyctl auth login' to sign in again")
        );
    }

    #[test]
    fn the_request_bearer_is_redacted_wherever_the_server_echoes_it() {
        let body = r#"{"code":"bad a/b-opaque","message":"rejected a/b-opaque","status":400,
            "hint":"token a\/b-opaque","details":[{"type":"a/b-opaque","loc":["a/b-opaque",1],"msg":"dfoa_x"}]}"#;
        let echoed = Response {
            headers: vec![("location".into(), "https://x.test/?t=a/b-opaque".into())],
            bearer: Some(Secret::new("a/b-opaque")),
            ..resp(400, body)
        };
        let e = status_error(&echoed);
        let shown = format!("{e:?}");
        assert!(
            !shown.contains("opaque") && !shown.contains("dfoa_x"),
            "{shown}"
        );
        assert_eq!(e.message, "rejected [redacted]");
        let server = e.http.unwrap().server.unwrap();
        assert_eq!(server.hint.as_deref(), Some("token [redacted]"));
        assert_eq!(server.details.unwrap()[0].loc[1], 1);
        let moved = status_error(&Response {
            status: 302,
            ..echoed
        });
        assert_eq!(
            moved.message,
            "unexpected redirect (HTTP 302) to https://x.test/?t=[redacted]"
        );
        // Split by characters that are removed when shown (fuzz: server_responses).
        let split = status_error(&Response {
            bearer: Some(Secret::new("opaque-bearer")),
            ..resp(401, "opaque\u{7}\u{7}-bea\u{1b}[31mrer!")
        });
        let raw = split.http.unwrap().raw_response.unwrap();
        assert_eq!(raw, "[redacted]!");
    }

    #[test]
    fn error_body_message_wins_and_is_kept() {
        let body = r#"{"code":"not_found","message":"session not found","status":404,"hint":"h"}"#;
        let e = status_error(&resp(404, body));
        assert_eq!(e.code, ErrorCode::Server4xxOther);
        assert_eq!(e.message, "session not found");
        let server = e.http.unwrap().server.unwrap();
        assert_eq!(
            (server.code.as_str(), server.hint.as_deref()),
            ("not_found", Some("h"))
        );

        // A non-ErrorBody shape a real 1.14 server answers on approve, and one
        // with odd details.
        let e = status_error(&resp(
            401,
            r#"{"code":"unauthorized","message":"Unauthorized."}"#,
        ));
        assert_eq!(e.message, "Unauthorized.");
        let odd = r#"{"code":"c","message":"m","details":"not a list","status":"x"}"#;
        assert_eq!(
            status_error(&resp(400, odd))
                .http
                .unwrap()
                .server
                .unwrap()
                .code,
            "c"
        );
        // Empty messages and other JSON keep the fallback.
        assert_eq!(
            status_error(&resp(500, r#"{"code":"x","message":" "}"#)).message,
            "server error (HTTP 500)"
        );
        assert_eq!(
            status_error(&resp(400, r#"{"error":"x"}"#))
                .http
                .unwrap()
                .server,
            None
        );
        assert_eq!(
            status_error(&resp(400, r#"[1]"#)).http.unwrap().server,
            None
        );
    }

    #[test]
    fn raw_response_is_redacted_and_bounded() {
        let e = status_error(&resp(500, r#"{"token":"dfoa_secretsecret"}"#));
        assert_eq!(
            e.http.unwrap().raw_response.unwrap(),
            r#"{"token":"dfoa_[redacted]"}"#
        );
        let big = "é".repeat(RAW_RESPONSE_KEEP);
        let raw = status_error(&resp(500, &big))
            .http
            .unwrap()
            .raw_response
            .unwrap();
        assert!(raw.len() <= RAW_RESPONSE_KEEP + 20 && raw.ends_with("(truncated)"));
        // Bytes that are not UTF-8 never panic.
        let mut r = resp(502, "");
        r.body = vec![0xff, 0xfe, b'x'];
        assert_eq!(status_error(&r).code, ErrorCode::Server5xx);
    }

    #[test]
    fn redirects_name_their_target() {
        let mut r = resp(302, "");
        r.headers.push((
            "location".into(),
            "https://elsewhere.test/x?t=dfoa_abc".into(),
        ));
        let e = status_error(&r);
        assert_eq!(e.code, ErrorCode::Server4xxOther);
        assert_eq!(
            e.message,
            "unexpected redirect (HTTP 302) to https://elsewhere.test/x?t=dfoa_[redacted]"
        );
        assert_eq!(
            status_error(&resp(301, "")).message,
            "unexpected redirect (HTTP 301)"
        );
    }
}
