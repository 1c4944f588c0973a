//! `login-pending.yml` in the config directory: device-flow sign-ins started
//! by `auth login --no-wait` and not finished yet by `auth login --resume`,
//! one per host (difyctl-files(5)):
//!
//! ```yaml
//! pending:
//!   dify.example.com:
//!     scheme: https
//!     insecure: false
//!     label: ci on build-7
//!     label_chosen: true
//!     token_storage: file
//!     device_code: dc_…
//!     user_code: WDJP-XKLM
//!     verification_uri: https://dify.example.com/device
//!     expires_at: '2026-12-07T10:15:00.000Z'
//!     interval: 5
//!     last_polled_at: '2026-12-07T10:00:05.120Z'
//! ```
//!
//! `label_chosen` is there only when the label was chosen (`--label`,
//! `DIFY_DEVICE_LABEL`), `token_storage` only when the sign-in asked for a store,
//! `last_polled_at` once the code was polled. The device code is a secret:
//! the file is written as `tokens.yml` is (mode 0600, under its lock,
//! replaced atomically), and its lines are masked in error excerpts. Other
//! top-level keys are kept as found.

use std::io;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::omap::OrderedMap;
use super::store::Document;
use super::{TokenStorage, yaml};
use crate::error::Result;
use crate::secret::Secret;
use crate::time::{iso_utc_millis, parse_iso_millis};

pub const PENDING_FILE: &str = "login-pending.yml";

const PENDING: &str = "pending";

/// A sign-in waiting for its approval: what polling needs, and what storing
/// its token will need.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct PendingSignIn {
    /// `https`, or `http` (allowed by `--insecure`).
    pub scheme: String,
    pub insecure: bool,
    /// The device label the code was requested with.
    pub label: String,
    /// Whether the label was chosen (`--label`, `DIFY_DEVICE_LABEL`) rather
    /// than the default, so that the context keeps it.
    pub label_chosen: bool,
    /// The store asked for (`--token-storage`, `DIFY_TOKEN_STORAGE`), if any.
    pub token_storage: Option<TokenStorage>,
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    /// When the code expires, in milliseconds since the epoch.
    pub expires_at: i64,
    /// Seconds to wait between polls (grown by `slow_down`).
    pub interval: u64,
    /// When the code was last polled, in milliseconds since the epoch.
    pub last_polled_at: Option<i64>,
}

impl PendingSignIn {
    fn from_value(value: &Value) -> Option<PendingSignIn> {
        let map = value.as_mapping()?;
        let field = |name: &str| map.get(name).filter(|v| !v.is_null());
        let text = |name: &str| field(name).map(|v| v.as_str().map(str::to_owned));
        let time = |name: &str| field(name).map(|v| v.as_str().and_then(parse_iso_millis));
        let scheme = text("scheme")??;
        if scheme != "https" && scheme != "http" {
            return None;
        }
        Some(PendingSignIn {
            scheme,
            insecure: field("insecure").map_or(Some(false), Value::as_bool)?,
            label: text("label").unwrap_or(Some(String::new()))?,
            label_chosen: field("label_chosen").map_or(Some(false), Value::as_bool)?,
            token_storage: match text("token_storage") {
                None => None,
                Some(name) => Some(TokenStorage::from_name(&name?)?),
            },
            device_code: Some(Secret::new(text("device_code")??)).filter(|s| !s.is_empty())?,
            user_code: text("user_code")??,
            verification_uri: text("verification_uri")??,
            expires_at: time("expires_at")??,
            interval: field("interval")?.as_u64().filter(|n| *n > 0)?,
            last_polled_at: match time("last_polled_at") {
                None => None,
                Some(at) => Some(at?),
            },
        })
    }

    fn to_value(&self) -> Value {
        let mut map = Mapping::new();
        let mut put = |k: &str, v: Value| {
            map.insert(Value::String(k.to_owned()), v);
        };
        let text = |s: &str| Value::String(s.to_owned());
        put("scheme", text(&self.scheme));
        put("insecure", Value::Bool(self.insecure));
        put("label", text(&self.label));
        if self.label_chosen {
            put("label_chosen", Value::Bool(true));
        }
        if let Some(storage) = self.token_storage {
            put("token_storage", text(storage.as_str()));
        }
        put("device_code", text(self.device_code.expose()));
        put("user_code", text(&self.user_code));
        put("verification_uri", text(&self.verification_uri));
        put("expires_at", text(&iso_utc_millis(self.expires_at)));
        put("interval", Value::Number(self.interval.into()));
        if let Some(at) = self.last_polled_at {
            put("last_polled_at", text(&iso_utc_millis(at)));
        }
        Value::Mapping(map)
    }

    /// Whether the code has expired at `now_millis`.
    pub fn expired(&self, now_millis: i64) -> bool {
        now_millis >= self.expires_at
    }
}

/// The whole file: the pending sign-ins by bare host, in file order, and
/// the top-level keys that are not difyctl's.
#[derive(Debug, Clone, Default, PartialEq, Hash)]
pub struct PendingFile {
    entries: OrderedMap<PendingSignIn>,
    other: Mapping,
}

impl PendingFile {
    pub fn get(&self, host: &str) -> Option<&PendingSignIn> {
        self.entries.get(host)
    }

    pub fn get_mut(&mut self, host: &str) -> Option<&mut PendingSignIn> {
        self.entries.get_mut(host)
    }

    /// Adds or replaces the sign-in of `host`.
    pub fn insert(&mut self, host: &str, entry: PendingSignIn) {
        self.entries.insert(host, entry);
    }

    pub fn remove(&mut self, host: &str) -> Option<PendingSignIn> {
        self.entries.remove(host)
    }

    /// Removes the sign-ins whose code has expired at `now_millis`; returns
    /// their hosts, in file order.
    pub fn remove_expired(&mut self, now_millis: i64) -> Vec<String> {
        let expired: Vec<String> = self
            .iter()
            .filter(|(_, e)| e.expired(now_millis))
            .map(|(h, _)| h.to_owned())
            .collect();
        for host in &expired {
            self.entries.remove(host);
        }
        expired
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &PendingSignIn)> {
        self.entries.iter()
    }

    /// No sign-in pending and nothing else in the file: the file can go.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.other.is_empty()
    }
}

impl Document for PendingFile {
    const SECRET: bool = true;

    fn removable(&self) -> bool {
        self.is_empty()
    }

    fn parse(text: &str, path: &Path) -> Result<Self> {
        let root = match yaml::parse::<Value>(text, path, true)? {
            Value::Null => Mapping::new(),
            Value::Mapping(map) => map,
            _ => return Err(yaml::invalid(path, "the file is not a map")),
        };
        let mut file = PendingFile::default();
        for (key, value) in root {
            if key.as_str() != Some(PENDING) {
                file.other.insert(key, value);
                continue;
            }
            let hosts = match value {
                Value::Null => Mapping::new(),
                Value::Mapping(hosts) => hosts,
                _ => {
                    return Err(yaml::invalid(
                        path,
                        "pending is not a map of host to sign-in",
                    ));
                }
            };
            for (host, entry) in &hosts {
                let host = yaml::key_string(host);
                // The reason is not given: it could quote the device code.
                let entry = PendingSignIn::from_value(entry).ok_or_else(|| {
                    yaml::invalid(
                        path,
                        format_args!("pending.{host} is not a complete pending sign-in"),
                    )
                })?;
                file.entries.insert(host, entry);
            }
        }
        Ok(file)
    }

    fn write(&self, out: &mut dyn io::Write) -> io::Result<u64> {
        let mut root = Mapping::new();
        let entries = self
            .entries
            .iter()
            .map(|(host, e)| (Value::String(host.to_owned()), e.to_value()))
            .collect();
        root.insert(Value::String(PENDING.into()), Value::Mapping(entries));
        root.extend(self.other.clone());
        yaml::Emitter::new(out).document(&Value::Mapping(root))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn entry() -> PendingSignIn {
        PendingSignIn {
            scheme: "http".into(),
            insecure: true,
            label: "difyctl on box".into(),
            label_chosen: true,
            token_storage: Some(TokenStorage::File),
            device_code: Secret::new("dc_secret"),
            user_code: "WDJP-XKLM".into(),
            verification_uri: "http://localhost:5001/device".into(),
            // 2026-06-15T10:15:00.000Z
            expires_at: 1_781_518_500_000,
            interval: 5,
            last_polled_at: Some(1_781_517_605_120),
        }
    }

    const TEXT: &str = "pending:
  localhost:5001:
    scheme: http
    insecure: true
    label: difyctl on box
    label_chosen: true
    token_storage: file
    device_code: dc_secret
    user_code: WDJP-XKLM
    verification_uri: http://localhost:5001/device
    expires_at: '2026-06-15T10:15:00.000Z'
    interval: 5
    last_polled_at: '2026-06-15T10:00:05.120Z'
";

    fn parse(text: &str) -> Result<PendingFile> {
        PendingFile::parse(text, Path::new("/c/login-pending.yml"))
    }

    #[test]
    fn round_trips_in_its_documented_shape() {
        let mut file = PendingFile::default();
        file.insert("localhost:5001", entry());
        assert_eq!(file.render(), TEXT);
        assert_eq!(parse(TEXT).unwrap(), file);
        assert!(!format!("{file:?}").contains("dc_secret"));

        // The optional fields.
        let mut bare = entry();
        (bare.token_storage, bare.last_polled_at) = (None, None);
        bare.label_chosen = false;
        file.insert("localhost:5001", bare.clone());
        let text = file.render();
        for absent in ["token_storage", "last_polled_at", "label_chosen"] {
            assert!(!text.contains(absent), "{text}");
        }
        assert_eq!(parse(&text).unwrap().get("localhost:5001"), Some(&bare));
    }

    #[test]
    fn empty_files_and_other_keys() {
        for empty in ["", "pending:\n", "pending: {}\n", "# nothing\n"] {
            assert!(parse(empty).unwrap().is_empty(), "{empty:?}");
        }
        // Keys that are not ours stay, after ours.
        let file = parse("server: https://x\npending: {}\ndevice_code: dc_other\n").unwrap();
        assert!(!file.is_empty() && file.iter().len() == 0);
        assert_eq!(
            file.render(),
            "pending: {}\nserver: https://x\ndevice_code: dc_other\n"
        );
    }

    #[test]
    fn expired_entries_are_removed_by_time() {
        let mut file = PendingFile::default();
        file.insert("a.test", entry());
        let later = PendingSignIn {
            expires_at: entry().expires_at + 60_000,
            ..entry()
        };
        file.insert("b.test", later);
        assert!(file.remove_expired(entry().expires_at - 1).is_empty());
        assert_eq!(file.remove_expired(entry().expires_at), ["a.test"]);
        assert_eq!(file.iter().map(|(h, _)| h).collect::<Vec<_>>(), ["b.test"]);
    }

    #[test]
    fn damaged_entries_are_refused_without_quoting_them() {
        for (bad, what) in [
            ("- a list\n", "the file is not a map".to_string()),
            (
                "pending: [dc_secret]\n",
                "pending is not a map of host to sign-in".into(),
            ),
            (
                &TEXT.replace("dc_secret", "''"),
                "pending.localhost:5001 is not a complete pending sign-in".into(),
            ),
            (
                &TEXT.replace("interval: 5", "interval: dc_secret"),
                "pending.localhost:5001 is not a complete pending sign-in".into(),
            ),
            (
                &TEXT.replace("scheme: http", "scheme: ftp"),
                "pending.localhost:5001 is not a complete pending sign-in".into(),
            ),
            (
                &TEXT.replace("'2026-06-15T10:15:00.000Z'", "soon"),
                "pending.localhost:5001 is not a complete pending sign-in".into(),
            ),
            (
                &TEXT.replace("token_storage: file", "token_storage: cloud"),
                "pending.localhost:5001 is not a complete pending sign-in".into(),
            ),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::ClientError);
            assert!(e.message.contains(&what), "{bad}: {}", e.message);
            assert!(!e.message.contains("dc_secret"), "{}", e.message);
        }
        // Broken YAML: the excerpt masks the lines.
        let e = parse(&format!("{TEXT}  : [\n")).unwrap_err();
        assert!(!e.message.contains("dc_secret"), "{}", e.message);
    }
}
