//! `difyctl completion bash|zsh|fish`: each script is loaded into the real
//! shell and asked to complete command lines, through that shell's own
//! completion machinery, which asks the binary (`difyctl __complete`) for the
//! commands and flags of the table and the stored hosts and accounts. A shell
//! that is not installed is skipped with a message (CI installs all three).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::team;
use crate::support::runner::{BIN, TempDir, Test};
use crate::support::tools::{self, available as installed};

fn script(shell: &str) -> String {
    Test::new()
        .args(["completion", shell])
        .run()
        .code(0)
        .stderr("")
        .into_stdout()
}

/// A hermetic environment for a shell: fresh HOME, no user configuration,
/// difyctl first on PATH, and a configuration directory holding [`team`]
/// (hosts cloud.dify.ai, the active one, and localhost:5001).
fn shell_command(program: &str, dir: &Path) -> Command {
    let config = dir.join("difyctl-config");
    if !config.exists() {
        write(&config, "hosts.yml", &team());
        for path in [config.clone(), config.join("hosts.yml")] {
            use std::os::unix::fs::PermissionsExt;
            let mode = if path == config { 0o700 } else { 0o600 };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    let bin_dir = Path::new(BIN).parent().unwrap();
    let mut path = std::ffi::OsString::from(bin_dir);
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", path)
        .env("DIFY_CONFIG_DIR", &config)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("LANG", "C.UTF-8")
        .current_dir(dir);
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, contents).unwrap();
    path
}

/// Lines to complete and what every shell must offer for them.
const CASES: &[(&str, &[&str])] = &[
    ("difyctl au", &["auth"]),
    ("difyctl auth devices re", &["revoke"]),
    ("difyctl auth list -o ", &["json", "yaml", "name"]),
    ("difyctl auth list --output=", &["json", "yaml", "name"]),
    ("difyctl auth login --token-storage k", &["keychain"]),
    (
        "difyctl auth list --",
        &["--output", "--json", "--verbose", "--help"],
    ),
    (
        "difyctl auth devices revoke -",
        &[
            "--all",
            "-y",
            "--yes",
            "--http-retry",
            "--host",
            "--account",
            "-v",
            "--verbose",
            "-h",
            "--help",
        ],
    ),
    // Groups take only help; the root also --version.
    ("difyctl auth -", &["-h", "--help"]),
    ("difyctl --v", &["--version"]),
    ("difyctl use ", &["host", "account", "workspace"]),
    ("difyctl completion ", &["bash", "zsh", "fish"]),
    ("difyctl help auth d", &["devices"]),
    // Nothing fits after a word that is no command of the group.
    ("difyctl auth bogus ", &[]),
    // -v may come before the command.
    ("difyctl -v use h", &["host"]),
    ("difyctl help ex", &["exit-codes"]),
    // Stored hosts and accounts, read from hosts.yml.
    (
        "difyctl use host --domain ",
        &["cloud.dify.ai", "localhost:5001"],
    ),
    ("difyctl auth devices list --host=cl", &["cloud.dify.ai"]),
    (
        "difyctl auth login --host ",
        &["cloud.dify.ai", "http://localhost:5001"],
    ),
    // Accounts of the active host, or of the host given on the line.
    (
        "difyctl use account --email ",
        &["alice@example.com", "bob@example.com", "sam@corp.example"],
    ),
    ("difyctl auth status --account=b", &["bob@example.com"]),
    (
        "difyctl use account --host localhost:5001 --email ",
        &["dev@example.com"],
    ),
    (
        "difyctl use host --domain cloud.dify.ai --email s",
        &["sam@corp.example"],
    ),
];

fn sorted(v: &[impl AsRef<str>]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.as_ref().to_string()).collect();
    v.sort();
    v
}

/// Split a line into words the way readline does for COMP_WORDS: on blanks,
/// with '=' and ':' (in COMP_WORDBREAKS) words of their own.
fn comp_words(line: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for token in line.split(' ').filter(|t| !t.is_empty()) {
        let mut part = String::new();
        for c in token.chars() {
            if c == '=' || c == ':' {
                if !part.is_empty() {
                    words.push(std::mem::take(&mut part));
                }
                words.push(c.to_string());
            } else {
                part.push(c);
            }
        }
        if !part.is_empty() {
            words.push(part);
        }
    }
    if line.ends_with(' ') {
        words.push(String::new());
    }
    words
}

const BASH_DRIVER: &str = r#"
script=$1 with_bash_completion=$2; shift 2
if [ "$with_bash_completion" = 1 ]; then
    source "$BC_SCRIPT" || exit 90
fi
source "$script" || exit 91
spec=$(complete -p difyctl) || exit 92
fn=${spec#*-F } fn=${fn%% *}
COMP_LINE=$1; shift
COMP_POINT=${#COMP_LINE}
COMP_WORDS=("$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
"$fn" difyctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;

fn bash_complete(dir: &Path, script: &Path, with_bash_completion: bool, line: &str) -> Vec<String> {
    let out = shell_command("bash", dir)
        .args(["--norc", "--noprofile", "-c", BASH_DRIVER, "bash"])
        .arg(script)
        .arg(if with_bash_completion { "1" } else { "0" })
        .env("BC_SCRIPT", tools::BASH_COMPLETION)
        .arg(line)
        .args(comp_words(line))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success() && stderr.is_empty(),
        "bash, {line:?}: {:?}\n{stderr}",
        out.status
    );
    stdout
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_from_the_table() {
    if !installed("bash") {
        return;
    }
    let dir = TempDir::new();
    let path = write(dir.path(), "difyctl.bash", &script("bash"));
    // Plain `complete -F`, and with bash-completion's helpers loaded.
    let mut modes = vec![false];
    if tools::bash_completion() {
        modes.push(true);
    }
    for with_bc in modes {
        for (line, expected) in CASES {
            assert_eq!(
                sorted(&bash_complete(dir.path(), &path, with_bc, line)),
                sorted(expected),
                "bash (bash-completion loaded: {with_bc}): {line:?}"
            );
        }
        // --input takes a file name.
        write(dir.path(), "body.json", "{}");
        assert_eq!(
            bash_complete(dir.path(), &path, with_bc, "difyctl api --input bo"),
            ["body.json"]
        );
        // readline's word after a ':' is what the candidate replaces.
        assert_eq!(
            bash_complete(
                dir.path(),
                &path,
                with_bc,
                "difyctl use host --domain localhost:5"
            ),
            ["5001"]
        );
    }
}

/// An interactive zsh in a pseudo-terminal (zsh/zpty) with the real
/// completion system (compinit). `compadd` is wrapped to print the matches
/// zsh settled on (after its own prefix matching) instead of inserting them,
/// and a post-completion hook prints an end marker; reads wait for markers.
const ZSHRC: &str = r#"
PS1='> '
bindkey -e
[[ -n $COMP_FPATH ]] && fpath=($COMP_FPATH $fpath)
autoload -Uz compinit && compinit -u -D
[[ -n $COMP_SOURCE ]] && source $COMP_SOURCE
compadd() {
  # Calls that only collect matches (-O/-A/-D) are zsh's own business.
  if (( ${@[(I)-[OAD]]} )); then builtin compadd "$@"; return; fi
  local -a __m
  builtin compadd -A __m "$@"
  (( $#__m )) || return 1
  local m
  for m in $__m; do builtin print -rn -- "<<M:$m>>"; done
}
__comp_end() { builtin print -rn -- '<<END>>'; }
comppostfuncs=(__comp_end)
print -rn -- '<<READY>>'
"#;

const ZSH_DRIVER: &str = r#"
zmodload zsh/zpty || exit 90
zpty z zsh -d -i || exit 91
zpty -r z out '*<<READY>>*' || exit 92
zpty -w -n z "$1"$'\t'
zpty -r z out '*<<END>>*' || exit 93
print -rn -- "$out"
zpty -d z
"#;

fn zsh_complete(dir: &Path, mode: (&str, &Path), line: &str) -> Vec<String> {
    // `timeout` only guards against a hang; completion itself is awaited by marker.
    let out = shell_command("timeout", dir)
        .args(["60", "zsh", "-f", "-c", ZSH_DRIVER, "zsh", line])
        .env("ZDOTDIR", dir.join("zdot"))
        .env("TERM", "dumb")
        .env(mode.0, mode.1)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "zsh, {line:?}: {:?}\n{stdout}\n{stderr}",
        out.status
    );
    // An error inside the script is printed by zsh as `_difyctl:LINE: …`.
    assert!(!stdout.contains("difyctl:"), "zsh, {line:?}:\n{stdout}");
    stdout
        .split("<<M:")
        .skip(1)
        .map(|s| s.split(">>").next().unwrap().to_string())
        .collect()
}

#[test]
fn zsh_completes_from_the_table() {
    if !installed("zsh") {
        return;
    }
    let dir = TempDir::new();
    write(dir.path(), "zdot/.zshrc", ZSHRC);
    let script = script("zsh");
    assert!(script.starts_with("#compdef difyctl\n"));
    // Installed as _difyctl in $fpath (autoloaded by compinit), and sourced.
    let fpath_dir = dir.path().join("site-functions");
    write(&fpath_dir, "_difyctl", &script);
    let sourced = write(dir.path(), "difyctl.zsh", &script);
    for mode in [
        ("COMP_FPATH", fpath_dir.as_path()),
        ("COMP_SOURCE", &sourced),
    ] {
        for (line, expected) in CASES {
            assert_eq!(
                sorted(&zsh_complete(dir.path(), mode, line)),
                sorted(expected),
                "zsh ({}): {line:?}",
                mode.0
            );
        }
    }
    write(dir.path(), "body.json", "{}");
    assert_eq!(
        zsh_complete(
            dir.path(),
            ("COMP_FPATH", &fpath_dir),
            "difyctl api --input bo"
        ),
        ["body.json"]
    );
}

fn fish_complete(dir: &Path, load: &str, line: &str) -> Vec<String> {
    // fish autoloads a command's completions only when the command is on PATH.
    let bin_dir = Path::new(crate::support::runner::BIN).parent().unwrap();
    let mut path = std::ffi::OsString::from(bin_dir);
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    let out = shell_command("fish", dir)
        .env("PATH", path)
        .args(["--no-config", "-c"])
        .arg(format!("{load}; complete -C $argv[1]"))
        .arg(line)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success() && stderr.is_empty(),
        "fish, {line:?}: {:?}\n{stderr}",
        out.status
    );
    // `complete -C` prints "candidate<TAB>description"; a --flag= value comes
    // back whole.
    let prefix = line.rsplit(' ').next().unwrap_or("");
    let prefix = prefix.find('=').map_or("", |i| &prefix[..=i]);
    stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .map(|c| c.strip_prefix(prefix).unwrap_or(c).to_string())
        .collect()
}

#[test]
fn fish_completes_from_the_table() {
    if !installed("fish") {
        return;
    }
    let dir = TempDir::new();
    let script = script("fish");
    // Sourced, and autoloaded by name from a completions directory.
    let sourced = write(dir.path(), "completion.fish", &script);
    let completions = dir.path().join("vendor_completions.d");
    write(&completions, "difyctl.fish", &script);
    let loads = [
        format!("source {}", sourced.display()),
        format!("set fish_complete_path {}", completions.display()),
    ];
    for load in &loads {
        for (line, expected) in CASES {
            assert_eq!(
                sorted(&fish_complete(dir.path(), load, line)),
                sorted(expected),
                "fish ({load}): {line:?}"
            );
        }
    }
    write(dir.path(), "body.json", "{}");
    assert_eq!(
        fish_complete(dir.path(), &loads[0], "difyctl api --input bo"),
        ["body.json"]
    );
}

#[test]
fn scripts_pass_the_shells_syntax_check() {
    for (shell, check) in [("bash", "-n"), ("zsh", "-n"), ("fish", "--no-execute")] {
        if !installed(shell) {
            continue;
        }
        let dir = TempDir::new();
        let path = write(dir.path(), "script", &script(shell));
        let out = shell_command(shell, dir.path())
            .arg(check)
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {}", text(&out).1);
    }
}

#[test]
fn unknown_shell_is_an_illegal_argument() {
    Test::new()
        .args(["completion", "tcsh"])
        .run()
        .code(2)
        .stdout("")
        .stderr("illegal_argument: illegal value tcsh for argument shell\nhint: supported value: bash, zsh, fish\n");
}
