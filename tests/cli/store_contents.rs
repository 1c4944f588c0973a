//! What difyctl makes of unusual contents of `hosts.yml` and `tokens.yml`:
//! data it does not know is kept or, when it could not be written back as
//! it is, the file is left alone with a clear error; a damaged entry costs
//! only its own context.

use std::fs;

use crate::common::path_of;
use crate::support::fixtures::{other_hosts, other_tokens, two_hosts, with_token_args};
use crate::support::mock::MockDify;
use crate::support::runner::{Test, output_with_stdin};
use crate::support::tools;

const ALICE: &str = "alice@example.com (Alice)\n";
const SWITCHED: &str = "✓ Active host is now two.example\n";

/// `use host --domain two.example`, which rewrites hosts.yml.
fn switch(t: &Test) {
    t.run_args(["use", "host", "--domain", "two.example"])
        .code(0)
        .stdout(SWITCHED)
        .stderr("");
}

#[test]
fn a_byte_order_mark_is_read_past() {
    let other_tokens = other_tokens();
    let t = Test::new()
        .hosts(format!("\u{feff}{}", two_hosts("cloud.dify.ai")))
        .tokens(format!("\u{feff}{other_tokens}"));
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout(ALICE)
        .stderr("");
    t.run_args(["auth", "token"])
        .code(0)
        .stdout("dfoa_alice\n")
        .stderr("");
    // Written back without it (as difyctl and the official tool write).
    switch(&t);
    assert_eq!(
        t.read("hosts.yml").unwrap(),
        two_hosts("two.example"),
        "the rest as it was"
    );
}

/// A file whose aliases repeat a large node many times: read, it would take
/// far more memory than its size, and written back, a file many times larger.
#[test]
fn aliases_that_multiply_the_file_are_refused_and_it_is_left_alone() {
    let other_tokens = other_tokens();
    let big = format!("[{}]", vec!["'0123456789abcdef'"; 300].join(", "));
    let repeats: String = (0..200).map(|i| format!("  k{i}: *big\n")).collect();
    let text = format!("{}x: &big {big}\ny:\n{repeats}", two_hosts("cloud.dify.ai"));
    let t = Test::new().hosts(&text).tokens(&other_tokens);
    let p = path_of(&t, "hosts.yml");
    let error = format!(
        "client_error: Invalid content in {p}: its YAML aliases repeat more data than the file holds.\n\
         hint: Fix {p} by hand or remove the file to reset it.\n"
    );
    for args in [
        &["auth", "list"][..],
        &["auth", "whoami"],
        &["use", "host", "--domain", "two.example"],
    ] {
        t.run_args(args).code(1).stdout("").stderr(&error);
    }
    assert_eq!(t.read("hosts.yml").unwrap(), text, "never rewritten");
}

/// Aliases within reason are kept as values (written out in full).
#[test]
fn a_few_aliases_are_read_and_written_out() {
    let other_tokens = other_tokens();
    let text = format!(
        "{}defaults: &d\n  region: eu\n  tier: 2\nmine: *d\n",
        two_hosts("cloud.dify.ai")
    );
    let t = Test::new().hosts(&text).tokens(&other_tokens);
    switch(&t);
    assert_eq!(
        t.read("hosts.yml").unwrap(),
        format!(
            "{}defaults:\n  region: eu\n  tier: 2\nmine:\n  region: eu\n  tier: 2\n",
            two_hosts("two.example")
        )
    );
}

#[test]
fn integers_beyond_64_bits_under_unknown_keys_are_kept() {
    let other_tokens = other_tokens();
    let extra =
        "big: 123456789012345678901234567890\nsmall:\n  - -98765432109876543210987654321\n  - 7\n";
    let t = Test::new()
        .hosts(format!("{}{extra}", two_hosts("cloud.dify.ai")))
        .tokens(format!("{other_tokens}{extra}"));
    t.run_args(["auth", "list", "-o", "name"])
        .code(0)
        .stdout("alice@example.com\nbob@x.io\n")
        .stderr("");
    t.run_args(["auth", "token"])
        .code(0)
        .stdout("dfoa_alice\n")
        .stderr("");
    switch(&t);
    assert_eq!(
        t.read("hosts.yml").unwrap(),
        format!("{}{extra}", two_hosts("two.example"))
    );
}

/// A tag difyctl's values do not keep (`!!binary`) would be dropped by a
/// rewrite: the file can be read, but not changed.
#[test]
fn tags_a_rewrite_would_lose_stop_the_change_and_say_why() {
    let other_tokens = other_tokens();
    let text = format!("{}blob: !!binary aGVsbG8=\n", two_hosts("cloud.dify.ai"));
    let t = Test::new().hosts(&text).tokens(&other_tokens);
    let p = path_of(&t, "hosts.yml");
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout(ALICE)
        .stderr("");
    t.run_args(["use", "host", "--domain", "two.example"])
        .code(1)
        .stdout("")
        .stderr(&format!(
            "client_error: Refusing to rewrite {p}: it uses the YAML tag !!binary (line 21, column 7), \
             which difyctl would not write back.\n\
             hint: Remove the tag (or its value) from {p} by hand, then try again.\n"
        ));
    assert_eq!(t.read("hosts.yml").unwrap(), text);
    // A command that changes nothing does not mind.
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(0)
        .stdout("✓ Active host is now cloud.dify.ai\n")
        .stderr("");
    assert_eq!(t.read("hosts.yml").unwrap(), text);

    // Core tags keep their meaning in the values, and are written as such.
    let t = Test::new()
        .hosts(format!(
            "{}num: !!str 123\nhex: !!int 0x10\n",
            two_hosts("cloud.dify.ai")
        ))
        .tokens(&other_tokens);
    switch(&t);
    assert_eq!(
        t.read("hosts.yml").unwrap(),
        format!("{}num: '123'\nhex: 16\n", two_hosts("two.example"))
    );
}

/// What is written can always be read back: the file difyctl wrote from a
/// hand-written one with flow style, comments and aliases is read the same.
#[test]
fn what_is_written_reads_back_the_same() {
    let other_hosts = other_hosts();
    let other_tokens = other_tokens();
    let text = format!(
        "{}# a comment\nlist: [a, {{b: c}}, [1, 2.5, ~]]\nanchor: &a {{k: v}}\nagain: *a\n",
        other_hosts
    );
    let t = Test::new().hosts(&text).tokens(&other_tokens);
    t.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(0)
        .stderr("");
    let before = t.run_args(["auth", "list", "-o", "json"]).code(0).json();
    // A change that rewrites it.
    let t2 = Test::new()
        .hosts(text.replace("current_host: cloud.dify.ai\n", ""))
        .tokens(&other_tokens);
    t2.run_args(["use", "host", "--domain", "cloud.dify.ai"])
        .code(0)
        .stderr("");
    let written = t2.read("hosts.yml").unwrap();
    assert_eq!(
        written,
        format!(
            "{other_hosts}list:\n  - a\n  - b: c\n  - - 1\n    - 2.5\n    - null\nanchor:\n  k: v\nagain:\n  k: v\n"
        )
    );
    assert_eq!(
        t2.run_args(["auth", "list", "-o", "json"]).code(0).json(),
        before
    );
}

/// Carol's context, next to a damaged one, works.
fn carols_token_reads(t: &Test) {
    let args = [
        "auth",
        "token",
        "--host",
        "two.example",
        "--account",
        "carol@x.io",
    ];
    t.run_args(args).code(0).stdout("dfoa_carol\n").stderr("");
}

/// `two.example` with bob (his `workspace` a list: damaged) and carol.
fn with_damaged_bob(active: &str) -> String {
    let other_hosts = other_hosts();
    format!(
        "{other_hosts}  two.example:\n    current_account: bob@x.io\n    accounts:\n      bob@x.io:\n        \
         account:\n          id: b\n          email: bob@x.io\n          name: Bob\n        workspace:\n          \
         - w1\n      carol@x.io:\n        account:\n          id: c\n          email: carol@x.io\n          \
         name: Carol\n"
    )
    .replace("current_host: cloud.dify.ai", &format!("current_host: {active}"))
}

/// One context whose entry in hosts.yml does not fit costs only itself: the
/// others work, it gets an error naming it, and writes keep it as it was.
#[test]
fn a_damaged_context_in_hosts_yml_costs_only_itself() {
    let other_tokens = other_tokens();
    let text = with_damaged_bob("cloud.dify.ai");
    let tokens = format!(
        "{other_tokens}  two.example:\n    bob@x.io: dfoa_bob\n    carol@x.io: dfoa_carol\n"
    );
    let t = Test::new().hosts(&text).tokens(&tokens);
    let p = path_of(&t, "hosts.yml");
    let damage = format!(
        "Invalid content in {p}: hosts.two.example.accounts.bob@x.io: workspace: invalid type, \
         expected a workspace (a map of id, name and role)."
    );
    let error = format!(
        "client_error: {damage}\nhint: Fix or remove that entry of {p} by hand, or sign in again to replace it.\n"
    );
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout(ALICE)
        .stderr("");
    t.run_args(["auth", "list", "-o", "name"])
        .code(0)
        .stdout("alice@example.com\ncarol@x.io\n")
        .stderr(&format!("! Left out: {damage}\n"));
    t.run_args([
        "auth",
        "token",
        "--host",
        "two.example",
        "--account",
        "bob@x.io",
    ])
    .code(1)
    .stdout("")
    .stderr(&error);
    carols_token_reads(&t);
    // Its host can be made current; the damaged context cannot be used.
    switch(&t);
    assert_eq!(
        t.read("hosts.yml").unwrap(),
        with_damaged_bob("two.example"),
        "kept as it was"
    );
    t.run_args(["auth", "whoami"])
        .code(1)
        .stdout("")
        .stderr(&error);
    t.run_args(["use", "account", "--email", "bob@x.io"])
        .code(1)
        .stdout("")
        .stderr(&error);
    t.run_args(["use", "account", "--email", "carol@x.io"])
        .code(0)
        .stdout("✓ Active account on two.example is now carol@x.io\n")
        .stderr("");
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("carol@x.io (Carol)\n")
        .stderr("");
    assert_eq!(
        t.read("hosts.yml").unwrap(),
        with_damaged_bob("two.example").replace(
            "    current_account: bob@x.io\n",
            "    current_account: carol@x.io\n"
        )
    );
}

/// One entry of tokens.yml that is not a token (a map) costs only its own
/// context (the official tool skips it), and a write keeps it as it was.
#[test]
fn a_damaged_entry_in_tokens_yml_costs_only_its_context() {
    let other_tokens = other_tokens();
    let mock = MockDify::start();
    let session = mock.add_session("difyctl on ci");
    let hosts =
        with_damaged_bob("cloud.dify.ai").replace("        workspace:\n          - w1\n", "");
    let bad = "  two.example:\n    bob@x.io:\n      nested: map\n    carol@x.io: dfoa_carol\n";
    let t = Test::new()
        .hosts(&hosts)
        .tokens(format!("{other_tokens}{bad}"))
        .stdin(format!("{}\n", session.token));
    let p = path_of(&t, "tokens.yml");
    t.run_args(["auth", "token"])
        .code(0)
        .stdout("dfoa_alice\n")
        .stderr("");
    t.run_args(["auth", "token", "--host", "two.example"])
        .code(1)
        .stdout("")
        .stderr(&format!(
            "client_error: Invalid content in {p}: tokens.two.example.bob@x.io is not a string.\n\
             hint: Fix or remove that entry of {p} by hand, or sign in again to replace it.\n"
        ));
    carols_token_reads(&t);
    // A sign-in rewrites tokens.yml: the damaged entry stays.
    t.run_args(with_token_args(&mock))
        .code(0)
        .stdout_has("Logged in to")
        .stderr("");
    let written = t.read("tokens.yml").unwrap();
    assert_eq!(
        written,
        format!(
            "{other_tokens}{bad}  {}:\n    tester@dify.ai: {}\n",
            mock.host(),
            session.token
        )
    );
}

/// A sign-in drops tokens of no context from tokens.yml; a context whose
/// hosts.yml entry is damaged still has its token kept.
#[test]
fn a_sign_in_keeps_the_tokens_of_damaged_contexts() {
    let other_tokens = other_tokens();
    let mock = MockDify::start();
    let session = mock.add_session("difyctl on ci");
    let tokens = format!(
        "{other_tokens}  two.example:\n    bob@x.io: dfoa_bob\n    carol@x.io: dfoa_carol\n  gone.example:\n    x@x.io: dfoa_orphan\n"
    );
    let t = Test::new()
        .hosts(with_damaged_bob("cloud.dify.ai"))
        .tokens(&tokens)
        .stdin(format!("{}\n", session.token));
    t.run_args(with_token_args(&mock))
        .code(0)
        .stdout_has("Logged in to")
        .stderr("");
    assert_eq!(
        t.read("tokens.yml").unwrap(),
        format!(
            "{other_tokens}  two.example:\n    bob@x.io: dfoa_bob\n    carol@x.io: dfoa_carol\n  {}:\n    tester@dify.ai: {}\n",
            mock.host(),
            session.token
        )
    );
    let hosts = t.read("hosts.yml").unwrap();
    assert!(
        hosts.contains("        workspace:\n          - w1\n"),
        "the damaged entry is kept:\n{hosts}"
    );
}

/// `use host` and `use account` with the choice given read hosts.yml once,
/// under the lock (where the change is made); with nothing stored they
/// create nothing, not even the config dir or a lock.
#[test]
fn use_reads_hosts_yml_once_and_creates_nothing_when_nothing_is_stored() {
    let other_tokens = other_tokens();
    let t = Test::new();
    let not_logged_in = "not_logged_in: not logged in\n";
    for args in [
        &["use", "host", "--domain", "two.example"][..],
        &["use", "account", "--email", "bob@x.io"],
    ] {
        let out = t.run_args(args).code(4).stdout("");
        assert!(out.stderr.starts_with(not_logged_in), "{}", out.stderr);
        assert!(!t.config_dir().exists(), "{args:?} created the config dir");
    }
    let t = Test::new()
        .hosts(two_hosts("cloud.dify.ai"))
        .tokens(&other_tokens);
    fs::create_dir_all(t.config_dir()).unwrap();
    let unknown = t.run_args(["use", "host", "--domain", "nowhere"]).code(2);
    assert!(
        unknown
            .stderr
            .starts_with("usage_invalid_flag: unknown host")
    );
    assert_eq!(t.leftovers(), Vec::<String>::new(), "no lock left");
    if !tools::strace() {
        return;
    }
    let trace = t.config_dir().join("..").join("trace");
    let args = ["use", "host", "--domain", "two.example"];
    let mut cmd = t.command_under(
        "strace",
        &[
            "-f",
            "-qq",
            "-e",
            "trace=openat",
            "-o",
            trace.to_str().unwrap(),
        ],
    );
    cmd.args(args);
    let out = output_with_stdin(cmd, b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let opens = fs::read_to_string(&trace).unwrap();
    let reads = opens
        .lines()
        .filter(|l| l.contains("/hosts.yml\", O_RDONLY"))
        .count();
    assert_eq!(reads, 1, "{opens}");
    assert_eq!(t.read("hosts.yml").unwrap(), two_hosts("two.example"));
}
