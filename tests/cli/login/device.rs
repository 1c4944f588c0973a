//! `auth login` (the device flow) against the mock Dify server: every outcome
//! of the official sign-in with its exact stdout, stderr and exit code, the files
//! a sign-in leaves (and that a failed or interrupted one leaves none), and
//! that a pending sign-in sleeps.

use std::collections::BTreeMap;
use std::net::TcpListener;

use crate::support::fixtures::{
    code_lines, mock_code_lines, other_tokens, tokens_yml, with_other_context,
};
use crate::support::mock::{
    DEFAULT_ACCOUNT_ID, DEFAULT_WORKSPACE_ID, DeviceFlow, MockConfig, MockDify, SessionInfo,
};
use crate::support::runner::{Test, mode};
use serde_json::json;

/// `auth login` against the mock (plain http, so `--insecure`), no browser.
pub(super) fn login(mock: &MockDify) -> Test {
    Test::new().args(login_args(&mock.url()))
}

fn login_args(url: &str) -> Vec<String> {
    ["auth", "login", "--host", url, "--insecure", "--no-browser"]
        .map(String::from)
        .to_vec()
}

fn auto() -> MockDify {
    MockDify::with(MockConfig::default().auto_approve())
}

/// The machine's name, as `uname -n` reports it.
pub(super) fn hostname() -> String {
    let out = std::process::Command::new("uname")
        .arg("-n")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// hosts.yml after signing in to the mock as the default account.
pub(super) fn mock_hosts_yml(mock: &MockDify, token_id: &str) -> String {
    let host = mock.host();
    let expires = token_expiry(mock, token_id);
    format!(
        "token_storage: file
current_host: {host}
hosts:
  {host}:
    scheme: http
    current_account: tester@dify.ai
    accounts:
      tester@dify.ai:
        account:
          id: {DEFAULT_ACCOUNT_ID}
          email: tester@dify.ai
          name: Tester
        workspace:
          id: {DEFAULT_WORKSPACE_ID}
          name: Acme Team
          role: owner
        token_id: {token_id}
        token_expires_at: '{expires}'
"
    )
}

/// The `expires_at` the token response carried for this session (`+00:00` form).
fn token_expiry(mock: &MockDify, token_id: &str) -> String {
    let s = mock
        .sessions()
        .into_iter()
        .find(|s| s.id == token_id)
        .expect("a live session");
    s.expires_at.replace('Z', "+00:00")
}

pub(super) fn only_session(mock: &MockDify) -> SessionInfo {
    let sessions = mock.sessions();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    sessions.into_iter().next().unwrap()
}

const SUCCESS: &str = "✓ Logged in to {host} as tester@dify.ai (Tester)\n  Workspace: Acme Team\n";

pub(super) fn success(mock: &MockDify) -> String {
    SUCCESS.replace("{host}", &mock.host())
}

/// The config dir's files as text, for readable comparisons.
pub(super) fn files(t: &Test) -> BTreeMap<String, String> {
    t.snapshot()
        .into_iter()
        .map(|(name, bytes)| (name, String::from_utf8_lossy(&bytes).into_owned()))
        .collect()
}

/// The config dir was never created.
#[track_caller]
fn assert_no_config_dir(t: &Test) {
    assert!(
        !t.config_dir().exists(),
        "config dir created: {:?}",
        t.snapshot().keys().collect::<Vec<_>>()
    );
}

#[track_caller]
pub(super) fn assert_no_secrets(text: &str, mock: &MockDify) {
    assert!(!text.contains("dfoa_") && !text.contains("dfoe_"), "{text}");
    for (device_code, _) in mock.codes() {
        assert!(!text.contains(&device_code), "device code shown: {text}");
    }
}

#[test]
fn happy_path_after_approval_writes_both_files() {
    let mock = MockDify::start();
    let t = login(&mock);
    let running = t.spawn();
    let user_code = mock.wait_for_code();
    mock.wait_for_polls(1);
    let session = mock.approve(&user_code);
    let out = running.finish().code(0).stdout(&success(&mock));
    out.stderr(&code_lines(&user_code, &format!("{}/device", mock.url())))
        .file("hosts.yml", &mock_hosts_yml(&mock, &session.id))
        .file("tokens.yml", &tokens_yml(&mock, &session.token));

    let dir = t.config_dir();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("hosts.yml")), 0o600);
    assert_eq!(mode(&dir.join("tokens.yml")), 0o600);
    // No lock or temp file is left behind.
    assert_eq!(
        files(&t).keys().collect::<Vec<_>>(),
        ["hosts.yml", "tokens.yml"]
    );

    // The polls: pending until the approval, then the token, nothing after it.
    let polls = mock.polls();
    let answers: Vec<&str> = polls.iter().map(|p| p.answer.as_str()).collect();
    assert_eq!(answers.last(), Some(&"token"));
    assert!(
        answers[..answers.len() - 1]
            .iter()
            .all(|a| *a == "authorization_pending"),
        "{answers:?}"
    );
    // And the session is the one stored.
    assert_eq!(only_session(&mock).id, session.id);
}

#[test]
fn requests_carry_client_id_label_and_user_agent() {
    let mock = auto();
    let t = login(&mock);
    t.run()
        .stdout(&success(&mock))
        .stderr(&mock_code_lines(&mock));
    let user_agent = format!(
        "difyctl-rs/{} (linux; {})",
        env!("CARGO_PKG_VERSION"),
        match std::env::consts::ARCH {
            "x86_64" => "x64",
            "aarch64" => "arm64",
            other => other,
        }
    );
    let requests = mock.requests();
    let paths: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("POST", "/openapi/v1/oauth/device/code"),
            ("POST", "/openapi/v1/oauth/device/token")
        ]
    );
    let (device_code, _) = mock.codes().pop().unwrap();
    assert_eq!(
        requests[0].json(),
        json!({"client_id": "difyctl", "device_label": format!("difyctl on {}", hostname())})
    );
    assert_eq!(
        requests[1].json(),
        json!({"client_id": "difyctl", "device_code": device_code})
    );
    assert_eq!(mock.device_labels(), [format!("difyctl on {}", hostname())]);
    for r in &requests {
        assert_eq!(r.header("user-agent"), Some(user_agent.as_str()));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("authorization"), None);
    }
}

#[test]
fn tokens_never_reach_the_output_even_verbose() {
    let mock = auto();
    let t = Test::new().args(
        login_args(&mock.url())
            .into_iter()
            .chain(["-v".to_string()]),
    );
    let out = t.run().code(0).stdout(&success(&mock));
    assert_no_secrets(&out.stdout, &mock);
    assert_no_secrets(&out.stderr, &mock);
    out.stderr_has("> POST ")
        .stderr_has("/openapi/v1/oauth/device/token\n")
        .stderr_has(&mock_code_lines(&mock));
    assert!(t.read("tokens.yml").unwrap().contains("dfoa_"));
}

#[test]
fn adds_a_context_next_to_existing_ones() {
    let mock = auto();
    let t = with_other_context(login(&mock));
    t.run()
        .stdout(&success(&mock))
        .stderr(&mock_code_lines(&mock));
    let s = only_session(&mock);
    let host = mock.host();
    let hosts = format!(
        "token_storage: file
current_host: {host}
hosts:
  cloud.dify.ai:
    current_account: alice@example.com
    accounts:
      alice@example.com:
        account:
          id: acc-1
          email: alice@example.com
          name: Alice
        token_id: tok-1
  {host}:
    scheme: http
    current_account: tester@dify.ai
    accounts:
      tester@dify.ai:
        account:
          id: {DEFAULT_ACCOUNT_ID}
          email: tester@dify.ai
          name: Tester
        workspace:
          id: {DEFAULT_WORKSPACE_ID}
          name: Acme Team
          role: owner
        token_id: {}
        token_expires_at: '{}'
",
        s.id,
        token_expiry(&mock, &s.id)
    );
    let tokens = format!(
        "version: 1
tokens:
  cloud.dify.ai:
    alice@example.com: dfoa_alice
  {host}:
    tester@dify.ai: {}
",
        s.token
    );
    assert_eq!(t.read("hosts.yml").unwrap(), hosts);
    assert_eq!(t.read("tokens.yml").unwrap(), tokens);
}

#[test]
fn signing_in_again_replaces_the_context_and_rotates_the_session() {
    let mock = auto();
    let t = login(&mock);
    t.run()
        .stdout(&success(&mock))
        .stderr(&mock_code_lines(&mock));
    let first = only_session(&mock);
    t.run()
        .stdout(&success(&mock))
        .stderr(&mock_code_lines(&mock));
    let second = only_session(&mock);
    assert_ne!(first.id, second.id);
    // Same device label: the server revoked the first session.
    assert_eq!(mock.revoked_ids(), [first.id]);
    assert_eq!(first.device_label, second.device_label);
    assert_eq!(
        t.read("hosts.yml").unwrap(),
        mock_hosts_yml(&mock, &second.id)
    );
    assert_eq!(
        t.read("tokens.yml").unwrap(),
        tokens_yml(&mock, &second.token)
    );
}

#[test]
fn external_sso_success_line_and_context() {
    let mock = MockDify::with(
        MockConfig::default()
            .auto_approve()
            .sso("sso@corp.test", "https://idp.corp.test"),
    );
    let t = login(&mock);
    let host = mock.host();
    t.run()
        .code(0)
        .stdout(&format!(
            "✓ Logged in to {host} as sso@corp.test (external SSO, issuer: https://idp.corp.test)\n"
        ))
        .stderr(&mock_code_lines(&mock));
    let s = only_session(&mock);
    assert!(s.token.starts_with("dfoe_"));
    assert_eq!(
        t.read("hosts.yml").unwrap(),
        format!(
            "token_storage: file
current_host: {host}
hosts:
  {host}:
    scheme: http
    current_account: sso@corp.test
    accounts:
      sso@corp.test:
        account:
          id: ''
          email: ''
          name: ''
        token_id: {}
        token_expires_at: '{}'
        external_subject:
          email: sso@corp.test
          issuer: https://idp.corp.test
",
            s.id,
            token_expiry(&mock, &s.id)
        )
    );
    assert_eq!(
        t.read("tokens.yml").unwrap(),
        format!(
            "version: 1\ntokens:\n  {host}:\n    sso@corp.test: {}\n",
            s.token
        )
    );

    // Without an issuer the line says so.
    mock.configure(|c| c.sso.as_mut().unwrap().issuer = String::new());
    t.run()
        .stdout(&format!(
            "✓ Logged in to {host} as sso@corp.test (external SSO)\n"
        ))
        .stderr(&mock_code_lines(&mock));
}

#[test]
fn slow_down_adds_five_seconds_and_still_succeeds() {
    let mock = MockDify::with(MockConfig {
        slow_down_once: true,
        ..MockConfig::default()
    });
    let t = login(&mock);
    let running = t.spawn();
    let user_code = mock.wait_for_code();
    mock.wait_for_polls(2);
    // From now on a poll less than 5 s after the previous one is answered
    // `slow_down` again: the client must now wait 1 + 5 s (RFC 8628 §3.5), not
    // double its interval to 2 s (the official tool's rule).
    mock.configure(|c| c.interval = 5);
    let session = mock.approve(&user_code);
    running
        .finish()
        .code(0)
        .stdout(&success(&mock))
        .stderr(&mock_code_lines(&mock))
        .file("tokens.yml", &tokens_yml(&mock, &session.token));
    let answers: Vec<String> = mock.polls().into_iter().map(|p| p.answer).collect();
    assert_eq!(answers, ["authorization_pending", "slow_down", "token"]);
}

// --- failures: exact output, and the config dir exactly as it was ---------------

/// Runs a failing sign-in twice, in an empty config dir and next to another
/// context, and checks that neither changes a file.
fn fails_cleanly(mock: &MockDify, code: i32, stderr: &str) {
    let t = login(mock);
    t.run().code(code).stdout("").stderr(stderr);
    assert_no_config_dir(&t);

    let t = with_other_context(login(mock));
    let before = files(&t);
    let out = t.run().code(code).stdout("");
    assert_eq!(out.stderr, stderr);
    assert_eq!(files(&t), before);
}

#[test]
fn every_sign_in_method_exits_6_on_a_server_without_the_openapi() {
    // OPENAPI_ENABLED=false: every /openapi/v1 path is an HTML 404, while the
    // console sign-in still works. Nothing is written.
    let mock = MockDify::with(MockConfig {
        openapi_disabled: true,
        ..MockConfig::default()
    });
    let hint = "hint: the host needs OPENAPI_ENABLED=true; use the Dify API URL as --host\n";
    let device_flow = format!(
        "unsupported_endpoint: this Dify host does not implement the OAuth device flow\n{hint}\
         request: POST {}/openapi/v1/oauth/device/code\nhttp_status: 404\n",
        mock.url()
    );
    let account = |code: &str| {
        format!(
            "{code}: this Dify host does not implement the OpenAPI account endpoint \
             (GET /openapi/v1/account)\n{hint}request: GET {}/openapi/v1/account\n\
             http_status: 404\n",
            mock.url()
        )
    };
    let password: &[&str] = &[
        "--password",
        "--email",
        "tester@dify.ai",
        "--password-stdin",
    ];
    let cases = [
        (&["--no-browser"][..], "", device_flow.clone()),
        (password, "Passw0rd!", device_flow),
        (
            &["--with-token"],
            "dfoa_pasted",
            account("unsupported_endpoint"),
        ),
    ];
    let fails = |method: &[&str], stdin: &str, stderr: &str| {
        let t = with_other_context(Test::new()).args([
            "auth",
            "login",
            "--host",
            &mock.url(),
            "--insecure",
        ]);
        let before = files(&t);
        let mut cmd = t.command();
        cmd.args(method);
        t.run_command(cmd, stdin.as_bytes())
            .code(6)
            .stdout("")
            .stderr(stderr);
        assert_eq!(files(&t), before);
    };
    for (method, stdin, stderr) in &cases {
        fails(method, stdin, stderr);
    }
    // A server with the OpenAPI but without the route: its ErrorBody's code shows.
    mock.configure(|c| c.openapi_disabled = false);
    mock.fail_next("/openapi/v1/account", 1, 404);
    fails(&["--with-token"], "dfoa_pasted", &account("not_found"));
}

/// A mock whose codes are all `USER_CODE`, so a failure's stderr is known
/// before the run.
fn fixed(config: MockConfig) -> MockDify {
    MockDify::with(MockConfig {
        user_code: Some(USER_CODE.into()),
        ..config
    })
}

const USER_CODE: &str = "WXYZ-3456";

fn fixed_code_lines(mock: &MockDify) -> String {
    code_lines(USER_CODE, &format!("{}/device", mock.url()))
}

#[test]
fn denied_exits_4_and_writes_nothing() {
    // Denied in the browser while the CLI waits.
    let mock = MockDify::start();
    let t = with_other_context(login(&mock));
    let before = files(&t);
    let running = t.spawn();
    let user_code = mock.wait_for_code();
    mock.wait_for_polls(1);
    mock.deny(&user_code);
    running.finish().code(4).stdout("").stderr(&format!(
        "{}access_denied: authorization denied\n",
        mock_code_lines(&mock)
    ));
    assert_eq!(files(&t), before);

    // The server's `deny` switch (the first poll pending, then denied).
    let mock = fixed(MockConfig {
        deny: true,
        ..MockConfig::default()
    });
    let stderr = format!(
        "{}access_denied: authorization denied\n",
        fixed_code_lines(&mock)
    );
    fails_cleanly(&mock, 4, &stderr);
    assert!(mock.sessions().is_empty());
}

#[test]
fn expired_code_exits_4() {
    let mock = fixed(MockConfig {
        expire_codes: true,
        ..MockConfig::default()
    });
    let stderr = format!(
        "{}expired_token: code expired before authorization\n\
         hint: run 'difyctl auth login' again and approve the code within its lifetime\n",
        fixed_code_lines(&mock)
    );
    fails_cleanly(&mock, 4, &stderr);
}

#[test]
fn expires_in_is_honoured_on_the_client() {
    // The server announces 2 s but would keep the code pending for 15 min,
    // and never answers `slow_down`: only the client's own deadline stops it.
    let mock = MockDify::with(MockConfig {
        announced_expires_in: Some(2),
        timing_slow_down: false,
        ..MockConfig::default()
    });
    let t = login(&mock);
    // Spawned, so a client that polls on is killed by the watchdog.
    t.spawn().finish().code(4).stdout("").stderr(&format!(
        "{}expired_token: code expired before authorization\n\
             hint: run 'difyctl auth login' again and approve the code within its lifetime\n",
        mock_code_lines(&mock)
    ));
    assert_no_config_dir(&t);
    let polls = mock.polls();
    assert!(!polls.is_empty());
    assert!(
        polls.iter().all(|p| p.answer == "authorization_pending"),
        "{polls:?}"
    );
}

#[test]
fn no_device_flow_exits_6() {
    for flavour in [DeviceFlow::HtmlNotFound, DeviceFlow::JsonNotFound] {
        let mock = MockDify::with(MockConfig {
            device_flow: flavour,
            ..MockConfig::default()
        });
        // An ErrorBody's code is shown in place of the CLI's, as the official
        // tool's human format does.
        let code = match flavour {
            DeviceFlow::JsonNotFound => "not_found",
            _ => "unsupported_endpoint",
        };
        let stderr = format!(
            "{code}: this Dify host does not implement the OAuth device flow\n\
             hint: the host needs OPENAPI_ENABLED=true; use the Dify API URL as --host\n\
             request: POST {}/openapi/v1/oauth/device/code\n\
             http_status: 404\n",
            mock.url()
        );
        fails_cleanly(&mock, 6, &stderr);
    }
}

/// Something that is not Dify at the URL (a web page, another service):
/// said so, exit 6, nothing written.
#[test]
fn a_server_that_is_not_dify_exits_6() {
    use crate::support::tiny::Tiny;
    for (status, content_type, body) in [
        (501, "text/plain", "Not Implemented"),
        (
            200,
            "text/html",
            "<html><body>Welcome to nginx!</body></html>",
        ),
        (200, "application/json", r#"{"status":"ok"}"#),
        (405, "text/html", "<html>Method Not Allowed</html>"),
    ] {
        let server = Tiny::answer(status, content_type, body);
        let t = Test::new().args(login_args(&server.url()));
        t.run().code(6).stdout("").stderr(&format!(
            "unsupported_endpoint: not a Dify server (or no OpenAPI at this URL): the sign-in \
             request was answered with HTTP {status}\nhint: use the URL of the Dify API as \
             --host (difyctl adds /openapi/v1); the server needs OPENAPI_ENABLED=true\n\
             request: POST {}/openapi/v1/oauth/device/code\nhttp_status: {status}\n",
            server.url()
        ));
        assert_no_config_dir(&t);
        assert_eq!(server.heads().len(), 1, "{status}: one request, no retry");
    }
}

#[test]
fn rate_limited_device_code_exits_7() {
    let mock = MockDify::with(MockConfig {
        device_code_rate_limited: true,
        ..MockConfig::default()
    });
    let stderr = format!(
        "too_many_requests: rate_limited\n\
         request: POST {}/openapi/v1/oauth/device/code\n\
         http_status: 429\n",
        mock.url()
    );
    fails_cleanly(&mock, 7, &stderr);
}

#[test]
fn poll_5xx_after_retries_exits_1() {
    // Five polls answer 503 (waits of 1, 2, 4 and 8 s between them): 15 s.
    let mock = MockDify::start();
    mock.fail_next("/openapi/v1/oauth/device/token", 10, 503);
    let t = with_other_context(login(&mock));
    let before = files(&t);
    let out = t.run().code(1).stdout("");
    assert_eq!(
        out.stderr,
        format!(
            "{}{waits}unknown: device-flow poll unavailable after retries\n\
             request: POST {}/openapi/v1/oauth/device/token\n\
             http_status: 503\n",
            mock_code_lines(&mock),
            mock.url(),
            // Every wait over a second is said; the first (1 s) is not.
            waits = [2, 4, 8]
                .map(|n| format!(
                    "{} answered HTTP 503 while waiting for the approval; retrying in {n} s\n",
                    mock.host()
                ))
                .concat()
        )
    );
    assert_eq!(files(&t), before);
    assert_eq!(mock.requests_to("/openapi/v1/oauth/device/token").len(), 5);
}

#[test]
fn no_email_exits_4_and_writes_nothing() {
    let mock = fixed(MockConfig::default().auto_approve().no_email());
    let stderr = format!(
        "{}not_logged_in: account has no email; cannot store credential\n\
         hint: this Dify instance returned no email for the signed-in subject\n",
        fixed_code_lines(&mock)
    );
    fails_cleanly(&mock, 4, &stderr);
    // Both attempts' sessions were ended on the server, not left live.
    assert_eq!(mock.sessions().len(), 0);
    assert_eq!(mock.revoked_ids().len(), 2);
}

#[test]
fn http_host_without_insecure_exits_2() {
    let mock = auto();
    for host in [mock.url(), format!("HTTP://{}/", mock.host())] {
        let t = Test::new().args(["auth", "login", "--host", &host, "--no-browser"]);
        t.run().code(2).stdout("").stderr(
            "usage_invalid_flag: only https:// hosts are accepted\n\
             hint: add --insecure to allow http:// (local-dev only; user_code/device_code travel plaintext)\n",
        );
        assert_no_config_dir(&t);
    }
    assert!(mock.requests().is_empty());
}

#[test]
fn no_host_without_a_terminal_exits_2() {
    let expected = "usage_missing_arg: --host is required (no TTY)\n\
                    hint: pass the host explicitly, e.g. 'difyctl auth login --host cloud.dify.ai'\n";
    for args in [
        vec!["auth", "login"],
        vec!["auth", "login", "--host", "  ", "--insecure"],
    ] {
        let t = with_other_context(Test::new().args(args));
        let before = files(&t);
        t.run().code(2).stdout("").stderr(expected);
        assert_eq!(files(&t), before);
    }
}

#[test]
fn unreachable_host_exits_1() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let t = Test::new().args(login_args(&url));
    let request = format!("POST {url}/openapi/v1/oauth/device/code");
    t.run().code(1).stdout("").stderr(&format!(
        "network_connection: cannot connect to {host}: connection refused\nhint: is the server \
         running, and is this its port?\nrequest: {request}\n",
        host = url.trim_start_matches("http://")
    ));
    assert_no_config_dir(&t);
}

#[test]
fn a_corrupt_hosts_file_fails_before_anything_is_stored() {
    let mock = auto();
    let t = login(&mock)
        .hosts("hosts: [unclosed\n")
        .tokens(other_tokens());
    let before = files(&t);
    let out = t.run().code(1).stdout("");
    let path = t.config_dir().join("hosts.yml");
    assert!(
        out.stderr.contains(&format!(
            "client_error: Failed to parse YAML file {}",
            path.display()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(files(&t), before);
}

// --- what the server sends is checked and sanitised ---------------------------

#[test]
fn hostile_user_code_and_name_are_sanitised() {
    let mock = MockDify::with(MockConfig {
        user_code: Some("AB\u{1b}[31mCD-\u{1b}]0;pwned\u{7}EF\nGH".into()),
        ..MockConfig::default()
            .auto_approve()
            .name("Evil\u{1b}[2J\n✓ Name")
    });
    login(&mock)
        .run()
        .code(0)
        .stderr(&code_lines("ABCD-EF GH", &format!("{}/device", mock.url())))
        .stdout(&format!(
            "✓ Logged in to {} as tester@dify.ai (Evil ✓ Name)\n  Workspace: Acme Team\n",
            mock.host()
        ));
}

#[test]
fn verification_uri_must_be_a_web_page() {
    for (uri, shown, message, hint) in [
        (
            "javascript:alert(1)",
            "javascript:alert(1)",
            "server returned verification_uri with unsupported scheme \"javascript\"",
            "hint: expected https:// (use --insecure to allow http:// on local-dev hosts)\n",
        ),
        (
            "ftp://127.0.0.1/device",
            "ftp://127.0.0.1/device",
            "server returned verification_uri with unsupported scheme \"ftp\"",
            "hint: expected https:// (use --insecure to allow http:// on local-dev hosts)\n",
        ),
        (
            "http://127.0.0.1/dev\u{1b}]0;pwned\u{7}ice\n✓ fake",
            "http://127.0.0.1/device ✓ fake",
            "server returned an invalid verification_uri",
            "",
        ),
    ] {
        let mock = MockDify::with(MockConfig {
            verification_uri: Some(uri.into()),
            ..MockConfig::default()
        });
        let t = with_other_context(login(&mock));
        let before = files(&t);
        let out = t.run().code(1).stdout("");
        let (_, user_code) = mock.codes().pop().unwrap();
        assert_eq!(
            out.stderr,
            format!(
                "! Copy this one-time code: {user_code}\n  Open: {shown}\nunknown: {message}\n{hint}"
            )
        );
        assert_eq!(files(&t), before);
        // It stopped before polling.
        assert!(mock.polls().is_empty());
    }
}

#[test]
fn browser_skip_reasons() {
    let mock = auto();
    let reason = |env: &[(&str, &str)]| {
        let mut t = Test::new().args(["auth", "login", "--host", &mock.url(), "--insecure"]);
        for (k, v) in env {
            t = t.env(k, v);
        }
        let out = t.run().code(0);
        out.stderr.lines().nth(2).unwrap_or_default().to_string()
    };
    assert_eq!(
        reason(&[]),
        "! Headless Linux (no DISPLAY / WAYLAND_DISPLAY) — open the URL above manually"
    );
    assert_eq!(
        reason(&[
            ("DISPLAY", ":0"),
            ("SSH_CONNECTION", "10.0.0.1 22 10.0.0.2 22")
        ]),
        "! Detected SSH session — open the URL above manually"
    );
    // Output is piped here, so never a browser.
    assert_eq!(
        reason(&[("DISPLAY", ":0")]),
        "! Non-interactive TTY — open the URL above manually"
    );
}

/// `$BROWSER` is used first, wherever the command runs (here in a pipe on a
/// headless machine): the first of its commands that starts gets the URL,
/// in place of `%s` or as the last argument. The "browser" here is curl,
/// so its visit to the verification page shows up at the mock.
#[test]
fn browser_variable_receives_the_url() {
    if !crate::support::tools::available("curl") {
        return;
    }
    for browser in [
        "curl -s -o /dev/null",
        "/nonexistent/browser --new-tab:curl -s -o /dev/null %s?from=browser",
    ] {
        let mock = auto();
        let t = Test::new()
            .args(["auth", "login", "--host", &mock.url(), "--insecure"])
            .env("BROWSER", browser);
        let out = t.run().code(0);
        out.stderr(&format!(
            "! Copy this one-time code: {}\n  Open: {}/device\n",
            mock.codes().pop().unwrap().1,
            mock.url()
        ));
        let visit = mock.wait_for_request("GET", "/device");
        let expected = if browser.contains("%s") {
            "/device?from=browser"
        } else {
            "/device"
        };
        assert_eq!(visit.path, expected, "{browser}");
    }
}

/// A `$BROWSER` that cannot be started is one line naming it and the URL;
/// the sign-in goes on.
#[test]
fn a_browser_that_cannot_start_is_one_line() {
    let mock = auto();
    let t = Test::new()
        .args(["auth", "login", "--host", &mock.url(), "--insecure"])
        .env("BROWSER", "/nonexistent/firefox");
    let out = t.run().code(0);
    out.stderr(&format!(
        "! Copy this one-time code: {code}\n  Open: {url}/device\n! could not start $BROWSER \
         (/nonexistent/firefox: not found); open {url}/device manually\n",
        code = mock.codes().pop().unwrap().1,
        url = mock.url()
    ));
}

/// On a terminal with a display but no opener installed: one friendly line
/// with the URL, not an OS error.
#[test]
fn a_missing_opener_is_one_friendly_line() {
    let mock = auto();
    let t = Test::new();
    // Set by the shell for difyctl alone: `script` itself needs the PATH.
    let line = format!(
        "PATH=/nonexistent DISPLAY=:0 {}",
        crate::support::pty::command_line(&["auth", "login", "--host", &mock.url(), "--insecure"])
    );
    let Some(pty) = crate::support::pty::Pty::shell_env(&t, &line, &[("NO_COLOR", "1")]) else {
        return;
    };
    pty.wait_for(&format!(
        "! no browser opener found (xdg-open is not installed; set BROWSER to choose one); open \
         {}/device manually",
        mock.url()
    ));
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Logged in to"), "{screen}");
}

// --- Ctrl-C and idling ------------------------------------------------------

#[test]
fn ctrl_c_while_waiting_exits_130_and_changes_nothing() {
    for existing in [false, true] {
        let mock = MockDify::start();
        let mut t = login(&mock);
        if existing {
            t = with_other_context(t);
        }
        let before = files(&t);
        let running = t.spawn();
        mock.wait_for_polls(1);
        running.signal("INT");
        // The handler ends the line it interrupted, nothing more.
        running
            .finish()
            .code(130)
            .stdout("")
            .stderr(&format!("{}\n", mock_code_lines(&mock)));
        assert_eq!(files(&t), before);
        if !existing {
            assert_no_config_dir(&t);
        }
        // The code is still pending on the server: nothing was approved or stored.
        assert!(mock.sessions().is_empty());
    }
}

#[test]
fn a_pending_sign_in_sleeps() {
    let mock = MockDify::start();
    let t = login(&mock);
    let running = t.spawn();
    mock.wait_for_polls(2);
    let at_second_poll = running.cpu_ticks();
    // Four more intervals of 1 s of waiting.
    mock.wait_for_polls(6);
    let at_sixth_poll = running.cpu_ticks();
    running.signal("INT");
    running
        .finish()
        .code(130)
        .stdout("")
        .stderr(&format!("{}\n", mock_code_lines(&mock)));
    let waiting = at_sixth_poll - at_second_poll;
    let ticks_per_second: u64 = String::from_utf8(
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    eprintln!(
        "CPU while pending: {waiting} ticks in 4 poll intervals ({} ms); {at_sixth_poll} ticks in all",
        waiting * 1000 / ticks_per_second
    );
    // A busy loop would burn all of the ~4 s; a sleeping one a few ms.
    assert!(
        waiting * 1000 / ticks_per_second < 300,
        "{waiting} ticks of CPU in 4 poll intervals"
    );
    let polls = mock.polls();
    assert!(
        polls.iter().all(|p| p.answer == "authorization_pending"),
        "{polls:?}"
    );
}
