//! The protected file fallback: `tokens.yml`, mode 0600.

use std::path::Path;

use crate::dify::Secret;
use crate::output::Result;
use crate::state;

pub fn get(dir: &Path, host: &str, email: &str) -> Result<Option<Secret>> {
    let file = state::load_tokens(dir)?;
    Ok(file
        .get(host, email)
        .filter(|t| !t.is_empty())
        .map(Secret::new))
}

pub fn set(dir: &Path, host: &str, email: &str, token: &Secret) -> Result<()> {
    state::update_tokens(dir, |file| {
        file.set(host, email, token.expose());
        Ok(())
    })
}

/// Deletes the entry; the file itself stays (`tokens: {}` when empty).
pub fn remove(dir: &Path, host: &str, email: &str) -> Result<()> {
    if !state::tokens_path(dir).exists() {
        return Ok(());
    }
    state::update_tokens(dir, |file| {
        file.remove(host, email);
        Ok(())
    })
}
