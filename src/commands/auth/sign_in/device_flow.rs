//! The OAuth device flow (RFC 8628): a code, the user approves it in a
//! browser, the token is polled.

use std::time::{Duration, Instant};

use crate::cli::LoginArgs;
use crate::ctx::Ctx;
use crate::dify::Client;
use crate::dify::device::{self, DeviceCode, PollOutcome, TokenPayload};
use crate::error::{CliError, ErrorCode, Result};
use crate::output::spinner::Spinner;
use crate::output::term::sanitize_line;
use crate::output::{browser, interrupt};
use crate::secret::Secret;

/// RFC 8628 §3.5: each `slow_down` adds 5 s; we never wait longer than a minute.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
pub const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// Requests a code, shows it (and opens the browser when it can), and waits
/// for the token.
pub fn run(ctx: &Ctx, client: &Client, args: &LoginArgs, label: &str) -> Result<TokenPayload> {
    let code = start(ctx, client, args, label)?;
    wait(ctx, client, &code)
}

/// Requests a code and shows it on stderr (the device flow of [`device`]):
/// the code and URL, then the browser opened, or why not.
pub fn start(ctx: &Ctx, client: &Client, args: &LoginArgs, label: &str) -> Result<DeviceCode> {
    let code = device::request_code(client, label)?;
    show_code(ctx, &code.user_code, &code.verification_uri);
    check_verification_uri(&code.verification_uri, args.insecure)?;

    open_browser(ctx, args, &code.verification_uri)?;
    Ok(code)
}

/// The one-time code and where to enter it, on stderr.
pub fn show_code(ctx: &Ctx, user_code: &str, verification_uri: &str) {
    // Both come from the server: one line each, whatever they hold.
    let style = ctx.ui.stderr_style();
    ctx.ui.say_styled(&format!(
        "{} Copy this one-time code: {}",
        style.yellow("!"),
        style.bold(&sanitize_line(user_code))
    ));
    ctx.ui
        .say(&format!("  Open: {}", sanitize_line(verification_uri)));
}

/// Polls for the token of a code just shown, the spinner turning meanwhile.
fn wait(ctx: &Ctx, client: &Client, code: &DeviceCode) -> Result<TokenPayload> {
    let lifetime = code.expires_after();
    wait_with_spinner(
        ctx,
        client,
        &code.device_code,
        code.poll_interval(),
        lifetime,
    )
}

/// [`wait_for_token`] behind the spinner `Waiting for authorization`.
pub fn wait_with_spinner(
    ctx: &Ctx,
    client: &Client,
    device_code: &Secret,
    interval: Duration,
    lifetime: Duration,
) -> Result<TokenPayload> {
    let spinner = Spinner::start("Waiting for authorization", &ctx.ui);
    let result = wait_for_token(client, device_code, interval, lifetime, &interrupt::sleep);
    spinner.stop();
    result
}

/// Opens the verification URL unless `--no-browser` (then nothing is said:
/// the URL above is what was asked for) or there is no one to see it; a
/// browser that cannot be started is one line naming it, with the URL.
fn open_browser(ctx: &Ctx, args: &LoginArgs, uri: &str) -> Result<()> {
    if args.no_browser {
        return Ok(());
    }
    let set = |k: &str| ctx.env.is_set(k);
    match browser::skip_reason(set, ctx.ui.stdout_tty, ctx.ui.stderr_tty) {
        Some(reason) => ctx
            .ui
            .warn(&format!("{reason} — open the URL above manually")),
        None => {
            if let Err(why) = browser::open(uri, ctx.env.text("BROWSER")?) {
                ctx.ui
                    .warn(&format!("{why}; open {} manually", sanitize_line(uri)));
            }
        }
    }
    Ok(())
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

/// Poll until approved: first at once, then every `interval` (RFC 8628),
/// with `slow_down` adding 5 s up to a minute, until `lifetime` ends (see
/// [`DeviceCode::expires_after`]). Time is what `sleep` waited, or more
/// when the clock says so, so a test's sleep that returns at once still
/// reaches the deadline.
pub fn wait_for_token(
    client: &Client,
    device_code: &Secret,
    interval: Duration,
    lifetime: Duration,
    sleep: &dyn Fn(Duration) -> Result<()>,
) -> Result<TokenPayload> {
    let mut interval = interval.min(MAX_INTERVAL);
    let started = Instant::now();
    let mut slept = Duration::ZERO;
    loop {
        match device::poll(client, device_code, sleep)? {
            PollOutcome::Token(payload) => return Ok(*payload),
            PollOutcome::Pending => {}
            PollOutcome::SlowDown => interval = slowed_down(interval),
        }
        let left = lifetime.saturating_sub(slept.max(started.elapsed()));
        if left.is_zero() {
            return Err(code_expired());
        }
        let wait = interval.min(left);
        sleep(wait)?;
        slept = slept.saturating_add(wait);
    }
}

/// The interval after a `slow_down`: 5 s more (RFC 8628 §3.5), at most a
/// minute.
pub fn slowed_down(interval: Duration) -> Duration {
    interval.saturating_add(SLOW_DOWN_STEP).min(MAX_INTERVAL)
}

/// The code's lifetime ended on the client's clock (the server may not have
/// said so yet).
pub fn code_expired() -> CliError {
    CliError::new(ErrorCode::ExpiredToken, "code expired before authorization")
        .with_hint("run 'difyctl auth login' again and approve the code within its lifetime")
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
