//! What a command may use besides its arguments: the facts of this
//! invocation, gathered once when it starts. The environment is read here
//! (through [`Env`]) and nowhere else, the terminals are looked at once, and
//! the clock is a value, so a command's core runs the same in a unit test
//! with a temporary config dir, chosen variables and a fixed time as it does
//! in the binary.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::env::Env;
use crate::error::Result;
use crate::output::term::Ui;
use crate::state::{self, ConfigDir};

/// What time it is, for what a command shows or decides by the time
/// (expiry, the banner's quiet day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(SystemTime),
}

impl Clock {
    pub fn now(self) -> SystemTime {
        match self {
            Clock::System => SystemTime::now(),
            Clock::Fixed(at) => at,
        }
    }

    /// Seconds since the Unix epoch (0 before it).
    pub fn unix_secs(self) -> i64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }

    /// Milliseconds since the Unix epoch (0 before it).
    pub fn unix_millis(self) -> i64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// The context of one invocation.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The environment as it was at start-up.
    pub env: Env,
    /// Which streams are terminals; colour and spinner allowed or not.
    pub ui: Ui,
    pub clock: Clock,
    /// `-v`: log HTTP exchanges on stderr, keep raw responses in errors.
    pub verbose: bool,
    /// Resolved from `env` once; an error (no home directory) fails only
    /// the commands that need the directory.
    config_dir: Result<ConfigDir>,
    cache_dir: Option<std::path::PathBuf>,
}

impl Ctx {
    /// This process: its environment, its terminals, the system clock.
    pub fn from_process(verbose: bool) -> Ctx {
        let env = Env::from_process();
        let ui = Ui::detect(&env);
        Ctx::new(env, ui, Clock::System, verbose)
    }

    /// A context from the given facts; the directories follow from `env`
    /// (`DIFY_CONFIG_DIR`, `DIFY_CACHE_DIR`, …).
    pub fn new(env: Env, ui: Ui, clock: Clock, verbose: bool) -> Ctx {
        Ctx {
            config_dir: ConfigDir::from_env(&env),
            cache_dir: state::cache_dir(&env).ok(),
            env,
            ui,
            clock,
            verbose,
        }
    }

    /// The config directory (`hosts.yml`, `tokens.yml`).
    pub fn config_dir(&self) -> Result<&ConfigDir> {
        self.config_dir.as_ref().map_err(Clone::clone)
    }

    /// The cache directory, when there is one (nothing in it is needed).
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }
}

#[cfg(test)]
impl Ctx {
    /// For unit tests of a command's core: the config and cache directories
    /// under `dir`, only the variables given, no terminal, the clock at
    /// `now` (seconds since the epoch).
    pub(crate) fn for_tests(dir: &Path, vars: &[(&str, &str)], now: u64) -> Ctx {
        let mut pairs: Vec<(String, std::ffi::OsString)> = vec![
            ("DIFY_CONFIG_DIR".into(), dir.join("config").into()),
            ("DIFY_CACHE_DIR".into(), dir.join("cache").into()),
        ];
        pairs.extend(vars.iter().map(|(k, v)| (k.to_string(), v.into())));
        let at = UNIX_EPOCH + std::time::Duration::from_secs(now);
        Ctx::new(Env::from_pairs(pairs), Ui::plain(), Clock::Fixed(at), false)
    }
}
