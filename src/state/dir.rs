//! Where the config files live: `DIFY_CONFIG_DIR`, else the platform's place
//! (difyctl-files(5) lists them).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::lock::LockOptions;
use super::store::Store;
use crate::env::Env;
use crate::error::{CliError, Result};

const SUBDIR: &str = "difyctl";

/// The platform families whose config directories differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
    Other,
}

impl Os {
    pub fn current() -> Os {
        if cfg!(target_os = "linux") {
            Os::Linux
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else if cfg!(windows) {
            Os::Windows
        } else {
            Os::Other
        }
    }
}

/// The config directory an invocation uses, and how long its writes wait
/// for another process's lock.
#[derive(Debug, Clone)]
pub struct ConfigDir {
    path: PathBuf,
    /// An invalid `DIFYCTL_LOCK_TIMEOUT` fails only what needs a lock.
    lock: Result<LockOptions>,
}

impl ConfigDir {
    /// The directory `env` names (see [`config_dir_with`]), the lock wait
    /// from `DIFYCTL_LOCK_TIMEOUT`.
    pub fn from_env(env: &Env) -> Result<ConfigDir> {
        let path = config_dir_with(
            Os::current(),
            |name| env.os(name).map(OsString::from),
            || home_dir(env),
        )?;
        Ok(ConfigDir::new(path, LockOptions::from_env(env)))
    }

    pub fn new(path: impl Into<PathBuf>, lock: Result<LockOptions>) -> ConfigDir {
        ConfigDir {
            path: path.into(),
            lock,
        }
    }

    /// `path`, with the default lock wait.
    pub fn at(path: impl Into<PathBuf>) -> ConfigDir {
        ConfigDir::new(path, Ok(LockOptions::default()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store of `file` in this directory.
    pub fn store(&self, file: &str) -> Store {
        Store::new(self.path.join(file)).with_lock_options(self.lock.clone())
    }
}

/// The home directory: `HOME` as the environment has it, else the system's
/// record of the user.
pub fn home_dir(env: &Env) -> Option<PathBuf> {
    env.path("HOME").or_else(home::home_dir)
}

/// The config directory: `DIFY_CONFIG_DIR` when set and not empty, else the
/// platform's place under the home directory (`%APPDATA%` on Windows). The
/// environment and home directory are passed in, so it can be tested.
pub fn config_dir_with(
    os: Os,
    env: impl Fn(&str) -> Option<OsString>,
    home: impl FnOnce() -> Option<PathBuf>,
) -> Result<PathBuf> {
    let non_empty = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty("DIFY_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let from_home = |home: Option<PathBuf>| {
        home.filter(|h| !h.as_os_str().is_empty())
            .map(|h| h.join(".config").join(SUBDIR))
            .ok_or_else(|| {
                CliError::client("cannot determine the home directory")
                    .with_hint("set DIFY_CONFIG_DIR to the difyctl config directory")
            })
    };
    match os {
        Os::Linux => match non_empty("XDG_CONFIG_HOME") {
            Some(xdg) => Ok(PathBuf::from(xdg).join(SUBDIR)),
            None => from_home(home()),
        },
        Os::Windows => non_empty("APPDATA")
            .or_else(|| non_empty("LOCALAPPDATA"))
            .map(|d| PathBuf::from(d).join(SUBDIR))
            .ok_or_else(|| {
                CliError::client("cannot resolve %APPDATA% on Windows")
                    .with_hint("set APPDATA or DIFY_CONFIG_DIR")
            }),
        Os::MacOs | Os::Other => from_home(home()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use std::path::Path;

    fn resolve(os: Os, vars: &[(&str, &str)], home: Option<&str>) -> Result<PathBuf> {
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        };
        config_dir_with(os, env, || home.map(PathBuf::from))
    }

    #[test]
    fn override_wins_verbatim_when_non_empty() {
        for os in [Os::Linux, Os::MacOs, Os::Windows, Os::Other] {
            let dir = resolve(
                os,
                &[("DIFY_CONFIG_DIR", "rel/dir/"), ("XDG_CONFIG_HOME", "/x")],
                None,
            );
            assert_eq!(dir.unwrap(), Path::new("rel/dir/"));
        }
        let dir = resolve(Os::Linux, &[("DIFY_CONFIG_DIR", "")], Some("/home/u"));
        assert_eq!(dir.unwrap(), Path::new("/home/u/.config/difyctl"));
    }

    #[test]
    fn linux_uses_xdg_then_home() {
        let x = resolve(Os::Linux, &[("XDG_CONFIG_HOME", "/xdg")], Some("/home/u"));
        assert_eq!(x.unwrap(), Path::new("/xdg/difyctl"));
        let h = resolve(Os::Linux, &[("XDG_CONFIG_HOME", "")], Some("/home/u"));
        assert_eq!(h.unwrap(), Path::new("/home/u/.config/difyctl"));
        let none = resolve(Os::Linux, &[], None).unwrap_err();
        assert_eq!(none.code, ErrorCode::ClientError);
    }

    #[test]
    fn macos_and_others_ignore_xdg() {
        for os in [Os::MacOs, Os::Other] {
            let d = resolve(os, &[("XDG_CONFIG_HOME", "/xdg")], Some("/Users/u"));
            assert_eq!(d.unwrap(), Path::new("/Users/u/.config/difyctl"));
        }
    }

    #[test]
    fn windows_uses_appdata_then_localappdata() {
        let a = resolve(
            Os::Windows,
            &[("APPDATA", "C:/A"), ("LOCALAPPDATA", "C:/L")],
            None,
        );
        assert_eq!(a.unwrap(), Path::new("C:/A").join("difyctl"));
        let l = resolve(
            Os::Windows,
            &[("APPDATA", ""), ("LOCALAPPDATA", "C:/L")],
            None,
        );
        assert_eq!(l.unwrap(), Path::new("C:/L").join("difyctl"));
        let e = resolve(Os::Windows, &[], Some("C:/Users/u")).unwrap_err();
        assert_eq!(e.message, "cannot resolve %APPDATA% on Windows");
    }
}
