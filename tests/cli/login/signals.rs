//! Signals on a terminal (issue 13): Ctrl-C works at every wait, including
//! the whole poll phase of a console sign-in (which then signs its console
//! session out before exiting 130); SIGTERM, SIGHUP and SIGQUIT at a hidden
//! prompt give the terminal its echo back; a token typed on a terminal is
//! never echoed, also when stderr goes elsewhere.
//!
//! Everything runs on a pseudo-terminal (support::pty); the shell around
//! difyctl ignores SIGINT so that it lives on to report the exit status and
//! the terminal's settings (`stty -a`).

use std::time::{Duration, Instant};

use crate::support::mock::{MockConfig, MockDify};
use crate::support::pty::{Pty, assert_echo_on, quote};
use crate::support::runner::{BIN, Test};

const EMAIL: &str = "tester@dify.ai";

const PASSWORD: &str = "Passw0rd!";

/// `difyctl ARGS` as a shell command.
fn difyctl(args: &[&str]) -> String {
    std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `difyctl auth login --password` for the mock at `url`, as a shell command.
fn password_login(url: &str) -> String {
    difyctl(&[
        "auth",
        "login",
        "--host",
        url,
        "--insecure",
        "--password",
        "--email",
        EMAIL,
    ])
}

#[test]
fn ctrl_c_in_the_poll_phase_of_a_password_sign_in_signs_out_and_exits_130() {
    let mock = MockDify::start();
    // The token endpoint keeps failing: without Ctrl-C the sign-in would
    // poll on for 15 s (1, 2, 4, 8 s between five attempts).
    mock.fail_next("/openapi/v1/oauth/device/token", 100, 503);
    let url = mock.url();
    let t = Test::new();
    let before = t.snapshot();
    let login = password_login(&url);
    let line = format!("trap '' INT; {login}; echo \"rc=$?\"; stty -a");
    let Some(mut pty) = Pty::shell_env(&t, &line, &[("NO_COLOR", "1")]) else {
        return;
    };
    pty.wait_for("Password: ");
    pty.type_in(&format!("{PASSWORD}\n"));
    mock.wait_for_request("POST", "/openapi/v1/oauth/device/token");
    pty.type_in("\u{3}");
    let (_, screen) = pty.finish();
    assert!(screen.contains("rc=130\n"), "{screen}");
    assert_echo_on(&screen);
    // It stopped at the wait it was in: no poll after the one seen (one may
    // have been on the wire), and the console session is signed out.
    let polls = mock.requests_to("/openapi/v1/oauth/device/token").len();
    assert!(polls <= 2, "{polls} polls: Ctrl-C was ignored");
    let console = mock.console_sessions();
    assert_eq!(console.len(), 1);
    assert!(console[0].logged_out, "the console session was left open");
    assert_eq!(t.snapshot(), before);
}

#[test]
fn term_hup_and_quit_at_a_hidden_prompt_give_the_echo_back() {
    let mock = MockDify::start();
    let url = mock.url();
    for (signal, status) in [("TERM", 143), ("HUP", 129), ("QUIT", 131)] {
        let t = Test::new();
        let login = password_login(&url);
        // The inner shell says its pid, then becomes difyctl.
        let line = format!(
            "sh -c 'echo \"pid=$$.\"; exec \"$0\" \"$@\"' {login}; echo \"rc=$?\"; stty -a"
        );
        let Some(pty) = Pty::shell_env(&t, &line, &[("NO_COLOR", "1")]) else {
            return;
        };
        pty.wait_for("Password: ");
        let pid = pty.wait_for_value("pid=", ".");
        let killed = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let (_, screen) = pty.finish();
        assert!(
            screen.contains(&format!("rc={status}\n")),
            "{signal}: {screen}"
        );
        assert_echo_on(&screen);
        assert!(t.snapshot().is_empty(), "{signal}");
    }
}

#[test]
fn a_token_typed_on_a_terminal_is_not_echoed_when_stderr_goes_elsewhere() {
    let mock = MockDify::with(MockConfig::default());
    let s = mock.add_session("pasted");
    let t = Test::new();
    let errors = t.dir.path().join("stderr.txt");
    let login = difyctl(&[
        "auth",
        "login",
        "--with-token",
        "--host",
        &mock.url(),
        "--insecure",
    ]);
    let line = format!(
        "{login} 2>{}; echo \"rc=$?\"; stty -a",
        quote(&errors.display().to_string())
    );
    let Some(mut pty) = Pty::shell_env(&t, &line, &[("NO_COLOR", "1")]) else {
        return;
    };
    // The prompt goes to the file; once it is there, echo is off.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&errors).is_ok_and(|e| e.contains("Paste the token: ")) {
        assert!(
            Instant::now() < deadline,
            "no prompt: the token would be read with echo on"
        );
        // Polling a file for a condition, not a sleep standing in for one.
        std::thread::sleep(Duration::from_millis(10));
    }
    pty.type_in(&format!("{}\n", s.token));
    let (_, screen) = pty.finish();
    assert!(screen.contains("rc=0\n"), "{screen}");
    assert!(
        !screen.contains(&s.token[5..]),
        "the token was echoed:\n{screen}"
    );
    assert_echo_on(&screen);
}
