//! Proxies from the environment: a SOCKS proxy is refused by name (never a
//! panic, never ignored), an HTTP proxy's failures name it (407 with the
//! credentials hint), and `-v` says which proxy is used, credentials hidden,
//! or that `NO_PROXY` exempts the host. The proxies are tiny in-process
//! servers (tests/support/tiny.rs).

use std::net::TcpListener;

use crate::support::fixtures::login_args;
use crate::support::mock::{MockConfig, MockDify};
use crate::support::runner::Test;
use crate::support::tiny::Tiny;

fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_socks_proxy_is_refused_by_name() {
    let mock = MockDify::start();
    for (var, url, shown) in [
        (
            "ALL_PROXY",
            "socks5h://127.0.0.1:9",
            "socks5h://127.0.0.1:9",
        ),
        (
            "http_proxy",
            "SOCKS5://user:secret@127.0.0.1:9",
            "SOCKS5://***@127.0.0.1:9",
        ),
    ] {
        let t = Test::new().args(login_args(&mock)).env(var, url);
        t.run().code(2).stdout("").stderr(&format!(
            "usage_invalid_flag: {var} names a SOCKS proxy ({shown}), which difyctl does not \
             support\nhint: use an HTTP proxy (http://host:port) in {var}, or exempt 127.0.0.1 \
             with NO_PROXY\n"
        ));
        assert!(!t.config_dir().exists());
    }
    assert!(mock.requests().is_empty(), "never a direct connection");
}

/// An http:// host through an HTTP proxy goes as forward-proxy requests
/// (absolute-form request lines), never a CONNECT tunnel, which the proxy
/// here refuses as Squid does for ports other than 443; the proxy's
/// credentials go in Proxy-Authorization.
#[test]
fn an_http_host_goes_through_a_proxy_that_refuses_connect() {
    let mock = MockDify::with(MockConfig::default().auto_approve());
    let proxy = Tiny::forward_proxy();
    let t = Test::new().env(
        "http_proxy",
        format!("http://ci:pw@127.0.0.1:{}", proxy.port),
    );
    t.run_args(login_args(&mock))
        .code(0)
        .stderr(&crate::support::fixtures::mock_code_lines(&mock));
    t.run_args(["auth", "status"]).code(0);
    let heads = proxy.heads();
    assert!(heads.len() >= 3, "{heads:?}");
    for head in &heads {
        let first = head.lines().next().unwrap();
        assert!(
            first.contains(&format!(" {}/openapi/v1/", mock.url())),
            "absolute-form: {first}"
        );
        assert!(!first.starts_with("CONNECT"), "{first}");
        assert!(
            head.contains("Proxy-Authorization: Basic Y2k6cHc=\r\n"),
            "{head}"
        );
    }
    assert_eq!(mock.requests().len(), heads.len(), "every request relayed");
}

#[test]
fn a_proxy_that_wants_credentials_says_407_and_how() {
    let mock = MockDify::start();
    let proxy = Tiny::answer(407, "text/plain", "Proxy Authentication Required");
    let t = Test::new()
        .args(login_args(&mock))
        .env("http_proxy", proxy.url());
    t.run().code(1).stdout("").stderr(&format!(
        "network_connection: the proxy {} (from http_proxy) asks for credentials (HTTP 407)\n\
         hint: put them in the proxy URL, http://user:password@host:port (special characters \
         percent-encoded)\nrequest: POST {}/openapi/v1/oauth/device/code\n",
        proxy.url(),
        mock.url()
    ));
    assert!(mock.requests().is_empty());
    assert_eq!(proxy.heads().len(), 1);
}

#[test]
fn a_proxy_that_is_down_is_named() {
    let mock = MockDify::start();
    let proxy = format!("http://127.0.0.1:{}", closed_port());
    let t = Test::new()
        .args(login_args(&mock))
        .env("HTTP_PROXY", &proxy);
    t.run().code(1).stdout("").stderr(&format!(
        "network_connection: cannot connect to the proxy {proxy} (from HTTP_PROXY): connection \
         refused\nhint: is the proxy running, and is this its port? Or exempt {} with NO_PROXY\n\
         request: POST {}/openapi/v1/oauth/device/code\n",
        mock.host(),
        mock.url()
    ));
}

#[test]
fn verbose_names_the_proxy_or_the_no_proxy_match() {
    let mock = MockDify::with(MockConfig::default().auto_approve());
    let proxy = Tiny::answer(407, "text/plain", "");
    let with_credentials = format!("http://ci:hunter2@127.0.0.1:{}", proxy.port);
    let t = Test::new()
        .args(login_args(&mock))
        .env("http_proxy", &with_credentials);
    let out = t.run_args(["-v"]).code(1);
    let stderr = out.stderr.to_string();
    assert!(
        stderr.contains(&format!(
            "* proxy: http://***@127.0.0.1:{} (from http_proxy)\n",
            proxy.port
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    drop(out);

    // NO_PROXY exempts the host: a direct connection, and -v says why.
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let t = Test::new()
        .args(login_args(&mock))
        .env("http_proxy", &dead)
        .env("NO_PROXY", "127.0.0.1");
    let out = t.run_args(["-v"]).code(0);
    assert!(
        out.stderr.contains(&format!(
            "* no proxy for {}: NO_PROXY matches it (http_proxy is set)\n",
            mock.host()
        )),
        "{}",
        out.stderr
    );
}
