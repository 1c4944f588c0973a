//! The keychain backend against a real Secret Service (gnome-keyring on a
//! private D-Bus session bus), against no bus, a bus without a Secret Service,
//! a locked collection and a bus that never answers.
//!
//! The backend runs in-process and finds its bus through
//! `DBUS_SESSION_BUS_ADDRESS`, which a test must not change in its own process.
//! So each outer test sets the scene, then runs this test binary again as a
//! child with that variable set, asking for one `#[ignore]`d `inner_*` test
//! (`--exact NAME --ignored`); the inner test makes the real keychain calls.
//! Run by hand (`--ignored`), the inner tests see no scene and return.
//! Between runs the outer test looks at the items with `secret-tool` and
//! `dbus-send`, the way the official tool's entries would be looked at.

use std::fs::File;
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::runner::TempDir;
use crate::support::secret_service::{Kind, SecretBus, no_bus_address};
use difyctl::credentials::Keychain;
use difyctl::credentials::keychain::{CALL_TIMEOUT, PROBE_TIMEOUT, PROBE_USER, SERVICE};

/// Set in the child: "the scene is ready, make the calls".
const INNER: &str = "DIFYCTL_KEYCHAIN_INNER";

/// Runs the ignored test `name` of this binary in a child talking to `bus`,
/// and checks that it ran and passed.
fn run_inner(name: &str, bus: &str) {
    // The harness names a test by its path below the crate root.
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let name = &format!("{module}::{name}");
    let dir = TempDir::new();
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env(INNER, "1")
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    // A hang is what these tests are about: never wait for it unbounded.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap();
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    assert!(
        status.success()
            && stdout.contains(&format!("test {name} ... ok"))
            && stdout.contains(" 1 passed"),
        "{name} failed ({status}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}

/// Whether this is the child run with a scene set up; says so when not.
fn in_scene() -> bool {
    let ready = std::env::var_os(INNER).is_some();
    if !ready {
        eprintln!("SKIPPED: inner test, run by its outer test only");
    }
    ready
}

const HOST: &str = "127.0.0.1:18777";

const EMAIL: &str = "tester@dify.ai";

const USER: &str = "tokens.127.0.0.1:18777.tester@dify.ai";

// ---------------------------------------------------------------------------------------
// A real, unlocked Secret Service
// ---------------------------------------------------------------------------------------

#[test]
fn real_secret_service() {
    let Some(bus) = SecretBus::start(Kind::Unlocked) else {
        return;
    };
    // Items as the official difyctl writes them (two attributes, its label).
    bus.plant(SERVICE, "tokens.h.e", "\"dfoa_x\"");
    bus.plant(SERVICE, "tokens.raw.e", "dfoa_raw");
    bus.plant(SERVICE, "tokens.num.e", "42");
    bus.plant(SERVICE, "tokens.empty.e", "\"\"");
    // Another application's item with the same user: not ours.
    bus.plant("other", "tokens.other.e", "\"dfoa_other\"");
    // The same entry twice, in two collections.
    for (collection, secret) in [("login", "\"dfoa_one\""), ("session", "\"dfoa_two\"")] {
        let out = bus.secret_tool(
            &[
                "store",
                "--label=dup",
                &format!("--collection={collection}"),
                "service",
                SERVICE,
                "username",
                "tokens.dup.e",
            ],
            Some(secret),
        );
        assert!(out.status.success(), "{out:?}");
    }
    assert_eq!(bus.items(SERVICE, "tokens.dup.e").len(), 2);

    run_inner("inner_real_roundtrip", &bus.address);

    // What we stored is what the official tool would find and read.
    assert_eq!(bus.lookup(SERVICE, USER).as_deref(), Some("\"dfoa_def\""));
    let items = bus.items(SERVICE, USER);
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    // gnome-keyring may add its own `xdg:schema` (the default item type) to an
    // item; what we send is `service` and `username`, which the official tool
    // searches by, and the exact context, which the item name cannot say.
    let mut attributes = item.attributes.clone();
    attributes.remove("xdg:schema");
    assert_eq!(
        attributes,
        [
            ("service", SERVICE),
            ("username", USER),
            ("difyctl:host", HOST),
            ("difyctl:email", EMAIL),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into()
    );
    assert_eq!(item.label, format!("keyring:{USER}@difyctl"));
    assert!(
        item.path
            .starts_with("/org/freedesktop/secrets/collection/login/"),
        "not in the default collection: {}",
        item.path
    );
    // The probe cleaned up after itself; the duplicates became one item.
    assert_eq!(bus.items(SERVICE, PROBE_USER), vec![]);
    assert_eq!(bus.lookup(SERVICE, PROBE_USER), None);
    assert_eq!(bus.items(SERVICE, "tokens.dup.e").len(), 1);
    assert_eq!(
        bus.lookup(SERVICE, "tokens.dup.e").as_deref(),
        Some("\"dfoa_three\"")
    );
    assert_eq!(
        bus.lookup(SERVICE, "tokens.gone.e").as_deref(),
        Some("\"dfoa_gone\"")
    );

    run_inner("inner_real_delete", &bus.address);

    assert_eq!(bus.lookup(SERVICE, "tokens.gone.e"), None);
    assert_eq!(bus.lookup(SERVICE, USER), None);
    assert_eq!(
        bus.lookup(SERVICE, "tokens.h.e").as_deref(),
        Some("\"dfoa_x\"")
    );
    assert_eq!(
        bus.lookup("other", "tokens.other.e").as_deref(),
        Some("\"dfoa_other\"")
    );
}

#[test]
#[ignore = "run by real_secret_service on a private bus"]
fn inner_real_roundtrip() {
    if !in_scene() {
        return;
    }
    let kc = Keychain::new();
    assert!(kc.probe());
    assert_eq!(kc.get(HOST, EMAIL), Ok(None));
    kc.set(HOST, EMAIL, "dfoa_abc").unwrap();
    assert_eq!(kc.get(HOST, EMAIL), Ok(Some("dfoa_abc".into())));
    kc.set(HOST, EMAIL, "dfoa_def").unwrap();
    assert_eq!(kc.get(HOST, EMAIL), Ok(Some("dfoa_def".into())));

    // Written by "the official tool".
    assert_eq!(kc.get("h", "e"), Ok(Some("dfoa_x".into())));
    // Not a JSON string, an empty one, none at all, another service's.
    for host in ["raw", "num", "empty", "nothing", "other"] {
        assert_eq!(kc.get(host, "e"), Ok(None), "{host}");
    }

    // Two matching items: either is read; a write leaves one.
    let dup = kc.get("dup", "e").unwrap();
    assert!(
        matches!(dup.as_deref(), Some("dfoa_one" | "dfoa_two")),
        "{dup:?}"
    );
    kc.set("dup", "e", "dfoa_three").unwrap();
    assert_eq!(kc.get("dup", "e"), Ok(Some("dfoa_three".into())));

    kc.set("gone", "e", "dfoa_gone").unwrap();
    // A second probe works the same (and again leaves nothing behind).
    assert!(kc.probe());
}

#[test]
#[ignore = "run by real_secret_service on a private bus"]
fn inner_real_delete() {
    if !in_scene() {
        return;
    }
    let kc = Keychain::new();
    assert_eq!(kc.get("gone", "e"), Ok(Some("dfoa_gone".into())));
    kc.delete("gone", "e");
    assert_eq!(kc.get("gone", "e"), Ok(None));
    kc.delete("gone", "e"); // nothing left: ignored
    kc.delete(HOST, EMAIL);
    assert_eq!(kc.get(HOST, EMAIL), Ok(None));
    assert_eq!(kc.get("h", "e"), Ok(Some("dfoa_x".into())));
}

// ---------------------------------------------------------------------------------------
// No usable keychain: fast, bounded, and the official error
// ---------------------------------------------------------------------------------------

#[test]
fn no_session_bus() {
    let dir = TempDir::new();
    run_inner("inner_unavailable_fast", &no_bus_address(dir.path()));
}

#[test]
fn bus_without_secret_service() {
    let Some(bus) = SecretBus::start(Kind::BusOnly) else {
        return;
    };
    assert!(!bus.name_has_owner("org.freedesktop.secrets"));
    run_inner("inner_unavailable_fast", &bus.address);
}

#[test]
#[ignore = "run by no_session_bus and bus_without_secret_service"]
fn inner_unavailable_fast() {
    if !in_scene() {
        return;
    }
    let kc = Keychain::new();
    let quick = Duration::from_secs(1);
    let start = Instant::now();
    assert!(!kc.probe());
    assert!(start.elapsed() < quick, "probe took {:?}", start.elapsed());
    let start = Instant::now();
    assert_unavailable(kc.get(HOST, EMAIL).map(|_| ()));
    assert_unavailable(kc.set(HOST, EMAIL, "dfoa_x"));
    kc.delete(HOST, EMAIL);
    assert!(start.elapsed() < quick, "calls took {:?}", start.elapsed());
}

#[test]
fn locked_collection() {
    let Some(bus) = SecretBus::start(Kind::Unlocked) else {
        return;
    };
    bus.plant(SERVICE, "tokens.h.e", "\"dfoa_x\"");
    bus.lock();
    run_inner("inner_locked", &bus.address);
    // Still there, untouched.
    assert_eq!(bus.items(SERVICE, "tokens.h.e").len(), 1);
}

#[test]
#[ignore = "run by locked_collection"]
fn inner_locked() {
    if !in_scene() {
        return;
    }
    let kc = Keychain::new();
    let slack = Duration::from_secs(1);
    let start = Instant::now();
    assert!(!kc.probe());
    assert!(
        start.elapsed() < PROBE_TIMEOUT + slack,
        "{:?}",
        start.elapsed()
    );
    // The item exists but is locked: unreachable, not "no token".
    let start = Instant::now();
    assert_unavailable(kc.get("h", "e").map(|_| ()));
    assert_unavailable(kc.set("h", "e", "dfoa_y"));
    assert!(
        start.elapsed() < 2 * CALL_TIMEOUT + slack,
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn bus_that_never_answers() {
    // A socket that accepts connections (the kernel's backlog) but where nobody
    // ever reads: the D-Bus handshake waits forever.
    let dir = TempDir::new();
    let socket = dir.path().join("silent");
    let _listener = UnixListener::bind(&socket).unwrap();
    run_inner("inner_silent", &format!("unix:path={}", socket.display()));
}

#[test]
#[ignore = "run by bus_that_never_answers"]
fn inner_silent() {
    if !in_scene() {
        return;
    }
    let kc = Keychain::new();
    let start = Instant::now();
    assert!(!kc.probe());
    let took = start.elapsed();
    assert!(
        took >= PROBE_TIMEOUT && took < PROBE_TIMEOUT + Duration::from_secs(1),
        "{took:?}"
    );
    // The first call is still stuck: later ones give up at once.
    let start = Instant::now();
    assert_unavailable(kc.get(HOST, EMAIL).map(|_| ()));
    assert_unavailable(kc.set(HOST, EMAIL, "dfoa_x"));
    kc.delete(HOST, EMAIL);
    assert!(
        start.elapsed() < Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
}

fn assert_unavailable(result: difyctl::error::Result<()>) {
    let e = result.expect_err("expected keyring_unavailable");
    assert_eq!(e.code, difyctl::error::ErrorCode::KeyringUnavailable);
    assert_eq!(e.message, "OS keychain is unreachable");
    assert_eq!(
        e.hint.as_deref(),
        Some(
            "credentials are stored in the system keychain but it could not be accessed; \
             unlock the keychain (or the login session) and retry"
        )
    );
}
