//! `difyctl api`: the body as received, `--include`, request bodies from stdin
//! or a file, errors that print the body and map the status to an exit code,
//! any method, and what is refused before any request.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::common::{NOT_LOGGED_IN, account_url, raw_request, relogin, run};
use crate::support::fixtures::signed_in;
use crate::support::mock::{DEFAULT_WORKSPACE_ID, MockDify};
use crate::support::runner::Test;

/// The response headers of a raw request, names lower-cased, in order.
fn raw_head(mock: &MockDify, path: &str, token: &str) -> Vec<(String, String)> {
    let mut s = TcpStream::connect(mock.host()).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        mock.host()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, _) = text.split_once("\r\n\r\n").unwrap();
    head.lines()
        .skip(1)
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect()
}

#[test]
fn api_get_prints_the_body_as_received() {
    let mock = MockDify::start();
    let (t, s) = signed_in(&mock);
    let (_, body) = raw_request(&mock, "GET", "/openapi/v1/account", &s.token);
    for path in ["account", "/account"] {
        run(&t, &[], &["api", path], b"")
            .code(0)
            .stdout(&body)
            .stderr("");
    }
    run(&t, &[], &["api", "account/sessions?page=1&limit=5"], b"")
        .code(0)
        .stdout_has("\"limit\":5");
    let reqs = mock.command_requests();
    // The raw request, then the three of difyctl.
    assert_eq!(reqs.len(), 4);
    for r in &reqs[1..] {
        assert_eq!(r.method, "GET");
        assert_eq!(
            r.header("authorization"),
            Some(&*format!("Bearer {}", s.token))
        );
        assert_eq!(r.header("content-type"), None);
    }
    assert_eq!(reqs[1].target, "/openapi/v1/account");
    assert_eq!(reqs[2].target, "/openapi/v1/account");
    assert_eq!(
        reqs[3].target,
        "/openapi/v1/account/sessions?page=1&limit=5"
    );
}

#[test]
fn api_include_prints_the_status_line_and_headers_first() {
    let mock = MockDify::start();
    let (t, s) = signed_in(&mock);
    let (_, body) = raw_request(&mock, "GET", "/openapi/v1/account", &s.token);
    let head: String = raw_head(&mock, "/openapi/v1/account", &s.token)
        .iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect();
    for flag in ["-i", "--include"] {
        run(&t, &[], &["api", flag, "account"], b"")
            .code(0)
            .stdout(&format!("HTTP/1.1 200 OK\n{head}\n{body}"));
    }
}

#[test]
fn api_posts_stdin_or_a_file() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let path = format!("workspaces/{DEFAULT_WORKSPACE_ID}/switch");
    let out = run(&t, &[], &["api", "--input", "-", &path], b"{\"a\": 1}\n")
        .code(0)
        .stderr("");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (v["id"].as_str(), v["name"].as_str()),
        (Some(DEFAULT_WORKSPACE_ID), Some("Acme Team"))
    );
    // A file, an explicit method, and a Content-Type of our own.
    let file = t.dir.path().join("body.txt");
    std::fs::write(&file, "not json").unwrap();
    run(
        &t,
        &[],
        &[
            "api",
            "-X",
            "post",
            "--input",
            file.to_str().unwrap(),
            "-H",
            "Content-Type: text/plain",
            "-H",
            "X-Trace: t-1",
            &path,
        ],
        b"",
    )
    .code(0);
    // Neither JSON nor a type given.
    run(
        &t,
        &[],
        &["api", "--input", file.to_str().unwrap(), &path],
        b"",
    )
    .code(0);
    let reqs = mock.command_requests();
    assert_eq!(reqs.len(), 3);
    let target = format!("/openapi/v1/{path}");
    assert_eq!(
        (
            reqs[0].method.as_str(),
            reqs[0].target.as_str(),
            reqs[0].body.as_str()
        ),
        ("POST", target.as_str(), "{\"a\": 1}\n")
    );
    assert_eq!(reqs[0].header("content-type"), Some("application/json"));
    assert_eq!(reqs[1].body, "not json");
    let types: Vec<&str> = reqs[1]
        .headers
        .iter()
        .filter(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(types, ["text/plain"]);
    assert_eq!(reqs[1].header("x-trace"), Some("t-1"));
    assert_eq!(
        reqs[2].header("content-type"),
        Some("application/octet-stream")
    );
    // An unreadable file: exit 1 before any request.
    run(
        &t,
        &[],
        &["api", "--input", "/nonexistent/body", "account"],
        b"",
    )
    .code(1)
    .stdout("")
    .stderr_has("client_error: cannot read --input /nonexistent/body: ");
    assert_eq!(mock.command_requests().len(), 3);
}

#[test]
fn api_errors_print_the_body_and_map_the_status() {
    let mock = MockDify::start();
    let (t, s) = signed_in(&mock);
    let not_found = "The requested URL was not found on the server. If you entered the URL \
                     manually please check your spelling and try again.";
    run(&t, &[], &["api", "nope"], b"")
        .code(1)
        .stdout(&format!(
            "{{\"code\":\"not_found\",\"message\":\"{not_found}\",\"status\":404}}"
        ))
        .stderr(&format!(
            "not_found: {not_found}\nrequest: GET {}/openapi/v1/nope\nhttp_status: 404\n",
            mock.url()
        ));

    mock.fail_next("/openapi/v1/account", 1, 429);
    run(&t, &[], &["api", "account"], b"")
        .code(7)
        .stdout("{\"code\":\"too_many_requests\",\"message\":\"Too Many Requests\",\"status\":429}")
        .stderr(&format!(
            "too_many_requests: Too Many Requests\nrequest: GET {}\nhttp_status: 429\n",
            account_url(&mock)
        ));

    // A 5xx on a POST: one attempt, the body, exit 1.
    mock.fail_next("/openapi/v1/workspaces", 1, 503);
    let path = format!("workspaces/{DEFAULT_WORKSPACE_ID}/switch");
    run(&t, &[], &["api", "-X", "POST", &path], b"")
        .code(1)
        .stdout("{\"code\":\"unknown\",\"message\":\"Internal Server Error\",\"status\":503}")
        .stderr_has("http_status: 503\n");

    mock.revoke_session(&s.id);
    run(&t, &[], &["api", "account"], b"")
        .code(4)
        .stdout("{\"code\":\"unauthorized\",\"message\":\"invalid bearer\",\"status\":401}")
        .stderr(&format!(
            "unauthorized: invalid bearer\nhint: {}\nrequest: GET {}\nhttp_status: 401\n",
            relogin(&mock),
            account_url(&mock)
        ));
    let posts = mock
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1);
}

#[test]
fn api_refuses_bad_paths_headers_and_methods_before_any_request() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let cases: [(&[&str], &str); 7] = [
        (
            &["../console/api/login"],
            "usage_invalid_flag: PATH must be a path under /openapi/v1/ (no '.' or '..' \
             segments): \"../console/api/login\"\nhint: pass the part after /openapi/v1/, e.g. \
             'difyctl api account'\n",
        ),
        (
            &["account/%2e%2e/%2E%2E/console/api"],
            "usage_invalid_flag: PATH must be a path under /openapi/v1/ (no '.' or '..' \
             segments): \"account/%2e%2e/%2E%2E/console/api\"\nhint: pass the part after \
             /openapi/v1/, e.g. 'difyctl api account'\n",
        ),
        (
            &["http://evil.test/openapi/v1/account"],
            "usage_invalid_flag: PATH must be a path under /openapi/v1/ (not a URL): \
             \"http://evil.test/openapi/v1/account\"\nhint: pass the part after /openapi/v1/, \
             e.g. 'difyctl api account'\n",
        ),
        (
            &["-H", "no colon", "account"],
            "usage_invalid_flag: -H: \"no colon\" is not a 'Key: Value' header\n",
        ),
        (
            &["-H", "Bad Name: x", "account"],
            "usage_invalid_flag: -H: \"Bad Name: x\" is not a 'Key: Value' header\n",
        ),
        (
            &["-H", "Authorization: Bearer dfoa_other", "account"],
            "usage_invalid_flag: -H cannot set Authorization: difyctl sets it itself\nhint: the \
             selected context's token is sent; to use another token, set DIFY_TOKEN\n",
        ),
        (
            &["-X", "GE T", "account"],
            "usage_invalid_flag: -X: \"GE T\" is not an HTTP method\nhint: use a method name \
             made of letters, such as GET, POST, PUT, PATCH or DELETE\n",
        ),
    ];
    for (args, stderr) in cases {
        let mut argv = vec!["api"];
        argv.extend_from_slice(args);
        run(&t, &[], &argv, b"").code(2).stdout("").stderr(stderr);
    }
    assert!(mock.requests().is_empty(), "{:?}", mock.requests());
    // Not signed in: exit 4 and nothing on stdout.
    run(&Test::new(), &[], &["api", "account"], b"")
        .code(4)
        .stdout("")
        .stderr(NOT_LOGGED_IN);
}

#[test]
fn api_any_method() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let out = run(&t, &[], &["api", "-X", "options", "account"], b"")
        .code(1)
        .stderr(&format!(
            "method_not_allowed: The method is not allowed for the requested URL.\n\
             request: OPTIONS {}/openapi/v1/account\nhttp_status: 405\n",
            mock.url()
        ));
    assert!(out.stdout.contains("\"status\":405"), "{}", out.stdout);
    run(
        &t,
        &[],
        &["api", "-X", "DELETE", "account/sessions/self"],
        b"",
    )
    .code(0)
    .stdout("{\"status\":\"revoked\"}");
    let methods: Vec<String> = mock
        .command_requests()
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(methods, ["OPTIONS", "DELETE"]);
}
