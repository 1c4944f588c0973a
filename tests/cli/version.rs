//! `difyctl version` against the mock server: every verdict and detail, the
//! text, JSON and YAML reports, `--client`, `--short` and `--check-compat`,
//! and the probe itself (no token, one attempt, a short timeout).
//!
//! `difyctl --version` is the client alone.

use std::time::Duration;

use crate::support::fixtures::{Tokens, hosts_yml};
use crate::support::mock::{Hostile, MockConfig, MockDify};
use crate::support::runner::Test;
use serde_json::json;

#[test]
fn version() {
    let version = env!("CARGO_PKG_VERSION");
    // What src/build.rs gave this build (checked against git in tests/release.rs).
    let commit = env!("DIFYCTL_COMMIT");
    let t = Test::new();
    t.run_args(["--version"])
        .code(0)
        .stdout(&format!("difyctl {version} ({commit})\n"));
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What src/build.rs gave this build.
const COMMIT: &str = env!("DIFYCTL_COMMIT");

const BUILD_DATE: &str = env!("DIFYCTL_BUILD_DATE");

/// The supported range, as the report shows it.
const MIN: &str = "1.14.0";

const MAX: &str = "1.18.0";

/// The Client block of the text report, and the blank line after it.
fn client_text() -> String {
    let (id, mark) = COMMIT.split_at(COMMIT.find('-').unwrap_or(COMMIT.len()));
    let short: String = id.chars().take(7).collect();
    format!(
        "Client:\n  Version:   {VERSION} (channel: stable)\n  Commit:    {short}{mark} (built \
         {BUILD_DATE})\n  Platform:  linux/x64\n  Compat:    dify >={MIN}, <={MAX}\n\n"
    )
}

/// The whole text report for a server that was asked.
fn report(endpoint: &str, version_line: &str, verdict: &str) -> String {
    format!(
        "{}Server:\n  Endpoint:  {endpoint}\n  Version:   {version_line}\n\nCompatibility: {verdict}\n",
        client_text()
    )
}

/// The whole text report when no server was asked.
fn skipped(verdict: &str) -> String {
    format!(
        "{}Server:\n  (skipped — no host configured or --client passed)\n\nCompatibility: {verdict}\n",
        client_text()
    )
}

/// A config dir whose active context is on the mock (no token needed).
fn on(mock: &MockDify) -> Test {
    Test::new().hosts(hosts_yml(mock, None))
}

/// The one request made, which must be the probe.
#[track_caller]
fn one_probe(mock: &MockDify) {
    let requests = mock.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let probe = &requests[0];
    assert_eq!(
        (probe.method.as_str(), probe.path.as_str()),
        ("GET", "/openapi/v1/_version")
    );
    assert_eq!(probe.header("authorization"), None, "no token is sent");
}

#[test]
fn a_supported_server_is_ok() {
    let mock = MockDify::start();
    let t = on(&mock).tokens(Tokens::new());
    let before = t.snapshot();
    t.run_args(["version"]).code(0).stderr("").stdout(&report(
        &mock.url(),
        "1.14.2 (self_hosted)",
        &format!("ok — server 1.14.2 in [{MIN}, {MAX}]"),
    ));
    one_probe(&mock);
    assert_eq!(t.snapshot(), before, "nothing written");
    // The edition as the server reports it, lower-cased; --check-compat passes.
    mock.configure(|c| {
        c.version = "1.16.1".into();
        c.edition = "COMMUNITY".into();
    });
    t.run_args(["version", "--check-compat"])
        .code(0)
        .stderr("")
        .stdout(&report(
            &mock.url(),
            "1.16.1 (community)",
            &format!("ok — server 1.16.1 in [{MIN}, {MAX}]"),
        ));
}

#[test]
fn every_server_generation_difyctl_is_verified_against_is_in_range() {
    // The range covers the servers the tests emulate (and the README names).
    for (config, shown) in [
        (MockConfig::dify_1_14(), "1.14.2 (self_hosted)"),
        (MockConfig::dify_1_16(), "1.16.1 (community)"),
        (MockConfig::catalog_era(), "1.18.0 (community)"),
    ] {
        let mock = MockDify::with(config);
        let version = mock.config().version;
        on(&mock)
            .run_args(["version", "--check-compat"])
            .code(0)
            .stderr("")
            .stdout(&report(
                &mock.url(),
                shown,
                &format!("ok — server {version} in [{MIN}, {MAX}]"),
            ));
        one_probe(&mock);
    }
}

#[test]
fn a_server_outside_the_range_is_incompatible_and_check_compat_exits_64() {
    let mock = MockDify::start();
    mock.configure(|c| {
        c.version = "1.6.4".into();
        c.edition = "CLOUD".into();
    });
    let t = on(&mock);
    let text = report(
        &mock.url(),
        "1.6.4 (cloud)",
        &format!("incompatible — server 1.6.4 outside [{MIN}, {MAX}]"),
    );
    t.run_args(["version"]).code(0).stderr("").stdout(&text);
    t.run_args(["version", "--check-compat"])
        .code(64)
        .stdout(&text)
        .stderr(&format!("server 1.6.4 outside [{MIN}, {MAX}]\n"));
    // Newer than the range too.
    mock.configure(|c| c.version = "1.18.1".into());
    t.run_args(["version", "--check-compat"])
        .code(64)
        .stderr(&format!("server 1.18.1 outside [{MIN}, {MAX}]\n"));
}

#[test]
fn an_empty_version_is_unknown() {
    let mock = MockDify::start();
    mock.configure(|c| c.version = String::new());
    let t = on(&mock);
    t.run_args(["version"]).code(0).stderr("").stdout(&report(
        &mock.url(),
        " (self_hosted)",
        "unknown — server version unknown",
    ));
    t.run_args(["version", "--check-compat"])
        .code(64)
        .stderr("server version unknown\n");
    // `null` is no version either.
    let mock = MockDify::start();
    mock.configure(|c| {
        c.hostile = vec![(
            "/openapi/v1/_version".into(),
            Hostile::json(&json!({"version": null, "edition": null})),
        )]
    });
    on(&mock).run_args(["version"]).code(0).stdout(&report(
        &mock.url(),
        "",
        "unknown — server version unknown",
    ));
}

#[test]
fn a_version_that_is_not_semver_is_unknown() {
    // In the body only: a header cannot carry an escape character.
    let mock = MockDify::start();
    mock.configure(|c| {
        c.hostile = vec![(
            "/openapi/v1/_version".into(),
            Hostile::json(&json!({"version": "nightly-2026\u{1b}[2J", "edition": "SELF_HOSTED"})),
        )]
    });
    let t = on(&mock);
    let detail = "server version \"nightly-2026\\u001b[2J\" is not valid semver";
    t.run_args(["version"]).code(0).stderr("").stdout(&report(
        &mock.url(),
        "nightly-2026 (self_hosted)",
        &format!("unknown — {detail}"),
    ));
    t.run_args(["version", "--check-compat"])
        .code(64)
        .stderr(&format!("{detail}\n"));
}

#[test]
fn an_unreachable_server_is_unknown() {
    // Nothing listens on the port of a mock that has stopped.
    let gone = MockDify::start();
    let t = on(&gone);
    let url = gone.url();
    drop(gone);
    let text = report(&url, "(unreachable)", "unknown — server unreachable");
    t.run_args(["version"]).code(0).stderr("").stdout(&text);
    t.run_args(["version", "--check-compat"])
        .code(64)
        .stdout(&text)
        .stderr("server unreachable\n");

    // An error status, a server without the OpenAPI, an answer that is not
    // the version: unreachable too, after one attempt each.
    let mock = MockDify::start();
    let t = on(&mock);
    let text = report(&mock.url(), "(unreachable)", "unknown — server unreachable");
    mock.fail_next("/openapi/v1/_version", 1, 503);
    t.run_args(["version"]).code(0).stdout(&text);
    one_probe(&mock);
    mock.configure(|c| c.openapi_disabled = true);
    t.run_args(["version"]).code(0).stdout(&text);
    mock.configure(|c| {
        c.openapi_disabled = false;
        c.hostile = vec![(
            "/openapi/v1/_version".into(),
            Hostile::body("text/html", "<html>"),
        )];
    });
    t.run_args(["version"]).code(0).stdout(&text);
    assert_eq!(mock.requests_to("/openapi/v1/_version").len(), 3);
}

#[test]
fn a_server_that_does_not_answer_is_given_two_seconds() {
    let mock = MockDify::start();
    mock.configure(|c| c.hang = Some("/openapi/v1/_version".into()));
    let t = on(&mock);
    // Well below the 30 s of other requests: a probe that waited that long
    // would fail here.
    t.spawn_args(["version"])
        .finish_within(Duration::from_secs(20))
        .code(0)
        .stdout(&report(
            &mock.url(),
            "(unreachable)",
            "unknown — server unreachable",
        ));
}

#[test]
fn without_a_host_nothing_is_asked() {
    let t = Test::new();
    t.run_args(["version"])
        .code(0)
        .stderr("")
        .stdout(&skipped("unknown — no host configured"));
    t.run_args(["version", "--check-compat"])
        .code(64)
        .stdout(&skipped("unknown — no host configured"))
        .stderr("no host configured\n");
    assert!(!t.config_dir().exists(), "nothing created");
    // A hosts.yml without an active context is no host either.
    Test::new()
        .hosts("hosts: {}\n")
        .args(["version"])
        .run()
        .code(0)
        .stdout(&skipped("unknown — no host configured"));
}

#[test]
fn an_unreadable_hosts_file_is_reported() {
    Test::new()
        .hosts("current_host: [unclosed\n")
        .args(["version"])
        .run()
        .code(0)
        .stderr("")
        .stdout(&skipped("unknown — hosts file unreadable"));
}

#[test]
fn client_skips_the_server() {
    let mock = MockDify::start();
    let t = on(&mock);
    t.run_args(["version", "--client"])
        .code(0)
        .stderr("")
        .stdout(&skipped("unknown — server probe skipped"));
    t.run_args(["version", "--client", "--check-compat"])
        .code(64)
        .stderr("server probe skipped\n");
    assert!(mock.requests().is_empty());
}

#[test]
fn short_prints_the_client_version_alone() {
    let mock = MockDify::start();
    let t = on(&mock);
    for args in [
        &["version", "--short"][..],
        &["version", "--short", "-o", "json"],
        &["version", "--short", "--check-compat"],
    ] {
        t.run_args(args)
            .code(0)
            .stderr("")
            .stdout(&format!("{VERSION}\n"));
    }
    assert!(mock.requests().is_empty());
}

#[test]
fn json_and_yaml_reports() {
    let mock = MockDify::start();
    let t = on(&mock);
    let out = t.run_args(["version", "-o", "json"]).code(0).stderr("");
    assert_eq!(
        out.json(),
        json!({
            "client": {
                "version": VERSION,
                "commit": COMMIT,
                "buildDate": BUILD_DATE,
                "channel": "stable",
                "platform": "linux",
                "arch": "x64",
            },
            "server": {
                "endpoint": mock.url(),
                "reachable": true,
                "version": "1.14.2",
                "edition": "SELF_HOSTED",
            },
            "compat": {
                "minDify": MIN,
                "maxDify": MAX,
                "status": "compatible",
                "detail": format!("server 1.14.2 in [{MIN}, {MAX}]"),
            },
        })
    );
    // Pretty-printed, keys in the official order.
    assert!(
        out.stdout
            .starts_with("{\n  \"client\": {\n    \"version\": "),
        "{}",
        out.stdout
    );
    // A commit of digits only (or digits around one `e`) reads as a number
    // unquoted, so YAML output quotes it, as js-yaml does.
    let commit = match serde_yaml::from_str::<serde_yaml::Value>(COMMIT) {
        Ok(serde_yaml::Value::String(_)) => COMMIT.to_string(),
        _ => format!("'{COMMIT}'"),
    };
    let yaml = format!(
        "client:\n  version: {VERSION}\n  commit: {commit}\n  buildDate: '{BUILD_DATE}'\n  \
         channel: stable\n  platform: linux\n  arch: x64\nserver:\n  endpoint: {url}\n  \
         reachable: true\n  version: 1.14.2\n  edition: SELF_HOSTED\ncompat:\n  minDify: {MIN}\n  \
         maxDify: {MAX}\n  status: compatible\n  detail: server 1.14.2 in [{MIN}, {MAX}]\n",
        url = mock.url()
    );
    t.run_args(["version", "-o", "yaml"])
        .code(0)
        .stderr("")
        .stdout(&yaml);
    // -o text is the default.
    t.run_args(["version", "-o", "text"])
        .code(0)
        .stdout_has("Compatibility: ok");
}

#[test]
fn json_reports_of_every_other_verdict() {
    let server =
        |endpoint: &str, reachable: bool| json!({"endpoint": endpoint, "reachable": reachable});
    let compat = |status: &str, detail: &str| json!({"minDify": MIN, "maxDify": MAX, "status": status, "detail": detail});
    // No host; --client.
    let t = Test::new();
    let out = t.run_args(["version", "-o", "json"]).code(0);
    assert_eq!(out.json()["server"], server("", false));
    assert_eq!(
        out.json()["compat"],
        compat("unknown", "no host configured")
    );
    let out = t.run_args(["version", "-o", "json", "--client"]).code(0);
    assert_eq!(
        out.json()["compat"],
        compat("unknown", "server probe skipped")
    );
    // Unreachable.
    let gone = MockDify::start();
    let t = on(&gone);
    let url = gone.url();
    drop(gone);
    let out = t.run_args(["version", "-o", "json"]).code(0);
    assert_eq!(out.json()["server"], server(&url, false));
    assert_eq!(
        out.json()["compat"],
        compat("unknown", "server unreachable")
    );
    // Incompatible, with --check-compat: the report on stdout, the reason on
    // stderr as one plain line (not the JSON error envelope).
    let mock = MockDify::start();
    mock.configure(|c| c.version = "2.0.0".into());
    let t = on(&mock);
    let out = t
        .run_args(["version", "-o", "json", "--check-compat"])
        .code(64)
        .stderr(&format!("server 2.0.0 outside [{MIN}, {MAX}]\n"));
    assert_eq!(
        out.json()["compat"],
        compat(
            "unsupported",
            &format!("server 2.0.0 outside [{MIN}, {MAX}]")
        )
    );
    assert_eq!(out.json()["server"]["version"], "2.0.0");
}

#[test]
fn the_server_of_dify_token_and_dify_host() {
    // The server a command would use: DIFY_HOST with DIFY_TOKEN needs no
    // stored context, and an http:// host needs no DIFY_INSECURE (no token
    // is sent).
    let mock = MockDify::start();
    Test::new()
        .env("DIFY_TOKEN", "dfoa_not_sent")
        .env("DIFY_HOST", mock.url())
        .args(["version"])
        .run()
        .code(0)
        .stderr("")
        .stdout(&report(
            &mock.url(),
            "1.14.2 (self_hosted)",
            &format!("ok — server 1.14.2 in [{MIN}, {MAX}]"),
        ));
    one_probe(&mock);
}

#[test]
fn a_bad_output_format_is_a_usage_error() {
    Test::new()
        .args(["version", "-o", "name"])
        .run()
        .code(2)
        .stdout("")
        .stderr(
            "illegal_argument: illegal value name for flag --output / -o\n\
             hint: supported value: text, json, yaml\n",
        );
}

#[test]
fn on_a_colour_terminal_the_verdict_and_the_skipped_server_are_marked() {
    use crate::support::pty::{Pty, command_line};
    let mock = MockDify::start();
    mock.configure(|c| c.version = "1.6.4".into());
    let t = on(&mock);
    let Some(pty) = Pty::shell(&t, &command_line(&["version"])) else {
        return;
    };
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.ends_with(&format!(
            "\n\u{1b}[33mCompatibility: incompatible — server 1.6.4 outside [{MIN}, {MAX}]\u{1b}[0m\n"
        )),
        "{screen:?}"
    );
    let pty = Pty::shell(&t, &command_line(&["version", "--client"])).unwrap();
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains(
            "Server:\n  \u{1b}[2m(skipped — no host configured or --client passed)\u{1b}[0m\n"
        ),
        "{screen:?}"
    );
    // NO_COLOR: plain text, as in a pipe.
    let pty = Pty::shell_env(&t, &command_line(&["version"]), &[("NO_COLOR", "1")]).unwrap();
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(
        screen,
        report(
            &mock.url(),
            "1.6.4 (self_hosted)",
            &format!("incompatible — server 1.6.4 outside [{MIN}, {MAX}]"),
        )
    );
}
