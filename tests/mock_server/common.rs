//! Requests to the mock that several modules make: the device flow's steps and
//! JSON calls.

use crate::support::mock::*;
use crate::support::raw_http::{Resp, send};
use serde_json::{Value, json};

pub(crate) fn api(path: &str) -> String {
    format!("{API}{path}")
}

pub(crate) fn get(mock: &MockDify, path: &str, token: Option<&str>) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    send(mock, "GET", &api(path), &headers, "")
}

pub(crate) fn post(mock: &MockDify, path: &str, body: &Value) -> Resp {
    send(
        mock,
        "POST",
        &api(path),
        &[("Content-Type", "application/json")],
        &body.to_string(),
    )
}

pub(crate) fn request_code(mock: &MockDify, label: &str) -> Value {
    let r = post(
        mock,
        "/oauth/device/code",
        &json!({"client_id": "difyctl", "device_label": label}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

pub(crate) fn poll(mock: &MockDify, device_code: &str) -> Resp {
    post(
        mock,
        "/oauth/device/token",
        &json!({"client_id": "difyctl", "device_code": device_code}),
    )
}

/// Defaults without the timing-based `slow_down`, for tests that poll back to back.
pub(crate) fn quick() -> MockConfig {
    MockConfig {
        timing_slow_down: false,
        ..MockConfig::default()
    }
}

/// A full sign-in: code, approval, one poll. Returns the token payload.
pub(crate) fn login(mock: &MockDify, label: &str) -> Value {
    let code = request_code(mock, label);
    mock.approve(code["user_code"].as_str().unwrap());
    let r = poll(mock, code["device_code"].as_str().unwrap());
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

pub(crate) fn token_of(payload: &Value) -> String {
    payload["token"].as_str().unwrap().to_string()
}

pub(crate) fn assert_error_body(r: &Resp, status: u16, code: &str, message: &str) {
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
