//! Refusing flow collections nested too deep before libyaml scans them.

/// The deepest nesting of flow collections (`[…]`, `{…}`) accepted. serde_norway
/// refuses more than 128 levels anyway, but only after libyaml has scanned the
/// whole document, and that scan takes time quadratic in the nesting: a 200 KB
/// file of brackets would take minutes. So such files are refused up front.
pub(super) const MAX_FLOW_DEPTH: usize = 128;

/// Where flow collections first nest deeper than [`MAX_FLOW_DEPTH`], as a
/// 1-based (line, column), if they do. A file with no more brackets than that
/// cannot, so ordinary files are not scanned at all; otherwise one pass that
/// knows where YAML has flow indicators and where brackets are just text
/// (quoted and plain scalars, block scalars, comments).
pub(super) fn too_deep(text: &str) -> Option<(usize, usize)> {
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
