//! Where bearer tokens live: the OS keychain or the protected `tokens.yml`
//! (difyctl-files(5)). `hosts.yml`'s `token_storage` says which; commands
//! that do not need a token never come here.
//!
//! The store is chosen at login only ([`StorePolicy`]): `--token-storage`, else
//! `DIFY_TOKEN_STORAGE`, else `DIFY_E2E_NO_KEYRING=1` (the file), else a probe
//! of the keychain. Later commands open the recorded store without probing.
//! Each context's token stays where it was stored ([`store_login`]); only a
//! login that forces a store moves the other contexts' tokens along.

pub mod file;
pub mod keychain;
mod login;

pub use keychain::Keychain;
pub use login::{Copied, Stored, copy_all, remove_all, store_login};

use crate::env::Env;
use crate::error::{CliError, Result};
use crate::output::term::sanitize_line;
use crate::secret::Secret;
use crate::state::{ConfigDir, TokenStorage};

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
}
