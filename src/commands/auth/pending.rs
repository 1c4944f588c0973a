//! `auth login --no-wait` and `auth login --resume`: a device-flow sign-in
//! split in two for agents and jobs that cannot wait for a person.
//!
//! `--no-wait` requests the code, shows it as a sign-in does and saves it in
//! `login-pending.yml` (one entry per host; difyctl-files(5)) without
//! polling. `--resume` polls a saved sign-in once, never sooner than its
//! interval after the previous poll, and ends it as a blocking sign-in would
//! (`--wait`: until it is decided). While it waits for approval the exit
//! status is 3 ([`ErrorCode::AuthorizationPending`]), so
//! `until difyctl auth login --resume; do sleep 5; done` works.
//!
//! The device code is as good as the token it becomes: it is never printed,
//! and the file is written as `tokens.yml` is. Entries change only under the
//! file's lock, inside [`interrupt::Critical`], so Ctrl-C leaves the files
//! as they were or as the finished step left them.

use std::time::Duration;

use serde_json::{Value, json};

use super::sign_in::device_flow::{self, MAX_INTERVAL, slowed_down};
use super::sign_in::{self, Label, persist};
use crate::cli::LoginArgs;
use crate::commands::context;
use crate::credentials::{Keychain, StorePolicy};
use crate::ctx::Ctx;
use crate::dify::device::{self, PollOutcome, TokenPayload};
use crate::error::{CliError, ErrorCode, Result};
use crate::host::{self, Target};
use crate::output::{Output, interrupt};
use crate::state::{self, PendingFile, PendingSignIn, TokenStorage};
use crate::time::iso_utc_millis;

/// `auth login --no-wait`: request and show a code, save the sign-in as
/// pending, exit without polling.
pub fn save(
    ctx: &Ctx,
    args: &LoginArgs,
    target: &Target,
    store: StorePolicy,
    label: &Label,
) -> Result<Output> {
    let dir = ctx.config_dir()?;
    // A damaged file fails before a code is requested, not after.
    state::load_pending(dir)?;
    let client = context::client_for(ctx, &target.url, None)?;
    let code = &device_flow::start(ctx, &client, args, &label.text)?;
    let now = ctx.clock.unix_millis();
    let lifetime = i64::try_from(code.expires_after().as_millis()).unwrap_or(i64::MAX);
    let entry = PendingSignIn {
        scheme: target.url.scheme.clone(),
        insecure: args.insecure,
        label: label.text.clone(),
        label_chosen: label.chosen,
        token_storage: match store {
            StorePolicy::Forced(storage) => Some(storage),
            _ => None,
        },
        device_code: code.device_code.clone(),
        user_code: code.user_code.clone(),
        verification_uri: code.verification_uri.clone(),
        expires_at: now.saturating_add(lifetime),
        interval: code.poll_interval().min(MAX_INTERVAL).as_secs(),
        last_polled_at: None,
    };
    let host = &target.bare;
    let replaced = {
        let _critical = interrupt::Critical::enter();
        state::update_pending(dir, |file| {
            file.remove_expired(now);
            let replaced = file.get(host).is_some();
            file.insert(host, entry.clone());
            Ok(replaced)
        })?
    };
    if replaced {
        ctx.ui.warn(&format!(
            "this replaces the sign-in to {host} that was pending"
        ));
    }
    ctx.ui.say(&format!(
        "Sign-in pending; once the code is approved, run 'difyctl auth login --resume --host {host}'"
    ));
    Ok(if args.json {
        Output::json(&pending_json(host, &entry, now), false)
    } else {
        Output::Nothing
    })
}

/// `auth login --resume [--wait]`: poll the pending sign-in once (or until
/// it is decided) and end it as a blocking sign-in would.
pub fn resume(ctx: &Ctx, args: &LoginArgs, wait: bool) -> Result<Output> {
    let dir = ctx.config_dir()?;
    let wanted = match args.host.as_deref().map(str::trim) {
        Some(h) if !h.is_empty() => Some(host::parse(h)?.bare),
        _ => None,
    };
    // Read first: with nothing pending, nothing is locked or created.
    if state::load_pending(dir)?.iter().len() == 0 {
        return Err(nothing_pending(wanted.as_deref()));
    }
    let now = ctx.clock.unix_millis();
    let (host, entry) =
        match state::update_pending(dir, |file| Ok(pick(file, wanted.as_deref(), now)))? {
            Picked::Live(host, entry) => (host, *entry),
            Picked::Expired => return Err(device_flow::code_expired()),
            Picked::NoneFor(host) => return Err(nothing_pending(host.as_deref())),
            Picked::Several(hosts) => return Err(several_pending(&hosts)),
        };
    if let Some(asked) = args.token_storage
        && entry.token_storage.map(TokenStorage::as_str) != Some(asked)
    {
        return Err(CliError::usage_invalid(format!(
            "--token-storage {asked} does not match the pending sign-in to {host}"
        ))
        .with_hint("the store is chosen when the sign-in starts (--no-wait); resume without --token-storage"));
    }
    if let Some(asked) = args.label.as_deref()
        && asked != entry.label
    {
        return Err(CliError::usage_invalid(format!(
            "--label does not match the pending sign-in to {host} ({})",
            entry.label
        ))
        .with_hint(
            "the label is chosen when the sign-in starts (--no-wait); resume without --label",
        ));
    }
    let target = host::for_sign_in(&format!("{}://{host}", entry.scheme), entry.insecure)?;
    let store = match entry.token_storage {
        Some(storage) => StorePolicy::Forced(storage),
        None => StorePolicy::from_env(None, &ctx.env)?,
    };
    persist::check_scheme(&context::registry(ctx)?, &target)?;
    store.check(&Keychain::new())?;

    let interval_ms = i64::try_from(entry.interval.saturating_mul(1000)).unwrap_or(i64::MAX);
    let next_poll = entry
        .last_polled_at
        .map_or(i64::MIN, |at| at.saturating_add(interval_ms));
    let client = context::client_for(ctx, &target.url, None)?;
    let polled = if wait {
        device_flow::show_code(ctx, &entry.user_code, &entry.verification_uri);
        interrupt::sleep(millis(next_poll.saturating_sub(now)))?;
        let left = millis(entry.expires_at.saturating_sub(ctx.clock.unix_millis()));
        let interval = Duration::from_secs(entry.interval);
        device_flow::wait_with_spinner(ctx, &client, &entry.device_code, interval, left)
            .map(|payload| PollOutcome::Token(Box::new(payload)))
    } else if now < next_poll {
        // Too soon: the server would only say slow_down.
        return Ok(pending_output(args, &host, &entry, now));
    } else {
        device::poll_once(&client, &entry.device_code)
    };

    let payload = match polled {
        Ok(PollOutcome::Token(payload)) => *payload,
        Ok(outcome) => {
            // After the answer, rounded up: the server saw the poll
            // earlier, so an interval counted from here is one on its clock.
            let polled_at = ctx.clock.unix_millis().saturating_add(1);
            let slow = outcome == PollOutcome::SlowDown;
            let mut entry = entry;
            entry.last_polled_at = Some(polled_at);
            if slow {
                entry.interval = slowed_down(Duration::from_secs(entry.interval)).as_secs();
            }
            let _critical = interrupt::Critical::enter();
            update_entry(ctx, &host, &entry, Some(&entry))?;
            return Ok(pending_output(args, &host, &entry, polled_at));
        }
        Err(e) if matches!(e.code, ErrorCode::ExpiredToken | ErrorCode::AccessDenied) => {
            let _critical = interrupt::Critical::enter();
            update_entry(ctx, &host, &entry, None)?;
            return Err(e);
        }
        // A network or server error: the sign-in stays pending.
        Err(e) => return Err(e),
    };

    // The token is handed out once: from here on the entry is spent, and
    // the context and the entry's removal are written together.
    let _critical = interrupt::Critical::enter();
    let label = Label {
        text: entry.label.clone(),
        chosen: entry.label_chosen,
    };
    let stored = persist::persist(ctx, &target, &payload, &label, true, Some(store))
        .inspect_err(|_| sign_in::discard(ctx, &target, args, &payload));
    update_entry(ctx, &host, &entry, None)?;
    let stored = stored?;
    Ok(if args.json {
        Output::json(&approved_json(&host, &payload), false)
    } else {
        stored
    })
}

/// The entry `--resume` works on, chosen under the file's lock; expired
/// entries are removed on the way.
enum Picked {
    Live(String, Box<PendingSignIn>),
    /// The entry asked for had expired (and is removed).
    Expired,
    /// Nothing pending (for the host asked for).
    NoneFor(Option<String>),
    /// Several pending and no `--host`: their hosts.
    Several(Vec<String>),
}

fn pick(file: &mut PendingFile, wanted: Option<&str>, now: i64) -> Picked {
    let expired = file.remove_expired(now);
    let live: Vec<String> = file.iter().map(|(h, _)| h.to_owned()).collect();
    let chosen = match wanted {
        Some(host) if expired.iter().any(|h| h == host) => return Picked::Expired,
        Some(host) => host.to_owned(),
        None => match live.as_slice() {
            [only] => only.clone(),
            // Everything there was had expired (a race may have emptied it).
            [] if !expired.is_empty() => return Picked::Expired,
            [] => return Picked::NoneFor(None),
            _ => return Picked::Several(live),
        },
    };
    match file.get(&chosen) {
        Some(entry) => Picked::Live(chosen, Box::new(entry.clone())),
        None => Picked::NoneFor(Some(chosen)),
    }
}

/// Replaces (`Some`) or removes (`None`) the entry of `host`, if it is
/// still the sign-in `was` (another `--no-wait` may have started a new one).
fn update_entry(
    ctx: &Ctx,
    host: &str,
    was: &PendingSignIn,
    now: Option<&PendingSignIn>,
) -> Result<()> {
    state::update_pending(ctx.config_dir()?, |file| {
        if file
            .get(host)
            .is_some_and(|e| e.device_code == was.device_code)
        {
            match now {
                Some(entry) => file.insert(host, entry.clone()),
                None => {
                    file.remove(host);
                }
            }
        }
        Ok(())
    })
}

fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn nothing_pending(host: Option<&str>) -> CliError {
    let (what, url) = match host {
        Some(h) => (format!("no sign-in to {h} is pending"), h),
        None => ("no sign-in is pending".to_owned(), "URL"),
    };
    CliError::usage_invalid(what).with_hint(format!(
        "start one with 'difyctl auth login --host {url} --no-wait'"
    ))
}

fn several_pending(hosts: &[String]) -> CliError {
    CliError::usage_missing(format!(
        "sign-ins to {} hosts are pending: {}",
        hosts.len(),
        hosts.join(", ")
    ))
    .with_hint(format!(
        "choose one with --host, e.g. 'difyctl auth login --resume --host {}'",
        hosts.first().map_or("HOST", String::as_str)
    ))
}

/// `pending` (or the JSON object), and the exit status that says so.
fn pending_output(args: &LoginArgs, host: &str, entry: &PendingSignIn, now: i64) -> Output {
    let data = if args.json {
        Output::json(&pending_json(host, entry, now), false)
    } else {
        Output::Text("pending\n".into())
    };
    Output::Incomplete(Box::new(data), ErrorCode::AuthorizationPending)
}

/// What an agent relays to the person who approves the sign-in.
fn pending_json(host: &str, entry: &PendingSignIn, now: i64) -> Value {
    let left_ms = entry.expires_at.saturating_sub(now).max(0);
    json!({
        "status": "pending",
        "host": host,
        "verification_uri": entry.verification_uri,
        "user_code": entry.user_code,
        "expires_in": left_ms.saturating_add(999) / 1000,
        "expires_at": iso_utc_millis(entry.expires_at),
        "interval": entry.interval,
    })
}

/// The context a finished sign-in stored (`auth login --json`).
pub fn approved_json(host: &str, payload: &TokenPayload) -> Value {
    let workspace = payload
        .default_workspace()
        .map(|w| json!({"id": w.id, "name": w.name, "role": w.role}));
    json!({
        "status": "approved",
        "host": host,
        "email": payload.email(),
        "name": payload.account.as_ref().map(|a| a.name.as_str()),
        "workspace": workspace,
    })
}
