//! Where bearer tokens live: the OS keychain or the protected `tokens.yml`
//! (difyctl-files(5)). `hosts.yml`'s `token_storage` says which; commands
//! that do not need a token never come here.
//!
//! The store is chosen at login only ([`StorePolicy`]): `--token-storage`, else
//! `DIFY_TOKEN_STORAGE`, else `DIFY_E2E_NO_KEYRING=1` (the file), else a probe
//! of the keychain. Later commands open the recorded store without probing.
//! When a login changes the store, the other contexts' tokens move along
//! ([`copy_all`], then [`remove_all`] once `hosts.yml` names the new store).

pub mod file;
pub mod keychain;

pub use keychain::Keychain;

use crate::env::Env;
use crate::error::{CliError, Result};
use crate::output::term::sanitize_line;
use crate::secret::Secret;
use crate::state::{self, ConfigDir, TokenStorage};

/// The environment variable that forces a store at login.
pub const STORAGE_ENV: &str = "DIFY_TOKEN_STORAGE";
/// The official test hook: `1` makes login use `tokens.yml`.
pub const NO_KEYRING_ENV: &str = "DIFY_E2E_NO_KEYRING";

/// The token of (host, email) in the registry's store, if any. A keychain
/// that cannot be read is `keyring_unavailable`.
pub fn get(
    dir: &ConfigDir,
    storage: TokenStorage,
    host: &str,
    email: &str,
) -> Result<Option<Secret>> {
    match storage {
        TokenStorage::Keychain => Ok(Keychain::new().get(host, email)?.map(Secret::new)),
        TokenStorage::File => file::get(dir, host, email),
    }
}

pub fn set(
    dir: &ConfigDir,
    storage: TokenStorage,
    host: &str,
    email: &str,
    token: &Secret,
) -> Result<()> {
    match storage {
        TokenStorage::Keychain => Keychain::new().set(host, email, token.expose()),
        TokenStorage::File => file::set(dir, host, email, token),
    }
}

/// Deletes the token. The error says why it could not be (a keychain that
/// cannot be reached, a `tokens.yml` that cannot be read); callers that
/// clean up regardless ignore it, as the official tool does.
pub fn remove(dir: &ConfigDir, storage: TokenStorage, host: &str, email: &str) -> Result<()> {
    match storage {
        TokenStorage::Keychain => Keychain::new().remove(host, email),
        TokenStorage::File => file::remove(dir, host, email),
    }
}

// ---------------------------------------------------------------------------------------
// Choosing the store at login
// ---------------------------------------------------------------------------------------

/// How a login picks the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorePolicy {
    /// `--token-storage` or `DIFY_TOKEN_STORAGE`: this store, or an error;
    /// never a fallback.
    Forced(TokenStorage),
    /// `DIFY_E2E_NO_KEYRING=1`: the file, without a word (a test hook).
    NoKeyring,
    /// The keychain when the probe says it works, else the file.
    Probe,
}

/// The store a login uses, and how it came to it (for what login says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// The keychain, asked for or probed.
    Keychain,
    /// The file because it was asked for (`--token-storage`/`DIFY_TOKEN_STORAGE`).
    File,
    /// The file because of `DIFY_E2E_NO_KEYRING=1`.
    FileQuietly,
    /// The file because the keychain probe failed.
    FileFallback,
}

impl Choice {
    pub fn storage(self) -> TokenStorage {
        match self {
            Choice::Keychain => TokenStorage::Keychain,
            _ => TokenStorage::File,
        }
    }
}

impl StorePolicy {
    /// From the `--token-storage` flag (already checked by the parser) and the
    /// environment; a variable that is not UTF-8 is a usage error.
    pub fn from_env(flag: Option<&str>, env: &Env) -> Result<StorePolicy> {
        if let Some(storage) = flag.and_then(TokenStorage::from_name) {
            return Ok(StorePolicy::Forced(storage));
        }
        StorePolicy::resolve(None, env.text(STORAGE_ENV)?, env.text(NO_KEYRING_ENV)?)
    }

    /// The flag wins over `DIFY_TOKEN_STORAGE` (an empty one is unset; any
    /// value but `keychain` or `file` is `usage_invalid_flag`), which wins over
    /// `DIFY_E2E_NO_KEYRING=1`.
    pub fn resolve(
        flag: Option<&str>,
        env_storage: Option<&str>,
        no_keyring: Option<&str>,
    ) -> Result<StorePolicy> {
        if let Some(storage) = flag.and_then(TokenStorage::from_name) {
            return Ok(StorePolicy::Forced(storage));
        }
        match env_storage.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => TokenStorage::from_name(v)
                .map(StorePolicy::Forced)
                .ok_or_else(|| {
                    CliError::usage_invalid(format!("{STORAGE_ENV}: {v:?} is not keychain or file"))
                        .with_hint(format!(
                            "set {STORAGE_ENV} to keychain or file, or unset it"
                        ))
                }),
            None if no_keyring == Some("1") => Ok(StorePolicy::NoKeyring),
            None => Ok(StorePolicy::Probe),
        }
    }

    /// Before signing in: a forced keychain that does not pass the probe is
    /// `keyring_unavailable` now, not after the user approved the sign-in.
    pub fn check(self, keychain: &Keychain) -> Result<()> {
        match self {
            StorePolicy::Forced(TokenStorage::Keychain) if !keychain.probe() => {
                Err(keychain::unavailable())
            }
            _ => Ok(()),
        }
    }

    /// The store to write to now. Only [`StorePolicy::Probe`] probes; a forced
    /// keychain that fails from here on fails the write itself.
    pub fn choose(self, keychain: &Keychain) -> Choice {
        match self {
            StorePolicy::Forced(TokenStorage::Keychain) => Choice::Keychain,
            StorePolicy::Forced(TokenStorage::File) => Choice::File,
            StorePolicy::NoKeyring => Choice::FileQuietly,
            StorePolicy::Probe if keychain.probe() => Choice::Keychain,
            StorePolicy::Probe => Choice::FileFallback,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Moving tokens when a login changes the store
// ---------------------------------------------------------------------------------------

/// A context: (bare host, email).
pub type ContextKey = (String, String);

/// Another of `contexts` whose keychain item has the name of `key`'s
/// (`tokens.<host>.<email>` does not say where the host ends).
pub fn collision<'a>(
    contexts: impl Iterator<Item = (&'a str, &'a str)>,
    key: &ContextKey,
) -> Option<(&'a str, &'a str)> {
    let name = keychain::user(&key.0, &key.1);
    contexts
        .filter(|(h, e)| (*h, *e) != (key.0.as_str(), key.1.as_str()))
        .find(|(h, e)| keychain::user(h, e) == name)
}

/// Two stored contexts (written by another tool) that share one keychain
/// item: neither token can be told apart, so neither is read.
pub fn shared_item_error(key: &ContextKey, other: (&str, &str)) -> CliError {
    CliError::client(format!(
        "{} and {} share the keychain item \"{}\": whose token it holds cannot be told",
        keychain::shown(&key.0, &key.1),
        keychain::shown(other.0, other.1),
        sanitize_line(&keychain::user(&key.0, &key.1)),
    ))
    .with_hint(format!(
        "log out of one of them ({}) and sign in to the other again",
        logout_command(other)
    ))
}

/// Two contexts that would share one keychain item: refused, naming both.
pub fn collision_error(key: &ContextKey, other: (&str, &str)) -> CliError {
    CliError::usage_invalid(format!(
        "{} and the stored {} would share the keychain item \"{}\"",
        keychain::shown(&key.0, &key.1),
        keychain::shown(other.0, other.1),
        sanitize_line(&keychain::user(&key.0, &key.1)),
    ))
    .with_hint(format!(
        "difyctl and the official tool name keychain items tokens.<host>.<email>; keep one of \
         the two: log out of the other first ({})",
        logout_command(other)
    ))
}

/// `'difyctl auth logout --host H --account E'` for a context.
fn logout_command((host, email): (&str, &str)) -> String {
    format!(
        "'difyctl auth logout --host {} --account {}'",
        sanitize_line(host),
        sanitize_line(email)
    )
}

/// What [`copy_all`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied {
    /// Contexts whose token is now in both stores.
    pub copied: Vec<ContextKey>,
    /// Contexts whose token could not be read from the old store (a keychain
    /// that is unreachable): left where it is.
    pub unreadable: Vec<ContextKey>,
}

/// Copies the tokens of `contexts` from `from` to `to`; contexts without a
/// token are skipped. Nothing is deleted: once `hosts.yml` names `to`, call
/// [`remove_all`] on `from` for the copied ones. A failed write is an error,
/// after the copies made so far are taken out of `to` again, so every token is
/// still where `hosts.yml` says.
pub fn copy_all(
    dir: &ConfigDir,
    from: TokenStorage,
    to: TokenStorage,
    contexts: &[ContextKey],
) -> Result<Copied> {
    let mut result = Copied::default();
    if from == to || contexts.is_empty() {
        return Ok(result);
    }
    let mut found: Vec<(&ContextKey, Secret)> = Vec::new();
    match from {
        TokenStorage::File => {
            let file = state::load_tokens(dir)?;
            for key in contexts {
                if let Some(token) = file.get(&key.0, &key.1).filter(|t| !t.is_empty()) {
                    found.push((key, Secret::new(token)));
                }
            }
        }
        TokenStorage::Keychain => {
            let keychain = Keychain::new();
            for key in contexts {
                match keychain.get(&key.0, &key.1) {
                    Ok(Some(token)) => found.push((key, Secret::new(token))),
                    Ok(None) => {}
                    Err(_) => result.unreadable.push(key.clone()),
                }
            }
        }
    }
    match to {
        TokenStorage::File => {
            if !found.is_empty() {
                state::update_tokens(dir, |file| {
                    for (key, token) in &found {
                        file.set(&key.0, &key.1, token.expose())?;
                    }
                    Ok(())
                })?;
            }
        }
        TokenStorage::Keychain => {
            let keychain = Keychain::new();
            for (done, (key, token)) in found.iter().enumerate() {
                if let Err(e) = keychain.set(&key.0, &key.1, token.expose()) {
                    for (key, _) in &found[..done] {
                        keychain.delete(&key.0, &key.1);
                    }
                    return Err(e);
                }
            }
        }
    }
    result.copied = found.into_iter().map(|(key, _)| key.clone()).collect();
    Ok(result)
}

/// A login's token stored, maybe in another store than before: see [`store_login`].
#[derive(Debug)]
pub struct Stored {
    pub from: TokenStorage,
    pub to: TokenStorage,
    /// Other contexts whose token was copied to `to`.
    pub moved: Vec<ContextKey>,
    /// Other contexts whose token could not be read from `from`.
    pub unreadable: Vec<ContextKey>,
    /// What to delete from `from` once `hosts.yml` names `to`.
    leftovers: Vec<ContextKey>,
    /// The context itself, and the token it had in `to` before (to undo).
    key: ContextKey,
    previous: Option<Secret>,
}

/// Stores the token of `key` in `to`. When the registry's store `from` is
/// another one, the tokens of `others` are copied to `to` as well (a context
/// whose token cannot be read stays, listed in `unreadable`). On an error
/// nothing is left in `to`: every token is still where `hosts.yml` says.
/// In `tokens.yml`, tokens of no context (neither `key` nor `others`: left
/// by a sign-in or logout killed half way) are dropped with the write; the
/// caller holds `hosts.yml`'s lock, so no other sign-in is half way now.
/// Call [`Stored::finish`] after saving `hosts.yml` with `to`, or
/// [`Stored::undo`] when that failed.
pub fn store_login(
    dir: &ConfigDir,
    from: TokenStorage,
    to: TokenStorage,
    key: &ContextKey,
    token: &Secret,
    others: &[ContextKey],
) -> Result<Stored> {
    let previous = match to {
        TokenStorage::File => {
            let mut previous = None;
            state::update_tokens(dir, |file| {
                previous = file.get(&key.0, &key.1).map(Secret::new);
                file.retain(|h, e| {
                    (h, e) == (key.0.as_str(), key.1.as_str())
                        || others
                            .iter()
                            .any(|o| (o.0.as_str(), o.1.as_str()) == (h, e))
                });
                file.set(&key.0, &key.1, token.expose())
            })?;
            previous
        }
        TokenStorage::Keychain => {
            let keychain = Keychain::new();
            let previous = keychain.get(&key.0, &key.1).ok().flatten().map(Secret::new);
            keychain.set(&key.0, &key.1, token.expose())?;
            previous
        }
    };
    let mut stored = Stored {
        from,
        to,
        moved: Vec::new(),
        unreadable: Vec::new(),
        leftovers: Vec::new(),
        key: key.clone(),
        previous,
    };
    if from == to {
        return Ok(stored);
    }
    let copied = copy_all(dir, from, to, others).inspect_err(|_| stored.put_back(dir))?;
    stored.leftovers = copied.copied.clone();
    // An older token of this very context in the old store is stale now.
    stored.leftovers.push(key.clone());
    stored.moved = copied.copied;
    stored.unreadable = copied.unreadable;
    Ok(stored)
}

impl Stored {
    /// Deletes the moved tokens from the old store (failures ignored).
    pub fn finish(&self, dir: &ConfigDir) {
        remove_all(dir, self.from, &self.leftovers);
    }

    /// `hosts.yml` could not be saved: `to` is put back as it was, this
    /// context's earlier token (or none) and no copies of the others.
    pub fn undo(&self, dir: &ConfigDir) {
        if self.from != self.to {
            remove_all(dir, self.to, &self.moved);
        }
        self.put_back(dir);
    }

    fn put_back(&self, dir: &ConfigDir) {
        let (host, email) = (&self.key.0, &self.key.1);
        let _ = match &self.previous {
            Some(token) => set(dir, self.to, host, email, token),
            None => remove(dir, self.to, host, email),
        };
    }
}

/// Deletes the tokens of `contexts` from `storage`, ignoring failures (a
/// leftover copy in a store `hosts.yml` no longer names is never read).
pub fn remove_all(dir: &ConfigDir, storage: TokenStorage, contexts: &[ContextKey]) {
    if contexts.is_empty() {
        return;
    }
    match storage {
        TokenStorage::File => {
            if state::tokens_path(dir.path()).exists() {
                let _ = state::update_tokens(dir, |file| {
                    for (host, email) in contexts {
                        file.remove(host, email);
                    }
                    Ok(())
                });
            }
        }
        TokenStorage::Keychain => {
            let keychain = Keychain::new();
            for (host, email) in contexts {
                keychain.delete(host, email);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn resolve(flag: Option<&str>, env: Option<&str>, hook: Option<&str>) -> Result<StorePolicy> {
        StorePolicy::resolve(flag, env, hook)
    }

    #[test]
    fn the_flag_wins_then_the_env_then_the_hook() {
        use TokenStorage::{File, Keychain};
        assert_eq!(resolve(None, None, None), Ok(StorePolicy::Probe));
        assert_eq!(resolve(None, None, Some("1")), Ok(StorePolicy::NoKeyring));
        assert_eq!(resolve(None, None, Some("0")), Ok(StorePolicy::Probe));
        assert_eq!(resolve(None, None, Some("")), Ok(StorePolicy::Probe));
        assert_eq!(
            resolve(None, Some("keychain"), Some("1")),
            Ok(StorePolicy::Forced(Keychain))
        );
        assert_eq!(
            resolve(None, Some(" file "), None),
            Ok(StorePolicy::Forced(File))
        );
        assert_eq!(
            resolve(None, Some(""), Some("1")),
            Ok(StorePolicy::NoKeyring)
        );
        assert_eq!(
            resolve(Some("file"), Some("keychain"), None),
            Ok(StorePolicy::Forced(File))
        );
        // The flag wins even over an invalid variable.
        assert_eq!(
            resolve(Some("keychain"), Some("cloud"), Some("1")),
            Ok(StorePolicy::Forced(Keychain))
        );
    }

    #[test]
    fn an_invalid_variable_is_a_usage_error() {
        for bad in ["cloud", "Keychain", "files"] {
            let e = resolve(None, Some(bad), None).unwrap_err();
            assert_eq!(e.code, ErrorCode::UsageInvalidFlag);
            assert_eq!(
                e.message,
                format!("DIFY_TOKEN_STORAGE: \"{bad}\" is not keychain or file")
            );
            assert_eq!(
                e.hint.as_deref(),
                Some("set DIFY_TOKEN_STORAGE to keychain or file, or unset it")
            );
            assert_eq!(e.exit_code(), 2);
        }
    }

    /// `DIFY_TOKEN_STORAGE` that is not UTF-8 is refused, as every text
    /// variable is, rather than taken as unset; the flag still wins.
    #[cfg(unix)]
    #[test]
    fn a_variable_that_is_not_text_is_a_usage_error() {
        use std::os::unix::ffi::OsStringExt;
        let env = Env::from_pairs([(
            STORAGE_ENV,
            std::ffi::OsString::from_vec(b"file\xff".to_vec()),
        )]);
        let e = StorePolicy::from_env(None, &env).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                ErrorCode::UsageInvalidFlag,
                "DIFY_TOKEN_STORAGE is not valid UTF-8"
            )
        );
        assert_eq!(
            StorePolicy::from_env(Some("keychain"), &env),
            Ok(StorePolicy::Forced(TokenStorage::Keychain))
        );
        assert_eq!(
            StorePolicy::from_env(None, &Env::from_pairs([(NO_KEYRING_ENV, "1")])),
            Ok(StorePolicy::NoKeyring)
        );
    }

    #[test]
    fn choices_that_need_no_probe() {
        let kc = Keychain::new();
        assert_eq!(
            StorePolicy::Forced(TokenStorage::Keychain).choose(&kc),
            Choice::Keychain
        );
        assert_eq!(
            StorePolicy::Forced(TokenStorage::File).choose(&kc),
            Choice::File
        );
        assert_eq!(StorePolicy::NoKeyring.choose(&kc), Choice::FileQuietly);
        assert_eq!(StorePolicy::Forced(TokenStorage::File).check(&kc), Ok(()));
        assert_eq!(StorePolicy::NoKeyring.check(&kc), Ok(()));
        for (choice, storage) in [
            (Choice::Keychain, TokenStorage::Keychain),
            (Choice::File, TokenStorage::File),
            (Choice::FileQuietly, TokenStorage::File),
            (Choice::FileFallback, TokenStorage::File),
        ] {
            assert_eq!(choice.storage(), storage);
        }
    }

    #[test]
    fn copying_between_files_is_nothing() {
        let dir = std::env::temp_dir().join(format!("difyctl-copy-{}", std::process::id()));
        let keys = vec![("h".to_string(), "e".to_string())];
        let done = copy_all(
            &ConfigDir::at(&dir),
            TokenStorage::File,
            TokenStorage::File,
            &keys,
        )
        .unwrap();
        assert_eq!(done, Copied::default());
        assert!(!dir.exists());
    }
}
