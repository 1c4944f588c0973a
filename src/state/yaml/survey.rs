//! A light lexical pass over YAML text, for what serde_norway cannot be
//! asked about: flow collections nested too deep (refused before libyaml
//! scans them), and tags (which its values do not keep).

/// The deepest nesting of flow collections (`[…]`, `{…}`) accepted. serde_norway
/// refuses more than 128 levels anyway, but only after libyaml has scanned the
/// whole document, and that scan takes time quadratic in the nesting: a 200 KB
/// file of brackets would take minutes. So such files are refused up front.
pub(super) const MAX_FLOW_DEPTH: usize = 128;

/// Where flow collections first nest deeper than [`MAX_FLOW_DEPTH`], as a
/// 1-based (line, column), if they do. A file with no more brackets than that
/// cannot, so ordinary files are not surveyed at all.
pub(super) fn too_deep(text: &str) -> Option<(usize, usize)> {
    let brackets = text.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
    if brackets <= MAX_FLOW_DEPTH {
        return None;
    }
    survey(text, false).too_deep
}

/// The first tag that writing the values back would lose, with its 1-based
/// (line, column): any but the core `!!str`, `!!int`, `!!float`, `!!bool`,
/// `!!null`, `!!map` and `!!seq`, whose values are kept as such. A file
/// without a `!` has none.
pub(super) fn lost_tag(text: &str) -> Option<(String, usize, usize)> {
    if !text.as_bytes().contains(&b'!') {
        return None;
    }
    survey(text, true).tag
}

/// What one pass found.
#[derive(Default)]
struct Survey {
    too_deep: Option<(usize, usize)>,
    tag: Option<(String, usize, usize)>,
}

const KEPT_TAGS: [&str; 7] = [
    "!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq",
];

fn blank(b: Option<&u8>) -> bool {
    matches!(b, None | Some(b' ' | b'\t' | b'\r'))
}

/// One pass that knows where YAML has flow indicators and node properties
/// and where the same characters are just text (quoted and plain scalars,
/// block scalars, comments). Stops at the first thing looked for.
fn survey(text: &str, tags: bool) -> Survey {
    let mut found = Survey::default();
    let mut depth = 0usize;
    // Inside a quoted scalar that goes on past its line: the quote character.
    let mut quote: Option<u8> = None;
    // Lines of a block scalar (`|`, `>`) are those indented deeper than this.
    let mut block_scalar: Option<usize> = None;
    // In flow context: the last significant character, and whether a space
    // came after it (a quote or a property only starts where a node can).
    let mut prev: Option<u8> = None;
    for (n, line) in text.split('\n').enumerate() {
        let line = line.as_bytes();
        let at = |i: usize| {
            (
                n + 1,
                String::from_utf8_lossy(&line[..i]).chars().count() + 1,
            )
        };
        let indent = line.iter().take_while(|c| **c == b' ').count();
        if let Some(level) = block_scalar {
            if line.iter().all(|c| blank(Some(c))) || indent > level {
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
                    b'\\' if q == b'"' => i += 1,
                    b'\'' if q == b'\'' && line.get(i + 1) == Some(&b'\'') => i += 1,
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
            let spaced_after = blank(line.get(i + 1));
            let flow_node_start = matches!(prev, Some(b'[' | b'{' | b','))
                || (matches!(prev, Some(b':' | b'?')) && gap);
            match c {
                b'!' | b'&' | b'*' if depth == 0 || flow_node_start => {
                    // A property or alias runs to a blank (or, in flow, an indicator).
                    let start = i;
                    while i + 1 < line.len()
                        && !blank(line.get(i + 1))
                        && !(depth > 0 && matches!(line[i + 1], b',' | b'[' | b']' | b'{' | b'}'))
                    {
                        i += 1;
                    }
                    let token = String::from_utf8_lossy(&line[start..=i]);
                    if tags && c == b'!' && !KEPT_TAGS.contains(&token.as_ref()) {
                        let (line, column) = at(start);
                        found.tag = Some((token.into_owned(), line, column));
                        return found;
                    }
                    i += 1;
                    continue;
                }
                _ => {}
            }
            if depth == 0 {
                // Block context: only value positions can start a collection,
                // a quoted scalar or a block scalar; anything else is plain text.
                match c {
                    b' ' | b'\t' => {}
                    b'#' => break,
                    b'-' | b'?' | b':' if spaced_after => {}
                    b'[' | b'{' => {
                        depth = 1;
                        prev = Some(c);
                        gap = false;
                    }
                    b'"' | b'\'' => quote = Some(c),
                    b'|' | b'>' => {
                        block_scalar = Some(indent);
                        break;
                    }
                    _ => {
                        // A plain scalar runs to `: `, ` #` or the end of the line.
                        while i + 1 < line.len() {
                            let next = line[i + 1];
                            let after = blank(line.get(i + 2));
                            if (next == b':' && after) || (next == b'#' && blank(Some(&line[i]))) {
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
                b' ' | b'\t' => gap = true,
                b'#' if gap => break,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        found.too_deep = Some(at(i));
                        return found;
                    }
                    prev = Some(c);
                    gap = false;
                }
                b']' | b'}' => {
                    depth -= 1;
                    prev = Some(c);
                    gap = false;
                }
                b'"' | b'\'' if flow_node_start => quote = Some(c),
                // `{"a":"b"}`: a value right after a quoted key's colon.
                b':' if matches!(prev, Some(b'"' | b'\'')) && !gap => {
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
    found
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_yaml::Value;

    use super::*;
    use crate::state::yaml::{dump, parse};

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
    fn tags_whose_meaning_a_rewrite_would_lose_are_found() {
        for (text, tag) in [
            ("a: !!binary aGVsbG8=\n", Some(("!!binary", 1, 4))),
            ("a: x\nb:\n  - !!set {x}\n", Some(("!!set", 3, 5))),
            (
                "a: [1, !!timestamp 2001-12-14]\n",
                Some(("!!timestamp", 1, 8)),
            ),
            ("a: {k: !local v}\n", Some(("!local", 1, 8))),
            ("!t a: b\n", Some(("!t", 1, 1))),
            ("a: !<tag:x> b\n", Some(("!<tag:x>", 1, 4))),
            ("a: !!str 1\nb: !!int 2\nc: [!!float 1, !!null ~]\n", None),
            (
                "a: Hello!\nb: Hi !x\nc: 'it !!binary'\nd: \"!!binary\"\n",
                None,
            ),
            ("a: |\n  !!binary x\nb: c # !!binary\n", None),
            ("a: &x !!str 1\nb: *x\n", None),
        ] {
            let found = lost_tag(text);
            assert_eq!(
                found.as_ref().map(|(t, l, c)| (t.as_str(), *l, *c)),
                tag,
                "{text:?}"
            );
        }
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
}
