//! Shell completion. The scripts `difyctl completion bash|zsh|fish` prints
//! are small: on each Tab they hand the words typed so far to the hidden
//! entry point `difyctl __complete WORD…` (as cobra-based tools do), which
//! answers from the command table and, for hosts and accounts, from the
//! stored `hosts.yml` (local data only: no network, no keychain).
//!
//! The answer is one candidate a line, `value<TAB>description` (the
//! description may be missing), then a last line `:files` when the shell
//! should complete file names instead, else `:done`. A candidate completes
//! the whole last word, so for `--output=js` it is `--output=json`: each
//! script cuts that to what its shell counts as the word.

use super::Shell;
use super::flags::{Flag, Kind, VERBOSE, Values};
use super::spec::{Node, ROOT};
use super::topics;

/// The hidden command that answers the scripts.
pub const ENTRY: &str = "__complete";

/// What the last word can be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// What stays in front of every candidate (`--output=`).
    pub prefix: String,
    /// The part typed of what is being completed (`js`).
    pub partial: String,
    pub want: Want,
}

/// The kind of candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// These words, each with a description.
    Words(Vec<(String, &'static str)>),
    /// File names: the shell completes them.
    Files,
    /// The stored hosts (`url`: as URLs for a sign-in, `http://` kept).
    Hosts {
        url: bool,
    },
    /// The stored accounts of a host (the typed one, else the active host).
    Accounts {
        host: Option<String>,
    },
    Nothing,
}

impl Request {
    fn words(partial: &str, words: Vec<(String, &'static str)>) -> Request {
        Request {
            prefix: String::new(),
            partial: partial.to_string(),
            want: Want::Words(words),
        }
    }
}

/// What completes the last of `words` (the words after `difyctl`; the last
/// is the one being typed, maybe empty). Mirrors the parser: the command
/// path first (`-v` may come before it), then the flags of the command.
pub fn request(words: &[String]) -> Request {
    let (typed, partial) = match words.split_last() {
        Some((last, typed)) => (typed, last.as_str()),
        None => (&[][..], ""),
    };
    let mut node: &'static Node = &ROOT;
    let mut path: Vec<&'static str> = Vec::new();
    let mut given: Vec<(&'static Flag, String)> = Vec::new();
    let mut positionals = Vec::new();
    let mut pending: Option<&'static Flag> = None;
    for word in typed {
        if let Some(flag) = pending.take() {
            given.push((flag, word.clone()));
            continue;
        }
        if let Some(spelling) = word.strip_prefix('-').filter(|w| !w.is_empty()) {
            let (name, value) = match spelling.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (spelling, None),
            };
            let Some(flag) = find_flag(node, name) else {
                continue;
            };
            match value {
                Some(v) => given.push((flag, v.to_string())),
                None if flag.takes_value() => pending = Some(flag),
                None => {}
            }
        } else if node.is_group() {
            match node.child(word) {
                Some(child) => {
                    path.push(child.name);
                    node = child;
                }
                // A word that is no command of the group: nothing fits.
                None => return Request::words(partial, Vec::new()),
            }
        } else {
            positionals.push(word.as_str());
        }
    }

    if let Some(flag) = pending {
        return value_request(flag, "", partial, &given);
    }
    if let Some((name, value)) = partial.strip_prefix("--").and_then(|p| p.split_once('='))
        && let Some(flag) = find_flag(node, &format!("-{name}"))
    {
        let prefix = format!("--{name}=");
        return value_request(flag, &prefix, value, &given);
    }
    if partial.starts_with('-') {
        let mut flags: Vec<(String, &'static str)> = Vec::new();
        for f in node.accepted_flags() {
            if let Some(c) = f.short {
                flags.push((format!("-{c}"), f.help));
            }
            flags.push((format!("--{}", f.long), f.help));
        }
        return Request::words(partial, flags);
    }
    if node.is_group() {
        return Request::words(partial, children(node));
    }
    if path == ["help"] {
        // `help` takes a command path, or one guide.
        let mut at: &'static Node = &ROOT;
        for w in &positionals {
            match at.child(w) {
                Some(child) => at = child,
                None => return Request::words(partial, Vec::new()),
            }
        }
        let mut words = children(at);
        if positionals.is_empty() {
            words.extend(
                topics::TOPICS
                    .iter()
                    .map(|t| (t.name.to_string(), t.summary)),
            );
        }
        return Request::words(partial, words);
    }
    let args = node
        .args
        .get(positionals.len())
        .map(|a| a.choices.iter().map(|c| (c.to_string(), a.help)).collect())
        .unwrap_or_default();
    Request::words(partial, args)
}

/// The flag a word names at `node`: `--long` or `-s`, and `-v` before the command.
fn find_flag(node: &'static Node, name: &str) -> Option<&'static Flag> {
    let flag = match name.strip_prefix('-') {
        Some(long) => node.flag_long(long),
        None => {
            let mut chars = name.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => node.flag_short(c),
                _ => None,
            }
        }
    };
    flag.or_else(|| {
        let verbose = name == "-verbose" || name == "v";
        verbose.then_some(&VERBOSE)
    })
}

fn children(node: &'static Node) -> Vec<(String, &'static str)> {
    node.children
        .iter()
        .map(|c| (c.name.to_string(), c.summary))
        .collect()
}

/// Candidates for the value of `flag`.
fn value_request(
    flag: &'static Flag,
    prefix: &str,
    partial: &str,
    given: &[(&'static Flag, String)],
) -> Request {
    // The host typed earlier on the line scopes the accounts.
    let typed_host = given
        .iter()
        .rev()
        .find(|(f, _)| matches!(f.values, Values::Hosts | Values::HostUrls))
        .map(|(_, v)| v.clone());
    let want = match (flag.kind, flag.values) {
        (Kind::Path, _) => Want::Files,
        (_, Values::Hosts) => Want::Hosts { url: false },
        (_, Values::HostUrls) => Want::Hosts { url: true },
        (_, Values::Accounts) => Want::Accounts { host: typed_host },
        _ if !flag.choices().is_empty() => {
            Want::Words(flag.choices().iter().map(|c| (c.to_string(), "")).collect())
        }
        _ => Want::Nothing,
    };
    Request {
        prefix: prefix.to_string(),
        partial: partial.to_string(),
        want,
    }
}

/// The answer for the scripts: `candidates` (value, description) that start
/// with what was typed, each after the request's prefix, then the directive.
pub fn answer(request: &Request, candidates: &[(String, String)]) -> String {
    let mut out = String::new();
    for (value, description) in candidates {
        if !value.starts_with(&request.partial) {
            continue;
        }
        // One line per candidate, whatever a stored name holds.
        let clean = |s: &str| s.replace(['\n', '\r', '\t'], " ");
        out.push_str(&request.prefix);
        out.push_str(&clean(value));
        if !description.is_empty() {
            out.push('\t');
            out.push_str(&clean(description));
        }
        out.push('\n');
    }
    out.push_str(if request.want == Want::Files {
        ":files\n"
    } else {
        ":done\n"
    });
    out
}

/// The script for `shell`.
pub fn script(shell: Shell) -> String {
    match shell {
        Shell::Bash => BASH,
        Shell::Zsh => ZSH,
        Shell::Fish => FISH,
    }
    .to_string()
}

const BASH: &str = r#"# bash completion for difyctl                              -*- shell-script -*-
# Generated by `difyctl completion bash`. Each Tab asks `difyctl __complete`,
# which answers from difyctl's command table and the stored hosts and
# accounts. Load it with `source <(difyctl completion bash)`, or install it as
# /usr/share/bash-completion/completions/difyctl.

_difyctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} i w line prefix files=
    local -a words=() lines=()
    # The words so far: readline splits at '=' and ':', they are joined again.
    for ((i = 1; i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if ((${#words[@]})) && [[ $w == [=:] || ${words[-1]} == *[=:] ]]; then
            words[-1]+=$w
        else
            words+=("$w")
        fi
    done
    # Candidates are whole words; readline replaces only its last piece
    # (after a '=' or ':' it is empty, though COMP_WORDS shows the '=').
    [[ $cur == [=:] ]] && cur=
    prefix=${words[-1]%"$cur"}
    mapfile -t lines < <("${COMP_WORDS[0]}" __complete "${words[@]}" 2>/dev/null)
    COMPREPLY=()
    for line in "${lines[@]}"; do
        case $line in
            :files) files=1 ;;
            :*) ;;
            *)
                line=${line%%$'\t'*}
                COMPREPLY+=("${line#"$prefix"}")
                ;;
        esac
    done
    if [[ -n $files ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    return 0
}

complete -F _difyctl difyctl
"#;

const ZSH: &str = r#"#compdef difyctl
# zsh completion for difyctl
# Generated by `difyctl completion zsh`. Each Tab asks `difyctl __complete`,
# which answers from difyctl's command table and the stored hosts and
# accounts. Install it as _difyctl in a directory of $fpath, or `source` it
# after compinit.

_difyctl() {
  local line value files= out
  local -a lines described
  out=$("$words[1]" __complete "${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
  lines=("${(@f)out}")
  [[ $words[CURRENT] == -*=* ]] && compset -P '*='
  for line in $lines; do
    case $line in
      (:files) files=1 ;;
      (:*) ;;
      (*)
        [[ $words[CURRENT] == -*=* ]] && line=${line#*=}
        value=${line%%$'\t'*}
        value=${value//:/\\:}
        if [[ $line == *$'\t'* ]]; then
          described+=("$value:${line#*$'\t'}")
        else
          described+=("$value")
        fi
        ;;
    esac
  done
  if [[ -n $files ]]; then
    _files
  elif (( $#described )); then
    _describe -t values value described
  else
    return 1
  fi
}

# Autoloaded from $fpath the file is the body of _difyctl: complete now.
# Sourced: register the function (compinit must have run).
if [[ $funcstack[1] == _difyctl && $zsh_eval_context[-1] != file ]]; then
  _difyctl "$@"
elif (( $+functions[compdef] )); then
  compdef _difyctl difyctl
else
  print -u2 'difyctl completion: run "autoload -U compinit && compinit" first'
fi
"#;

const FISH: &str = r#"# fish completion for difyctl
# Generated by `difyctl completion fish`. Each Tab asks `difyctl __complete`,
# which answers from difyctl's command table and the stored hosts and
# accounts. Install it as ~/.config/fish/completions/difyctl.fish, or run
# `difyctl completion fish | source`.

function __difyctl_complete
    set -l words (commandline -opc)
    set -l program $words[1]
    set -e words[1]
    set -l current (commandline -ct)
    for line in ($program __complete $words "$current" 2>/dev/null)
        switch $line
            case ':files'
                __fish_complete_path "$current"
            case ':*'
            case '*'
                echo $line
        end
    end
end

complete -c difyctl -f -a '(__difyctl_complete)'
"#;

/// Every flag spelling a script may be asked about (for the tests).
pub fn spellings(node: &Node) -> Vec<String> {
    let mut v = Vec::new();
    for f in node.accepted_flags() {
        if let Some(c) = f.short {
            v.push(format!("-{c}"));
        }
        v.push(format!("--{}", f.long));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::flags::HELP;
    use crate::cli::spec;

    fn req(line: &str) -> Request {
        let mut words: Vec<String> = line.split(' ').map(str::to_string).collect();
        if line.is_empty() {
            words.clear();
            words.push(String::new());
        }
        request(&words)
    }

    fn names(r: &Request) -> Vec<String> {
        match &r.want {
            Want::Words(w) => w
                .iter()
                .filter(|(v, _)| v.starts_with(&r.partial))
                .map(|(v, _)| v.clone())
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn groups_take_only_help_and_commands_take_the_globals() {
        assert_eq!(spellings(&ROOT), ["--version", "-h", "--help"]);
        assert_eq!(
            spellings(spec::find(&["auth", "devices"]).unwrap()),
            ["-h", "--help"]
        );
        assert_eq!(
            spellings(spec::find(&["auth", "list"]).unwrap()),
            [
                "-o",
                "--output",
                "--json",
                "-v",
                "--verbose",
                "-h",
                "--help"
            ]
        );
        assert!(std::ptr::eq(find_flag(&ROOT, "h").unwrap(), &HELP));
    }

    #[test]
    fn what_each_position_takes() {
        assert_eq!(names(&req("au")), ["auth"]);
        assert_eq!(names(&req("-v auth devices re")), ["revoke"]);
        assert_eq!(names(&req("auth list -o ")), ["json", "yaml", "name"]);
        let r = req("auth list --output=y");
        assert_eq!(
            (r.prefix.as_str(), names(&r)),
            ("--output=", vec!["yaml".into()])
        );
        assert_eq!(names(&req("auth bogus ")), Vec::<String>::new());
        assert_eq!(names(&req("help auth d")), ["devices"]);
        assert_eq!(names(&req("help e")), ["env", "environment", "exit-codes"]);
        assert_eq!(names(&req("completion f")), ["fish"]);
        assert_eq!(req("api --input ").want, Want::Files);
        assert_eq!(req("use host --domain ").want, Want::Hosts { url: false });
        assert_eq!(req("auth login --host ").want, Want::Hosts { url: true });
        assert_eq!(
            req("use account --host a.example --email ").want,
            Want::Accounts {
                host: Some("a.example".into())
            }
        );
        assert_eq!(
            req("auth status --account=").want,
            Want::Accounts { host: None }
        );
    }

    #[test]
    fn answers_keep_the_prefix_and_one_line_per_candidate() {
        let r = req("auth list --output=j");
        let out = answer(
            &r,
            &[
                ("json".into(), String::new()),
                ("yaml".into(), String::new()),
            ],
        );
        assert_eq!(out, "--output=json\n:done\n");
        let r = req("use host --domain ");
        let out = answer(&r, &[("a\tb\nc".into(), "x".into())]);
        assert_eq!(out, "a b c\tx\n:done\n");
        assert_eq!(answer(&req("api --input "), &[]), ":files\n");
    }
}
