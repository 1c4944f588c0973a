//! HTTP itself: unknown paths and methods, version and health, injected 5xx and
//! the version gate, request records, chunked bodies, hanging requests,
//! stopping, absolute-form targets, a real client, hostile answers and drips.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{api, assert_error_body, get, poll, quick};
use crate::support::mock::*;
use crate::support::raw_http::{parse_response, send};
use serde_json::{Value, json};

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
