//! `<file>.lock`: the official tool's mutual exclusion for its YAML stores.
//!
//! The lock is a file created exclusively (`O_EXCL`) next to the store and
//! removed on release. A held lock is waited for (the official tool fails at
//! once); a lock older than `stale_after` was left by a dead process and is taken
//! over, as the official `lockfile` package does.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crate::output::error::CliError;
use crate::output::interrupt::Critical;

/// How long to wait for a held lock and when a lock counts as abandoned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockOptions {
    pub wait: Duration,
    pub stale_after: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            wait: Duration::from_secs(10),
            stale_after: Duration::from_secs(30),
        }
    }
}

/// A held lock; released (the lock file removed) on drop.
#[derive(Debug)]
pub struct LockGuard {
    path: PathBuf,
    /// Ctrl-C waits while the lock is held, so an interrupt never strands a
    /// fresh lock that would stall the next command. Dropped after the file
    /// is removed (fields drop after `Drop::drop`).
    _no_interrupt: Critical,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// `<file>.lock` for a store at `file`.
pub fn lock_path(file: &Path) -> PathBuf {
    suffixed(file, ".lock")
}

pub(crate) fn suffixed(file: &Path, suffix: &str) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The official message for a lock that stays held.
pub fn held_error(file: &Path) -> CliError {
    let file = file.display();
    CliError::client(format!(
        "Another process is modifying the file {file}. remove {file}.lock to reset lock."
    ))
    .with_hint(format!("remove {file}.lock to reset lock."))
}

/// Why a lock could not be taken at all (as opposed to being held by someone).
pub(crate) enum Unlockable {
    /// The directory is missing or not writable (e.g. a read-only config copy).
    CannotCreate(io::Error),
    Other(CliError),
}

/// Takes the lock for `file`, waiting up to `opts.wait` while another process
/// holds it.
pub(crate) fn acquire(
    file: &Path,
    opts: LockOptions,
) -> std::result::Result<LockGuard, Unlockable> {
    let path = lock_path(file);
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        // Entered before the file can exist, so no signal lands in between.
        let no_interrupt = Critical::enter();
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                // The pid is informational (who to blame); only existence matters.
                let _ = writeln!(f, "{}", std::process::id());
                return Ok(LockGuard {
                    path,
                    _no_interrupt: no_interrupt,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            // Windows refuses to create a file whose previous incarnation is still
            // being deleted: that is contention, not a read-only directory.
            Err(e)
                if cfg!(windows)
                    && e.kind() == io::ErrorKind::PermissionDenied
                    && path.exists() => {}
            Err(e) if is_read_only(&e) => return Err(Unlockable::CannotCreate(e)),
            Err(e) => {
                return Err(Unlockable::Other(CliError::client(format!(
                    "Failed to create the lock file {}: {e}",
                    path.display()
                ))));
            }
        }
        if is_stale(&path, opts.stale_after) {
            // A stale lock in a directory we cannot write (a read-only copy of a
            // config dir) can never go away: read without it.
            take_over(&path, opts.stale_after).map_err(Unlockable::CannotCreate)?;
            continue;
        }
        if started.elapsed() >= opts.wait {
            return Err(Unlockable::Other(held_error(file)));
        }
        thread::sleep(pause.min(opts.wait.saturating_sub(started.elapsed())));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

fn is_stale(path: &Path, stale_after: Duration) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|mtime| SystemTime::now().duration_since(mtime).ok())
        .is_some_and(|age| age > stale_after)
}

/// Removes a stale lock so that only one of several waiting processes does it:
/// the removal happens under a second exclusive file, after checking again that
/// the lock is still stale (so a fresh lock another process just took is kept).
fn take_over(path: &Path, stale_after: Duration) -> io::Result<()> {
    let guard = suffixed(path, ".takeover");
    match OpenOptions::new().write(true).create_new(true).open(&guard) {
        Ok(_) => {
            let removed = if is_stale(path, stale_after) {
                fs::remove_file(path)
            } else {
                Ok(())
            };
            let _ = fs::remove_file(&guard);
            match removed {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        }
        Err(e) if is_read_only(&e) => Err(e),
        // Someone else is taking over; a takeover file left by a process that died
        // in those few microseconds would block everyone, so it goes stale too.
        Err(_) => {
            if is_stale(&guard, stale_after) {
                let _ = fs::remove_file(&guard);
            }
            thread::sleep(Duration::from_millis(5));
            Ok(())
        }
    }
}

/// The takeover guard of a process killed in the middle of a takeover is only
/// looked at when a lock next goes stale; until then it would lie around.
/// Called while holding the lock: a guard older than twice `stale_after`
/// belongs to no live takeover and is removed.
pub(crate) fn remove_abandoned_takeover(file: &Path, stale_after: Duration) {
    let guard = suffixed(&lock_path(file), ".takeover");
    if is_stale(&guard, stale_after * 2) {
        let _ = fs::remove_file(&guard);
    }
}

fn is_read_only(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound
            | io::ErrorKind::PermissionDenied
            | io::ErrorKind::ReadOnlyFilesystem
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::error::Result;
    use crate::state::testutil::TempDir;
    use std::sync::mpsc;

    fn opts(wait_ms: u64) -> LockOptions {
        LockOptions {
            wait: Duration::from_millis(wait_ms),
            ..LockOptions::default()
        }
    }

    fn take(file: &Path, o: LockOptions) -> Result<LockGuard> {
        acquire(file, o).map_err(|e| match e {
            Unlockable::CannotCreate(e) => CliError::client(e.to_string()),
            Unlockable::Other(e) => e,
        })
    }

    #[test]
    fn lock_file_holds_the_pid_and_goes_away_on_drop() {
        let dir = TempDir::new();
        let file = dir.path().join("hosts.yml");
        let guard = take(&file, opts(0)).unwrap();
        let content = fs::read_to_string(lock_path(&file)).unwrap();
        assert_eq!(content.trim(), std::process::id().to_string());
        drop(guard);
        assert!(!lock_path(&file).exists());
    }

    #[test]
    fn held_lock_times_out_with_the_official_message() {
        let dir = TempDir::new();
        let file = dir.path().join("hosts.yml");
        let _held = take(&file, opts(0)).unwrap();
        let err = take(&file, opts(100)).unwrap_err();
        let f = file.display();
        assert_eq!(err.code, "client_error");
        assert_eq!(
            err.message,
            format!("Another process is modifying the file {f}. remove {f}.lock to reset lock.")
        );
        assert_eq!(err.hint, Some(format!("remove {f}.lock to reset lock.")));
    }

    #[test]
    fn waits_for_the_holder_to_release() {
        let dir = TempDir::new();
        let file = dir.path().join("hosts.yml");
        let held = take(&file, opts(0)).unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let f2 = file.clone();
        let waiter = thread::spawn(move || {
            started_tx.send(()).unwrap();
            let got = take(&f2, opts(60_000)).map(|_| ());
            done_tx.send(()).unwrap();
            got
        });
        started_rx.recv().unwrap();
        // The waiter cannot finish while we hold the lock.
        assert!(done_rx.try_recv().is_err());
        drop(held);
        done_rx.recv().unwrap();
        waiter.join().unwrap().unwrap();
    }

    #[test]
    fn stale_lock_is_taken_over() {
        let dir = TempDir::new();
        let file = dir.path().join("hosts.yml");
        let lock = lock_path(&file);
        fs::write(&lock, "999999\n").unwrap();
        let old = SystemTime::now() - Duration::from_secs(31);
        fs::File::options()
            .write(true)
            .open(&lock)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let guard = take(&file, opts(0)).unwrap();
        assert_eq!(
            fs::read_to_string(&lock).unwrap().trim(),
            std::process::id().to_string()
        );
        drop(guard);
        // A young foreign lock is respected.
        fs::write(&lock, "999999\n").unwrap();
        assert!(take(&file, opts(50)).is_err());
        assert!(lock.exists());
    }

    #[test]
    fn an_abandoned_takeover_guard_is_removed_once_old() {
        let dir = TempDir::new();
        let file = dir.path().join("hosts.yml");
        let guard = suffixed(&lock_path(&file), ".takeover");
        fs::write(&guard, "").unwrap();
        let stale = Duration::from_secs(30);
        remove_abandoned_takeover(&file, stale);
        assert!(guard.exists(), "a young guard may be a live takeover");
        fs::File::options()
            .write(true)
            .open(&guard)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(61))
            .unwrap();
        remove_abandoned_takeover(&file, stale);
        assert!(!guard.exists());
    }

    #[test]
    fn missing_directory_is_reported_as_unlockable() {
        let dir = TempDir::new();
        let file = dir.path().join("absent").join("hosts.yml");
        assert!(matches!(
            acquire(&file, opts(0)),
            Err(Unlockable::CannotCreate(_))
        ));
        assert!(!dir.path().join("absent").exists());
    }
}
