//! Argument parsing: argv → one typed [`Command`].
//!
//! Table-driven (see [`spec`] and [`flags`]) on top of lexopt: the command
//! path first, then the flags of that command, each typed by its kind. Parser
//! mistakes (unknown command or flag, a flag missing its value) are
//! plain-text errors with exit 1; a bad value for a known enumerated flag is
//! `illegal_argument`, exit 2, as the official tool has them. The parser
//! also decides how errors are shown: as JSON when the flags that win ask
//! for it (`--json`, `-o json`).

mod command;
pub mod complete;
pub mod flags;
pub mod help;
mod parse;
pub mod spec;
mod suggest;

use std::ffi::OsString;

use lexopt::Arg as Lx;

pub use command::{
    ApiArgs, Command, Finish, ListFormat, LoginArgs, LoginMethod, Selection, Shell, VersionArgs,
    VersionFormat,
};
pub use parse::{MAX_PAGE_SIZE, Source, Span, page_size};

use crate::error::Result;
use crate::output::ErrorStyle;
use parse::{Matches, lexopt_error};
use spec::{Node, ROOT};

/// A parsed command line: the command (or the mistake), and how an error
/// is to be shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub command: Result<Command>,
    /// `-v`/`--verbose`.
    pub verbose: bool,
    /// Errors as the JSON envelope: the flags that win say `--json` or `-o json`.
    pub json_errors: bool,
}

impl Invocation {
    pub fn error_style(&self) -> ErrorStyle {
        ErrorStyle {
            json: self.json_errors,
            verbose: self.verbose,
        }
    }

    fn plain(command: Result<Command>) -> Invocation {
        Invocation {
            command,
            verbose: false,
            json_errors: false,
        }
    }
}

/// Parse the arguments after the program name.
pub fn parse(args: Vec<OsString>) -> Invocation {
    let joined = args
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let mut parser = lexopt::Parser::from_args(args);
    let mut node: &'static Node = &ROOT;
    let mut path: Vec<&'static str> = Vec::new();

    // The command path: words until a command (leaf) is reached. A group
    // takes only its own flags (help, and the root's --version).
    while node.is_group() {
        let arg = match parser.next() {
            Err(e) => return Invocation::plain(Err(lexopt_error(e))),
            Ok(None) => return Invocation::plain(Ok(Command::Help(path))),
            Ok(Some(arg)) => arg,
        };
        let flag = match arg {
            Lx::Long(name) => node.flag_long(name),
            Lx::Short(c) => node.flag_short(c),
            Lx::Value(word) => {
                let word = word.to_string_lossy();
                match node.child(&word) {
                    Some(child) => {
                        path.push(child.name);
                        node = child;
                        continue;
                    }
                    None => {
                        let mut typed: Vec<&str> = path.clone();
                        typed.push(&word);
                        return Invocation::plain(Err(suggest::unknown(
                            "unknown command",
                            &joined,
                            &typed.join(" "),
                        )));
                    }
                }
            }
        };
        return Invocation::plain(match flag {
            Some(f) if std::ptr::eq(f, &flags::HELP) => Ok(Command::Help(path)),
            Some(f) if std::ptr::eq(f, &flags::VERSION) => Ok(Command::VersionLine),
            // Flags must come after the command path (`difyctl -o json auth list`).
            _ => Err(suggest::unknown("unknown command", &joined, "")),
        });
    }

    let m = Matches::read(node, &mut parser);
    let verbose = m.switch(&flags::VERBOSE);
    let json_errors = m.json_errors();
    let command = if m.help {
        Ok(Command::Help(path))
    } else if let Some(e) = m.error.clone() {
        Err(e)
    } else {
        command::build(&path, node, &m)
    };
    Invocation {
        command,
        verbose,
        json_errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::error::{CliError, ErrorCode};

    fn p(words: &str) -> Invocation {
        parse(words.split_whitespace().map(OsString::from).collect())
    }

    fn cmd(words: &str) -> Command {
        p(words).command.unwrap()
    }

    fn err(words: &str) -> CliError {
        p(words).command.unwrap_err()
    }

    #[test]
    fn command_paths() {
        assert_eq!(cmd(""), Command::Help(vec![]));
        assert_eq!(cmd("auth"), Command::Help(vec!["auth"]));
        assert_eq!(cmd("auth whoami --json"), Command::Whoami { json: true });
        assert_eq!(
            cmd("auth whoami --json=false"),
            Command::Whoami { json: false }
        );
        assert_eq!(cmd("--version"), Command::VersionLine);
        assert_eq!(cmd("version"), Command::Version(VersionArgs::default()));
        assert_eq!(
            cmd("version -o yaml --client --short --check-compat"),
            Command::Version(VersionArgs {
                format: VersionFormat::Yaml,
                client: true,
                short: true,
                check_compat: true,
            })
        );
        assert_eq!(
            cmd("version -o json -o text"),
            Command::Version(VersionArgs::default())
        );
        assert_eq!(err("version -o name").code, ErrorCode::IllegalArgument);
        assert_eq!(cmd("help auth login"), Command::Help(vec!["auth", "login"]));
        assert_eq!(
            cmd("auth list --bogus --help"),
            Command::Help(vec!["auth", "list"])
        );
        assert_eq!(
            cmd("auth devices -h"),
            Command::Help(vec!["auth", "devices"])
        );
    }

    #[test]
    fn values_and_last_wins() {
        assert_eq!(
            cmd("use host --domain a --domain=b"),
            Command::UseHost {
                domain: Some("b".into())
            }
        );
        assert_eq!(
            cmd("auth list -o json"),
            Command::List {
                format: ListFormat::Json
            }
        );
        assert_eq!(
            cmd("auth list -o=yaml"),
            Command::List {
                format: ListFormat::Yaml
            }
        );
        assert_eq!(
            cmd("auth list -oname"),
            Command::List {
                format: ListFormat::Name
            }
        );
        assert_eq!(
            cmd("auth list --output json"),
            Command::List {
                format: ListFormat::Json
            }
        );
        assert!(p("auth list -v").verbose);
        match cmd("auth devices revoke build -y --http-retry 0") {
            Command::DevicesRevoke {
                target,
                yes,
                http_retry,
                all,
                ..
            } => {
                assert_eq!(
                    (target.as_deref(), yes, http_retry, all),
                    (Some("build"), true, Some(0), false)
                );
            }
            other => panic!("{other:?}"),
        }
        match cmd("api -X POST --input - -H a:b -H c:d account") {
            Command::Api(a) => {
                assert_eq!(a.input, Some(Source::Stdin));
                assert_eq!(a.headers, vec!["a:b", "c:d"]);
                assert_eq!(a.path, "account");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn context_selection_flags() {
        let select = |host: Option<&str>, account: Option<&str>| Selection {
            host: host.map(str::to_string),
            account: account.map(str::to_string),
        };
        assert_eq!(
            cmd("auth token --host a.test --account=x@y.z"),
            Command::Token {
                select: select(Some("a.test"), Some("x@y.z"))
            }
        );
        assert_eq!(
            cmd("auth logout"),
            Command::Logout {
                select: select(None, None)
            }
        );
        match cmd("api account --host a --host b") {
            Command::Api(a) => assert_eq!(a.select, select(Some("b"), None)),
            other => panic!("{other:?}"),
        }
        // refresh's --host selects the context; it is not login's host URL.
        match cmd("auth refresh --host a.test --no-browser") {
            Command::Refresh {
                login, select: s, ..
            } => {
                assert_eq!((login.host, login.no_browser), (None, true));
                assert_eq!(s, select(Some("a.test"), None));
            }
            other => panic!("{other:?}"),
        }
        // Commands that do not use a context do not take them.
        assert_eq!(err("auth whoami --host a").message, "unknown flag: --host");
        assert_eq!(
            err("use host --account a").message,
            "unknown flag: --account"
        );
    }

    #[test]
    fn parser_errors_are_plain_exit_1() {
        let e = err("auth whoami --x");
        assert_eq!(
            (e.message.as_str(), e.plain, e.exit_code()),
            ("unknown flag: --x", true, 1)
        );
        assert_eq!(err("auth whoami -q").message, "unknown flag: -q");
        assert_eq!(
            err("use host --domain").message,
            "flag --domain expects a value"
        );
        assert_eq!(
            err("use host --domain --json").message,
            "flag --domain expects a value"
        );
        assert_eq!(
            err("auth devices list --page x").message,
            "expected integer, got \"x\""
        );
        assert_eq!(
            err("completion").message,
            "missing required argument: shell"
        );
        assert_eq!(err("auth whoami --json=maybe").exit_code(), 1);
    }

    #[test]
    fn unknown_commands_suggest() {
        let e = err("auth lgin --host x");
        assert_eq!(
            e.message,
            "unknown command: auth lgin --host x\n\nDid you mean:\n  auth login"
        );
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            err("-o json auth list").message,
            "unknown command: -o json auth list"
        );
        assert!(
            err("auth devices revok")
                .message
                .contains("  auth devices revoke")
        );
        let e = err("help nope");
        assert!(
            e.message.starts_with("unknown help topic: nope"),
            "{}",
            e.message
        );
    }

    #[test]
    fn illegal_enum_value_is_exit_2() {
        let e = err("auth list -o table");
        assert_eq!(e.code, ErrorCode::IllegalArgument);
        assert_eq!(e.message, "illegal value table for flag --output / -o");
        assert_eq!(e.hint.as_deref(), Some("supported value: json, yaml, name"));
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            cmd("auth list -o table -o json"),
            Command::List {
                format: ListFormat::Json
            }
        );
    }

    #[test]
    fn json_error_mode_detection() {
        let w = |s: &str| p(s).json_errors;
        assert!(w("auth list -o json"));
        assert!(w("auth list -o=json"));
        assert!(w("auth whoami --json"));
        assert!(!w("auth list -o yaml"));
        assert!(!w("auth list"));
        // The value that wins decides, as for the command itself.
        assert!(!w("auth whoami --json --json=false"));
        assert!(!w("auth list -o json -o yaml"));
        assert!(w("auth devices list --json --limit 0"));
        // Not a flag: a flag's value, or a word after `--`.
        assert!(!w("api -H --json account"));
        assert!(!w("api -- --json"));
    }

    #[test]
    fn help_is_a_flag_not_any_word() {
        assert_eq!(
            cmd("auth devices revoke -- -h"),
            Command::DevicesRevoke {
                target: Some("-h".into()),
                all: false,
                yes: false,
                http_retry: None,
                select: Selection::default(),
            }
        );
        assert_eq!(
            cmd("use host --domain -h"),
            Command::Help(vec!["use", "host"])
        );
        assert_eq!(
            cmd("auth whoami --help=false"),
            Command::Whoami { json: false }
        );
    }

    /// Every command of the table parses, and its build asks for every flag
    /// the command takes (a flag added to the table but never read, or read
    /// under the wrong kind, fails here).
    #[test]
    fn every_table_command_builds_and_reads_all_its_flags() {
        for (path, node) in spec::leaves() {
            let mut words: Vec<String> = path.iter().map(|s| s.to_string()).collect();
            for a in node.args.iter().filter(|a| a.required) {
                words.push(a.choices.first().copied().unwrap_or("x").to_string());
            }
            let r = parse(words.iter().map(OsString::from).collect());
            assert!(r.command.is_ok(), "{path:?}: {r:?}");

            let mut parser = lexopt::Parser::from_args(&words[path.len()..]);
            let m = Matches::read(node, &mut parser);
            let _ = command::build(&path, node, &m);
            let _ = m.switch(&flags::VERBOSE);
            let read = m.read.borrow();
            for flag in node.accepted_flags() {
                let asked =
                    std::ptr::eq(flag, &flags::HELP) || read.iter().any(|r| std::ptr::eq(*r, flag));
                assert!(asked, "{path:?} never reads --{}", flag.long);
            }
        }
    }
}
