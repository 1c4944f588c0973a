//! The files on disk, whatever command reads or writes them: corrupt or
//! schema-invalid `hosts.yml` and `tokens.yml` reported and left alone, locks
//! held or stale, private writes, a read-only config dir, twenty concurrent
//! switches, a config dir that others can change or own; and the local commands
//! open no socket and touch no keychain.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{EXAMPLE, output, path_of, team, team_tokens};
use crate::support::fixtures::{Context, Hosts, Tokens, with_other_context};
use crate::support::runner::{BIN, Outcome, Test, mode, set_mode, set_mtime};
use crate::support::tools;

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

    // A wrong shape deeper down names the file and the entry; it costs only
    // that context (more in store_contents.rs).
    let yaml =
        "token_storage: file\nhosts:\n  h.example:\n    accounts:\n      a@b.c: just-a-string\n";
    let t = Test::new().hosts(yaml);
    let p = path_of(&t, "hosts.yml");
    t.run_args(["auth", "list"])
        .code(0)
        .stdout("HOST  ACCOUNT  ACTIVE\n")
        .stderr(&format!(
            "! Left out: Invalid content in {p}: hosts.h.example.accounts.a@b.c: invalid type, \
         expected an account context (a map with an account).\n"
        ));
    assert_eq!(t.read("hosts.yml").as_deref(), Some(yaml));
}

#[test]
fn corrupt_tokens_yml_stops_use_account_only() {
    let broken = "version: 1\ntokens:\n  cloud.dify.ai: [\n";
    let t = Test::new().hosts(team()).tokens(broken);
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
    assert_eq!(t.read("hosts.yml").as_deref(), Some(team().as_str()));
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
        crate::support::tools::lacking("running as root, and setpriv cannot drop privileges");
        return;
    };
    output(&t, cmd)
        .code(0)
        .stderr("")
        .stdout("dev@example.com (Dev)\n");

    output(
        &t,
        unprivileged(&t, &["auth", "list", "-o", "name"]).unwrap(),
    )
    .code(0)
    .stderr("")
    .stdout("alice@example.com\ndev@example.com\n");

    output(&t, unprivileged(&t, &["auth", "list"]).unwrap())
        .code(0)
        .stderr("")
        .stdout_has("HOST            ACCOUNT");

    // A write cannot take the lock, says so, and changes nothing.
    let lock = dir.join("hosts.yml.lock").display().to_string();
    let out = output(
        &t,
        unprivileged(&t, &["use", "host", "--domain", "cloud.dify.ai"]).unwrap(),
    )
    .code(1)
    .stdout("");
    assert!(
        out.stderr.starts_with(&format!(
            "client_error: Failed to create the lock file {lock}: "
        )),
        "{}",
        out.stderr
    );
    assert_eq!(t.snapshot(), before);
}

// ---------------------------------------------------------------------------
// Concurrency

#[test]
fn twenty_concurrent_switches_keep_every_context() {
    let hosts = ["a.example", "b.example", "c.example"];
    let emails = ["u1@x.io", "u2@x.io", "u3@x.io"];
    // Three hosts with the same three accounts; only a.example has a
    // current account.
    let mut yaml = Hosts::file();
    let mut tokens = Tokens::new();
    for host in hosts {
        for email in emails {
            yaml = yaml.with(
                Context::new(host, email)
                    .id(&format!("{host}-{email}"))
                    .name("User")
                    .token_id(&format!("t-{host}-{email}")),
            );
            tokens = tokens.with(host, email, &format!("dfoa_{host}_{email}"));
        }
    }
    let yaml = yaml
        .current_account("b.example", None)
        .current_account("c.example", None)
        .to_string();
    let tokens = tokens.to_string();
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
fn local_invocations() -> Vec<(String, Vec<&'static str>)> {
    let mut v = Vec::new();
    for file in [EXAMPLE.to_string(), team()] {
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
            v.push((file.clone(), args));
        }
    }
    // Credential lookups in file mode (the keychain is never involved there).
    v.push((team(), vec!["use", "account", "--email", "bob@example.com"]));
    v.push((
        team(),
        vec!["use", "account", "--email", "sam@corp.example"],
    ));
    v
}

/// A local command succeeded without a word on stderr (no keychain fallback
/// warning), or failed with the usage or login error, never about the
/// keychain.
#[track_caller]
fn assert_local_outcome(args: &[&str], out: &Outcome) {
    let error = match out.exit_code() {
        Some(0) => None,
        Some(2) => Some("usage_"),
        Some(4) => Some("not_logged_in: "),
        other => panic!("{args:?} exited {other:?}: {}", out.stderr),
    };
    match error {
        None => assert_eq!(out.stderr, "", "{args:?}"),
        Some(code) => assert!(
            out.stderr.starts_with(code) && !out.stderr.contains("keychain"),
            "{args:?}: {}",
            out.stderr
        ),
    }
}

#[test]
fn local_commands_touch_neither_network_nor_keychain() {
    let dir = crate::support::runner::TempDir::new();
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let bus_path = dir.path().join("bus");
    let bus = UnixListener::bind(&bus_path).unwrap();
    bus.set_nonblocking(true).unwrap();
    let bus_address = format!("unix:path={}", bus_path.display());

    for (file, args) in local_invocations() {
        let mut t = Test::new()
            .hosts(&file)
            .env_remove("DIFY_E2E_NO_KEYRING")
            .env("DBUS_SESSION_BUS_ADDRESS", &bus_address)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus_address);
        if file == team() {
            t = t.tokens(team_tokens());
        }
        for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
            t = t.env(var, &proxy_url).env(&var.to_lowercase(), &proxy_url);
        }
        assert_local_outcome(&args, &t.run_args(args.iter().copied()));
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
    if !crate::support::tools::strace() {
        return;
    }
    for (file, args) in local_invocations() {
        let mut t = Test::new().hosts(&file).env_remove("DIFY_E2E_NO_KEYRING");
        if file == team() {
            t = t.tokens(team_tokens());
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
        assert_local_outcome(&args, &output(&t, cmd));
        let calls = fs::read_to_string(&trace).unwrap();
        assert_eq!(calls, "", "{args:?} made network system calls");
    }
}

// ---------------------------------------------------------------------------
// Foreign configuration directories

#[test]
fn a_config_dir_or_store_others_can_change_is_refused() {
    let t = with_other_context(Test::new());
    let dir = t.config_dir();
    let hosts = dir.join("hosts.yml");
    let refused = |t: &Test, path: &std::path::Path, mode: &str, fix: &str| {
        let before = t.snapshot();
        let p = path.display();
        for args in [
            &["auth", "list"][..],
            &["use", "host", "--domain", "cloud.dify.ai"],
            &["auth", "token"],
        ] {
            t.run_args(args).code(1).stdout("").stderr(&format!(
                "client_error: {p} is writable by other users (mode {mode}); refusing to use it\n\
                 hint: run 'chmod {fix} {p}'\n"
            ));
        }
        assert_eq!(t.snapshot(), before);
    };
    set_mode(&dir, 0o777);
    refused(&t, &dir, "0777", "700");
    set_mode(&dir, 0o770);
    refused(&t, &dir, "0770", "700");
    set_mode(&dir, 0o700);
    set_mode(&hosts, 0o620);
    refused(&t, &hosts, "0620", "600");
    set_mode(&hosts, 0o600);
    set_mode(&dir.join("tokens.yml"), 0o666);
    // Refused, and only that: no warning that the next write would fix it.
    t.run_args(["auth", "token"])
        .code(1)
        .stdout("")
        .stderr(&format!(
            "client_error: {p} is writable by other users (mode 0666); refusing to use it\n\
             hint: run 'chmod 600 {p}'\n",
            p = dir.join("tokens.yml").display()
        ));
    set_mode(&dir.join("tokens.yml"), 0o600);
    t.run_args(["auth", "token"]).code(0).stdout("dfoa_alice\n");
    // Read-only is fine (a copied config dir handed to an agent).
    set_mode(&hosts, 0o400);
    set_mode(&dir, 0o500);
    t.run_args(["auth", "list", "-o", "name"])
        .code(0)
        .stdout("alice@example.com\n");
    set_mode(&dir, 0o700);
}

#[test]
fn a_config_dir_owned_by_another_user_is_refused() {
    use std::os::unix::fs::{MetadataExt, chown};
    let t = with_other_context(Test::new());
    let dir = t.config_dir();
    if std::fs::metadata(&dir).unwrap().uid() != 0 {
        tools::skip("only root can give a directory away");
        return;
    }
    chown(&dir, Some(65534), None).unwrap();
    let p = dir.display();
    t.run_args(["auth", "list"])
        .code(1)
        .stdout("")
        .stderr(&format!(
            "client_error: {p} is owned by another user (uid 65534, not 0); refusing to use it\n\
         hint: use a configuration directory of your own (DIFY_CONFIG_DIR), or 'chown 0 {p}'\n"
        ));
    chown(&dir, Some(0), None).unwrap();
    chown(dir.join("hosts.yml"), Some(65534), None).unwrap();
    let p = dir.join("hosts.yml");
    let p = p.display();
    t.run_args(["auth", "whoami"])
        .code(1)
        .stdout("")
        .stderr(&format!(
            "client_error: {p} is owned by another user (uid 65534, not 0); refusing to use it\n\
             hint: use a configuration directory of your own (DIFY_CONFIG_DIR), or 'chown 0 {p}'\n"
        ));
}
