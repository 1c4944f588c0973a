//! The real binary with the OS keychain (issue 5): gnome-keyring's Secret
//! Service on a private D-Bus session bus (see `support/secret_service.rs`),
//! no bus at all, a bus without a Secret Service, and a locked collection.
//!
//! Every command runs as a child with `DBUS_SESSION_BUS_ADDRESS` naming the
//! scene's bus and without `DIFY_E2E_NO_KEYRING`; between commands the items
//! are looked at with `secret-tool`, as a user (or the official tool) would.

use std::time::Instant;

use crate::support::fixtures::{self, Context, Hosts, NO_TOKENS, Tokens, login_args};
use crate::support::mock::{MockConfig, MockDify, SessionInfo};
use crate::support::runner::{TempDir, Test, mode};
use crate::support::secret_service::{Kind, SecretBus, no_bus_address};

const SERVICE: &str = "difyctl";

const EMAIL: &str = "tester@dify.ai";

const IN_KEYCHAIN: &str = "Token stored in the system keychain\n";

const UNAVAILABLE: &str = "keyring_unavailable: OS keychain is unreachable\nhint: credentials are \
     stored in the system keychain but it could not be accessed; unlock the keychain (or the login \
     session) and retry\n";

const NOT_LOGGED_IN: &str = "not_logged_in: not logged in\nhint: run 'difyctl auth login'\n";

/// What a device-flow sign-in to `mock` that stores its token in the
/// keychain says on stderr.
fn stored_in_keychain(mock: &MockDify) -> String {
    format!("{}{IN_KEYCHAIN}", fixtures::mock_code_lines(mock))
}

/// A command of the binary talking to the session bus at `address`, with the
/// keychain allowed.
fn on_bus(address: &str) -> Test {
    Test::new()
        .env_remove("DIFY_E2E_NO_KEYRING")
        .env("DBUS_SESSION_BUS_ADDRESS", address)
}

fn with(args: Vec<String>, more: &[&str]) -> Vec<String> {
    args.into_iter()
        .chain(more.iter().map(|s| s.to_string()))
        .collect()
}

fn user(host: &str, email: &str) -> String {
    format!("tokens.{host}.{email}")
}

/// The secret as the official tool stores it: the token JSON-encoded.
fn quoted(token: &str) -> String {
    format!("\"{token}\"")
}

/// The only live session on the mock (the one a login just created).
fn only_session(mock: &MockDify) -> SessionInfo {
    let sessions = mock.sessions();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    sessions.into_iter().next().unwrap()
}

/// The bearer of the mock's last request to `path_prefix`.
fn bearer_sent(mock: &MockDify, path_prefix: &str) -> Option<String> {
    mock.requests()
        .into_iter()
        .rev()
        .find(|r| r.path.starts_with(path_prefix))
        .and_then(|r| r.header("authorization").map(str::to_string))
}

fn hosts_of(t: &Test) -> String {
    t.read("hosts.yml").expect("hosts.yml")
}

// ---------------------------------------------------------------------------------------
// A working keychain
// ---------------------------------------------------------------------------------------

#[test]
fn login_stores_in_the_keychain_and_the_commands_use_it() {
    let Some(bus) = SecretBus::start(Kind::Unlocked) else {
        return;
    };
    let mock = MockDify::with(MockConfig::default().auto_approve());
    let host = mock.host();
    let t = on_bus(&bus.address);

    let out = t.run_args(login_args(&mock)).code(0).stdout(&format!(
        "✓ Logged in to {host} as {EMAIL} (Tester)\n  Workspace: Acme Team\n"
    ));
    assert!(out.stderr.ends_with(IN_KEYCHAIN), "{}", out.stderr);
    assert!(!out.stderr.contains("tokens.yml"), "{}", out.stderr);

    let session = only_session(&mock);
    // Where the official tool (and secret-tool) finds it.
    assert_eq!(
        bus.lookup(SERVICE, &user(&host, EMAIL)),
        Some(quoted(&session.token))
    );
    let items = bus.items(SERVICE, &user(&host, EMAIL));
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        items[0].label,
        format!("keyring:{}@difyctl", user(&host, EMAIL))
    );
    assert!(
        hosts_of(&t).starts_with("token_storage: keychain\n"),
        "{}",
        hosts_of(&t)
    );
    assert_eq!(t.read("tokens.yml"), None);

    // Commands that need the token read it from the keychain.
    t.run_args(["auth", "token"])
        .code(0)
        .stdout(&format!("{}\n", session.token));
    t.run_args(["auth", "devices", "list"]).code(0);
    assert_eq!(
        bearer_sent(&mock, "/openapi/v1/account/sessions"),
        Some(format!("Bearer {}", session.token))
    );
    t.run_args(["use", "account", "--email", EMAIL])
        .code(0)
        .stderr("");

    // Logout revokes with it and deletes the item.
    t.run_args(["auth", "logout"])
        .code(0)
        .stdout(&format!("✓ Logged out of {host}\n"));
    assert_eq!(mock.revoked_ids(), vec![session.id]);
    assert_eq!(bus.lookup(SERVICE, &user(&host, EMAIL)), None);
    assert_eq!(
        hosts_of(&t),
        "token_storage: keychain\nhosts: {}\n",
        "the registry keeps its store"
    );
    assert_eq!(t.read("tokens.yml"), None);
}

#[test]
fn refresh_keeps_the_token_in_the_keychain() {
    let Some(bus) = SecretBus::start(Kind::Unlocked) else {
        return;
    };
    let mock = MockDify::with(MockConfig::default().auto_approve());
    let host = mock.host();
    let t = on_bus(&bus.address);
    t.run_args(login_args(&mock))
        .stderr(&stored_in_keychain(&mock));
    let first = only_session(&mock);

    let out = t
        .run_args(["auth", "refresh", "--device-flow", "--no-browser"])
        .code(0);
    assert!(!out.stderr.contains("Token stored"), "{}", out.stderr);
    let second = only_session(&mock);
    assert_ne!(second.id, first.id, "the server rotated the session");
    assert_eq!(
        bus.lookup(SERVICE, &user(&host, EMAIL)),
        Some(quoted(&second.token))
    );
    assert!(hosts_of(&t).starts_with("token_storage: keychain\n"));
    assert_eq!(t.read("tokens.yml"), None);
}

#[test]
fn an_entry_planted_with_secret_tool_is_used() {
    let Some(bus) = SecretBus::start(Kind::Unlocked) else {
        return;
    };
    let mock = MockDify::start();
    let session = mock.add_session("difyctl on elsewhere");
    let host = mock.host();
    bus.plant(SERVICE, &user(&host, EMAIL), &quoted(&session.token));
    let hosts = Hosts::keychain().with(Context::of(&mock).token_id(&session.id));
    let t = on_bus(&bus.address).hosts(hosts);

    t.run_args(["auth", "token"])
        .code(0)
        .stdout(&format!("{}\n", session.token));
    let out = t.run_args(["auth", "devices", "list"]).code(0);
    assert!(
        out.stdout.contains("difyctl on elsewhere"),
        "{}",
        out.stdout
    );
    assert_eq!(
        bearer_sent(&mock, "/openapi/v1/account/sessions"),
        Some(format!("Bearer {}", session.token))
    );
    t.run_args(["use", "account", "--email", EMAIL]).code(0);
    // An entry without a token for the account: no credential.
    bus.plant(SERVICE, &user(&host, EMAIL), "\"\"");
    t.run_args(["auth", "token"]).code(4).stderr(NOT_LOGGED_IN);
}

#[test]
fn file_mode_on_request_with_a_working_keychain() {
    let Some(bus) = SecretBus::start(Kind::Unlocked) else {
        return;
    };
    let mock = MockDify::with(MockConfig::default().auto_approve());
    let host = mock.host();
    let runs = [
        (
            on_bus(&bus.address),
            with(login_args(&mock), &["--token-storage", "file"]),
        ),
        (
            on_bus(&bus.address).env("DIFY_TOKEN_STORAGE", "file"),
            login_args(&mock),
        ),
        // The flag wins over the variable.
        (
            on_bus(&bus.address).env("DIFY_TOKEN_STORAGE", "keychain"),
            with(login_args(&mock), &["--token-storage", "file"]),
        ),
    ];
    for (t, args) in runs {
        let tokens = t.config_dir().join("tokens.yml");
        let out = t.run_args(args).code(0);
        assert!(
            out.stderr.ends_with(&format!(
                "Token stored in {} (mode 0600)\n",
                tokens.display()
            )),
            "{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("! No usable keychain"),
            "{}",
            out.stderr
        );
        assert!(hosts_of(&t).starts_with("token_storage: file\n"));
        assert_eq!(mode(&tokens), 0o600);
        t.run_args(["auth", "token"]).code(0);
    }
    // The test hook: the file, without a word about it.
    let t = on_bus(&bus.address)
        .env("DIFY_E2E_NO_KEYRING", "1")
        .args(login_args(&mock));
    let out = t.run().code(0);
    assert!(!out.stderr.contains("Token stored"), "{}", out.stderr);
    assert!(hosts_of(&t).starts_with("token_storage: file\n"));
    assert_eq!(bus.lookup(SERVICE, &user(&host, EMAIL)), None);
    // And DIFY_TOKEN_STORAGE=keychain wins over the hook.
    let t = on_bus(&bus.address)
        .env("DIFY_E2E_NO_KEYRING", "1")
        .env("DIFY_TOKEN_STORAGE", "keychain")
        .args(login_args(&mock));
    let out = t.run().code(0);
    assert!(out.stderr.ends_with(IN_KEYCHAIN), "{}", out.stderr);
    assert!(hosts_of(&t).starts_with("token_storage: keychain\n"));
    assert!(bus.lookup(SERVICE, &user(&host, EMAIL)).is_some());
}

#[test]
fn an_invalid_token_storage_variable_is_a_usage_error() {
    let mock = MockDify::with(MockConfig::default().auto_approve());
    let dir = TempDir::new();
    let t = on_bus(&no_bus_address(dir.path()))
        .env("DIFY_TOKEN_STORAGE", "cloud")
        .args(login_args(&mock));
    t.run().code(2).stdout("").stderr(
        "usage_invalid_flag: DIFY_TOKEN_STORAGE: \"cloud\" is not keychain or file\n\
         hint: set DIFY_TOKEN_STORAGE to keychain or file, or unset it\n",
    );
    assert!(t.snapshot().is_empty());
    assert!(mock.codes().is_empty(), "nothing was sent");
}

#[test]
fn usage_errors_come_before_the_keychain_check() {
    let dir = TempDir::new();
    let t = on_bus(&no_bus_address(dir.path()));
    let out = t
        .run_args(["auth", "login", "--token-storage", "keychain"])
        .code(2);
    assert!(
        out.stderr
            .starts_with("usage_missing_arg: --host is required (no TTY)\n"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------
// No usable keychain: fall back with a warning, or fail when it was asked for
// ---------------------------------------------------------------------------------------

/// Login falls back to tokens.yml with the warning; forced keychain fails
/// with exit 1 before anything is sent or written.
fn falls_back(address: &str) {
    let mock = MockDify::with(MockConfig::default().auto_approve());

    let t = on_bus(address);
    let tokens = t.config_dir().join("tokens.yml");
    let start = Instant::now();
    let out = t.run_args(login_args(&mock)).code(0);
    eprintln!("fallback login took {:?}", start.elapsed());
    assert!(
        out.stderr.ends_with(&format!(
            "! No usable keychain; token stored in {} (mode 0600)\n",
            tokens.display()
        )),
        "{}",
        out.stderr
    );
    let session = only_session(&mock);
    assert!(hosts_of(&t).starts_with("token_storage: file\n"));
    assert_eq!(
        t.read("tokens.yml").unwrap(),
        fixtures::tokens_yml(&mock, &session.token)
    );
    assert_eq!(mode(&tokens), 0o600);
    // Later commands use the file without trying the keychain.
    t.run_args(["auth", "token"])
        .code(0)
        .stdout(&format!("{}\n", session.token));

    let forced = [
        on_bus(address).args(with(login_args(&mock), &["--token-storage", "keychain"])),
        on_bus(address)
            .env("DIFY_TOKEN_STORAGE", "keychain")
            .args(login_args(&mock)),
    ];
    for t in forced {
        let start = Instant::now();
        t.run().code(1).stdout("").stderr(UNAVAILABLE);
        eprintln!("forced keychain failed after {:?}", start.elapsed());
        assert!(t.snapshot().is_empty(), "nothing written");
    }
    assert_eq!(mock.codes().len(), 1, "no sign-in started when forced");
}

#[test]
fn no_session_bus_falls_back_to_the_file() {
    let dir = TempDir::new();
    falls_back(&no_bus_address(dir.path()));
    // Neither variable nor $XDG_RUNTIME_DIR/bus: the same.
    let mock = MockDify::with(MockConfig::default().auto_approve());
    let t = Test::new()
        .env_remove("DIFY_E2E_NO_KEYRING")
        .env("XDG_RUNTIME_DIR", dir.path())
        .args(login_args(&mock));
    let out = t.run().code(0);
    assert!(
        out.stderr.contains("! No usable keychain;"),
        "{}",
        out.stderr
    );
}

#[test]
fn bus_without_secret_service_falls_back_to_the_file() {
    let Some(bus) = SecretBus::start(Kind::BusOnly) else {
        return;
    };
    falls_back(&bus.address);
}

#[test]
fn locked_collection_falls_back_to_the_file() {
    let Some(bus) = SecretBus::start(Kind::Unlocked) else {
        return;
    };
    bus.plant(SERVICE, "tokens.h.e", "\"dfoa_x\"");
    bus.lock();
    falls_back(&bus.address);
    assert_eq!(bus.items(SERVICE, "tokens.h.e").len(), 1, "left alone");
}

// ---------------------------------------------------------------------------------------
// Item names that do not say where the host ends
// ---------------------------------------------------------------------------------------

/// (`H`, `corp.me@x.io`) and (`H.corp`, `me@x.io`) name the same item,
/// `tokens.H.corp.me@x.io`. The second context (say, of another config dir
/// on this machine) has its token there; a server at `H` that answers the
/// email `corp.me@x.io` must never get it, nor overwrite or delete it.
#[test]
fn an_item_of_another_context_is_never_read_overwritten_or_deleted() {
    let Some(bus) = SecretBus::start(Kind::Unlocked) else {
        return;
    };
    let mock = MockDify::with(MockConfig::default().email("corp.me@x.io"));
    let host = mock.host();
    let item = user(&host, "corp.me@x.io");
    let theirs = "dfoa_the_other_contexts_token";
    let out = bus.secret_tool(
        &[
            "store",
            &format!("--label=keyring:{item}@difyctl"),
            "service",
            SERVICE,
            "username",
            &item,
            "difyctl:host",
            &format!("{host}.corp"),
            "difyctl:email",
            "me@x.io",
        ],
        Some(&quoted(theirs)),
    );
    assert!(out.status.success(), "{out:?}");
    let t = on_bus(&bus.address).hosts(Hosts::keychain().with(Context::of(&mock)));
    let refused = format!(
        "client_error: the keychain item \"{item}\" holds the token of me@x.io on {host}.corp, \
         not of corp.me@x.io on {host}\nhint: the two contexts name the same keychain item \
         (tokens.<host>.<email>) and cannot both keep their token there: sign in with \
         '--token-storage file' in the configuration directory of one of them\n"
    );
    t.run_args(["auth", "token"])
        .code(1)
        .stdout("")
        .stderr(&refused);
    t.run_args(["api", "account"]).code(1).stderr(&refused);
    assert!(mock.requests().is_empty(), "the token was sent");

    // A sign-in as that account does not take the item over.
    let session = mock.add_session("difyctl on ci");
    let mut login = login_args(&mock);
    login.retain(|a| a != "--no-browser");
    login.insert(2, "--with-token".into());
    let out = t
        .run_command(
            {
                let mut c = t.command();
                c.args(&login);
                c
            },
            session.token.as_bytes(),
        )
        .code(1)
        .stdout("");
    assert!(out.stderr.ends_with(&refused), "{}", out.stderr);
    assert_eq!(bus.lookup(SERVICE, &item), Some(quoted(theirs)));

    // Nor does a logout delete it, and it says so.
    t.run_args(["auth", "logout"]).stderr(&format!(
        "! could not read the token of corp.me@x.io on {host} (the keychain item \"{item}\" \
         holds the token of me@x.io on {host}.corp, not of corp.me@x.io on {host}), so the \
         session was not revoked: it stays active on the server until it expires\n  \
         The keychain item \"{item}\" was left in place.\n  \
         To end it: 'difyctl auth devices revoke' (see 'difyctl auth devices list') from another \
         context of corp.me@x.io, a new sign-in from this machine ('difyctl auth login --host \
         http://{host} --insecure' replaces it), or the Dify console.\n"
    ));
    assert_eq!(bus.lookup(SERVICE, &item), Some(quoted(theirs)));
    assert!(
        mock.requests()
            .iter()
            .all(|r| r.header("authorization") != Some(&format!("Bearer {theirs}"))),
        "the token was sent"
    );
}

// ---------------------------------------------------------------------------------------
// The keychain going away later
// ---------------------------------------------------------------------------------------

#[test]
fn a_keychain_unreadable_later_fails_token_commands_but_not_logout() {
    let Some(bus) = SecretBus::start(Kind::Unlocked) else {
        return;
    };
    let mock = MockDify::with(MockConfig::default().auto_approve());
    let host = mock.host();
    let t = on_bus(&bus.address);
    t.run_args(login_args(&mock))
        .stderr(&stored_in_keychain(&mock));
    let session = only_session(&mock);
    bus.lock();

    for args in [
        vec!["auth", "devices", "list"],
        vec!["auth", "token"],
        vec!["use", "account", "--email", EMAIL],
    ] {
        t.run_args(args.iter().copied())
            .code(1)
            .stdout("")
            .stderr(UNAVAILABLE);
    }
    // Commands without a token never ask the keychain.
    t.run_args(["auth", "whoami"]).code(0);
    t.run_args(["auth", "list"]).code(0);

    // Logout cannot revoke (no token), but signs out locally all the same,
    // and says what that leaves behind.
    t.run_args(["auth", "logout"])
        .code(0)
        .stdout(&format!("✓ Logged out of {host}\n"))
        .stderr(&format!(
            "! could not read the token of {EMAIL} on {host} (OS keychain is unreachable), so \
             the session was not revoked: it stays active on the server until {expires}\n  The \
             keychain item \"{item}\" was left in place.\n  To end it: 'difyctl auth devices \
             revoke {id}' from another context of {EMAIL}, a new sign-in from this machine \
             ('difyctl auth login --host http://{host} --insecure' replaces it), or the Dify \
             console.\n",
            expires = session.expires_at.replace('Z', "+00:00"),
            item = user(&host, EMAIL),
            id = session.id,
        ));
    assert_eq!(hosts_of(&t), "token_storage: keychain\nhosts: {}\n");
    assert!(mock.revoked_ids().is_empty());
    assert_eq!(mock.sessions(), vec![session]);
    assert_eq!(bus.items(SERVICE, &user(&host, EMAIL)).len(), 1);

    // No bus at all any more: the same error.
    let dir = TempDir::new();
    on_bus(&no_bus_address(dir.path()))
        .hosts(Hosts::keychain().with(Context::of(&mock)))
        .args(["auth", "devices", "list"])
        .run()
        .code(1)
        .stderr(UNAVAILABLE);
}

// ---------------------------------------------------------------------------------------
// Changing store at a later login moves the other contexts' tokens
// ---------------------------------------------------------------------------------------

const OTHER_HOST: &str = "other.example";

const OTHER_EMAIL: &str = "b@other.example";

const OTHER_TOKEN: &str = "dfoa_other_context_token";

/// The mock's context plus one on another host, with the store `hosts`
/// names.
fn two_contexts(mock: &MockDify, hosts: Hosts) -> Hosts {
    hosts
        .with(Context::of(mock))
        .with(Context::new(OTHER_HOST, OTHER_EMAIL).id("b").name("B"))
}

/// The tokens of [`two_contexts`], the mock's account's being `token`.
fn two_tokens(mock: &MockDify, token: &str) -> Tokens {
    Tokens::new()
        .with(&mock.host(), EMAIL, token)
        .with(OTHER_HOST, OTHER_EMAIL, OTHER_TOKEN)
}

/// A probed keychain stores only the new context's token there; the others
/// stay in the file. A forced store (`--token-storage`) moves them all.
#[test]
fn only_a_forced_store_moves_the_other_tokens_both_ways() {
    let Some(bus) = SecretBus::start(Kind::Unlocked) else {
        return;
    };
    let mock = MockDify::with(MockConfig::default().auto_approve());
    let host = mock.host();
    let t = on_bus(&bus.address)
        .hosts(two_contexts(&mock, Hosts::file()))
        .tokens(two_tokens(&mock, "dfoa_stale"));

    // Probed keychain: this context's token goes there (its stale copy in
    // the file is dropped); the other's stays in the file.
    let out = t.run_args(login_args(&mock)).code(0);
    assert_eq!(out.stderr, stored_in_keychain(&mock));
    let first = only_session(&mock);
    assert_eq!(
        bus.lookup(SERVICE, &user(&host, EMAIL)),
        Some(quoted(&first.token))
    );
    assert_eq!(bus.lookup(SERVICE, &user(OTHER_HOST, OTHER_EMAIL)), None);
    assert_eq!(
        t.read("tokens.yml").unwrap(),
        Tokens::new()
            .with(OTHER_HOST, OTHER_EMAIL, OTHER_TOKEN)
            .to_string()
    );
    let hosts = hosts_of(&t);
    assert!(hosts.starts_with("token_storage: file\n"), "{hosts}");
    assert!(
        hosts.contains("        token_storage: keychain\n"),
        "{hosts}"
    );
    t.run_args(["auth", "token", "--host", OTHER_HOST])
        .code(0)
        .stdout(&format!("{OTHER_TOKEN}\n"));
    t.run_args(["auth", "token"])
        .code(0)
        .stdout(&format!("{}\n", first.token));

    // Forced keychain: the other token moves there, and the registry's
    // store is the keychain with no context's own.
    let out = t
        .run_args(with(login_args(&mock), &["--token-storage", "keychain"]))
        .code(0);
    assert!(
        out.stderr.ends_with(&format!(
            "{IN_KEYCHAIN}Moved the token of 1 other context to the system keychain\n"
        )),
        "{}",
        out.stderr
    );
    assert_eq!(
        bus.lookup(SERVICE, &user(OTHER_HOST, OTHER_EMAIL)),
        Some(quoted(OTHER_TOKEN))
    );
    assert_eq!(t.read("tokens.yml").as_deref(), Some(NO_TOKENS));
    let hosts = hosts_of(&t);
    assert!(hosts.starts_with("token_storage: keychain\n"), "{hosts}");
    assert!(!hosts.contains("        token_storage:"), "{hosts}");

    // keychain -> file (asked for): both tokens back in tokens.yml.
    let tokens = t.config_dir().join("tokens.yml");
    let out = t
        .run_args(with(login_args(&mock), &["--token-storage", "file"]))
        .code(0);
    assert!(
        out.stderr.ends_with(&format!(
            "Token stored in {0} (mode 0600)\nMoved the token of 1 other context to {0}\n",
            tokens.display()
        )),
        "{}",
        out.stderr
    );
    let third = mock.sessions().into_iter().last().expect("a third session");
    assert_eq!(
        t.read("tokens.yml").unwrap(),
        two_tokens(&mock, &third.token).to_string()
    );
    assert_eq!(bus.lookup(SERVICE, &user(OTHER_HOST, OTHER_EMAIL)), None);
    assert_eq!(bus.lookup(SERVICE, &user(&host, EMAIL)), None);
    assert!(hosts_of(&t).starts_with("token_storage: file\n"));
    t.run_args(["auth", "token", "--host", OTHER_HOST])
        .code(0)
        .stdout(&format!("{OTHER_TOKEN}\n"));

    // Same store again: nothing moves, nothing said about it.
    let out = t
        .run_args(with(login_args(&mock), &["--token-storage", "file"]))
        .code(0);
    assert!(!out.stderr.contains("Moved"), "{}", out.stderr);
}

/// A sign-in that finds no usable keychain (locked) stores its own token in
/// the file and touches no other context: theirs stays in the keychain,
/// where the registry still says it is.
#[test]
fn a_sign_in_without_a_keychain_moves_nothing() {
    let Some(bus) = SecretBus::start(Kind::Unlocked) else {
        return;
    };
    let mock = MockDify::with(MockConfig::default().auto_approve());
    bus.plant(
        SERVICE,
        &user(OTHER_HOST, OTHER_EMAIL),
        &quoted(OTHER_TOKEN),
    );
    let t = on_bus(&bus.address).hosts(two_contexts(&mock, Hosts::keychain()));
    bus.lock();

    let out = t.run_args(login_args(&mock)).code(0);
    let tokens = t.config_dir().join("tokens.yml");
    assert_eq!(
        out.stderr,
        format!(
            "{}! No usable keychain; token stored in {} (mode 0600)\n",
            fixtures::mock_code_lines(&mock),
            tokens.display()
        )
    );
    let session = only_session(&mock);
    assert_eq!(
        t.read("tokens.yml").unwrap(),
        fixtures::tokens_yml(&mock, &session.token)
    );
    let hosts = hosts_of(&t);
    assert!(hosts.starts_with("token_storage: keychain\n"), "{hosts}");
    assert!(hosts.contains("        token_storage: file\n"), "{hosts}");
    assert_eq!(bus.items(SERVICE, &user(OTHER_HOST, OTHER_EMAIL)).len(), 1);
    t.run_args(["auth", "token"])
        .code(0)
        .stdout(&format!("{}\n", session.token));
}

/// The keychain goes away (a shell without D-Bus) and comes back: a sign-in
/// made meanwhile goes to the file, and afterwards every context still has
/// its token, each in its own store.
#[test]
fn a_keychain_that_disappears_and_comes_back_loses_no_context() {
    let Some(bus) = SecretBus::start(Kind::Unlocked) else {
        return;
    };
    let desktop = MockDify::with(MockConfig::default().auto_approve());
    let shell = MockDify::with(MockConfig::default().auto_approve());
    let t = on_bus(&bus.address);
    t.run_args(login_args(&desktop))
        .code(0)
        .stderr(&stored_in_keychain(&desktop));
    let on_desktop = only_session(&desktop);

    // No bus now: the sign-in falls back to the file, alone.
    let gone = no_bus_address(t.config_dir().parent().unwrap());
    let mut cmd = t.command();
    cmd.env("DBUS_SESSION_BUS_ADDRESS", &gone)
        .args(login_args(&shell));
    let tokens = t.config_dir().join("tokens.yml");
    t.run_command(cmd, b"").code(0).stderr(&format!(
        "{}! No usable keychain; token stored in {} (mode 0600)\n",
        fixtures::mock_code_lines(&shell),
        tokens.display()
    ));
    let in_shell = only_session(&shell);
    let mut cmd = t.command();
    cmd.env("DBUS_SESSION_BUS_ADDRESS", &gone)
        .args(["auth", "token", "--host", &desktop.host()]);
    t.run_command(cmd, b"")
        .code(1)
        .stdout("")
        .stderr(UNAVAILABLE);

    // The keychain is back: both contexts have their tokens.
    t.run_args(["auth", "token", "--host", &desktop.host()])
        .code(0)
        .stdout(&format!("{}\n", on_desktop.token));
    t.run_args(["auth", "token", "--host", &shell.host()])
        .code(0)
        .stdout(&format!("{}\n", in_shell.token));
    t.run_args(["auth", "status", "--host", &desktop.host()])
        .code(0)
        .stdout_has("token:     keychain");
    t.run_args(["auth", "status", "--host", &shell.host()])
        .code(0)
        .stdout_has("token:     file");
    assert_eq!(
        bus.lookup(SERVICE, &user(&desktop.host(), EMAIL)),
        Some(quoted(&on_desktop.token))
    );
    assert_eq!(
        t.read("tokens.yml").unwrap(),
        fixtures::tokens_yml(&shell, &in_shell.token)
    );
}

/// The binary these tests run links the libdbus its build chose: the one
/// compiled from source by default, the system's shared one without the
/// `vendored-libdbus` feature (`.ci/run` runs these tests both ways).
#[test]
fn the_binary_links_the_libdbus_its_build_chose() {
    if !crate::support::tools::available("readelf") {
        return;
    }
    let out = std::process::Command::new("readelf")
        .args(["--dynamic", crate::support::runner::BIN])
        .output()
        .unwrap();
    assert!(out.status.success());
    let dynamic = String::from_utf8_lossy(&out.stdout);
    let shared = dynamic
        .lines()
        .any(|l| l.contains("(NEEDED)") && l.contains("[libdbus-1.so"));
    assert_eq!(
        shared,
        cfg!(not(feature = "vendored-libdbus")),
        "vendored-libdbus is {}, but:\n{dynamic}",
        cfg!(feature = "vendored-libdbus")
    );
}
