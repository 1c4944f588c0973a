//! `auth devices list` and `auth devices revoke` against the mock server
//! (difyctl-auth(1)): every message and exit code, paging, partial
//! failures, and the confirmation prompt on a real pseudo-terminal;
//! server strings that differ only by invisible characters never look the same,
//! in the list and at the prompt.

use std::process::Stdio;

use crate::common::relogin;
use crate::support::fixtures::{
    NO_HOSTS, NO_TOKENS, hosts_yml, signed_in, signed_in_as, signed_in_sso,
};
use crate::support::mock::{MockDify, RATE_LIMIT_MESSAGE, SessionInfo};
use crate::support::pty::on_a_terminal;
use crate::support::runner::Test;

const NOT_LOGGED_IN: &str = "not_logged_in: not logged in\nhint: run 'difyctl auth login'\n";

const NOT_LOGGED_IN_JSON: &str = "{\"error\":{\"code\":\"not_logged_in\",\"message\":\"not logged in\",\"hint\":\"run 'difyctl auth login'\"}}\n";

fn list_url(mock: &MockDify, page: u32, limit: u32) -> String {
    format!(
        "{}/openapi/v1/account/sessions?page={page}&limit={limit}",
        mock.url()
    )
}

/// The `target` (path and query) of every `GET /account/sessions`.
fn list_targets(mock: &MockDify) -> Vec<String> {
    mock.requests_to("/openapi/v1/account/sessions")
        .into_iter()
        .map(|r| r.target)
        .collect()
}

fn deletes(mock: &MockDify) -> usize {
    mock.requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count()
}

/// The table as the official tool prints it: every column but the last
/// padded to its widest cell plus two spaces, each line right-trimmed.
fn table(rows: &[[&str; 4]]) -> String {
    let all: Vec<[&str; 4]> = std::iter::once(["DEVICE", "CREATED", "LAST USED", "CURRENT"])
        .chain(rows.iter().copied())
        .collect();
    let w: Vec<usize> = (0..3)
        .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap())
        .collect();
    all.iter()
        .map(|r| {
            let line = format!(
                "{:<a$}{:<b$}{:<c$}{}",
                r[0],
                r[1],
                r[2],
                r[3],
                a = w[0] + 2,
                b = w[1] + 2,
                c = w[2] + 2
            );
            format!("{}\n", line.trim_end())
        })
        .collect()
}

// ---------------------------------------------------------------------------
// auth devices list
// ---------------------------------------------------------------------------

#[test]
fn list_needs_a_login() {
    let t = Test::new();
    t.run_args(["auth", "devices", "list"])
        .code(4)
        .stdout("")
        .stderr(NOT_LOGGED_IN);
    t.run_args(["auth", "devices", "list", "--json"])
        .code(4)
        .stdout("")
        .stderr(NOT_LOGGED_IN_JSON);
    // The auth gate comes before the limit is checked.
    t.run_args(["auth", "devices", "list", "--limit", "0"])
        .code(4)
        .stderr(NOT_LOGGED_IN);
    // A context without a stored token is not a login either.
    let mock = MockDify::start();
    Test::new()
        .hosts(hosts_yml(&mock, Some("x")))
        .args(["auth", "devices", "list"])
        .run()
        .code(4)
        .stderr(NOT_LOGGED_IN);
    assert!(mock.requests().is_empty());
}

#[test]
fn bad_limits_exit_2_before_any_request() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let cases: [(&[&str], Option<&str>, &str); 7] = [
        (&["--limit", "0"], None, "--limit: 0 out of range [1..200]"),
        (
            &["--limit", "201"],
            None,
            "--limit: 201 out of range [1..200]",
        ),
        (&["--limit=-5"], None, "--limit: -5 out of range [1..200]"),
        (
            &["--limit", "abc"],
            None,
            "--limit: \"abc\" is not a number",
        ),
        (
            &["--limit", "2.5"],
            None,
            "--limit: \"2.5\" is not a number",
        ),
        (&[], Some("abc"), "DIFY_LIMIT: \"abc\" is not a number"),
        (&[], Some("0"), "DIFY_LIMIT: 0 out of range [1..200]"),
    ];
    for (flags, env, message) in cases {
        let mut cmd = t.command();
        cmd.args(["auth", "devices", "list"])
            .args(flags)
            .stdin(Stdio::null());
        if let Some(v) = env {
            cmd.env("DIFY_LIMIT", v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags:?} {env:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("usage_invalid_flag: {message}\n"),
            "{flags:?} {env:?}"
        );
    }
    assert!(mock.requests().is_empty(), "{:?}", mock.requests());
    // With --json the same error is the JSON envelope.
    t.run_args(["auth", "devices", "list", "--json", "--limit", "0"])
        .code(2)
        .stdout("")
        .stderr("{\"error\":{\"code\":\"usage_invalid_flag\",\"message\":\"--limit: 0 out of range [1..200]\"}}\n");
}

#[test]
fn limit_flag_beats_env_and_pages_start_at_1() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    t.run_args(["auth", "devices", "list"]).code(0);
    let t = t.env("DIFY_LIMIT", "7");
    t.run_args(["auth", "devices", "list"]).code(0);
    t.run_args(["auth", "devices", "list", "--limit", "5"])
        .code(0);
    let t = t.env("DIFY_LIMIT", "abc");
    t.run_args(["auth", "devices", "list", "--limit", "200", "--page", "2"])
        .code(0);
    let t = t.env("DIFY_LIMIT", "");
    t.run_args(["auth", "devices", "list", "--page", "0"])
        .code(0);
    t.run_args(["auth", "devices", "list", "--page=-3"]).code(0);
    assert_eq!(
        list_targets(&mock),
        [
            "/openapi/v1/account/sessions?page=1&limit=20",
            "/openapi/v1/account/sessions?page=1&limit=7",
            "/openapi/v1/account/sessions?page=1&limit=5",
            "/openapi/v1/account/sessions?page=2&limit=200",
            "/openapi/v1/account/sessions?page=1&limit=20",
            "/openapi/v1/account/sessions?page=1&limit=20",
        ]
    );
}

#[test]
fn table_marks_the_current_session_and_cleans_labels() {
    let mock = MockDify::start();
    let (t, me) = signed_in(&mock);
    let runner = mock.add_session("difyctl on build-runner-3");
    let unlabelled = mock.add_session("");
    let hostile = mock.add_session("evil\u{1b}[31m\u{7} box\u{1b}]0;title\u{7}");
    let out = t.run_args(["auth", "devices", "list"]).code(0).stderr("");
    assert_eq!(
        out.stdout,
        table(&[
            ["evil box", &hostile.created_at, "", ""],
            [&unlabelled.id, &unlabelled.created_at, "", ""],
            ["difyctl on build-runner-3", &runner.created_at, "", ""],
            ["difyctl on me", &me.created_at, "", "*"],
        ])
    );
    assert!(out.stdout.starts_with(&format!(
        "DEVICE{}CREATED{}LAST USED  CURRENT\n",
        " ".repeat(36 + 2 - 6),
        " ".repeat(20 + 2 - 7)
    )));
}

#[test]
fn table_without_sessions_is_the_header_and_without_token_id_has_no_marker() {
    let mock = MockDify::start();
    let (t, me) = signed_in(&mock);
    // Another page than the one holding the only session: no rows.
    t.run_args(["auth", "devices", "list", "--page", "2"])
        .code(0)
        .stdout("DEVICE  CREATED  LAST USED  CURRENT\n");
    let t = t.hosts(hosts_yml(&mock, None));
    t.run_args(["auth", "devices", "list"])
        .code(0)
        .stdout(&table(&[["difyctl on me", &me.created_at, "", ""]]));
}

#[test]
fn json_is_the_server_envelope_on_one_line() {
    let mock = MockDify::start();
    let (t, me) = signed_in(&mock);
    let other = mock.add_session("difyctl on ci/runner");
    let row = |s: &SessionInfo| {
        format!(
            "{{\"id\":\"{}\",\"prefix\":\"dfoa_\",\"client_id\":\"difyctl\",\"device_label\":\"{}\",\
             \"created_at\":\"{}\",\"last_used_at\":null,\"expires_at\":\"{}\"}}",
            s.id, s.device_label, s.created_at, s.expires_at
        )
    };
    t.run_args(["auth", "devices", "list", "--json"])
        .code(0)
        .stderr("")
        .stdout(&format!(
            "{{\"page\":1,\"limit\":20,\"total\":2,\"has_more\":false,\"data\":[{},{}]}}\n",
            row(&other),
            row(&me)
        ));
}

#[test]
fn list_paging_with_450_sessions() {
    let mock = MockDify::start();
    let (t, _) = signed_in_as(&mock, "runner-000");
    for i in 1..450 {
        mock.add_session(&format!("runner-{i:03}"));
    }
    let out = t
        .run_args(["auth", "devices", "list", "--limit", "200", "--page", "3"])
        .code(0);
    let labels: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    // Newest first: page 3 holds the 50 oldest, the current one last.
    let expected: Vec<String> = (0..50).rev().map(|i| format!("runner-{i:03}")).collect();
    assert_eq!(labels, expected);
    assert!(out.stdout.ends_with("  *\n"), "{}", out.stdout);
    let json = t
        .run_args([
            "auth", "devices", "list", "--json", "--limit", "200", "--page", "3",
        ])
        .code(0)
        .json();
    assert_eq!(
        (
            &json["total"],
            &json["has_more"],
            json["data"].as_array().unwrap().len()
        ),
        (&serde_json::json!(450), &serde_json::json!(false), 50)
    );
}

#[test]
fn list_http_errors() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let url = list_url(&mock, 1, 20);

    mock.configure(|c| c.invalid_bearer = true);
    t.run_args(["auth", "devices", "list"])
        .code(4)
        .stdout("")
        .stderr(&format!(
            "unauthorized: invalid bearer\nhint: {}\nrequest: GET {url}\nhttp_status: 401\n",
            relogin(&mock)
        ));
    t.run_args(["auth", "devices", "list", "--json"])
        .code(4)
        .stdout("")
        .stderr(&format!(
            "{{\"error\":{{\"code\":\"auth_expired\",\"message\":\"invalid bearer\",\
             \"hint\":\"{hint}\",\"http_status\":401,\
             \"method\":\"GET\",\"url\":\"{url}\",\"server\":{{\"code\":\"unauthorized\",\
             \"message\":\"invalid bearer\",\"status\":401}}}}}}\n",
            hint = relogin(&mock)
        ));
    mock.configure(|c| c.invalid_bearer = false);

    // A Retry-After over 60 s is not waited out.
    mock.configure(|c| {
        c.rate_limit_per_min = Some(0);
        c.rate_limit_retry_after = Some(120);
    });
    t.run_args(["auth", "devices", "list"])
        .code(7)
        .stdout("")
        .stderr(&format!(
            "too_many_requests: {RATE_LIMIT_MESSAGE}\nrequest: GET {url}\nhttp_status: 429\n"
        ));
    mock.configure(|c| c.rate_limit_per_min = None);

    mock.fail_next("/openapi/v1/account/sessions", 1, 502);
    t.run_args(["auth", "devices", "list", "--http-retry", "0"])
        .code(1)
        .stdout("")
        .stderr(&format!(
            "bad_gateway: Internal Server Error\nrequest: GET {url}\nhttp_status: 502\n"
        ));
}

/// A wait longer than a second is said on stderr, without -v: the 429's
/// `Retry-After` and the back-off after server errors (the first two waits,
/// 300 and 600 ms, are not).
#[test]
fn waits_over_a_second_are_announced() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let path = "/openapi/v1/account/sessions";
    mock.rate_limit_next(path, 1, Some(2));
    let out = t.run_args(["auth", "devices", "list"]).code(0);
    out.stderr(&format!(
        "rate limited by {} (attempt 1 of 4); retrying in 2 s\n",
        mock.host()
    ));
    mock.fail_next(path, 3, 503);
    let out = t.run_args(["auth", "devices", "list"]).code(0);
    out.stderr(&format!(
        "{} answered HTTP 503 (attempt 3 of 4); retrying in 1.2 s\n",
        mock.host()
    ));
}

#[test]
fn http_retry_counts_retries_after_the_first_attempt() {
    // As the official tool counts them: N retries are N + 1 requests, and
    // three retries by default. The flag wins over the variable.
    let path = "/openapi/v1/account/sessions";
    let cases: [(&[&str], Option<&str>, usize); 8] = [
        (&["--http-retry", "0"], None, 1),
        (&["--http-retry", "1"], None, 2),
        (&["--http-retry", "2"], None, 3),
        (&[], None, 4),
        (&[], Some("0"), 1),
        (&[], Some("1"), 2),
        (&[], Some("2"), 3),
        (&["--http-retry=0"], Some("2"), 1),
    ];
    for (flags, env, sent) in cases {
        let mock = MockDify::start();
        let (t, _) = signed_in(&mock);
        mock.fail_next(path, 10, 503);
        let mut cmd = t.command();
        cmd.args(["auth", "devices", "list"]).args(flags);
        if let Some(value) = env {
            cmd.env("DIFYCTL_HTTP_RETRY", value);
        }
        t.run_command(cmd, b"")
            .code(1)
            .stdout("")
            .stderr_has("http_status: 503\n");
        assert_eq!(
            mock.requests_to(path).len(),
            sent,
            "{flags:?} DIFYCTL_HTTP_RETRY={env:?}"
        );
    }
    // A negative or non-numeric budget is a usage error before any request.
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    for (value, message) in [
        ("-1", "DIFYCTL_HTTP_RETRY: -1 is negative"),
        (
            "two",
            "DIFYCTL_HTTP_RETRY: \"two\" is not a non-negative integer",
        ),
    ] {
        let mut cmd = t.command();
        cmd.args(["auth", "devices", "list"])
            .env("DIFYCTL_HTTP_RETRY", value);
        t.run_command(cmd, b"").code(2).stdout("").stderr(&format!(
            "usage_invalid_flag: {message}\nhint: set DIFYCTL_HTTP_RETRY to a whole number of \
             retries, e.g. 3, or unset it\n"
        ));
    }
    assert!(mock.requests().is_empty());
}

// ---------------------------------------------------------------------------
// auth devices revoke
// ---------------------------------------------------------------------------

#[test]
fn revoke_needs_a_login_then_a_target() {
    let t = Test::new();
    t.run_args(["auth", "devices", "revoke"])
        .code(4)
        .stderr(NOT_LOGGED_IN);
    t.run_args(["auth", "devices", "revoke", "--all"])
        .code(4)
        .stderr(NOT_LOGGED_IN);

    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    for args in [
        &["auth", "devices", "revoke"][..],
        &["auth", "devices", "revoke", ""],
    ] {
        t.run_args(args).code(2).stdout("").stderr(
            "usage_missing_arg: specify a device label / id, or pass --all\n\
             hint: see 'difyctl auth devices list'\n",
        );
    }
    t.run_args(["auth", "devices", "revoke", "me", "--all"])
        .code(2)
        .stdout("")
        .stderr(
            "usage_invalid_flag: pass either a device label / id or --all, not both\n\
             hint: see 'difyctl auth devices list'\n",
        );
    assert!(mock.requests().is_empty());
}

#[test]
fn revoke_by_exact_label_then_id_then_substring() {
    let mock = MockDify::start();
    let (t, me) = signed_in(&mock);
    let r3 = mock.add_session("difyctl on build-runner-3");
    let r30 = mock.add_session("difyctl on build-runner-30");
    let laptop = mock.add_session("difyctl on Laptop");
    let named_like_an_id = mock.add_session(&laptop.id);
    let before = t.snapshot();

    // Exact label, although it is also a substring of another label.
    t.run_args(["auth", "devices", "revoke", "difyctl on build-runner-3"])
        .code(0)
        .stderr("")
        .stdout("✓ Revoked 1 session(s)\n");
    assert_eq!(mock.revoked_ids(), std::slice::from_ref(&r3.id));

    // Exact id.
    t.run_args(["auth", "devices", "revoke", &r30.id])
        .code(0)
        .stdout("✓ Revoked 1 session(s)\n");
    // An exact label beats an exact id.
    t.run_args(["auth", "devices", "revoke", &laptop.id])
        .code(0)
        .stdout("✓ Revoked 1 session(s)\n");
    // Case-insensitive substring.
    t.run_args(["auth", "devices", "revoke", "LAPTOP", "-y"])
        .code(0)
        .stdout("✓ Revoked 1 session(s)\n");
    assert_eq!(
        mock.revoked_ids(),
        [r3.id, r30.id, named_like_an_id.id, laptop.id]
    );
    assert_eq!(mock.sessions(), [me]);
    assert_eq!(t.snapshot(), before, "local state untouched");
}

#[test]
fn ambiguous_and_unmatched_targets_exit_2() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let a = mock.add_session("twin");
    let b = mock.add_session("twin");
    let c = mock.add_session("build-runner-1");
    let d = mock.add_session("Build-Runner-2");
    let e = mock.add_session("evil\u{1b}[31m\u{7}\nhost");
    let f = mock.add_session("evil\u{1b}]0;title\u{7} host");

    t.run_args(["auth", "devices", "revoke", "twin"])
        .code(2)
        .stdout("")
        .stderr(&format!(
            "usage_invalid_flag: \"twin\" matches multiple sessions: twin ({}), twin ({}); \
             pass an exact id to disambiguate\n",
            b.id, a.id
        ));
    t.run_args(["auth", "devices", "revoke", "RUNNER"])
        .code(2)
        .stdout("")
        .stderr(&format!(
            "usage_invalid_flag: \"RUNNER\" matches multiple sessions: Build-Runner-2 ({}), \
             build-runner-1 ({}); pass an exact id to disambiguate\n",
            d.id, c.id
        ));
    // Labels in messages come out without escape sequences or control characters.
    t.run_args(["auth", "devices", "revoke", "evil"])
        .code(2)
        .stderr(&format!(
            "usage_invalid_flag: \"evil\" matches multiple sessions: evil host ({}), \
             evil host ({}); pass an exact id to disambiguate\n",
            f.id, e.id
        ));
    t.run_args(["auth", "devices", "revoke", "nope\u{1b}[2J"])
        .code(2)
        .stdout("")
        .stderr("usage_missing_arg: no session matches \"nope\"\n");
    assert_eq!(deletes(&mock), 0);
    assert!(mock.revoked_ids().is_empty());
}

#[test]
fn revoke_all_with_450_sessions_keeps_the_current_one() {
    let mock = MockDify::start();
    for i in 0..200 {
        mock.add_session(&format!("old-{i:03}"));
    }
    let (t, me) = signed_in(&mock);
    for i in 0..249 {
        mock.add_session(&format!("new-{i:03}"));
    }
    let before = t.snapshot();
    t.run_args(["auth", "devices", "revoke", "--all"])
        .code(0)
        .stderr("")
        .stdout("✓ Revoked 449 session(s)\n");
    assert_eq!(
        list_targets(&mock),
        [
            "/openapi/v1/account/sessions?page=1&limit=200",
            "/openapi/v1/account/sessions?page=2&limit=200",
            "/openapi/v1/account/sessions?page=3&limit=200",
        ]
    );
    assert_eq!(mock.revoked_ids().len(), 449);
    assert!(!mock.revoked_ids().contains(&me.id));
    assert_eq!(mock.sessions(), [me]);
    assert_eq!(t.snapshot(), before, "local state untouched");

    // Again: only the current session is left.
    t.run_args(["auth", "devices", "revoke", "--all"])
        .code(0)
        .stderr("")
        .stdout("no sessions to revoke\n");
    assert_eq!(deletes(&mock), 449);
}

#[test]
fn revoke_all_needs_to_know_the_current_session() {
    let mock = MockDify::start();
    let (t, me) = signed_in(&mock);
    mock.add_session("other");
    let t = t.hosts(hosts_yml(&mock, None));
    t.run_args(["auth", "devices", "revoke", "--all"])
        .code(2)
        .stdout("")
        .stderr(
            "usage_invalid_flag: --all keeps the current session, but this context does not \
             record which session it is\nhint: revoke sessions by id (see 'difyctl auth devices \
             list'), or sign in again with 'difyctl auth login'\n",
        );
    assert!(mock.requests().is_empty());
    // A single target still works.
    t.run_args(["auth", "devices", "revoke", "other"])
        .code(0)
        .stdout("✓ Revoked 1 session(s)\n");
    assert_eq!(mock.sessions(), [me]);
}

#[test]
fn revoke_all_from_a_session_that_is_not_listed_revokes_every_listed_one() {
    // An external-SSO context on a server that shows it the account's
    // sessions: its own is not among them, so none of them is the current one.
    let (mock, t) = signed_in_sso();
    let sso = mock.sessions();
    assert!(sso[0].token.starts_with("dfoe_"), "{sso:?}");
    mock.configure(|c| {
        c.sso = None;
        c.sso_acts_for_account = true;
    });
    let listed: Vec<SessionInfo> = (1..=3)
        .map(|i| mock.add_session(&format!("runner-{i}")))
        .collect();
    let before = t.snapshot();
    t.run_args(["auth", "devices", "revoke", "--all"])
        .code(0)
        .stderr("")
        .stdout("✓ Revoked 3 session(s)\n");
    let mut revoked = mock.revoked_ids();
    revoked.sort();
    let mut expected: Vec<String> = listed.iter().map(|s| s.id.clone()).collect();
    expected.sort();
    assert_eq!(revoked, expected);
    assert_eq!(mock.sessions(), sso, "the SSO session itself stays");
    assert_eq!(t.snapshot(), before, "local state untouched");
}

#[test]
fn revoke_all_keeps_a_listed_current_session_by_id() {
    // The current session is found by its id, whatever its label: a session
    // labelled like this machine's but not this context's goes.
    let mock = MockDify::start();
    let twin = mock.add_session("difyctl on me");
    let (t, me) = signed_in_as(&mock, "difyctl on me");
    t.run_args(["auth", "devices", "revoke", "--all", "--yes"])
        .code(0)
        .stderr("")
        .stdout("✓ Revoked 1 session(s)\n");
    assert_eq!(mock.revoked_ids(), [twin.id]);
    assert_eq!(mock.sessions(), [me]);
}

#[test]
fn revoking_the_current_session_signs_this_context_out() {
    let mock = MockDify::start();
    let (t, me) = signed_in(&mock);
    let other = mock.add_session("difyctl on other");
    t.run_args(["auth", "devices", "revoke", "difyctl on me"])
        .code(0)
        .stdout("✓ Revoked 1 session(s)\n")
        .stderr(&format!(
            "! this context's own session was revoked: signed out of tester@dify.ai on {}\n",
            mock.host()
        ))
        .file("hosts.yml", NO_HOSTS)
        .file("tokens.yml", NO_TOKENS);
    assert_eq!(mock.revoked_ids(), [me.id]);
    assert_eq!(mock.sessions(), [other]);
    t.run_args(["auth", "devices", "list"])
        .code(4)
        .stderr(NOT_LOGGED_IN);
}

#[test]
fn a_401_while_revoking_the_current_session_means_it_is_gone() {
    // Our own bearer rejected: the session is not live any more (e.g. a retry
    // after the revoke landed), so this context is signed out as well.
    let mock = MockDify::start();
    let (t, me) = signed_in(&mock);
    mock.fail_next(&format!("/openapi/v1/account/sessions/{}", me.id), 1, 401);
    t.run_args(["auth", "devices", "revoke", &me.id])
        .code(0)
        .stdout("✓ Revoked 1 session(s)\n")
        .stderr(&format!(
            "! this context's own session was revoked: signed out of tester@dify.ai on {}\n",
            mock.host()
        ))
        .file("hosts.yml", NO_HOSTS)
        .file("tokens.yml", NO_TOKENS);
}

#[test]
fn a_failure_half_way_reports_what_was_and_was_not_revoked() {
    let mock = MockDify::start();
    let (t, me) = signed_in(&mock);
    let s: Vec<SessionInfo> = (1..=5)
        .map(|i| mock.add_session(&format!("runner-{i}")))
        .collect();
    mock.fail_revoke_after(3);
    let before = t.snapshot();
    // Newest first: runner-5, -4, -3 go, runner-2 fails, runner-1 is not reached.
    t.run_args(["auth", "devices", "revoke", "--all", "--http-retry", "0"])
        .code(1)
        .stdout("")
        .stderr(&format!(
            "! revoked 3 of 5 session(s) before the failure; not revoked: runner-2 ({}), \
             runner-1 ({})\ninternal_server_error: Internal Server Error\n\
             request: DELETE {}/openapi/v1/account/sessions/{}\nhttp_status: 500\n",
            s[1].id,
            s[0].id,
            mock.url(),
            s[1].id
        ));
    assert_eq!(
        mock.revoked_ids(),
        [s[4].id.clone(), s[3].id.clone(), s[2].id.clone()]
    );
    assert_eq!(mock.sessions(), [me, s[0].clone(), s[1].clone()]);
    assert_eq!(t.snapshot(), before, "local state untouched");
}

#[test]
fn a_session_that_vanished_meanwhile_counts_as_revoked() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let gone = mock.add_session("gone");
    let kept = mock.add_session("kept");
    mock.fail_next(&format!("/openapi/v1/account/sessions/{}", gone.id), 1, 404);
    t.run_args(["auth", "devices", "revoke", "--all"])
        .code(0)
        .stderr("")
        .stdout("✓ Revoked 2 session(s)\n");
    assert_eq!(mock.revoked_ids(), [kept.id]);
}

#[test]
fn revoke_http_errors() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    mock.add_session("other");
    let url = list_url(&mock, 1, 200);
    mock.configure(|c| c.invalid_bearer = true);
    t.run_args(["auth", "devices", "revoke", "other"])
        .code(4)
        .stdout("")
        .stderr(&format!(
            "unauthorized: invalid bearer\nhint: {}\nrequest: GET {url}\nhttp_status: 401\n",
            relogin(&mock)
        ));
    mock.configure(|c| {
        c.invalid_bearer = false;
        c.rate_limit_per_min = Some(1);
        c.rate_limit_retry_after = None;
    });
    // The listing passes, the revoke is rate limited.
    let other = mock.sessions()[1].clone();
    t.run_args(["auth", "devices", "revoke", "--all"])
        .code(7)
        .stdout("")
        .stderr(&format!(
            "! revoked 0 of 1 session(s) before the failure; not revoked: other ({id})\n\
             too_many_requests: {RATE_LIMIT_MESSAGE}\nrequest: DELETE {}/openapi/v1/account/sessions/{id}\n\
             http_status: 429\n",
            mock.url(),
            id = other.id
        ));
    assert!(mock.revoked_ids().is_empty());
}

// ---------------------------------------------------------------------------
// The confirmation prompt, on a pseudo-terminal
// ---------------------------------------------------------------------------

#[test]
fn prompt_on_a_terminal_accepted() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let other = mock.add_session("difyctl on other");
    let Some((code, shown)) = on_a_terminal(&t, &["auth", "devices", "revoke", "other"], "y\n")
    else {
        return;
    };
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains(&format!(
            "  difyctl on other ({})\nRevoke 1 session(s)? [y/N] ",
            other.id
        )),
        "{shown}"
    );
    assert!(shown.ends_with("✓ Revoked 1 session(s)\n"), "{shown}");
    assert_eq!(mock.revoked_ids(), [other.id]);
}

#[test]
fn prompt_on_a_terminal_declined_or_closed() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    mock.add_session("difyctl on other");
    // "n", an empty answer and a closed input (Ctrl-D) all decline.
    for input in ["n\n", "\n", "\u{4}"] {
        let Some((code, shown)) = on_a_terminal(&t, &["auth", "devices", "revoke", "--all"], input)
        else {
            return;
        };
        assert_eq!(code, 2, "{input:?}: {shown}");
        assert!(shown.contains("Revoke 1 session(s)? [y/N] "), "{shown}");
        assert!(
            shown.ends_with(
                "usage_missing_arg: aborted by user\nhint: pass --yes to skip confirmation\n"
            ),
            "{input:?}: {shown}"
        );
    }
    assert_eq!(deletes(&mock), 0);
}

#[test]
fn yes_skips_the_prompt_on_a_terminal() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    for flag in ["--yes", "-y"] {
        mock.add_session(flag);
        let Some((code, shown)) =
            on_a_terminal(&t, &["auth", "devices", "revoke", "--all", flag], "")
        else {
            return;
        };
        assert_eq!((code, shown.as_str()), (0, "✓ Revoked 1 session(s)\n"));
    }
    assert_eq!(mock.revoked_ids().len(), 2);
}

// ---------------------------------------------------------------------------
// Look-alikes

#[test]
fn values_that_differ_only_by_invisible_characters_never_look_the_same() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let plain = mock.add_session("build box");
    let zero_width = mock.add_session("build\u{200b} box");
    let no_break = mock.add_session("build\u{a0}box");
    let bidi = mock.add_session("build\u{202e} box");
    let out = t.run_args(["auth", "devices", "list"]).code(0).stderr("");
    for shown in [
        "build box ",
        "build\\u{200b} box ",
        "build\\u{a0}box ",
        "build\\u{202e} box ",
    ] {
        assert!(out.stdout.contains(shown), "{shown:?} in\n{}", out.stdout);
    }
    // In errors as well (the ambiguous match lists them).
    let out = t
        .run_args(["auth", "devices", "revoke", "build"])
        .code(2)
        .stdout("");
    assert_eq!(
        out.stderr,
        format!(
            "usage_invalid_flag: \"build\" matches multiple sessions: build\\u{{202e}} box ({}), \
             build\\u{{a0}}box ({}), build\\u{{200b}} box ({}), build box ({}); pass an exact \
             id to disambiguate\n",
            bidi.id, no_break.id, zero_width.id, plain.id
        )
    );
    // JSON keeps the value, escaped so that a terminal shows it too.
    let out = t.run_args(["auth", "devices", "list", "--json"]).code(0);
    assert!(out.stdout.contains(r"build\u200b box"), "{}", out.stdout);
}

#[test]
fn the_revoke_prompt_shows_invisible_characters_too() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let twin = mock.add_session("difyctl on\u{200b} box");
    let Some((code, shown)) =
        crate::support::pty::on_a_terminal(&t, &["auth", "devices", "revoke", &twin.id], "n\n")
    else {
        return;
    };
    assert_eq!(code, 2, "{shown}");
    assert!(
        shown.contains(&format!(
            "  difyctl on\\u{{200b}} box ({})\nRevoke 1 session(s)? [y/N] ",
            twin.id
        )),
        "{shown}"
    );
}

// ---------------------------------------------------------------------------
// Choosing the session on a terminal
// ---------------------------------------------------------------------------

#[test]
fn without_a_target_the_session_is_chosen_on_a_terminal() {
    let mock = MockDify::start();
    let (t, own) = signed_in(&mock);
    let other = mock.add_session("difyctl on other");
    // The numbered prompt (no TERM), then the confirmation. The server
    // lists the newest session first.
    let Some((code, shown)) = on_a_terminal(&t, &["auth", "devices", "revoke"], "1\ny\n") else {
        return;
    };
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("? Select a session to revoke\n"), "{shown}");
    assert!(
        shown.contains(&format!("  1)   difyctl on other  {}", other.id)),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("  2) * difyctl on me     {}", own.id)),
        "the own session is marked: {shown}"
    );
    assert!(
        shown.contains("Enter a number [1-2]: "),
        "nothing pre-selected: {shown}"
    );
    assert!(shown.ends_with("✓ Revoked 1 session(s)\n"), "{shown}");
    assert_eq!(mock.revoked_ids(), std::slice::from_ref(&other.id));

    // Without a terminal the official error stands.
    t.run_args(["auth", "devices", "revoke"]).code(2).stderr(
        "usage_missing_arg: specify a device label / id, or pass --all\n\
             hint: see 'difyctl auth devices list'\n",
    );
}

#[test]
fn an_ambiguous_target_is_chosen_with_keys_on_a_terminal() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    // Listed newest first: build-2, then build-1.
    let first = mock.add_session("build-1");
    mock.add_session("build-2");
    let line = crate::support::pty::command_line(&["auth", "devices", "revoke", "build"]);
    let Some(mut pty) =
        crate::support::pty::Pty::shell_env(&t, &line, &[("TERM", "xterm"), ("NO_COLOR", "1")])
    else {
        return;
    };
    let footer = "↑/↓ or j/k move · Enter selects · Esc or q cancels";
    pty.wait_for(footer);
    pty.type_in("j");
    pty.wait_for_nth(footer, 2);
    pty.type_in("\r");
    pty.wait_for("Revoke 1 session(s)? [y/N] ");
    pty.type_in("y\n");
    let (code, shown) = pty.finish();
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("? \"build\" matches several sessions: revoke which?\n"),
        "{shown}"
    );
    assert!(shown.ends_with("✓ Revoked 1 session(s)\n"), "{shown}");
    assert_eq!(mock.revoked_ids(), [first.id]);
}
