//! `auth login`: the OAuth device flow (PROTOCOL.md §4.1).
//!
//! Nothing is written until the server hands out the token; a denied,
//! expired, failed or interrupted sign-in leaves every file as it was.

use std::time::{Duration, Instant};

use crate::cli::{LoginArgs, LoginMethod};
use crate::commands::{Ctx, session};
use crate::credentials;
use crate::dify::device::{self, DeviceCode, PollOutcome, TokenPayload};
use crate::dify::{Client, HostUrl};
use crate::output::spinner::{self, Spinner};
use crate::output::term::{Style, input_closed, sanitize_line};
use crate::output::{CliError, Output, Result, browser, interrupt};
use crate::state::{self, Account, Context, ExternalSubject, TokenStorage, Workspace};

const DEFAULT_HOST: &str = "https://cloud.dify.ai";
/// RFC 8628 §3.5: each `slow_down` adds 5 s; we never wait longer than a minute.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// A host as typed, normalised: where to send requests and the bare host
/// (`host[:port]`) that names the context.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub url: HostUrl,
    pub bare: String,
}

pub fn run(ctx: &Ctx, args: &LoginArgs) -> Result<Output> {
    if args.method != LoginMethod::DeviceFlow {
        let flag = match args.method {
            LoginMethod::WithToken => "--with-token",
            LoginMethod::Password => "--password",
            LoginMethod::EmailCode => "--email-code",
            _ => "--console-cookie",
        };
        return Err(CliError::not_implemented(&format!("auth login {flag}")));
    }
    let target = resolve_host(ctx, args)?;
    let client = session::client_for(&target.url, None, ctx.verbose)?;
    let payload = device_flow(ctx, &client, args)?;
    persist(&target, &payload)
}

/// The `--host` flag, or a prompt on a terminal (PROTOCOL.md §4.1 step 1).
fn resolve_host(ctx: &Ctx, args: &LoginArgs) -> Result<Target> {
    let given = args.host.as_deref().map(str::trim).unwrap_or("");
    if !given.is_empty() {
        return normalize(given, args.insecure);
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
        match normalize(&answer, args.insecure) {
            Ok(target) => return Ok(target),
            Err(e) => {
                let hint = e.hint.map(|h| format!(" — {h}")).unwrap_or_default();
                ctx.ui.say(&format!(
                    "  {} {}{hint}",
                    Style::for_stderr().red("✗"),
                    e.message
                ));
            }
        }
    }
}

/// `https://` is prepended when there is no scheme; only https, or http with
/// `--insecure`, is accepted; a path prefix is kept for this sign-in's
/// requests but not stored (the context is named by the bare host).
pub fn normalize(raw: &str, insecure: bool) -> Result<Target> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    let uri: ureq::http::Uri = with_scheme
        .parse()
        .map_err(|e| CliError::usage_invalid(format!("host parse: {e}")))?;
    let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
    let host = uri.host().unwrap_or("").to_ascii_lowercase();
    if host.is_empty() {
        return Err(CliError::usage_invalid("host parse: the URL has no host"));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(CliError::usage_invalid(
            "host parse: credentials in the host URL are not supported",
        ));
    }
    match scheme.as_str() {
        "https" => {}
        "http" if insecure => {}
        "http" => {
            return Err(CliError::usage_invalid("only https:// hosts are accepted").with_hint(
                "add --insecure to allow http:// (local-dev only; user_code/device_code travel plaintext)",
            ));
        }
        other => {
            return Err(CliError::usage_invalid(format!(
                "only https:// hosts are accepted (got {other}://)"
            )));
        }
    }
    let default_port = if scheme == "https" { 443 } else { 80 };
    let bare = match uri.port_u16() {
        Some(p) if p != default_port => format!("{host}:{p}"),
        _ => host,
    };
    let mut url = HostUrl::new(&scheme, &bare);
    let prefix = uri.path().trim_end_matches('/');
    if !prefix.is_empty() {
        url = url.with_path_prefix(prefix);
    }
    Ok(Target { url, bare })
}

fn device_flow(ctx: &Ctx, client: &Client, args: &LoginArgs) -> Result<TokenPayload> {
    let label = device::label_for_host(&device::local_hostname());
    let code = device::request_code(client, &label)?;

    // Both come from the server: one line each, whatever they hold.
    let style = Style::for_stderr();
    ctx.ui.say(&format!(
        "{} Copy this one-time code: {}",
        style.yellow("!"),
        style.bold(&sanitize_line(&code.user_code))
    ));
    ctx.ui.say(&format!(
        "  Open: {}",
        sanitize_line(&code.verification_uri)
    ));
    check_verification_uri(&code.verification_uri, args.insecure)?;

    let env = |k: &str| std::env::var(k).ok();
    match browser::skip_reason(args.no_browser, env, ctx.ui.stdout_tty, ctx.ui.stderr_tty) {
        Some(reason) => ctx
            .ui
            .warn(&format!("{reason} — open the URL above manually")),
        None => {
            if let Err(e) = browser::open(&code.verification_uri) {
                ctx.ui.warn(&format!(
                    "couldn't open browser ({e}); open the URL above manually"
                ));
            }
        }
    }

    let spinner = Spinner::start(
        "Waiting for authorization",
        spinner::allowed(ctx.ui.stderr_tty),
    );
    let result = wait_for_token(client, &code, &|d| std::thread::sleep(d));
    spinner.stop();
    result
}

/// The server's verification URI must be a web page we would open ourselves.
fn check_verification_uri(uri: &str, insecure: bool) -> Result<()> {
    let invalid = || CliError::new("unknown", "server returned an invalid verification_uri");
    // The scheme as a browser reads it (RFC 3986 §3.1), so `javascript:…` is
    // refused for its scheme rather than parsed as a host and port.
    let scheme = uri
        .split_once(':')
        .map(|(s, _)| s)
        .filter(|s| {
            s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        })
        .ok_or_else(invalid)?
        .to_ascii_lowercase();
    if !(scheme == "https" || (scheme == "http" && insecure)) {
        return Err(CliError::new(
            "unknown",
            format!("server returned verification_uri with unsupported scheme \"{scheme}\""),
        )
        .with_hint("expected https:// (use --insecure to allow http:// on local-dev hosts)"));
    }
    let parsed: ureq::http::Uri = uri.parse().map_err(|_| invalid())?;
    if parsed.host().is_none_or(str::is_empty) {
        return Err(invalid());
    }
    Ok(())
}

/// Poll until approved: first at once, then every interval (RFC 8628), with
/// `slow_down` adding 5 s up to a minute, until the code's `expires_in` ends.
pub fn wait_for_token(
    client: &Client,
    code: &DeviceCode,
    sleep: &dyn Fn(Duration),
) -> Result<TokenPayload> {
    let mut interval = code.poll_interval().min(MAX_INTERVAL);
    let deadline = code.expires_after().map(|d| Instant::now() + d);
    loop {
        match device::poll(client, &code.device_code, sleep)? {
            PollOutcome::Token(payload) => return Ok(*payload),
            PollOutcome::Pending => {}
            PollOutcome::SlowDown => interval = (interval + SLOW_DOWN_STEP).min(MAX_INTERVAL),
        }
        let wait = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(CliError::new(
                        "expired_token",
                        "code expired before authorization",
                    )
                    .with_hint(
                        "run 'difyctl auth login' again and approve the code within its lifetime",
                    ));
                }
                interval.min(left)
            }
            None => interval,
        };
        sleep(wait);
    }
}

/// Store the token, then the context (PROTOCOL.md §4.1 step 10); print step 11.
fn persist(target: &Target, payload: &TokenPayload) -> Result<Output> {
    let Some(email) = payload.email().map(str::to_string) else {
        return Err(CliError::new(
            "not_logged_in",
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
        ..context_from(payload)
    };
    let dir = state::config_dir()?;
    let storage = TokenStorage::File;
    {
        // From here on Ctrl-C waits until both files are written.
        let _critical = interrupt::Critical::enter();
        // The token is stored once hosts.yml has been read and parsed under
        // its lock, so a corrupt or locked hosts.yml fails the sign-in before
        // tokens.yml is touched.
        state::update_hosts(&dir, |r| {
            credentials::set(&dir, storage, &target.bare, &email, &payload.token)?;
            r.token_storage = storage;
            r.upsert(&target.bare, &target.url.scheme, &email, context.clone());
            Ok(())
        })?;
    }

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
            session::describe(&email, &sanitize_line(&context.account.name))
        ),
    };
    let rest = context
        .workspace
        .iter()
        .map(|w| format!("  Workspace: {}", sanitize_line(&w.name)))
        .collect();
    Ok(Output::Success(first, rest))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bare(raw: &str, insecure: bool) -> String {
        normalize(raw, insecure)
            .map(|t| t.bare)
            .unwrap_or_else(|e| format!("ERR {}: {}", e.code, e.message))
    }

    #[test]
    fn host_normalisation() {
        assert_eq!(bare("cloud.dify.ai", false), "cloud.dify.ai");
        assert_eq!(bare("  https://Cloud.Dify.AI/  ", false), "cloud.dify.ai");
        assert_eq!(bare("https://x.test:443", false), "x.test");
        assert_eq!(bare("https://x.test:8443/", false), "x.test:8443");
        assert_eq!(bare("http://localhost:5001", true), "localhost:5001");
        assert_eq!(bare("http://localhost:80", true), "localhost");
        assert_eq!(
            bare("http://localhost:5001", false),
            "ERR usage_invalid_flag: only https:// hosts are accepted"
        );
        assert!(bare("ftp://x", true).starts_with("ERR usage_invalid_flag"));
        assert!(bare("https://", false).starts_with("ERR usage_invalid_flag: host parse"));
        assert!(bare("https://user:pw@x.test", false).starts_with("ERR usage_invalid_flag"));
        let t = normalize("https://x.test/dify/", false).unwrap();
        assert_eq!(
            (t.bare.as_str(), t.url.path_prefix.as_str()),
            ("x.test", "/dify")
        );
    }

    #[test]
    fn verification_uri_rules() {
        assert!(check_verification_uri("https://x.test/device", false).is_ok());
        assert!(check_verification_uri("http://x.test/device", true).is_ok());
        let e = check_verification_uri("http://x.test/device", false).unwrap_err();
        assert_eq!(
            e.message,
            "server returned verification_uri with unsupported scheme \"http\""
        );
        let e = check_verification_uri("javascript:alert(1)", true).unwrap_err();
        assert_eq!(
            e.message,
            "server returned verification_uri with unsupported scheme \"javascript\""
        );
        let invalid = "server returned an invalid verification_uri";
        for bad in [
            "",
            "//x.test/device",
            "https://",
            "https:///device",
            "https://x.test/a b",
        ] {
            let e = check_verification_uri(bad, true).unwrap_err();
            assert_eq!(e.message, invalid, "{bad:?}");
        }
    }
}
