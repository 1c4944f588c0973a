//! Headless sign-in (issue 7; PRODUCT.md §1, PROTOCOL.md §13) against the mock
//! server: `auth login --with-token`, `--password`, `--email-code` and
//! `--console-cookie` with stdin a pipe, every failure with its exit code,
//! message and an unchanged config dir, the password kept out of argv and the
//! environment, and the hidden prompt on a real pseudo-terminal.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

use crate::support::fixtures::{Context, Hosts, Tokens, hosts_yml};
use crate::support::mock::{DeviceFlow, MockConfig, MockDify, SessionInfo};
use crate::support::pty::{Pty, assert_echo_on, quote};
use crate::support::runner::{BIN, Test};

const EMAIL: &str = "tester@dify.ai";

const PASSWORD: &str = "Passw0rd!";

/// base64 of PASSWORD, its form on the wire.
const PASSWORD_B64: &str = "UGFzc3cwcmQh";

const CODE: &str = "123456";

/// A config dir that already holds a context elsewhere, so "unchanged"
/// means more than "still empty".
fn prior() -> Test {
    Test::new()
        .hosts(
            Hosts::file().with(
                Context::new("old.example.com", "old@example.com")
                    .id("a-old")
                    .name("Old")
                    .token_id("t-old"),
            ),
        )
        .tokens(Tokens::new().with("old.example.com", "old@example.com", "dfoa_old"))
}

fn login_args(mock: &MockDify, method: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["auth", "login", "--host", &mock.url(), "--insecure"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(method.iter().map(|s| s.to_string()));
    args
}

fn password_args(mock: &MockDify) -> Vec<String> {
    login_args(mock, &["--password", "--email", EMAIL, "--password-stdin"])
}

fn success(mock: &MockDify) -> String {
    format!(
        "✓ Logged in to {} as {EMAIL} (Tester)\n  Workspace: Acme Team\n",
        mock.host()
    )
}

/// The label a sign-in from this machine gets.
fn own_label() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("difyctl on {}", host.trim())
}

/// The rows of `auth devices list` marked current.
fn current_rows(t: &Test) -> Vec<String> {
    let out = t.run_args(["auth", "devices", "list"]).code(0);
    out.stdout
        .lines()
        .filter(|l| l.ends_with('*'))
        .map(str::to_owned)
        .collect()
}

/// The one live session, and that the context points at it and `auth
/// devices list` marks it current.
#[track_caller]
fn assert_current_session(t: &Test, mock: &MockDify) -> SessionInfo {
    let sessions = mock.sessions();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let s = sessions.into_iter().next().unwrap();
    let hosts = t.read("hosts.yml").unwrap();
    assert!(
        hosts.contains(&format!("        token_id: {}\n", s.id)),
        "{hosts}"
    );
    let tokens = t.read("tokens.yml").unwrap();
    assert!(
        tokens.contains(&format!("{EMAIL}: {}\n", s.token)),
        "{tokens}"
    );
    let rows = current_rows(t);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].starts_with(&s.device_label), "{rows:?}");
    s
}

/// Signs in to the mock's console the way a browser does; the session's
/// `(access_token, csrf_token)`.
fn browser_session(mock: &MockDify) -> (String, String) {
    let body = format!(r#"{{"email":"{EMAIL}","password":"{PASSWORD_B64}","remember_me":false}}"#);
    let mut s = TcpStream::connect(("127.0.0.1", mock.port())).unwrap();
    write!(
        s,
        "POST /console/api/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        mock.host(),
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let c = mock.console_sessions().pop().unwrap();
    (c.access_token, c.csrf_token)
}

// ---------------------------------------------------------------------------
// Each method signs in with stdin a pipe
// ---------------------------------------------------------------------------

#[test]
fn password_signs_in_and_signs_the_console_out() {
    let mock = MockDify::start();
    let t = Test::new().stdin(format!("{PASSWORD}\n"));
    t.run_args(password_args(&mock))
        .code(0)
        .stderr("")
        .stdout(&success(&mock));

    // Exactly these requests, in this order.
    let order: Vec<String> = mock.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        order,
        [
            "/console/api/login",
            "/openapi/v1/oauth/device/code",
            "/openapi/v1/oauth/device/approve",
            "/openapi/v1/oauth/device/token",
            "/console/api/logout",
        ]
    );
    let s = assert_current_session(&t, &mock);
    assert_eq!(s.device_label, own_label());
    let consoles = mock.console_sessions();
    assert_eq!(consoles.len(), 1);
    assert!(consoles[0].logged_out, "the console session was left open");

    // On the wire: the password base64-encoded, the approval and the sign-out
    // with the console cookies and the CSRF header, one poll.
    let login = &mock.requests_to("/console/api/login")[0];
    assert_eq!(
        login.json(),
        serde_json::json!({"email": EMAIL, "password": PASSWORD_B64, "remember_me": false})
    );
    for path in ["/openapi/v1/oauth/device/approve", "/console/api/logout"] {
        let r = &mock.requests_to(path)[0];
        let cookie = r.header("cookie").unwrap();
        assert!(
            cookie.contains(&format!("access_token={}", consoles[0].access_token)),
            "{path}: {cookie}"
        );
        assert_eq!(
            r.header("x-csrf-token"),
            Some(consoles[0].csrf_token.as_str())
        );
    }
    assert_eq!(mock.polls().len(), 1);
}

#[test]
fn password_without_trailing_newline_and_with_crlf() {
    for input in [PASSWORD.to_string(), format!("{PASSWORD}\r\n")] {
        let mock = MockDify::start();
        Test::new()
            .args(password_args(&mock))
            .stdin(input)
            .run()
            .code(0)
            .stdout(&success(&mock));
        assert_eq!(
            mock.requests_to("/console/api/login")[0].json()["password"],
            PASSWORD_B64
        );
    }
}

#[test]
fn email_code_signs_in_and_signs_the_console_out() {
    let mock = MockDify::start();
    let t = Test::new().stdin(format!("{CODE}\n"));
    t.run_args(login_args(&mock, &["--email-code", "--email", EMAIL]))
        .code(0)
        .stderr(&format!("A sign-in code was sent to {EMAIL}\n"))
        .stdout(&success(&mock));
    assert_current_session(&t, &mock);
    let consoles = mock.console_sessions();
    assert_eq!(consoles.len(), 1);
    assert!(consoles[0].logged_out);
    let check = &mock.requests_to("/console/api/email-code-login/validity")[0];
    assert_eq!(check.json()["code"], "MTIzNDU2");
    assert_eq!(check.json()["email"], EMAIL);
}

#[test]
fn console_cookie_signs_in_and_leaves_the_browser_session_alone() {
    let mock = MockDify::start();
    let (access, csrf) = browser_session(&mock);
    let t = Test::new().stdin(format!("access_token={access}; csrf_token={csrf}\n"));
    t.run_args(login_args(&mock, &["--console-cookie"]))
        .code(0)
        .stderr("")
        .stdout(&success(&mock));
    assert_current_session(&t, &mock);
    let consoles = mock.console_sessions();
    assert_eq!(consoles.len(), 1);
    assert!(
        !consoles[0].logged_out,
        "the user's browser session was signed out"
    );
    assert!(mock.requests_to("/console/api/logout").is_empty());
    let approve = &mock.requests_to("/openapi/v1/oauth/device/approve")[0];
    assert_eq!(approve.header("x-csrf-token"), Some(csrf.as_str()));
}

#[test]
fn console_cookie_with_and_without_the_host_prefix() {
    // The server set __Host- cookies (https without COOKIE_DOMAIN); the user
    // pastes them as the browser shows them, or without the prefix, as a whole
    // "Cookie:" line with other cookies around them.
    for pasted in [
        "__Host-access_token={a}; __Host-csrf_token={c}",
        "access_token={a}; csrf_token={c}",
        "Cookie: _ga=GA1.1; __Host-csrf_token={c}; theme=dark; __Host-access_token={a}; locale=en",
    ] {
        let mock = MockDify::with(MockConfig {
            host_cookie_prefix: true,
            enforce_csrf: true,
            ..MockConfig::default()
        });
        let (access, csrf) = browser_session(&mock);
        let input = pasted.replace("{a}", &access).replace("{c}", &csrf);
        let t = Test::new().stdin(input);
        t.run_args(login_args(&mock, &["--console-cookie"]))
            .code(0)
            .stderr("")
            .stdout(&success(&mock));
        assert_current_session(&t, &mock);
        let approve = &mock.requests_to("/openapi/v1/oauth/device/approve")[0];
        let sent = approve.header("cookie").unwrap();
        assert!(!sent.contains("_ga") && !sent.contains("theme"), "{sent}");
    }
}

#[test]
fn password_with_host_prefixed_cookies_and_csrf_enforced() {
    let mock = MockDify::with(MockConfig {
        host_cookie_prefix: true,
        enforce_csrf: true,
        ..MockConfig::default()
    });
    let t = Test::new().stdin(PASSWORD);
    t.run_args(password_args(&mock))
        .code(0)
        .stderr("")
        .stdout(&success(&mock));
    assert_current_session(&t, &mock);
    assert!(mock.console_sessions()[0].logged_out);
    let approve = &mock.requests_to("/openapi/v1/oauth/device/approve")[0];
    assert!(
        approve
            .header("cookie")
            .unwrap()
            .starts_with("__Host-access_token="),
        "{:?}",
        approve.header("cookie")
    );
}

#[test]
fn with_token_signs_in_and_finds_its_session() {
    let mock = MockDify::start();
    let s = mock.add_session("made elsewhere");
    let t = Test::new().stdin(format!("  {}\n\n", s.token));
    t.run_args(login_args(&mock, &["--with-token"]))
        .code(0)
        .stderr("")
        .stdout(&success(&mock));
    let found = assert_current_session(&t, &mock);
    assert_eq!(found.id, s.id);
    let hosts = t.read("hosts.yml").unwrap();
    assert_eq!(hosts, hosts_yml(&mock, Some(&s.id)));
    // No device code, no console: the token is the session.
    assert!(mock.requests_to("/openapi/v1/oauth/device/code").is_empty());
    assert!(mock.console_sessions().is_empty());
    // And logout ends it.
    t.run_args(["auth", "logout"]).code(0);
    assert_eq!(mock.revoked_ids(), [s.id]);
}

#[test]
fn with_token_among_several_sessions_is_stored_without_token_id() {
    let mock = MockDify::start();
    mock.add_session("laptop");
    let s = mock.add_session("ci");
    let t = Test::new().stdin(s.token.clone());
    t.run_args(login_args(&mock, &["--with-token"]))
        .code(0)
        .stdout(&success(&mock))
        .stderr(
            "! the account has 2 sessions and the server does not say which one this token is; \
         'auth devices list' will not mark it as current\n",
        );
    let hosts = t.read("hosts.yml").unwrap();
    assert!(!hosts.contains("token_id"), "{hosts}");
    assert!(current_rows(&t).is_empty());
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout(&format!("{EMAIL} (Tester)\n"));
}

#[test]
fn signing_in_again_rotates_the_earlier_session() {
    let mock = MockDify::start();
    let t = prior().stdin(PASSWORD);
    t.run_args(password_args(&mock))
        .code(0)
        .stdout(&success(&mock));
    let first = mock.sessions()[0].clone();
    let (access, csrf) = browser_session(&mock);
    let t = t.stdin(format!("access_token={access}; csrf_token={csrf}"));
    t.run_args(login_args(&mock, &["--console-cookie"]))
        .code(0)
        .stdout(&success(&mock));
    // The same label: the server rotated the first session out, and the
    // context now names the new one.
    assert_eq!(mock.revoked_ids(), [first.id]);
    assert_current_session(&t, &mock);
    // The other host's context is still there.
    assert!(t.read("hosts.yml").unwrap().contains("old.example.com:"));
    assert!(
        t.read("tokens.yml")
            .unwrap()
            .contains("old@example.com: dfoa_old")
    );
}

#[test]
fn tokens_cookies_and_passwords_never_reach_the_output_even_with_verbose() {
    let mock = MockDify::start();
    let mut args = password_args(&mock);
    args.push("-v".into());
    let t = Test::new().args(args).stdin(PASSWORD);
    let out = t.run().code(0);
    let (stdout, stderr) = (out.stdout.clone(), out.stderr.to_string());
    assert!(stderr.contains("> Cookie: [redacted]"), "{stderr}");
    assert!(stderr.contains("> X-CSRF-Token: [redacted]"), "{stderr}");
    let session = &mock.sessions()[0];
    let console = &mock.console_sessions()[0];
    for secret in [
        session.token.as_str(),
        &session.token[5..],
        console.access_token.as_str(),
        console.csrf_token.as_str(),
        PASSWORD,
        PASSWORD_B64,
    ] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} leaked:\n{stdout}\n{stderr}"
        );
    }
    // The same for an email-code and a pasted token.
    let mock = MockDify::start();
    let mut args = login_args(&mock, &["--email-code", "--email", EMAIL]);
    args.push("-v".into());
    let t = Test::new().args(args).stdin(CODE);
    let o = t.run().code(0);
    let s = &mock.sessions()[0];
    for secret in [s.token.as_str(), &s.token[5..], CODE] {
        assert!(!o.stdout.contains(secret) && !o.stderr.contains(secret));
    }
    let mut args = login_args(&mock, &["--with-token"]);
    args.push("-v".into());
    let t = Test::new().args(args).stdin(s.token.clone());
    let o = t.run().code(0);
    assert!(!o.stdout.contains(&s.token[5..]) && !o.stderr.contains(&s.token[5..]));
}

// ---------------------------------------------------------------------------
// The password is never in argv or the environment
// ---------------------------------------------------------------------------

#[test]
fn the_password_is_not_in_proc_cmdline_or_environ() {
    const SECRET: &str = "Unique-S3cret-4f1c";
    let mock = MockDify::with(MockConfig {
        console_password: SECRET.into(),
        // The sign-in waits here, after the password was read and sent.
        hang: Some("/openapi/v1/oauth/device/approve".into()),
        ..MockConfig::default()
    });
    let t = prior();
    let before = t.snapshot();
    let mut cmd = t.command();
    cmd.args(password_args(&mock))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{SECRET}\n").as_bytes())
        .unwrap();
    mock.wait_for_request("POST", "/openapi/v1/oauth/device/approve");

    let pid = child.id();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let _ = child.kill();
    let _ = child.wait();

    let shown = |b: &[u8]| String::from_utf8_lossy(b).replace('\0', " ");
    // It is the right process, and the password is in neither.
    assert!(
        shown(&cmdline).contains("--password-stdin"),
        "{}",
        shown(&cmdline)
    );
    assert!(shown(&environ).contains("DIFY_CONFIG_DIR="));
    let encoded = "VW5pcXVlLVMzY3JldC00ZjFj";
    for text in [shown(&cmdline), shown(&environ)] {
        assert!(!text.contains(SECRET) && !text.contains(encoded), "{text}");
    }
    // The console got it (base64), so the test really had a password in flight.
    assert_eq!(
        mock.requests_to("/console/api/login")[0].json()["password"],
        encoded
    );
    assert_eq!(t.snapshot(), before);
}

// ---------------------------------------------------------------------------
// Failures: exit code, message, nothing stored
// ---------------------------------------------------------------------------

/// Runs `args` with `stdin` in a dir holding another context; asserts the
/// exit code, stdout empty, the exact stderr and the dir unchanged.
#[track_caller]
fn fails(args: Vec<String>, stdin: &str, code: i32, stderr: &str) -> Test {
    let t = prior().args(args).stdin(stdin);
    let before: BTreeMap<String, Vec<u8>> = t.snapshot();
    t.run().code(code).stdout("").stderr(stderr);
    assert_eq!(t.snapshot(), before, "the config dir changed");
    t
}

fn login_url(mock: &MockDify) -> String {
    format!("{}/console/api/login", mock.url())
}

#[test]
fn wrong_password_exits_4() {
    let mock = MockDify::start();
    fails(
        password_args(&mock),
        "not the password\n",
        4,
        &format!(
            "authentication_failed: Invalid email or password.\nrequest: POST {}\nhttp_status: 401\n",
            login_url(&mock)
        ),
    );
    // Nothing else was asked: no device code, no approval.
    assert_eq!(mock.requests().len(), 1);
    assert!(mock.console_sessions().is_empty());
}

#[test]
fn unknown_email_exits_4() {
    let mock = MockDify::start();
    fails(
        login_args(
            &mock,
            &[
                "--password",
                "--email",
                "nobody@dify.ai",
                "--password-stdin",
            ],
        ),
        PASSWORD,
        4,
        &format!(
            "authentication_failed: Invalid email or password.\nrequest: POST {}\nhttp_status: 401\n",
            login_url(&mock)
        ),
    );
}

#[test]
fn a_password_the_server_cannot_decode_exits_4() {
    // Not UTF-8: the server cannot decode the base64 field into text (§14).
    let mock = MockDify::start();
    let t = prior()
        .args(password_args(&mock))
        .stdin(b"\xff\xfe secret\n".to_vec());
    let before = t.snapshot();
    t.run().code(4).stdout("").stderr(&format!(
        "authentication_failed: Invalid encrypted data\nrequest: POST {}\nhttp_status: 401\n",
        login_url(&mock)
    ));
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        mock.requests_to("/console/api/login")[0].json()["password"],
        "//4gc2VjcmV0"
    );
}

fn refusing(status: u16, code: &str, message: &str) -> MockDify {
    MockDify::with(MockConfig {
        console_login_error: Some((status, code.into(), message.into())),
        ..MockConfig::default()
    })
}

#[test]
fn frozen_and_banned_accounts_exit_4() {
    for (code, message) in [
        (
            "account_in_freeze",
            "This email account has been deleted within the past 30 days and is temporarily unavailable for new account registration.",
        ),
        ("account_banned", "Account is banned."),
    ] {
        let mock = refusing(400, code, message);
        fails(
            password_args(&mock),
            PASSWORD,
            4,
            &format!(
                "{code}: {message}\nrequest: POST {}\nhttp_status: 400\n",
                login_url(&mock)
            ),
        );
        let mock = refusing(400, code, message);
        fails(
            login_args(&mock, &["--email-code", "--email", EMAIL]),
            CODE,
            4,
            &format!(
                "{code}: {message}\nrequest: POST {}/console/api/email-code-login\nhttp_status: 400\n",
                mock.url()
            ),
        );
    }
}

#[test]
fn rate_limits_exit_7() {
    let message = "Too many incorrect password attempts. Please try again later.";
    for code in ["email_password_login_limit", "email_code_login_limit"] {
        let mock = refusing(429, code, message);
        fails(
            password_args(&mock),
            PASSWORD,
            7,
            &format!(
                "{code}: {message}\nhint: wait a few minutes before trying again\nrequest: POST {}\nhttp_status: 429\n",
                login_url(&mock)
            ),
        );
    }
    // A plain 429 from a proxy or the server's generic limiter.
    let mock = MockDify::start();
    mock.fail_next("/console/api/login", 1, 429);
    fails(
        password_args(&mock),
        PASSWORD,
        7,
        &format!(
            "too_many_requests: Too Many Requests\nhint: wait a few minutes before trying again\nrequest: POST {}\nhttp_status: 429\n",
            login_url(&mock)
        ),
    );
    // The approval limit (10 an hour): the console session is still signed out.
    let mock = MockDify::with(MockConfig {
        approve_rate_limit: Some(0),
        ..MockConfig::default()
    });
    fails(
        password_args(&mock),
        PASSWORD,
        7,
        &format!(
            "too_many_requests: too many device approvals (the server allows about 10 an hour)\n\
             hint: wait a while before signing in again\nrequest: POST {}/openapi/v1/oauth/device/approve\nhttp_status: 429\n",
            mock.url()
        ),
    );
    assert!(mock.console_sessions()[0].logged_out);
}

#[test]
fn disabled_sign_in_methods_exit_4() {
    let forbidden = "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.";
    let mock = refusing(403, "forbidden", forbidden);
    fails(
        password_args(&mock),
        PASSWORD,
        4,
        &format!(
            "forbidden: email and password sign-in is disabled on this server\n\
             hint: sign in another way: the device flow, --email-code, --password or --console-cookie\n\
             request: POST {}\nhttp_status: 403\n",
            login_url(&mock)
        ),
    );
    let mock = refusing(403, "forbidden", forbidden);
    fails(
        login_args(&mock, &["--email-code", "--email", EMAIL]),
        CODE,
        4,
        &format!(
            "forbidden: email-code sign-in is disabled on this server\n\
             hint: sign in another way: the device flow, --email-code, --password or --console-cookie\n\
             request: POST {}/console/api/email-code-login\nhttp_status: 403\n",
            mock.url()
        ),
    );
}

#[test]
fn missing_endpoints_exit_6() {
    // No console sign-in on this server.
    let mock = MockDify::start();
    mock.fail_next("/console/api/login", 1, 404);
    fails(
        password_args(&mock),
        PASSWORD,
        6,
        &format!(
            "not_found: this Dify host does not offer email and password sign-in (POST /console/api/login)\n\
             hint: use the Dify API URL as --host, or sign in another way (see 'difyctl help auth login')\n\
             request: POST {}\nhttp_status: 404\n",
            login_url(&mock)
        ),
    );
    let mock = MockDify::start();
    mock.fail_next("/console/api/email-code-login", 1, 404);
    fails(
        login_args(&mock, &["--email-code", "--email", EMAIL]),
        CODE,
        6,
        &format!(
            "not_found: this Dify host does not offer email-code sign-in (POST /console/api/email-code-login)\n\
             hint: use the Dify API URL as --host, or sign in another way (see 'difyctl help auth login')\n\
             request: POST {}/console/api/email-code-login\nhttp_status: 404\n",
            mock.url()
        ),
    );
    // No device flow (an HTML 404): found after the console sign-in, which is
    // then signed out again.
    let mock = MockDify::with(MockConfig {
        device_flow: DeviceFlow::HtmlNotFound,
        ..MockConfig::default()
    });
    fails(
        password_args(&mock),
        PASSWORD,
        6,
        &format!(
            "unsupported_endpoint: this Dify host does not implement the OAuth device flow\n\
             hint: the host needs OPENAPI_ENABLED=true; use the Dify API URL as --host\n\
             request: POST {}/openapi/v1/oauth/device/code\nhttp_status: 404\n",
            mock.url()
        ),
    );
    let consoles = mock.console_sessions();
    assert_eq!(consoles.len(), 1);
    assert!(consoles[0].logged_out);
}

#[test]
fn wrong_and_expired_email_codes_exit_4() {
    let mock = MockDify::start();
    fails(
        login_args(&mock, &["--email-code", "--email", EMAIL]),
        "654321\n",
        4,
        &format!(
            "A sign-in code was sent to {EMAIL}\n\
             email_code_error: Email code is invalid or expired.\n\
             hint: check the code in the newest email, or run the sign-in again for a new one\n\
             request: POST {}/console/api/email-code-login/validity\nhttp_status: 400\n",
            mock.url()
        ),
    );
    assert!(mock.console_sessions().is_empty());

    let mock = MockDify::with(MockConfig {
        email_code_tokens_expired: true,
        ..MockConfig::default()
    });
    fails(
        login_args(&mock, &["--email-code", "--email", EMAIL]),
        CODE,
        4,
        &format!(
            "A sign-in code was sent to {EMAIL}\n\
             invalid_or_expired_token: The token is invalid or has expired.\n\
             hint: the code is used up or too old; run the sign-in again for a new one\n\
             request: POST {}/console/api/email-code-login/validity\nhttp_status: 400\n",
            mock.url()
        ),
    );

    // An address the server does not know.
    let mock = MockDify::start();
    fails(
        login_args(&mock, &["--email-code", "--email", "nobody@dify.ai"]),
        CODE,
        4,
        &format!(
            "account_not_found: Account not found.\nrequest: POST {}/console/api/email-code-login\nhttp_status: 400\n",
            mock.url()
        ),
    );
}

#[test]
fn an_expired_or_already_resolved_code_fails_and_signs_the_console_out() {
    let approve_url = |mock: &MockDify| format!("{}/openapi/v1/oauth/device/approve", mock.url());
    let mock = MockDify::with(MockConfig {
        expire_codes: true,
        ..MockConfig::default()
    });
    fails(
        password_args(&mock),
        PASSWORD,
        4,
        &format!(
            "expired_token: the sign-in code expired before it could be approved
\
             hint: run 'difyctl auth login' again
request: POST {}
http_status: 404
",
            approve_url(&mock)
        ),
    );
    assert!(mock.console_sessions()[0].logged_out);

    // Someone (here: the mock itself) resolved the code first.
    let mock = MockDify::with(MockConfig::default().auto_approve());
    fails(
        login_args(&mock, &["--email-code", "--email", EMAIL]),
        CODE,
        1,
        &format!(
            "A sign-in code was sent to {EMAIL}\n\
             server_4xx_other: the sign-in code could not be approved (already_resolved)\n\
             hint: run 'difyctl auth login' again\nrequest: POST {}\nhttp_status: 409\n",
            approve_url(&mock)
        ),
    );
    assert!(mock.console_sessions()[0].logged_out);
}

const FRESH_COOKIES: &str = "hint: copy fresh access_token and csrf_token cookies from a signed-in console tab; \
     the session may have expired or been signed out\n";

#[test]
fn a_bad_or_signed_out_cookie_exits_4() {
    let approve_url = |mock: &MockDify| format!("{}/openapi/v1/oauth/device/approve", mock.url());
    let mock = MockDify::start();
    fails(
        login_args(&mock, &["--console-cookie"]),
        "access_token=forged; csrf_token=forged",
        4,
        &format!(
            "unauthorized: the console session was not accepted for device approval\n{FRESH_COOKIES}\
             request: POST {}\nhttp_status: 401\n",
            approve_url(&mock)
        ),
    );
    assert!(mock.sessions().is_empty());

    // A real session, but the CSRF token does not match (enforced by later servers).
    let mock = MockDify::with(MockConfig {
        enforce_csrf: true,
        ..MockConfig::default()
    });
    let (access, _) = browser_session(&mock);
    fails(
        login_args(&mock, &["--console-cookie"]),
        &format!("access_token={access}; csrf_token=stale"),
        4,
        &format!(
            "unauthorized: the console session was not accepted for device approval\n{FRESH_COOKIES}\
             request: POST {}\nhttp_status: 401\n",
            approve_url(&mock)
        ),
    );
    assert!(mock.sessions().is_empty());
    assert!(!mock.console_sessions()[0].logged_out);
}

#[test]
fn cookie_input_errors_exit_2_before_any_request() {
    let mock = MockDify::start();
    let hint = "hint: pipe the Cookie header value of a signed-in console tab: 'access_token=…; \
                csrf_token=…' (the __Host- names work too)\n";
    for (input, message) in [
        ("", "usage_missing_arg: no cookie on stdin\n"),
        (" \n\t\n", "usage_missing_arg: no cookie on stdin\n"),
        (
            "csrf_token=c; refresh_token=r",
            "usage_invalid_flag: the cookie on stdin has no access_token\n",
        ),
        (
            "__Host-access_token=a",
            "usage_invalid_flag: the cookie on stdin has no csrf_token\n",
        ),
    ] {
        fails(
            login_args(&mock, &["--console-cookie"]),
            input,
            2,
            &format!("{message}{hint}"),
        );
    }
    assert!(mock.requests().is_empty());
}

#[test]
fn invalid_and_revoked_tokens_exit_4() {
    let unauthorized = |mock: &MockDify| {
        format!(
            "unauthorized: the token was not accepted (invalid, expired or revoked)\n\
             hint: check the token, or sign in another way (see 'difyctl help auth login')\n\
             request: GET {}/openapi/v1/account\nhttp_status: 401\n",
            mock.url()
        )
    };
    let mock = MockDify::start();
    let unknown = format!("dfoa_{}", "x".repeat(43));
    fails(
        login_args(&mock, &["--with-token"]),
        &unknown,
        4,
        &unauthorized(&mock),
    );
    let s = mock.add_session("revoked");
    mock.revoke_session(&s.id);
    fails(
        login_args(&mock, &["--with-token"]),
        &s.token,
        4,
        &unauthorized(&mock),
    );
    let s = mock.add_session("expired");
    mock.expire_session(&s.id);
    fails(
        login_args(&mock, &["--with-token"]),
        &s.token,
        4,
        &unauthorized(&mock),
    );
}

#[test]
fn a_baseline_server_answers_500_for_a_bad_token() {
    let mock = MockDify::with(MockConfig::default().baseline());
    fails(
        login_args(&mock, &["--with-token"]),
        &format!("dfoa_{}", "y".repeat(43)),
        1,
        &format!(
            "internal_server_error: Internal Server Error\n\
             hint: older Dify servers answer HTTP 500 for an unknown, revoked or expired token: check the token\n\
             request: GET {}/openapi/v1/account\nhttp_status: 500\n",
            mock.url()
        ),
    );
}

#[test]
fn an_external_sso_token_cannot_be_stored() {
    // An SSO approval mints a dfoe_ token; GET /account refuses those.
    let mock =
        MockDify::with(MockConfig::default().sso("sso@corp.example", "https://idp.corp.example"));
    Test::new()
        .args(password_args(&mock))
        .stdin(PASSWORD)
        .run()
        .code(0)
        .stdout(&format!(
            "✓ Logged in to {} as sso@corp.example (external SSO, issuer: https://idp.corp.example)\n",
            mock.host()
        ));
    let token = mock.sessions()[0].token.clone();
    assert!(token.starts_with("dfoe_"));
    fails(
        login_args(&mock, &["--with-token"]),
        &token,
        4,
        &format!(
            "forbidden: this server does not say whose external SSO (dfoe_) token this is, so it cannot be stored\n\
             hint: sign in with the device flow ('difyctl auth login') to store an external SSO session\n\
             request: GET {}/openapi/v1/account\nhttp_status: 403\n",
            mock.url()
        ),
    );
}

#[test]
fn token_input_errors_exit_2_before_any_request() {
    let mock = MockDify::start();
    let pipe_hint =
        "hint: pipe the token in, e.g. 'difyctl auth login --with-token --host HOST < token.txt'\n";
    let prefix = "usage_invalid_flag: the token on stdin is not a Dify token (expected a dfoa_ or dfoe_ prefix)\n\
                  hint: use a token from a difyctl sign-in ('difyctl auth token' prints one)\n";
    for (input, expected) in [
        (
            String::new(),
            format!("usage_missing_arg: no token on stdin\n{pipe_hint}"),
        ),
        (
            "\n  \n".into(),
            format!("usage_missing_arg: no token on stdin\n{pipe_hint}"),
        ),
        ("app-abcdef\n".into(), prefix.to_string()),
        (
            "Bearer dfoa_abc\n".into(),
            format!(
                "usage_invalid_flag: the token on stdin is not a single token (it contains whitespace)\n{pipe_hint}"
            ),
        ),
        (
            "dfoa_a\ndfoa_b\n".into(),
            format!(
                "usage_invalid_flag: the token on stdin is not a single token (it contains whitespace)\n{pipe_hint}"
            ),
        ),
        (
            "x".repeat(70 * 1024),
            "usage_invalid_flag: stdin holds more than 64 KiB; expected a token\n".into(),
        ),
    ] {
        fails(login_args(&mock, &["--with-token"]), &input, 2, &expected);
    }
    assert!(mock.requests().is_empty());
}

#[test]
fn no_terminal_needs_the_flags_that_replace_prompts() {
    let mock = MockDify::start();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--password"],
            "usage_missing_arg: --email is required (no TTY)\n\
             hint: pass --email and pipe the password on stdin with --password-stdin\n",
        ),
        (
            &["--password", "--password-stdin"],
            "usage_missing_arg: --email is required (no TTY)\n\
             hint: pass --email and pipe the password on stdin with --password-stdin\n",
        ),
        (
            &["--password", "--email", EMAIL],
            "usage_missing_arg: --password-stdin is required (no TTY)\n\
             hint: pipe the password on stdin with --password-stdin; it is never taken from a flag or the environment\n",
        ),
        (
            &["--email-code"],
            "usage_missing_arg: --email is required (no TTY)\n\
             hint: pass --email; the code from the email is then read from stdin\n",
        ),
        (
            &["--email-code", "--email", "  "],
            "usage_missing_arg: --email is required (no TTY)\n\
             hint: pass --email; the code from the email is then read from stdin\n",
        ),
    ];
    for (flags, expected) in cases {
        fails(login_args(&mock, flags), PASSWORD, 2, expected);
    }
    // Without --host, the host is missing too; the method's own flags come first.
    fails(
        vec!["auth".into(), "login".into(), "--password".into()],
        "",
        2,
        "usage_missing_arg: --email is required (no TTY)\n\
         hint: pass --email and pipe the password on stdin with --password-stdin\n",
    );
    fails(
        vec!["auth".into(), "login".into(), "--with-token".into()],
        "dfoa_x",
        2,
        "usage_missing_arg: --host is required (no TTY)\n\
         hint: pass the host explicitly, e.g. 'difyctl auth login --host cloud.dify.ai'\n",
    );
    assert!(mock.requests().is_empty());
}

#[test]
fn flags_that_do_not_go_together_exit_2() {
    let mock = MockDify::start();
    for (flags, expected) in [
        (
            &["--password-stdin"][..],
            "usage_invalid_flag: --password-stdin only applies to --password\n",
        ),
        (
            &["--email-code", "--email", EMAIL, "--password-stdin"][..],
            "usage_invalid_flag: --password-stdin only applies to --password\n",
        ),
        (
            &["--with-token", "--email", EMAIL][..],
            "usage_invalid_flag: --email only applies to --password and --email-code\n",
        ),
        (
            &["--console-cookie", "--email", EMAIL][..],
            "usage_invalid_flag: --email only applies to --password and --email-code\n",
        ),
        (
            &["--password", "--console-cookie"][..],
            "usage_invalid_flag: --password and --console-cookie cannot be combined\n",
        ),
    ] {
        fails(login_args(&mock, flags), "", 2, expected);
    }
    assert!(mock.requests().is_empty());
}

#[test]
fn empty_secrets_on_stdin_exit_2() {
    let mock = MockDify::start();
    fails(
        password_args(&mock),
        "\n",
        2,
        "usage_missing_arg: no password on stdin\n",
    );
    assert!(mock.requests().is_empty());
    // The code is read after the email went out.
    fails(
        login_args(&mock, &["--email-code", "--email", EMAIL]),
        "",
        2,
        &format!(
            "A sign-in code was sent to {EMAIL}\nusage_missing_arg: no code on stdin\n\
             hint: the code is in the email just sent; run the sign-in again for a new one\n"
        ),
    );
    assert!(mock.console_sessions().is_empty());
}

// ---------------------------------------------------------------------------
// On a terminal: prompts, no echo, echo restored (also after Ctrl-C)
// ---------------------------------------------------------------------------

#[test]
fn password_prompt_on_a_terminal_hides_the_password() {
    let mock = MockDify::start();
    let t = Test::new();
    let login: Vec<String> = std::iter::once(BIN.to_string())
        .chain(login_args(&mock, &["--password"]))
        .map(|a| quote(&a))
        .collect();
    let line = format!("{}; echo \"rc=$?\"; stty -a", login.join(" "));
    let Some(mut pty) = Pty::shell_env(&t, &line, &[("NO_COLOR", "1")]) else {
        return;
    };
    pty.wait_for("Email: ");
    pty.type_in(&format!("{EMAIL}\n"));
    // Echo is off before the prompt is shown, so typing now is never echoed.
    pty.wait_for("Password: ");
    pty.type_in(&format!("{PASSWORD}\n"));
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    // (On a terminal the spinner draws between the prompt and the result.)
    assert!(
        screen.contains(&format!("Email: {EMAIL}\nPassword: \n")),
        "{screen}"
    );
    assert!(
        screen.contains(&format!(
            "✓ Logged in to {} as {EMAIL} (Tester)\n",
            mock.host()
        )),
        "{screen}"
    );
    assert!(
        !screen.contains(PASSWORD),
        "the password was echoed:\n{screen}"
    );
    assert!(screen.contains("rc=0\n"), "{screen}");
    assert_echo_on(&screen);
    assert!(mock.console_sessions()[0].logged_out);
    assert_current_session(&t, &mock);
}

#[test]
fn ctrl_c_at_the_password_prompt_restores_echo_and_exits_130() {
    let mock = MockDify::start();
    let t = prior();
    let before = t.snapshot();
    let login: Vec<String> = std::iter::once(BIN.to_string())
        .chain(login_args(&mock, &["--password", "--email", EMAIL]))
        .map(|a| quote(&a))
        .collect();
    // The shell ignores SIGINT so that it lives on to report; difyctl installs
    // its own handler.
    let line = format!("trap '' INT; {}; echo \"rc=$?\"; stty -a", login.join(" "));
    let Some(mut pty) = Pty::shell_env(&t, &line, &[("NO_COLOR", "1")]) else {
        return;
    };
    pty.wait_for("Password: ");
    pty.type_in("half-typed\u{3}");
    let (_, screen) = pty.finish();
    assert!(screen.contains("rc=130\n"), "{screen}");
    assert!(!screen.contains("half-typed"), "{screen}");
    assert_echo_on(&screen);
    assert!(mock.requests().is_empty());
    assert_eq!(t.snapshot(), before);
}

#[test]
fn token_prompt_on_a_terminal_hides_the_token() {
    let mock = MockDify::start();
    let s = mock.add_session("pasted");
    let t = Test::new();
    let login: Vec<String> = std::iter::once(BIN.to_string())
        .chain(login_args(&mock, &["--with-token"]))
        .map(|a| quote(&a))
        .collect();
    let line = format!("{}; stty -a", login.join(" "));
    let Some(mut pty) = Pty::shell_env(&t, &line, &[("NO_COLOR", "1")]) else {
        return;
    };
    pty.wait_for("Paste the token: ");
    pty.type_in(&format!("{}\n", s.token));
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        !screen.contains(&s.token[5..]),
        "the token was echoed:\n{screen}"
    );
    assert_echo_on(&screen);
    assert_current_session(&t, &mock);
}
