//! Writing YAML as js-yaml `dump` does: the block structure here, the choice
//! of scalar style in [`super::style`]. Text is streamed to its destination
//! (a file being written, or memory) as it is produced.

use std::io;

use serde_yaml::Value;

use super::style::{
    Style, choose_style, ends_document, is_base60, is_deprecated_bool, is_printable,
    reads_as_non_string,
};

const INDENT: usize = 2;

/// Serializes `value` exactly as js-yaml `dump` would (ends with a newline).
pub fn dump(value: &Value) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail.
    let _ = Emitter::new(&mut out).document(value);
    String::from_utf8(out).unwrap_or_default()
}

/// Something written as one YAML node.
pub(crate) trait Node {
    /// A non-empty mapping or sequence: its entries go on the lines below
    /// its key (or continue the current line, when compact).
    fn is_block(&self) -> bool;

    /// Writes the node; its entries sit at `level`. A block's first entry
    /// starts on a new line unless the emitter says the node is compact.
    fn write(&self, e: &mut Emitter, level: usize);
}

/// Writes YAML text to `out` in chunks, keeping the first write error (later
/// writes are skipped) and counting what was written.
pub(crate) struct Emitter<'w> {
    out: &'w mut dyn io::Write,
    /// Text not yet handed to `out`.
    buf: Vec<u8>,
    error: Option<io::Error>,
    written: u64,
    /// The next entry continues the current line (the document root,
    /// sequence items, explicit-key values) instead of starting a new one.
    compact: bool,
}

/// How much text is gathered before it is handed on.
const CHUNK: usize = 64 * 1024;

impl<'w> Emitter<'w> {
    pub(crate) fn new(out: &'w mut dyn io::Write) -> Self {
        Emitter {
            out,
            buf: Vec::new(),
            error: None,
            written: 0,
            compact: false,
        }
    }

    /// Writes `root` as a whole document (with its final newline); returns
    /// the number of bytes written.
    pub(crate) fn document(mut self, root: &dyn Node) -> io::Result<u64> {
        self.node(root, 0, true);
        self.put("\n");
        self.flush();
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.written),
        }
    }

    #[inline(always)]
    fn put(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
        if self.buf.len() >= CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.error.is_none() {
            match self.out.write_all(&self.buf) {
                Ok(()) => self.written += self.buf.len() as u64,
                Err(e) => self.error = Some(e),
            }
        }
        self.buf.clear();
    }

    fn newline(&mut self, level: usize) {
        const LINE: &str = "\n                                                                ";
        let n = INDENT * level;
        if n < LINE.len() {
            return self.put(&LINE[..1 + n]);
        }
        self.put("\n");
        self.spaces(n);
    }

    fn spaces(&mut self, mut n: usize) {
        const SPACES: &str = "                                                                ";
        while n > 0 {
            let step = n.min(SPACES.len());
            self.put(&SPACES[..step]);
            n -= step;
        }
    }

    // `compact` = the first entry goes on the current line; otherwise every
    // entry starts on a new line.
    fn node(&mut self, node: &dyn Node, level: usize, compact: bool) {
        self.compact = compact;
        node.write(self, level);
        self.compact = false;
    }

    /// Starts an entry of a block collection whose entries sit at `level`.
    fn entry(&mut self, level: usize) {
        if !std::mem::take(&mut self.compact) {
            self.newline(level);
        }
    }

    /// One `key: value` entry of a block mapping whose keys sit at `level`.
    pub(crate) fn pair(&mut self, key: &str, value: &dyn Node, level: usize) {
        self.entry(level);
        // js-yaml switches to an explicit `? key` for keys longer than 1024
        // UTF-16 units once written (at most 4 per byte, plus 2 quotes).
        let explicit = key.len() > 255 && {
            let written = scalar(key, level + 1, true);
            written.encode_utf16().count() > 1024
        };
        if explicit {
            self.put("? ");
        }
        self.scalar(key, level + 1, true);
        if explicit {
            self.newline(level);
        }
        self.put(if value.is_block() && !explicit {
            ":"
        } else {
            ": "
        });
        self.node(value, level + 1, explicit);
    }

    pub(crate) fn empty_map(&mut self) {
        self.put("{}");
    }

    /// One `- item` entry of a block sequence whose items sit at `level`.
    fn item(&mut self, item: &dyn Node, level: usize) {
        self.entry(level);
        self.put("- ");
        self.node(item, level + 1, true);
    }

    /// A string scalar in js-yaml's style choice (`writeScalar`/`chooseScalarStyle`),
    /// with `lineWidth: -1` (never folded) and everything in block context.
    pub(crate) fn scalar(&mut self, s: &str, level: usize, is_key: bool) {
        if is_plain_at_a_glance(s) {
            return self.put(s);
        }
        if s.is_empty() {
            return self.put("''");
        }
        if is_deprecated_bool(s) || is_base60(s) {
            return self.quoted(s);
        }
        match choose_style(s, is_key) {
            // A root key starts its line, where `... ` would end the document:
            // js-yaml writes it plain (and then cannot read the file); we quote it.
            // And a plain scalar js-yaml reads as a string but our reader as a
            // number (`+.5`) is quoted, so the value reads back the same.
            Style::Plain
                if !(reads_as_non_string(s) || is_key && level == 1 && ends_document(s)) =>
            {
                self.put(s)
            }
            Style::Plain | Style::Single => self.quoted(s),
            Style::Double => {
                self.put("\"");
                self.put(&escape_double(s));
                self.put("\"");
            }
            Style::Literal => {
                self.put("|");
                self.put(block_header(s));
                let pad = INDENT * level.max(1);
                let body = s.strip_suffix('\n').unwrap_or(s);
                for (i, line) in body.split('\n').enumerate() {
                    if i > 0 {
                        self.put("\n");
                    }
                    if !line.is_empty() {
                        self.spaces(pad);
                        self.put(line);
                    }
                }
            }
        }
    }

    /// `'…'` with each `'` doubled.
    fn quoted(&mut self, s: &str) {
        self.put("'");
        for (i, part) in s.split('\'').enumerate() {
            if i > 0 {
                self.put("''");
            }
            self.put(part);
        }
        self.put("'");
    }
}

/// The common case of [`Emitter::scalar`], decided in one pass: ASCII text
/// starting with a letter, not a word YAML reads as null or a boolean, with
/// no ` #`, `: ` or blank or `:` at the end, is written plain (a letter first
/// rules out every number, date and indicator).
fn is_plain_at_a_glance(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_alphabetic) || is_reserved_word(s) {
        return false;
    }
    let mut prev = b[0];
    for &c in &b[1..] {
        if !(0x20..0x7f).contains(&c) || c == b'#' && prev == b' ' || prev == b':' && c == b' ' {
            return false;
        }
        prev = c;
    }
    prev != b' ' && prev != b':'
}

/// The words starting with a letter that a YAML reader takes for something
/// other than a string: null, the booleans and js-yaml's deprecated ones,
/// each in lower case, Capitalised or UPPER case only. (Checked by length and
/// case first: keys such as `name` and `role` come through here by the
/// hundred thousand.)
fn is_reserved_word(s: &str) -> bool {
    const WORDS: [&str; 9] = ["y", "n", "on", "no", "yes", "off", "null", "true", "false"];
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 5 {
        return false;
    }
    let cased = b[1..].iter().all(u8::is_ascii_lowercase) || b.iter().all(u8::is_ascii_uppercase);
    cased
        && WORDS
            .iter()
            .any(|w| w.len() == b.len() && w.as_bytes().eq_ignore_ascii_case(b))
}

/// [`Emitter::scalar`] into a string.
pub(crate) fn scalar(s: &str, level: usize, is_key: bool) -> String {
    let mut out = Vec::new();
    let mut e = Emitter::new(&mut out);
    e.scalar(s, level, is_key);
    e.flush();
    String::from_utf8(out).unwrap_or_default()
}

/// The tag of a preserved integer too large for a YAML number of serde's
/// (beyond 64 bits): its decimal digits, written back as they were read.
pub(crate) const BIG_INTEGER: &str = "difyctl-big-integer";

impl Node for Value {
    fn is_block(&self) -> bool {
        match self {
            Value::Mapping(m) => !m.is_empty(),
            Value::Sequence(s) => !s.is_empty(),
            Value::Tagged(t) => t.tag != BIG_INTEGER && t.value.is_block(),
            _ => false,
        }
    }

    fn write(&self, e: &mut Emitter, level: usize) {
        match self {
            Value::Null => e.put("null"),
            Value::Bool(b) => e.put(if *b { "true" } else { "false" }),
            Value::Number(n) => e.put(&number(n)),
            Value::String(s) => e.scalar(s, level, false),
            Value::Mapping(m) if m.is_empty() => e.put("{}"),
            Value::Mapping(m) => {
                for (k, v) in m {
                    e.pair(&key_string(k), v, level);
                }
            }
            Value::Sequence(s) if s.is_empty() => e.put("[]"),
            Value::Sequence(s) => {
                for item in s {
                    e.item(item, level);
                }
            }
            Value::Tagged(t) => match &t.value {
                Value::String(digits) if t.tag == BIG_INTEGER => e.put(digits),
                // Other tags are refused on load; a programmatic one is written untagged.
                value => value.write(e, level),
            },
        }
    }
}

impl Node for str {
    fn is_block(&self) -> bool {
        false
    }

    fn write(&self, e: &mut Emitter, level: usize) {
        e.scalar(self, level, false)
    }
}

impl Node for String {
    fn is_block(&self) -> bool {
        false
    }

    fn write(&self, e: &mut Emitter, level: usize) {
        e.scalar(self, level, false)
    }
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

fn block_header(s: &str) -> &'static str {
    let indent = s.trim_start_matches('\n').starts_with(' ');
    let clip = s.ends_with('\n');
    let keep = clip && (s.ends_with("\n\n") || s == "\n");
    match (indent, keep, clip) {
        (false, true, _) => "+\n",
        (false, false, true) => "\n",
        (false, false, false) => "-\n",
        (true, true, _) => "2+\n",
        (true, false, true) => "2\n",
        (true, false, false) => "2-\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn reserved_words_in_their_three_casings_only() {
        let old = |s: &str| {
            is_deprecated_bool(s)
                || matches!(
                    s,
                    "null"
                        | "Null"
                        | "NULL"
                        | "true"
                        | "True"
                        | "TRUE"
                        | "false"
                        | "False"
                        | "FALSE"
                )
        };
        for word in ["y", "n", "on", "no", "yes", "off", "null", "true", "false"] {
            let capital = word[..1].to_uppercase() + &word[1..];
            for form in [word.to_string(), capital, word.to_uppercase()] {
                assert!(is_reserved_word(&form) && old(&form), "{form}");
            }
        }
        for text in [
            "yES", "nULL", "tRUE", "FaLse", "oN", "owner", "name", "role", "id", "a", "",
        ] {
            assert!(!is_reserved_word(text) && !old(text), "{text}");
        }
    }

    #[test]
    fn long_keys_become_explicit() {
        let key = "k".repeat(1100);
        let mut m = serde_yaml::Mapping::new();
        m.insert(Value::String(key.clone()), Value::String("v".into()));
        assert_eq!(dump(&Value::Mapping(m)), format!("? {key}\n: v\n"));
    }

    /// Output of js-yaml 4.1.0 `dump({[s]: s, x: {[s]: [s, {[s]: s}]}}, {lineWidth: -1})`
    /// for hand-picked and random strings (`s` as key, value and sequence item).
    #[test]
    fn matches_js_yaml_output() {
        let cases: Vec<serde_json::Value> = serde_json::from_str(include_str!(
            "../../../tests/fixtures/js-yaml-4.1-dump.json"
        ))
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
