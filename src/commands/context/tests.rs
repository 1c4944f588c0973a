//! Choosing a context: the order, the errors, `DIFY_TOKEN`.

use super::*;
use crate::cli::Selection;
use crate::dify::HostUrl;
use crate::error::ErrorCode;
use crate::error::Result;
use crate::state::{ConfigDir, Registry};

const HOSTS: &str = "token_storage: file\ncurrent_host: a.test\nhosts:\n  a.test:\n    \
    current_account: a1@x.test\n    accounts:\n      a1@x.test:\n        account:\n          \
    email: a1@x.test\n        token_id: t-a1\n      a2@x.test:\n        account:\n          \
    email: a2@x.test\n  b.test:8443:\n    scheme: http\n    current_account: b1@x.test\n    \
    accounts:\n      b1@x.test:\n        account:\n          email: b1@x.test\n";

fn registry(text: &str) -> Registry {
    use crate::state::Document;
    Registry::parse(text, std::path::Path::new("hosts.yml")).unwrap()
}

fn pick(sel: Selection, env: ContextEnv, text: &str) -> Result<Chosen> {
    let text = text.to_string();
    choose_with(&sel, &env, move || {
        Ok((ConfigDir::at("/nonexistent"), registry(&text)))
    })
}

fn sel(host: Option<&str>, account: Option<&str>) -> Selection {
    Selection {
        host: host.map(str::to_string),
        account: account.map(str::to_string),
    }
}

fn env(token: Option<&str>, host: Option<&str>, account: Option<&str>) -> ContextEnv {
    ContextEnv {
        token: token.map(str::to_string),
        host: host.map(str::to_string),
        account: account.map(str::to_string),
        insecure: false,
    }
}

fn chosen(s: Result<Chosen>) -> (String, String, String) {
    let s = s.unwrap();
    (s.url.scheme.clone(), s.host.clone(), s.email().to_string())
}

fn error(s: Result<Chosen>) -> (ErrorCode, String) {
    let e = s.unwrap_err();
    (e.code, e.message)
}

#[test]
fn the_active_context_by_default() {
    let s = pick(sel(None, None), env(None, None, None), HOSTS).unwrap();
    assert_eq!(
        (s.host.as_str(), s.email(), s.source, s.token_id()),
        ("a.test", "a1@x.test", TokenSource::File, Some("t-a1"))
    );
    assert_eq!(
        error(pick(sel(None, None), env(None, None, None), "")),
        (ErrorCode::NotLoggedIn, "not logged in".into())
    );
}

#[test]
fn flags_then_env_then_active() {
    let https = |h: &str, e: &str| ("https".to_string(), h.to_string(), e.to_string());
    let http = |h: &str, e: &str| ("http".to_string(), h.to_string(), e.to_string());
    assert_eq!(
        chosen(pick(
            sel(Some("b.test:8443"), None),
            env(None, None, None),
            HOSTS
        )),
        http("b.test:8443", "b1@x.test")
    );
    // A URL names the same stored host.
    assert_eq!(
        chosen(pick(
            sel(Some("HTTP://B.test:8443/"), None),
            env(None, None, None),
            HOSTS
        )),
        http("b.test:8443", "b1@x.test")
    );
    assert_eq!(
        chosen(pick(
            sel(None, Some("a2@x.test")),
            env(None, None, None),
            HOSTS
        )),
        https("a.test", "a2@x.test")
    );
    assert_eq!(
        chosen(pick(
            sel(None, None),
            env(None, Some("b.test:8443"), None),
            HOSTS
        )),
        http("b.test:8443", "b1@x.test")
    );
    assert_eq!(
        chosen(pick(
            sel(None, None),
            env(None, None, Some("a2@x.test")),
            HOSTS
        )),
        https("a.test", "a2@x.test")
    );
    // Each flag wins over its variable.
    assert_eq!(
        chosen(pick(
            sel(Some("a.test"), None),
            env(None, Some("b.test:8443"), Some("a2@x.test")),
            HOSTS
        )),
        https("a.test", "a2@x.test")
    );
    assert_eq!(
        chosen(pick(
            sel(None, Some("a1@x.test")),
            env(None, None, Some("a2@x.test")),
            HOSTS
        )),
        https("a.test", "a1@x.test")
    );
}

#[test]
fn unknown_choices_are_usage_errors() {
    assert_eq!(
        error(pick(
            sel(Some("c.test"), None),
            env(None, None, None),
            HOSTS
        )),
        (
            ErrorCode::UsageInvalidFlag,
            "unknown host \"c.test\"; known hosts: a.test, b.test:8443".into()
        )
    );
    assert_eq!(
        error(pick(
            sel(None, None),
            env(None, Some("c.test"), None),
            HOSTS
        )),
        (
            ErrorCode::UsageInvalidFlag,
            "unknown host \"c.test\" (from DIFY_HOST); known hosts: a.test, b.test:8443".into()
        )
    );
    assert_eq!(
        error(pick(
            sel(Some("b.test:8443"), Some("a1@x.test")),
            env(None, None, None),
            HOSTS
        )),
        (
            ErrorCode::UsageInvalidFlag,
            "unknown account \"a1@x.test\" on b.test:8443; known: b1@x.test".into()
        )
    );
    assert_eq!(
        error(pick(sel(None, None), env(None, None, Some("zz")), HOSTS)),
        (
            ErrorCode::UsageInvalidFlag,
            "unknown account \"zz\" (from DIFY_ACCOUNT) on a.test; known: a1@x.test, a2@x.test"
                .into()
        )
    );
    assert_eq!(
        error(pick(sel(Some(""), None), env(None, None, None), HOSTS)),
        (
            ErrorCode::UsageInvalidFlag,
            "--host must not be empty".into()
        )
    );
    // Nothing stored at all: not signed in, whatever was asked for.
    assert_eq!(
        error(pick(sel(Some("c.test"), None), env(None, None, None), "")).0,
        ErrorCode::NotLoggedIn
    );
}

#[test]
fn dify_token_needs_no_stored_state() {
    let never = || -> Result<(ConfigDir, Registry)> { panic!("state was read") };
    let e = env(
        Some(" dfoa_t \n"),
        Some("https://x.test/dify/"),
        Some("ignored"),
    );
    let s = choose_with(&sel(None, None), &e, never).unwrap();
    assert_eq!(
        (
            s.host.as_str(),
            s.url.scheme.as_str(),
            s.url.path_prefix.as_str()
        ),
        ("x.test", "https", "/dify")
    );
    assert_eq!(
        (s.source, s.email(), s.stored.is_none()),
        (TokenSource::Env, "", true)
    );
    assert_eq!(
        s.read_token(&crate::output::term::Ui::plain())
            .unwrap()
            .unwrap()
            .expose(),
        "dfoa_t"
    );
    assert!(matches!(s.forget(None).unwrap(), Forgot::Nothing));

    // Bare hosts are https; --host wins; an explicit http:// is honoured
    // only with DIFY_INSECURE: the token would travel in clear text.
    let s = choose_with(
        &sel(None, None),
        &env(Some("t"), Some("h.test:81"), None),
        never,
    )
    .unwrap();
    assert_eq!(s.url, HostUrl::new("https", "h.test:81"));
    let plain = sel(Some("http://127.0.0.1:5001"), None);
    let mut e = env(Some("t"), Some("h.test"), None);
    let refused = choose_with(&plain, &e, never).unwrap_err();
    assert_eq!(
        (refused.code, refused.message.as_str()),
        (
            ErrorCode::UsageInvalidFlag,
            "DIFY_TOKEN would travel in clear text to http://127.0.0.1:5001 (--host)"
        )
    );
    e.insecure = true;
    let s = choose_with(&plain, &e, never).unwrap();
    assert_eq!(s.url, HostUrl::new("http", "127.0.0.1:5001"));
    // A stored context's host: no path, and a port in range.
    for (host, message) in [
        (
            "a.test/x",
            "--host: stored contexts are named by host[:port], without a path (/x)",
        ),
        (
            "a.test:70000",
            "--host: host parse: port 70000 is out of range (1 to 65535)",
        ),
    ] {
        let e = pick(sel(Some(host), None), env(None, None, None), HOSTS).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::UsageInvalidFlag, message)
        );
    }

    // Without a host: the active context's host (and scheme), else exit 2.
    let s = pick(sel(None, None), env(Some("t"), None, None), HOSTS).unwrap();
    assert_eq!((s.host.as_str(), s.source), ("a.test", TokenSource::Env));
    let e = pick(sel(None, None), env(Some("t"), None, None), "").unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str(), e.exit_code()),
        (
            ErrorCode::UsageMissingArg,
            "DIFY_TOKEN is set but no host is known",
            2
        )
    );
    let e = pick(sel(None, Some("a")), env(Some("t"), None, None), HOSTS).unwrap_err();
    assert_eq!(e.code, ErrorCode::UsageInvalidFlag);
    let e = pick(sel(None, None), env(Some("dfoa_a b"), Some("h"), None), "").unwrap_err();
    assert_eq!(e.code, ErrorCode::UsageInvalidFlag);
}

/// The command a hint suggests signs in to the context as it is stored: its
/// scheme, `--insecure` for http, its chosen label quoted for a shell.
#[test]
fn login_commands_fit_the_context() {
    use super::login_command;
    assert_eq!(
        login_command("cloud.dify.ai", "https", None),
        "difyctl auth login --host cloud.dify.ai"
    );
    assert_eq!(
        login_command("127.0.0.1:18081", "http", None),
        "difyctl auth login --host http://127.0.0.1:18081 --insecure"
    );
    assert_eq!(
        login_command("h.test", "https", Some("Bob's CI")),
        "difyctl auth login --host h.test --label 'Bob'\\''s CI'"
    );
}
