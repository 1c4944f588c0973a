//! The file builders of support/fixtures.rs write what the official tool
//! writes, so a fixture built with them reads as a real file would and a
//! file difyctl rewrote compares equal to one built.

use crate::support::fixtures::{Context, Hosts, NO_HOSTS, NO_TOKENS, Tokens};
use crate::support::runner::Test;

#[test]
fn hosts_builds_the_official_example_to_the_byte() {
    let example = Hosts::keychain()
        .with(
            Context::new("cloud.dify.ai", "alice@example.com")
                .id("acc-1")
                .name("Alice")
                .workspace("ws-1", "Acme Team", "owner")
                .token_id("tok-1"),
        )
        .with(
            Context::new("localhost:5001", "dev@example.com")
                .http()
                .id("a2")
                .name("Dev")
                .token_id("t2"),
        )
        .current_host(Some("localhost:5001"));
    assert_eq!(
        example.to_string(),
        include_str!("../fixtures/hosts-example.yml")
    );
    assert_eq!(Hosts::file().to_string(), NO_HOSTS);
    assert_eq!(Tokens::new().to_string(), NO_TOKENS);
}

#[test]
fn difyctl_writes_back_what_the_builders_write() {
    // Every field and pointer the builders know: an SSO context, an empty
    // name, no id, a stored expiry, a host without a current account.
    let hosts = |current: &str| {
        Hosts::file()
            .with(
                Context::new("cloud.dify.ai", "alice@example.com")
                    .id("acc-1")
                    .name("")
                    .token_id("tok-1")
                    .token_expires_at("2026-12-21T12:00:00.000+00:00"),
            )
            .with(
                Context::new("cloud.dify.ai", "sam@corp.example")
                    .sso("https://idp.corp.example")
                    .token_id("tok-2"),
            )
            .with(
                Context::new("localhost:5001", "dev@example.com")
                    .http()
                    .name("Dev"),
            )
            .current_host(Some(current))
            .current_account("localhost:5001", None)
            .to_string()
    };
    let tokens = Tokens::new()
        .with("cloud.dify.ai", "alice@example.com", "dfoa_a")
        .with("cloud.dify.ai", "sam@corp.example", "dfoe_s")
        .to_string();
    let t = Test::new().hosts(hosts("cloud.dify.ai")).tokens(&tokens);
    t.run_args(["use", "host", "--domain", "localhost:5001"])
        .stdout("✓ Active host is now localhost:5001\n")
        .file("hosts.yml", &hosts("localhost:5001"));
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .stdout("✓ Active host is now cloud.dify.ai\n")
        .file("hosts.yml", &hosts("cloud.dify.ai"))
        .file("tokens.yml", &tokens);
}
