//! Secrets: a server echoing the bearer back, tokens the server leaks,
//! `DIFY_TOKEN` of any form, `tokens.yml` permissions, the config dir's mode.

use std::collections::BTreeSet;
use std::fs;

use crate::assert_clean;
use crate::support::fixtures::{login_args, signed_in, with_other_context, with_token_args};
use crate::support::mock::{DEFAULT_WORKSPACE_ID, Hostile, MockConfig, MockDify};
use crate::support::runner::{Outcome, Test, mode, set_mode};
use serde_json::json;

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
                out.exit_code().map(|c| c.min(1)),
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
        assert_ne!(out.exit_code(), Some(0));
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
        assert_ne!(out.exit_code(), Some(0), "{args:?}: {}", out.stderr);
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
        assert_eq!(out.exit_code(), Some(1), "{}", out.stderr);
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
            assert_ne!(out.exit_code(), Some(0), "{args:?}: {}", out.stderr);
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
    assert_eq!(out.exit_code(), Some(0), "{}", out.stderr);
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
    assert_eq!(out.exit_code(), Some(0), "{}", out.stderr);
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
