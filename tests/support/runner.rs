//! A fluent builder that runs the real binary in a throw-away config dir and
//! home, and checks stdout, stderr, the exit code and the files left behind.
//!
//! ```ignore
//! Test::new().hosts(YAML).args(["auth", "whoami"]).run().stdout("a@b (A)\n");
//! t.run_args(["auth", "whoami"]).code(4).stdout("").stderr(NOT_LOGGED_IN);
//! ```
//!
//! Strict by default: a run whose exit status no assertion looked at must
//! have exited 0, and one whose stderr nothing read must have left it empty.
//! The [`Outcome`] checks both when it is dropped, so a test states every
//! exit status but 0 and every byte of stderr it expects (exactly, or by
//! what it must contain), and an unexpected warning fails it.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::ops::Deref;
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How long [`Running::finish`] waits for the binary before killing it.
const FINISH_TIMEOUT: Duration = Duration::from_secs(90);

pub const BIN: &str = env!("CARGO_BIN_EXE_difyctl");

/// Fails the test when a run of the binary crashed: a panic message, Rust's
/// panic exit status 101, a stack overflow, or death by a signal only a crash
/// raises (SIGABRT, SIGSEGV, ...). A panic anywhere is a bug, whatever else the
/// test checks; every helper that runs the binary calls this.
#[track_caller]
pub fn assert_no_crash(status: ExitStatus, stderr: &str) {
    use std::os::unix::process::ExitStatusExt;
    assert!(
        !stderr.contains("panicked") && !stderr.contains("has overflowed its stack"),
        "difyctl panicked:\n{stderr}"
    );
    assert_ne!(status.code(), Some(101), "difyctl panicked:\n{stderr}");
    // SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGSYS.
    if let Some(signal) = status.signal() {
        assert!(
            ![4, 5, 6, 7, 8, 11, 31].contains(&signal),
            "difyctl crashed with signal {signal}:\n{stderr}"
        );
    }
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "difyctl-test-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // A test may have made things read-only; make them writable to clean up.
        let _ = Command::new("chmod")
            .args(["-R", "u+rwx"])
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Test {
    pub dir: TempDir,
    args: Vec<OsString>,
    env: BTreeMap<String, OsString>,
    stdin: Option<Vec<u8>>,
}

impl Default for Test {
    fn default() -> Self {
        Self::new()
    }
}

impl Test {
    /// A clean environment: only PATH, HOME and DIFY_CONFIG_DIR (a fresh
    /// `config` dir under the temp dir, not created yet), and the keychain
    /// disabled unless a test asks for it.
    pub fn new() -> Test {
        let dir = TempDir::new();
        let mut env = BTreeMap::new();
        env.insert("PATH".into(), std::env::var_os("PATH").unwrap_or_default());
        env.insert("HOME".into(), dir.path().join("home").into());
        env.insert("DIFY_CONFIG_DIR".into(), dir.path().join("config").into());
        env.insert("DIFY_E2E_NO_KEYRING".into(), "1".into());
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Test {
            dir,
            args: Vec::new(),
            env,
            stdin: None,
        }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// Write a file into the config dir (created 0700, file 0600).
    pub fn file(self, name: &str, contents: &str) -> Test {
        let dir = self.config_dir();
        std::fs::create_dir_all(&dir).unwrap();
        set_mode(&dir, 0o700);
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        set_mode(&path, 0o600);
        self
    }

    /// `hosts.yml`: a literal, or a [`super::fixtures::Hosts`].
    pub fn hosts(self, yaml: impl ToString) -> Test {
        self.file("hosts.yml", &yaml.to_string())
    }

    /// `tokens.yml`: a literal, or a [`super::fixtures::Tokens`].
    pub fn tokens(self, yaml: impl ToString) -> Test {
        self.file("tokens.yml", &yaml.to_string())
    }

    pub fn args<I, S>(mut self, args: I) -> Test
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Test {
        self.env.insert(key.into(), value.into());
        self
    }

    pub fn env_remove(mut self, key: &str) -> Test {
        self.env.remove(key);
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Test {
        self.stdin = Some(input.into());
        self
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .envs(&self.env)
            .args(&self.args)
            .current_dir(self.dir.path());
        cmd
    }

    /// The binary run under `wrapper` (`strace`, `sh -c` setting a umask):
    /// `wrapper wrapper_args… BIN args…` with this test's environment and dir.
    pub fn command_under(&self, wrapper: &str, wrapper_args: &[&str]) -> Command {
        let mut cmd = Command::new(wrapper);
        cmd.env_clear()
            .envs(&self.env)
            .args(wrapper_args)
            .arg(BIN)
            .args(&self.args)
            .current_dir(self.dir.path());
        cmd
    }

    /// Run with the given args (keeping the dir), for several steps in one test.
    #[track_caller]
    pub fn run_args<I, S>(&self, args: I) -> Outcome<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut cmd = self.command();
        cmd.args(args.into_iter().map(Into::into).collect::<Vec<_>>());
        self.execute(cmd)
    }

    #[track_caller]
    pub fn run(&self) -> Outcome<'_> {
        self.execute(self.command())
    }

    /// Start the binary in the background (stdin empty, stdout and stderr
    /// captured), for a test that acts while it runs (approve a code, send a
    /// signal, sample its CPU time). [`Running::finish`] collects the outcome.
    pub fn spawn(&self) -> Running<'_> {
        self.spawn_command(self.command())
    }

    /// [`Test::spawn`] with the given args (keeping the dir).
    pub fn spawn_args<I, S>(&self, args: I) -> Running<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut cmd = self.command();
        cmd.args(args.into_iter().map(Into::into).collect::<Vec<_>>());
        self.spawn_command(cmd)
    }

    fn spawn_command(&self, mut cmd: Command) -> Running<'_> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().expect("spawn difyctl");
        let pid = child.id();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        Running {
            test: self,
            pid,
            done: rx,
        }
    }

    #[track_caller]
    fn execute(&self, cmd: Command) -> Outcome<'_> {
        self.run_command(cmd, self.stdin.as_deref().unwrap_or_default())
    }

    /// Runs `cmd` (made by [`Test::command`], then changed) with `stdin`.
    #[track_caller]
    pub fn run_command(&self, cmd: Command, stdin: &[u8]) -> Outcome<'_> {
        self.outcome(output_with_stdin(cmd, stdin))
    }

    /// The [`Outcome`] of a run started some other way (its own stdio, a
    /// wrapper): checked for a crash, then as strictly as any other.
    #[track_caller]
    pub fn outcome(&self, out: Output) -> Outcome<'_> {
        Outcome::new(self, out, Location::caller())
    }

    /// The (host, account) of every context, in `auth list` order (which
    /// must succeed, so the files parse).
    pub fn contexts(&self) -> Vec<(String, String)> {
        let list = self.run_args(["auth", "list", "-o", "json"]).json();
        list["contexts"]
            .as_array()
            .expect("a contexts list")
            .iter()
            .map(|c| {
                (
                    c["host"].as_str().unwrap().to_owned(),
                    c["account"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// The bytes of a file in the config dir, if it exists.
    pub fn read(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.config_dir().join(name)).ok()
    }

    /// The names in the config dir other than the two stores (locks, temp
    /// files), sorted.
    pub fn leftovers(&self) -> Vec<String> {
        self.snapshot()
            .into_keys()
            .filter(|n| n != "hosts.yml" && n != "tokens.yml")
            .collect()
    }

    /// Every file in the config dir with its contents (a snapshot to compare).
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(self.config_dir()) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                out.insert(name, std::fs::read(e.path()).unwrap_or_default());
            }
        }
        out
    }
}

/// Runs `cmd` with `stdin` written from a thread (a child that stops reading
/// early cannot block us), stdout and stderr captured.
pub fn output_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for the child");
    writer.join().unwrap();
    out
}

/// Dates the file `ago` in the past.
pub fn set_mtime(path: &Path, ago: Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - ago)
        .unwrap();
}

/// A small seeded PRNG (xorshift64*): fault injection is reproducible in
/// what it asks for, if not in what the scheduler does.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A binary started with [`Test::spawn`].
pub struct Running<'t> {
    test: &'t Test,
    pid: u32,
    done: mpsc::Receiver<std::io::Result<std::process::Output>>,
}

impl<'t> Running<'t> {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Send a signal with kill(1), e.g. `signal("INT")`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {} failed", self.pid);
    }

    /// User plus system CPU time so far, in clock ticks (fields 14 and 15 of
    /// `/proc/<pid>/stat`, all threads included).
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .expect("read /proc/<pid>/stat");
        // The command name (field 2) is in parentheses and may hold spaces.
        let after = &stat[stat.rfind(')').expect("stat has (comm)") + 1..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        // `after` starts at field 3, so field n is fields[n - 3].
        let field = |n: usize| fields[n - 3].parse::<u64>().expect("a tick count");
        field(14) + field(15)
    }

    /// Wait for the exit and collect the outcome. A binary still running after
    /// a generous timeout is killed and the test fails (instead of hanging).
    #[track_caller]
    pub fn finish(self) -> Outcome<'t> {
        self.finish_within(FINISH_TIMEOUT)
    }

    /// [`Running::finish`] with a timeout of its own.
    #[track_caller]
    pub fn finish_within(self, limit: Duration) -> Outcome<'t> {
        let out = match self.done.recv_timeout(limit) {
            Ok(out) => out.expect("wait for difyctl"),
            Err(_) => {
                let _ = Command::new("kill")
                    .args(["-KILL", &self.pid.to_string()])
                    .status();
                panic!("difyctl still running after {limit:?}; killed");
            }
        };
        Outcome::new(self.test, out, Location::caller())
    }
}

/// What a run left: its exit code, stdout and stderr, checked by the
/// assertions below. Dropped without an assertion on the exit code, it must
/// have been 0; without stderr having been read (by [`Outcome::stderr`],
/// [`Outcome::stderr_has`] or through [`Outcome::stderr`]'s text), stderr must
/// be empty. Either failure names the line that ran the binary.
pub struct Outcome<'t> {
    pub test: &'t Test,
    pub stdout: String,
    /// Read it like a `&str` (`out.stderr.contains(…)`): reading counts as
    /// examining it.
    pub stderr: Stderr,
    code: Option<i32>,
    code_checked: Cell<bool>,
    at: &'static Location<'static>,
}

/// A run's stderr that remembers whether anything read it.
pub struct Stderr {
    text: String,
    read: Cell<bool>,
}

impl Deref for Stderr {
    type Target = str;
    fn deref(&self) -> &str {
        self.read.set(true);
        &self.text
    }
}

impl fmt::Display for Stderr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl fmt::Debug for Stderr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq<str> for Stderr {
    fn eq(&self, other: &str) -> bool {
        **self == *other
    }
}

impl PartialEq<&str> for Stderr {
    fn eq(&self, other: &&str) -> bool {
        **self == **other
    }
}

impl PartialEq<String> for Stderr {
    fn eq(&self, other: &String) -> bool {
        **self == **other
    }
}

impl<'t> Outcome<'t> {
    fn new(test: &'t Test, out: Output, at: &'static Location<'static>) -> Self {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_no_crash(out.status, &stderr);
        let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
        let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
        Outcome {
            test,
            stdout,
            stderr: Stderr {
                text: stderr,
                read: Cell::new(false),
            },
            code: out.status.code(),
            code_checked: Cell::new(false),
            at,
        }
    }

    /// The exit code (`None` for a death by a signal), for a test that
    /// checks it some other way than [`Outcome::code`]: this counts as
    /// checking it.
    pub fn exit_code(&self) -> Option<i32> {
        self.code_checked.set(true);
        self.code
    }
}

impl Drop for Outcome<'_> {
    fn drop(&mut self) {
        // A failing assertion is already unwinding: a second panic here
        // would abort the whole test binary instead of failing one test.
        if std::thread::panicking() {
            return;
        }
        let mut unchecked = Vec::new();
        if !self.code_checked.get() && self.code != Some(0) {
            unchecked.push(format!(
                "exited {:?}, and no assertion checked it",
                self.code
            ));
        }
        if !self.stderr.read.get() && !self.stderr.text.is_empty() {
            unchecked.push("wrote to stderr, and no assertion read it".to_string());
        }
        assert!(
            unchecked.is_empty(),
            "the run at {} {} (a run must exit 0 with an empty stderr unless the test \
             says otherwise)\n--- stdout:\n{}\n--- stderr:\n{}",
            self.at,
            unchecked.join("; "),
            self.stdout,
            self.stderr.text,
        );
    }
}
impl Outcome<'_> {
    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        self.code_checked.set(true);
        assert_eq!(
            self.code,
            Some(expected),
            "exit code\n--- stdout:\n{}\n--- stderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout(self, expected: &str) -> Self {
        assert_eq!(
            self.stdout, expected,
            "stdout (stderr was: {})",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr(self, expected: &str) -> Self {
        assert_eq!(
            self.stderr, expected,
            "stderr (stdout was: {})",
            self.stdout
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    /// Assert a file in the config dir has exactly these contents.
    #[track_caller]
    pub fn file(self, name: &str, expected: &str) -> Self {
        assert_eq!(self.test.read(name).as_deref(), Some(expected), "{name}");
        self
    }

    #[track_caller]
    pub fn no_file(self, name: &str) -> Self {
        assert_eq!(self.test.read(name), None, "{name} should not exist");
        self
    }

    /// Stdout, for a test that goes on with it (the checks of the drop
    /// still apply).
    pub fn into_stdout(mut self) -> String {
        std::mem::take(&mut self.stdout)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}
