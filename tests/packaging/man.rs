//! The man pages in `man/`: lint-clean for mandoc, rendered by man-db, and
//! complete. Completeness is checked against the command table itself
//! (`difyctl::cli::spec`): every command path, flag and argument must be in
//! the page source, written as roff writes it (a `-` is `\-`), so a flag added
//! to the table without a man page fails here.

use std::collections::{BTreeMap, BTreeSet};

use difyctl::cli::flags::Flag;
use difyctl::cli::spec;
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
        .filter(|p| p.extension().is_some_and(|e| e == "1" || e == "5"))
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

/// A page's source, whole and split at its `.SS` lines (a subsection per
/// command of a group page, headed by the command's path).
struct Page {
    source: String,
    subsections: BTreeMap<String, String>,
}

impl Page {
    fn read(path: &Path) -> Page {
        let source = std::fs::read_to_string(path).unwrap();
        let mut subsections: BTreeMap<String, String> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in source.lines() {
            if let Some(heading) = line.strip_prefix(".SS ") {
                current = Some(heading.trim_matches('"').to_string());
            } else if line.starts_with(".SH ") {
                current = None;
            }
            if let Some(heading) = &current {
                let s = subsections.entry(heading.clone()).or_default();
                s.push_str(line);
                s.push('\n');
            }
        }
        Page {
            source,
            subsections,
        }
    }
}

/// A word as roff source spells it: every `-` is `\-`.
fn roff(word: &str) -> String {
    word.replace('-', "\\-")
}

/// Does `word` (roff-spelled) occur in `source` as a whole word: not inside a
/// longer word or flag (`\-\-password` is not in `\-\-password\-stdin`)?
fn has_word(source: &str, word: &str) -> bool {
    let word = roff(word);
    let part = |c: char| c.is_ascii_alphanumeric() || c == '_';
    source.match_indices(&word).any(|(i, _)| {
        let before = &source[..i];
        let after = &source[i + word.len()..];
        // A font change (`\fB`) ends a word.
        let font = before.len() >= 3 && before[..before.len() - 1].ends_with("\\f");
        (font || !before.chars().next_back().is_some_and(part))
            && !before.ends_with("\\-")
            && !after.chars().next().is_some_and(part)
            && !after.starts_with("\\-")
    })
}

/// `--output` and `-o`.
fn spellings(flag: &Flag) -> Vec<String> {
    let mut v = vec![format!("--{}", flag.long)];
    v.extend(flag.short.map(|c| format!("-{c}")));
    v
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
    let leaves = spec::leaves();
    assert!(leaves.len() >= 15, "the table has too few commands");

    // Flags every command takes are the global ones: documented in
    // difyctl(1), as are the root's own flags.
    let global: Vec<&Flag> = leaves[0]
        .1
        .accepted_flags()
        .filter(|f| leaves.iter().all(|(_, n)| n.accepts(f)))
        .collect();
    assert!(global.iter().any(|f| f.long == "verbose"), "{global:?}");
    let mut missing = Vec::new();
    for flag in global.iter().copied().chain(spec::ROOT.accepted_flags()) {
        for spelling in spellings(flag) {
            if !has_word(&overview.source, &spelling) {
                missing.push(format!("difyctl(1) lacks the flag {spelling}"));
            }
        }
    }

    for (words, node) in spec::walk().into_iter().filter(|(p, _)| !p.is_empty()) {
        let path = words.join(" ");
        // A group's page is difyctl-<group>(1); root commands live in difyctl(1).
        let page_name = format!("difyctl-{}", words[0]);
        let (page_name, page) = match pages.get(&page_name) {
            Some(page) => (page_name, page),
            None => ("difyctl".to_string(), overview),
        };
        if !has_word(&page.source, &path) || !has_word(&overview.source, &path) {
            missing.push(format!(
                "command '{path}' is not named in {page_name}(1) and difyctl(1)"
            ));
        }
        if node.is_group() {
            continue;
        }
        // A command of a group page has its own subsection, named by its path.
        let section = match page.subsections.get(&path) {
            Some(section) => section,
            None if words.len() > 1 => {
                missing.push(format!("{page_name}(1) has no subsection '.SS {path}'"));
                continue;
            }
            None => &page.source,
        };
        for flag in node
            .accepted_flags()
            .filter(|f| !global.iter().any(|g| std::ptr::eq(*g, *f)))
        {
            for spelling in spellings(flag) {
                if !has_word(section, &spelling) {
                    missing.push(format!("'{path}' flag {spelling} is not in {page_name}(1)"));
                }
            }
        }
        for arg in node.args {
            let name = arg.name.trim_end_matches("...");
            if !has_word(section, name) {
                missing.push(format!("'{path}' argument {name} is not in {page_name}(1)"));
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
        assert!(has_word(&overview.source, name), "difyctl(1) lacks {name}");
    }
    for name in &names {
        assert!(
            has_word(&env_page.source, name),
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
fn whole_words_in_roff_source() {
    assert!(has_word(".BR \\-o \", \" \\-\\-output", "-o"));
    assert!(has_word(".BR \\-o \", \" \\-\\-output", "--output"));
    assert!(has_word("a \\fB\\-\\-json\\fR b", "--json"));
    assert!(has_word("a \\-\\-password\\-stdin b", "--password-stdin"));
    assert!(!has_word("a \\-\\-password\\-stdin b", "--password"));
    assert!(!has_word("\\-\\-output", "-o"));
    assert!(!has_word("\\-\\-version", "-v"));
    assert!(has_word("(\\-o json)", "-o"));
    assert!(has_word(".B auth devices list", "auth devices list"));
}
