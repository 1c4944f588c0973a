//! The account routes against canned answers: decoding, revocation, workspaces, paging and the switch route.

use super::*;
use crate::dify::stub::{Canned, serve, test_options};
use crate::error::ErrorCode;

const SESSIONS: &str = r#"{"page":1,"limit":20,"total":2,"has_more":false,"data":[
    {"id":"s-1","prefix":"dfoa_","client_id":"difyctl","device_label":"difyctl on a",
     "created_at":"2026-06-01T10:00:00.123456Z","last_used_at":null,"expires_at":"2026-06-15T10:00:00Z"},
    {"id":"s-2","prefix":"dfoa_","client_id":"difyctl","device_label":null,
     "created_at":"2026-06-02T10:00:00Z","last_used_at":"2026-06-03T00:00:00Z","expires_at":"2026-06-16T10:00:00Z",
     "extra":"kept in raw"}]}"#;

#[test]
fn lists_sessions_and_keeps_the_envelope() {
    let stub = serve(vec![Canned::json(200, SESSIONS)]);
    let (opts, _) = test_options();
    let bearer = Secret::new("dfoa_tok");
    let page = list_sessions(&stub.client(opts), &bearer, 1, 20).unwrap();
    assert_eq!(
        (page.page, page.limit, page.total, page.has_more),
        (1, 20, 2, false)
    );
    assert_eq!(page.data[0].last_used_at, None);
    assert_eq!(page.data[0].created_at, "2026-06-01T10:00:00.123456Z");
    assert_eq!(page.data[1].device_label, "");
    assert_eq!(
        page.data[1].last_used_at.as_deref(),
        Some("2026-06-03T00:00:00Z")
    );
    assert_eq!(page.raw["data"][1]["extra"], "kept in raw");
    let req = &stub.requests()[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("GET", "/openapi/v1/account/sessions?page=1&limit=20")
    );
    assert_eq!(req.header("authorization"), Some("Bearer dfoa_tok"));
}

#[test]
fn reads_the_account() {
    let body = r#"{"subject_type":"account","subject_email":"a@x.test","subject_issuer":null,
        "account":{"id":"acc-1","email":"a@x.test","name":"A"},
        "workspaces":[{"id":"ws-1","name":"Team","role":"owner"}],"default_workspace_id":"ws-1"}"#;
    let stub = serve(vec![Canned::json(200, body)]);
    let (opts, _) = test_options();
    let info = get_account(&stub.client(opts), &Secret::new("dfoa_t")).unwrap();
    assert_eq!(info.account.unwrap().name, "A");
    assert_eq!(info.workspaces[0].role, "owner");
    assert_eq!(info.default_workspace_id.as_deref(), Some("ws-1"));
    assert_eq!(info.subject_issuer, None);
}

#[test]
fn an_answer_that_names_no_account_is_a_decode_error() {
    let stub = serve(vec![
        Canned::json(200, "{}"),
        Canned::json(200, "[]"),
        Canned::json(200, r#"{"account":null,"subject_email":""}"#),
        Canned::json(200, r#"{"account":"x"}"#),
    ]);
    let (opts, _) = test_options();
    let client = stub.client(opts);
    for _ in 0..4 {
        let e = get_account(&client, &Secret::new("dfoa_t")).unwrap_err();
        assert_eq!(e.code, ErrorCode::Unknown);
        assert_eq!(e.message, "decode account response: it names no account");
    }
}

#[test]
fn a_page_without_its_list_is_a_decode_error() {
    let stub = serve(vec![
        Canned::json(200, "{}"),
        Canned::json(200, r#"{"page":1,"data":null}"#),
    ]);
    let (opts, _) = test_options();
    let client = stub.client(opts);
    for _ in 0..2 {
        let e = list_sessions(&client, &Secret::new("dfoa_t"), 1, 20).unwrap_err();
        assert_eq!(e.message, "decode sessions response: it has no data list");
    }
}

#[test]
fn revoke_encodes_the_id_and_self_is_tried_once() {
    let stub = serve(vec![
        Canned::json(200, r#"{"status":"revoked"}"#),
        Canned::json(
            503,
            r#"{"code":"bad_gateway","message":"Internal Server Error","status":503}"#,
        ),
        Canned::json(200, r#"{"status":"revoked"}"#),
    ]);
    let (opts, waits) = test_options();
    let client = stub.client(opts);
    let bearer = Secret::new("dfoa_t");
    revoke_session(&client, &bearer, "a b/../c").unwrap();
    let e = revoke_self(&client, &bearer).unwrap_err();
    assert_eq!(e.code, ErrorCode::Server5xx);
    let reqs = stub.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].path, "/openapi/v1/account/sessions/a%20b%2F..%2Fc");
    assert_eq!(
        (reqs[1].method.as_str(), reqs[1].path.as_str()),
        ("DELETE", "/openapi/v1/account/sessions/self")
    );
    assert!(waits.lock().unwrap().is_empty());
    assert_eq!(
        revoke_session(&client, &bearer, "").unwrap_err().code,
        ErrorCode::ClientError
    );
}

#[test]
fn workspaces_list_and_switch() {
    let stub = serve(vec![
        Canned::json(
            200,
            r#"{"workspaces":[{"id":"w-1","name":"A","role":"owner","current":true}]}"#,
        ),
        Canned::json(200, r#"[{"id":"w-2","name":"B","role":null}]"#),
        Canned::json(200, r#"{"workspaces":"no"}"#),
        Canned::json(
            200,
            r#"{"id":"w-2","name":"B","role":"normal","status":"normal"}"#,
        ),
        Canned::json(200, r#"{"result":"success"}"#),
    ]);
    let (opts, _) = test_options();
    let client = stub.client(opts);
    let bearer = Secret::new("dfoa_t");
    assert_eq!(list_workspaces(&client, &bearer).unwrap()[0].name, "A");
    assert_eq!(list_workspaces(&client, &bearer).unwrap()[0].role, "");
    assert_eq!(
        list_workspaces(&client, &bearer).unwrap_err().code,
        ErrorCode::Unknown
    );
    let ws = switch_workspace(&client, &bearer, "w-2").unwrap();
    assert_eq!((ws.id.as_str(), ws.role.as_str()), ("w-2", "normal"));
    assert!(
        switch_workspace(&client, &bearer, "w/2")
            .unwrap_err()
            .message
            .starts_with("decode workspace switch response")
    );
    let reqs = stub.requests();
    assert_eq!(
        (reqs[3].method.as_str(), reqs[3].path.as_str()),
        ("POST", "/openapi/v1/workspaces/w-2/switch")
    );
    assert_eq!(reqs[4].path, "/openapi/v1/workspaces/w%2F2/switch");
}

#[test]
fn a_500_from_a_bearer_route_hints_at_a_stale_session() {
    let stub = serve(vec![Canned::json(
        500,
        r#"{"code":"internal_server_error","message":"Internal Server Error","status":500}"#,
    )]);
    let (opts, _) = test_options();
    let opts = crate::dify::ClientOptions { retries: 0, ..opts };
    let e = get_account(&stub.client(opts), &Secret::new("dfoa_revoked")).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (ErrorCode::Server5xx, "Internal Server Error")
    );
    assert_eq!(e.hint.as_deref(), Some(STALE_SESSION_HINT));
    let http = e.http.unwrap();
    assert_eq!(http.server.unwrap().code, "internal_server_error");
    assert_eq!(
        http.url,
        format!("http://127.0.0.1:{}/openapi/v1/account", stub.port)
    );
}

#[test]
fn a_401_is_auth_expired_and_junk_is_a_decode_error() {
    let stub = serve(vec![
        Canned::json(
            401,
            r#"{"code":"unauthorized","message":"invalid bearer","status":401}"#,
        ),
        Canned::json(200, "[]"),
        Canned::new(200, "<html>"),
    ]);
    let (opts, _) = test_options();
    let client = stub.client(opts);
    let bearer = Secret::new("dfoa_t");
    let e = list_sessions(&client, &bearer, 1, 20).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str(), e.exit_code()),
        (ErrorCode::AuthExpired, "invalid bearer", 4)
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("run 'difyctl auth login' to sign in again")
    );
    let e = list_sessions(&client, &bearer, 1, 20).unwrap_err();
    assert_eq!(e.code, ErrorCode::Unknown);
    assert!(
        e.message.starts_with("decode sessions response"),
        "{}",
        e.message
    );
    let e = get_account(&client, &bearer).unwrap_err();
    assert!(
        e.message.starts_with("decode account response"),
        "{}",
        e.message
    );
}

/// A client with the handshake on and this memo already known.
fn remembering(stub: &crate::dify::stub::Stub, memo: crate::dify::catalog::Memo) -> Client {
    use crate::dify::catalog::{Memo, MemoStore};
    struct One(std::sync::Mutex<Memo>);
    impl MemoStore for One {
        fn load(&self, _: &str) -> Option<Memo> {
            Some(self.0.lock().unwrap().clone())
        }
        fn save(&self, _: &str, memo: &Memo) -> Result<()> {
            *self.0.lock().unwrap() = memo.clone();
            Ok(())
        }
    }
    let (opts, _) = test_options();
    stub.client(opts)
        .with_handshake(Some(std::sync::Arc::new(One(std::sync::Mutex::new(memo)))))
}

fn older(version: &str) -> crate::dify::catalog::Memo {
    crate::dify::catalog::Memo {
        no_catalog: true,
        version: Some(version.into()),
        ..Default::default()
    }
}

const SWITCHED: &str = r#"{"id":"w-1","name":"A","role":"owner"}"#;
const NO_ROUTE: &str = r#"{"code":"not_found","message":"The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.","status":404}"#;
const NOT_ALLOWED: &str = r#"{"code":"method_not_allowed","message":"The method is not allowed for the requested URL.","status":405}"#;

fn paths(stub: &crate::dify::stub::Stub) -> Vec<String> {
    stub.requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn the_switch_route_follows_the_server_generation() {
    let bearer = Secret::new("dfoa_t");
    for (version, path) in [
        ("1.14.2", "/openapi/v1/workspaces/w-1/switch"),
        ("1.16.1", "/openapi/v1/workspaces/w-1:switch"),
    ] {
        let stub = serve(vec![Canned::json(200, SWITCHED)]);
        let client = remembering(&stub, older(version));
        assert_eq!(switch_workspace(&client, &bearer, "w-1").unwrap().id, "w-1");
        assert_eq!(paths(&stub), [format!("POST {path}")]);
    }
    // A catalog names the route.
    let body = r#"{"ops":{"switch.workspace":{"method":"POST","path":"/openapi/v1/ws/{workspace_id}/use"}}}"#;
    let catalog = crate::dify::catalog::Catalog::from_response(
        body.as_bytes(),
        Some(&crate::dify::catalog::sha256_hex(body.as_bytes())),
    )
    .unwrap();
    let stub = serve(vec![Canned::json(200, SWITCHED)]);
    let memo = crate::dify::catalog::Memo {
        catalog: Some(catalog),
        ..Default::default()
    };
    switch_workspace(&remembering(&stub, memo), &bearer, "w 1").unwrap();
    assert_eq!(paths(&stub), ["POST /openapi/v1/ws/w%201/use"]);
}

#[test]
fn a_missing_switch_route_is_tried_in_the_other_form_once_and_remembered() {
    let bearer = Secret::new("dfoa_t");
    // Remembered as 1.14, upgraded since: `/switch` is gone.
    let stub = serve(vec![
        Canned::json(404, NO_ROUTE),
        Canned::json(200, SWITCHED),
        Canned::json(200, SWITCHED),
    ]);
    let client = remembering(&stub, older("1.14.2"));
    switch_workspace(&client, &bearer, "w-1").unwrap();
    switch_workspace(&client, &bearer, "w-1").unwrap();
    assert_eq!(
        paths(&stub),
        [
            "POST /openapi/v1/workspaces/w-1/switch",
            "POST /openapi/v1/workspaces/w-1:switch",
            "POST /openapi/v1/workspaces/w-1:switch",
        ]
    );
    // Remembered as 1.16 on a 1.14 server: `<id>:switch` is a GET-only path.
    let stub = serve(vec![
        Canned::json(405, NOT_ALLOWED),
        Canned::json(200, SWITCHED),
    ]);
    switch_workspace(&remembering(&stub, older("1.16.1")), &bearer, "w-1").unwrap();
    assert_eq!(paths(&stub)[1], "POST /openapi/v1/workspaces/w-1/switch");
}

#[test]
fn the_handlers_own_404_is_not_retried_and_two_missing_routes_report_the_first() {
    let bearer = Secret::new("dfoa_t");
    let stub = serve(vec![Canned::json(
        404,
        r#"{"code":"not_found","message":"workspace not found","status":404}"#,
    )]);
    let e = switch_workspace(&remembering(&stub, older("1.16.1")), &bearer, "w-9").unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (ErrorCode::Server4xxOther, "workspace not found")
    );
    assert_eq!(stub.requests().len(), 1);

    let stub = serve(vec![
        Canned::json(404, NO_ROUTE),
        Canned::json(405, NOT_ALLOWED),
    ]);
    let e = switch_workspace(&remembering(&stub, older("1.16.1")), &bearer, "w-1").unwrap_err();
    assert_eq!(e.http.unwrap().status, Some(404));
    assert_eq!(stub.requests().len(), 2);
}

#[test]
fn workspaces_follow_the_pages() {
    let page = |ids: &[&str], has_more: bool| {
        let data: Vec<String> = ids
            .iter()
            .map(|id| format!(r#"{{"id":"{id}","name":"N","role":"normal"}}"#))
            .collect();
        Canned::json(
            200,
            &format!(
                r#"{{"page":1,"limit":2,"total":5,"has_more":{has_more},"data":[{}]}}"#,
                data.join(",")
            ),
        )
    };
    let stub = serve(vec![
        page(&["a", "b"], true),
        page(&["c", "d"], true),
        page(&["e"], false),
    ]);
    let (opts, _) = test_options();
    let list = list_workspaces(&stub.client(opts), &Secret::new("dfoa_t")).unwrap();
    let ids: Vec<&str> = list.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    assert_eq!(
        paths(&stub),
        [1, 2, 3].map(|n| format!("GET /openapi/v1/workspaces?page={n}&limit=100"))
    );
    // A page that says "more" but is empty ends the walk.
    let stub = serve(vec![page(&[], true)]);
    let (opts, _) = test_options();
    assert!(
        list_workspaces(&stub.client(opts), &Secret::new("dfoa_t"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(stub.requests().len(), 1);
}
