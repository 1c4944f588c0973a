//! The headless methods: `--with-token`, `--password`, `--email-code` and
//! `--console-cookie`.

use std::io::{self, BufRead, Read};

use crate::cli::LoginArgs;
use crate::ctx::Ctx;
use crate::dify::Client;
use crate::dify::account::{self, AccountInfo};
use crate::dify::console::{self, CookieJar};
use crate::dify::device::{self, TokenPayload};
use crate::error::{CliError, ErrorCode, Result};
use crate::output::spinner::Spinner;
use crate::output::term::input_closed;
use crate::output::{interrupt, termmode};
use crate::secret::Secret;

use super::device_flow::wait_for_token;

/// The most of stdin a headless method reads: a token, a cookie or a password.
const STDIN_LIMIT: usize = 64 * 1024;

const TOKEN_HINT: &str =
    "pipe the token in, e.g. 'difyctl auth login --with-token --host HOST < token.txt'";
const COOKIE_HINT: &str = "pipe the Cookie header value of a signed-in console tab: \
     'access_token=…; csrf_token=…' (the __Host- names work too)";
const FRESH_COOKIE_HINT: &str = "copy fresh access_token and csrf_token cookies from a signed-in \
     console tab; the session may have expired or been signed out";

/// `--with-token`: a token minted elsewhere, checked with `GET /account`.
pub fn with_token(ctx: &Ctx, client: &Client) -> Result<TokenPayload> {
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
pub fn password(ctx: &Ctx, client: &Client, args: &LoginArgs, label: &str) -> Result<TokenPayload> {
    let email = email_for(ctx, args)?;
    let password = read_password(ctx, args)?;
    via_console(ctx, client, label, true, || {
        console::password_login(client, &email, &password)
    })
}

/// The password in its wire form (base64 of its bytes, as the console's
/// sign-in takes it; see [`console::password_login`]): from
/// all of stdin with `--password-stdin` (line ends at the end removed), else
/// from a prompt that does not echo. Never from a flag or the environment.
fn read_password(ctx: &Ctx, args: &LoginArgs) -> Result<Secret> {
    let mut bytes = if args.password_stdin && !ctx.ui.stdin_tty {
        read_stdin_all("password")?
    } else {
        termmode::ask_hidden("Password: ")?.ok_or_else(input_closed)?
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
pub fn email_code(
    ctx: &Ctx,
    client: &Client,
    args: &LoginArgs,
    label: &str,
) -> Result<TokenPayload> {
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
    via_console(ctx, client, label, true, || {
        console::check_email_code(client, &email, &code, &code_token)
    })
}

/// `--console-cookie`: a signed-in browser's console session.
pub fn console_cookie(ctx: &Ctx, client: &Client, label: &str) -> Result<TokenPayload> {
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
    via_console(ctx, client, label, false, move || Ok(jar)).map_err(|e| {
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
    label: &str,
    ours: bool,
    sign_in: impl FnOnce() -> Result<CookieJar>,
) -> Result<TokenPayload> {
    let _cleanup = ours.then(interrupt::Cleanup::enter);
    let spinner = Spinner::start("Signing in", &ctx.ui);
    let mut signed_out = Ok(());
    let result = sign_in().and_then(|jar| {
        let result = approve_own_code(client, &jar, label);
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

/// A device code labelled `label` like any other sign-in, approved
/// with the console session; the first poll then gets the token.
/// Interrupted before the approval, it stops; after it, the first poll still
/// fetches the token the approval minted, so that it can be ended.
fn approve_own_code(client: &Client, jar: &CookieJar, label: &str) -> Result<TokenPayload> {
    interrupt::check()?;
    let code = device::request_code(client, label)?;
    interrupt::check()?;
    console::approve(client, jar, &code.user_code)?;
    let (interval, lifetime) = (code.poll_interval(), code.expires_after());
    wait_for_token(
        client,
        &code.device_code,
        interval,
        lifetime,
        &interrupt::sleep,
    )
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
        termmode::ask_hidden(question)?.unwrap_or_default()
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
