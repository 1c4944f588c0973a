//! The runner's own rules (support/runner.rs): a run whose exit status or
//! stderr no assertion looked at fails its test unless it exited 0 with an
//! empty stderr, and names the line that ran it; a failing assertion fails
//! the test once, instead of aborting the whole binary with a second panic
//! from the drop.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::common::NOT_LOGGED_IN;
use crate::support::fixtures::with_other_context;
use crate::support::runner::{Test, set_mode};

/// The message of the panic `f` raises; fails when it raises none.
fn panic_of(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("it did not panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .expect("a panic message")
}

#[test]
fn a_stderr_nobody_read_fails_the_test() {
    // `auth token` exits 0 and warns about a token file others may read.
    let t = with_other_context(Test::new());
    set_mode(&t.config_dir().join("tokens.yml"), 0o644);
    let line = line!() + 2;
    let message = panic_of(|| {
        t.run_args(["auth", "token"]).stdout("dfoa_alice\n");
    });
    assert!(
        message.starts_with(&format!("the run at {}:{line}:", file!()))
            && message.contains(" wrote to stderr, and no assertion read it ")
            && message.contains("holds tokens but other users may read it (mode 0644)"),
        "{message}"
    );
    // Read by an assertion, the same run passes.
    t.run_args(["auth", "token"])
        .stdout("dfoa_alice\n")
        .stderr_has("holds tokens but other users may read it (mode 0644)");
}

#[test]
fn an_exit_status_nobody_checked_fails_the_test_unless_it_is_0() {
    let t = Test::new();
    let message = panic_of(|| {
        t.run_args(["auth", "whoami"]).stderr(NOT_LOGGED_IN);
    });
    assert!(
        message.contains(" exited Some(4), and no assertion checked it"),
        "{message}"
    );
    t.run_args(["auth", "whoami"]).code(4).stderr(NOT_LOGGED_IN);
    // Exit 0 with nothing on stderr needs no word.
    t.run_args(["auth", "list"])
        .stdout("HOST  ACCOUNT  ACTIVE\n");
}

#[test]
fn a_failing_assertion_fails_the_test_once() {
    // The outcome is dropped while the assertion's panic unwinds, its exit
    // status and stderr unexamined: a second panic there would abort.
    let t = Test::new();
    let message = panic_of(|| {
        t.run_args(["auth", "whoami"]).stdout("nobody\n");
    });
    assert!(message.contains("stdout (stderr was: "), "{message}");
}
