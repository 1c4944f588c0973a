//! Opening the device flow's verification URL in a browser.

use std::process::{Command, Stdio};

/// Why the browser is not opened, or `None` to open it. `set` says whether
/// a variable is set (to a non-empty value).
pub fn skip_reason(
    no_browser: bool,
    set: impl Fn(&str) -> bool,
    stdout_tty: bool,
    stderr_tty: bool,
) -> Option<&'static str> {
    if no_browser {
        Some("--no-browser requested")
    } else if set("SSH_CONNECTION") || set("SSH_TTY") {
        Some("Detected SSH session")
    } else if cfg!(target_os = "linux") && !set("DISPLAY") && !set("WAYLAND_DISPLAY") {
        Some("Headless Linux (no DISPLAY / WAYLAND_DISPLAY)")
    } else if !stdout_tty || !stderr_tty {
        Some("Non-interactive TTY")
    } else {
        None
    }
}

/// Start the platform's opener without waiting for it.
pub fn open(url: &str) -> std::io::Result<()> {
    let mut cmd = if cfg!(target_os = "macos") {
        Command::new("open")
    } else if cfg!(windows) {
        let mut c = Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    } else {
        Command::new("xdg-open")
    };
    cmd.arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> bool + 'a {
        move |k| pairs.iter().any(|(n, v)| *n == k && !v.is_empty())
    }

    #[test]
    fn skip_reasons_in_order() {
        let gui = [("DISPLAY", ":0")];
        assert_eq!(
            skip_reason(true, env(&gui), true, true),
            Some("--no-browser requested")
        );
        assert_eq!(
            skip_reason(
                false,
                env(&[("DISPLAY", ":0"), ("SSH_TTY", "/dev/pts/1")]),
                true,
                true
            ),
            Some("Detected SSH session")
        );
        if cfg!(target_os = "linux") {
            assert_eq!(
                skip_reason(false, env(&[]), true, true),
                Some("Headless Linux (no DISPLAY / WAYLAND_DISPLAY)")
            );
        }
        assert_eq!(
            skip_reason(false, env(&gui), false, true),
            Some("Non-interactive TTY")
        );
        assert_eq!(skip_reason(false, env(&gui), true, true), None);
    }
}
