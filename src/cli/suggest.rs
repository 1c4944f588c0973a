//! "Did you mean" for what the table does not know.

use super::spec;
use crate::error::CliError;

/// `unknown command: …` / `unknown help topic: …` with "Did you mean" lines.
pub fn unknown(what: &str, shown: &str, typed: &str) -> CliError {
    let mut message = format!("{what}: {shown}");
    let suggestions = commands(typed);
    if !suggestions.is_empty() {
        message.push_str("\n\nDid you mean:");
        for s in suggestions {
            message.push_str("\n  ");
            message.push_str(&s);
        }
    }
    CliError::parse(message)
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
