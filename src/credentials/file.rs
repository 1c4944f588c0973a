//! The protected file fallback: `tokens.yml`, mode 0600.

use crate::error::Result;
use crate::secret::Secret;
use crate::state::{self, ConfigDir};

/// The token of (host, email); an entry of tokens.yml that is damaged is an
/// error naming it (the other contexts' tokens still read).
pub fn get(dir: &ConfigDir, host: &str, email: &str) -> Result<Option<Secret>> {
    let file = state::load_tokens(dir)?;
    Ok(file
        .token(host, email)?
        .filter(|t| !t.is_empty())
        .map(Secret::new))
}

pub fn set(dir: &ConfigDir, host: &str, email: &str, token: &Secret) -> Result<()> {
    state::update_tokens(dir, |file| file.set(host, email, token.expose()))
}

/// The permission bits of `tokens.yml` when group or others have any access
/// to it (copied in by hand, or restored from a backup): callers report it.
/// The next write makes the file 0600 again. A file they can write is not
/// one: it is refused when read, and a warning that it will be fixed would
/// contradict that.
pub fn exposed_mode(dir: &ConfigDir) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state::tokens_path(dir.path()))
            .ok()?
            .permissions()
            .mode();
        (mode & 0o077 != 0 && mode & 0o022 == 0).then_some(mode & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Deletes the entry; the file itself stays (`tokens: {}` when empty).
pub fn remove(dir: &ConfigDir, host: &str, email: &str) -> Result<()> {
    if !state::tokens_path(dir.path()).exists() {
        return Ok(());
    }
    state::update_tokens(dir, |file| {
        file.remove(host, email);
        Ok(())
    })
}
