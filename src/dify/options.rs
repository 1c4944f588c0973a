//! How a [`Client`](super::Client) behaves: timeouts, the body cap, the retry
//! budget, verbose logging and the User-Agent.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::net::NetEnv;
use super::retry;
use crate::env::Env;
use crate::error::Result;

/// Per-attempt timeout; every retry gets a fresh one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest response body read into memory.
pub const DEFAULT_BODY_LIMIT: u64 = 4 * 1024 * 1024;

/// Waits between attempts; injectable so tests record the schedule instead of sleeping.
pub type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;

/// Receives verbose log lines; the default writes them to stderr.
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// `difyctl-rs/<version> (<os>; <arch>)` with Node's platform and arch names.
///
/// Deliberately never `difyctl/…`: from Dify 1.16 servers read a version from
/// agents matching `^difyctl/<semver>` and refuse (426) those below the
/// official client's minimum. That gate is about the official client's
/// versions; ours count differently, and matching it would get difyctl
/// refused, or let through, for a version it is not.
pub fn user_agent() -> String {
    user_agent_for(
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH,
    )
}

fn user_agent_for(version: &str, os: &str, arch: &str) -> String {
    let os = match os {
        "macos" => "darwin",
        "windows" => "win32",
        other => other,
    };
    let arch = match arch {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        "x86" => "ia32",
        "powerpc64" => "ppc64",
        other => other,
    };
    format!("difyctl-rs/{version} ({os}; {arch})")
}

/// How a [`Client`](super::Client) behaves. `Default` reads nothing from the environment;
/// production code starts from [`ClientOptions::from_env`].
#[derive(Clone)]
pub struct ClientOptions {
    /// Retries of GET/PUT/DELETE after a failed first attempt (0: one attempt).
    pub retries: u32,
    /// Log each request and response line (bearer redacted).
    pub verbose: bool,
    /// Where verbose lines go; `None` means stderr.
    pub log: Option<LogSink>,
    pub user_agent: String,
    pub timeout: Duration,
    pub body_limit: u64,
    pub sleeper: Sleeper,
    pub net: NetEnv,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            retries: retry::DEFAULT_RETRIES,
            verbose: false,
            log: None,
            user_agent: user_agent(),
            timeout: DEFAULT_TIMEOUT,
            body_limit: DEFAULT_BODY_LIMIT,
            // Cut short by a signal in a cleanup scope (see output::interrupt).
            sleeper: Arc::new(|d| drop(crate::output::interrupt::sleep(d))),
            net: NetEnv::empty(),
        }
    }
}

impl ClientOptions {
    /// Defaults plus the proxy and `SSL_CERT_FILE` variables of `env`.
    pub fn from_env(env: &Env) -> Result<Self> {
        Ok(ClientOptions {
            net: NetEnv::from_env(env)?,
            ..ClientOptions::default()
        })
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("retries", &self.retries)
            .field("verbose", &self.verbose)
            .field("user_agent", &self.user_agent)
            .field("timeout", &self.timeout)
            .field("body_limit", &self.body_limit)
            .field("net", &self.net)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_uses_node_names() {
        assert_eq!(
            user_agent_for("0.1.0", "linux", "x86_64"),
            "difyctl-rs/0.1.0 (linux; x64)"
        );
        assert_eq!(
            user_agent_for("1.2.3", "macos", "aarch64"),
            "difyctl-rs/1.2.3 (darwin; arm64)"
        );
        assert_eq!(
            user_agent_for("1.2.3", "windows", "x86_64"),
            "difyctl-rs/1.2.3 (win32; x64)"
        );
        assert_eq!(
            user_agent_for("1.2.3", "freebsd", "riscv64"),
            "difyctl-rs/1.2.3 (freebsd; riscv64)"
        );
        let ua = user_agent();
        assert!(
            ua.starts_with(&format!("difyctl-rs/{} (", env!("CARGO_PKG_VERSION"))),
            "{ua}"
        );
        assert!(!ua.starts_with("difyctl/"));
    }
}
