//! `auth logout`: revoke the session on the server, then forget it locally
//! (`DELETE account/sessions/self`). The local cleanup happens whatever the
//! server says.
//! `--host`/`--account` log out of another stored context; the active one
//! then stays active.
//!
//! It never claims more than it did: when the token could not be read (a
//! locked keychain, a damaged `tokens.yml`) or the server did not revoke it,
//! stderr says that the session stays active (until when, when known), what
//! was left where, and how to end it. A per-token 429 is waited out as the
//! server asks, up to a minute in all. The exit status stays 0: the local
//! cleanup happened. A context signed in again while the revoke was on its
//! way is not forgotten.

use crate::cli::Selection;
use crate::commands::context::{self, Chosen, Forgot};
use crate::credentials::keychain;
use crate::ctx::Ctx;
use crate::dify::{account, retry};
use crate::error::{CliError, ErrorCode, Result};
use crate::output::spinner::Spinner;
use crate::output::term::sanitize_line;
use crate::output::{Output, interrupt};
use crate::state::{self, TokenStorage};

pub fn run(ctx: &Ctx, select: &Selection) -> Result<Output> {
    let chosen = context::choose(ctx, select)?;
    if chosen.is_env() {
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
    let token = chosen.read_token(&ctx.ui);

    let spinner = Spinner::start("Signing out", &ctx.ui);
    let revoke_error = match &token {
        Ok(Some(t)) if t.expose().starts_with("dfoa_") || t.expose().starts_with("dfoe_") => chosen
            .client(ctx, None)
            .and_then(|client| {
                account::revoke_self_waiting(&client, t, retry::MAX_RETRY_AFTER, &interrupt::sleep)
            })
            .err(),
        _ => None,
    };
    spinner.stop();
    if revoke_error
        .as_ref()
        .is_some_and(|e| e.code == ErrorCode::Interrupted)
    {
        return Err(interrupt::interrupted());
    }

    let used = token.as_ref().ok().and_then(Option::as_ref);
    let forgot = {
        let _critical = interrupt::Critical::enter();
        chosen.forget(used)?
    };
    let email = sanitize_line(chosen.email());
    let host = &chosen.host;
    let token_left = match forgot {
        Forgot::SignedInAgain => {
            ctx.ui.warn(&format!(
                "{email} on {host} was signed in again meanwhile: that new sign-in is kept \
                 (run 'difyctl auth logout' again to end it too)"
            ));
            return Ok(Output::success(format!(
                "Revoked the earlier session of {email} on {host}"
            )));
        }
        Forgot::Gone { token_left } => token_left,
        Forgot::Nothing => None,
    };

    match (&token, revoke_error) {
        (Err(unreadable), _) => {
            // The first line: a parse error goes on with an excerpt.
            let why = unreadable.message.lines().next().unwrap_or_default();
            ctx.ui.warn(&format!(
                "could not read the token of {email} on {host} ({why}), so the session was not \
                 revoked: it stays active on the server{}",
                until(&chosen)
            ));
            if let Some(place) = left_where(&chosen, token_left.as_ref()) {
                ctx.ui.say(&format!("  {place}"));
            }
            ctx.ui.say(&format!("  {}", how_to_end(&chosen)));
        }
        (Ok(_), Some(e)) => {
            // The official line, when it is true.
            let local = if token_left.is_none() {
                "local credentials cleared anyway"
            } else {
                "the context was removed anyway"
            };
            ctx.ui
                .warn(&format!("server revoke failed ({}); {local}", e.message));
            // A 401 means the server no longer knows the token: nothing lives on.
            if e.code != ErrorCode::AuthExpired {
                let status = e.http.as_ref().and_then(|h| h.status);
                let state = if status.is_some_and(|s| (400..500).contains(&s)) {
                    "is still active"
                } else {
                    "may still be active"
                };
                ctx.ui.say(&format!(
                    "  The session {state} on the server{}. {}",
                    until(&chosen),
                    how_to_end(&chosen)
                ));
            }
        }
        (Ok(_), None) => {}
    }
    // A token that was read but could not be deleted (a tokens.yml that
    // cannot be rewritten, a keychain that refuses) is no secret kept quietly.
    if let (Ok(_), Some(why)) = (&token, &token_left) {
        let why = why.message.lines().next().unwrap_or_default();
        ctx.ui.warn(&format!(
            "could not delete the token of {email} on {host} ({why})"
        ));
        if let Some(place) = left_where(&chosen, token_left.as_ref()) {
            ctx.ui.say(&format!("  {place}"));
        }
    }
    say_what_is_active(ctx, &chosen);
    Ok(Output::success(format!("Logged out of {host}")))
}

/// After logging out of the active context, nothing is active: with other
/// contexts stored, stderr says so and how to pick one (a failure to read
/// the registry again only skips the note).
fn say_what_is_active(ctx: &Ctx, chosen: &Chosen) {
    let Some(s) = &chosen.stored else { return };
    let Ok(r) = state::load_hosts(&s.dir) else {
        return;
    };
    if r.active().is_some() {
        return;
    }
    if let Some(list) = context::stored_list(&r) {
        ctx.ui.say(&format!(
            "No context is active now; {list}. Pick one with 'difyctl use host' and 'difyctl use \
             account'"
        ));
    }
}

/// ` until <expiry>`, or ` until it expires`.
fn until(chosen: &Chosen) -> String {
    let at = chosen
        .stored
        .as_ref()
        .and_then(|s| s.entry.token_expires_at.as_deref())
        .filter(|at| !at.trim().is_empty());
    match at {
        Some(at) => format!(" until {}", sanitize_line(at)),
        None => " until it expires".to_string(),
    }
}

/// Where the token that could not be deleted (`why`) is.
fn left_where(chosen: &Chosen, why: Option<&CliError>) -> Option<String> {
    why?;
    let s = chosen.stored.as_ref()?;
    Some(match s.storage {
        TokenStorage::Keychain => format!(
            "The keychain item \"{}\" was left in place.",
            sanitize_line(&keychain::user(&chosen.host, &s.email))
        ),
        TokenStorage::File => format!(
            "{} still holds the token: fix the file, then remove the entry of {} under {}.",
            state::tokens_path(s.dir.path()).display(),
            sanitize_line(&s.email),
            chosen.host
        ),
    })
}

/// What ends a session whose token this machine no longer uses.
fn how_to_end(chosen: &Chosen) -> String {
    let revoke = match chosen.token_id() {
        Some(id) => format!("'difyctl auth devices revoke {}'", sanitize_line(id)),
        None => "'difyctl auth devices revoke' (see 'difyctl auth devices list')".to_string(),
    };
    let label = chosen
        .stored
        .as_ref()
        .and_then(|s| s.entry.device_label.as_deref());
    format!(
        "To end it: {revoke} from another context of {}, a new sign-in from this machine \
         ('{}' replaces it), or the Dify console.",
        sanitize_line(chosen.email()),
        context::login_command(&chosen.host, &chosen.url.scheme, label)
    )
}
