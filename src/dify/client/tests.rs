//! The client against canned answers: retries, rate limits, redirects, logs, TLS, proxies.

use super::*;
use crate::error::ErrorCode;

#[test]
fn base_urls() {
    let opts = ClientOptions::default;
    let c = Client::new(&HostUrl::new("https", "Cloud.Dify.AI"), opts()).unwrap();
    assert_eq!(c.base_url(), "https://cloud.dify.ai/openapi/v1/");
    assert_eq!(
        c.url("/account"),
        "https://cloud.dify.ai/openapi/v1/account"
    );
    let host = HostUrl::new("http", "localhost:5001").with_path_prefix("/dify/");
    let c = Client::new(&host, opts()).unwrap();
    assert_eq!(
        c.url("oauth/device/code"),
        "http://localhost:5001/dify/openapi/v1/oauth/device/code"
    );
    let root = Request::at_host_root(Method::Post, "/console/api/login");
    assert_eq!(
        c.request_url(&root),
        "http://localhost:5001/dify/console/api/login"
    );
    let c = Client::new(&HostUrl::new("https", "[::1]:8443"), opts()).unwrap();
    assert_eq!(c.base_url(), "https://[::1]:8443/openapi/v1/");

    for (scheme, host) in [
        ("ftp", "h"),
        ("https", ""),
        ("https", "u:p@h"),
        ("https", "h/x"),
        ("https", "h h"),
    ] {
        let e = Client::new(&HostUrl::new(scheme, host), opts()).unwrap_err();
        assert_eq!(e.code, ErrorCode::ClientError, "{scheme} {host}");
    }
    let bad_prefix = HostUrl::new("https", "h").with_path_prefix("a?b");
    assert!(Client::new(&bad_prefix, opts()).is_err());
}

#[test]
fn rate_limit_waits_only_for_short_known_limits() {
    let now = SystemTime::now();
    let resp = |code: &str, retry_after: Option<&str>| Response {
        method: "GET".into(),
        url: "u".into(),
        status: 429,
        headers: retry_after
            .map(|v| ("retry-after".to_owned(), v.to_owned()))
            .into_iter()
            .collect(),
        body: format!(r#"{{"code":"{code}","message":"m","status":429}}"#).into_bytes(),
        bearer: None,
    };
    assert_eq!(
        rate_limit_wait(&resp("too_many_requests", Some("60")), now),
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        rate_limit_wait(&resp("too_many_requests", Some("61")), now),
        None
    );
    assert_eq!(rate_limit_wait(&resp("too_many_requests", None), now), None);
    assert_eq!(rate_limit_wait(&resp("rate_limited", Some("1")), now), None);
}

mod wire {
    use std::sync::Arc;

    use super::super::*;
    use crate::dify::NetEnv;
    use crate::dify::options::{DEFAULT_BODY_LIMIT, user_agent};
    use crate::dify::stub::{Canned, closed_port, serve, serve_tls, test_options};

    fn unavailable() -> Canned {
        Canned::json(
            503,
            r#"{"code":"unknown","message":"Internal Server Error","status":503}"#,
        )
    }

    #[test]
    fn get_retries_503_then_succeeds() {
        let stub = serve(vec![
            unavailable(),
            unavailable(),
            Canned::json(200, r#"{"ok":true}"#),
        ]);
        let (opts, waits) = test_options();
        let bearer = Secret::new("dfoa_tok");
        let resp = stub.client(opts).get("_health", Some(&bearer)).unwrap();
        assert_eq!((resp.status, resp.text().as_str()), (200, r#"{"ok":true}"#));
        assert_eq!(resp.content_type(), Some("application/json"));
        assert_eq!(
            *waits.lock().unwrap(),
            [Duration::from_millis(300), Duration::from_millis(600)]
        );
        let reqs = stub.requests();
        assert_eq!(reqs.len(), 3);
        for req in &reqs {
            assert_eq!(
                (req.method.as_str(), req.path.as_str()),
                ("GET", "/openapi/v1/_health")
            );
            assert_eq!(req.header("authorization"), Some("Bearer dfoa_tok"));
            assert_eq!(req.header("user-agent"), Some(user_agent().as_str()));
            assert_eq!(req.header("accept"), Some("application/json"));
        }
    }

    #[test]
    fn budget_exhausted_surfaces_the_last_status() {
        let stub = serve(vec![unavailable(), unavailable()]);
        let (opts, waits) = test_options();
        let e = stub
            .client(ClientOptions { retries: 1, ..opts })
            .get("x", None)
            .unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::Server5xx, "Internal Server Error")
        );
        assert_eq!(waits.lock().unwrap().len(), 1);
        assert_eq!(stub.requests().len(), 2);
    }

    #[test]
    fn post_is_never_retried() {
        let stub = serve(vec![unavailable(), Canned::json(200, "{}")]);
        let (opts, waits) = test_options();
        let e = stub
            .client(opts)
            .post_json("thing", &serde_json::json!({"a": 1}), None)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Server5xx);
        assert_eq!(stub.requests().len(), 1);
        assert_eq!(stub.requests()[0].body, br#"{"a":1}"#);
        assert!(waits.lock().unwrap().is_empty());
    }

    #[test]
    fn no_retry_requests_take_one_attempt() {
        let stub = serve(vec![unavailable(), Canned::json(200, "{}")]);
        let (opts, waits) = test_options();
        let resp = stub
            .client(opts)
            .send(&Request::new(Method::Delete, "x").no_retry())
            .unwrap();
        assert_eq!(resp.status, 503);
        assert_eq!(stub.requests().len(), 1);
        assert!(waits.lock().unwrap().is_empty());
    }

    #[test]
    fn rate_limit_with_short_retry_after_is_waited_out() {
        let limited = r#"{"code":"too_many_requests","message":"This user has exceeded an allotted request count.","status":429}"#;
        let stub = serve(vec![
            Canned::json(429, limited).header("Retry-After", "2"),
            Canned::json(200, "{}"),
            Canned::json(429, limited).header("Retry-After", "61"),
        ]);
        let (opts, waits) = test_options();
        let client = stub.client(opts);
        assert_eq!(client.get("account", None).unwrap().status, 200);
        assert_eq!(*waits.lock().unwrap(), [Duration::from_secs(2)]);
        let e = client.get("account", None).unwrap_err();
        assert_eq!((e.code, e.exit_code()), (ErrorCode::RateLimited, 7));
        assert_eq!(
            e.message,
            "This user has exceeded an allotted request count."
        );
        assert_eq!(e.http.unwrap().server.unwrap().code, "too_many_requests");
        assert_eq!(waits.lock().unwrap().len(), 1);
    }

    #[test]
    fn refused_connection_is_network_connection_after_retries() {
        let port = closed_port();
        let (opts, waits) = test_options();
        let client =
            Client::new(&HostUrl::new("http", &format!("127.0.0.1:{port}")), opts).unwrap();
        let e = client.get("account", None).unwrap_err();
        assert_eq!((e.code, e.exit_code()), (ErrorCode::NetworkConnection, 1));
        // One sentence naming the host; the URL is on the request line.
        assert_eq!(
            e.message,
            format!("cannot connect to 127.0.0.1:{port}: connection refused")
        );
        // Four attempts by default: three retries, three waits.
        assert_eq!(waits.lock().unwrap().len(), 3);
        let http = e.http.unwrap();
        assert_eq!((http.method.as_str(), http.status), ("GET", None));
        // POST: one attempt only.
        let e = client
            .post_json("x", &serde_json::json!({}), None)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NetworkConnection);
        assert_eq!(waits.lock().unwrap().len(), 3);
    }

    #[test]
    fn oversized_body_is_an_error_not_a_hang() {
        let stub = serve(vec![Canned::new(200, vec![b'x'; 64 * 1024])]);
        let (opts, waits) = test_options();
        let client = stub.client(ClientOptions {
            body_limit: 1024,
            ..opts
        });
        let e = client.get("big", None).unwrap_err();
        assert_eq!(e.code, ErrorCode::Unknown);
        assert!(e.message.contains("exceeds"), "{}", e.message);
        assert!(waits.lock().unwrap().is_empty());
        assert_eq!(DEFAULT_BODY_LIMIT, 4 * 1024 * 1024);
    }

    #[test]
    fn redirects_are_not_followed() {
        let target = serve(vec![Canned::json(200, "{}")]);
        let location = format!("http://127.0.0.1:{}/steal", target.port);
        let stub = serve(vec![Canned::new(302, "").header("Location", &location)]);
        let (opts, _) = test_options();
        let bearer = Secret::new("dfoa_tok");
        let e = stub.client(opts).get("account", Some(&bearer)).unwrap_err();
        assert_eq!(e.code, ErrorCode::Server4xxOther);
        assert_eq!(
            e.message,
            format!("unexpected redirect (HTTP 302) to {location}")
        );
        assert_eq!(stub.requests().len(), 1);
        assert!(target.requests().is_empty());
    }

    #[test]
    fn verbose_logs_redact_the_bearer() {
        let stub = serve(vec![Canned::json(200, "{}")]);
        let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&lines);
        let (opts, _) = test_options();
        let opts = ClientOptions {
            verbose: true,
            log: Some(Arc::new(move |l: &str| {
                sink.lock().unwrap().push(l.to_owned())
            })),
            ..opts
        };
        let bearer = Secret::new("dfoa_supersecret");
        let req = Request::new(Method::Get, "account")
            .bearer(Some(&bearer))
            .header("Cookie", "access_token=jwt-secret")
            .header("X-Trace", "t-1");
        stub.client(opts).call(&req).unwrap();
        assert_eq!(
            stub.requests()[0].header("cookie"),
            Some("access_token=jwt-secret")
        );
        let lines = lines.lock().unwrap().join("\n");
        assert!(
            lines.contains(&format!(
                "> GET http://127.0.0.1:{}/openapi/v1/account",
                stub.port
            )),
            "{lines}"
        );
        assert!(
            lines.contains("> authorization: Bearer [redacted]"),
            "{lines}"
        );
        assert!(lines.contains("< HTTP 200"), "{lines}");
        assert!(lines.contains("> Cookie: [redacted]"), "{lines}");
        assert!(lines.contains("> X-Trace: t-1"), "{lines}");
        assert!(
            !lines.contains("supersecret") && !lines.contains("jwt-secret"),
            "{lines}"
        );
    }

    #[test]
    fn bad_ssl_cert_file_fails_construction() {
        let (opts, _) = test_options();
        let opts = ClientOptions {
            net: NetEnv::from_pairs([("SSL_CERT_FILE", "/nonexistent/difyctl/ca.pem")]),
            ..opts
        };
        let e = Client::new(&HostUrl::new("https", "cloud.dify.ai"), opts).unwrap_err();
        assert_eq!(e.code, ErrorCode::ClientError);
        assert!(
            e.message.contains("/nonexistent/difyctl/ca.pem"),
            "{}",
            e.message
        );
    }

    #[test]
    fn ssl_cert_file_adds_a_private_ca_to_the_bundled_roots() {
        let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/src/dify/testdata/test-ca.pem");
        let stub = serve_tls(vec![Canned::json(200, r#"{"ok":true}"#)]);
        let host = HostUrl::new("https", &format!("127.0.0.1:{}", stub.port));
        let (opts, _) = test_options();
        let trusted = ClientOptions {
            net: NetEnv::from_pairs([("SSL_CERT_FILE", ca)]),
            ..opts.clone()
        };
        let resp = Client::new(&host, trusted)
            .unwrap()
            .get("_health", None)
            .unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(stub.requests()[0].path, "/openapi/v1/_health");

        // Without it the same server is refused: verification stays on.
        let stub = serve_tls(vec![Canned::json(200, "{}")]);
        let host = HostUrl::new("https", &format!("127.0.0.1:{}", stub.port));
        let e = Client::new(&host, ClientOptions { retries: 0, ..opts })
            .unwrap()
            .get("_health", None)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NetworkConnection);
        assert!(e.message.contains("certificate"), "{}", e.message);
        assert!(e.hint.unwrap().contains("SSL_CERT_FILE"));
        assert!(stub.requests().is_empty());
    }

    /// A private CA trusted through SSL_CERT_DIR, and through the system
    /// bundle (the lookup pointed at a temporary root); the error for an
    /// untrusted certificate names the roots consulted.
    #[test]
    fn private_ca_through_ssl_cert_dir_and_the_system_bundle() {
        let ca = include_str!("../testdata/test-ca.pem");
        let tmp = crate::state::testutil::TempDir::new();
        let dir = tmp.path().join("certs");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("test-ca.pem"), ca).unwrap();
        let sysroot = tmp.path().join("sysroot");
        let bundle = sysroot.join("etc/ssl/certs/ca-certificates.crt");
        std::fs::create_dir_all(bundle.parent().unwrap()).unwrap();
        std::fs::write(&bundle, ca).unwrap();
        let (opts, _) = test_options();
        let nets = [
            NetEnv::from_pairs([("SSL_CERT_DIR", dir.to_str().unwrap())])
                .with_system_root(tmp.path().join("empty")),
            NetEnv::empty().with_system_root(&sysroot),
        ];
        for net in nets {
            let stub = serve_tls(vec![Canned::json(200, r#"{"ok":true}"#)]);
            let host = HostUrl::new("https", &format!("127.0.0.1:{}", stub.port));
            let opts = ClientOptions {
                net,
                ..opts.clone()
            };
            let resp = Client::new(&host, opts)
                .unwrap()
                .get("_health", None)
                .unwrap();
            assert_eq!(resp.status, 200);
        }
        // Not trusted: one sentence naming the host; the hint names the roots.
        let stub = serve_tls(vec![Canned::json(200, "{}")]);
        let host = HostUrl::new("https", &format!("127.0.0.1:{}", stub.port));
        let opts = ClientOptions {
            net: NetEnv::empty().with_system_root(tmp.path().join("empty")),
            retries: 0,
            ..opts
        };
        let e = Client::new(&host, opts)
            .unwrap()
            .get("_health", None)
            .unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "the certificate of 127.0.0.1:{} is not trusted (UnknownIssuer)",
                stub.port
            )
        );
        assert_eq!(
            e.hint.as_deref(),
            Some(
                "trusted roots: difyctl's built-in Mozilla roots (no system CA bundle found); for \
                 a private CA, set SSL_CERT_FILE (a PEM file) or SSL_CERT_DIR (a directory of \
                 them) to its certificate"
            )
        );
    }

    /// An https URL for a server that speaks plain http says so.
    #[test]
    fn plain_http_on_an_https_url_is_named() {
        // A plain http server answers a TLS hello with a 400 of its own.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::Write;
            if let Ok((mut tcp, _)) = listener.accept() {
                let _ = tcp.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        let host = HostUrl::new("https", &format!("127.0.0.1:{port}"));
        let (opts, _) = test_options();
        let opts = ClientOptions { retries: 0, ..opts };
        let e = Client::new(&host, opts)
            .unwrap()
            .get("_health", None)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NetworkConnection);
        let bare = format!("127.0.0.1:{port}");
        assert_eq!(e.message, format!("{bare} speaks plain http, not https"));
        assert_eq!(
            e.hint.unwrap(),
            format!(
                "use http://{bare} with --insecure (with DIFY_TOKEN: DIFY_HOST=http://{bare} and \
                 DIFY_INSECURE=1)"
            )
        );
    }

    #[test]
    fn no_proxy_host_connects_directly() {
        // The proxy points at a closed port: only a direct connection succeeds.
        let stub = serve(vec![Canned::json(200, "{}")]);
        let (opts, _) = test_options();
        let proxy = format!("http://127.0.0.1:{}", closed_port());
        let opts = ClientOptions {
            net: NetEnv::from_pairs([("http_proxy", proxy.as_str()), ("no_proxy", "127.0.0.1")]),
            ..opts
        };
        assert_eq!(
            stub.client(opts.clone()).get("x", None).unwrap().status,
            200
        );
        // Without the exemption the (dead) proxy is really used.
        let opts = ClientOptions {
            net: NetEnv::from_pairs([("http_proxy", proxy.as_str())]),
            ..opts
        };
        assert_eq!(
            stub.client(opts).get("x", None).unwrap_err().code,
            ErrorCode::NetworkConnection
        );
        assert_eq!(stub.requests().len(), 1);
    }
}
