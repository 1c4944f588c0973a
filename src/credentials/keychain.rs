//! The OS keychain backend, shared with the official difyctl (its items are
//! described in difyctl-files(5)).
//!
//! # Entries
//! One entry per context: service `difyctl`, user `tokens.<bare host>.<email>`
//! (literal: the port, the dots and the `@` stay as they are), the secret the
//! bearer **JSON-encoded** (`"dfoa_…"`, quotes included). Reading: no entry or an
//! empty one → no token; a secret that is not a JSON string → no token; the
//! keychain failing → `keyring_unavailable`. A write failure is the same error;
//! delete errors are ignored. The store probe writes, reads back and deletes
//! `tokens.__difyctl_probe__.__difyctl_probe__` = `"probe-v1"`.
//!
//! # Whose item it is
//! `tokens.<host>.<email>` does not say where the host ends: the contexts
//! (`dify`, `corp.me@x.io`) and (`dify.corp`, `me@x.io`) name the same item.
//! So every item we write also records its context exactly, in the
//! attributes [`HOST_ATTR`] and [`EMAIL_ATTR`] (the official tool finds items
//! by `service` and `username` alone, so it still shares them). An item that
//! records another context is never read for, overwritten by or deleted for
//! this one: reading it is an error naming both contexts, writing over it is
//! refused. An item without the record (written by the official tool) is
//! taken as this context's; `hosts.yml` never holds two contexts that share
//! an item name (login refuses the second).
//!
//! # Backend
//! The `keyring` crate family (the one the official tool uses underneath):
//! `keyring-core` with the platform's store, opened here as keyring 4's `v1`
//! module would: macOS Keychain, Windows Credential Manager, and on Linux/BSD
//! the Secret Service through `dbus-secret-service-keyring-store`, whose libdbus
//! is compiled from source and linked statically (the `vendored` feature), so
//! the static binary needs no system libdbus. (keyring 4's own `v1` uses the
//! zbus store instead: same items, twice the size, over the 4 MiB budget.)
//! Both stores create items in the `default` collection with exactly two
//! attributes, `service` and `username`, and the label `keyring:<user>@difyctl`,
//! which is what the official binary writes; they find items by those two
//! attributes alone, so items written by either tool are found by the other.
//! (keyring 3.x would add `target` and `application` attributes and another
//! label.) On Linux the bus comes from `DBUS_SESSION_BUS_ADDRESS`, else
//! `$XDG_RUNTIME_DIR/bus`; the vendored libdbus has no X11 autolaunch, so
//! without either there is no keychain. Secrets cross the bus encrypted (the
//! `dh-ietf1024-sha256-aes128-cbc-pkcs7` session, pure-Rust crypto).
//!
//! # Time bounds
//! A locked keyring may answer with an unlock prompt nobody will see, and a
//! wedged bus may never answer at all. Each keychain call therefore runs on a
//! thread of its own and is abandoned after [`PROBE_TIMEOUT`] (the probe, all
//! three steps) or [`CALL_TIMEOUT`] (get, set, delete): the probe then says "not
//! usable" and the others fail with `keyring_unavailable`. An abandoned call
//! still holds the store, so while one is outstanding later calls fail at once
//! instead of waiting again.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::Duration;

use keyring_core::api::CredentialStore;
use keyring_core::{Entry, Error as KeyringError};

use crate::error::{CliError, ErrorCode, Result};
use crate::output::term::sanitize_line;

/// The service name of every difyctl entry.
pub const SERVICE: &str = "difyctl";
/// The user of the store probe's entry.
pub const PROBE_USER: &str = "tokens.__difyctl_probe__.__difyctl_probe__";
/// The probe's value, before JSON encoding.
pub const PROBE_VALUE: &str = "probe-v1";
/// How long the whole probe (write, read back, delete) may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one get, set or delete may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// The item attribute recording the exact bare host of its context.
pub const HOST_ATTR: &str = "difyctl:host";
/// The item attribute recording the exact email of its context.
pub const EMAIL_ATTR: &str = "difyctl:email";

/// The keychain user of a context: `tokens.<bare host>.<email>`.
pub fn user(host: &str, email: &str) -> String {
    format!("tokens.{host}.{email}")
}

/// The official error for a keychain that cannot be reached.
pub fn unavailable() -> CliError {
    CliError::new(ErrorCode::KeyringUnavailable, "OS keychain is unreachable").with_hint(
        "credentials are stored in the system keychain but it could not be accessed; \
         unlock the keychain (or the login session) and retry",
    )
}

/// `email on host`, as messages name a context.
pub fn shown(host: &str, email: &str) -> String {
    format!("{} on {}", sanitize_line(email), sanitize_line(host))
}

/// An item that belongs to another context than the one asked for.
pub fn foreign_item(ours: (&str, &str), theirs: (&str, &str)) -> CliError {
    CliError::client(format!(
        "the keychain item \"{}\" holds the token of {}, not of {}",
        sanitize_line(&user(ours.0, ours.1)),
        shown(theirs.0, theirs.1),
        shown(ours.0, ours.1)
    ))
    .with_hint(
        "the two contexts name the same keychain item (tokens.<host>.<email>) and cannot both \
         keep their token there: sign in with '--token-storage file' in the configuration \
         directory of one of them",
    )
}

/// The secret as stored: the token as a JSON string.
pub fn encode(token: &str) -> String {
    serde_json::Value::from(token).to_string()
}

/// The token in a stored secret: a non-empty JSON string, else none.
pub fn decode(secret: &str) -> Option<String> {
    match serde_json::from_str::<String>(secret) {
        Ok(token) if !token.is_empty() => Some(token),
        _ => None,
    }
}

/// The keychain store of bearer tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keychain {
    call_timeout: Duration,
    probe_timeout: Duration,
}

impl Default for Keychain {
    fn default() -> Self {
        Keychain::new()
    }
}

impl Keychain {
    /// The keychain with the default time bounds.
    pub fn new() -> Keychain {
        Keychain {
            call_timeout: CALL_TIMEOUT,
            probe_timeout: PROBE_TIMEOUT,
        }
    }

    /// The same keychain with other time bounds (an interactive caller may
    /// want to leave time for an unlock prompt).
    pub fn with_timeouts(call: Duration, probe: Duration) -> Keychain {
        Keychain {
            call_timeout: call,
            probe_timeout: probe,
        }
    }

    /// The token of a context: `Ok(None)` when there is none or the stored
    /// secret is not a non-empty JSON string; an error when the item records
    /// another context.
    pub fn get(&self, host: &str, email: &str) -> Result<Option<String>> {
        let owner = (host.to_owned(), email.to_owned());
        match bounded(self.call_timeout, move || read(&owner)) {
            Some(Ok(secret)) => Ok(secret.as_deref().and_then(decode)),
            Some(Err(Fail::Foreign(h, e))) => Err(foreign_item((host, email), (&h, &e))),
            _ => Err(unavailable()),
        }
    }

    /// Stores (or replaces) the token of a context, recording the context on
    /// the item; refused when the item records another context.
    pub fn set(&self, host: &str, email: &str, token: &str) -> Result<()> {
        let owner = (host.to_owned(), email.to_owned());
        let secret = encode(token);
        match bounded(self.call_timeout, move || write(&owner, &secret)) {
            Some(Ok(())) => Ok(()),
            Some(Err(Fail::Foreign(h, e))) => Err(foreign_item((host, email), (&h, &e))),
            _ => Err(unavailable()),
        }
    }

    /// Removes the token of a context; a missing entry, one that records
    /// another context, or a failure is left alone.
    pub fn delete(&self, host: &str, email: &str) {
        let _ = self.remove(host, email);
    }

    /// [`Keychain::delete`], saying why the item could not be deleted: the
    /// keychain cannot be reached, or the item records another context.
    pub fn remove(&self, host: &str, email: &str) -> Result<()> {
        let owner = (host.to_owned(), email.to_owned());
        match bounded(self.call_timeout, move || remove(&owner)) {
            Some(Ok(())) => Ok(()),
            Some(Err(Fail::Foreign(h, e))) => Err(foreign_item((host, email), (&h, &e))),
            _ => Err(unavailable()),
        }
    }

    /// Whether the keychain works here: writes, reads back and deletes the
    /// probe entry within the probe's time bound.
    pub fn probe(&self) -> bool {
        bounded(self.probe_timeout, || {
            probe_round_trip(&encode(PROBE_VALUE))
        })
        .is_some_and(|r| r.unwrap_or(false))
    }
}

// ---------------------------------------------------------------------------------------
// Raw entry access (runs on the worker thread)
// ---------------------------------------------------------------------------------------

/// The entry of `user` in the platform's store.
fn entry(user: &str) -> Result<Entry, KeyringError> {
    store()?.build(SERVICE, user, None)
}

/// The platform's store, opened on first use (on Linux that connects to the
/// session bus) and kept for the process; a failed open is tried again next time.
fn store() -> Result<Arc<CredentialStore>, KeyringError> {
    static STORE: Mutex<Option<Arc<CredentialStore>>> = Mutex::new(None);
    let mut slot = STORE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(store) = slot.as_ref() {
        return Ok(Arc::clone(store));
    }
    let store = open_store()?;
    *slot = Some(Arc::clone(&store));
    Ok(store)
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn open_store() -> Result<Arc<CredentialStore>, KeyringError> {
    Ok(dbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn open_store() -> Result<Arc<CredentialStore>, KeyringError> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(target_os = "windows")]
fn open_store() -> Result<Arc<CredentialStore>, KeyringError> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(not(any(
    all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ),
    target_os = "macos",
    target_os = "windows"
)))]
fn open_store() -> Result<Arc<CredentialStore>, KeyringError> {
    Err(KeyringError::NoDefaultStore)
}

/// Why a worker call failed.
enum Fail {
    /// The keychain failed (its error says nothing the user can act on
    /// beyond `keyring_unavailable`).
    Keyring,
    /// The item records this other context (host, email).
    Foreign(String, String),
}

impl From<KeyringError> for Fail {
    fn from(_: KeyringError) -> Fail {
        Fail::Keyring
    }
}

/// The context an item records, if it records one.
fn recorded(entry: &Entry) -> Option<(String, String)> {
    let attrs = entry.get_attributes().ok()?;
    Some((
        attrs.get(HOST_ATTR)?.clone(),
        attrs.get(EMAIL_ATTR)?.clone(),
    ))
}

/// `Err(Foreign)` when `entry` records another context than `owner`.
fn check_owner(entry: &Entry, owner: &(String, String)) -> Result<(), Fail> {
    match recorded(entry) {
        Some(theirs) if theirs != *owner => Err(Fail::Foreign(theirs.0, theirs.1)),
        _ => Ok(()),
    }
}

/// The raw secret of `owner`'s item; `Ok(None)` when missing or not UTF-8.
/// When several items match (e.g. in two collections) the first readable
/// one that is not another context's wins.
fn read(owner: &(String, String)) -> Result<Option<String>, Fail> {
    let entry = entry(&user(&owner.0, &owner.1))?;
    match entry.get_password() {
        Ok(secret) => {
            check_owner(&entry, owner)?;
            Ok(Some(secret))
        }
        Err(KeyringError::NoEntry | KeyringError::BadEncoding(_)) => Ok(None),
        Err(KeyringError::Ambiguous(entries)) => {
            let mut foreign = None;
            for e in &entries {
                match check_owner(e, owner) {
                    Err(f) => foreign = Some(f),
                    Ok(()) => {
                        if let Ok(secret) = e.get_password() {
                            return Ok(Some(secret));
                        }
                    }
                }
            }
            foreign.map_or(Ok(None), Err)
        }
        Err(e) => Err(e.into()),
    }
}

/// Sets the secret of `owner`'s item and records `owner` on it, creating the
/// item when there is none. Several matching items are replaced by one. An
/// item of another context is left alone: `Err(Foreign)`.
fn write(owner: &(String, String), secret: &str) -> Result<(), Fail> {
    let entry = entry(&user(&owner.0, &owner.1))?;
    match entry.get_attributes() {
        Ok(_) => check_owner(&entry, owner)?,
        Err(KeyringError::Ambiguous(entries)) => {
            for e in &entries {
                check_owner(e, owner)?;
            }
            for e in entries {
                e.delete_credential()?;
            }
        }
        Err(_) => {}
    }
    entry.set_password(secret)?;
    let record = std::collections::HashMap::from([
        (HOST_ATTR, owner.0.as_str()),
        (EMAIL_ATTR, owner.1.as_str()),
    ]);
    match entry.update_attributes(&record) {
        // A store without free attributes (macOS, Windows): hosts.yml's
        // rule that no two contexts share an item name still holds.
        Ok(()) | Err(KeyringError::NotSupportedByStore(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes `owner`'s items; none, or another context's, is not an error.
fn remove(owner: &(String, String)) -> Result<(), Fail> {
    let entry = entry(&user(&owner.0, &owner.1))?;
    match entry.get_attributes() {
        Ok(_) => {
            check_owner(&entry, owner)?;
            match entry.delete_credential() {
                Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        Err(KeyringError::NoEntry) => Ok(()),
        Err(KeyringError::Ambiguous(entries)) => {
            for e in entries.iter().filter(|e| check_owner(e, owner).is_ok()) {
                e.delete_credential()?;
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The probe's raw write, read and delete (no owner recorded).
fn probe_round_trip(expected: &str) -> Result<bool, KeyringError> {
    let entry = entry(PROBE_USER)?;
    match entry.set_password(expected) {
        // Probes of the past left twins behind: one item again.
        Err(KeyringError::Ambiguous(entries)) => {
            for e in entries {
                e.delete_credential()?;
            }
            entry.set_password(expected)?;
        }
        other => other?,
    }
    let read_back = entry.get_password();
    let removed = entry.delete_credential();
    Ok(read_back?.as_str() == expected && removed.is_ok())
}

// ---------------------------------------------------------------------------------------
// Time bound
// ---------------------------------------------------------------------------------------

/// Calls given up on whose thread has not finished yet.
static ABANDONED: AtomicUsize = AtomicUsize::new(0);

const RUNNING: u8 = 0;
const FINISHED: u8 = 1;
const GIVEN_UP: u8 = 2;

/// Runs `f` on its own thread and waits at most `timeout` for it. `None` when it
/// did not finish in time, panicked, or an earlier abandoned call is still
/// stuck (it holds the store: this one would only wait behind it).
fn bounded<T, F>(timeout: Duration, f: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    if ABANDONED.load(Ordering::SeqCst) > 0 {
        return None;
    }
    let state = Arc::new(AtomicU8::new(RUNNING));
    let worker_state = Arc::clone(&state);
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = thread::Builder::new()
        .name("keychain".into())
        .spawn(move || {
            let _ = tx.send(f());
            if worker_state.swap(FINISHED, Ordering::SeqCst) == GIVEN_UP {
                ABANDONED.fetch_sub(1, Ordering::SeqCst);
            }
        });
    if spawned.is_err() {
        return None;
    }
    match rx.recv_timeout(timeout) {
        Ok(value) => Some(value),
        Err(mpsc::RecvTimeoutError::Disconnected) => None,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            if state
                .compare_exchange(RUNNING, GIVEN_UP, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                ABANDONED.fetch_add(1, Ordering::SeqCst);
                None
            } else {
                // It finished just now: its value (if any) is in the channel.
                rx.try_recv().ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_is_literal() {
        assert_eq!(
            user("127.0.0.1:18777", "tester@dify.ai"),
            "tokens.127.0.0.1:18777.tester@dify.ai"
        );
        assert_eq!(
            user("cloud.dify.ai", "a.b@c.d"),
            "tokens.cloud.dify.ai.a.b@c.d"
        );
    }

    #[test]
    fn secrets_are_json_strings() {
        assert_eq!(encode("dfoa_x"), "\"dfoa_x\"");
        assert_eq!(encode(PROBE_VALUE), "\"probe-v1\"");
        assert_eq!(encode("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(decode("\"dfoa_x\"").as_deref(), Some("dfoa_x"));
        assert_eq!(decode(&encode("a\"b\\c")).as_deref(), Some("a\"b\\c"));
        assert_eq!(decode(" \"dfoa_x\"\n").as_deref(), Some("dfoa_x"));
    }

    #[test]
    fn anything_but_a_nonempty_json_string_is_no_token() {
        for secret in [
            "",
            "\"\"",
            "dfoa_x",
            "42",
            "null",
            "[\"dfoa_x\"]",
            "{}",
            "\"dfoa",
        ] {
            assert_eq!(decode(secret), None, "{secret:?}");
        }
    }

    #[test]
    fn unavailable_is_the_official_error() {
        let e = unavailable();
        assert_eq!(e.code, ErrorCode::KeyringUnavailable);
        assert_eq!(e.message, "OS keychain is unreachable");
        assert_eq!(
            e.hint.as_deref(),
            Some(
                "credentials are stored in the system keychain but it could not be accessed; \
                 unlock the keychain (or the login session) and retry"
            )
        );
        assert_eq!(e.code.exit_status(), 1);
    }

    #[test]
    fn bounded_returns_the_value_or_gives_up() {
        assert_eq!(bounded(Duration::from_secs(5), || 7), Some(7));
        let start = std::time::Instant::now();
        let (release, wait) = mpsc::channel::<()>();
        let slow = bounded(Duration::from_millis(50), move || wait.recv().is_ok());
        assert_eq!(slow, None);
        assert!(start.elapsed() < Duration::from_secs(2));
        // While that call is stuck, others give up at once.
        assert_eq!(bounded(Duration::from_secs(5), || 8), None);
        // Once it finishes, calls go through again.
        release.send(()).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while ABANDONED.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(bounded(Duration::from_secs(5), || 9), Some(9));
    }
}
