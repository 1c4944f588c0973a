//! Each headless method signs in with stdin a pipe, the password never in
//! argv or the environment, and the prompts on a terminal hide what is
//! typed, also when Ctrl-C ends them.

use std::io::Write;
use std::process::Stdio;

use super::{
    CODE, EMAIL, PASSWORD, PASSWORD_B64, browser_session, login_args, password_args, prior,
};
use crate::support::fixtures::hosts_yml;
use crate::support::mock::{MockConfig, MockDify, SessionInfo};
use crate::support::pty::{Pty, assert_echo_on, quote};
use crate::support::runner::{BIN, Test};

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
