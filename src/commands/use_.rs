//! `use host` and `use account`: switch the active context among stored
//! sign-ins, locally (PROTOCOL.md §4.5, §4.6). `use workspace` talks to the
//! server.

use crate::commands::Ctx;
use crate::credentials;
use crate::output::{CliError, Output, Result};
use crate::state;

pub fn host(ctx: &Ctx, domain: Option<String>) -> Result<Output> {
    let dir = state::config_dir()?;
    let registry = state::load_hosts(&dir)?;
    if registry.is_empty() {
        return Err(CliError::not_logged_in());
    }
    let known: Vec<&str> = registry.hosts.keys().collect();
    let domain = match domain {
        Some(d) => d,
        None if ctx.ui.interactive() => {
            let items: Vec<String> = registry
                .hosts
                .iter()
                .map(|(host, entry)| {
                    let mark = if registry.current_host.as_deref() == Some(host) {
                        "*"
                    } else {
                        " "
                    };
                    let n = entry.accounts.len();
                    format!(
                        "{mark} {host}  ({n} account{})",
                        if n == 1 { "" } else { "s" }
                    )
                })
                .collect();
            known[ctx.ui.pick("Select a host", &items)?].to_string()
        }
        None => {
            return Err(CliError::usage_missing(format!(
                "--domain is required (no TTY); known hosts: {}",
                known.join(", ")
            )));
        }
    };
    let unknown = |r: &state::Registry| {
        let known: Vec<&str> = r.hosts.keys().collect();
        CliError::usage_invalid(format!(
            "unknown host \"{domain}\"; known hosts: {}",
            known.join(", ")
        ))
    };
    // Checked again under the lock: another process may have changed the file.
    state::update_hosts(&dir, |r| {
        if r.set_current_host(&domain) {
            Ok(())
        } else {
            Err(unknown(r))
        }
    })?;
    Ok(Output::success(format!("Active host is now {domain}")))
}

pub fn account(ctx: &Ctx, email: Option<String>) -> Result<Output> {
    let dir = state::config_dir()?;
    let registry = state::load_hosts(&dir)?;
    let Some((host, entry)) = registry.current_host_entry() else {
        return Err(
            CliError::not_logged_in().with_hint("run 'difyctl use host' or 'difyctl auth login'")
        );
    };
    let known: Vec<&str> = entry.accounts.keys().collect();
    let email = match email {
        Some(e) => e,
        None if ctx.ui.interactive() => {
            let items: Vec<String> = entry
                .accounts
                .iter()
                .map(|(email, c)| {
                    let mark = if entry.current_account.as_deref() == Some(email) {
                        "*"
                    } else {
                        " "
                    };
                    let who = if c.is_external_sso() {
                        "(SSO)".to_string()
                    } else if c.account.name.is_empty() {
                        String::new()
                    } else {
                        format!("({})", c.account.name)
                    };
                    format!("{mark} {email}  {who}").trim_end().to_string()
                })
                .collect();
            known[ctx
                .ui
                .pick(&format!("Select an account on {host}"), &items)?]
            .to_string()
        }
        None => {
            return Err(CliError::usage_missing(format!(
                "--email is required (no TTY); known accounts on {host}: {}",
                known.join(", ")
            )));
        }
    };
    let unknown = |known: Vec<&str>| {
        CliError::usage_invalid(format!(
            "unknown account \"{email}\" on {host}; known: {}",
            known.join(", ")
        ))
    };
    if !entry.accounts.contains_key(&email) {
        return Err(unknown(known));
    }
    if credentials::get(&dir, registry.token_storage, host, &email)?.is_none() {
        return Err(CliError::not_logged_in()
            .with_message(format!("no credential stored for {email} on {host}"))
            .with_hint(format!("run 'difyctl auth login --host {host}'")));
    }
    let host = host.to_string();
    state::update_hosts(&dir, |r| {
        if r.set_current_account(&host, &email) {
            Ok(())
        } else {
            Err(unknown(
                r.hosts
                    .get(&host)
                    .map(|e| e.accounts.keys().collect())
                    .unwrap_or_default(),
            ))
        }
    })?;
    Ok(Output::success(format!(
        "Active account on {host} is now {email}"
    )))
}
