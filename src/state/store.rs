//! Reading and writing one YAML store under its lock, with atomic replaces
//! (difyctl-files(5), "Writing and reading").

use std::fs::{self, File, OpenOptions};
use std::hash::Hash;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::hash::Keyed;
use super::lock::{self, LockGuard, LockOptions, Unlockable};
use super::perm;
use crate::error::{CliError, Result};

/// A file format kept in a store: parsed from text, written back as text.
/// Its hash tells whether a change changed it (equal documents hash alike).
pub trait Document: Clone + PartialEq + Hash + Default {
    /// Masks file lines in error excerpts (the file holds credentials).
    const SECRET: bool = false;

    /// Parses the file's text (an empty text is an empty document).
    fn parse(text: &str, path: &Path) -> Result<Self>;

    /// Why what `text` holds could not be written back as it is (for a
    /// change to refuse), if it could not.
    fn unwritable(_text: &str, _path: &Path) -> Option<CliError> {
        None
    }

    /// Writes the document's text to `out`; returns its length in bytes.
    fn write(&self, out: &mut dyn io::Write) -> io::Result<u64>;

    /// The text written to disk.
    fn render(&self) -> String {
        let mut out = Vec::new();
        // Writing to memory cannot fail, and documents write UTF-8.
        let _ = self.write(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Whether the document says nothing, so that a change leaving it so
    /// removes the file rather than writing an empty one (a store that
    /// exists only while it has something in it).
    fn removable(&self) -> bool {
        false
    }
}

/// One YAML store at `path`. Every change takes `<path>.lock`; a process must
/// not nest two changes of the same store (the lock is not re-entrant).
/// Reads take no lock.
#[derive(Clone, Debug)]
pub struct Store {
    path: PathBuf,
    /// How long to wait for another process's lock; an error (an invalid
    /// `DIFYCTL_LOCK_TIMEOUT`) fails only what needs the lock.
    lock: Result<LockOptions>,
}

impl Store {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Store {
            path: path.into(),
            lock: Ok(LockOptions::default()),
        }
    }

    pub fn with_lock_options(mut self, lock: Result<LockOptions>) -> Self {
        self.lock = lock;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the document. A missing file (or directory) is an empty document
    /// and nothing is created. No lock is taken or waited for: writers
    /// replace the file atomically, so a read sees a whole old or a whole new
    /// file. Only when the text does not parse while another process holds
    /// the lock (a tool that writes in place) is the lock waited for, once,
    /// and the file read again.
    pub fn load<D: Document>(&self) -> Result<D> {
        let parsed = self.read_and_parse();
        if parsed.is_err() && lock::lock_path(&self.path).exists() {
            let opts = self.lock_options()?;
            if lock::wait_released(&self.path, opts) {
                return self.read_and_parse();
            }
        }
        parsed
    }

    fn read_and_parse<D: Document>(&self) -> Result<D> {
        perm::check_store(&self.path)?;
        match self.read_text()? {
            Some(text) => D::parse(&text, &self.path),
            None => Ok(D::default()),
        }
    }

    fn lock_options(&self) -> Result<LockOptions> {
        self.lock.clone()
    }

    /// Loads, applies `change` and saves, all under one lock, so concurrent
    /// updaters never lose each other's changes. Nothing is written when `change`
    /// fails, when the file could not be parsed, or when the document is unchanged;
    /// the file is parsed once, and written as it is rendered.
    pub fn update<D: Document, T>(&self, change: impl FnOnce(&mut D) -> Result<T>) -> Result<T> {
        self.update_then(change, |out| out)
    }

    /// [`Store::update`], then `after` runs with what `change` returned once
    /// the file is written but while its lock is still held: for what has to
    /// change together with this file, after it (another store), so that no
    /// other writer of this file comes in between.
    pub fn update_then<D: Document, T, U>(
        &self,
        change: impl FnOnce(&mut D) -> Result<T>,
        after: impl FnOnce(T) -> U,
    ) -> Result<U> {
        let change = |doc: &mut D| {
            // Whether `change` changed the document, without keeping a copy of it.
            let key = Keyed::new();
            let before = key.fingerprint(doc);
            let value = change(doc)?;
            let changed = key.fingerprint(doc) != before;
            Ok(Edit { value, changed })
        };
        self.locked(change, after)
    }

    /// [`Store::update`] for a change that needs something stored and says
    /// itself whether it changed the document (so nothing is compared): when
    /// the file does not exist, `change` sees an empty document with no lock
    /// taken and nothing created, and only if it changes that document is it
    /// run again as an update.
    pub fn update_stored<D: Document, T>(
        &self,
        mut change: impl FnMut(&mut D) -> Result<Edit<T>>,
    ) -> Result<T> {
        let missing =
            matches!(fs::metadata(&self.path), Err(e) if e.kind() == io::ErrorKind::NotFound);
        if missing {
            let edit = change(&mut D::default())?;
            if !edit.changed {
                return Ok(edit.value);
            }
        }
        self.locked(change, |value| value)
    }

    /// Under the lock: the file parsed once (its text then dropped: only the
    /// document stays in memory), `change` applied, the file written when it
    /// says it changed the document, then `after`.
    fn locked<D: Document, T, U>(
        &self,
        change: impl FnOnce(&mut D) -> Result<Edit<T>>,
        after: impl FnOnce(T) -> U,
    ) -> Result<U> {
        if let Some(dir) = parent(&self.path) {
            create_private_dir(dir).map_err(|e| io_error("create the directory", dir, &e))?;
        }
        perm::check_store(&self.path)?;
        let opts = self.lock_options()?;
        let _guard: LockGuard = lock::acquire(&self.path, opts).map_err(|e| match e {
            Unlockable::CannotCreate(e) => {
                io_error("create the lock file", &lock::lock_path(&self.path), &e)
            }
            Unlockable::Other(e) => e,
        })?;
        let (mut doc, unwritable, large) = match self.read_text()? {
            Some(text) => (
                D::parse(&text, &self.path)?,
                D::unwritable(&text, &self.path),
                text.len() > LARGE,
            ),
            None => (D::default(), None, false),
        };
        let edit = change(&mut doc)?;
        if edit.changed {
            if let Some(e) = unwritable {
                return Err(e);
            }
            // A store that is a symlink (a dotfiles setup) stays one: the file
            // it points to is replaced, atomically, in its own directory.
            let target = write_target(&self.path).map_err(|e| io_error("write", &self.path, &e))?;
            if doc.removable() {
                remove(&target)?;
            } else {
                write_atomic(&target, |out| doc.write(out))?;
            }
            remove_old_temp_files(&target);
        }
        if large {
            // A command makes its change and ends: freeing a large registry
            // entry by entry would cost it a tenth of its time.
            std::mem::forget(doc);
        }
        Ok(after(edit.value))
    }

    /// The file's text; `None` when it does not exist. Only a regular file
    /// (or a symlink to one) of at most [`MAX_FILE_SIZE`] is read: a FIFO
    /// would block forever, a device such as `/dev/zero` never ends.
    fn read_text(&self) -> Result<Option<String>> {
        let path = self.path.display();
        let meta = match fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("read", &self.path, &e)),
        };
        let reset = || format!("Remove {path} (or move it away) to reset it.");
        if !meta.is_file() {
            return Err(
                CliError::client(format!("Failed to read {path}: not a regular file"))
                    .with_hint(reset()),
            );
        }
        // Sized from the look above (a file that grew since is still read
        // whole): one allocation, no copies while reading.
        let mut bytes = Vec::with_capacity(meta.len().min(MAX_FILE_SIZE) as usize + 1);
        match File::open(&self.path).and_then(|f| f.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes))
        {
            Ok(_) => {}
            // Removed since the look above: as good as never there.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("read", &self.path, &e)),
        }
        if bytes.len() as u64 > MAX_FILE_SIZE {
            return Err(CliError::client(format!(
                "Failed to read {path}: the file is larger than {} MiB",
                MAX_FILE_SIZE / (1024 * 1024)
            ))
            .with_hint(reset()));
        }
        String::from_utf8(bytes).map(Some).map_err(|_| {
            CliError::client(format!(
                "Failed to parse YAML file {path}: the file is not valid UTF-8."
            ))
            .with_hint(format!(
                "Fix the YAML syntax in {path} or remove the file to reset it."
            ))
        })
    }
}

/// What a change made of a document, as the change itself knows: `value`
/// for the caller, and whether the document changed (and is written).
pub struct Edit<T> {
    pub value: T,
    pub changed: bool,
}

/// The most a store file may hold. 10,000 contexts take a few MB; this only
/// stops a broken or hostile file from taking all memory.
const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// Where a write to `path` lands: `path` itself, or, when it is a symlink, the
/// file at the end of the link chain (created if missing), as git does for its
/// config. Replacing the link itself would silently cut a dotfiles setup off.
fn write_target(path: &Path) -> io::Result<PathBuf> {
    let mut target = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&target)?;
                // A relative link is relative to the link's directory; an
                // absolute one replaces the path (`join` does both).
                target = match target.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            }
            _ => return Ok(target),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// A file above this size (1 MiB, about 3,500 contexts) is large: its
/// document is not freed after a change (see [`Store::locked`]).
const LARGE: usize = 1 << 20;

fn parent(path: &Path) -> Option<&Path> {
    path.parent().filter(|p| !p.as_os_str().is_empty())
}

fn io_error(what: &str, path: &Path, e: &io::Error) -> CliError {
    CliError::client(format!("Failed to {what} {}: {e}", path.display()))
}

/// Creates `dir` and its missing parents with mode 0700 (existing ones are left
/// as they are).
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Replaces `path` with what `contents` writes: a private temp file
/// `<path>.tmp.<pid>.<epoch-ms>`, fsynced, renamed over the target, then the
/// directory fsynced, so readers see the old or the new file and never a torn
/// one, even across a crash. More than [`MAX_FILE_SIZE`] is refused (it could
/// not be read back).
pub(crate) fn write_atomic(
    path: &Path,
    contents: impl FnOnce(&mut dyn Write) -> io::Result<u64>,
) -> Result<()> {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let tmp = lock::suffixed(path, &format!(".tmp.{}.{millis}", std::process::id()));
    let result =
        write_new_private(&tmp, MAX_FILE_SIZE, contents).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io_error("write", path, &e));
    }
    #[cfg(unix)]
    if let Some(dir) = parent(path).or(Some(Path::new("."))) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// Removes `path` (gone already is fine), then syncs its directory.
fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error("remove", path, &e)),
    }
    #[cfg(unix)]
    if let Some(dir) = parent(path).or(Some(Path::new("."))) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

fn write_new_private(
    tmp: &Path,
    limit: u64,
    contents: impl FnOnce(&mut dyn Write) -> io::Result<u64>,
) -> io::Result<()> {
    let open = || {
        let mut o = OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(tmp)
    };
    let file = match open() {
        // Only a killed process with our pid in the same millisecond leaves this.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(tmp)?;
            open()?
        }
        other => other?,
    };
    let mut out = Limited {
        out: file,
        left: limit,
    };
    contents(&mut out)?;
    out.out.sync_all()
}

/// A writer that fails once more than `left` bytes would be written.
struct Limited<W> {
    out: W,
    left: u64,
}

impl<W: Write> Write for Limited<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.left = self.left.checked_sub(buf.len() as u64).ok_or_else(|| {
            io::Error::other(format!(
                "the file would be larger than {} MiB (the most difyctl reads)",
                MAX_FILE_SIZE / (1024 * 1024)
            ))
        })?;
        self.out.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Temp files of processes killed mid-write are harmless (never read) but would
/// pile up; those older than a minute are removed.
fn remove_old_temp_files(path: &Path) {
    let (Some(dir), Some(name)) = (parent(path).or(Some(Path::new("."))), path.file_name()) else {
        return;
    };
    let prefix = format!("{}.tmp.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > Duration::from_secs(60));
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unit_arg)] // `Ok(doc.change())` keeps update closures on one line
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::state::testutil::TempDir;

    /// A minimal document: the whole text, one line per item.
    #[derive(Clone, PartialEq, Hash, Default, Debug)]
    struct Lines(Vec<String>);

    impl Document for Lines {
        fn parse(text: &str, path: &Path) -> Result<Self> {
            if text.contains("BROKEN") {
                return Err(CliError::client(format!("bad {}", path.display())));
            }
            Ok(Lines(text.lines().map(str::to_owned).collect()))
        }
        fn write(&self, out: &mut dyn Write) -> io::Result<u64> {
            let text: String = self.0.iter().map(|l| format!("{l}\n")).collect();
            out.write_all(text.as_bytes())?;
            Ok(text.len() as u64)
        }
    }

    #[test]
    fn load_of_a_missing_directory_creates_nothing() {
        let dir = TempDir::new();
        let store = Store::new(dir.path().join("sub").join("hosts.yml"));
        assert_eq!(store.load::<Lines>().unwrap(), Lines::default());
        assert!(!dir.path().join("sub").exists());
    }

    #[test]
    fn update_writes_private_files_in_a_private_dir() {
        let dir = TempDir::new();
        let sub = dir.path().join("a").join("b");
        let file = sub.join("x.yml");
        let store = Store::new(&file);
        store
            .update(|d: &mut Lines| Ok(d.0.push("one".into())))
            .unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "one\n");
        assert!(!lock::lock_path(&file).exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(&sub).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
        let names: Vec<_> = fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["x.yml"]);
    }

    #[test]
    fn unchanged_documents_are_not_rewritten() {
        let dir = TempDir::new();
        let file = dir.path().join("x.yml");
        // Not in our rendering (blank line), so any rewrite would show.
        fs::write(&file, "a\n\nb\n").unwrap();
        let store = Store::new(&file);
        store.update(|_: &mut Lines| Ok(())).unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "a\n\nb\n");
        let nothing = Store::new(dir.path().join("y.yml"));
        nothing.update(|_: &mut Lines| Ok(())).unwrap();
        assert!(!dir.path().join("y.yml").exists());
    }

    #[test]
    fn a_change_that_says_what_it_did_is_written_only_then() {
        let dir = TempDir::new();
        let file = dir.path().join("sub").join("x.yml");
        let store = Store::new(&file);
        // Nothing stored, nothing changed: nothing created, not even the directory.
        let edit = |changed| {
            move |d: &mut Lines| {
                if changed {
                    d.0.push("a".into());
                }
                Ok(Edit { value: 7, changed })
            }
        };
        assert_eq!(store.update_stored(edit(false)).unwrap(), 7);
        assert!(!dir.path().join("sub").exists());
        assert_eq!(store.update_stored(edit(true)).unwrap(), 7);
        assert_eq!(fs::read_to_string(&file).unwrap(), "a\n");
        // Said unchanged: not written, whatever the document holds.
        store
            .update_stored(|d: &mut Lines| {
                d.0.push("b".into());
                Ok(Edit {
                    value: (),
                    changed: false,
                })
            })
            .unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "a\n");
    }

    #[cfg(unix)]
    #[test]
    fn loose_permissions_are_tightened_on_write() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new();
        let file = dir.path().join("x.yml");
        fs::write(&file, "a\n").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        Store::new(&file)
            .update(|d: &mut Lines| Ok(d.0.push("b".into())))
            .unwrap();
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn failures_leave_the_file_alone() {
        let dir = TempDir::new();
        let file = dir.path().join("x.yml");
        fs::write(&file, "BROKEN\n").unwrap();
        let store = Store::new(&file);
        let err = store.update(|d: &mut Lines| Ok(d.0.clear())).unwrap_err();
        assert_eq!(err.message, format!("bad {}", file.display()));
        assert_eq!(fs::read_to_string(&file).unwrap(), "BROKEN\n");
        fs::write(&file, "ok\n").unwrap();
        let err = store
            .update(|d: &mut Lines| {
                d.0.clear();
                Err::<(), _>(CliError::client("no"))
            })
            .unwrap_err();
        assert_eq!(err.message, "no");
        assert_eq!(fs::read_to_string(&file).unwrap(), "ok\n");
        assert!(!lock::lock_path(&file).exists());
    }

    #[test]
    fn leftover_temp_files_are_ignored_and_old_ones_cleaned() {
        let dir = TempDir::new();
        let file = dir.path().join("x.yml");
        let fresh = dir.path().join("x.yml.tmp.1.1");
        let old = dir.path().join("x.yml.tmp.2.2");
        let other = dir.path().join("y.yml.tmp.3.3");
        for p in [&fresh, &old, &other] {
            fs::write(p, "garbage").unwrap();
        }
        let past = SystemTime::now() - Duration::from_secs(120);
        for p in [&old, &other] {
            File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(past)
                .unwrap();
        }
        let store = Store::new(&file);
        store
            .update(|d: &mut Lines| Ok(d.0.push("a".into())))
            .unwrap();
        assert_eq!(store.load::<Lines>().unwrap(), Lines(vec!["a".into()]));
        assert!(fresh.exists());
        assert!(!old.exists());
        assert!(other.exists());
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        use std::os::unix::fs::symlink;
        let dir = TempDir::new();
        let file = dir.path().join("x.yml");
        let store = Store::new(&file);
        // A directory, and a symlink to a device that never ends.
        fs::create_dir(&file).unwrap();
        let e = store.load::<Lines>().unwrap_err();
        let shown = file.display();
        assert_eq!(
            e.message,
            format!("Failed to read {shown}: not a regular file")
        );
        fs::remove_dir(&file).unwrap();
        symlink("/dev/zero", &file).unwrap();
        let e = store.load::<Lines>().unwrap_err();
        assert_eq!(
            e.message,
            format!("Failed to read {shown}: not a regular file")
        );
        assert!(store.update(|d: &mut Lines| Ok(d.0.clear())).is_err());
        fs::remove_file(&file).unwrap();
        // One byte over the bound (a sparse file: no disk is used).
        File::create(&file)
            .unwrap()
            .set_len(MAX_FILE_SIZE + 1)
            .unwrap();
        let e = store.load::<Lines>().unwrap_err();
        assert_eq!(
            e.message,
            format!("Failed to read {shown}: the file is larger than 64 MiB")
        );
        assert!(!lock::lock_path(&file).exists());
    }

    #[test]
    fn what_could_not_be_read_back_is_not_written() {
        let dir = TempDir::new();
        let tmp = dir.path().join("x.yml.tmp");
        let e = write_new_private(&tmp, 10, |out| {
            out.write_all(b"0123456789")?;
            out.write_all(b"x")?;
            Ok(11)
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the file would be larger than 64 MiB (the most difyctl reads)"
        );
        // Exactly the limit is fine.
        write_new_private(&tmp, 10, |out| out.write_all(b"0123456789").map(|()| 10)).unwrap();
        assert_eq!(fs::read(&tmp).unwrap(), b"0123456789");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_store_stays_a_symlink() {
        use std::os::unix::fs::symlink;
        let dir = TempDir::new();
        let dotfiles = dir.path().join("dotfiles");
        fs::create_dir(&dotfiles).unwrap();
        let real = dotfiles.join("x.yml");
        fs::write(&real, "a\n").unwrap();
        let link = dir.path().join("x.yml");
        symlink("dotfiles/x.yml", &link).unwrap();
        let store = Store::new(&link);
        store
            .update(|d: &mut Lines| Ok(d.0.push("b".into())))
            .unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "a\nb\n");
        assert_eq!(store.load::<Lines>().unwrap().0, ["a", "b"]);
        // No temp file left in either directory, the lock beside the link.
        let names = |d: &Path| fs::read_dir(d).unwrap().count();
        assert_eq!((names(dir.path()), names(&dotfiles)), (2, 1));

        // A dangling link: the file it names is created.
        fs::remove_file(&real).unwrap();
        store
            .update(|d: &mut Lines| Ok(d.0.push("c".into())))
            .unwrap();
        assert_eq!(fs::read_to_string(&real).unwrap(), "c\n");
        // A loop is an error, not a hang.
        let a = dir.path().join("loop-a.yml");
        symlink("loop-b.yml", &a).unwrap();
        symlink("loop-a.yml", dir.path().join("loop-b.yml")).unwrap();
        let e = Store::new(&a)
            .update(|d: &mut Lines| Ok(d.0.push("x".into())))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ClientError);
    }

    #[cfg(unix)]
    #[test]
    fn read_only_directory_is_read_without_a_lock() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new();
        let file = dir.path().join("x.yml");
        fs::write(&file, "a\n").unwrap();
        // Copied along with the directory: stale, and impossible to remove.
        let lock = lock::lock_path(&file);
        fs::write(&lock, "1\n").unwrap();
        let past = SystemTime::now() - Duration::from_secs(60);
        File::options()
            .write(true)
            .open(&lock)
            .unwrap()
            .set_modified(past)
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o500)).unwrap();
        let store = Store::new(&file);
        let loaded = store.load::<Lines>();
        let write = store.update(|d: &mut Lines| Ok(d.0.push("b".into())));
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        // Root ignores directory permissions, so only the read is certain here.
        assert_eq!(loaded.unwrap(), Lines(vec!["a".into()]));
        if !running_as_root() {
            assert!(
                write
                    .unwrap_err()
                    .message
                    .starts_with("Failed to create the lock file")
            );
        }
    }

    #[cfg(unix)]
    fn running_as_root() -> bool {
        use std::os::unix::fs::MetadataExt;
        let dir = TempDir::new();
        let probe = dir.path().join("probe");
        fs::write(&probe, "").unwrap();
        fs::metadata(&probe).unwrap().uid() == 0
    }
}
