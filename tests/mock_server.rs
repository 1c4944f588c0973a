//! The mock Dify server itself, exercised over raw HTTP/1.1: proof that it follows
//! PROTOCOL.md §6 and §14 before the CLI's tests rely on it.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};
use support::mock::*;
use support::raw_http::{Resp, parse_response, send};

fn api(path: &str) -> String {
    format!("{API}{path}")
}

fn get(mock: &MockDify, path: &str, token: Option<&str>) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    send(mock, "GET", &api(path), &headers, "")
}

fn delete(mock: &MockDify, path: &str, token: &str) -> Resp {
    let auth = format!("Bearer {token}");
    send(mock, "DELETE", &api(path), &[("Authorization", &auth)], "")
}

fn post(mock: &MockDify, path: &str, body: &Value) -> Resp {
    send(
        mock,
        "POST",
        &api(path),
        &[("Content-Type", "application/json")],
        &body.to_string(),
    )
}

fn request_code(mock: &MockDify, label: &str) -> Value {
    let r = post(
        mock,
        "/oauth/device/code",
        &json!({"client_id": "difyctl", "device_label": label}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn poll(mock: &MockDify, device_code: &str) -> Resp {
    post(
        mock,
        "/oauth/device/token",
        &json!({"client_id": "difyctl", "device_code": device_code}),
    )
}

fn poll_error(mock: &MockDify, device_code: &str) -> String {
    let r = poll(mock, device_code);
    assert_eq!(r.status, 400, "{}", r.body);
    r.json()["error"].as_str().unwrap().to_string()
}

/// Defaults without the timing-based `slow_down`, for tests that poll back to back.
fn quick() -> MockConfig {
    MockConfig {
        timing_slow_down: false,
        ..MockConfig::default()
    }
}

/// A full sign-in: code, approval, one poll. Returns the token payload.
fn login(mock: &MockDify, label: &str) -> Value {
    let code = request_code(mock, label);
    mock.approve(code["user_code"].as_str().unwrap());
    let r = poll(mock, code["device_code"].as_str().unwrap());
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn token_of(payload: &Value) -> String {
    payload["token"].as_str().unwrap().to_string()
}

fn assert_error_body(r: &Resp, status: u16, code: &str, message: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{}",
        r.body
    );
    assert_eq!(
        r.json(),
        json!({"code": code, "message": message, "status": status})
    );
}

fn url_safe(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

// ---------------------------------------------------------------------------------------
// Device code
// ---------------------------------------------------------------------------------------

#[test]
fn device_code_has_the_documented_shape() {
    let mock = MockDify::start();
    let r = post(
        &mock,
        "/oauth/device/code",
        &json!({"client_id": "difyctl", "device_label": "difyctl on box"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    // The real server escapes '/' in JSON strings.
    assert!(r.body.contains(r#"http:\/\/127.0.0.1"#), "{}", r.body);
    let v = r.json();
    let dc = v["device_code"].as_str().unwrap();
    assert!(
        dc.starts_with("dc_") && dc.len() == 35 && url_safe(&dc[3..]),
        "{dc}"
    );
    let uc = v["user_code"].as_str().unwrap();
    assert_eq!(uc.len(), 9);
    assert_eq!(&uc[4..5], "-");
    assert!(
        uc.chars()
            .filter(|&c| c != '-')
            .all(|c| "ABCDEFGHJKLMNPQRSTUVWXY3456789".contains(c)),
        "{uc}"
    );
    assert_eq!(
        v["verification_uri"],
        json!(format!("{}/device", mock.url()))
    );
    assert_eq!(v["expires_in"], json!(900));
    assert_eq!(v["interval"], json!(1));
    assert!(v.get("verification_uri_complete").is_none());
    assert_eq!(mock.wait_for_code(), uc);
    assert_eq!(mock.device_labels(), vec!["difyctl on box".to_string()]);
}

#[test]
fn device_code_validates_its_body() {
    let mock = MockDify::start();
    let r = post(
        &mock,
        "/oauth/device/code",
        &json!({"client_id": "difyctl"}),
    );
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["code"], "bad_request");
    assert_eq!(v["status"], 400);
    assert!(
        v["message"].as_str().unwrap().contains("device_label"),
        "{v}"
    );

    let r = post(
        &mock,
        "/oauth/device/code",
        &json!({"client_id": "other", "device_label": "x"}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), json!({"error": "unsupported_client"}));
    assert!(mock.codes().is_empty());
}

#[test]
fn device_code_rate_limit_has_no_retry_after() {
    let mock = MockDify::with(MockConfig {
        device_code_rate_limited: true,
        ..MockConfig::default()
    });
    let r = post(
        &mock,
        "/oauth/device/code",
        &json!({"client_id": "difyctl", "device_label": "x"}),
    );
    assert_error_body(&r, 429, "too_many_requests", "rate_limited");
    assert_eq!(r.header("retry-after"), None);
}

#[test]
fn configured_verification_uri_user_code_and_interval() {
    let mock = MockDify::with(MockConfig {
        verification_uri: Some("https://cloud.example/device".into()),
        user_code: Some("\u{1b}[31mEVIL-CODE".into()),
        interval: 5,
        expires_in: 60,
        ..MockConfig::default()
    });
    let v = request_code(&mock, "x");
    assert_eq!(v["verification_uri"], "https://cloud.example/device");
    assert_eq!(v["user_code"], "\u{1b}[31mEVIL-CODE");
    assert_eq!(v["interval"], 5);
    assert_eq!(v["expires_in"], 60);
    mock.approve("\u{1b}[31mEVIL-CODE");
}

// ---------------------------------------------------------------------------------------
// Token polling
// ---------------------------------------------------------------------------------------

#[test]
fn pending_then_approved_then_consumed() {
    let mock = MockDify::with(quick());
    let code = request_code(&mock, "difyctl on box");
    let dc = code["device_code"].as_str().unwrap();
    assert_eq!(poll_error(&mock, dc), "authorization_pending");
    let session = mock.approve(code["user_code"].as_str().unwrap());

    let r = poll(&mock, dc);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let token = v["token"].as_str().unwrap();
    assert!(token.starts_with("dfoa_") && token.len() == 48 && url_safe(&token[5..]));
    assert_eq!(token, session.token);
    assert_eq!(v["token_id"], json!(session.id));
    assert_eq!(v["subject_type"], "account");
    assert_eq!(
        v["account"],
        json!({"id": DEFAULT_ACCOUNT_ID, "email": "tester@dify.ai", "name": "Tester"})
    );
    assert_eq!(
        v["workspaces"],
        json!([{"id": DEFAULT_WORKSPACE_ID, "name": "Acme Team", "role": "owner"}])
    );
    assert_eq!(v["default_workspace_id"], DEFAULT_WORKSPACE_ID);
    let expires = v["expires_at"].as_str().unwrap();
    assert!(
        expires.ends_with("+00:00") && expires.len() == 25,
        "{expires}"
    );
    assert_eq!(v.as_object().unwrap().len(), 7, "{v}");

    // Handed out once.
    assert_eq!(poll_error(&mock, dc), "expired_token");
    let answers: Vec<String> = mock.polls().into_iter().map(|p| p.answer).collect();
    assert_eq!(answers, ["authorization_pending", "token", "expired_token"]);
    assert_eq!(mock.sessions(), vec![session]);
}

#[test]
fn unknown_code_is_expired_token() {
    let mock = MockDify::start();
    assert_eq!(poll_error(&mock, "dc_nope"), "expired_token");
}

#[test]
fn polling_faster_than_the_interval_is_slow_down() {
    // A large interval makes "too soon" certain without measuring time.
    let mock = MockDify::with(MockConfig::default().interval(60));
    let dc = request_code(&mock, "x")["device_code"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(poll_error(&mock, &dc), "authorization_pending"); // never on the first poll
    assert_eq!(poll_error(&mock, &dc), "slow_down");
    assert_eq!(poll_error(&mock, &dc), "slow_down"); // a slow_down poll resets the clock
    mock.wait_for_polls(3);
}

#[test]
fn slow_down_once_on_the_second_poll() {
    let mock = MockDify::with(MockConfig {
        slow_down_once: true,
        ..quick()
    });
    let dc = request_code(&mock, "x")["device_code"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(poll_error(&mock, &dc), "authorization_pending");
    assert_eq!(poll_error(&mock, &dc), "slow_down");
    assert_eq!(poll_error(&mock, &dc), "authorization_pending");
    assert_eq!(poll_error(&mock, &dc), "authorization_pending");
}

#[test]
fn deny_switch_denies_after_the_first_pending_poll() {
    let mock = MockDify::with(MockConfig {
        deny: true,
        ..quick()
    });
    let dc = request_code(&mock, "x")["device_code"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(poll_error(&mock, &dc), "authorization_pending");
    assert_eq!(poll_error(&mock, &dc), "access_denied");
    assert_eq!(poll_error(&mock, &dc), "expired_token");
    assert!(mock.sessions().is_empty());
}

#[test]
fn test_can_deny_a_code() {
    let mock = MockDify::with(quick());
    let dc = request_code(&mock, "x")["device_code"]
        .as_str()
        .unwrap()
        .to_string();
    mock.deny(&mock.wait_for_code());
    assert_eq!(poll_error(&mock, &dc), "access_denied");
    assert_eq!(poll_error(&mock, &dc), "expired_token");
}

#[test]
fn expired_switch_answers_expired_token() {
    let mock = MockDify::with(MockConfig {
        expire_codes: true,
        ..quick()
    });
    let dc = request_code(&mock, "x")["device_code"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(poll_error(&mock, &dc), "expired_token");
    assert!(mock.try_approve(&mock.wait_for_code()).is_err());
}

#[test]
fn auto_approve_mints_at_issue() {
    let mock = MockDify::with(MockConfig::default().auto_approve());
    let code = request_code(&mock, "difyctl on box");
    // Already a live session before any poll (§14).
    assert_eq!(mock.sessions().len(), 1);
    let r = poll(&mock, code["device_code"].as_str().unwrap());
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["token_id"], json!(mock.sessions()[0].id));
    mock.wait_for_polls(1);
}

#[test]
fn waiting_for_a_poll_from_another_thread() {
    let mock = MockDify::with(quick());
    let dc = request_code(&mock, "x")["device_code"]
        .as_str()
        .unwrap()
        .to_string();
    std::thread::scope(|s| {
        let poller = s.spawn(|| {
            let mut answers = Vec::new();
            loop {
                let r = poll(&mock, &dc);
                answers.push(r.status);
                if r.status == 200 {
                    return answers;
                }
            }
        });
        mock.wait_for_polls(1);
        mock.approve(&mock.wait_for_code());
        let answers = poller.join().unwrap();
        assert_eq!(answers.last(), Some(&200));
    });
}

#[test]
fn label_rotation_revokes_the_older_session() {
    let mock = MockDify::with(quick());
    let old = login(&mock, "difyctl on box");
    let other = mock.add_session("laptop");
    let new = login(&mock, "difyctl on box");
    assert_ne!(old["token_id"], new["token_id"]);
    assert_eq!(mock.revoked_ids(), vec![old["token_id"].as_str().unwrap()]);
    let live: Vec<String> = mock.sessions().into_iter().map(|s| s.id).collect();
    assert_eq!(
        live,
        vec![other.id, new["token_id"].as_str().unwrap().into()]
    );
    let r = get(&mock, "/account", Some(&token_of(&old)));
    assert_error_body(&r, 401, "unauthorized", "invalid bearer");
}

#[test]
fn overlong_labels_fail_approval() {
    let mock = MockDify::with(quick());
    let label = "x".repeat(256);
    let code = request_code(&mock, &label);
    assert!(
        mock.try_approve(code["user_code"].as_str().unwrap())
            .is_err()
    );
    let code = request_code(&mock, &"y".repeat(255));
    mock.approve(code["user_code"].as_str().unwrap());
}

#[test]
fn sso_payload() {
    let mock = MockDify::with(quick().sso("ext@corp.example", "https://idp.corp.example"));
    let v = login(&mock, "x");
    let token = token_of(&v);
    assert!(token.starts_with("dfoe_") && token.len() == 48);
    assert_eq!(v["subject_type"], "external_sso");
    assert_eq!(v["subject_email"], "ext@corp.example");
    assert_eq!(v["subject_issuer"], "https://idp.corp.example");
    assert_eq!(v["account"], Value::Null);
    assert_eq!(v["workspaces"], json!([]));
    assert_eq!(v["default_workspace_id"], Value::Null);
    // dfoe_ tokens are refused on the account routes.
    let r = get(&mock, "/account", Some(&token));
    assert_error_body(&r, 403, "forbidden", "unsupported_token_type");
}

#[test]
fn no_email_account() {
    let mock = MockDify::with(quick().no_email());
    let v = login(&mock, "x");
    assert_eq!(v["account"]["email"], "");
    let r = get(&mock, "/account", Some(&token_of(&v)));
    assert_eq!(r.json()["subject_email"], "");
}

// ---------------------------------------------------------------------------------------
// Bearer endpoints
// ---------------------------------------------------------------------------------------

#[test]
fn missing_bearer_is_401_with_www_authenticate() {
    let mock = MockDify::start();
    for path in ["/account", "/account/sessions", "/workspaces"] {
        let r = get(&mock, path, None);
        assert_error_body(&r, 401, "unauthorized", "bearer required");
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    }
    let r = send(
        &mock,
        "GET",
        &api("/account"),
        &[("Authorization", "Basic abc")],
        "",
    );
    assert_error_body(&r, 401, "unauthorized", "bearer required");
}

#[test]
fn invalid_bearer_401_or_500_in_baseline_mode() {
    let mock = MockDify::start();
    let r = get(&mock, "/account", Some("dfoa_garbage"));
    assert_error_body(&r, 401, "unauthorized", "invalid bearer");
    assert!(r.header("www-authenticate").is_some());

    mock.configure(|c| c.baseline_invalid_bearer_500 = true);
    for path in ["/account", "/account/sessions"] {
        let r = get(&mock, path, Some("garbage"));
        assert_error_body(&r, 500, "internal_server_error", "Internal Server Error");
        assert_eq!(r.header("www-authenticate"), None);
    }
    let r = delete(&mock, "/account/sessions/self", "dfoa_unknown");
    assert_eq!(r.status, 500);
}

#[test]
fn invalid_bearer_switch_rejects_good_tokens() {
    let mock = MockDify::with(quick());
    let token = token_of(&login(&mock, "x"));
    assert_eq!(get(&mock, "/account", Some(&token)).status, 200);
    mock.configure(|c| c.invalid_bearer = true);
    assert_eq!(get(&mock, "/account", Some(&token)).status, 401);
    mock.configure(|c| c.baseline_invalid_bearer_500 = true);
    assert_eq!(get(&mock, "/account", Some(&token)).status, 500);
}

#[test]
fn expired_tokens_are_invalid() {
    let mock = MockDify::with(quick());
    let v = login(&mock, "x");
    mock.expire_session(v["token_id"].as_str().unwrap());
    assert_eq!(get(&mock, "/account", Some(&token_of(&v))).status, 401);
    assert!(mock.sessions().is_empty());
}

#[test]
fn account_endpoint_and_case_insensitive_scheme() {
    let mock = MockDify::with(quick().name("Te\u{1b}[2Jster"));
    let token = token_of(&login(&mock, "x"));
    let auth = format!("bEaReR {token}");
    let r = send(
        &mock,
        "GET",
        &api("/account"),
        &[("Authorization", &auth)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({
            "subject_type": "account",
            "subject_email": "tester@dify.ai",
            "subject_issuer": null,
            "account": {"id": DEFAULT_ACCOUNT_ID, "email": "tester@dify.ai", "name": "Te\u{1b}[2Jster"},
            "workspaces": [{"id": DEFAULT_WORKSPACE_ID, "name": "Acme Team", "role": "owner"}],
            "default_workspace_id": DEFAULT_WORKSPACE_ID,
        })
    );
}

#[test]
fn sessions_list_pages_newest_first() {
    let mock = MockDify::with(quick());
    let seeded: Vec<SessionInfo> = (0..450)
        .map(|i| mock.add_session(&format!("device {i}")))
        .collect();
    mock.add_foreign_session("someone else's");
    let me = login(&mock, "difyctl on box");
    let token = token_of(&me);

    let r = get(&mock, "/account/sessions", Some(&token));
    let v = r.json();
    assert_eq!(
        (&v["page"], &v["limit"], &v["total"], &v["has_more"]),
        (&json!(1), &json!(100), &json!(451), &json!(true))
    );
    let first = &v["data"][0];
    assert_eq!(first["id"], me["token_id"]);
    assert_eq!(first["device_label"], "difyctl on box");
    assert_eq!(first["client_id"], "difyctl");
    assert_eq!(first["prefix"], "dfoa_");
    assert_eq!(first["last_used_at"], Value::Null);
    let created = first["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    assert!(first["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(first.as_object().unwrap().len(), 7);

    let r = get(&mock, "/account/sessions?page=3&limit=200", Some(&token));
    let v = r.json();
    assert_eq!(v["has_more"], false);
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = seeded[..51].iter().rev().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, expected);
    // created_at strictly decreasing across the whole list.
    let all: Vec<String> = (1..=3)
        .flat_map(|p| {
            get(
                &mock,
                &format!("/account/sessions?page={p}&limit=200"),
                Some(&token),
            )
            .json()["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["created_at"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(all.len(), 451);
    assert!(all.windows(2).all(|w| w[0] > w[1]));

    let r = get(&mock, "/account/sessions?page=9", Some(&token));
    assert_eq!(r.json()["data"], json!([]));
}

#[test]
fn sessions_list_validates_its_query() {
    let mock = MockDify::with(quick());
    let token = token_of(&login(&mock, "x"));
    let cases = [
        ("page=0", "greater_than_equal", "page"),
        ("limit=0", "greater_than_equal", "limit"),
        ("limit=201", "less_than_equal", "limit"),
        ("limit=abc", "int_parsing", "limit"),
        ("foo=1", "extra_forbidden", "foo"),
    ];
    for (query, kind, loc) in cases {
        let r = get(&mock, &format!("/account/sessions?{query}"), Some(&token));
        assert_eq!(r.status, 422, "{query}: {}", r.body);
        let v = r.json();
        assert_eq!(v["code"], "invalid_param");
        assert_eq!(v["message"], "Request validation failed");
        assert_eq!(v["details"][0]["type"], kind, "{query}");
        assert_eq!(v["details"][0]["loc"], json!([loc]), "{query}");
        assert!(v["details"][0]["msg"].is_string());
    }
    let r = get(&mock, "/account/sessions?limit=200&page=1", Some(&token));
    assert_eq!(r.status, 200);
}

#[test]
fn revoke_self_then_the_token_is_dead() {
    let mock = MockDify::with(quick());
    let v = login(&mock, "x");
    let token = token_of(&v);
    let r = delete(&mock, "/account/sessions/self", &token);
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"status": "revoked"}));
    assert_eq!(mock.revoked_ids(), vec![v["token_id"].as_str().unwrap()]);
    let r = delete(&mock, "/account/sessions/self", &token);
    assert_error_body(&r, 401, "unauthorized", "invalid bearer");
    mock.configure(|c| c.baseline_invalid_bearer_500 = true);
    assert_eq!(delete(&mock, "/account/sessions/self", &token).status, 500);
}

#[test]
fn revoke_by_id() {
    let mock = MockDify::with(quick());
    let token = token_of(&login(&mock, "x"));
    let mine = mock.add_session("old laptop");
    let foreign = mock.add_foreign_session("not yours");

    let r = delete(&mock, &format!("/account/sessions/{}", foreign.id), &token);
    assert_error_body(&r, 404, "not_found", "session not found");
    let r = delete(
        &mock,
        "/account/sessions/00000000-0000-4000-8000-000000000000",
        &token,
    );
    assert_error_body(&r, 404, "not_found", "session not found");
    let r = delete(&mock, "/account/sessions/not-a-uuid", &token);
    assert_error_body(&r, 500, "internal_server_error", "Internal Server Error");

    for _ in 0..2 {
        // Idempotent.
        let r = delete(&mock, &format!("/account/sessions/{}", mine.id), &token);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json(), json!({"status": "revoked"}));
    }
    assert_eq!(mock.revoked_ids(), vec![mine.id.clone()]);
    assert_eq!(mock.wait_for_revoked(1), vec![mine.id]);
    assert!(mock.sessions().iter().any(|s| s.id == foreign.id));
}

#[test]
fn revoke_fails_half_way() {
    let mock = MockDify::with(quick());
    let token = token_of(&login(&mock, "x"));
    let seeded: Vec<SessionInfo> = (0..4).map(|i| mock.add_session(&format!("d{i}"))).collect();
    mock.fail_revoke_after(2);
    let statuses: Vec<u16> = seeded
        .iter()
        .map(|s| delete(&mock, &format!("/account/sessions/{}", s.id), &token).status)
        .collect();
    assert_eq!(statuses, [200, 200, 500, 500]);
    assert_eq!(
        mock.revoked_ids(),
        vec![seeded[0].id.clone(), seeded[1].id.clone()]
    );
    // Self-revocation is not affected.
    assert_eq!(delete(&mock, "/account/sessions/self", &token).status, 200);
}

#[test]
fn per_token_rate_limit() {
    let mock = MockDify::with(MockConfig {
        rate_limit_per_min: Some(2),
        ..quick()
    });
    let token = token_of(&login(&mock, "x"));
    assert_eq!(get(&mock, "/account", Some(&token)).status, 200);
    assert_eq!(get(&mock, "/account/sessions", Some(&token)).status, 200);
    let r = get(&mock, "/account", Some(&token));
    assert_error_body(&r, 429, "too_many_requests", RATE_LIMIT_MESSAGE);
    assert_eq!(r.header("retry-after"), Some("60"));
    // It also hits DELETE self; another token has its own bucket.
    assert_eq!(delete(&mock, "/account/sessions/self", &token).status, 429);
    let other = mock.add_session("other");
    assert_eq!(get(&mock, "/account", Some(&other.token)).status, 200);

    mock.configure(|c| c.rate_limit_retry_after = Some(7));
    assert_eq!(
        get(&mock, "/account", Some(&token)).header("retry-after"),
        Some("7")
    );
}

#[test]
fn workspaces_and_switch() {
    let second = Workspace {
        id: "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9".into(),
        name: "Side Project".into(),
        role: "normal".into(),
    };
    let mut cfg = quick();
    cfg.workspaces.push(second.clone());
    let mock = MockDify::with(cfg);
    let token = token_of(&login(&mock, "x"));
    let v = get(&mock, "/workspaces", Some(&token)).json();
    assert_eq!(v["workspaces"].as_array().unwrap().len(), 2);
    assert_eq!(v["workspaces"][0]["current"], true);
    assert_eq!(v["workspaces"][1]["current"], false);

    let r = send(
        &mock,
        "POST",
        &api(&format!("/workspaces/{}/switch", second.id)),
        &[("Authorization", &format!("Bearer {token}"))],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(
        (&v["id"], &v["name"], &v["role"], &v["current"]),
        (
            &json!(second.id),
            &json!("Side Project"),
            &json!("normal"),
            &json!(true)
        )
    );
    assert_eq!(
        get(&mock, "/account", Some(&token)).json()["default_workspace_id"],
        json!(second.id)
    );
    let r = send(
        &mock,
        "POST",
        &api("/workspaces/00000000-0000-4000-8000-000000000000/switch"),
        &[("Authorization", &format!("Bearer {token}"))],
        "",
    );
    assert_error_body(&r, 404, "not_found", "workspace not found");
}

// ---------------------------------------------------------------------------------------
// Server-wide behaviour
// ---------------------------------------------------------------------------------------

#[test]
fn version_and_health() {
    let mock = MockDify::start();
    assert_eq!(
        get(&mock, "/_version", None).json(),
        json!({"version": "1.14.2", "edition": "SELF_HOSTED"})
    );
    assert_eq!(get(&mock, "/_health", None).json(), json!({"ok": true}));
}

#[test]
fn unknown_paths_and_wrong_methods() {
    let mock = MockDify::start();
    let r = get(&mock, "/nope", None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["code"], "not_found");
    let r = send(&mock, "PUT", &api("/account"), &[], "");
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["code"], "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET"));
    let r = get(&mock, "/oauth/device/code", None);
    assert_eq!(r.status, 405);
}

#[test]
fn no_device_flow_html_or_json_404() {
    let mock = MockDify::with(MockConfig {
        device_flow: DeviceFlow::HtmlNotFound,
        ..MockConfig::default()
    });
    for path in ["/oauth/device/code", "/oauth/device/token"] {
        let r = post(
            &mock,
            path,
            &json!({"client_id": "difyctl", "device_label": "x"}),
        );
        assert_eq!(r.status, 404);
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        assert!(serde_json::from_str::<Value>(&r.body).is_err());
    }
    // The rest of the API still answers.
    assert_eq!(get(&mock, "/_version", None).status, 200);

    mock.configure(|c| c.device_flow = DeviceFlow::JsonNotFound);
    let r = post(
        &mock,
        "/oauth/device/code",
        &json!({"client_id": "difyctl", "device_label": "x"}),
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["code"], "not_found");

    mock.configure(|c| {
        c.device_flow = DeviceFlow::Enabled;
        c.openapi_disabled = true;
    });
    let r = get(&mock, "/_version", None);
    assert_eq!(r.status, 404);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
}

#[test]
fn fail_next_answers_5xx_then_recovers() {
    let mock = MockDify::start();
    mock.fail_next("/openapi/v1/_version", 2, 503);
    let r = get(&mock, "/_version", None);
    assert_error_body(&r, 503, "unknown", "Internal Server Error");
    assert_eq!(get(&mock, "/_health", None).status, 200); // other paths unaffected
    assert_eq!(get(&mock, "/_version", None).status, 503);
    assert_eq!(get(&mock, "/_version", None).status, 200);

    mock.fail_next("/openapi/v1/oauth/device/token", 1, 502);
    let r = poll(&mock, "dc_x");
    assert_error_body(&r, 502, "bad_gateway", "Internal Server Error");
    mock.fail_next("/openapi/v1/", 1, 500);
    assert_eq!(get(&mock, "/_health", None).status, 500);
    assert_eq!(get(&mock, "/_health", None).status, 200);
}

#[test]
fn upgrade_required_gate() {
    let mock = MockDify::with(MockConfig {
        upgrade_required: true,
        ..MockConfig::default()
    });
    let r = get(&mock, "/account", None);
    assert_eq!(r.status, 426);
    assert_eq!(r.json()["code"], "upgrade_required");
    assert!(r.json()["hint"].is_string());
    assert_eq!(get(&mock, "/_version", None).status, 200);
}

#[test]
fn records_every_request() {
    let mock = MockDify::start();
    send(
        &mock,
        "POST",
        &api("/oauth/device/code?x=1"),
        &[("X-Thing", "Yes"), ("Content-Type", "application/json")],
        r#"{"client_id":"difyctl","device_label":"lab"}"#,
    );
    get(&mock, "/_health", None);
    let reqs = mock.wait_for_requests(2);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/openapi/v1/oauth/device/code?x=1");
    assert_eq!(reqs[0].path_only(), "/openapi/v1/oauth/device/code");
    assert_eq!(reqs[0].header("x-thing"), Some("Yes"));
    assert!(reqs[0].headers.iter().all(|(k, _)| *k == k.to_lowercase()));
    assert_eq!(reqs[0].json()["device_label"], "lab");
    assert_eq!(mock.requests_to("/openapi/v1/_health").len(), 1);
    assert_eq!(
        mock.wait_for_request("GET", "/openapi/v1/_health").method,
        "GET"
    );
}

#[test]
fn chunked_request_bodies_are_read() {
    let mock = MockDify::start();
    let body = r#"{"client_id":"difyctl","device_label":"chunky"}"#;
    let (a, b) = body.split_at(10);
    let mut s = TcpStream::connect(mock.host()).unwrap();
    write!(
        s,
        "POST {} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        api("/oauth/device/code"),
        a.len(),
        b.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    assert_eq!(parse_response(&raw).status, 200);
    assert_eq!(mock.device_labels(), vec!["chunky".to_string()]);
}

#[test]
fn hanging_requests_are_released_on_drop() {
    let mock = MockDify::with(MockConfig {
        hang: Some("/openapi/v1/account".into()),
        ..MockConfig::default()
    });
    let mut s = TcpStream::connect(mock.host()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {} HTTP/1.1\r\nHost: x\r\n\r\n", api("/account")).unwrap();
    // Other paths keep working while one request hangs.
    assert_eq!(get(&mock, "/_health", None).status, 200);
    mock.wait_for_request("GET", "/openapi/v1/account");
    drop(mock);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw); // EOF (or reset), never a response
    assert!(raw.is_empty(), "{}", String::from_utf8_lossy(&raw));
}

#[test]
fn dropping_stops_the_server() {
    let mock = MockDify::start();
    let host = mock.host();
    // An idle connection that never sends anything must not block the drop.
    let _idle = TcpStream::connect(&host).unwrap();
    drop(mock);
    assert!(TcpStream::connect(&host).is_err());
}

#[test]
fn absolute_form_targets_are_served() {
    // What a client sends when the mock is configured as its HTTP proxy.
    let mock = MockDify::start();
    let target = format!("http://cloud.dify.ai{}", api("/_health"));
    let r = send(&mock, "GET", &target, &[], "");
    assert_eq!(r.status, 200);
    let rec = mock.wait_for_request("GET", "/openapi/v1/_health");
    assert_eq!(rec.target, target);
}

// ---------------------------------------------------------------------------------------
// Console sign-in and cookie approval (§13)
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

#[test]
fn demo_device_page_approves() {
    let mock = MockDify::with(quick());
    let code = request_code(&mock, "x");
    let uc = code["user_code"].as_str().unwrap();
    let r = send(&mock, "GET", &format!("/device?user_code={uc}"), &[], "");
    assert_eq!(r.status, 200);
    assert!(r.body.contains(uc));
    let r = send(
        &mock,
        "POST",
        "/device",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("user_code={uc}&action=approve"),
    );
    assert!(r.body.contains("Approved"), "{}", r.body);
    assert_eq!(
        poll(&mock, code["device_code"].as_str().unwrap()).status,
        200
    );
}

// ---------------------------------------------------------------------------------------
// A real HTTP client
// ---------------------------------------------------------------------------------------

#[test]
fn ureq_client_talks_to_the_mock() {
    let mock = MockDify::with(quick().auto_approve());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(format!("{}{}", mock.url(), api("/oauth/device/code")))
        .header("Content-Type", "application/json")
        .send(r#"{"client_id":"difyctl","device_label":"ureq"}"#)
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let code: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    let mut r = agent
        .post(format!("{}{}", mock.url(), api("/oauth/device/token")))
        .header("Content-Type", "application/json")
        .send(json!({"client_id": "difyctl", "device_code": code["device_code"]}).to_string())
        .unwrap();
    let payload: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    let token = payload["token"].as_str().unwrap();
    for _ in 0..3 {
        let mut r = agent
            .get(format!(
                "{}{}",
                mock.url(),
                api("/account/sessions?limit=5")
            ))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(v["total"], 1);
    }
    let r = agent
        .get(format!("{}{}", mock.url(), api("/account")))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[test]
fn hostile_answers_on_chosen_paths() {
    let target = "https://elsewhere.test/steal";
    let mock = MockDify::with(
        MockConfig::default()
            .hostile(&api("/_version"), Hostile::Oversized(1000))
            .hostile(
                &api("/account/sessions"),
                Hostile::body("text/html", "<p>hi"),
            )
            .hostile(&api("/account"), Hostile::json(&json!({"account": 7})))
            .hostile(&api("/workspaces"), Hostile::Redirect(target.into()))
            .hostile(&api("/oauth/device/lookup"), Hostile::EchoBearer(401)),
    );
    let big = get(&mock, "/_version", None);
    assert_eq!((big.status, big.body.len()), (200, 1002));
    assert_eq!(big.json(), Value::String("x".repeat(1000)));
    let html = get(&mock, "/account/sessions", None);
    assert_eq!((html.status, html.body.as_str()), (200, "<p>hi"));
    assert_eq!(html.header("content-type"), Some("text/html"));
    assert_eq!(get(&mock, "/account", None).json(), json!({"account": 7}));
    let moved = get(&mock, "/workspaces", None);
    assert_eq!(
        (moved.status, moved.header("location")),
        (302, Some(target))
    );
    let echo = get(&mock, "/oauth/device/lookup", Some("dfoa_s3cret"));
    assert_eq!(echo.status, 401);
    let body = echo.json();
    assert_eq!(body["message"], "rejected Bearer dfoa_s3cret");
    assert_eq!(body["hint"], "your token is dfoa_s3cret");
    assert_eq!(body["details"][0]["msg"], "dfoa_s3cret");
    assert_eq!(
        echo.header("location"),
        Some("https://elsewhere.test/?t=dfoa_s3cret")
    );
    // Other paths are untouched, and every request was recorded.
    assert_eq!(get(&mock, "/_health", None).status, 200);
    assert_eq!(mock.requests().len(), 6);
}

#[test]
fn a_drip_sends_a_byte_at_a_time_until_dropped() {
    let mock = MockDify::with(
        MockConfig::default().hostile(&api("/account"), Hostile::Drip(Duration::from_millis(10))),
    );
    let mut s = TcpStream::connect(mock.host()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {} HTTP/1.1\r\nHost: x\r\n\r\n", api("/account")).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    // The head, then spaces, one by one.
    while !got.ends_with(b"\r\n\r\n   ") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("Content-Length: 1048576\r\n"), "{text}");
    drop(mock);
    let _ = s.read_to_end(&mut got); // ends: the drip stops with the mock
}
