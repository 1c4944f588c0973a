//! A prompt whose answer the terminal does not echo (passwords, pasted tokens
//! and cookies).
//!
//! Echo goes off with `stty -echo` on stdin, so nothing here depends on the
//! platform's `struct termios` layout. Before that, the terminal's settings
//! are saved with `tcgetattr` into an opaque buffer, and they are put back
//! with `tcsetattr` from that buffer on every path: after the answer, after a
//! read error, and from the Ctrl-C handler (`tcsetattr` is async-signal-safe;
//! running `stty` from a signal handler would not be), see
//! [`restore_on_signal`]. Only the buffer's size depends on the platform, and
//! it is far larger than any `struct termios` (60 bytes on Linux, 72 on macOS).

use crate::error::{CliError, Result};

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

    /// Echo off on stdin until the guard is dropped.
    pub struct EchoOff(());

    impl EchoOff {
        pub fn new() -> std::io::Result<EchoOff> {
            if unsafe { tcgetattr(STDIN, SAVED.0.get() as *mut u8) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            ARMED.store(true, Ordering::SeqCst);
            let guard = EchoOff(());
            let status = Command::new("stty")
                .arg("-echo")
                .stdin(Stdio::inherit())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            if !status.success() {
                return Err(std::io::Error::other(format!("stty -echo: {status}")));
            }
            Ok(guard)
        }
    }

    impl Drop for EchoOff {
        fn drop(&mut self) {
            restore();
        }
    }
}

/// For the SIGINT handler: a Ctrl-C during a hidden prompt must not leave the
/// terminal without echo.
pub fn restore_on_signal() {
    #[cfg(unix)]
    sys::restore();
}

/// Ask on stderr and read one line from stdin (a terminal) without echoing it.
/// Returns the line's bytes without the line end, or `None` when stdin is closed.
#[cfg(unix)]
pub fn ask_hidden(question: &str) -> Result<Option<Vec<u8>>> {
    use std::io::{self, BufRead, Write};

    let mut err = io::stderr();
    let guard = sys::EchoOff::new()
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
