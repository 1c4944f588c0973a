//! js-yaml's choice of scalar style (`chooseScalarStyle`) and the plain
//! scalars its default schema, or our reader, would read as something other
//! than a string.

use serde_yaml::Value;

#[derive(PartialEq)]
pub(super) enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

pub(super) fn choose_style(s: &str, single_line_only: bool) -> Style {
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
pub(super) fn reads_as_non_string(s: &str) -> bool {
    s.starts_with(|c: char| c == '+' || c.is_ascii_digit())
        && may_be_number(s)
        && !matches!(serde_yaml::from_str::<Value>(s), Ok(Value::String(_)))
}

/// Text serde_norway can read as a number has an optional sign, then a
/// `0x`/`0o`/`0b` integer, or digits and `.` with an exponent whose sign is
/// the only other `+`/`-` (Rust's float syntax; its `inf`/`nan` are refused
/// as not finite). Anything else (an id like `3c90c3cc-0d44-…`) is a string
/// without asking the parser, which is slow.
fn may_be_number(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if ["0x", "0o", "0b"].iter().any(|p| body.starts_with(p)) {
        return true;
    }
    let b = body.as_bytes();
    b.iter().enumerate().all(|(i, &c)| match c {
        b'0'..=b'9' | b'.' | b'e' | b'E' => true,
        b'+' | b'-' => i > 0 && matches!(b[i - 1], b'e' | b'E'),
        _ => false,
    })
}

/// `...` alone or followed by a blank: the document end marker at a line start.
pub(super) fn ends_document(s: &str) -> bool {
    s.strip_prefix("...")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

fn is_whitespace(c: char) -> bool {
    c == ' ' || c == '\t'
}

pub(super) fn is_printable(c: char) -> bool {
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

/// js-yaml's `isPlainSafeFirst`: what a plain scalar it writes starts with.
pub(super) fn is_plain_safe_first(c: char) -> bool {
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

pub(super) fn is_deprecated_bool(s: &str) -> bool {
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
pub(super) fn is_base60(s: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::super::emit::scalar;

    fn q(s: &str) -> String {
        scalar(s, 1, false)
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
}
