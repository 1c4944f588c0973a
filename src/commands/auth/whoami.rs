//! `auth whoami [--json]`: the active identity, from hosts.yml only
//! (PROTOCOL.md §4.2). Never contacts the server or the keychain.

use serde_json::json;

use crate::commands::context;
use crate::error::{CliError, Result};
use crate::output::Output;

pub fn run(json: bool) -> Result<Output> {
    let registry = context::registry()?;
    let (_, email, ctx) = registry.active().ok_or_else(CliError::not_logged_in)?;

    if let Some(subject) = &ctx.external_subject {
        let email = if subject.email.is_empty() {
            email
        } else {
            &subject.email
        };
        if json {
            let value =
                json!({"subject_type": "external_sso", "email": email, "issuer": subject.issuer});
            return Ok(Output::json(&value, false));
        }
        let text = if subject.issuer.is_empty() {
            format!("{email} (external SSO)\n")
        } else {
            format!("{email} (external SSO, issuer: {})\n", subject.issuer)
        };
        return Ok(Output::Text(text));
    }

    let account = &ctx.account;
    let email = if account.email.is_empty() {
        email
    } else {
        &account.email
    };
    if json {
        let id = account.id.as_deref().unwrap_or("");
        return Ok(Output::json(
            &json!({"id": id, "email": email, "name": account.name}),
            false,
        ));
    }
    Ok(Output::Text(context::describe(email, &account.name) + "\n"))
}
