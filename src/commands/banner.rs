//! The compatibility banner: when a command that talks to a signed-in server
//! finds that server outside the range this build supports, standard error
//! gets, once per server per 24 hours,
//!
//! ```text
//! warning: difyctl 0.2.0 may be incompatible with server 1.6.4 (tested: 1.14.0..1.18.0). Run `difyctl version` for details.
//! ```
//!
//! Only for a person at a terminal (standard output and standard error both
//! terminals), never with structured output (`--json`), and it never fails the
//! command: whatever goes wrong only means no banner. When it was last shown
//! is kept per server in `nudge.yml` in the cache directory (see
//! [`state::load_nudges`]).
//!
//! The server's version costs no request: it is the one the server last
//! reported (every answer names it in `X-Version`), remembered per server
//! with what the catalog handshake learns. The first command to a server
//! only learns it; the next one can warn.

use std::io::Write;
use std::path::Path;

use crate::build_facts::VERSION;
use crate::compat::{self, Status};
use crate::ctx::Ctx;
use crate::output::term::sanitize_line;
use crate::state;

/// How long a shown banner keeps quiet about the same server.
pub const QUIET_SECS: i64 = 24 * 3600;

/// Shows the banner about `server` (`<scheme>://<host>`) when it is due.
/// `version` tells the server's version (`None`: unknown, no banner); it is
/// asked only when a banner could be shown at all.
pub fn show(ctx: &Ctx, structured: bool, server: &str, version: impl FnOnce() -> Option<String>) {
    let ui = &ctx.ui;
    if structured || !(ui.stdout_tty && ui.stderr_tty) {
        return;
    }
    let Some(dir) = ctx.cache_dir() else {
        return;
    };
    if let Some(line) = due(dir, server, ctx.clock.unix_millis(), version) {
        let _ = writeln!(std::io::stderr(), "{}", ui.stderr_style().yellow(&line));
    }
}

/// The banner line when one is due about `server` at `now` (milliseconds
/// since the epoch), recorded as shown in `cache_dir`.
pub fn due(
    cache_dir: &Path,
    server: &str,
    now: i64,
    version: impl FnOnce() -> Option<String>,
) -> Option<String> {
    let last = state::load_nudges(cache_dir).warned_at(server);
    if !quiet_over(last, now.div_euclid(1000)) {
        return None;
    }
    let version = version()?;
    if compat::evaluate(&version).status != Status::Unsupported {
        return None;
    }
    // Shown even when it cannot be recorded: the next command shows it again.
    let _ = state::mark_warned(cache_dir, server, now);
    Some(line(&version))
}

/// Whether the quiet time after the last banner (seconds) is over at `now`. A
/// time less than a day ahead (a clock set back) still keeps quiet; one
/// further ahead is not believed.
fn quiet_over(last: Option<i64>, now: i64) -> bool {
    last.is_none_or(|at| (now - at).abs() >= QUIET_SECS)
}

fn line(server_version: &str) -> String {
    format!(
        "warning: difyctl {VERSION} may be incompatible with server {} (tested: {}..{}). \
         Run `difyctl version` for details.",
        sanitize_line(server_version),
        compat::MIN_DIFY,
        compat::MAX_DIFY
    )
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::state::testutil::TempDir;

    const HOUR_MS: i64 = 3_600_000;
    /// 2026-06-15T10:00:00Z.
    const T0: i64 = 1_781_517_600_000;

    fn old() -> Option<String> {
        Some("1.6.4".to_owned())
    }

    #[test]
    fn once_per_server_per_day() {
        let tmp = TempDir::new();
        let dir = tmp.path();
        let a = "https://a.example.com";
        let b = "http://127.0.0.1:5001";
        assert_eq!(
            due(dir, a, T0, old),
            Some(format!(
                "warning: difyctl {VERSION} may be incompatible with server 1.6.4 (tested: \
                 1.14.0..1.18.0). Run `difyctl version` for details."
            ))
        );
        assert_eq!(due(dir, a, T0 + 23 * HOUR_MS, old), None);
        // Another server has its own day.
        assert!(due(dir, b, T0 + HOUR_MS, old).is_some());
        assert!(due(dir, a, T0 + 24 * HOUR_MS, old).is_some());
        assert_eq!(due(dir, a, T0 + 47 * HOUR_MS, old), None);
        assert_eq!(
            state::load_nudges(dir).warned_at(a),
            Some((T0 + 24 * HOUR_MS) / 1000)
        );
    }

    #[test]
    fn only_an_unsupported_server_is_worth_a_banner() {
        let tmp = TempDir::new();
        let dir = tmp.path();
        for version in ["1.16.1", "", "nightly"] {
            let v = || Some(version.to_owned());
            assert_eq!(due(dir, "https://h", T0, v), None, "{version}");
        }
        assert_eq!(due(dir, "https://h", T0, || None), None);
        assert!(!state::nudge_path(dir).exists(), "nothing recorded");
        assert!(due(dir, "https://h", T0, || Some("2.0.0".into())).is_some());
    }

    #[test]
    fn the_version_is_not_asked_while_quiet() {
        let tmp = TempDir::new();
        let dir = tmp.path();
        assert!(due(dir, "https://h", T0, old).is_some());
        let asked = Cell::new(false);
        let v = || {
            asked.set(true);
            old()
        };
        assert_eq!(due(dir, "https://h", T0 + HOUR_MS, v), None);
        assert!(!asked.get());
    }

    #[test]
    fn a_clock_set_back_keeps_quiet_for_a_day_at_most() {
        assert!(quiet_over(None, 0));
        assert!(!quiet_over(Some(1000), 1000 - 3600));
        assert!(quiet_over(Some(1000 + QUIET_SECS), 1000));
        assert!(!quiet_over(Some(1000), 1000 + QUIET_SECS - 1));
        assert!(quiet_over(Some(1000), 1000 + QUIET_SECS));
    }

    #[test]
    fn a_cache_that_cannot_be_written_still_warns() {
        let tmp = TempDir::new();
        let file = tmp.path().join("not-a-dir");
        std::fs::write(&file, "").unwrap();
        assert!(due(&file, "https://h", T0, old).is_some());
        assert!(due(&file, "https://h", T0, old).is_some());
    }
}
