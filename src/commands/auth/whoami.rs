//! `auth whoami [--json]`: the active identity, from hosts.yml only
//! (difyctl-auth(1)). Never contacts the server or the keychain.

use serde_json::json;

use crate::commands::context;
use crate::ctx::Ctx;
use crate::error::{CliError, Result};
use crate::output::Output;

pub fn run(ctx: &Ctx, json: bool) -> Result<Output> {
    let registry = context::registry(ctx)?;
    let (_, email, entry) = registry.active().ok_or_else(|| {
        // Only the active context's own damage matters here.
        registry
            .active_damage()
            .unwrap_or_else(CliError::not_logged_in)
    })?;

    if let Some(subject) = &entry.external_subject {
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

    let account = &entry.account;
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
        let e = run(&ctx, false).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotLoggedIn);

        std::fs::create_dir_all(tmp.path().join("config")).unwrap();
        std::fs::write(tmp.path().join("config/hosts.yml"), HOSTS).unwrap();
        assert_eq!(
            run(&ctx, false).unwrap(),
            Output::Text("a@x.test (Ann)\n".into())
        );
        assert_eq!(
            run(&ctx, true).unwrap(),
            Output::json(
                &json!({"id": "acc-1", "email": "a@x.test", "name": "Ann"}),
                false
            )
        );
    }
}
