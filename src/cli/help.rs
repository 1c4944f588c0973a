//! `--help` text, rendered from the command table.

use std::fmt::Write;

use super::flags::Flag;
use super::spec::{self, ROOT};

pub fn render(path: &[&str]) -> String {
    // The parser only builds paths of the table.
    let node = spec::find(path).unwrap_or(&ROOT);
    let full = std::iter::once("difyctl")
        .chain(path.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = String::new();
    let _ = writeln!(out, "{}", node.summary);
    if !node.about.is_empty() {
        let _ = writeln!(out, "\n{}", wrap(node.about, 78));
    }

    let _ = writeln!(out, "\nUSAGE");
    if node.is_group() {
        let _ = writeln!(out, "  {full} <command> [flags]");
        let _ = writeln!(out, "\nCOMMANDS");
        let width = node
            .children
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(0);
        for c in node.children {
            let _ = writeln!(out, "  {:width$}  {}", c.name, c.summary);
        }
    } else {
        let mut usage = full.clone();
        for a in node.args {
            let name = a.name.to_uppercase();
            usage.push_str(&if a.required {
                format!(" {name}")
            } else {
                format!(" [{name}]")
            });
        }
        let _ = writeln!(out, "  {usage} [flags]");
        if !node.args.is_empty() {
            let _ = writeln!(out, "\nARGUMENTS");
            let width = node.args.iter().map(|a| a.name.len()).max().unwrap_or(0);
            for a in node.args {
                let _ = writeln!(out, "  {:width$}  {}", a.name.to_uppercase(), a.help);
            }
        }
    }

    let flags: Vec<&Flag> = node.accepted_flags().collect();
    let _ = writeln!(out, "\nFLAGS");
    let cells: Vec<String> = flags.iter().map(|f| flag_cell(f)).collect();
    let width = cells.iter().map(String::len).max().unwrap_or(0);
    for (cell, f) in cells.iter().zip(&flags) {
        let _ = writeln!(out, "  {cell:width$}  {}", f.help);
    }

    if !node.examples.is_empty() {
        let _ = writeln!(out, "\nEXAMPLES");
        for e in node.examples {
            let _ = writeln!(out, "  {e}");
        }
    }
    if node.is_group() {
        let _ = writeln!(
            out,
            "\nRun '{full} <command> --help' for more about a command."
        );
    }
    out
}

/// `-o, --output <format>` / `    --json`.
pub fn flag_cell(f: &Flag) -> String {
    let short = f.short.map_or("    ".to_string(), |c| format!("-{c}, "));
    if f.takes_value() {
        format!("{short}--{} <{}>", f.long, f.metavar)
    } else {
        format!("{short}--{}", f.long)
    }
}

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_help_lists_commands() {
        let h = render(&["auth"]);
        assert!(h.contains("COMMANDS\n"), "{h}");
        assert!(
            h.contains("  login    Sign in to Dify via OAuth device flow\n"),
            "{h}"
        );
    }

    #[test]
    fn command_help_lists_flags_and_args() {
        let h = render(&["auth", "devices", "revoke"]);
        assert!(h.starts_with("Revoke one or all session devices\n"), "{h}");
        assert!(
            h.contains("difyctl auth devices revoke [TARGET] [flags]"),
            "{h}"
        );
        assert!(h.contains("-y, --yes"), "{h}");
        assert!(h.contains("-h, --help"), "{h}");
    }
}
