//! The command line itself: help, version, parser errors and exit codes.

mod support;

use support::runner::Test;

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

#[test]
fn version() {
    let version = env!("CARGO_PKG_VERSION");
    // What src/build.rs gave this build (checked against git in tests/release.rs).
    let commit = env!("DIFYCTL_COMMIT");
    let t = Test::new();
    t.run_args(["--version"])
        .code(0)
        .stdout(&format!("difyctl {version} ({commit})\n"));
}

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
    Test::new()
        .args(["-o", "json", "auth", "list"])
        .run()
        .code(1)
        .stderr("unknown command: -o json auth list\n");
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
fn env_list_hides_sensitive_values() {
    let t = Test::new()
        .env("DIFY_TOKEN", "dfoa_secret")
        .env("DIFY_LIMIT", "50");
    let out = t.run_args(["env", "list"]).code(0);
    assert!(!out.stdout.contains("dfoa_secret"));
    assert!(out.stdout.starts_with("NAME "), "{}", out.stdout);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("DIFY_TOKEN ") && l.contains(" <set> "))
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("DIFY_LIMIT ") && l.contains(" 50 "))
    );
    let json = t.run_args(["env", "list", "--json"]).code(0).json();
    let rows = json.as_array().unwrap();
    let token = rows.iter().find(|r| r["name"] == "DIFY_TOKEN").unwrap();
    assert_eq!(token["value"], "<set>");
    assert_eq!(token["sensitive"], true);
    let dir = rows
        .iter()
        .find(|r| r["name"] == "DIFY_WORKSPACE_ID")
        .unwrap();
    assert_eq!(dir["value"], serde_json::Value::Null);
}

#[test]
fn env_list_describes_the_official_variables_in_the_official_words() {
    let json = Test::new()
        .args(["env", "list", "--json"])
        .run()
        .code(0)
        .json();
    let described = |name: &str| {
        let rows = json.as_array().unwrap();
        let row = rows.iter().find(|r| r["name"] == name).unwrap();
        row["description"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        described("DIFY_NO_PROGRESS"),
        "Suppress progress spinners. Truthy values: 1, true, yes."
    );
    assert_eq!(
        described("DIFY_PLAIN"),
        "Disable ANSI colors and decorative output. Truthy values: 1, true, yes."
    );
    assert_eq!(
        described("DIFY_TOKEN"),
        "Bearer token for non-interactive auth."
    );
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
