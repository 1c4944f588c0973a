//! Storing a login's token: in the store the login chose, leaving every
//! other context's token where it is, unless the login forced a store (then
//! they move along, see [`store_login`]).

use super::{ContextKey, Keychain, remove, set};
use crate::error::Result;
use crate::secret::Secret;
use crate::state::{self, ConfigDir, TokenStorage};

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

/// A login's token stored: see [`store_login`].
#[derive(Debug)]
pub struct Stored {
    pub to: TokenStorage,
    /// Other contexts whose token was moved to `to` (a forced store).
    pub moved: Vec<ContextKey>,
    /// Other contexts whose token could not be read to be moved: it stays
    /// where it is, and so does their store.
    pub unreadable: Vec<(ContextKey, TokenStorage)>,
    /// What to delete from which store once `hosts.yml` says where the
    /// tokens are now.
    leftovers: Vec<(ContextKey, TokenStorage)>,
    /// The context itself, and the token it had in `to` before (to undo).
    key: ContextKey,
    previous: Option<Secret>,
}

/// Stores the token of `key` in `to`. `before` is where the context's token
/// was (`None` for a new context): a copy left there is deleted by
/// [`Stored::finish`]. `others` are the other contexts with the store each
/// one's token is in; they stay where they are unless `migrate` (a login
/// that forces a store) moves their tokens to `to` too (a token that cannot
/// be read stays, listed in `unreadable`). On an error nothing is left in
/// `to`: every token is still where `hosts.yml` says. In `tokens.yml`,
/// tokens of no context (neither `key` nor `others`: left by a sign-in or
/// logout killed half way) are dropped with the write; the caller holds
/// `hosts.yml`'s lock, so no other sign-in is half way now. Call
/// [`Stored::finish`] after saving `hosts.yml`, or [`Stored::undo`] when
/// that failed.
pub fn store_login(
    dir: &ConfigDir,
    to: TokenStorage,
    key: &ContextKey,
    token: &Secret,
    before: Option<TokenStorage>,
    others: &[(ContextKey, TokenStorage)],
    migrate: bool,
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
                            .any(|(o, _)| (o.0.as_str(), o.1.as_str()) == (h, e))
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
        to,
        moved: Vec::new(),
        unreadable: Vec::new(),
        leftovers: Vec::new(),
        key: key.clone(),
        previous,
    };
    // An older token of this very context in another store is stale now.
    if let Some(from) = before.filter(|from| *from != to) {
        stored.leftovers.push((key.clone(), from));
    }
    if !migrate {
        return Ok(stored);
    }
    for from in [TokenStorage::File, TokenStorage::Keychain] {
        if from == to {
            continue;
        }
        let keys: Vec<ContextKey> = others
            .iter()
            .filter(|(_, s)| *s == from)
            .map(|(k, _)| k.clone())
            .collect();
        let copied = copy_all(dir, from, to, &keys).inspect_err(|_| stored.undo(dir))?;
        stored
            .leftovers
            .extend(copied.copied.iter().map(|k| (k.clone(), from)));
        stored.moved.extend(copied.copied);
        stored
            .unreadable
            .extend(copied.unreadable.into_iter().map(|k| (k, from)));
    }
    Ok(stored)
}

impl Stored {
    /// Deletes the moved and stale tokens from their old stores (failures
    /// ignored).
    pub fn finish(&self, dir: &ConfigDir) {
        for from in [TokenStorage::File, TokenStorage::Keychain] {
            let keys: Vec<ContextKey> = self
                .leftovers
                .iter()
                .filter(|(_, s)| *s == from)
                .map(|(k, _)| k.clone())
                .collect();
            remove_all(dir, from, &keys);
        }
    }

    /// `hosts.yml` could not be saved: `to` is put back as it was, this
    /// context's earlier token (or none) and no copies of the others.
    pub fn undo(&self, dir: &ConfigDir) {
        remove_all(dir, self.to, &self.moved);
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
