//! Headless sign-in against the mock server: `auth login --with-token`,
//! `--password`, `--email-code` and `--console-cookie` with stdin a pipe,
//! the password kept out of argv and the environment, and the hidden
//! prompts on a real pseudo-terminal (`sign_in`); every failure with its
//! exit code, message and an unchanged config dir (`failures`).

mod failures;
mod sign_in;

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::support::fixtures::{Context, Hosts, Tokens};
use crate::support::mock::MockDify;
use crate::support::runner::Test;

pub(crate) const EMAIL: &str = "tester@dify.ai";

pub(crate) const PASSWORD: &str = "Passw0rd!";

/// base64 of PASSWORD, its form on the wire.
pub(crate) const PASSWORD_B64: &str = "UGFzc3cwcmQh";

pub(crate) const CODE: &str = "123456";

/// A config dir that already holds a context elsewhere, so "unchanged"
/// means more than "still empty".
pub(crate) fn prior() -> Test {
    Test::new()
        .hosts(
            Hosts::file().with(
                Context::new("old.example.com", "old@example.com")
                    .id("a-old")
                    .name("Old")
                    .token_id("t-old"),
            ),
        )
        .tokens(Tokens::new().with("old.example.com", "old@example.com", "dfoa_old"))
}

pub(crate) fn login_args(mock: &MockDify, method: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["auth", "login", "--host", &mock.url(), "--insecure"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(method.iter().map(|s| s.to_string()));
    args
}

pub(crate) fn password_args(mock: &MockDify) -> Vec<String> {
    login_args(mock, &["--password", "--email", EMAIL, "--password-stdin"])
}

/// Signs in to the mock's console the way a browser does; the session's
/// `(access_token, csrf_token)`.
pub(crate) fn browser_session(mock: &MockDify) -> (String, String) {
    let body = format!(r#"{{"email":"{EMAIL}","password":"{PASSWORD_B64}","remember_me":false}}"#);
    let mut s = TcpStream::connect(("127.0.0.1", mock.port())).unwrap();
    write!(
        s,
        "POST /console/api/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        mock.host(),
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let c = mock.console_sessions().pop().unwrap();
    (c.access_token, c.csrf_token)
}
