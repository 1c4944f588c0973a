//! Scripting and CI: the one context resolution (`DIFY_TOKEN`, `--host` /
//! `--account`, `DIFY_HOST` / `DIFY_ACCOUNT`, the active context), `auth
//! status`, `auth token`, `api` and `use workspace`, against the mock server.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use support::fixtures::{hosts_yml, signed_in, tokens_yml};
use support::mock::{
    DEFAULT_ACCOUNT_ID, DEFAULT_WORKSPACE_ID, MockConfig, MockDify, SessionInfo, Workspace,
};
use support::pty::on_a_terminal;
use support::runner::{Outcome, Test};

const NOT_LOGGED_IN: &str = "not_logged_in: not logged in\nhint: run 'difyctl auth login'\n";
const RELOGIN_HINT: &str = "hint: run 'difyctl auth login' to sign in again\n";
const BETA_ID: &str = "0c5e7a1d-3b2f-4e6a-9d8c-7b6a5f4e3d2c";

/// Runs `args` in `t`'s directories with extra environment and stdin.
fn run<'t>(t: &'t Test, env: &[(&str, &str)], args: &[&str], stdin: &[u8]) -> Outcome<'t> {
    let mut cmd = t.command();
    cmd.args(args).envs(env.iter().copied());
    t.run_command(cmd, stdin)
}

/// A test whose config dir exists and is empty.
fn empty_config() -> Test {
    let t = Test::new();
    std::fs::create_dir_all(t.config_dir()).unwrap();
    t
}

#[track_caller]
fn assert_empty_dir(t: &Test) {
    let left: Vec<String> = std::fs::read_dir(t.config_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "config dir holds {left:?}");
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.1 request with a bearer, as curl would send it: the status
/// code and the body.
fn raw_request(mock: &MockDify, method: &str, path: &str, token: &str) -> (u16, String) {
    let mut s = TcpStream::connect(mock.host()).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        mock.host()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// The response headers of a raw request, names lower-cased, in order.
fn raw_head(mock: &MockDify, path: &str, token: &str) -> Vec<(String, String)> {
    let mut s = TcpStream::connect(mock.host()).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        mock.host()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, _) = text.split_once("\r\n\r\n").unwrap();
    head.lines()
        .skip(1)
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect()
}

fn bearers(mock: &MockDify) -> Vec<String> {
    mock.command_requests()
        .iter()
        .map(|r| r.header("authorization").unwrap_or("").to_string())
        .collect()
}

/// `hosts.yml` with the mock's account as the context of `token_id`, plus
/// `token_expires_at`.
fn hosts_with_expiry(mock: &MockDify, token_id: &str, expires_at: &str) -> String {
    format!(
        "{}        token_expires_at: '{expires_at}'\n",
        hosts_yml(mock, Some(token_id))
    )
}

fn account_url(mock: &MockDify) -> String {
    format!("{}/openapi/v1/account", mock.url())
}

fn valid_status_json(mock: &MockDify, source: &str, expires_at: Option<&str>) -> String {
    let expires = expires_at.map_or("null".to_string(), |e| format!("\"{e}\""));
    format!(
        "{{\"host\":\"{}\",\"scheme\":\"http\",\"account\":{{\"id\":\"{DEFAULT_ACCOUNT_ID}\",\
         \"email\":\"tester@dify.ai\",\"name\":\"Tester\"}},\"workspace\":{{\"id\":\"{DEFAULT_WORKSPACE_ID}\",\
         \"name\":\"Acme Team\",\"role\":\"owner\"}},\"token_source\":\"{source}\",\"expires_at\":{expires},\
         \"valid\":true}}\n",
        mock.host()
    )
}

// ---------------------------------------------------------------------------
// Two stored hosts, two accounts: selecting a context for one call
// ---------------------------------------------------------------------------

struct Two {
    a: MockDify,
    b: MockDify,
    /// tester@dify.ai on A (the active context).
    a1: SessionInfo,
    /// other@dify.ai on A.
    a2: SessionInfo,
    /// tester@dify.ai on B.
    b1: SessionInfo,
    t: Test,
}

fn context_yaml(email: &str, name: &str, id: &str, token_id: &str) -> String {
    format!(
        "      {email}:\n        account:\n          id: {id}\n          email: {email}\n          \
         name: {name}\n        token_id: {token_id}\n"
    )
}

fn two_hosts() -> Two {
    let a = MockDify::start();
    let b = MockDify::start();
    let a1 = a.add_session("difyctl on me");
    let a2 = a.add_session("difyctl on me (other)");
    let b1 = b.add_session("difyctl on me");
    let hosts = format!(
        "token_storage: file\ncurrent_host: {ah}\nhosts:\n  {ah}:\n    scheme: http\n    \
         current_account: tester@dify.ai\n    accounts:\n{}{}  {bh}:\n    scheme: http\n    \
         current_account: tester@dify.ai\n    accounts:\n{}",
        context_yaml("tester@dify.ai", "Tester", DEFAULT_ACCOUNT_ID, &a1.id),
        context_yaml("other@dify.ai", "Other", "a2", &a2.id),
        context_yaml("tester@dify.ai", "Tester", DEFAULT_ACCOUNT_ID, &b1.id),
        ah = a.host(),
        bh = b.host(),
    );
    let tokens = format!(
        "version: 1\ntokens:\n  {}:\n    tester@dify.ai: {}\n    other@dify.ai: {}\n  {}:\n    \
         tester@dify.ai: {}\n",
        a.host(),
        a1.token,
        a2.token,
        b.host(),
        b1.token
    );
    let t = Test::new().hosts(&hosts).tokens(&tokens);
    Two {
        a,
        b,
        a1,
        a2,
        b1,
        t,
    }
}

#[test]
fn flags_and_variables_pick_a_context_for_one_call_and_write_nothing() {
    let Two {
        a,
        b,
        a1,
        a2,
        b1,
        t,
    } = two_hosts();
    let before = t.snapshot();
    let token = |env: &[(&str, &str)], args: &[&str]| {
        let mut argv = vec!["auth", "token"];
        argv.extend_from_slice(args);
        run(&t, env, &argv, b"").code(0).stdout
    };
    let bh = b.host();
    assert_eq!(token(&[], &[]), format!("{}\n", a1.token));
    assert_eq!(token(&[], &["--host", &bh]), format!("{}\n", b1.token));
    assert_eq!(token(&[], &["--host", &b.url()]), format!("{}\n", b1.token));
    assert_eq!(
        token(&[], &["--account", "other@dify.ai"]),
        format!("{}\n", a2.token)
    );
    assert_eq!(
        token(&[], &["--host", &a.host(), "--account=other@dify.ai"]),
        format!("{}\n", a2.token)
    );
    assert_eq!(token(&[("DIFY_HOST", &bh)], &[]), format!("{}\n", b1.token));
    assert_eq!(
        token(&[("DIFY_ACCOUNT", "other@dify.ai")], &[]),
        format!("{}\n", a2.token)
    );
    // The flag wins over its variable.
    assert_eq!(
        token(&[("DIFY_HOST", &bh)], &["--host", &a.host()]),
        format!("{}\n", a1.token)
    );

    // Network commands go to the selected host with its token.
    run(&t, &[], &["auth", "status", "--host", &bh, "--json"], b"")
        .code(0)
        .stdout(&valid_status_json(&b, "file", Some(&b1.expires_at)));
    run(&t, &[("DIFY_HOST", &bh)], &["api", "account"], b"").code(0);
    run(&t, &[], &["auth", "devices", "list", "--host", &bh], b"")
        .code(0)
        .stdout_has("difyctl on me");
    let b_bearers = bearers(&b);
    assert!(!b_bearers.is_empty());
    assert!(
        b_bearers
            .iter()
            .all(|h| *h == format!("Bearer {}", b1.token)),
        "{b_bearers:?}"
    );
    assert!(a.requests().is_empty());
    run(
        &t,
        &[],
        &["api", "account", "--account", "other@dify.ai"],
        b"",
    )
    .code(0);
    assert_eq!(bearers(&a), [format!("Bearer {}", a2.token)]);

    // Nothing was written: hosts.yml and tokens.yml are byte-identical.
    assert_eq!(t.snapshot(), before);
}

#[test]
fn unknown_selections_are_usage_errors() {
    let Two { a, b, t, .. } = two_hosts();
    let known = format!("known hosts: {}, {}", a.host(), b.host());
    let hint = "hint: see 'difyctl auth list' for the stored contexts\n";
    run(&t, &[], &["auth", "status", "--host", "nope.test"], b"")
        .code(2)
        .stdout("")
        .stderr(&format!(
            "usage_invalid_flag: unknown host \"nope.test\"; {known}\n{hint}"
        ));
    run(&t, &[("DIFY_HOST", "nope.test")], &["api", "account"], b"")
        .code(2)
        .stdout("")
        .stderr(&format!(
            "usage_invalid_flag: unknown host \"nope.test\" (from DIFY_HOST); {known}\n{hint}"
        ));
    run(&t, &[], &["auth", "token", "--account", "x@y.z"], b"")
        .code(2)
        .stdout("")
        .stderr(&format!(
            "usage_invalid_flag: unknown account \"x@y.z\" on {}; known: tester@dify.ai, \
             other@dify.ai\n{hint}",
            a.host()
        ));
    run(&t, &[], &["auth", "token", "--host="], b"")
        .code(2)
        .stderr("usage_invalid_flag: --host must not be empty\n");
    // With nothing stored at all, a selection is simply not signed in.
    run(
        &Test::new(),
        &[],
        &["auth", "token", "--host", "nope.test"],
        b"",
    )
    .code(4)
    .stderr(NOT_LOGGED_IN);
    assert!(a.requests().is_empty() && b.requests().is_empty());
}

#[test]
fn a_selected_context_without_a_token_names_itself() {
    let Two { a, t, .. } = two_hosts();
    let t = t.tokens("version: 1\ntokens: {}\n");
    run(
        &t,
        &[],
        &["auth", "token", "--account", "other@dify.ai"],
        b"",
    )
    .code(4)
    .stdout("")
    .stderr(&format!(
        "not_logged_in: no credential stored for other@dify.ai on {h}\nhint: run 'difyctl \
             auth login --host {h}'\n",
        h = a.host()
    ));
    // The active context keeps the usual message.
    run(&t, &[], &["auth", "token"], b"")
        .code(4)
        .stderr(NOT_LOGGED_IN);
}

#[test]
fn logout_of_a_selected_context_keeps_the_active_one() {
    let Two {
        a, b, a1, b1, t, ..
    } = two_hosts();
    run(&t, &[], &["auth", "logout", "--host", &b.host()], b"")
        .code(0)
        .stdout(&format!("✓ Logged out of {}\n", b.host()))
        .stderr("");
    assert_eq!(b.revoked_ids(), [b1.id]);
    assert!(a.revoked_ids().is_empty());
    let hosts = t.read("hosts.yml").unwrap();
    assert!(
        hosts.starts_with(&format!(
            "token_storage: file\ncurrent_host: {}\n",
            a.host()
        )),
        "{hosts}"
    );
    assert!(!hosts.contains(&b.host()), "{hosts}");
    run(&t, &[], &["auth", "token"], b"")
        .code(0)
        .stdout(&format!("{}\n", a1.token));
}

// ---------------------------------------------------------------------------
// DIFY_TOKEN
// ---------------------------------------------------------------------------

#[test]
fn dify_token_and_host_alone_work_and_leave_the_config_dir_empty() {
    let mock = MockDify::start();
    let s = mock.add_session("ci runner");
    let t = empty_config();
    let env = [
        ("DIFY_TOKEN", s.token.as_str()),
        ("DIFY_HOST", &*mock.url()),
        // The mock speaks http: the token may travel in clear text.
        ("DIFY_INSECURE", "1"),
    ];

    run(&t, &env, &["auth", "status"], b"")
        .code(0)
        .stderr("")
        .stdout(&format!(
            "{}\n  account:   tester@dify.ai (Tester)\n  workspace: Acme Team (owner)\n  \
             token:     DIFY_TOKEN, expiry unknown\n  status:    valid\n",
            mock.host()
        ));
    run(&t, &env, &["auth", "status", "--json"], b"")
        .code(0)
        .stdout(&valid_status_json(&mock, "DIFY_TOKEN", None));
    run(&t, &env, &["auth", "token"], b"")
        .code(0)
        .stdout(&format!("{}\n", s.token))
        .stderr("");
    let created = s.created_at.clone();
    run(&t, &env, &["auth", "devices", "list"], b"")
        .code(0)
        .stdout(&format!(
            "DEVICE     CREATED{}LAST USED  CURRENT\nci runner  {created}\n",
            " ".repeat(created.len() - 5)
        ));
    let (status, body) = raw_request(&mock, "GET", "/openapi/v1/account", &s.token);
    assert_eq!(status, 200);
    run(&t, &env, &["api", "account"], b"")
        .code(0)
        .stdout(&body)
        .stderr("");
    run(&t, &env, &["use", "workspace", DEFAULT_WORKSPACE_ID], b"")
        .code(0)
        .stdout(&format!(
            "✓ Switched to Acme Team ({DEFAULT_WORKSPACE_ID})\n"
        ));

    assert_empty_dir(&t);
    assert!(
        bearers(&mock)
            .iter()
            .all(|h| *h == format!("Bearer {}", s.token))
    );
}

#[test]
fn dify_token_without_a_known_host_is_exit_2() {
    let t = empty_config();
    for args in [
        &["auth", "status"][..],
        &["auth", "token"],
        &["api", "account"],
        &["auth", "devices", "list"],
    ] {
        run(&t, &[("DIFY_TOKEN", "dfoa_x")], args, b"")
            .code(2)
            .stdout("")
            .stderr(
                "usage_missing_arg: DIFY_TOKEN is set but no host is known\nhint: set DIFY_HOST \
                 to the token's host, e.g. DIFY_HOST=cloud.dify.ai\n",
            );
    }
    assert_empty_dir(&t);
}

#[test]
fn dify_token_uses_the_stored_host_when_no_host_is_given() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let ci = mock.add_session("ci");
    let before = t.snapshot();
    run(&t, &[("DIFY_TOKEN", &ci.token)], &["auth", "token"], b"")
        .code(0)
        .stdout(&format!("{}\n", ci.token));
    run(&t, &[("DIFY_TOKEN", &ci.token)], &["api", "account"], b"").code(0);
    assert_eq!(bearers(&mock), [format!("Bearer {}", ci.token)]);
    // A DIFY_TOKEN session never logs out or forgets the stored one.
    run(&t, &[("DIFY_TOKEN", &ci.token)], &["auth", "logout"], b"")
        .code(2)
        .stdout("")
        .stderr(
            "usage_invalid_flag: DIFY_TOKEN is set: auth logout only signs out of stored \
             contexts\nhint: unset DIFY_TOKEN to log out of the stored context; to revoke the \
             token itself, run 'difyctl api -X DELETE account/sessions/self'\n",
        );
    assert!(mock.revoked_ids().is_empty());
    // --account makes no sense with a token that names its own account.
    run(
        &t,
        &[("DIFY_TOKEN", &ci.token)],
        &["auth", "token", "--account", "tester@dify.ai"],
        b"",
    )
    .code(2)
    .stdout("")
    .stderr(
        "usage_invalid_flag: --account cannot be used with DIFY_TOKEN: the token decides the \
         account\nhint: unset DIFY_TOKEN to use a stored context\n",
    );
    assert_eq!(t.snapshot(), before);
}

#[test]
fn a_bare_dify_host_means_https() {
    let host = format!("127.0.0.1:{}", closed_port());
    let t = empty_config();
    let env = [
        ("DIFY_TOKEN", "dfoa_x"),
        ("DIFY_HOST", host.as_str()),
        ("DIFYCTL_HTTP_RETRY", "0"),
    ];
    let out = run(&t, &env, &["auth", "status"], b"").code(1).stdout("");
    assert!(
        out.stderr.starts_with(&format!(
            "network_connection: GET https://{host}/openapi/v1/account: "
        )),
        "{}",
        out.stderr
    );
    // An explicit http:// is honoured as typed, when allowed.
    let url = format!("http://{host}/");
    let env = [
        ("DIFY_TOKEN", "dfoa_x"),
        ("DIFY_HOST", url.as_str()),
        ("DIFYCTL_HTTP_RETRY", "0"),
        ("DIFY_INSECURE", "yes"),
    ];
    let out = run(&t, &env, &["auth", "status"], b"").code(1).stdout("");
    assert!(
        out.stderr.starts_with(&format!(
            "network_connection: GET http://{host}/openapi/v1/account: "
        )),
        "{}",
        out.stderr
    );
    assert_empty_dir(&t);
}

// ---------------------------------------------------------------------------
// auth token
// ---------------------------------------------------------------------------

#[test]
fn token_needs_a_context() {
    let t = Test::new();
    run(&t, &[], &["auth", "token"], b"")
        .code(4)
        .stdout("")
        .stderr(NOT_LOGGED_IN);
    // A context without a stored token.
    let mock = MockDify::start();
    let t = Test::new().hosts(&hosts_yml(&mock, None));
    run(&t, &[], &["auth", "token"], b"")
        .code(4)
        .stdout("")
        .stderr(NOT_LOGGED_IN);
    assert!(mock.requests().is_empty());
}

#[test]
fn the_printed_token_works_in_a_plain_http_request() {
    let mock = MockDify::start();
    let (t, s) = signed_in(&mock);
    let out = run(&t, &[], &["auth", "token"], b"").code(0).stderr("");
    assert_eq!(out.stdout, format!("{}\n", s.token));
    // What `curl -H "Authorization: Bearer $(difyctl auth token)" …` sends.
    let token = out.stdout.trim_end_matches('\n');
    let (status, body) = raw_request(&mock, "GET", "/openapi/v1/account", token);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["account"]["email"], "tester@dify.ai");
}

// ---------------------------------------------------------------------------
// auth status
// ---------------------------------------------------------------------------

#[test]
fn status_of_a_valid_session() {
    let mock = MockDify::start();
    let s = mock.add_session("difyctl on me");
    let expires = "2999-01-01T00:00:00+00:00";
    let t = Test::new()
        .hosts(&hosts_with_expiry(&mock, &s.id, expires))
        .tokens(&tokens_yml(&mock, &s.token));
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
        .hosts(&hosts_yml(&mock, None))
        .tokens(&tokens_yml(&mock, &s.token));
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
        "unauthorized: invalid bearer\n{RELOGIN_HINT}request: GET {}\nhttp_status: 401\n",
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
             \"run 'difyctl auth login' to sign in again\",\"http_status\":401,\"method\":\"GET\",\
             \"url\":\"{}\",\"server\":{{\"code\":\"unauthorized\",\"message\":\"invalid bearer\",\
             \"status\":401}}}}}}\n",
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
        .hosts(&format!(
            "token_storage: file\ncurrent_host: {host}\nhosts:\n  {host}:\n    scheme: http\n    \
             current_account: a@b.c\n    accounts:\n      a@b.c:\n        account:\n          \
             email: a@b.c\n"
        ))
        .tokens(&format!(
            "version: 1\ntokens:\n  {host}:\n    a@b.c: dfoa_x\n"
        ));
    let out = run(&t, &[("DIFYCTL_HTTP_RETRY", "0")], &["auth", "status"], b"")
        .code(1)
        .stdout("");
    assert!(
        out.stderr.starts_with(&format!(
            "network_connection: GET http://{host}/openapi/v1/account: "
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
    .code(0);
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
    .code(0);
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

// ---------------------------------------------------------------------------
// api
// ---------------------------------------------------------------------------

#[test]
fn api_get_prints_the_body_as_received() {
    let mock = MockDify::start();
    let (t, s) = signed_in(&mock);
    let (_, body) = raw_request(&mock, "GET", "/openapi/v1/account", &s.token);
    for path in ["account", "/account"] {
        run(&t, &[], &["api", path], b"")
            .code(0)
            .stdout(&body)
            .stderr("");
    }
    run(&t, &[], &["api", "account/sessions?page=1&limit=5"], b"")
        .code(0)
        .stdout_has("\"limit\":5");
    let reqs = mock.command_requests();
    // The raw request, then the three of difyctl.
    assert_eq!(reqs.len(), 4);
    for r in &reqs[1..] {
        assert_eq!(r.method, "GET");
        assert_eq!(
            r.header("authorization"),
            Some(&*format!("Bearer {}", s.token))
        );
        assert_eq!(r.header("content-type"), None);
    }
    assert_eq!(reqs[1].target, "/openapi/v1/account");
    assert_eq!(reqs[2].target, "/openapi/v1/account");
    assert_eq!(
        reqs[3].target,
        "/openapi/v1/account/sessions?page=1&limit=5"
    );
}

#[test]
fn api_include_prints_the_status_line_and_headers_first() {
    let mock = MockDify::start();
    let (t, s) = signed_in(&mock);
    let (_, body) = raw_request(&mock, "GET", "/openapi/v1/account", &s.token);
    let head: String = raw_head(&mock, "/openapi/v1/account", &s.token)
        .iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect();
    for flag in ["-i", "--include"] {
        run(&t, &[], &["api", flag, "account"], b"")
            .code(0)
            .stdout(&format!("HTTP/1.1 200 OK\n{head}\n{body}"));
    }
}

#[test]
fn api_posts_stdin_or_a_file() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let path = format!("workspaces/{DEFAULT_WORKSPACE_ID}/switch");
    let out = run(&t, &[], &["api", "--input", "-", &path], b"{\"a\": 1}\n")
        .code(0)
        .stderr("");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (v["id"].as_str(), v["name"].as_str()),
        (Some(DEFAULT_WORKSPACE_ID), Some("Acme Team"))
    );
    // A file, an explicit method, and a Content-Type of our own.
    let file = t.dir.path().join("body.txt");
    std::fs::write(&file, "not json").unwrap();
    run(
        &t,
        &[],
        &[
            "api",
            "-X",
            "post",
            "--input",
            file.to_str().unwrap(),
            "-H",
            "Content-Type: text/plain",
            "-H",
            "X-Trace: t-1",
            &path,
        ],
        b"",
    )
    .code(0);
    // Neither JSON nor a type given.
    run(
        &t,
        &[],
        &["api", "--input", file.to_str().unwrap(), &path],
        b"",
    )
    .code(0);
    let reqs = mock.command_requests();
    assert_eq!(reqs.len(), 3);
    let target = format!("/openapi/v1/{path}");
    assert_eq!(
        (
            reqs[0].method.as_str(),
            reqs[0].target.as_str(),
            reqs[0].body.as_str()
        ),
        ("POST", target.as_str(), "{\"a\": 1}\n")
    );
    assert_eq!(reqs[0].header("content-type"), Some("application/json"));
    assert_eq!(reqs[1].body, "not json");
    let types: Vec<&str> = reqs[1]
        .headers
        .iter()
        .filter(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(types, ["text/plain"]);
    assert_eq!(reqs[1].header("x-trace"), Some("t-1"));
    assert_eq!(
        reqs[2].header("content-type"),
        Some("application/octet-stream")
    );
    // An unreadable file: exit 1 before any request.
    run(
        &t,
        &[],
        &["api", "--input", "/nonexistent/body", "account"],
        b"",
    )
    .code(1)
    .stdout("")
    .stderr_has("client_error: cannot read --input /nonexistent/body: ");
    assert_eq!(mock.command_requests().len(), 3);
}

#[test]
fn api_errors_print_the_body_and_map_the_status() {
    let mock = MockDify::start();
    let (t, s) = signed_in(&mock);
    let not_found = "The requested URL was not found on the server. If you entered the URL \
                     manually please check your spelling and try again.";
    run(&t, &[], &["api", "nope"], b"")
        .code(1)
        .stdout(&format!(
            "{{\"code\":\"not_found\",\"message\":\"{not_found}\",\"status\":404}}"
        ))
        .stderr(&format!(
            "not_found: {not_found}\nrequest: GET {}/openapi/v1/nope\nhttp_status: 404\n",
            mock.url()
        ));

    mock.fail_next("/openapi/v1/account", 1, 429);
    run(&t, &[], &["api", "account"], b"")
        .code(7)
        .stdout("{\"code\":\"too_many_requests\",\"message\":\"Too Many Requests\",\"status\":429}")
        .stderr(&format!(
            "too_many_requests: Too Many Requests\nrequest: GET {}\nhttp_status: 429\n",
            account_url(&mock)
        ));

    // A 5xx on a POST: one attempt, the body, exit 1.
    mock.fail_next("/openapi/v1/workspaces", 1, 503);
    let path = format!("workspaces/{DEFAULT_WORKSPACE_ID}/switch");
    run(&t, &[], &["api", "-X", "POST", &path], b"")
        .code(1)
        .stdout("{\"code\":\"unknown\",\"message\":\"Internal Server Error\",\"status\":503}")
        .stderr_has("http_status: 503\n");

    mock.revoke_session(&s.id);
    run(&t, &[], &["api", "account"], b"")
        .code(4)
        .stdout("{\"code\":\"unauthorized\",\"message\":\"invalid bearer\",\"status\":401}")
        .stderr(&format!(
            "unauthorized: invalid bearer\n{RELOGIN_HINT}request: GET {}\nhttp_status: 401\n",
            account_url(&mock)
        ));
    let posts = mock
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1);
}

#[test]
fn api_refuses_bad_paths_headers_and_methods_before_any_request() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let cases: [(&[&str], &str); 7] = [
        (
            &["../console/api/login"],
            "usage_invalid_flag: PATH must be a path under /openapi/v1/ (no '.' or '..' \
             segments): \"../console/api/login\"\nhint: pass the part after /openapi/v1/, e.g. \
             'difyctl api account'\n",
        ),
        (
            &["account/%2e%2e/%2E%2E/console/api"],
            "usage_invalid_flag: PATH must be a path under /openapi/v1/ (no '.' or '..' \
             segments): \"account/%2e%2e/%2E%2E/console/api\"\nhint: pass the part after \
             /openapi/v1/, e.g. 'difyctl api account'\n",
        ),
        (
            &["http://evil.test/openapi/v1/account"],
            "usage_invalid_flag: PATH must be a path under /openapi/v1/ (not a URL): \
             \"http://evil.test/openapi/v1/account\"\nhint: pass the part after /openapi/v1/, \
             e.g. 'difyctl api account'\n",
        ),
        (
            &["-H", "no colon", "account"],
            "usage_invalid_flag: -H: \"no colon\" is not a 'Key: Value' header\n",
        ),
        (
            &["-H", "Bad Name: x", "account"],
            "usage_invalid_flag: -H: \"Bad Name: x\" is not a 'Key: Value' header\n",
        ),
        (
            &["-H", "Authorization: Bearer dfoa_other", "account"],
            "usage_invalid_flag: -H cannot set Authorization: difyctl sets it itself\nhint: the \
             selected context's token is sent; to use another token, set DIFY_TOKEN\n",
        ),
        (
            &["-X", "GE T", "account"],
            "usage_invalid_flag: -X: \"GE T\" is not an HTTP method\nhint: use a method name \
             made of letters, such as GET, POST, PUT, PATCH or DELETE\n",
        ),
    ];
    for (args, stderr) in cases {
        let mut argv = vec!["api"];
        argv.extend_from_slice(args);
        run(&t, &[], &argv, b"").code(2).stdout("").stderr(stderr);
    }
    assert!(mock.requests().is_empty(), "{:?}", mock.requests());
    // Not signed in: exit 4 and nothing on stdout.
    run(&Test::new(), &[], &["api", "account"], b"")
        .code(4)
        .stdout("")
        .stderr(NOT_LOGGED_IN);
}

#[test]
fn api_any_method() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let out = run(&t, &[], &["api", "-X", "options", "account"], b"").code(1);
    assert!(out.stdout.contains("\"status\":405"), "{}", out.stdout);
    run(
        &t,
        &[],
        &["api", "-X", "DELETE", "account/sessions/self"],
        b"",
    )
    .code(0)
    .stdout("{\"status\":\"revoked\"}");
    let methods: Vec<String> = mock
        .command_requests()
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(methods, ["OPTIONS", "DELETE"]);
}

// ---------------------------------------------------------------------------
// use workspace
// ---------------------------------------------------------------------------

fn with_beta(mock: &MockDify) {
    mock.configure(|c| {
        c.workspaces.push(Workspace {
            id: BETA_ID.into(),
            name: "Beta".into(),
            role: "normal".into(),
        })
    });
}

/// The fixture's hosts.yml with Acme Team replaced by Beta.
fn switched_to_beta(hosts: &str) -> String {
    hosts.replace(
        &format!("id: {DEFAULT_WORKSPACE_ID}\n          name: Acme Team\n          role: owner\n"),
        &format!("id: {BETA_ID}\n          name: Beta\n          role: normal\n"),
    )
}

#[test]
fn use_workspace_switches_on_the_server_and_records_it() {
    let mock = MockDify::start();
    with_beta(&mock);
    let (t, _) = signed_in(&mock);
    let hosts = t.read("hosts.yml").unwrap();
    run(&t, &[], &["use", "workspace", BETA_ID], b"")
        .code(0)
        .stdout(&format!("✓ Switched to Beta ({BETA_ID})\n"))
        .stderr("")
        .file("hosts.yml", &switched_to_beta(&hosts));
    let req = &mock.command_requests()[0];
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", &*format!("/openapi/v1/workspaces/{BETA_ID}/switch"))
    );
    assert_eq!(mock.config().default_workspace_id.as_deref(), Some(BETA_ID));
}

#[test]
fn use_workspace_errors_change_nothing() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let before = t.snapshot();
    for blank in [&["use", "workspace"][..], &["use", "workspace", "  "]] {
        run(&t, &[], blank, b"").code(2).stdout("").stderr(
            "usage_missing_arg: a workspace id is required (no TTY)\n\
             hint: pass the id: 'difyctl use workspace <id>'\n",
        );
    }
    assert!(mock.requests().is_empty());
    // Any id goes to the server, as one path segment, and its answer is
    // reported (as the official tool does); so is a workspace the account is
    // not in.
    for (id, sent) in [
        ("not-a-uuid", "not-a-uuid"),
        ("../../console", "..%2F..%2Fconsole"),
        (BETA_ID, BETA_ID),
    ] {
        run(&t, &[], &["use", "workspace", id], b"")
            .code(1)
            .stdout("")
            .stderr(&format!(
                "not_found: workspace not found\nrequest: POST {}/openapi/v1/workspaces/{sent}/\
                 switch\nhttp_status: 404\n",
                mock.url()
            ));
    }
    assert_eq!(t.snapshot(), before);
    run(&Test::new(), &[], &["use", "workspace", BETA_ID], b"")
        .code(4)
        .stderr(NOT_LOGGED_IN);
}

#[test]
fn use_workspace_on_a_selected_context_records_it_there() {
    let Two { a, b, t, .. } = two_hosts();
    with_beta(&b);
    let before = t.read("hosts.yml").unwrap();
    run(
        &t,
        &[],
        &["use", "workspace", BETA_ID, "--host", &b.host()],
        b"",
    )
    .code(0)
    .stdout(&format!("✓ Switched to Beta ({BETA_ID})\n"));
    let after = t.read("hosts.yml").unwrap();
    let b_context = format!(
        "  {}:\n    scheme: http\n    current_account: tester@dify.ai\n",
        b.host()
    );
    let (a_part, b_part) = after.split_at(after.find(&b_context).unwrap());
    assert_eq!(a_part, &before[..before.find(&b_context).unwrap()]);
    assert!(
        b_part.contains(&format!(
            "        workspace:\n          id: {BETA_ID}\n          name: Beta\n          role: \
             normal\n"
        )),
        "{after}"
    );
    assert!(a.requests().is_empty());
}

// ---------------------------------------------------------------------------
// The workspace picker, on a pseudo-terminal
// ---------------------------------------------------------------------------

#[test]
fn use_workspace_picker_on_a_terminal() {
    let mock = MockDify::start();
    with_beta(&mock);
    let (t, _) = signed_in(&mock);
    let hosts = t.read("hosts.yml").unwrap();
    let Some((code, shown)) = on_a_terminal(&t, &["use", "workspace"], "2\n") else {
        return;
    };
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains(
            "? Select a workspace\n  1) * Acme Team  (owner)\n  2)   Beta  (normal)\nEnter a \
             number [1-2]: "
        ),
        "{shown}"
    );
    assert!(
        shown.ends_with(&format!("✓ Switched to Beta ({BETA_ID})\n")),
        "{shown}"
    );
    assert_eq!(t.read("hosts.yml").unwrap(), switched_to_beta(&hosts));
    let methods: Vec<(String, String)> = mock
        .command_requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        methods,
        [
            (
                "GET".to_string(),
                "/openapi/v1/workspaces?page=1&limit=100".to_string()
            ),
            (
                "POST".to_string(),
                format!("/openapi/v1/workspaces/{BETA_ID}/switch")
            )
        ]
    );
}

#[test]
fn use_workspace_picker_with_no_workspaces() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    mock.configure(|c| c.workspaces.clear());
    let before = t.snapshot();
    let Some((code, shown)) = on_a_terminal(&t, &["use", "workspace"], "") else {
        return;
    };
    assert_eq!(
        (code, shown.as_str()),
        (4, "access_denied: no workspaces available to switch to\n")
    );
    assert_eq!(t.snapshot(), before);
}
