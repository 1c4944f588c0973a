//! `nudge.yml` in the cache directory: when difyctl last warned that a server
//! may be incompatible, per server, as the official tool keeps it:
//!
//! ```yaml
//! warned:
//!   https://dify.example.com: '2026-12-07T10:31:33.120Z'
//! ```
//!
//! Keys are `<scheme>://<host>`, times ISO-8601 UTC with milliseconds. Like
//! everything in the cache it is never needed: a missing, unreadable or
//! garbled file reads as "never warned", and other keys are kept as found.
//! Written as the other stores are ([`Store`]): under `nudge.yml.lock`, to a
//! temp file renamed over the old one, mode 0600 in a 0700 directory.

use std::io;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::cache::LOCK;
use super::store::{Document, Store};
use super::yaml;
use crate::error::Result;

pub const NUDGE_FILE: &str = "nudge.yml";

const WARNED: &str = "warned";

pub fn nudge_path(cache_dir: &Path) -> PathBuf {
    cache_dir.join(NUDGE_FILE)
}

/// The whole file, so keys difyctl does not know survive a write.
#[derive(Debug, Clone, Default, PartialEq, Hash)]
pub struct NudgeFile(Mapping);

impl Document for NudgeFile {
    fn parse(text: &str, path: &Path) -> Result<Self> {
        let value: Value = yaml::parse(text, path, false).unwrap_or(Value::Null);
        Ok(NudgeFile(match value {
            Value::Mapping(map) => map,
            _ => Mapping::new(),
        }))
    }

    fn write(&self, out: &mut dyn io::Write) -> io::Result<u64> {
        yaml::Emitter::new(out).document(&Value::Mapping(self.0.clone()))
    }
}

impl NudgeFile {
    /// Seconds since the epoch of the last warning about `server`, if any is
    /// recorded and readable.
    pub fn warned_at(&self, server: &str) -> Option<i64> {
        let at = self.0.get(WARNED)?.as_mapping()?.get(server)?.as_str()?;
        crate::time::parse_iso(at)
    }

    /// Records a warning about `server` at `millis` since the epoch.
    pub fn set_warned(&mut self, server: &str, millis: i64) {
        let stamp = Value::String(crate::time::iso_utc_millis(millis));
        let warned = self
            .0
            .entry(Value::String(WARNED.to_owned()))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if !warned.is_mapping() {
            *warned = Value::Mapping(Mapping::new());
        }
        if let Value::Mapping(map) = warned {
            map.insert(Value::String(server.to_owned()), stamp);
        }
    }
}

/// `nudge.yml` of `cache_dir`; empty when it cannot be read.
pub fn load_nudges(cache_dir: &Path) -> NudgeFile {
    Store::new(nudge_path(cache_dir))
        .with_lock_options(Ok(LOCK))
        .load()
        .unwrap_or_default()
}

/// Records a warning about `server` at `millis`, re-reading the file under its
/// lock so a warning about another server written meanwhile is kept.
pub fn mark_warned(cache_dir: &Path, server: &str, millis: i64) -> Result<()> {
    Store::new(nudge_path(cache_dir))
        .with_lock_options(Ok(LOCK))
        .update(|file: &mut NudgeFile| {
            file.set_warned(server, millis);
            Ok(())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testutil::TempDir;

    #[test]
    fn warnings_round_trip_in_the_official_shape() {
        let tmp = TempDir::new();
        let dir = tmp.path().join("cache");
        assert_eq!(load_nudges(&dir), NudgeFile::default());
        // 2026-06-15T10:00:00.120Z
        mark_warned(&dir, "https://dify.example.com", 1_781_517_600_120).unwrap();
        mark_warned(&dir, "http://127.0.0.1:5001", 1_781_517_601_000).unwrap();
        let text = std::fs::read_to_string(nudge_path(&dir)).unwrap();
        assert_eq!(
            text,
            "warned:\n  https://dify.example.com: '2026-06-15T10:00:00.120Z'\n  \
             http://127.0.0.1:5001: '2026-06-15T10:00:01.000Z'\n"
        );
        let file = load_nudges(&dir);
        assert_eq!(
            file.warned_at("https://dify.example.com"),
            Some(1_781_517_600)
        );
        assert_eq!(file.warned_at("http://127.0.0.1:5001"), Some(1_781_517_601));
        assert_eq!(file.warned_at("https://other.example.com"), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&nudge_path(&dir)), 0o600);
            assert_eq!(mode(&dir), 0o700);
        }
        assert!(!crate::state::lock_path(&nudge_path(&dir)).exists());
    }

    #[test]
    fn garbage_reads_as_never_warned_and_other_keys_survive() {
        let tmp = TempDir::new();
        let dir = tmp.path();
        for garbage in [
            "{not yaml",
            "- a list\n",
            "warned: 3\n",
            "warned:\n  https://h: yesterday\n",
        ] {
            std::fs::write(nudge_path(dir), garbage).unwrap();
            assert_eq!(load_nudges(dir).warned_at("https://h"), None, "{garbage}");
        }
        std::fs::write(nudge_path(dir), "warned: 3\nkeep: me\n").unwrap();
        mark_warned(dir, "https://h", 0).unwrap();
        assert_eq!(
            std::fs::read_to_string(nudge_path(dir)).unwrap(),
            "warned:\n  https://h: '1970-01-01T00:00:00.000Z'\nkeep: me\n"
        );
    }
}
