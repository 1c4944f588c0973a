//! `auth login`: sign in to a host (the device flow, or a headless method:
//! see [`sign_in`]) and store the context, which becomes the active one.

use crate::cli::{Finish, LoginArgs};
use crate::commands::auth::pending;
use crate::commands::auth::sign_in::{self, persist};
use crate::commands::context;
use crate::credentials::{Keychain, StorePolicy};
use crate::ctx::Ctx;
use crate::error::{CliError, Result};
use crate::host::{self, Target};
use crate::output::Output;
use crate::output::term::input_closed;

const DEFAULT_HOST: &str = "https://cloud.dify.ai";

pub fn run(ctx: &Ctx, args: &LoginArgs) -> Result<Output> {
    sign_in::check_inputs(ctx, args)?;
    if let Finish::Resume { wait } = args.finish {
        return pending::resume(ctx, args, wait);
    }
    let label = sign_in::label(ctx, args, None)?;
    let store = StorePolicy::from_env(args.token_storage, &ctx.env)?;
    let target = resolve_host(ctx, args)?;
    // Refused now rather than after the user approved the sign-in (and
    // checked again when saving, under the lock).
    persist::check_scheme(&context::registry(ctx)?, &target)?;
    store.check(&Keychain::new())?;
    if args.finish == Finish::Save {
        return pending::save(ctx, args, &target, store, &label);
    }
    let payload = sign_in::sign_in(ctx, &target, args, &label)?;
    let stored = persist::persist(ctx, &target, &payload, &label, true, Some(store))
        .inspect_err(|_| sign_in::discard(ctx, &target, args, &payload))?;
    Ok(if args.json {
        Output::json(&pending::approved_json(&target.bare, &payload), false)
    } else {
        stored
    })
}

/// The `--host` flag, or a prompt on a terminal.
fn resolve_host(ctx: &Ctx, args: &LoginArgs) -> Result<Target> {
    let given = args.host.as_deref().map(str::trim).unwrap_or("");
    if !given.is_empty() {
        return host::for_sign_in(given, args.insecure);
    }
    if !ctx.ui.interactive() {
        return Err(
            CliError::usage_missing("--host is required (no TTY)").with_hint(
                "pass the host explicitly, e.g. 'difyctl auth login --host cloud.dify.ai'",
            ),
        );
    }
    let example = if args.insecure {
        "https://cloud.dify.ai or http://localhost"
    } else {
        "https://your-dify.com"
    };
    let question = format!("Enter Dify host URL (e.g. {example}) [default: {DEFAULT_HOST}]: ");
    loop {
        let answer = ctx.ui.ask(&question)?.ok_or_else(input_closed)?;
        let answer = match answer.to_ascii_lowercase().as_str() {
            "" | "y" | "yes" => DEFAULT_HOST.to_string(),
            _ => answer,
        };
        match host::for_sign_in(&answer, args.insecure) {
            Ok(target) => return Ok(target),
            Err(e) => {
                let hint = e.hint.map(|h| format!(" — {h}")).unwrap_or_default();
                ctx.ui.say(&format!(
                    "  {} {}{hint}",
                    ctx.ui.stderr_style().red("✗"),
                    e.message
                ));
            }
        }
    }
}
