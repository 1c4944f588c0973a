//! The guides of `difyctl help <guide>` are sections of difyctl(1): each
//! section holds, between two comment lines, the guide's text set in roff
//! from the same blocks (`difyctl::cli::topics`), and this test checks it
//! word for word. `make man-topics` (DIFYCTL_UPDATE_MAN=1) writes the
//! sections after a guide changed.

use std::path::Path;

use difyctl::cli::topics::{Block, TOPICS, Topic};

fn page_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man/difyctl.1")
}

fn begin(topic: &Topic) -> String {
    format!(
        ".\\\" From 'difyctl help {}' in src/cli/topics ('make man-topics' writes it).",
        topic.name
    )
}

const END: &str = ".\\\" End of the text from src/cli/topics.";

/// Text as a roff text line: `\\` `-` escaped, `code` in bold, a leading
/// `.` or `'` made literal.
fn escape(text: &str) -> String {
    let out = escape_word(text, &mut false);
    if out.starts_with('.') || out.starts_with('\'') {
        format!("\\&{out}")
    } else {
        out
    }
}

/// A paragraph's source lines: a sentence a line (as roff wants them),
/// each at most 78 bytes, broken between words.
fn lines(text: &str) -> Vec<String> {
    let mut sentences: Vec<String> = Vec::new();
    let mut current = String::new();
    let words: Vec<&str> = text.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
        let next_starts_upper = words.get(i + 1).is_some_and(|w| {
            w.starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '`')
        });
        if word.ends_with('.') && next_starts_upper {
            sentences.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        sentences.push(current);
    }
    let mut out = Vec::new();
    for sentence in sentences {
        let mut line = String::new();
        let mut in_code = false;
        for word in sentence.split(' ') {
            let escaped = escape_word(word, &mut in_code);
            if !line.is_empty() && line.len() + 1 + escaped.len() > 78 {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&escaped);
        }
        out.push(line);
    }
    out.into_iter()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect()
}

/// One word escaped, bold state carried across words.
fn escape_word(word: &str, in_code: &mut bool) -> String {
    let mut out = String::new();
    for c in word.chars() {
        match c {
            '`' => {
                out.push_str(if *in_code { "\\fR" } else { "\\fB" });
                *in_code = !*in_code;
            }
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            c => out.push(c),
        }
    }
    out
}

/// The roff of a guide's blocks.
fn roff(topic: &Topic) -> String {
    let mut out = vec![begin(topic)];
    // Right after a heading (the section's `.SH` comes just before) a
    // paragraph needs no `.PP`.
    let mut after_heading = true;
    for block in (topic.body)() {
        let paragraph = if after_heading {
            None
        } else {
            Some(".PP".to_string())
        };
        after_heading = matches!(block, Block::Heading(_));
        match block {
            Block::Heading(h) => out.push(format!(".SS {h}")),
            Block::Para(text) => {
                out.extend(paragraph);
                out.extend(lines(&text));
            }
            Block::Item(term, text) => {
                for (i, name) in term.split(", ").enumerate() {
                    out.push(if i == 0 { ".TP" } else { ".TQ" }.to_string());
                    out.push(format!(".B {}", escape(name)));
                }
                out.extend(lines(&text));
            }
            Block::Example(commands) => {
                out.extend(paragraph);
                out.push(".RS".to_string());
                out.push(".EX".to_string());
                for c in commands {
                    // Shown whole in the page: a line too long is continued.
                    let mut line = String::new();
                    for word in c.split(' ') {
                        let w = escape(word);
                        if !line.is_empty() && line.len() + 1 + w.len() > 76 {
                            out.push(format!("{line} \\e"));
                            line = "    ".to_string();
                        } else if !line.is_empty() {
                            line.push(' ');
                        }
                        line.push_str(&w);
                    }
                    out.push(line);
                }
                out.push(".EE".to_string());
                out.push(".RE".to_string());
            }
        }
    }
    out.push(END.to_string());
    out.join("\n") + "\n"
}

/// The page's text from a guide's first comment line to the end line.
fn section<'a>(page: &'a str, topic: &Topic) -> Option<(usize, &'a str)> {
    let start = page.find(&begin(topic))?;
    let end = page[start..].find(END)? + start + END.len() + 1;
    Some((start, &page[start..end.min(page.len())]))
}

#[test]
fn every_guide_is_its_section_of_difyctl_1() {
    let path = page_path();
    let mut page = std::fs::read_to_string(&path).unwrap();
    let update = std::env::var_os("DIFYCTL_UPDATE_MAN").is_some();
    let mut stale = Vec::new();
    for topic in TOPICS {
        let want = roff(topic);
        let heading = format!(".SH {}\n", topic.section);
        match section(&page, topic) {
            Some((_, have)) if have == want => {}
            Some((at, have)) => {
                stale.push(topic.name);
                let have = have.to_string();
                page.replace_range(at..at + have.len(), &want);
            }
            None => {
                stale.push(topic.name);
                let at = page
                    .find(&heading)
                    .map(|i| i + heading.len())
                    .unwrap_or_else(|| panic!("difyctl(1) has no {heading:?}"));
                page.insert_str(at, &want);
            }
        }
        let (at, _) = section(&page, topic).unwrap();
        let under = page[..at].rfind(".SH ").map(|i| &page[i..]);
        assert!(
            under.is_some_and(|s| s.starts_with(&heading)),
            "'help {}' must be the start of {heading:?}",
            topic.name
        );
    }
    if update {
        std::fs::write(&path, page).unwrap();
        return;
    }
    assert!(
        stale.is_empty(),
        "difyctl(1) differs from 'difyctl help {}': run 'make man-topics'",
        stale.join("', 'help ")
    );
}

#[test]
fn roff_of_text() {
    assert_eq!(escape("`--json` and a\\b"), "\\fB\\-\\-json\\fR and a\\eb");
    assert_eq!(
        lines("One `x-y` here. Two is long."),
        ["One \\fBx\\-y\\fR here.", "Two is long."]
    );
    assert_eq!(lines(".dot first"), ["\\&.dot first"]);
}
