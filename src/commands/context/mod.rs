//! The context a command works on: which stored host/account context (or
//! `DIFY_TOKEN` session) this invocation uses, and its token. One resolution
//! for every command that needs a context (`auth logout`, `status`, `token`,
//! `refresh`, `devices …`, `api`, `use workspace`).
//!
//! The names: the `--host`/`--account` flags ([`Selection`](crate::cli::Selection))
//! and the variables ([`ContextEnv`]) choose a context ([`Chosen`]), which
//! may be a stored one ([`Stored`]); a chosen context with its token is
//! [`SignedIn`].
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
//! Choosing only reads `hosts.yml` (and the token store); it never writes.
//!
//! The files: [`choose`](choose()) decides, [`Chosen`] is what it decides
//! (in `chosen.rs`), `signed_in.rs` adds the token, `client.rs` talks to the
//! context's host. This file only names them.

mod choose;
mod chosen;
mod client;
mod signed_in;

#[cfg(test)]
mod tests;

pub use choose::{
    ContextEnv, INSECURE_ENV, choose, choose_with, nothing_active, registry, stored,
    stored_context, stored_list,
};
pub use chosen::{
    Chosen, Forgot, Stored, TokenSource, describe, describe_into, login_command, warn_if_exposed,
};
pub use client::client_for;
pub use signed_in::SignedIn;
