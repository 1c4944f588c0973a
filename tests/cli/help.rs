//! Help: no arguments, `-h`/`--help` anywhere, `difyctl help TOPIC`.

use crate::support::runner::Test;

#[test]
fn no_arguments_prints_help() {
    Test::new()
        .run()
        .code(0)
        .stderr("")
        .stdout_has("COMMANDS\n  auth ");
}

#[test]
fn help_flag_anywhere_and_help_command() {
    let t = Test::new();
    let a = t.run_args(["auth", "login", "--help"]).code(0).stderr("");
    let b = t.run_args(["help", "auth", "login"]).code(0);
    assert_eq!(a.stdout, b.stdout);
    assert!(
        a.stdout
            .starts_with("Sign in to Dify via OAuth device flow\n")
    );
    t.run_args(["auth", "devices"])
        .code(0)
        .stdout_has("  revoke  Revoke one or all session devices\n");
}

#[test]
fn unknown_help_topic_exits_1() {
    Test::new()
        .args(["help", "auth", "lgin"])
        .run()
        .code(1)
        .stdout("")
        .stderr("unknown help topic: auth lgin\n\nDid you mean:\n  auth login\n");
}
