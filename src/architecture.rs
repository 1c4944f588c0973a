//! Checks on the shape of the source tree, so that it stays as described:
//!
//! * no cycle among the top-level modules of `src/`, nor among the files of
//!   `src/commands/` (a module depends on another when its code names it:
//!   `crate::…`, `super::…` or a child module's path; comments and strings
//!   do not count);
//! * the process environment is read in one place, [`crate::env`].

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One source file: its module path (`commands::auth::login`; `""` for the
/// crate root) and its code with comments and literals blanked out.
struct File {
    path: PathBuf,
    module: Vec<String>,
    code: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn files() -> Vec<File> {
    let root = src_dir();
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(&root).unwrap();
                // The build script is its own crate.
                if rel == Path::new("build.rs") {
                    continue;
                }
                let mut module: Vec<String> = rel
                    .with_extension("")
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    module.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    module.pop();
                }
                let text = fs::read_to_string(&path).unwrap();
                out.push(File {
                    path: rel.to_path_buf(),
                    code: blank_comments_and_literals(&text),
                    module,
                });
            }
        }
    }
    out.sort_by(|a, b| a.module.cmp(&b.module));
    out
}

/// The text with comments, string and character literals replaced by
/// spaces (line breaks kept), so that only code is searched.
fn blank_comments_and_literals(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend(bytes.iter().map(|&c| if c == b'\n' { b'\n' } else { b' ' }))
    };
    while i < b.len() {
        let rest = &b[i..];
        let len = if rest.starts_with(b"//") {
            rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len())
        } else if rest.starts_with(b"/*") {
            find(rest, b"*/").map_or(rest.len(), |at| at + 2)
        } else if let Some(len) = raw_string(rest) {
            len
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            (j + 1).min(rest.len())
        } else if rest[0] == b'\'' && rest.len() > 2 && (rest[2] == b'\'' || rest[1] == b'\\') {
            // A character literal ('"', '\''); lifetimes have no closing quote.
            let end = rest[2..]
                .iter()
                .position(|&c| c == b'\'')
                .map_or(1, |p| p + 3);
            if rest[1] == b'\\' || rest[2] == b'\'' {
                end
            } else {
                1
            }
        } else {
            out.push(rest[0]);
            i += 1;
            continue;
        };
        blank(&mut out, &rest[..len]);
        i += len;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The length of a raw string literal (`r"…"`, `r#"…"#`, `br"…"`) at the start.
fn raw_string(s: &[u8]) -> Option<usize> {
    let start = if s.starts_with(b"br") {
        2
    } else if s.starts_with(b"r") {
        1
    } else {
        return None;
    };
    let hashes = s[start..].iter().take_while(|&&c| c == b'#').count();
    if s.get(start + hashes) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = start + hashes + 1;
    Some(find(&s[body..], &close).map_or(s.len(), |at| body + at + close.len()))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Every path the code names, as module paths from the crate root:
/// `crate::a::b`, `super::c` and paths through a child module (`auth::x`),
/// `use` groups (`crate::a::{b, c::d}`) expanded.
fn named_paths(file: &File, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let code = &file.code;
    let inline = inline_modules(code);
    let mut paths = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b':');
        if !starts_word || !(bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
            i += 1;
            continue;
        }
        let here = module_at(file, &inline, i);
        let (path, len) = read_path(&code[i..]);
        i += len.max(1);
        // A bare `self`, `super` or `crate` (`pub(super)`) names no path.
        for p in path.into_iter().filter(|p| p.len() > 1) {
            let first = &p[0];
            let resolved = match first.as_str() {
                "crate" => p[1..].to_vec(),
                "super" => {
                    let mut base = here.clone();
                    let mut rest = &p[..];
                    while rest.first().is_some_and(|s| s == "super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                    base.extend(rest.iter().cloned());
                    base
                }
                "self" => {
                    let mut base = here.clone();
                    base.extend(p[1..].iter().cloned());
                    base
                }
                child if children.contains(child) && p.len() > 1 => {
                    let mut base = file.module.clone();
                    base.extend(p.iter().cloned());
                    base
                }
                _ => continue,
            };
            paths.push(resolved);
        }
    }
    paths
}

/// The inline modules of a file (`mod tests { … }`): name and byte range.
fn inline_modules(code: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("mod ") {
        let start = from + at;
        from = start + 4;
        if start > 0 && code.as_bytes()[start - 1].is_ascii_alphanumeric() {
            continue;
        }
        let rest = code[from..].trim_start();
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let after = rest[name_len..].trim_start();
        if name_len > 0 && after.starts_with('{') {
            let open = code.len() - after.len();
            let close = open + matching_brace(after);
            out.push((rest[..name_len].to_string(), open..close));
        }
    }
    out
}

/// The module the code at byte `at` of `file` is in.
fn module_at(file: &File, inline: &[(String, std::ops::Range<usize>)], at: usize) -> Vec<String> {
    let mut module = file.module.clone();
    module.extend(
        inline
            .iter()
            .filter(|(_, range)| range.contains(&at))
            .map(|(name, _)| name.clone()),
    );
    module
}

/// Reads `a::b::{c, d::e}` at the start of `s`: the paths, and the bytes read.
fn read_path(s: &str) -> (Vec<Vec<String>>, usize) {
    let ident_len = |s: &str| {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    let mut at = 0;
    let mut prefix = Vec::new();
    loop {
        let n = ident_len(&s[at..]);
        if n == 0 {
            break;
        }
        prefix.push(s[at..at + n].to_string());
        at += n;
        let after = s[at..].trim_start();
        if !after.starts_with("::") {
            return (vec![prefix], at);
        }
        at = s.len() - after.len() + 2;
        let after = s[at..].trim_start();
        at = s.len() - after.len();
        if after.starts_with('{') {
            let close = matching_brace(after);
            let mut out = Vec::new();
            for part in split_top_level(&after[1..close]) {
                let (subs, _) = read_path(part.trim());
                for sub in subs {
                    let mut p = prefix.clone();
                    if sub.first().is_some_and(|s| s != "self") {
                        p.extend(sub);
                    }
                    out.push(p);
                }
            }
            return (out, at + close + 1);
        }
    }
    (vec![prefix], at)
}

fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    s.len()
}

fn split_top_level(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// The `mod x;` / `mod x {` children a file declares.
fn children(file: &File) -> BTreeSet<String> {
    file.code
        .split(';')
        .flat_map(|stmt| stmt.split('{'))
        .filter_map(|stmt| {
            let words: Vec<&str> = stmt.split_whitespace().collect();
            let at = words.iter().rposition(|w| *w == "mod")?;
            (at + 2 == words.len()).then(|| words[at + 1].to_string())
        })
        .collect()
}

/// The module graph with each module mapped to a node by `node` (`None`:
/// not a node); edges between distinct nodes only.
fn graph(
    files: &[File],
    node: impl Fn(&[String]) -> Option<String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(from) = node(&file.module) else {
            continue;
        };
        edges.entry(from.clone()).or_default();
        for path in named_paths(file, &children(file)) {
            // The longest prefix of the path that is a module.
            let Some(target) = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p))
            else {
                continue;
            };
            if let Some(to) = node(&target).filter(|to| *to != from) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    edges
}

/// A cycle in the graph, as its nodes in order, if there is one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if !done.insert(n.to_string()) {
            return None;
        }
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(cycle) = visit(m, edges, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut done, &mut Vec::new()))
}

#[test]
fn no_cycle_among_the_top_level_modules() {
    let edges = graph(&files(), |m| m.first().cloned());
    assert!(edges.contains_key("commands") && edges["commands"].contains("state"));
    if let Some(cycle) = find_cycle(&edges) {
        panic!("module cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn no_cycle_among_the_files_of_commands() {
    let files = files();
    let edges = graph(&files, |m| {
        (m.first().is_some_and(|s| s == "commands")).then(|| {
            // A test module belongs to its file.
            let m = match m.last().map(String::as_str) {
                Some("tests") => &m[..m.len() - 1],
                _ => m,
            };
            m.join("::")
        })
    });
    assert!(edges["commands"].contains("commands::auth::login"));
    if let Some(cycle) = find_cycle(&edges) {
        panic!("module cycle in commands/: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let file = |module: &str, code: &str| File {
        path: PathBuf::new(),
        module: module.split("::").map(str::to_string).collect(),
        code: blank_comments_and_literals(code),
    };
    let files = [
        file("a", "mod inner; use crate::b::{self, x::Y}; // crate::c\n"),
        file("a::inner", "fn f() { super::super::c::g(\"crate::b\") }"),
        file("b", "pub mod x; fn f() { x::Y::new(); }"),
        file("b::x", "use crate::error::Result;"),
        file("c", "fn f() { crate::a::h(); let _ = r#\"crate::b\"#; }"),
        file("error", ""),
    ];
    let edges = graph(&files, |m| m.first().cloned());
    assert_eq!(
        edges["a"],
        ["b", "c"].map(String::from).into_iter().collect()
    );
    assert_eq!(edges["b"], ["error".to_string()].into_iter().collect());
    assert_eq!(
        find_cycle(&edges),
        Some(["a", "c", "a"].map(String::from).to_vec())
    );
}

/// Only [`crate::env`] reads the process environment; everything else gets
/// its variables from the snapshot in the command's [`Ctx`](crate::ctx::Ctx).
#[test]
fn the_environment_is_read_in_one_place() {
    let readers = ["env::var", "env::var_os", "env::vars", "env::vars_os"];
    let reads = |code: &str| {
        readers.iter().any(|r| {
            code.match_indices(r).any(|(at, _)| {
                !code[at + r.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        })
    };
    assert!(reads("let x = std::env::var(\"HOME\");") && !reads("env::variables()"));
    let mut found = Vec::new();
    for file in files() {
        if file.module == ["env"] {
            continue;
        }
        for (n, line) in file.code.lines().enumerate() {
            if reads(line) {
                found.push(format!("src/{}:{}", file.path.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "the environment is read at {found:?}");
}
