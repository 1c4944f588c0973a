//! `auth whoami` against `hosts.yml` files as the official tool writes them,
//! and what the local commands say with no context at all.

use crate::common::{EXAMPLE, NOT_LOGGED_IN, TEAM_NOTHING_ACTIVE, sso, team};
use crate::support::fixtures::{Context, Hosts};
use crate::support::runner::Test;

#[test]
fn whoami_on_the_official_example() {
    let t = Test::new().hosts(EXAMPLE);
    // No token is stored anywhere: whoami is about hosts.yml only, and exits 0.
    t.run_args(["auth", "whoami"])
        .code(0)
        .stderr("")
        .stdout("dev@example.com (Dev)\n");
    t.run_args(["auth", "whoami", "--json"])
        .code(0)
        .stderr("")
        .stdout("{\"id\":\"a2\",\"email\":\"dev@example.com\",\"name\":\"Dev\"}\n");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(EXAMPLE));
    assert_eq!(t.snapshot().len(), 1, "nothing but hosts.yml was created");
}

#[test]
fn whoami_external_sso() {
    let t = Test::new().hosts(sso());
    t.run_args(["auth", "whoami"])
        .code(0)
        .stderr("")
        .stdout("sam@corp.example (external SSO, issuer: https://idp.corp.example)\n");
    t.run_args(["auth", "whoami", "--json"])
        .code(0)
        .stderr("")
        .stdout(
            "{\"subject_type\":\"external_sso\",\"email\":\"sam@corp.example\",\"issuer\":\"https://idp.corp.example\"}\n",
        );

    let no_issuer = sso().replace("issuer: https://idp.corp.example", "issuer: ''");
    let t = Test::new().hosts(&no_issuer);
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("sam@corp.example (external SSO)\n");
    t.run_args(["auth", "whoami", "--json"]).code(0).stdout(
        "{\"subject_type\":\"external_sso\",\"email\":\"sam@corp.example\",\"issuer\":\"\"}\n",
    );
}

#[test]
fn whoami_without_name_or_id() {
    let t = Test::new()
        .hosts(Hosts::file().with(Context::new("h.example", "bob@example.com").name("")));
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("bob@example.com\n");
    t.run_args(["auth", "whoami", "--json"])
        .code(0)
        .stdout("{\"id\":\"\",\"email\":\"bob@example.com\",\"name\":\"\"}\n");
}

#[test]
fn no_context_at_all() {
    // No config dir: nothing is created by any of these.
    let t = Test::new();
    let not_logged_in = "not_logged_in: not logged in\nhint: run 'difyctl auth login'\n";
    t.run_args(["auth", "whoami"])
        .code(4)
        .stdout("")
        .stderr(not_logged_in);
    t.run_args(["auth", "list"])
        .code(0)
        .stderr("")
        .stdout("HOST  ACCOUNT  ACTIVE\n");
    t.run_args(["auth", "list", "-o", "name"])
        .code(0)
        .stdout("\n");
    t.run_args(["auth", "list", "-o", "json"])
        .code(0)
        .stdout("{\n  \"contexts\": []\n}\n");
    t.run_args(["auth", "list", "-o", "yaml"])
        .code(0)
        .stdout("contexts: []\n");
    t.run_args(["auth", "list", "-o", "table"])
        .code(2)
        .stdout("")
        .stderr("illegal_argument: illegal value table for flag --output / -o\nhint: supported value: json, yaml, name\n");
    t.run_args(["use", "host"])
        .code(4)
        .stdout("")
        .stderr(not_logged_in);
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(4)
        .stderr(not_logged_in);
    let no_host =
        "not_logged_in: not logged in\nhint: run 'difyctl use host' or 'difyctl auth login'\n";
    t.run_args(["use", "account"]).code(4).stderr(no_host);
    t.run_args(["use", "account", "--email", "a@b.c"])
        .code(4)
        .stderr(no_host);
    assert!(!t.config_dir().exists(), "a read created the config dir");
}

#[test]
fn empty_registry_after_a_full_logout() {
    let empty = Hosts::keychain().to_string();
    let t = Test::new().hosts(&empty);
    t.run_args(["auth", "whoami"])
        .code(4)
        .stderr("not_logged_in: not logged in\nhint: run 'difyctl auth login'\n");
    t.run_args(["auth", "list"])
        .code(0)
        .stdout("HOST  ACCOUNT  ACTIVE\n");
    t.run_args(["use", "host", "--domain", "x"])
        .code(4)
        .stderr(NOT_LOGGED_IN);
    assert_eq!(t.read("hosts.yml"), Some(empty));
}

#[test]
fn active_pointer_missing_at_any_level_is_not_logged_in() {
    for yaml in [
        // current_host names no stored host
        team().replace("current_host: cloud.dify.ai", "current_host: gone.example"),
        // no current_host
        team().replace("current_host: cloud.dify.ai\n", ""),
        // the host has no current_account
        team().replace(
            "current_host: cloud.dify.ai",
            "current_host: localhost:5001",
        ),
        // current_account names no stored account
        team().replace(
            "current_account: alice@example.com",
            "current_account: gone@example.com",
        ),
    ] {
        let t = Test::new().hosts(&yaml);
        t.run_args(["auth", "whoami"])
            .code(4)
            .stdout("")
            .stderr(TEAM_NOTHING_ACTIVE);
        let list = t.run_args(["auth", "list", "-o", "json"]).code(0).json();
        let contexts = list["contexts"].as_array().unwrap();
        assert_eq!(contexts.len(), 4, "{yaml}");
        assert!(contexts.iter().all(|c| c["active"] == false), "{yaml}");
    }
}
