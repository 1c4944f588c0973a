//! The pickers moved with keys, on a pseudo-terminal with `TERM=xterm`:
//! the current entry pre-selected, arrows and j/k move, Enter selects, Esc
//! and q cancel (exit 2, files untouched), Ctrl-C interrupts (exit 130,
//! files untouched), and the terminal (its mode, the cursor) is given back
//! on every path. For `use host`, `use account` and `use workspace`.

use crate::common::{EXAMPLE, team, team_tokens};
use crate::support::fixtures::signed_in;
use crate::support::mock::{MockDify, Workspace};
use crate::support::pty::{Pty, assert_echo_on, quote};
use crate::support::runner::{BIN, Test};

const FOOTER: &str = "↑/↓ or j/k move · Enter selects · Esc or q cancels";
const UP: &str = "\x1b[A";
const DOWN: &str = "\x1b[B";
const ESC: &str = "\x1b";

/// Runs `difyctl ARGS` on a capable, colourless terminal inside a shell that
/// ignores Ctrl-C and then reports the exit status and the terminal's
/// settings. Each key is typed once the picker has drawn itself one more
/// time. Returns the exit status and the screen (`\r\n` as `\n`).
fn with_keys(t: &Test, args: &[&str], keys: &[&str]) -> Option<(String, String)> {
    let command: Vec<String> = std::iter::once(BIN)
        .chain(args.iter().copied())
        .map(quote)
        .collect();
    let line = format!(
        "trap '' INT; {}; echo \"rc=$?\"; stty -a",
        command.join(" ")
    );
    let mut pty = Pty::shell_env(t, &line, &[("TERM", "xterm"), ("NO_COLOR", "1")])?;
    for (i, key) in keys.iter().enumerate() {
        pty.wait_for_nth(FOOTER, i + 1);
        pty.type_in(key);
    }
    let (_, screen) = pty.finish();
    let rc = screen
        .split("rc=")
        .nth(1)
        .and_then(|s| s.split('\n').next())
        .unwrap_or_default()
        .to_string();
    Some((rc, screen))
}

/// The terminal is as difyctl found it: line mode, echo on, cursor shown.
#[track_caller]
fn assert_restored(screen: &str) {
    assert_echo_on(screen);
    let flags: Vec<&str> = screen
        .split(|c: char| c.is_whitespace() || c == ';')
        .collect();
    assert!(
        flags.contains(&"icanon"),
        "not in line mode again:\n{screen}"
    );
    let hidden = screen.rfind("\x1b[?25l").expect("the cursor was hidden");
    assert!(
        screen[hidden..].contains("\x1b[?25h"),
        "the cursor was not shown again:\n{screen}"
    );
}

#[test]
fn use_host_moves_with_arrows_and_j_k_from_the_current_host() {
    let t = Test::new().hosts(EXAMPLE);
    let Some((rc, screen)) = with_keys(&t, &["use", "host"], &[UP, "j", "k", DOWN, UP, "\r"])
    else {
        return;
    };
    assert_eq!(rc, "0", "{screen}");
    // The current host is where the cursor starts; the columns are aligned.
    assert!(
        screen.contains(
            "? Select a host\n    cloud.dify.ai   (1 account)\n❯ * localhost:5001  (1 account)\n"
        ),
        "{screen}"
    );
    assert!(
        screen.contains("❯   cloud.dify.ai   (1 account)\n  * localhost:5001  (1 account)\n"),
        "{screen}"
    );
    assert!(
        screen.contains("✓ Active host is now cloud.dify.ai\n"),
        "{screen}"
    );
    assert_restored(&screen);
    let after = EXAMPLE.replace(
        "current_host: localhost:5001",
        "current_host: cloud.dify.ai",
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(after.as_str()));
}

#[test]
fn esc_and_q_cancel_and_change_nothing() {
    for key in [ESC, "q"] {
        let t = Test::new().hosts(team()).tokens(team_tokens());
        let before = t.snapshot();
        let Some((rc, screen)) = with_keys(&t, &["use", "account"], &[DOWN, key]) else {
            return;
        };
        assert_eq!(rc, "2", "{key:?}: {screen}");
        assert!(
            screen.contains("usage_missing_arg: selection cancelled\n"),
            "{key:?}: {screen}"
        );
        assert_restored(&screen);
        assert_eq!(t.snapshot(), before, "{key:?}");
    }
}

#[test]
fn ctrl_c_exits_130_and_changes_nothing() {
    let t = Test::new().hosts(team()).tokens(team_tokens());
    let before = t.snapshot();
    let Some((rc, screen)) = with_keys(&t, &["use", "host"], &["j", "\u{3}"]) else {
        return;
    };
    assert_eq!(rc, "130", "{screen}");
    assert_restored(&screen);
    assert_eq!(t.snapshot(), before);
}

#[test]
fn use_account_picks_on_the_active_host_or_the_one_named() {
    let t = Test::new().hosts(team()).tokens(team_tokens());
    let Some((rc, screen)) = with_keys(&t, &["use", "account"], &[DOWN, DOWN, "\r"]) else {
        return;
    };
    assert_eq!(rc, "0", "{screen}");
    assert!(
        screen.contains(
            "❯ * alice@example.com  (Alice)\n    bob@example.com\n    sam@corp.example   (SSO)\n"
        ),
        "{screen}"
    );
    assert!(
        screen.contains("✓ Active account on cloud.dify.ai is now sam@corp.example\n"),
        "{screen}"
    );
    assert_restored(&screen);
    let after = team().replace(
        "current_account: alice@example.com",
        "current_account: sam@corp.example",
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(after.as_str()));

    // --host names another host: its accounts, and it becomes the active one.
    let Some((rc, screen)) =
        with_keys(&t, &["use", "account", "--host", "localhost:5001"], &["\r"])
    else {
        return;
    };
    assert_eq!(rc, "0", "{screen}");
    assert!(
        screen.contains("? Select an account on localhost:5001\n❯   dev@example.com  (Dev)\n"),
        "{screen}"
    );
    assert!(
        screen.contains("✓ Active host is now localhost:5001, with account dev@example.com\n"),
        "{screen}"
    );
    let after = after
        .replace(
            "current_host: cloud.dify.ai",
            "current_host: localhost:5001",
        )
        .replace(
            "    scheme: http\n    accounts:",
            "    scheme: http\n    current_account: dev@example.com\n    accounts:",
        );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(after.as_str()));
}

#[test]
fn use_workspace_picks_from_the_server_list() {
    let mock = MockDify::start();
    mock.configure(|c| {
        c.workspaces.push(Workspace {
            id: "0c5e7a1d-3b2f-4e6a-9d8c-7b6a5f4e3d2c".into(),
            name: "Beta".into(),
            role: "normal".into(),
        })
    });
    let (t, _) = signed_in(&mock);
    let Some((rc, screen)) = with_keys(&t, &["use", "workspace"], &["j", "\r"]) else {
        return;
    };
    assert_eq!(rc, "0", "{screen}");
    assert!(
        screen.contains("❯ * Acme Team  (owner)\n    Beta       (normal)\n"),
        "{screen}"
    );
    assert!(
        screen.contains("✓ Switched to Beta (0c5e7a1d-3b2f-4e6a-9d8c-7b6a5f4e3d2c)\n"),
        "{screen}"
    );
    assert_restored(&screen);
    assert!(
        t.read("hosts.yml").unwrap().contains("name: Beta"),
        "the switch was recorded"
    );

    // Esc: nothing is switched on the server or recorded.
    let before = t.snapshot();
    let Some((rc, screen)) = with_keys(&t, &["use", "workspace"], &[ESC]) else {
        return;
    };
    assert_eq!(rc, "2", "{screen}");
    assert!(
        screen.contains("usage_missing_arg: selection cancelled\n"),
        "{screen}"
    );
    assert_eq!(t.snapshot(), before);
    let switches = mock
        .command_requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(switches, 1, "one switch, by the first run");
}

#[test]
fn a_dumb_terminal_gets_the_numbered_prompt() {
    let t = Test::new().hosts(EXAMPLE);
    let line = format!("{} use host", quote(BIN));
    let Some(mut pty) = Pty::shell_env(&t, &line, &[("TERM", "dumb"), ("NO_COLOR", "1")]) else {
        return;
    };
    pty.wait_for("Enter a number [1-2, Enter keeps 2]: ");
    pty.type_in("1\n");
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains('\x1b'), "{screen:?}");
    assert!(
        screen.ends_with("✓ Active host is now cloud.dify.ai\n"),
        "{screen}"
    );
}
