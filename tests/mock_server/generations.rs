//! The mock's newer server generations, over raw HTTP/1.1: the catalog and its
//! guard, the `:switch` route, paged workspaces, the edition and the client
//! gate, as Dify 1.16 and later servers answer them.

use crate::support::mock::*;
use crate::support::raw_http::{Resp, send};
use serde_json::{Value, json};

fn call(mock: &MockDify, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    send(mock, method, &format!("{API}{path}"), headers, "")
}

#[test]
fn the_catalog_is_canonical_json_fingerprinted_on_every_answer() {
    let mock = MockDify::with(MockConfig::catalog_era());
    let r = call(&mock, "GET", "/_catalog", &[]);
    assert_eq!(r.status, 200);
    let fingerprint = sha256_hex(r.body.as_bytes());
    assert_eq!(r.header(CATALOG_HEADER), Some(fingerprint.as_str()));
    assert_eq!(mock.catalog_fingerprint(), fingerprint);
    // Canonical: sorted keys, no spaces, `/` as is.
    let doc: Value = r.json();
    assert_eq!(serde_json::to_string(&doc).unwrap(), r.body);
    assert!(
        r.body.starts_with(r#"{"ops":{"get.account":{"bind":{}"#),
        "{}",
        r.body
    );
    let op = &doc["ops"]["switch.workspace"];
    assert_eq!(op["method"], "POST");
    assert_eq!(op["path"], "/openapi/v1/workspaces/{workspace_id}:switch");
    assert_eq!(op["bind"], json!({"workspace_id": "path"}));
    for key in ["summary", "kind", "input", "tags", "internal", "deprecated"] {
        assert!(op.get(key).is_some(), "{key}");
    }
    // Every /openapi/v1 answer names it, errors and the device flow included;
    // the console does not.
    for path in ["/_version", "/_health", "/account", "/nowhere"] {
        let r = call(&mock, "GET", path, &[]);
        assert_eq!(
            r.header(CATALOG_HEADER),
            Some(fingerprint.as_str()),
            "{path}"
        );
        assert_eq!(r.header("x-version"), Some("1.18.0"), "{path}");
    }
    let r = send(&mock, "POST", "/console/api/logout", &[], "");
    assert_eq!(r.header(CATALOG_HEADER), None);
    // A change is a new fingerprint.
    mock.change_catalog();
    let r = call(&mock, "GET", "/_catalog", &[]);
    assert_ne!(r.header(CATALOG_HEADER), Some(fingerprint.as_str()));
    assert_eq!(
        r.header(CATALOG_HEADER),
        Some(sha256_hex(r.body.as_bytes()).as_str())
    );
}

#[test]
fn the_guard_runs_after_the_bearer_check_and_before_the_handler() {
    let mock = MockDify::with(MockConfig::catalog_era());
    let s = mock.add_session("difyctl on box");
    let auth = format!("Bearer {}", s.token);
    let fp = mock.catalog_fingerprint();
    // No or a bad bearer: 401 first, whatever the header.
    let r = call(&mock, "GET", "/account", &[(CATALOG_HEADER, "nope")]);
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (401, json!("bearer required"))
    );
    let r = call(
        &mock,
        "GET",
        "/account",
        &[("Authorization", "Bearer dfoa_nope")],
    );
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (401, json!("invalid bearer"))
    );
    // A good bearer without the current fingerprint: 412, and nothing done.
    for header in [None, Some("stale")] {
        let mut headers = vec![("Authorization", auth.as_str())];
        headers.extend(header.map(|h| (CATALOG_HEADER, h)));
        let r = call(&mock, "DELETE", "/account/sessions/self", &headers);
        assert_eq!(r.status, 412);
        assert_eq!(
            r.json(),
            json!({
                "code": "catalog_stale",
                "message": STALE_MESSAGE,
                "status": 412,
                "hint": "GET /openapi/v1/_catalog, rebuild the request from it, and send its sha256 in X-Dify-Catalog."
            })
        );
        assert_eq!(r.header(CATALOG_HEADER), Some(fp.as_str()));
    }
    assert!(mock.revoked_ids().is_empty());
    // The current one passes.
    let r = call(
        &mock,
        "GET",
        "/account",
        &[("Authorization", &auth), (CATALOG_HEADER, &fp)],
    );
    assert_eq!(r.status, 200);
    // Unguarded: the device flow and the server's own description.
    let r = call(&mock, "GET", "/oauth/device/lookup?user_code=X", &[]);
    assert_eq!(r.status, 200);

    // Always stale: even the current fingerprint is refused.
    mock.configure(|c| c.catalog_always_stale = true);
    let r = call(
        &mock,
        "GET",
        "/account",
        &[("Authorization", &auth), (CATALOG_HEADER, &fp)],
    );
    assert_eq!(r.status, 412);
    // A catalog served with another fingerprint.
    mock.configure(|c| c.catalog_bad_fingerprint = true);
    let r = call(&mock, "GET", "/_catalog", &[]);
    assert_ne!(
        r.header(CATALOG_HEADER),
        Some(sha256_hex(r.body.as_bytes()).as_str())
    );
}

#[test]
fn a_catalog_changes_by_itself_after_n_guarded_requests() {
    for announced in [false, true] {
        let mock = MockDify::with(MockConfig::catalog_era());
        let s = mock.add_session("difyctl on box");
        let auth = format!("Bearer {}", s.token);
        let old = mock.catalog_fingerprint();
        mock.change_catalog_after(2, announced);
        let get = |fp: &str| {
            call(
                &mock,
                "GET",
                "/account",
                &[("Authorization", &auth), (CATALOG_HEADER, fp)],
            )
        };
        let r = get(&old);
        assert_eq!(
            (r.status, r.header(CATALOG_HEADER)),
            (200, Some(old.as_str()))
        );
        let r = get(&old);
        assert_eq!(r.status, 200);
        let new = mock.catalog_fingerprint();
        assert_ne!(new, old);
        // Announced: that answer already names the new catalog.
        let named = if announced { &new } else { &old };
        assert_eq!(r.header(CATALOG_HEADER), Some(named.as_str()));
        assert_eq!(get(&old).status, 412);
        assert_eq!(get(&new).status, 200);
        assert_eq!(mock.catalog_fingerprint(), new, "it changes once");
    }
}

#[test]
fn the_switch_route_and_workspace_list_of_each_generation() {
    let id = DEFAULT_WORKSPACE_ID;
    for (cfg, colon) in [
        (MockConfig::dify_1_14(), false),
        (MockConfig::dify_1_16(), true),
    ] {
        let mock = MockDify::with(cfg);
        let s = mock.add_session("difyctl on box");
        let auth = [("Authorization", format!("Bearer {}", s.token))];
        let auth: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let slash = call(&mock, "POST", &format!("/workspaces/{id}/switch"), &auth);
        let colon_form = call(&mock, "POST", &format!("/workspaces/{id}:switch"), &auth);
        if colon {
            assert_eq!(
                (slash.status, slash.json()["code"].clone()),
                (404, json!("not_found"))
            );
            assert_eq!(colon_form.status, 200);
            assert_eq!(colon_form.json()["id"], id);
        } else {
            assert_eq!(slash.status, 200);
            // Flask's `<id>` takes `<id>:switch` whole: a GET-only route.
            assert_eq!(colon_form.status, 405);
        }
        // Unpaged: the whole list, the query ignored.
        let r = call(&mock, "GET", "/workspaces?page=7&limit=1000", &auth);
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["workspaces"][0]["id"], id);
        assert!(r.json().get("has_more").is_none());
    }
}

#[test]
fn paged_workspaces_validate_their_query() {
    let mock = MockDify::with(MockConfig {
        catalog: false,
        ..MockConfig::catalog_era().more_workspaces(4)
    });
    let s = mock.add_session("difyctl on box");
    let auth = format!("Bearer {}", s.token);
    let list = |query: &str| {
        call(
            &mock,
            "GET",
            &format!("/workspaces{query}"),
            &[("Authorization", &auth)],
        )
    };
    let r = list("");
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(
        (v["page"].clone(), v["limit"].clone(), v["total"].clone()),
        (json!(1), json!(20), json!(5))
    );
    assert_eq!(
        (v["has_more"].clone(), v["data"].as_array().unwrap().len()),
        (json!(false), 5)
    );
    let v = list("?page=2&limit=2").json();
    assert_eq!(v["has_more"], true);
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Team 3", "Team 4"]);
    assert_eq!(list("?page=3&limit=2").json()["has_more"], false);
    for bad in ["?limit=101", "?limit=0", "?page=x", "?workspace_id=1"] {
        let r = list(bad);
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (422, json!("invalid_param")),
            "{bad}"
        );
    }
}

#[test]
fn newer_servers_report_their_edition_and_gate_old_difyctl_agents() {
    let mock = MockDify::with(MockConfig::dify_1_16());
    let v = call(&mock, "GET", "/_version", &[]).json();
    assert_eq!(v, json!({"version": "1.16.1", "edition": "COMMUNITY"}));
    let agent = |ua: &str, path: &str| call(&mock, "GET", path, &[("User-Agent", ua)]);
    // The official client below 0.2.0: 426 everywhere but the description.
    for path in ["/account", "/oauth/device/lookup?user_code=X", "/nowhere"] {
        let r = agent("difyctl/0.1.0-rc.1 (linux; x64; rc)", path);
        assert_eq!(r.status, 426, "{path}");
        assert_eq!(
            r.json(),
            json!({
                "code": "upgrade_required",
                "message": "difyctl 0.1.0-rc.1 is no longer supported; upgrade to >= 0.2.0.",
                "status": 426,
                "hint": "Upgrade difyctl: https://docs.dify.ai/en/cli/install"
            })
        );
    }
    for path in ["/_version", "/_health"] {
        assert_eq!(agent("difyctl/0.1.0", path).status, 200, "{path}");
    }
    // Newer official clients and every other agent pass.
    for ua in [
        "difyctl/0.2.0",
        "difyctl/1.0.0-rc.1",
        "difyctl-rs/0.1.0 (linux; x64)",
        "curl/8",
    ] {
        assert_eq!(agent(ua, "/account").status, 401, "{ua}");
    }
    // 1.14 has no gate and says SELF_HOSTED.
    let old = MockDify::with(MockConfig::dify_1_14());
    assert_eq!(
        call(&old, "GET", "/_version", &[]).json()["edition"],
        "SELF_HOSTED"
    );
    let r = call(&old, "GET", "/account", &[("User-Agent", "difyctl/0.1.0")]);
    assert_eq!(r.status, 401);
    assert_eq!(call(&old, "GET", "/_catalog", &[]).status, 404);
}

#[test]
fn requests_are_counted_and_taken() {
    let mock = MockDify::start();
    call(&mock, "GET", "/_version", &[]);
    call(&mock, "GET", "/_catalog", &[]);
    assert_eq!(mock.request_count(), 2);
    assert_eq!(
        mock.command_requests().len(),
        1,
        "the catalog fetch is the handshake's"
    );
    assert_eq!(mock.take_requests().len(), 2);
    assert_eq!(mock.request_count(), 0);
}
