//! The console sign-in endpoints: password and email-code sign-in with cookies
//! and CSRF, refusals, expired code tokens, the approve rate limit.

use crate::common::{api, get, poll, quick, request_code};
use crate::support::mock::*;
use crate::support::raw_http::{Resp, send};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// Console sign-in and cookie approval
// ---------------------------------------------------------------------------------------

fn b64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn console_post(mock: &MockDify, path: &str, body: &Value, cookie: Option<&str>) -> Resp {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(c) = cookie {
        headers.push(("Cookie", c));
    }
    send(mock, "POST", path, &headers, &body.to_string())
}

fn cookies(r: &Resp) -> String {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn password_sign_in_approves_with_cookies() {
    let mock = MockDify::with(quick());
    let r = console_post(
        &mock,
        "/console/api/login",
        &json!({"email": "tester@dify.ai", "password": b64("wrong"), "remember_me": false}),
        None,
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["code"], "authentication_failed");
    let r = console_post(
        &mock,
        "/console/api/login",
        &json!({"email": "tester@dify.ai", "password": "Passw0rd!", "remember_me": false}),
        None,
    );
    assert_eq!(r.status, 401, "not base64: {}", r.body);

    let r = console_post(
        &mock,
        "/console/api/login",
        &json!({"email": "Tester@Dify.ai", "password": b64("Passw0rd!"), "remember_me": false}),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!({"result": "success"}));
    let cookie = cookies(&r);
    assert!(cookie.contains("access_token=") && cookie.contains("csrf_token="));

    let code = request_code(&mock, "difyctl on box");
    let uc = code["user_code"].as_str().unwrap();
    let lookup = get(
        &mock,
        &format!("/oauth/device/lookup?user_code={}", uc.to_lowercase()),
        None,
    );
    assert_eq!(
        lookup.json(),
        json!({"valid": true, "expires_in_remaining": 900, "client_id": "difyctl"})
    );
    // No cookie → the non-ErrorBody 401.
    let r = console_post(
        &mock,
        &api("/oauth/device/approve"),
        &json!({"user_code": uc}),
        None,
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"code": "unauthorized", "message": "Unauthorized."})
    );
    let r = console_post(
        &mock,
        &api("/oauth/device/approve"),
        &json!({"user_code": "ZZZZ-ZZZZ"}),
        Some(&cookie),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"error": "expired_or_unknown"}));
    let r = console_post(
        &mock,
        &api("/oauth/device/approve"),
        &json!({"user_code": uc}),
        Some(&cookie),
    );
    assert_eq!(r.json(), json!({"status": "approved"}));
    let r = console_post(
        &mock,
        &api("/oauth/device/deny"),
        &json!({"user_code": uc}),
        Some(&cookie),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.json(), json!({"error": "already_resolved"}));

    let r = poll(&mock, code["device_code"].as_str().unwrap());
    assert_eq!(r.status, 200);

    assert!(!mock.console_sessions()[0].logged_out);
    let r = console_post(&mock, "/console/api/logout", &json!({}), Some(&cookie));
    assert_eq!(r.status, 200);
    assert!(mock.console_sessions()[0].logged_out);
    let r = console_post(&mock, "/console/api/logout", &json!({}), None);
    assert_eq!(r.status, 401);
}

#[test]
fn email_code_sign_in_with_host_prefixed_cookies_and_csrf() {
    let mock = MockDify::with(MockConfig {
        host_cookie_prefix: true,
        enforce_csrf: true,
        ..quick()
    });
    let r = console_post(
        &mock,
        "/console/api/email-code-login",
        &json!({"email": "nobody@dify.ai", "language": "en-US"}),
        None,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], "account_not_found");
    let r = console_post(
        &mock,
        "/console/api/email-code-login",
        &json!({"email": "tester@dify.ai", "language": "en-US"}),
        None,
    );
    let token = r.json()["data"].as_str().unwrap().to_string();
    let validity = |code: &str, token: &str| {
        console_post(
            &mock,
            "/console/api/email-code-login/validity",
            &json!({"email": "tester@dify.ai", "code": b64(code), "token": token}),
            None,
        )
    };
    assert_eq!(
        validity("000000", &token).json()["code"],
        "email_code_error"
    );
    assert_eq!(
        validity("123456", "bogus").json()["code"],
        "invalid_or_expired_token"
    );
    let r = validity("123456", &token);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        validity("123456", &token).json()["code"],
        "invalid_or_expired_token",
        "a token works once"
    );
    let cookie = cookies(&r);
    assert!(cookie.contains("__Host-access_token="), "{cookie}");
    let csrf = cookie
        .split("; ")
        .find_map(|c| c.strip_prefix("__Host-csrf_token="))
        .unwrap()
        .to_string();

    let uc = request_code(&mock, "x")["user_code"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"user_code": uc}).to_string();
    let r = send(
        &mock,
        "POST",
        &api("/oauth/device/approve"),
        &[("Cookie", &cookie)],
        &body,
    );
    assert_eq!(r.status, 401, "CSRF enforced");
    let r = send(
        &mock,
        "POST",
        &api("/oauth/device/deny"),
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        &body,
    );
    assert_eq!(r.json(), json!({"status": "denied"}));
    assert_eq!(mock.console_sessions()[0].email, "tester@dify.ai");
}

#[test]
fn console_sign_in_refusals_and_expired_code_tokens() {
    let mock = MockDify::with(MockConfig {
        console_login_error: Some((400, "account_in_freeze".into(), "Frozen.".into())),
        ..quick()
    });
    for (path, body) in [
        (
            "/console/api/login",
            json!({"email": "tester@dify.ai", "password": b64("Passw0rd!"), "remember_me": false}),
        ),
        (
            "/console/api/email-code-login",
            json!({"email": "tester@dify.ai", "language": "en-US"}),
        ),
    ] {
        let r = console_post(&mock, path, &body, None);
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(
            r.json(),
            json!({"code": "account_in_freeze", "message": "Frozen.", "status": 400})
        );
        assert!(cookies(&r).is_empty());
    }
    assert!(mock.console_sessions().is_empty());

    mock.configure(|c| {
        c.console_login_error = None;
        c.email_code_tokens_expired = true;
    });
    let r = console_post(
        &mock,
        "/console/api/email-code-login",
        &json!({"email": "tester@dify.ai", "language": "en-US"}),
        None,
    );
    let token = r.json()["data"].as_str().unwrap().to_string();
    let r = console_post(
        &mock,
        "/console/api/email-code-login/validity",
        &json!({"email": "tester@dify.ai", "code": b64("123456"), "token": token}),
        None,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], "invalid_or_expired_token");
    assert!(mock.console_sessions().is_empty());
}

#[test]
fn approve_rate_limit_is_global() {
    let mock = MockDify::with(MockConfig {
        approve_rate_limit: Some(1),
        ..quick()
    });
    let r = console_post(&mock, &api("/oauth/device/approve"), &json!({}), None);
    assert_eq!(r.status, 401); // failures count too
    let r = console_post(&mock, &api("/oauth/device/deny"), &json!({}), None);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), None);
}
