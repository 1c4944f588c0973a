//! The device flow on a terminal: the one-time code in bold on a colour
//! terminal and plain under NO_COLOR, and the spinner's line cleared when
//! Ctrl-C ends the wait (the shell's next line starts clean).

use crate::support::mock::{MockConfig, MockDify};
use crate::support::pty::{Pty, quote};
use crate::support::runner::{BIN, Test};

const CODE: &str = "WDJP-XKLM";

/// `auth login` waiting for approval on a terminal, interrupted once the
/// spinner runs; the screen as the terminal showed it.
fn interrupted_login(extra: &[(&str, &str)]) -> Option<String> {
    let mock = MockDify::with(MockConfig {
        user_code: Some(CODE.into()),
        ..MockConfig::default()
    });
    let t = Test::new();
    let before = t.snapshot();
    let login = [
        BIN,
        "auth",
        "login",
        "--host",
        &mock.url(),
        "--insecure",
        "--no-browser",
    ]
    .map(quote)
    .join(" ");
    let line = format!("trap '' INT; {login}; echo \"rc=$?\"");
    let mut env = vec![("TERM", "xterm")];
    env.extend_from_slice(extra);
    let mut pty = Pty::shell_env(&t, &line, &env)?;
    pty.wait_for("Waiting for authorization");
    pty.type_in("\u{3}");
    let (_, screen) = pty.finish_raw();
    assert_eq!(
        t.snapshot(),
        before,
        "an interrupted sign-in writes nothing"
    );
    Some(screen)
}

#[test]
fn the_code_is_bold_and_the_spinner_line_is_cleared_on_ctrl_c() {
    let Some(screen) = interrupted_login(&[]) else {
        return;
    };
    assert!(
        screen.contains(&format!(
            "\x1b[33m!\x1b[0m Copy this one-time code: \x1b[1m{CODE}\x1b[0m\r\n"
        )),
        "{screen:?}"
    );
    // What follows the spinner: the terminal's ^C echo at most, the line
    // cleared, and the shell's next output at its start.
    let tail = screen.rsplit("Waiting for authorization").next().unwrap();
    let tail = tail.trim_start_matches("^C");
    assert!(tail.starts_with("\r\x1b[2Krc=130\r\n"), "{tail:?}");
}

#[test]
fn no_colour_means_no_bold() {
    let Some(screen) = interrupted_login(&[("NO_COLOR", "1")]) else {
        return;
    };
    assert!(
        screen.contains(&format!("! Copy this one-time code: {CODE}\r\n")),
        "{screen:?}"
    );
    assert!(
        !screen.contains("\x1b[1m") && !screen.contains("\x1b[33m"),
        "{screen:?}"
    );
    assert!(screen.contains("rc=130"), "{screen:?}");
}
