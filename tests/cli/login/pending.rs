//! `auth login --no-wait` and `auth login --resume` (issue 18) against the
//! mock: the pending sign-in saved in login-pending.yml, every outcome of a
//! resume with its exit status, output and files, the server never polled
//! sooner than the interval, two hosts at once, the JSON an agent parses,
//! the device code never shown, and Ctrl-C leaving the files as they were.

use std::collections::BTreeMap;

use serde_json::Value;
use serde_yaml::Value as Yaml;

use super::device::{
    assert_no_secrets, files, hostname, login, mock_hosts_yml, only_session, success,
};
use crate::support::fixtures::{
    Context, Hosts, code_lines, login_args, tokens_yml, with_other_context,
};
use crate::support::mock::{MockConfig, MockDify, SessionInfo};
use crate::support::pty::{Pty, quote};
use crate::support::runner::{BIN, Test, mode};

const PENDING: &str = "login-pending.yml";

/// The status `--resume` exits with while the sign-in waits for approval.
const STILL_PENDING: i32 = 3;

fn no_wait_args(mock: &MockDify) -> Vec<String> {
    let mut args = login_args(mock);
    args.push("--no-wait".into());
    args
}

fn resume_args(extra: &[&str]) -> Vec<String> {
    ["auth", "login", "--resume"]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

/// What `--no-wait` prints on stderr for the mock's newest code.
fn saved_lines(mock: &MockDify) -> String {
    let (_, user_code) = mock.codes().pop().expect("a code was issued");
    format!(
        "{}Sign-in pending; once the code is approved, run 'difyctl auth login --resume --host {}'\n",
        code_lines(&user_code, &format!("{}/device", mock.url())),
        mock.host()
    )
}

/// `--no-wait` for `mock` in `t`'s config dir: exit 0, nothing on stdout.
fn start(t: &Test, mock: &MockDify) -> String {
    let out = t.run_args(no_wait_args(mock)).code(0).stdout("");
    out.stderr(&saved_lines(mock));
    mock.codes().pop().unwrap().1
}

fn token_polls(mock: &MockDify) -> usize {
    mock.requests_to("/openapi/v1/oauth/device/token").len()
}

/// The pending file as YAML.
fn pending(t: &Test) -> Yaml {
    serde_yaml::from_str(&t.read(PENDING).expect("login-pending.yml")).unwrap()
}

/// The hosts with a pending sign-in, in file order.
fn pending_hosts(t: &Test) -> Vec<String> {
    let file = pending(t);
    let hosts = file["pending"].as_mapping().expect("a map of hosts");
    hosts
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// The entry of `host` in the pending file.
fn entry(t: &Test, host: &str) -> Yaml {
    pending(t)["pending"][host].clone()
}

/// Sets one field of `host`'s entry, as time passing (or a hand edit) would.
fn set_field(t: &Test, host: &str, field: &str, value: Yaml) {
    let mut file = pending(t);
    file["pending"][host][field] = value;
    let path = t.config_dir().join(PENDING);
    std::fs::write(path, serde_yaml::to_string(&file).unwrap()).unwrap();
}

const LONG_AGO: &str = "2000-01-01T00:00:00.000Z";

#[test]
fn no_wait_shows_the_code_saves_it_and_does_not_poll() {
    let mock = MockDify::start();
    let t = with_other_context(Test::new());
    let before = files(&t);
    let user_code = start(&t, &mock);

    // Only the code was requested.
    let paths: Vec<String> = mock.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/openapi/v1/oauth/device/code"]);
    // hosts.yml and tokens.yml untouched; the new file is private.
    let mut now = files(&t);
    assert!(now.remove(PENDING).is_some());
    assert_eq!(now, before);
    assert_eq!(mode(&t.config_dir().join(PENDING)), 0o600);

    let (device_code, _) = mock.codes().pop().unwrap();
    let e = entry(&t, &mock.host());
    assert_eq!(e["scheme"], "http");
    assert_eq!(e["insecure"], true);
    assert_eq!(e["label"], Yaml::from(format!("difyctl on {}", hostname())));
    assert_eq!(e["device_code"], Yaml::from(device_code));
    assert_eq!(e["user_code"], Yaml::from(user_code));
    assert_eq!(
        e["verification_uri"],
        Yaml::from(format!("{}/device", mock.url()))
    );
    assert_eq!(e["interval"], 1);
    assert!(e["expires_at"].as_str().unwrap().ends_with('Z'), "{e:?}");
    // Not forced: the store is chosen when the token comes.
    assert_eq!(e.get("token_storage"), None);
    assert_eq!(e.get("last_polled_at"), None);

    // A forced store is recorded.
    let t = Test::new();
    t.run_args(
        no_wait_args(&mock)
            .into_iter()
            .chain(["--token-storage".into(), "file".into()]),
    )
    .code(0)
    .stderr(&saved_lines(&mock));
    assert_eq!(entry(&t, &mock.host())["token_storage"], "file");
}

#[test]
fn json_output_is_what_an_agent_relays() {
    let mock = MockDify::with(MockConfig::default().interval(7));
    for flag in [&["--json"][..], &["-o", "json"]] {
        let t = Test::new();
        let args = no_wait_args(&mock)
            .into_iter()
            .chain(flag.iter().map(|s| s.to_string()));
        let out = t.run_args(args).code(0);
        let json = out.json();
        out.stderr(&saved_lines(&mock));
        let (_, user_code) = mock.codes().pop().unwrap();
        let e = entry(&t, &mock.host());
        assert_eq!(json["status"], "pending");
        assert_eq!(json["host"], Value::from(mock.host()));
        assert_eq!(json["user_code"], Value::from(user_code));
        assert_eq!(
            json["verification_uri"],
            Value::from(format!("{}/device", mock.url()))
        );
        assert_eq!(json["interval"], 7);
        assert_eq!(json["expires_at"].as_str(), e["expires_at"].as_str());
        let expires_in = json["expires_in"].as_u64().unwrap();
        assert!((890..=900).contains(&expires_in), "{json}");
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "status",
                "host",
                "verification_uri",
                "user_code",
                "expires_in",
                "expires_at",
                "interval"
            ]
        );
    }
}

#[test]
fn resume_while_pending_exits_3_and_never_polls_sooner_than_the_interval() {
    let mock = MockDify::with(MockConfig::default().interval(30));
    let t = Test::new();
    start(&t, &mock);
    let host = mock.host();

    // The first poll goes out at once.
    t.run_args(resume_args(&[]))
        .code(STILL_PENDING)
        .stdout("pending\n")
        .stderr("");
    assert_eq!(token_polls(&mock), 1);
    let polled = entry(&t, &host)["last_polled_at"].clone();
    assert!(polled.as_str().is_some(), "{:?}", entry(&t, &host));

    // Within the interval: pending, without asking the server.
    let saved = t.read(PENDING);
    for args in [
        resume_args(&[]),
        resume_args(&["--host", &host]),
        resume_args(&["--json"]),
    ] {
        let out = t.run_args(args.clone()).code(STILL_PENDING).stderr("");
        if args.contains(&"--json".to_string()) {
            let json = out.json();
            assert_eq!(
                (&json["status"], &json["interval"]),
                (&"pending".into(), &30.into())
            );
        } else {
            out.stdout("pending\n");
        }
    }
    assert_eq!(token_polls(&mock), 1);
    assert_eq!(t.read(PENDING), saved);

    // The interval passed on our clock, not on the server's: it says
    // slow_down, which is still pending and adds 5 s to the interval.
    set_field(&t, &host, "last_polled_at", LONG_AGO.into());
    t.run_args(resume_args(&[]))
        .code(STILL_PENDING)
        .stdout("pending\n");
    assert_eq!(token_polls(&mock), 2);
    assert_eq!(mock.polls()[1].answer, "slow_down");
    assert_eq!(entry(&t, &host)["interval"], 35);
    t.run_args(resume_args(&[])).code(STILL_PENDING);
    assert_eq!(token_polls(&mock), 2);
    // Nothing but the pending file was ever written.
    assert_eq!(files(&t).keys().collect::<Vec<_>>(), [PENDING]);
}

#[test]
fn approved_resume_leaves_the_files_of_a_blocking_sign_in() {
    let mock = MockDify::start();
    let t = Test::new();
    let user_code = start(&t, &mock);
    let session = mock.approve(&user_code);
    t.run_args(resume_args(&[]))
        .code(0)
        .stdout(&success(&mock))
        .stderr("")
        .file("hosts.yml", &mock_hosts_yml(&mock, &session.id))
        .file("tokens.yml", &tokens_yml(&mock, &session.token));
    // No pending file, lock or temp file is left: the files a blocking
    // sign-in leaves, and nothing else.
    assert_eq!(
        files(&t).keys().collect::<Vec<_>>(),
        ["hosts.yml", "tokens.yml"]
    );
    assert_eq!(mode(&t.config_dir().join("tokens.yml")), 0o600);
    assert_eq!(only_session(&mock).id, session.id);

    // A blocking sign-in in another config dir: the same files, to the
    // byte, but for the session's token, id and expiry.
    let blocking = login(&mock);
    let running = blocking.spawn();
    let code = mock.wait_for_codes(2).pop().unwrap();
    let other = mock.approve(&code);
    running
        .finish()
        .code(0)
        .stdout(&success(&mock))
        .stderr_has("Copy this one-time code");
    assert_eq!(normalised(&t, &session), normalised(&blocking, &other));
}

/// The config dir's files with `s`'s token, id and expiry replaced by names.
fn normalised(t: &Test, s: &SessionInfo) -> BTreeMap<String, String> {
    let expires = s.expires_at.replace('Z', "+00:00");
    files(t)
        .into_iter()
        .map(|(name, text)| {
            let text = text.replace(&s.token, "TOKEN").replace(&s.id, "ID");
            (name, text.replace(&expires, "EXPIRES"))
        })
        .collect()
}

#[test]
fn denied_and_expired_exit_4_and_remove_the_entry() {
    // Denied in the browser.
    let mock = MockDify::start();
    let t = with_other_context(Test::new());
    let before = files(&t);
    let user_code = start(&t, &mock);
    mock.deny(&user_code);
    t.run_args(resume_args(&[]))
        .code(4)
        .stdout("")
        .stderr("access_denied: authorization denied\n");
    assert_eq!(files(&t), before);

    // Expired on the server.
    start(&t, &mock);
    mock.configure(|c| c.expire_codes = true);
    t.run_args(resume_args(&["--json"]))
        .code(4)
        .stdout("")
        .stderr_has("\"code\":\"expired_token\"");
    assert_eq!(files(&t), before);
    mock.configure(|c| c.expire_codes = false);

    // Expired on the client's clock: the server is not asked.
    start(&t, &mock);
    set_field(&t, &mock.host(), "expires_at", LONG_AGO.into());
    let polls = token_polls(&mock);
    t.run_args(resume_args(&[])).code(4).stdout("").stderr(
        "expired_token: code expired before authorization\n\
         hint: run 'difyctl auth login' again and approve the code within its lifetime\n",
    );
    assert_eq!(token_polls(&mock), polls);
    assert_eq!(files(&t), before);
}

#[test]
fn a_server_error_keeps_the_entry() {
    let mock = MockDify::start();
    let t = Test::new();
    start(&t, &mock);
    let saved = t.read(PENDING);
    mock.fail_next("/openapi/v1/oauth/device/token", 1, 503);
    t.run_args(resume_args(&[]))
        .code(1)
        .stdout("")
        .stderr_has("device-flow poll failed (HTTP 503)\n");
    assert_eq!(t.read(PENDING), saved);
    // Unreachable: the same.
    drop(mock);
    t.run_args(resume_args(&[]))
        .code(1)
        .stdout("")
        .stderr_has("network_connection: ");
    assert_eq!(t.read(PENDING), saved);
}

#[test]
fn two_hosts_pending_at_once() {
    let (a, b) = (MockDify::start(), MockDify::start());
    let t = Test::new();
    start(&t, &a);
    let b_code = start(&t, &b);
    let (ha, hb) = (a.host(), b.host());
    let hosts = pending_hosts(&t);
    assert_eq!(hosts, [ha.clone(), hb.clone()]);

    // Which one: a usage error naming both.
    t.run_args(resume_args(&[]))
        .code(2)
        .stdout("")
        .stderr(&format!(
            "usage_missing_arg: sign-ins to 2 hosts are pending: {ha}, {hb}\n\
         hint: choose one with --host, e.g. 'difyctl auth login --resume --host {ha}'\n"
        ));
    assert_eq!(token_polls(&a) + token_polls(&b), 0);

    // b approved and finished (by URL); a still pending and left alone.
    let session = b.approve(&b_code);
    t.run_args(resume_args(&["--host", &b.url(), "--insecure"]))
        .code(0)
        .stdout(&success(&b))
        .file("tokens.yml", &tokens_yml(&b, &session.token));
    assert_eq!(token_polls(&a), 0);
    assert_eq!(entry(&t, &hb), Yaml::Null);
    assert!(entry(&t, &ha).is_mapping());
    // Now a is the only one.
    t.run_args(resume_args(&[]))
        .code(STILL_PENDING)
        .stdout("pending\n");
    assert_eq!(token_polls(&a), 1);
}

#[test]
fn resume_with_nothing_pending_is_a_usage_error() {
    let t = Test::new();
    t.run_args(resume_args(&[])).code(2).stdout("").stderr(
        "usage_invalid_flag: no sign-in is pending\n\
         hint: start one with 'difyctl auth login --host URL --no-wait'\n",
    );
    // Nothing created.
    assert!(!t.config_dir().exists());

    let mock = MockDify::start();
    start(&t, &mock);
    t.run_args(resume_args(&["--host", "other.example"]))
        .code(2)
        .stdout("")
        .stderr(
            "usage_invalid_flag: no sign-in to other.example is pending\n\
             hint: start one with 'difyctl auth login --host other.example --no-wait'\n",
        );
    assert_eq!(token_polls(&mock), 0);
}

#[test]
fn resume_wait_polls_until_approved() {
    let mock = MockDify::start();
    let t = Test::new();
    let user_code = start(&t, &mock);
    let running = t.spawn_args(resume_args(&["--wait"]));
    mock.wait_for_polls(2);
    let session = mock.approve(&user_code);
    running
        .finish()
        .code(0)
        .stdout(&success(&mock))
        .stderr(&format!(
            "! Copy this one-time code: {user_code}\n  Open: {}/device\n",
            mock.url()
        ))
        .file("hosts.yml", &mock_hosts_yml(&mock, &session.id));
    assert_eq!(
        files(&t).keys().collect::<Vec<_>>(),
        ["hosts.yml", "tokens.yml"]
    );
    let answers: Vec<String> = mock.polls().into_iter().map(|p| p.answer).collect();
    assert_eq!(answers.last().map(String::as_str), Some("token"));
    assert!(!answers.contains(&"slow_down".to_string()), "{answers:?}");
}

#[test]
fn the_device_code_is_never_shown() {
    // The test moves the last poll back in time; the server is not fooled
    // by that, so it keeps no time between polls.
    let mock = MockDify::with(MockConfig {
        timing_slow_down: false,
        ..MockConfig::default()
    });
    let t = Test::new();
    let mut outputs = Vec::new();
    let out = t.run_args(
        no_wait_args(&mock)
            .into_iter()
            .chain(["-v".into(), "--json".into()]),
    );
    outputs.push((out.stdout.clone(), out.stderr.to_string()));
    drop(out.code(0));
    let (_, user_code) = mock.codes().pop().unwrap();
    for args in [resume_args(&["-v"]), resume_args(&["-v", "--json"])] {
        let out = t.run_args(args).code(STILL_PENDING);
        outputs.push((out.stdout.clone(), out.stderr.to_string()));
    }
    mock.approve(&user_code);
    set_field(&t, &mock.host(), "last_polled_at", LONG_AGO.into());
    let out = t.run_args(resume_args(&["-v", "--json"])).code(0);
    let json = out.json();
    assert_eq!(json["status"], "approved");
    assert_eq!(json["email"], "tester@dify.ai");
    assert_eq!(json["workspace"]["name"], "Acme Team");
    outputs.push((out.stdout.clone(), out.stderr.to_string()));
    drop(out);
    for (stdout, stderr) in &outputs {
        assert_no_secrets(stdout, &mock);
        assert_no_secrets(stderr, &mock);
    }
    // -v did log the polls.
    assert!(
        outputs[1].1.contains("/openapi/v1/oauth/device/token\n"),
        "{}",
        outputs[1].1
    );
}

#[test]
fn flags_that_do_not_go_together() {
    let mock = MockDify::start();
    let t = Test::new();
    for (extra, message) in [
        (
            &["--no-wait", "--resume"][..],
            "usage_invalid_flag: --no-wait and --resume cannot be combined\n",
        ),
        (
            &["--wait"],
            "usage_invalid_flag: --wait only applies to --resume\n",
        ),
    ] {
        let url = mock.url();
        let args: Vec<String> = ["auth", "login", "--host", &url, "--insecure"]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect();
        t.run_args(args).code(2).stdout("").stderr(message);
    }
    for (method, split) in [("--password", "--no-wait"), ("--with-token", "--resume")] {
        let args = [
            "auth",
            "login",
            "--host",
            &mock.url(),
            "--insecure",
            method,
            split,
        ];
        t.run_args(args).code(2).stdout("").stderr(&format!(
            "usage_invalid_flag: {method} cannot be combined with {split}\n\
             hint: --no-wait and --resume split the device flow in two; the other methods do \
             not wait for a person\n"
        ));
    }
    // The store is chosen when the sign-in starts.
    start(&t, &mock);
    t.run_args(resume_args(&["--token-storage", "keychain"]))
        .code(2)
        .stderr_has("--token-storage keychain does not match the pending sign-in to");
    assert!(
        mock.requests_to("/openapi/v1/oauth/device/token")
            .is_empty()
    );
    assert!(!t.config_dir().join("hosts.yml").exists());
}

#[test]
fn a_new_no_wait_replaces_the_entry_and_cleans_up_expired_ones() {
    let (a, b) = (MockDify::start(), MockDify::start());
    let t = Test::new();
    start(&t, &a);
    start(&t, &b);
    set_field(&t, &b.host(), "expires_at", LONG_AGO.into());
    // Again for a: a new code replaces a's; b's expired entry goes.
    let out = t.run_args(no_wait_args(&a)).code(0);
    out.stderr(&format!(
        "{}! this replaces the sign-in to {} that was pending\nSign-in pending; once the code is approved, run 'difyctl auth login --resume --host {}'\n",
        code_lines(&a.codes()[1].1, &format!("{}/device", a.url())),
        a.host(),
        a.host()
    ));
    let hosts = pending_hosts(&t);
    assert_eq!(hosts, [a.host()]);
    assert_eq!(
        entry(&t, &a.host())["user_code"],
        Yaml::from(a.codes()[1].1.clone())
    );
}

#[test]
fn blocking_login_json_names_the_stored_context() {
    let mock = MockDify::with(MockConfig::default().auto_approve());
    let t = Test::new().args(login_args(&mock).into_iter().chain(["--json".into()]));
    let out = t.run();
    let json = out.json();
    assert_eq!(
        json,
        serde_json::json!({
            "status": "approved",
            "host": mock.host(),
            "email": "tester@dify.ai",
            "name": "Tester",
            "workspace": {
                "id": crate::support::mock::DEFAULT_WORKSPACE_ID,
                "name": "Acme Team",
                "role": "owner"
            }
        })
    );
    out.code(0).stderr_has("Copy this one-time code");
}

// --- Ctrl-C -----------------------------------------------------------------

#[test]
fn ctrl_c_at_any_point_leaves_the_files_as_they_were() {
    // While --no-wait waits for the code.
    let mock = MockDify::with(MockConfig {
        hang: Some("/openapi/v1/oauth/device/code".into()),
        ..MockConfig::default()
    });
    let t = with_other_context(Test::new());
    let before = files(&t);
    let running = t.spawn_args(no_wait_args(&mock));
    mock.wait_for_request("POST", "/openapi/v1/oauth/device/code");
    running.signal("INT");
    running.finish().code(130).stdout("").stderr("\n");
    assert_eq!(files(&t), before);

    // While --resume polls, and while --resume --wait waits.
    let mock = MockDify::with(MockConfig {
        timing_slow_down: false,
        ..MockConfig::default()
    });
    start(&t, &mock);
    let saved = files(&t);
    mock.configure(|c| c.hang = Some("/openapi/v1/oauth/device/token".into()));
    let running = t.spawn_args(resume_args(&[]));
    mock.wait_for_request("POST", "/openapi/v1/oauth/device/token");
    running.signal("INT");
    running.finish().code(130).stdout("").stderr("\n");
    assert_eq!(files(&t), saved);

    mock.configure(|c| c.hang = None);
    set_field(&t, &mock.host(), "last_polled_at", LONG_AGO.into());
    let saved = files(&t);
    let running = t.spawn_args(resume_args(&["--wait"]));
    let polls = mock.polls().len();
    mock.wait_for_polls(polls + 1);
    running.signal("INT");
    let (_, user_code) = mock.codes().pop().unwrap();
    running.finish().code(130).stdout("").stderr(&format!(
        "! Copy this one-time code: {user_code}\n  Open: {}/device\n\n",
        mock.url()
    ));
    assert_eq!(files(&t), saved);
}

#[test]
fn the_label_is_recorded_and_kept_by_the_context() {
    let mock = MockDify::start();
    let t = Test::new();
    let mut args = no_wait_args(&mock);
    args.extend(["--label".into(), " agent on box-9 ".into()]);
    t.run_args(args).code(0).stderr(&saved_lines(&mock));
    assert_eq!(mock.device_labels(), ["agent on box-9"]);
    let e = entry(&t, &mock.host());
    assert_eq!(
        (&e["label"], &e["label_chosen"]),
        (&"agent on box-9".into(), &true.into())
    );

    // Another label at --resume is refused; the recorded one is stored.
    t.run_args(resume_args(&["--label", "other"]))
        .code(2)
        .stdout("")
        .stderr_has("--label does not match the pending sign-in to");
    let session = mock.approve(&mock.codes()[0].1);
    assert_eq!(session.device_label, "agent on box-9");
    t.run_args(resume_args(&[])).code(0).stdout(&success(&mock));
    let context = Context::of(&mock)
        .token_id(&session.id)
        .token_expires_at(&session.expires_at.replace('Z', "+00:00"))
        .device_label("agent on box-9");
    assert_eq!(
        t.read("hosts.yml").unwrap(),
        Hosts::file().with(context).to_string()
    );

    // The default label is recorded too, but not kept by the context.
    let t = Test::new();
    start(&t, &mock);
    assert_eq!(
        entry(&t, &mock.host())["label"],
        Yaml::from(format!("difyctl on {}", hostname()))
    );
    assert_eq!(entry(&t, &mock.host()).get("label_chosen"), None);
}

#[test]
fn any_resume_removes_expired_entries_and_a_damaged_file_is_refused() {
    let (a, b) = (MockDify::start(), MockDify::start());
    let t = Test::new();
    start(&t, &a);
    start(&t, &b);
    set_field(&t, &b.host(), "expires_at", LONG_AGO.into());
    // Without --host: b's entry has expired and goes, a is the only one.
    t.run_args(resume_args(&[]))
        .code(STILL_PENDING)
        .stdout("pending\n");
    assert_eq!(pending_hosts(&t), [a.host()]);
    assert_eq!(token_polls(&b), 0);

    // An entry that is not whole: the file is refused, by --resume and by
    // --no-wait before a code is requested, and left as it is.
    set_field(&t, &a.host(), "interval", "soon".into());
    let damaged = t.read(PENDING);
    let refused = format!("pending.{} is not a complete pending sign-in", a.host());
    let out = t
        .run_args(resume_args(&[]))
        .code(1)
        .stdout("")
        .stderr_has(&refused);
    assert_no_secrets(&out.stderr, &a);
    drop(out);
    let codes = a.codes().len();
    t.run_args(no_wait_args(&a))
        .code(1)
        .stdout("")
        .stderr_has(&refused);
    assert_eq!(a.codes().len(), codes);
    assert_eq!(t.read(PENDING), damaged);
}

#[test]
fn ctrl_c_on_a_terminal_while_resume_waits() {
    let mock = MockDify::start();
    let t = Test::new();
    start(&t, &mock);
    let before = files(&t);
    // The shell ignores SIGINT, lives on and reports the status.
    let line = format!(
        "trap '' INT; {} auth login --resume --wait; echo \"rc=$?\"",
        quote(BIN)
    );
    let Some(mut pty) = Pty::shell_env(&t, &line, &[("NO_COLOR", "1")]) else {
        return;
    };
    // The spinner turns while it polls.
    pty.wait_for("Waiting for authorization");
    mock.wait_for_polls(1);
    pty.type_in("\u{3}");
    let (_, screen) = pty.finish();
    assert!(screen.contains("rc=130"), "{screen}");
    assert_eq!(files(&t), before);
    assert!(mock.sessions().is_empty());
}
