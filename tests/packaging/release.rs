//! The release binary: static, small, and self-sufficient in an empty chroot.
//!
//! Runs when `DIFYCTL_RELEASE_BIN` names the release build (`make test` sets it
//! when `make release` has been run; `.ci/run` always does both).

use std::path::PathBuf;
use std::process::Command;

use crate::support::mock::{MockConfig, MockDify};
use crate::support::secret_service::{Kind, SecretBus};
use crate::support::tools;

const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// The build script, for its pure functions.
#[allow(dead_code)]
#[path = "../../src/build.rs"]
mod build_script;

fn release_binary() -> Option<PathBuf> {
    match std::env::var_os("DIFYCTL_RELEASE_BIN") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            tools::lacking("DIFYCTL_RELEASE_BIN is not set (`make release` first)");
            None
        }
    }
}

#[test]
fn release_binary_is_static_pie_and_small() {
    let Some(bin) = release_binary() else { return };
    let size = std::fs::metadata(&bin).unwrap().len();
    assert!(
        size <= MAX_BYTES,
        "{} is {size} bytes, over 4 MiB",
        bin.display()
    );

    // ELF type ET_DYN with no PT_INTERP: a static PIE (a dynamic binary has an
    // interpreter; a static non-PIE one is ET_EXEC).
    let elf = std::fs::read(&bin).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    assert_eq!(elf[4], 2, "64-bit");
    let e_type = u16::from_le_bytes([elf[16], elf[17]]);
    assert_eq!(e_type, 3, "ET_DYN (position independent)");
    let phoff = u64::from_le_bytes(elf[32..40].try_into().unwrap()) as usize;
    let phentsize = u16::from_le_bytes([elf[54], elf[55]]) as usize;
    let phnum = u16::from_le_bytes([elf[56], elf[57]]) as usize;
    let interp = (0..phnum).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == 3 // PT_INTERP
    });
    assert!(!interp, "the release binary asks for a dynamic loader");
}

#[test]
fn release_binary_runs_and_signs_in_from_an_empty_chroot() {
    let Some(bin) = release_binary() else { return };
    if !is_root() {
        tools::skip("chroot needs root");
        return;
    }
    // Nothing but the binary: no /etc/hosts, no /proc, no resolver config.
    let root = crate::support::runner::TempDir::new();
    let r = root.path();
    std::fs::copy(&bin, r.join("difyctl")).unwrap();

    let chroot = |args: &[&str]| {
        // The child's environment is empty, so name chroot by its path.
        let out = Command::new(chroot_path())
            .arg(r)
            .arg("/difyctl")
            .args(args)
            .env_clear()
            .env("DIFY_CONFIG_DIR", "/config")
            .env("DIFY_E2E_NO_KEYRING", "1")
            .output()
            .expect("run chroot");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let version = format!(
        "difyctl {} ({})\n",
        env!("CARGO_PKG_VERSION"),
        env!("DIFYCTL_COMMIT")
    );
    assert_eq!(chroot(&["--version"]), (Some(0), version, String::new()));

    let mock = MockDify::with(MockConfig::default().auto_approve());
    // `localhost` resolves without /etc/hosts.
    let host = mock.host().replace("127.0.0.1", "localhost");
    let url = format!("http://{host}");
    let (code, stdout, stderr) = chroot(&[
        "auth",
        "login",
        "--host",
        &url,
        "--insecure",
        "--no-browser",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        format!("✓ Logged in to {host} as tester@dify.ai (Tester)\n  Workspace: Acme Team\n")
    );
    // No /proc, no HOSTNAME and no hostname program in the chroot: the
    // kernel still knows the node name (uname), so the label is not
    // `difyctl on unknown-host`.
    let node = Command::new("uname").arg("-n").output().unwrap().stdout;
    let node = String::from_utf8(node).unwrap();
    assert_eq!(
        mock.device_labels(),
        vec![format!("difyctl on {}", node.trim())]
    );
    let hosts = std::fs::read_to_string(r.join("config/hosts.yml")).unwrap();
    assert!(
        hosts.contains(&format!("current_host: {host}\n")),
        "{hosts}"
    );
    assert_eq!(
        chroot(&["auth", "whoami"]),
        (Some(0), "tester@dify.ai (Tester)\n".into(), String::new())
    );
}

/// The keychain from an empty chroot: the static libdbus needs no file at run
/// time. The chroot is the private bus's own directory, so its socket is
/// `/bus` inside; without it the sign-in falls back to tokens.yml.
#[test]
fn release_binary_uses_the_keychain_from_an_empty_chroot() {
    let Some(bin) = release_binary() else { return };
    if !is_root() {
        tools::skip("chroot needs root");
        return;
    }
    let Some(bus) = SecretBus::start(Kind::Unlocked) else {
        return;
    };
    let r = bus.dir();
    assert!(r.join("bus").exists(), "the bus socket is in its directory");
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::write(r.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    std::fs::copy(&bin, r.join("difyctl")).unwrap();
    let chroot = |config: &str, bus_address: Option<&str>, args: &[&str]| {
        let mut cmd = Command::new(chroot_path());
        cmd.arg(r)
            .arg("/difyctl")
            .args(args)
            .env_clear()
            .env("DIFY_CONFIG_DIR", config);
        if let Some(address) = bus_address {
            cmd.env("DBUS_SESSION_BUS_ADDRESS", address);
        }
        let out = cmd.output().expect("run chroot");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let mock = MockDify::with(MockConfig::default().auto_approve());
    let url = mock.url();
    let login = [
        "auth",
        "login",
        "--host",
        &url,
        "--insecure",
        "--no-browser",
    ];
    let (code, _, stderr) = chroot("/kc", Some("unix:path=/bus"), &login);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.ends_with("Token stored in the system keychain\n"),
        "{stderr}"
    );
    let token = mock.sessions().pop().expect("a session").token;
    let user = format!("tokens.{}.tester@dify.ai", mock.host());
    assert_eq!(bus.lookup("difyctl", &user), Some(format!("\"{token}\"")));
    assert!(!r.join("kc/tokens.yml").exists());
    assert_eq!(
        chroot("/kc", Some("unix:path=/bus"), &["auth", "token"]),
        (Some(0), format!("{token}\n"), String::new())
    );

    // No bus in the chroot: the file, with the warning.
    let (code, _, stderr) = chroot("/file", None, &login);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.ends_with("! No usable keychain; token stored in /file/tokens.yml (mode 0600)\n"),
        "{stderr}"
    );
    assert!(r.join("file/tokens.yml").exists());
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn chroot_path() -> &'static str {
    ["/usr/sbin/chroot", "/sbin/chroot", "/usr/bin/chroot"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("chroot is installed (coreutils)")
}

#[test]
fn build_dates_are_iso_8601_utc() {
    for (epoch, date) in [
        ("0", "1970-01-01T00:00:00Z"),
        ("951782400", "2000-02-29T00:00:00Z"),
        ("1709251199", "2024-02-29T23:59:59Z"),
        (" 4102444799\n", "2099-12-31T23:59:59Z"),
    ] {
        assert_eq!(build_script::iso_utc(build_script::epoch(epoch)), date);
    }
    for bad in ["", "-1", "1.5", "1e9", "yesterday"] {
        let caught = std::panic::catch_unwind(|| build_script::epoch(bad));
        assert!(caught.is_err(), "{bad:?} was taken for a date");
    }
    assert_eq!(build_script::checked_commit(" abc1234\n"), "abc1234");
    for bad in ["", "abc 1234", "abc\u{7f}"] {
        let caught = std::panic::catch_unwind(|| build_script::checked_commit(bad));
        assert!(caught.is_err(), "{bad:?} was taken for a commit");
    }
}

/// The commit and date built in are git's for this checkout (or
/// SOURCE_DATE_EPOCH's date when the build had it).
#[test]
fn build_facts_come_from_git() {
    let root = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(root)
            .env("TZ", "UTC")
            .output()
            .ok()
            .filter(|o| o.status.success())?;
        Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    if !std::path::Path::new(root).join(".git").exists() {
        tools::skip("not built from a git checkout");
        return;
    }
    let Some(head) = git(&["rev-parse", "HEAD"]) else {
        tools::missing("git", "");
        return;
    };
    let commit = env!("DIFYCTL_COMMIT");
    assert!(
        commit == &head[..7] || commit == format!("{}-dirty", &head[..7]),
        "{commit} is not {head}"
    );
    let date = match option_env!("SOURCE_DATE_EPOCH") {
        Some(epoch) => build_script::iso_utc(build_script::epoch(epoch)),
        None => git(&[
            "show",
            "-s",
            "--format=%cd",
            "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
            "HEAD",
        ])
        .unwrap(),
    };
    assert_eq!(env!("DIFYCTL_BUILD_DATE"), date);
}

fn repo_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// THIRD-PARTY-NOTICES names every crate the release binary is built from
/// (as `cargo tree` sees the graph: `make notices` after a dependency
/// change), and what is not a crate, each with its licence.
#[test]
fn notices_cover_every_crate_and_the_c_code() {
    let notices = repo_file("THIRD-PARTY-NOTICES");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
    let out = Command::new(cargo)
        .args(["tree", "--locked", "--offline", "--edges", "normal"])
        .args(["--target", "x86_64-unknown-linux-gnu", "--prefix", "none"])
        .args(["--format", "{p}", "--manifest-path"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let mut crates: Vec<String> = tree
        .lines()
        .filter_map(|line| {
            // `name vX.Y.Z`, then ` (proc-macro)`, ` (/path)` or ` (*)`.
            let mut words = line.split(' ');
            let (name, version) = (words.next()?, words.next()?.strip_prefix('v')?);
            (name != "difyctl").then(|| format!("{name} {version}"))
        })
        .collect();
    crates.sort();
    crates.dedup();
    assert!(crates.len() > 40, "{tree}");
    let missing: Vec<&String> = crates
        .iter()
        .filter(|c| !notices.contains(&format!("\n{c}\n    Licence: ")))
        .collect();
    assert!(
        missing.is_empty(),
        "THIRD-PARTY-NOTICES lacks {missing:?}: run `make notices`"
    );

    for (component, licence) in [
        ("GNU C Library (glibc)", "LGPL-2.1-or-later"),
        (
            "GCC run-time support",
            "GPL-3.0-or-later WITH GCC-exception-3.1",
        ),
        ("Rust standard library", "MIT OR Apache-2.0"),
        ("libdbus 1.14.4", "AFL-2.1 OR GPL-2.0-or-later"),
        ("ring's C and assembly", "Apache-2.0"),
        ("Mozilla's root certificates", "CDLA-Permissive-2.0"),
        ("libyaml", "MIT"),
    ] {
        let at = notices
            .find(&format!("\n{component}"))
            .unwrap_or_else(|| panic!("THIRD-PARTY-NOTICES lacks {component}"));
        let entry = &notices[at..at + 300.min(notices.len() - at)];
        assert!(entry.contains(licence), "{component}: {entry}");
    }
    for text in [
        "GNU LESSER GENERAL PUBLIC LICENSE",
        "The Academic Free License",
        "Community Data License Agreement - Permissive - Version 2.0",
    ] {
        assert!(notices.contains(text), "THIRD-PARTY-NOTICES lacks {text}");
    }
    for crate_ in ["ring", "rustls", "libdbus-sys", "webpki-root-certs"] {
        assert!(
            notices
                .lines()
                .any(|l| l.starts_with("Used by:") && l.contains(&format!(" {crate_} "))),
            "no licence text is used by {crate_}"
        );
    }
}

/// The changelog has a section for this version, and the licence files are
/// there.
#[test]
fn changelog_and_licences_are_there() {
    let changelog = repo_file("CHANGELOG.md");
    let heading = format!("\n## [{}] - ", env!("CARGO_PKG_VERSION"));
    assert!(
        changelog.contains(&heading),
        "CHANGELOG.md lacks {heading:?}"
    );
    assert!(repo_file("LICENSE-MIT").starts_with("MIT License\n"));
    assert!(repo_file("LICENSE-APACHE").contains("Apache License\n"));
}
