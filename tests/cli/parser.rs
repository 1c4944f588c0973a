//! The command line itself: unknown commands and flags, parser errors and their
//! exit codes, `--json` errors as the JSON envelope, and a stdout closed early.

use crate::support::runner::Test;

#[test]
fn unknown_command_suggests() {
    Test::new()
        .args(["auth", "whoam"])
        .run()
        .code(1)
        .stdout("")
        .stderr("unknown command: auth whoam\n\nDid you mean:\n  auth whoami\n");
}

#[test]
fn flags_before_the_command_are_an_unknown_command() {
    // The official first line, then the command line that works.
    Test::new()
        .args(["-o", "json", "auth", "list"])
        .run()
        .code(1)
        .stdout("")
        .stderr(
            "unknown command: -o json auth list\n\n\
             Flags come after the command: difyctl auth list -o json\n",
        );
    Test::new()
        .args(["--host", "a.example", "auth", "devices", "--account=b", "list"])
        .run()
        .code(1)
        .stderr(
            "unknown command: --host a.example auth devices --account=b list\n\n\
             Flags come after the command: difyctl auth devices list --host a.example --account=b\n",
        );
}

#[test]
fn the_global_verbose_flag_may_come_before_the_command() {
    let t = Test::new();
    for args in [["-v", "auth", "whoami"], ["auth", "whoami", "-v"]] {
        t.run_args(args)
            .code(4)
            .stdout("")
            .stderr("not_logged_in: not logged in\nhint: run 'difyctl auth login'\n");
    }
    t.run_args(["--verbose", "--version"]).stderr("");
}

#[test]
fn unknown_flags_suggest_close_ones() {
    let t = Test::new();
    t.run_args(["auth", "login", "--hots", "x"])
        .code(1)
        .stdout("")
        .stderr("unknown flag: --hots\n\nDid you mean:\n  --host\n");
    t.run_args(["--verison"])
        .code(1)
        .stdout("")
        .stderr("unknown flag: --verison\n\nDid you mean:\n  --version\n");
    t.run_args(["auth", "devices", "list", "--limt=5"])
        .code(1)
        .stderr("unknown flag: --limt\n\nDid you mean:\n  --limit\n");
    // Nothing close: the official line alone.
    t.run_args(["auth", "whoami", "--bogus"])
        .code(1)
        .stderr("unknown flag: --bogus\n");
}

#[test]
fn a_missing_argument_shows_the_usage_line() {
    Test::new()
        .args(["api"])
        .run()
        .code(1)
        .stdout("")
        .stderr("missing required argument: path\n\nUsage: difyctl api PATH [flags]\n");
}

#[test]
fn parser_errors_are_plain_and_exit_1() {
    let t = Test::new();
    t.run_args(["auth", "whoami", "--bogus"])
        .code(1)
        .stdout("")
        .stderr("unknown flag: --bogus\n");
    t.run_args(["auth", "whoami", "-q"])
        .code(1)
        .stderr("unknown flag: -q\n");
    t.run_args(["use", "host", "--domain"])
        .code(1)
        .stderr("flag --domain expects a value\n");
    t.run_args(["auth", "devices", "list", "--page", "two"])
        .code(1)
        .stderr("expected integer, got \"two\"\n");
}

#[test]
fn illegal_output_value_exits_2() {
    Test::new()
        .args(["auth", "list", "-o", "table"])
        .run()
        .code(2)
        .stdout("")
        .stderr("illegal_argument: illegal value table for flag --output / -o\nhint: supported value: json, yaml, name\n");
}

#[test]
fn broken_pipe_exits_0() {
    use std::process::Stdio;
    let t = Test::new();
    // A pipe whose read end is already closed: the first write gets EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = t.command();
    cmd.args(["env", "list"])
        .stdout(writer)
        .stderr(Stdio::piped());
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn json_flags_switch_errors_to_the_json_envelope() {
    // `--json` as `-o json` does (difyctl-auth(1), whoami).
    let envelope = "{\"error\":{\"code\":\"not_logged_in\",\"message\":\"not logged in\",\
                    \"hint\":\"run 'difyctl auth login'\"}}\n";
    let t = Test::new();
    t.run_args(["auth", "whoami", "--json"])
        .code(4)
        .stdout("")
        .stderr(envelope);
    t.run_args(["auth", "whoami"])
        .code(4)
        .stdout("")
        .stderr("not_logged_in: not logged in\nhint: run 'difyctl auth login'\n");
}
