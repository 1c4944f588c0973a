//! Local state: the config directory, `hosts.yml` (contexts), `tokens.yml`
//! (file-mode credentials) and `login-pending.yml` (sign-ins started by
//! `auth login --no-wait`), read and written under the official `.lock`
//! protocol with atomic replaces (difyctl-files(5)).
//!
//! Reads go through [`Store::load`], changes through [`Store::update`], which
//! holds the lock from load to save so concurrent invocations never lose each
//! other's changes. The helpers below name the stores of a config directory.

pub mod cache;
mod dir;
mod hash;
mod holder;
mod hosts;
mod lock;
mod model;
mod nudge;
mod omap;
mod pending;
mod perm;
mod salvage;
mod store;
mod tokens;
mod yaml;

#[cfg(test)]
pub(crate) mod testutil;

use std::path::{Path, PathBuf};

use crate::error::Result;

pub use cache::cache_dir;
pub use dir::{ConfigDir, Os, config_dir_with, home_dir};
pub use holder::{Holder, Verdict, judge};
pub use hosts::{
    Account, Context, ExternalSubject, HOSTS_FILE, HostEntry, Registry, TokenStorage, Workspace,
};
pub use lock::{LockOptions, lock_path};
pub use model::Extra;
pub use nudge::{NUDGE_FILE, NudgeFile, load_nudges, mark_warned, nudge_path};
pub use omap::{Damage, OrderedMap};
pub use pending::{PENDING_FILE, PendingFile, PendingSignIn};
/// The ownership and mode rule for the config dir and stores (pure).
pub use perm::verdict as ownership_verdict;
pub use store::{Document, Edit, Store};
pub use tokens::{TOKENS_FILE, TokenFile};
/// js-yaml-compatible YAML text for any value (e.g. `auth list -o yaml`).
pub use yaml::dump as dump_yaml;

pub fn hosts_path(config_dir: &Path) -> PathBuf {
    config_dir.join(HOSTS_FILE)
}

pub fn tokens_path(config_dir: &Path) -> PathBuf {
    config_dir.join(TOKENS_FILE)
}

/// Reads `hosts.yml` (missing = empty registry; nothing is created).
pub fn load_hosts(dir: &ConfigDir) -> Result<Registry> {
    dir.store(HOSTS_FILE).load()
}

/// Changes `hosts.yml` under its lock; see [`Store::update`].
pub fn update_hosts<T>(
    dir: &ConfigDir,
    change: impl FnOnce(&mut Registry) -> Result<T>,
) -> Result<T> {
    dir.store(HOSTS_FILE).update(change)
}

/// [`update_hosts`], then `after` while `hosts.yml`'s lock is still held;
/// see [`Store::update_then`].
pub fn update_hosts_then<T, U>(
    dir: &ConfigDir,
    change: impl FnOnce(&mut Registry) -> Result<T>,
    after: impl FnOnce(T) -> U,
) -> Result<U> {
    dir.store(HOSTS_FILE).update_then(change, after)
}

/// [`update_hosts`] for a change that needs something stored and says
/// whether it changed the registry (`use host`, `use account`): with no
/// `hosts.yml`, `change` sees an empty registry and nothing (directory, lock)
/// is created unless it changes that. See [`Store::update_stored`].
pub fn change_hosts<T>(
    dir: &ConfigDir,
    change: impl FnMut(&mut Registry) -> Result<Edit<T>>,
) -> Result<T> {
    dir.store(HOSTS_FILE).update_stored(change)
}

/// Compares the two readers of store files on `text`, as `hosts.yml` and as
/// `tokens.yml` (for tests and fuzzing): `Ok(true)` when the fast reader read
/// it, and serde_norway read the same; `Ok(false)` when the fast reader left
/// it to serde_norway; `Err` saying how they differ.
#[doc(hidden)]
pub fn compare_readers(text: &str) -> std::result::Result<bool, String> {
    let hosts = yaml::compare_readers::<Option<Registry>>(text)?;
    let tokens = yaml::compare_readers::<Option<tokens::RawFile>>(text)?;
    Ok(hosts || tokens)
}

/// Reads `tokens.yml` (missing = no tokens; nothing is created).
pub fn load_tokens(dir: &ConfigDir) -> Result<TokenFile> {
    dir.store(TOKENS_FILE).load()
}

/// Changes `tokens.yml` under its lock; see [`Store::update`].
pub fn update_tokens<T>(
    dir: &ConfigDir,
    change: impl FnOnce(&mut TokenFile) -> Result<T>,
) -> Result<T> {
    dir.store(TOKENS_FILE).update(change)
}

/// Reads `login-pending.yml` (missing = nothing pending; nothing is created).
pub fn load_pending(dir: &ConfigDir) -> Result<PendingFile> {
    dir.store(PENDING_FILE).load()
}

/// Changes `login-pending.yml` under its lock; see [`Store::update`]. The
/// file is removed once nothing is left in it.
pub fn update_pending<T>(
    dir: &ConfigDir,
    change: impl FnOnce(&mut PendingFile) -> Result<T>,
) -> Result<T> {
    dir.store(PENDING_FILE).update(change)
}
