//! `difyctl env list`: the variables difyctl reads, in the official registry's
//! words, sensitive values hidden.

use crate::support::runner::Test;

#[test]
fn env_list_hides_sensitive_values() {
    let t = Test::new()
        .env("DIFY_TOKEN", "dfoa_secret")
        .env("DIFY_LIMIT", "50");
    let out = t.run_args(["env", "list"]).code(0);
    assert!(!out.stdout.contains("dfoa_secret"));
    assert!(out.stdout.starts_with("NAME "), "{}", out.stdout);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("DIFY_TOKEN ") && l.contains(" <set> "))
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("DIFY_LIMIT ") && l.contains(" 50 "))
    );
    let json = t.run_args(["env", "list", "--json"]).code(0).json();
    let rows = json.as_array().unwrap();
    let token = rows.iter().find(|r| r["name"] == "DIFY_TOKEN").unwrap();
    assert_eq!(token["value"], "<set>");
    assert_eq!(token["sensitive"], true);
    let unset = rows
        .iter()
        .find(|r| r["name"] == "DIFYCTL_LOCK_TIMEOUT")
        .unwrap();
    assert_eq!(unset["value"], serde_json::Value::Null);
    // Only variables that take effect are listed.
    assert!(!rows.iter().any(|r| r["name"] == "DIFY_WORKSPACE_ID"));
}

#[test]
fn env_list_describes_the_official_variables_in_the_official_words() {
    let json = Test::new()
        .args(["env", "list", "--json"])
        .run()
        .code(0)
        .json();
    let described = |name: &str| {
        let rows = json.as_array().unwrap();
        let row = rows.iter().find(|r| r["name"] == name).unwrap();
        row["description"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        described("DIFY_NO_PROGRESS"),
        "Suppress progress spinners. Truthy values: 1, true, yes."
    );
    assert_eq!(
        described("DIFY_PLAIN"),
        "Disable ANSI colors and decorative output. Truthy values: 1, true, yes."
    );
    assert_eq!(
        described("DIFY_TOKEN"),
        "Bearer token for non-interactive auth."
    );
}
