//! Finding the context a command works on, and its token: one resolution for
//! every command that needs a context (`auth logout`, `status`, `token`,
//! `refresh`, `devices …`, `api`, `use workspace`).
//!
//! The order, first match wins:
//!
//! 1. `DIFY_TOKEN` (non-empty): that token, for the host named by `--host`,
//!    else `DIFY_HOST`, else the active context's host. A host given as a URL
//!    keeps its scheme (`http://` is honoured as typed) and path prefix; a bare
//!    host means https. Nothing is read from the token store and nothing is
//!    ever written. No host at all is a usage error (exit 2).
//! 2. `--host` / `--account`, each falling back to `DIFY_HOST` /
//!    `DIFY_ACCOUNT`: a stored context other than the active one, for this
//!    invocation only. A host alone means that host's current account; an
//!    account alone means that account on the active host.
//! 3. The active context.
//!
//! Selecting only reads `hosts.yml` (and the token store); it never writes.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::Selection;
use crate::credentials;
use crate::dify::catalog::{Memo, MemoStore};
use crate::dify::{Client, ClientOptions, HostUrl, Secret};
use crate::error::{CliError, ErrorCode, Result};
use crate::host;
use crate::output::term::{Ui, sanitize_line};
use crate::state::{self, Context, Registry, TokenStorage};

/// `hosts.yml` of the config directory (empty when missing; nothing created).
pub fn registry() -> Result<Registry> {
    state::load_hosts(&state::config_dir()?)
}

/// `email (Name)`, or the email alone when there is no name.
pub fn describe(email: &str, name: &str) -> String {
    if name.is_empty() {
        email.to_string()
    } else {
        format!("{email} ({name})")
    }
}

/// Where a session's token comes from.
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

    fn of(storage: TokenStorage) -> TokenSource {
        match storage {
            TokenStorage::Keychain => TokenSource::Keychain,
            TokenStorage::File => TokenSource::File,
        }
    }
}

/// A stored context chosen for this invocation.
#[derive(Debug, Clone)]
pub struct Stored {
    pub dir: PathBuf,
    pub storage: TokenStorage,
    pub email: String,
    pub context: Context,
    /// Another stored context whose keychain item has this one's name (a
    /// registry written by another tool): in the keychain neither token can
    /// be told apart, so neither is read or deleted there.
    pub shares_item_with: Option<(String, String)>,
}

/// The context a command works on, before its token is read.
#[derive(Debug, Clone)]
pub struct Selected {
    /// The bare host (`host[:port]`).
    pub host: String,
    /// Where requests go: scheme, host, and a path prefix from `DIFY_HOST`.
    pub url: HostUrl,
    pub source: TokenSource,
    /// The stored context; `None` for a `DIFY_TOKEN` session.
    pub stored: Option<Stored>,
    env_token: Option<Secret>,
    /// Chosen by `--host`/`--account`/`DIFY_HOST`/`DIFY_ACCOUNT` rather than
    /// being the active context (errors then name it).
    explicit: bool,
}

/// The variables that take part in the selection; empty values count as unset.
#[derive(Debug, Clone, Default)]
pub struct EnvSelection {
    pub token: Option<String>,
    pub host: Option<String>,
    pub account: Option<String>,
    /// [`INSECURE_ENV`] is truthy: `DIFY_TOKEN` may go to an `http://` host.
    pub insecure: bool,
}

/// The opt-in that lets `DIFY_TOKEN` travel to an `http://` host.
pub const INSECURE_ENV: &str = "DIFY_INSECURE";

impl EnvSelection {
    pub fn from_process() -> Result<EnvSelection> {
        let get = |k: &str| -> Result<Option<String>> {
            Ok(env_text(k)?.filter(|v| !v.trim().is_empty()))
        };
        Ok(EnvSelection {
            token: get("DIFY_TOKEN")?,
            host: get("DIFY_HOST")?,
            account: get("DIFY_ACCOUNT")?,
            insecure: crate::output::term::truthy(INSECURE_ENV),
        })
    }
}

/// An environment variable's value; one that is not UTF-8 is a usage error
/// rather than silently unset (a garbled `DIFY_TOKEN` must not fall back to
/// the stored context).
pub fn env_text(name: &str) -> Result<Option<String>> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(CliError::usage_invalid(format!(
            "{name} is not valid UTF-8"
        ))
        .with_hint(format!("set {name} to a text value, or unset it"))),
    }
}

/// The context for this invocation (see the module docs for the order).
pub fn select(sel: &Selection) -> Result<Selected> {
    select_with(sel, &EnvSelection::from_process()?, stored)
}

/// The config directory and its `hosts.yml`.
pub fn stored() -> Result<(PathBuf, Registry)> {
    let dir = state::config_dir()?;
    let registry = state::load_hosts(&dir)?;
    Ok((dir, registry))
}

/// [`select`] with the environment and the stored state passed in. `load` is
/// called at most once, and not at all for `DIFY_TOKEN` with a host.
pub fn select_with(
    sel: &Selection,
    env: &EnvSelection,
    load: impl FnOnce() -> Result<(PathBuf, Registry)>,
) -> Result<Selected> {
    for (flag, value) in [("--host", &sel.host), ("--account", &sel.account)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(CliError::usage_invalid(format!("{flag} must not be empty")));
        }
    }
    if let Some(token) = &env.token {
        return env_session(sel, env, token, load);
    }

    let (dir, registry) = load()?;
    let host_choice = sel
        .host
        .as_deref()
        .map(|h| (h, "--host"))
        .or(env.host.as_deref().map(|h| (h, "DIFY_HOST")));
    let account_choice = sel
        .account
        .as_deref()
        .map(|a| (a.trim(), "--account"))
        .or(env.account.as_deref().map(|a| (a.trim(), "DIFY_ACCOUNT")));
    let explicit = host_choice.is_some() || account_choice.is_some();

    let host: String = match host_choice {
        Some((raw, source)) => {
            let bare = bare_host(raw, source)?;
            if registry.is_empty() {
                return Err(CliError::not_logged_in());
            }
            if !registry.hosts.contains_key(&bare) {
                let known: Vec<&str> = registry.hosts.keys().collect();
                return Err(CliError::usage_invalid(format!(
                    "unknown host \"{}\"{}; known hosts: {}",
                    sanitize_line(raw.trim()),
                    from(source),
                    known.join(", ")
                ))
                .with_hint("see 'difyctl auth list' for the stored contexts"));
            }
            bare
        }
        None => match registry.current_host_entry() {
            Some((host, _)) => host.to_string(),
            None if account_choice.is_some() => {
                return Err(CliError::not_logged_in()
                    .with_message("no active host to look the account up on")
                    .with_hint("pass --host too, or run 'difyctl use host'"));
            }
            None => return Err(CliError::not_logged_in()),
        },
    };
    let entry = registry
        .hosts
        .get(&host)
        .ok_or_else(CliError::not_logged_in)?;
    let known_accounts = || entry.accounts.keys().collect::<Vec<_>>().join(", ");
    let email: String = match account_choice {
        Some((email, source)) => {
            if !entry.accounts.contains_key(email) {
                return Err(CliError::usage_invalid(format!(
                    "unknown account \"{}\"{} on {host}; known: {}",
                    sanitize_line(email),
                    from(source),
                    known_accounts()
                ))
                .with_hint("see 'difyctl auth list' for the stored contexts"));
            }
            email.to_string()
        }
        None => match entry
            .current_account
            .as_deref()
            .filter(|e| entry.accounts.contains_key(e))
        {
            Some(email) => email.to_string(),
            None if explicit => {
                return Err(CliError::not_logged_in()
                    .with_message(format!("no current account on {host}"))
                    .with_hint(format!("pass --account with one of: {}", known_accounts())));
            }
            None => return Err(CliError::not_logged_in()),
        },
    };
    let context = entry.accounts.get(&email).cloned().unwrap_or_default();
    let key = (host.clone(), email.clone());
    let shares_item_with =
        credentials::collision(registry.contexts().map(|(h, e, _)| (h, e)), &key)
            .map(|(h, e)| (h.to_owned(), e.to_owned()));
    Ok(Selected {
        url: HostUrl::new(entry.scheme(), &host),
        host,
        source: TokenSource::of(registry.token_storage),
        stored: Some(Stored {
            dir,
            storage: registry.token_storage,
            email,
            context,
            shares_item_with,
        }),
        env_token: None,
        explicit,
    })
}

/// ` (from DIFY_HOST)` for values that came from the environment.
fn from(source: &str) -> String {
    if source.starts_with("--") {
        String::new()
    } else {
        format!(" (from {source})")
    }
}

/// The bare host a `--host`/`DIFY_HOST` value names: a bare host or a URL.
fn bare_host(raw: &str, source: &str) -> Result<String> {
    let target = host::parse(raw)
        .map_err(|e| CliError::usage_invalid(format!("{source}: {}", e.message)))?;
    if target.has_path() {
        return Err(CliError::usage_invalid(format!(
            "{source}: stored contexts are named by host[:port], without a path ({})",
            sanitize_line(&target.url.path_prefix)
        ))
        .with_hint(format!("pass {source} {}", target.bare)));
    }
    Ok(target.bare)
}

/// Step 1: `DIFY_TOKEN`. Nothing stored is used but, without any host given,
/// the active context's host.
fn env_session(
    sel: &Selection,
    env: &EnvSelection,
    token: &str,
    load: impl FnOnce() -> Result<(PathBuf, Registry)>,
) -> Result<Selected> {
    if sel.account.is_some() {
        return Err(CliError::usage_invalid(
            "--account cannot be used with DIFY_TOKEN: the token decides the account",
        )
        .with_hint("unset DIFY_TOKEN to use a stored context"));
    }
    let token = token.trim();
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CliError::usage_invalid(
            "DIFY_TOKEN is not a bearer token: it holds spaces or control characters",
        ));
    }
    let given = sel
        .host
        .as_deref()
        .map(|h| (h, "--host"))
        .or(env.host.as_deref().map(|h| (h, "DIFY_HOST")));
    let (host, url) = match given {
        Some((raw, source)) => {
            let target = host::parse(raw)
                .map_err(|e| CliError::usage_invalid(format!("{source}: {}", e.message)))?;
            if target.url.scheme == "http" && !env.insecure {
                return Err(CliError::usage_invalid(format!(
                    "DIFY_TOKEN would travel in clear text to http://{} ({source})",
                    target.bare
                ))
                .with_hint(format!(
                    "use an https:// host, or set {INSECURE_ENV}=1 to allow http:// \
                     (local-dev only)"
                )));
            }
            (target.bare, target.url)
        }
        None => {
            let (_, registry) = load()?;
            match registry.current_host_entry() {
                Some((host, entry)) => (host.to_string(), HostUrl::new(entry.scheme(), host)),
                None => {
                    return Err(
                        CliError::usage_missing("DIFY_TOKEN is set but no host is known")
                            .with_hint(
                                "set DIFY_HOST to the token's host, e.g. DIFY_HOST=cloud.dify.ai",
                            ),
                    );
                }
            }
        }
    };
    Ok(Selected {
        host,
        url,
        source: TokenSource::Env,
        stored: None,
        env_token: Some(Secret::new(token)),
        explicit: true,
    })
}

impl Selected {
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
            .and_then(|s| s.context.token_id.as_deref())
            .filter(|id| !id.is_empty())
    }

    /// The token: `DIFY_TOKEN`'s, or the one in the store (`None` when none is
    /// stored; a store that cannot be read is an error).
    pub fn read_token(&self) -> Result<Option<Secret>> {
        match (&self.env_token, &self.stored) {
            (Some(token), _) => Ok(Some(token.clone())),
            (None, Some(s)) => {
                if s.storage == TokenStorage::File {
                    warn_if_exposed(&s.dir);
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

    pub fn client(&self, http_retry: Option<u32>, verbose: bool) -> Result<Client> {
        client_for(&self.url, http_retry, verbose)
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
                let storage = r.token_storage;
                if r.context(host, email).is_none() {
                    return Ok(None);
                }
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
    fn no_token(&self) -> CliError {
        match &self.stored {
            Some(s) if self.explicit => CliError::not_logged_in()
                .with_message(format!(
                    "no credential stored for {} on {}",
                    s.email, self.host
                ))
                .with_hint(format!("run 'difyctl auth login --host {}'", self.host)),
            _ => CliError::not_logged_in(),
        }
    }
}

/// What [`Selected::forget`] did.
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

/// A selected context with its token: what a network command needs.
#[derive(Debug)]
pub struct Session {
    selected: Selected,
    pub token: Secret,
}

impl Session {
    /// The context for this invocation and its token; `not_logged_in` (exit 4)
    /// when there is no context or no token.
    pub fn resolve(sel: &Selection) -> Result<Session> {
        Session::from_selected(select(sel)?)
    }

    pub fn from_selected(selected: Selected) -> Result<Session> {
        let token = selected
            .read_token()?
            .filter(|t| !t.is_empty())
            .ok_or_else(|| selected.no_token())?;
        Ok(Session { selected, token })
    }

    /// An auth error about this session's token, with a hint that fits where
    /// the token came from.
    pub fn explain(&self, mut e: CliError) -> CliError {
        if self.is_env() && e.code == ErrorCode::AuthExpired {
            e.hint = Some(
                "the token in DIFY_TOKEN has expired or was revoked; replace it with a fresh one"
                    .to_string(),
            );
        }
        e
    }
}

impl Deref for Session {
    type Target = Selected;

    fn deref(&self) -> &Selected {
        &self.selected
    }
}

/// Reports a `tokens.yml` that users other than its owner can read (the next
/// write makes it 0600 again).
pub fn warn_if_exposed(dir: &std::path::Path) {
    if let Some(mode) = credentials::file::exposed_mode(dir) {
        let path = state::tokens_path(dir);
        let path = path.display();
        Ui::detect().warn(&format!(
            "{path} holds tokens but other users may read it (mode {mode:04o}); \
             it is made 0600 on the next write, or run 'chmod 600 {path}'"
        ));
    }
}

/// An HTTP client for a host, with the retry budget from `--http-retry` or
/// `DIFYCTL_HTTP_RETRY`, and the catalog handshake remembering what it learns
/// in the cache directory (in memory only when there is none).
pub fn client_for(host: &HostUrl, http_retry: Option<u32>, verbose: bool) -> Result<Client> {
    let env = env_text("DIFYCTL_HTTP_RETRY")?;
    let mut opts = ClientOptions::from_env();
    opts.retries = crate::dify::retry::resolve_retries(http_retry, env.as_deref())?;
    opts.verbose = verbose;
    let memos = state::cache_dir()
        .ok()
        .map(|dir| Arc::new(CachedMemos { dir }) as Arc<dyn MemoStore>);
    Ok(Client::new(host, opts)?.with_handshake(memos))
}

/// Server memos, one JSON file per server in the cache directory.
struct CachedMemos {
    dir: PathBuf,
}

impl MemoStore for CachedMemos {
    fn load(&self, origin: &str) -> Option<Memo> {
        let text = state::cache::read_text(&state::cache::server_memo_path(&self.dir, origin))?;
        serde_json::from_str(&text).ok()
    }

    fn save(&self, origin: &str, memo: &Memo) -> Result<()> {
        let mut text = serde_json::to_string_pretty(memo)
            .map_err(|e| CliError::client(format!("encode the server memo: {e}")))?;
        text.push('\n');
        state::cache::write_text(&state::cache::server_memo_path(&self.dir, origin), &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &str = "token_storage: file\ncurrent_host: a.test\nhosts:\n  a.test:\n    \
        current_account: a1@x.test\n    accounts:\n      a1@x.test:\n        account:\n          \
        email: a1@x.test\n        token_id: t-a1\n      a2@x.test:\n        account:\n          \
        email: a2@x.test\n  b.test:8443:\n    scheme: http\n    current_account: b1@x.test\n    \
        accounts:\n      b1@x.test:\n        account:\n          email: b1@x.test\n";

    fn registry(text: &str) -> Registry {
        use crate::state::Document;
        Registry::parse(text, std::path::Path::new("hosts.yml")).unwrap()
    }

    fn pick(sel: Selection, env: EnvSelection, text: &str) -> Result<Selected> {
        let text = text.to_string();
        select_with(&sel, &env, move || {
            Ok((PathBuf::from("/nonexistent"), registry(&text)))
        })
    }

    fn sel(host: Option<&str>, account: Option<&str>) -> Selection {
        Selection {
            host: host.map(str::to_string),
            account: account.map(str::to_string),
        }
    }

    fn env(token: Option<&str>, host: Option<&str>, account: Option<&str>) -> EnvSelection {
        EnvSelection {
            token: token.map(str::to_string),
            host: host.map(str::to_string),
            account: account.map(str::to_string),
            insecure: false,
        }
    }

    fn chosen(s: Result<Selected>) -> (String, String, String) {
        let s = s.unwrap();
        (s.url.scheme.clone(), s.host.clone(), s.email().to_string())
    }

    fn error(s: Result<Selected>) -> (ErrorCode, String) {
        let e = s.unwrap_err();
        (e.code, e.message)
    }

    #[test]
    fn the_active_context_by_default() {
        let s = pick(sel(None, None), env(None, None, None), HOSTS).unwrap();
        assert_eq!(
            (s.host.as_str(), s.email(), s.source, s.token_id()),
            ("a.test", "a1@x.test", TokenSource::File, Some("t-a1"))
        );
        assert_eq!(
            error(pick(sel(None, None), env(None, None, None), "")),
            (ErrorCode::NotLoggedIn, "not logged in".into())
        );
    }

    #[test]
    fn flags_then_env_then_active() {
        let https = |h: &str, e: &str| ("https".to_string(), h.to_string(), e.to_string());
        let http = |h: &str, e: &str| ("http".to_string(), h.to_string(), e.to_string());
        assert_eq!(
            chosen(pick(
                sel(Some("b.test:8443"), None),
                env(None, None, None),
                HOSTS
            )),
            http("b.test:8443", "b1@x.test")
        );
        // A URL names the same stored host.
        assert_eq!(
            chosen(pick(
                sel(Some("HTTP://B.test:8443/"), None),
                env(None, None, None),
                HOSTS
            )),
            http("b.test:8443", "b1@x.test")
        );
        assert_eq!(
            chosen(pick(
                sel(None, Some("a2@x.test")),
                env(None, None, None),
                HOSTS
            )),
            https("a.test", "a2@x.test")
        );
        assert_eq!(
            chosen(pick(
                sel(None, None),
                env(None, Some("b.test:8443"), None),
                HOSTS
            )),
            http("b.test:8443", "b1@x.test")
        );
        assert_eq!(
            chosen(pick(
                sel(None, None),
                env(None, None, Some("a2@x.test")),
                HOSTS
            )),
            https("a.test", "a2@x.test")
        );
        // Each flag wins over its variable.
        assert_eq!(
            chosen(pick(
                sel(Some("a.test"), None),
                env(None, Some("b.test:8443"), Some("a2@x.test")),
                HOSTS
            )),
            https("a.test", "a2@x.test")
        );
        assert_eq!(
            chosen(pick(
                sel(None, Some("a1@x.test")),
                env(None, None, Some("a2@x.test")),
                HOSTS
            )),
            https("a.test", "a1@x.test")
        );
    }

    #[test]
    fn unknown_choices_are_usage_errors() {
        assert_eq!(
            error(pick(
                sel(Some("c.test"), None),
                env(None, None, None),
                HOSTS
            )),
            (
                ErrorCode::UsageInvalidFlag,
                "unknown host \"c.test\"; known hosts: a.test, b.test:8443".into()
            )
        );
        assert_eq!(
            error(pick(
                sel(None, None),
                env(None, Some("c.test"), None),
                HOSTS
            )),
            (
                ErrorCode::UsageInvalidFlag,
                "unknown host \"c.test\" (from DIFY_HOST); known hosts: a.test, b.test:8443".into()
            )
        );
        assert_eq!(
            error(pick(
                sel(Some("b.test:8443"), Some("a1@x.test")),
                env(None, None, None),
                HOSTS
            )),
            (
                ErrorCode::UsageInvalidFlag,
                "unknown account \"a1@x.test\" on b.test:8443; known: b1@x.test".into()
            )
        );
        assert_eq!(
            error(pick(sel(None, None), env(None, None, Some("zz")), HOSTS)),
            (
                ErrorCode::UsageInvalidFlag,
                "unknown account \"zz\" (from DIFY_ACCOUNT) on a.test; known: a1@x.test, a2@x.test"
                    .into()
            )
        );
        assert_eq!(
            error(pick(sel(Some(""), None), env(None, None, None), HOSTS)),
            (
                ErrorCode::UsageInvalidFlag,
                "--host must not be empty".into()
            )
        );
        // Nothing stored at all: not signed in, whatever was asked for.
        assert_eq!(
            error(pick(sel(Some("c.test"), None), env(None, None, None), "")).0,
            ErrorCode::NotLoggedIn
        );
    }

    #[test]
    fn dify_token_needs_no_stored_state() {
        let never = || -> Result<(PathBuf, Registry)> { panic!("state was read") };
        let e = env(
            Some(" dfoa_t \n"),
            Some("https://x.test/dify/"),
            Some("ignored"),
        );
        let s = select_with(&sel(None, None), &e, never).unwrap();
        assert_eq!(
            (
                s.host.as_str(),
                s.url.scheme.as_str(),
                s.url.path_prefix.as_str()
            ),
            ("x.test", "https", "/dify")
        );
        assert_eq!(
            (s.source, s.email(), s.stored.is_none()),
            (TokenSource::Env, "", true)
        );
        assert_eq!(s.read_token().unwrap().unwrap().expose(), "dfoa_t");
        assert!(matches!(s.forget(None).unwrap(), Forgot::Nothing));

        // Bare hosts are https; --host wins; an explicit http:// is honoured
        // only with DIFY_INSECURE: the token would travel in clear text.
        let s = select_with(
            &sel(None, None),
            &env(Some("t"), Some("h.test:81"), None),
            never,
        )
        .unwrap();
        assert_eq!(s.url, HostUrl::new("https", "h.test:81"));
        let plain = sel(Some("http://127.0.0.1:5001"), None);
        let mut e = env(Some("t"), Some("h.test"), None);
        let refused = select_with(&plain, &e, never).unwrap_err();
        assert_eq!(
            (refused.code, refused.message.as_str()),
            (
                ErrorCode::UsageInvalidFlag,
                "DIFY_TOKEN would travel in clear text to http://127.0.0.1:5001 (--host)"
            )
        );
        e.insecure = true;
        let s = select_with(&plain, &e, never).unwrap();
        assert_eq!(s.url, HostUrl::new("http", "127.0.0.1:5001"));
        // A stored context's host: no path, and a port in range.
        for (host, message) in [
            (
                "a.test/x",
                "--host: stored contexts are named by host[:port], without a path (/x)",
            ),
            (
                "a.test:70000",
                "--host: host parse: port 70000 is out of range (1 to 65535)",
            ),
        ] {
            let e = pick(sel(Some(host), None), env(None, None, None), HOSTS).unwrap_err();
            assert_eq!(
                (e.code, e.message.as_str()),
                (ErrorCode::UsageInvalidFlag, message)
            );
        }

        // Without a host: the active context's host (and scheme), else exit 2.
        let s = pick(sel(None, None), env(Some("t"), None, None), HOSTS).unwrap();
        assert_eq!((s.host.as_str(), s.source), ("a.test", TokenSource::Env));
        let e = pick(sel(None, None), env(Some("t"), None, None), "").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str(), e.exit_code()),
            (
                ErrorCode::UsageMissingArg,
                "DIFY_TOKEN is set but no host is known",
                2
            )
        );
        let e = pick(sel(None, Some("a")), env(Some("t"), None, None), HOSTS).unwrap_err();
        assert_eq!(e.code, ErrorCode::UsageInvalidFlag);
        let e = pick(sel(None, None), env(Some("dfoa_a b"), Some("h"), None), "").unwrap_err();
        assert_eq!(e.code, ErrorCode::UsageInvalidFlag);
    }
}
