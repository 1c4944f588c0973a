//! `auth status [-o json|yaml] [--json] [--all]`: ask the server whether
//! the session still works (`GET /openapi/v1/account`), and show who it is,
//! the default workspace, where the token is kept and when it expires.
//! `--all` does that for every stored context, one after the other.
//!
//! Exit 0 when the server accepts the token; a refused token is the usual
//! `auth_expired` error (exit 4, the re-login hint), an unreachable server
//! `network_connection` (exit 1). A 500 is exit 1 too, even though servers of
//! the 1.14 era answer a revoked token that way: an outage must not tell
//! scripts to sign in again. The hint says what it may mean.

use serde::Serialize;

use crate::cli::{Format, Selection};
use crate::commands::context::{self, SignedIn, describe};
use crate::commands::data;
use crate::ctx::Ctx;
use crate::dify::Client;
use crate::dify::account::{self, AccountInfo, STALE_SESSION_HINT};
use crate::error::{CliError, ErrorCode, Result};
use crate::output::term::sanitize_line;
use crate::output::{Output, table};

/// How many pages of 200 sessions are searched for this session's expiry.
const EXPIRY_PAGES: u32 = 5;

const OLD_SERVER_HINT: &str = "servers of the Dify 1.14 era answer HTTP 500 for a revoked or \
     expired session: if the server is otherwise up, sign in again with 'difyctl auth login'";

/// The `--json` document. Field names and order are stable (difyctl-auth(1)).
#[derive(Debug, Serialize)]
struct Status {
    host: String,
    scheme: String,
    account: Identity,
    workspace: Option<WorkspaceInfo>,
    token_source: &'static str,
    expires_at: Option<String>,
    valid: bool,
}

#[derive(Debug, Serialize)]
struct Identity {
    id: String,
    email: String,
    name: String,
    /// Set for external-SSO (`dfoe_`) sessions only.
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
}

#[derive(Debug, Serialize)]
struct WorkspaceInfo {
    id: String,
    name: String,
    role: String,
}

pub fn run(ctx: &Ctx, format: Format, select: &Selection, all: bool) -> Result<Output> {
    if all {
        return every_context(ctx, format, select);
    }
    let signed = SignedIn::resolve(ctx, select)?;
    let status = check(ctx, &signed, format.structured())?;
    if format.structured() {
        return Ok(data::output(&status, format, false));
    }
    Ok(Output::Text(render(&status, ctx.clock.unix_secs())))
}

/// What the server says about `signed`: who it is, its workspace and
/// expiry; an error when the token is refused or the server unreachable.
/// `quiet`: no compatibility banner (structured output, or many contexts).
fn check(ctx: &Ctx, signed: &SignedIn, quiet: bool) -> Result<Status> {
    let client = signed.talking_client(ctx, None, quiet)?;
    let (account, workspace, sso) = match account::get_account(&client, &signed.token) {
        Ok(info) => {
            let (account, workspace) = from_server(&info);
            (account, workspace, false)
        }
        // The server resolved the token (a bad one is a 401) and then refused
        // the route: an external-SSO token, valid but not for account routes.
        Err(e) if unsupported_token_type(&e) => (sso_identity(signed), None, true),
        Err(mut e) => {
            if e.hint.as_deref() == Some(STALE_SESSION_HINT) {
                e.hint = Some(OLD_SERVER_HINT.to_string());
            }
            return Err(signed.explain(e));
        }
    };
    let expires_at = match stored_expiry(signed) {
        Some(at) => Some(at),
        None if !sso => lookup_expiry(&client, signed),
        None => None,
    };
    Ok(Status {
        host: signed.context.host.clone(),
        scheme: signed.context.url.scheme.clone(),
        account,
        workspace,
        token_source: signed.context.source.as_str(),
        expires_at,
        valid: true,
    })
}

/// One context of `auth status --all`. Field names and order are stable
/// (difyctl-auth(1)).
#[derive(Debug, Serialize)]
struct Checked {
    host: String,
    account: String,
    /// `keychain` or `file`.
    store: &'static str,
    expires_at: Option<String>,
    /// `true`, `false` (sign in again), or `null` when the server could not say.
    valid: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<CheckError>,
}

/// The `auth status --all -o json` document.
#[derive(Serialize)]
struct AllContexts<'a> {
    contexts: &'a [Checked],
}

#[derive(Debug, Serialize)]
struct CheckError {
    code: ErrorCode,
    message: String,
}

/// `auth status --all`: every stored context, checked with the server one
/// after the other. Exit 0 when all are valid; else 1 when some server could
/// not say (network, server error), else 4.
fn every_context(ctx: &Ctx, format: Format, select: &Selection) -> Result<Output> {
    if select.host.is_some() || select.account.is_some() {
        return Err(CliError::usage_invalid(
            "--all checks every stored context: it takes no --host or --account",
        ));
    }
    let (dir, registry) = context::stored(ctx)?;
    if registry.is_empty() {
        return Err(CliError::not_logged_in());
    }
    let mut rows = Vec::new();
    for (host, email, stored) in registry.contexts() {
        // Only the stored context, whatever DIFY_TOKEN, DIFY_HOST say.
        let chosen =
            context::stored_context(dir.clone(), &registry, host.into(), email.into(), true);
        let checked = SignedIn::with_token_of(ctx, chosen).and_then(|s| check(ctx, &s, true));
        let (valid, error) = match checked {
            Ok(_) => (Some(true), None),
            Err(e) => {
                // Exit 4 says "sign in again"; anything else is a failure to know.
                let refused = e.exit_code() == ErrorCode::NotLoggedIn.exit_status();
                let error = CheckError {
                    code: e.code,
                    message: e.message,
                };
                (refused.then_some(false), Some(error))
            }
        };
        rows.push(Checked {
            host: host.to_string(),
            account: email.to_string(),
            store: registry.storage_of(stored).as_str(),
            expires_at: stored
                .token_expires_at
                .clone()
                .filter(|at| !at.trim().is_empty()),
            valid,
            error,
        });
    }
    let output = match format {
        Format::Json | Format::Yaml => data::output(&AllContexts { contexts: &rows }, format, true),
        _ => Output::Text(all_table(&rows, ctx.clock.unix_secs())),
    };
    let unknown = rows.iter().filter(|r| r.valid.is_none()).count();
    let refused = rows.iter().filter(|r| r.valid == Some(false)).count();
    let n = rows.len();
    Ok(if unknown > 0 {
        output.then_error(CliError::new(
            ErrorCode::NetworkConnection,
            format!("{unknown} of {n} context(s) could not be checked"),
        ))
    } else if refused > 0 {
        output.then_error(
            CliError::new(
                ErrorCode::AuthExpired,
                format!("{refused} of {n} context(s) not valid"),
            )
            .with_hint("sign in again with 'difyctl auth login --host <host>'"),
        )
    } else {
        output
    })
}

/// `HOST  ACCOUNT  STORE  EXPIRES  VALID`, then why each invalid one is.
fn all_table(rows: &[Checked], now: i64) -> String {
    let mut cells = vec![
        ["HOST", "ACCOUNT", "STORE", "EXPIRES", "VALID"]
            .map(String::from)
            .to_vec(),
    ];
    for r in rows {
        let expires = match r.expires_at.as_deref() {
            Some(at) => match crate::time::parse_iso(at) {
                Some(t) => relative(t - now),
                None => at.to_string(),
            },
            None => "unknown".to_string(),
        };
        let valid = match (r.valid, &r.error) {
            (Some(true), _) => "yes".to_string(),
            (_, Some(e)) => format!(
                "{} ({})",
                if r.valid == Some(false) {
                    "no"
                } else {
                    "unknown"
                },
                e.code
            ),
            _ => "no".to_string(),
        };
        cells.push(vec![
            r.host.clone(),
            r.account.clone(),
            r.store.to_string(),
            expires,
            valid,
        ]);
    }
    table::render(&cells, true)
}

fn from_server(info: &AccountInfo) -> (Identity, Option<WorkspaceInfo>) {
    let a = info.account.clone().unwrap_or_default();
    let email = if a.email.is_empty() {
        info.subject_email.clone().unwrap_or_default()
    } else {
        a.email
    };
    let workspace = info
        .default_workspace_id
        .as_deref()
        .and_then(|id| info.workspaces.iter().find(|w| w.id == id))
        .map(|w| WorkspaceInfo {
            id: w.id.clone(),
            name: w.name.clone(),
            role: w.role.clone(),
        });
    let identity = Identity {
        id: a.id,
        email,
        name: a.name,
        issuer: None,
    };
    (identity, workspace)
}

/// A 403 `unsupported_token_type`: an external-SSO token the server
/// accepted but that account routes refuse.
pub(crate) fn unsupported_token_type(e: &CliError) -> bool {
    let Some(http) = e.http.as_deref() else {
        return false;
    };
    http.status == Some(403)
        && http.server.as_ref().is_some_and(|s| {
            s.message == "unsupported_token_type" || s.code == "unsupported_token_type"
        })
}

/// Who an external-SSO session is, from the stored context (the server has
/// no route that tells a `dfoe_` token who it is).
fn sso_identity(signed: &SignedIn) -> Identity {
    let subject = signed
        .context
        .stored
        .as_ref()
        .and_then(|s| s.entry.external_subject.as_ref());
    let email = match subject {
        Some(s) if !s.email.is_empty() => s.email.clone(),
        _ => signed.context.email().to_string(),
    };
    Identity {
        id: String::new(),
        email,
        name: String::new(),
        issuer: Some(subject.map(|s| s.issuer.clone()).unwrap_or_default()),
    }
}

/// `token_expires_at` stored at sign-in.
pub(crate) fn stored_expiry(signed: &SignedIn) -> Option<String> {
    signed
        .context
        .stored
        .as_ref()?
        .entry
        .token_expires_at
        .clone()
        .filter(|at| !at.trim().is_empty())
}

/// The expiry of this context's session from the server's session list,
/// for contexts signed in without one stored (e.g. by the official tool).
/// Best effort: any failure just leaves the expiry unknown.
pub(crate) fn lookup_expiry(client: &Client, signed: &SignedIn) -> Option<String> {
    let id = signed.context.token_id()?;
    for page in 1..=EXPIRY_PAGES {
        let result = account::list_sessions(client, &signed.token, page, 200).ok()?;
        if let Some(s) = result.data.iter().find(|s| s.id == id) {
            return Some(s.expires_at.clone()).filter(|at| !at.is_empty());
        }
        if !result.has_more || result.data.is_empty() {
            return None;
        }
    }
    None
}

/// The human form: the host, then aligned fields.
fn render(s: &Status, now: i64) -> String {
    let account = if s.account.issuer.is_some() {
        format!("{} (external SSO)", s.account.email)
    } else {
        describe(&s.account.email, &s.account.name)
    };
    let workspace = match &s.workspace {
        Some(w) if w.role.is_empty() => w.name.clone(),
        Some(w) => format!("{} ({})", w.name, w.role),
        None => "none".to_string(),
    };
    let token = match &s.expires_at {
        Some(at) => match crate::time::parse_iso(at) {
            Some(t) => format!("{}, expires {at} ({})", s.token_source, relative(t - now)),
            None => format!("{}, expires {at}", s.token_source),
        },
        None => format!("{}, expiry unknown", s.token_source),
    };
    let mut out = format!("{}\n", sanitize_line(&s.host));
    for (label, value) in [
        ("account", account),
        ("workspace", workspace),
        ("token", token),
        ("status", "valid".to_string()),
    ] {
        out.push_str(&format!(
            "  {:<11}{}\n",
            format!("{label}:"),
            sanitize_line(&value)
        ));
    }
    out
}

/// `in 13d 23h`, `in 5h 2m`, `in 42m`; a time this machine's clock already
/// passed reads `passed 2h 5m ago`.
pub(crate) fn relative(secs: i64) -> String {
    if secs >= 0 {
        format!("in {}", span(secs))
    } else {
        format!("passed {} ago", span(-secs))
    }
}

/// A length of time, to the two largest units: `13d 23h`, `5h 2m`, `42m`,
/// `under a minute`.
pub(crate) fn span(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        "under a minute".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_spans() {
        assert_eq!(relative(13 * 86_400 + 23 * 3600 + 59), "in 13d 23h");
        assert_eq!(relative(5 * 3600 + 2 * 60 + 7), "in 5h 2m");
        assert_eq!(relative(42 * 60), "in 42m");
        assert_eq!(relative(30), "in under a minute");
        assert_eq!(relative(-(2 * 3600 + 5 * 60)), "passed 2h 5m ago");
    }

    fn status(expires_at: Option<&str>) -> Status {
        Status {
            host: "127.0.0.1:5001".into(),
            scheme: "http".into(),
            account: Identity {
                id: "a".into(),
                email: "tester@dify.ai".into(),
                name: "Tes\u{1b}[31mter".into(),
                issuer: None,
            },
            workspace: Some(WorkspaceInfo {
                id: "w".into(),
                name: "Acme\nTeam".into(),
                role: "owner".into(),
            }),
            token_source: "file",
            expires_at: expires_at.map(str::to_string),
            valid: true,
        }
    }

    #[test]
    fn human_form_is_aligned_and_clean() {
        let now = crate::time::parse_iso("2026-11-23T10:00:00Z").unwrap();
        assert_eq!(
            render(&status(Some("2026-12-07T10:00:00+00:00")), now),
            "127.0.0.1:5001\n  account:   tester@dify.ai (Tester)\n  workspace: Acme Team (owner)\n  \
             token:     file, expires 2026-12-07T10:00:00+00:00 (in 14d 0h)\n  status:    valid\n"
        );
        let mut s = status(None);
        s.workspace = None;
        s.token_source = "DIFY_TOKEN";
        assert_eq!(
            render(&s, now),
            "127.0.0.1:5001\n  account:   tester@dify.ai (Tester)\n  workspace: none\n  \
             token:     DIFY_TOKEN, expiry unknown\n  status:    valid\n"
        );
        let s = status(Some("next week"));
        assert!(render(&s, now).contains("  token:     file, expires next week\n"));
    }

    #[test]
    fn json_field_names_and_order() {
        let v = serde_json::to_string(&status(Some("2026-12-07T10:00:00+00:00"))).unwrap();
        assert_eq!(
            v,
            r#"{"host":"127.0.0.1:5001","scheme":"http","account":{"id":"a","email":"tester@dify.ai","name":"Tes\u001b[31mter"},"workspace":{"id":"w","name":"Acme\nTeam","role":"owner"},"token_source":"file","expires_at":"2026-12-07T10:00:00+00:00","valid":true}"#
        );
    }

    /// The whole command without the binary: a stored context in a config
    /// dir of the test's own, a canned server, and the clock at a fixed time
    /// (what the expiry is shown against).
    #[test]
    fn a_stored_context_asked_about_at_a_fixed_time() {
        use crate::dify::stub::{Canned, serve};
        use crate::state::testutil::TempDir;

        let account = r#"{"subject_type":"account","subject_email":"a@x.test","subject_issuer":null,
            "account":{"id":"acc-1","email":"a@x.test","name":"Ann"},
            "workspaces":[{"id":"ws-1","name":"Acme","role":"owner"}],"default_workspace_id":"ws-1"}"#;
        // Before the catalog (a 404 for it), then the account.
        let stub = serve(vec![
            Canned::json(404, r#"{"code":"not_found","message":"nope","status":404}"#),
            Canned::json(200, account),
        ]);
        let host = format!("127.0.0.1:{}", stub.port);
        let tmp = TempDir::new();
        let config = tmp.path().join("config");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            config.join("hosts.yml"),
            format!(
                "token_storage: file\ncurrent_host: {host}\nhosts:\n  {host}:\n    scheme: http\n    \
                 current_account: a@x.test\n    accounts:\n      a@x.test:\n        account:\n          \
                 email: a@x.test\n        token_expires_at: '2026-12-07T10:00:00+00:00'\n"
            ),
        )
        .unwrap();
        let tokens = config.join("tokens.yml");
        std::fs::write(
            &tokens,
            format!("version: 1\ntokens:\n  {host}:\n    a@x.test: dfoa_t\n"),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let now = crate::time::parse_iso("2026-12-04T08:30:00Z").unwrap();
        let ctx = Ctx::for_tests(tmp.path(), &[], now as u64);

        let out = run(&ctx, Format::Text, &Selection::default(), false).unwrap();
        assert_eq!(
            out,
            Output::Text(format!(
                "{host}\n  account:   a@x.test (Ann)\n  workspace: Acme (owner)\n  \
                 token:     file, expires 2026-12-07T10:00:00+00:00 (in 3d 1h)\n  status:    valid\n"
            ))
        );
        let sent = stub.requests();
        assert_eq!(sent[1].path, "/openapi/v1/account");
        assert_eq!(sent[1].header("authorization"), Some("Bearer dfoa_t"));
    }
}
