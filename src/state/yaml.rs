//! YAML text in and out, compatible with the official tool's files.
//!
//! Output: a port of the parts of js-yaml 4 `dump(data, {lineWidth: -1, noRefs: true})`
//! that our data can reach (block style, 2-space indent, `{}`/`[]` for empty
//! collections, its quoting rules), so a file we write is byte-identical to the
//! one the official `difyctl` writes for the same data.
//!
//! Input: serde_norway, with the official error message for broken syntax.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_yaml::Value;

use crate::output::error::{CliError, Result};

const INDENT: usize = 2;

/// Serializes `value` exactly as js-yaml `dump` would (ends with a newline).
pub fn dump(value: &Value) -> String {
    let mut out = node(value, 0, true);
    out.push('\n');
    out
}

fn newline(level: usize) -> String {
    let mut s = String::with_capacity(1 + INDENT * level);
    s.push('\n');
    s.extend(std::iter::repeat_n(' ', INDENT * level));
    s
}

// `compact` = the first entry goes on the current line (document root, sequence
// items, explicit-key values); otherwise every entry starts on a new line.
fn node(value: &Value, level: usize, compact: bool) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::String(s) => scalar(s, level, false),
        Value::Mapping(m) if m.is_empty() => "{}".to_owned(),
        Value::Mapping(m) => {
            let mut out = String::new();
            for (k, v) in m {
                pair(&mut out, &key_string(k), v, level, compact);
            }
            out
        }
        Value::Sequence(s) if s.is_empty() => "[]".to_owned(),
        Value::Sequence(s) => {
            let mut out = String::new();
            for item in s {
                let dumped = node(item, level + 1, true);
                if !compact || !out.is_empty() {
                    out.push_str(&newline(level));
                }
                out.push_str(if dumped.starts_with('\n') { "-" } else { "- " });
                out.push_str(&dumped);
            }
            out
        }
        // Tags are rejected on load; a programmatic one is written untagged.
        Value::Tagged(t) => node(&t.value, level, compact),
    }
}

/// One `key: value` entry of a block mapping whose keys sit at `level`.
pub(crate) fn pair(out: &mut String, key: &str, value: &Value, level: usize, compact: bool) {
    if !compact || !out.is_empty() {
        out.push_str(&newline(level));
    }
    let key = scalar(key, level + 1, true);
    // js-yaml switches to an explicit `? key` for keys longer than 1024 UTF-16 units.
    let explicit = key.encode_utf16().count() > 1024;
    if explicit {
        out.push_str("? ");
    }
    out.push_str(&key);
    if explicit {
        out.push_str(&newline(level));
    }
    let dumped = node(value, level + 1, explicit);
    out.push_str(if dumped.starts_with('\n') { ":" } else { ": " });
    out.push_str(&dumped);
}

// JS object keys are strings; non-string YAML keys in preserved data become one.
pub(crate) fn key_string(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::Tagged(t) => key_string(&t.value),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim_end()
            .to_owned(),
    }
}

// JS numbers: integral values print without a fraction; js-yaml's special floats.
fn number(n: &serde_yaml::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.is_nan() {
        ".nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.to_owned()
    } else if f == 0.0 && f.is_sign_negative() {
        "-0.0".to_owned()
    } else if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(64) {
        format!("{f:.0}")
    } else if f.fract() == 0.0 || f.abs() < 1e-6 {
        // JS writes 1e21 and up, and below 1e-6, with an exponent; digits
        // beyond what an i64/u64 holds would not read back as a number.
        exponential(f)
    } else {
        f.to_string()
    }
}

/// JS `Number.prototype.toString` with an exponent (`5.5e+37`, `1e-7`), with
/// js-yaml's `.` added to a bare mantissa (`1.e-7`) so YAML reads a float.
fn exponential(f: f64) -> String {
    let s = format!("{f:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let dot = if mantissa.contains('.') { "" } else { "." };
    let sign = if exp.starts_with('-') { "" } else { "+" };
    format!("{mantissa}{dot}e{sign}{exp}")
}

#[derive(PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// A string scalar in js-yaml's style choice (`writeScalar`/`chooseScalarStyle`),
/// with `lineWidth: -1` (never folded) and everything in block context.
pub(crate) fn scalar(s: &str, level: usize, is_key: bool) -> String {
    if s.is_empty() {
        return "''".to_owned();
    }
    if is_deprecated_bool(s) || is_base60(s) {
        return format!("'{s}'");
    }
    match choose_style(s, is_key) {
        // A root key starts its line, where `... ` would end the document:
        // js-yaml writes it plain (and then cannot read the file); we quote it.
        // And a plain scalar js-yaml reads as a string but our reader as a
        // number (`+.5`) is quoted, so the value reads back the same.
        Style::Plain if !(reads_as_non_string(s) || is_key && level == 1 && ends_document(s)) => {
            s.to_owned()
        }
        Style::Plain | Style::Single => format!("'{}'", s.replace('\'', "''")),
        Style::Double => format!("\"{}\"", escape_double(s)),
        Style::Literal => {
            let indent = INDENT * level.max(1);
            let mut out = String::from("|");
            out.push_str(&block_header(s));
            let body = indent_lines(s, indent);
            out.push_str(body.strip_suffix('\n').unwrap_or(&body));
            out
        }
    }
}

fn choose_style(s: &str, single_line_only: bool) -> Style {
    let first = s.chars().next().unwrap_or(' ');
    let last = s.chars().next_back().unwrap_or(' ');
    let mut plain = is_plain_safe_first(first) && is_plain_safe_last(last);
    let mut has_line_break = false;
    let mut prev: Option<char> = None;
    for c in s.chars() {
        if c == '\n' && !single_line_only {
            has_line_break = true;
        } else if !is_printable(c) {
            return Style::Double;
        }
        plain = plain && is_plain_safe(c, prev);
        prev = Some(c);
    }
    if !has_line_break {
        if plain && !is_ambiguous(s) {
            Style::Plain
        } else {
            Style::Single
        }
    } else {
        Style::Literal
    }
}

/// Would serde_norway read this plain scalar as something other than a string?
/// Only number-like text is asked.
fn reads_as_non_string(s: &str) -> bool {
    s.starts_with(|c: char| c == '+' || c.is_ascii_digit())
        && !matches!(serde_yaml::from_str::<Value>(s), Ok(Value::String(_)))
}

/// `...` alone or followed by a blank: the document end marker at a line start.
fn ends_document(s: &str) -> bool {
    s.strip_prefix("...")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

fn is_whitespace(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_printable(c: char) -> bool {
    let c = c as u32;
    (0x20..=0x7E).contains(&c)
        || ((0xA1..=0xD7FF).contains(&c) && c != 0x2028 && c != 0x2029)
        || ((0xE000..=0xFFFD).contains(&c) && c != 0xFEFF)
        || (0x10000..=0x10FFFF).contains(&c)
}

fn is_ns_char_or_whitespace(c: char) -> bool {
    is_printable(c) && c != '\u{FEFF}' && c != '\r' && c != '\n'
}

// js-yaml `isPlainSafe` with `inblock` = true (flow indicators allowed inside).
fn is_plain_safe(c: char, prev: Option<char>) -> bool {
    let prev_ns = prev.is_some_and(|p| is_ns_char_or_whitespace(p) && !is_whitespace(p));
    if c == '#' {
        // ` #` starts a comment; `a#` does not.
        return prev_ns;
    }
    if prev == Some(':') {
        // `: ` is a key separator; `:x` is not.
        return is_ns_char_or_whitespace(c) && !is_whitespace(c);
    }
    is_ns_char_or_whitespace(c)
}

fn is_plain_safe_first(c: char) -> bool {
    is_printable(c)
        && c != '\u{FEFF}'
        && !is_whitespace(c)
        && !matches!(
            c,
            '-' | '?'
                | ':'
                | ','
                | '['
                | ']'
                | '{'
                | '}'
                | '#'
                | '&'
                | '*'
                | '!'
                | '|'
                | '='
                | '>'
                | '\''
                | '"'
                | '%'
                | '@'
                | '`'
        )
}

fn is_plain_safe_last(c: char) -> bool {
    !is_whitespace(c) && c != ':'
}

fn is_deprecated_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

fn digits_underscore(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

// /^[-+]?[0-9_]+(?::[0-9_]+)+(?:\.[0-9_]*)?$/
fn is_base60(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (body, frac) = match s.split_once('.') {
        Some((b, f)) => (b, Some(f)),
        None => (s, None),
    };
    if frac.is_some_and(|f| !f.bytes().all(|b| b.is_ascii_digit() || b == b'_')) {
        return false;
    }
    let mut parts = body.split(':');
    let first = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    digits_underscore(first) && !rest.is_empty() && rest.iter().all(|p| digits_underscore(p))
}

/// Would js-yaml's default schema read this plain scalar as something other than
/// a string (null, bool, int, float, timestamp, merge key)?
fn is_ambiguous(s: &str) -> bool {
    matches!(s, "~" | "null" | "Null" | "NULL")
        || matches!(s, "true" | "True" | "TRUE" | "false" | "False" | "FALSE")
        || s == "<<"
        || is_js_int(s)
        || is_js_float(s)
        || is_js_timestamp(s)
}

// js-yaml `resolveYamlInteger`.
fn is_js_int(s: &str) -> bool {
    let b = s.as_bytes();
    let max = b.len();
    if max == 0 {
        return false;
    }
    let mut i = 0;
    let mut ch = b.first().copied();
    if matches!(ch, Some(b'-' | b'+')) {
        i += 1;
        ch = b.get(i).copied();
    }
    if ch == Some(b'0') {
        if i + 1 == max {
            return true;
        }
        i += 1;
        ch = b.get(i).copied();
        let radix_digit: Option<fn(u8) -> bool> = match ch {
            Some(b'b') => Some(|c| c == b'0' || c == b'1'),
            Some(b'x') => Some(|c: u8| c.is_ascii_hexdigit()),
            Some(b'o') => Some(|c| (b'0'..=b'7').contains(&c)),
            _ => None,
        };
        if let Some(is_digit) = radix_digit {
            let mut has_digits = false;
            let mut last = ch;
            for &c in &b[i + 1..] {
                last = Some(c);
                if c == b'_' {
                    continue;
                }
                if !is_digit(c) {
                    return false;
                }
                has_digits = true;
            }
            return has_digits && last != Some(b'_');
        }
    }
    if ch == Some(b'_') {
        return false;
    }
    let mut has_digits = false;
    let mut last = ch;
    for &c in &b[i..] {
        last = Some(c);
        if c == b'_' {
            continue;
        }
        if !c.is_ascii_digit() {
            return false;
        }
        has_digits = true;
    }
    has_digits && last != Some(b'_')
}

/// A tiny cursor for the js-yaml regular expressions below (all greedy over
/// disjoint classes, so no backtracking is needed).
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(c) if f(c) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    fn eat_while(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.eat(&f) {}
        self.i - start
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

fn digit(c: u8) -> bool {
    c.is_ascii_digit()
}

fn digit_(c: u8) -> bool {
    c.is_ascii_digit() || c == b'_'
}

// [eE][-+]?[0-9]+
fn exponent(c: &mut Cursor) -> bool {
    c.eat(|b| b == b'e' || b == b'E') && {
        c.eat(|b| b == b'-' || b == b'+');
        c.eat_while(digit) > 0
    }
}

// js-yaml YAML_FLOAT_PATTERN, plus its "must not end with `_`" rule.
fn is_js_float(s: &str) -> bool {
    if s.ends_with('_') {
        return false;
    }
    if matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    // [-+]?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?
    let mut c = Cursor {
        b: unsigned.as_bytes(),
        i: 0,
    };
    if c.eat(digit) {
        c.eat_while(digit_);
        if c.eat(|b| b == b'.') {
            c.eat_while(digit_);
        }
        if c.done() {
            return true;
        }
        return exponent(&mut c) && c.done();
    }
    // \.[0-9_]+([eE][-+]?[0-9]+)?  (no sign allowed)
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    if c.eat(|b| b == b'.') && c.eat_while(digit_) > 0 {
        if c.done() {
            return true;
        }
        return exponent(&mut c) && c.done();
    }
    false
}

// js-yaml YAML_DATE_REGEXP and YAML_TIMESTAMP_REGEXP.
fn is_js_timestamp(s: &str) -> bool {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    if c.eat_while(digit) != 4 || !c.eat(|b| b == b'-') {
        return false;
    }
    let month = c.eat_while(digit);
    if !(1..=2).contains(&month) || !c.eat(|b| b == b'-') {
        return false;
    }
    let day = c.eat_while(digit);
    if !(1..=2).contains(&day) {
        return false;
    }
    if c.done() {
        return month == 2 && day == 2;
    }
    let blank = |b: u8| b == b' ' || b == b'\t';
    if !c.eat(|b| b == b'T' || b == b't') && c.eat_while(blank) == 0 {
        return false;
    }
    if !(1..=2).contains(&c.eat_while(digit)) {
        return false;
    }
    for _ in 0..2 {
        if !c.eat(|b| b == b':') || c.eat_while(digit) != 2 {
            return false;
        }
    }
    if c.eat(|b| b == b'.') {
        c.eat_while(digit);
    }
    if c.done() {
        return true;
    }
    c.eat_while(blank);
    if c.eat(|b| b == b'Z') {
        return c.done();
    }
    if !c.eat(|b| b == b'-' || b == b'+') || !(1..=2).contains(&c.eat_while(digit)) {
        return false;
    }
    if c.eat(|b| b == b':') && c.eat_while(digit) != 2 {
        return false;
    }
    c.done()
}

fn escape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let seq = match c {
            '\0' => "\\0",
            '\u{07}' => "\\a",
            '\u{08}' => "\\b",
            '\t' => "\\t",
            '\n' => "\\n",
            '\u{0B}' => "\\v",
            '\u{0C}' => "\\f",
            '\r' => "\\r",
            '\u{1B}' => "\\e",
            '"' => "\\\"",
            '\\' => "\\\\",
            '\u{85}' => "\\N",
            '\u{A0}' => "\\_",
            '\u{2028}' => "\\L",
            '\u{2029}' => "\\P",
            c if is_printable(c) => {
                out.push(c);
                continue;
            }
            c => {
                let n = c as u32;
                if n <= 0xFF {
                    out.push_str(&format!("\\x{n:02X}"));
                } else if n <= 0xFFFF {
                    out.push_str(&format!("\\u{n:04X}"));
                } else {
                    out.push_str(&format!("\\U{n:08X}"));
                }
                continue;
            }
        };
        out.push_str(seq);
    }
    out
}

fn block_header(s: &str) -> String {
    let indicator = if s.trim_start_matches('\n').starts_with(' ') {
        "2"
    } else {
        ""
    };
    let clip = s.ends_with('\n');
    let keep = clip && (s.ends_with("\n\n") || s == "\n");
    let chomp = if keep {
        "+"
    } else if clip {
        ""
    } else {
        "-"
    };
    format!("{indicator}{chomp}\n")
}

fn indent_lines(s: &str, spaces: usize) -> String {
    let pad = " ".repeat(spaces);
    let mut out = String::with_capacity(s.len() + spaces * 4);
    for line in s.split_inclusive('\n') {
        if line != "\n" {
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    out
}

/// Parses `text` into `T`. Broken YAML gets the official message; YAML that
/// parses but does not fit `T` gets a schema message naming the file. Lines shown
/// from a `secret` file are masked.
pub(crate) fn parse<T: DeserializeOwned>(text: &str, path: &Path, secret: bool) -> Result<T> {
    if let Some(at) = too_deep(text) {
        let shown = path.display();
        return Err(CliError::client(located(
            format!(
                "Failed to parse YAML file {shown}: flow collections nested more than {MAX_FLOW_DEPTH} deep"
            ),
            text,
            Some(at),
            secret,
        ))
        .with_hint(format!(
            "Fix the YAML syntax in {shown} or remove the file to reset it."
        )));
    }
    match serde_yaml::from_str::<T>(text) {
        Ok(v) => Ok(v),
        // Syntax (and duplicate keys) are found by a plain parse; whatever that
        // accepts was a schema problem.
        Err(typed) => match serde_yaml::from_str::<Value>(text) {
            Err(syntax) => Err(syntax_error(path, text, &syntax, secret)),
            Ok(_) => Err(schema_error(path, text, &typed, secret)),
        },
    }
}

/// The deepest nesting of flow collections (`[…]`, `{…}`) accepted. serde_norway
/// refuses more than 128 levels anyway, but only after libyaml has scanned the
/// whole document, and that scan takes time quadratic in the nesting: a 200 KB
/// file of brackets would take minutes. So such files are refused up front.
const MAX_FLOW_DEPTH: usize = 128;

/// Where flow collections first nest deeper than [`MAX_FLOW_DEPTH`], as a
/// 1-based (line, column), if they do. A file with no more brackets than that
/// cannot, so ordinary files are not scanned at all; otherwise one pass that
/// knows where YAML has flow indicators and where brackets are just text
/// (quoted and plain scalars, block scalars, comments).
fn too_deep(text: &str) -> Option<(usize, usize)> {
    let brackets = text.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
    if brackets <= MAX_FLOW_DEPTH {
        return None;
    }
    let lines: Vec<Vec<char>> = text.split('\n').map(|l| l.chars().collect()).collect();
    let mut depth = 0usize;
    // Inside a quoted scalar that goes on past its line: the quote character.
    let mut quote: Option<char> = None;
    // Lines of a block scalar (`|`, `>`) are those indented deeper than this.
    let mut block_scalar: Option<usize> = None;
    // In flow context: the last significant character, and whether a space
    // came after it (a quote only opens a scalar where one can start).
    let mut prev: Option<char> = None;
    for (n, line) in lines.iter().enumerate() {
        let indent = line.iter().take_while(|c| **c == ' ').count();
        if let Some(level) = block_scalar {
            if line.iter().all(|c| c.is_whitespace()) || indent > level {
                continue;
            }
            block_scalar = None;
        }
        let mut i = 0;
        let mut gap = true;
        while i < line.len() {
            let c = line[i];
            if let Some(q) = quote {
                match c {
                    '\\' if q == '"' => i += 1,
                    '\'' if q == '\'' && line.get(i + 1) == Some(&'\'') => i += 1,
                    _ if c == q => {
                        quote = None;
                        prev = Some(c);
                        gap = false;
                    }
                    _ => {}
                }
                i += 1;
                continue;
            }
            let spaced_after = line.get(i + 1).is_none_or(|n| n.is_whitespace());
            if depth == 0 {
                // Block context: only value positions can start a collection,
                // a quoted scalar or a block scalar; anything else is plain text.
                match c {
                    ' ' | '\t' => {}
                    '#' => break,
                    '-' | '?' | ':' if spaced_after => {}
                    '[' | '{' => {
                        depth = 1;
                        prev = Some(c);
                        gap = false;
                    }
                    '"' | '\'' => quote = Some(c),
                    '|' | '>' => {
                        block_scalar = Some(indent);
                        break;
                    }
                    '&' | '*' | '!' => {
                        while i + 1 < line.len() && !line[i + 1].is_whitespace() {
                            i += 1;
                        }
                    }
                    _ => {
                        // A plain scalar runs to `: `, ` #` or the end of the line.
                        while i + 1 < line.len() {
                            let next = line[i + 1];
                            let after = line.get(i + 2).is_none_or(|c| c.is_whitespace());
                            if (next == ':' && after) || (next == '#' && line[i].is_whitespace()) {
                                break;
                            }
                            i += 1;
                        }
                    }
                }
                i += 1;
                continue;
            }
            match c {
                ' ' | '\t' => gap = true,
                '#' if gap => break,
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Some((n + 1, i + 1));
                    }
                    prev = Some(c);
                    gap = false;
                }
                ']' | '}' => {
                    depth -= 1;
                    prev = Some(c);
                    gap = false;
                }
                '"' | '\''
                    if matches!(prev, Some('[' | '{' | ','))
                        || (matches!(prev, Some(':' | '?')) && gap) =>
                {
                    quote = Some(c);
                }
                // `{"a":"b"}`: a value right after a quoted key's colon.
                ':' if matches!(prev, Some('"' | '\'')) && !gap => {
                    prev = Some(c);
                    gap = true;
                }
                _ => {
                    prev = Some(c);
                    gap = false;
                }
            }
            i += 1;
        }
    }
    None
}

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

fn syntax_error(path: &Path, text: &str, err: &serde_yaml::Error, secret: bool) -> CliError {
    let (reason, at) = reason(err);
    let path = path.display();
    CliError::client(located(
        format!("Failed to parse YAML file {path}: {reason}"),
        text,
        at,
        secret,
    ))
    .with_hint(format!(
        "Fix the YAML syntax in {path} or remove the file to reset it."
    ))
}

fn schema_error(path: &Path, text: &str, err: &serde_yaml::Error, secret: bool) -> CliError {
    let (reason, at) = reason(err);
    let path = path.display();
    CliError::client(located(
        format!("Invalid content in {path}: {reason}"),
        text,
        at,
        secret,
    ))
    .with_hint(format!(
        "Fix {path} by hand or remove the file to reset it."
    ))
}

/// A schema problem found after parsing, where no position is known.
pub(crate) fn invalid(path: &Path, what: impl std::fmt::Display) -> CliError {
    let path = path.display();
    CliError::client(format!("Invalid content in {path}: {what}.")).with_hint(format!(
        "Fix {path} by hand or remove the file to reset it."
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> String {
        scalar(s, 1, false)
    }

    #[test]
    fn numbers_read_back_as_the_same_number() {
        for (f, text) in [
            (5.555555555555555e37, "5.555555555555555e+37"),
            (1e20, "1.e+20"),
            (-1e19, "-1.e+19"),
            (1e21, "1.e+21"),
            (1e-7, "1.e-7"),
            (-2.5e-9, "-2.5e-9"),
            (1.5, "1.5"),
            (0.000001, "0.000001"),
            (1e19, "10000000000000000000"),
            (-9.223372036854776e18, "-9223372036854775808"),
        ] {
            let n = serde_yaml::Number::from(f);
            assert_eq!(number(&n), text);
            let back: Value = serde_yaml::from_str(text).unwrap();
            assert_eq!(back.as_f64(), Some(f), "{text}");
        }
    }

    #[test]
    fn a_root_key_never_ends_the_document() {
        let m = |k: &str| {
            let mut m = serde_yaml::Mapping::new();
            m.insert(Value::String(k.into()), Value::Null);
            Value::Mapping(m)
        };
        assert_eq!(dump(&m("...")), "'...': null\n");
        assert_eq!(dump(&m("... x")), "'... x': null\n");
        assert_eq!(dump(&m("...x")), "...x: null\n");
        let nested = {
            let mut outer = serde_yaml::Mapping::new();
            outer.insert(Value::String("a".into()), m("... x"));
            Value::Mapping(outer)
        };
        assert_eq!(dump(&nested), "a:\n  ... x: null\n");
    }

    #[test]
    fn quotes_only_what_js_yaml_quotes() {
        for plain in [
            "alice@example.com",
            "localhost:5001",
            "127.0.0.1:18777",
            "cloud.dify.ai",
            "Acme Team",
            "acc-1",
            "dfoa_abc123",
            "https://issuer.example.com/x",
            "a#b",
            "a,b[c]{d}",
            "nan",
            "1.2.3",
            "0xZZ",
            "a:b",
            "王小明",
            "e\u{301}",
        ] {
            assert_eq!(q(plain), plain, "{plain:?} should stay plain");
        }
        for (s, want) in [
            ("", "''"),
            ("yes", "'yes'"),
            ("No", "'No'"),
            ("off", "'off'"),
            ("y", "'y'"),
            ("123", "'123'"),
            ("-1", "'-1'"),
            ("+1", "'+1'"),
            ("0x1F", "'0x1F'"),
            ("0o17", "'0o17'"),
            ("0b101", "'0b101'"),
            ("1_000", "'1_000'"),
            ("1.5", "'1.5'"),
            ("1e5", "'1e5'"),
            ("1.", "'1.'"),
            (".5", "'.5'"),
            (".inf", "'.inf'"),
            ("-.Inf", "'-.Inf'"),
            (".NaN", "'.NaN'"),
            ("null", "'null'"),
            ("Null", "'Null'"),
            ("~", "'~'"),
            ("true", "'true'"),
            ("FALSE", "'FALSE'"),
            ("<<", "'<<'"),
            ("1:30", "'1:30'"),
            ("-12:30:00.5", "'-12:30:00.5'"),
            ("2026-07-01", "'2026-07-01'"),
            ("2026-07-01T00:00:00Z", "'2026-07-01T00:00:00Z'"),
            ("2026-7-1 1:02:03.5 +08:00", "'2026-7-1 1:02:03.5 +08:00'"),
            (
                "2026-07-01T10:00:00.123456+00:00",
                "'2026-07-01T10:00:00.123456+00:00'",
            ),
            ("@x", "'@x'"),
            ("-x", "'-x'"),
            ("- x", "'- x'"),
            ("?x", "'?x'"),
            (":x", "':x'"),
            ("!x", "'!x'"),
            ("&x", "'&x'"),
            ("*x", "'*x'"),
            ("%x", "'%x'"),
            ("`x", "'`x'"),
            ("#x", "'#x'"),
            ("[x", "'[x'"),
            ("{x", "'{x'"),
            ("|x", "'|x'"),
            (">x", "'>x'"),
            ("=x", "'=x'"),
            ("'x", "'''x'"),
            ("\"x", "'\"x'"),
            ("it's", "it's"),
            ("a: b", "'a: b'"),
            ("a #b", "'a #b'"),
            ("x:", "'x:'"),
            (" x", "' x'"),
            ("x ", "'x '"),
            ("tab\there", "\"tab\\there\""),
            ("bell\u{7}", "\"bell\\a\""),
            ("nb\u{A0}sp", "\"nb\\_sp\""),
            ("bom\u{FEFF}", "\"bom\\uFEFF\""),
            ("ctl\u{1}", "\"ctl\\x01\""),
            ("cr\r", "\"cr\\r\""),
        ] {
            assert_eq!(q(s), want, "{s:?}");
        }
    }

    #[test]
    fn multi_line_strings_use_literal_blocks() {
        assert_eq!(scalar("a\nb", 2, false), "|-\n    a\n    b");
        assert_eq!(scalar("a\nb\n", 1, false), "|\n  a\n  b");
        assert_eq!(scalar("a\n\n", 1, false), "|+\n  a\n");
        assert_eq!(scalar(" a\nb", 1, false), "|2-\n   a\n  b");
        // Keys never take block styles.
        assert_eq!(scalar("a\nb", 1, true), "\"a\\nb\"");
    }

    #[test]
    fn dumps_collections_like_js_yaml() {
        let v: Value = serde_yaml::from_str(
            "a: {}\nb: []\nc:\n- 1\n- x: 1\n  y: [2]\n- []\n- - p\n  - q\nd: 1.5\ne: null\nf: true\n'2': 1.0\n",
        )
        .unwrap();
        assert_eq!(
            dump(&v),
            "a: {}\nb: []\nc:\n  - 1\n  - x: 1\n    'y':\n      - 2\n  - []\n  - - p\n    - q\nd: 1.5\ne: null\nf: true\n'2': 1\n"
        );
        let m: Value = serde_yaml::from_str("x: |\n  line1\n  line2\n").unwrap();
        assert_eq!(dump(&m), "x: |\n  line1\n  line2\n");
        assert_eq!(dump(&Value::Mapping(Default::default())), "{}\n");
    }

    #[test]
    fn long_keys_become_explicit() {
        let key = "k".repeat(1100);
        let mut m = serde_yaml::Mapping::new();
        m.insert(Value::String(key.clone()), Value::String("v".into()));
        assert_eq!(dump(&Value::Mapping(m)), format!("? {key}\n: v\n"));
    }

    #[test]
    fn syntax_errors_carry_line_column_and_excerpt() {
        let text = "token_storage: file\nhosts:\n  a:\n    b: c\n   d: e\nx: 1\ny: 2\nz: 3\n";
        let err = parse::<Value>(text, Path::new("/cfg/hosts.yml"), false).unwrap_err();
        assert_eq!(err.code, "client_error");
        assert_eq!(
            err.message,
            "Failed to parse YAML file /cfg/hosts.yml: did not find expected key (while parsing a \
             block mapping at line 3 column 3) at line 5, column 4.\n\n\
             \x20 3 |   a:\n\
             \x20 4 |     b: c\n\
             > 5 |    d: e\n\
             \x20        ^\n\
             \x20 6 | x: 1\n\
             \x20 7 | y: 2"
        );
        assert_eq!(
            err.hint.as_deref(),
            Some("Fix the YAML syntax in /cfg/hosts.yml or remove the file to reset it.")
        );
    }

    #[test]
    fn deep_flow_nesting_is_refused_before_libyaml_scans_it() {
        let deep = format!("hosts: {}{}\n", "[".repeat(200_000), "]".repeat(200_000));
        let err = parse::<Value>(&deep, Path::new("hosts.yml"), false).unwrap_err();
        let first = err.message.lines().next().unwrap();
        assert_eq!(
            first,
            "Failed to parse YAML file hosts.yml: flow collections nested more than 128 deep at line 1, column 136."
        );
        // One huge line shows as a window around the column.
        assert!(err.message.len() < 600, "{}", err.message);
        let caret = err.message.lines().last().unwrap();
        let marked = err.message.lines().rev().nth(1).unwrap();
        assert_eq!(
            marked.chars().nth(caret.len() - 1),
            Some('['),
            "{marked}\n{caret}"
        );

        // Exactly the limit passes the check (serde's own limit then speaks).
        let limit = format!("a: {}{}\n", "[".repeat(127), "]".repeat(127));
        assert_eq!(too_deep(&limit), None);
        let over = format!("a: {}{}\n", "[".repeat(129), "]".repeat(129));
        assert_eq!(too_deep(&over), Some((1, 132)));
        let over = format!(
            "a:\n  - {{x: [\n{}{}]}}\n",
            "{".repeat(127),
            "}".repeat(127)
        );
        assert_eq!(too_deep(&over), Some((3, 127)));
    }

    #[test]
    fn brackets_in_text_are_not_nesting() {
        let many = "[".repeat(300);
        for text in [
            format!("name: x{many}\n"),
            format!("a{many}: b\n"),
            format!("name: '{many}'\n"),
            format!("name: 'it''s {many}'\n"),
            format!("name: \"\\\" {many}\"\n"),
            format!("name: \"multi\n  line {many}\"\n"),
            format!("name: |-\n  {many}\n  {many}\nnext: x\n"),
            format!("- >\n    {many}\n"),
            format!("name: x # {many}\n"),
            format!("# {many}\n"),
            format!("a: [\"{many}\", '{many}', b]\n"),
            format!("a: {{\"k\":\"{many}\"}}\n"),
            format!("a: [x, y] # {many}\n"),
            format!("a: &anchor x{many}\nb: *anchor\n"),
        ] {
            assert_eq!(too_deep(&text), None, "{text:?}");
            // Valid YAML whose brackets are text, as libyaml sees it too.
            serde_yaml::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        }
        // And a file we write for hostile strings reads back.
        let hostile = format!("{many}\n{many} x{many}");
        let v = Value::Mapping(
            [(Value::String("name".into()), Value::String(hostile.clone()))]
                .into_iter()
                .collect(),
        );
        let back: Value = parse(&dump(&v), Path::new("x.yml"), false).unwrap();
        assert_eq!(back["name"].as_str(), Some(hostile.as_str()));
    }

    #[test]
    fn excerpt_masks_secret_values() {
        let text = "version: 1\ntokens:\n  h:\n    a@b: dfoa_secret\n    c@d: 'dfoa_x\n";
        let err = parse::<Value>(text, Path::new("tokens.yml"), true).unwrap_err();
        assert!(!err.message.contains("dfoa_"), "{}", err.message);
        assert!(err.message.contains("a@b: ***********"), "{}", err.message);
    }

    /// Output of js-yaml 4.1.0 `dump({[s]: s, x: {[s]: [s, {[s]: s}]}}, {lineWidth: -1})`
    /// for hand-picked and random strings (`s` as key, value and sequence item).
    #[test]
    fn matches_js_yaml_output() {
        let cases: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("../../tests/fixtures/js-yaml-4.1-dump.json"))
                .unwrap();
        for case in &cases {
            let s = Value::String(case["input"].as_str().unwrap().to_owned());
            let pair = |v: Value| Value::Mapping([(s.clone(), v)].into_iter().collect());
            let mut root = serde_yaml::Mapping::new();
            root.insert(s.clone(), s.clone());
            root.insert(
                Value::String("x".into()),
                pair(Value::Sequence(vec![s.clone(), pair(s.clone())])),
            );
            let input = case["input"].as_str().unwrap();
            let mut expected = case["expected"].as_str().unwrap().to_owned();
            // Deliberate differences: js-yaml writes such a root key plain,
            // where it ends the document (it cannot read that back).
            // And number-like text js-yaml writes plain, reads as a string, but
            // a YAML 1.2 reader (ours) reads as a number: we quote it.
            if reads_as_non_string(input) && expected.starts_with(input) {
                expected = expected.replace(input, &format!("'{input}'"));
            }
            if ends_document(input) {
                expected = format!(
                    "'{}'{}",
                    input.replace('\'', "''"),
                    &expected[input.len()..]
                );
            }
            assert_eq!(dump(&Value::Mapping(root)), expected, "{s:?}");
        }
        assert!(cases.len() > 500);
    }
}
