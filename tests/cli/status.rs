//! `auth status`: a valid, expired, revoked or unreachable session, the expiry
//! stored at sign-in or looked up, external-SSO sessions, an old server's 500,
//! and server text in verbose lines shown like everything else.

use crate::common::{account_url, closed_port, empty_config, relogin, run, valid_status_json};
use crate::support::fixtures::{
    Context, Hosts, Tokens, hosts_yml, mock_code_lines, signed_in, tokens_yml,
};
use crate::support::mock::{Hostile, MockConfig, MockDify};
use crate::support::runner::Test;

#[test]
fn status_of_a_valid_session() {
    let mock = MockDify::start();
    let s = mock.add_session("difyctl on me");
    let expires = "2999-01-01T00:00:00+00:00";
    let t = Test::new()
        .hosts(Hosts::file().with(Context::of(&mock).token_id(&s.id).token_expires_at(expires)))
        .tokens(tokens_yml(&mock, &s.token));
    let before = t.snapshot();
    let out = run(&t, &[], &["auth", "status"], b"").code(0).stderr("");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", out.stdout);
    assert_eq!(
        lines[..3],
        [
            mock.host().as_str(),
            "  account:   tester@dify.ai (Tester)",
            "  workspace: Acme Team (owner)"
        ]
    );
    let prefix = format!("  token:     file, expires {expires} (in ");
    assert!(
        lines[3].starts_with(&prefix) && lines[3].ends_with("h)"),
        "{}",
        lines[3]
    );
    assert_eq!(lines[4], "  status:    valid");

    let out = run(&t, &[], &["auth", "status", "--json"], b"")
        .code(0)
        .stderr("")
        .stdout(&valid_status_json(&mock, "file", Some(expires)));
    assert_eq!(out.json()["expires_at"], expires);
    // Only GET /account: the stored expiry needs no session lookup.
    let paths: Vec<String> = mock
        .command_requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, ["/openapi/v1/account", "/openapi/v1/account"]);
    assert_eq!(t.snapshot(), before);
}

#[test]
fn status_looks_the_expiry_up_when_none_is_stored() {
    let mock = MockDify::start();
    let (t, s) = signed_in(&mock);
    run(&t, &[], &["auth", "status", "--json"], b"")
        .code(0)
        .stdout(&valid_status_json(&mock, "file", Some(&s.expires_at)));
    // Without a token_id there is nothing to look up.
    let t = Test::new()
        .hosts(hosts_yml(&mock, None))
        .tokens(tokens_yml(&mock, &s.token));
    run(&t, &[], &["auth", "status", "--json"], b"")
        .code(0)
        .stdout(&valid_status_json(&mock, "file", None));
}

#[test]
fn status_of_a_revoked_or_expired_session_is_exit_4() {
    let mock = MockDify::start();
    let (t, s) = signed_in(&mock);
    mock.revoke_session(&s.id);
    let human = format!(
        "unauthorized: invalid bearer\nhint: {}\nrequest: GET {}\nhttp_status: 401\n",
        relogin(&mock),
        account_url(&mock)
    );
    run(&t, &[], &["auth", "status"], b"")
        .code(4)
        .stdout("")
        .stderr(&human);
    run(&t, &[], &["auth", "status", "--json"], b"")
        .code(4)
        .stdout("")
        .stderr(&format!(
            "{{\"error\":{{\"code\":\"auth_expired\",\"message\":\"invalid bearer\",\"hint\":\
             \"{}\",\"http_status\":401,\"method\":\"GET\",\
             \"url\":\"{}\",\"server\":{{\"code\":\"unauthorized\",\"message\":\"invalid bearer\",\
             \"status\":401}}}}}}\n",
            relogin(&mock),
            account_url(&mock)
        ));

    let (t, s) = signed_in(&mock);
    mock.expire_session(&s.id);
    run(&t, &[], &["auth", "status"], b"")
        .code(4)
        .stdout("")
        .stderr(&human);

    // A DIFY_TOKEN that was revoked says where the token came from.
    let t = empty_config();
    run(
        &t,
        &[
            ("DIFY_TOKEN", &s.token),
            ("DIFY_HOST", &mock.url()),
            ("DIFY_INSECURE", "1"),
        ],
        &["auth", "status"],
        b"",
    )
    .code(4)
    .stderr(&format!(
        "unauthorized: invalid bearer\nhint: the token in DIFY_TOKEN has expired or was \
         revoked; replace it with a fresh one\nrequest: GET {}\nhttp_status: 401\n",
        account_url(&mock)
    ));
    // And with no context at all: not signed in.
    run(&Test::new(), &[], &["auth", "status", "--json"], b"")
        .code(4)
        .stdout("")
        .stderr(
            "{\"error\":{\"code\":\"not_logged_in\",\"message\":\"not logged in\",\"hint\":\"run \
             'difyctl auth login'\"}}\n",
        );
}

#[test]
fn status_of_an_unreachable_host_is_exit_1() {
    let port = closed_port();
    let host = format!("127.0.0.1:{port}");
    let t = Test::new()
        .hosts(Hosts::file().with(Context::new(&host, "a@b.c").http()))
        .tokens(Tokens::new().with(&host, "a@b.c", "dfoa_x"));
    let out = run(&t, &[("DIFYCTL_HTTP_RETRY", "0")], &["auth", "status"], b"")
        .code(1)
        .stdout("");
    assert!(
        out.stderr.starts_with(&format!(
            "network_connection: cannot connect to {host}: connection refused\nhint: is the \
             server running, and is this its port?\nrequest: GET http://{host}/openapi/v1/account\n"
        )),
        "{}",
        out.stderr
    );
    let out = run(
        &t,
        &[("DIFYCTL_HTTP_RETRY", "0")],
        &["auth", "status", "--json"],
        b"",
    )
    .code(1)
    .stdout("");
    let v: serde_json::Value = serde_json::from_str(&out.stderr).unwrap();
    assert_eq!(v["error"]["code"], "network_connection");
}

#[test]
fn status_on_an_old_server_that_answers_500() {
    let mock = MockDify::with(MockConfig::default().baseline());
    let (t, s) = signed_in(&mock);
    mock.revoke_session(&s.id);
    run(&t, &[("DIFYCTL_HTTP_RETRY", "0")], &["auth", "status"], b"")
        .code(1)
        .stdout("")
        .stderr(&format!(
            "internal_server_error: Internal Server Error\nhint: servers of the Dify 1.14 era \
             answer HTTP 500 for a revoked or expired session: if the server is otherwise up, \
             sign in again with 'difyctl auth login'\nrequest: GET {}\nhttp_status: 500\n",
            account_url(&mock)
        ));
}

#[test]
fn login_stores_the_expiry_that_status_shows() {
    let mock = MockDify::with(MockConfig::default().auto_approve());
    let t = Test::new();
    run(
        &t,
        &[],
        &[
            "auth",
            "login",
            "--host",
            &mock.url(),
            "--insecure",
            "--no-browser",
        ],
        b"",
    )
    .stderr(&mock_code_lines(&mock));
    let session = &mock.sessions()[0];
    // The token payload says `+00:00` where the session list says `Z`.
    let expires = session.expires_at.replace('Z', "+00:00");
    let hosts = t.read("hosts.yml").unwrap();
    assert!(
        hosts.contains(&format!(
            "        token_id: {}\n        token_expires_at: '{expires}'\n",
            session.id
        )),
        "{hosts}"
    );
    run(&t, &[], &["auth", "status", "--json"], b"")
        .code(0)
        .stdout(&valid_status_json(&mock, "file", Some(&expires)));
}

#[test]
fn status_of_an_external_sso_session() {
    let mock = MockDify::with(
        MockConfig::default()
            .auto_approve()
            .sso("sso@corp.test", "https://idp.corp.test"),
    );
    let t = Test::new();
    run(
        &t,
        &[],
        &[
            "auth",
            "login",
            "--host",
            &mock.url(),
            "--insecure",
            "--no-browser",
        ],
        b"",
    )
    .stderr(&mock_code_lines(&mock));
    let expires = mock.sessions()[0].expires_at.replace('Z', "+00:00");
    let out = run(&t, &[], &["auth", "status", "--json"], b"")
        .code(0)
        .stderr("");
    assert_eq!(
        out.stdout,
        format!(
            "{{\"host\":\"{}\",\"scheme\":\"http\",\"account\":{{\"id\":\"\",\"email\":\
             \"sso@corp.test\",\"name\":\"\",\"issuer\":\"https://idp.corp.test\"}},\"workspace\":null,\
             \"token_source\":\"file\",\"expires_at\":\"{expires}\",\"valid\":true}}\n",
            mock.host()
        )
    );
    let out = run(&t, &[], &["auth", "status"], b"").code(0);
    assert!(
        out.stdout
            .contains("\n  account:   sso@corp.test (external SSO)\n  workspace: none\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn verbose_lines_show_server_text_like_everything_else() {
    let mock = MockDify::with(MockConfig::default().hostile(
        "/openapi/v1/account",
        Hostile::body("application/json\u{9b}2J\u{202e}", "{}"),
    ));
    let (t, _) = signed_in(&mock);
    // `{}` names no account: the status fails, after the exchange was shown.
    let out = t
        .run_args(["auth", "status", "-v"])
        .code(1)
        .stdout("")
        .stderr_has("\nunknown: decode account response: it names no account\n");
    assert!(
        !out.stderr.contains(['\u{9b}', '\u{202e}']),
        "raw in -v:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("< HTTP 200 (2 bytes, ")
            && out.stderr.contains(" application/json\\u{202e}\n"),
        "{}",
        out.stderr
    );
}

/// `auth status --all` on [`two_hosts`]: three contexts on two hosts.
fn all_rows(two: &crate::common::Two, valid: [&str; 3]) -> String {
    let (a, b) = (two.a.host(), two.b.host());
    let host = a.len().max(b.len()).max(4) + 2;
    let row = |h: &str, e: &str, v: &str| format!("{h:host$}{e:<16}file   unknown  {v}\n");
    format!("{:host$}{:<16}STORE  EXPIRES  VALID\n", "HOST", "ACCOUNT")
        + &row(&a, "tester@dify.ai", valid[0])
        + &row(&a, "other@dify.ai", valid[1])
        + &row(&b, "tester@dify.ai", valid[2])
}

#[test]
fn status_all_checks_every_stored_context() {
    let two = crate::common::two_hosts();
    let before = two.t.snapshot();
    run(&two.t, &[], &["auth", "status", "--all"], b"")
        .stdout(&all_rows(&two, ["yes", "yes", "yes"]));
    // One revoked: the table still shows all, and the exit status says
    // to sign in again.
    two.a.revoke_session(&two.a2.id);
    run(&two.t, &[], &["auth", "status", "--all"], b"")
        .code(4)
        .stdout(&all_rows(&two, ["yes", "no (auth_expired)", "yes"]))
        .stderr(
            "auth_expired: 1 of 3 context(s) not valid\n\
             hint: sign in again with 'difyctl auth login --host <host>'\n",
        );
    let out = run(&two.t, &[], &["auth", "status", "--all", "-o", "json"], b"")
        .code(4)
        .stderr(
            "{\"error\":{\"code\":\"auth_expired\",\"message\":\"1 of 3 context(s) not valid\",\
             \"hint\":\"sign in again with 'difyctl auth login --host <host>'\"}}\n",
        );
    let json = out.json();
    let contexts = json["contexts"].as_array().unwrap();
    assert_eq!(contexts.len(), 3);
    assert_eq!(
        contexts[1],
        serde_json::json!({
            "host": two.a.host(),
            "account": "other@dify.ai",
            "store": "file",
            "expires_at": null,
            "valid": false,
            "error": {"code": "auth_expired", "message": "invalid bearer"},
        })
    );
    assert_eq!(contexts[0]["valid"], true);
    // --json and DIFY_FORMAT=json print the same.
    let again = run(&two.t, &[], &["auth", "status", "--all", "--json"], b"")
        .code(4)
        .stderr_has("\"code\":\"auth_expired\"")
        .into_stdout();
    assert_eq!(again, out.stdout);
    let env = run(
        &two.t,
        &[("DIFY_FORMAT", "json")],
        &["auth", "status", "--all"],
        b"",
    )
    .code(4)
    .stderr_has("\"code\":\"auth_expired\"")
    .into_stdout();
    assert_eq!(env, out.stdout);
    assert_eq!(two.t.snapshot(), before, "status writes nothing");
}

#[test]
fn status_all_is_exit_1_when_a_server_cannot_be_reached() {
    let two = crate::common::two_hosts();
    two.a.revoke_session(&two.a2.id);
    drop(two.b);
    // No retries: their waits would be announced on stderr.
    let no_retry = [("DIFYCTL_HTTP_RETRY", "0")];
    run(&two.t, &no_retry, &["auth", "status", "--all"], b"")
        .code(1)
        .stdout_has("no (auth_expired)")
        .stdout_has("unknown (network_connection)")
        .stderr("network_connection: 1 of 3 context(s) could not be checked\n");
}

#[test]
fn status_all_takes_no_context_selection() {
    let t = empty_config();
    run(&t, &[], &["auth", "status", "--all"], b"")
        .code(4)
        .stderr("not_logged_in: not logged in\nhint: run 'difyctl auth login'\n");
    run(
        &t,
        &[],
        &["auth", "status", "--all", "--host", "x.example"],
        b"",
    )
    .code(2)
    .stderr(
        "usage_invalid_flag: --all checks every stored context: it takes no --host or --account\n",
    );
}
