//! Signals. Ctrl-C (SIGINT) exits 130 at once; SIGTERM, SIGHUP and SIGQUIT
//! end the process as the signal does. Either way a terminal left without
//! echo by a hidden prompt is restored first. Two kinds of scope change that:
//!
//! * [`Critical`], around the final file writes (milliseconds): the signal
//!   waits until the scope ends, so files are the old ones or the new ones.
//! * [`Cleanup`], around work that must be undone when interrupted (a console
//!   session to sign out): the first signal wakes every [`sleep`] and makes
//!   [`check`] fail with `interrupted`, so the work stops at its next step and
//!   cleans up, then exits 130; a second signal ends the process at once.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::error::{CliError, ErrorCode};

static CRITICAL: AtomicUsize = AtomicUsize::new(0);
static CLEANUP: AtomicUsize = AtomicUsize::new(0);
/// The signal that is waiting to take effect, 0 for none.
static PENDING: AtomicI32 = AtomicI32::new(0);
/// The write end of the pipe that wakes [`sleep`] (-1 before [`install`]).
static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);
static WAKE_READ: AtomicI32 = AtomicI32::new(-1);

#[cfg(unix)]
mod sys {
    use std::ffi::{c_int, c_short};

    pub const SIGINT: c_int = 2;
    pub const SIGHUP: c_int = 1;
    pub const SIGQUIT: c_int = 3;
    pub const SIGTERM: c_int = 15;
    pub const SIG_DFL: usize = 0;
    pub const POLLIN: c_short = 1;
    /// `O_CLOEXEC` on Linux; elsewhere the pipe is made with plain `pipe`.
    pub const O_CLOEXEC: c_int = 0o2000000;

    #[repr(C)]
    pub struct PollFd {
        pub fd: c_int,
        pub events: c_short,
        pub revents: c_short,
    }

    unsafe extern "C" {
        pub fn signal(signum: c_int, handler: usize) -> usize;
        pub fn raise(signum: c_int) -> c_int;
        pub fn _exit(status: c_int) -> !;
        pub fn write(fd: c_int, buf: *const u8, count: usize) -> isize;
        pub fn poll(fds: *mut PollFd, nfds: std::ffi::c_ulong, timeout: c_int) -> c_int;
        #[cfg(target_os = "linux")]
        pub fn pipe2(fds: *mut c_int, flags: c_int) -> c_int;
        #[cfg(not(target_os = "linux"))]
        pub fn pipe(fds: *mut c_int) -> c_int;
    }
}

/// The exit status of Ctrl-C, from the one table of exit statuses.
const INTERRUPTED_EXIT: u8 = ErrorCode::Interrupted.exit_status();

/// Ends the process as `sig` would, the terminal restored first. Only
/// async-signal-safe calls: it runs in the signal handler.
#[cfg(unix)]
fn die(sig: std::ffi::c_int) -> ! {
    let cleared = super::termmode::restore();
    unsafe {
        if sig == sys::SIGINT {
            // End the line that was interrupted (a prompt), unless it was a
            // spinner's, which is gone.
            if !cleared {
                sys::write(2, b"\n".as_ptr(), 1);
            }
            sys::_exit(INTERRUPTED_EXIT.into());
        }
        sys::signal(sig, sys::SIG_DFL);
        sys::raise(sig);
        sys::_exit(128 + sig);
    }
}

#[cfg(unix)]
extern "C" fn on_signal(sig: std::ffi::c_int) {
    if CRITICAL.load(Ordering::SeqCst) > 0 {
        let _ = PENDING.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
        return;
    }
    if CLEANUP.load(Ordering::SeqCst) > 0
        && PENDING
            .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    {
        let fd = WAKE_WRITE.load(Ordering::SeqCst);
        if fd >= 0 {
            unsafe {
                sys::write(fd, b"!".as_ptr(), 1);
            }
        }
        return;
    }
    die(sig);
}

/// Install the handlers (once, at start-up).
pub fn install() {
    #[cfg(unix)]
    unsafe {
        let mut fds = [-1; 2];
        #[cfg(target_os = "linux")]
        let made = sys::pipe2(fds.as_mut_ptr(), sys::O_CLOEXEC);
        #[cfg(not(target_os = "linux"))]
        let made = sys::pipe(fds.as_mut_ptr());
        if made == 0 {
            WAKE_READ.store(fds[0], Ordering::SeqCst);
            WAKE_WRITE.store(fds[1], Ordering::SeqCst);
        }
        let handler = on_signal as extern "C" fn(std::ffi::c_int) as usize;
        for sig in [sys::SIGINT, sys::SIGTERM, sys::SIGHUP, sys::SIGQUIT] {
            sys::signal(sig, handler);
        }
    }
    // A panic (which aborts in release builds, running no destructor)
    // leaves the terminal as it found it too.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        super::termmode::restore();
        report(info);
    }));
}

/// The error of work stopped by a signal: exit 130, and nothing more to say
/// than the newline that ends the interrupted line.
pub fn interrupted() -> CliError {
    CliError::new(ErrorCode::Interrupted, "").plain()
}

/// `interrupted` once a signal came during a [`Cleanup`] scope.
pub fn check() -> Result<(), CliError> {
    match PENDING.load(Ordering::SeqCst) {
        0 => Ok(()),
        _ => Err(interrupted()),
    }
}

/// Sleeps for `d`, or less when a signal comes during a [`Cleanup`] scope:
/// then `interrupted`. (Outside such a scope a signal ends the process.)
pub fn sleep(d: Duration) -> Result<(), CliError> {
    check()?;
    #[cfg(unix)]
    {
        let fd = WAKE_READ.load(Ordering::SeqCst);
        if fd >= 0 {
            let end = Instant::now() + d;
            loop {
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let ms = left.as_millis().clamp(1, i32::MAX as u128) as std::ffi::c_int;
                let mut pfd = sys::PollFd {
                    fd,
                    events: sys::POLLIN,
                    revents: 0,
                };
                // Readable only once a signal was deferred: then stop. (The
                // byte stays, so every later sleep stops at once too.)
                if unsafe { sys::poll(&mut pfd, 1, ms) } > 0 {
                    break;
                }
                check()?;
            }
            return check();
        }
    }
    std::thread::sleep(d);
    check()
}

/// While the guard lives, signals are deferred; dropping it acts on one
/// that came (unless a [`Cleanup`] scope is there to handle it).
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
        if CRITICAL.fetch_sub(1, Ordering::SeqCst) == 1 && CLEANUP.load(Ordering::SeqCst) == 0 {
            let sig = PENDING.load(Ordering::SeqCst);
            if sig != 0 {
                #[cfg(unix)]
                die(sig);
                #[cfg(not(unix))]
                std::process::exit(INTERRUPTED_EXIT.into());
            }
        }
    }
}

/// While the guard lives, the first signal is turned into `interrupted` for
/// the work to stop at its next [`check`] or [`sleep`] and clean up; a
/// second one ends the process at once.
#[derive(Debug)]
pub struct Cleanup(());

impl Cleanup {
    pub fn enter() -> Cleanup {
        CLEANUP.fetch_add(1, Ordering::SeqCst);
        Cleanup(())
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        CLEANUP.fetch_sub(1, Ordering::SeqCst);
    }
}
