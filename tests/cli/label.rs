//! Device labels (`--label`, `DIFY_DEVICE_LABEL`): the label reaches the
//! server, is kept in the context, and `auth refresh` signs in with it again,
//! so the server rotates that session and no other; a bad label is refused
//! before anything is sent.

use crate::support::fixtures::{Context, Hosts, login_args, mock_code_lines, tokens_yml};
use crate::support::mock::{MockConfig, MockDify, SessionInfo};
use crate::support::runner::Test;

fn auto() -> MockDify {
    MockDify::with(MockConfig::default().auto_approve())
}

fn only_session(mock: &MockDify) -> SessionInfo {
    let sessions = mock.sessions();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    sessions.into_iter().next().unwrap()
}

/// The mock's context signed in as session `s`, with `label` stored.
fn hosts_with(mock: &MockDify, s: &SessionInfo, label: Option<&str>) -> String {
    let mut context = Context::of(mock)
        .token_id(&s.id)
        .token_expires_at(&s.expires_at.replace('Z', "+00:00"));
    if let Some(label) = label {
        context = context.device_label(label);
    }
    Hosts::file().with(context).to_string()
}

fn with(args: Vec<String>, more: &[&str]) -> Vec<String> {
    args.into_iter()
        .chain(more.iter().map(|s| s.to_string()))
        .collect()
}

fn own_label() -> String {
    let out = std::process::Command::new("uname")
        .arg("-n")
        .output()
        .unwrap();
    format!(
        "difyctl on {}",
        String::from_utf8(out.stdout).unwrap().trim()
    )
}

#[test]
fn a_chosen_label_reaches_the_server_and_survives_refresh() {
    let mock = auto();
    let t = Test::new();
    t.run_args(with(login_args(&mock), &["--label", "  ci on box-3 "]))
        .code(0)
        .stderr(&mock_code_lines(&mock));
    let first = only_session(&mock);
    assert_eq!(first.device_label, "ci on box-3");
    assert_eq!(mock.device_labels(), ["ci on box-3"]);
    let out = t.run_args(["auth", "token"]).code(0);
    out.file("hosts.yml", &hosts_with(&mock, &first, Some("ci on box-3")));

    // A refresh without --label signs in with the stored one: the server
    // rotates exactly that session, and the label stays stored.
    let out = t
        .run_args(["auth", "refresh", "--device-flow", "--no-browser"])
        .code(0);
    let second = only_session(&mock);
    assert_eq!(mock.device_labels(), ["ci on box-3", "ci on box-3"]);
    assert_eq!(mock.revoked_ids(), [first.id.as_str()]);
    out.stderr(&mock_code_lines(&mock))
        .file(
            "hosts.yml",
            &hosts_with(&mock, &second, Some("ci on box-3")),
        )
        .file("tokens.yml", &tokens_yml(&mock, &second.token));
}

#[test]
fn the_environment_names_the_label_and_the_flag_wins() {
    let mock = auto();
    let t = Test::new().env("DIFY_DEVICE_LABEL", "from env");
    t.run_args(login_args(&mock))
        .code(0)
        .stderr(&mock_code_lines(&mock));
    t.run_args(with(login_args(&mock), &["--label", "from flag"]))
        .code(0)
        .stderr(&mock_code_lines(&mock));
    assert_eq!(mock.device_labels(), ["from env", "from flag"]);
    let s = only_session_labelled(&mock, "from flag");
    t.run_args(["auth", "whoami"])
        .code(0)
        .file("hosts.yml", &hosts_with(&mock, &s, Some("from flag")));
}

fn only_session_labelled(mock: &MockDify, label: &str) -> SessionInfo {
    let mut found: Vec<_> = mock
        .sessions()
        .into_iter()
        .filter(|s| s.device_label == label)
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.pop().unwrap()
}

/// Two config dirs on one machine signed in to one server: with their own
/// labels neither sign-in revokes the other's token.
#[test]
fn two_config_dirs_with_their_own_labels_keep_both_sessions() {
    let mock = auto();
    let (a, b) = (Test::new(), Test::new());
    a.run_args(with(login_args(&mock), &["--label", "dir a"]))
        .code(0)
        .stderr(&mock_code_lines(&mock));
    b.run_args(with(login_args(&mock), &["--label", "dir b"]))
        .code(0)
        .stderr(&mock_code_lines(&mock));
    assert_eq!(mock.sessions().len(), 2);
    assert!(mock.revoked_ids().is_empty());
    a.run_args(["auth", "status"]).code(0);
    b.run_args(["auth", "status"]).code(0);
}

/// Without a chosen label the default is the kernel's node name, and nothing
/// is stored for it (the context stays as the official tool writes it).
#[test]
fn the_default_label_is_not_stored() {
    let mock = auto();
    let t = Test::new().env("HOSTNAME", "not-the-node-name");
    t.run_args(login_args(&mock))
        .code(0)
        .stderr(&mock_code_lines(&mock));
    let s = only_session(&mock);
    assert_eq!(s.device_label, own_label());
    t.run_args(["auth", "whoami"])
        .code(0)
        .file("hosts.yml", &hosts_with(&mock, &s, None));
}

/// A refresh under a new label would leave the old session live with nobody
/// holding its token: it is ended with the new token.
#[test]
fn refresh_under_a_new_label_ends_the_old_session() {
    let mock = auto();
    let t = Test::new();
    t.run_args(with(login_args(&mock), &["--label", "old"]))
        .code(0)
        .stderr(&mock_code_lines(&mock));
    let old = only_session(&mock);
    let out = t
        .run_args([
            "auth",
            "refresh",
            "--device-flow",
            "--no-browser",
            "--label",
            "new",
        ])
        .code(0);
    let new = only_session(&mock);
    assert_eq!(new.device_label, "new");
    assert_eq!(mock.revoked_ids(), [old.id.as_str()]);
    out.stderr(&format!(
        "{}Ended the session labelled \"old\" that this context used before\n",
        mock_code_lines(&mock)
    ))
    .file("hosts.yml", &hosts_with(&mock, &new, Some("new")));
}

#[test]
fn bad_labels_are_refused_before_anything_is_sent() {
    let mock = auto();
    let long = "x".repeat(256);
    let cases: [(&str, &str, &str); 4] = [
        ("--label", "", "--label: the device label is empty"),
        (
            "--label",
            "a\u{1b}[31mb",
            "--label: the device label contains control characters",
        ),
        (
            "--label",
            &long,
            "--label: the device label is 256 characters long, more than 255",
        ),
        (
            "DIFY_DEVICE_LABEL",
            "line\nbreak",
            "DIFY_DEVICE_LABEL: the device label contains control characters",
        ),
    ];
    for (source, value, message) in cases {
        let t = Test::new();
        let t = if source == "--label" {
            t.args(with(login_args(&mock), &["--label", value]))
        } else {
            t.args(login_args(&mock)).env(source, value)
        };
        t.run().code(2).stdout("").stderr(&format!(
            "usage_invalid_flag: {message}\nhint: a device label is one line of at most 255 \
             characters, e.g. 'ci on build-3'\n"
        ));
        assert!(!t.config_dir().exists());
    }
    assert!(mock.requests().is_empty());
}

#[test]
fn a_pasted_token_takes_no_label() {
    let mock = auto();
    let t = Test::new().stdin("dfoa_whatever\n");
    t.run_args(with(
        crate::support::fixtures::with_token_args(&mock),
        &["--label", "x"],
    ))
    .code(2)
    .stdout("")
    .stderr(
        "usage_invalid_flag: --label does not apply to --with-token\nhint: a pasted token keeps \
         the label of the sign-in that minted it\n",
    );
    assert!(mock.requests().is_empty());
}
