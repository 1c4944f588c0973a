//! Signing in, for `auth login` and `auth refresh` alike: checking the
//! inputs, getting a token with one of the methods, saving it
//! ([`persist`]), and ending the server session of a sign-in that could not
//! be saved.
//!
//! Every method but `--with-token` ends the same way: a device code with the
//! sign-in's device label ([`label`]) is approved and its token polled, so the
//! result is an ordinary, revocable device session. `--password` and `--email-code`
//! approve it with a console session they open and close again;
//! `--console-cookie` borrows the user's browser session (and leaves it open).
//! No password, code or console cookie is ever stored, put in argv, or read
//! from the environment.
//!
//! Nothing is written until the server hands out the token; a denied,
//! expired, failed or interrupted sign-in leaves every file as it was.

pub mod device_flow;
mod headless;
pub mod persist;

use crate::cli::{Finish, LoginArgs, LoginMethod};
use crate::commands::context;
use crate::ctx::Ctx;
use crate::dify::account;
use crate::dify::device::TokenPayload;
use crate::dify::label::{self as labels, LABEL_ENV};
use crate::error::{CliError, Result};
use crate::host::Target;

/// After a sign-in that could not be saved (no email, a refused or failed
/// save): the session it minted is ended on the server rather than left
/// live with nobody holding its token. A pasted token (`--with-token`) is
/// the user's and is left alone.
pub fn discard(ctx: &Ctx, target: &Target, args: &LoginArgs, payload: &TokenPayload) {
    if args.method == LoginMethod::WithToken {
        return;
    }
    let ended = context::client_for(ctx, &target.url, None)
        .and_then(|client| account::revoke_self(&client, &payload.token));
    if let Err(e) = ended {
        ctx.ui.warn(&format!(
            "nothing was stored, and the new session could not be ended on the server ({}); \
             it expires on its own",
            e.message
        ));
    }
}

/// The device label of a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub text: String,
    /// Chosen by the user (`--label`, `DIFY_DEVICE_LABEL`, or stored with the
    /// context by an earlier sign-in), rather than the default: kept in the
    /// context so that `auth refresh` signs in with it again.
    pub chosen: bool,
}

impl Label {
    /// What the context keeps: a chosen label, never the default (which
    /// follows the machine's name).
    pub fn to_store(&self) -> Option<String> {
        self.chosen.then(|| self.text.clone())
    }
}

/// `--label`, else `DIFY_DEVICE_LABEL`, else the label `stored` with the
/// context (refresh), else `difyctl on <node name>`.
pub fn label(ctx: &Ctx, args: &LoginArgs, stored: Option<&str>) -> Result<Label> {
    let chosen = |text: &str, source: &str| {
        labels::check(text, source).map(|text| Label { text, chosen: true })
    };
    if let Some(text) = &args.label {
        return chosen(text, "--label");
    }
    if let Some(text) = ctx.env.text(LABEL_ENV)?.filter(|t| !t.is_empty()) {
        return chosen(text, LABEL_ENV);
    }
    if let Some(text) = stored.filter(|t| !t.trim().is_empty()) {
        return chosen(text, "the context's device_label");
    }
    Ok(Label {
        text: default_label(ctx)?,
        chosen: false,
    })
}

/// `difyctl on <node name>`.
pub fn default_label(ctx: &Ctx) -> Result<String> {
    Ok(labels::default_label(&labels::node_name(&ctx.env)?))
}

/// Signs in to `target` with the method `args` name (the device flow by
/// default), its session labelled `label`, and returns the server's token
/// payload; nothing is stored. `auth login` and `auth refresh` both come
/// through here.
pub fn sign_in(
    ctx: &Ctx,
    target: &Target,
    args: &LoginArgs,
    label: &Label,
) -> Result<TokenPayload> {
    let client = context::client_for(ctx, &target.url, None)?;
    let label = &label.text;
    let payload = match args.method {
        LoginMethod::DeviceFlow => device_flow::run(ctx, &client, args, label)?,
        LoginMethod::WithToken => headless::with_token(ctx, &client)?,
        LoginMethod::Password => headless::password(ctx, &client, args, label)?,
        LoginMethod::EmailCode => headless::email_code(ctx, &client, args, label)?,
        LoginMethod::ConsoleCookie => headless::console_cookie(ctx, &client, label)?,
    };
    Ok(payload)
}

/// Flag combinations and, without a terminal, the flags that replace prompts
/// (there is never a prompt without a terminal). Checked before anything
/// is read or sent.
pub fn check_inputs(ctx: &Ctx, args: &LoginArgs) -> Result<()> {
    let method = args.method;
    let split = match args.finish {
        Finish::Wait => None,
        Finish::Save => Some("--no-wait"),
        Finish::Resume { .. } => Some("--resume"),
    };
    if let (Some(split), Some(flag)) = (split, method.flag()) {
        return Err(CliError::usage_invalid(format!(
            "{flag} cannot be combined with {split}"
        ))
        .with_hint("--no-wait and --resume split the device flow in two; the other methods do not wait for a person"));
    }
    if args.password_stdin && method != LoginMethod::Password {
        return Err(CliError::usage_invalid(
            "--password-stdin only applies to --password",
        ));
    }
    if args.email.is_some() && !matches!(method, LoginMethod::Password | LoginMethod::EmailCode) {
        return Err(CliError::usage_invalid(
            "--email only applies to --password and --email-code",
        ));
    }
    if args.label.is_some() && method == LoginMethod::WithToken {
        return Err(
            CliError::usage_invalid("--label does not apply to --with-token")
                .with_hint("a pasted token keeps the label of the sign-in that minted it"),
        );
    }
    if ctx.ui.interactive() {
        return Ok(());
    }
    let no_email = args.email.as_deref().is_none_or(|e| e.trim().is_empty());
    match method {
        LoginMethod::Password if no_email => Err(CliError::usage_missing(
            "--email is required (no TTY)",
        )
        .with_hint("pass --email and pipe the password on stdin with --password-stdin")),
        LoginMethod::Password if !args.password_stdin => Err(CliError::usage_missing(
            "--password-stdin is required (no TTY)",
        )
        .with_hint(
            "pipe the password on stdin with --password-stdin; it is never taken from a flag or the environment",
        )),
        LoginMethod::EmailCode if no_email => Err(CliError::usage_missing(
            "--email is required (no TTY)",
        )
        .with_hint("pass --email; the code from the email is then read from stdin")),
        _ => Ok(()),
    }
}
