//! Trust (issue 13): no race, failure or look-alike sends a token to the
//! wrong place or leaves one that nothing points at.
//!
//! * Hosts: a sign-in never changes the scheme of the contexts stored for a
//!   host; ports out of range, and paths after the host, are refused before
//!   anything is stored or sent; `DIFY_TOKEN` goes to an `http://` host only
//!   with `DIFY_INSECURE`.
//! * Writes: a sign-in whose `hosts.yml` cannot be written leaves no token
//!   behind.
//!
//! Locks and crashes are in crash.rs.

mod support;

use support::fixtures::{OTHER_HOSTS, OTHER_TOKENS, signed_in, with_other_context};
use support::mock::{Hostile, MockConfig, MockDify};
use support::runner::{Test, output_with_stdin, set_mode};
use support::tools;

fn auto() -> MockDify {
    MockDify::with(MockConfig::default().auto_approve())
}

fn login(host: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["auth", "login", "--host", host, "--no-browser"]
        .map(String::from)
        .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

// ---------------------------------------------------------------------------
// Hosts: scheme, port, path

/// The mock's context stored as if it had been signed in to over https.
fn stored_over_https(mock: &MockDify) -> String {
    support::fixtures::hosts_yml(mock, Some("t-1")).replace("    scheme: http\n", "")
}

#[test]
fn a_sign_in_never_switches_the_scheme_of_stored_contexts() {
    let mock = auto();
    let host = mock.host();
    // Stored over https; a second account over http would drag it along.
    let t = Test::new()
        .hosts(&stored_over_https(&mock))
        .tokens(&support::fixtures::tokens_yml(&mock, "dfoa_tls"));
    let before = t.snapshot();
    t.run_args(login(&mock.url(), &["--insecure"]))
        .code(2)
        .stdout("")
        .stderr(&format!(
            "usage_invalid_flag: {host} is stored with https:// (1 context); signing in over \
             http:// would switch its context to http://\n\
             hint: sign in with --host https://{host}, or first log out of every context on \
             {host} ('difyctl auth logout --host {host} --account EMAIL', see 'difyctl auth list')\n"
        ));
    assert_eq!(t.snapshot(), before);
    assert!(mock.requests().is_empty(), "refused before any request");

    // The other way round: stored over http, signing in over https.
    let (t, _) = signed_in(&mock);
    let before = t.snapshot();
    t.run_args(login(&format!("https://{host}"), &[]))
        .code(2)
        .stdout("")
        .stderr(&format!(
            "usage_invalid_flag: {host} is stored with http:// (1 context); signing in over \
             https:// would switch its context to https://\n\
             hint: sign in with --host http://{host}, or first log out of every context on \
             {host} ('difyctl auth logout --host {host} --account EMAIL', see 'difyctl auth list')\n"
        ));
    assert_eq!(t.snapshot(), before);

    // With the same scheme the sign-in goes through; with nothing stored on
    // the host any scheme does.
    t.run_args(login(&mock.url(), &["--insecure"])).code(0);
    let t = with_other_context(Test::new());
    t.run_args(login(&mock.url(), &["--insecure"])).code(0);
}

#[test]
fn ports_out_of_range_and_paths_after_the_host_are_refused_before_anything_happens() {
    let mock = auto();
    let t = with_other_context(Test::new());
    let before = t.snapshot();
    for (host, message) in [
        (
            "https://h.example:99999".to_string(),
            "host parse: port 99999 is out of range (1 to 65535)".to_string(),
        ),
        (
            "h.example:0".to_string(),
            "host parse: port 0 is out of range (1 to 65535)".to_string(),
        ),
        (
            format!("{}/dify/", mock.url()),
            "host parse: a path after the host (/dify) is not supported".to_string(),
        ),
    ] {
        let out = t.run_args(login(&host, &["--insecure"])).code(2).stdout("");
        assert!(
            out.stderr
                .starts_with(&format!("usage_invalid_flag: {message}\n")),
            "{host}: {}",
            out.stderr
        );
        assert_eq!(t.snapshot(), before, "{host}");
    }
    let out = t
        .run_args(login(&format!("{}/dify", mock.url()), &["--insecure"]))
        .code(2);
    assert!(
        out.stderr.ends_with(&format!(
            "hint: difyctl talks to {0}/openapi/v1; pass --host {0} (the Dify API must be \
             served at the root of its host)\n",
            mock.url()
        )),
        "{}",
        out.stderr
    );
    assert!(mock.requests().is_empty());
    // Selecting a stored context: the same port rule.
    t.run_args(["auth", "token", "--host", "cloud.dify.ai:65536"])
        .code(2)
        .stdout("")
        .stderr(
            "usage_invalid_flag: --host: host parse: port 65536 is out of range (1 to 65535)\n",
        );
}

#[test]
fn dify_token_goes_to_an_http_host_only_when_allowed() {
    let mock = MockDify::start();
    let s = mock.add_session("ci runner");
    let t = Test::new()
        .env("DIFY_TOKEN", &s.token)
        .env("DIFY_HOST", mock.url());
    let host = mock.host();
    t.run_args(["auth", "status"])
        .code(2)
        .stdout("")
        .stderr(&format!(
            "usage_invalid_flag: DIFY_TOKEN would travel in clear text to http://{host} \
             (DIFY_HOST)\n\
             hint: use an https:// host, or set DIFY_INSECURE=1 to allow http:// (local-dev only)\n"
        ));
    assert!(mock.requests().is_empty(), "nothing was sent");
    t.run_args(["api", "account"]).code(2);
    assert!(mock.requests().is_empty(), "nothing was sent");
    let allowed = t.env("DIFY_INSECURE", "1");
    allowed.run_args(["api", "account"]).code(0);
    assert_eq!(mock.command_requests().len(), 1);
    assert!(!allowed.config_dir().exists());
}

// ---------------------------------------------------------------------------
// Numbers from the server

/// A device code answer with these `expires_in`/`interval` fields (raw JSON).
fn code_with(fields: &str) -> MockDify {
    let body = format!(
        r#"{{"device_code":"dc_unknown_to_the_mock","user_code":"ABCD-3456",
        "verification_uri":"http://127.0.0.1/device"{fields}}}"#
    );
    MockDify::with(MockConfig::default().hostile(
        "/openapi/v1/oauth/device/code",
        Hostile::body("application/json", &body),
    ))
}

#[test]
fn server_numbers_never_crash_or_stop_a_sign_in() {
    // Huge, float, missing, zero and negative numbers: the sign-in goes on
    // to poll (the mock knows no such code, so the poll says it expired).
    for fields in [
        r#","expires_in":9223372036854775807,"interval":5"#,
        r#","expires_in":9223372036854775806.0,"interval":1e30"#,
        r#","expires_in":900.0,"interval":5.0"#,
        "",
        r#","expires_in":0,"interval":0"#,
        r#","expires_in":-9223372036854775808,"interval":-1"#,
        r#","expires_in":"soon","interval":[5]"#,
    ] {
        let mock = code_with(fields);
        let t = Test::new();
        let out = t
            .run_args(login(&mock.url(), &["--insecure"]))
            .code(4)
            .stdout("");
        assert!(
            out.stderr.ends_with(
                "expired_token: code expired before authorization\n\
                 hint: run 'difyctl auth login' again and approve the code within its lifetime\n"
            ),
            "{fields}: {}",
            out.stderr
        );
        assert_eq!(
            mock.requests_to("/openapi/v1/oauth/device/token").len(),
            1,
            "{fields}"
        );
    }
}

// ---------------------------------------------------------------------------
// Look-alikes

#[test]
fn values_that_differ_only_by_invisible_characters_never_look_the_same() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let plain = mock.add_session("build box");
    let zero_width = mock.add_session("build\u{200b} box");
    let no_break = mock.add_session("build\u{a0}box");
    let bidi = mock.add_session("build\u{202e} box");
    let out = t.run_args(["auth", "devices", "list"]).code(0).stderr("");
    for shown in [
        "build box ",
        "build\\u{200b} box ",
        "build\\u{a0}box ",
        "build\\u{202e} box ",
    ] {
        assert!(out.stdout.contains(shown), "{shown:?} in\n{}", out.stdout);
    }
    // In errors as well (the ambiguous match lists them).
    let out = t
        .run_args(["auth", "devices", "revoke", "build"])
        .code(2)
        .stdout("");
    assert_eq!(
        out.stderr,
        format!(
            "usage_invalid_flag: \"build\" matches multiple sessions: build\\u{{202e}} box ({}), \
             build\\u{{a0}}box ({}), build\\u{{200b}} box ({}), build box ({}); pass an exact \
             id to disambiguate\n",
            bidi.id, no_break.id, zero_width.id, plain.id
        )
    );
    // JSON keeps the value, escaped so that a terminal shows it too.
    let out = t.run_args(["auth", "devices", "list", "--json"]).code(0);
    assert!(out.stdout.contains(r"build\u200b box"), "{}", out.stdout);
}

#[test]
fn the_revoke_prompt_shows_invisible_characters_too() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let twin = mock.add_session("difyctl on\u{200b} box");
    let Some((code, shown)) =
        support::pty::on_a_terminal(&t, &["auth", "devices", "revoke", &twin.id], "n\n")
    else {
        return;
    };
    assert_eq!(code, 2, "{shown}");
    assert!(
        shown.contains(&format!(
            "  difyctl on\\u{{200b}} box ({})\nRevoke 1 session(s)? [y/N] ",
            twin.id
        )),
        "{shown}"
    );
}

#[test]
fn verbose_lines_show_server_text_like_everything_else() {
    let mock = MockDify::with(MockConfig::default().hostile(
        "/openapi/v1/account",
        Hostile::body("application/json\u{9b}2J\u{202e}", "{}"),
    ));
    let (t, _) = signed_in(&mock);
    let out = t.run_args(["auth", "status", "-v"]);
    assert!(
        !out.stderr.contains(['\u{9b}', '\u{202e}']),
        "raw in -v:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("< HTTP 200 (2 bytes, ")
            && out.stderr.contains(" application/json\\u{202e}\n"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------
// Keychain item names

#[test]
fn a_sign_in_whose_keychain_item_would_be_another_contexts_is_refused() {
    let mock = MockDify::with(MockConfig::default().auto_approve().email("corp.me@x.io"));
    let host = mock.host();
    // `tokens.<host>.corp.me@x.io` is also the item of (`<host>.corp`, `me@x.io`).
    let hosts = format!(
        "token_storage: file\ncurrent_host: {host}.corp\nhosts:\n  {host}.corp:\n    \
         current_account: me@x.io\n    accounts:\n      me@x.io:\n        account:\n          \
         email: me@x.io\n"
    );
    let tokens = format!("version: 1\ntokens:\n  {host}.corp:\n    me@x.io: dfoa_corp\n");
    let t = Test::new().hosts(&hosts).tokens(&tokens);
    let before = t.snapshot();
    t.run_args(login(&mock.url(), &["--insecure"]))
        .code(2)
        .stdout("")
        .stderr(&format!(
            "! Copy this one-time code: {code}\n  Open: {url}/device\n\
             ! --no-browser requested — open the URL above manually\n\
             usage_invalid_flag: corp.me@x.io on {host} and the stored me@x.io on {host}.corp \
             would share the keychain item \"tokens.{host}.corp.me@x.io\"\n\
             hint: difyctl and the official tool name keychain items tokens.<host>.<email>; keep \
             one of the two: log out of the other first ('difyctl auth logout --host {host}.corp \
             --account me@x.io')\n",
            code = mock.codes()[0].1,
            url = mock.url(),
        ));
    assert_eq!(t.snapshot(), before);
    // The session the refused sign-in minted was ended.
    assert_eq!(mock.sessions(), vec![]);
    assert_eq!(mock.revoked_ids().len(), 1);
}

#[test]
fn two_stored_contexts_sharing_a_keychain_item_read_neither_token() {
    // As another tool could have written it: both contexts, one item.
    let hosts = "token_storage: keychain\ncurrent_host: dify\nhosts:\n  dify:\n    \
        current_account: corp.me@x.io\n    accounts:\n      corp.me@x.io:\n        account:\n          \
        email: corp.me@x.io\n  dify.corp:\n    current_account: me@x.io\n    accounts:\n      \
        me@x.io:\n        account:\n          email: me@x.io\n";
    let t = Test::new().hosts(hosts);
    t.run_args(["auth", "token"]).code(1).stdout("").stderr(
        "client_error: corp.me@x.io on dify and me@x.io on dify.corp share the keychain item \
         \"tokens.dify.corp.me@x.io\": whose token it holds cannot be told\n\
         hint: log out of one of them ('difyctl auth logout --host dify.corp --account me@x.io') \
         and sign in to the other again\n",
    );
    t.run_args(["auth", "token", "--host", "dify.corp"])
        .code(1)
        .stdout("");
}

// ---------------------------------------------------------------------------
// Writes

/// A sign-in under strace with the `n`th rename failing with ENOSPC (the
/// first is tokens.yml's, the second hosts.yml's). `None` without strace.
fn sign_in_with_a_full_disk(t: &Test, mock: &MockDify, n: usize) -> Option<(i32, String)> {
    if !tools::strace() {
        return None;
    }
    let inject = format!("inject=rename:error=ENOSPC:when={n}");
    let mut cmd = t.command_under("strace", &["-f", "-qq", "-o", "/dev/null", "-e", &inject]);
    cmd.args(login(&mock.url(), &["--insecure"]));
    let out = output_with_stdin(cmd, b"");
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn a_sign_in_whose_hosts_yml_cannot_be_written_leaves_no_token() {
    let mock = auto();
    let t = with_other_context(Test::new());
    let Some((code, stderr)) = sign_in_with_a_full_disk(&t, &mock, 2) else {
        return;
    };
    let hosts = t.config_dir().join("hosts.yml").display().to_string();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.ends_with(&format!(
            "client_error: Failed to write {hosts}: No space left on device (os error 28)\n"
        )),
        "{stderr}"
    );
    // Both files as they were: the token went in, and out again.
    assert_eq!(t.read("hosts.yml").as_deref(), Some(OTHER_HOSTS));
    assert_eq!(t.read("tokens.yml").as_deref(), Some(OTHER_TOKENS));
    assert_eq!(t.leftovers(), Vec::<String>::new());
    // And the session it minted does not live on with nobody holding it.
    assert_eq!(mock.sessions(), vec![]);
    assert_eq!(mock.revoked_ids().len(), 1);
}

// ---------------------------------------------------------------------------
// Foreign configuration directories

#[test]
fn a_config_dir_or_store_others_can_change_is_refused() {
    let t = with_other_context(Test::new());
    let dir = t.config_dir();
    let hosts = dir.join("hosts.yml");
    let refused = |t: &Test, path: &std::path::Path, mode: &str, fix: &str| {
        let before = t.snapshot();
        let p = path.display();
        for args in [
            &["auth", "list"][..],
            &["use", "host", "--domain", "cloud.dify.ai"],
            &["auth", "token"],
        ] {
            t.run_args(args).code(1).stdout("").stderr(&format!(
                "client_error: {p} is writable by other users (mode {mode}); refusing to use it\n\
                 hint: run 'chmod {fix} {p}'\n"
            ));
        }
        assert_eq!(t.snapshot(), before);
    };
    set_mode(&dir, 0o777);
    refused(&t, &dir, "0777", "700");
    set_mode(&dir, 0o770);
    refused(&t, &dir, "0770", "700");
    set_mode(&dir, 0o700);
    set_mode(&hosts, 0o620);
    refused(&t, &hosts, "0620", "600");
    set_mode(&hosts, 0o600);
    set_mode(&dir.join("tokens.yml"), 0o666);
    t.run_args(["auth", "token"]).code(1).stdout("");
    set_mode(&dir.join("tokens.yml"), 0o600);
    t.run_args(["auth", "token"]).code(0).stdout("dfoa_alice\n");
    // Read-only is fine (a copied config dir handed to an agent).
    set_mode(&hosts, 0o400);
    set_mode(&dir, 0o500);
    t.run_args(["auth", "list", "-o", "name"])
        .code(0)
        .stdout("alice@example.com\n");
    set_mode(&dir, 0o700);
}

#[test]
fn a_config_dir_owned_by_another_user_is_refused() {
    use std::os::unix::fs::{MetadataExt, chown};
    let t = with_other_context(Test::new());
    let dir = t.config_dir();
    if std::fs::metadata(&dir).unwrap().uid() != 0 {
        tools::skip("only root can give a directory away");
        return;
    }
    chown(&dir, Some(65534), None).unwrap();
    let p = dir.display();
    t.run_args(["auth", "list"])
        .code(1)
        .stdout("")
        .stderr(&format!(
            "client_error: {p} is owned by another user (uid 65534, not 0); refusing to use it\n\
         hint: use a configuration directory of your own (DIFY_CONFIG_DIR), or 'chown 0 {p}'\n"
        ));
    chown(&dir, Some(0), None).unwrap();
    chown(dir.join("hosts.yml"), Some(65534), None).unwrap();
    t.run_args(["auth", "whoami"]).code(1).stdout("");
}

// ---------------------------------------------------------------------------
// The process itself

/// While it runs (here: waiting for a sign-in to be approved), difyctl is
/// not dumpable: no core file, no ptrace or memory reading by the same
/// user. The kernel shows it by giving its /proc/<pid> files to root, which
/// a run as another user than root makes visible.
#[test]
fn the_process_is_not_dumpable() {
    use std::os::unix::fs::MetadataExt;
    use std::process::Stdio;
    let mock = MockDify::start();
    let t = Test::new().args(login(&mock.url(), &["--insecure"]));
    let as_root = std::fs::metadata(t.dir.path()).unwrap().uid() == 0;
    let mut cmd = if as_root {
        if !tools::available("setpriv") {
            return;
        }
        t.command_under(
            "setpriv",
            &["--reuid=65534", "--regid=65534", "--clear-groups"],
        )
    } else {
        t.command()
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    mock.wait_for_polls(1);
    let owner = std::fs::metadata(format!("/proc/{}/environ", child.id()))
        .unwrap()
        .uid();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(owner, 0, "its /proc files belong to its user: dumpable");
}
