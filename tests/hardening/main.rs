//! Hardening: under load, faults and bad input difyctl keeps working, loses
//! nothing and leaks no token.
//!
//! * `load`: twenty sign-ins to twenty hosts at once, with switches and
//!   reads running all the while.
//! * `servers`: hostile or broken servers (the mock's `hostile` and `hang`
//!   switches): oversized, non-JSON and wrong-shape bodies, redirects, escape
//!   sequences in every server string, a server that never answers, a slow
//!   drip.
//! * `secrets`: a server echoing the bearer back, `tokens.yml` permissions,
//!   the config dir's mode.
//! * `input`: every flag and argument with wrong, empty, huge and non-UTF-8
//!   values, bad environment values, broken or odd store files.
//! * `crash`: SIGKILL at every file-system call and at random moments, locks
//!   left by dead processes, the crash guard.
//!
//! A panic anywhere fails every test (support::runner::assert_no_crash).
//!
//! Already proven in the command tests (tests/cli) and not repeated: twenty
//! concurrent `use` switches, a held lock waited for then reported and a
//! stale one taken over, a read-only config dir, corrupt and schema-invalid
//! `hosts.yml` and `tokens.yml` (`store`), hostile user codes, names and
//! `javascript:`/`ftp:`/escape-laden verification URIs (`login`), hostile
//! session labels (`devices`), tokens absent from verbose output of login,
//! logout and the headless methods, bad stdin for the headless methods
//! (`login::headless`); the client's redirect, body-cap and retry rules are
//! unit-tested in src/dify.

#[path = "../support/mod.rs"]
mod support;

mod crash;
mod input;
mod load;
mod secrets;
mod servers;

use std::collections::BTreeSet;
use std::fs;

use crate::support::runner::Test;

/// Nothing that could drive a terminal: no control character but newline
/// and tab (escape sequences start with one), no bidi override.
#[track_caller]
pub(crate) fn assert_clean(text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| {
            (c.is_control() && !matches!(c, '\n' | '\t'))
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(bad.is_empty(), "unsanitised {bad:?} in:\n{text}");
}

pub(crate) fn names(t: &Test) -> BTreeSet<String> {
    fs::read_dir(t.config_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}
