//! The fast reader against serde_norway: on hand-picked texts, and on what
//! difyctl writes for random contexts (the fuzz targets do the same on
//! arbitrary input).

use serde_yaml::{Mapping, Value};

use crate::state::yaml::compare_readers;
use crate::state::{Account, Context, Document, Registry, TokenFile, Workspace};

/// Both readers agree on `text` as `hosts.yml`, and the fast one read it
/// (`true`) or left it to serde_norway (`false`).
fn fast_hosts(text: &str) -> bool {
    compare_readers::<Option<Registry>>(text).unwrap_or_else(|e| panic!("{e}"))
}

/// [`fast_hosts`] for either store.
fn fast(text: &str) -> bool {
    let hosts = compare_readers::<Option<Registry>>(text).unwrap_or_else(|e| panic!("{e}"));
    let tokens = compare_readers::<Option<crate::state::tokens::RawFile>>(text)
        .unwrap_or_else(|e| panic!("{e}"));
    hosts || tokens
}

#[test]
fn reads_the_shape_it_is_made_for() {
    for text in [
        "",
        "token_storage: file\nhosts: {}\n",
        "token_storage: keychain\ncurrent_host: h\nhosts:\n  h:\n    scheme: http\n    accounts:\n      a@b:\n        account:\n          id: '1'\n          email: a@b\n          name: \"A \\u00e9\\t\\\"x\\\"\"\n        token_id: t\n",
        "hosts:\n  h:\n    accounts:\n      e:\n        account: {}\n        workspace:\n          id: w\n          name: it''s\n          role: owner\n",
        "hosts:\n",
        "hosts:\n  h:\n    accounts:\n",
        "current_host: ~\nhosts: {}\n",
        "current_host: null\nhosts: {}\n",
        "current_host: 'null'\nhosts: {}\n",
        "x: 1\ny: -2\nz: 1.5\nw: .inf\nv: 0x1F\nu: 1e5\nt: true\ns: ~\nr: []\nq: {}\n",
        "x:\n  - 1\n  - a: b\n    c: d\n  - - p\n    - q\n  - []\n",
        "x: 123456789012345678901234567890\n",
        "x:\n  4::\n  4:x: 1\n  1e5: 2\n",
        "x: 王 😀 é\n",
        "'1': one\n'yes': 2\n\"a\\tb\": 3\n",
        "version: 1\ntokens:\n  h:\n    a@x: dfoa_1\n",
        "localhost:5001: x\nhttps://h/x: y\na,b[c]{d}: e\n",
        "name: it's:fine\n",
        "name: ...x\n",
        "a: b\nc: d",
    ] {
        assert!(fast(text), "{text:?}");
    }
}

#[test]
fn leaves_everything_else_to_serde_norway() {
    for text in [
        "\n",
        "# comment\nhosts: {}\n",
        "hosts: {} # comment\n",
        "hosts: {a: 1}\n",
        "hosts: [1]\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: !t 1\n",
        "a: |\n  x\n",
        "a: >\n  x\n",
        "a:\n- 1\n",
        "a:\n    b: 1\n",
        "a: b\n\nc: d\n",
        "a:\tb\n",
        "a: b \n",
        "a: 'b' \n",
        "a: 'b\n  c'\n",
        "a: \"b\\\n  c\"\n",
        "a: b\r\n",
        "a: b\n  c\n",
        "a: b: c\n",
        "? a\n: b\n",
        "---\na: b\n",
        "a: b\n...\n",
        "... x: y\n",
        "%YAML 1.2\n---\na: b\n",
        "a: -x\n",
        "a: - 1\n",
        "a: @x\n",
        "a: \"\\q\"\n",
        "a: \"\\ud800\"\n",
        "a: \u{85}\n",
        "a: \u{a0}b\n",
        "a: \u{feff}b\n",
        "a: b\u{7f}\n",
        "  a: b\n",
        "a:\n  b: c\n   d: e\n",
        "a:\n  - b\n  c: d\n",
        "-\n  a\n",
        "a:\n  -\n    b\n",
    ] {
        assert!(!fast(text), "{text:?}");
    }
}

#[test]
fn duplicates_and_schema_errors_go_to_serde_norway_too() {
    for text in [
        "hosts: {}\nhosts: {}\n",
        "hosts:\n  h: {}\n  h: {}\n",
        "token_storage: cloud\n",
        "hosts:\n  h:\n    accounts:\n      e:\n        token_id: t\n",
        "hosts:\n  h: 5\n",
        "x:\n  a: 1\n  a: 2\n",
        "x:\n  1: a\n  '1': b\n",
    ] {
        assert!(!fast_hosts(text), "{text:?}");
        // Refused, or read with the entry that does not fit set aside.
        if let Ok(reg) = Registry::parse(text, std::path::Path::new("hosts.yml")) {
            assert_eq!(reg.damaged().count(), 1, "{text:?}");
        }
    }
}

/// A small deterministic generator (xorshift).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Text of pieces that YAML treats specially.
    fn text(&mut self) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "host",
            "@",
            ".",
            "0",
            "1",
            "9",
            " ",
            ":",
            ": ",
            "#",
            " #",
            "-",
            "- ",
            "?",
            "'",
            "\"",
            "\\",
            ",",
            "[",
            "]",
            "{",
            "}",
            "&",
            "*",
            "!",
            "|",
            ">",
            "%",
            "`",
            "~",
            "+",
            "e",
            "x",
            "_",
            "=",
            "é",
            "王",
            "😀",
            "\t",
            "\u{7f}",
            "\u{85}",
            "\u{a0}",
            "\u{feff}",
            "\u{2028}",
            "\u{1b}",
            "\r",
            "\0",
            "y",
            "no",
            "null",
            "true",
            "0x1F",
            "1e5",
            ".5",
            "...",
            "---",
            "<<",
            "2026-07-01",
            "1:30",
            "\n",
        ];
        (0..self.below(7))
            .map(|_| PIECES[self.below(PIECES.len())])
            .collect()
    }

    fn value(&mut self, depth: usize) -> Value {
        match self.below(if depth > 2 { 6 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(self.below(2) == 0),
            2 => Value::from(self.next() as i64 >> self.below(64)),
            3 => Value::from([0.5, -2.25, 1e-7, 5.5e37, 0.1][self.below(5)]),
            4 | 5 => Value::String(self.text()),
            6 => Value::Sequence((0..self.below(3)).map(|_| self.value(depth + 1)).collect()),
            _ => {
                let mut m = Mapping::new();
                for _ in 0..self.below(3) {
                    m.insert(Value::String(self.text()), self.value(depth + 1));
                }
                Value::Mapping(m)
            }
        }
    }
}

#[test]
fn reads_what_difyctl_writes() {
    let mut random = Random(0x2545_f491_4f6c_dd1d);
    let mut read_fast = 0;
    for round in 0..300 {
        let mut reg = Registry::default();
        let mut tokens = TokenFile::default();
        for _ in 0..random.below(4) {
            let (host, email) = (random.text(), random.text());
            let mut ctx = Context {
                account: Account {
                    id: (random.below(2) == 0).then(|| random.text()),
                    email: random.text(),
                    name: random.text(),
                    ..Account::default()
                },
                token_id: (random.below(2) == 0).then(|| random.text()),
                ..Context::default()
            };
            if random.below(2) == 0 {
                ctx.workspace = Some(Workspace {
                    id: random.text(),
                    name: random.text(),
                    role: random.text(),
                    ..Workspace::default()
                });
            }
            if random.below(3) == 0 {
                let key = format!("x{}", random.text());
                ctx.extra.push((key, random.value(0)));
            }
            reg.upsert(
                &host,
                if round % 2 == 0 { "https" } else { "http" },
                &email,
                ctx,
            )
            .unwrap();
            tokens.set(&host, &email, random.text()).unwrap();
        }
        for text in [reg.render(), tokens.render()] {
            // Only block scalars (text with line breaks) are left to serde_norway.
            let expected = !text.contains(['|']);
            let read = fast(&text);
            assert!(read || !expected, "not read fast:\n{text}");
            read_fast += usize::from(read);
        }
        let path = std::path::Path::new("hosts.yml");
        assert_eq!(Registry::parse(&reg.render(), path).unwrap(), reg);
    }
    assert!(read_fast > 300, "{read_fast}");
}

/// The fuzz targets start from seeds in the fast shape, so that they
/// compare the readers from the first run.
#[test]
fn the_fuzz_seeds_of_that_shape_are_read_fast() {
    for text in [
        include_str!("../../../../fuzz/seeds/hosts_yml/fast_shape.yml"),
        include_str!("../../../../fuzz/seeds/hosts_yml/example.yml"),
        include_str!("../../../../fuzz/seeds/tokens_yml/v1.yml"),
    ] {
        assert!(fast(text), "{text}");
    }
}
