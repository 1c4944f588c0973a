//! The `hosts.yml` models: reading, writing, and the registry's changes.

#![allow(clippy::unit_arg)] // `Ok(doc.change())` keeps update closures on one line

use super::*;
use crate::error::ErrorCode;
use crate::state::store::Store;
use crate::state::testutil::TempDir;
use std::fs;
use std::sync::Arc;

const EXAMPLE: &str = include_str!("../../../tests/fixtures/hosts-example.yml");

fn parse(text: &str) -> Result<Registry> {
    Registry::parse(text, Path::new("/cfg/hosts.yml"))
}

fn round_trip(text: &str) {
    let reg = parse(text).unwrap();
    assert_eq!(reg.render(), text);
}

#[test]
fn protocol_example_round_trips_byte_for_byte() {
    let reg = parse(EXAMPLE).unwrap();
    assert_eq!(reg.token_storage, TokenStorage::Keychain);
    let (host, email, ctx) = reg.active().unwrap();
    assert_eq!((host, email), ("localhost:5001", "dev@example.com"));
    assert_eq!(ctx.token_id.as_deref(), Some("t2"));
    assert_eq!(reg.hosts.get("localhost:5001").unwrap().scheme(), "http");
    assert_eq!(reg.hosts.get("cloud.dify.ai").unwrap().scheme(), "https");
    let hosts: Vec<_> = reg.contexts().map(|(h, e, _)| (h, e)).collect();
    assert_eq!(
        hosts,
        [
            ("cloud.dify.ai", "alice@example.com"),
            ("localhost:5001", "dev@example.com")
        ]
    );
    assert_eq!(reg.render(), EXAMPLE);
}

#[test]
fn built_in_code_renders_the_example() {
    let mut reg = Registry {
        token_storage: TokenStorage::Keychain,
        ..Registry::default()
    };
    let alice = Context {
        account: Account {
            id: Some("acc-1".into()),
            email: "alice@example.com".into(),
            name: "Alice".into(),
            ..Account::default()
        },
        workspace: Some(Workspace {
            id: "ws-1".into(),
            name: "Acme Team".into(),
            role: "owner".into(),
            ..Workspace::default()
        }),
        token_id: Some("tok-1".into()),
        ..Context::default()
    };
    let dev = Context {
        account: Account {
            id: Some("a2".into()),
            email: "dev@example.com".into(),
            name: "Dev".into(),
            ..Account::default()
        },
        token_id: Some("t2".into()),
        ..Context::default()
    };
    reg.upsert("cloud.dify.ai", "https", "alice@example.com", alice)
        .unwrap();
    reg.upsert("localhost:5001", "http", "dev@example.com", dev)
        .unwrap();
    assert_eq!(reg.render(), EXAMPLE);
}

#[test]
fn empty_registry_forms() {
    assert_eq!(parse("").unwrap(), Registry::default());
    assert_eq!(parse("# nothing\n").unwrap(), Registry::default());
    assert_eq!(parse("~\n").unwrap(), Registry::default());
    assert_eq!(
        Registry::default().render(),
        "token_storage: file\nhosts: {}\n"
    );
    round_trip("token_storage: file\nhosts: {}\n");
    round_trip("token_storage: keychain\nhosts: {}\n");
    let reg = parse("hosts:\n").unwrap();
    assert!(reg.is_empty());
}

#[test]
fn sso_context_round_trips() {
    round_trip(
        "token_storage: file\ncurrent_host: cloud.dify.ai\nhosts:\n  cloud.dify.ai:\n    \
         current_account: sso@corp.example\n    accounts:\n      sso@corp.example:\n        \
         account:\n          id: ''\n          email: ''\n          name: ''\n        \
         token_id: s-1\n        external_subject:\n          email: sso@corp.example\n          \
         issuer: https://idp.corp.example/realms/x\n",
    );
    let reg = parse(
        "hosts:\n  h:\n    accounts:\n      e:\n        account: {id: '', email: '', name: ''}\n        \
         external_subject: {email: e, issuer: i}\n",
    )
    .unwrap();
    let ctx = reg.context("h", "e").unwrap();
    assert!(ctx.is_external_sso());
    assert_eq!(ctx.account.id.as_deref(), Some(""));
}

#[test]
fn unknown_keys_are_preserved_after_known_ones() {
    let text = "future_root: 1\ntoken_storage: file\nhosts:\n  h:\n    insecure: true\n    accounts:\n      \
                e:\n        available_workspaces:\n          - id: w\n            name: W\n            \
                role: owner\n        account:\n          email: e\n          avatar: null\n        \
                workspace:\n          id: w\n          name: W\n          role: owner\n          plan: 'yes'\n";
    let reg = parse(text).unwrap();
    assert_eq!(
        reg.render(),
        "token_storage: file\nhosts:\n  h:\n    accounts:\n      e:\n        account:\n          \
         email: e\n          name: ''\n          avatar: null\n        workspace:\n          id: w\n          \
         name: W\n          role: owner\n          plan: 'yes'\n        available_workspaces:\n          \
         - id: w\n            name: W\n            role: owner\n    insecure: true\nfuture_root: 1\n"
    );
    // Stable from then on.
    round_trip(&reg.render());
}

#[test]
fn preserved_values_load_as_js_yaml_holds_them() {
    // Keys are strings, integral floats integers: what is written reads back the same.
    let reg = parse("x:\n  1: one\n  ~: n\n  ? {a: 1}\n  : m\n  f: 2.0\n  g: 2.5\n").unwrap();
    assert_eq!(
        reg.render(),
        "token_storage: file\nhosts: {}\nx:\n  '1': one\n  'null': 'n'\n  'a: 1': m\n  f: 2\n  g: 2.5\n"
    );
    assert_eq!(parse(&reg.render()).unwrap(), reg);
    round_trip(&reg.render());
    // Two keys that become the same string are a duplicate, as in js-yaml.
    let err = parse("x:\n  1: a\n  '1': b\n").unwrap_err();
    assert!(
        err.message.contains("duplicated mapping key `1`"),
        "{}",
        err.message
    );
}

#[test]
fn ambiguous_strings_are_quoted_and_read_back() {
    let mut reg = Registry::default();
    let ctx = Context {
        account: Account {
            id: Some("123".into()),
            email: "yes".into(),
            name: "@x".into(),
            ..Account::default()
        },
        token_expires_at: Some("2026-07-01T00:00:00Z".into()),
        token_id: Some("null".into()),
        ..Context::default()
    };
    reg.upsert("h", "https", "true", ctx.clone()).unwrap();
    let text = reg.render();
    assert!(text.contains("    current_account: 'true'\n"), "{text}");
    assert!(text.contains("      'true':\n"), "{text}");
    assert!(text.contains("          id: '123'\n"), "{text}");
    assert!(text.contains("          email: 'yes'\n"), "{text}");
    assert!(text.contains("          name: '@x'\n"), "{text}");
    assert!(text.contains("        token_id: 'null'\n"), "{text}");
    assert!(
        text.contains("        token_expires_at: '2026-07-01T00:00:00Z'\n"),
        "{text}"
    );
    assert_eq!(parse(&text).unwrap().context("h", "true"), Some(&ctx));
}

#[test]
fn hand_written_scalars_load_as_written() {
    let reg = parse("hosts:\n  h:\n    accounts:\n      e:\n        account:\n          id: 0x10\n          name: 1.50\n").unwrap();
    let acc = &reg.context("h", "e").unwrap().account;
    assert_eq!(acc.id.as_deref(), Some("0x10"));
    assert_eq!(acc.name, "1.50");
}

#[test]
fn schema_errors_name_the_file_and_place() {
    let err = parse("token_storage: cloud\nhosts: {}\n").unwrap_err();
    assert_eq!(err.code, ErrorCode::ClientError);
    assert_eq!(
        err.message,
        "Invalid content in /cfg/hosts.yml: token_storage: unknown variant `cloud`, expected \
         `keychain` or `file` at line 1, column 16.\n\n> 1 | token_storage: cloud\n                     ^\n  2 | hosts: {}"
    );
    assert_eq!(
        err.hint.as_deref(),
        Some("Fix /cfg/hosts.yml by hand or remove the file to reset it.")
    );
    let err = parse("hosts: [1, 2]\n").unwrap_err();
    assert!(err.message.starts_with("Invalid content in /cfg/hosts.yml: hosts: invalid type: sequence, expected a map at line 1, column 8."), "{}", err.message);
    let err = parse("- a\n").unwrap_err();
    assert!(
        err.message
            .starts_with("Invalid content in /cfg/hosts.yml: invalid type: sequence"),
        "{}",
        err.message
    );
}

/// A context or host whose entry does not fit costs only itself: it is
/// kept aside (and written back as it was), with an error naming it.
#[test]
fn damaged_entries_are_set_aside_one_by_one() {
    let good = "      g:\n        account:\n          email: g\n          id: 0x10\n";
    for (bad, host, email, what) in [
        (
            "      e:\n        token_id: t\n",
            "h",
            Some("e"),
            "hosts.h.accounts.e: missing field `account`",
        ),
        (
            "      e:\n        account: {}\n        workspace: {id: w}\n",
            "h",
            Some("e"),
            "hosts.h.accounts.e: workspace: missing field `name`",
        ),
        (
            "      e:\n        account: {}\n        x: !custom 1\n",
            "h",
            Some("e"),
            "hosts.h.accounts.e: unsupported YAML tag !custom",
        ),
        (
            "      e:\n        account:\n          name: [x]\n",
            "h",
            Some("e"),
            "hosts.h.accounts.e: account: name: invalid type: sequence, expected a string",
        ),
        (
            "      e: just text\n",
            "h",
            Some("e"),
            "hosts.h.accounts.e: invalid type, expected an account context (a map with an account)",
        ),
    ] {
        let text = format!(
            "current_host: h\nhosts:\n  h:\n    current_account: e\n    accounts:\n{bad}{good}"
        );
        let reg = parse(&text).unwrap_or_else(|e| panic!("{text}: {}", e.message));
        assert_eq!(
            reg.context("h", "g").unwrap().account.id.as_deref(),
            Some("0x10")
        );
        assert!(reg.context(host, email.unwrap()).is_none());
        let err = reg.damage(host, email).unwrap();
        assert_eq!(
            err.message,
            format!("Invalid content in /cfg/hosts.yml: {what}.")
        );
        assert_eq!(
            err.hint.as_deref(),
            Some(
                "Fix or remove that entry of /cfg/hosts.yml by hand, or sign in again to replace it."
            )
        );
        assert_eq!(reg.active_damage().unwrap().message, err.message);
        assert!(reg.active().is_none());
        assert_eq!(reg.contexts().count(), 1);
        assert_eq!(reg.damaged().count(), 1);
        // Written back as it was (as values), and read back the same;
        // a tag is not written back, so such a file is not rewritten.
        let path = Path::new("/cfg/hosts.yml");
        if Registry::unwritable(&text, path).is_none() {
            assert_eq!(parse(&reg.render()).unwrap(), reg);
        }
    }
    // A whole host.
    let reg = parse("hosts:\n  h: 5\n  g:\n    accounts: {}\n").unwrap();
    assert_eq!(
        reg.damage("h", Some("x")).unwrap().message,
        "Invalid content in /cfg/hosts.yml: hosts.h: invalid type, expected a host entry \
         (a map of scheme, current_account and accounts)."
    );
    assert_eq!(
        reg.render(),
        "token_storage: file\nhosts:\n  h: 5\n  g:\n    accounts: {}\n"
    );
    // It is not overwritten by a sign-in, nor dropped with its last readable neighbour.
    let mut changed = reg.clone();
    let e = changed.upsert("h", "https", "x", ctx("x")).unwrap_err();
    assert_eq!(e.message, reg.damage("h", None).unwrap().message);
    // What could not be written back as it was is not set aside: the file
    // is refused as a whole, as before (here a key that is a collection).
    let text =
        "hosts:\n  h:\n    accounts:\n      e:\n        account: {}\n        ? [k]\n        : v\n";
    let e = parse(text).unwrap_err();
    assert!(
        e.message.starts_with("Invalid content in /cfg/hosts.yml: "),
        "{}",
        e.message
    );
    let mut reg =
        parse("hosts:\n  h:\n    accounts:\n      a:\n        account: {}\n      b: 1\n").unwrap();
    assert!(reg.remove("h", "a").is_some());
    assert_eq!(
        reg.render(),
        "token_storage: file\nhosts:\n  h:\n    accounts:\n      b: 1\n"
    );
}

#[test]
fn syntax_and_duplicate_key_errors_use_the_official_wording() {
    let err = parse("token_storage: file\nhosts:\n  a: [\n").unwrap_err();
    assert!(
        err.message
            .starts_with("Failed to parse YAML file /cfg/hosts.yml: "),
        "{}",
        err.message
    );
    assert!(err.message.contains("\n\n"), "{}", err.message);
    let err = parse("hosts:\n  h:\n    accounts: {}\n  h:\n    accounts: {}\n").unwrap_err();
    assert!(
        err.message
            .starts_with("Failed to parse YAML file /cfg/hosts.yml: "),
        "{}",
        err.message
    );
    assert!(err.message.contains("duplicate"), "{}", err.message);
    assert_eq!(
        err.hint.as_deref(),
        Some("Fix the YAML syntax in /cfg/hosts.yml or remove the file to reset it.")
    );
}

fn ctx(email: &str) -> Context {
    Context {
        account: Account {
            email: email.into(),
            ..Account::default()
        },
        ..Context::default()
    }
}

/// h/a and h/b over http, g/c over https (g active), and a new version
/// of h/a with another token_id.
fn two_hosts_and_a_new_a() -> (Registry, Context) {
    let mut reg = Registry::default();
    reg.upsert("h", "http", "a", ctx("a")).unwrap();
    reg.upsert("h", "http", "b", ctx("b")).unwrap();
    reg.upsert("g", "https", "c", ctx("c")).unwrap();
    let mut again = ctx("a");
    again.token_id = Some("new".into());
    (reg, again)
}

#[test]
fn upsert_replaces_in_place_and_tracks_scheme() {
    let (mut reg, again) = two_hosts_and_a_new_a();
    reg.upsert("h", "https", "a", again).unwrap();
    let order: Vec<_> = reg.contexts().map(|(h, e, _)| format!("{h}/{e}")).collect();
    assert_eq!(order, ["h/a", "h/b", "g/c"]);
    assert_eq!(
        reg.active().map(|(h, e, c)| (h, e, c.token_id.as_deref())),
        Some(("h", "a", Some("new")))
    );
    assert_eq!(reg.hosts.get("h").unwrap().scheme, None);
}

#[test]
fn replace_keeps_the_active_context() {
    let (mut reg, again) = two_hosts_and_a_new_a();
    reg.replace("h", "http", "a", again).unwrap();
    let order: Vec<_> = reg.contexts().map(|(h, e, _)| format!("{h}/{e}")).collect();
    assert_eq!(order, ["h/a", "h/b", "g/c"]);
    assert_eq!(reg.active().map(|(h, e, _)| (h, e)), Some(("g", "c")));
    let h = reg.hosts.get("h").unwrap();
    assert_eq!(
        (h.current_account.as_deref(), h.scheme.as_deref()),
        (Some("b"), Some("http"))
    );
    assert_eq!(
        reg.context("h", "a").unwrap().token_id.as_deref(),
        Some("new")
    );
}

#[test]
fn remove_follows_logout_rules() {
    let mut reg = Registry::default();
    reg.upsert("h", "https", "a", ctx("a")).unwrap();
    reg.upsert("h", "https", "b", ctx("b")).unwrap();
    reg.upsert("g", "https", "c", ctx("c")).unwrap();
    // Not the current account of h: pointers untouched.
    reg.set_current_host("h");
    assert!(reg.remove("h", "a").is_some());
    assert_eq!(reg.active().map(|(h, e, _)| (h, e)), Some(("h", "b")));
    // The active one: nothing is active afterwards, and h (now empty) is gone.
    assert!(reg.remove("h", "b").is_some());
    assert_eq!(reg.current_host, None);
    assert!(!reg.hosts.contains_key("h"));
    assert_eq!(
        reg.hosts.get("g").unwrap().current_account.as_deref(),
        Some("c")
    );
    assert!(reg.remove("g", "zzz").is_none());
    assert!(reg.remove("g", "c").is_some());
    assert_eq!(reg.render(), "token_storage: file\nhosts: {}\n");
}

#[test]
fn current_pointers_only_name_stored_things() {
    let mut reg = Registry::default();
    reg.upsert("h", "https", "a", ctx("a")).unwrap();
    reg.upsert("h", "https", "b", ctx("b")).unwrap();
    reg.upsert("g", "https", "c", ctx("c")).unwrap();
    assert!(!reg.set_current_host("nope"));
    assert!(!reg.set_current_account("h", "nope"));
    assert!(reg.set_current_host("h"));
    assert_eq!(reg.active().map(|(h, e, _)| (h, e)), Some(("h", "b")));
    assert!(reg.set_current_account("h", "a"));
    assert_eq!(reg.active().map(|(h, e, _)| (h, e)), Some(("h", "a")));
    reg.current_host = Some(String::new());
    assert!(reg.active().is_none());
}

#[test]
fn file_is_never_rewritten_after_a_parse_failure() {
    let dir = TempDir::new();
    let file = dir.path().join(HOSTS_FILE);
    for bad in ["hosts: [\n", "token_storage: cloud\n"] {
        fs::write(&file, bad).unwrap();
        let err = Store::new(&file)
            .update(|r: &mut Registry| r.upsert("h", "https", "a", ctx("a")))
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::ClientError);
        assert_eq!(fs::read_to_string(&file).unwrap(), bad);
    }
}

#[test]
fn concurrent_updaters_all_land() {
    let dir = TempDir::new();
    let file = Arc::new(dir.path().join(HOSTS_FILE));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let file = Arc::clone(&file);
            std::thread::spawn(move || {
                for j in 0..5 {
                    let email = format!("u{i}-{j}@example.com");
                    Store::new(file.as_path())
                        .update(|r: &mut Registry| {
                            r.upsert(&format!("h{}", i % 3), "https", &email, ctx(&email))
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let reg: Registry = Store::new(file.as_path()).load().unwrap();
    assert_eq!(reg.contexts().count(), 80);
    for i in 0..16 {
        for j in 0..5 {
            assert!(
                reg.context(&format!("h{}", i % 3), &format!("u{i}-{j}@example.com"))
                    .is_some()
            );
        }
    }
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, [HOSTS_FILE]);
}
