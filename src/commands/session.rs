//! Finding the context a command works on, and its token.

use std::path::PathBuf;

use crate::credentials;
use crate::dify::{Client, ClientOptions, HostUrl, Secret};
use crate::output::{CliError, Result};
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

/// The active context with everything a network command needs.
#[derive(Debug)]
pub struct Session {
    pub dir: PathBuf,
    pub storage: TokenStorage,
    pub host: String,
    pub scheme: String,
    pub email: String,
    pub context: Context,
    pub token: Secret,
}

impl Session {
    /// The active context and its token; `not_logged_in` when either is missing.
    pub fn active() -> Result<Session> {
        let dir = state::config_dir()?;
        let registry = state::load_hosts(&dir)?;
        let (host, email, context) = registry.active().ok_or_else(CliError::not_logged_in)?;
        let scheme = registry
            .hosts
            .get(host)
            .map_or("https", |h| h.scheme())
            .to_string();
        let token = credentials::get(&dir, registry.token_storage, host, email)?
            .ok_or_else(CliError::not_logged_in)?;
        Ok(Session {
            storage: registry.token_storage,
            host: host.to_string(),
            scheme,
            email: email.to_string(),
            context: context.clone(),
            token,
            dir,
        })
    }

    pub fn client(&self, http_retry: Option<u32>, verbose: bool) -> Result<Client> {
        client_for(&HostUrl::new(&self.scheme, &self.host), http_retry, verbose)
    }

    /// Forget this context locally: its token and its hosts.yml entry.
    pub fn forget(&self) -> Result<()> {
        let _ = credentials::remove(&self.dir, self.storage, &self.host, &self.email);
        state::update_hosts(&self.dir, |r| {
            r.remove(&self.host, &self.email);
            Ok(())
        })
    }
}

/// An HTTP client for a host, with the retry budget from `--http-retry` or
/// `DIFYCTL_HTTP_RETRY`.
pub fn client_for(host: &HostUrl, http_retry: Option<u32>, verbose: bool) -> Result<Client> {
    let env = std::env::var("DIFYCTL_HTTP_RETRY").ok();
    let mut opts = ClientOptions::from_env();
    opts.retries = crate::dify::retry::resolve_attempts(http_retry, env.as_deref())?;
    opts.verbose = verbose;
    Client::new(host, opts)
}
