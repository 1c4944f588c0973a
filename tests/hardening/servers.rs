//! Hostile or broken servers (the mock's `hostile` and `hang` switches):
//! oversized, non-JSON and wrong-shape bodies, redirects, escape sequences in
//! every server string, a server that never answers, a slow drip.

use std::time::Duration;

use crate::assert_clean;
use crate::support::fixtures::{login_args, signed_in, with_other_context};
use crate::support::mock::{DEFAULT_WORKSPACE_ID, Hostile, MockConfig, MockDify};
use crate::support::runner::Test;
use serde_json::{Value, json};

/// A second server where a redirect points: it must never see a request.
fn trap() -> MockDify {
    MockDify::start()
}

/// The answers every hostile path is tried with, and the first line of the
/// error each must give (`{url}` is the request URL).
fn broken_answers(trap: &MockDify) -> Vec<(&'static str, Hostile)> {
    vec![
        ("oversized", Hostile::Oversized(5 * 1024 * 1024)),
        (
            "html",
            Hostile::body(
                "text/html",
                "<html><body>\u{1b}[2J maintenance</body></html>",
            ),
        ),
        (
            "wrong shape",
            Hostile::json(&json!({"data": [1, 2], "token": 7, "account": "x"})),
        ),
        ("a list", Hostile::json(&json!([]))),
        ("empty", Hostile::json(&json!({}))),
        (
            "redirect",
            Hostile::Redirect(format!("{}/openapi/v1/account", trap.url())),
        ),
    ]
}

/// Runs `args` in `t` and checks what every hostile answer must give: the
/// exit code, nothing on stdout, a clean stderr, no file changed, no request
/// at the trap. Returns stderr.
#[track_caller]
fn fails_cleanly(t: &Test, args: &[&str], code: i32, trap: &MockDify) -> String {
    let before = t.snapshot();
    let out = t.run_args(args);
    assert_eq!(out.exit_code(), Some(code), "{args:?}\n{}", out.stderr);
    assert_eq!(out.stdout, "", "{args:?}");
    let stderr = out.stderr.to_string();
    assert_clean(&stderr);
    assert!(stderr.len() < 2000, "a bounded message: {stderr}");
    assert_eq!(t.snapshot(), before, "{args:?} changed files");
    assert!(
        trap.requests().is_empty(),
        "a request reached the redirect target"
    );
    stderr
}

#[test]
fn a_broken_device_flow_server_gives_a_clear_error_and_writes_nothing() {
    let trap = trap();
    let mut seen = Vec::new();
    for path in [
        "/openapi/v1/oauth/device/code",
        "/openapi/v1/oauth/device/token",
    ] {
        for (what, answer) in broken_answers(&trap) {
            let mock = MockDify::with(MockConfig::default().auto_approve().hostile(path, answer));
            let t = with_other_context(Test::new());
            let args = login_args(&mock);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            // A device-code answer in no shape of Dify's is someone else: exit 6.
            let not_dify = path.ends_with("/code")
                && matches!(what, "html" | "wrong shape" | "a list" | "empty");
            let stderr = fails_cleanly(&t, &args, if not_dify { 6 } else { 1 }, &trap);
            let error = stderr
                .lines()
                .find(|l| !l.starts_with('!') && !l.starts_with("  Open:"))
                .unwrap()
                .replace(&mock.url(), "URL");
            seen.push(format!("{path} {what}: {error}"));
        }
    }
    let seen = seen.join("\n");
    let expected = "\
/openapi/v1/oauth/device/code oversized: unknown: response from POST URL/openapi/v1/oauth/device/code exceeds 4 MiB
/openapi/v1/oauth/device/code html: unsupported_endpoint: not a Dify server (or no OpenAPI at this URL): the sign-in request was answered with HTTP 200
/openapi/v1/oauth/device/code wrong shape: unsupported_endpoint: not a Dify server (or no OpenAPI at this URL): the sign-in request was answered with HTTP 200
/openapi/v1/oauth/device/code a list: unsupported_endpoint: not a Dify server (or no OpenAPI at this URL): the sign-in request was answered with HTTP 200
/openapi/v1/oauth/device/code empty: unsupported_endpoint: not a Dify server (or no OpenAPI at this URL): the sign-in request was answered with HTTP 200
/openapi/v1/oauth/device/code redirect: server_4xx_other: unexpected redirect (HTTP 302) to TRAP/openapi/v1/account
/openapi/v1/oauth/device/token oversized: unknown: response from POST URL/openapi/v1/oauth/device/token exceeds 4 MiB
/openapi/v1/oauth/device/token html: unknown: decode poll response: expected value at line 1 column 1
/openapi/v1/oauth/device/token wrong shape: unknown: poll: 200 with no OAuth envelope
/openapi/v1/oauth/device/token a list: unknown: poll: 200 with no OAuth envelope
/openapi/v1/oauth/device/token empty: unknown: poll: 200 with no OAuth envelope
/openapi/v1/oauth/device/token redirect: server_4xx_other: unexpected redirect (HTTP 302) to TRAP/openapi/v1/account";
    assert_eq!(seen, expected.replace("TRAP", &trap.url()));
}

#[test]
fn a_broken_server_behind_a_signed_in_context_gives_clear_errors() {
    let trap = trap();
    let mut seen = Vec::new();
    let commands: [(&str, &[&str]); 5] = [
        ("/openapi/v1/account", &["auth", "status"]),
        ("/openapi/v1/account/sessions", &["auth", "devices", "list"]),
        (
            "/openapi/v1/account/sessions",
            &["auth", "devices", "revoke", "--all"],
        ),
        (
            "/openapi/v1/workspaces",
            &["use", "workspace", DEFAULT_WORKSPACE_ID],
        ),
        ("/openapi/v1/account", &["api", "account"]),
    ];
    for (path, args) in commands {
        for (what, answer) in broken_answers(&trap) {
            let body = match &answer {
                Hostile::Body { body, .. } => body.clone(),
                _ => String::new(),
            };
            let mock = MockDify::with(MockConfig::default().hostile(path, answer));
            let (t, _) = signed_in(&mock);
            let before = t.snapshot();
            let out = t.run_args(args);
            assert_clean(&out.stderr);
            assert!(out.stderr.len() < 2000, "a bounded message: {}", out.stderr);
            assert!(
                trap.requests().is_empty(),
                "a request reached the redirect target"
            );
            assert_eq!(t.snapshot(), before, "{args:?} changed files");
            let code = out.exit_code().unwrap();
            let first = if code == 0 && args[0] == "api" {
                assert_eq!((out.stdout.as_str(), &*out.stderr), (body.as_str(), ""));
                "(the body)".to_string()
            } else {
                assert_ne!(code, 0);
                // `api` still prints an error response's body for scripts.
                if args[0] != "api" {
                    assert_eq!(out.stdout, "", "{args:?}");
                }
                out.stderr
                    .lines()
                    .next()
                    .unwrap()
                    .replace(&mock.url(), "URL")
            };
            seen.push(format!("{} | {what}: {code} {first}", args.join(" ")));
        }
    }
    // `api` hands any 2xx body to the script as it came (it is data, never
    // sanitised); every other command refuses what a Dify server never sends.
    let expected = "\
auth status | oversized: 1 unknown: response from GET URL/openapi/v1/account exceeds 4 MiB
auth status | html: 1 unknown: decode account response: expected value at line 1 column 1
auth status | wrong shape: 1 unknown: decode account response: it names no account
auth status | a list: 1 unknown: decode account response: it names no account
auth status | empty: 1 unknown: decode account response: it names no account
auth status | redirect: 1 server_4xx_other: unexpected redirect (HTTP 302) to TRAP/openapi/v1/account
auth devices list | oversized: 1 unknown: response from GET URL/openapi/v1/account/sessions?page=1&limit=20 exceeds 4 MiB
auth devices list | html: 1 unknown: decode sessions response: expected value at line 1 column 1
auth devices list | wrong shape: 1 unknown: decode sessions response: invalid type: integer `1`, expected struct Session
auth devices list | a list: 1 unknown: decode sessions response: expected a JSON object
auth devices list | empty: 1 unknown: decode sessions response: it has no data list
auth devices list | redirect: 1 server_4xx_other: unexpected redirect (HTTP 302) to TRAP/openapi/v1/account
auth devices revoke --all | oversized: 1 unknown: response from GET URL/openapi/v1/account/sessions?page=1&limit=200 exceeds 4 MiB
auth devices revoke --all | html: 1 unknown: decode sessions response: expected value at line 1 column 1
auth devices revoke --all | wrong shape: 1 unknown: decode sessions response: invalid type: integer `1`, expected struct Session
auth devices revoke --all | a list: 1 unknown: decode sessions response: expected a JSON object
auth devices revoke --all | empty: 1 unknown: decode sessions response: it has no data list
auth devices revoke --all | redirect: 1 server_4xx_other: unexpected redirect (HTTP 302) to TRAP/openapi/v1/account
use workspace WS | oversized: 1 unknown: response from POST URL/openapi/v1/workspaces/WS/switch exceeds 4 MiB
use workspace WS | html: 1 unknown: decode workspace switch response: expected value at line 1 column 1
use workspace WS | wrong shape: 1 unknown: decode workspace switch response: no workspace id
use workspace WS | a list: 1 unknown: decode workspace switch response: no workspace id
use workspace WS | empty: 1 unknown: decode workspace switch response: no workspace id
use workspace WS | redirect: 1 server_4xx_other: unexpected redirect (HTTP 302) to TRAP/openapi/v1/account
api account | oversized: 1 unknown: response from GET URL/openapi/v1/account exceeds 4 MiB
api account | html: 0 (the body)
api account | wrong shape: 0 (the body)
api account | a list: 0 (the body)
api account | empty: 0 (the body)
api account | redirect: 1 server_4xx_other: unexpected redirect (HTTP 302) to TRAP/openapi/v1/account";
    assert_eq!(
        seen.join("\n"),
        expected
            .replace("TRAP", &trap.url())
            .replace("WS", DEFAULT_WORKSPACE_ID)
    );
}

#[test]
fn escape_sequences_from_the_server_never_reach_the_terminal() {
    let evil = |s: &str| format!("{s}\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{202e}\r\u{8}!");
    let email = format!("ev{}@x.io", "\u{1b}[31m\u{9b}1m");
    let mut config = MockConfig::default().auto_approve().name(&evil("Eve"));
    config.account.email = email.clone();
    config.workspaces[0].name = evil("Acme");
    config.user_code = Some(evil("AB12-CD34"));
    let mock = MockDify::with(config);
    let label = evil("laptop");
    mock.add_session(&label);
    let t = Test::new();

    let mut outputs = Vec::new();
    let login = login_args(&mock);
    outputs.push(t.run_args(&login).code(0));
    for args in [
        &["auth", "whoami"][..],
        &["auth", "whoami", "--json"],
        &["auth", "list"],
        &["auth", "list", "-o", "json"],
        &["auth", "list", "-o", "yaml"],
        &["auth", "list", "-o", "name"],
        &["auth", "status"],
        &["auth", "status", "--json"],
        &["auth", "devices", "list"],
        &["auth", "devices", "list", "--json"],
        &["use", "workspace", DEFAULT_WORKSPACE_ID],
        &["use", "account", "--email", &email],
        &["auth", "logout", "-v"],
    ] {
        outputs.push(t.run_args(args).code(0));
    }
    for out in &outputs {
        assert_clean(&out.stdout);
        assert_clean(&out.stderr);
    }
    // JSON keeps the strings whole (escaped), so scripts lose nothing.
    let whoami: Value = serde_json::from_str(&outputs[2].stdout).unwrap();
    assert_eq!(whoami["name"], evil("Eve"));
    assert_eq!(whoami["email"], email);
    let sessions: Value = serde_json::from_str(&outputs[10].stdout).unwrap();
    assert!(
        sessions["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["device_label"] == label.as_str())
    );
    // The human forms keep the visible text, and show the invisible.
    assert!(
        outputs[0].stdout.contains("as ev@x.io (Eve\\u{202e}!)"),
        "{}",
        outputs[0].stdout
    );
}

#[test]
fn a_server_that_never_answers_or_drips_times_out_after_30_s() {
    // The one slow test: the real 30 s budget, both servers at once.
    let code_path = "/openapi/v1/oauth/device/code";
    let hang = MockDify::with(MockConfig {
        hang: Some(code_path.into()),
        ..MockConfig::default()
    });
    // One byte per 200 ms of an announced 1 MiB: it would take 58 hours.
    let drip = MockDify::with(
        MockConfig::default().hostile(code_path, Hostile::Drip(Duration::from_millis(200))),
    );
    let tests: Vec<(Test, &MockDify)> = [&hang, &drip]
        .into_iter()
        .map(|m| (with_other_context(Test::new()).args(login_args(m)), m))
        .collect();
    let before = tests[0].0.snapshot();
    let running: Vec<_> = tests.iter().map(|(t, _)| t.spawn()).collect();
    for (run, (t, mock)) in running.into_iter().zip(&tests) {
        let url = format!("{}{code_path}", mock.url());
        run.finish().code(1).stdout("").stderr(&format!(
            "network_connection: {} did not answer within 30 s\nrequest: POST {url}\n",
            mock.host()
        ));
        assert_eq!(
            mock.requests_to(code_path).len(),
            1,
            "one attempt: POST is never retried"
        );
        assert_eq!(t.snapshot(), before);
    }
}
