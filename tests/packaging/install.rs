//! `make install` / `make uninstall` into a DESTDIR with BIN=… (a file that
//! is not even executable here, so no release build is needed and nothing
//! can run it): the exact file tree and modes, the contents, that each shell
//! and man(1) find what was installed, and that uninstall removes every file.
//! Also: the committed completion scripts match the command table, and
//! install rebuilds a stale release binary (checked with `make -n`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::runner::{BIN, TempDir, Test, mode, set_mtime};
use crate::support::tools::{self, available as have};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn make(args: &[String]) -> std::process::Output {
    Command::new("make")
        .arg("-C")
        .arg(root())
        .args(args)
        // Run under `make test`: keep the outer make's jobserver out of it.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("run make")
}

fn make_into(dest: &Path, target: &str, bin: &Path) -> std::process::Output {
    make(&[
        target.to_string(),
        format!("DESTDIR={}", dest.display()),
        "PREFIX=/usr".to_string(),
        format!("BIN={}", bin.display()),
    ])
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

/// The pages in man/ and where they go: (file, `man1` or `man5`).
fn man_pages() -> Vec<(String, &'static str)> {
    let mut pages: Vec<(String, &'static str)> = std::fs::read_dir(root().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| match n.rsplit_once('.') {
            Some((_, "1")) => Some((n, "man1")),
            Some((_, "5")) => Some((n, "man5")),
            _ => None,
        })
        .collect();
    pages.sort();
    assert!(pages.iter().any(|(_, section)| *section == "man5"));
    pages
}

/// The committed script for each shell, as `make install` and `make dist`
/// ship it: (shell, file in man/completions/, installed path).
const SCRIPTS: [(&str, &str, &str); 3] = [
    (
        "bash",
        "difyctl.bash",
        "usr/share/bash-completion/completions/difyctl",
    ),
    ("zsh", "_difyctl", "usr/share/zsh/site-functions/_difyctl"),
    (
        "fish",
        "difyctl.fish",
        "usr/share/fish/vendor_completions.d/difyctl.fish",
    ),
];

fn committed_script(file: &str) -> String {
    std::fs::read_to_string(root().join("man/completions").join(file)).unwrap()
}

#[test]
fn committed_completions_match_the_command_table() {
    let mut stale = Vec::new();
    for (shell, file, _) in SCRIPTS {
        let generated = Test::new()
            .args(["completion", shell])
            .run()
            .code(0)
            .into_stdout();
        if committed_script(file) != generated {
            stale.push(format!("man/completions/{file}"));
        }
    }
    assert!(
        stale.is_empty(),
        "{} differ from `difyctl completion <shell>`: run `make completions`",
        stale.join(", ")
    );
    let mut files: Vec<String> = std::fs::read_dir(root().join("man/completions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["_difyctl", "difyctl.bash", "difyctl.fish"]);
}

#[test]
fn install_then_uninstall() {
    if !have("make") {
        return;
    }
    let dir = TempDir::new();
    let dest = dir.path().join("dest");
    // Not a program at all, and not executable: install only copies it.
    let bin = dir.path().join("difyctl-for-another-machine");
    std::fs::write(&bin, b"\x7fELF not for this machine").unwrap();
    crate::support::runner::set_mode(&bin, 0o644);

    let out = make_into(&dest, "install", &bin);
    assert!(
        out.status.success(),
        "make install: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut expected: BTreeMap<String, u32> = BTreeMap::new();
    expected.insert("usr/bin/difyctl".into(), 0o755);
    for (page, section) in man_pages() {
        expected.insert(format!("usr/share/man/{section}/{page}"), 0o644);
    }
    for (_, _, path) in SCRIPTS {
        expected.insert(path.into(), 0o644);
    }
    assert_eq!(files(&dest), expected);

    assert_eq!(
        std::fs::read(dest.join("usr/bin/difyctl")).unwrap(),
        std::fs::read(&bin).unwrap()
    );
    for (page, section) in man_pages() {
        let source = root().join("man").join(&page);
        assert_eq!(
            std::fs::read(dest.join("usr/share/man").join(section).join(&page)).unwrap(),
            std::fs::read(source).unwrap(),
            "{page}"
        );
    }
    for (_, file, path) in SCRIPTS {
        assert_eq!(
            std::fs::read_to_string(dest.join(path)).unwrap(),
            committed_script(file),
            "{file}"
        );
    }

    // The real binary in place of the stand-in, for the consumers' checks.
    std::fs::copy(BIN, dest.join("usr/bin/difyctl")).unwrap();
    found_where_installed(&dest, dir.path());

    let out = make_into(&dest, "uninstall", &bin);
    assert!(
        out.status.success(),
        "make uninstall: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files(&dest), BTreeMap::new());
}

/// `install` depends on the release binary as a file: older than a source,
/// it is rebuilt first; up to date, or with BIN=…, no build is run.
#[test]
fn install_rebuilds_a_stale_release_binary_only() {
    if !have("make") {
        return;
    }
    let dir = TempDir::new();
    let target_dir = dir.path().join("target");
    let release = target_dir.join("x86_64-unknown-linux-gnu/release/difyctl");
    std::fs::create_dir_all(release.parent().unwrap()).unwrap();
    std::fs::write(&release, b"stand-in").unwrap();
    let dry_run = |extra: &[String]| {
        let mut args = vec![
            "-n".to_string(),
            "install".to_string(),
            format!("CARGO_TARGET_DIR={}", target_dir.display()),
            format!("DESTDIR={}", dir.path().join("dest").display()),
        ];
        args.extend_from_slice(extra);
        let out = make(&args);
        assert!(
            out.status.success(),
            "make -n install: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let builds = |plan: &str| plan.contains("build --release --locked");

    // Older than the checkout's files, then newer.
    let years = Duration::from_secs(10 * 365 * 86_400);
    set_mtime(&release, years);
    let plan = dry_run(&[]);
    assert!(builds(&plan), "a stale binary is not rebuilt:\n{plan}");
    assert!(plan.contains(&format!("install -m 0755 \"{}\"", release.display())));

    set_mtime(&release, Duration::ZERO);
    let plan = dry_run(&[]);
    assert!(!builds(&plan), "an up-to-date binary is rebuilt:\n{plan}");

    set_mtime(&release, years);
    let plan = dry_run(&[format!("BIN={BIN}")]);
    assert!(!builds(&plan), "BIN=… still builds:\n{plan}");
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
        let found = run("man", &["-w", "5", "difyctl-files"]);
        assert_eq!(
            Path::new(found.trim()),
            share.join("man/man5/difyctl-files.5")
        );
    }
}
