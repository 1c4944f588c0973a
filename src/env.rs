//! The process environment, read once when difyctl starts
//! ([`Env::from_process`], the only place that reads it) and handed to the
//! code that needs a variable through the command's
//! [`Ctx`](crate::ctx::Ctx), so that tests pass their own.
//!
//! Three kinds of read, one rule each:
//!
//! * text ([`Env::text`]: `DIFY_HOST`, `DIFYCTL_HTTP_RETRY`, `HTTPS_PROXY`,
//!   …): a value that is not UTF-8 is a usage error (`usage_invalid_flag`,
//!   exit 2) naming the variable, raised by the command that reads it, never
//!   a variable silently taken as unset;
//! * paths ([`Env::path`]: `DIFY_CONFIG_DIR`, `HOME`, `SSL_CERT_FILE`, …):
//!   any bytes the system allows;
//! * switches: [`Env::is_set`] (`NO_COLOR`: set and not empty) and
//!   [`Env::truthy`] (`DIFY_PLAIN`: `1`, `true` or `yes`, any case).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;

use crate::error::{CliError, Result};

/// A snapshot of environment variables.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<OsString, OsString>,
}

impl Env {
    /// The variables of this process, as they are now.
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars_os().collect(),
        }
    }

    /// The given variables only (tests, and code that must not see the
    /// environment).
    pub fn from_pairs<K: Into<OsString>, V: Into<OsString>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The raw value, any bytes.
    pub fn os(&self, name: &str) -> Option<&OsStr> {
        // Windows' names are case-insensitive.
        if cfg!(windows) {
            return self
                .vars
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_os_str());
        }
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    /// A text value; one that is not UTF-8 is a usage error rather than
    /// unset (a garbled `DIFY_TOKEN` must not fall back to the stored
    /// context).
    pub fn text(&self, name: &str) -> Result<Option<&str>> {
        match self.os(name) {
            None => Ok(None),
            Some(v) => v.to_str().map(Some).ok_or_else(|| {
                CliError::usage_invalid(format!("{name} is not valid UTF-8"))
                    .with_hint(format!("set {name} to a text value, or unset it"))
            }),
        }
    }

    /// A path: any bytes, an empty value counting as unset.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
    }

    /// Set to a value that is not empty.
    pub fn is_set(&self, name: &str) -> bool {
        self.os(name).is_some_and(|v| !v.is_empty())
    }

    /// `1`, `true` or `yes` (any case); anything else, or unset, is false.
    pub fn truthy(&self, name: &str) -> bool {
        self.os(name)
            .and_then(OsStr::to_str)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
    }

    /// Every variable, in name order (for `env list`, which shows its own).
    pub fn names(&self) -> impl Iterator<Item = &OsStr> {
        self.vars.keys().map(OsString::as_os_str)
    }
}

// Names only: values can be tokens (DIFY_TOKEN).
impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[cfg(unix)]
    fn not_utf8() -> OsString {
        use std::os::unix::ffi::OsStringExt;
        OsString::from_vec(vec![b'a', 0xff])
    }

    #[test]
    fn text_values_must_be_utf8() {
        let env = Env::from_pairs([("DIFY_HOST", "h.test"), ("EMPTY", "")]);
        assert_eq!(env.text("DIFY_HOST"), Ok(Some("h.test")));
        assert_eq!(env.text("EMPTY"), Ok(Some("")));
        assert_eq!(env.text("UNSET"), Ok(None));
        #[cfg(unix)]
        {
            let env = Env::from_pairs([("DIFY_TOKEN_STORAGE", not_utf8())]);
            let e = env.text("DIFY_TOKEN_STORAGE").unwrap_err();
            assert_eq!(
                (e.code, e.message.as_str()),
                (
                    ErrorCode::UsageInvalidFlag,
                    "DIFY_TOKEN_STORAGE is not valid UTF-8"
                )
            );
            // A path or a switch is not text: no error.
            assert_eq!(
                env.path("DIFY_TOKEN_STORAGE"),
                Some(PathBuf::from(not_utf8()))
            );
            assert!(env.is_set("DIFY_TOKEN_STORAGE"));
            assert!(!env.truthy("DIFY_TOKEN_STORAGE"));
        }
    }

    #[test]
    fn switches_and_paths() {
        let env = Env::from_pairs([
            ("NO_COLOR", ""),
            ("DIFYCTL_NO_COLOR", "0"),
            ("DIFY_PLAIN", "YES"),
            ("DIFY_NO_PROGRESS", "2"),
            ("DIFY_CONFIG_DIR", ""),
        ]);
        assert!(!env.is_set("NO_COLOR"));
        assert!(env.is_set("DIFYCTL_NO_COLOR"));
        assert!(env.truthy("DIFY_PLAIN"));
        assert!(!env.truthy("DIFY_NO_PROGRESS"));
        assert_eq!(env.path("DIFY_CONFIG_DIR"), None);
    }

    #[test]
    fn debug_shows_names_only() {
        let env = Env::from_pairs([("DIFY_TOKEN", "dfoa_secret")]);
        assert_eq!(format!("{env:?}"), "{\"DIFY_TOKEN\"}");
    }
}
