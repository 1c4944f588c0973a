//! Headless sign-ins that fail: the exit code, the message, and nothing
//! stored; input mistakes before any request.

use std::collections::BTreeMap;

use super::{CODE, EMAIL, PASSWORD, browser_session, login_args, password_args, prior};
use crate::support::mock::{DeviceFlow, MockConfig, MockDify};
use crate::support::runner::Test;

/// Runs `args` with `stdin` in a dir holding another context; asserts the
/// exit code, stdout empty, the exact stderr and the dir unchanged.
#[track_caller]
fn fails(args: Vec<String>, stdin: &str, code: i32, stderr: &str) -> Test {
    let t = prior().args(args).stdin(stdin);
    let before: BTreeMap<String, Vec<u8>> = t.snapshot();
    t.run().code(code).stdout("").stderr(stderr);
    assert_eq!(t.snapshot(), before, "the config dir changed");
    t
}

fn login_url(mock: &MockDify) -> String {
    format!("{}/console/api/login", mock.url())
}

#[test]
fn wrong_password_exits_4() {
    let mock = MockDify::start();
    fails(
        password_args(&mock),
        "not the password\n",
        4,
        &format!(
            "authentication_failed: Invalid email or password.\nrequest: POST {}\nhttp_status: 401\n",
            login_url(&mock)
        ),
    );
    // Nothing else was asked: no device code, no approval.
    assert_eq!(mock.requests().len(), 1);
    assert!(mock.console_sessions().is_empty());
}

#[test]
fn unknown_email_exits_4() {
    let mock = MockDify::start();
    fails(
        login_args(
            &mock,
            &[
                "--password",
                "--email",
                "nobody@dify.ai",
                "--password-stdin",
            ],
        ),
        PASSWORD,
        4,
        &format!(
            "authentication_failed: Invalid email or password.\nrequest: POST {}\nhttp_status: 401\n",
            login_url(&mock)
        ),
    );
}

#[test]
fn a_password_the_server_cannot_decode_exits_4() {
    // Not UTF-8: the server cannot decode the base64 field into text (a real
    // 1.14 server answers so).
    let mock = MockDify::start();
    let t = prior()
        .args(password_args(&mock))
        .stdin(b"\xff\xfe secret\n".to_vec());
    let before = t.snapshot();
    t.run().code(4).stdout("").stderr(&format!(
        "authentication_failed: Invalid encrypted data\nrequest: POST {}\nhttp_status: 401\n",
        login_url(&mock)
    ));
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        mock.requests_to("/console/api/login")[0].json()["password"],
        "//4gc2VjcmV0"
    );
}

fn refusing(status: u16, code: &str, message: &str) -> MockDify {
    MockDify::with(MockConfig {
        console_login_error: Some((status, code.into(), message.into())),
        ..MockConfig::default()
    })
}

#[test]
fn frozen_and_banned_accounts_exit_4() {
    for (code, message) in [
        (
            "account_in_freeze",
            "This email account has been deleted within the past 30 days and is temporarily unavailable for new account registration.",
        ),
        ("account_banned", "Account is banned."),
    ] {
        let mock = refusing(400, code, message);
        fails(
            password_args(&mock),
            PASSWORD,
            4,
            &format!(
                "{code}: {message}\nrequest: POST {}\nhttp_status: 400\n",
                login_url(&mock)
            ),
        );
        let mock = refusing(400, code, message);
        fails(
            login_args(&mock, &["--email-code", "--email", EMAIL]),
            CODE,
            4,
            &format!(
                "{code}: {message}\nrequest: POST {}/console/api/email-code-login\nhttp_status: 400\n",
                mock.url()
            ),
        );
    }
}

#[test]
fn rate_limits_exit_7() {
    let message = "Too many incorrect password attempts. Please try again later.";
    for code in ["email_password_login_limit", "email_code_login_limit"] {
        let mock = refusing(429, code, message);
        fails(
            password_args(&mock),
            PASSWORD,
            7,
            &format!(
                "{code}: {message}\nhint: wait a few minutes before trying again\nrequest: POST {}\nhttp_status: 429\n",
                login_url(&mock)
            ),
        );
    }
    // A plain 429 from a proxy or the server's generic limiter.
    let mock = MockDify::start();
    mock.fail_next("/console/api/login", 1, 429);
    fails(
        password_args(&mock),
        PASSWORD,
        7,
        &format!(
            "too_many_requests: Too Many Requests\nhint: wait a few minutes before trying again\nrequest: POST {}\nhttp_status: 429\n",
            login_url(&mock)
        ),
    );
    // The approval limit (10 an hour): the console session is still signed out.
    let mock = MockDify::with(MockConfig {
        approve_rate_limit: Some(0),
        ..MockConfig::default()
    });
    fails(
        password_args(&mock),
        PASSWORD,
        7,
        &format!(
            "too_many_requests: too many device approvals (the server allows about 10 an hour)\n\
             hint: wait a while before signing in again\nrequest: POST {}/openapi/v1/oauth/device/approve\nhttp_status: 429\n",
            mock.url()
        ),
    );
    assert!(mock.console_sessions()[0].logged_out);
}

#[test]
fn disabled_sign_in_methods_exit_4() {
    let forbidden = "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.";
    let mock = refusing(403, "forbidden", forbidden);
    fails(
        password_args(&mock),
        PASSWORD,
        4,
        &format!(
            "forbidden: email and password sign-in is disabled on this server\n\
             hint: sign in another way: the device flow, --email-code, --password or --console-cookie\n\
             request: POST {}\nhttp_status: 403\n",
            login_url(&mock)
        ),
    );
    let mock = refusing(403, "forbidden", forbidden);
    fails(
        login_args(&mock, &["--email-code", "--email", EMAIL]),
        CODE,
        4,
        &format!(
            "forbidden: email-code sign-in is disabled on this server\n\
             hint: sign in another way: the device flow, --email-code, --password or --console-cookie\n\
             request: POST {}/console/api/email-code-login\nhttp_status: 403\n",
            mock.url()
        ),
    );
}

#[test]
fn missing_endpoints_exit_6() {
    // No console sign-in on this server.
    let mock = MockDify::start();
    mock.fail_next("/console/api/login", 1, 404);
    fails(
        password_args(&mock),
        PASSWORD,
        6,
        &format!(
            "not_found: this Dify host does not offer email and password sign-in (POST /console/api/login)\n\
             hint: use the Dify API URL as --host, or sign in another way (see 'difyctl help auth login')\n\
             request: POST {}\nhttp_status: 404\n",
            login_url(&mock)
        ),
    );
    let mock = MockDify::start();
    mock.fail_next("/console/api/email-code-login", 1, 404);
    fails(
        login_args(&mock, &["--email-code", "--email", EMAIL]),
        CODE,
        6,
        &format!(
            "not_found: this Dify host does not offer email-code sign-in (POST /console/api/email-code-login)\n\
             hint: use the Dify API URL as --host, or sign in another way (see 'difyctl help auth login')\n\
             request: POST {}/console/api/email-code-login\nhttp_status: 404\n",
            mock.url()
        ),
    );
    // No device flow (an HTML 404): found after the console sign-in, which is
    // then signed out again.
    let mock = MockDify::with(MockConfig {
        device_flow: DeviceFlow::HtmlNotFound,
        ..MockConfig::default()
    });
    fails(
        password_args(&mock),
        PASSWORD,
        6,
        &format!(
            "unsupported_endpoint: this Dify host does not implement the OAuth device flow\n\
             hint: the host needs OPENAPI_ENABLED=true; use the Dify API URL as --host\n\
             request: POST {}/openapi/v1/oauth/device/code\nhttp_status: 404\n",
            mock.url()
        ),
    );
    let consoles = mock.console_sessions();
    assert_eq!(consoles.len(), 1);
    assert!(consoles[0].logged_out);
}

#[test]
fn wrong_and_expired_email_codes_exit_4() {
    let mock = MockDify::start();
    fails(
        login_args(&mock, &["--email-code", "--email", EMAIL]),
        "654321\n",
        4,
        &format!(
            "A sign-in code was sent to {EMAIL}\n\
             email_code_error: Email code is invalid or expired.\n\
             hint: check the code in the newest email, or run the sign-in again for a new one\n\
             request: POST {}/console/api/email-code-login/validity\nhttp_status: 400\n",
            mock.url()
        ),
    );
    assert!(mock.console_sessions().is_empty());

    let mock = MockDify::with(MockConfig {
        email_code_tokens_expired: true,
        ..MockConfig::default()
    });
    fails(
        login_args(&mock, &["--email-code", "--email", EMAIL]),
        CODE,
        4,
        &format!(
            "A sign-in code was sent to {EMAIL}\n\
             invalid_or_expired_token: The token is invalid or has expired.\n\
             hint: the code is used up or too old; run the sign-in again for a new one\n\
             request: POST {}/console/api/email-code-login/validity\nhttp_status: 400\n",
            mock.url()
        ),
    );

    // An address the server does not know.
    let mock = MockDify::start();
    fails(
        login_args(&mock, &["--email-code", "--email", "nobody@dify.ai"]),
        CODE,
        4,
        &format!(
            "account_not_found: Account not found.\nrequest: POST {}/console/api/email-code-login\nhttp_status: 400\n",
            mock.url()
        ),
    );
}

#[test]
fn an_expired_or_already_resolved_code_fails_and_signs_the_console_out() {
    let approve_url = |mock: &MockDify| format!("{}/openapi/v1/oauth/device/approve", mock.url());
    let mock = MockDify::with(MockConfig {
        expire_codes: true,
        ..MockConfig::default()
    });
    fails(
        password_args(&mock),
        PASSWORD,
        4,
        &format!(
            "expired_token: the sign-in code expired before it could be approved
\
             hint: run 'difyctl auth login' again
request: POST {}
http_status: 404
",
            approve_url(&mock)
        ),
    );
    assert!(mock.console_sessions()[0].logged_out);

    // Someone (here: the mock itself) resolved the code first.
    let mock = MockDify::with(MockConfig::default().auto_approve());
    fails(
        login_args(&mock, &["--email-code", "--email", EMAIL]),
        CODE,
        1,
        &format!(
            "A sign-in code was sent to {EMAIL}\n\
             server_4xx_other: the sign-in code could not be approved (already_resolved)\n\
             hint: run 'difyctl auth login' again\nrequest: POST {}\nhttp_status: 409\n",
            approve_url(&mock)
        ),
    );
    assert!(mock.console_sessions()[0].logged_out);
}

const FRESH_COOKIES: &str = "hint: copy fresh access_token and csrf_token cookies from a signed-in console tab; \
     the session may have expired or been signed out\n";

#[test]
fn a_bad_or_signed_out_cookie_exits_4() {
    let approve_url = |mock: &MockDify| format!("{}/openapi/v1/oauth/device/approve", mock.url());
    let mock = MockDify::start();
    fails(
        login_args(&mock, &["--console-cookie"]),
        "access_token=forged; csrf_token=forged",
        4,
        &format!(
            "unauthorized: the console session was not accepted for device approval\n{FRESH_COOKIES}\
             request: POST {}\nhttp_status: 401\n",
            approve_url(&mock)
        ),
    );
    assert!(mock.sessions().is_empty());

    // A real session, but the CSRF token does not match (enforced by later servers).
    let mock = MockDify::with(MockConfig {
        enforce_csrf: true,
        ..MockConfig::default()
    });
    let (access, _) = browser_session(&mock);
    fails(
        login_args(&mock, &["--console-cookie"]),
        &format!("access_token={access}; csrf_token=stale"),
        4,
        &format!(
            "unauthorized: the console session was not accepted for device approval\n{FRESH_COOKIES}\
             request: POST {}\nhttp_status: 401\n",
            approve_url(&mock)
        ),
    );
    assert!(mock.sessions().is_empty());
    assert!(!mock.console_sessions()[0].logged_out);
}

#[test]
fn cookie_input_errors_exit_2_before_any_request() {
    let mock = MockDify::start();
    let hint = "hint: pipe the Cookie header value of a signed-in console tab: 'access_token=…; \
                csrf_token=…' (the __Host- names work too)\n";
    for (input, message) in [
        ("", "usage_missing_arg: no cookie on stdin\n"),
        (" \n\t\n", "usage_missing_arg: no cookie on stdin\n"),
        (
            "csrf_token=c; refresh_token=r",
            "usage_invalid_flag: the cookie on stdin has no access_token\n",
        ),
        (
            "__Host-access_token=a",
            "usage_invalid_flag: the cookie on stdin has no csrf_token\n",
        ),
    ] {
        fails(
            login_args(&mock, &["--console-cookie"]),
            input,
            2,
            &format!("{message}{hint}"),
        );
    }
    assert!(mock.requests().is_empty());
}

#[test]
fn invalid_and_revoked_tokens_exit_4() {
    let unauthorized = |mock: &MockDify| {
        format!(
            "unauthorized: the token was not accepted (invalid, expired or revoked)\n\
             hint: check the token, or sign in another way (see 'difyctl help auth login')\n\
             request: GET {}/openapi/v1/account\nhttp_status: 401\n",
            mock.url()
        )
    };
    let mock = MockDify::start();
    let unknown = format!("dfoa_{}", "x".repeat(43));
    fails(
        login_args(&mock, &["--with-token"]),
        &unknown,
        4,
        &unauthorized(&mock),
    );
    let s = mock.add_session("revoked");
    mock.revoke_session(&s.id);
    fails(
        login_args(&mock, &["--with-token"]),
        &s.token,
        4,
        &unauthorized(&mock),
    );
    let s = mock.add_session("expired");
    mock.expire_session(&s.id);
    fails(
        login_args(&mock, &["--with-token"]),
        &s.token,
        4,
        &unauthorized(&mock),
    );
}

#[test]
fn a_baseline_server_answers_500_for_a_bad_token() {
    let mock = MockDify::with(MockConfig::default().baseline());
    fails(
        login_args(&mock, &["--with-token"]),
        &format!("dfoa_{}", "y".repeat(43)),
        1,
        &format!(
            "{host} answered HTTP 500 (attempt 3 of 4); retrying in 1.2 s\n\
             internal_server_error: Internal Server Error\n\
             hint: older Dify servers answer HTTP 500 for an unknown, revoked or expired token: check the token\n\
             request: GET {}/openapi/v1/account\nhttp_status: 500\n",
            mock.url(),
            host = mock.host()
        ),
    );
}

#[test]
fn an_external_sso_token_cannot_be_stored() {
    // An SSO approval mints a dfoe_ token; GET /account refuses those.
    let mock =
        MockDify::with(MockConfig::default().sso("sso@corp.example", "https://idp.corp.example"));
    Test::new()
        .args(password_args(&mock))
        .stdin(PASSWORD)
        .run()
        .code(0)
        .stdout(&format!(
            "✓ Logged in to {} as sso@corp.example (external SSO, issuer: https://idp.corp.example)\n",
            mock.host()
        ));
    let token = mock.sessions()[0].token.clone();
    assert!(token.starts_with("dfoe_"));
    fails(
        login_args(&mock, &["--with-token"]),
        &token,
        4,
        &format!(
            "forbidden: this server does not say whose external SSO (dfoe_) token this is, so it cannot be stored\n\
             hint: sign in with the device flow ('difyctl auth login') to store an external SSO session\n\
             request: GET {}/openapi/v1/account\nhttp_status: 403\n",
            mock.url()
        ),
    );
}

#[test]
fn token_input_errors_exit_2_before_any_request() {
    let mock = MockDify::start();
    let pipe_hint =
        "hint: pipe the token in, e.g. 'difyctl auth login --with-token --host HOST < token.txt'\n";
    let prefix = "usage_invalid_flag: the token on stdin is not a Dify token (expected a dfoa_ or dfoe_ prefix)\n\
                  hint: use a token from a difyctl sign-in ('difyctl auth token' prints one)\n";
    for (input, expected) in [
        (
            String::new(),
            format!("usage_missing_arg: no token on stdin\n{pipe_hint}"),
        ),
        (
            "\n  \n".into(),
            format!("usage_missing_arg: no token on stdin\n{pipe_hint}"),
        ),
        ("app-abcdef\n".into(), prefix.to_string()),
        (
            "Bearer dfoa_abc\n".into(),
            format!(
                "usage_invalid_flag: the token on stdin is not a single token (it contains whitespace)\n{pipe_hint}"
            ),
        ),
        (
            "dfoa_a\ndfoa_b\n".into(),
            format!(
                "usage_invalid_flag: the token on stdin is not a single token (it contains whitespace)\n{pipe_hint}"
            ),
        ),
        (
            "x".repeat(70 * 1024),
            "usage_invalid_flag: stdin holds more than 64 KiB; expected a token\n".into(),
        ),
    ] {
        fails(login_args(&mock, &["--with-token"]), &input, 2, &expected);
    }
    assert!(mock.requests().is_empty());
}

#[test]
fn no_terminal_needs_the_flags_that_replace_prompts() {
    let mock = MockDify::start();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--password"],
            "usage_missing_arg: --email is required (no TTY)\n\
             hint: pass --email and pipe the password on stdin with --password-stdin\n",
        ),
        (
            &["--password", "--password-stdin"],
            "usage_missing_arg: --email is required (no TTY)\n\
             hint: pass --email and pipe the password on stdin with --password-stdin\n",
        ),
        (
            &["--password", "--email", EMAIL],
            "usage_missing_arg: --password-stdin is required (no TTY)\n\
             hint: pipe the password on stdin with --password-stdin; it is never taken from a flag or the environment\n",
        ),
        (
            &["--email-code"],
            "usage_missing_arg: --email is required (no TTY)\n\
             hint: pass --email; the code from the email is then read from stdin\n",
        ),
        (
            &["--email-code", "--email", "  "],
            "usage_missing_arg: --email is required (no TTY)\n\
             hint: pass --email; the code from the email is then read from stdin\n",
        ),
    ];
    for (flags, expected) in cases {
        fails(login_args(&mock, flags), PASSWORD, 2, expected);
    }
    // Without --host, the host is missing too; the method's own flags come first.
    fails(
        vec!["auth".into(), "login".into(), "--password".into()],
        "",
        2,
        "usage_missing_arg: --email is required (no TTY)\n\
         hint: pass --email and pipe the password on stdin with --password-stdin\n",
    );
    fails(
        vec!["auth".into(), "login".into(), "--with-token".into()],
        "dfoa_x",
        2,
        "usage_missing_arg: --host is required (no TTY)\n\
         hint: pass the host explicitly, e.g. 'difyctl auth login --host cloud.dify.ai'\n",
    );
    assert!(mock.requests().is_empty());
}

#[test]
fn flags_that_do_not_go_together_exit_2() {
    let mock = MockDify::start();
    for (flags, expected) in [
        (
            &["--password-stdin"][..],
            "usage_invalid_flag: --password-stdin only applies to --password\n",
        ),
        (
            &["--email-code", "--email", EMAIL, "--password-stdin"][..],
            "usage_invalid_flag: --password-stdin only applies to --password\n",
        ),
        (
            &["--with-token", "--email", EMAIL][..],
            "usage_invalid_flag: --email only applies to --password and --email-code\n",
        ),
        (
            &["--console-cookie", "--email", EMAIL][..],
            "usage_invalid_flag: --email only applies to --password and --email-code\n",
        ),
        (
            &["--password", "--console-cookie"][..],
            "usage_invalid_flag: --password and --console-cookie cannot be combined\n",
        ),
    ] {
        fails(login_args(&mock, flags), "", 2, expected);
    }
    assert!(mock.requests().is_empty());
}

#[test]
fn empty_secrets_on_stdin_exit_2() {
    let mock = MockDify::start();
    fails(
        password_args(&mock),
        "\n",
        2,
        "usage_missing_arg: no password on stdin\n",
    );
    assert!(mock.requests().is_empty());
    // The code is read after the email went out.
    fails(
        login_args(&mock, &["--email-code", "--email", EMAIL]),
        "",
        2,
        &format!(
            "A sign-in code was sent to {EMAIL}\nusage_missing_arg: no code on stdin\n\
             hint: the code is in the email just sent; run the sign-in again for a new one\n"
        ),
    );
    assert!(mock.console_sessions().is_empty());
}
