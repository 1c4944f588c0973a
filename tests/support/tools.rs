//! External tools some tests drive (shells, mandoc, man, make, script,
//! strace, the D-Bus and keyring daemons). A missing tool skips its test and
//! says `skipped: <tool> not installed` where `cargo test` shows it, except
//! under DIFYCTL_TEST_REQUIRE_TOOLS (set by `.ci/run`), where it fails the
//! test: there a skip would hide an untested feature.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Set (by CI) to make a missing tool a failure instead of a skip.
pub const REQUIRE_ENV: &str = "DIFYCTL_TEST_REQUIRE_TOOLS";

/// Says why the calling test does not run. The line goes to the process's
/// stderr itself, not through `eprintln!`, which the test harness captures
/// and drops for a passing test: a skip must show in plain `cargo test`
/// output too. Returns false, for `if !… { return }` callers.
pub fn skip(why: &str) -> bool {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    let _ = writeln!(std::io::stderr(), "skipped: {why} ({test})");
    false
}

/// Something the test needs is lacking: a failure under [`REQUIRE_ENV`],
/// else a skip.
pub fn lacking(why: &str) -> bool {
    assert!(
        std::env::var_os(REQUIRE_ENV).is_none(),
        "{why}, and {REQUIRE_ENV} is set"
    );
    skip(why)
}

/// A tool the test needs is not installed. `hint` names the packages that
/// bring it, when that is not obvious.
pub fn missing(tool: &str, hint: &str) -> bool {
    lacking(&format!("{tool} not installed{hint}"))
}

/// Is `program` on PATH (a file there, executable or not)?
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Can `program` be started? Skips (or fails, see [`missing`]) when not.
pub fn available(program: &str) -> bool {
    let spawned = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    spawned || missing(program, "")
}

pub const BASH_COMPLETION: &str = "/usr/share/bash-completion/bash_completion";

/// Is the bash-completion package installed?
pub fn bash_completion() -> bool {
    Path::new(BASH_COMPLETION).exists() || missing("bash-completion", "")
}

/// Is strace installed and allowed to trace here (a container may forbid
/// ptrace)? Either lack skips, or fails under [`REQUIRE_ENV`].
pub fn strace() -> bool {
    if !available("strace") {
        return false;
    }
    let traces = Command::new("strace")
        .args(["-qq", "-o", "/dev/null", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    traces || lacking("strace cannot trace here (ptrace not permitted)")
}
