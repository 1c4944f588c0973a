//! The device flow: the code's shape and validation, polling, slow_down,
//! denial, expiry, auto-approval, label rotation, SSO and email-less accounts,
//! servers without the flow, and the demo's device page.

use crate::common::{assert_error_body, get, login, poll, post, quick, request_code, token_of};
use crate::support::mock::*;
use crate::support::raw_http::send;
use serde_json::{Value, json};

fn poll_error(mock: &MockDify, device_code: &str) -> String {
    let r = poll(mock, device_code);
    assert_eq!(r.status, 400, "{}", r.body);
    r.json()["error"].as_str().unwrap().to_string()
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
    // Already a live session before any poll, as on a real server.
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
