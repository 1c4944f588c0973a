//! The real commands against a real Dify server: `make e2e` (not part of
//! `make test`), with
//!
//! ```text
//! DIFY_E2E_HOST=http://127.0.0.1:5001 DIFY_E2E_EMAIL=… DIFY_E2E_PASSWORD=… make e2e
//! ```
//!
//! Without those variables the suite says it skipped. It signs in with every
//! method the server allows (the device flow approved through the console API
//! as the web page does, also split in two by `--no-wait` and `--resume`,
//! `--password`, `--console-cookie`, `--with-token` with a token from another
//! sign-in, `DIFY_TOKEN`), and runs whoami, list, status,
//! token, devices list and revoke, use workspace, use host and account, api,
//! version, `--label` with `auth refresh`, and logout,
//! each in a throw-away config and cache dir. Every sign-in from this machine carries
//! the same device label, so each one rotates out the previous token: the
//! steps run in order, and that rotation is checked too.
//!
//! It asks the server for eight device codes per run; the server allows 60 an
//! hour per address.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::runner::{Outcome, Test};

/// The server and account under test.
struct Server {
    url: String,
    email: String,
    password: String,
    agent: ureq::Agent,
}

/// A console session: what a signed-in browser holds.
struct Console {
    access: String,
    csrf: String,
    /// The `Cookie` header value, with the names as the server set them.
    cookie: String,
}

impl Server {
    fn from_env() -> Option<Server> {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let (url, email, password) = (
            get("DIFY_E2E_HOST")?,
            get("DIFY_E2E_EMAIL")?,
            get("DIFY_E2E_PASSWORD")?,
        );
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        Some(Server {
            url: url.trim_end_matches('/').to_string(),
            email,
            password,
            agent,
        })
    }

    fn host(&self) -> &str {
        self.url.split_once("://").map_or(&self.url, |(_, h)| h)
    }

    /// `--host URL` and, for http://, `--insecure`.
    fn host_args(&self) -> Vec<String> {
        let mut args = vec!["--host".to_string(), self.url.clone()];
        if self.url.starts_with("http://") {
            args.push("--insecure".into());
        }
        args
    }

    /// One request; `(status, headers, body)`.
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, Vec<(String, String)>, String) {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let mut resp = self
            .agent
            .run(req.body(bytes).unwrap())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (resp.status().as_u16(), headers, text)
    }

    /// Signs in to the console with the password, as the web page does.
    fn console_login(&self) -> Console {
        let body = json!({
            "email": self.email,
            "password": base64(self.password.as_bytes()),
            "remember_me": false,
        });
        let (status, headers, text) = self.request("POST", "/console/api/login", &[], Some(&body));
        assert_eq!(status, 200, "console sign-in: {text}");
        let cookie = |name: &str| {
            headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
                .filter_map(|(_, v)| v.split(';').next()?.split_once('='))
                .find(|(k, _)| *k == name || *k == format!("__Host-{name}"))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .unwrap_or_else(|| panic!("no {name} cookie"))
        };
        let (access_name, access) = cookie("access_token");
        let (csrf_name, csrf) = cookie("csrf_token");
        Console {
            cookie: format!("{access_name}={access}; {csrf_name}={csrf}"),
            access,
            csrf,
        }
    }

    fn console_logout(&self, c: &Console) {
        let (status, _, text) = self.request(
            "POST",
            "/console/api/logout",
            &[("Cookie", &c.cookie), ("X-CSRF-Token", &c.csrf)],
            None,
        );
        assert_eq!(status, 200, "console sign-out: {text}");
    }

    /// Approves a user code with a console session, as the `/device` page does.
    fn approve(&self, c: &Console, user_code: &str) {
        let (status, _, text) = self.request(
            "POST",
            "/openapi/v1/oauth/device/approve",
            &[("Cookie", &c.cookie), ("X-CSRF-Token", &c.csrf)],
            Some(&json!({"user_code": user_code})),
        );
        assert_eq!(
            (status, text.contains("approved")),
            (200, true),
            "approve: {text}"
        );
    }

    /// Denies a user code with a console session.
    fn deny(&self, c: &Console, user_code: &str) {
        let (status, _, text) = self.request(
            "POST",
            "/openapi/v1/oauth/device/deny",
            &[("Cookie", &c.cookie), ("X-CSRF-Token", &c.csrf)],
            Some(&json!({"user_code": user_code})),
        );
        assert_eq!(status, 200, "deny: {text}");
    }

    /// A session with its own label, minted without difyctl (a device code
    /// requested, approved and polled by hand): something to revoke.
    fn spare_session(&self, c: &Console, label: &str) -> String {
        let body = json!({"client_id": "difyctl", "device_label": label});
        let (status, _, text) =
            self.request("POST", "/openapi/v1/oauth/device/code", &[], Some(&body));
        assert_eq!(status, 200, "device code: {text}");
        let code: Value = serde_json::from_str(&text).unwrap();
        self.approve(c, code["user_code"].as_str().unwrap());
        let poll = json!({"client_id": "difyctl", "device_code": code["device_code"]});
        let (status, _, text) =
            self.request("POST", "/openapi/v1/oauth/device/token", &[], Some(&poll));
        assert_eq!(status, 200, "token poll: {text}");
        let payload: Value = serde_json::from_str(&text).unwrap();
        payload["token_id"].as_str().unwrap().to_string()
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A throw-away config and cache dir.
fn fresh() -> Test {
    let t = Test::new();
    let cache = t.dir.path().join("cache");
    t.env("DIFY_CACHE_DIR", cache)
}

fn step(what: &str) {
    eprintln!("e2e: {what}");
}

/// `auth login` by the device flow, approved through the console API.
fn device_flow(server: &Server, t: &Test) {
    let mut cmd = t.command();
    cmd.args(["auth", "login", "--no-browser"])
        .args(server.host_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start difyctl");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut shown = String::new();
    let code = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("no one-time code shown:\n{shown}");
        }
        shown.push_str(&line);
        if let Some(code) = line.trim().strip_prefix("! Copy this one-time code: ") {
            break code.to_string();
        }
    };
    let console = server.console_login();
    server.approve(&console, &code);
    server.console_logout(&console);
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{shown}{rest}");
    assert!(
        out.starts_with(&format!(
            "✓ Logged in to {} as {}",
            server.host(),
            server.email
        )),
        "{out}"
    );
}

/// `auth login --no-wait`, then `--resume` (pending, exit 3; again at once,
/// still pending without a `slow_down`, so the server was not polled sooner
/// than the interval), approved through the console API, then `--resume
/// --wait`; and a second one denied. Its own label, so no other session of
/// this run is rotated out.
fn split_sign_in(server: &Server) -> Test {
    const LABEL: &str = "difyctl e2e agent";
    let t = fresh();
    let mut args = vec!["auth", "login", "--no-wait", "--json", "--no-browser"];
    args.extend(["--label", LABEL, "--token-storage", "file"]);
    let host_args = server.host_args();
    args.extend(host_args.iter().map(String::as_str));
    let start = |t: &Test| {
        let out = t.run_args(&args).code(0).stderr_has("Sign-in pending; ");
        let pending = out.json();
        assert_eq!(pending["status"], "pending", "{pending}");
        assert_eq!(pending["host"], server.host());
        assert!(t.read("login-pending.yml").is_some());
        pending
    };
    let pending = start(&t);
    let user_code = pending["user_code"].as_str().unwrap().to_string();
    t.run_args(["auth", "login", "--resume"])
        .code(3)
        .stderr("")
        .stdout("pending\n");
    let again = t
        .run_args(["auth", "login", "--resume", "--json"])
        .code(3)
        .stderr("")
        .json();
    assert_eq!(
        (&again["status"], &again["interval"]),
        (&json!("pending"), &pending["interval"]),
        "a slow_down would have grown the interval"
    );
    let console = server.console_login();
    server.approve(&console, &user_code);
    let out = t
        .run_args(["auth", "login", "--resume", "--wait"])
        .code(0)
        .stderr_has(&format!("Copy this one-time code: {user_code}"));
    assert!(
        out.stdout.starts_with(&format!(
            "✓ Logged in to {} as {}",
            server.host(),
            server.email
        )),
        "{}",
        out.stdout
    );
    drop(out);
    assert_eq!(t.read("login-pending.yml"), None);
    assert!(t.read("hosts.yml").unwrap().contains(LABEL));

    // Denied: exit 4, the pending sign-in removed.
    let denied = fresh();
    let pending = start(&denied);
    server.deny(&console, pending["user_code"].as_str().unwrap());
    server.console_logout(&console);
    denied
        .run_args(["auth", "login", "--resume"])
        .code(4)
        .stdout("")
        .stderr("access_denied: authorization denied\n");
    assert_eq!(denied.read("login-pending.yml"), None);
    t
}

/// The commands every signed-in context must get right.
fn check_signed_in(server: &Server, t: &Test, how: &str) -> String {
    step(&format!(
        "{how}: whoami, list, status, token, devices list, api"
    ));
    t.run_args(["auth", "whoami"])
        .code(0)
        .stderr("")
        .stdout_has(&server.email);
    t.run_args(["auth", "list"])
        .code(0)
        .stderr("")
        .stdout_has(server.host());
    let out = t.run_args(["auth", "status", "--json"]).code(0).stderr("");
    let status = out.json();
    assert_eq!(
        (status["valid"].clone(), status["account"]["email"].clone()),
        (json!(true), json!(server.email))
    );
    let token = t
        .run_args(["auth", "token"])
        .code(0)
        .stderr("")
        .stdout
        .trim()
        .to_string();
    assert!(token.starts_with("dfoa_"), "{how}: a token");
    t.run_args(["auth", "devices", "list"])
        .code(0)
        .stderr("")
        .stdout_has("DEVICE");
    let out = t.run_args(["api", "account"]).code(0).stderr("");
    assert_eq!(out.json()["account"]["email"], server.email);
    token
}

/// `use workspace` to another workspace and back (or to the current one when
/// there is only one); returns the current workspace id.
fn switch_workspaces(t: &Test, how: &str) -> String {
    step(&format!("{how}: use workspace"));
    let list = t.run_args(["api", "workspaces"]).code(0).stderr("").json();
    let rows = list
        .get("workspaces")
        .or_else(|| list.get("data"))
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    let current = rows
        .iter()
        .find(|w| w["current"] == true)
        .unwrap_or(&rows[0])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = rows
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .find(|id| *id != current);
    for id in other.into_iter().chain([current.as_str()]) {
        t.run_args(["use", "workspace", id])
            .code(0)
            .stderr("")
            .stdout_has(&format!("({id})"));
        let status = t.run_args(["auth", "status", "--json"]).code(0).json();
        if !status["workspace"].is_null() {
            assert_eq!(status["workspace"]["id"], id, "{how}");
        }
    }
    current
}

/// A command whose token the server no longer takes: a 1.14-era server
/// answers 500 (exit 1), a later one 401 (exit 4, sign in again).
/// `auth login --password --password-stdin` as the server's account, with
/// `more` flags and the host's.
fn password_login(server: &Server, more: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["auth", "login", "--password", "--password-stdin", "--email"]
        .map(String::from)
        .to_vec();
    args.push(server.email.clone());
    args.extend(more.iter().map(|s| s.to_string()));
    args.extend(server.host_args());
    args
}

#[track_caller]
fn assert_refused(out: &Outcome, why: &str) {
    let refused = match out.exit_code() {
        // After the retries' announcements (a GET is retried on a 500).
        Some(1) => out
            .stderr
            .contains("internal_server_error: Internal Server Error\n"),
        Some(4) => out
            .stderr
            .contains("hint: run 'difyctl auth login' to sign in again\n"),
        _ => false,
    };
    assert!(refused, "{why}: exit {:?}: {}", out.exit_code(), out.stderr);
}

#[test]
#[ignore = "needs a real Dify server: make e2e"]
fn against_a_real_server() {
    let Some(server) = Server::from_env() else {
        eprintln!(
            "e2e: skipped: set DIFY_E2E_HOST, DIFY_E2E_EMAIL and DIFY_E2E_PASSWORD to run the \
             commands against a real Dify server"
        );
        return;
    };
    let started = Instant::now();
    let (status, _, version) = server.request("GET", "/openapi/v1/_version", &[], None);
    assert_eq!(status, 200, "{version}");
    eprintln!("e2e: {} reports {version}", server.url);
    let (_, _, features) = server.request("GET", "/console/api/system-features", &[], None);
    let features: Value = serde_json::from_str(&features).unwrap_or_default();

    // The device flow.
    step("device flow");
    let a = fresh();
    device_flow(&server, &a);
    let token_a = check_signed_in(&server, &a, "device flow");
    switch_workspaces(&a, "device flow");

    // version: the server as it answers, inside the supported range.
    step("version");
    let reported: Value = serde_json::from_str(&version).unwrap();
    let out = a
        .run_args(["version", "-o", "json", "--check-compat"])
        .code(0)
        .stderr("");
    let report = out.json();
    assert_eq!(report["server"]["endpoint"], json!(server.url));
    assert_eq!(report["server"]["version"], reported["version"]);
    let edition = reported["edition"].as_str().unwrap_or("");
    assert_eq!(report["server"]["edition"], json!(edition));
    assert_eq!(report["compat"]["status"], "compatible", "{report}");

    // --no-wait, then --resume, as an agent signs in.
    step("--no-wait and --resume");
    let g = split_sign_in(&server);
    check_signed_in(&server, &g, "--no-wait and --resume");
    // Its session has a label of its own: ended now, as the later steps
    // expect one session of this machine's label at a time.
    g.run_args(["auth", "logout"])
        .code(0)
        .stderr("")
        .stdout(&format!("✓ Logged out of {}\n", server.host()));

    // --password: a new sign-in with the same label rotates A's token out.
    step("--password");
    let b = fresh().stdin(format!("{}\n", server.password));
    let host_args = server.host_args();
    b.run_args(password_login(&server, &[]))
        .code(0)
        .stdout_has(&format!(
            "✓ Logged in to {} as {}",
            server.host(),
            server.email
        ));
    let token_b = check_signed_in(&server, &b, "--password");
    assert_ne!(token_a, token_b);
    assert_refused(&a.run_args(["auth", "status"]), "A was rotated out");

    // --console-cookie, with the cookies of a console sign-in.
    step("--console-cookie");
    let console = server.console_login();
    let c = fresh().stdin(format!(
        "access_token={}; csrf_token={}\n",
        console.access, console.csrf
    ));
    let mut args = vec!["auth", "login", "--console-cookie"];
    args.extend(host_args.iter().map(String::as_str));
    c.run_args(&args)
        .code(0)
        .stdout_has(&format!("✓ Logged in to {}", server.host()));
    server.console_logout(&console);
    let token_c = check_signed_in(&server, &c, "--console-cookie");

    // --with-token, with C's token, in another config dir.
    step("--with-token");
    let d = fresh().stdin(format!("{token_c}\n"));
    let mut args = vec!["auth", "login", "--with-token"];
    args.extend(host_args.iter().map(String::as_str));
    let out = d.run_args(&args).code(0);
    assert!(out.stdout.starts_with("✓ Logged in to"), "{}", out.stdout);
    assert_eq!(check_signed_in(&server, &d, "--with-token"), token_c);

    // DIFY_TOKEN, nothing stored.
    step("DIFY_TOKEN");
    let mut e = fresh()
        .env("DIFY_TOKEN", &token_c)
        .env("DIFY_HOST", &server.url);
    if server.url.starts_with("http://") {
        // Plain http only for local test servers.
        e = e.env("DIFY_INSECURE", "1");
    }
    let status = e
        .run_args(["auth", "status", "--json"])
        .code(0)
        .stderr("")
        .json();
    assert_eq!(status["token_source"], "DIFY_TOKEN");
    // Nothing is stored about the token: whoami asks the server.
    e.run_args(["auth", "whoami"])
        .code(0)
        .stderr("")
        .stdout_has(&server.email);
    e.run_args(["auth", "devices", "list"]).code(0).stderr("");
    e.run_args(["api", "account"]).code(0).stderr("");
    switch_workspaces(&e, "DIFY_TOKEN");
    assert!(!e.config_dir().exists(), "DIFY_TOKEN writes no config");

    // devices revoke: a session of another label, by label.
    step("devices revoke");
    let console = server.console_login();
    let spare = server.spare_session(&console, "difyctl e2e spare");
    server.console_logout(&console);
    d.run_args(["auth", "devices", "list"])
        .code(0)
        .stdout_has("difyctl e2e spare");
    d.run_args(["auth", "devices", "revoke", "difyctl e2e spare"])
        .code(0)
        .stderr("")
        .stdout("✓ Revoked 1 session(s)\n");
    let out = d.run_args(["auth", "devices", "list", "--json"]).code(0);
    assert!(!out.stdout.contains(&spare), "{}", out.stdout);

    // --label: a session of its own, which a refresh signs in with again (the
    // server rotates that session, and no other).
    step("--label and refresh");
    let label = "difyctl e2e label";
    let f = fresh().stdin(format!("{}\n", server.password));
    f.run_args(password_login(&server, &["--label", label]))
        .code(0);
    let labelled = |t: &Test| -> Vec<String> {
        let out = t.run_args(["auth", "devices", "list", "--json"]).code(0);
        out.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["device_label"] == label)
            .map(|s| s["id"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let before = labelled(&f);
    assert_eq!(before.len(), 1, "one session labelled {label}");
    f.run_args(["auth", "refresh", "--password", "--password-stdin"])
        .code(0)
        .stdout_has("Refreshed the token");
    let after = labelled(&f);
    assert_eq!(after.len(), 1, "still one session labelled {label}");
    assert_ne!(before, after, "the refresh rotated the labelled session");
    // D's session (another label) survived both.
    d.run_args(["auth", "status"]).code(0);
    // use host / use account on the stored context.
    f.run_args(["use", "host", "--domain", server.host()])
        .code(0)
        .stderr("");
    f.run_args(["use", "account", "--email", &server.email])
        .code(0)
        .stderr("");
    f.run_args(["auth", "logout"]).code(0).stderr("");

    // logout revokes on the server: the token stops working everywhere.
    step("logout");
    c.run_args(["auth", "logout"])
        .code(0)
        .stderr("")
        .stdout(&format!("✓ Logged out of {}\n", server.host()));
    assert_refused(&e.run_args(["api", "account"]), "the token was revoked");
    // A's and B's tokens were rotated out, D's (C's) revoked: the server
    // refuses each revoke, and logout says so while it clears the context.
    for t in [&a, &b, &d] {
        t.run_args(["auth", "logout"])
            .code(0)
            .stderr_has("! server revoke failed (");
    }
    b.run_args(["auth", "list"]).code(0);

    let email_code = features["enable_email_code_login"] == true;
    eprintln!(
        "e2e: passed in {:.0?}: device flow, version, --no-wait/--resume, --password, --console-cookie, \
         --with-token, DIFY_TOKEN (whoami from the server), --label with refresh, use host/account, \
         devices revoke, logout{}",
        started.elapsed(),
        if email_code {
            "; --email-code is on but not run (the code arrives by email)"
        } else {
            "; --email-code not run (off on this server)"
        }
    );
    // Keep the output readable when several runs share a terminal.
    let _ = std::io::stderr().flush();
}
