//! `auth refresh [--if-expiring-within DURATION]`: Dify has no refresh tokens
//! (a `dfoa_` token lives 14 days, see [`crate::dify`]), so a refresh is a new
//! sign-in to the chosen stored context's host, with `auth login`'s methods
//! and flags. The new session has this machine's device label, so the server
//! revokes the old token of that label (it rotates), and the new token
//! replaces the stored one.
//!
//! What makes it a refresh rather than a login:
//!
//! * The host and its scheme are the stored context's (`--host`/`--account`
//!   select a stored context, they do not name a new host). An `http` context
//!   needs no `--insecure`: the user allowed plain http when signing in to it.
//! * The new token must belong to the context's account. Approving the
//!   sign-in as someone else stores nothing; that unwanted token is revoked
//!   (best effort) and the command fails with `access_denied` (exit 4).
//! * The active context stays what it was, also when another context was
//!   refreshed with `--host`/`--account`; so does the context's workspace
//!   while the account still belongs to it.
//! * `--password`/`--email-code` default `--email` to the context's account.
//! * The device label is the one the context was signed in with when the
//!   user chose it (`--label` or `DIFY_DEVICE_LABEL` win over it, and are
//!   kept for the next refresh).
//! * Without a terminal it never starts a device flow nobody would see
//!   (`not_logged_in`, exit 4, before anything is sent for the sign-in),
//!   unless `--device-flow` asks for one; the headless methods work.
//! * `--if-expiring-within D` first asks the server whether the token still
//!   works (`GET /account`) and, when no expiry was stored, looks it up in the
//!   session list, as `auth status` does. A token valid for longer than D is
//!   left alone (exit 0, nothing written); a refused one, or one whose expiry
//!   is unknown, is refreshed.

use crate::cli::{LoginArgs, LoginMethod, Selection, Span};
use crate::commands::auth::sign_in::{self, persist};
use crate::commands::auth::status;
use crate::commands::context::{self, Chosen, SignedIn, describe};
use crate::ctx::Ctx;
use crate::dify::account::{self, STALE_SESSION_HINT};
use crate::dify::device::TokenPayload;
use crate::error::{CliError, ErrorCode, Result};
use crate::host::Target;
use crate::output::Output;
use crate::output::term::sanitize_line;
use crate::state::{self, Context};

pub fn run(
    ctx: &Ctx,
    if_expiring_within: Option<&Span>,
    args: &LoginArgs,
    select: &Selection,
) -> Result<Output> {
    let within = if_expiring_within.map(|s| (s.text.as_str(), s.secs));
    let chosen = context::choose(ctx, select)?;
    if chosen.is_env() {
        return Err(CliError::usage_invalid(
            "DIFY_TOKEN is set: auth refresh only signs in again to stored contexts",
        )
        .with_hint(
            "a token from the environment cannot be refreshed: replace DIFY_TOKEN with a fresh \
             token, or unset it to refresh the stored context",
        ));
    }
    let stored = chosen.stored.clone().ok_or_else(CliError::not_logged_in)?;
    let email = stored.email.clone();
    let args = login_args(args, &chosen)?;
    sign_in::check_inputs(ctx, &args)?;
    let label = sign_in::label(ctx, &args, stored.entry.device_label.as_deref())?;
    // The label of the session being replaced: a new one does not rotate it.
    let previous = match &stored.entry.device_label {
        Some(text) => text.clone(),
        None => sign_in::default_label(ctx)?,
    };

    let who = format!("{} on {}", sanitize_line(&email), chosen.host);
    if let Some((raw, secs)) = within {
        match check(ctx, chosen.clone(), secs)? {
            Check::Fresh(left) => {
                return Ok(Output::Text(format!(
                    "Token for {who} is valid for another {}; not refreshing\n",
                    status::span(left)
                )));
            }
            Check::Expiring(left) if left > 0 => ctx.ui.say(&format!(
                "Token for {who} expires in {} (within {raw}); signing in again",
                status::span(left)
            )),
            Check::Expiring(left) => ctx.ui.say(&format!(
                "Token for {who} expired {} ago; signing in again",
                status::span(-left)
            )),
            Check::Refused => ctx.ui.say(&format!(
                "The server no longer accepts the token for {who}; signing in again"
            )),
            Check::NoToken => ctx
                .ui
                .say(&format!("No token is stored for {who}; signing in again")),
            Check::Unknown => ctx.ui.say(&format!(
                "The expiry of the token for {who} is unknown; signing in again"
            )),
        }
    }

    if args.method == LoginMethod::DeviceFlow && !args.device_flow && !ctx.ui.interactive() {
        return Err(unattended());
    }
    let target = Target {
        url: chosen.url.clone(),
        bare: chosen.host.clone(),
    };
    let mut payload = sign_in::sign_in(ctx, &target, &args, &label)?;
    if let Some(other) = payload.email().filter(|e| *e != email) {
        return Err(refuse(ctx, &target, &payload, other, &stored));
    }
    keep_workspace(&mut payload, &stored.entry);
    let expires = payload
        .expires_at
        .clone()
        .filter(|at| !at.trim().is_empty());
    let name = payload
        .account
        .as_ref()
        .map(|a| a.name.clone())
        .unwrap_or_default();

    let saved = persist::persist(ctx, &target, &payload, &label, false, None)
        .inspect_err(|_| sign_in::discard(ctx, &target, &args, &payload))?;
    if label.text != previous {
        end_previous(ctx, &target, &payload, &stored.entry, &previous);
    }
    Ok(match saved {
        Output::Success(_, mut rest) => {
            if let Some(at) = expires {
                let when = match crate::time::parse_iso(&at) {
                    Some(t) => format!("{at} ({})", status::relative(t - ctx.clock.unix_secs())),
                    None => at,
                };
                rest.push(format!("  Expires:   {}", sanitize_line(&when)));
            }
            let first = format!(
                "Refreshed the token for {} on {}",
                describe(&sanitize_line(&email), &sanitize_line(&name)),
                target.bare
            );
            Output::Success(first, rest)
        }
        other => other,
    })
}

/// Without a terminal nobody sees a device code, and a device flow would
/// wait out its whole lifetime (15 minutes) for an approval that never
/// comes: refused unless `--device-flow` asks for it.
fn unattended() -> CliError {
    CliError::new(
        ErrorCode::NotLoggedIn,
        "no terminal: auth refresh does not start a device-flow sign-in that nobody can approve",
    )
    .with_hint(
        "sign in again without a person with --password --password-stdin, --email-code or \
         --console-cookie; pass --device-flow to print a code and wait for its approval anyway",
    )
}

/// `auth login`'s arguments for this context: an `http` context is signed in
/// to over http again (allowed once at login), and `--password` or
/// `--email-code` sign in as the context's account unless `--email` says
/// otherwise, which is refused here rather than after the server minted a
/// token for the wrong account.
fn login_args(args: &LoginArgs, chosen: &Chosen) -> Result<LoginArgs> {
    let email = chosen.email();
    let mut args = LoginArgs {
        insecure: args.insecure || chosen.url.scheme == "http",
        ..args.clone()
    };
    if matches!(args.method, LoginMethod::Password | LoginMethod::EmailCode) {
        match args
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            None => args.email = Some(email.to_string()),
            Some(given) if given.eq_ignore_ascii_case(email) => {}
            Some(given) => {
                return Err(CliError::usage_invalid(format!(
                    "--email {} is not this context's account ({email} on {})",
                    sanitize_line(given),
                    chosen.host
                ))
                .with_hint(format!(
                    "refresh signs in again as {email}; to add another account, run '{}'",
                    context::login_command(&chosen.host, &chosen.url.scheme, None)
                )));
            }
        }
    }
    Ok(args)
}

/// A refresh under a new label leaves the session of the old one live (the
/// server rotates per label): it is ended with the new token, best effort,
/// since nobody holds its token any more.
fn end_previous(ctx: &Ctx, target: &Target, payload: &TokenPayload, old: &Context, previous: &str) {
    let Some(id) = old.token_id.as_deref() else {
        return;
    };
    if payload.token_id.as_deref() == Some(id) {
        return;
    }
    let previous = sanitize_line(previous);
    let ended = context::client_for(ctx, &target.url, None)
        .and_then(|client| account::revoke_session(&client, &payload.token, id));
    let gone = |e: &CliError| e.http.as_ref().and_then(|h| h.status) == Some(404);
    match ended {
        Err(e) if gone(&e) => {}
        Ok(()) => ctx.ui.say(&format!(
            "Ended the session labelled \"{previous}\" that this context used before"
        )),
        Err(e) => ctx.ui.warn(&format!(
            "could not end the session labelled \"{previous}\" ({}); revoke it with 'difyctl \
             auth devices revoke {id}'",
            e.message
        )),
    }
}

/// What the server says about the stored token, for `--if-expiring-within`.
enum Check {
    /// Valid for this many more seconds, longer than asked.
    Fresh(i64),
    /// Valid, but only for this many seconds (negative: by this machine's
    /// clock it has already expired).
    Expiring(i64),
    /// The server refused it: expired or revoked.
    Refused,
    /// No token is stored for the context.
    NoToken,
    /// Valid, but neither the context nor the server says until when.
    Unknown,
}

/// The status check: `GET /account` with the stored token and, without a
/// stored `token_expires_at`, the expiry from the session list (the same
/// lookup as `auth status`). No other request is made.
fn check(ctx: &Ctx, chosen: Chosen, within: i64) -> Result<Check> {
    let signed = match SignedIn::with_token_of(ctx, chosen) {
        Ok(signed) => signed,
        Err(e) if e.code == ErrorCode::NotLoggedIn => return Ok(Check::NoToken),
        Err(e) => return Err(e),
    };
    let client = signed.context.client(ctx, None)?;
    let sso = match account::get_account(&client, &signed.token) {
        Ok(_) => false,
        Err(e) if status::unsupported_token_type(&e) => true,
        Err(e) if e.code == ErrorCode::AuthExpired => return Ok(Check::Refused),
        // Servers of the 1.14 era answer a revoked or expired token with a
        // 500. Signing in again is harmless if the server is really down: the
        // sign-in then fails with its own error.
        Err(e) if e.hint.as_deref() == Some(STALE_SESSION_HINT) => return Ok(Check::Refused),
        Err(e) => return Err(e),
    };
    let expires_at = match status::stored_expiry(&signed) {
        Some(at) => Some(at),
        None if !sso => status::lookup_expiry(&client, &signed),
        None => None,
    };
    let Some(at) = expires_at.as_deref().and_then(crate::time::parse_iso) else {
        return Ok(Check::Unknown);
    };
    let left = at - ctx.clock.unix_secs();
    Ok(if left > within {
        Check::Fresh(left)
    } else {
        Check::Expiring(left)
    })
}

/// The context's workspace, while the account still belongs to it, rather
/// than the server's default for the new session (`use workspace` chose it).
fn keep_workspace(payload: &mut TokenPayload, context: &Context) {
    if let Some(w) = &context.workspace
        && payload.workspaces.iter().any(|p| p.id == w.id)
    {
        payload.default_workspace_id = Some(w.id.clone());
    }
}

/// Someone approved the sign-in as `other`, not as the context's account:
/// nothing is stored, and the token the server minted for `other` is revoked
/// so that no unused session is left behind.
fn refuse(
    ctx: &Ctx,
    target: &Target,
    payload: &TokenPayload,
    other: &str,
    stored: &context::Stored,
) -> CliError {
    let revoked = context::client_for(ctx, &target.url, None)
        .and_then(|client| account::revoke_self(&client, &payload.token));
    let has_context = state::load_hosts(&stored.dir)
        .map(|r| r.context(&target.bare, other).is_some())
        .unwrap_or(false);
    let other = sanitize_line(other);
    if let Err(e) = revoked {
        ctx.ui.warn(&format!(
            "could not revoke the new session of {other} ({}); it ends when it expires, or \
             revoke it with 'difyctl auth devices revoke' signed in as {other}",
            e.message
        ));
    }
    let host = &target.bare;
    let mut hint = format!(
        "approve the sign-in as {}; to add {other} as another context, run '{}'",
        stored.email,
        context::login_command(host, &target.url.scheme, None)
    );
    // The approval rotated out other's earlier session from this machine (the
    // label is the same): a stored context of that account lost its token.
    if has_context {
        hint.push_str(&format!(
            "; the approval also ended the session of the stored context {other}, so refresh \
             it with 'difyctl auth refresh --host {host} --account {other}'"
        ));
    }
    CliError::new(
        ErrorCode::AccessDenied,
        format!(
            "signed in as {other}, but this context is {} on {host}; nothing was stored",
            stored.email
        ),
    )
    .with_hint(hint)
}
