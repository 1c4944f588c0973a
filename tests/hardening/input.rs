//! Bad local input: every flag and argument with wrong, empty, huge and
//! non-UTF-8 values, bad environment values, broken or odd store files, a
//! symlinked `hosts.yml`, a bounded `api` request body.

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::fixtures::{
    other_hosts, signed_in, two_hosts, with_other_context, with_token_args,
};
use crate::support::mock::{MockConfig, MockDify};
use crate::support::runner::{Outcome, Test, assert_no_crash, set_mode};
use crate::{assert_clean, names};
use difyctl::cli::spec;

/// Values every flag, argument and variable is tried with.
fn bad_values() -> Vec<(&'static str, OsString)> {
    vec![
        ("empty", "".into()),
        ("dash", "-".into()),
        ("negative", "-1".into()),
        ("huge number", "99999999999999999999999999".into()),
        (
            "escapes",
            "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}1m☃\r\n".into(),
        ),
        ("huge", "x".repeat(100_000).into()),
        ("not UTF-8", OsString::from_vec(vec![b'a', 0xff, 0xfe])),
    ]
}

/// The arguments that take `words` past its own checks to the one tried:
/// a host for `auth login`, a path for `api`, a shell for `completion`.
fn base_args(words: &[&str], mock: &MockDify) -> Vec<OsString> {
    let mut args: Vec<OsString> = words.iter().map(OsString::from).collect();
    match words {
        ["auth", "login"] => {
            for a in ["--host", &mock.url(), "--insecure", "--no-browser"] {
                args.push(a.into());
            }
        }
        ["api"] => args.push("account".into()),
        ["completion"] => args.push("bash".into()),
        _ => {}
    }
    args
}

/// What any bad input must give: no crash (the runner checks), a known exit
/// code, nothing unsanitised on the terminal, and on failure nothing on
/// stdout and no file changed. A success (a bad value that is merely
/// unusual) has its files put back for the next case.
#[track_caller]
fn handles(t: &Test, args: &[OsString], env: &[(&str, &OsString)], what: &str) -> (i32, String) {
    let before = t.snapshot();
    let mut cmd = t.command();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_no_crash(out.status, &stderr);
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    let code = out.status.code().unwrap();
    assert!(
        [0, 1, 2, 4, 6, 7].contains(&code),
        "{what}: exit {code}\n{stderr}"
    );
    assert_clean(&stderr);
    // A huge value is not echoed back whole.
    assert!(
        stderr.len() < 10_000,
        "{what}: {} bytes of error",
        stderr.len()
    );
    let api = args.first().is_some_and(|a| a == "api");
    if !api {
        assert_clean(&stdout);
    }
    if code == 0 {
        for name in t.snapshot().into_keys() {
            fs::remove_file(t.config_dir().join(name)).unwrap();
        }
        for (name, bytes) in before {
            let path = t.config_dir().join(name);
            fs::write(&path, bytes).unwrap();
            set_mode(&path, 0o600);
        }
    } else {
        assert!(!stderr.is_empty(), "{what}: a failure says why");
        if !api {
            assert_eq!(stdout, "", "{what}");
        }
        assert_eq!(t.snapshot(), before, "{what}: files changed");
    }
    (code, stderr)
}

#[test]
fn every_flag_and_argument_with_bad_values_fails_cleanly() {
    // Device flows end at once (expired), so no case waits for approval.
    let mock = MockDify::with(MockConfig {
        expire_codes: true,
        ..MockConfig::default()
    });
    let (t, _) = signed_in(&mock);
    let all = spec::leaves();
    let (mut cases, mut longest) = (0, 0);
    for (words, node) in &all {
        for flag in node.accepted_flags() {
            for (kind, value) in bad_values() {
                let mut variants = Vec::new();
                if flag.takes_value() {
                    // `--flag VALUE` and `--flag=VALUE`.
                    variants.push(vec![
                        OsString::from(format!("--{}", flag.long)),
                        value.clone(),
                    ]);
                }
                let mut joined = OsString::from(format!("--{}=", flag.long));
                joined.push(&value);
                variants.push(vec![joined]);
                for extra in variants {
                    let mut args = base_args(words, &mock);
                    args.extend(extra);
                    let what = format!("{} --{} {kind}", words.join(" "), flag.long);
                    let (code, stderr) = handles(&t, &args, &[], &what);
                    if kind == "not UTF-8" {
                        assert_eq!(code, 1, "{what}");
                        assert!(
                            stderr.starts_with("argument is not valid UTF-8: a\u{fffd}\u{fffd}"),
                            "{what}: {stderr}"
                        );
                    }
                    longest = longest.max(stderr.len());
                    cases += 1;
                }
            }
        }
        // Each positional argument, and one too many.
        for i in 0..=node.args.len() {
            for (kind, value) in bad_values() {
                let mut args: Vec<OsString> = words.iter().map(OsString::from).collect();
                for a in node.args.iter().take(i) {
                    args.push(a.choices.first().copied().unwrap_or("account").into());
                }
                args.push(value);
                let what = format!("{} argument {} {kind}", words.join(" "), i + 1);
                handles(&t, &args, &[], &what);
                cases += 1;
            }
        }
    }
    eprintln!("{cases} bad invocations, longest error {longest} bytes");
    // Nothing was lost along the way.
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("tester@dify.ai (Tester)\n");
}

#[test]
fn bad_environment_values_fail_cleanly() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let vars = [
        ("DIFY_TOKEN", &["auth", "status"][..]),
        ("DIFY_HOST", &["auth", "status"]),
        ("DIFY_ACCOUNT", &["auth", "token"]),
        ("DIFY_LIMIT", &["auth", "devices", "list"]),
        ("DIFYCTL_HTTP_RETRY", &["auth", "devices", "list"]),
        (
            "DIFY_TOKEN_STORAGE",
            &["auth", "login", "--with-token", "--host", "h.test"],
        ),
        ("DIFY_CONFIG_DIR", &["auth", "list"]),
        ("XDG_CONFIG_HOME", &["auth", "list"]),
        ("HOME", &["auth", "list"]),
        ("NO_COLOR", &["auth", "list"]),
        ("HTTPS_PROXY", &["auth", "status"]),
        ("SSL_CERT_FILE", &["auth", "status"]),
    ];
    for (var, words) in vars {
        for (kind, value) in bad_values() {
            let args: Vec<OsString> = words.iter().map(OsString::from).collect();
            let what = format!("{var}={kind} {}", words.join(" "));
            let (code, stderr) = handles(&t, &args, &[(var, &value)], &what);
            // A value that is not text is refused, never silently dropped;
            // paths may hold any bytes, switches only ask whether they are set.
            let not_text = [
                "DIFY_CONFIG_DIR",
                "XDG_CONFIG_HOME",
                "HOME",
                "NO_COLOR",
                "SSL_CERT_FILE",
            ];
            if kind == "not UTF-8" && !not_text.contains(&var) {
                assert_eq!(code, 2, "{what}: {stderr}");
                assert!(
                    stderr.starts_with(&format!("usage_invalid_flag: {var} is not valid UTF-8\n")),
                    "{what}: {stderr}"
                );
            }
        }
    }
}

#[test]
fn broken_store_files_give_clear_errors() {
    let hosts = |t: &Test| t.config_dir().join("hosts.yml");
    // Run with a time limit: a FIFO or a quadratic parse would hang.
    let fails = |t: &Test, args: &[&str], first: &str| {
        // Names only: reading a FIFO would block the test itself.
        let before = names(t);
        let out = run_bounded(t, args);
        assert_eq!(out.exit_code(), Some(1), "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "");
        assert!(
            out.stderr.starts_with(first),
            "{args:?}:\n{}\nwanted: {first}",
            out.stderr
        );
        assert!(out.stderr.len() < 2000, "{}", out.stderr);
        assert_clean(&out.stderr);
        assert_eq!(names(t), before);
    };
    let t = with_other_context(Test::new());
    let p = hosts(&t).display().to_string();
    let read_fail = format!("client_error: Failed to read {p}: ");

    // Not a regular file: a FIFO, a device, a directory, a symlink loop.
    fs::remove_file(hosts(&t)).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(hosts(&t))
            .status()
            .unwrap()
            .success()
    );
    fails(
        &t,
        &["auth", "list"],
        &format!(
            "{read_fail}not a regular file\nhint: Remove {p} (or move it away) to reset it.\n"
        ),
    );
    fs::remove_file(hosts(&t)).unwrap();
    std::os::unix::fs::symlink("/dev/zero", hosts(&t)).unwrap();
    fails(
        &t,
        &["auth", "whoami"],
        &format!("{read_fail}not a regular file"),
    );
    fails(
        &t,
        &["use", "host", "--domain", "cloud.dify.ai"],
        &format!("{read_fail}not a regular file"),
    );
    fs::remove_file(hosts(&t)).unwrap();
    fs::create_dir(hosts(&t)).unwrap();
    fails(
        &t,
        &["auth", "list"],
        &format!("{read_fail}not a regular file"),
    );
    fs::remove_dir(hosts(&t)).unwrap();
    std::os::unix::fs::symlink("hosts.yml", hosts(&t)).unwrap();
    fails(
        &t,
        &["auth", "list"],
        &format!("{read_fail}Too many levels of symbolic links"),
    );
    fs::remove_file(hosts(&t)).unwrap();

    // Huge: past the size bound (sparse, so no disk is used), and nested
    // deep enough to make libyaml take minutes.
    fs::File::create(hosts(&t))
        .unwrap()
        .set_len(64 * 1024 * 1024 + 1)
        .unwrap();
    fails(
        &t,
        &["auth", "list"],
        &format!("{read_fail}the file is larger than 64 MiB"),
    );
    let deep = format!("hosts: {}{}\n", "[".repeat(200_000), "]".repeat(200_000));
    fs::write(hosts(&t), &deep).unwrap();
    fails(
        &t,
        &["auth", "list"],
        &format!(
            "client_error: Failed to parse YAML file {p}: flow collections nested more than 128 deep at line 1, column 136."
        ),
    );
    assert_eq!(
        fs::read_to_string(hosts(&t)).unwrap(),
        deep,
        "never overwritten"
    );

    // Valid YAML of the wrong shape as a whole, for every kind of command
    // (a damaged entry costs only its own context: cli/store_contents.rs).
    for text in [
        "[]\n",
        "just text\n",
        "current_host: {}\nhosts: {}\n",
        "hosts: [1, 2]\n",
        "token_storage: [file]\nhosts: {}\n",
    ] {
        fs::write(hosts(&t), text).unwrap();
        for args in [
            &["auth", "list"][..],
            &["auth", "whoami"],
            &["auth", "token"],
            &["use", "host", "--domain", "h"],
            &["auth", "status"],
        ] {
            fails(&t, args, &format!("client_error: Invalid content in {p}: "));
        }
        assert_eq!(fs::read_to_string(hosts(&t)).unwrap(), text);
    }

    // tokens.yml: the same protections.
    fs::write(hosts(&t), other_hosts()).unwrap();
    let tokens = t.config_dir().join("tokens.yml");
    let tp = tokens.display().to_string();
    fs::remove_file(&tokens).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(&tokens)
            .status()
            .unwrap()
            .success()
    );
    set_mode(&tokens, 0o600);
    set_mode(&tokens, 0o600);
    fails(
        &t,
        &["auth", "token"],
        &format!("client_error: Failed to read {tp}: not a regular file"),
    );
    fs::remove_file(&tokens).unwrap();
    fs::write(
        &tokens,
        format!(
            "version: 1\ntokens: {}{}\n",
            "{a: ".repeat(50_000),
            "}".repeat(50_000)
        ),
    )
    .unwrap();
    set_mode(&tokens, 0o600);
    fails(
        &t,
        &["auth", "token"],
        &format!(
            "client_error: Failed to parse YAML file {tp}: flow collections nested more than 128 deep"
        ),
    );
    fs::write(&tokens, "version: 1\ntokens: [dfoa_secret]\n").unwrap();
    set_mode(&tokens, 0o600);
    let out = run_bounded(&t, &["auth", "token"]);
    assert_eq!(out.exit_code(), Some(1), "{}", out.stderr);
    assert!(!out.stderr.contains("dfoa_secret"), "{}", out.stderr);
}

/// Runs `args` in `t`, failing the test if it has not ended after 60 s (a
/// FIFO or a quadratic parse would hang).
fn run_bounded<'t>(t: &'t Test, args: &[&str]) -> Outcome<'t> {
    t.spawn_args(args).finish_within(Duration::from_secs(60))
}

#[test]
fn a_symlinked_hosts_file_is_followed_and_kept() {
    let t = with_other_context(Test::new());
    let dotfiles = t.dir.path().join("dotfiles");
    fs::create_dir(&dotfiles).unwrap();
    let real = dotfiles.join("difyctl-hosts.yml");
    fs::write(&real, two_hosts("cloud.dify.ai")).unwrap();
    let link = t.config_dir().join("hosts.yml");
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    t.run_args(["use", "host", "--domain", "two.example"])
        .code(0);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), two_hosts("two.example"));
    t.run_args(["auth", "whoami"])
        .code(0)
        .stdout("bob@x.io (Bob)\n");
    assert_eq!(t.leftovers(), Vec::<String>::new());
    assert_eq!(fs::read_dir(&dotfiles).unwrap().count(), 1);

    // A dangling link reads as no contexts; a sign-in creates its target.
    fs::remove_file(&real).unwrap();
    t.run_args(["auth", "whoami"])
        .code(4)
        .stderr("not_logged_in: not logged in\nhint: run 'difyctl auth login'\n");
    let mock = MockDify::start();
    let s = mock.add_session("difyctl on ci");
    let mut cmd = t.command();
    cmd.args(with_token_args(&mock));
    let out = t.run_command(cmd, s.token.as_bytes());
    assert_eq!(out.exit_code(), Some(0), "{}", out.stderr);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(fs::read_to_string(&real).unwrap().contains(&mock.host()));
}

#[test]
fn api_reads_a_bounded_request_body() {
    let mock = MockDify::start();
    let (t, _) = signed_in(&mock);
    let out = run_bounded(&t, &["api", "--input", "/dev/zero", "account"]);
    assert_eq!(out.exit_code(), Some(2), "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "usage_invalid_flag: --input /dev/zero holds more than 64 MiB\n"
    );
    assert!(mock.requests().is_empty());
}
