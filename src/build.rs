//! Build facts for `difyctl --version` and `difyctl version`, as compile-time
//! environment variables:
//!
//! - `DIFYCTL_COMMIT`: the commit the sources are, as 7 hex digits (with
//!   `-dirty` when the files the binary is built from differ from it), read
//!   with git when this directory is the top of a git checkout; else the
//!   `DIFYCTL_COMMIT` environment variable (packagers building from an
//!   archive); else `unknown`.
//! - `DIFYCTL_BUILD_DATE`: ISO-8601 UTC, from `SOURCE_DATE_EPOCH` when set;
//!   else the commit's date from git; else `unknown`. Never the wall clock,
//!   so two builds of one commit are byte-identical.
//!
//! The script reruns only when one of its inputs changes: those variables,
//! the checkout's HEAD and branch, and the files the binary is built from.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

// The crate's own ISO-8601 module (std only), for the build date.
#[path = "time.rs"]
#[allow(dead_code)]
mod time;

/// What the binary is built from: a change here makes the build `-dirty`.
const SOURCES: &[&str] = &["src", "Cargo.toml", "Cargo.lock"];

fn main() {
    println!("cargo::rerun-if-env-changed=DIFYCTL_COMMIT");
    println!("cargo::rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let checkout = Checkout::read(&root);

    let commit = match &checkout {
        Some(checkout) => checkout.commit.clone(),
        None => match env("DIFYCTL_COMMIT") {
            Some(value) => checked_commit(&value),
            None => "unknown".to_string(),
        },
    };
    let date = match (env("SOURCE_DATE_EPOCH"), &checkout) {
        (Some(value), _) => iso_utc(epoch(&value)),
        (None, Some(checkout)) => iso_utc(checkout.epoch),
        (None, None) => "unknown".to_string(),
    };
    println!("cargo::rustc-env=DIFYCTL_COMMIT={commit}");
    println!("cargo::rustc-env=DIFYCTL_BUILD_DATE={date}");
}

fn env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) => Some(value),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => panic!("{name} is not UTF-8"),
    }
}

/// The git commit the sources are.
struct Checkout {
    /// 7 hex digits, `-dirty` added when [`SOURCES`] differ from it.
    commit: String,
    /// The commit's date.
    epoch: u64,
}

impl Checkout {
    /// Only when this package's directory is the top of a git checkout: a
    /// package unpacked inside some other repository (a distribution's
    /// packaging tree) is not one, and that repository's commit says nothing
    /// about these sources.
    fn read(root: &Path) -> Option<Checkout> {
        if !root.join(".git").exists() {
            return None;
        }
        let top = git(root, &["rev-parse", "--show-toplevel"])?;
        if Path::new(&top).canonicalize().ok()? != root.canonicalize().ok()? {
            return None;
        }
        watch(root);
        let full = git(root, &["rev-parse", "HEAD"])?;
        let epoch = epoch(&git(root, &["show", "-s", "--format=%ct", "HEAD"])?);
        let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
        status.extend(SOURCES);
        let clean = git(root, &status)?.is_empty();
        let short = full.get(..7).unwrap_or(&full);
        let commit = if clean {
            short.to_string()
        } else {
            format!("{short}-dirty")
        };
        Some(Checkout { commit, epoch })
    }
}

/// Reruns the script when HEAD moves (a commit, checkout, reset) or the
/// sources change.
fn watch(root: &Path) {
    let git_path = |name: &str| git(root, &["rev-parse", "--git-path", name]).map(|p| root.join(p));
    let mut watched: Vec<PathBuf> = Vec::new();
    watched.extend(git_path("HEAD"));
    watched.extend(git_path("packed-refs"));
    if let Some(branch) = git(root, &["symbolic-ref", "-q", "HEAD"]) {
        // A packed branch has no file of its own until its next commit
        // writes one: watch the nearest directory that exists until then.
        if let Some(mut path) = git_path(&branch) {
            while !path.exists() && path.pop() {}
            watched.push(path);
        }
    }
    watched.extend(SOURCES.iter().map(|source| root.join(source)));
    // Cargo takes a missing file for a changed one: name only what exists.
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo::rerun-if-changed={}", path.display());
    }
}

/// git's trimmed stdout, or `None` when it fails (with a warning, except for
/// `symbolic-ref -q` on a detached HEAD).
fn git(root: &Path, args: &[&str]) -> Option<String> {
    // --no-optional-locks: `status` must not rewrite the index of the
    // checkout being built.
    let out = Command::new("git")
        .arg("--no-optional-locks")
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(out) if out.status.success() => {
            Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        Ok(_) if args[..2] == ["symbolic-ref", "-q"] => None,
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            println!("cargo::warning=git {}: {}", args.join(" "), stderr.trim());
            None
        }
        Err(e) => {
            println!("cargo::warning=cannot run git: {e}");
            None
        }
    }
}

/// A commit named by the packager: printed on one line, so no blanks or
/// control characters.
pub fn checked_commit(value: &str) -> String {
    let value = value.trim();
    assert!(
        !value.is_empty() && value.chars().all(|c| c.is_ascii_graphic()),
        "DIFYCTL_COMMIT must be a commit id (printable ASCII, no blanks): {value:?}"
    );
    value.to_string()
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch.
pub fn iso_utc(secs: u64) -> String {
    time::iso_utc(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// Seconds since 1970 as the reproducible-builds specification has them: a
/// decimal integer, nothing else.
pub fn epoch(value: &str) -> u64 {
    value.trim().parse().unwrap_or_else(|_| {
        panic!("SOURCE_DATE_EPOCH must be seconds since 1970-01-01 UTC: {value:?}")
    })
}
