//! Argument parsing: argv → one typed [`Command`].
//!
//! Table-driven (see [`spec`]) on top of lexopt: the command path first, then
//! the flags of that command. Parser mistakes (unknown command or flag, a flag
//! missing its value) are plain-text errors with exit 1; a bad value for a known
//! enumerated flag is `illegal_argument`, exit 2 (PROTOCOL.md §3).

pub mod help;
pub mod spec;

use std::ffi::OsString;

use lexopt::Arg as Lx;

use crate::error::{CliError, ErrorCode, Result};
use spec::{Flag, Node, ROOT};

/// A parsed invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub command: Command,
    pub verbose: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Help for the command at this path (empty = top level).
    Help(Vec<&'static str>),
    /// `version`.
    Version(VersionArgs),
    /// `--version`: one line.
    VersionLine,
    Login(LoginArgs),
    Logout {
        select: Selection,
    },
    Whoami {
        json: bool,
    },
    List {
        format: ListFormat,
    },
    Status {
        json: bool,
        select: Selection,
    },
    Token {
        select: Selection,
    },
    Refresh {
        if_expiring_within: Option<String>,
        login: LoginArgs,
        select: Selection,
    },
    DevicesList {
        json: bool,
        page: Option<i64>,
        limit: Option<String>,
        http_retry: Option<u32>,
        select: Selection,
    },
    DevicesRevoke {
        target: Option<String>,
        all: bool,
        yes: bool,
        http_retry: Option<u32>,
        select: Selection,
    },
    UseHost {
        domain: Option<String>,
    },
    UseAccount {
        email: Option<String>,
    },
    UseWorkspace {
        id: Option<String>,
        http_retry: Option<u32>,
        select: Selection,
    },
    EnvList {
        json: bool,
    },
    Api(ApiArgs),
    Completion {
        shell: String,
    },
}

/// `--host DOMAIN` / `--account EMAIL` of the commands that use a context:
/// which stored context to use for this invocation (see
/// `commands::session::Session::resolve` for the whole order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub host: Option<String>,
    pub account: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoginArgs {
    pub host: Option<String>,
    pub no_browser: bool,
    pub insecure: bool,
    pub method: LoginMethod,
    pub email: Option<String>,
    pub password_stdin: bool,
    pub token_storage: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LoginMethod {
    #[default]
    DeviceFlow,
    WithToken,
    Password,
    EmailCode,
    ConsoleCookie,
}

/// `version [-o text|json|yaml] [--client] [--short] [--check-compat]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VersionArgs {
    pub format: VersionFormat,
    /// Report the client only; no request.
    pub client: bool,
    /// The client version alone.
    pub short: bool,
    /// Exit 64 unless the server is compatible.
    pub check_compat: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VersionFormat {
    #[default]
    Text,
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListFormat {
    #[default]
    Table,
    Json,
    Yaml,
    Name,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiArgs {
    pub path: String,
    pub method: Option<String>,
    pub headers: Vec<String>,
    pub input: Option<String>,
    pub include: bool,
    pub http_retry: Option<u32>,
    pub select: Selection,
}

/// Does argv ask for JSON errors? Decided from the raw words, before parsing,
/// so that even errors found while parsing values honour it.
pub fn wants_json_errors(args: &[OsString]) -> bool {
    let words: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    words.iter().enumerate().any(|(i, w)| {
        matches!(
            *w,
            "--json" | "--json=true" | "--json=1" | "-o=json" | "-ojson" | "--output=json"
        ) || (matches!(*w, "-o" | "--output") && words.get(i + 1) == Some(&"json"))
    })
}

/// Parse the arguments after the program name.
pub fn parse(args: Vec<OsString>) -> Result<Invocation> {
    let joined = args
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let help_anywhere = args.iter().any(|a| a == "--help" || a == "-h");
    let mut parser = lexopt::Parser::from_args(args);
    let mut node: &'static Node = &ROOT;
    let mut path: Vec<&'static str> = Vec::new();

    // The command path: words until a command (leaf) is reached.
    while node.is_group() {
        let Some(arg) = parser.next().map_err(lexopt_error)? else {
            return Ok(help(path));
        };
        match arg {
            Lx::Long("help") | Lx::Short('h') => return Ok(help(path)),
            Lx::Long("version") if path.is_empty() => return Ok(plain(Command::VersionLine)),
            Lx::Value(word) => {
                let word = word.to_string_lossy();
                match node.child(&word) {
                    Some(child) => {
                        path.push(child.name);
                        node = child;
                    }
                    None => {
                        let mut typed: Vec<&str> = path.clone();
                        typed.push(&word);
                        return Err(unknown("unknown command", &joined, &typed.join(" ")));
                    }
                }
            }
            // Flags must come after the command path (`difyctl -o json auth list`).
            _ => return Err(unknown("unknown command", &joined, "")),
        }
    }
    if help_anywhere {
        return Ok(help(path));
    }

    let m = Matches::parse(node, &mut parser)?;
    let verbose = m.switch("verbose");
    let command = build(&path, node, &m)?;
    Ok(Invocation { command, verbose })
}

fn plain(command: Command) -> Invocation {
    Invocation {
        command,
        verbose: false,
    }
}

fn help(path: Vec<&'static str>) -> Invocation {
    plain(Command::Help(path))
}

/// `unknown command: …` / `unknown help topic: …` with "Did you mean" lines.
fn unknown(what: &str, shown: &str, typed: &str) -> CliError {
    let mut message = format!("{what}: {shown}");
    let suggestions = suggest(typed);
    if !suggestions.is_empty() {
        message.push_str("\n\nDid you mean:");
        for s in suggestions {
            message.push_str("\n  ");
            message.push_str(&s);
        }
    }
    CliError::parse(message)
}

/// Up to five command paths close to what was typed.
fn suggest(typed: &str) -> Vec<String> {
    if typed.is_empty() {
        return Vec::new();
    }
    let mut all = Vec::new();
    fn walk(node: &'static Node, prefix: &str, out: &mut Vec<String>) {
        for c in node.children {
            let p = if prefix.is_empty() {
                c.name.to_string()
            } else {
                format!("{prefix} {}", c.name)
            };
            out.push(p.clone());
            walk(c, &p, out);
        }
    }
    walk(&ROOT, "", &mut all);
    let last = typed.rsplit(' ').next().unwrap_or(typed);
    let mut scored: Vec<(usize, String)> = all
        .into_iter()
        .filter_map(|cand| {
            let d = distance(typed, &cand);
            let cand_last = cand.rsplit(' ').next().unwrap_or(&cand);
            let same_depth = cand.matches(' ').count() == typed.matches(' ').count();
            let close = d <= 2.max(typed.len() / 4);
            let prefix = same_depth && last.len() >= 2 && cand_last.starts_with(last);
            (close || prefix).then_some((d, cand))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, s)| s).collect()
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Flag values and positionals of one command, in command-line order.
#[derive(Debug, Default)]
struct Matches {
    values: Vec<(&'static str, String)>,
    positionals: Vec<String>,
}

impl Matches {
    fn parse(node: &'static Node, parser: &mut lexopt::Parser) -> Result<Matches> {
        let mut m = Matches::default();
        while let Some(arg) = parser.next().map_err(lexopt_error)? {
            let (flag, shown): (&Flag, String) = match arg {
                Lx::Long(name) => {
                    let shown = format!("--{name}");
                    (
                        node.flag_long(name).ok_or_else(|| unknown_flag(&shown))?,
                        shown,
                    )
                }
                Lx::Short(c) => {
                    let shown = format!("-{c}");
                    (
                        node.flag_short(c).ok_or_else(|| unknown_flag(&shown))?,
                        format!("--{}", node.flag_short(c).map_or("", |f| f.long)),
                    )
                }
                Lx::Value(v) => {
                    m.positionals.push(utf8(v)?);
                    continue;
                }
            };
            let value = if flag.value.is_some() {
                match parser.optional_value() {
                    Some(v) => utf8(v)?,
                    None => next_value(parser).ok_or_else(|| {
                        CliError::parse(format!("flag {shown} expects a value"))
                    })??,
                }
            } else {
                match parser.optional_value() {
                    None => "true".to_string(),
                    Some(v) => match utf8(v)?.as_str() {
                        "true" | "1" => "true".to_string(),
                        "false" | "0" => "false".to_string(),
                        other => {
                            return Err(CliError::parse(format!(
                                "invalid boolean value \"{other}\" for flag {shown}"
                            )));
                        }
                    },
                }
            };
            if flag.integer && value.parse::<i64>().is_err() {
                return Err(CliError::parse(format!(
                    "expected integer, got \"{value}\""
                )));
            }
            m.values.push((flag.long, value));
        }

        // Enumerated flags: only the value that wins is checked.
        for flag in node.flags.iter().filter(|f| !f.choices.is_empty()) {
            if let Some(value) = m
                .value(flag.long)
                .filter(|v| !flag.choices.contains(&v.as_str()))
            {
                let names = match flag.short {
                    Some(c) => format!("--{} / -{c}", flag.long),
                    None => format!("--{}", flag.long),
                };
                return Err(CliError::new(
                    ErrorCode::IllegalArgument,
                    format!("illegal value {value} for flag {names}"),
                )
                .with_hint(format!("supported value: {}", flag.choices.join(", "))));
            }
        }

        let variadic = node.args.last().is_some_and(|a| a.name.ends_with("..."));
        if m.positionals.len() > node.args.len() && !variadic {
            return Err(CliError::parse(format!(
                "unexpected argument \"{}\"",
                m.positionals[node.args.len()]
            )));
        }
        for (i, a) in node.args.iter().enumerate() {
            match m.positionals.get(i) {
                None if a.required => {
                    return Err(CliError::parse(format!(
                        "missing required argument: {}",
                        a.name
                    )));
                }
                Some(v) if !a.choices.is_empty() && !a.choices.contains(&v.as_str()) => {
                    return Err(CliError::new(
                        ErrorCode::IllegalArgument,
                        format!("illegal value {v} for argument {}", a.name),
                    )
                    .with_hint(format!("supported value: {}", a.choices.join(", "))));
                }
                _ => {}
            }
        }
        Ok(m)
    }

    /// The last value given for a flag (last one wins).
    fn value(&self, long: &str) -> Option<String> {
        self.values
            .iter()
            .rev()
            .find(|(l, _)| *l == long)
            .map(|(_, v)| v.clone())
    }

    fn all(&self, long: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|(l, _)| *l == long)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn switch(&self, long: &str) -> bool {
        self.value(long).is_some_and(|v| v == "true")
    }

    fn int(&self, long: &str) -> Option<i64> {
        self.value(long).and_then(|v| v.parse().ok())
    }

    fn retry(&self) -> Result<Option<u32>> {
        match self.int("http-retry") {
            None => Ok(None),
            Some(n) => u32::try_from(n).map(Some).map_err(|_| {
                CliError::usage_invalid(format!("--http-retry: {n} is not a non-negative integer"))
            }),
        }
    }

    fn positional(&self, i: usize) -> Option<String> {
        self.positionals.get(i).cloned()
    }

    fn selection(&self) -> Selection {
        Selection {
            host: self.value("host"),
            account: self.value("account"),
        }
    }
}

/// The next raw word as a flag value, unless it looks like a flag. `-` alone
/// is a value (stdin).
fn next_value(parser: &mut lexopt::Parser) -> Option<Result<String>> {
    let mut raw = parser.try_raw_args()?;
    let next = raw.peek()?;
    if next
        .to_str()
        .is_some_and(|s| s.starts_with('-') && s != "-")
    {
        return None;
    }
    raw.next().map(utf8)
}

fn utf8(v: OsString) -> Result<String> {
    v.into_string().map_err(|v| {
        CliError::parse(format!(
            "argument is not valid UTF-8: {}",
            v.to_string_lossy()
        ))
    })
}

fn unknown_flag(shown: &str) -> CliError {
    CliError::parse(format!("unknown flag: {shown}"))
}

fn lexopt_error(e: lexopt::Error) -> CliError {
    CliError::parse(e.to_string())
}

fn login_args(m: &Matches) -> Result<LoginArgs> {
    let methods = [
        ("with-token", LoginMethod::WithToken),
        ("password", LoginMethod::Password),
        ("email-code", LoginMethod::EmailCode),
        ("console-cookie", LoginMethod::ConsoleCookie),
    ];
    let chosen: Vec<_> = methods.iter().filter(|(f, _)| m.switch(f)).collect();
    if chosen.len() > 1 {
        let names: Vec<String> = chosen.iter().map(|(f, _)| format!("--{f}")).collect();
        return Err(CliError::usage_invalid(format!(
            "{} cannot be combined",
            names.join(" and ")
        )));
    }
    Ok(LoginArgs {
        host: m.value("host"),
        no_browser: m.switch("no-browser"),
        insecure: m.switch("insecure"),
        method: chosen
            .first()
            .map_or(LoginMethod::DeviceFlow, |(_, method)| *method),
        email: m.value("email"),
        password_stdin: m.switch("password-stdin"),
        token_storage: m.value("token-storage"),
    })
}

fn build(path: &[&'static str], node: &'static Node, m: &Matches) -> Result<Command> {
    Ok(match path {
        ["auth", "login"] => Command::Login(login_args(m)?),
        ["auth", "logout"] => Command::Logout {
            select: m.selection(),
        },
        ["auth", "whoami"] => Command::Whoami {
            json: m.switch("json"),
        },
        ["auth", "list"] => Command::List {
            format: match m.value("output").as_deref() {
                Some("json") => ListFormat::Json,
                Some("yaml") => ListFormat::Yaml,
                Some("name") => ListFormat::Name,
                _ => ListFormat::Table,
            },
        },
        ["auth", "status"] => Command::Status {
            json: m.switch("json"),
            select: m.selection(),
        },
        ["auth", "token"] => Command::Token {
            select: m.selection(),
        },
        // --host here selects the context; it is not login's host URL.
        ["auth", "refresh"] => Command::Refresh {
            if_expiring_within: m.value("if-expiring-within"),
            login: LoginArgs {
                host: None,
                ..login_args(m)?
            },
            select: m.selection(),
        },
        ["auth", "devices", "list"] => Command::DevicesList {
            json: m.switch("json"),
            page: m.int("page"),
            limit: m.value("limit"),
            http_retry: m.retry()?,
            select: m.selection(),
        },
        ["auth", "devices", "revoke"] => Command::DevicesRevoke {
            target: m.positional(0),
            all: m.switch("all"),
            yes: m.switch("yes"),
            http_retry: m.retry()?,
            select: m.selection(),
        },
        ["use", "host"] => Command::UseHost {
            domain: m.value("domain"),
        },
        ["use", "account"] => Command::UseAccount {
            email: m.value("email"),
        },
        ["use", "workspace"] => Command::UseWorkspace {
            id: m.positional(0),
            http_retry: m.retry()?,
            select: m.selection(),
        },
        ["env", "list"] => Command::EnvList {
            json: m.switch("json"),
        },
        ["api"] => Command::Api(ApiArgs {
            path: m.positional(0).unwrap_or_default(),
            method: m.value("method"),
            headers: m.all("header"),
            input: m.value("input"),
            include: m.switch("include"),
            http_retry: m.retry()?,
            select: m.selection(),
        }),
        ["completion"] => Command::Completion {
            shell: m.positional(0).unwrap_or_default(),
        },
        ["version"] => Command::Version(VersionArgs {
            format: match m.value("output").as_deref() {
                Some("json") => VersionFormat::Json,
                Some("yaml") => VersionFormat::Yaml,
                _ => VersionFormat::Text,
            },
            client: m.switch("client"),
            short: m.switch("short"),
            check_compat: m.switch("check-compat"),
        }),
        ["help"] => return help_topic(&m.positionals),
        _ => unreachable!(
            "command {path:?} ({}) is in the table but not built",
            node.name
        ),
    })
}

/// `difyctl help auth login` → help for that path, or `unknown help topic`.
fn help_topic(words: &[String]) -> Result<Command> {
    let mut node: &'static Node = &ROOT;
    let mut path = Vec::new();
    for word in words {
        match node.child(word) {
            Some(child) => {
                path.push(child.name);
                node = child;
            }
            None => {
                let topic = words.join(" ");
                return Err(unknown("unknown help topic", &topic, &topic));
            }
        }
    }
    Ok(Command::Help(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(words: &str) -> Result<Invocation> {
        parse(words.split_whitespace().map(OsString::from).collect())
    }

    fn cmd(words: &str) -> Command {
        p(words).unwrap().command
    }

    fn err(words: &str) -> CliError {
        p(words).unwrap_err()
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
        assert!(p("auth list -v").unwrap().verbose);
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
                assert_eq!(a.input.as_deref(), Some("-"));
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
        let w = |s: &str| {
            wants_json_errors(&s.split_whitespace().map(OsString::from).collect::<Vec<_>>())
        };
        assert!(w("auth list -o json"));
        assert!(w("auth list -o=json"));
        assert!(w("auth whoami --json"));
        assert!(!w("auth list -o yaml"));
        assert!(!w("auth list"));
    }

    #[test]
    fn every_table_command_builds() {
        for (path, node) in spec::leaves() {
            let mut words: Vec<String> = path.iter().map(|s| s.to_string()).collect();
            for a in node.args.iter().filter(|a| a.required) {
                words.push(a.choices.first().copied().unwrap_or("x").to_string());
            }
            let r = parse(words.iter().map(OsString::from).collect());
            assert!(r.is_ok(), "{path:?}: {r:?}");
        }
    }
}
