//! The retry policy: how many retries follow a failed first attempt
//! (`--http-retry`, then `DIFYCTL_HTTP_RETRY`, then 3; 0 disables them), the
//! backoff schedule (300 ms doubling, capped at 30 s) and `Retry-After`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{CliError, Result};

/// Retries after the first attempt when neither `--http-retry` nor
/// `DIFYCTL_HTTP_RETRY` says: four attempts in all.
pub const DEFAULT_RETRIES: u32 = 3;

/// Statuses worth another attempt for idempotent methods.
pub const RETRY_STATUSES: [u16; 6] = [408, 413, 500, 502, 503, 504];

/// The longest `Retry-After` a 429 may ask for and still be waited out.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

const BASE_DELAY: Duration = Duration::from_millis(300);
const MAX_DELAY: Duration = Duration::from_secs(30);

/// The retries after a failed first attempt: `--http-retry` wins, then
/// `DIFYCTL_HTTP_RETRY`, then 3 (N retries are N + 1 attempts, as the official
/// tool counts them). `env` is the variable's value, passed in so callers and
/// tests control it.
pub fn resolve_retries(flag: Option<u32>, env: Option<&str>) -> Result<u32> {
    if let Some(n) = flag {
        return Ok(n);
    }
    let invalid = |message: String| {
        CliError::usage_invalid(message)
            .with_hint("set DIFYCTL_HTTP_RETRY to a whole number of retries, e.g. 3, or unset it")
    };
    match env.map(str::trim) {
        None | Some("") => Ok(DEFAULT_RETRIES),
        Some(v) => v.parse::<u32>().map_err(|_| {
            let negative = v
                .strip_prefix('-')
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
            if negative {
                invalid(format!("DIFYCTL_HTTP_RETRY: {v} is negative"))
            } else {
                invalid(format!(
                    "DIFYCTL_HTTP_RETRY: {v:?} is not a non-negative integer"
                ))
            }
        }),
    }
}

/// The wait after failed attempt `n` (1-based): 300 ms × 2^(n-1), capped at 30 s.
pub fn backoff(n: u32) -> Duration {
    let shift = n.saturating_sub(1).min(16);
    BASE_DELAY.saturating_mul(1 << shift).min(MAX_DELAY)
}

/// Parses a `Retry-After` value: delta-seconds or an IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`). A date in the past means "now".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = parse_imf_fixdate(value)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Seconds since the Unix epoch of an IMF-fixdate, the only HTTP-date form
/// servers are allowed to send (RFC 9110 §5.6.7).
fn parse_imf_fixdate(s: &str) -> Option<u64> {
    let (wday, rest) = s.split_once(", ")?;
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    if !DAYS.contains(&wday) {
        return None;
    }
    let mut parts = rest.split(' ');
    let (day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() || zone != "GMT" || day.len() != 2 || year.len() != 4 {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let day: u32 = digits(day)?;
    let year: i64 = digits(year)?;
    let mut hms = time.split(':');
    let (h, m, sec) = (hms.next()?, hms.next()?, hms.next()?);
    if hms.next().is_some() || h.len() != 2 || m.len() != 2 || sec.len() != 2 {
        return None;
    }
    let (h, m, sec): (u64, u64, u64) = (digits(h)?, digits(m)?, digits(sec)?);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = crate::time::days_from_civil(year, month, day);
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3600 + m * 60 + sec)
}

fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn retries_prefer_flag_then_env_then_default() {
        assert_eq!(resolve_retries(Some(5), Some("x")).unwrap(), 5);
        assert_eq!(resolve_retries(None, Some("7")).unwrap(), 7);
        assert_eq!(resolve_retries(None, Some(" 0 ")).unwrap(), 0);
        assert_eq!(resolve_retries(None, None).unwrap(), 3);
        assert_eq!(resolve_retries(None, Some("")).unwrap(), 3);
        for (bad, message) in [
            ("-1", "DIFYCTL_HTTP_RETRY: -1 is negative"),
            (
                "abc",
                "DIFYCTL_HTTP_RETRY: \"abc\" is not a non-negative integer",
            ),
            (
                "1.5",
                "DIFYCTL_HTTP_RETRY: \"1.5\" is not a non-negative integer",
            ),
            (
                "-",
                "DIFYCTL_HTTP_RETRY: \"-\" is not a non-negative integer",
            ),
            (
                "99999999999",
                "DIFYCTL_HTTP_RETRY: \"99999999999\" is not a non-negative integer",
            ),
        ] {
            let e = resolve_retries(None, Some(bad)).unwrap_err();
            assert_eq!(
                (e.code, e.exit_code()),
                (ErrorCode::UsageInvalidFlag, 2),
                "{bad}"
            );
            assert_eq!(e.message, message);
        }
    }

    #[test]
    fn backoff_doubles_from_300ms_and_caps_at_30s() {
        let ms: Vec<u128> = (1..=9).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(ms, [300, 600, 1200, 2400, 4800, 9600, 19200, 30000, 30000]);
        assert_eq!(backoff(u32::MAX), Duration::from_secs(30));
        assert_eq!(backoff(0), Duration::from_millis(300));
    }

    #[test]
    fn retry_after_seconds() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("60", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert!(parse_retry_after("99999999999999999999999", now).unwrap() > MAX_RETRY_AFTER);
    }

    #[test]
    fn retry_after_http_date() {
        // 1994-11-06T08:49:37Z is 784111777 s after the epoch (RFC 9110's example).
        let base = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(parse_retry_after(date, base), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(date, base - Duration::from_secs(42)),
            Some(Duration::from_secs(42))
        );
        assert_eq!(
            parse_retry_after(date, base + Duration::from_secs(5)),
            Some(Duration::ZERO)
        );
        // Leap day and year boundaries.
        assert_eq!(
            parse_imf_fixdate("Thu, 29 Feb 2024 00:00:00 GMT"),
            Some(1_709_164_800)
        );
        assert_eq!(parse_imf_fixdate("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_imf_fixdate("Fri, 31 Dec 1999 23:59:59 GMT"),
            Some(946_684_799)
        );
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "Sun, 06 Nov +994 08:49:37 GMT",
        ] {
            assert_eq!(parse_imf_fixdate(bad), None, "{bad}");
        }
    }
}
