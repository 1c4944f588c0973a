//! `auth refresh [--if-expiring-within DURATION]` against the mock server: a
//! new sign-in to the stored context's host that rotates its session, keeps
//! the active context and the context's workspace, refuses a sign-in as
//! another account, and with `--if-expiring-within` leaves a token alone
//! while it is valid for longer. Exact stdout, stderr, exit codes and files.

use std::collections::BTreeMap;

use crate::support::fixtures::{
    Context, Hosts, Tokens, alice, hosts_yml, mock_code_lines, tokens_yml,
};
use crate::support::mock::{Account, MockConfig, MockDify, SessionInfo, Workspace};
use crate::support::runner::Test;

const DAY: i64 = 86_400;

/// Tokens live whole days and half an hour: the time left then reads the
/// same (`14d 0h`) whether the test takes a second or twenty minutes.
const TTL: i64 = 14 * DAY + 1800;

/// The label a sign-in from this machine gets, so that a seeded session is
/// the one a refresh rotates out.
fn own_label() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("difyctl on {}", host.trim())
}

/// A mock whose tokens live `ttl` seconds; `auto` approves every code.
fn mock(ttl: i64, auto: bool) -> MockDify {
    MockDify::with(MockConfig {
        token_ttl_secs: ttl,
        auto_approve: auto,
        ..MockConfig::default()
    })
}

/// A config dir signed in to the mock (an `http` context, file store) with a
/// server session from this machine; `stored_expiry` also writes the
/// session's `token_expires_at` into hosts.yml.
fn signed_in(mock: &MockDify, stored_expiry: bool) -> (Test, SessionInfo) {
    let s = mock.add_session(&own_label());
    let context = if stored_expiry {
        stored(mock, &s)
    } else {
        Context::of(mock).token_id(&s.id)
    };
    let t = Test::new()
        .hosts(Hosts::file().with(context))
        .tokens(tokens_yml(mock, &s.token));
    (t, s)
}

/// The mock's context with session `s`, its expiry stored as a sign-in
/// stores it (`+00:00`).
fn stored(mock: &MockDify, s: &SessionInfo) -> Context {
    Context::of(mock)
        .token_id(&s.id)
        .token_expires_at(&plus00(s))
}

/// The `hosts.yml` of [`stored`] alone.
fn stored_hosts(mock: &MockDify, s: &SessionInfo) -> String {
    Hosts::file().with(stored(mock, s)).to_string()
}

fn plus00(s: &SessionInfo) -> String {
    s.expires_at.replace('Z', "+00:00")
}

fn refresh(args: &[&str]) -> Vec<String> {
    ["auth", "refresh"]
        .iter()
        .chain(args)
        .map(|s| s.to_string())
        .collect()
}

/// stdout of a refresh of the mock's account to session `s`, `left` being how
/// the time it has left reads.
fn refreshed(mock: &MockDify, s: &SessionInfo, left: &str) -> String {
    format!(
        "✓ Refreshed the token for tester@dify.ai (Tester) on {}\n  Workspace: Acme Team\n  \
         Expires:   {} (in {left})\n",
        mock.host(),
        plus00(s)
    )
}

fn only_session(mock: &MockDify) -> SessionInfo {
    let sessions = mock.sessions();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    sessions.into_iter().next().unwrap()
}

/// Every request as `METHOD /path` (no query).
fn requests(mock: &MockDify) -> Vec<String> {
    mock.command_requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path_only()))
        .collect()
}

const SIGN_IN: [&str; 2] = [
    "POST /openapi/v1/oauth/device/code",
    "POST /openapi/v1/oauth/device/token",
];

const CHECK: &str = "GET /openapi/v1/account";

const LOOKUP: &str = "GET /openapi/v1/account/sessions";

fn files(t: &Test) -> BTreeMap<String, Vec<u8>> {
    t.snapshot()
}

// ---------------------------------------------------------------------------
// Signing in again
// ---------------------------------------------------------------------------

#[test]
fn device_flow_refresh_rotates_the_session() {
    let mock = mock(TTL, true);
    let (t, old) = signed_in(&mock, false);
    // An http context: no --insecure needed, the user allowed http at login.
    let out = t
        .run_args(refresh(&["--device-flow", "--no-browser"]))
        .code(0);
    let new = only_session(&mock);
    assert_ne!(new.id, old.id);
    // Same device label: the server revoked the old session.
    assert_eq!(mock.revoked_ids(), [old.id.as_str()]);
    assert_eq!(new.device_label, old.device_label);
    out.stdout(&refreshed(&mock, &new, "14d 0h"))
        .stderr(&mock_code_lines(&mock))
        .file("hosts.yml", &stored_hosts(&mock, &new))
        .file("tokens.yml", &tokens_yml(&mock, &new.token));
    // Without --if-expiring-within nothing but the sign-in is sent.
    assert_eq!(requests(&mock), SIGN_IN);

    // The stored token is the new one, and it works.
    t.run_args(["auth", "token"])
        .code(0)
        .stdout(&format!("{}\n", new.token));
    t.run_args(["auth", "status"]).code(0);
}

#[test]
fn refreshing_another_context_keeps_the_active_one() {
    let mock = mock(TTL, true);
    let old = mock.add_session(&own_label());
    let host = mock.host();
    // bob@example.com is the host's current account; tester@dify.ai, in
    // the server's default workspace, is refreshed.
    let hosts = |tester: Context| {
        Hosts::file()
            .with(alice())
            .with(
                Context::new(&host, "bob@example.com")
                    .http()
                    .id("acc-bob")
                    .name("Bob")
                    .token_id("tok-bob"),
            )
            .with(tester)
            .current_host(Some("cloud.dify.ai"))
    };
    let tokens = |tester_token: &str| {
        Tokens::new()
            .with("cloud.dify.ai", "alice@example.com", "dfoa_alice")
            .with(&host, "bob@example.com", "dfoa_bob")
            .with(&host, "tester@dify.ai", tester_token)
    };
    let tester = Context::of(&mock).token_id(&old.id);
    let t = Test::new().hosts(hosts(tester)).tokens(tokens(&old.token));

    // A URL names the stored host too.
    let out = t
        .run_args(refresh(&[
            "--host",
            &mock.url(),
            "--account",
            "tester@dify.ai",
            "--device-flow",
            "--no-browser",
        ]))
        .code(0);
    let new = only_session(&mock);
    assert_eq!(mock.revoked_ids(), [old.id.as_str()]);
    out.stdout(&refreshed(&mock, &new, "14d 0h"))
        .stderr(&mock_code_lines(&mock))
        // current_host and the host's current_account are as they were.
        .file(
            "hosts.yml",
            &hosts(
                Context::of(&mock)
                    .token_id(&new.id)
                    .token_expires_at(&plus00(&new)),
            )
            .to_string(),
        )
        .file("tokens.yml", &tokens(&new.token).to_string());
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("alice@example.com (Alice)\n");
}

#[test]
fn password_refresh_signs_in_as_the_contexts_account() {
    let mock = mock(TTL, false);
    let (t, old) = signed_in(&mock, false);
    let t = t.stdin("Passw0rd!\n");
    // --email defaults to the context's account.
    let out = t
        .run_args(refresh(&["--password", "--password-stdin"]))
        .code(0);
    let new = only_session(&mock);
    out.stderr("")
        .stdout(&refreshed(&mock, &new, "14d 0h"))
        .file("hosts.yml", &stored_hosts(&mock, &new))
        .file("tokens.yml", &tokens_yml(&mock, &new.token));
    assert_eq!(mock.revoked_ids(), [old.id]);
    assert_eq!(new.device_label, own_label());
    let login = &mock.requests_to("/console/api/login")[0];
    assert_eq!(login.json()["email"], "tester@dify.ai");
    // The console session it opened is closed again.
    let consoles = mock.console_sessions();
    assert_eq!(consoles.len(), 1);
    assert!(consoles[0].logged_out);

    // --email naming the context's account, in another case, is the same.
    let out = t
        .run_args(refresh(&[
            "--password",
            "--email",
            "Tester@Dify.ai",
            "--password-stdin",
        ]))
        .code(0);
    let newer = only_session(&mock);
    out.stdout(&refreshed(&mock, &newer, "14d 0h"));
}

#[test]
fn keeps_the_contexts_workspace() {
    let beta = Workspace {
        id: "0b7a6c5d-4e3f-4a2b-9c1d-8e7f6a5b4c3d".into(),
        name: "Beta".into(),
        role: "editor".into(),
    };
    let mock = mock(TTL, true);
    mock.configure(|c| c.workspaces.push(beta.clone()));
    let (t, old) = signed_in(&mock, false);
    // `use workspace` chose Beta for this context; the server's default is Acme.
    let in_beta = |c: Context| c.workspace(&beta.id, &beta.name, &beta.role);
    let t = t.hosts(Hosts::file().with(in_beta(Context::of(&mock).token_id(&old.id))));
    let out = t
        .run_args(refresh(&["--device-flow", "--no-browser"]))
        .code(0);
    let new = only_session(&mock);
    out.stdout(&format!(
        "✓ Refreshed the token for tester@dify.ai (Tester) on {}\n  Workspace: Beta\n  \
         Expires:   {} (in 14d 0h)\n",
        mock.host(),
        plus00(&new)
    ))
    .stderr(&mock_code_lines(&mock))
    .file(
        "hosts.yml",
        &Hosts::file().with(in_beta(stored(&mock, &new))).to_string(),
    );

    // An account no longer in that workspace gets the server's default.
    mock.configure(|c| c.workspaces.retain(|w| w.id != beta.id));
    let out = t
        .run_args(refresh(&["--device-flow", "--no-browser"]))
        .code(0);
    let newer = only_session(&mock);
    out.stdout(&refreshed(&mock, &newer, "14d 0h"))
        .stderr(&mock_code_lines(&mock))
        .file("hosts.yml", &stored_hosts(&mock, &newer));
}

// ---------------------------------------------------------------------------
// --if-expiring-within
// ---------------------------------------------------------------------------

#[test]
fn a_token_valid_for_longer_is_left_alone() {
    // No expiry stored: the status check looks it up in the session list.
    let mock = mock(TTL, true);
    let (t, old) = signed_in(&mock, false);
    let before = files(&t);
    t.run_args(refresh(&["--if-expiring-within", "2d"]))
        .code(0)
        .stderr("")
        .stdout(&format!(
            "Token for tester@dify.ai on {} is valid for another 14d 0h; not refreshing\n",
            mock.host()
        ));
    assert_eq!(files(&t), before);
    assert_eq!(requests(&mock), [CHECK, LOOKUP]);
    assert!(mock.revoked_ids().is_empty());
    assert_eq!(only_session(&mock).id, old.id);
}

#[test]
fn a_stored_expiry_decides_without_the_session_list() {
    let mock = mock(3 * DAY + 1800, true);
    let (t, old) = signed_in(&mock, true);
    let before = files(&t);
    for within in ["2d", "1d12h", "72h", "90s"] {
        t.run_args(refresh(&["--if-expiring-within", within]))
            .code(0)
            .stderr("")
            .stdout(&format!(
                "Token for tester@dify.ai on {} is valid for another 3d 0h; not refreshing\n",
                mock.host()
            ));
    }
    assert_eq!(files(&t), before);
    assert_eq!(requests(&mock), [CHECK; 4]);

    // Within four days: signed in again.
    let out = t
        .run_args(refresh(&[
            "--if-expiring-within",
            "4d",
            "--device-flow",
            "--no-browser",
        ]))
        .code(0);
    let new = only_session(&mock);
    assert_eq!(mock.revoked_ids(), [old.id]);
    out.stderr(&format!(
        "Token for tester@dify.ai on {} expires in 3d 0h (within 4d); signing in again\n{}",
        mock.host(),
        mock_code_lines(&mock)
    ))
    .stdout(&refreshed(&mock, &new, "3d 0h"))
    .file("hosts.yml", &stored_hosts(&mock, &new))
    .file("tokens.yml", &tokens_yml(&mock, &new.token));
    assert_eq!(requests(&mock)[4..], [CHECK, SIGN_IN[0], SIGN_IN[1]]);
}

#[test]
fn a_short_lived_token_is_refreshed() {
    // No expiry stored; the session list says one day.
    let mock = mock(DAY + 1800, true);
    let (t, old) = signed_in(&mock, false);
    let out = t
        .run_args(refresh(&[
            "--if-expiring-within",
            "2d",
            "--device-flow",
            "--no-browser",
        ]))
        .code(0);
    let new = only_session(&mock);
    assert_eq!(mock.revoked_ids(), [old.id]);
    out.stderr(&format!(
        "Token for tester@dify.ai on {} expires in 1d 0h (within 2d); signing in again\n{}",
        mock.host(),
        mock_code_lines(&mock)
    ))
    .stdout(&refreshed(&mock, &new, "1d 0h"));
    assert_eq!(requests(&mock), [CHECK, LOOKUP, SIGN_IN[0], SIGN_IN[1]]);
}

#[test]
fn a_stored_expiry_in_the_past_is_refreshed() {
    let mock = mock(TTL, true);
    let (t, old) = signed_in(&mock, false);
    let hosts = format!(
        "{}        token_expires_at: '2020-01-01T00:00:00+00:00'\n",
        hosts_yml(&mock, Some(&old.id))
    );
    let t = t.hosts(&hosts);
    let out = t
        .run_args(refresh(&[
            "--if-expiring-within",
            "30m",
            "--device-flow",
            "--no-browser",
        ]))
        .code(0);
    let new = only_session(&mock);
    let first = out.stderr.lines().next().unwrap().to_string();
    let prefix = format!("Token for tester@dify.ai on {} expired ", mock.host());
    assert!(
        first.starts_with(&prefix) && first.ends_with(" ago; signing in again"),
        "{first}"
    );
    assert!(
        out.stderr.ends_with(&mock_code_lines(&mock)),
        "{}",
        out.stderr
    );
    out.stdout(&refreshed(&mock, &new, "14d 0h"));
    assert_eq!(requests(&mock), [CHECK, SIGN_IN[0], SIGN_IN[1]]);
}

/// `auth refresh` on a context whose token the server no longer accepts:
/// one check, then a new sign-in whose token is stored.
#[track_caller]
fn signs_in_again_for_a_dead_token(t: &Test, mock: &MockDify) {
    let out = t
        .run_args(refresh(&[
            "--if-expiring-within",
            "2d",
            "--device-flow",
            "--no-browser",
        ]))
        .code(0);
    let new = only_session(mock);
    out.stderr(&format!(
        "The server no longer accepts the token for tester@dify.ai on {}; signing in again\n{}",
        mock.host(),
        mock_code_lines(mock)
    ))
    .stdout(&refreshed(mock, &new, "14d 0h"))
    .file("tokens.yml", &tokens_yml(mock, &new.token));
    assert_eq!(requests(mock), [CHECK, SIGN_IN[0], SIGN_IN[1]]);
}

#[test]
fn a_token_the_server_refuses_is_refreshed() {
    let mock = mock(TTL, true);
    let (t, old) = signed_in(&mock, true);
    mock.expire_session(&old.id);
    signs_in_again_for_a_dead_token(&t, &mock);
}

/// From cron: no terminal, a revoked token. The check runs, then the refresh
/// stops at once with exit 4 rather than requesting a device code nobody
/// will see and waiting out its lifetime; nothing is written.
#[test]
fn without_a_terminal_no_device_flow_is_started() {
    let mock = mock(TTL, true);
    let (t, old) = signed_in(&mock, true);
    mock.revoke_session(&old.id);
    let before = files(&t);
    let unattended = "not_logged_in: no terminal: auth refresh does not start a device-flow \
        sign-in that nobody can approve\nhint: sign in again without a person with --password \
        --password-stdin, --email-code or --console-cookie; pass --device-flow to print a code \
        and wait for its approval anyway\n";
    t.run_args(refresh(&["--if-expiring-within", "2d"]))
        .code(4)
        .stdout("")
        .stderr(&format!(
            "The server no longer accepts the token for tester@dify.ai on {}; signing in \
             again\n{unattended}",
            mock.host()
        ));
    assert_eq!(requests(&mock), [CHECK]);
    // Without --if-expiring-within nothing at all is sent.
    t.run_args(refresh(&["--no-browser"]))
        .code(4)
        .stdout("")
        .stderr(unattended);
    assert_eq!(requests(&mock), [CHECK]);
    assert!(mock.codes().is_empty());
    assert_eq!(files(&t), before);
}

#[test]
fn an_old_servers_500_for_a_dead_token_is_refreshed() {
    // Servers of the 1.14 era answer a revoked or expired token with a 500.
    let mock = mock(TTL, true);
    mock.configure(|c| c.baseline_invalid_bearer_500 = true);
    let (t, old) = signed_in(&mock, true);
    mock.revoke_session(&old.id);
    let t = t.env("DIFYCTL_HTTP_RETRY", "0");
    signs_in_again_for_a_dead_token(&t, &mock);
}

#[test]
fn other_server_errors_on_the_check_fail_with_nothing_written() {
    let mock = mock(TTL, true);
    let (t, _) = signed_in(&mock, true);
    mock.fail_next("/openapi/v1/account", 1, 503);
    let t = t.env("DIFYCTL_HTTP_RETRY", "0");
    let before = files(&t);
    t.run_args(refresh(&[
        "--if-expiring-within",
        "2d",
        "--device-flow",
        "--no-browser",
    ]))
    .code(1)
    .stdout("")
    .stderr_has("http_status: 503\n");
    assert_eq!(files(&t), before);
    assert_eq!(requests(&mock), [CHECK]);
}

#[test]
fn an_unknown_expiry_is_refreshed() {
    // No token_id and no stored expiry: nothing to look the expiry up by.
    let mock = mock(TTL, true);
    let old = mock.add_session(&own_label());
    let t = Test::new()
        .hosts(hosts_yml(&mock, None))
        .tokens(tokens_yml(&mock, &old.token));
    let out = t
        .run_args(refresh(&[
            "--if-expiring-within",
            "2d",
            "--device-flow",
            "--no-browser",
        ]))
        .code(0);
    let new = only_session(&mock);
    out.stderr(&format!(
        "The expiry of the token for tester@dify.ai on {} is unknown; signing in again\n{}",
        mock.host(),
        mock_code_lines(&mock)
    ))
    .stdout(&refreshed(&mock, &new, "14d 0h"))
    .file("hosts.yml", &stored_hosts(&mock, &new));
    assert_eq!(requests(&mock), [CHECK, SIGN_IN[0], SIGN_IN[1]]);
}

#[test]
fn a_context_without_a_stored_token_is_signed_in_again() {
    let mock = mock(TTL, true);
    let old = mock.add_session(&own_label());
    let t = Test::new().hosts(hosts_yml(&mock, Some(&old.id)));
    let out = t
        .run_args(refresh(&[
            "--if-expiring-within",
            "2d",
            "--device-flow",
            "--no-browser",
        ]))
        .code(0);
    let new = only_session(&mock);
    out.stderr(&format!(
        "No token is stored for tester@dify.ai on {}; signing in again\n{}",
        mock.host(),
        mock_code_lines(&mock)
    ))
    .stdout(&refreshed(&mock, &new, "14d 0h"))
    .file("tokens.yml", &tokens_yml(&mock, &new.token));
    assert_eq!(requests(&mock), SIGN_IN);
}

// ---------------------------------------------------------------------------
// Refusals: nothing sent, or nothing stored
// ---------------------------------------------------------------------------

const DURATION_HINT: &str = "hint: a number and a unit (s, m, h or d), such as 90s, 30m, 12h or \
     2d; units can be combined largest first, such as 1d12h\n";

#[test]
fn invalid_durations_are_usage_errors() {
    let mock = mock(TTL, true);
    let (t, _) = signed_in(&mock, false);
    let before = files(&t);
    for bad in [
        "",
        "2",
        "2x",
        "2D",
        "-2d",
        "1.5h",
        "2 d",
        "1h1d",
        "1d1d",
        "d",
        "99999999999999999999s",
    ] {
        t.run_args(refresh(&[&format!("--if-expiring-within={bad}")]))
            .code(2)
            .stdout("")
            .stderr(&format!(
                "usage_invalid_flag: --if-expiring-within: invalid duration \"{bad}\"\n{DURATION_HINT}"
            ));
    }
    // A missing value is the parser's.
    t.run_args(refresh(&["--if-expiring-within"]))
        .code(1)
        .stdout("")
        .stderr("flag --if-expiring-within expects a value\n");
    // Checked before anything else, even with nobody signed in.
    Test::new()
        .args(refresh(&["--if-expiring-within", "soon"]))
        .run()
        .code(2)
        .stderr(&format!(
            "usage_invalid_flag: --if-expiring-within: invalid duration \"soon\"\n{DURATION_HINT}"
        ));
    assert_eq!(files(&t), before);
    assert!(mock.requests().is_empty());
}

#[test]
fn login_flag_mistakes_are_usage_errors_before_any_request() {
    let mock = mock(TTL, true);
    let (t, _) = signed_in(&mock, false);
    let before = files(&t);
    let host = mock.host();
    t.run_args(refresh(&[
        "--password",
        "--email",
        "bob@example.com",
        "--password-stdin",
    ]))
    .code(2)
    .stdout("")
    .stderr(&format!(
        "usage_invalid_flag: --email bob@example.com is not this context's account \
         (tester@dify.ai on {host})\nhint: refresh signs in again as tester@dify.ai; to add \
         another account, run 'difyctl auth login --host http://{host} --insecure'\n"
    ));
    t.run_args(refresh(&["--email", "tester@dify.ai"]))
        .code(2)
        .stderr("usage_invalid_flag: --email only applies to --password and --email-code\n");
    // No terminal: the password must come from stdin, also when the token
    // would not need refreshing.
    t.run_args(refresh(&["--password", "--if-expiring-within", "2d"]))
        .code(2)
        .stderr(
            "usage_missing_arg: --password-stdin is required (no TTY)\nhint: pipe the password \
             on stdin with --password-stdin; it is never taken from a flag or the environment\n",
        );
    t.run_args(refresh(&["--with-token"]))
        .code(1)
        .stderr("unknown flag: --with-token\n");
    assert_eq!(files(&t), before);
    assert!(mock.requests().is_empty());
}

#[test]
fn not_logged_in_is_exit_4() {
    for args in [
        refresh(&["--device-flow", "--no-browser"]),
        refresh(&["--if-expiring-within", "2d"]),
    ] {
        let t = Test::new().args(args);
        t.run()
            .code(4)
            .stdout("")
            .stderr("not_logged_in: not logged in\nhint: run 'difyctl auth login'\n");
        assert!(!t.config_dir().exists());
    }
}

#[test]
fn dify_token_sessions_are_not_refreshed() {
    let mock = mock(TTL, true);
    let expected = "usage_invalid_flag: DIFY_TOKEN is set: auth refresh only signs in again to \
         stored contexts\nhint: a token from the environment cannot be refreshed: replace \
         DIFY_TOKEN with a fresh token, or unset it to refresh the stored context\n";
    // With nothing stored...
    let t = Test::new()
        .env("DIFY_TOKEN", "dfoa_from_ci")
        .env("DIFY_HOST", mock.url())
        .env("DIFY_INSECURE", "1")
        .args(refresh(&["--if-expiring-within", "2d"]));
    t.run().code(2).stdout("").stderr(expected);
    assert!(!t.config_dir().exists());
    // ...and next to a stored context, which stays as it was.
    let (t, _) = signed_in(&mock, false);
    let t = t.env("DIFY_TOKEN", "dfoa_from_ci");
    let before = files(&t);
    t.run_args(refresh(&["--device-flow", "--no-browser"]))
        .code(2)
        .stdout("")
        .stderr(expected);
    assert_eq!(files(&t), before);
    assert!(mock.requests().is_empty());
}

/// The mock approves as someone else from now on.
fn approve_as_other(mock: &MockDify) {
    mock.configure(|c| {
        c.account = Account {
            id: "acc-other".into(),
            email: "other@dify.ai".into(),
            name: "Other".into(),
        }
    });
}

#[test]
fn a_sign_in_as_another_account_stores_nothing() {
    let mock = mock(TTL, true);
    let (t, old) = signed_in(&mock, false);
    approve_as_other(&mock);
    let before = files(&t);
    let host = mock.host();
    let out = t
        .run_args(refresh(&["--device-flow", "--no-browser"]))
        .code(4)
        .stdout("");
    out.stderr(&format!(
        "{}access_denied: signed in as other@dify.ai, but this context is tester@dify.ai on \
         {host}; nothing was stored\nhint: approve the sign-in as tester@dify.ai; to add \
         other@dify.ai as another context, run 'difyctl auth login --host http://{host} \
         --insecure'\n",
        mock_code_lines(&mock)
    ));
    assert_eq!(files(&t), before);
    // The unwanted session was revoked; the context's own one is untouched.
    assert_eq!(only_session(&mock).id, old.id);
    let revoke = &mock.requests_to("/openapi/v1/account/sessions/self")[0];
    let bearer = revoke.header("authorization").unwrap();
    let unwanted = mock
        .session_for_token(bearer.strip_prefix("Bearer ").unwrap())
        .unwrap();
    assert_eq!(
        (unwanted.email.as_str(), unwanted.revoked),
        ("other@dify.ai", true)
    );
    assert_eq!(mock.revoked_ids(), [unwanted.id]);
    assert_eq!(
        requests(&mock),
        [
            SIGN_IN[0],
            SIGN_IN[1],
            "DELETE /openapi/v1/account/sessions/self"
        ]
    );
}

#[test]
fn a_sign_in_as_another_stored_account_says_that_context_lost_its_session() {
    let mock = mock(TTL, true);
    let (t, _) = signed_in(&mock, false);
    let host = mock.host();
    // other@dify.ai is stored on the same host too (not active).
    let hosts = format!(
        "{}      other@dify.ai:\n        account:\n          id: acc-other\n          \
         email: other@dify.ai\n          name: Other\n",
        t.read("hosts.yml").unwrap()
    );
    let t = t.hosts(&hosts);
    approve_as_other(&mock);
    let before = files(&t);
    t.run_args(refresh(&["--device-flow", "--no-browser"]))
        .code(4)
        .stdout("")
        .stderr(&format!(
            "{}access_denied: signed in as other@dify.ai, but this context is tester@dify.ai \
             on {host}; nothing was stored\nhint: approve the sign-in as tester@dify.ai; to add \
             other@dify.ai as another context, run 'difyctl auth login --host http://{host} \
             --insecure'; the \
             approval also ended the session of the stored context other@dify.ai, so refresh it \
             with 'difyctl auth refresh --host {host} --account other@dify.ai'\n",
            mock_code_lines(&mock)
        ));
    assert_eq!(files(&t), before);
}
