//! Terminal states that must always be undone: a prompt whose answer the
//! terminal does not echo (passwords, pasted tokens and cookies), the
//! key-at-a-time input of a picker, a hidden cursor, a spinner's line.
//!
//! Modes change with `stty` on stdin (`-echo`; `-icanon -echo min 1 time 0`
//! for a picker, keeping the terminal's Ctrl-C), so nothing here depends on
//! the platform's `struct termios` layout. Before that, the terminal's
//! settings are saved with `tcgetattr` into an opaque buffer, and they are
//! put back with `tcsetattr` from that buffer on every path: when the guard
//! is dropped (the answer, an error), from the signal handler (`tcsetattr`
//! and `write` are async-signal-safe; running `stty` there would not be) and
//! from the panic hook, see [`restore`]. Only the buffer's size depends on
//! the platform, and it is far larger than any `struct termios` (60 bytes on
//! Linux, 72 on macOS).

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{CliError, Result};

/// The cursor is hidden (a picker is drawn): [`restore`] shows it.
static CURSOR_HIDDEN: AtomicBool = AtomicBool::new(false);
/// A spinner is drawing on stderr's current line: [`restore`] clears it.
pub static SPINNING: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
mod sys {
    use std::cell::UnsafeCell;
    use std::ffi::c_int;
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// `TCSANOW` is 0 on Linux, macOS and the BSDs.
    const TCSANOW: c_int = 0;
    const STDIN: c_int = 0;

    unsafe extern "C" {
        fn tcgetattr(fd: c_int, termios: *mut u8) -> c_int;
        fn tcsetattr(fd: c_int, action: c_int, termios: *const u8) -> c_int;
        pub fn write(fd: c_int, buf: *const u8, count: usize) -> isize;
    }

    /// Room for any `struct termios`, 8-byte aligned.
    struct Saved(UnsafeCell<[u64; 64]>);

    // Written only before ARMED is set, read only while it is set.
    unsafe impl Sync for Saved {}

    static SAVED: Saved = Saved(UnsafeCell::new([0; 64]));
    static ARMED: AtomicBool = AtomicBool::new(false);

    /// Puts the saved settings back, once. Async-signal-safe.
    pub fn restore() {
        if ARMED.swap(false, Ordering::SeqCst) {
            unsafe {
                tcsetattr(STDIN, TCSANOW, SAVED.0.get() as *const u8);
            }
        }
    }

    /// stdin in the mode the `stty` arguments set, until the guard is dropped.
    pub struct Mode(());

    impl Mode {
        pub fn new(stty: &[&str]) -> std::io::Result<Mode> {
            if unsafe { tcgetattr(STDIN, SAVED.0.get() as *mut u8) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            ARMED.store(true, Ordering::SeqCst);
            let guard = Mode(());
            let status = Command::new("stty")
                .args(stty)
                .stdin(Stdio::inherit())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            if !status.success() {
                return Err(std::io::Error::other(format!(
                    "stty {}: {status}",
                    stty.join(" ")
                )));
            }
            Ok(guard)
        }
    }

    impl Drop for Mode {
        fn drop(&mut self) {
            restore();
        }
    }
}

/// Key-at-a-time input without echo (Ctrl-C still interrupts), and a
/// hidden cursor, until dropped.
#[cfg(unix)]
pub struct Keys {
    _mode: sys::Mode,
}

#[cfg(unix)]
impl Keys {
    pub fn new() -> Result<Keys> {
        let mode = sys::Mode::new(&["-icanon", "-echo", "min", "1", "time", "0"])
            .map_err(|e| CliError::client(format!("cannot read keys from the terminal: {e}")))?;
        CURSOR_HIDDEN.store(true, Ordering::SeqCst);
        write_stderr(b"\x1b[?25l");
        Ok(Keys { _mode: mode })
    }
}

#[cfg(unix)]
impl Drop for Keys {
    fn drop(&mut self) {
        if CURSOR_HIDDEN.swap(false, Ordering::SeqCst) {
            write_stderr(b"\x1b[?25h");
        }
    }
}

fn write_stderr(bytes: &[u8]) {
    #[cfg(unix)]
    unsafe {
        sys::write(2, bytes.as_ptr(), bytes.len());
    }
    #[cfg(not(unix))]
    {
        use std::io::Write;
        let _ = std::io::stderr().write_all(bytes);
    }
}

/// Undo every terminal state of this module: the saved settings, the
/// cursor, the spinner's line. For the signal handler and the panic hook:
/// async-signal-safe. Says whether a spinner's line was cleared (then the
/// cursor is at the start of an empty line).
pub fn restore() -> bool {
    #[cfg(unix)]
    sys::restore();
    if CURSOR_HIDDEN.swap(false, Ordering::SeqCst) {
        write_stderr(b"\x1b[?25h");
    }
    let spinning = SPINNING.swap(false, Ordering::SeqCst);
    if spinning {
        write_stderr(b"\r\x1b[2K");
    }
    spinning
}

/// Ask on stderr and read one line from stdin (a terminal) without echoing it.
/// Returns the line's bytes without the line end, or `None` when stdin is closed.
#[cfg(unix)]
pub fn ask_hidden(question: &str) -> Result<Option<Vec<u8>>> {
    use std::io::{self, BufRead, Write};

    let mut err = io::stderr();
    let guard = sys::Mode::new(&["-echo"])
        .map_err(|e| CliError::client(format!("cannot turn off terminal echo: {e}")))?;
    let _ = write!(err, "{}", super::term::sanitize(question));
    let _ = err.flush();
    let mut line = Vec::new();
    let read = io::stdin().lock().read_until(b'\n', &mut line);
    drop(guard);
    // The Enter that the terminal did not echo.
    let _ = writeln!(err);
    match read {
        Ok(0) => Ok(None),
        Ok(_) => {
            while line.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
                line.pop();
            }
            Ok(Some(line))
        }
        Err(e) => Err(CliError::client(format!(
            "cannot read from the terminal: {e}"
        ))),
    }
}

#[cfg(not(unix))]
pub fn ask_hidden(_question: &str) -> Result<Option<Vec<u8>>> {
    Err(
        CliError::usage_missing("a hidden prompt is not available on this platform")
            .with_hint("pipe the secret on stdin instead"),
    )
}
