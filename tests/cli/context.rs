//! Which context a command acts on: `--host`/`--account`,
//! `DIFY_HOST`/`DIFY_ACCOUNT`, `DIFY_TOKEN` with or without a stored host, and
//! the active context, for one call and writing nothing. `DIFY_TOKEN` goes to
//! an `http://` host only with `DIFY_INSECURE`.

use crate::common::{
    NOT_LOGGED_IN, Two, closed_port, empty_config, raw_request, run, two_hosts, valid_status_json,
};
use crate::support::fixtures::{Tokens, signed_in};
use crate::support::mock::{DEFAULT_ACCOUNT_ID, DEFAULT_WORKSPACE_ID, MockDify};
use crate::support::runner::Test;

#[track_caller]
fn assert_empty_dir(t: &Test) {
    let left: Vec<String> = std::fs::read_dir(t.config_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "config dir holds {left:?}");
}

fn bearers(mock: &MockDify) -> Vec<String> {
    mock.command_requests()
        .iter()
        .map(|r| r.header("authorization").unwrap_or("").to_string())
        .collect()
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
        run(&t, env, &argv, b"").code(0).into_stdout()
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
    let t = t.tokens(Tokens::new());
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
             auth login --host http://{h} --insecure'\n",
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
    // Nothing is stored about the token: whoami asks the server.
    let before = mock.command_requests().len();
    run(&t, &env, &["auth", "whoami"], b"")
        .code(0)
        .stderr("")
        .stdout("tester@dify.ai (Tester)\n");
    run(&t, &env, &["auth", "whoami", "--json"], b"")
        .code(0)
        .stderr("")
        .stdout(&format!(
            "{{\"id\":\"{DEFAULT_ACCOUNT_ID}\",\"email\":\"tester@dify.ai\",\"name\":\"Tester\"}}\n"
        ));
    let asked: Vec<String> = mock.command_requests()[before..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.path_only()))
        .collect();
    assert_eq!(
        asked,
        ["GET /openapi/v1/account", "GET /openapi/v1/account"]
    );
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
        &["auth", "whoami"],
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
            "network_connection: cannot connect to {host}: connection refused\nhint: is the \
             server running, and is this its port?\nrequest: GET https://{host}/openapi/v1/account\n"
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
            "network_connection: cannot connect to {host}: connection refused\nhint: is the \
             server running, and is this its port?\nrequest: GET http://{host}/openapi/v1/account\n"
        )),
        "{}",
        out.stderr
    );
    assert_empty_dir(&t);
}

#[test]
fn dify_token_goes_to_an_http_host_only_when_allowed() {
    let mock = MockDify::start();
    let s = mock.add_session("ci runner");
    let t = Test::new()
        .env("DIFY_TOKEN", &s.token)
        .env("DIFY_HOST", mock.url());
    let host = mock.host();
    t.run_args(["auth", "status"])
        .code(2)
        .stdout("")
        .stderr(&format!(
            "usage_invalid_flag: DIFY_TOKEN would travel in clear text to http://{host} \
             (DIFY_HOST)\n\
             hint: use an https:// host, or set DIFY_INSECURE=1 to allow http:// (local-dev only)\n"
        ));
    assert!(mock.requests().is_empty(), "nothing was sent");
    t.run_args(["api", "account"])
        .code(2)
        .stderr_has("usage_invalid_flag: DIFY_TOKEN would travel in clear text to http://");
    assert!(mock.requests().is_empty(), "nothing was sent");
    let allowed = t.env("DIFY_INSECURE", "1");
    allowed.run_args(["api", "account"]).code(0);
    assert_eq!(mock.command_requests().len(), 1);
    assert!(!allowed.config_dir().exists());
}
