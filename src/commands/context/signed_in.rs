//! A chosen context together with its token: what a command that talks to
//! the server works with.

use crate::cli::Selection;
use crate::commands::banner;
use crate::ctx::Ctx;
use crate::dify::Client;
use crate::error::{CliError, ErrorCode, Result};
use crate::secret::Secret;

use super::choose::choose;
use super::chosen::Chosen;

/// The hint of an expired or revoked session, before it names the context.
const GENERIC_RELOGIN: &str = "run 'difyctl auth login' to sign in again";

/// The context a command works on and its token.
#[derive(Debug)]
pub struct SignedIn {
    pub context: Chosen,
    pub token: Secret,
}

impl SignedIn {
    /// The context for this invocation and its token; `not_logged_in` (exit 4)
    /// when there is no context or no token.
    pub fn resolve(ctx: &Ctx, flags: &Selection) -> Result<SignedIn> {
        SignedIn::with_token_of(ctx, choose(ctx, flags)?)
    }

    /// `context` with the token it reads; `not_logged_in` when it has none.
    pub fn with_token_of(ctx: &Ctx, context: Chosen) -> Result<SignedIn> {
        let token = context
            .read_token(&ctx.ui)?
            .filter(|t| !t.is_empty())
            .ok_or_else(|| context.no_token())?;
        Ok(SignedIn { context, token })
    }

    /// An auth error about this token, with a hint that fits where the token
    /// came from.
    pub fn explain(&self, mut e: CliError) -> CliError {
        if self.context.is_env() && e.code == ErrorCode::AuthExpired {
            e.hint = Some(
                "the token in DIFY_TOKEN has expired or was revoked; replace it with a fresh one"
                    .to_string(),
            );
        } else if let Some(stored) = &self.context.stored
            && e.hint.as_deref() == Some(GENERIC_RELOGIN)
        {
            // A sign-in that works for this context: its scheme, --insecure
            // for http, its label.
            e.hint = Some(format!(
                "run '{}' to sign in again",
                super::chosen::login_command(
                    &self.context.host,
                    &self.context.url.scheme,
                    stored.entry.device_label.as_deref()
                )
            ));
        }
        e
    }

    /// A client for a command that talks to this server, after the
    /// compatibility banner when one is due (see [`banner::show`]).
    /// `structured`: the command prints JSON, which the banner never
    /// accompanies.
    pub fn talking_client(
        &self,
        ctx: &Ctx,
        http_retry: Option<u32>,
        structured: bool,
    ) -> Result<Client> {
        let client = self.context.client(ctx, http_retry)?;
        banner::show(ctx, structured, client.origin(), || {
            client.known_server_version()
        });
        Ok(client)
    }
}
