//! The main commands against each server generation of the mock: Dify 1.14
//! (the `/switch` route, no catalog), 1.16 (`:switch`, edition `COMMUNITY`,
//! the client gate) and a server with the catalog handshake (the catalog and
//! its guard, paged workspaces), plus what the handshake does when the catalog
//! changes or never fits.

use crate::support::fixtures::{hosts_yml, signed_in, tokens_yml};
use crate::support::mock::{
    CATALOG_HEADER, DEFAULT_WORKSPACE_ID, MockConfig, MockDify, Recorded, STALE_MESSAGE,
    SwitchRoute,
};
use crate::support::runner::Test;

const TEAM_2: &str = "9e4d3c2b-1a0f-4e8d-b7c6-000000000002";

/// Each generation by name, with one workspace more than the default.
fn generations() -> Vec<(&'static str, MockConfig)> {
    [
        ("1.14", MockConfig::dify_1_14()),
        ("1.16", MockConfig::dify_1_16()),
        ("catalog", MockConfig::catalog_era()),
    ]
    .into_iter()
    .map(|(name, cfg)| (name, cfg.more_workspaces(1)))
    .collect()
}

/// `METHOD /path?query` of each request.
fn lines(requests: &[Recorded]) -> Vec<String> {
    requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// The catalog handshake's requests: the fetch, and the header on each
/// bearer request (which must be the server's current fingerprint, or none
/// for a server without a catalog).
#[track_caller]
fn check_headers(mock: &MockDify, requests: &[Recorded], catalog: bool) {
    let fingerprint = mock.catalog_fingerprint();
    for r in requests {
        let sent = r.header(CATALOG_HEADER);
        if r.header("authorization").is_some() && catalog {
            assert_eq!(sent, Some(fingerprint.as_str()), "{} {}", r.method, r.path);
        } else {
            assert_eq!(sent, None, "{} {}", r.method, r.path);
        }
    }
}

#[test]
fn the_main_commands_work_against_every_generation() {
    for (name, cfg) in generations() {
        let catalog = cfg.catalog;
        let mock = MockDify::with(cfg.auto_approve());
        let t = Test::new();
        let host = mock.host();
        t.run_args([
            "auth",
            "login",
            "--host",
            &mock.url(),
            "--insecure",
            "--no-browser",
        ])
        .code(0)
        .stdout(&format!(
            "✓ Logged in to {host} as tester@dify.ai (Tester)\n  Workspace: Acme Team\n"
        ))
        .stderr_has("! Copy this one-time code: ");
        let me = mock.sessions().pop().unwrap();
        // The device flow needs no catalog: nothing asked yet.
        assert!(
            mock.requests_to("/openapi/v1/_catalog").is_empty(),
            "{name}"
        );

        let out = t.run_args(["auth", "status"]).code(0).stderr("");
        assert!(
            out.stdout.ends_with("  status:    valid\n"),
            "{name}: {}",
            out.stdout
        );
        t.run_args(["auth", "token"])
            .code(0)
            .stderr("")
            .stdout(&format!("{}\n", me.token));
        t.run_args(["auth", "devices", "list"])
            .code(0)
            .stderr("")
            .stdout_has(&me.device_label);
        let other = mock.add_session("laptop");
        t.run_args(["auth", "devices", "revoke", "laptop"])
            .code(0)
            .stderr("")
            .stdout("✓ Revoked 1 session(s)\n");
        assert_eq!(
            mock.revoked_ids(),
            std::slice::from_ref(&other.id),
            "{name}"
        );
        t.run_args(["use", "workspace", TEAM_2])
            .code(0)
            .stderr("")
            .stdout(&format!("✓ Switched to Team 2 ({TEAM_2})\n"));
        assert_eq!(mock.config().default_workspace_id.as_deref(), Some(TEAM_2));
        let out = t.run_args(["api", "account"]).code(0).stderr("");
        assert_eq!(out.json()["account"]["email"], "tester@dify.ai", "{name}");
        t.run_args(["auth", "logout"])
            .code(0)
            .stderr("")
            .stdout(&format!("✓ Logged out of {host}\n"));
        // Logout revoked the session on the server.
        assert_eq!(mock.revoked_ids(), [other.id, me.id], "{name}");

        let requests = mock.requests();
        check_headers(&mock, &requests, catalog);
        // The catalog was asked for once, by the first bearer command.
        let fetches: Vec<usize> = (0..requests.len())
            .filter(|&i| requests[i].path == "/openapi/v1/_catalog")
            .collect();
        assert_eq!(fetches.len(), 1, "{name}: {:?}", lines(&requests));
        assert_eq!(
            requests[fetches[0] + 1].path,
            "/openapi/v1/account",
            "{name}"
        );
        let switch = match mock.config().switch_route {
            SwitchRoute::Slash => format!("POST /openapi/v1/workspaces/{TEAM_2}/switch"),
            SwitchRoute::Colon => format!("POST /openapi/v1/workspaces/{TEAM_2}:switch"),
        };
        let sent = lines(&requests);
        assert!(sent.contains(&switch), "{name}: {sent:?}");
        // Nothing probed `_version`: the answers name the version.
        assert!(
            mock.requests_to("/openapi/v1/_version").is_empty(),
            "{name}"
        );
    }
}

#[test]
fn pasted_and_environment_tokens_work_against_every_generation() {
    for (name, cfg) in generations() {
        let catalog = cfg.catalog;
        let mock = MockDify::with(cfg);
        let s = mock.add_session("difyctl on ci");
        let t = Test::new().stdin(format!("{}\n", s.token));
        t.run_args([
            "auth",
            "login",
            "--with-token",
            "--host",
            &mock.url(),
            "--insecure",
        ])
        .code(0)
        .stderr("")
        .stdout(&format!(
            "✓ Logged in to {} as tester@dify.ai (Tester)\n  Workspace: Acme Team\n",
            mock.host()
        ));

        let t = Test::new()
            .env("DIFY_TOKEN", &s.token)
            .env("DIFY_HOST", mock.url())
            .env("DIFY_INSECURE", "1");
        let out = t.run_args(["auth", "status", "--json"]).code(0).stderr("");
        assert_eq!(out.json()["token_source"], "DIFY_TOKEN", "{name}");
        t.run_args(["use", "workspace", DEFAULT_WORKSPACE_ID])
            .code(0)
            .stderr("")
            .stdout(&format!(
                "✓ Switched to Acme Team ({DEFAULT_WORKSPACE_ID})\n"
            ));
        let out = t.run_args(["api", "account"]).code(0).stderr("");
        assert_eq!(out.json()["subject_email"], "tester@dify.ai");
        assert!(
            !t.config_dir().exists(),
            "{name}: DIFY_TOKEN writes no config"
        );
        check_headers(&mock, &mock.requests(), catalog);
    }
}

#[test]
fn the_steady_state_costs_no_request() {
    for (name, cfg) in generations() {
        let mock = MockDify::with(cfg);
        let (t, _) = signed_in(&mock);
        t.run_args(["auth", "devices", "list"]).code(0).stderr("");
        let first = lines(&mock.take_requests());
        assert_eq!(
            first,
            [
                "GET /openapi/v1/_catalog",
                "GET /openapi/v1/account/sessions?page=1&limit=20"
            ],
            "{name}"
        );
        for _ in 0..2 {
            t.run_args(["auth", "devices", "list"]).code(0).stderr("");
            t.run_args(["api", "account"]).code(0).stderr("");
            assert_eq!(
                lines(&mock.take_requests()),
                [
                    "GET /openapi/v1/account/sessions?page=1&limit=20",
                    "GET /openapi/v1/account"
                ],
                "{name}"
            );
        }
    }
}

#[test]
fn a_catalog_that_changes_within_one_command_is_followed() {
    for announced in [false, true] {
        let mock = MockDify::with(MockConfig::catalog_era());
        let (t, me) = signed_in(&mock);
        let others: Vec<String> = (0..2)
            .map(|k| mock.add_session(&format!("box {k}")).id)
            .collect();
        t.run_args(["auth", "status"]).code(0).stderr("");
        mock.take_requests();
        // The deploy lands right after the session list.
        mock.change_catalog_after(1, announced);
        let before = mock.catalog_fingerprint();
        t.run_args(["auth", "devices", "revoke", "--all"])
            .code(0)
            .stderr("")
            .stdout("✓ Revoked 2 session(s)\n");
        let after = mock.catalog_fingerprint();
        assert_ne!(before, after);
        let requests = mock.take_requests();
        let sent: Vec<(String, Option<&str>)> = requests
            .iter()
            .map(|r| (format!("{} {}", r.method, r.path), r.header(CATALOG_HEADER)))
            .collect();
        let list = "GET /openapi/v1/account/sessions?page=1&limit=200".to_string();
        let catalog = "GET /openapi/v1/_catalog".to_string();
        let delete = |id: &str| format!("DELETE /openapi/v1/account/sessions/{id}");
        // Newest first: box 1, then box 0.
        let (a, b) = (delete(&others[1]), delete(&others[0]));
        let expected: Vec<(String, Option<&str>)> = if announced {
            // The list's answer names the new catalog: fetched before the next request.
            vec![
                (list, Some(&before)),
                (catalog, None),
                (a, Some(&after)),
                (b, Some(&after)),
            ]
        } else {
            // Unannounced: the next request meets a 412, then goes again once.
            vec![
                (list, Some(&before)),
                (a.clone(), Some(&before)),
                (catalog, None),
                (a, Some(&after)),
                (b, Some(&after)),
            ]
        };
        assert_eq!(sent, expected, "announced: {announced}");
        let live: Vec<String> = mock.sessions().into_iter().map(|s| s.id).collect();
        assert_eq!(live, std::slice::from_ref(&me.id));
    }
}

#[test]
fn a_catalog_changed_since_the_last_command_costs_one_retry() {
    let mock = MockDify::with(MockConfig::catalog_era());
    let (t, _) = signed_in(&mock);
    t.run_args(["auth", "status"]).code(0).stderr("");
    mock.take_requests();
    mock.change_catalog();
    t.run_args(["use", "workspace", DEFAULT_WORKSPACE_ID])
        .code(0)
        .stderr("");
    let switch = format!("POST /openapi/v1/workspaces/{DEFAULT_WORKSPACE_ID}:switch");
    assert_eq!(
        lines(&mock.take_requests()),
        [switch.clone(), "GET /openapi/v1/_catalog".into(), switch]
    );
    // And the next command is back to its own requests.
    t.run_args(["auth", "token"]).code(0).stderr("");
    t.run_args(["api", "account"]).code(0).stderr("");
    assert_eq!(lines(&mock.take_requests()), ["GET /openapi/v1/account"]);
}

#[test]
fn a_412_that_persists_is_a_version_mismatch_exit_6() {
    let mock = MockDify::with(MockConfig {
        catalog_always_stale: true,
        ..MockConfig::catalog_era()
    });
    let (t, me) = signed_in(&mock);
    let url = mock.url();
    let mismatch = "catalog_stale: the server refuses difyctl's request even with its current \
        catalog: this difyctl and this server's version do not match\nhint: upgrade difyctl (or \
        the server) so both speak the same API; run again with -v to see the exchange\n";
    t.run_args(["auth", "status"])
        .code(6)
        .stdout("")
        .stderr(&format!(
            "{mismatch}request: GET {url}/openapi/v1/account\nhttp_status: 412\n"
        ));
    assert_eq!(
        lines(&mock.take_requests()),
        [
            "GET /openapi/v1/_catalog",
            "GET /openapi/v1/account",
            "GET /openapi/v1/_catalog",
            "GET /openapi/v1/account"
        ]
    );
    let out = t
        .run_args(["auth", "devices", "list", "--json"])
        .code(6)
        .stdout("");
    let envelope: serde_json::Value = serde_json::from_str(&out.stderr).unwrap();
    assert_eq!(envelope["error"]["code"], "catalog_stale");
    assert_eq!(envelope["error"]["server"]["message"], STALE_MESSAGE);
    // `api` prints the server's body and exits 6 too.
    let out = t.run_args(["api", "account"]).code(6).stderr_has(
        "catalog_stale: the server refuses difyctl's request even with its current catalog",
    );
    assert!(out.stdout.contains("\"catalog_stale\""), "{}", out.stdout);
    t.run_args(["use", "workspace", DEFAULT_WORKSPACE_ID])
        .code(6)
        .stdout("")
        .stderr_has("catalog_stale: the server refuses");
    mock.take_requests();
    // Logout sent its revoke (with the catalog, twice) and says it failed.
    let out = t.run_args(["auth", "logout"]).code(0);
    assert!(
        out.stderr
            .starts_with("! server revoke failed (the server refuses difyctl's request"),
        "{}",
        out.stderr
    );
    let revokes = mock.requests_to("/openapi/v1/account/sessions/self");
    assert_eq!(revokes.len(), 2);
    assert!(revokes.iter().all(|r| r.header(CATALOG_HEADER).is_some()));
    assert!(!mock.session_for_token(&me.token).unwrap().revoked);
}

#[test]
fn a_catalog_that_is_not_its_fingerprint_is_version_skew() {
    let mock = MockDify::with(MockConfig {
        catalog_bad_fingerprint: true,
        ..MockConfig::catalog_era()
    });
    let (t, _) = signed_in(&mock);
    t.run_args(["auth", "status"])
        .code(6)
        .stdout("")
        .stderr_has(
            "version_skew: cannot use the server's catalog: the catalog does not match its \
             fingerprint (X-Dify-Catalog)\n",
        );
    assert_eq!(lines(&mock.requests()), ["GET /openapi/v1/_catalog"]);
}

#[test]
fn use_workspace_takes_either_route_and_learns_an_upgrade() {
    let mock = MockDify::with(MockConfig::dify_1_14().more_workspaces(1));
    let (t, _) = signed_in(&mock);
    t.run_args(["use", "workspace", TEAM_2]).code(0).stderr("");
    let slash = format!("POST /openapi/v1/workspaces/{TEAM_2}/switch");
    let colon = format!("POST /openapi/v1/workspaces/{TEAM_2}:switch");
    assert_eq!(
        lines(&mock.take_requests()),
        ["GET /openapi/v1/_catalog".to_string(), slash.clone()]
    );
    // The server is upgraded to 1.16: `/switch` is gone.
    mock.configure(|c| {
        c.version = "1.16.1".into();
        c.switch_route = SwitchRoute::Colon;
    });
    for _ in 0..2 {
        t.run_args(["use", "workspace", TEAM_2])
            .code(0)
            .stderr("")
            .stdout(&format!("✓ Switched to Team 2 ({TEAM_2})\n"));
    }
    assert_eq!(lines(&mock.take_requests()), [slash, colon.clone(), colon]);
    // A workspace the account is not in: the server's own 404, asked once.
    t.run_args(["use", "workspace", "9e4d3c2b-1a0f-4e8d-b7c6-0000000000ff"])
        .code(1)
        .stdout("")
        .stderr_has("not_found: workspace not found\n");
    assert_eq!(mock.take_requests().len(), 1);
}

#[test]
fn the_workspace_picker_follows_the_pages() {
    for (name, paged) in [("unpaged", false), ("paged", true)] {
        let mock = MockDify::with(MockConfig {
            paged_workspaces: paged,
            ..MockConfig::catalog_era().more_workspaces(149)
        });
        let (t, _) = signed_in(&mock);
        let Some((code, shown)) =
            crate::support::pty::on_a_terminal(&t, &["use", "workspace"], "150\n")
        else {
            return;
        };
        assert_eq!(code, 0, "{shown}");
        // The numbers are right-aligned, so the rows stay in columns.
        assert!(
            shown.contains("\n    1) * Acme Team  (owner)\n")
                && shown.contains("\n   10)   Team 10    (normal)\n")
                && shown.contains("\n  150)   Team 150   (normal)\n"),
            "{name}: {shown}"
        );
        let last = "9e4d3c2b-1a0f-4e8d-b7c6-000000000096";
        assert!(
            shown.ends_with(&format!("✓ Switched to Team 150 ({last})\n")),
            "{shown}"
        );
        let lists: Vec<String> = lines(&mock.requests())
            .into_iter()
            .filter(|l| l.starts_with("GET /openapi/v1/workspaces"))
            .collect();
        let expected: &[&str] = if paged {
            &[
                "GET /openapi/v1/workspaces?page=1&limit=100",
                "GET /openapi/v1/workspaces?page=2&limit=100",
            ]
        } else {
            &["GET /openapi/v1/workspaces?page=1&limit=100"]
        };
        assert_eq!(lists, expected, "{name}");
    }
}

#[test]
fn the_client_gate_of_newer_servers_never_matches_difyctl_rs() {
    let mock = MockDify::with(MockConfig {
        min_difyctl_version: Some("99.0.0".into()),
        ..MockConfig::dify_1_16()
    });
    let (t, _) = signed_in(&mock);
    t.run_args(["auth", "status"]).code(0).stderr("");
    for r in mock.requests() {
        let agent = r.header("user-agent").unwrap();
        assert!(agent.starts_with("difyctl-rs/"), "{agent}");
    }
    // A gate that does refuse: version_skew, exit 6.
    mock.configure(|c| c.upgrade_required = true);
    t.run_args(["auth", "status"])
        .code(6)
        .stdout("")
        .stderr_has("upgrade_required: difyctl is too old\n");
}

#[test]
fn what_was_learned_is_kept_in_the_cache_dir() {
    let mock = MockDify::with(MockConfig::catalog_era());
    let (t, s) = signed_in(&mock);
    let cache = t.dir.path().join("cache");
    let t = t.env("DIFY_CACHE_DIR", &cache);
    t.run_args(["auth", "status"]).code(0).stderr("");
    let name = format!("http%3A%2F%2F127.0.0.1%3A{}.json", mock.port());
    let file = cache.join("servers").join(&name);
    let memo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(memo["catalog"]["fingerprint"], mock.catalog_fingerprint());
    assert_eq!(memo["version"], "1.18.0");
    assert_eq!(crate::support::runner::mode(&file), 0o600);
    assert_eq!(crate::support::runner::mode(&cache.join("servers")), 0o700);
    let leftovers: Vec<_> = std::fs::read_dir(cache.join("servers"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, [std::ffi::OsString::from(&name)]);

    // XDG_CACHE_HOME when DIFY_CACHE_DIR is not set.
    let xdg = t.dir.path().join("xdg");
    let u = Test::new()
        .hosts(hosts_yml(&mock, Some(&s.id)))
        .tokens(tokens_yml(&mock, &s.token))
        .env("XDG_CACHE_HOME", &xdg);
    u.run_args(["auth", "status"]).code(0).stderr("");
    assert!(xdg.join("difyctl/servers").join(&name).is_file());

    // A garbled memo is replaced; a cache that cannot be written costs a
    // request per command and nothing else.
    std::fs::write(&file, "{garbage").unwrap();
    mock.take_requests();
    let status = [
        "GET /openapi/v1/account",
        "GET /openapi/v1/account/sessions?page=1&limit=200",
    ];
    let with_fetch = ["GET /openapi/v1/_catalog", status[0], status[1]];
    t.run_args(["auth", "status"]).code(0).stderr("");
    assert_eq!(lines(&mock.take_requests()), with_fetch);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("fingerprint")
    );
    let blocked = t.dir.path().join("not-a-dir");
    std::fs::write(&blocked, "").unwrap();
    let t = t.env("DIFY_CACHE_DIR", &blocked);
    for _ in 0..2 {
        t.run_args(["auth", "status"]).code(0).stderr("");
        assert_eq!(lines(&mock.take_requests()), with_fetch);
    }
}
