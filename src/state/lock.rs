//! `<file>.lock`: the official tool's mutual exclusion between the writers of
//! one YAML store. Readers never take it (see `Store::load`).
//!
//! Who holds a lock, and whether that holder is gone, is the business of
//! `state::holder`: a lock of a process that has ended is taken over at
//! once; a lock whose holder cannot be known goes stale after 30 s.
//!
//! Every wait is bounded by [`LockOptions::wait`] (default 10 s, the
//! environment variable `DIFYCTL_LOCK_TIMEOUT` changes it), taking over included.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::holder::{Holder, Verdict, judge, running, this_machine};
use crate::env::Env;
use crate::error::{CliError, Result};
use crate::output::interrupt::Critical;

/// Seconds a writer waits for a lock another live process holds.
pub const WAIT_ENV: &str = "DIFYCTL_LOCK_TIMEOUT";

/// A lock file is small; more than this is not one of ours.
const MAX_LOCK_SIZE: u64 = 4096;

/// How long to wait for a held lock and when a lock without a known holder
/// counts as abandoned.
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

impl LockOptions {
    /// The defaults, with the wait from `DIFYCTL_LOCK_TIMEOUT` when it is set: whole
    /// seconds, 0 meaning "fail at once when another process holds the lock".
    pub fn from_env(env: &Env) -> Result<LockOptions> {
        let value = match env.text(WAIT_ENV)? {
            Some(v) if !v.trim().is_empty() => v,
            _ => return Ok(LockOptions::default()),
        };
        let secs = value.trim().parse::<u32>().map_err(|_| {
            CliError::usage_invalid(format!(
                "{WAIT_ENV}: {:?} is not a whole number of seconds",
                value.trim()
            ))
            .with_hint(format!(
                "set {WAIT_ENV} to e.g. 10 (0: do not wait), or unset it"
            ))
        })?;
        Ok(LockOptions {
            wait: Duration::from_secs(u64::from(secs)),
            ..LockOptions::default()
        })
    }
}

/// A held lock; released (the lock file removed) on drop.
#[derive(Debug)]
pub struct LockGuard {
    path: PathBuf,
    /// Ctrl-C waits while the lock is held, so an interrupt never strands a
    /// lock. Dropped after the file is removed (fields drop after `drop`).
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

/// The official error for a lock that stays held: its message, then the
/// official hint (once), with the holder when it is known.
pub fn held_error(file: &Path, holder: Option<&Holder>) -> CliError {
    let f = file.display();
    let (who, stop) = match holder {
        Some(h) => (
            format!(" (difyctl, process {} on this machine)", h.pid),
            format!("if process {} is stuck, end it; otherwise ", h.pid),
        ),
        None => (String::new(), String::new()),
    };
    CliError::client(format!("Another process is modifying the file {f}{who}."))
        .with_hint(format!("{stop}remove {f}.lock to reset lock."))
}

/// Why a lock could not be taken at all (as opposed to being held by someone).
pub(crate) enum Unlockable {
    /// The directory is missing or not writable (e.g. a read-only config copy).
    CannotCreate(io::Error),
    Other(CliError),
}

/// The verdict on the file at `path` now; `None` when there is none.
fn look(path: &Path, stale_after: Duration) -> Option<(Verdict, Vec<u8>)> {
    let mut text = Vec::new();
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(_) => return Some((Verdict::Held(None), text)),
    };
    let mtime = meta.modified().ok();
    // Only a regular file is read (a FIFO would block); anything else, or an
    // unreadable file, is judged by its age alone.
    if meta.is_file()
        && let Ok(file) = fs::File::open(path)
    {
        let _ = file.take(MAX_LOCK_SIZE).read_to_end(&mut text);
    }
    let verdict = judge(
        &text,
        mtime,
        SystemTime::now(),
        this_machine(),
        stale_after,
        &running,
    );
    Some((verdict, text))
}

// ---------------------------------------------------------------------------
// Taking and waiting for locks
// ---------------------------------------------------------------------------

/// Creates `path` holding `text`, failing with `AlreadyExists` when it exists:
/// the text is written to `<path>.new.<pid>.<n>` and hard-linked to `path`, so the
/// file never exists without its text. Where the file system has no hard
/// links, an exclusive create and a write.
fn create_complete(path: &Path, text: &str) -> io::Result<()> {
    // Unique per thread too: the tests take locks from many threads.
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let tmp = suffixed(path, &format!(".new.{}.{n}", std::process::id()));
    let open = || {
        let mut o = OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(&tmp)
    };
    let mut file = match open() {
        // Left by a killed process that had our pid.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(&tmp)?;
            open()?
        }
        other => other?,
    };
    let written = file.write_all(text.as_bytes());
    drop(file);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Err(e) if no_hard_links(&e) => {
            let mut f = OpenOptions::new().write(true).create_new(true).open(path)?;
            f.write_all(text.as_bytes())
        }
        other => other,
    }
}

fn no_hard_links(e: &io::Error) -> bool {
    // EPERM (some FUSE and FAT file systems), EOPNOTSUPP, ENOSYS.
    cfg!(unix) && matches!(e.raw_os_error(), Some(1 | 95 | 38))
}

/// Takes the lock for `file`, waiting up to `opts.wait` while another live
/// process holds it; a lock whose holder is gone is taken over at once.
pub(crate) fn acquire(
    file: &Path,
    opts: LockOptions,
) -> std::result::Result<LockGuard, Unlockable> {
    let path = lock_path(file);
    // Without a machine identity, an empty lock like the official tool's.
    let text = Holder::me().map(|h| h.render()).unwrap_or_default();
    let deadline = Instant::now() + opts.wait;
    let mut pause = Duration::from_millis(5);
    // Takeovers without a pause; more (a stream of abandoned locks) wait.
    let mut quick = 8;
    loop {
        // Entered before the file can exist, so no signal lands in between.
        let no_interrupt = Critical::enter();
        match create_complete(&path, &text) {
            Ok(()) => {
                sweep(&path, opts.stale_after);
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
        drop(no_interrupt);
        let holder = match look(&path, opts.stale_after) {
            None => continue,
            Some((Verdict::Gone, seen)) => match take_over(&path, &seen, &text, opts.stale_after) {
                Ok(true) if quick > 0 => {
                    quick -= 1;
                    continue;
                }
                Ok(_) => None,
                Err(e) => return Err(Unlockable::CannotCreate(e)),
            },
            Some((Verdict::Held(holder), _)) => holder,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Unlockable::Other(held_error(file, holder.as_ref())));
        }
        thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Waits until no live process holds the lock of `file` (without taking it),
/// up to `opts.wait`. Returns whether it is free.
pub(crate) fn wait_released(file: &Path, opts: LockOptions) -> bool {
    let path = lock_path(file);
    let deadline = Instant::now() + opts.wait;
    let mut pause = Duration::from_millis(5);
    loop {
        match look(&path, opts.stale_after) {
            None | Some((Verdict::Gone, _)) => return true,
            Some((Verdict::Held(_), _)) => {}
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Removes an abandoned lock whose text was `seen`, so that of several
/// processes doing so only one does: the removal happens under a second
/// exclusive file (`<lock>.takeover`, naming its holder like a lock), after
/// checking that the lock still holds that text (a fresh lock someone just
/// took is kept). `Ok(false)` when another process is taking over: the caller
/// waits as for a held lock. An error when the directory cannot be written (a
/// stale lock in a read-only copy of a config dir can never go away).
fn take_over(lock: &Path, seen: &[u8], me: &str, stale_after: Duration) -> io::Result<bool> {
    let guard = suffixed(lock, ".takeover");
    match create_complete(&guard, me) {
        Ok(()) => {
            let still = look(lock, stale_after);
            let removed = match still {
                Some((Verdict::Gone, now)) if now == seen => fs::remove_file(lock),
                _ => Ok(()),
            };
            let _ = fs::remove_file(&guard);
            match removed {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(true),
            }
        }
        Err(e) if is_read_only(&e) => Err(e),
        // Someone else is taking over. A guard left by a process killed in
        // those few microseconds is judged like a lock.
        Err(_) => {
            if let Some((Verdict::Gone, _)) = look(&guard, stale_after) {
                let _ = fs::remove_file(&guard);
                return Ok(true);
            }
            Ok(false)
        }
    }
}

/// Called holding the lock: a takeover guard or the `.new.<pid>` text of a
/// process killed while taking a lock would lie around; those whose holder
/// is gone are removed.
fn sweep(lock: &Path, stale_after: Duration) {
    let guard = suffixed(lock, ".takeover");
    if let Some((Verdict::Gone, _)) = look(&guard, stale_after) {
        let _ = fs::remove_file(&guard);
    }
    let (Some(dir), Some(name)) = (lock.parent(), lock.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let own_pid = std::process::id().to_string();
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name();
        let entry_name = entry_name.to_string_lossy();
        // `<lock>.new.<pid>.<n>` and `<lock>.takeover.new.<pid>.<n>`, not
        // our own.
        let pid = entry_name
            .strip_prefix(&prefix)
            .and_then(|rest| {
                rest.strip_prefix("takeover.")
                    .unwrap_or(rest)
                    .strip_prefix("new.")
            })
            .and_then(|rest| rest.split_once('.'))
            .filter(|(pid, n)| {
                [pid, n]
                    .iter()
                    .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|(pid, _)| pid);
        if pid.is_some_and(|p| p != own_pid)
            && let Some((Verdict::Gone, _)) = look(&entry.path(), stale_after)
        {
            let _ = fs::remove_file(entry.path());
        }
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
    use crate::error::ErrorCode;
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

    fn set_mtime(path: &Path, t: SystemTime) {
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    /// A lock of ours held by a process that has ended: this machine, a pid
    /// that cannot exist.
    fn dead_holder() -> String {
        Holder {
            pid: u32::MAX - 1,
            start: Some(1),
            machine: this_machine().unwrap().to_owned(),
        }
        .render()
    }

    #[test]
    fn lock_file_names_its_holder_and_goes_away_on_drop() {
        let dir = TempDir::new();
        let file = dir.path().join("hosts.yml");
        let guard = take(&file, opts(0)).unwrap();
        let text = fs::read(lock_path(&file)).unwrap();
        let holder = Holder::parse(&text).unwrap();
        assert_eq!(holder, Holder::me().unwrap());
        assert_eq!(holder.pid, std::process::id());
        drop(guard);
        assert!(!lock_path(&file).exists());
        // Nothing else is left: not the `.new.<pid>` text either.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn held_lock_times_out_with_the_official_message_and_hint_once() {
        let dir = TempDir::new();
        let file = dir.path().join("hosts.yml");
        let _held = take(&file, opts(0)).unwrap();
        let err = take(&file, opts(100)).unwrap_err();
        let f = file.display();
        let pid = std::process::id();
        assert_eq!(err.code, ErrorCode::ClientError);
        assert_eq!(
            err.message,
            format!(
                "Another process is modifying the file {f} (difyctl, process {pid} on this machine)."
            )
        );
        assert_eq!(
            err.hint,
            Some(format!(
                "if process {pid} is stuck, end it; otherwise remove {f}.lock to reset lock."
            ))
        );
        // An empty lock (the official tool's): the official words.
        let other = dir.path().join("tokens.yml");
        fs::write(lock_path(&other), "").unwrap();
        let err = take(&other, opts(0)).unwrap_err();
        let o = other.display();
        assert_eq!(
            (err.message, err.hint),
            (
                format!("Another process is modifying the file {o}."),
                Some(format!("remove {o}.lock to reset lock."))
            )
        );
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
    fn a_dead_holders_lock_is_taken_over_at_once_whatever_its_date() {
        let dir = TempDir::new();
        let file = dir.path().join("hosts.yml");
        let lock = lock_path(&file);
        for when in [
            SystemTime::now(),
            SystemTime::now() + Duration::from_secs(86_400),
        ] {
            fs::write(&lock, dead_holder()).unwrap();
            set_mtime(&lock, when);
            // No waiting at all allowed.
            let guard = take(&file, opts(0)).unwrap();
            assert_eq!(Holder::parse(&fs::read(&lock).unwrap()), Holder::me());
            drop(guard);
        }
    }

    #[test]
    fn an_unknown_holders_lock_goes_stale_after_30_s_either_way() {
        let dir = TempDir::new();
        let file = dir.path().join("hosts.yml");
        let lock = lock_path(&file);
        for text in ["", "999999\n"] {
            fs::write(&lock, text).unwrap();
            set_mtime(&lock, SystemTime::now() - Duration::from_secs(31));
            drop(take(&file, opts(0)).unwrap());
            fs::write(&lock, text).unwrap();
            set_mtime(&lock, SystemTime::now() + Duration::from_secs(3600));
            drop(take(&file, opts(0)).unwrap());
            // A young one is respected.
            fs::write(&lock, text).unwrap();
            assert!(take(&file, opts(50)).is_err());
            assert_eq!(fs::read_to_string(&lock).unwrap(), text);
        }
    }

    #[test]
    fn leftovers_of_killed_lockers_are_swept() {
        let dir = TempDir::new();
        let file = dir.path().join("hosts.yml");
        let lock = lock_path(&file);
        let guard = suffixed(&lock, ".takeover");
        let new = suffixed(&lock, ".new.4000000000.3");
        // A dead takeover (dated in the future) and a dead lock.
        fs::write(&guard, dead_holder()).unwrap();
        set_mtime(&guard, SystemTime::now() + Duration::from_secs(3600));
        fs::write(&new, dead_holder()).unwrap();
        fs::write(&lock, dead_holder()).unwrap();
        drop(take(&file, opts(0)).unwrap());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);

        // A live takeover makes us wait, within the bound.
        fs::write(&guard, Holder::me().unwrap().render()).unwrap();
        fs::write(&lock, dead_holder()).unwrap();
        assert!(take(&file, opts(30)).is_err());
        fs::remove_file(&guard).unwrap();
        drop(take(&file, opts(0)).unwrap());
    }

    #[test]
    fn waiting_for_release_does_not_take_the_lock() {
        let dir = TempDir::new();
        let file = dir.path().join("hosts.yml");
        assert!(wait_released(&file, opts(0)));
        let held = take(&file, opts(0)).unwrap();
        assert!(!wait_released(&file, opts(20)));
        drop(held);
        fs::write(lock_path(&file), dead_holder()).unwrap();
        assert!(wait_released(&file, opts(0)));
        assert!(lock_path(&file).exists(), "only looked at");
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
