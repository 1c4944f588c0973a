//! `auth logout`: revoke the session on the server, then forget it locally
//! (PROTOCOL.md §4.4). The local cleanup happens whatever the server says.
//! `--host`/`--account` log out of another stored context; the active one
//! then stays active.

use crate::cli::Selection;
use crate::commands::Ctx;
use crate::commands::session;
use crate::dify::account;
use crate::output::spinner::{self, Spinner};
use crate::output::{CliError, Output, Result, interrupt};

pub fn run(ctx: &Ctx, select: &Selection) -> Result<Output> {
    let selected = session::select(select)?;
    if selected.is_env() {
        // Nothing is stored for it, and revoking a token someone handed us is
        // not what "log out of this machine" means.
        return Err(CliError::usage_invalid(
            "DIFY_TOKEN is set: auth logout only signs out of stored contexts",
        )
        .with_hint(
            "unset DIFY_TOKEN to log out of the stored context; to revoke the token itself, \
             run 'difyctl api -X DELETE account/sessions/self'",
        ));
    }
    // A token that cannot be read (say, a locked keychain) only skips the revoke.
    let token = selected.read_token().ok().flatten();

    let spinner = Spinner::start("Signing out", spinner::allowed(ctx.ui.stderr_tty));
    let revoke_error = token
        .filter(|t| t.expose().starts_with("dfoa_") || t.expose().starts_with("dfoe_"))
        .and_then(|token| {
            selected
                .client(None, ctx.verbose)
                .and_then(|client| account::revoke_self(&client, &token))
                .err()
        });
    spinner.stop();

    {
        let _critical = interrupt::Critical::enter();
        selected.forget()?;
    }
    if let Some(e) = revoke_error {
        ctx.ui.warn(&format!(
            "server revoke failed ({}); local credentials cleared anyway",
            e.message
        ));
    }
    Ok(Output::success(format!("Logged out of {}", selected.host)))
}
