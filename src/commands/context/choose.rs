//! Choosing the context of this invocation: flags, then variables, then the
//! active context (the order is in the [module docs](super)).

use crate::cli::Selection;
use crate::credentials;
use crate::ctx::Ctx;
use crate::dify::HostUrl;
use crate::env::Env;
use crate::error::{CliError, Result};
use crate::host;
use crate::output::term::sanitize_line;
use crate::secret::Secret;
use crate::state::{self, ConfigDir, Registry};

use super::chosen::{Chosen, Stored, TokenSource};

/// `hosts.yml` of the config directory (empty when missing; nothing created).
pub fn registry(ctx: &Ctx) -> Result<Registry> {
    state::load_hosts(ctx.config_dir()?)
}

/// `not_logged_in` for a registry without an active context: when contexts
/// are stored (say, after logging out of the active one), which ones, and
/// how to pick one.
pub fn nothing_active(r: &Registry) -> CliError {
    match stored_list(r) {
        None => CliError::not_logged_in(),
        Some(list) => CliError::not_logged_in().with_hint(format!(
            "no context is active; {list}: pick one with 'difyctl use host' and 'difyctl use \
             account', or sign in with 'difyctl auth login'"
        )),
    }
}

/// `2 contexts are stored (a@x on h, b@y on g)`, the first few named;
/// `None` when none is.
pub fn stored_list(r: &Registry) -> Option<String> {
    const NAMED: usize = 5;
    let n = r.contexts().count();
    if n == 0 {
        return None;
    }
    let mut names: Vec<String> = r
        .contexts()
        .take(NAMED)
        .map(|(host, email, _)| format!("{} on {host}", sanitize_line(email)))
        .collect();
    if n > NAMED {
        names.push(format!("{} more", n - NAMED));
    }
    let are = if n == 1 {
        "1 context is stored".to_string()
    } else {
        format!("{n} contexts are stored")
    };
    Some(format!("{are} ({})", names.join(", ")))
}

/// The variables that choose a context; empty values count as unset.
#[derive(Debug, Clone, Default)]
pub struct ContextEnv {
    pub token: Option<String>,
    pub host: Option<String>,
    pub account: Option<String>,
    /// [`INSECURE_ENV`] is truthy: `DIFY_TOKEN` may go to an `http://` host.
    pub insecure: bool,
}

/// The opt-in that lets `DIFY_TOKEN` travel to an `http://` host.
pub const INSECURE_ENV: &str = "DIFY_INSECURE";

impl ContextEnv {
    pub fn from_env(env: &Env) -> Result<ContextEnv> {
        let get = |k: &str| -> Result<Option<String>> {
            Ok(env
                .text(k)?
                .filter(|v| !v.trim().is_empty())
                .map(str::to_owned))
        };
        Ok(ContextEnv {
            token: get("DIFY_TOKEN")?,
            host: get("DIFY_HOST")?,
            account: get("DIFY_ACCOUNT")?,
            insecure: env.truthy(INSECURE_ENV),
        })
    }
}

/// The context for this invocation (see the module docs for the order).
pub fn choose(ctx: &Ctx, flags: &Selection) -> Result<Chosen> {
    choose_with(flags, &ContextEnv::from_env(&ctx.env)?, || stored(ctx))
}

/// The config directory and its `hosts.yml`.
pub fn stored(ctx: &Ctx) -> Result<(ConfigDir, Registry)> {
    let dir = ctx.config_dir()?;
    let registry = state::load_hosts(dir)?;
    Ok((dir.clone(), registry))
}

/// [`choose`] with the environment and the stored state passed in. `load` is
/// called at most once, and not at all for `DIFY_TOKEN` with a host.
pub fn choose_with(
    flags: &Selection,
    env: &ContextEnv,
    load: impl FnOnce() -> Result<(ConfigDir, Registry)>,
) -> Result<Chosen> {
    for (flag, value) in [("--host", &flags.host), ("--account", &flags.account)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(CliError::usage_invalid(format!("{flag} must not be empty")));
        }
    }
    if let Some(token) = &env.token {
        return env_session(flags, env, token, load);
    }

    let (dir, registry) = load()?;
    let host_choice = flags
        .host
        .as_deref()
        .map(|h| (h, "--host"))
        .or(env.host.as_deref().map(|h| (h, "DIFY_HOST")));
    let account_choice = flags
        .account
        .as_deref()
        .map(|a| (a.trim(), "--account"))
        .or(env.account.as_deref().map(|a| (a.trim(), "DIFY_ACCOUNT")));
    let explicit = host_choice.is_some() || account_choice.is_some();

    let host: String = match host_choice {
        Some((raw, source)) => {
            let bare = bare_host(raw, source)?;
            if let Some(damaged) = registry.damage(&bare, None) {
                return Err(damaged);
            }
            if registry.is_empty() {
                return Err(CliError::not_logged_in());
            }
            if !registry.hosts.contains_key(&bare) {
                let known: Vec<&str> = registry.hosts.keys().collect();
                return Err(CliError::usage_invalid(format!(
                    "unknown host \"{}\"{}; known hosts: {}",
                    sanitize_line(raw.trim()),
                    from(source),
                    known.join(", ")
                ))
                .with_hint("see 'difyctl auth list' for the stored contexts"));
            }
            bare
        }
        None => match registry.current_host_entry() {
            Some((host, _)) => host.to_string(),
            None => {
                return Err(match registry.active_damage() {
                    Some(damaged) => damaged,
                    None if account_choice.is_some() => CliError::not_logged_in()
                        .with_message("no active host to look the account up on")
                        .with_hint("pass --host too, or run 'difyctl use host'"),
                    None => nothing_active(&registry),
                });
            }
        },
    };
    let entry = registry
        .hosts
        .get(&host)
        .ok_or_else(CliError::not_logged_in)?;
    let known_accounts = || entry.accounts.keys().collect::<Vec<_>>().join(", ");
    // The context asked for (or the current one) may have a damaged entry.
    let wanted = account_choice
        .map(|(e, _)| e)
        .or(entry.current_account.as_deref());
    if let Some(damaged) = wanted.and_then(|e| registry.damage(&host, Some(e))) {
        return Err(damaged);
    }
    let email: String = match account_choice {
        Some((email, source)) => {
            if !entry.accounts.contains_key(email) {
                return Err(CliError::usage_invalid(format!(
                    "unknown account \"{}\"{} on {host}; known: {}",
                    sanitize_line(email),
                    from(source),
                    known_accounts()
                ))
                .with_hint("see 'difyctl auth list' for the stored contexts"));
            }
            email.to_string()
        }
        None => match entry
            .current_account
            .as_deref()
            .filter(|e| entry.accounts.contains_key(e))
        {
            Some(email) => email.to_string(),
            None if explicit => {
                return Err(CliError::not_logged_in()
                    .with_message(format!("no current account on {host}"))
                    .with_hint(format!("pass --account with one of: {}", known_accounts())));
            }
            None => return Err(nothing_active(&registry)),
        },
    };
    Ok(stored_context(dir, &registry, host, email, explicit))
}

/// The stored context of `email` on `host` (both in `registry`) as chosen;
/// `explicit`: named by flags or variables rather than being the active one.
pub fn stored_context(
    dir: ConfigDir,
    registry: &Registry,
    host: String,
    email: String,
    explicit: bool,
) -> Chosen {
    let entry = registry.hosts.get(&host);
    let context = entry
        .and_then(|e| e.accounts.get(&email))
        .cloned()
        .unwrap_or_default();
    let storage = registry.storage_of(&context);
    let key = (host.clone(), email.clone());
    let shares_item_with =
        credentials::collision(registry.contexts().map(|(h, e, _)| (h, e)), &key)
            .map(|(h, e)| (h.to_owned(), e.to_owned()));
    Chosen {
        url: HostUrl::new(entry.map_or("https", |e| e.scheme()), &host),
        host,
        source: TokenSource::of(storage),
        stored: Some(Stored {
            dir,
            storage,
            email,
            entry: context,
            shares_item_with,
        }),
        env_token: None,
        explicit,
    }
}

/// ` (from DIFY_HOST)` for values that came from the environment.
fn from(source: &str) -> String {
    if source.starts_with("--") {
        String::new()
    } else {
        format!(" (from {source})")
    }
}

/// The bare host a `--host`/`DIFY_HOST` value names: a bare host or a URL.
fn bare_host(raw: &str, source: &str) -> Result<String> {
    let target = host::parse(raw)
        .map_err(|e| CliError::usage_invalid(format!("{source}: {}", e.message)))?;
    if target.has_path() {
        return Err(CliError::usage_invalid(format!(
            "{source}: stored contexts are named by host[:port], without a path ({})",
            sanitize_line(&target.url.path_prefix)
        ))
        .with_hint(format!("pass {source} {}", target.bare)));
    }
    Ok(target.bare)
}

/// Step 1: `DIFY_TOKEN`. Nothing stored is used but, without any host given,
/// the active context's host.
fn env_session(
    flags: &Selection,
    env: &ContextEnv,
    token: &str,
    load: impl FnOnce() -> Result<(ConfigDir, Registry)>,
) -> Result<Chosen> {
    if flags.account.is_some() {
        return Err(CliError::usage_invalid(
            "--account cannot be used with DIFY_TOKEN: the token decides the account",
        )
        .with_hint("unset DIFY_TOKEN to use a stored context"));
    }
    let token = token.trim();
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CliError::usage_invalid(
            "DIFY_TOKEN is not a bearer token: it holds spaces or control characters",
        ));
    }
    let given = flags
        .host
        .as_deref()
        .map(|h| (h, "--host"))
        .or(env.host.as_deref().map(|h| (h, "DIFY_HOST")));
    let (host, url) = match given {
        Some((raw, source)) => {
            let target = host::parse(raw)
                .map_err(|e| CliError::usage_invalid(format!("{source}: {}", e.message)))?;
            if target.url.scheme == "http" && !env.insecure {
                return Err(CliError::usage_invalid(format!(
                    "DIFY_TOKEN would travel in clear text to http://{} ({source})",
                    target.bare
                ))
                .with_hint(format!(
                    "use an https:// host, or set {INSECURE_ENV}=1 to allow http:// \
                     (local-dev only)"
                )));
            }
            (target.bare, target.url)
        }
        None => {
            let (_, registry) = load()?;
            match registry.current_host_entry() {
                Some((host, entry)) => (host.to_string(), HostUrl::new(entry.scheme(), host)),
                None => {
                    return Err(
                        CliError::usage_missing("DIFY_TOKEN is set but no host is known")
                            .with_hint(
                                "set DIFY_HOST to the token's host, e.g. DIFY_HOST=cloud.dify.ai",
                            ),
                    );
                }
            }
        }
    };
    Ok(Chosen {
        host,
        url,
        source: TokenSource::Env,
        stored: None,
        env_token: Some(Secret::new(token)),
        explicit: true,
    })
}
