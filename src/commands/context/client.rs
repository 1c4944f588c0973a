//! The HTTP client for a context's host, and where the catalog handshake
//! keeps what it learns about each server.

use std::path::PathBuf;
use std::sync::Arc;

use crate::ctx::Ctx;
use crate::dify::catalog::{Memo, MemoStore};
use crate::dify::{Client, ClientOptions, HostUrl};
use crate::error::{CliError, Result};
use crate::state;

/// An HTTP client for a host, with the retry budget from `--http-retry` or
/// `DIFYCTL_HTTP_RETRY`, and the catalog handshake remembering what it learns
/// in the cache directory (in memory only when there is none).
pub fn client_for(ctx: &Ctx, host: &HostUrl, http_retry: Option<u32>) -> Result<Client> {
    let env = ctx.env.text("DIFYCTL_HTTP_RETRY")?;
    let mut opts = ClientOptions::from_env(&ctx.env)?;
    opts.retries = crate::dify::retry::resolve_retries(http_retry, env)?;
    opts.verbose = ctx.verbose;
    let memos = ctx.cache_dir().map(|dir| {
        Arc::new(CachedMemos {
            dir: dir.to_path_buf(),
        }) as Arc<dyn MemoStore>
    });
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
