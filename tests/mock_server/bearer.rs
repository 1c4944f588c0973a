//! Bearer-authenticated endpoints: missing, invalid and expired bearers, the
//! account, the sessions list and revocation, per-token rate limits, workspaces
//! and the switch.

use crate::common::{api, assert_error_body, get, login, quick, token_of};
use crate::support::mock::*;
use crate::support::raw_http::{Resp, send};
use serde_json::{Value, json};

fn delete(mock: &MockDify, path: &str, token: &str) -> Resp {
    let auth = format!("Bearer {token}");
    send(mock, "DELETE", &api(path), &[("Authorization", &auth)], "")
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
