//! The context a command works on, once chosen: its host, where its token
//! comes from and, for a stored context, its entry in `hosts.yml`.

use crate::credentials;
use crate::ctx::Ctx;
use crate::dify::{Client, HostUrl};
use crate::error::{CliError, Result};
use crate::output::term::Ui;
use crate::secret::Secret;
use crate::state::{self, ConfigDir, Context, TokenStorage};

use super::client::client_for;

/// `email (Name)`, or the email alone when there is no name.
pub fn describe(email: &str, name: &str) -> String {
    let mut out = String::with_capacity(email.len() + name.len() + 3);
    describe_into(&mut out, email, name);
    out
}

/// [`describe`], appended to `out`.
pub fn describe_into(out: &mut String, email: &str, name: &str) {
    out.push_str(email);
    if !name.is_empty() {
        out.push_str(" (");
        out.push_str(name);
        out.push(')');
    }
}

/// The `auth login` command that signs in to a stored context again, as a
/// user can paste it: its scheme (with `--insecure` for http, which login
/// needs) and its chosen device label, so the new session replaces the old.
pub fn login_command(host: &str, scheme: &str, label: Option<&str>) -> String {
    let mut command = if scheme == "https" {
        format!("difyctl auth login --host {host}")
    } else {
        format!("difyctl auth login --host {scheme}://{host} --insecure")
    };
    if let Some(label) = label {
        // Single quotes keep every character but the quote itself.
        command.push_str(&format!(" --label '{}'", label.replace('\'', "'\\''")));
    }
    command
}

/// Where a context's token comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Keychain,
    File,
    /// The `DIFY_TOKEN` environment variable.
    Env,
}

impl TokenSource {
    /// `keychain`, `file` or `DIFY_TOKEN`, as `auth status` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Keychain => "keychain",
            TokenSource::File => "file",
            TokenSource::Env => "DIFY_TOKEN",
        }
    }

    pub(super) fn of(storage: TokenStorage) -> TokenSource {
        match storage {
            TokenStorage::Keychain => TokenSource::Keychain,
            TokenStorage::File => TokenSource::File,
        }
    }
}

/// The stored side of a chosen context: where it is kept, and its entry in
/// `hosts.yml`.
#[derive(Debug, Clone)]
pub struct Stored {
    pub dir: ConfigDir,
    pub storage: TokenStorage,
    pub email: String,
    pub entry: Context,
    /// Another stored context whose keychain item has this one's name (a
    /// registry written by another tool): in the keychain neither token can
    /// be told apart, so neither is read or deleted there.
    pub shares_item_with: Option<(String, String)>,
}

/// The context a command works on, before its token is read.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// The bare host (`host[:port]`).
    pub host: String,
    /// Where requests go: scheme, host, and a path prefix from `DIFY_HOST`.
    pub url: HostUrl,
    pub source: TokenSource,
    /// The stored context; `None` for a `DIFY_TOKEN` session.
    pub stored: Option<Stored>,
    pub(super) env_token: Option<Secret>,
    /// Chosen by `--host`/`--account`/`DIFY_HOST`/`DIFY_ACCOUNT` rather than
    /// being the active context (errors then name it).
    pub(super) explicit: bool,
}

impl Chosen {
    pub fn is_env(&self) -> bool {
        self.source == TokenSource::Env
    }

    /// The stored account email; empty for a `DIFY_TOKEN` session.
    pub fn email(&self) -> &str {
        self.stored.as_ref().map_or("", |s| s.email.as_str())
    }

    /// The server id of the session this context signed in with, when known.
    pub fn token_id(&self) -> Option<&str> {
        self.stored
            .as_ref()
            .and_then(|s| s.entry.token_id.as_deref())
            .filter(|id| !id.is_empty())
    }

    /// The token: `DIFY_TOKEN`'s, or the one in the store (`None` when none is
    /// stored; a store that cannot be read is an error).
    /// A readable `tokens.yml` is reported on `ui`.
    pub fn read_token(&self, ui: &Ui) -> Result<Option<Secret>> {
        match (&self.env_token, &self.stored) {
            (Some(token), _) => Ok(Some(token.clone())),
            (None, Some(s)) => {
                if s.storage == TokenStorage::File {
                    warn_if_exposed(ui, &s.dir);
                }
                if let (TokenStorage::Keychain, Some(other)) = (s.storage, &s.shares_item_with) {
                    let key = (self.host.clone(), s.email.clone());
                    return Err(credentials::shared_item_error(&key, (&other.0, &other.1)));
                }
                credentials::get(&s.dir, s.storage, &self.host, &s.email)
            }
            (None, None) => Ok(None),
        }
    }

    /// A client for this context's host (no banner: see
    /// [`SignedIn::talking_client`](super::SignedIn::talking_client)).
    pub fn client(&self, ctx: &Ctx, http_retry: Option<u32>) -> Result<Client> {
        client_for(ctx, &self.url, http_retry)
    }

    /// Forgets this context locally, but only while it still holds `used`
    /// (the token this command read and revoked; `None` when none could be
    /// read): a sign-in of the same context that came in meanwhile is kept.
    /// The `hosts.yml` entry goes first, then, under the same lock, the
    /// token, so that neither a crash nor another command in between leaves
    /// a context without its token (at worst a token no context names, which
    /// the next sign-in drops). A `DIFY_TOKEN` session has nothing stored.
    pub fn forget(&self, used: Option<&Secret>) -> Result<Forgot> {
        let Some(s) = &self.stored else {
            return Ok(Forgot::Nothing);
        };
        let (host, email, dir) = (&self.host, &s.email, &s.dir);
        // Two contexts sharing a keychain item: the item is neither's to delete.
        let shared = s.shares_item_with.is_some();
        state::update_hosts_then(
            dir,
            |r| {
                let Some(context) = r.context(host, email) else {
                    return Ok(None);
                };
                let storage = r.storage_of(context);
                if let Some(used) = used
                    && !(shared && storage == TokenStorage::Keychain)
                    && let Ok(Some(now)) = credentials::get(dir, storage, host, email)
                    && now != *used
                {
                    return Ok(Some((storage, false)));
                }
                r.remove(host, email);
                Ok(Some((storage, true)))
            },
            |outcome| match outcome {
                None => Forgot::Gone { token_left: None },
                Some((_, false)) => Forgot::SignedInAgain,
                Some((storage, true)) => Forgot::Gone {
                    token_left: if shared && storage == TokenStorage::Keychain {
                        None
                    } else {
                        credentials::remove(dir, storage, host, email).err()
                    },
                },
            },
        )
    }

    /// `not_logged_in` for a context without a token.
    pub(super) fn no_token(&self) -> CliError {
        match &self.stored {
            Some(s) if self.explicit => CliError::not_logged_in()
                .with_message(format!(
                    "no credential stored for {} on {}",
                    s.email, self.host
                ))
                .with_hint(format!(
                    "run '{}'",
                    login_command(
                        &self.host,
                        &self.url.scheme,
                        s.entry.device_label.as_deref()
                    )
                )),
            _ => CliError::not_logged_in(),
        }
    }
}

/// What [`Chosen::forget`] did.
#[derive(Debug)]
pub enum Forgot {
    /// Nothing is stored for a `DIFY_TOKEN` session.
    Nothing,
    /// The context is gone. `token_left` says why its token could not be
    /// deleted (a locked keychain, a damaged `tokens.yml`), when it could not.
    Gone { token_left: Option<CliError> },
    /// The context holds another token than the one used: it was signed in
    /// again meanwhile, and is kept as it is.
    SignedInAgain,
}

/// Reports a `tokens.yml` that users other than its owner can read (the next
/// write makes it 0600 again).
pub fn warn_if_exposed(ui: &Ui, dir: &ConfigDir) {
    if let Some(mode) = credentials::file::exposed_mode(dir) {
        let path = state::tokens_path(dir.path());
        let path = path.display();
        ui.warn(&format!(
            "{path} holds tokens but other users may read it (mode {mode:04o}); \
             it is made 0600 on the next write, or run 'chmod 600 {path}'"
        ));
    }
}
