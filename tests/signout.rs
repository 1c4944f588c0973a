//! `auth logout` never lies and never loses a newer sign-in (issue 13):
//!
//! * when the token cannot be read (a damaged `tokens.yml`; a locked keychain
//!   is in keychain_cli.rs) or the server does not revoke it, stderr says the
//!   session stays active, until when, what was left where and how to end
//!   it; the exit status stays 0;
//! * a per-token 429 on the revoke is waited out as the server asks (up to
//!   a minute in all);
//! * a sign-in of the same context that lands while the revoke is on its way
//!   is kept, token and context.

mod support;

use support::fixtures::{signed_in, tokens_yml, with_token_args};
use support::mock::{MockConfig, MockDify};

const SELF_PATH: &str = "/openapi/v1/account/sessions/self";
const EMAIL: &str = "tester@dify.ai";

fn logged_out(mock: &MockDify) -> String {
    format!("✓ Logged out of {}\n", mock.host())
}

/// How to end a session, as the warnings say it.
fn how_to_end(id: &str, host: &str) -> String {
    format!(
        "To end it: 'difyctl auth devices revoke {id}' from another context of {EMAIL}, a new \
         sign-in from this machine ('difyctl auth login --host {host}' replaces it), or the Dify \
         console.\n"
    )
}

#[test]
fn a_damaged_tokens_yml_is_never_left_holding_a_live_token_silently() {
    let mock = MockDify::start();
    let (t, session) = signed_in(&mock);
    let host = mock.host();
    let damaged = format!(
        "version: 1\ntokens:\n  {host}:\n    {EMAIL}: {}\n  broken: [\n",
        session.token
    );
    std::fs::write(t.config_dir().join("tokens.yml"), &damaged).unwrap();
    let out = t
        .run_args(["auth", "logout"])
        .code(0)
        .stdout(&logged_out(&mock));
    let tokens = t.config_dir().join("tokens.yml").display().to_string();
    assert_eq!(
        out.stderr,
        format!(
            "! could not read the token of {EMAIL} on {host} (Failed to parse YAML file {tokens}: \
             did not find expected node content (while parsing a flow node) at line 6, column \
             1.), so the session was not revoked: it stays active on the server until it \
             expires\n  {tokens} still holds the token: fix the file, then remove the entry of \
             {EMAIL} under {host}.\n  {}",
            how_to_end(&session.id, &host)
        )
    );
    // Nothing was sent; the context is gone, the file untouched.
    assert!(mock.requests().is_empty());
    assert_eq!(t.read("tokens.yml").as_deref(), Some(damaged.as_str()));
    assert_eq!(
        t.read("hosts.yml").as_deref(),
        Some("token_storage: file\nhosts: {}\n")
    );
    assert_eq!(mock.sessions(), vec![session]);
}

#[test]
fn a_rate_limited_revoke_is_waited_out_as_the_server_asks() {
    let mock = MockDify::start();
    let (t, session) = signed_in(&mock);
    mock.rate_limit_next(SELF_PATH, 1, Some(1));
    t.run_args(["auth", "logout"])
        .code(0)
        .stdout(&logged_out(&mock))
        .stderr("");
    assert_eq!(mock.requests_to(SELF_PATH).len(), 2);
    assert_eq!(mock.revoked_ids(), vec![session.id]);
}

#[test]
fn a_revoke_refused_for_longer_than_a_minute_or_by_version_says_what_lives_on() {
    let mock = MockDify::start();
    let (t, session) = signed_in(&mock);
    let host = mock.host();
    mock.rate_limit_next(SELF_PATH, 1, Some(120));
    t.run_args(["auth", "logout"])
        .code(0)
        .stdout(&logged_out(&mock))
        .stderr(&format!(
            "! server revoke failed (Too Many Requests (the server asked to wait 120 s more)); \
             local credentials cleared anyway\n  \
             The session is still active on the server until it expires. {}",
            how_to_end(&session.id, &host)
        ));
    assert_eq!(
        mock.requests_to(SELF_PATH).len(),
        1,
        "no waiting past a minute"
    );
    assert_eq!(mock.sessions(), vec![session]);

    // A server that refuses this client's version (426).
    let mock = MockDify::with(MockConfig {
        upgrade_required: true,
        ..MockConfig::default()
    });
    let (t, session) = signed_in(&mock);
    let out = t
        .run_args(["auth", "logout"])
        .code(0)
        .stdout(&logged_out(&mock));
    assert!(
        out.stderr.ends_with(&format!(
            "; local credentials cleared anyway\n  The session is still active on the server \
             until it expires. {}",
            how_to_end(&session.id, &mock.host())
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn a_sign_in_that_lands_while_the_revoke_is_on_its_way_is_kept() {
    let mock = MockDify::start();
    let (t, old) = signed_in(&mock);
    let host = mock.host();
    // The revoke of the old session hangs until released: meanwhile the
    // same context signs in again (a token pasted from elsewhere).
    mock.hold(SELF_PATH);
    let logout = t.spawn_args(["auth", "logout"]);
    mock.wait_for_request("DELETE", SELF_PATH);
    let new = mock.add_session("difyctl on elsewhere");
    let mut login = t.command();
    login.args(with_token_args(&mock));
    t.run_command(login, new.token.as_bytes()).code(0);
    mock.release(SELF_PATH);
    logout
        .finish()
        .code(0)
        .stdout(&format!(
            "✓ Revoked the earlier session of {EMAIL} on {host}\n"
        ))
        .stderr(&format!(
            "! {EMAIL} on {host} was signed in again meanwhile: that new sign-in is kept (run \
             'difyctl auth logout' again to end it too)\n"
        ));
    assert_eq!(mock.revoked_ids(), vec![old.id]);
    // The new sign-in, token and context, as it was stored.
    assert_eq!(
        t.read("tokens.yml").as_deref(),
        Some(tokens_yml(&mock, &new.token).as_str())
    );
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout(&format!("{EMAIL} (Tester)\n"));
    t.run_args(["auth", "token"])
        .code(0)
        .stdout(&format!("{}\n", new.token));
}
