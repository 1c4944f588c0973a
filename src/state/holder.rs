//! Who holds a `<file>.lock` of difyctl, and whether that holder is gone.
//!
//! # Who holds a lock
//! Our lock file names its holder, so that a lock left by a killed process
//! is recognised at once instead of after a timeout:
//!
//! ```text
//! difyctl-lock 1
//! pid 1234
//! start 56789
//! machine 8c1c…/pid:[4026531836]/myhost
//! ```
//!
//! `start` is the process's start time (clock ticks after boot, so a reused
//! pid is told apart) and `machine` the boot id, pid namespace and node name:
//! a pid means something only on the same machine, boot and namespace. The
//! file is created complete: the text goes to a private `<lock>.new.<pid>.<n>`
//! first, which is then hard-linked to the lock's name (a link, like an
//! exclusive create, fails when the lock exists), so no lock of ours is ever
//! empty, whenever the process is killed.
//!
//! # Judging a lock ([`judge`])
//! * Ours, from this machine: held while that process runs; once it has
//!   ended, the lock is taken over at once, whatever its modification time
//!   says (a clock step, a date in the future).
//! * Anything else (the official tool's empty lock files, a lock from another
//!   machine sharing the directory, one of an older difyctl-rs holding only a
//!   pid, an unreadable one): held for `stale_after` (30 s) after its
//!   modification time, as the official tool rules. A time more than that in
//!   the future counts as stale too, so a clock step cannot block anyone.

use std::fs;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// The first line of our lock files.
const MAGIC: &str = "difyctl-lock 1";

/// The process named in one of our lock files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// Start time in clock ticks after boot (Linux), to tell a reused pid apart.
    pub start: Option<u64>,
    /// Boot id, pid namespace and node name; see `this_machine`.
    pub machine: String,
}

impl Holder {
    /// The lock file's text.
    pub fn render(&self) -> String {
        let mut s = format!("{MAGIC}\npid {}\n", self.pid);
        if let Some(start) = self.start {
            s.push_str(&format!("start {start}\n"));
        }
        s.push_str(&format!("machine {}\n", self.machine));
        s
    }

    /// One of our lock files' text; `None` for anything else (an empty file,
    /// a bare pid, a torn or foreign text).
    pub fn parse(bytes: &[u8]) -> Option<Holder> {
        // Exactly what `render` writes: the lines in its order, numbers
        // without sign or leading zero, a machine of printable characters.
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.strip_suffix('\n')?.split('\n').peekable();
        if lines.next()? != MAGIC {
            return None;
        }
        let number = |line: Option<&str>, key: &str| -> Option<u64> {
            let value = line?.strip_prefix(key)?.strip_prefix(' ')?;
            let canonical = value == "0" || !value.starts_with('0');
            (canonical && !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
                .then(|| value.parse().ok())
                .flatten()
        };
        let pid = u32::try_from(number(lines.next(), "pid")?).ok()?;
        let start = match lines.peek() {
            Some(line) if line.starts_with("start ") => Some(number(lines.next(), "start")?),
            _ => None,
        };
        let machine = lines.next()?.strip_prefix("machine ")?;
        if lines.next().is_some()
            || pid == 0
            || machine.is_empty()
            || machine.chars().any(char::is_control)
        {
            return None;
        }
        Some(Holder {
            pid,
            start,
            machine: machine.to_owned(),
        })
    }

    /// This process, when the machine can be identified.
    pub(crate) fn me() -> Option<Holder> {
        let pid = std::process::id();
        Some(Holder {
            pid,
            start: process_start(pid),
            machine: this_machine()?.to_owned(),
        })
    }
}

/// What identifies this machine, boot and pid namespace, so that a pid in a
/// lock file is only trusted where it means the same process: the kernel's
/// boot id, the pid namespace and the node name. `None` where they cannot be
/// read (not Linux): every lock is then judged by its age.
pub fn this_machine() -> Option<&'static str> {
    static MACHINE: OnceLock<Option<String>> = OnceLock::new();
    MACHINE
        .get_or_init(|| {
            let read = |p: &str| fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
            let boot = read("/proc/sys/kernel/random/boot_id").filter(|s| !s.is_empty())?;
            let ns = fs::read_link("/proc/self/ns/pid").ok()?;
            let node = read("/proc/sys/kernel/hostname").unwrap_or_default();
            let id = format!("{boot}/{}/{node}", ns.to_string_lossy());
            // Printable, or it could not be read back.
            (!id.chars().any(char::is_control)).then_some(id)
        })
        .as_deref()
}

/// Field 22 of `/proc/<pid>/stat`: when the process started. `None` when
/// there is no such process (or no /proc).
fn process_start(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (the state).
    if matches!(fields.first(), Some(&"Z" | &"X")) {
        return None; // a zombie holds nothing
    }
    fields.get(22 - 3)?.parse().ok()
}

/// Whether the process a lock names still runs on this machine.
pub(crate) fn running(pid: u32, start: Option<u64>) -> bool {
    match process_start(pid) {
        None => !Path::new("/proc/self/stat").exists(), // no /proc: cannot tell
        Some(now) => start.is_none_or(|s| s == now),
    }
}

/// What a lock file means for someone who wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Held by a live process (ours, when the holder is known) or too young
    /// to be called abandoned.
    Held(Option<Holder>),
    /// Left by a process that has ended, or older than the staleness rule.
    Gone,
}

/// Judges a lock file by its text and modification time (see the module
/// docs). `here` is `this_machine`; `running` says whether a pid with that
/// start time runs here. Pure, so it can be tested and fuzzed.
pub fn judge(
    text: &[u8],
    mtime: Option<SystemTime>,
    now: SystemTime,
    here: Option<&str>,
    stale_after: Duration,
    running: &dyn Fn(u32, Option<u64>) -> bool,
) -> Verdict {
    if let Some(holder) = Holder::parse(text)
        && here == Some(holder.machine.as_str())
    {
        return if running(holder.pid, holder.start) {
            Verdict::Held(Some(holder))
        } else {
            Verdict::Gone
        };
    }
    let age = mtime.map(|t| match now.duration_since(t) {
        Ok(past) => past,
        Err(future) => future.duration(),
    });
    match age {
        Some(age) if age <= stale_after => Verdict::Held(None),
        // No time at all: it vanished under us; try again.
        _ => Verdict::Gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_text_round_trips_and_nothing_else_parses() {
        let h = Holder {
            pid: 42,
            start: Some(7),
            machine: "boot/pid:[1]/node".into(),
        };
        assert_eq!(
            h.render(),
            "difyctl-lock 1\npid 42\nstart 7\nmachine boot/pid:[1]/node\n"
        );
        assert_eq!(Holder::parse(h.render().as_bytes()), Some(h.clone()));
        let no_start = Holder { start: None, ..h };
        assert_eq!(
            Holder::parse(no_start.render().as_bytes()),
            Some(no_start.clone())
        );
        for bad in [
            "",
            "4242\n",
            "difyctl-lock 1\npid 42\nmachine m",
            "difyctl-lock 1\npid 0\nmachine m\n",
            "difyctl-lock 1\npid -1\nmachine m\n",
            "difyctl-lock 1\npid +4\nmachine m\n",
            "difyctl-lock 1\npid 4\nmachine \n",
            "difyctl-lock 1\npid 4\n",
            "difyctl-lock 1\nmachine m\n",
            "difyctl-lock 1\npid 4\npid 5\nmachine m\n",
            "difyctl-lock 2\npid 4\nmachine m\n",
            "difyctl-lock 1\npid 4\nmachine m\nextra 1\n",
            "difyctl-lock 1\npid 99999999999\nmachine m\n",
            "difyctl-lock 1\npid 03\nstart 7\nmachine m1\n",
            "difyctl-lock 1\npid 3\nstart 07\nmachine m1\n",
            "difyctl-lock 1\nmachine m1\npid 3\n",
            "difyctl-lock 1\npid 3\nmachine m\u{9b}1\n",
            "difyctl-lock 1\npid 3\nmachine m1\nstart 7\n",
        ] {
            assert_eq!(Holder::parse(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn judging_by_holder_then_by_age() {
        let now = SystemTime::now();
        let stale = Duration::from_secs(30);
        let here = Some("m1");
        let ours = |pid| {
            Holder {
                pid,
                start: Some(5),
                machine: "m1".into(),
            }
            .render()
        };
        let alive = |pid: u32, _: Option<u64>| pid == 1;
        let j = |text: &str, mtime: Option<SystemTime>, here: Option<&str>| {
            judge(text.as_bytes(), mtime, now, here, stale, &alive)
        };
        let long_ago = Some(now - Duration::from_secs(3600));
        let future = Some(now + Duration::from_secs(3600));
        let fresh = Some(now - Duration::from_secs(1));
        // Ours, here: the holder decides, never the time.
        assert_eq!(j(&ours(2), fresh, here), Verdict::Gone);
        assert_eq!(j(&ours(2), future, here), Verdict::Gone);
        assert!(matches!(
            j(&ours(1), long_ago, here),
            Verdict::Held(Some(_))
        ));
        assert!(matches!(j(&ours(1), future, here), Verdict::Held(Some(_))));
        // Another machine, an empty (official) or old lock: 30 s either way.
        for (text, here) in [
            (ours(2), Some("m2")),
            (ours(2), None),
            (String::new(), here),
        ] {
            assert_eq!(j(&text, fresh, here), Verdict::Held(None), "{text:?}");
            assert_eq!(j(&text, long_ago, here), Verdict::Gone, "{text:?}");
            assert_eq!(j(&text, future, here), Verdict::Gone, "{text:?}");
            assert_eq!(
                j(&text, Some(now + Duration::from_secs(10)), here),
                Verdict::Held(None)
            );
        }
        assert_eq!(j("4242\n", None, here), Verdict::Gone);
    }
}
