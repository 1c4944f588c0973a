//! `use host` against `hosts.yml` files as the official tool writes them: exact
//! output, exit codes, files left behind, and keys it does not know kept.

use std::fs;

use crate::common::{EXAMPLE, sso};
use crate::support::runner::Test;

#[test]
fn use_host_on_the_official_example() {
    let t = Test::new().hosts(EXAMPLE);
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(0)
        .stderr("")
        .stdout("✓ Active host is now cloud.dify.ai\n");
    // Only current_host changed; cloud.dify.ai's own current_account is kept.
    let after = EXAMPLE.replace(
        "current_host: localhost:5001",
        "current_host: cloud.dify.ai",
    );
    assert_ne!(after, EXAMPLE);
    assert_eq!(t.read("hosts.yml").as_deref(), Some(after.as_str()));
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("alice@example.com (Alice)\n");
    t.run_args(["auth", "list"]).code(0).stdout(
        "HOST            ACCOUNT                    ACTIVE\n\
         cloud.dify.ai   alice@example.com (Alice)  *\n\
         localhost:5001  dev@example.com (Dev)      \n",
    );
    // And back: the file is the official one again, byte for byte.
    t.run_args(["use", "host", "--domain", "localhost:5001"])
        .code(0)
        .stdout("✓ Active host is now localhost:5001\n");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(EXAMPLE));
    // Switching to the host that is already active writes nothing.
    let before = fs::metadata(t.config_dir().join("hosts.yml")).unwrap();
    t.run_args(["use", "host", "--domain", "localhost:5001"])
        .code(0)
        .stdout("✓ Active host is now localhost:5001\n");
    let after = fs::metadata(t.config_dir().join("hosts.yml")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(before.ino(), after.ino(), "an unchanged file was replaced");
    assert_eq!(
        t.snapshot().keys().collect::<Vec<_>>(),
        ["hosts.yml"],
        "no lock or temp file is left behind"
    );
}

#[test]
fn use_host_errors() {
    let t = Test::new().hosts(EXAMPLE);
    t.run_args(["use", "host", "--domain", "x"])
        .code(2)
        .stdout("")
        .stderr(
            "usage_invalid_flag: unknown host \"x\"; known hosts: cloud.dify.ai, localhost:5001\n",
        );
    // The stored key is the bare host: a URL is not one.
    t.run_args(["use", "host", "--domain", "https://cloud.dify.ai"])
        .code(2)
        .stderr("usage_invalid_flag: unknown host \"https://cloud.dify.ai\"; known hosts: cloud.dify.ai, localhost:5001\n");
    // Without a terminal the flag is required.
    t.run_args(["use", "host"])
        .code(2)
        .stdout("")
        .stderr("usage_missing_arg: --domain is required (no TTY); known hosts: cloud.dify.ai, localhost:5001\n");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(EXAMPLE));
}

#[test]
fn use_host_with_an_sso_context() {
    let t = Test::new().hosts(sso());
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(0)
        .stdout("✓ Active host is now cloud.dify.ai\n");
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("alice@example.com (Alice)\n");
    t.run_args(["use", "host", "--domain", "sso.example.com"])
        .code(0)
        .stdout("✓ Active host is now sso.example.com\n");
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("sam@corp.example (external SSO, issuer: https://idp.corp.example)\n");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(sso().as_str()));
}

#[test]
fn use_host_keeps_keys_it_does_not_know() {
    // A newer tool's keys at every level (the official G1 drops them; we keep
    // them so switching between tools loses nothing).
    let yaml = "\
token_storage: file
current_host: localhost:5001
hosts:
  cloud.dify.ai:
    current_account: alice@example.com
    accounts:
      alice@example.com:
        account:
          id: acc-1
          email: alice@example.com
          name: Alice
          avatar: https://cdn.example/a.png
        workspace:
          id: ws-1
          name: Acme Team
          role: owner
          plan: team
        token_id: tok-1
        available_workspaces:
          - id: ws-1
            name: Acme Team
          - id: ws-2
            name: Side Project
    insecure: true
  localhost:5001:
    scheme: http
    current_account: dev@example.com
    accounts:
      dev@example.com:
        account:
          id: a2
          email: dev@example.com
          name: Dev
        token_id: t2
telemetry:
  enabled: false
";
    let t = Test::new().hosts(yaml);
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(0);
    let expected = yaml.replace(
        "current_host: localhost:5001",
        "current_host: cloud.dify.ai",
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(expected.as_str()));
}
