//! The `use host` and `use account` pickers on a real pseudo-terminal
//! (util-linux `script` gives the binary a pty) without `TERM`, as on a dumb
//! terminal: the numbered prompt. Drawn on stderr, both stdin and stderr
//! terminals needed, columns aligned, Enter keeps the current entry, retries
//! and colours, end of input and Ctrl-C. The picker moved with keys is in
//! `keys.rs`.

use std::fs;

use crate::common::{EXAMPLE, team, team_tokens};
use crate::support::fixtures::Hosts;
use crate::support::pty::{self, Pty};
use crate::support::runner::Test;

#[test]
fn use_host_picker_without_hosts_does_not_prompt() {
    let Some(_) = pty_tool() else { return };
    let t = Test::new().hosts(Hosts::file());
    let (code, out) = on_pty(&t, &["use", "host"], &[]);
    assert_eq!(code, Some(4), "{out}");
    assert_eq!(
        out,
        "not_logged_in: not logged in\r\nhint: run 'difyctl auth login'\r\n"
    );
}

const PROMPT: &str = "Enter a number [";

/// Is `script` there? A missing tool skips the test with a message, except
/// under DIFYCTL_TEST_REQUIRE_TOOLS (set by CI), where it fails.
fn pty_tool() -> Option<()> {
    crate::support::tools::available("script").then_some(())
}

/// Runs the binary on a pseudo-terminal (stdin, stdout and stderr all the
/// pty), in the test's environment. Each answer is typed only once the
/// binary has printed one more picker prompt than before. Returns the exit
/// code and everything the terminal showed (with the pty's `\r\n`).
fn on_pty(t: &Test, args: &[&str], answers: &[&str]) -> (Option<i32>, String) {
    on_pty_redirected(t, args, answers, "")
}

/// [`on_pty`] with shell redirections (`> file`, `2> file`, `< /dev/null`)
/// applied to the binary.
fn on_pty_redirected(
    t: &Test,
    args: &[&str],
    answers: &[&str],
    redirect: &str,
) -> (Option<i32>, String) {
    let line = format!("{} {redirect}", pty::command_line(args));
    let mut pty = Pty::shell(t, &line).expect("script is installed (checked by pty_tool)");
    for (i, answer) in answers.iter().enumerate() {
        pty.wait_for_nth(PROMPT, i + 1);
        pty.type_in(answer);
    }
    pty.finish_raw()
}

#[test]
fn use_host_picker_on_a_terminal() {
    let Some(_) = pty_tool() else { return };
    let t = Test::new().hosts(EXAMPLE).env("NO_COLOR", "1");
    let (code, out) = on_pty(&t, &["use", "host"], &["1\n"]);
    assert_eq!(code, Some(0), "{out}");
    // The typed answer is the terminal's echo.
    assert_eq!(
        out,
        "? Select a host\r\n\
         \x20 1)   cloud.dify.ai   (1 account)\r\n\
         \x20 2) * localhost:5001  (1 account)\r\n\
         Enter a number [1-2, Enter keeps 2]: 1\r\n\
         ✓ Active host is now cloud.dify.ai\r\n"
    );
    let after = EXAMPLE.replace(
        "current_host: localhost:5001",
        "current_host: cloud.dify.ai",
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(after.as_str()));
    // The flag skips the picker on a terminal too.
    let (code, out) = on_pty(&t, &["use", "host", "--domain", "localhost:5001"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out, "✓ Active host is now localhost:5001\r\n");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(EXAMPLE));
    // An empty answer keeps the current entry.
    let (code, out) = on_pty(&t, &["use", "host"], &["\n"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.ends_with(
            "Enter a number [1-2, Enter keeps 2]: \r\n✓ Active host is now localhost:5001\r\n"
        ),
        "{out}"
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(EXAMPLE));
}

#[test]
fn pickers_are_drawn_on_stderr_and_need_both_stdin_and_stderr_terminals() {
    let Some(_) = pty_tool() else { return };
    let t = Test::new()
        .hosts(team())
        .tokens(team_tokens())
        .env("NO_COLOR", "1");
    let file = t.dir.path().join("out");
    let redirect = format!("> {}", pty::quote(&file.display().to_string()));

    // stdout to a file: the picker is still offered (on stderr), and stdout
    // gets the result only.
    let (code, out) = on_pty_redirected(&t, &["use", "host"], &["2\n"], &redirect);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        out,
        "? Select a host\r\n\
         \x20 1) * cloud.dify.ai   (3 accounts)\r\n\
         \x20 2)   localhost:5001  (1 account)\r\n\
         Enter a number [1-2, Enter keeps 1]: 2\r\n"
    );
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        "✓ Active host is now localhost:5001\n"
    );
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(0);

    // stderr not a terminal, or stdin not a terminal: no picker.
    let redirect = format!("2> {}", pty::quote(&file.display().to_string()));
    let (code, out) = on_pty_redirected(&t, &["use", "account"], &[], &redirect);
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        "usage_missing_arg: --email is required (no TTY); known accounts on cloud.dify.ai: alice@example.com, bob@example.com, sam@corp.example\n"
    );
    let (code, out) = on_pty_redirected(&t, &["use", "host"], &[], "< /dev/null");
    assert_eq!(code, Some(2), "{out}");
    assert_eq!(
        out,
        "usage_missing_arg: --domain is required (no TTY); known hosts: cloud.dify.ai, localhost:5001\r\n"
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(team().as_str()));
}

#[test]
fn use_account_picker_retries_and_colours_on_a_terminal() {
    let Some(_) = pty_tool() else { return };
    let t = Test::new().hosts(team()).tokens(team_tokens());
    let (code, out) = on_pty(&t, &["use", "account"], &["x\n", "4\n", "3\n"]);
    assert_eq!(code, Some(0), "{out}");
    let wrong = "  \x1b[31m✗\x1b[0m enter a number from 1 to 3\r\n";
    // The second column aligned (the misaligned `(SSO)`).
    assert_eq!(
        out,
        format!(
            "? Select an account on cloud.dify.ai\r\n\
             \x20 1) * alice@example.com  (Alice)\r\n\
             \x20 2)   bob@example.com\r\n\
             \x20 3)   sam@corp.example   (SSO)\r\n\
             Enter a number [1-3, Enter keeps 1]: x\r\n{wrong}\
             Enter a number [1-3, Enter keeps 1]: 4\r\n{wrong}\
             Enter a number [1-3, Enter keeps 1]: 3\r\n\
             \x1b[32m✓\x1b[0m Active account on cloud.dify.ai is now sam@corp.example\r\n"
        )
    );
    let after = team().replace(
        "current_account: alice@example.com",
        "current_account: sam@corp.example",
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(after.as_str()));
}

#[test]
fn use_account_picker_choice_without_a_credential() {
    let Some(_) = pty_tool() else { return };
    let t = Test::new()
        .hosts(team())
        .tokens(team_tokens())
        .env("NO_COLOR", "1");
    let (code, out) = on_pty(&t, &["use", "account"], &["2\n"]);
    assert_eq!(code, Some(4), "{out}");
    assert!(
        out.ends_with(
            "Enter a number [1-3, Enter keeps 1]: 2\r\n\
             not_logged_in: no credential stored for bob@example.com on cloud.dify.ai\r\n\
             hint: run 'difyctl auth login --host cloud.dify.ai'\r\n"
        ),
        "{out}"
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(team().as_str()));
}

#[test]
fn picker_end_of_input_and_ctrl_c_change_nothing() {
    let Some(_) = pty_tool() else { return };
    let t = Test::new().hosts(EXAMPLE).env("NO_COLOR", "1");
    // Ctrl-D: the terminal's end of input.
    let (code, out) = on_pty(&t, &["use", "host"], &["\x04"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.ends_with(
            "Enter a number [1-2, Enter keeps 2]: usage_missing_arg: input closed before a valid value was provided\r\n"
        ),
        "{out}"
    );
    // Ctrl-C: interrupted (130).
    let (code, out) = on_pty(&t, &["use", "host"], &["\x03"]);
    assert_eq!(code, Some(130), "{out}");
    let t2 = Test::new().hosts(team()).tokens(team_tokens());
    let (code, out) = on_pty(&t2, &["use", "account"], &["\x03"]);
    assert_eq!(code, Some(130), "{out}");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(EXAMPLE));
    assert_eq!(t2.read("hosts.yml").as_deref(), Some(team().as_str()));
    assert_eq!(t.snapshot().len(), 1, "no lock or temp file left");
}
