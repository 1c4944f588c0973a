//! The flags and positional arguments of one command, read with lexopt into
//! values keyed by the [`Flag`] statics and typed by each flag's [`Kind`].

use std::ffi::OsString;

use lexopt::Arg as Lx;

use super::Format;
use super::flags::{Flag, HELP, JSON, Kind, OUTPUT_DOCUMENT};
use super::spec::Node;
use crate::error::{CliError, ErrorCode, Result};

/// A flag's value as given on the command line. Kinds whose errors the
/// official tool reports later than the parser (a negative retry count, a
/// bad page size, a bad duration) keep their text or number here and are
/// checked by the typed accessors of [`Matches`].
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Switch(bool),
    Text(String),
    Int(i64),
}

/// A length of time given to a [`Kind::Duration`] flag: as typed (trimmed),
/// and in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub secs: i64,
}

/// A [`Kind::Path`] value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `-`
    Stdin,
    File(std::path::PathBuf),
}

/// A word of the command line as lexopt read it, owned.
enum Word {
    Long(String),
    Short(char),
    Value(OsString),
}

/// What the words after the command path say: flag values in command-line
/// order, positionals, whether help was asked for, and the first mistake.
#[derive(Debug)]
pub(super) struct Matches {
    node: &'static Node,
    /// `DIFY_FORMAT`: the output format when no flag names one.
    format_env: Option<OsString>,
    values: Vec<(&'static Flag, Value)>,
    pub positionals: Vec<String>,
    /// `-h`/`--help` came as a flag (not as the value of one, not after `--`).
    pub help: bool,
    /// The first mistake; reported unless help was asked for.
    pub error: Option<CliError>,
    /// Which flags the command asked for: a test checks it asks for all.
    #[cfg(test)]
    pub read: std::cell::RefCell<Vec<&'static Flag>>,
}

impl Matches {
    /// Reads every remaining word. A mistake does not stop the reading, so
    /// that a `--help` after it still wins.
    pub fn read(
        node: &'static Node,
        parser: &mut lexopt::Parser,
        format_env: Option<OsString>,
    ) -> Matches {
        let mut m = Matches {
            node,
            format_env,
            values: Vec::new(),
            positionals: Vec::new(),
            help: false,
            error: None,
            #[cfg(test)]
            read: Default::default(),
        };
        loop {
            match parser.next() {
                Ok(None) => break,
                Ok(Some(arg)) => {
                    let arg = match arg {
                        Lx::Long(name) => Word::Long(name.to_string()),
                        Lx::Short(c) => Word::Short(c),
                        Lx::Value(v) => Word::Value(v),
                    };
                    if let Err(e) = m.take(arg, parser) {
                        m.error.get_or_insert(e);
                    }
                }
                Err(e) => {
                    m.error.get_or_insert(lexopt_error(e));
                }
            }
        }
        if m.error.is_none() {
            m.error = m.check().err();
        }
        m
    }

    fn take(&mut self, arg: Word, parser: &mut lexopt::Parser) -> Result<()> {
        let (flag, shown) = match arg {
            Word::Value(v) => {
                self.positionals.push(utf8(v)?);
                return Ok(());
            }
            Word::Long(name) => {
                let shown = format!("--{name}");
                match self.node.flag_long(&name) {
                    Some(flag) => (flag, shown),
                    None => {
                        let _ = parser.optional_value();
                        return Err(super::suggest::unknown_flag(&shown, self.node));
                    }
                }
            }
            Word::Short(c) => match self.node.flag_short(c) {
                Some(flag) => (flag, format!("--{}", flag.long)),
                None => {
                    let _ = parser.optional_value();
                    return Err(super::suggest::unknown_flag(&format!("-{c}"), self.node));
                }
            },
        };
        let value = if flag.takes_value() {
            let raw = match parser.optional_value() {
                Some(v) => utf8(v)?,
                None => next_value(parser)
                    .ok_or_else(|| CliError::parse(format!("flag {shown} expects a value")))??,
            };
            match flag.kind {
                Kind::Integer | Kind::Retries => Value::Int(
                    raw.parse()
                        .map_err(|_| CliError::parse(format!("expected integer, got \"{raw}\"")))?,
                ),
                _ => Value::Text(raw),
            }
        } else {
            Value::Switch(switch_value(parser, &shown)?)
        };
        if std::ptr::eq(flag, &HELP) {
            self.help |= value == Value::Switch(true);
        }
        self.values.push((flag, value));
        Ok(())
    }

    /// After reading: enumerated values (only the one that wins), and the
    /// number of positionals.
    fn check(&self) -> Result<()> {
        for flag in self.node.accepted_flags() {
            let (Kind::Enum(choices) | Kind::Format(choices)) = flag.kind else {
                continue;
            };
            if let Some(Value::Text(v)) = self.last(flag)
                && !choices.contains(&v.as_str())
            {
                return Err(CliError::new(
                    ErrorCode::IllegalArgument,
                    format!("illegal value {v} for flag {}", flag.names()),
                )
                .with_hint(format!("supported value: {}", choices.join(", "))));
            }
        }
        let args = self.node.args;
        let variadic = args.last().is_some_and(|a| a.variadic());
        if self.positionals.len() > args.len() && !variadic {
            return Err(CliError::parse(format!(
                "unexpected argument \"{}\"",
                self.positionals[args.len()]
            )));
        }
        for (i, a) in args.iter().enumerate() {
            match self.positionals.get(i) {
                None if a.required => {
                    return Err(CliError::parse(format!(
                        "missing required argument: {}\n\nUsage: {}",
                        a.name,
                        super::help::usage(self.node)
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
        Ok(())
    }

    /// Are errors to be JSON? When the output is (`--json`, `-o json`,
    /// `DIFY_FORMAT=json`), as the values that win say.
    pub fn json_errors(&self) -> bool {
        self.resolve_format() == Ok(Format::Json)
    }

    /// The output format: the last of `-o`/`--output` and `--json` given,
    /// else `DIFY_FORMAT` (a format this command does not have shows its
    /// default view; a word that is no format is a usage error), else the
    /// default view.
    pub fn format(&self) -> Result<Format> {
        for flag in self.format_flags() {
            self.asked(flag, |k| k == Kind::Switch || matches!(k, Kind::Format(_)));
        }
        self.resolve_format()
    }

    fn format_flags(&self) -> impl Iterator<Item = &'static Flag> + '_ {
        self.node
            .accepted_flags()
            .filter(|f| std::ptr::eq(*f, &JSON) || matches!(f.kind, Kind::Format(_)))
    }

    fn resolve_format(&self) -> Result<Format> {
        // In order: `-o X` sets X, `--json` JSON, and `--json=false` undoes JSON.
        let given = self
            .values
            .iter()
            .fold(None, |format, (flag, value)| match value {
                Value::Switch(on) if std::ptr::eq(*flag, &JSON) => {
                    if *on {
                        Some(Format::Json)
                    } else {
                        format.filter(|f| *f != Format::Json)
                    }
                }
                Value::Text(v) if matches!(flag.kind, Kind::Format(_)) => Format::named(v),
                _ => format,
            });
        if let Some(format) = given {
            return Ok(format);
        }
        let Some(raw) = &self.format_env else {
            return Ok(Format::Text);
        };
        if self.format_flags().next().is_none() {
            // Not a command that prints data.
            return Ok(Format::Text);
        }
        let raw = raw.to_str().ok_or_else(|| {
            CliError::usage_invalid("DIFY_FORMAT is not valid UTF-8")
                .with_hint("set DIFY_FORMAT to json, yaml, name or table, or unset it")
        })?;
        let supported = |name: &str| {
            name == "json" && self.node.accepts(&JSON)
                || self.format_flags().any(|f| f.choices().contains(&name))
        };
        match raw.trim() {
            "" => Ok(Format::Text),
            v if supported(v) => Ok(Format::named(v).unwrap_or(Format::Text)),
            v if Format::named(v).is_some() || matches!(v, "table" | "wide") => Ok(Format::Text),
            v => Err(CliError::usage_invalid(format!(
                "DIFY_FORMAT: \"{}\" is not an output format",
                crate::output::term::sanitize_line(v)
            ))
            .with_hint("set DIFY_FORMAT to json, yaml, name or table, or unset it")),
        }
    }

    /// The value that wins (the last one given).
    fn last(&self, flag: &'static Flag) -> Option<&Value> {
        self.values
            .iter()
            .rev()
            .find(|(f, _)| std::ptr::eq(*f, flag))
            .map(|(_, v)| v)
    }

    /// A command asks for `flag`, of kind `kind`: it must be one the command
    /// takes (tests check every command asks for every flag it takes).
    fn asked(&self, flag: &'static Flag, kind: fn(Kind) -> bool) {
        debug_assert!(
            self.node.accepts(flag) && kind(flag.kind),
            "--{} ({:?}) asked for by '{}', which does not take it so",
            flag.long,
            flag.kind,
            self.node.name
        );
        #[cfg(test)]
        self.read.borrow_mut().push(flag);
    }

    pub fn switch(&self, flag: &'static Flag) -> bool {
        self.asked(flag, |k| k == Kind::Switch);
        self.last(flag) == Some(&Value::Switch(true))
    }

    pub fn text(&self, flag: &'static Flag) -> Option<String> {
        self.asked(flag, |k| k == Kind::Text);
        self.last_text(flag)
    }

    /// Every value of a repeatable flag, in order.
    pub fn texts(&self, flag: &'static Flag) -> Vec<String> {
        self.asked(flag, |k| k == Kind::Text);
        self.values
            .iter()
            .filter(|(f, _)| std::ptr::eq(*f, flag))
            .filter_map(|(_, v)| match v {
                Value::Text(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn int(&self, flag: &'static Flag) -> Option<i64> {
        self.asked(flag, |k| k == Kind::Integer);
        match self.last(flag) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// A [`Kind::Retries`] value; negative is a usage error.
    pub fn retries(&self, flag: &'static Flag) -> Result<Option<u32>> {
        self.asked(flag, |k| k == Kind::Retries);
        match self.last(flag) {
            Some(Value::Int(n)) => u32::try_from(*n).map(Some).map_err(|_| {
                CliError::usage_invalid(format!(
                    "--{}: {n} is not a non-negative integer",
                    flag.long
                ))
            }),
            _ => Ok(None),
        }
    }

    /// A [`Kind::PageSize`] value, or the error for the command to report.
    pub fn page_size(&self, flag: &'static Flag) -> Option<Result<u32>> {
        self.asked(flag, |k| k == Kind::PageSize);
        let raw = self.last_text(flag)?;
        Some(page_size(&format!("--{}", flag.long), &raw))
    }

    /// A [`Kind::Enum`] value (checked against its choices already).
    pub fn choice(&self, flag: &'static Flag) -> Option<&'static str> {
        self.asked(flag, |k| matches!(k, Kind::Enum(_)));
        let raw = self.last_text(flag)?;
        flag.choices().iter().copied().find(|c| *c == raw)
    }

    /// A [`Kind::Duration`] value; one that is not a duration is a usage error.
    pub fn duration(&self, flag: &'static Flag) -> Result<Option<Span>> {
        self.asked(flag, |k| k == Kind::Duration);
        let Some(raw) = self.last_text(flag) else {
            return Ok(None);
        };
        match duration_secs(&raw) {
            Some(secs) => Ok(Some(Span {
                text: raw.trim().to_string(),
                secs,
            })),
            None => Err(CliError::usage_invalid(format!(
                "--{}: invalid duration \"{}\"",
                flag.long,
                crate::output::term::sanitize_line(&raw)
            ))
            .with_hint(DURATION_HINT)),
        }
    }

    pub fn path(&self, flag: &'static Flag) -> Option<Source> {
        self.asked(flag, |k| k == Kind::Path);
        let raw = self.last_text(flag)?;
        Some(if raw == "-" {
            Source::Stdin
        } else {
            Source::File(raw.into())
        })
    }

    /// Does the command take `flag` at all (flags some commands share)?
    pub fn node_accepts(&self, flag: &Flag) -> bool {
        self.node.accepts(flag)
    }

    pub fn positional(&self, i: usize) -> Option<String> {
        self.positionals.get(i).cloned()
    }

    fn last_text(&self, flag: &'static Flag) -> Option<String> {
        match self.last(flag) {
            Some(Value::Text(t)) => Some(t.clone()),
            _ => None,
        }
    }
}

const DURATION_HINT: &str = "a number and a unit (s, m, h or d), such as 90s, 30m, 12h or 2d; \
     units can be combined largest first, such as 1d12h";

/// One or more `<number><unit>` with the units `d`, `h`, `m`, `s`, largest
/// first and each at most once (`2d`, `12h`, `30m`, `90s`, `1d12h`): the
/// seconds, or `None` when it is not such a duration.
fn duration_secs(raw: &str) -> Option<i64> {
    const UNITS: [(char, i64); 4] = [('d', 86_400), ('h', 3600), ('m', 60), ('s', 1)];
    let mut rest = raw.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: i64 = rest.get(..digits)?.parse().ok()?;
        let unit = rest[digits..].chars().next()?;
        let index = UNITS.iter().position(|(u, _)| *u == unit)?;
        if index < next_unit {
            return None;
        }
        next_unit = index + 1;
        total = total.checked_add(n.checked_mul(UNITS[index].1)?)?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    Some(total)
}

/// The most a page may hold.
pub const MAX_PAGE_SIZE: u32 = 200;

/// A page size from `source` (`--limit`, `DIFY_LIMIT`), by the official
/// rules: an integer (`^-?\d+$`) from 1 to 200; errors name the source.
pub fn page_size(source: &str, raw: &str) -> Result<u32> {
    let out_of_range = |value: &str| {
        CliError::usage_invalid(format!(
            "{source}: {value} out of range [1..{MAX_PAGE_SIZE}]"
        ))
    };
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CliError::usage_invalid(format!(
            "{source}: \"{raw}\" is not a number"
        )));
    }
    match raw.parse::<i64>() {
        Ok(n) if (1..=i64::from(MAX_PAGE_SIZE)).contains(&n) => Ok(n as u32),
        Ok(n) => Err(out_of_range(&n.to_string())),
        // More digits than an i64 holds: out of range either way.
        Err(_) => Err(out_of_range(raw)),
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

pub(super) fn utf8(v: OsString) -> Result<String> {
    v.into_string().map_err(|v| {
        CliError::parse(format!(
            "argument is not valid UTF-8: {}",
            v.to_string_lossy()
        ))
    })
}

/// A switch's optional `=value`: `true`/`1` or `false`/`0`; none means on.
pub(super) fn switch_value(parser: &mut lexopt::Parser, shown: &str) -> Result<bool> {
    match parser.optional_value() {
        None => Ok(true),
        Some(v) => match utf8(v)?.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(CliError::parse(format!(
                "invalid boolean value \"{other}\" for flag {shown}"
            ))),
        },
    }
}

/// Is `-h`/`--help` among the flags of `words` (not a flag's value, not
/// after `--`)?
pub(super) fn asks_help(words: &[String]) -> bool {
    let mut parser = lexopt::Parser::from_args(words);
    while let Ok(Some(arg)) = parser.next() {
        match arg {
            Lx::Long(name) if name == HELP.long => {
                return switch_value(&mut parser, "--help") == Ok(true);
            }
            Lx::Short(c) if Some(c) == HELP.short => return true,
            Lx::Value(_) => {}
            _ => {
                let _ = parser.optional_value();
            }
        }
    }
    false
}

/// The format of the help asked for with `--help` anywhere: `-o json`,
/// `-o yaml` or `--json` among the flags (whatever the command's own flags
/// are), else text. Nothing else on the line matters once help is asked for.
pub(super) fn help_format(words: &[String]) -> Format {
    let mut parser = lexopt::Parser::from_args(words);
    let mut format = Format::Text;
    while let Ok(Some(arg)) = parser.next() {
        let flag = match arg {
            Lx::Long(name) if name == OUTPUT_DOCUMENT.long || name == JSON.long => {
                name == JSON.long
            }
            Lx::Short(c) if Some(c) == OUTPUT_DOCUMENT.short => false,
            Lx::Value(_) => continue,
            _ => {
                let _ = parser.optional_value();
                continue;
            }
        };
        if flag {
            if switch_value(&mut parser, "--json") == Ok(true) {
                format = Format::Json;
            }
            continue;
        }
        let value = match parser.optional_value() {
            Some(v) => Some(v.to_string_lossy().into_owned()),
            None => next_value(&mut parser).and_then(Result::ok),
        };
        format = match value.as_deref().and_then(Format::named) {
            Some(f @ (Format::Json | Format::Yaml)) => f,
            _ => Format::Text,
        };
    }
    format
}

pub(super) fn lexopt_error(e: lexopt::Error) -> CliError {
    CliError::parse(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (raw, secs) in [
            ("90s", 90),
            ("30m", 1800),
            ("12h", 43_200),
            ("2d", 172_800),
            ("1d12h", 129_600),
            ("1h30m", 5400),
            ("1d2h3m4s", 93_784),
            ("0s", 0),
            (" 2d ", 172_800),
            ("007m", 420),
        ] {
            assert_eq!(duration_secs(raw), Some(secs), "{raw:?}");
        }
        for bad in [
            "",
            " ",
            "2",
            "d",
            "2x",
            "2D",
            "-2d",
            "+2d",
            "2.5h",
            "2 d",
            "1h1d",
            "1d1d",
            "2d ago",
            "1h 30m",
            "2ｄ",
            "２d",
            "99999999999999999999s",
            "9999999999999999d",
        ] {
            assert_eq!(duration_secs(bad), None, "{bad:?}");
        }
    }
}
