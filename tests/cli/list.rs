//! `auth list` against `hosts.yml` files as the official tool writes them:
//! every output format, external-SSO contexts, wide characters, terminal
//! escapes in file text.

use crate::common::{EXAMPLE, sso};
use crate::support::fixtures::{Context, Hosts};
use crate::support::runner::Test;

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
    let t = Test::new().hosts(sso());
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
    let t = Test::new().hosts(
        Hosts::file()
            .with(
                Context::new("cloud.dify.ai", "zhang@example.com")
                    .id("z1")
                    .name("張三"),
            )
            .with(
                Context::new("cloud.dify.ai", "bob@x.io")
                    .id("b1")
                    .name("Bob"),
            )
            .current_account("cloud.dify.ai", Some("bob@x.io")),
    );
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
