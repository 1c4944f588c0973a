//! "Did you mean" for what the table does not know.

use super::flags::Flag;
use super::spec::{self, Node, ROOT};
use crate::error::CliError;

/// `unknown command: …` / `unknown help topic: …` with "Did you mean" lines.
pub fn unknown(what: &str, shown: &str, typed: &str) -> CliError {
    let mut message = format!("{what}: {shown}");
    let mut suggestions = commands(typed);
    if what.contains("help") {
        // `help <guide>` takes the guides' names too.
        suggestions.extend(close(typed, super::topics::TOPICS.iter().map(|t| t.name)));
    }
    push_suggestions(&mut message, suggestions);
    CliError::parse(message)
}

/// `unknown flag: --hots`, with the flags of the command close to it.
pub fn unknown_flag(shown: &str, node: &Node) -> CliError {
    let mut message = format!("unknown flag: {shown}");
    let names: Vec<String> = node
        .accepted_flags()
        .map(|f| format!("--{}", f.long))
        .collect();
    push_suggestions(&mut message, close(shown, names.iter().map(String::as_str)));
    CliError::parse(message)
}

/// A flag before the command path. `-v/--verbose` is taken there; a flag
/// of some command is named in the official words (`unknown command: …`)
/// with the command line that works; another is an unknown flag.
pub fn misplaced(shown: &str, words: &[String], node: &Node) -> CliError {
    let known = spec::walk()
        .into_iter()
        .any(|(_, n)| n.accepted_flags().any(|f| spelled(f, shown)));
    if !known {
        let mut message = format!("unknown flag: {shown}");
        let mut names: Vec<String> = node
            .accepted_flags()
            .map(|f| format!("--{}", f.long))
            .collect();
        names.push("--verbose".to_string());
        push_suggestions(&mut message, close(shown, names.iter().map(String::as_str)));
        return CliError::parse(message);
    }
    let mut message = format!("unknown command: {}", words.join(" "));
    message.push_str("\n\nFlags come after the command: difyctl ");
    message.push_str(&reordered(words));
    CliError::parse(message)
}

/// `--host` or `-o` (`--output=json`: the part before `=`).
fn spelled(flag: &Flag, shown: &str) -> bool {
    let name = shown.split('=').next().unwrap_or(shown);
    match name.strip_prefix("--") {
        Some(long) => flag.long == long,
        None => name.len() == 2 && flag.short == name.chars().nth(1),
    }
}

/// `-o json auth list x` → `auth list x -o json`: the command words first,
/// then the other words, then the flags (with their values) that came too early.
fn reordered(words: &[String]) -> String {
    let takes_value = |w: &str| {
        !w.contains('=')
            && spec::walk()
                .into_iter()
                .flat_map(|(_, n)| n.accepted_flags())
                .any(|f| spelled(f, w) && f.takes_value())
    };
    let (mut command, mut flags, mut rest) = (Vec::new(), Vec::new(), Vec::new());
    let mut node: &Node = &ROOT;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if w.starts_with('-') && w.len() > 1 {
            flags.push(w.clone());
            if takes_value(w)
                && let Some(v) = words.get(i + 1)
            {
                flags.push(v.clone());
                i += 1;
            }
        } else if let Some(child) = node.child(w).filter(|_| rest.is_empty()) {
            command.push(w.clone());
            node = child;
        } else {
            rest.push(w.clone());
        }
        i += 1;
    }
    if node.is_group() {
        command.push("<command>".to_string());
    }
    command.extend(rest);
    command.extend(flags);
    command.join(" ")
}

/// Candidates within a small edit distance of `typed`, closest first.
fn close<'a>(typed: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    let typed = typed.split('=').next().unwrap_or(typed);
    if typed.len() < 3 {
        return Vec::new();
    }
    let mut scored: Vec<(usize, String)> = candidates
        .map(|c| (distance(typed, c), c.to_string()))
        .filter(|(d, _)| *d <= 2.max(typed.len() / 4))
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(3).map(|(_, s)| s).collect()
}

fn push_suggestions(message: &mut String, suggestions: Vec<String>) {
    if !suggestions.is_empty() {
        message.push_str("\n\nDid you mean:");
        for s in suggestions {
            message.push_str("\n  ");
            message.push_str(&s);
        }
    }
}

/// Up to five command paths close to what was typed.
fn commands(typed: &str) -> Vec<String> {
    if typed.is_empty() {
        return Vec::new();
    }
    let last = typed.rsplit(' ').next().unwrap_or(typed);
    let mut scored: Vec<(usize, String)> = spec::walk()
        .into_iter()
        .filter(|(path, _)| !path.is_empty())
        .filter_map(|(path, _)| {
            let cand = path.join(" ");
            let d = distance(typed, &cand);
            let cand_last = cand.rsplit(' ').next().unwrap_or(&cand);
            let same_depth = cand.matches(' ').count() == typed.matches(' ').count();
            let close = d <= 2.max(typed.len() / 4);
            let prefix = same_depth && last.len() >= 2 && cand_last.starts_with(last);
            (close || prefix).then_some((d, cand))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, s)| s).collect()
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
