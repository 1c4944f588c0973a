//! Error messages for store files: the official wording, the position, and
//! an excerpt of the file around it (masked for files holding secrets).

use std::path::Path;

use crate::error::CliError;

/// The reason without serde_norway's own ` at line L column C` suffix.
fn reason(err: &serde_yaml::Error) -> (String, Option<(usize, usize)>) {
    let text = err.to_string();
    match err.location() {
        Some(loc) => {
            let suffix = format!(" at line {} column {}", loc.line(), loc.column());
            let reason = match text.find(&suffix) {
                Some(i) => format!("{}{}", &text[..i], &text[i + suffix.len()..]),
                None => text,
            };
            // libyaml's "<problem>, while parsing <context> at …" reads better with
            // the context set apart from the position we append.
            let reason = match reason.split_once(", while ") {
                Some((problem, context)) => format!("{problem} (while {context})"),
                None => reason,
            };
            (reason, Some((loc.line(), loc.column())))
        }
        None => (text, None),
    }
}

/// What is wrong with a store file: its YAML, or what the YAML holds.
#[derive(Clone, Copy)]
pub(super) enum Problem {
    Syntax,
    Content,
}

/// The error for a problem at `at` (1-based line and column, when known),
/// with an excerpt of `text` around it.
pub(super) fn problem(
    kind: Problem,
    path: &Path,
    text: &str,
    reason: impl std::fmt::Display,
    at: Option<(usize, usize)>,
    secret: bool,
) -> CliError {
    let path = path.display();
    let (header, hint) = match kind {
        Problem::Syntax => (
            format!("Failed to parse YAML file {path}: {reason}"),
            format!("Fix the YAML syntax in {path} or remove the file to reset it."),
        ),
        Problem::Content => (
            format!("Invalid content in {path}: {reason}"),
            format!("Fix {path} by hand or remove the file to reset it."),
        ),
    };
    CliError::client(located(header, text, at, secret)).with_hint(hint)
}

/// [`problem`] for an error of serde_norway, at the position it names.
pub(super) fn serde_problem(
    kind: Problem,
    path: &Path,
    text: &str,
    err: &serde_yaml::Error,
    secret: bool,
) -> CliError {
    let (reason, at) = reason(err);
    problem(kind, path, text, reason, at, secret)
}

/// A schema problem found after parsing, where no position is known.
pub(crate) fn invalid(path: &Path, what: impl std::fmt::Display) -> CliError {
    problem(
        Problem::Content,
        path,
        "",
        format_args!("{what}"),
        None,
        false,
    )
}

fn located(header: String, text: &str, at: Option<(usize, usize)>, secret: bool) -> String {
    let Some((line, column)) = at else {
        return format!("{header}.");
    };
    let header = format!("{header} at line {line}, column {column}.");
    match excerpt(
        text,
        line.saturating_sub(1),
        column.saturating_sub(1),
        secret,
    ) {
        Some(body) => format!("{header}\n\n{body}"),
        None => header,
    }
}

/// Two lines before the bad one, the line with a `>` marker and a caret under
/// the column, then up to two lines after (all 0-based in, 1-based shown).
fn excerpt(text: &str, target: usize, column: usize, secret: bool) -> Option<String> {
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    // The "line" after the final newline is shown only when the error is there.
    if lines.len() > target + 1 && lines.last() == Some(&"") {
        lines.pop();
    }
    if target >= lines.len() {
        return None;
    }
    let start = target.saturating_sub(2);
    let end = (target + 3).min(lines.len());
    let width = end.to_string().len();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate().take(end).skip(start) {
        let marker = if i == target { '>' } else { ' ' };
        let shown = if secret {
            mask(line)
        } else {
            (*line).to_owned()
        };
        let focus = if i == target { column } else { 0 };
        let (shown, caret) = window(&shown, focus);
        out.push(format!("{marker} {:>width$} | {shown}", i + 1));
        if i == target {
            out.push(format!("{}^", " ".repeat(width + 5 + caret)));
        }
    }
    Some(out.join("\n"))
}

/// The most characters of one line an excerpt shows.
const EXCERPT_WIDTH: usize = 100;

/// At most [`EXCERPT_WIDTH`] characters of `line` around character `column`,
/// with `…` where text was left out, and where `column` now is: a file of one
/// huge line must not become a huge message.
fn window(line: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= EXCERPT_WIDTH {
        return (line.to_owned(), column);
    }
    let start = column
        .saturating_sub(EXCERPT_WIDTH / 2)
        .min(chars.len() - EXCERPT_WIDTH);
    let end = start + EXCERPT_WIDTH;
    let mut shown: String = if start > 0 {
        "…".into()
    } else {
        String::new()
    };
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    (shown, column - start + usize::from(start > 0))
}

/// Hides values (tokens) while keeping keys and columns: everything after the
/// first `: `, or the whole line when it is not a `key:` line.
fn mask(line: &str) -> String {
    let star = |s: &str| {
        s.chars()
            .map(|c| if c.is_whitespace() { c } else { '*' })
            .collect::<String>()
    };
    if let Some(i) = line.find(": ") {
        format!("{}{}", &line[..i + 2], star(&line[i + 2..]))
    } else if line.trim_end().ends_with(':') || line.trim_start().starts_with('#') {
        line.to_owned()
    } else {
        star(line)
    }
}
