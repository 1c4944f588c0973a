//! `use host` and `use account`: switch the active context among stored
//! sign-ins, locally (difyctl-use(1)), host and account in one step when
//! both are named. `use workspace` talks to the server.

use crate::cli::Selection;
use crate::commands::context::{self, SignedIn};
use crate::credentials;
use crate::ctx::Ctx;
use crate::dify::{Client, account};
use crate::error::{CliError, ErrorCode, Result};
use crate::output::Output;
use crate::output::term::sanitize_line;
use crate::state::{self, ConfigDir, Edit, Workspace};

/// `use host [--domain HOST] [--email EMAIL]`: the active host, and with
/// `--email` that host's current account too, in one step.
pub fn host(ctx: &Ctx, domain: Option<String>, email: Option<String>) -> Result<Output> {
    let dir = ctx.config_dir()?;
    let domain = match domain {
        Some(d) => d,
        // Only for offering the choice: the change below reads the file again.
        None => pick_host(ctx, &state::load_hosts(dir)?)?,
    };
    if let Some(email) = email {
        switch_account(ctx, dir, Some(&domain), &email)?;
        return Ok(Output::success(format!(
            "Active host is now {domain}, with account {email}"
        )));
    }
    // The only read when the host is given: under the lock, as the change is
    // made. Nothing is created when nothing is stored.
    state::change_hosts(dir, |r| {
        known_host(r, &domain)?;
        let changed = r.current_host.as_deref() != Some(domain.as_str());
        r.set_current_host(&domain);
        Ok(Edit { value: (), changed })
    })?;
    Ok(Output::success(format!("Active host is now {domain}")))
}

/// The entry of `host`, a stored host; or why it cannot be switched to.
fn known_host<'r>(r: &'r state::Registry, host: &str) -> Result<&'r state::HostEntry> {
    if let Some(damaged) = r.damage(host, None) {
        return Err(damaged);
    }
    if r.is_empty() {
        return Err(CliError::not_logged_in());
    }
    r.hosts.get(host).ok_or_else(|| unknown_host(host, r))
}

fn unknown_host(host: &str, r: &state::Registry) -> CliError {
    let known: Vec<&str> = r.hosts.keys().collect();
    CliError::usage_invalid(format!(
        "unknown host \"{host}\"; known hosts: {}",
        known.join(", ")
    ))
}

/// The host chosen on the picker, or the usage error without a terminal.
fn pick_host(ctx: &Ctx, registry: &state::Registry) -> Result<String> {
    if registry.is_empty() {
        return Err(CliError::not_logged_in());
    }
    let known: Vec<&str> = registry.hosts.keys().collect();
    if !ctx.ui.interactive() {
        return Err(CliError::usage_missing(format!(
            "--domain is required (no TTY); known hosts: {}",
            known.join(", ")
        )));
    }
    let current = registry.current_host.as_deref();
    let rows: Vec<Vec<String>> = registry
        .hosts
        .iter()
        .map(|(host, entry)| {
            let n = entry.accounts.len();
            vec![
                marked(current == Some(host), host),
                format!("({n} account{})", if n == 1 { "" } else { "s" }),
            ]
        })
        .collect();
    let at = known.iter().position(|h| Some(*h) == current);
    Ok(known[ctx.ui.choose("Select a host", &rows, at)?].to_string())
}

/// `use account [--email EMAIL] [--host HOST]`: the current account of the
/// active host, or with `--host` of that host, which becomes the active one.
pub fn account(ctx: &Ctx, email: Option<String>, host: Option<String>) -> Result<Output> {
    let dir = ctx.config_dir()?;
    let email = match email {
        Some(e) => e,
        // Only for offering the choice: the change below reads the file again.
        None => pick_account(ctx, &state::load_hosts(dir)?, host.as_deref())?,
    };
    let (host, host_changed) = switch_account(ctx, dir, host.as_deref(), &email)?;
    Ok(Output::success(if host_changed {
        format!("Active host is now {host}, with account {email}")
    } else {
        format!("Active account on {host} is now {email}")
    }))
}

/// Make `email` the current account of `host` (default: the active host),
/// and `host` the active host; the account must be stored there with a
/// token. The only read: under the lock, as the change is made; nothing is
/// created when nothing is stored. Returns the host and whether it became
/// the active one.
fn switch_account(
    ctx: &Ctx,
    dir: &ConfigDir,
    host: Option<&str>,
    email: &str,
) -> Result<(String, bool)> {
    state::change_hosts(dir, |r| {
        let (host, entry) = match host {
            Some(h) => (h, known_host(r, h)?),
            None => active_host(r)?,
        };
        if let Some(damaged) = r.damage(host, Some(email)) {
            return Err(damaged);
        }
        if !entry.accounts.contains_key(email) {
            let known: Vec<&str> = entry.accounts.keys().collect();
            return Err(CliError::usage_invalid(format!(
                "unknown account \"{email}\" on {host}; known: {}",
                known.join(", ")
            )));
        }
        let storage = r.storage_at(host, email);
        if storage == state::TokenStorage::File {
            context::warn_if_exposed(&ctx.ui, dir);
        }
        if credentials::get(dir, storage, host, email)?.is_none() {
            return Err(CliError::not_logged_in()
                .with_message(format!("no credential stored for {email} on {host}"))
                .with_hint(format!(
                    "run '{}'",
                    context::login_command(
                        host,
                        entry.scheme(),
                        entry
                            .accounts
                            .get(email)
                            .and_then(|c| c.device_label.as_deref())
                    )
                )));
        }
        let host_changed = r.current_host.as_deref() != Some(host);
        let changed = host_changed || entry.current_account.as_deref() != Some(email);
        let host = host.to_string();
        r.set_current_account(&host, email);
        if host_changed {
            r.set_current_host(&host);
        }
        Ok(Edit {
            value: (host, host_changed),
            changed,
        })
    })
}

/// The current host and its entry, or why there is none.
fn active_host(r: &state::Registry) -> Result<(&str, &state::HostEntry)> {
    r.current_host_entry().ok_or_else(|| {
        let host_damage = r.current_host.as_deref().and_then(|h| r.damage(h, None));
        host_damage.unwrap_or_else(|| {
            CliError::not_logged_in().with_hint("run 'difyctl use host' or 'difyctl auth login'")
        })
    })
}

/// `* name` for the current entry of a picker, `  name` for the others.
pub(crate) fn marked(current: bool, name: &str) -> String {
    format!("{} {name}", if current { "*" } else { " " })
}

/// The account of `host` (default: the active host) chosen on the picker,
/// or the usage error without a terminal.
fn pick_account(ctx: &Ctx, registry: &state::Registry, host: Option<&str>) -> Result<String> {
    let (host, entry) = match host {
        Some(h) => (h, known_host(registry, h)?),
        None => active_host(registry)?,
    };
    let known: Vec<&str> = entry.accounts.keys().collect();
    if !ctx.ui.interactive() {
        return Err(CliError::usage_missing(format!(
            "--email is required (no TTY); known accounts on {host}: {}",
            known.join(", ")
        )));
    }
    let current = entry.current_account.as_deref();
    let rows: Vec<Vec<String>> = entry
        .accounts
        .iter()
        .map(|(email, c)| {
            let who = if c.is_external_sso() {
                "(SSO)".to_string()
            } else if c.account.name.is_empty() {
                String::new()
            } else {
                format!("({})", c.account.name)
            };
            vec![marked(current == Some(email), email), who]
        })
        .collect();
    let at = known.iter().position(|e| Some(*e) == current);
    let title = format!("Select an account on {host}");
    Ok(known[ctx.ui.choose(&title, &rows, at)?].to_string())
}

/// `use workspace [ID]` (difyctl-use(1)): switch the default workspace on
/// the server; only when the server accepts it is the context's `workspace`
/// replaced (never for a `DIFY_TOKEN` session, which has nothing stored).
pub fn workspace(
    ctx: &Ctx,
    id: Option<String>,
    http_retry: Option<u32>,
    select: &Selection,
) -> Result<Output> {
    let signed = SignedIn::resolve(ctx, select)?;
    // The id goes to the server as given (one path segment, encoded): its
    // answer says whether it names a workspace.
    let id = id.map(|i| i.trim().to_string()).filter(|i| !i.is_empty());
    if id.is_none() && !ctx.ui.interactive() {
        return Err(
            CliError::usage_missing("a workspace id is required (no TTY)")
                .with_hint("pass the id: 'difyctl use workspace <id>'"),
        );
    }
    let client = signed.talking_client(ctx, http_retry, false)?;
    let id = match id {
        Some(id) => id,
        None => pick_workspace(ctx, &signed, &client)?,
    };
    let switched =
        account::switch_workspace(&client, &signed.token, &id).map_err(|e| signed.explain(e))?;
    if let Some(stored) = &signed.context.stored {
        let workspace = Workspace {
            id: switched.id.clone(),
            name: switched.name.clone(),
            role: switched.role.clone(),
            ..Default::default()
        };
        state::update_hosts(&stored.dir, |r| {
            // The context may have been removed meanwhile: nothing to record then.
            if let Some(c) = r.context_mut(&signed.context.host, &stored.email) {
                c.workspace = Some(workspace);
            }
            Ok(())
        })?;
    }
    Ok(Output::success(format!(
        "Switched to {} ({})",
        sanitize_line(&switched.name),
        sanitize_line(&switched.id)
    )))
}

/// The workspace picked on the terminal from the account's workspaces.
fn pick_workspace(ctx: &Ctx, signed: &SignedIn, client: &Client) -> Result<String> {
    let list = account::list_workspaces(client, &signed.token).map_err(|e| signed.explain(e))?;
    if list.is_empty() {
        return Err(CliError::new(
            ErrorCode::AccessDenied,
            "no workspaces available to switch to",
        ));
    }
    let current = signed
        .context
        .stored
        .as_ref()
        .and_then(|s| s.entry.workspace.as_ref())
        .map(|w| w.id.as_str());
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|w| {
            let role = if w.role.is_empty() {
                String::new()
            } else {
                format!("({})", w.role)
            };
            vec![marked(current == Some(w.id.as_str()), &w.name), role]
        })
        .collect();
    let at = list.iter().position(|w| current == Some(w.id.as_str()));
    let chosen = ctx.ui.choose("Select a workspace", &rows, at)?;
    Ok(list[chosen].id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testutil::TempDir;

    // As difyctl writes it, so an update changes only the line it must.
    const HOSTS: &str = "token_storage: file\ncurrent_host: a.test\nhosts:\n  a.test:\n    \
        current_account: a@x.test\n    accounts:\n      a@x.test:\n        account:\n          \
        email: a@x.test\n          name: ''\n  b.test:\n    current_account: b@x.test\n    \
        accounts:\n      b@x.test:\n        account:\n          email: b@x.test\n          \
        name: ''\n";

    /// `use host --domain` in a config dir of the test's own: the file is
    /// changed under its lock, and an unknown host changes nothing.
    #[test]
    fn switching_the_active_host() {
        let tmp = TempDir::new();
        let config = tmp.path().join("config");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("hosts.yml"), HOSTS).unwrap();
        let ctx = Ctx::for_tests(tmp.path(), &[], 0);

        let e = host(&ctx, Some("c.test".into()), None).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                ErrorCode::UsageInvalidFlag,
                "unknown host \"c.test\"; known hosts: a.test, b.test"
            )
        );
        assert_eq!(
            std::fs::read_to_string(config.join("hosts.yml")).unwrap(),
            HOSTS
        );
        assert_eq!(
            host(&ctx, Some("b.test".into()), None).unwrap(),
            Output::success("Active host is now b.test")
        );
        let text = std::fs::read_to_string(config.join("hosts.yml")).unwrap();
        assert_eq!(
            text,
            HOSTS.replace("current_host: a.test", "current_host: b.test")
        );
        // Without a terminal the flag is required.
        let e = host(&ctx, None, None).unwrap_err();
        assert_eq!(e.code, ErrorCode::UsageMissingArg);
    }
}
