//! External tools some tests drive (shells, mandoc, man, make). A missing tool
//! skips its test with a message, except under DIFYCTL_TEST_REQUIRE_TOOLS
//! (set by `.ci/run`), where a skip would hide an untested feature.

use std::path::Path;
use std::process::{Command, Stdio};

fn missing(what: &str) -> bool {
    assert!(
        std::env::var_os("DIFYCTL_TEST_REQUIRE_TOOLS").is_none(),
        "{what} is not installed, and DIFYCTL_TEST_REQUIRE_TOOLS is set"
    );
    eprintln!("skipping: {what} is not installed");
    false
}

/// Is `program` on PATH?
pub fn available(program: &str) -> bool {
    let spawned = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    spawned || missing(program)
}

pub const BASH_COMPLETION: &str = "/usr/share/bash-completion/bash_completion";

/// Is the bash-completion package installed?
pub fn bash_completion() -> bool {
    Path::new(BASH_COMPLETION).exists() || missing("bash-completion")
}
