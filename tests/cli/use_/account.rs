//! `use account` against `hosts.yml` files as the official tool writes them:
//! exact output, exit codes and files left behind.

use crate::common::{EXAMPLE, TEAM_NOTHING_ACTIVE, sso, team, team_tokens};
use crate::support::fixtures::Tokens;
use crate::support::runner::Test;

fn sso_tokens() -> Tokens {
    Tokens::new()
        .with("cloud.dify.ai", "alice@example.com", "dfoa_alice")
        .with("sso.example.com", "sam@corp.example", "dfoe_sam")
}

#[test]
fn use_account_switches_on_the_current_host() {
    let t = Test::new().hosts(team()).tokens(team_tokens());
    t.run_args(["use", "account", "--email", "sam@corp.example"])
        .code(0)
        .stderr("")
        .stdout("✓ Active account on cloud.dify.ai is now sam@corp.example\n");
    let after = team().replace(
        "current_account: alice@example.com",
        "current_account: sam@corp.example",
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(after.as_str()));
    assert_eq!(
        t.read("tokens.yml").as_deref(),
        Some(team_tokens().as_str())
    );
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("sam@corp.example (external SSO, issuer: https://idp.corp.example)\n");
    t.run_args(["auth", "list"]).code(0).stdout(
        "HOST            ACCOUNT                    ACTIVE\n\
         cloud.dify.ai   alice@example.com (Alice)  \n\
         cloud.dify.ai   bob@example.com            \n\
         cloud.dify.ai   sam@corp.example           *\n\
         localhost:5001  dev@example.com (Dev)      \n",
    );
    t.run_args(["use", "account", "--email", "alice@example.com"])
        .code(0)
        .stdout("✓ Active account on cloud.dify.ai is now alice@example.com\n");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(team().as_str()));

    // A host without a current account: `use host` leaves it unset (nobody is
    // active), `use account` sets it.
    t.run_args(["use", "host", "--domain", "localhost:5001"])
        .code(0);
    t.run_args(["auth", "whoami"])
        .code(4)
        .stderr(TEAM_NOTHING_ACTIVE);
    t.run_args(["use", "account", "--email", "dev@example.com"])
        .code(0)
        .stdout("✓ Active account on localhost:5001 is now dev@example.com\n");
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("dev@example.com (Dev)\n");
    let expected = team()
        .replace(
            "current_host: cloud.dify.ai",
            "current_host: localhost:5001",
        )
        .replace(
            "    scheme: http\n",
            "    scheme: http\n    current_account: dev@example.com\n",
        );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(expected.as_str()));
}

#[test]
fn use_account_errors() {
    let t = Test::new().hosts(team()).tokens(team_tokens());
    t.run_args(["use", "account", "--email", "x@example.com"])
        .code(2)
        .stdout("")
        .stderr("usage_invalid_flag: unknown account \"x@example.com\" on cloud.dify.ai; known: alice@example.com, bob@example.com, sam@corp.example\n");
    // dev@example.com is stored, but on another host.
    t.run_args(["use", "account", "--email", "dev@example.com"])
        .code(2)
        .stderr("usage_invalid_flag: unknown account \"dev@example.com\" on cloud.dify.ai; known: alice@example.com, bob@example.com, sam@corp.example\n");
    t.run_args(["use", "account"])
        .code(2)
        .stdout("")
        .stderr("usage_missing_arg: --email is required (no TTY); known accounts on cloud.dify.ai: alice@example.com, bob@example.com, sam@corp.example\n");
    t.run_args(["use", "account", "--email", "bob@example.com"])
        .code(4)
        .stdout("")
        .stderr("not_logged_in: no credential stored for bob@example.com on cloud.dify.ai\nhint: run 'difyctl auth login --host cloud.dify.ai'\n");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(team().as_str()));
    assert_eq!(
        t.read("tokens.yml").as_deref(),
        Some(team_tokens().as_str())
    );

    // No tokens.yml at all, and one of another version (read as empty).
    for tokens in [
        None,
        Some("version: 2\ntokens:\n  cloud.dify.ai:\n    alice@example.com: dfoa_alice\n"),
    ] {
        let mut t = Test::new().hosts(team());
        if let Some(tokens) = tokens {
            t = t.tokens(tokens);
        }
        t.run_args(["use", "account", "--email", "alice@example.com"])
            .code(4)
            .stderr("not_logged_in: no credential stored for alice@example.com on cloud.dify.ai\nhint: run 'difyctl auth login --host cloud.dify.ai'\n");
        assert_eq!(t.read("tokens.yml").as_deref(), tokens);
    }

    // An empty token is no token.
    let t = Test::new().hosts(team()).tokens(Tokens::new().with(
        "cloud.dify.ai",
        "alice@example.com",
        "",
    ));
    t.run_args(["use", "account", "--email", "alice@example.com"])
        .code(4)
        .stderr(
            "not_logged_in: no credential stored for alice@example.com on cloud.dify.ai\n\
             hint: run 'difyctl auth login --host cloud.dify.ai'\n",
        );
}

#[test]
fn use_account_without_a_current_host() {
    let hint =
        "not_logged_in: not logged in\nhint: run 'difyctl use host' or 'difyctl auth login'\n";
    for yaml in [
        team().replace("current_host: cloud.dify.ai\n", ""),
        team().replace("current_host: cloud.dify.ai", "current_host: gone.example"),
    ] {
        let t = Test::new().hosts(&yaml).tokens(team_tokens());
        t.run_args(["use", "account", "--email", "alice@example.com"])
            .code(4)
            .stdout("")
            .stderr(hint);
        t.run_args(["use", "account"]).code(4).stderr(hint);
        assert_eq!(t.read("hosts.yml").as_deref(), Some(yaml.as_str()));
    }
}

#[test]
fn use_account_on_the_official_example() {
    // Keychain mode; the errors below come before any credential lookup.
    let t = Test::new().hosts(EXAMPLE);
    t.run_args(["use", "account", "--email", "alice@example.com"])
        .code(2)
        .stderr("usage_invalid_flag: unknown account \"alice@example.com\" on localhost:5001; known: dev@example.com\n");
    t.run_args(["use", "account"])
        .code(2)
        .stderr("usage_missing_arg: --email is required (no TTY); known accounts on localhost:5001: dev@example.com\n");
    // The same file in file mode, with its tokens.
    let file_mode = EXAMPLE.replace("token_storage: keychain", "token_storage: file");
    let tokens = Tokens::new()
        .with("cloud.dify.ai", "alice@example.com", "dfoa_a")
        .with("localhost:5001", "dev@example.com", "dfoa_d");
    let t = Test::new().hosts(&file_mode).tokens(tokens);
    t.run_args(["use", "account", "--email", "dev@example.com"])
        .code(0)
        .stdout("✓ Active account on localhost:5001 is now dev@example.com\n");
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(0);
    t.run_args(["use", "account", "--email", "alice@example.com"])
        .code(0)
        .stdout("✓ Active account on cloud.dify.ai is now alice@example.com\n");
    let expected = file_mode.replace(
        "current_host: localhost:5001",
        "current_host: cloud.dify.ai",
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(expected.as_str()));
}

#[test]
fn use_account_with_an_sso_context() {
    let t = Test::new().hosts(sso()).tokens(sso_tokens());
    t.run_args(["use", "account", "--email", "sam@corp.example"])
        .code(0)
        .stdout("✓ Active account on sso.example.com is now sam@corp.example\n");
    t.run_args(["use", "account", "--email", "alice@example.com"])
        .code(2)
        .stderr("usage_invalid_flag: unknown account \"alice@example.com\" on sso.example.com; known: sam@corp.example\n");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(sso().as_str()));
}

/// `use host --domain H --email E` and `use account --host H --email E`:
/// host and account in one step, checked as each command checks them.
#[test]
fn host_and_account_switch_in_one_step() {
    let t = Test::new().hosts(team()).tokens(team_tokens());
    t.run_args([
        "use",
        "account",
        "--host",
        "localhost:5001",
        "--email",
        "dev@example.com",
    ])
    .stdout("✓ Active host is now localhost:5001, with account dev@example.com\n");
    let on_local = team()
        .replace(
            "current_host: cloud.dify.ai",
            "current_host: localhost:5001",
        )
        .replace(
            "    scheme: http\n    accounts:",
            "    scheme: http\n    current_account: dev@example.com\n    accounts:",
        );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(on_local.as_str()));
    t.run_args(["auth", "whoami"])
        .stdout("dev@example.com (Dev)\n");

    t.run_args([
        "use",
        "host",
        "--domain",
        "cloud.dify.ai",
        "--email",
        "sam@corp.example",
    ])
    .stdout("✓ Active host is now cloud.dify.ai, with account sam@corp.example\n");
    let on_cloud = on_local
        .replace(
            "current_host: localhost:5001",
            "current_host: cloud.dify.ai",
        )
        .replace(
            "current_account: alice@example.com",
            "current_account: sam@corp.example",
        );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(on_cloud.as_str()));

    // Nothing changes when either half is wrong.
    t.run_args(["use", "host", "--domain", "localhost:5001", "--email", "alice@example.com"])
        .code(2)
        .stderr("usage_invalid_flag: unknown account \"alice@example.com\" on localhost:5001; known: dev@example.com\n");
    t.run_args(["use", "account", "--host", "nowhere.example", "--email", "dev@example.com"])
        .code(2)
        .stderr("usage_invalid_flag: unknown host \"nowhere.example\"; known hosts: cloud.dify.ai, localhost:5001\n");
    t.run_args([
        "use",
        "host",
        "--domain",
        "cloud.dify.ai",
        "--email",
        "bob@example.com",
    ])
    .code(4)
    .stderr(
        "not_logged_in: no credential stored for bob@example.com on cloud.dify.ai\n\
             hint: run 'difyctl auth login --host cloud.dify.ai'\n",
    );
    // Without a terminal the account must be named.
    t.run_args(["use", "account", "--host", "localhost:5001"])
        .code(2)
        .stderr("usage_missing_arg: --email is required (no TTY); known accounts on localhost:5001: dev@example.com\n");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(on_cloud.as_str()));
}
