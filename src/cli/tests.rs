//! The parser, from argv to commands and errors.

use super::*;

use crate::error::{CliError, ErrorCode};

fn help(path: Vec<&'static str>) -> Command {
    Command::Help(HelpRequest::path(path, Format::Text))
}

fn p(words: &str) -> Invocation {
    parse(
        words.split_whitespace().map(OsString::from).collect(),
        &Env::default(),
    )
}

fn cmd(words: &str) -> Command {
    p(words).command.unwrap()
}

fn err(words: &str) -> CliError {
    p(words).command.unwrap_err()
}

#[test]
fn command_paths() {
    assert_eq!(cmd(""), help(vec![]));
    assert_eq!(cmd("auth"), help(vec!["auth"]));
    assert_eq!(
        cmd("auth whoami --json"),
        Command::Whoami {
            format: Format::Json
        }
    );
    assert_eq!(
        cmd("auth whoami --json=false"),
        Command::Whoami {
            format: Format::Text
        }
    );
    assert_eq!(cmd("--version"), Command::VersionLine);
    assert_eq!(cmd("version"), Command::Version(VersionArgs::default()));
    assert_eq!(
        cmd("version -o yaml --client --short --check-compat"),
        Command::Version(VersionArgs {
            format: Format::Yaml,
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
    assert_eq!(cmd("help auth login"), help(vec!["auth", "login"]));
    assert_eq!(cmd("auth list --bogus --help"), help(vec!["auth", "list"]));
    assert_eq!(cmd("auth devices -h"), help(vec!["auth", "devices"]));
}

#[test]
fn values_and_last_wins() {
    assert_eq!(
        cmd("use host --domain a --domain=b"),
        Command::UseHost {
            domain: Some("b".into()),
            email: None,
        }
    );
    assert_eq!(
        cmd("auth list -o json"),
        Command::List {
            format: Format::Json
        }
    );
    assert_eq!(
        cmd("auth list -o=yaml"),
        Command::List {
            format: Format::Yaml
        }
    );
    assert_eq!(
        cmd("auth list -oname"),
        Command::List {
            format: Format::Name
        }
    );
    assert_eq!(
        cmd("auth list --output json"),
        Command::List {
            format: Format::Json
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
        "missing required argument: shell\n\nUsage: difyctl completion SHELL [flags]"
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
        "unknown command: -o json auth list\n\nFlags come after the command: difyctl auth list -o json"
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
            format: Format::Json
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
    assert_eq!(cmd("use host --domain -h"), help(vec!["use", "host"]));
    assert_eq!(
        cmd("auth whoami --help=false"),
        Command::Whoami {
            format: Format::Text
        }
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
        let r = parse(words.iter().map(OsString::from).collect(), &Env::default());
        assert!(r.command.is_ok(), "{path:?}: {r:?}");

        let mut parser = lexopt::Parser::from_args(&words[path.len()..]);
        let m = Matches::read(node, &mut parser, None);
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

fn with_env(words: &str, format: &str) -> Invocation {
    parse(
        words.split_whitespace().map(OsString::from).collect(),
        &Env::from_pairs([("DIFY_FORMAT", format)]),
    )
}

#[test]
fn output_formats_resolve_flag_then_env() {
    let f = |words: &str| match cmd(words) {
        Command::List { format } | Command::Whoami { format } | Command::EnvList { format } => {
            format
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(f("auth list"), Format::Text);
    assert_eq!(f("auth list --json"), Format::Json);
    assert_eq!(f("auth list -o yaml --json"), Format::Json);
    assert_eq!(f("auth list --json -o yaml"), Format::Yaml);
    assert_eq!(f("auth list -o json --json=false"), Format::Text);
    assert_eq!(f("auth list -o yaml --json=false"), Format::Yaml);
    assert_eq!(f("auth whoami -o yaml"), Format::Yaml);
    assert_eq!(err("auth whoami -o name").code, ErrorCode::IllegalArgument);
    let env = |words: &str, value: &str| with_env(words, value).command;
    assert!(matches!(
        env("auth list", "name"),
        Ok(Command::List {
            format: Format::Name
        })
    ));
    assert!(matches!(
        env("auth whoami", "name"),
        Ok(Command::Whoami {
            format: Format::Text
        })
    ));
    assert!(matches!(
        env("auth list -o json", "yaml"),
        Ok(Command::List {
            format: Format::Json
        })
    ));
    assert!(matches!(
        env("auth list", "wide"),
        Ok(Command::List {
            format: Format::Text
        })
    ));
    let e = env("auth list", "xml").unwrap_err();
    assert_eq!(e.code, ErrorCode::UsageInvalidFlag);
    assert!(with_env("auth whoami", "json").json_errors);
    // login prints its outcome as data with --json, so DIFY_FORMAT applies.
    assert!(with_env("auth login", "json").json_errors);
    assert!(!with_env("auth login", "yaml").json_errors);
    // A command that prints no data never reads it.
    assert!(with_env("use host --domain x", "xml").command.is_ok());
    assert!(!with_env("use host --domain x", "json").json_errors);
}

#[test]
fn help_takes_its_path_and_format_from_anywhere() {
    let h = |path: Vec<&'static str>, format| Command::Help(HelpRequest::path(path, format));
    assert_eq!(
        cmd("--help auth login"),
        h(vec!["auth", "login"], Format::Text)
    );
    assert_eq!(cmd("--help -o json"), h(vec![], Format::Json));
    assert_eq!(
        cmd("auth login --help --output=yaml"),
        h(vec!["auth", "login"], Format::Yaml)
    );
    assert_eq!(
        cmd("auth login -h --json"),
        h(vec!["auth", "login"], Format::Json)
    );
    assert_eq!(cmd("auth -o json -h"), h(vec!["auth"], Format::Json));
    assert_eq!(cmd("help -o json auth"), h(vec!["auth"], Format::Json));
    assert_eq!(
        cmd("help agent"),
        Command::Help(HelpRequest {
            path: vec![],
            topic: Some("agent"),
            format: Format::Text
        })
    );
    assert_eq!(cmd("--help agent"), cmd("help agent"));
    assert!(
        err("--help nope")
            .message
            .starts_with("unknown help topic: nope")
    );
}

#[test]
fn verbose_may_come_before_the_command() {
    let inv = p("-v auth list");
    assert!(inv.verbose);
    assert_eq!(
        inv.command,
        Ok(Command::List {
            format: Format::Text
        })
    );
    assert!(p("--verbose=true auth whoami").verbose);
    assert!(!p("--verbose=false auth whoami").verbose);
    let e = err("--host x auth status");
    assert_eq!(
        e.message,
        "unknown command: --host x auth status\n\nFlags come after the command: difyctl auth status --host x"
    );
    assert_eq!(
        err("--verison").message,
        "unknown flag: --verison\n\nDid you mean:\n  --version"
    );
}

#[test]
fn the_hidden_completion_entry_point() {
    assert_eq!(
        cmd("__complete auth lo"),
        Command::Complete(vec!["auth".into(), "lo".into()])
    );
    // Not a command of the table: not suggested, not in help.
    assert!(spec::walk().iter().all(|(p, _)| !p.contains(&"__complete")));
}
