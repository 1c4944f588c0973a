//! Saving a sign-in: the token, then the context, for `auth login` and
//! `auth refresh`.
//!
//! Under `hosts.yml`'s lock, before anything is written:
//! * the scheme of a host is pinned: a sign-in over another scheme than the
//!   contexts already stored for that host is refused (exit 2), since it
//!   would switch them all (a token issued over TLS would go out in clear
//!   text, or the other way round);
//! * two contexts whose keychain items would have the same name
//!   (`tokens.<host>.<email>`: `dify` + `corp.me@x.io` and `dify.corp` +
//!   `me@x.io`) never both exist: the second sign-in is refused, naming both.
//!
//! The token is written first, then `hosts.yml`; when `hosts.yml` cannot be
//! written (a full disk) the token store is put back as it was, so no token
//! is left that no context names. Tokens in `tokens.yml` that no context
//! names (left by a sign-in killed half way) are dropped with the write.

use super::Label;
use crate::commands::context;
use crate::credentials::{self, Choice, ContextKey, Keychain, StorePolicy};
use crate::ctx::Ctx;
use crate::dify::device::TokenPayload;
use crate::error::{CliError, ErrorCode, Result};
use crate::host::Target;
use crate::output::term::sanitize_line;
use crate::output::{Output, interrupt};
use crate::state::{
    self, Account, ConfigDir, Context, ExternalSubject, Registry, TokenStorage, Workspace,
};

/// Store the token, then the context (with the device label the user
/// chose), and say what was stored.
/// With `activate` the context becomes the active one (login); without, the
/// active context stays what it was (refresh). `store` picks the token store
/// (login); `None` keeps the context's own (refresh). Only this context's
/// token is written: the others stay where they are, unless the login forced
/// a store (`--token-storage`, `DIFY_TOKEN_STORAGE`), which moves them along
/// and makes it the registry's.
pub fn persist(
    ctx: &Ctx,
    target: &Target,
    payload: &TokenPayload,
    label: &Label,
    activate: bool,
    store: Option<StorePolicy>,
) -> Result<Output> {
    let Some(email) = payload.email().map(str::to_string) else {
        return Err(CliError::new(
            ErrorCode::NotLoggedIn,
            "account has no email; cannot store credential",
        )
        .with_hint("this Dify instance returned no email for the signed-in subject"));
    };
    let context = Context {
        // When the token expires, for `auth status` (the schema has the field;
        // the official tool never fills it).
        token_expires_at: payload
            .expires_at
            .clone()
            .filter(|at| !at.trim().is_empty()),
        device_label: label.to_store(),
        ..context_from(payload)
    };
    let dir = ctx.config_dir()?;
    // Probed before hosts.yml is locked: a probe may use its whole time bound.
    let choice = store.map(|s| s.choose(&Keychain::new()));
    let key = (target.bare.clone(), email.clone());
    let stored = {
        // From here on Ctrl-C waits until the token and hosts.yml are written
        // (and tokens moved by a change of store deleted from the old one).
        let _critical = interrupt::Critical::enter();
        // The token is stored once hosts.yml has been read, parsed and
        // checked under its lock, so a corrupt or locked hosts.yml, or a
        // refused sign-in, fails before any token store is touched.
        let mut stored = None;
        let written = state::update_hosts(dir, |r| {
            check_scheme(r, target)?;
            check_item_names(r, &key)?;
            let before = r.context(&key.0, &key.1).map(|c| r.storage_of(c));
            let to = match choice {
                Some(choice) => choice.storage(),
                None => before.unwrap_or(r.token_storage),
            };
            let migrate = matches!(store, Some(StorePolicy::Forced(_)));
            // Damaged entries too: their tokens are theirs, kept for a fix.
            let others: Vec<_> = r
                .context_keys()
                .map(|(h, e)| ((h.to_string(), e.to_string()), r.storage_at(h, e)))
                .filter(|(other, _)| *other != key)
                .collect();
            let done = stored.insert(credentials::store_login(
                dir,
                to,
                &key,
                &payload.token,
                before,
                &others,
                migrate,
            )?);
            let mut context = context.clone();
            if migrate || others.is_empty() {
                // Every token readable is in `to` now: the registry's store.
                r.token_storage = to;
                set_own_stores(r, &done.unreadable);
            } else if to != r.token_storage {
                context.token_storage = Some(to);
            }
            if activate {
                r.upsert(&target.bare, &target.url.scheme, &email, context)?;
            } else {
                r.replace(&target.bare, &target.url.scheme, &email, context)?;
            }
            Ok(())
        });
        match (written, stored) {
            (Ok(()), Some(stored)) => {
                stored.finish(dir);
                stored
            }
            (Err(e), Some(stored)) => {
                // hosts.yml was not written: no token without its context.
                stored.undo(dir);
                return Err(e);
            }
            (Err(e), None) => return Err(e),
            (Ok(()), None) => unreachable!("update_hosts ran the change"),
        }
    };
    report_store(ctx, dir, choice, &stored);

    // Names come from the server: a newline in one must not forge a line.
    let host = &target.bare;
    let email = sanitize_line(&email);
    let first = match &context.external_subject {
        Some(s) if s.issuer.is_empty() => format!("Logged in to {host} as {email} (external SSO)"),
        Some(s) => format!(
            "Logged in to {host} as {email} (external SSO, issuer: {})",
            sanitize_line(&s.issuer)
        ),
        None => format!(
            "Logged in to {host} as {}",
            context::describe(&email, &sanitize_line(&context.account.name))
        ),
    };
    let rest = context
        .workspace
        .iter()
        .map(|w| format!("  Workspace: {}", sanitize_line(&w.name)))
        .collect();
    Ok(Output::Success(first, rest))
}

/// After a change of the registry's store: every context's token is in it
/// but those of `left` (which could not be moved), whose own store is noted.
fn set_own_stores(r: &mut Registry, left: &[(ContextKey, TokenStorage)]) {
    let keys: Vec<(String, String)> = r
        .contexts()
        .map(|(h, e, _)| (h.to_string(), e.to_string()))
        .collect();
    let registry_store = r.token_storage;
    for (host, email) in keys {
        let own = left
            .iter()
            .find(|(k, _)| k.0 == host && k.1 == email)
            .map(|(_, s)| *s)
            .filter(|s| *s != registry_store);
        if let Some(c) = r.context_mut(&host, &email) {
            c.token_storage = own;
        }
    }
}

/// Where the token went (the official tool says nothing), on stderr, and
/// what a change of store did to the other contexts.
fn report_store(ctx: &Ctx, dir: &ConfigDir, choice: Option<Choice>, stored: &credentials::Stored) {
    let file = state::tokens_path(dir.path());
    let file = file.display();
    match choice {
        Some(Choice::Keychain) => ctx.ui.say("Token stored in the system keychain"),
        Some(Choice::File) => ctx.ui.say(&format!("Token stored in {file} (mode 0600)")),
        Some(Choice::FileFallback) => ctx.ui.warn(&format!(
            "No usable keychain; token stored in {file} (mode 0600)"
        )),
        Some(Choice::FileQuietly) | None => {}
    }
    let place = match stored.to {
        TokenStorage::Keychain => "the system keychain".to_string(),
        TokenStorage::File => file.to_string(),
    };
    match stored.moved.len() {
        0 => {}
        1 => ctx
            .ui
            .say(&format!("Moved the token of 1 other context to {place}")),
        n => ctx.ui.say(&format!(
            "Moved the tokens of {n} other contexts to {place}"
        )),
    }
    let registry = state::load_hosts(dir).unwrap_or_default();
    for ((host, email), _) in &stored.unreadable {
        let (scheme, label) = registry.hosts.get(host).map_or(("https", None), |entry| {
            let label = entry
                .accounts
                .get(email)
                .and_then(|c| c.device_label.as_deref());
            (entry.scheme(), label)
        });
        ctx.ui.warn(&format!(
            "could not move the token of {} on {host}: OS keychain is unreachable; it stays \
             there (or sign in to it again with '{}')",
            sanitize_line(email),
            context::login_command(host, scheme, label)
        ));
    }
}

fn context_from(p: &TokenPayload) -> Context {
    let account = p.account.as_ref().filter(|a| !a.id.is_empty());
    let external = match (account, p.subject_email.as_deref()) {
        (None, Some(email)) if !email.is_empty() => Some(ExternalSubject {
            email: email.to_string(),
            issuer: p.subject_issuer.clone().unwrap_or_default(),
            ..Default::default()
        }),
        _ => None,
    };
    let account = match (account, &external) {
        (Some(a), _) => Account {
            id: Some(a.id.clone()),
            email: a.email.clone(),
            name: a.name.clone(),
            ..Default::default()
        },
        (None, Some(_)) => Account {
            id: Some(String::new()),
            ..Default::default()
        },
        (None, None) => {
            let a = p.account.clone().unwrap_or_default();
            Account {
                id: Some(a.id),
                email: p.email().unwrap_or_default().to_string(),
                name: a.name,
                ..Default::default()
            }
        }
    };
    Context {
        account,
        workspace: p.default_workspace().map(|w| Workspace {
            id: w.id.clone(),
            name: w.name.clone(),
            role: w.role.clone(),
            ..Default::default()
        }),
        token_id: p.token_id.clone(),
        external_subject: external,
        ..Default::default()
    }
}

/// A sign-in over another scheme than the contexts stored for that host
/// would switch them all: refused (exit 2), unless none is stored there.
pub fn check_scheme(r: &Registry, target: &Target) -> Result<()> {
    let Some(entry) = r.hosts.get(&target.bare) else {
        return Ok(());
    };
    let (old, new) = (entry.scheme(), target.url.scheme.as_str());
    let n = entry.accounts.len();
    if n == 0 || old == new {
        return Ok(());
    }
    let host = &target.bare;
    let them = if n == 1 {
        "its context"
    } else {
        "its contexts"
    };
    Err(CliError::usage_invalid(format!(
        "{host} is stored with {old}:// ({n} {}); signing in over {new}:// would switch {them} \
         to {new}://",
        if n == 1 { "context" } else { "contexts" },
    ))
    .with_hint(format!(
        "sign in with --host {old}://{host}, or first log out of every context on {host} \
         ('difyctl auth logout --host {host} --account EMAIL', see 'difyctl auth list')"
    )))
}

/// Refuses a context whose keychain item would be another context's: the
/// item of (host, email) is `tokens.<host>.<email>`, so `dify` +
/// `corp.me@x.io` and `dify.corp` + `me@x.io` share one.
fn check_item_names(r: &Registry, key: &ContextKey) -> Result<()> {
    match credentials::collision(r.contexts().map(|(h, e, _)| (h, e)), key) {
        None => Ok(()),
        Some((host, email)) => Err(credentials::collision_error(key, (host, email))),
    }
}
