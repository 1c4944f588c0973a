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
pub mod describe;
pub mod flags;
pub mod help;
mod parse;
pub mod spec;
mod suggest;
pub mod topics;

use std::ffi::OsString;

use lexopt::Arg as Lx;

pub use command::{
    ApiArgs, Command, Finish, Format, HelpRequest, LoginArgs, LoginMethod, Selection, Shell,
    VersionArgs,
};
pub use parse::{MAX_PAGE_SIZE, Source, Span, page_size};

use crate::env::Env;
use crate::error::Result;
use crate::output::ErrorStyle;
use parse::{Matches, help_format, lexopt_error};
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

/// Parse the arguments after the program name. From `env` the parser reads
/// `DIFY_FORMAT`.
pub fn parse(args: Vec<OsString>, env: &Env) -> Invocation {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if let Some((first, rest)) = words.split_first()
        && first == complete::ENTRY
    {
        return Invocation::plain(Ok(Command::Complete(rest.to_vec())));
    }
    let mut parser = lexopt::Parser::from_args(args);
    let mut node: &'static Node = &ROOT;
    let mut path: Vec<&'static str> = Vec::new();
    let mut verbose = false;
    let mut help = false;

    // The command path: words until a command (leaf) is reached. A group
    // takes only its own flags (help, and the root's --version); -v/--verbose
    // may come before the command too.
    while node.is_group() {
        let arg = match parser.next() {
            Err(e) => return Invocation::plain(Err(lexopt_error(e))),
            Ok(None) => break,
            Ok(Some(arg)) => arg,
        };
        let (flag, shown) = match arg {
            Lx::Long(name) => (
                node.flag_long(name).or(global(name, None)),
                format!("--{name}"),
            ),
            Lx::Short(c) => (node.flag_short(c).or(global("", Some(c))), format!("-{c}")),
            Lx::Value(word) => {
                let word = word.to_string_lossy();
                if let Some(child) = node.child(&word) {
                    path.push(child.name);
                    node = child;
                    continue;
                }
                let mut typed: Vec<String> = path.iter().map(|s| s.to_string()).collect();
                typed.push(word.into_owned());
                typed.extend(rest_of(&mut parser));
                return Invocation::plain(if help {
                    command::help_topic(&typed, help_format(&words))
                } else {
                    Err(suggest::unknown(
                        "unknown command",
                        &words.join(" "),
                        &typed.join(" "),
                    ))
                });
            }
        };
        match flag {
            Some(f) if std::ptr::eq(f, &flags::VERBOSE) => {
                match parse::switch_value(&mut parser, &shown) {
                    Ok(on) => verbose = on,
                    Err(e) => return Invocation::plain(Err(e)),
                }
            }
            Some(f) if std::ptr::eq(f, &flags::HELP) => help = true,
            Some(f) if std::ptr::eq(f, &flags::VERSION) && !help => {
                return Invocation::plain(Ok(Command::VersionLine));
            }
            _ if help || parse::asks_help(&words) => {
                help = true;
                break;
            }
            _ => return Invocation::plain(Err(suggest::misplaced(&shown, &words, node))),
        }
    }
    if node.is_group() {
        return Invocation {
            verbose,
            ..Invocation::plain(Ok(Command::Help(HelpRequest::path(
                path,
                help_format(&words),
            ))))
        };
    }

    let format_env = env.os("DIFY_FORMAT").map(OsString::from);
    let m = Matches::read(node, &mut parser, format_env);
    let verbose = verbose || m.switch(&flags::VERBOSE);
    let json_errors = m.json_errors();
    let command = if help || m.help {
        Ok(Command::Help(HelpRequest::path(path, help_format(&words))))
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

/// A global flag given before the command (only -v/--verbose).
fn global(long: &str, short: Option<char>) -> Option<&'static flags::Flag> {
    let v = &flags::VERBOSE;
    (v.long == long || (short.is_some() && v.short == short)).then_some(v)
}

/// The words lexopt has not read yet (after an unknown command word).
fn rest_of(parser: &mut lexopt::Parser) -> Vec<String> {
    let mut rest = Vec::new();
    while let Ok(Some(arg)) = parser.next() {
        match arg {
            Lx::Value(v) => rest.push(v.to_string_lossy().into_owned()),
            // Flags end the words of a help topic.
            _ => break,
        }
    }
    rest
}

#[cfg(test)]
mod tests;
