//! Ctrl-C: exit 130 at once, except while state files are being written,
//! when the exit waits until the write is complete (so an interrupted sign-in
//! leaves either the old files or the new ones, never a half of each).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static CRITICAL: AtomicUsize = AtomicUsize::new(0);
static PENDING: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
mod sys {
    use std::ffi::c_int;

    pub const SIGINT: c_int = 2;

    unsafe extern "C" {
        pub fn signal(signum: c_int, handler: usize) -> usize;
        pub fn _exit(status: c_int) -> !;
        pub fn write(fd: c_int, buf: *const u8, count: usize) -> isize;
    }
}

#[cfg(unix)]
extern "C" fn on_sigint(_: std::ffi::c_int) {
    if CRITICAL.load(Ordering::SeqCst) > 0 {
        PENDING.store(true, Ordering::SeqCst);
        return;
    }
    // Only async-signal-safe calls here: echo back on if a hidden prompt
    // turned it off, end the spinner's line, then exit.
    super::noecho::restore_on_signal();
    unsafe {
        sys::write(2, b"\n".as_ptr(), 1);
        sys::_exit(130);
    }
}

/// Install the handler (once, at start-up).
pub fn install() {
    #[cfg(unix)]
    unsafe {
        sys::signal(
            sys::SIGINT,
            on_sigint as extern "C" fn(std::ffi::c_int) as usize,
        );
    }
}

/// While the guard lives, Ctrl-C is deferred; dropping it exits 130 if one came.
#[derive(Debug)]
pub struct Critical(());

impl Critical {
    pub fn enter() -> Critical {
        CRITICAL.fetch_add(1, Ordering::SeqCst);
        Critical(())
    }
}

impl Drop for Critical {
    fn drop(&mut self) {
        if CRITICAL.fetch_sub(1, Ordering::SeqCst) == 1 && PENDING.load(Ordering::SeqCst) {
            std::process::exit(130);
        }
    }
}
