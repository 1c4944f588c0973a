//! A reader for the block-style YAML that js-yaml `dump` and difyctl write
//! (nearly every store file), at close to the cost of reading the text: one
//! pass over it, with no event list or tree in between. It hands the same
//! values to the same `Deserialize` code as serde_norway does, and gives up
//! (`None`) on anything outside that shape (flow collections, block scalars,
//! comments, anchors, tags, blank lines, other indentation, unusual
//! characters), or on anything the model refuses, for serde_norway to read
//! and to report.
//!
//! The shape: lines of `key: value` and `key:` (its block two spaces deeper on
//! the following lines, or nothing), `- item` under a key, compact mappings
//! and sequences in items, values plain, `'single'` or `"double"` quoted on
//! one line, or `{}`/`[]`.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::style::{is_plain_safe_first as is_plain_first, is_printable};

/// Reads `text` into `T`, or `None` when it is outside the shape above or
/// `T` refuses it.
pub(super) fn from_str<'a, T: de::Deserialize<'a>>(text: &'a str) -> Option<T> {
    let mut reader = Reader {
        text,
        pos: 0,
        depth: 0,
    };
    let root = if text.is_empty() {
        Plain("")
    } else {
        Node::Map {
            indent: 0,
            inline: true,
        }
    };
    let value = T::deserialize(ValueDe {
        r: &mut reader,
        node: root,
    })
    .ok()?;
    (reader.pos == text.len()).then_some(value)
}

/// Giving up: the text is for serde_norway to read.
#[derive(Debug)]
struct Bail;

impl fmt::Display for Bail {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("not in the fast reader's shape")
    }
}

impl std::error::Error for Bail {}

impl de::Error for Bail {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Bail
    }
}

type Read<T> = Result<T, Bail>;

/// The deepest nesting read; deeper files go to serde_norway (whose own
/// limit is 128).
const MAX_DEPTH: usize = 64;

/// A single-line key or value in one of the accepted styles.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    Plain(&'a str),
    /// Between the quotes, `''` not yet undone.
    Single(&'a str),
    /// Between the quotes, escapes not yet undone.
    Double(&'a str),
}

enum Node<'a> {
    Scalar(Scalar<'a>),
    EmptyMap,
    EmptySeq,
    /// A block mapping whose keys are indented `indent` spaces; `inline`:
    /// its first key starts at the reader's position, mid-line.
    Map {
        indent: usize,
        inline: bool,
    },
    /// A block sequence whose `-` are indented `indent` spaces.
    Seq {
        indent: usize,
        inline: bool,
    },
}

#[allow(non_snake_case)]
fn Plain(s: &str) -> Node<'_> {
    Node::Scalar(Scalar::Plain(s))
}

struct Reader<'a> {
    text: &'a str,
    /// Where reading goes on: the start of a line, or mid-line after `- `.
    pos: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    #[inline(always)]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// After the line that ends at `end`.
    #[inline(always)]
    fn next_line(&self, end: usize) -> usize {
        (end + 1).min(self.text.len())
    }

    /// The indentation of the line starting at `at` and where its content
    /// starts; `None` at the end of the text.
    #[inline(always)]
    fn indent_at(&self, at: usize) -> Option<(usize, usize)> {
        if at >= self.text.len() {
            return None;
        }
        let spaces = self.bytes()[at..]
            .iter()
            .take_while(|&&b| b == b' ')
            .count();
        Some((spaces, at + spaces))
    }

    /// The next entry of a block collection at `indent`: where its content
    /// starts, or `None` when the collection has ended.
    #[inline(always)]
    fn next_entry(&mut self, indent: usize, inline: &mut bool) -> Read<Option<usize>> {
        if std::mem::take(inline) {
            return Ok(Some(self.pos));
        }
        match self.indent_at(self.pos) {
            None => Ok(None),
            Some((n, _)) if n < indent => Ok(None),
            Some((n, at)) if n == indent => Ok(Some(at)),
            Some(_) => Err(Bail),
        }
    }

    /// A key at `at`: the key and the position after its `:`.
    #[inline(always)]
    fn key(&self, at: usize, indent: usize) -> Read<(Scalar<'a>, usize)> {
        let b = self.bytes();
        let (key, end) = match b.get(at) {
            Some(b'\'' | b'"') => self.quoted(at)?,
            _ => {
                // A root `...` (then a blank) would end the document.
                if indent == 0
                    && b[at..].starts_with(b"...")
                    && matches!(b.get(at + 3), None | Some(b' ' | b'\n'))
                {
                    return Err(Bail);
                }
                let end = self.plain(at, true)?;
                (Scalar::Plain(&self.text[at..end]), end)
            }
        };
        // libyaml's limit for a key on one line is 1024 characters.
        if end - at > 1000 || b.get(end) != Some(&b':') {
            return Err(Bail);
        }
        Ok((key, end + 1))
    }

    /// The plain scalar starting at `at`: where it ends. A key ends at its
    /// `: ` or final `:`; a value at the end of the line, and may hold
    /// neither. Refused: what would start something else (an indicator
    /// first), a comment, surrounding blanks, unusual characters.
    fn plain(&self, at: usize, is_key: bool) -> Read<usize> {
        let b = self.bytes();
        let first_ok = match b.get(at) {
            // A negative number, as js-yaml writes one.
            Some(b'-') => !is_key && matches!(b.get(at + 1), Some(b'0'..=b'9' | b'.')),
            Some(&c) if c < 0x80 => is_plain_first(char::from(c)),
            _ => self.text[at..].chars().next().is_some_and(is_plain_first),
        };
        if !first_ok {
            return Err(Bail);
        }
        let mut i = at;
        loop {
            match b.get(i) {
                None | Some(b'\n') if is_key => return Err(Bail),
                None | Some(b'\n') => break,
                Some(b':') if matches!(b.get(i + 1), None | Some(b' ' | b'\n')) => {
                    if is_key {
                        break;
                    }
                    return Err(Bail);
                }
                Some(b'#') if b[i - 1] == b' ' => return Err(Bail),
                Some(&c) if c < 0x80 => {
                    if !(0x20..0x7f).contains(&c) {
                        return Err(Bail);
                    }
                    i += 1;
                }
                Some(_) => i += self.char_at(i)?,
            }
        }
        if b[i - 1] == b' ' {
            return Err(Bail);
        }
        Ok(i)
    }

    /// The length of the character at `i` when js-yaml would write it as is.
    fn char_at(&self, i: usize) -> Read<usize> {
        let c = self.text[i..].chars().next().ok_or(Bail)?;
        if is_printable(c) {
            Ok(c.len_utf8())
        } else {
            Err(Bail)
        }
    }

    /// The quoted scalar starting at `at` (on one line): it and where it ends.
    fn quoted(&self, at: usize) -> Read<(Scalar<'a>, usize)> {
        let b = self.bytes();
        let quote = b[at];
        let mut i = at + 1;
        loop {
            match b.get(i) {
                None | Some(b'\n') => return Err(Bail),
                Some(&c) if c == quote => {
                    if quote == b'\'' && b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    let inner = &self.text[at + 1..i];
                    let scalar = if quote == b'\'' {
                        Scalar::Single(inner)
                    } else {
                        Scalar::Double(inner)
                    };
                    return Ok((scalar, i + 1));
                }
                Some(b'\\') if quote == b'"' => {
                    if !matches!(b.get(i + 1), Some(c) if *c >= 0x20 && *c < 0x7f) {
                        return Err(Bail);
                    }
                    i += 2;
                }
                Some(&c) if c < 0x80 => {
                    if !(0x20..0x7f).contains(&c) {
                        return Err(Bail);
                    }
                    i += 1;
                }
                Some(_) => i += self.char_at(i)?,
            }
        }
    }

    /// The value after a key's `:` at `at`, the key indented `indent`.
    #[inline(always)]
    fn value(&mut self, at: usize, indent: usize) -> Read<Node<'a>> {
        let b = self.bytes();
        match b.get(at) {
            // `key:` then its block on the lines below, or nothing.
            None | Some(b'\n') => {
                self.pos = self.next_line(at);
                let Some((n, content)) = self.indent_at(self.pos) else {
                    return Ok(Plain(""));
                };
                if n <= indent {
                    return Ok(Plain(""));
                }
                if n != indent + 2 {
                    return Err(Bail);
                }
                if is_item(b, content) {
                    Ok(Node::Seq {
                        indent: n,
                        inline: false,
                    })
                } else {
                    Ok(Node::Map {
                        indent: n,
                        inline: false,
                    })
                }
            }
            Some(b' ') => self.inline(at + 1, indent + 2, false),
            Some(_) => Err(Bail),
        }
    }

    /// A node starting mid-line at `at`; a block one has its entries at
    /// `indent`. Only an item (after `- `) may hold a compact mapping or
    /// sequence.
    fn inline(&mut self, at: usize, indent: usize, item: bool) -> Read<Node<'a>> {
        let b = self.bytes();
        let empty =
            |kind: &[u8]| b[at..].starts_with(kind) && matches!(b.get(at + 2), None | Some(b'\n'));
        let (node, end) = match b.get(at) {
            Some(b'{') if empty(b"{}") => (Node::EmptyMap, at + 2),
            Some(b'[') if empty(b"[]") => (Node::EmptySeq, at + 2),
            _ if item && is_item(b, at) => {
                self.pos = at;
                return Ok(Node::Seq {
                    indent,
                    inline: true,
                });
            }
            _ if item && self.key(at, indent).is_ok() => {
                self.pos = at;
                return Ok(Node::Map {
                    indent,
                    inline: true,
                });
            }
            Some(b'\'' | b'"') => {
                let (scalar, end) = self.quoted(at)?;
                if !matches!(b.get(end), None | Some(b'\n')) {
                    return Err(Bail);
                }
                (Node::Scalar(scalar), end)
            }
            // A plain value runs to the end of its line.
            _ => {
                let end = self.plain(at, false)?;
                (Plain(&self.text[at..end]), end)
            }
        };
        self.pos = self.next_line(end);
        Ok(node)
    }

    fn enter(&mut self) -> Read<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Bail);
        }
        Ok(())
    }
}

/// `-` then a blank: a sequence item (a lone `-` too, which is left to
/// serde_norway).
#[inline(always)]
fn is_item(b: &[u8], at: usize) -> bool {
    b.get(at) == Some(&b'-') && matches!(b.get(at + 1), None | Some(b' ' | b'\n'))
}

/// The value of a quoted or plain scalar: borrowed when nothing is undone.
#[inline(always)]
fn text<'a, V: Visitor<'a>>(scalar: Scalar<'a>, visitor: V) -> Read<V::Value> {
    match scalar {
        Scalar::Plain(s) => visitor.visit_borrowed_str(s),
        Scalar::Single(s) if !s.contains('\'') => visitor.visit_borrowed_str(s),
        Scalar::Single(s) => visitor.visit_string(s.replace("''", "'")),
        Scalar::Double(s) if !s.contains('\\') => visitor.visit_borrowed_str(s),
        Scalar::Double(s) => visitor.visit_string(unescape(s)?),
    }
}

/// The escapes of a double-quoted scalar, as libyaml reads them.
fn unescape(s: &str) -> Read<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let unescaped = match chars.next().ok_or(Bail)? {
            '0' => '\0',
            'a' => '\u{07}',
            'b' => '\u{08}',
            't' | '\t' => '\t',
            'n' => '\n',
            'v' => '\u{0B}',
            'f' => '\u{0C}',
            'r' => '\r',
            'e' => '\u{1B}',
            ' ' => ' ',
            '"' => '"',
            '/' => '/',
            '\\' => '\\',
            'N' => '\u{85}',
            '_' => '\u{A0}',
            'L' => '\u{2028}',
            'P' => '\u{2029}',
            'x' => hex(&mut chars, 2)?,
            'u' => hex(&mut chars, 4)?,
            'U' => hex(&mut chars, 8)?,
            _ => return Err(Bail),
        };
        out.push(unescaped);
    }
    Ok(out)
}

fn hex(chars: &mut std::str::Chars, n: usize) -> Read<char> {
    let mut code = 0u32;
    for _ in 0..n {
        code = code * 16 + chars.next().and_then(|c| c.to_digit(16)).ok_or(Bail)?;
    }
    char::from_u32(code).ok_or(Bail)
}

/// `~`, `null`, `Null`, `NULL` or nothing: YAML's null.
#[inline(always)]
fn is_null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

/// A plain scalar as serde_norway's `deserialize_any` resolves it: null, a
/// boolean, a number or a string. What may be a number is handed to
/// serde_norway itself (`...`, which would end a document of its own, is
/// none).
fn resolve<'a, V: Visitor<'a>>(s: &'a str, visitor: V) -> Read<V::Value> {
    if is_null(s) {
        return visitor.visit_unit();
    }
    match s {
        "true" | "True" | "TRUE" => return visitor.visit_bool(true),
        "false" | "False" | "FALSE" => return visitor.visit_bool(false),
        _ => {}
    }
    // Only letters, digits, signs and dots: read on its own, such text is
    // the same single scalar (a key such as `4:` would be a mapping).
    let may_be_number = s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
        && !s.starts_with("..")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if may_be_number {
        serde_yaml::Deserializer::from_str(s)
            .deserialize_any(visitor)
            .map_err(|_| Bail)
    } else {
        visitor.visit_borrowed_str(s)
    }
}

/// One node, as a serde `Deserializer`.
struct ValueDe<'r, 'a> {
    r: &'r mut Reader<'a>,
    node: Node<'a>,
}

impl<'a> ValueDe<'_, 'a> {
    fn empty_map<V: Visitor<'a>>(visitor: V) -> Read<V::Value> {
        visitor.visit_map(
            de::value::MapDeserializer::<std::iter::Empty<((), ())>, Bail>::new(std::iter::empty()),
        )
    }

    fn empty_seq<V: Visitor<'a>>(visitor: V) -> Read<V::Value> {
        visitor.visit_seq(
            de::value::SeqDeserializer::<std::iter::Empty<()>, Bail>::new(std::iter::empty()),
        )
    }

    fn block_map<V: Visitor<'a>>(self, indent: usize, inline: bool, visitor: V) -> Read<V::Value> {
        self.r.enter()?;
        let value = visitor.visit_map(MapAcc {
            r: &mut *self.r,
            indent,
            inline,
            after_key: 0,
        })?;
        self.r.depth -= 1;
        Ok(value)
    }

    fn block_seq<V: Visitor<'a>>(self, indent: usize, inline: bool, visitor: V) -> Read<V::Value> {
        self.r.enter()?;
        let value = visitor.visit_seq(SeqAcc {
            r: &mut *self.r,
            indent,
            inline,
        })?;
        self.r.depth -= 1;
        Ok(value)
    }
}

macro_rules! bail {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'a>>(self, _: V) -> Read<V::Value> {
                Err(Bail)
            }
        )*
    };
}

impl<'a> Deserializer<'a> for ValueDe<'_, 'a> {
    type Error = Bail;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Read<V::Value> {
        match self.node {
            Node::Scalar(Scalar::Plain(s)) => resolve(s, visitor),
            Node::Scalar(scalar) => text(scalar, visitor),
            Node::EmptyMap => Self::empty_map(visitor),
            Node::EmptySeq => Self::empty_seq(visitor),
            Node::Map { indent, inline } => self.block_map(indent, inline, visitor),
            Node::Seq { indent, inline } => self.block_seq(indent, inline, visitor),
        }
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Read<V::Value> {
        match self.node {
            Node::Scalar(scalar) => text(scalar, visitor),
            _ => Err(Bail),
        }
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Read<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Read<V::Value> {
        match self.node {
            Node::Scalar(Scalar::Plain(s)) if is_null(s) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Read<V::Value> {
        match self.node {
            Node::Scalar(Scalar::Plain(s)) if is_null(s) => visitor.visit_unit(),
            _ => Err(Bail),
        }
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Read<V::Value> {
        match self.node {
            Node::Map { indent, inline } => self.block_map(indent, inline, visitor),
            Node::EmptyMap | Node::Scalar(Scalar::Plain("")) => Self::empty_map(visitor),
            _ => Err(Bail),
        }
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Read<V::Value> {
        match self.node {
            Node::Seq { indent, inline } => self.block_seq(indent, inline, visitor),
            Node::EmptySeq | Node::Scalar(Scalar::Plain("")) => Self::empty_seq(visitor),
            _ => Err(Bail),
        }
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Read<V::Value> {
        self.deserialize_map(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Read<V::Value> {
        self.deserialize_any(visitor)
    }

    bail! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32
        deserialize_f64 deserialize_char deserialize_bytes deserialize_byte_buf
        deserialize_identifier
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(self, _: &'static str, _: V) -> Read<V::Value> {
        Err(Bail)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(self, _: &'static str, _: V) -> Read<V::Value> {
        Err(Bail)
    }

    fn deserialize_tuple<V: Visitor<'a>>(self, _: usize, _: V) -> Read<V::Value> {
        Err(Bail)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: usize,
        _: V,
    ) -> Read<V::Value> {
        Err(Bail)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Read<V::Value> {
        Err(Bail)
    }
}

/// A key, as a serde `Deserializer`.
struct KeyDe<'a>(Scalar<'a>);

impl<'de> Deserializer<'de> for KeyDe<'de> {
    type Error = Bail;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Read<V::Value> {
        match self.0 {
            Scalar::Plain(s) => resolve(s, visitor),
            scalar => text(scalar, visitor),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Read<V::Value> {
        text(self.0, visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Read<V::Value> {
        text(self.0, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct
        enum identifier ignored_any
    }
}

struct MapAcc<'r, 'a> {
    r: &'r mut Reader<'a>,
    indent: usize,
    inline: bool,
    /// Where the value of the key just read starts (after its `:`).
    after_key: usize,
}

impl<'a> MapAccess<'a> for MapAcc<'_, 'a> {
    type Error = Bail;

    #[inline(always)]
    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Read<Option<K::Value>> {
        let Some(at) = self.r.next_entry(self.indent, &mut self.inline)? else {
            return Ok(None);
        };
        let (key, after) = self.r.key(at, self.indent)?;
        self.after_key = after;
        seed.deserialize(KeyDe(key)).map(Some)
    }

    #[inline(always)]
    fn next_value_seed<S: DeserializeSeed<'a>>(&mut self, seed: S) -> Read<S::Value> {
        let node = self.r.value(self.after_key, self.indent)?;
        seed.deserialize(ValueDe {
            r: &mut *self.r,
            node,
        })
    }
}

struct SeqAcc<'r, 'a> {
    r: &'r mut Reader<'a>,
    indent: usize,
    inline: bool,
}

impl<'a> SeqAccess<'a> for SeqAcc<'_, 'a> {
    type Error = Bail;

    fn next_element_seed<S: DeserializeSeed<'a>>(&mut self, seed: S) -> Read<Option<S::Value>> {
        let Some(at) = self.r.next_entry(self.indent, &mut self.inline)? else {
            return Ok(None);
        };
        let b = self.r.bytes();
        // `- ` then the item on the same line (`-` alone is left to serde_norway).
        if !is_item(b, at) || b.get(at + 1) != Some(&b' ') {
            return Err(Bail);
        }
        let node = self.r.inline(at + 2, self.indent + 2, true)?;
        seed.deserialize(ValueDe {
            r: &mut *self.r,
            node,
        })
        .map(Some)
    }
}

#[cfg(test)]
mod tests;
