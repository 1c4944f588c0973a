//! Output formats across the commands that print data: `-o json`, `--json`
//! and `DIFY_FORMAT=json` print the same JSON, `-o yaml` the same data as
//! YAML, `-o name` a name a line; a bad `DIFY_FORMAT` is a usage error.

use crate::common::run;
use crate::support::fixtures::signed_in;
use crate::support::mock::MockDify;

/// Every command that prints data, as it is called.
const DATA: &[&[&str]] = &[
    &["auth", "whoami"],
    &["auth", "list"],
    &["auth", "status"],
    &["auth", "status", "--all"],
    &["auth", "devices", "list"],
    &["env", "list"],
    &["version", "--client"],
];

#[test]
fn json_flags_and_dify_format_print_the_same() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    for args in DATA {
        let with = |extra: &[&str], env: &[(&str, &str)]| {
            let mut all = args.to_vec();
            all.extend(extra);
            run(&t, env, &all, b"").stderr("").into_stdout()
        };
        let json = with(&["-o", "json"], &[]);
        let parsed: serde_json::Value =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{args:?} -o json: {e}\n{json}"));
        assert_eq!(with(&["--json"], &[]), json, "{args:?} --json");
        assert_eq!(
            with(&["--output=json"], &[]),
            json,
            "{args:?} --output=json"
        );
        // `env list` shows DIFY_FORMAT's own value: leave its row out.
        let same = |text: String| {
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if let Some(rows) = v.as_array_mut() {
                rows.retain(|r| r["name"] != "DIFY_FORMAT");
            }
            let mut p = parsed.clone();
            if let Some(rows) = p.as_array_mut() {
                rows.retain(|r| r["name"] != "DIFY_FORMAT");
            }
            v == p
        };
        assert!(
            same(with(&[], &[("DIFY_FORMAT", "json")])),
            "{args:?} DIFY_FORMAT"
        );
        // A flag wins over DIFY_FORMAT; --json=false undoes --json.
        assert!(
            same(with(&["-o", "json"], &[("DIFY_FORMAT", "yaml")])),
            "{args:?}"
        );
        assert_ne!(with(&["--json", "--json=false"], &[]), json, "{args:?}");
        let yaml = with(&["-o", "yaml"], &[]);
        let from_yaml: serde_json::Value =
            serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{args:?} -o yaml: {e}\n{yaml}"));
        assert_eq!(from_yaml, parsed, "{args:?} -o yaml");
        if args[0] != "env" {
            assert_eq!(with(&[], &[("DIFY_FORMAT", "yaml")]), yaml, "{args:?}");
            // `table` is the default view.
            assert_eq!(
                with(&[], &[("DIFY_FORMAT", "table")]),
                with(&[], &[]),
                "{args:?}"
            );
        }
    }
}

#[test]
fn names_one_a_line() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    run(&t, &[], &["auth", "list", "-o", "name"], b"").stdout("tester@dify.ai\n");
    run(&t, &[], &["auth", "devices", "list", "-o", "name"], b"").stdout("difyctl on me\n");
    let names = run(&t, &[("DIFY_FORMAT", "name")], &["env", "list"], b"").into_stdout();
    assert!(
        names.starts_with("DIFY_CONFIG_DIR\nDIFY_FORMAT\n"),
        "{names}"
    );
    // Commands without names show their default view.
    run(&t, &[("DIFY_FORMAT", "name")], &["auth", "whoami"], b"")
        .stdout("tester@dify.ai (Tester)\n");
}

#[test]
fn a_dify_format_that_is_no_format_is_a_usage_error() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    run(&t, &[("DIFY_FORMAT", "xml")], &["auth", "list"], b"")
        .code(2)
        .stdout("")
        .stderr(
            "usage_invalid_flag: DIFY_FORMAT: \"xml\" is not an output format\n\
             hint: set DIFY_FORMAT to json, yaml, name or table, or unset it\n",
        );
    // Commands that print no data do not read it.
    run(
        &t,
        &[("DIFY_FORMAT", "xml")],
        &["use", "host", "--domain", &mock.host()],
        b"",
    )
    .stdout(&format!("✓ Active host is now {}\n", mock.host()));
    // DIFY_FORMAT=json makes errors JSON too, as -o json does.
    run(
        &crate::common::empty_config(),
        &[("DIFY_FORMAT", "json")],
        &["auth", "whoami"],
        b"",
    )
    .code(4)
    .stdout("")
    .stderr(
        "{\"error\":{\"code\":\"not_logged_in\",\"message\":\"not logged in\",\
             \"hint\":\"run 'difyctl auth login'\"}}\n",
    );
}

#[test]
fn the_official_spellings_are_unchanged() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    // whoami --json and devices list --json: one line; auth list -o json:
    // indented by two spaces; env list --json: indented.
    let whoami = run(&t, &[], &["auth", "whoami", "--json"], b"").into_stdout();
    assert_eq!(whoami.lines().count(), 1, "{whoami}");
    let devices = run(&t, &[], &["auth", "devices", "list", "--json"], b"").into_stdout();
    assert_eq!(devices.lines().count(), 1, "{devices}");
    let list = run(&t, &[], &["auth", "list", "-o", "json"], b"").into_stdout();
    assert!(list.starts_with("{\n  \"contexts\": [\n"), "{list}");
    run(&t, &[], &["auth", "list", "-o", "table"], b"")
        .code(2)
        .stderr("illegal_argument: illegal value table for flag --output / -o\nhint: supported value: json, yaml, name\n");
}
