//! The cache directory: what difyctl learns and can always learn again
//! (what each server said about itself). Nothing in it is needed: a missing,
//! unreadable or garbled cache file only costs a request.
//!
//! Where it is: `DIFY_CACHE_DIR` if set and non-empty; else on Linux
//! `$XDG_CACHE_HOME/difyctl` or `~/.cache/difyctl`, on macOS
//! `~/Library/Caches/difyctl`, on Windows `%APPDATA%\difyctl` (else
//! `%LOCALAPPDATA%\difyctl`), elsewhere `~/.cache/difyctl`.
//!
//! Files are written as the config stores are ([`Store`]): under their
//! `.lock`, to a temp file that is fsynced and renamed over the old one, mode
//! 0600 in a 0700 directory. Reads take no lock (a file is always whole), so
//! a lock left by a killed process never slows a command down; a write that
//! meets a held lock soon gives up.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::dir::Os;
use super::lock::LockOptions;
use super::store::{Document, Store};
use crate::env::Env;
use crate::error::{CliError, Result};

const SUBDIR: &str = "difyctl";

/// The folder of the per-server memos (one JSON file per server).
pub const SERVERS_DIR: &str = "servers";

/// A cache file is never worth a long wait: a held lock is given up on soon.
pub(crate) const LOCK: LockOptions = LockOptions {
    wait: Duration::from_millis(500),
    stale_after: Duration::from_secs(30),
};

/// The most a cache file may hold; a server memo takes a few KB.
const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// The cache directory `env` names (see [`cache_dir_with`]).
pub fn cache_dir(env: &Env) -> Result<PathBuf> {
    cache_dir_with(
        Os::current(),
        |name| env.os(name).map(OsString::from),
        || super::dir::home_dir(env),
    )
}

/// [`cache_dir`] with the environment and home directory passed in.
pub fn cache_dir_with(
    os: Os,
    env: impl Fn(&str) -> Option<OsString>,
    home: impl FnOnce() -> Option<PathBuf>,
) -> Result<PathBuf> {
    let non_empty = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty("DIFY_CACHE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let under_home = |parts: &[&str]| {
        home()
            .filter(|h| !h.as_os_str().is_empty())
            .map(|h| parts.iter().fold(h, |p, part| p.join(part)).join(SUBDIR))
            .ok_or_else(|| {
                CliError::client("cannot determine the home directory")
                    .with_hint("set DIFY_CACHE_DIR to a directory difyctl may keep its cache in")
            })
    };
    match os {
        Os::Linux => match non_empty("XDG_CACHE_HOME") {
            Some(xdg) => Ok(PathBuf::from(xdg).join(SUBDIR)),
            None => under_home(&[".cache"]),
        },
        Os::MacOs => under_home(&["Library", "Caches"]),
        Os::Windows => non_empty("APPDATA")
            .or_else(|| non_empty("LOCALAPPDATA"))
            .map(|d| PathBuf::from(d).join(SUBDIR))
            .ok_or_else(|| {
                CliError::client("cannot resolve %APPDATA% on Windows")
                    .with_hint("set APPDATA or DIFY_CACHE_DIR")
            }),
        Os::Other => under_home(&[".cache"]),
    }
}

/// The memo file of the server at `origin` (`<scheme>://<host>[/<prefix>]`):
/// `servers/<origin>.json`, every byte outside `[A-Za-z0-9.-]` (and a
/// leading dot) written as `%XX`, so the name is safe and tells the origin.
pub fn server_memo_path(cache_dir: &Path, origin: &str) -> PathBuf {
    let mut name = String::with_capacity(origin.len() + 8);
    for (i, b) in origin.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'-' || (b == b'.' && i > 0) {
            name.push(b as char);
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    name.push_str(".json");
    cache_dir.join(SERVERS_DIR).join(name)
}

/// A cache file's text, whatever it holds: the reader decides what it is.
#[derive(Debug, Clone, Default, PartialEq, Hash)]
struct TextFile(String);

impl Document for TextFile {
    fn parse(text: &str, _path: &Path) -> Result<Self> {
        Ok(TextFile(text.to_owned()))
    }

    fn write(&self, out: &mut dyn Write) -> io::Result<u64> {
        out.write_all(self.0.as_bytes())?;
        Ok(self.0.len() as u64)
    }
}

/// A cache file's text; `None` when it is missing, not a regular file or
/// too large.
pub fn read_text(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_SIZE {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_FILE_SIZE)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// Replaces a cache file's text (nothing is written when it is unchanged).
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    Store::new(path)
        .with_lock_options(Ok(LOCK))
        .update(|doc: &mut TextFile| {
            text.clone_into(&mut doc.0);
            Ok(())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn resolve(os: Os, vars: &[(&str, &str)], home: Option<&str>) -> Result<PathBuf> {
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        };
        cache_dir_with(os, env, || home.map(PathBuf::from))
    }

    #[test]
    fn the_override_wins_then_each_platform_has_its_place() {
        for os in [Os::Linux, Os::MacOs, Os::Windows, Os::Other] {
            let dir = resolve(
                os,
                &[("DIFY_CACHE_DIR", "c/"), ("XDG_CACHE_HOME", "/x")],
                None,
            );
            assert_eq!(dir.unwrap(), Path::new("c/"));
        }
        let home = Some("/home/u");
        let linux = |vars: &[(&str, &str)]| resolve(Os::Linux, vars, home).unwrap();
        assert_eq!(
            linux(&[("XDG_CACHE_HOME", "/xdg")]),
            Path::new("/xdg/difyctl")
        );
        assert_eq!(
            linux(&[("XDG_CACHE_HOME", "")]),
            Path::new("/home/u/.cache/difyctl")
        );
        assert_eq!(
            linux(&[("DIFY_CACHE_DIR", "")]),
            Path::new("/home/u/.cache/difyctl")
        );
        assert_eq!(
            resolve(Os::MacOs, &[("XDG_CACHE_HOME", "/xdg")], Some("/Users/u")).unwrap(),
            Path::new("/Users/u/Library/Caches/difyctl")
        );
        assert_eq!(
            resolve(
                Os::Windows,
                &[("APPDATA", ""), ("LOCALAPPDATA", "C:/L")],
                None
            )
            .unwrap(),
            Path::new("C:/L").join("difyctl")
        );
        assert_eq!(
            resolve(Os::Other, &[], home).unwrap(),
            Path::new("/home/u/.cache/difyctl")
        );
        let e = resolve(Os::Linux, &[], None).unwrap_err();
        assert_eq!(e.code, ErrorCode::ClientError);
        assert!(resolve(Os::Windows, &[], home).is_err());
    }

    #[test]
    fn memo_names_are_safe_and_tell_the_origin() {
        let dir = Path::new("/c");
        let name = |origin: &str| {
            server_memo_path(dir, origin)
                .strip_prefix("/c/servers")
                .unwrap()
                .display()
                .to_string()
        };
        assert_eq!(
            name("https://cloud.dify.ai"),
            "https%3A%2F%2Fcloud.dify.ai.json"
        );
        assert_eq!(
            name("http://127.0.0.1:5001/dify"),
            "http%3A%2F%2F127.0.0.1%3A5001%2Fdify.json"
        );
        assert_eq!(
            name("http://[::1]:8"),
            "http%3A%2F%2F%5B%3A%3A1%5D%3A8.json"
        );
        assert_eq!(name(".."), "%2E..json");
        assert_ne!(name("http://a_b"), name("http://a%5Fb"));
    }

    #[test]
    fn cache_files_round_trip_privately() {
        let tmp = crate::state::testutil::TempDir::new();
        let path = server_memo_path(tmp.path(), "https://x.test");
        assert_eq!(read_text(&path), None);
        write_text(&path, "{\"no_catalog\":true}\n").unwrap();
        assert_eq!(read_text(&path).as_deref(), Some("{\"no_catalog\":true}\n"));
        write_text(&path, "{}\n").unwrap();
        assert_eq!(read_text(&path).as_deref(), Some("{}\n"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        // A directory where the file should be is no file to read.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        assert_eq!(read_text(&path), None);
    }
}
