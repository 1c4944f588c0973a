//! Opening the device flow's verification URL in a browser: `$BROWSER`
//! first (as gh, git and xdg-open read it), else the platform's opener.

use std::process::{Command, Stdio};

/// Why the browser is not opened, or `None` to open it. `set` says whether
/// a variable is set (to a non-empty value). `--no-browser` is handled by
/// the caller: it asked for exactly this, so nothing is said about it.
pub fn skip_reason(
    set: impl Fn(&str) -> bool,
    stdout_tty: bool,
    stderr_tty: bool,
) -> Option<&'static str> {
    if set("BROWSER") {
        // The user named the browser: it is used wherever the command runs.
        None
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

/// Starts a browser on `url` without waiting for it: each command of
/// `browser` (`$BROWSER`: commands separated by `:`, each split at blanks,
/// `%s` standing for the URL, else the URL added as the last argument) until
/// one starts, else the platform's opener. The error is one sentence naming
/// what could not be started.
pub fn open(url: &str, browser: Option<&str>) -> Result<(), String> {
    if let Some(list) = browser.filter(|b| !b.trim().is_empty()) {
        let mut tried = Vec::new();
        for entry in list.split(':').map(str::trim).filter(|e| !e.is_empty()) {
            let mut words = entry.split_whitespace();
            let Some(program) = words.next() else {
                continue;
            };
            let mut args: Vec<String> = words.map(|w| w.replace("%s", url)).collect();
            if !entry.contains("%s") {
                args.push(url.to_string());
            }
            match spawn(Command::new(program).args(&args)) {
                Ok(()) => return Ok(()),
                Err(e) => tried.push(format!("{program}: {}", why(&e))),
            }
        }
        return Err(format!("could not start $BROWSER ({})", tried.join("; ")));
    }
    let (program, mut cmd) = if cfg!(target_os = "macos") {
        ("open", Command::new("open"))
    } else if cfg!(windows) {
        let mut c = Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        ("rundll32", c)
    } else {
        ("xdg-open", Command::new("xdg-open"))
    };
    spawn(cmd.arg(url)).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!(
                "no browser opener found ({program} is not installed; set BROWSER to choose one)"
            )
        }
        _ => format!("could not start {program} ({})", why(&e)),
    })
}

fn spawn(cmd: &mut Command) -> std::io::Result<()> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
}

/// An I/O error in a few words, without the `(os error N)` tail.
fn why(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not found".to_string(),
        std::io::ErrorKind::PermissionDenied => "not executable".to_string(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(at) => text[..at].to_string(),
                None => text,
            }
        }
    }
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
            skip_reason(
                env(&[("DISPLAY", ":0"), ("SSH_TTY", "/dev/pts/1")]),
                true,
                true
            ),
            Some("Detected SSH session")
        );
        if cfg!(target_os = "linux") {
            assert_eq!(
                skip_reason(env(&[]), true, true),
                Some("Headless Linux (no DISPLAY / WAYLAND_DISPLAY)")
            );
        }
        assert_eq!(
            skip_reason(env(&gui), false, true),
            Some("Non-interactive TTY")
        );
        assert_eq!(skip_reason(env(&gui), true, true), None);
        // A browser the user named is used over SSH, headless, in a pipe.
        let named = [("BROWSER", "w3m"), ("SSH_TTY", "/dev/pts/1")];
        assert_eq!(skip_reason(env(&named), false, false), None);
    }

    #[test]
    fn browser_commands_that_cannot_start_are_named() {
        let e = open(
            "https://x.test/device",
            Some("/nonexistent/one --new-tab: /nonexistent/two %s"),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "could not start $BROWSER (/nonexistent/one: not found; /nonexistent/two: not found)"
        );
    }
}
