//! The local commands (`auth whoami`, `auth list`, `use host`, `use account`)
//! against `hosts.yml` files as the official tool writes them (PROTOCOL.md §2,
//! §4.2, §4.3, §4.5, §4.6): exact output, exit codes and files left behind.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::pty::{self, Pty};
use support::runner::{BIN, Test, assert_no_crash, mode, set_mode, set_mtime};

/// PROTOCOL.md §2.3's example, written by the official serializer: keychain
/// mode, an https login and an http one; `localhost:5001` is active.
const EXAMPLE: &str = include_str!("fixtures/hosts-example.yml");

/// An external-SSO context (empty `account` fields, an `external_subject`)
/// next to an ordinary one, in file mode.
const SSO: &str = "\
token_storage: file
current_host: sso.example.com
hosts:
  cloud.dify.ai:
    current_account: alice@example.com
    accounts:
      alice@example.com:
        account:
          id: acc-1
          email: alice@example.com
          name: Alice
        token_id: tok-1
  sso.example.com:
    current_account: sam@corp.example
    accounts:
      sam@corp.example:
        account:
          id: ''
          email: ''
          name: ''
        token_id: tok-sso
        external_subject:
          email: sam@corp.example
          issuer: https://idp.corp.example
";

const SSO_TOKENS: &str = "\
version: 1
tokens:
  cloud.dify.ai:
    alice@example.com: dfoa_alice
  sso.example.com:
    sam@corp.example: dfoe_sam
";

/// Several accounts on one host (one without a name, one SSO, one without a
/// stored token) and a second host with no current account.
const TEAM: &str = "\
token_storage: file
current_host: cloud.dify.ai
hosts:
  cloud.dify.ai:
    current_account: alice@example.com
    accounts:
      alice@example.com:
        account:
          id: acc-1
          email: alice@example.com
          name: Alice
        token_id: tok-1
      bob@example.com:
        account:
          id: acc-2
          email: bob@example.com
          name: ''
        token_id: tok-2
      sam@corp.example:
        account:
          id: ''
          email: ''
          name: ''
        token_id: tok-3
        external_subject:
          email: sam@corp.example
          issuer: https://idp.corp.example
  localhost:5001:
    scheme: http
    accounts:
      dev@example.com:
        account:
          id: a2
          email: dev@example.com
          name: Dev
        token_id: t2
";

/// bob@example.com has no token.
const TEAM_TOKENS: &str = "\
version: 1
tokens:
  cloud.dify.ai:
    alice@example.com: dfoa_alice
    sam@corp.example: dfoe_sam
  localhost:5001:
    dev@example.com: dfoa_dev
";

fn path_of(t: &Test, name: &str) -> String {
    t.config_dir().join(name).display().to_string()
}

// ---------------------------------------------------------------------------
// auth whoami

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
    let t = Test::new().hosts(SSO);
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

    let no_issuer = SSO.replace("issuer: https://idp.corp.example", "issuer: ''");
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
    let yaml = "\
token_storage: file
current_host: h.example
hosts:
  h.example:
    current_account: bob@example.com
    accounts:
      bob@example.com:
        account:
          email: bob@example.com
          name: ''
";
    let t = Test::new().hosts(yaml);
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
    let empty = "token_storage: keychain\nhosts: {}\n";
    let t = Test::new().hosts(empty);
    t.run_args(["auth", "whoami"])
        .code(4)
        .stderr("not_logged_in: not logged in\nhint: run 'difyctl auth login'\n");
    t.run_args(["auth", "list"])
        .code(0)
        .stdout("HOST  ACCOUNT  ACTIVE\n");
    t.run_args(["use", "host", "--domain", "x"]).code(4);
    assert_eq!(t.read("hosts.yml").as_deref(), Some(empty));
}

#[test]
fn active_pointer_missing_at_any_level_is_not_logged_in() {
    for yaml in [
        // current_host names no stored host
        TEAM.replace("current_host: cloud.dify.ai", "current_host: gone.example"),
        // no current_host
        TEAM.replace("current_host: cloud.dify.ai\n", ""),
        // the host has no current_account
        TEAM.replace(
            "current_host: cloud.dify.ai",
            "current_host: localhost:5001",
        ),
        // current_account names no stored account
        TEAM.replace(
            "current_account: alice@example.com",
            "current_account: gone@example.com",
        ),
    ] {
        let t = Test::new().hosts(&yaml);
        t.run_args(["auth", "whoami"]).code(4).stdout("");
        let list = t.run_args(["auth", "list", "-o", "json"]).code(0).json();
        let contexts = list["contexts"].as_array().unwrap();
        assert_eq!(contexts.len(), 4, "{yaml}");
        assert!(contexts.iter().all(|c| c["active"] == false), "{yaml}");
    }
}

// ---------------------------------------------------------------------------
// auth list

#[test]
fn list_the_official_example_in_every_format() {
    let t = Test::new().hosts(EXAMPLE);
    // Inactive rows end with the ACCOUNT column's padding (trailing spaces).
    t.run_args(["auth", "list"]).code(0).stderr("").stdout(
        "HOST            ACCOUNT                    ACTIVE\n\
         cloud.dify.ai   alice@example.com (Alice)  \n\
         localhost:5001  dev@example.com (Dev)      *\n",
    );
    t.run_args(["auth", "list", "-o", "json"])
        .code(0)
        .stderr("")
        .stdout(
            r#"{
  "contexts": [
    {
      "host": "cloud.dify.ai",
      "account": "alice@example.com",
      "name": "Alice",
      "active": false
    },
    {
      "host": "localhost:5001",
      "account": "dev@example.com",
      "name": "Dev",
      "active": true
    }
  ]
}
"#,
        );
    t.run_args(["auth", "list", "-o", "yaml"])
        .code(0)
        .stderr("")
        .stdout(
            "contexts:
  - host: cloud.dify.ai
    account: alice@example.com
    name: Alice
    active: false
  - host: localhost:5001
    account: dev@example.com
    name: Dev
    active: true
",
        );
    t.run_args(["auth", "list", "-o", "name"])
        .code(0)
        .stderr("")
        .stdout("alice@example.com\ndev@example.com\n");
    // `--output` and `-o=` spell the same flag.
    let long = t.run_args(["auth", "list", "--output", "name"]).code(0);
    let eq = t.run_args(["auth", "list", "-o=name"]).code(0);
    assert_eq!(long.stdout, eq.stdout);
    assert_eq!(long.stdout, "alice@example.com\ndev@example.com\n");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(EXAMPLE));
}

#[test]
fn list_with_an_sso_context_in_every_format() {
    let t = Test::new().hosts(SSO);
    t.run_args(["auth", "list"]).code(0).stdout(
        "HOST             ACCOUNT                    ACTIVE\n\
         cloud.dify.ai    alice@example.com (Alice)  \n\
         sso.example.com  sam@corp.example           *\n",
    );
    t.run_args(["auth", "list", "-o", "json"]).code(0).stdout(
        r#"{
  "contexts": [
    {
      "host": "cloud.dify.ai",
      "account": "alice@example.com",
      "name": "Alice",
      "active": false
    },
    {
      "host": "sso.example.com",
      "account": "sam@corp.example",
      "name": "",
      "active": true
    }
  ]
}
"#,
    );
    t.run_args(["auth", "list", "-o", "yaml"]).code(0).stdout(
        "contexts:
  - host: cloud.dify.ai
    account: alice@example.com
    name: Alice
    active: false
  - host: sso.example.com
    account: sam@corp.example
    name: ''
    active: true
",
    );
    t.run_args(["auth", "list", "-o", "name"])
        .code(0)
        .stdout("alice@example.com\nsam@corp.example\n");
}

#[test]
fn list_table_counts_wide_characters_as_two_columns() {
    let yaml = "\
token_storage: file
current_host: cloud.dify.ai
hosts:
  cloud.dify.ai:
    current_account: bob@x.io
    accounts:
      zhang@example.com:
        account:
          id: z1
          email: zhang@example.com
          name: 張三
      bob@x.io:
        account:
          id: b1
          email: bob@x.io
          name: Bob
";
    let t = Test::new().hosts(yaml);
    // `zhang@example.com (張三)` is 22 characters but 24 columns wide: the
    // ACCOUNT column is 24 + 2, so `bob@x.io (Bob)` (14) gets 12 spaces and
    // the wide cell exactly 2.
    let out = t.run_args(["auth", "list"]).code(0);
    assert_eq!(
        out.stdout,
        format!(
            "HOST{}ACCOUNT{}ACTIVE\ncloud.dify.ai  zhang@example.com (張三)  \ncloud.dify.ai  bob@x.io (Bob){}*\n",
            " ".repeat(11),
            " ".repeat(19),
            " ".repeat(12)
        )
    );
    t.run_args(["auth", "list", "-o", "json"])
        .code(0)
        .stdout_has("\"name\": \"張三\",");
    t.run_args(["auth", "list", "-o", "yaml"])
        .code(0)
        .stdout_has("\n    name: 張三\n");
}

#[test]
fn list_strips_terminal_escapes_from_file_text() {
    let yaml = "\
token_storage: file
hosts:
  h.example:
    accounts:
      eve@example.com:
        account:
          email: eve@example.com
          name: \"Eve\\e[2J\\e]0;owned\\a\"
";
    let t = Test::new().hosts(yaml);
    t.run_args(["auth", "list"]).code(0).stdout(
        "HOST       ACCOUNT                ACTIVE\n\
         h.example  eve@example.com (Eve)  \n",
    );
}

// ---------------------------------------------------------------------------
// use host

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
    let t = Test::new().hosts(SSO);
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
    assert_eq!(t.read("hosts.yml").as_deref(), Some(SSO));
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

#[test]
fn use_host_picker_without_hosts_does_not_prompt() {
    let Some(_) = pty_tool() else { return };
    let t = Test::new().hosts("token_storage: file\nhosts: {}\n");
    let (code, out) = on_pty(&t, &["use", "host"], &[]);
    assert_eq!(code, Some(4), "{out}");
    assert_eq!(
        out,
        "not_logged_in: not logged in\r\nhint: run 'difyctl auth login'\r\n"
    );
}

// ---------------------------------------------------------------------------
// use account

#[test]
fn use_account_switches_on_the_current_host() {
    let t = Test::new().hosts(TEAM).tokens(TEAM_TOKENS);
    t.run_args(["use", "account", "--email", "sam@corp.example"])
        .code(0)
        .stderr("")
        .stdout("✓ Active account on cloud.dify.ai is now sam@corp.example\n");
    let after = TEAM.replace(
        "current_account: alice@example.com",
        "current_account: sam@corp.example",
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(after.as_str()));
    assert_eq!(t.read("tokens.yml").as_deref(), Some(TEAM_TOKENS));
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
    assert_eq!(t.read("hosts.yml").as_deref(), Some(TEAM));

    // A host without a current account: `use host` leaves it unset (nobody is
    // active), `use account` sets it.
    t.run_args(["use", "host", "--domain", "localhost:5001"])
        .code(0);
    t.run_args(["auth", "whoami"]).code(4);
    t.run_args(["use", "account", "--email", "dev@example.com"])
        .code(0)
        .stdout("✓ Active account on localhost:5001 is now dev@example.com\n");
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("dev@example.com (Dev)\n");
    let expected = TEAM
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
    let t = Test::new().hosts(TEAM).tokens(TEAM_TOKENS);
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
    assert_eq!(t.read("hosts.yml").as_deref(), Some(TEAM));
    assert_eq!(t.read("tokens.yml").as_deref(), Some(TEAM_TOKENS));

    // No tokens.yml at all, and one of another version (read as empty).
    for tokens in [
        None,
        Some("version: 2\ntokens:\n  cloud.dify.ai:\n    alice@example.com: dfoa_alice\n"),
    ] {
        let mut t = Test::new().hosts(TEAM);
        if let Some(tokens) = tokens {
            t = t.tokens(tokens);
        }
        t.run_args(["use", "account", "--email", "alice@example.com"])
            .code(4)
            .stderr("not_logged_in: no credential stored for alice@example.com on cloud.dify.ai\nhint: run 'difyctl auth login --host cloud.dify.ai'\n");
        assert_eq!(t.read("tokens.yml").as_deref(), tokens);
    }

    // An empty token is no token.
    let t = Test::new()
        .hosts(TEAM)
        .tokens("version: 1\ntokens:\n  cloud.dify.ai:\n    alice@example.com: ''\n");
    t.run_args(["use", "account", "--email", "alice@example.com"])
        .code(4);
}

#[test]
fn use_account_without_a_current_host() {
    let hint =
        "not_logged_in: not logged in\nhint: run 'difyctl use host' or 'difyctl auth login'\n";
    for yaml in [
        TEAM.replace("current_host: cloud.dify.ai\n", ""),
        TEAM.replace("current_host: cloud.dify.ai", "current_host: gone.example"),
    ] {
        let t = Test::new().hosts(&yaml).tokens(TEAM_TOKENS);
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
    let tokens = "version: 1\ntokens:\n  cloud.dify.ai:\n    alice@example.com: dfoa_a\n  localhost:5001:\n    dev@example.com: dfoa_d\n";
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
    let t = Test::new().hosts(SSO).tokens(SSO_TOKENS);
    t.run_args(["use", "account", "--email", "sam@corp.example"])
        .code(0)
        .stdout("✓ Active account on sso.example.com is now sam@corp.example\n");
    t.run_args(["use", "account", "--email", "alice@example.com"])
        .code(2)
        .stderr("usage_invalid_flag: unknown account \"alice@example.com\" on sso.example.com; known: sam@corp.example\n");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(SSO));
}

// ---------------------------------------------------------------------------
// Pickers on a terminal (util-linux `script` gives the binary a pty)

const PROMPT: &str = "Enter a number [";

/// Is `script` there? A missing tool skips the test with a message, except
/// under DIFYCTL_TEST_REQUIRE_TOOLS (set by CI), where it fails.
fn pty_tool() -> Option<()> {
    support::tools::available("script").then_some(())
}

/// Runs the binary on a pseudo-terminal (stdin, stdout and stderr all the
/// pty), in the test's environment. Each answer is typed only once the
/// binary has printed one more picker prompt than before. Returns the exit
/// code and everything the terminal showed (with the pty's `\r\n`).
fn on_pty(t: &Test, args: &[&str], answers: &[&str]) -> (Option<i32>, String) {
    on_pty_redirected(t, args, answers, "")
}

/// [`on_pty`] with shell redirections (`> file`, `2> file`, `< /dev/null`)
/// applied to the binary.
fn on_pty_redirected(
    t: &Test,
    args: &[&str],
    answers: &[&str],
    redirect: &str,
) -> (Option<i32>, String) {
    let line = format!("{} {redirect}", pty::command_line(args));
    let mut pty = Pty::shell(t, &line).expect("script is installed (checked by pty_tool)");
    for (i, answer) in answers.iter().enumerate() {
        pty.wait_for_nth(PROMPT, i + 1);
        pty.type_in(answer);
    }
    pty.finish_raw()
}

#[test]
fn use_host_picker_on_a_terminal() {
    let Some(_) = pty_tool() else { return };
    let t = Test::new().hosts(EXAMPLE).env("NO_COLOR", "1");
    let (code, out) = on_pty(&t, &["use", "host"], &["1\n"]);
    assert_eq!(code, Some(0), "{out}");
    // The typed answer is the terminal's echo.
    assert_eq!(
        out,
        "? Select a host\r\n\
         \x20 1)   cloud.dify.ai  (1 account)\r\n\
         \x20 2) * localhost:5001  (1 account)\r\n\
         Enter a number [1-2]: 1\r\n\
         ✓ Active host is now cloud.dify.ai\r\n"
    );
    let after = EXAMPLE.replace(
        "current_host: localhost:5001",
        "current_host: cloud.dify.ai",
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(after.as_str()));
    // The flag skips the picker on a terminal too.
    let (code, out) = on_pty(&t, &["use", "host", "--domain", "localhost:5001"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out, "✓ Active host is now localhost:5001\r\n");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(EXAMPLE));
}

#[test]
fn pickers_are_drawn_on_stderr_and_need_both_stdin_and_stderr_terminals() {
    let Some(_) = pty_tool() else { return };
    let t = Test::new()
        .hosts(TEAM)
        .tokens(TEAM_TOKENS)
        .env("NO_COLOR", "1");
    let file = t.dir.path().join("out");
    let redirect = format!("> {}", pty::quote(&file.display().to_string()));

    // stdout to a file: the picker is still offered (on stderr), and stdout
    // gets the result only.
    let (code, out) = on_pty_redirected(&t, &["use", "host"], &["2\n"], &redirect);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        out,
        "? Select a host\r\n\
         \x20 1) * cloud.dify.ai  (3 accounts)\r\n\
         \x20 2)   localhost:5001  (1 account)\r\n\
         Enter a number [1-2]: 2\r\n"
    );
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        "✓ Active host is now localhost:5001\n"
    );
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(0);

    // stderr not a terminal, or stdin not a terminal: no picker.
    let redirect = format!("2> {}", pty::quote(&file.display().to_string()));
    let (code, out) = on_pty_redirected(&t, &["use", "account"], &[], &redirect);
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        "usage_missing_arg: --email is required (no TTY); known accounts on cloud.dify.ai: alice@example.com, bob@example.com, sam@corp.example\n"
    );
    let (code, out) = on_pty_redirected(&t, &["use", "host"], &[], "< /dev/null");
    assert_eq!(code, Some(2), "{out}");
    assert_eq!(
        out,
        "usage_missing_arg: --domain is required (no TTY); known hosts: cloud.dify.ai, localhost:5001\r\n"
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(TEAM));
}

#[test]
fn use_account_picker_retries_and_colours_on_a_terminal() {
    let Some(_) = pty_tool() else { return };
    let t = Test::new().hosts(TEAM).tokens(TEAM_TOKENS);
    let (code, out) = on_pty(&t, &["use", "account"], &["x\n", "4\n", "3\n"]);
    assert_eq!(code, Some(0), "{out}");
    let wrong = "  \x1b[31m✗\x1b[0m enter a number from 1 to 3\r\n";
    assert_eq!(
        out,
        format!(
            "? Select an account on cloud.dify.ai\r\n\
             \x20 1) * alice@example.com  (Alice)\r\n\
             \x20 2)   bob@example.com\r\n\
             \x20 3)   sam@corp.example  (SSO)\r\n\
             Enter a number [1-3]: x\r\n{wrong}\
             Enter a number [1-3]: 4\r\n{wrong}\
             Enter a number [1-3]: 3\r\n\
             \x1b[32m✓\x1b[0m Active account on cloud.dify.ai is now sam@corp.example\r\n"
        )
    );
    let after = TEAM.replace(
        "current_account: alice@example.com",
        "current_account: sam@corp.example",
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(after.as_str()));
}

#[test]
fn use_account_picker_choice_without_a_credential() {
    let Some(_) = pty_tool() else { return };
    let t = Test::new()
        .hosts(TEAM)
        .tokens(TEAM_TOKENS)
        .env("NO_COLOR", "1");
    let (code, out) = on_pty(&t, &["use", "account"], &["2\n"]);
    assert_eq!(code, Some(4), "{out}");
    assert!(
        out.ends_with(
            "Enter a number [1-3]: 2\r\n\
             not_logged_in: no credential stored for bob@example.com on cloud.dify.ai\r\n\
             hint: run 'difyctl auth login --host cloud.dify.ai'\r\n"
        ),
        "{out}"
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(TEAM));
}

#[test]
fn picker_end_of_input_and_ctrl_c_change_nothing() {
    let Some(_) = pty_tool() else { return };
    let t = Test::new().hosts(EXAMPLE).env("NO_COLOR", "1");
    // Ctrl-D: the terminal's end of input.
    let (code, out) = on_pty(&t, &["use", "host"], &["\x04"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.ends_with(
            "Enter a number [1-2]: usage_missing_arg: input closed before a valid value was provided\r\n"
        ),
        "{out}"
    );
    // Ctrl-C: interrupted (130).
    let (code, out) = on_pty(&t, &["use", "host"], &["\x03"]);
    assert_eq!(code, Some(130), "{out}");
    let t2 = Test::new().hosts(TEAM).tokens(TEAM_TOKENS);
    let (code, out) = on_pty(&t2, &["use", "account"], &["\x03"]);
    assert_eq!(code, Some(130), "{out}");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(EXAMPLE));
    assert_eq!(t2.read("hosts.yml").as_deref(), Some(TEAM));
    assert_eq!(t.snapshot().len(), 1, "no lock or temp file left");
}

// ---------------------------------------------------------------------------
// Broken files

const BROKEN: &str = "\
token_storage: file
current_host: cloud.dify.ai
hosts:
  cloud.dify.ai:
    current_account: alice@example.com
   accounts: {}
";

#[test]
fn corrupt_hosts_yml_is_reported_and_left_alone() {
    let t = Test::new().hosts(BROKEN);
    let p = path_of(&t, "hosts.yml");
    let message = format!(
        "Failed to parse YAML file {p}: did not find expected key (while parsing a block mapping at line 4 column 3) at line 6, column 4.\n\
         \n\
         \x20 4 |   cloud.dify.ai:\n\
         \x20 5 |     current_account: alice@example.com\n\
         > 6 |    accounts: {{}}\n\
         \x20        ^"
    );
    let hint = format!("Fix the YAML syntax in {p} or remove the file to reset it.");
    let human = format!("client_error: {message}\nhint: {hint}\n");
    let json = format!(
        "{{\"error\":{{\"code\":\"client_error\",\"message\":{},\"hint\":{}}}}}\n",
        serde_json::to_string(&message).unwrap(),
        serde_json::to_string(&hint).unwrap()
    );

    t.run_args(["auth", "list"])
        .code(1)
        .stdout("")
        .stderr(&human);
    let out = t
        .run_args(["auth", "list", "-o", "json"])
        .code(1)
        .stdout("");
    assert_eq!(out.stderr, json);
    assert_eq!(out.stderr.lines().count(), 1);
    assert!(out.stderr.contains("hosts.yml"));
    for args in [
        &["auth", "list", "-o", "yaml"][..],
        &["auth", "list", "-o", "name"],
        &["auth", "whoami"],
        &["use", "host", "--domain", "cloud.dify.ai"],
        &["use", "host", "--domain", "x"],
        &["use", "host"],
        &["use", "account", "--email", "alice@example.com"],
    ] {
        t.run_args(args).code(1).stdout("").stderr(&human);
    }
    t.run_args(["auth", "whoami", "--json"])
        .code(1)
        .stderr(&json);
    assert_eq!(t.read("hosts.yml").as_deref(), Some(BROKEN));
    assert_eq!(t.snapshot().len(), 1, "no lock or temp file left");
}

#[test]
fn schema_invalid_hosts_yml_is_reported_and_left_alone() {
    let yaml = "token_storage: cloud\nhosts: {}\n";
    let t = Test::new().hosts(yaml);
    let p = path_of(&t, "hosts.yml");
    let human = format!(
        "client_error: Invalid content in {p}: token_storage: unknown variant `cloud`, expected `keychain` or `file` at line 1, column 16.\n\
         \n\
         > 1 | token_storage: cloud\n\
         \x20                    ^\n\
         \x20 2 | hosts: {{}}\n\
         hint: Fix {p} by hand or remove the file to reset it.\n"
    );
    for args in [
        &["auth", "list"][..],
        &["auth", "whoami"],
        &["use", "host", "--domain", "x"],
    ] {
        t.run_args(args).code(1).stdout("").stderr(&human);
    }
    let out = t.run_args(["auth", "list", "-o", "json"]).code(1);
    let err: serde_json::Value = serde_json::from_str(&out.stderr).unwrap();
    assert_eq!(err["error"]["code"], "client_error");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Invalid content in {p}: token_storage:"))
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(yaml));

    // A wrong shape deeper down names the file too.
    let yaml =
        "token_storage: file\nhosts:\n  h.example:\n    accounts:\n      a@b.c: just-a-string\n";
    let t = Test::new().hosts(yaml);
    let p = path_of(&t, "hosts.yml");
    t.run_args(["auth", "list"])
        .code(1)
        .stderr_has(&format!("client_error: Invalid content in {p}: "))
        .stderr_has(" at line 5, column ");
    assert_eq!(t.read("hosts.yml").as_deref(), Some(yaml));
}

#[test]
fn corrupt_tokens_yml_stops_use_account_only() {
    let broken = "version: 1\ntokens:\n  cloud.dify.ai: [\n";
    let t = Test::new().hosts(TEAM).tokens(broken);
    let p = path_of(&t, "tokens.yml");
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("alice@example.com (Alice)\n");
    t.run_args(["auth", "list", "-o", "name"]).code(0);
    t.run_args(["use", "host", "--domain", "localhost:5001"])
        .code(0);
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(0);
    t.run_args(["use", "account", "--email", "sam@corp.example"])
        .code(1)
        .stdout("")
        .stderr_has(&format!("client_error: Failed to parse YAML file {p}: "));
    assert_eq!(t.read("tokens.yml").as_deref(), Some(broken));
    assert_eq!(t.read("hosts.yml").as_deref(), Some(TEAM));
}

// ---------------------------------------------------------------------------
// Locks, permissions, read-only copies

#[test]
fn a_held_lock_is_waited_for_then_reported() {
    // Waits the full bound (about 10 s) once; the other lock tests are fast.
    let t = Test::new().hosts(EXAMPLE).file("hosts.yml.lock", "4242\n");
    let p = path_of(&t, "hosts.yml");
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(1)
        .stdout("")
        .stderr(&format!(
            "client_error: Another process is modifying the file {p}.\n\
             hint: remove {p}.lock to reset lock.\n"
        ));
    // Someone else's lock is never removed, and nothing was written.
    assert_eq!(t.read("hosts.yml.lock").as_deref(), Some("4242\n"));
    assert_eq!(t.read("hosts.yml").as_deref(), Some(EXAMPLE));
    assert_eq!(t.snapshot().len(), 2);
}

#[test]
fn a_stale_lock_is_taken_over() {
    let t = Test::new().hosts(EXAMPLE).file("hosts.yml.lock", "4242\n");
    let lock = t.config_dir().join("hosts.yml.lock");
    set_mtime(&lock, Duration::from_secs(60));
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("dev@example.com (Dev)\n");
    assert!(lock.exists(), "a read never touches a lock");
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(0)
        .stdout("✓ Active host is now cloud.dify.ai\n");
    assert!(!lock.exists(), "the stale lock was not cleared by a write");
    let after = EXAMPLE.replace(
        "current_host: localhost:5001",
        "current_host: cloud.dify.ai",
    );
    assert_eq!(t.read("hosts.yml").as_deref(), Some(after.as_str()));
}

#[test]
fn writes_are_private() {
    let t = Test::new().hosts(EXAMPLE);
    let file = t.config_dir().join("hosts.yml");
    set_mode(&file, 0o644);
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(0);
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&t.config_dir()), 0o700);
    assert_eq!(
        t.snapshot().keys().collect::<Vec<_>>(),
        ["hosts.yml"],
        "no lock or temp file is left behind"
    );
}

/// Are we root (who ignores directory permissions)?
fn running_as_root(t: &Test) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(t.dir.path()).unwrap().uid() == 0
}

const NOBODY: u32 = 65534;

/// The test's command for `args`, run as an unprivileged user when we are
/// root (util-linux `setpriv`), so that permissions apply.
fn unprivileged(t: &Test, args: &[&str]) -> Option<Command> {
    if !running_as_root(t) {
        let mut cmd = t.command();
        cmd.args(args);
        return Some(cmd);
    }
    let probe = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            BIN,
            "--version",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !probe {
        return None;
    }
    let inner = t.command();
    let mut cmd = Command::new("setpriv");
    cmd.env_clear();
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
        .args(args)
        .current_dir(t.dir.path());
    Some(cmd)
}

fn output(mut cmd: Command) -> (Option<i32>, String, String) {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert_no_crash(out.status, &String::from_utf8_lossy(&out.stderr));
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_read_only_config_dir_can_still_be_read() {
    use std::os::unix::fs::chown;
    // A copied config dir with a stale lock in it (as docs suggest for agents).
    let t = Test::new().hosts(EXAMPLE).file("hosts.yml.lock", "4242\n");
    let dir = t.config_dir();
    set_mtime(&dir.join("hosts.yml.lock"), Duration::from_secs(60));
    set_mode(t.dir.path(), 0o755);
    set_mode(&t.dir.path().join("home"), 0o755);
    if running_as_root(&t) {
        for p in [&dir, &dir.join("hosts.yml"), &dir.join("hosts.yml.lock")] {
            chown(p, Some(NOBODY), Some(NOBODY)).unwrap();
        }
    }
    set_mode(&dir.join("hosts.yml"), 0o400);
    set_mode(&dir, 0o500);
    let before = t.snapshot();

    let Some(cmd) = unprivileged(&t, &["auth", "whoami"]) else {
        support::tools::lacking("running as root, and setpriv cannot drop privileges");
        return;
    };
    let (code, stdout, stderr) = output(cmd);
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
    assert_eq!(stdout, "dev@example.com (Dev)\n");

    let (code, stdout, stderr) = output(unprivileged(&t, &["auth", "list", "-o", "name"]).unwrap());
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
    assert_eq!(stdout, "alice@example.com\ndev@example.com\n");

    let (code, stdout, stderr) = output(unprivileged(&t, &["auth", "list"]).unwrap());
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
    assert!(stdout.starts_with("HOST            ACCOUNT"), "{stdout}");

    // A write cannot take the lock, says so, and changes nothing.
    let (code, stdout, stderr) =
        output(unprivileged(&t, &["use", "host", "--domain", "cloud.dify.ai"]).unwrap());
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stdout, "");
    let lock = dir.join("hosts.yml.lock").display().to_string();
    assert!(
        stderr.starts_with(&format!(
            "client_error: Failed to create the lock file {lock}: "
        )),
        "{stderr}"
    );
    assert_eq!(t.snapshot(), before);
}

// ---------------------------------------------------------------------------
// Concurrency

#[test]
fn twenty_concurrent_switches_keep_every_context() {
    let hosts = ["a.example", "b.example", "c.example"];
    let emails = ["u1@x.io", "u2@x.io", "u3@x.io"];
    let mut yaml = String::from("token_storage: file\ncurrent_host: a.example\nhosts:\n");
    let mut tokens = String::from("version: 1\ntokens:\n");
    for host in hosts {
        yaml.push_str(&format!("  {host}:\n"));
        if host == "a.example" {
            yaml.push_str("    current_account: u1@x.io\n");
        }
        yaml.push_str("    accounts:\n");
        tokens.push_str(&format!("  {host}:\n"));
        for email in emails {
            yaml.push_str(&format!(
                "      {email}:\n        account:\n          id: {host}-{email}\n          email: {email}\n          name: User\n        token_id: t-{host}-{email}\n"
            ));
            tokens.push_str(&format!("    {email}: dfoa_{host}_{email}\n"));
        }
    }
    let t = Test::new().hosts(&yaml).tokens(&tokens);

    // Every email exists on every host, so each `use account` succeeds on
    // whichever host is current when it runs.
    let mut children = Vec::new();
    for i in 0..20 {
        let mut cmd = t.command();
        if i % 3 == 0 {
            cmd.args(["use", "host", "--domain", hosts[(i / 3) % 3]]);
        } else {
            cmd.args(["use", "account", "--email", emails[(i + i / 3) % 3]]);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        children.push(cmd.spawn().unwrap());
    }
    let mut set_hosts = BTreeSet::new();
    let mut set_accounts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        assert_eq!(stderr, "");
        if let Some(host) = stdout
            .strip_prefix("✓ Active host is now ")
            .and_then(|s| s.strip_suffix('\n'))
        {
            set_hosts.insert(host.to_string());
        } else {
            let rest = stdout
                .strip_prefix("✓ Active account on ")
                .and_then(|s| s.strip_suffix('\n'))
                .unwrap_or_else(|| panic!("unexpected output {stdout:?}"));
            let (host, email) = rest.split_once(" is now ").unwrap();
            set_accounts
                .entry(host.to_string())
                .or_default()
                .insert(email.to_string());
        }
    }

    // The file parses, and has every context in its place.
    let pairs = t.contexts();
    let expected: Vec<(String, String)> = hosts
        .iter()
        .flat_map(|h| emails.iter().map(|e| (h.to_string(), e.to_string())))
        .collect();
    assert_eq!(pairs, expected);
    let text = t.read("hosts.yml").unwrap();
    let without_pointers = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("current_host: ") && !l.starts_with("    current_account: "))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    assert_eq!(without_pointers(&text), without_pointers(&yaml));

    // No update was lost: each pointer holds the value of the last process
    // that set it (one of those that reported success), or its initial value.
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let current_host = doc["current_host"].as_str().unwrap().to_string();
    assert!(
        set_hosts.contains(&current_host),
        "{current_host} {set_hosts:?}"
    );
    for host in hosts {
        let current = doc["hosts"][host]["current_account"].as_str();
        match set_accounts.get(host) {
            Some(set) => assert!(
                current.is_some_and(|c| set.contains(c)),
                "{host}: {current:?} not in {set:?}\n{text}"
            ),
            None => assert_eq!(
                current,
                (host == "a.example").then_some("u1@x.io"),
                "{host}\n{text}"
            ),
        }
    }
    assert_eq!(t.read("tokens.yml").as_deref(), Some(tokens.as_str()));
    assert_eq!(
        t.snapshot().keys().collect::<Vec<_>>(),
        ["hosts.yml", "tokens.yml"],
        "no lock or temp file is left behind"
    );
}

// ---------------------------------------------------------------------------
// No network, no keychain

/// Whether a listener got a connection (made and closed before we look).
fn tcp_was_connected(l: &TcpListener) -> bool {
    match l.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) => panic!("accept: {e}"),
    }
}

fn unix_was_connected(l: &UnixListener) -> bool {
    match l.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) => panic!("accept: {e}"),
    }
}

/// Every local command, on a keychain-mode registry and a file-mode one.
fn local_invocations() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut v = Vec::new();
    for file in [EXAMPLE, TEAM] {
        for args in [
            vec!["auth", "whoami"],
            vec!["auth", "whoami", "--json"],
            vec!["auth", "list"],
            vec!["auth", "list", "-o", "json"],
            vec!["auth", "list", "-o", "yaml"],
            vec!["auth", "list", "-o", "name"],
            vec!["use", "host"],
            vec!["use", "host", "--domain", "nowhere.example"],
            vec!["use", "host", "--domain", "cloud.dify.ai"],
            vec!["use", "host", "--domain", "localhost:5001"],
            vec!["use", "account"],
        ] {
            v.push((file, args));
        }
    }
    // Credential lookups in file mode (the keychain is never involved there).
    v.push((TEAM, vec!["use", "account", "--email", "bob@example.com"]));
    v.push((TEAM, vec!["use", "account", "--email", "sam@corp.example"]));
    v
}

#[test]
fn local_commands_touch_neither_network_nor_keychain() {
    let dir = support::runner::TempDir::new();
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let bus_path = dir.path().join("bus");
    let bus = UnixListener::bind(&bus_path).unwrap();
    bus.set_nonblocking(true).unwrap();
    let bus_address = format!("unix:path={}", bus_path.display());

    for (file, args) in local_invocations() {
        let mut t = Test::new()
            .hosts(file)
            .env_remove("DIFY_E2E_NO_KEYRING")
            .env("DBUS_SESSION_BUS_ADDRESS", &bus_address)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus_address);
        if file == TEAM {
            t = t.tokens(TEAM_TOKENS);
        }
        for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
            t = t.env(var, &proxy_url).env(&var.to_lowercase(), &proxy_url);
        }
        let out = t.run_args(args.iter().copied());
        assert!(
            matches!(out.code, Some(0 | 2 | 4)),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            !tcp_was_connected(&proxy),
            "{args:?} connected to the proxy"
        );
        assert!(
            !unix_was_connected(&bus),
            "{args:?} connected to the session bus"
        );
    }

    // The detectors do see a connection that is already closed again.
    TcpStream::connect(proxy.local_addr().unwrap()).unwrap();
    UnixStream::connect(&bus_path).unwrap();
    assert!(tcp_was_connected(&proxy));
    assert!(unix_was_connected(&bus));
}

#[test]
fn local_commands_open_no_socket_under_strace() {
    if !support::tools::strace() {
        return;
    }
    for (file, args) in local_invocations() {
        let mut t = Test::new().hosts(file).env_remove("DIFY_E2E_NO_KEYRING");
        if file == TEAM {
            t = t.tokens(TEAM_TOKENS);
        }
        let trace = t.dir.path().join("trace");
        let inner = t.command();
        let mut cmd = Command::new("strace");
        cmd.env_clear();
        for (k, v) in inner.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        cmd.args(["-f", "-qq", "-e", "trace=%network", "-o"])
            .arg(&trace)
            .arg(BIN)
            .args(&args)
            .current_dir(t.dir.path());
        let (code, _, stderr) = output(cmd);
        assert!(matches!(code, Some(0 | 2 | 4)), "{args:?}: {stderr}");
        let calls = fs::read_to_string(&trace).unwrap();
        assert_eq!(calls, "", "{args:?} made network system calls");
    }
}
