//! The HTTP client for a context's host, and where the catalog handshake
//! keeps what it learns about each server.

use std::path::PathBuf;
use std::sync::Arc;

use crate::dify::catalog::{Memo, MemoStore};
use crate::dify::{Client, ClientOptions, HostUrl};
use crate::error::{CliError, Result};
use crate::state;

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
