//! `auth whoami [-o json|yaml] [--json]`: the active identity, from hosts.yml only
//! (difyctl-auth(1)); never contacts the server or the keychain. With
//! `DIFY_TOKEN` nothing is stored about the token, so the server is asked
//! (`GET /openapi/v1/account`).

use serde_json::json;

use crate::cli::{Format, Selection};
use crate::commands::auth::status;
use crate::commands::context::{self, ContextEnv, SignedIn};
use crate::commands::data;
use crate::ctx::Ctx;
use crate::dify::account;
use crate::error::Result;
use crate::output::Output;
use crate::output::term::sanitize_line;

pub fn run(ctx: &Ctx, format: Format) -> Result<Output> {
    if ContextEnv::from_env(&ctx.env)?.token.is_some() {
        return from_server(ctx, format);
    }
    let registry = context::registry(ctx)?;
    let (_, email, entry) = registry.active().ok_or_else(|| {
        // Only the active context's own damage matters here.
        registry
            .active_damage()
            .unwrap_or_else(|| context::nothing_active(&registry))
    })?;

    if let Some(subject) = &entry.external_subject {
        let email = if subject.email.is_empty() {
            email
        } else {
            &subject.email
        };
        if format.structured() {
            let value =
                json!({"subject_type": "external_sso", "email": email, "issuer": subject.issuer});
            return Ok(data::output(&value, format, false));
        }
        let text = if subject.issuer.is_empty() {
            format!("{email} (external SSO)\n")
        } else {
            format!("{email} (external SSO, issuer: {})\n", subject.issuer)
        };
        return Ok(Output::Text(text));
    }

    let account = &entry.account;
    let email = if account.email.is_empty() {
        email
    } else {
        &account.email
    };
    if format.structured() {
        let id = account.id.as_deref().unwrap_or("");
        return Ok(data::output(
            &json!({"id": id, "email": email, "name": account.name}),
            format,
            false,
        ));
    }
    Ok(Output::Text(context::describe(email, &account.name) + "\n"))
}

/// The identity of `DIFY_TOKEN`, as the server tells it. An external-SSO
/// token, which the account route refuses, is reported as such: the server
/// has no route that says whose it is.
fn from_server(ctx: &Ctx, format: Format) -> Result<Output> {
    let signed = SignedIn::resolve(ctx, &Selection::default())?;
    let client = signed.context.client(ctx, None)?;
    let info = match account::get_account(&client, &signed.token) {
        Ok(info) => info,
        Err(e) if status::unsupported_token_type(&e) => {
            if format.structured() {
                return Ok(data::output(
                    &json!({"subject_type": "external_sso", "email": "", "issuer": ""}),
                    format,
                    false,
                ));
            }
            return Ok(Output::Text(
                "an external SSO session (DIFY_TOKEN; the server does not say whose)\n".into(),
            ));
        }
        Err(e) => return Err(signed.explain(e)),
    };
    let a = info.account.clone().unwrap_or_default();
    if a.email.is_empty()
        && let Some(email) = info.subject_email.as_deref().filter(|e| !e.is_empty())
    {
        let issuer = info.subject_issuer.clone().unwrap_or_default();
        if format.structured() {
            let value = json!({"subject_type": "external_sso", "email": email, "issuer": issuer});
            return Ok(data::output(&value, format, false));
        }
        let text = match issuer.as_str() {
            "" => format!("{} (external SSO)\n", sanitize_line(email)),
            issuer => format!(
                "{} (external SSO, issuer: {})\n",
                sanitize_line(email),
                sanitize_line(issuer)
            ),
        };
        return Ok(Output::Text(text));
    }
    if format.structured() {
        return Ok(data::output(
            &json!({"id": a.id, "email": a.email, "name": a.name}),
            format,
            false,
        ));
    }
    Ok(Output::Text(
        context::describe(&sanitize_line(&a.email), &sanitize_line(&a.name)) + "\n",
    ))
}

/// The core of the command, without the binary: a config dir of the test's
/// own, no process environment.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::state::testutil::TempDir;

    const HOSTS: &str = "token_storage: file\ncurrent_host: h.test\nhosts:\n  h.test:\n    \
        current_account: a@x.test\n    accounts:\n      a@x.test:\n        account:\n          \
        id: acc-1\n          email: a@x.test\n          name: Ann\n";

    #[test]
    fn the_active_identity_from_hosts_yml() {
        let tmp = TempDir::new();
        let ctx = Ctx::for_tests(tmp.path(), &[], 0);
        let e = run(&ctx, Format::Text).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotLoggedIn);

        std::fs::create_dir_all(tmp.path().join("config")).unwrap();
        std::fs::write(tmp.path().join("config/hosts.yml"), HOSTS).unwrap();
        assert_eq!(
            run(&ctx, Format::Text).unwrap(),
            Output::Text("a@x.test (Ann)\n".into())
        );
        assert_eq!(
            run(&ctx, Format::Json).unwrap(),
            Output::json(
                &json!({"id": "acc-1", "email": "a@x.test", "name": "Ann"}),
                false
            )
        );
    }
}
