//! `auth logout` against the mock Dify server: the
//! server-side revoke, the local cleanup that happens whatever the server
//! says, and the contexts it leaves alone.
//!
//! `auth logout` never lies and never loses a newer sign-in (issue 13):
//!
//! * when the token cannot be read (a damaged `tokens.yml`; a locked keychain
//!   is in the keychain tests) or the server does not revoke it, stderr says the
//!   session stays active, until when, what was left where and how to end
//!   it; the exit status stays 0;
//! * a per-token 429 on the revoke is waited out as the server asks (up to
//!   a minute in all);
//! * a sign-in of the same context that lands while the revoke is on its way
//!   is kept, token and context.

use std::collections::BTreeMap;

use crate::support::fixtures::{
    self, Context, Hosts, NO_HOSTS, NO_TOKENS, Tokens, alice, other_tokens, tokens_yml,
    with_token_args,
};
use crate::support::mock::{DEFAULT_ACCOUNT_ID, MockConfig, MockDify, SessionInfo};
use crate::support::runner::{Test, mode};

const SELF_PATH: &str = "/openapi/v1/account/sessions/self";

const NOT_LOGGED_IN: &str = "not_logged_in: not logged in\nhint: run 'difyctl auth login'\n";

fn files(t: &Test) -> BTreeMap<String, String> {
    t.snapshot()
        .into_iter()
        .map(|(name, bytes)| (name, String::from_utf8_lossy(&bytes).into_owned()))
        .collect()
}

fn logout() -> Test {
    Test::new().args(["auth", "logout"])
}

/// The mock's default account on its host, with `session` as its token's.
fn tester(mock: &MockDify, session: &SessionInfo) -> Context {
    Context::new(&mock.host(), "tester@dify.ai")
        .http()
        .id(DEFAULT_ACCOUNT_ID)
        .name("Tester")
        .token_id(&session.id)
}

/// One context on the mock (the default account), active.
fn signed_in(mock: &MockDify, session: &SessionInfo) -> Test {
    logout()
        .hosts(Hosts::file().with(tester(mock, session)))
        .tokens(Tokens::new().with(&mock.host(), "tester@dify.ai", &session.token))
}

/// Logged out of the only context: both files emptied, none deleted.
#[track_caller]
fn assert_cleared(t: &Test) {
    assert_eq!(
        files(t),
        BTreeMap::from([
            ("hosts.yml".to_string(), NO_HOSTS.to_string()),
            ("tokens.yml".to_string(), NO_TOKENS.to_string()),
        ])
    );
}

fn logged_out(mock: &MockDify) -> String {
    format!("✓ Logged out of {}\n", mock.host())
}

/// [`not_revoked`] after the server's 500.
fn server_error(mock: &MockDify, session: &SessionInfo) -> String {
    not_revoked(
        "Internal Server Error",
        "may still be active",
        "it expires",
        &session.id,
        "tester@dify.ai",
        &mock.host(),
    )
}

/// The warning of a revoke that failed (`why`): the official line, then what
/// lives on (`state`: is/may still be) until when, and how to end it.
fn not_revoked(why: &str, state: &str, until: &str, id: &str, email: &str, host: &str) -> String {
    format!(
        "! server revoke failed ({why}); local credentials cleared anyway\n  The session {state} \
         on the server until {until}. To end it: 'difyctl auth devices revoke {id}' from another \
         context of {email}, a new sign-in from this machine ('difyctl auth login --host http://{host} \
         --insecure' replaces it), or the Dify console.\n"
    )
}

#[test]
fn after_a_sign_in_logout_revokes_the_session_and_clears_it() {
    let mock = MockDify::with(MockConfig::default().auto_approve());
    let t = Test::new();
    t.run_args([
        "auth",
        "login",
        "--host",
        &mock.url(),
        "--insecure",
        "--no-browser",
    ])
    .stderr(&fixtures::mock_code_lines(&mock));
    let session = mock.sessions().pop().unwrap();

    t.run_args(["auth", "logout"])
        .code(0)
        .stdout(&logged_out(&mock))
        .stderr("");
    let deletes = mock.requests_to(SELF_PATH);
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].method, "DELETE");
    assert_eq!(
        deletes[0].header("authorization"),
        Some(format!("Bearer {}", session.token).as_str())
    );
    assert_eq!(mock.revoked_ids(), [session.id]);
    assert!(mock.sessions().is_empty());
    assert_cleared(&t);
    for name in ["hosts.yml", "tokens.yml"] {
        assert_eq!(mode(&t.config_dir().join(name)), 0o600);
    }

    // Nothing is active any more.
    t.run_args(["auth", "whoami"]).code(4).stderr(NOT_LOGGED_IN);
    t.run_args(["auth", "logout"])
        .code(4)
        .stdout("")
        .stderr(NOT_LOGGED_IN);
    assert_eq!(mock.requests_to(SELF_PATH).len(), 1);
    assert_cleared(&t);
}

#[test]
fn logout_leaves_the_other_contexts() {
    let mock = MockDify::start();
    let tester = mock.add_session("difyctl on box");
    let host = mock.host();
    let hosts = Hosts::file()
        .with(alice())
        .with(
            Context::new(&host, "bob@dify.ai")
                .http()
                .id("acc-bob")
                .name("Bob")
                .token_id("tok-bob"),
        )
        .with(self::tester(&mock, &tester))
        .current_host(Some(&host))
        .current_account(&host, Some("tester@dify.ai"));
    let tokens = Tokens::new()
        .with("cloud.dify.ai", "alice@example.com", "dfoa_alice")
        .with(&host, "bob@dify.ai", "dfoa_bob")
        .with(&host, "tester@dify.ai", &tester.token);
    let t = logout().hosts(hosts).tokens(tokens);
    t.run().code(0).stdout(&logged_out(&mock)).stderr(&format!(
        "No context is active now; 2 contexts are stored (alice@example.com on cloud.dify.ai, \
         bob@dify.ai on {host}). Pick one with 'difyctl use host' and 'difyctl use account'\n"
    ));
    assert_eq!(mock.revoked_ids(), [tester.id]);
    // Only the active context is gone; no context is active afterwards.
    assert_eq!(
        t.read("hosts.yml").unwrap(),
        format!(
            "token_storage: file
hosts:
  cloud.dify.ai:
    current_account: alice@example.com
    accounts:
      alice@example.com:
        account:
          id: acc-1
          email: alice@example.com
          name: Alice
        token_id: tok-1
  {host}:
    scheme: http
    accounts:
      bob@dify.ai:
        account:
          id: acc-bob
          email: bob@dify.ai
          name: Bob
        token_id: tok-bob
"
        )
    );
    assert_eq!(
        t.read("tokens.yml").unwrap(),
        format!(
            "version: 1
tokens:
  cloud.dify.ai:
    alice@example.com: dfoa_alice
  {host}:
    bob@dify.ai: dfoa_bob
"
        )
    );
}

#[test]
fn not_logged_in_exits_4_and_changes_nothing() {
    let t = logout();
    t.run().code(4).stdout("").stderr(NOT_LOGGED_IN);
    assert!(!t.config_dir().exists());

    // Contexts, but none active.
    let hosts = Hosts::file()
        .with(
            Context::new("cloud.dify.ai", "alice@example.com")
                .id("acc-1")
                .name("Alice"),
        )
        .current_host(None)
        .current_account("cloud.dify.ai", None);
    let t = logout().hosts(hosts).tokens(other_tokens());
    let before = files(&t);
    t.run().code(4).stdout("").stderr(
        "not_logged_in: not logged in\nhint: no context is active; 1 context is stored \
         (alice@example.com on cloud.dify.ai): pick one with 'difyctl use host' and 'difyctl \
         use account', or sign in with 'difyctl auth login'\n",
    );
    assert_eq!(files(&t), before);
}

#[test]
fn a_server_error_still_cleans_up_with_a_warning() {
    let mock = MockDify::start();
    let session = mock.add_session("difyctl on box");
    mock.fail_next(SELF_PATH, 1, 500);
    let t = signed_in(&mock, &session);
    t.run()
        .code(0)
        .stdout(&logged_out(&mock))
        .stderr(&server_error(&mock, &session));
    assert_cleared(&t);
    // One attempt, no retries; the session is still live on the server.
    assert_eq!(mock.requests_to(SELF_PATH).len(), 1);
    assert_eq!(mock.sessions(), [session]);
}

#[test]
fn a_session_revoked_elsewhere_still_cleans_up() {
    // A 1.14-era server answers 500 for a revoked bearer, a later one 401.
    for baseline in [false, true] {
        let mock = MockDify::with(MockConfig {
            baseline_invalid_bearer_500: baseline,
            ..MockConfig::default()
        });
        let session = mock.add_session("difyctl on box");
        mock.revoke_session(&session.id);
        let t = signed_in(&mock, &session);
        // A 401 says the session is over; a 500 cannot say.
        let warning = if baseline {
            server_error(&mock, &session)
        } else {
            "! server revoke failed (invalid bearer); local credentials cleared anyway\n".into()
        };
        t.run().code(0).stdout(&logged_out(&mock)).stderr(&warning);
        assert_cleared(&t);
    }
}

#[test]
fn an_unreachable_server_still_cleans_up_with_a_warning() {
    let mock = MockDify::start();
    let session = mock.add_session("difyctl on box");
    let t = signed_in(&mock, &session);
    let host = mock.host();
    drop(mock);
    t.run()
        .code(0)
        .stdout(&format!("✓ Logged out of {host}\n"))
        .stderr(&not_revoked(
            &format!("cannot connect to {host}: connection refused"),
            "may still be active",
            "it expires",
            &session.id,
            "tester@dify.ai",
            &host,
        ));
    assert_cleared(&t);
}

#[test]
fn without_a_usable_token_there_is_nothing_to_revoke() {
    let mock = MockDify::start();
    let session = mock.add_session("difyctl on box");

    // No tokens.yml at all: cleaned up, and tokens.yml is not created.
    let t = signed_in(&mock, &session);
    std::fs::remove_file(t.config_dir().join("tokens.yml")).unwrap();
    t.run().code(0).stdout(&logged_out(&mock)).stderr("");
    assert_eq!(
        files(&t),
        BTreeMap::from([("hosts.yml".to_string(), NO_HOSTS.to_string())])
    );

    // A token that is not a Dify bearer is never sent anywhere.
    let t = signed_in(&mock, &session).tokens(tokens_yml(&mock, "not-a-dify-token"));
    t.run().code(0).stdout(&logged_out(&mock)).stderr("");
    assert_cleared(&t);

    assert!(mock.requests().is_empty());
    assert_eq!(mock.sessions(), [session]);
}

#[test]
fn an_external_sso_session_is_revoked_too() {
    // The 1.14 server answers 403 for a dfoe_ bearer on this route; the
    // official tool sends it anyway, and so do we, then cleans up.
    let (mock, t) = crate::support::fixtures::signed_in_sso();
    let session = mock.sessions().pop().unwrap();
    t.run_args(["auth", "logout"])
        .code(0)
        .stdout(&logged_out(&mock))
        .stderr(&not_revoked(
            "unsupported_token_type",
            "is still active",
            &session.expires_at.replace('Z', "+00:00"),
            &session.id,
            "sso@corp.test",
            &mock.host(),
        ));
    let deletes = mock.requests_to(SELF_PATH);
    assert_eq!(
        deletes[0].header("authorization"),
        Some(format!("Bearer {}", session.token).as_str())
    );
    assert_cleared(&t);
}

#[test]
fn verbose_logout_never_shows_the_token() {
    let mock = MockDify::start();
    let session = mock.add_session("difyctl on box");
    mock.fail_next(SELF_PATH, 1, 500);
    let t = signed_in(&mock, &session);
    let out = t.run_args(["-v"]).code(0).stdout(&logged_out(&mock));
    assert!(!out.stderr.contains("dfoa_"), "{}", out.stderr);
    assert!(!out.stderr.contains(&session.token[5..]), "{}", out.stderr);
    out.stderr_has(&format!("> DELETE {}{SELF_PATH}\n", mock.url()))
        .stderr_has(
            "! server revoke failed (Internal Server Error); local credentials cleared anyway\n",
        );
    assert_cleared(&t);
}

const EMAIL: &str = "tester@dify.ai";

/// How to end a session, as the warnings say it.
fn how_to_end(id: &str, host: &str) -> String {
    format!(
        "To end it: 'difyctl auth devices revoke {id}' from another context of {EMAIL}, a new \
         sign-in from this machine ('difyctl auth login --host http://{host} --insecure' replaces \
         it), or the Dify console.\n"
    )
}

#[test]
fn a_damaged_tokens_yml_is_never_left_holding_a_live_token_silently() {
    let mock = MockDify::start();
    let (t, session) = fixtures::signed_in(&mock);
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
    assert_eq!(t.read("hosts.yml").as_deref(), Some(NO_HOSTS));
    assert_eq!(mock.sessions(), vec![session]);
}

#[test]
fn a_token_that_cannot_be_deleted_is_reported_where_it_is() {
    // Revoked, or not (a 500): either way the context goes and the token stays.
    for revoke_fails in [false, true] {
        let mock = MockDify::start();
        let (t, session) = fixtures::signed_in(&mock);
        let host = mock.host();
        if revoke_fails {
            mock.fail_next(SELF_PATH, 1, 500);
        }
        // Readable, but never rewritten: a tag difyctl would not write back.
        let kept = format!(
            "version: 1\ntokens:\n  {host}:\n    {EMAIL}: {}\nkept: !!binary aGk=\n",
            session.token
        );
        std::fs::write(t.config_dir().join("tokens.yml"), &kept).unwrap();
        let out = t
            .run_args(["auth", "logout"])
            .code(0)
            .stdout(&logged_out(&mock));
        let tokens = t.config_dir().join("tokens.yml").display().to_string();
        let revoke = if revoke_fails {
            format!(
                "! server revoke failed (Internal Server Error); the context was removed \
                 anyway\n  The session may still be active on the server until it expires. {}",
                how_to_end(&session.id, &host)
            )
        } else {
            String::new()
        };
        assert_eq!(
            out.stderr,
            format!(
                "{revoke}! could not delete the token of {EMAIL} on {host} (Refusing to rewrite \
                 {tokens}: it uses the YAML tag !!binary (line 5, column 7), which difyctl would \
                 not write back.)\n  {tokens} still holds the token: fix the file, then remove \
                 the entry of {EMAIL} under {host}.\n"
            )
        );
        // The context is gone, the file untouched.
        assert_eq!(mock.sessions().is_empty(), !revoke_fails);
        assert_eq!(t.read("tokens.yml").as_deref(), Some(kept.as_str()));
        assert_eq!(t.read("hosts.yml").as_deref(), Some(NO_HOSTS));
    }
}

#[test]
fn a_rate_limited_revoke_is_waited_out_as_the_server_asks() {
    let mock = MockDify::start();
    let (t, session) = fixtures::signed_in(&mock);
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
    let (t, session) = fixtures::signed_in(&mock);
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
    let (t, session) = fixtures::signed_in(&mock);
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
    let (t, old) = fixtures::signed_in(&mock);
    let host = mock.host();
    // The revoke of the old session hangs until released: meanwhile the
    // same context signs in again (a token pasted from elsewhere).
    mock.hold(SELF_PATH);
    let logout = t.spawn_args(["auth", "logout"]);
    mock.wait_for_request("DELETE", SELF_PATH);
    let new = mock.add_session("difyctl on elsewhere");
    let mut login = t.command();
    login.args(with_token_args(&mock));
    t.run_command(login, new.token.as_bytes()).stderr(
        "! the account has 2 sessions and the server does not say which one this token is; \
         'auth devices list' will not mark it as current\n",
    );
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
