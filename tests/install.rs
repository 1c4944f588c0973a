//! `make install` / `make uninstall` into a DESTDIR, with the test's debug
//! binary (BIN=…) so no release build is needed: the exact file tree and
//! modes, the contents, that each shell and man(1) find what was installed,
//! and that uninstall removes every file.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use support::runner::{BIN, TempDir, Test, mode};
use support::tools::{self, available as have};

fn make(dest: &Path, target: &str) -> std::process::Output {
    Command::new("make")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg(target)
        .arg(format!("DESTDIR={}", dest.display()))
        .arg("PREFIX=/usr")
        .arg(format!("BIN={BIN}"))
        // Run under `make test`: keep the outer make's jobserver out of it.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .output()
        .expect("run make")
}

/// Every file under `root`, relative path → mode.
fn files(root: &Path) -> BTreeMap<String, u32> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, u32>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy();
                out.insert(rel.into_owned(), mode(&path));
            }
        }
    }
    let mut out = BTreeMap::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

fn man_pages() -> Vec<String> {
    let mut pages: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("man"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".1"))
            .collect();
    pages.sort();
    pages
}

fn completion(shell: &str) -> String {
    Test::new().args(["completion", shell]).run().code(0).stdout
}

#[test]
fn install_then_uninstall() {
    if !have("make") {
        return;
    }
    let dir = TempDir::new();
    let dest = dir.path().join("dest");

    let out = make(&dest, "install");
    assert!(
        out.status.success(),
        "make install: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut expected: BTreeMap<String, u32> = BTreeMap::new();
    expected.insert("usr/bin/difyctl".into(), 0o755);
    for page in man_pages() {
        expected.insert(format!("usr/share/man/man1/{page}"), 0o644);
    }
    let scripts = [
        ("bash", "usr/share/bash-completion/completions/difyctl"),
        ("zsh", "usr/share/zsh/site-functions/_difyctl"),
        ("fish", "usr/share/fish/vendor_completions.d/difyctl.fish"),
    ];
    for (_, path) in scripts {
        expected.insert(path.into(), 0o644);
    }
    assert_eq!(files(&dest), expected);

    assert_eq!(
        std::fs::read(dest.join("usr/bin/difyctl")).unwrap(),
        std::fs::read(BIN).unwrap()
    );
    for page in man_pages() {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("man")
            .join(&page);
        assert_eq!(
            std::fs::read(dest.join("usr/share/man/man1").join(&page)).unwrap(),
            std::fs::read(source).unwrap(),
            "{page}"
        );
    }
    for (shell, path) in scripts {
        assert_eq!(
            std::fs::read_to_string(dest.join(path)).unwrap(),
            completion(shell),
            "{shell}"
        );
    }

    found_where_installed(&dest, dir.path());

    let out = make(&dest, "uninstall");
    assert!(
        out.status.success(),
        "make uninstall: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files(&dest), BTreeMap::new());
}

/// Each consumer finds the installed file through its usual search path
/// pointed at the DESTDIR tree.
fn found_where_installed(dest: &Path, scratch: &Path) {
    let share = dest.join("usr/share");
    let bin = dest.join("usr/bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |program: &str, args: &[&str]| {
        let out = Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", scratch)
            .env("XDG_DATA_DIRS", &share)
            .env("XDG_DATA_HOME", scratch.join("data"))
            .env("XDG_CONFIG_HOME", scratch.join("config"))
            .env("MANPATH", share.join("man"))
            .env("LC_ALL", "C.UTF-8")
            .current_dir(scratch)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{program} {args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };

    if tools::bash_completion() {
        // bash-completion's on-demand loader searches $XDG_DATA_DIRS.
        let script = format!(
            "source {}; __load_completion difyctl && complete -p difyctl",
            tools::BASH_COMPLETION
        );
        let spec = run("bash", &["--norc", "-c", &script]);
        assert!(spec.contains("-F _difyctl"), "{spec}");
    }
    if have("zsh") {
        let fpath = share.join("zsh/site-functions");
        let script = format!(
            "fpath=({} $fpath); autoload -U compinit && compinit -u -D; print -r -- $_comps[difyctl]",
            fpath.display()
        );
        assert_eq!(run("zsh", &["-f", "-c", &script]).trim(), "_difyctl");
    }
    if have("fish") {
        // fish adds $XDG_DATA_DIRS/fish/vendor_completions.d to its path.
        let out = run("fish", &["-c", "complete -C 'difyctl au'"]);
        assert!(out.starts_with("auth\t"), "{out}");
    }
    if have("man") {
        let found = run("man", &["-w", "difyctl-auth"]);
        assert_eq!(
            Path::new(found.trim()),
            share.join("man/man1/difyctl-auth.1")
        );
    }
}
