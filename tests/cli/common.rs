//! What several command modules share: `hosts.yml` files as the official tool
//! writes them, the usual messages, two stored hosts to select from, and
//! helpers that run with extra environment or talk to the mock directly.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};

use crate::support::fixtures::{Context, Hosts, Tokens, alice};
use crate::support::mock::{DEFAULT_ACCOUNT_ID, DEFAULT_WORKSPACE_ID, MockDify, SessionInfo};
use crate::support::runner::{Outcome, Test};

/// The path of the config dir's file `name`, as messages show it.
pub(crate) fn path_of(t: &Test, name: &str) -> String {
    t.config_dir().join(name).display().to_string()
}

/// The official tool's example `hosts.yml`, written by its serializer: keychain
/// mode, an https login and an http one; `localhost:5001` is active.
pub(crate) const EXAMPLE: &str = include_str!("../fixtures/hosts-example.yml");

/// An external-SSO context (empty `account` fields, an `external_subject`)
/// next to an ordinary one, in file mode; the SSO one is active.
pub(crate) fn sso() -> String {
    Hosts::file()
        .with(alice())
        .with(
            Context::new("sso.example.com", "sam@corp.example")
                .sso("https://idp.corp.example")
                .token_id("tok-sso"),
        )
        .current_host(Some("sso.example.com"))
        .to_string()
}

/// Several accounts on one host (one without a name, one SSO, one without a
/// stored token) and a second host with no current account.
pub(crate) fn team() -> String {
    Hosts::file()
        .with(alice())
        .with(
            Context::new("cloud.dify.ai", "bob@example.com")
                .id("acc-2")
                .name("")
                .token_id("tok-2"),
        )
        .with(
            Context::new("cloud.dify.ai", "sam@corp.example")
                .sso("https://idp.corp.example")
                .token_id("tok-3"),
        )
        .with(
            Context::new("localhost:5001", "dev@example.com")
                .http()
                .id("a2")
                .name("Dev")
                .token_id("t2"),
        )
        .current_account("localhost:5001", None)
        .to_string()
}

/// The tokens of [`team`]: bob@example.com has none.
pub(crate) fn team_tokens() -> String {
    Tokens::new()
        .with("cloud.dify.ai", "alice@example.com", "dfoa_alice")
        .with("cloud.dify.ai", "sam@corp.example", "dfoe_sam")
        .with("localhost:5001", "dev@example.com", "dfoa_dev")
        .to_string()
}

/// Runs `cmd` (the binary under a wrapper: `setpriv`, `strace`) with stdin
/// empty, as strictly as a run of `t`.
#[track_caller]
pub(crate) fn output(t: &Test, mut cmd: Command) -> Outcome<'_> {
    t.outcome(cmd.stdin(Stdio::null()).output().unwrap())
}

pub(crate) const NOT_LOGGED_IN: &str =
    "not_logged_in: not logged in\nhint: run 'difyctl auth login'\n";

/// `auth whoami` on [`team`] with no context active: the four stored
/// contexts named, and how to pick one.
pub(crate) const TEAM_NOTHING_ACTIVE: &str = "not_logged_in: not logged in\nhint: no context is \
    active; 4 contexts are stored (alice@example.com on cloud.dify.ai, bob@example.com on \
    cloud.dify.ai, sam@corp.example on cloud.dify.ai, dev@example.com on localhost:5001): pick \
    one with 'difyctl use host' and 'difyctl use account', or sign in with 'difyctl auth login'\n";

/// The hint of a session the mock no longer accepts, for its stored (http)
/// context: a sign-in that works for it.
pub(crate) fn relogin(mock: &MockDify) -> String {
    format!(
        "run 'difyctl auth login --host {} --insecure' to sign in again",
        mock.url()
    )
}

/// Runs `args` in `t`'s directories with extra environment and stdin.
#[track_caller]
pub(crate) fn run<'t>(
    t: &'t Test,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: &[u8],
) -> Outcome<'t> {
    let mut cmd = t.command();
    cmd.args(args).envs(env.iter().copied());
    t.run_command(cmd, stdin)
}

/// A test whose config dir exists and is empty.
pub(crate) fn empty_config() -> Test {
    let t = Test::new();
    std::fs::create_dir_all(t.config_dir()).unwrap();
    t
}

/// A port nothing listens on.
pub(crate) fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.1 request with a bearer, as curl would send it: the status
/// code and the body.
pub(crate) fn raw_request(mock: &MockDify, method: &str, path: &str, token: &str) -> (u16, String) {
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

pub(crate) fn account_url(mock: &MockDify) -> String {
    format!("{}/openapi/v1/account", mock.url())
}

pub(crate) fn valid_status_json(mock: &MockDify, source: &str, expires_at: Option<&str>) -> String {
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

pub(crate) struct Two {
    pub(crate) a: MockDify,
    pub(crate) b: MockDify,
    /// tester@dify.ai on A (the active context).
    pub(crate) a1: SessionInfo,
    /// other@dify.ai on A.
    pub(crate) a2: SessionInfo,
    /// tester@dify.ai on B.
    pub(crate) b1: SessionInfo,
    pub(crate) t: Test,
}

pub(crate) fn two_hosts() -> Two {
    let a = MockDify::start();
    let b = MockDify::start();
    let a1 = a.add_session("difyctl on me");
    let a2 = a.add_session("difyctl on me (other)");
    let b1 = b.add_session("difyctl on me");
    let tester = |mock: &MockDify, session: &SessionInfo| {
        Context::new(&mock.host(), "tester@dify.ai")
            .http()
            .id(DEFAULT_ACCOUNT_ID)
            .name("Tester")
            .token_id(&session.id)
    };
    let hosts = Hosts::file()
        .with(tester(&a, &a1))
        .with(
            Context::new(&a.host(), "other@dify.ai")
                .http()
                .id("a2")
                .name("Other")
                .token_id(&a2.id),
        )
        .with(tester(&b, &b1));
    let tokens = Tokens::new()
        .with(&a.host(), "tester@dify.ai", &a1.token)
        .with(&a.host(), "other@dify.ai", &a2.token)
        .with(&b.host(), "tester@dify.ai", &b1.token);
    let t = Test::new().hosts(hosts).tokens(tokens);
    Two {
        a,
        b,
        a1,
        a2,
        b1,
        t,
    }
}
