//! The compatibility banner against the mock server: shown on a terminal
//! once per server per 24 hours when a signed-in command finds the server
//! outside the supported range, recorded in `nudge.yml` in the cache
//! directory; never without a terminal, never with `--json`, never failing
//! the command. The terminal is a real pseudo-terminal (`script`).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::fixtures::signed_in;
use crate::support::mock::{DEFAULT_WORKSPACE_ID, MockDify};
use crate::support::pty::{Pty, command_line, on_a_terminal};
use crate::support::runner::Test;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn banner(server_version: &str) -> String {
    format!(
        "warning: difyctl {VERSION} may be incompatible with server {server_version} \
         (tested: 1.14.0..1.18.0). Run `difyctl version` for details.\n"
    )
}

/// The cache directory of a test: `$HOME/.cache/difyctl` (no
/// `XDG_CACHE_HOME`, no `DIFY_CACHE_DIR`).
fn cache_dir(t: &Test) -> PathBuf {
    t.dir.path().join("home/.cache/difyctl")
}

fn nudge_yml(t: &Test) -> Option<String> {
    std::fs::read_to_string(cache_dir(t).join("nudge.yml")).ok()
}

/// `nudge.yml` saying the banner about `mock` was shown `ago` before now.
fn warned_ago(t: &Test, mock: &MockDify, ago: Duration) {
    let at = SystemTime::now() - ago;
    let secs = at.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let dir = cache_dir(t);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("nudge.yml"),
        format!(
            "warned:\n  {}: '{}.000Z'\n",
            mock.url(),
            iso(secs).trim_end_matches('Z')
        ),
    )
    .unwrap();
}

/// `YYYY-MM-DDTHH:MM:SSZ` with date(1), which every test machine has.
fn iso(secs: u64) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A mock reporting a version this build does not support, and a config
/// dir signed in to it that has talked to it once (outside a terminal: no
/// banner), so its version is known.
fn old_server() -> (MockDify, Test) {
    let mock = MockDify::start();
    mock.configure(|c| {
        c.version = "1.6.4".into();
        c.edition = "CLOUD".into();
    });
    let (t, _) = signed_in(&mock);
    t.run_args(["auth", "status"]).code(0).stderr("");
    assert_eq!(nudge_yml(&t), None);
    (mock, t)
}

#[test]
fn once_per_server_per_day_on_a_terminal() {
    let (mock, t) = old_server();
    let Some((code, screen)) = on_a_terminal(&t, &["auth", "devices", "list"], "") else {
        return;
    };
    assert_eq!(code, 0, "{screen}");
    assert!(screen.starts_with(&banner("1.6.4")), "{screen}");
    assert!(screen.contains("DEVICE"), "the command ran:\n{screen}");
    // Recorded for this server, in the official shape.
    let recorded = nudge_yml(&t).expect("nudge.yml written");
    let prefix = format!("warned:\n  {}: '", mock.url());
    assert!(
        recorded.starts_with(&prefix) && recorded.ends_with("Z'\n"),
        "{recorded}"
    );
    let stamp = &recorded[prefix.len()..recorded.len() - 2];
    assert_eq!(stamp.len(), "2026-06-15T10:00:00.000Z".len(), "{stamp}");

    // The next commands keep quiet, whichever they are.
    for args in [
        &["auth", "devices", "list"][..],
        &["auth", "status"],
        &["api", "account"],
    ] {
        let (code, screen) = on_a_terminal(&t, args, "").unwrap();
        assert_eq!(code, 0, "{screen}");
        assert!(!screen.contains("warning:"), "{args:?}:\n{screen}");
    }
    assert_eq!(nudge_yml(&t).unwrap(), recorded, "unchanged");

    // 23 hours later: still quiet. 25 hours later: shown again.
    warned_ago(&t, &mock, Duration::from_secs(23 * 3600));
    let (code, screen) = on_a_terminal(&t, &["auth", "status"], "").unwrap();
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("warning:"), "{screen}");
    warned_ago(&t, &mock, Duration::from_secs(25 * 3600));
    let (code, screen) = on_a_terminal(&t, &["auth", "status"], "").unwrap();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.starts_with(&banner("1.6.4")), "{screen}");
    let again = nudge_yml(&t).unwrap();
    assert!(again.starts_with(&prefix) && again != recorded, "{again}");
    // use workspace and api warn too.
    for args in [
        &["use", "workspace", DEFAULT_WORKSPACE_ID][..],
        &["api", "account"],
    ] {
        warned_ago(&t, &mock, Duration::from_secs(25 * 3600));
        let (code, screen) = on_a_terminal(&t, args, "").unwrap();
        assert_eq!(code, 0, "{screen}");
        assert!(screen.starts_with(&banner("1.6.4")), "{args:?}:\n{screen}");
    }
}

#[test]
fn every_server_has_its_own_day() {
    let (first, t) = old_server();
    let Some((code, screen)) = on_a_terminal(&t, &["auth", "status"], "") else {
        return;
    };
    assert_eq!(code, 0, "{screen}");
    assert!(screen.starts_with(&banner("1.6.4")), "{screen}");
    // Another server, by DIFY_TOKEN and DIFY_HOST, in the same directories.
    let second = MockDify::start();
    second.configure(|c| c.version = "2.0.0".into());
    let token = second.add_session("ci").token;
    // In colour this time: the banner is yellow.
    let env = [("DIFY_TOKEN", token.as_str()), ("DIFY_INSECURE", "1")];
    let url = second.url();
    let mut env = env.to_vec();
    env.push(("DIFY_HOST", url.as_str()));
    // Once without a terminal, so its version is known.
    let mut warm = t.command();
    warm.args(["auth", "status"]).envs(env.iter().copied());
    t.run_command(warm, b"").code(0).stderr("");
    let pty = Pty::shell_env(&t, &command_line(&["auth", "status"]), &env).unwrap();
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    let line = banner("2.0.0");
    let yellow = format!("\u{1b}[33m{}\u{1b}[0m\n", line.trim_end());
    assert!(screen.starts_with(&yellow), "{screen:?}");
    let recorded = nudge_yml(&t).unwrap();
    for server in [first.url(), second.url()] {
        assert!(recorded.contains(&format!("\n  {server}: '")), "{recorded}");
    }
    // The first one is still quiet.
    let (code, screen) = on_a_terminal(&t, &["auth", "status"], "").unwrap();
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("warning:"), "{screen}");
}

#[test]
fn never_without_a_terminal_nor_with_json() {
    let (mock, t) = old_server();
    for args in [
        &["auth", "devices", "list"][..],
        &["auth", "devices", "list", "--json"],
        &["auth", "status"],
        &["auth", "status", "--json"],
        &["api", "account"],
    ] {
        t.run_args(args).code(0).stderr("");
    }
    // No probe either: only the commands' own requests.
    assert!(mock.requests_to("/openapi/v1/_version").is_empty());
    assert_eq!(nudge_yml(&t), None);
    // On a terminal, --json keeps it quiet too.
    for args in [
        &["auth", "devices", "list", "--json"][..],
        &["auth", "status", "--json"],
    ] {
        let Some((code, screen)) = on_a_terminal(&t, args, "") else {
            return;
        };
        assert_eq!(code, 0, "{screen}");
        assert!(!screen.contains("warning:"), "{screen}");
    }
    assert_eq!(nudge_yml(&t), None);
}

#[test]
fn never_for_a_supported_server_nor_for_local_commands() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    for args in [&["auth", "devices", "list"][..], &["auth", "status"]] {
        let Some((code, screen)) = on_a_terminal(&t, args, "") else {
            return;
        };
        assert_eq!(code, 0, "{screen}");
        assert!(!screen.contains("warning:"), "{screen}");
    }
    assert_eq!(nudge_yml(&t), None);
    // Local commands never ask the server.
    let (mock, t) = old_server();
    let before = mock.requests().len();
    for args in [
        &["auth", "whoami"][..],
        &["auth", "list"],
        &["auth", "token"],
    ] {
        let (code, screen) = on_a_terminal(&t, args, "").unwrap();
        assert_eq!(code, 0, "{screen}");
        assert!(!screen.contains("warning:"), "{screen}");
    }
    assert_eq!(mock.requests().len(), before);
}

#[test]
fn a_cache_that_cannot_be_written_never_fails_the_command() {
    let (_mock, t) = old_server();
    // nudge.yml cannot be written (a directory stands there): the banner is
    // shown each time, since it cannot be recorded.
    std::fs::create_dir_all(cache_dir(&t).join("nudge.yml")).unwrap();
    for _ in 0..2 {
        let Some((code, screen)) = on_a_terminal(&t, &["auth", "devices", "list"], "") else {
            return;
        };
        assert_eq!(code, 0, "{screen}");
        assert!(screen.starts_with(&banner("1.6.4")), "{screen}");
        assert!(screen.contains("DEVICE"), "{screen}");
    }
    // No cache directory at all (it is a file): nothing is known or recorded,
    // so no banner, and the command works.
    let blocker = t.dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let t = t.env("DIFY_CACHE_DIR", &blocker);
    for _ in 0..2 {
        let (code, screen) = on_a_terminal(&t, &["auth", "devices", "list"], "").unwrap();
        assert_eq!(code, 0, "{screen}");
        assert!(!screen.contains("warning:"), "{screen}");
        assert!(screen.contains("DEVICE"), "{screen}");
    }
    assert_eq!(std::fs::read(&blocker).unwrap(), b"");
}

#[test]
fn the_server_version_costs_no_request() {
    let mock = MockDify::start();
    mock.configure(|c| c.version = "1.6.4".into());
    let (t, _) = signed_in(&mock);
    // First contact: the version is not known before the command's own
    // answers name it, so only the next command can warn.
    let Some((code, screen)) = on_a_terminal(&t, &["auth", "devices", "list"], "") else {
        return;
    };
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("warning:"), "{screen}");
    let (code, screen) = on_a_terminal(&t, &["auth", "devices", "list"], "").unwrap();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.starts_with(&banner("1.6.4")), "{screen}");

    // A server replaced by an old one is found out the same way.
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    for _ in 0..2 {
        let (code, screen) = on_a_terminal(&t, &["auth", "status"], "").unwrap();
        assert_eq!(code, 0, "{screen}");
        assert!(!screen.contains("warning:"), "{screen}");
    }
    mock.configure(|c| c.version = "2.0.0".into());
    let (code, screen) = on_a_terminal(&t, &["auth", "status"], "").unwrap();
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("warning:"), "{screen}");
    let (code, screen) = on_a_terminal(&t, &["auth", "status"], "").unwrap();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.starts_with(&banner("2.0.0")), "{screen}");
    assert!(
        mock.requests_to("/openapi/v1/_version").is_empty(),
        "never a request of its own"
    );
}
