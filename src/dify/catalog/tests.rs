//! The catalog's parts, and the handshake against canned answers.

use crate::error::ErrorCode;
use std::collections::HashMap;

use super::*;
use crate::dify::stub::{Canned, serve, test_options};
use crate::secret::Secret;

#[test]
fn a_catalog_is_trusted_only_with_its_fingerprint() {
    let body = br#"{"ops":{"switch.workspace":{"method":"POST","path":"/openapi/v1/workspaces/{workspace_id}:switch","summary":"s"},"odd":{"method":1}}}"#;
    let fp = sha256_hex(body);
    assert_eq!(fp.len(), 64);
    let c = Catalog::from_response(body, Some(&fp.to_uppercase())).unwrap();
    assert_eq!(c.fingerprint, fp);
    assert_eq!(c.ops.len(), 1);
    assert_eq!(
        Catalog::from_response(body, Some("00")).unwrap_err(),
        "the catalog does not match its fingerprint (X-Dify-Catalog)"
    );
    assert!(Catalog::from_response(body, None).is_err());
    let not_json = b"<html>";
    let e = Catalog::from_response(not_json, Some(&sha256_hex(not_json))).unwrap_err();
    assert!(e.starts_with("the catalog is not JSON"), "{e}");
    let no_ops = b"{\"x\":1}";
    assert_eq!(
        Catalog::from_response(no_ops, Some(&sha256_hex(no_ops))).unwrap_err(),
        "the catalog has no ops"
    );
    // The empty input's well-known digest.
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn routes_come_from_confirmed_ops_only() {
    let op = |method: &str, path: &str| Op {
        method: method.into(),
        path: path.into(),
    };
    let mut c = Catalog::default();
    c.ops.insert(
        "workspaces.switch".into(),
        op("POST", "/openapi/v1/workspaces/{workspace_id}:switch"),
    );
    assert_eq!(
        c.route(&SWITCH_WORKSPACE_OPS, "POST", "w%2F1"),
        Some("workspaces/w%2F1:switch".into())
    );
    assert_eq!(c.route(&SWITCH_WORKSPACE_OPS, "GET", "w"), None);
    assert_eq!(c.route(&["other"], "POST", "w"), None);
    for bad in [
        "/elsewhere/workspaces/{id}:switch",
        "/openapi/v1/workspaces/switch",
        "/openapi/v1/../{id}",
        "/openapi/v1/a/{id}/{other}",
        "/openapi/v1/a/{id}?x=1",
    ] {
        c.ops.insert("switch.workspace".into(), op("POST", bad));
        assert_eq!(c.route(&["switch.workspace"], "POST", "w"), None, "{bad}");
    }
}

#[test]
fn memos_round_trip_and_omit_what_is_unknown() {
    assert_eq!(serde_json::to_string(&Memo::default()).unwrap(), "{}");
    let memo = Memo {
        no_catalog: true,
        version: Some("1.16.1".into()),
        switch_route: Some(SwitchRoute::Colon),
        ..Memo::default()
    };
    let text = serde_json::to_string(&memo).unwrap();
    assert_eq!(
        text,
        r#"{"no_catalog":true,"version":"1.16.1","switch_route":"colon"}"#
    );
    assert_eq!(serde_json::from_str::<Memo>(&text).unwrap(), memo);
    assert!(memo.knows_catalog() && !Memo::default().knows_catalog());
}

/// Memos kept in memory, counting the saves.
#[derive(Default)]
struct Memos {
    memos: Mutex<HashMap<String, Memo>>,
    saves: Mutex<usize>,
}

impl MemoStore for Memos {
    fn load(&self, origin: &str) -> Option<Memo> {
        self.memos.lock().unwrap().get(origin).cloned()
    }
    fn save(&self, origin: &str, memo: &Memo) -> Result<()> {
        *self.saves.lock().unwrap() += 1;
        self.memos
            .lock()
            .unwrap()
            .insert(origin.into(), memo.clone());
        Ok(())
    }
}

impl Memos {
    fn with(origin: &str, memo: Memo) -> Arc<Memos> {
        let memos = Memos::default();
        memos.memos.lock().unwrap().insert(origin.into(), memo);
        Arc::new(memos)
    }
    fn get(&self, origin: &str) -> Memo {
        self.memos
            .lock()
            .unwrap()
            .get(origin)
            .cloned()
            .unwrap_or_default()
    }
    fn saves(&self) -> usize {
        *self.saves.lock().unwrap()
    }
}

const BODY: &str = r#"{"ops":{"get.account":{"method":"GET","path":"/openapi/v1/account"}}}"#;
const BODY_2: &str = r#"{"ops":{"get.account":{"method":"GET","path":"/openapi/v1/account"},"x":{"method":"GET","path":"/openapi/v1/x"}}}"#;

fn fp(body: &str) -> String {
    sha256_hex(body.as_bytes())
}

fn catalog(body: &str) -> Canned {
    Canned::json(200, body).header(HEADER, &fp(body))
}

fn ok(fingerprint: Option<&str>) -> Canned {
    let c = Canned::json(200, r#"{"ok":true}"#);
    match fingerprint {
        Some(f) => c.header(HEADER, f),
        None => c,
    }
}

fn stale(new: &str) -> Canned {
    Canned::json(
        412,
        r#"{"code":"catalog_stale","message":"The request was built from a catalog that is not this server's current catalog.","status":412}"#,
    )
    .header(HEADER, new)
}

fn known(body: &str) -> Memo {
    Memo {
        catalog: Some(Catalog::from_response(body.as_bytes(), Some(&fp(body))).unwrap()),
        ..Memo::default()
    }
}

/// `(method path, X-Dify-Catalog sent)` of each request.
fn sent(stub: &crate::dify::stub::Stub) -> Vec<(String, Option<String>)> {
    stub.requests()
        .iter()
        .map(|r| {
            (
                format!("{} {}", r.method, r.path),
                r.header(HEADER).map(str::to_owned),
            )
        })
        .collect()
}

fn get(path: &str) -> (String, Option<String>) {
    (format!("GET /openapi/v1/{path}"), None)
}

fn with(mut r: (String, Option<String>), fingerprint: &str) -> (String, Option<String>) {
    r.1 = Some(fingerprint.to_owned());
    r
}

#[test]
fn the_first_bearer_request_fetches_the_catalog_then_every_one_sends_it() {
    let stub = serve(vec![
        catalog(BODY),
        ok(Some(&fp(BODY))),
        ok(Some(&fp(BODY))),
    ]);
    let memos = Arc::new(Memos::default());
    let client = stub
        .client(test_options().0)
        .with_handshake(Some(memos.clone()));
    let bearer = Secret::new("dfoa_t");
    client.get("account", Some(&bearer)).unwrap();
    client.get("account", Some(&bearer)).unwrap();
    assert_eq!(
        sent(&stub),
        [
            get("_catalog"),
            with(get("account"), &fp(BODY)),
            with(get("account"), &fp(BODY))
        ]
    );
    assert_eq!(stub.requests()[0].header("authorization"), None);
    assert_eq!(memos.get(client.origin()), known(BODY));
    assert_eq!(memos.saves(), 1);

    // Another run: what was learned costs nothing.
    let stub2 = serve(vec![ok(Some(&fp(BODY)))]);
    let memos2 = Memos::with(stub2.client(test_options().0).origin(), known(BODY));
    let client = stub2
        .client(test_options().0)
        .with_handshake(Some(memos2.clone()));
    client.get("account", Some(&bearer)).unwrap();
    assert_eq!(sent(&stub2), [with(get("account"), &fp(BODY))]);
    assert_eq!(memos2.saves(), 0);
}

#[test]
fn a_server_without_a_catalog_is_remembered_and_gets_no_header() {
    let stub = serve(vec![
        Canned::json(404, r#"{"code":"not_found","message":"The requested URL was not found on the server.","status":404}"#)
            .header("X-Version", "1.14.2"),
        ok(None),
        ok(None),
    ]);
    let memos = Arc::new(Memos::default());
    let client = stub
        .client(test_options().0)
        .with_handshake(Some(memos.clone()));
    let bearer = Secret::new("dfoa_t");
    client.get("account", Some(&bearer)).unwrap();
    client.get("account", Some(&bearer)).unwrap();
    assert_eq!(
        sent(&stub),
        [get("_catalog"), get("account"), get("account")]
    );
    let memo = memos.get(client.origin());
    assert!(memo.no_catalog && memo.catalog.is_none());
    assert_eq!(memo.version.as_deref(), Some("1.14.2"));
}

#[test]
fn a_412_fetches_the_catalog_again_and_sends_the_request_once_more() {
    let (old, new) = (fp(BODY), fp(BODY_2));
    let stub = serve(vec![stale(&new), catalog(BODY_2), ok(Some(&new))]);
    let origin = stub.client(test_options().0).origin().to_owned();
    let memos = Memos::with(&origin, known(BODY));
    let (opts, waits) = test_options();
    let client = stub.client(opts).with_handshake(Some(memos.clone()));
    let bearer = Secret::new("dfoa_t");
    let resp = client
        .call(&Request::new(Method::Post, "workspaces/w:switch").bearer(Some(&bearer)))
        .unwrap();
    assert_eq!(resp.status, 200);
    let post = || ("POST /openapi/v1/workspaces/w:switch".to_string(), None);
    assert_eq!(
        sent(&stub),
        [with(post(), &old), get("_catalog"), with(post(), &new)]
    );
    assert_eq!(memos.get(&origin), known(BODY_2));
    assert!(waits.lock().unwrap().is_empty());
}

#[test]
fn a_412_after_a_fresh_catalog_is_catalog_stale_exit_6() {
    let new = fp(BODY_2);
    let stub = serve(vec![stale(&new), catalog(BODY_2), stale(&new), ok(None)]);
    let origin = stub.client(test_options().0).origin().to_owned();
    let client = stub
        .client(test_options().0)
        .with_handshake(Some(Memos::with(&origin, known(BODY))));
    let bearer = Secret::new("dfoa_t");
    let e = client
        .call(&Request::new(Method::Delete, "account/sessions/self").bearer(Some(&bearer)))
        .unwrap_err();
    assert_eq!((e.code, e.exit_code()), (ErrorCode::CatalogStale, 6));
    assert_eq!(e.message, crate::dify::errors::CATALOG_MISMATCH);
    assert_eq!(e.http.unwrap().server.unwrap().code, "catalog_stale");
    assert_eq!(stub.requests().len(), 3, "one retry only");
}

#[test]
fn a_new_fingerprint_on_an_answer_refreshes_the_catalog_before_the_next_request() {
    let (old, new) = (fp(BODY), fp(BODY_2));
    let stub = serve(vec![ok(Some(&new)), catalog(BODY_2), ok(Some(&new))]);
    let origin = stub.client(test_options().0).origin().to_owned();
    let memos = Memos::with(&origin, known(BODY));
    let client = stub
        .client(test_options().0)
        .with_handshake(Some(memos.clone()));
    let bearer = Secret::new("dfoa_t");
    client.get("account", Some(&bearer)).unwrap();
    // Stale now, and kept so (another process would fetch it too).
    assert!(!memos.get(&origin).knows_catalog());
    client.get("account", Some(&bearer)).unwrap();
    assert_eq!(
        sent(&stub),
        [
            with(get("account"), &old),
            get("_catalog"),
            with(get("account"), &new)
        ]
    );
    assert_eq!(memos.get(&origin), known(BODY_2));

    // A server remembered as having no catalog that now names one.
    let stub = serve(vec![ok(Some(&new))]);
    let origin = stub.client(test_options().0).origin().to_owned();
    let older = Memo {
        no_catalog: true,
        ..Memo::default()
    };
    let memos = Memos::with(&origin, older);
    let client = stub
        .client(test_options().0)
        .with_handshake(Some(memos.clone()));
    client.get("account", Some(&bearer)).unwrap();
    assert!(!memos.get(&origin).knows_catalog());
}

#[test]
fn a_catalog_that_is_not_its_fingerprint_is_version_skew() {
    let stub = serve(vec![
        Canned::json(200, BODY).header(HEADER, &"0".repeat(64)),
    ]);
    let memos = Arc::new(Memos::default());
    let client = stub
        .client(test_options().0)
        .with_handshake(Some(memos.clone()));
    let e = client
        .get("account", Some(&Secret::new("dfoa_t")))
        .unwrap_err();
    assert_eq!((e.code, e.exit_code()), (ErrorCode::VersionSkew, 6));
    assert_eq!(
        e.message,
        "cannot use the server's catalog: the catalog does not match its fingerprint (X-Dify-Catalog)"
    );
    assert_eq!(stub.requests().len(), 1);
    assert_eq!(memos.saves(), 0);
}

#[test]
fn a_catalog_that_cannot_be_had_leaves_the_request_to_tell() {
    for first in [
        Canned::json(
            503,
            r#"{"code":"unknown","message":"Internal Server Error","status":503}"#,
        ),
        Canned::json(
            426,
            r#"{"code":"upgrade_required","message":"too old","status":426}"#,
        ),
    ] {
        let stub = serve(vec![first, ok(None)]);
        let memos = Arc::new(Memos::default());
        let (opts, waits) = test_options();
        let client = stub.client(opts).with_handshake(Some(memos.clone()));
        client.get("account", Some(&Secret::new("dfoa_t"))).unwrap();
        assert_eq!(sent(&stub), [get("_catalog"), get("account")]);
        assert!(waits.lock().unwrap().is_empty(), "the fetch is tried once");
        assert_eq!(memos.saves(), 0, "nothing learned");
    }
}

#[test]
fn requests_without_a_bearer_or_with_their_own_header_are_sent_as_they_are() {
    let stub = serve(vec![ok(None), stale("x"), ok(None)]);
    let client = stub.client(test_options().0).with_handshake(None);
    // No bearer: the device flow, `_version`.
    client.get("_version", None).unwrap();
    // `api -H 'X-Dify-Catalog: …'`: the user's value, no retry.
    let bearer = Secret::new("dfoa_t");
    let own = Request::new(Method::Get, "account")
        .bearer(Some(&bearer))
        .header(HEADER, "mine");
    assert_eq!(client.send(&own).unwrap().status, 412);
    // The console is not under /openapi/v1.
    let root = Request::at_host_root(Method::Get, "console/api/x").bearer(Some(&bearer));
    client.send(&root).unwrap();
    assert_eq!(
        sent(&stub),
        [
            get("_version"),
            with(get("account"), "mine"),
            ("GET /console/api/x".to_string(), None)
        ]
    );
}

#[test]
fn the_server_version_is_noted_from_answers_about_a_known_server() {
    let bearer = Secret::new("dfoa_t");
    let stub = serve(vec![
        ok(None).header("X-Version", "1.16.0"),
        ok(None).header("X-Version", "1.16.1"),
    ]);
    let origin = stub.client(test_options().0).origin().to_owned();
    let older = Memo {
        no_catalog: true,
        version: Some("1.14.2".into()),
        switch_route: Some(SwitchRoute::Colon),
        ..Memo::default()
    };
    let memos = Memos::with(&origin, older);
    let client = stub
        .client(test_options().0)
        .with_handshake(Some(memos.clone()));
    client.get("_health", None).unwrap();
    client.get("account", Some(&bearer)).unwrap();
    let memo = memos.get(&origin);
    assert_eq!(memo.version.as_deref(), Some("1.16.1"));
    assert_eq!(memo.switch_route, None, "learned on another version");
    let handshake = client.handshake().unwrap();
    assert_eq!(handshake.version(&client).as_deref(), Some("1.16.1"));
    assert_eq!(stub.requests().len(), 2, "no probe needed");

    // About a server not known yet (a sign-in's device flow) nothing is kept.
    let stub = serve(vec![
        ok(None).header("X-Version", "1.16.1").header(HEADER, "f"),
    ]);
    let memos = Arc::new(Memos::default());
    let client = stub
        .client(test_options().0)
        .with_handshake(Some(memos.clone()));
    client.get("_health", None).unwrap();
    assert_eq!(memos.saves(), 0);

    // Without one, `_version` is asked once, and its edition kept lower-cased.
    let stub = serve(vec![Canned::json(
        200,
        r#"{"version":"1.16.2","edition":"COMMUNITY"}"#,
    )]);
    let memos = Arc::new(Memos::default());
    let client = stub
        .client(test_options().0)
        .with_handshake(Some(memos.clone()));
    let handshake = client.handshake().unwrap();
    assert_eq!(handshake.version(&client).as_deref(), Some("1.16.2"));
    assert_eq!(handshake.version(&client).as_deref(), Some("1.16.2"));
    let memo = memos.get(client.origin());
    assert_eq!(memo.edition.as_deref(), Some("COMMUNITY"));
    assert_eq!(stub.requests().len(), 1);
}
