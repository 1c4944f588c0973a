//! The man pages in `man/`: lint-clean for mandoc, rendered by man-db, and
//! complete. Completeness is checked against the binary itself: every command
//! path reached through the `COMMANDS` sections of `difyctl help …`, and every
//! flag and argument of its `FLAGS`/`ARGUMENTS` sections, must be documented,
//! so a flag added to the command table without a man page fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::runner::Test;
use crate::support::tools::available as installed;

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(man_dir())
        .expect("man/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "1"))
        .collect();
    pages.sort();
    assert!(pages.len() >= 6, "{pages:?}");
    pages
}

/// No message at all, down to style (`-W style`: lines over 80 bytes, a
/// missing date, trailing blanks, ...).
#[test]
fn mandoc_lint_is_clean() {
    if !installed("mandoc") {
        return;
    }
    let out = Command::new("mandoc")
        .args(["-T", "lint", "-W", "style"])
        .args(pages())
        .output()
        .unwrap();
    let messages = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && messages.is_empty(), "{messages}");
}

#[test]
fn man_renders_every_page() {
    if !installed("man") {
        return;
    }
    for page in pages() {
        let out = Command::new("man")
            .arg("-l")
            .arg(&page)
            .env("MANWIDTH", "80")
            .env("MANPAGER", "cat")
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{}: {stderr}",
            page.display()
        );
        assert!(
            stdout.contains("NAME") && stdout.contains("SEE ALSO"),
            "{stdout}"
        );
    }
}

/// A man page reduced to plain text: the whole page, and each `.SS`
/// subsection by heading. Whitespace is collapsed so matches may span lines.
struct Page {
    text: String,
    subsections: BTreeMap<String, String>,
}

impl Page {
    fn read(path: &Path) -> Page {
        let source = std::fs::read_to_string(path).unwrap();
        let mut text = String::new();
        let mut subsections: BTreeMap<String, String> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in source.lines() {
            let (name, plain) = roff_line(line);
            match name.as_str() {
                "SS" => current = Some(collapse(&plain)),
                "SH" => current = None,
                _ => {}
            }
            text.push_str(&plain);
            text.push(' ');
            if let Some(heading) = &current {
                let s = subsections.entry(heading.clone()).or_default();
                s.push_str(&plain);
                s.push(' ');
            }
        }
        Page {
            text: collapse(&text),
            subsections: subsections
                .into_iter()
                .map(|(k, v)| (k, collapse(&v)))
                .collect(),
        }
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One source line as text: the macro name (if any) and its words. The
/// alternating-font macros (`.BR a b`) join their arguments without spaces.
fn roff_line(line: &str) -> (String, String) {
    if line.starts_with(".\\\"") || line.starts_with("'\\\"") {
        return (String::new(), String::new());
    }
    let Some(rest) = line.strip_prefix('.') else {
        return (String::new(), unescape(line));
    };
    let (name, args) = rest.split_once(' ').unwrap_or((rest, ""));
    let args = macro_args(args);
    let joiner = if matches!(name, "BR" | "BI" | "IB" | "IR" | "RB" | "RI") {
        ""
    } else {
        " "
    };
    (name.to_string(), unescape(&args.join(joiner)))
}

/// Macro arguments: blank-separated, `"…"` quoted (`""` is a literal quote).
fn macro_args(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut arg = String::new();
        if first == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        arg.push('"');
                    } else {
                        break;
                    }
                } else {
                    arg.push(c);
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                arg.push(c);
                chars.next();
            }
        }
        args.push(arg);
    }
    args
}

/// The escapes these pages use, decoded; font changes dropped.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('-') => out.push('-'),
            Some('e' | '\\') => out.push('\\'),
            Some(' ') => out.push(' '),
            Some('&' | 'c') | None => {}
            Some('f') => match chars.next() {
                Some('(') => {
                    chars.next();
                    chars.next();
                }
                Some('[') => while chars.next().is_some_and(|c| c != ']') {},
                _ => {}
            },
            Some('(') => {
                let name: String = chars.by_ref().take(2).collect();
                out.push_str(match name.as_str() {
                    "aq" => "'",
                    "dq" | "lq" | "rq" => "\"",
                    "ga" => "`",
                    "em" => "—",
                    "bu" => "•",
                    _ => "?",
                });
            }
            Some('[') => {
                while chars.next().is_some_and(|c| c != ']') {}
                out.push('?');
            }
            Some(other) => out.push(other),
        }
    }
    out
}

/// Does `word` occur in `text` as a whole word (flags: not inside a longer flag)?
fn has_word(text: &str, word: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

/// A node reached through the help output.
struct HelpNode {
    path: Vec<String>,
    group: bool,
    flags: Vec<String>,
    args: Vec<String>,
}

/// The indented lines under each all-caps heading of a help text.
fn help_sections(help: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in help.lines() {
        if !line.is_empty() && !line.starts_with(' ') {
            current = line.to_string();
        } else if let Some(body) = line.strip_prefix("  ") {
            out.entry(current.clone())
                .or_default()
                .push(body.to_string());
        }
    }
    out
}

/// The first column of a help table row (columns are separated by 2+ spaces).
fn first_cell(row: &str) -> &str {
    row.trim_start().split("  ").next().unwrap_or("")
}

fn walk_help() -> Vec<HelpNode> {
    let mut nodes = Vec::new();
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = queue.pop() {
        let mut argv = vec!["help".to_string()];
        argv.extend(path.iter().cloned());
        let help = Test::new().args(&argv).run().code(0).stdout;
        let sections = help_sections(&help);
        let commands = sections.get("COMMANDS");
        for row in commands.into_iter().flatten() {
            let mut child = path.clone();
            child.push(first_cell(row).to_string());
            queue.push(child);
        }
        let flags = sections
            .get("FLAGS")
            .into_iter()
            .flatten()
            .flat_map(|row| {
                first_cell(row)
                    .split([' ', ','])
                    .filter(|w| w.starts_with('-'))
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        let args = sections
            .get("ARGUMENTS")
            .into_iter()
            .flatten()
            .map(|row| first_cell(row).trim_end_matches("...").to_lowercase())
            .collect();
        nodes.push(HelpNode {
            path,
            group: commands.is_some(),
            flags,
            args,
        });
    }
    nodes.sort_by(|a, b| a.path.cmp(&b.path));
    nodes
}

#[test]
fn every_command_flag_and_argument_is_documented() {
    let pages: BTreeMap<String, Page> = pages()
        .iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, Page::read(p))
        })
        .collect();
    let overview = &pages["difyctl"];
    let nodes = walk_help();
    let leaves: Vec<&HelpNode> = nodes.iter().filter(|n| !n.group).collect();
    assert!(leaves.len() >= 15, "help walk found too few commands");

    // Flags every command has are the global ones: documented in difyctl(1),
    // as are the root's own flags.
    let mut global: BTreeSet<&String> = leaves[0].flags.iter().collect();
    for leaf in &leaves {
        global.retain(|f| leaf.flags.contains(f));
    }
    assert!(global.contains(&"--verbose".to_string()), "{global:?}");
    let root = nodes.iter().find(|n| n.path.is_empty()).unwrap();
    let mut missing = Vec::new();
    for flag in global.iter().copied().chain(&root.flags) {
        if !has_word(&overview.text, flag) {
            missing.push(format!("difyctl(1) lacks the flag {flag}"));
        }
    }

    for node in nodes.iter().filter(|n| !n.path.is_empty()) {
        let path = node.path.join(" ");
        // A group's page is difyctl-<group>(1); root commands live in difyctl(1).
        let page_name = format!("difyctl-{}", node.path[0]);
        let (page_name, page) = match pages.get(&page_name) {
            Some(page) => (page_name, page),
            None => ("difyctl".to_string(), overview),
        };
        if !has_word(&page.text, &path) || !has_word(&overview.text, &path) {
            missing.push(format!(
                "command '{path}' is not named in {page_name}(1) and difyctl(1)"
            ));
        }
        if node.group {
            continue;
        }
        // A command of a group page has its own subsection, named by its path.
        let section = match page.subsections.get(&path) {
            Some(section) => section,
            None if node.path.len() > 1 => {
                missing.push(format!("{page_name}(1) has no subsection '.SS {path}'"));
                continue;
            }
            None => &page.text,
        };
        for flag in node.flags.iter().filter(|f| !global.contains(f)) {
            if !has_word(section, flag) {
                missing.push(format!("'{path}' flag {flag} is not in {page_name}(1)"));
            }
        }
        for arg in &node.args {
            if !has_word(section, arg) {
                missing.push(format!("'{path}' argument {arg} is not in {page_name}(1)"));
            }
        }
    }
    assert!(missing.is_empty(), "\n{}", missing.join("\n"));
}

#[test]
fn every_environment_variable_is_documented() {
    let test = Test::new().args(["env", "list", "--json"]);
    let out = test.run().code(0);
    let names: Vec<String> = out
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 10);
    let extra = [
        "NO_COLOR",
        "DIFYCTL_NO_COLOR",
        "DIFY_E2E_NO_KEYRING",
        "SSL_CERT_FILE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "XDG_CONFIG_HOME",
    ];
    let overview = Page::read(&man_dir().join("difyctl.1"));
    let env_page = Page::read(&man_dir().join("difyctl-env.1"));
    for name in names.iter().map(String::as_str).chain(extra) {
        assert!(has_word(&overview.text, name), "difyctl(1) lacks {name}");
    }
    for name in &names {
        assert!(
            has_word(&env_page.text, name),
            "difyctl-env(1) lacks {name}"
        );
    }
}

#[test]
fn pages_carry_the_version_and_refer_to_existing_pages() {
    let version = format!("\"difyctl {}\"", env!("CARGO_PKG_VERSION"));
    let existing: BTreeSet<String> = pages()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for page in pages() {
        let source = std::fs::read_to_string(&page).unwrap();
        let th = source.lines().find(|l| l.starts_with(".TH ")).unwrap();
        assert!(th.contains(&version), "{}: {th}", page.display());
        // `.BR difyctl\-auth (1)` and the like.
        for line in source.lines().filter(|l| l.starts_with(".BR difyctl")) {
            let name = line[4..].split(' ').next().unwrap().replace("\\-", "-");
            assert!(
                existing.contains(&name),
                "{} refers to {name}(1)",
                page.display()
            );
        }
    }
}

#[test]
fn roff_reading() {
    let (name, text) = roff_line(r#".BR \-o ", " \-\-output " " json | yaml"#);
    assert_eq!(
        (name.as_str(), text.as_str()),
        ("BR", "-o, --output json|yaml")
    );
    assert_eq!(
        unescape(r"\fB\-\-json\fR and \(aqa\(aq\&."),
        "--json and 'a'."
    );
    assert!(has_word("a --password-stdin b", "--password-stdin"));
    assert!(!has_word("a --password-stdin b", "--password"));
    assert!(has_word("(-o json)", "-o"));
    assert!(!has_word("--output", "-o"));
}
