//! Hardening (issue 9): under load, faults and bad input difyctl keeps
//! working, loses nothing and leaks no token.
//!
//! * Concurrency: twenty sign-ins to twenty hosts at once, with switches and
//!   reads running all the while.
//! * Hostile or broken servers (the mock's `hostile` and `hang` switches):
//!   oversized, non-JSON and wrong-shape bodies, redirects, escape sequences in
//!   every server string, a server that never answers, a slow drip.
//! * Secrets: a server echoing the bearer back, `tokens.yml` permissions, the
//!   config dir's mode.
//! * Bad local input: every flag and argument with wrong, empty, huge and
//!   non-UTF-8 values, bad environment values, broken or odd store files.
//!
//! Crash safety (SIGKILL at every file-system call and at random moments)
//! is in crash.rs.
//!
//! A panic anywhere fails every test (support::runner::assert_no_crash).
//!
//! Already proven elsewhere and not repeated: twenty concurrent `use`
//! switches (local.rs), a held lock waited for then reported and a stale one
//! taken over (local.rs), a read-only config dir (local.rs), corrupt and
//! schema-invalid `hosts.yml` and `tokens.yml` (local.rs), hostile user codes,
//! names and `javascript:`/`ftp:`/escape-laden verification URIs (login.rs),
//! hostile session labels (devices.rs), tokens absent from verbose output of
//! login, logout and the headless methods (login.rs, logout.rs, headless.rs),
//! bad stdin for the headless methods (headless.rs), the client's redirect,
//! body-cap and retry rules at the library level (src/dify/client.rs).

mod support;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use difyctl::cli::spec::{self, GLOBAL_FLAGS, Node};
use serde_json::{Value, json};
use support::fixtures::{
    OTHER_HOSTS, login_args, signed_in, two_hosts, with_other_context, with_token_args,
};
use support::mock::{DEFAULT_WORKSPACE_ID, Hostile, MockConfig, MockDify};
use support::runner::{Outcome, Test, assert_no_crash, mode, set_mode};

// ---------------------------------------------------------------------------
// Helpers

/// Nothing that could drive a terminal: no control character but newline
/// and tab (escape sequences start with one), no bidi override.
#[track_caller]
fn assert_clean(text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| {
            (c.is_control() && !matches!(c, '\n' | '\t'))
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(bad.is_empty(), "unsanitised {bad:?} in:\n{text}");
}

// ---------------------------------------------------------------------------
// Concurrency

#[test]
fn twenty_parallel_sign_ins_with_switches_and_reads_lose_nothing() {
    let mocks: Vec<MockDify> = (0..20)
        .map(|i| {
            MockDify::with(
                MockConfig::default()
                    .auto_approve()
                    .email(&format!("u{i}@x.io")),
            )
        })
        .collect();
    let t = with_other_context(Test::new());
    let hosts_file = t.config_dir().join("hosts.yml");
    let done = AtomicBool::new(false);
    let reads = AtomicUsize::new(0);

    std::thread::scope(|s| {
        // While the sign-ins run: list, whoami and switch in a loop, and read
        // hosts.yml directly (no lock), which must parse every time.
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                let list = t.run_args(["auth", "list", "-o", "json"]).code(0).json();
                assert!(!list["contexts"].as_array().unwrap().is_empty());
                t.run_args(["auth", "whoami"]).code(0);
                reads.fetch_add(1, Ordering::SeqCst);
            }
        });
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
                    .code(0)
                    .stdout("✓ Active host is now cloud.dify.ai\n");
                reads.fetch_add(1, Ordering::SeqCst);
            }
        });
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                let text = fs::read_to_string(&hosts_file).unwrap();
                let doc: serde_yaml::Value = serde_yaml::from_str(&text)
                    .unwrap_or_else(|e| panic!("hosts.yml read mid-write: {e}\n{text}"));
                assert!(doc["hosts"]["cloud.dify.ai"].is_mapping(), "{text}");
                reads.fetch_add(1, Ordering::SeqCst);
            }
        });

        let children: Vec<_> = mocks
            .iter()
            .map(|m| {
                let mut cmd = t.command();
                cmd.args(login_args(m))
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                cmd.spawn().unwrap()
            })
            .collect();
        for (i, (child, mock)) in children.into_iter().zip(&mocks).enumerate() {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_no_crash(out.status, &stderr);
            assert_eq!(out.status.code(), Some(0), "{stderr}");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                format!(
                    "✓ Logged in to {} as u{i}@x.io (Tester)\n  Workspace: Acme Team\n",
                    mock.host()
                )
            );
        }
        done.store(true, Ordering::SeqCst);
    });
    assert!(reads.load(Ordering::SeqCst) >= 3);

    // Every context is there, with the token its server handed out.
    let got: BTreeSet<(String, String)> = t.contexts().into_iter().collect();
    let mut want: BTreeSet<(String, String)> = mocks
        .iter()
        .enumerate()
        .map(|(i, m)| (m.host(), format!("u{i}@x.io")))
        .collect();
    want.insert(("cloud.dify.ai".into(), "alice@example.com".into()));
    assert_eq!(got, want);
    let tokens: serde_yaml::Value = serde_yaml::from_str(&t.read("tokens.yml").unwrap()).unwrap();
    assert_eq!(
        tokens["tokens"]["cloud.dify.ai"]["alice@example.com"],
        "dfoa_alice"
    );
    for (i, m) in mocks.iter().enumerate() {
        let sessions = m.sessions();
        assert_eq!(sessions.len(), 1);
        assert_eq!(
            tokens["tokens"][m.host().as_str()][format!("u{i}@x.io").as_str()],
            sessions[0].token.as_str()
        );
        t.run_args(["auth", "token", "--host", &m.host()])
            .code(0)
            .stdout(&format!("{}\n", sessions[0].token));
    }
    assert_eq!(
        t.leftovers(),
        Vec::<String>::new(),
        "no lock or temp file left"
    );
}

// ---------------------------------------------------------------------------
// Hostile or broken servers

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
    let (got, stdout, stderr) = (out.code, out.stdout, out.stderr);
    assert_eq!(got, Some(code), "{args:?}\n{stderr}");
    assert_eq!(stdout, "", "{args:?}");
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
            let stderr = fails_cleanly(&t, &args, 1, &trap);
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
/openapi/v1/oauth/device/code html: unknown: decode device/code response: expected value at line 1 column 1
/openapi/v1/oauth/device/code wrong shape: unknown: decode device/code response: missing field `device_code` at line 1 column 38
/openapi/v1/oauth/device/code a list: unknown: decode device/code response: invalid length 0, expected struct DeviceCode with 5 elements at line 1 column 2
/openapi/v1/oauth/device/code empty: unknown: decode device/code response: missing field `device_code` at line 1 column 2
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
            let code = out.code.unwrap();
            let first = if code == 0 && args[0] == "api" {
                assert_eq!(
                    (out.stdout.as_str(), out.stderr.as_str()),
                    (body.as_str(), "")
                );
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
            "network_connection: POST {url}: timed out after 30 s\nrequest: POST {url}\n"
        ));
        assert_eq!(
            mock.requests_to(code_path).len(),
            1,
            "one attempt: POST is never retried"
        );
        assert_eq!(t.snapshot(), before);
    }
}

// ---------------------------------------------------------------------------
// Secrets

/// Commands that send the stored bearer, each ending in an error when the
/// server echoes it back; `auth logout` comes last (it clears the context).
fn bearer_commands() -> Vec<Vec<&'static str>> {
    vec![
        vec!["auth", "status", "-v"],
        vec!["auth", "status", "--json", "-v"],
        vec!["auth", "devices", "list", "-v"],
        vec!["auth", "devices", "list", "--json", "-v"],
        vec!["auth", "devices", "revoke", "--all", "-y", "-v"],
        vec!["use", "workspace", DEFAULT_WORKSPACE_ID, "-v"],
        vec!["api", "account", "-v"],
        vec!["auth", "logout", "-v"],
    ]
}

/// `secret` appears nowhere in what `args` printed; `api` prints the server's
/// body as data, so only its stderr counts.
#[track_caller]
fn assert_secret_kept(out: &Outcome, args: &[&str], secret: &str) {
    assert!(
        !out.stderr.contains(secret),
        "{args:?} leaked on stderr:\n{}",
        out.stderr
    );
    if args[0] != "api" {
        assert!(
            !out.stdout.contains(secret),
            "{args:?} leaked on stdout:\n{}",
            out.stdout
        );
    }
    assert_clean(&out.stderr);
}

#[test]
fn a_server_echoing_the_bearer_back_never_gets_it_shown() {
    for status in [400, 401, 403, 500] {
        let mock = MockDify::with(MockConfig::default().hostile("", Hostile::EchoBearer(status)));
        let (t, session) = signed_in(&mock);
        let secret = &session.token["dfoa_".len()..];
        for args in bearer_commands() {
            let out = t.run_args(&args);
            // A failed revoke still signs out locally (with a warning).
            let want = if args[1] == "logout" { 0 } else { 1 };
            assert_eq!(
                out.code.map(|c| c.min(1)),
                Some(want),
                "{args:?}: {}",
                out.stderr
            );
            assert_secret_kept(&out, &args, secret);
        }
        // The server really had it, in every request but those asking the
        // server about itself (which carry no bearer).
        assert!(
            mock.requests()
                .iter()
                .filter(|r| !matches!(
                    r.path_only(),
                    "/openapi/v1/_catalog" | "/openapi/v1/_version"
                ))
                .all(|r| r
                    .header("authorization")
                    .is_some_and(|h| h.contains(secret)))
        );
        // Pasted in: the same for --with-token.
        let t = Test::new().stdin(session.token.clone());
        let mut args = with_token_args(&mock);
        args.push("-v".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = t.run_args(&args);
        assert_ne!(out.code, Some(0));
        assert_secret_kept(&out, &args, secret);
    }
}

/// Server text that holds some other token (not the request's own bearer,
/// so only the pattern redaction can catch it): in an error body, an
/// unreadable poll answer and a decode error, with and without `-v`/`--json`.
#[test]
fn tokens_the_server_leaks_are_redacted_wherever_they_show() {
    let leak = json!({
        "code": "internal_error",
        "message": "session dfoa_LeakedOne1 belongs to Bearer LeakedTwo2",
        "hint": "retry with dfoe_LeakedThree3",
        "status": 500,
    });
    let leaked = ["LeakedOne1", "LeakedTwo2", "LeakedThree3", "LeakedPoll4"];
    let kept = |out: &Outcome, args: &[&str]| {
        for secret in leaked {
            assert_secret_kept(out, args, secret);
        }
    };

    let mock = MockDify::with(MockConfig::default().hostile(
        "/openapi/v1/account",
        Hostile::Body {
            status: 500,
            content_type: "application/json".into(),
            body: leak.to_string(),
        },
    ));
    let (t, _) = signed_in(&mock);
    for args in [
        &["auth", "status"][..],
        &["auth", "status", "-v"],
        &["auth", "status", "--json", "-v"],
        &["api", "account", "-v"],
    ] {
        let out = t.run_args(args);
        assert_ne!(out.code, Some(0), "{args:?}: {}", out.stderr);
        kept(&out, args);
        assert!(
            out.stderr.contains("[redacted]") || out.stdout.contains("[redacted]"),
            "{args:?} shows the server's text, redacted:\n{}{}",
            out.stdout,
            out.stderr
        );
    }

    // A poll answer that carries a token in a shape we cannot read.
    let poll = "/openapi/v1/oauth/device/token";
    for body in [
        json!({"token": "dfoa_LeakedPoll4", "expires_at": "tomorrow", "account": 7}),
        json!({"access_token": "dfoa_LeakedPoll4", "token_type": 42}),
    ] {
        let mock = MockDify::with(
            MockConfig::default()
                .auto_approve()
                .hostile(poll, Hostile::json(&body)),
        );
        let t = with_other_context(Test::new());
        let mut args = login_args(&mock);
        args.push("-v".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let before = t.snapshot();
        let out = t.run_args(&args);
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        kept(&out, &args);
        assert_eq!(t.snapshot(), before);
    }
}

#[test]
fn a_dify_token_of_any_form_is_never_shown_either() {
    // DIFY_TOKEN takes any bearer, not only dfoa_ ones that redaction knows.
    let secret = "opaque-Secret-Value-42";
    for status in [400, 401, 500] {
        let mock = MockDify::with(MockConfig::default().hostile("", Hostile::EchoBearer(status)));
        let t = Test::new()
            .env("DIFY_TOKEN", secret)
            .env("DIFY_HOST", mock.url())
            .env("DIFY_INSECURE", "1");
        for args in bearer_commands() {
            if args[1] == "logout" {
                continue; // refused for DIFY_TOKEN before any request
            }
            let out = t.run_args(&args);
            assert_ne!(out.code, Some(0), "{args:?}: {}", out.stderr);
            assert_secret_kept(&out, &args, "Secret-Value-42");
        }
        assert!(!mock.requests().is_empty());
    }
}

#[test]
fn a_token_file_others_can_read_is_reported_then_tightened() {
    let mock = MockDify::start();
    let (t, session) = signed_in(&mock);
    let tokens = t.config_dir().join("tokens.yml");
    set_mode(&tokens, 0o644);
    let warning = format!(
        "! {p} holds tokens but other users may read it (mode 0644); it is made 0600 on the next write, or run 'chmod 600 {p}'\n",
        p = tokens.display()
    );
    // Every command that reads a token says so, and reading changes nothing.
    t.run_args(["auth", "token"])
        .code(0)
        .stdout(&format!("{}\n", session.token))
        .stderr(&warning);
    t.run_args(["auth", "status"]).code(0).stderr(&warning);
    t.run_args(["use", "account", "--email", "tester@dify.ai"])
        .code(0)
        .stderr(&warning);
    assert_eq!(mode(&tokens), 0o644);
    // Commands that do not read tokens stay quiet.
    t.run_args(["auth", "whoami"]).code(0).stderr("");
    // The next write of tokens.yml makes it private again.
    let other = MockDify::start();
    let s2 = other.add_session("difyctl on ci");
    let mut cmd = t.command();
    cmd.args(with_token_args(&other));
    let out = t.run_command(cmd, s2.token.as_bytes());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(mode(&tokens), 0o600);
    t.run_args(["auth", "token"]).code(0).stderr("");
}

#[test]
fn the_config_dir_and_its_parents_are_created_private_whatever_the_umask() {
    let mock = MockDify::start();
    let session = mock.add_session("difyctl on ci");
    let t = Test::new();
    let base = t.dir.path().join("deep");
    let config = base.join("a").join("difyctl");
    let mut cmd = t.command_under("sh", &["-c", "umask 000; exec \"$0\" \"$@\""]);
    cmd.env("DIFY_CONFIG_DIR", &config)
        .args(with_token_args(&mock));
    let out = t.run_command(cmd, session.token.as_bytes());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for dir in [&base, &base.join("a"), &config] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
    let names: BTreeSet<String> = fs::read_dir(&config)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["hosts.yml".into(), "tokens.yml".into()])
    );
    for name in names {
        assert_eq!(mode(&config.join(name)), 0o600);
    }
}

// ---------------------------------------------------------------------------
// Bad local input

/// Values every flag, argument and variable is tried with.
fn bad_values() -> Vec<(&'static str, OsString)> {
    vec![
        ("empty", "".into()),
        ("dash", "-".into()),
        ("negative", "-1".into()),
        ("huge number", "99999999999999999999999999".into()),
        (
            "escapes",
            "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}1m☃\r\n".into(),
        ),
        ("huge", "x".repeat(100_000).into()),
        ("not UTF-8", OsString::from_vec(vec![b'a', 0xff, 0xfe])),
    ]
}

/// Every command of the table (leaves of the tree) with its words.
fn commands(
    node: &'static Node,
    path: Vec<&'static str>,
    out: &mut Vec<(Vec<&'static str>, &'static Node)>,
) {
    if node.is_group() {
        for child in node.children {
            let mut p = path.clone();
            p.push(child.name);
            commands(child, p, out);
        }
    } else {
        out.push((path, node));
    }
}

/// The arguments that take `words` past its own checks to the one tried:
/// a host for `auth login`, a path for `api`, a shell for `completion`.
fn base_args(words: &[&str], mock: &MockDify) -> Vec<OsString> {
    let mut args: Vec<OsString> = words.iter().map(OsString::from).collect();
    match words {
        ["auth", "login"] => {
            for a in ["--host", &mock.url(), "--insecure", "--no-browser"] {
                args.push(a.into());
            }
        }
        ["api"] => args.push("account".into()),
        ["completion"] => args.push("bash".into()),
        _ => {}
    }
    args
}

/// What any bad input must give: no crash (the runner checks), a known exit
/// code, nothing unsanitised on the terminal, and on failure nothing on
/// stdout and no file changed. A success (a bad value that is merely
/// unusual) has its files put back for the next case.
#[track_caller]
fn handles(t: &Test, args: &[OsString], env: &[(&str, &OsString)], what: &str) -> (i32, String) {
    let before = t.snapshot();
    let mut cmd = t.command();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_no_crash(out.status, &stderr);
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    let code = out.status.code().unwrap();
    assert!(
        [0, 1, 2, 4, 6, 7].contains(&code),
        "{what}: exit {code}\n{stderr}"
    );
    assert_clean(&stderr);
    // A huge value is not echoed back whole.
    assert!(
        stderr.len() < 10_000,
        "{what}: {} bytes of error",
        stderr.len()
    );
    let api = args.first().is_some_and(|a| a == "api");
    if !api {
        assert_clean(&stdout);
    }
    if code == 0 {
        for name in t.snapshot().into_keys() {
            fs::remove_file(t.config_dir().join(name)).unwrap();
        }
        for (name, bytes) in before {
            let path = t.config_dir().join(name);
            fs::write(&path, bytes).unwrap();
            set_mode(&path, 0o600);
        }
    } else {
        assert!(!stderr.is_empty(), "{what}: a failure says why");
        if !api {
            assert_eq!(stdout, "", "{what}");
        }
        assert_eq!(t.snapshot(), before, "{what}: files changed");
    }
    (code, stderr)
}

#[test]
fn every_flag_and_argument_with_bad_values_fails_cleanly() {
    // Device flows end at once (expired), so no case waits for approval.
    let mock = MockDify::with(MockConfig {
        expire_codes: true,
        ..MockConfig::default()
    });
    let (t, _) = signed_in(&mock);
    let mut all = Vec::new();
    commands(&spec::ROOT, Vec::new(), &mut all);
    let (mut cases, mut longest) = (0, 0);
    for (words, node) in &all {
        let flags = node.flags.iter().chain(GLOBAL_FLAGS);
        for flag in flags {
            for (kind, value) in bad_values() {
                let mut variants = Vec::new();
                if flag.value.is_some() {
                    // `--flag VALUE` and `--flag=VALUE`.
                    variants.push(vec![
                        OsString::from(format!("--{}", flag.long)),
                        value.clone(),
                    ]);
                }
                let mut joined = OsString::from(format!("--{}=", flag.long));
                joined.push(&value);
                variants.push(vec![joined]);
                for extra in variants {
                    let mut args = base_args(words, &mock);
                    args.extend(extra);
                    let what = format!("{} --{} {kind}", words.join(" "), flag.long);
                    let (code, stderr) = handles(&t, &args, &[], &what);
                    if kind == "not UTF-8" {
                        assert_eq!(code, 1, "{what}");
                        assert!(
                            stderr.starts_with("argument is not valid UTF-8: a\u{fffd}\u{fffd}"),
                            "{what}: {stderr}"
                        );
                    }
                    longest = longest.max(stderr.len());
                    cases += 1;
                }
            }
        }
        // Each positional argument, and one too many.
        for i in 0..=node.args.len() {
            for (kind, value) in bad_values() {
                let mut args: Vec<OsString> = words.iter().map(OsString::from).collect();
                for a in node.args.iter().take(i) {
                    args.push(a.choices.first().copied().unwrap_or("account").into());
                }
                args.push(value);
                let what = format!("{} argument {} {kind}", words.join(" "), i + 1);
                handles(&t, &args, &[], &what);
                cases += 1;
            }
        }
    }
    eprintln!("{cases} bad invocations, longest error {longest} bytes");
    // Nothing was lost along the way.
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("tester@dify.ai (Tester)\n");
}

#[test]
fn bad_environment_values_fail_cleanly() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let vars = [
        ("DIFY_TOKEN", &["auth", "status"][..]),
        ("DIFY_HOST", &["auth", "status"]),
        ("DIFY_ACCOUNT", &["auth", "token"]),
        ("DIFY_LIMIT", &["auth", "devices", "list"]),
        ("DIFYCTL_HTTP_RETRY", &["auth", "devices", "list"]),
        (
            "DIFY_TOKEN_STORAGE",
            &["auth", "login", "--with-token", "--host", "h.test"],
        ),
        ("DIFY_CONFIG_DIR", &["auth", "list"]),
        ("XDG_CONFIG_HOME", &["auth", "list"]),
        ("HOME", &["auth", "list"]),
        ("NO_COLOR", &["auth", "list"]),
        ("HTTPS_PROXY", &["auth", "status"]),
        ("SSL_CERT_FILE", &["auth", "status"]),
    ];
    for (var, words) in vars {
        for (kind, value) in bad_values() {
            let args: Vec<OsString> = words.iter().map(OsString::from).collect();
            let what = format!("{var}={kind} {}", words.join(" "));
            let (code, stderr) = handles(&t, &args, &[(var, &value)], &what);
            // A value that is not text is refused, never silently dropped.
            if kind == "not UTF-8"
                && var.starts_with("DIFY")
                && var != "DIFY_CONFIG_DIR"
                && var != "DIFY_TOKEN_STORAGE"
            {
                assert_eq!(code, 2, "{what}: {stderr}");
                assert!(
                    stderr.starts_with(&format!("usage_invalid_flag: {var} is not valid UTF-8\n")),
                    "{what}: {stderr}"
                );
            }
        }
    }
}

#[test]
fn broken_store_files_give_clear_errors() {
    let hosts = |t: &Test| t.config_dir().join("hosts.yml");
    // Run with a time limit: a FIFO or a quadratic parse would hang.
    let fails = |t: &Test, args: &[&str], first: &str| {
        // Names only: reading a FIFO would block the test itself.
        let before = names(t);
        let out = run_bounded(t, args);
        assert_eq!(out.code, Some(1), "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "");
        assert!(
            out.stderr.starts_with(first),
            "{args:?}:\n{}\nwanted: {first}",
            out.stderr
        );
        assert!(out.stderr.len() < 2000, "{}", out.stderr);
        assert_clean(&out.stderr);
        assert_eq!(names(t), before);
    };
    let t = with_other_context(Test::new());
    let p = hosts(&t).display().to_string();
    let read_fail = format!("client_error: Failed to read {p}: ");

    // Not a regular file: a FIFO, a device, a directory, a symlink loop.
    fs::remove_file(hosts(&t)).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(hosts(&t))
            .status()
            .unwrap()
            .success()
    );
    fails(
        &t,
        &["auth", "list"],
        &format!(
            "{read_fail}not a regular file\nhint: Remove {p} (or move it away) to reset it.\n"
        ),
    );
    fs::remove_file(hosts(&t)).unwrap();
    std::os::unix::fs::symlink("/dev/zero", hosts(&t)).unwrap();
    fails(
        &t,
        &["auth", "whoami"],
        &format!("{read_fail}not a regular file"),
    );
    fails(
        &t,
        &["use", "host", "--domain", "cloud.dify.ai"],
        &format!("{read_fail}not a regular file"),
    );
    fs::remove_file(hosts(&t)).unwrap();
    fs::create_dir(hosts(&t)).unwrap();
    fails(
        &t,
        &["auth", "list"],
        &format!("{read_fail}not a regular file"),
    );
    fs::remove_dir(hosts(&t)).unwrap();
    std::os::unix::fs::symlink("hosts.yml", hosts(&t)).unwrap();
    fails(
        &t,
        &["auth", "list"],
        &format!("{read_fail}Too many levels of symbolic links"),
    );
    fs::remove_file(hosts(&t)).unwrap();

    // Huge: past the size bound (sparse, so no disk is used), and nested
    // deep enough to make libyaml take minutes.
    fs::File::create(hosts(&t))
        .unwrap()
        .set_len(64 * 1024 * 1024 + 1)
        .unwrap();
    fails(
        &t,
        &["auth", "list"],
        &format!("{read_fail}the file is larger than 64 MiB"),
    );
    let deep = format!("hosts: {}{}\n", "[".repeat(200_000), "]".repeat(200_000));
    fs::write(hosts(&t), &deep).unwrap();
    fails(
        &t,
        &["auth", "list"],
        &format!(
            "client_error: Failed to parse YAML file {p}: flow collections nested more than 128 deep at line 1, column 136."
        ),
    );
    assert_eq!(
        fs::read_to_string(hosts(&t)).unwrap(),
        deep,
        "never overwritten"
    );

    // Valid YAML of the wrong shape, for every kind of command.
    for text in [
        "[]\n",
        "just text\n",
        "hosts: {h: 5}\n",
        "hosts: {h: {accounts: [1, 2]}}\n",
        "current_host: {}\nhosts: {}\n",
        "hosts: {h: {accounts: {a@b: {account: {email: [x]}}}}}\n",
    ] {
        fs::write(hosts(&t), text).unwrap();
        for args in [
            &["auth", "list"][..],
            &["auth", "whoami"],
            &["auth", "token"],
            &["use", "host", "--domain", "h"],
            &["auth", "status"],
        ] {
            fails(&t, args, &format!("client_error: Invalid content in {p}: "));
        }
        assert_eq!(fs::read_to_string(hosts(&t)).unwrap(), text);
    }

    // tokens.yml: the same protections.
    fs::write(hosts(&t), OTHER_HOSTS).unwrap();
    let tokens = t.config_dir().join("tokens.yml");
    let tp = tokens.display().to_string();
    fs::remove_file(&tokens).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(&tokens)
            .status()
            .unwrap()
            .success()
    );
    set_mode(&tokens, 0o600);
    set_mode(&tokens, 0o600);
    fails(
        &t,
        &["auth", "token"],
        &format!("client_error: Failed to read {tp}: not a regular file"),
    );
    fs::remove_file(&tokens).unwrap();
    fs::write(
        &tokens,
        format!(
            "version: 1\ntokens: {}{}\n",
            "{a: ".repeat(50_000),
            "}".repeat(50_000)
        ),
    )
    .unwrap();
    set_mode(&tokens, 0o600);
    fails(
        &t,
        &["auth", "token"],
        &format!(
            "client_error: Failed to parse YAML file {tp}: flow collections nested more than 128 deep"
        ),
    );
    fs::write(&tokens, "version: 1\ntokens: [dfoa_secret]\n").unwrap();
    set_mode(&tokens, 0o600);
    let out = run_bounded(&t, &["auth", "token"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(!out.stderr.contains("dfoa_secret"), "{}", out.stderr);
}

fn names(t: &Test) -> BTreeSet<String> {
    fs::read_dir(t.config_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Runs `args` in `t`, failing the test if it has not ended after 60 s (a
/// FIFO or a quadratic parse would hang).
fn run_bounded<'t>(t: &'t Test, args: &[&str]) -> Outcome<'t> {
    t.spawn_args(args).finish_within(Duration::from_secs(60))
}

#[test]
fn a_symlinked_hosts_file_is_followed_and_kept() {
    let t = with_other_context(Test::new());
    let dotfiles = t.dir.path().join("dotfiles");
    fs::create_dir(&dotfiles).unwrap();
    let real = dotfiles.join("difyctl-hosts.yml");
    fs::write(&real, two_hosts("cloud.dify.ai")).unwrap();
    let link = t.config_dir().join("hosts.yml");
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    t.run_args(["use", "host", "--domain", "two.example"])
        .code(0);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), two_hosts("two.example"));
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("bob@x.io (Bob)\n");
    assert_eq!(t.leftovers(), Vec::<String>::new());
    assert_eq!(fs::read_dir(&dotfiles).unwrap().count(), 1);

    // A dangling link reads as no contexts; a sign-in creates its target.
    fs::remove_file(&real).unwrap();
    t.run_args(["auth", "whoami"]).code(4);
    let mock = MockDify::start();
    let s = mock.add_session("difyctl on ci");
    let mut cmd = t.command();
    cmd.args(with_token_args(&mock));
    let out = t.run_command(cmd, s.token.as_bytes());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(fs::read_to_string(&real).unwrap().contains(&mock.host()));
}

// ---------------------------------------------------------------------------
// The crash guard itself

#[test]
fn the_crash_guard_catches_panics_aborts_and_segfaults() {
    let crash = |script: &str| {
        let out = Command::new("sh").args(["-c", script]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        std::panic::catch_unwind(|| assert_no_crash(out.status, &stderr)).is_err()
    };
    assert!(crash(
        "echo \"thread 'main' panicked at src/x.rs:1:1:\" >&2"
    ));
    assert!(crash("exit 101"));
    assert!(crash(
        "echo \"thread 'main' has overflowed its stack\" >&2; kill -ABRT $$"
    ));
    assert!(crash("kill -SEGV $$"));
    // An ordinary failure, or a kill the test sent, is not a crash.
    assert!(!crash("echo 'client_error: no' >&2; exit 1"));
    assert!(!crash("kill -KILL $$"));
    assert!(!crash("kill -INT $$"));
}

#[test]
fn api_reads_a_bounded_request_body() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let out = run_bounded(&t, &["api", "--input", "/dev/zero", "account"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "usage_invalid_flag: --input /dev/zero holds more than 64 MiB\n"
    );
    assert!(mock.requests().is_empty());
}
