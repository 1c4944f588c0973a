//! `auth login`: the OAuth device flow (PROTOCOL.md §4.1) and the headless
//! methods (PRODUCT.md §1, PROTOCOL.md §13).
//!
//! Every method but `--with-token` ends the same way: a device code labelled
//! `difyctl on <hostname>` is approved and its token polled, so the result is
//! an ordinary, revocable device session. `--password` and `--email-code`
//! approve it with a console session they open and close again;
//! `--console-cookie` borrows the user's browser session (and leaves it open).
//! No password, code or console cookie is ever stored, put in argv, or read
//! from the environment.
//!
//! Nothing is written until the server hands out the token; a denied,
//! expired, failed or interrupted sign-in leaves every file as it was.

use std::io::{self, BufRead, Read};
use std::time::{Duration, Instant};

use crate::cli::{LoginArgs, LoginMethod};
use crate::commands::auth::persist;
use crate::commands::{Ctx, session};
use crate::credentials::{Keychain, Selection};
use crate::dify::account::{self, AccountInfo};
use crate::dify::console::{self, CookieJar};
use crate::dify::device::{self, DeviceCode, PollOutcome, TokenPayload};
use crate::dify::{Client, Secret};
use crate::error::{CliError, ErrorCode, Result};
use crate::host;
pub use crate::host::Target;
use crate::output::spinner::{self, Spinner};
use crate::output::term::{Style, input_closed, sanitize_line};
use crate::output::{Output, browser, interrupt, noecho};

const DEFAULT_HOST: &str = "https://cloud.dify.ai";
/// RFC 8628 §3.5: each `slow_down` adds 5 s; we never wait longer than a minute.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
const MAX_INTERVAL: Duration = Duration::from_secs(60);
/// The most of stdin a headless method reads: a token, a cookie or a password.
const STDIN_LIMIT: usize = 64 * 1024;

const TOKEN_HINT: &str =
    "pipe the token in, e.g. 'difyctl auth login --with-token --host HOST < token.txt'";
const COOKIE_HINT: &str = "pipe the Cookie header value of a signed-in console tab: \
     'access_token=…; csrf_token=…' (the __Host- names work too)";
const FRESH_COOKIE_HINT: &str = "copy fresh access_token and csrf_token cookies from a signed-in \
     console tab; the session may have expired or been signed out";

pub fn run(ctx: &Ctx, args: &LoginArgs) -> Result<Output> {
    check_inputs(ctx, args)?;
    let store = Selection::from_env(args.token_storage)?;
    let target = resolve_host(ctx, args)?;
    // Refused now rather than after the user approved the sign-in (and
    // checked again when saving, under the lock).
    persist::check_scheme(&session::registry()?, &target)?;
    store.check(&Keychain::new())?;
    let payload = sign_in(ctx, &target, args)?;
    persist::persist(ctx, &target, &payload, true, Some(store))
        .inspect_err(|_| discard(ctx, &target, args, &payload))
}

/// After a sign-in that could not be saved (no email, a refused or failed
/// save): the session it minted is ended on the server rather than left
/// live with nobody holding its token. A pasted token (`--with-token`) is
/// the user's and is left alone.
pub fn discard(ctx: &Ctx, target: &Target, args: &LoginArgs, payload: &TokenPayload) {
    if args.method == LoginMethod::WithToken {
        return;
    }
    let ended = session::client_for(&target.url, None, ctx.verbose)
        .and_then(|client| account::revoke_self(&client, &payload.token));
    if let Err(e) = ended {
        ctx.ui.warn(&format!(
            "nothing was stored, and the new session could not be ended on the server ({}); \
             it expires on its own",
            e.message
        ));
    }
}

/// Signs in to `target` with the method `args` name (the device flow by
/// default) and returns the server's token payload; nothing is stored.
/// `auth login` and `auth refresh` both come through here.
pub fn sign_in(ctx: &Ctx, target: &Target, args: &LoginArgs) -> Result<TokenPayload> {
    let client = session::client_for(&target.url, None, ctx.verbose)?;
    let payload = match args.method {
        LoginMethod::DeviceFlow => device_flow(ctx, &client, args)?,
        LoginMethod::WithToken => with_token(ctx, &client)?,
        LoginMethod::Password => password(ctx, &client, args)?,
        LoginMethod::EmailCode => email_code(ctx, &client, args)?,
        LoginMethod::ConsoleCookie => console_cookie(ctx, &client)?,
    };
    Ok(payload)
}

/// Flag combinations and, without a terminal, the flags that replace prompts
/// (PRODUCT.md §2: no prompt ever without a terminal). Checked before anything
/// is read or sent.
pub fn check_inputs(ctx: &Ctx, args: &LoginArgs) -> Result<()> {
    let method = args.method;
    if args.password_stdin && method != LoginMethod::Password {
        return Err(CliError::usage_invalid(
            "--password-stdin only applies to --password",
        ));
    }
    if args.email.is_some() && !matches!(method, LoginMethod::Password | LoginMethod::EmailCode) {
        return Err(CliError::usage_invalid(
            "--email only applies to --password and --email-code",
        ));
    }
    if ctx.ui.interactive() {
        return Ok(());
    }
    let no_email = args.email.as_deref().is_none_or(|e| e.trim().is_empty());
    match method {
        LoginMethod::Password if no_email => Err(CliError::usage_missing(
            "--email is required (no TTY)",
        )
        .with_hint("pass --email and pipe the password on stdin with --password-stdin")),
        LoginMethod::Password if !args.password_stdin => Err(CliError::usage_missing(
            "--password-stdin is required (no TTY)",
        )
        .with_hint(
            "pipe the password on stdin with --password-stdin; it is never taken from a flag or the environment",
        )),
        LoginMethod::EmailCode if no_email => Err(CliError::usage_missing(
            "--email is required (no TTY)",
        )
        .with_hint("pass --email; the code from the email is then read from stdin")),
        _ => Ok(()),
    }
}

/// The `--host` flag, or a prompt on a terminal (PROTOCOL.md §4.1 step 1).
fn resolve_host(ctx: &Ctx, args: &LoginArgs) -> Result<Target> {
    let given = args.host.as_deref().map(str::trim).unwrap_or("");
    if !given.is_empty() {
        return host::for_sign_in(given, args.insecure);
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
        match host::for_sign_in(&answer, args.insecure) {
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
    let result = wait_for_token(client, &code, &interrupt::sleep);
    spinner.stop();
    result
}

/// The server's verification URI must be a web page we would open ourselves.
fn check_verification_uri(uri: &str, insecure: bool) -> Result<()> {
    let invalid = || {
        CliError::new(
            ErrorCode::Unknown,
            "server returned an invalid verification_uri",
        )
    };
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
            ErrorCode::Unknown,
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
/// `slow_down` adding 5 s up to a minute, until the code's lifetime ends
/// (the server's `expires_in`, else 900 s; see [`DeviceCode::expires_after`]).
/// Time is what `sleep` waited, or more when the clock says so, so a test's
/// sleep that returns at once still reaches the deadline.
pub fn wait_for_token(
    client: &Client,
    code: &DeviceCode,
    sleep: &dyn Fn(Duration) -> Result<()>,
) -> Result<TokenPayload> {
    let mut interval = code.poll_interval().min(MAX_INTERVAL);
    let lifetime = code.expires_after();
    let started = Instant::now();
    let mut slept = Duration::ZERO;
    loop {
        match device::poll(client, &code.device_code, sleep)? {
            PollOutcome::Token(payload) => return Ok(*payload),
            PollOutcome::Pending => {}
            PollOutcome::SlowDown => {
                interval = interval.saturating_add(SLOW_DOWN_STEP).min(MAX_INTERVAL)
            }
        }
        let left = lifetime.saturating_sub(slept.max(started.elapsed()));
        if left.is_zero() {
            return Err(CliError::new(
                ErrorCode::ExpiredToken,
                "code expired before authorization",
            )
            .with_hint("run 'difyctl auth login' again and approve the code within its lifetime"));
        }
        let wait = interval.min(left);
        sleep(wait)?;
        slept = slept.saturating_add(wait);
    }
}

// ---------------------------------------------------------------------------
// Headless methods
// ---------------------------------------------------------------------------

/// `--with-token`: a token minted elsewhere, checked with `GET /account`.
fn with_token(ctx: &Ctx, client: &Client) -> Result<TokenPayload> {
    let text = secret_input(ctx, "Paste the token: ", "token", TOKEN_HINT)?;
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CliError::usage_invalid(
            "the token on stdin is not a single token (it contains whitespace)",
        )
        .with_hint(TOKEN_HINT));
    }
    if !(text.starts_with("dfoa_") || text.starts_with("dfoe_")) {
        return Err(CliError::usage_invalid(
            "the token on stdin is not a Dify token (expected a dfoa_ or dfoe_ prefix)",
        )
        .with_hint("use a token from a difyctl sign-in ('difyctl auth token' prints one)"));
    }
    let token = Secret::new(text);
    let sso = token.expose().starts_with("dfoe_");
    let info = account::get_account(client, &token).map_err(|e| token_rejected(e, sso))?;
    let token_id = if sso {
        None
    } else {
        own_session_id(ctx, client, &token)
    };
    Ok(payload_from_account(token, info, token_id))
}

/// `GET /account` errors, reworded for a pasted token.
fn token_rejected(e: CliError, sso: bool) -> CliError {
    let status = e.http.as_ref().and_then(|h| h.status);
    match (e.code, status) {
        (ErrorCode::AuthExpired, _) => CliError {
            message: "the token was not accepted (invalid, expired or revoked)".into(),
            hint: Some("check the token, or sign in another way (see 'difyctl help auth login')".into()),
            ..e
        },
        (ErrorCode::AccessDenied, _) if sso => CliError {
            message: "this server does not say whose external SSO (dfoe_) token this is, so it cannot be stored".into(),
            hint: Some("sign in with the device flow ('difyctl auth login') to store an external SSO session".into()),
            ..e
        },
        // No OpenAPI at all (OPENAPI_ENABLED=false: an HTML 404), or not this
        // route: what the device flow and --password report for their 404s.
        (_, Some(404)) => CliError {
            code: ErrorCode::UnsupportedEndpoint,
            message: "this Dify host does not implement the OpenAPI account endpoint (GET /openapi/v1/account)".into(),
            hint: Some("the host needs OPENAPI_ENABLED=true; use the Dify API URL as --host".into()),
            ..e
        },
        (ErrorCode::Server5xx, Some(500)) => CliError {
            hint: Some(
                "older Dify servers answer HTTP 500 for an unknown, revoked or expired token: check the token".into(),
            ),
            ..e
        },
        _ => e,
    }
}

/// The session a pasted token belongs to, when that is certain. The server
/// does not mark the caller's own row in `GET /account/sessions`, and a row's
/// `prefix` is the token type (`dfoa_`), not a piece of the token; so the id is
/// known only when the account has exactly one live session, which must then
/// be this token's. Otherwise the context is stored without `token_id`, and
/// `auth devices list` marks no row as current.
fn own_session_id(ctx: &Ctx, client: &Client, token: &Secret) -> Option<String> {
    match account::list_sessions(client, token, 1, 200) {
        Ok(page) if page.total == 1 && page.data.len() == 1 && !page.data[0].id.is_empty() => {
            Some(page.data[0].id.clone())
        }
        Ok(page) => {
            ctx.ui.warn(&format!(
                "the account has {} sessions and the server does not say which one this token is; \
                 'auth devices list' will not mark it as current",
                page.total
            ));
            None
        }
        Err(e) => {
            ctx.ui.warn(&format!(
                "could not list the account's sessions ({}); 'auth devices list' will not mark \
                 this token's session as current",
                e.message
            ));
            None
        }
    }
}

fn payload_from_account(
    token: Secret,
    info: AccountInfo,
    token_id: Option<String>,
) -> TokenPayload {
    TokenPayload {
        token,
        expires_at: None,
        subject_type: info.subject_type,
        account: info.account,
        workspaces: info.workspaces,
        default_workspace_id: info.default_workspace_id,
        token_id,
        subject_email: info.subject_email,
        subject_issuer: info.subject_issuer,
    }
}

/// `--password`: console sign-in with email and password.
fn password(ctx: &Ctx, client: &Client, args: &LoginArgs) -> Result<TokenPayload> {
    let email = email_for(ctx, args)?;
    let password = read_password(ctx, args)?;
    via_console(ctx, client, true, || {
        console::password_login(client, &email, &password)
    })
}

/// The password in its wire form (base64 of its bytes, PROTOCOL.md §13): from
/// all of stdin with `--password-stdin` (line ends at the end removed), else
/// from a prompt that does not echo. Never from a flag or the environment.
fn read_password(ctx: &Ctx, args: &LoginArgs) -> Result<Secret> {
    let mut bytes = if args.password_stdin && !ctx.ui.stdin_tty {
        read_stdin_all("password")?
    } else {
        noecho::ask_hidden("Password: ")?.ok_or_else(input_closed)?
    };
    while bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
        bytes.pop();
    }
    if bytes.is_empty() {
        let where_ = if args.password_stdin {
            "on stdin"
        } else {
            "given"
        };
        return Err(CliError::usage_missing(format!("no password {where_}")));
    }
    let encoded = Secret::new(console::base64(&bytes));
    bytes.fill(0);
    Ok(encoded)
}

/// `--email-code`: the server emails a one-time code, read from the terminal
/// or, without one, from the first line of stdin.
fn email_code(ctx: &Ctx, client: &Client, args: &LoginArgs) -> Result<TokenPayload> {
    let email = email_for(ctx, args)?;
    let code_token = console::send_email_code(client, &email)?;
    ctx.ui.say(&format!("A sign-in code was sent to {email}"));
    let code = if ctx.ui.interactive() {
        ctx.ui.ask("Enter the code: ")?.ok_or_else(input_closed)?
    } else {
        let mut line = String::new();
        io::stdin()
            .lock()
            .take(STDIN_LIMIT as u64)
            .read_line(&mut line)
            .map_err(|e| CliError::client(format!("cannot read the code from stdin: {e}")))?;
        line.trim().to_string()
    };
    if code.is_empty() {
        let where_ = if ctx.ui.interactive() {
            "given"
        } else {
            "on stdin"
        };
        return Err(CliError::usage_missing(format!("no code {where_}"))
            .with_hint("the code is in the email just sent; run the sign-in again for a new one"));
    }
    let code = Secret::new(code);
    via_console(ctx, client, true, || {
        console::check_email_code(client, &email, &code, &code_token)
    })
}

/// `--console-cookie`: a signed-in browser's console session.
fn console_cookie(ctx: &Ctx, client: &Client) -> Result<TokenPayload> {
    let text = secret_input(
        ctx,
        "Paste the Cookie header value: ",
        "cookie",
        COOKIE_HINT,
    )?;
    let jar = CookieJar::from_header(&text);
    for kind in ["access_token", "csrf_token"] {
        if jar.get(kind).is_none() {
            return Err(
                CliError::usage_invalid(format!("the cookie on stdin has no {kind}"))
                    .with_hint(COOKIE_HINT),
            );
        }
    }
    via_console(ctx, client, false, move || Ok(jar)).map_err(|e| {
        if e.code == ErrorCode::AccessDenied {
            e.with_hint(FRESH_COOKIE_HINT)
        } else {
            e
        }
    })
}

/// Opens (or borrows) a console session, approves our own device code with
/// it and polls the token. A session this sign-in opened (`ours`) is signed
/// out again whatever happened. Ctrl-C (or SIGTERM/SIGHUP) stops the work at
/// its next step or wait, signs that session out, ends a token that was
/// minted meanwhile, and exits 130 with nothing stored; a second one quits
/// at once.
fn via_console(
    ctx: &Ctx,
    client: &Client,
    ours: bool,
    sign_in: impl FnOnce() -> Result<CookieJar>,
) -> Result<TokenPayload> {
    let _cleanup = ours.then(interrupt::Cleanup::enter);
    let spinner = Spinner::start("Signing in", spinner::allowed(ctx.ui.stderr_tty));
    let mut signed_out = Ok(());
    let result = sign_in().and_then(|jar| {
        let result = approve_own_code(client, &jar);
        if ours {
            signed_out = console::logout(client, &jar);
        }
        result
    });
    spinner.stop();
    if let Err(e) = signed_out {
        ctx.ui.warn(&format!(
            "console sign-out failed ({}); that console session ends when it expires",
            e.message
        ));
    }
    if ours && interrupt::check().is_err() {
        if let Ok(payload) = &result {
            let _ = account::revoke_self(client, &payload.token);
        }
        return Err(interrupt::interrupted());
    }
    result
}

/// A device code labelled like any other sign-in from this machine, approved
/// with the console session; the first poll then gets the token.
/// Interrupted before the approval, it stops; after it, the first poll still
/// fetches the token the approval minted, so that it can be ended.
fn approve_own_code(client: &Client, jar: &CookieJar) -> Result<TokenPayload> {
    interrupt::check()?;
    let label = device::label_for_host(&device::local_hostname());
    let code = device::request_code(client, &label)?;
    interrupt::check()?;
    console::approve(client, jar, &code.user_code)?;
    wait_for_token(client, &code, &interrupt::sleep)
}

/// `--email` or, on a terminal, a prompt (check_inputs has made sure one of
/// them is available).
fn email_for(ctx: &Ctx, args: &LoginArgs) -> Result<String> {
    if let Some(email) = args
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        return Ok(email.to_string());
    }
    loop {
        let answer = ctx.ui.ask("Email: ")?.ok_or_else(input_closed)?;
        if !answer.is_empty() {
            return Ok(answer);
        }
    }
}

/// A token or cookie: on a terminal a prompt that does not echo (one line),
/// otherwise all of stdin; trimmed, and never empty.
fn secret_input(ctx: &Ctx, question: &str, what: &str, hint: &str) -> Result<String> {
    // Stdin is a terminal even when stderr is not: the secret is typed or
    // pasted there, and must not be echoed on the screen.
    let bytes = if ctx.ui.stdin_tty {
        noecho::ask_hidden(question)?.unwrap_or_default()
    } else {
        read_stdin_all(what)?
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::usage_invalid(format!("the {what} on stdin is not UTF-8 text")))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(CliError::usage_missing(format!("no {what} on stdin")).with_hint(hint));
    }
    Ok(text.to_string())
}

/// All of stdin, up to [`STDIN_LIMIT`].
fn read_stdin_all(what: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .take(STDIN_LIMIT as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::client(format!("cannot read the {what} from stdin: {e}")))?;
    if bytes.len() > STDIN_LIMIT {
        return Err(CliError::usage_invalid(format!(
            "stdin holds more than {} KiB; expected a {what}",
            STDIN_LIMIT / 1024
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

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
