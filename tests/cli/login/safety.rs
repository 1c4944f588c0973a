//! What a sign-in refuses or survives: it never switches the scheme of the
//! contexts stored for a host; ports out of range and paths after the host are
//! refused before anything is stored or sent; a keychain item that would be
//! another context's is refused; a `hosts.yml` that cannot be written leaves no
//! token behind; numbers from the server never crash it; and the process is not
//! dumpable.

use crate::support::fixtures::{
    Context, Hosts, Tokens, mock_code_lines, other_hosts, other_tokens, signed_in,
    with_other_context,
};
use crate::support::mock::{Hostile, MockConfig, MockDify};
use crate::support::runner::{Test, output_with_stdin};
use crate::support::tools;

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
    Hosts::file()
        .with(Context::of(mock).https().token_id("t-1"))
        .to_string()
}

/// The refusal of a sign-in over `new` to a host stored with `old`.
fn pinned(host: &str, old: &str, new: &str) -> String {
    format!(
        "usage_invalid_flag: {host} is stored with {old}:// (1 context); signing in over \
         {new}:// would switch its context to {new}://\n\
         hint: sign in with --host {old}://{host}, or first log out of every context on \
         {host} ('difyctl auth logout --host {host} --account EMAIL', see 'difyctl auth list')\n"
    )
}

#[test]
fn a_sign_in_never_switches_the_scheme_of_stored_contexts() {
    let mock = auto();
    let host = mock.host();
    // Stored over https; a second account over http would drag it along.
    let t = Test::new()
        .hosts(stored_over_https(&mock))
        .tokens(crate::support::fixtures::tokens_yml(&mock, "dfoa_tls"));
    let before = t.snapshot();
    t.run_args(login(&mock.url(), &["--insecure"]))
        .code(2)
        .stdout("")
        .stderr(&pinned(&host, "https", "http"));
    assert_eq!(t.snapshot(), before);
    assert!(mock.requests().is_empty(), "refused before any request");

    // The other way round: stored over http, signing in over https.
    let (t, _) = signed_in(&mock);
    let before = t.snapshot();
    t.run_args(login(&format!("https://{host}"), &[]))
        .code(2)
        .stdout("")
        .stderr(&pinned(&host, "http", "https"));
    assert_eq!(t.snapshot(), before);

    // With the same scheme the sign-in goes through; with nothing stored on
    // the host any scheme does.
    t.run_args(login(&mock.url(), &["--insecure"]))
        .stderr(&mock_code_lines(&mock));
    let t = with_other_context(Test::new());
    t.run_args(login(&mock.url(), &["--insecure"]))
        .stderr(&mock_code_lines(&mock));
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
// Keychain item names

#[test]
fn a_sign_in_whose_keychain_item_would_be_another_contexts_is_refused() {
    let mock = MockDify::with(MockConfig::default().auto_approve().email("corp.me@x.io"));
    let host = mock.host();
    // `tokens.<host>.corp.me@x.io` is also the item of (`<host>.corp`, `me@x.io`).
    let corp = format!("{host}.corp");
    let t = Test::new()
        .hosts(Hosts::file().with(Context::new(&corp, "me@x.io")))
        .tokens(Tokens::new().with(&corp, "me@x.io", "dfoa_corp"));
    let before = t.snapshot();
    t.run_args(login(&mock.url(), &["--insecure"]))
        .code(2)
        .stdout("")
        .stderr(&format!(
            "! Copy this one-time code: {code}\n  Open: {url}/device\n\
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
    assert_eq!(t.read("hosts.yml").as_deref(), Some(other_hosts().as_str()));
    assert_eq!(
        t.read("tokens.yml").as_deref(),
        Some(other_tokens().as_str())
    );
    assert_eq!(t.leftovers(), Vec::<String>::new());
    // And the session it minted does not live on with nobody holding it.
    assert_eq!(mock.sessions(), vec![]);
    assert_eq!(mock.revoked_ids().len(), 1);
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
