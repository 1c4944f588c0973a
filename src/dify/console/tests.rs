//! Console sign-in against canned answers.

use super::*;
use crate::dify::stub::{Canned, serve, test_options};
use crate::error::ErrorCode;

#[test]
fn base64_matches_rfc_4648() {
    for (plain, encoded) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
        ("Passw0rd!", "UGFzc3cwcmQh"),
    ] {
        assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
    }
    assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    assert_eq!(base64("pä".as_bytes()), "cMOk");
}

#[test]
fn set_cookie_headers_with_and_without_the_host_prefix() {
    let plain = CookieJar::from_set_cookie([
        "access_token=jwt.a.b; Path=/; HttpOnly; SameSite=Lax",
        "refresh_token=r1; Path=/; HttpOnly",
        "csrf_token=c1; Path=/; SameSite=Lax",
        "locale=en; Path=/",
    ]);
    assert_eq!(
        plain.names(),
        ["access_token", "refresh_token", "csrf_token"]
    );
    assert_eq!(plain.get("access_token").unwrap().expose(), "jwt.a.b");
    assert_eq!(plain.get("csrf_token").unwrap().expose(), "c1");

    let host = CookieJar::from_set_cookie([
        "__Host-access_token=a2; Path=/; Secure",
        "__Host-csrf_token=c2; Path=/; Secure",
    ]);
    assert_eq!(host.names(), ["__Host-access_token", "__Host-csrf_token"]);
    assert_eq!(host.get("csrf_token").unwrap().expose(), "c2");
    assert_eq!(
        host.header_value(),
        "__Host-access_token=a2; __Host-csrf_token=c2"
    );
    // A cleared cookie (empty value) is no session.
    assert_eq!(
        CookieJar::from_set_cookie(["access_token=; Max-Age=0"]).get("access_token"),
        None
    );
}

#[test]
fn cookie_header_as_pasted() {
    let jar = CookieJar::from_header(
        "  Cookie: _ga=x; __Host-access_token=a=b=; theme=dark;__Host-csrf_token=c \n",
    );
    assert_eq!(jar.names(), ["__Host-access_token", "__Host-csrf_token"]);
    assert_eq!(jar.get("access_token").unwrap().expose(), "a=b=");
    let jar = CookieJar::from_header("csrf_token=c; access_token=a; access_token=newer");
    assert_eq!(jar.header_value(), "csrf_token=c; access_token=newer");
    assert_eq!(
        CookieJar::from_header("nonsense").names(),
        Vec::<&str>::new()
    );
    assert!(!format!("{jar:?}").contains("newer"));
}

fn resp(status: u16, body: &str) -> Response {
    Response {
        method: "POST".into(),
        url: "http://h/console/api/login".into(),
        status,
        headers: Vec::new(),
        body: body.as_bytes().to_vec(),
        bearer: None,
    }
}

#[test]
fn console_errors_map_to_exit_codes() {
    let body = |code: &str, msg: &str, status: u16| {
        format!(r#"{{"code":"{code}","message":"{msg}","status":{status}}}"#)
    };
    for (status, server, step, code, message, exit) in [
        (
            401,
            "authentication_failed",
            Step::Password,
            ErrorCode::AccessDenied,
            "Invalid email or password.",
            4,
        ),
        (
            401,
            "authentication_failed",
            Step::Password,
            ErrorCode::AccessDenied,
            "Invalid encrypted data",
            4,
        ),
        (
            400,
            "account_in_freeze",
            Step::Password,
            ErrorCode::AccessDenied,
            "frozen",
            4,
        ),
        (
            400,
            "account_banned",
            Step::Password,
            ErrorCode::AccessDenied,
            "Account is banned.",
            4,
        ),
        (
            400,
            "account_not_found",
            Step::SendCode,
            ErrorCode::AccessDenied,
            "Account not found.",
            4,
        ),
        (
            400,
            "email_code_error",
            Step::CheckCode,
            ErrorCode::AccessDenied,
            "Email code is invalid or expired.",
            4,
        ),
        (
            400,
            "invalid_or_expired_token",
            Step::CheckCode,
            ErrorCode::AccessDenied,
            "The token is invalid or has expired.",
            4,
        ),
        (
            429,
            "email_password_login_limit",
            Step::Password,
            ErrorCode::RateLimited,
            "Too many attempts.",
            7,
        ),
        (
            429,
            "email_code_login_limit",
            Step::Password,
            ErrorCode::RateLimited,
            "Too many attempts.",
            7,
        ),
        (
            400,
            "email_password_login_limit",
            Step::Password,
            ErrorCode::RateLimited,
            "Too many attempts.",
            7,
        ),
        (
            429,
            "too_many_requests",
            Step::SendCode,
            ErrorCode::RateLimited,
            "Too Many Requests",
            7,
        ),
        (
            403,
            "forbidden",
            Step::Password,
            ErrorCode::AccessDenied,
            "email and password sign-in is disabled on this server",
            4,
        ),
        (
            403,
            "forbidden",
            Step::SendCode,
            ErrorCode::AccessDenied,
            "email-code sign-in is disabled on this server",
            4,
        ),
        (
            404,
            "not_found",
            Step::Password,
            ErrorCode::UnsupportedEndpoint,
            "this Dify host does not offer email and password sign-in (POST /console/api/login)",
            6,
        ),
        (
            500,
            "internal_server_error",
            Step::Password,
            ErrorCode::Server5xx,
            "Internal Server Error",
            1,
        ),
        (
            400,
            "bad_request",
            Step::Password,
            ErrorCode::Server4xxOther,
            "bad email",
            1,
        ),
        (
            401,
            "unauthorized",
            Step::Logout,
            ErrorCode::AccessDenied,
            "Invalid Authorization token.",
            4,
        ),
    ] {
        let e = console_error(&resp(status, &body(server, message, status)), step);
        assert_eq!(
            (e.code, e.message.as_str(), e.exit_code()),
            (code, message, exit),
            "{status} {server}"
        );
        assert_eq!(e.http.unwrap().server.unwrap().code, server);
    }
    // A 404 HTML page (no such endpoint on this server) and a bare 429.
    let e = console_error(&resp(404, "<html>Not Found</html>"), Step::SendCode);
    assert_eq!((e.code, e.exit_code()), (ErrorCode::UnsupportedEndpoint, 6));
    assert_eq!(
        e.message,
        "this Dify host does not offer email-code sign-in (POST /console/api/email-code-login)"
    );
    let e = console_error(&resp(429, ""), Step::Password);
    assert_eq!(
        (e.code, e.message.as_str(), e.exit_code()),
        (ErrorCode::RateLimited, "too many sign-in attempts", 7)
    );
    let e = console_error(&resp(401, ""), Step::Password);
    assert_eq!(
        (e.code, e.message.as_str()),
        (ErrorCode::AccessDenied, "sign-in refused")
    );
}

#[test]
fn approve_errors() {
    let cases = [
        (
            404,
            r#"{"error":"expired_or_unknown"}"#,
            ErrorCode::ExpiredToken,
            4,
        ),
        (404, "<html>nope</html>", ErrorCode::UnsupportedEndpoint, 6),
        (
            401,
            r#"{"code": "unauthorized", "message": "Unauthorized."}"#,
            ErrorCode::AccessDenied,
            4,
        ),
        (
            409,
            r#"{"error":"already_resolved"}"#,
            ErrorCode::Server4xxOther,
            1,
        ),
        (
            429,
            r#"{"code":"too_many_requests","message":"rate_limited","status":429}"#,
            ErrorCode::RateLimited,
            7,
        ),
        (
            503,
            r#"{"code":"unknown","message":"Internal Server Error","status":503}"#,
            ErrorCode::Server5xx,
            1,
        ),
    ];
    for (status, body, code, exit) in cases {
        let e = approve_error(&resp(status, body));
        assert_eq!((e.code, e.exit_code()), (code, exit), "{status} {body}");
    }
    assert_eq!(
        approve_error(&resp(409, r#"{"error":"already_resolved"}"#)).message,
        "the sign-in code could not be approved (already_resolved)"
    );
}

#[test]
fn password_login_on_the_wire() {
    let stub = serve(vec![
        Canned::json(200, r#"{"result":"success"}"#)
            .header(
                "Set-Cookie",
                "__Host-access_token=jwt; Path=/; HttpOnly; Secure",
            )
            .header(
                "Set-Cookie",
                "__Host-refresh_token=r; Path=/; HttpOnly; Secure",
            )
            .header("Set-Cookie", "__Host-csrf_token=csrf; Path=/; Secure"),
        Canned::json(200, r#"{"status":"approved"}"#),
        Canned::json(200, r#"{"result":"success"}"#),
    ]);
    let (opts, _) = test_options();
    let client = stub.client(opts);
    let jar = password_login(&client, "a@x.test", &Secret::new(base64(b"pw"))).unwrap();
    approve(&client, &jar, "ABCD-3456").unwrap();
    logout(&client, &jar).unwrap();

    let reqs = stub.requests();
    assert_eq!(reqs[0].path, "/console/api/login");
    let sent: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(
        sent,
        json!({"email": "a@x.test", "password": "cHc=", "remember_me": false})
    );
    assert_eq!(reqs[0].header("cookie"), None);
    for req in &reqs[1..] {
        assert_eq!(
            req.header("cookie"),
            Some("__Host-access_token=jwt; __Host-refresh_token=r; __Host-csrf_token=csrf")
        );
        assert_eq!(req.header("x-csrf-token"), Some("csrf"));
    }
    assert_eq!(reqs[1].path, "/openapi/v1/oauth/device/approve");
    assert_eq!(
        serde_json::from_slice::<Value>(&reqs[1].body).unwrap(),
        json!({"user_code": "ABCD-3456"})
    );
    assert_eq!(reqs[2].path, "/console/api/logout");
}

#[test]
fn sign_in_without_a_cookie_is_an_error() {
    let stub = serve(vec![
        Canned::json(
            200,
            r#"{"result":"fail","data":"workspace not found, please contact system admin to invite you to join in a workspace"}"#,
        ),
        Canned::json(200, r#"{"result":"success"}"#),
    ]);
    let (opts, _) = test_options();
    let client = stub.client(opts);
    let e = password_login(&client, "a@x.test", &Secret::new("cHc=")).unwrap_err();
    assert_eq!((e.code, e.exit_code()), (ErrorCode::AccessDenied, 4));
    assert!(
        e.message.starts_with("workspace not found"),
        "{}",
        e.message
    );
    let e = password_login(&client, "a@x.test", &Secret::new("cHc=")).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            ErrorCode::Unknown,
            "the console sign-in answered without a session cookie"
        )
    );
}

#[test]
fn email_code_on_the_wire() {
    let stub = serve(vec![
        Canned::json(200, r#"{"result":"success","data":"tok-1"}"#),
        Canned::json(200, r#"{"result":"success"}"#)
            .header("Set-Cookie", "access_token=jwt; Path=/")
            .header("Set-Cookie", "csrf_token=c; Path=/"),
        Canned::json(200, r#"{"result":"success"}"#),
    ]);
    let (opts, _) = test_options();
    let client = stub.client(opts);
    let token = send_email_code(&client, "a@x.test").unwrap();
    assert_eq!(token.expose(), "tok-1");
    let jar = check_email_code(&client, "a@x.test", &Secret::new("123456"), &token).unwrap();
    assert_eq!(jar.names(), ["access_token", "csrf_token"]);
    let e = send_email_code(&client, "a@x.test").unwrap_err();
    assert_eq!(e.code, ErrorCode::Unknown);
    let reqs = stub.requests();
    assert_eq!(
        serde_json::from_slice::<Value>(&reqs[0].body).unwrap(),
        json!({"email": "a@x.test", "language": "en-US"})
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&reqs[1].body).unwrap(),
        json!({"email": "a@x.test", "code": "MTIzNDU2", "token": "tok-1"})
    );
}
