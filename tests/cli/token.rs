//! `auth token`: it needs a context, prints a token a plain HTTP request can
//! use, and reads neither token of two contexts whose keychain items would be
//! the same.

use crate::common::{NOT_LOGGED_IN, raw_request, run};
use crate::support::fixtures::{Context, Hosts, hosts_yml, signed_in};
use crate::support::mock::MockDify;
use crate::support::runner::Test;

#[test]
fn token_needs_a_context() {
    let t = Test::new();
    run(&t, &[], &["auth", "token"], b"")
        .code(4)
        .stdout("")
        .stderr(NOT_LOGGED_IN);
    // A context without a stored token.
    let mock = MockDify::start();
    let t = Test::new().hosts(hosts_yml(&mock, None));
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

#[test]
fn two_stored_contexts_sharing_a_keychain_item_read_neither_token() {
    // As another tool could have written it: both contexts, one item.
    let hosts = Hosts::keychain()
        .with(Context::new("dify", "corp.me@x.io"))
        .with(Context::new("dify.corp", "me@x.io"));
    let t = Test::new().hosts(hosts);
    t.run_args(["auth", "token"]).code(1).stdout("").stderr(
        "client_error: corp.me@x.io on dify and me@x.io on dify.corp share the keychain item \
         \"tokens.dify.corp.me@x.io\": whose token it holds cannot be told\n\
         hint: log out of one of them ('difyctl auth logout --host dify.corp --account me@x.io') \
         and sign in to the other again\n",
    );
    t.run_args(["auth", "token", "--host", "dify.corp"])
        .code(1)
        .stdout("")
        .stderr(
            "client_error: me@x.io on dify.corp and corp.me@x.io on dify share the keychain item \
             \"tokens.dify.corp.me@x.io\": whose token it holds cannot be told\n\
             hint: log out of one of them ('difyctl auth logout --host dify --account \
             corp.me@x.io') and sign in to the other again\n",
        );
}
