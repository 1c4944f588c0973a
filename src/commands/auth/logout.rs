//! `auth logout`: revoke the session on the server, then forget it locally
//! (PROTOCOL.md §4.4). The local cleanup happens whatever the server says.

use crate::commands::{Ctx, session};
use crate::credentials;
use crate::dify::{HostUrl, account};
use crate::output::spinner::{self, Spinner};
use crate::output::{CliError, Output, Result, interrupt};
use crate::state;

pub fn run(ctx: &Ctx) -> Result<Output> {
    let dir = state::config_dir()?;
    let registry = state::load_hosts(&dir)?;
    let (host, email, _) = registry.active().ok_or_else(CliError::not_logged_in)?;
    let (host, email) = (host.to_string(), email.to_string());
    let scheme = registry
        .hosts
        .get(&host)
        .map_or("https", |h| h.scheme())
        .to_string();
    // A token that cannot be read (say, a locked keychain) only skips the revoke.
    let token = credentials::get(&dir, registry.token_storage, &host, &email)
        .ok()
        .flatten();

    let spinner = Spinner::start("Signing out", spinner::allowed(ctx.ui.stderr_tty));
    let revoke_error = token
        .filter(|t| t.expose().starts_with("dfoa_") || t.expose().starts_with("dfoe_"))
        .and_then(|token| {
            session::client_for(&HostUrl::new(&scheme, &host), None, ctx.verbose)
                .and_then(|client| account::revoke_self(&client, &token))
                .err()
        });
    spinner.stop();

    {
        let _critical = interrupt::Critical::enter();
        let _ = credentials::remove(&dir, registry.token_storage, &host, &email);
        state::update_hosts(&dir, |r| {
            r.remove(&host, &email);
            Ok(())
        })?;
    }
    if let Some(e) = revoke_error {
        ctx.ui.warn(&format!(
            "server revoke failed ({}); local credentials cleared anyway",
            e.message
        ));
    }
    Ok(Output::success(format!("Logged out of {host}")))
}
