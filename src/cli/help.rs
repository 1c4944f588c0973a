//! `--help` text, rendered from the command table and wrapped to the
//! terminal's width: commands, groups, the top level, and the guides.

use super::flags::{Flag, HELP, VERBOSE, VERSION};
use super::spec::{self, Node, ROOT};
use super::topics::{self, Block, Topic};
use crate::output::term::width as columns;

/// The narrowest layout help wraps to.
const MIN_WIDTH: usize = 40;

/// Help for the command or group at `path`, `width` columns wide.
pub fn render(path: &[&str], width: usize) -> String {
    let width = width.max(MIN_WIDTH);
    // The parser only builds paths of the table.
    let node = spec::find(path).unwrap_or(&ROOT);
    let mut out = Text::new(width);
    if path.is_empty() {
        top_level(&mut out);
    } else {
        command(&mut out, path, node);
    }
    out.line("");
    out.para(&format!(
        "See 'man {}' for the details.",
        spec::man_page(path)
    ));
    out.0
}

/// A guide (`difyctl help environment`), `width` columns wide.
pub fn render_topic(topic: &Topic, width: usize) -> String {
    let mut out = Text::new(width.max(MIN_WIDTH));
    out.line(&topic.title());
    let blocks = (topic.body)();
    // Short tags (exit statuses) share the first line of their text, as man
    // sets them; longer ones (variable names) stand on their own line.
    let tags = blocks.iter().filter_map(|b| match b {
        Block::Item(term, _) => Some(columns(term)),
        _ => None,
    });
    let short_tags = tags.max().filter(|&w| w <= 4);
    for block in blocks {
        out.line("");
        match block {
            Block::Heading(h) => out.line(&h.to_uppercase()),
            Block::Para(p) => out.indented(2, &topics::plain(&p)),
            Block::Item(term, text) => {
                let term = topics::plain(&term);
                if let Some(cell) = short_tags {
                    out.row(&term, cell, &topics::plain(&text));
                } else {
                    out.indented(2, &term);
                    out.indented(6, &topics::plain(&text));
                }
            }
            Block::Example(lines) => {
                for l in lines {
                    out.example(&l);
                }
            }
        }
    }
    out.line("");
    out.para(&format!(
        "See 'man difyctl', {}, for the details.",
        topic.section
    ));
    out.0
}

/// `difyctl api PATH [flags]`: how a command is called.
pub fn usage(node: &Node) -> String {
    let path = spec::path_of(node);
    let mut usage = std::iter::once("difyctl")
        .chain(path.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    if node.is_group() {
        usage.push_str(" <command>");
    }
    for a in node.args {
        let name = a.name.to_uppercase();
        usage.push_str(&if a.required {
            format!(" {name}")
        } else {
            format!(" [{name}]")
        });
    }
    usage.push_str(" [flags]");
    usage
}

fn top_level(out: &mut Text) {
    out.line("difyctl — sign in to Dify hosts and manage saved host/account contexts");
    out.line("");
    out.line("USAGE");
    out.line("  difyctl <command> <subcommand> [flags]");
    out.line("");
    out.line("COMMANDS");
    // Every command flat, a blank line between groups, as the official tool.
    let leaves = spec::leaves();
    let rows: Vec<(String, &str)> = leaves
        .iter()
        .map(|(p, n)| (p.join(" "), n.summary))
        .collect();
    let cell = rows.iter().map(|(c, _)| columns(c)).max().unwrap_or(0);
    let mut group = "";
    for ((path, _), (label, summary)) in leaves.iter().zip(&rows) {
        if !group.is_empty() && group != path[0] {
            out.line("");
        }
        group = path[0];
        out.row(label, cell, summary);
    }
    out.line("");
    out.line("EXAMPLES");
    for e in ROOT.examples {
        out.example(e);
    }
    out.line("");
    out.line("GLOBAL FLAGS");
    out.flags(&[&VERBOSE, &HELP, &VERSION]);
    out.line("");
    out.line("GUIDES");
    let cell = topics::TOPICS
        .iter()
        .map(|t| columns(t.name))
        .max()
        .unwrap_or(0);
    for t in topics::TOPICS {
        out.row(t.name, cell, t.summary);
    }
    out.line("");
    out.line("LEARN MORE");
    out.indented(
        2,
        "Use 'difyctl <command> --help' for a command and 'difyctl help <guide>' \
         for a guide. Agents: 'difyctl help agent', or 'difyctl --help -o json' for \
         this table as JSON.",
    );
}

fn command(out: &mut Text, path: &[&str], node: &'static Node) {
    out.para(node.summary);
    if !node.about.is_empty() {
        out.line("");
        out.para(node.about);
    }
    out.line("");
    out.line("USAGE");
    out.indented(2, &usage(node));
    if node.is_group() {
        out.line("");
        out.line("COMMANDS");
        let cell = node
            .children
            .iter()
            .map(|c| columns(c.name))
            .max()
            .unwrap_or(0);
        for c in node.children {
            out.row(c.name, cell, c.summary);
        }
    } else if !node.args.is_empty() {
        out.line("");
        out.line("ARGUMENTS");
        let names: Vec<String> = node.args.iter().map(|a| a.name.to_uppercase()).collect();
        let cell = names.iter().map(|n| columns(n)).max().unwrap_or(0);
        for (name, a) in names.iter().zip(node.args) {
            out.row(name, cell, a.help);
        }
    }
    out.line("");
    out.line("FLAGS");
    out.flags(&node.accepted_flags().collect::<Vec<_>>());
    if !node.examples.is_empty() {
        out.line("");
        out.line("EXAMPLES");
        for e in node.examples {
            out.example(e);
        }
    }
    if node.is_group() {
        out.line("");
        out.para(&format!(
            "Run 'difyctl {} <command> --help' for more about a command.",
            path.join(" ")
        ));
    }
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

/// Help text being written, wrapped to a width.
struct Text(String, usize);

impl Text {
    fn new(width: usize) -> Text {
        Text(String::new(), width)
    }

    fn line(&mut self, s: &str) {
        self.0.push_str(s);
        self.0.push('\n');
    }

    /// A paragraph at the left margin.
    fn para(&mut self, text: &str) {
        self.indented(0, text);
    }

    /// A paragraph, every line indented by `indent`.
    fn indented(&mut self, indent: usize, text: &str) {
        for l in wrap(text, self.1.saturating_sub(indent)) {
            self.line(&format!("{}{l}", " ".repeat(indent)));
        }
    }

    /// `  cell  description`, the descriptions aligned after a first column
    /// `cell` columns wide and wrapped under themselves; on its own lines
    /// when the first column leaves too little room.
    fn row(&mut self, cell: &str, cell_width: usize, text: &str) {
        let lead = 2 + cell_width + 2;
        if lead + 24 > self.1 {
            self.line(&format!("  {cell}"));
            self.indented(6, text);
            return;
        }
        let pad = cell_width - columns(cell);
        for (i, l) in wrap(text, self.1 - lead).iter().enumerate() {
            if i == 0 {
                self.line(&format!("  {cell}{}  {l}", " ".repeat(pad)));
            } else {
                self.line(&format!("{}{l}", " ".repeat(lead)));
            }
        }
    }

    fn flags(&mut self, flags: &[&Flag]) {
        let cells: Vec<String> = flags.iter().map(|f| flag_cell(f)).collect();
        let cell = cells.iter().map(|c| columns(c)).max().unwrap_or(0);
        for (c, f) in cells.iter().zip(flags) {
            self.row(c, cell, f.help);
        }
    }

    /// `  $ command`, broken between words (never inside quotes) with a
    /// shell line continuation when it is too long.
    fn example(&mut self, command: &str) {
        let words = shell_words(command);
        let last = words.len().saturating_sub(1);
        let mut line = "  $".to_string();
        for (i, word) in words.iter().enumerate() {
            // Room for the ` \` of a continued line, unless this is the last word.
            let room = if i == last { self.1 } else { self.1 - 2 };
            if i > 0 && columns(&line) + 1 + columns(word) > room {
                self.line(&format!("{line} \\"));
                line = "     ".to_string();
            }
            line.push(' ');
            line.push_str(word);
        }
        self.line(&line);
    }
}

/// The words of a shell command line, quoted strings kept whole.
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in command.chars() {
        match (quote, c) {
            (None, ' ') => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                continue;
            }
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    // A redirection stays with its file (`< pw.txt`).
    let mut joined: Vec<String> = Vec::new();
    for w in words {
        match joined.last_mut() {
            Some(last) if matches!(last.as_str(), "<" | ">" | "2>") => {
                last.push(' ');
                last.push_str(&w);
            }
            _ => joined.push(w),
        }
    }
    joined
}

/// Lines of at most `width` columns, broken between words (a word longer
/// than the width stays whole on its own line).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && columns(&line) + 1 + columns(word) > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_help_lists_commands() {
        let h = render(&["auth"], 80);
        assert!(h.contains("COMMANDS\n"), "{h}");
        assert!(
            h.contains("  login    Sign in to Dify via OAuth device flow\n"),
            "{h}"
        );
        assert!(
            h.ends_with("See 'man difyctl-auth' for the details.\n"),
            "{h}"
        );
    }

    #[test]
    fn command_help_lists_flags_and_args() {
        let h = render(&["auth", "devices", "revoke"], 80);
        assert!(h.starts_with("Revoke one or all session devices\n"), "{h}");
        assert!(
            h.contains("difyctl auth devices revoke [TARGET] [flags]"),
            "{h}"
        );
        assert!(h.contains("-y, --yes"), "{h}");
        assert!(h.contains("-h, --help"), "{h}");
    }

    #[test]
    fn every_help_fits_its_width_without_splitting_words() {
        let topics = topics::TOPICS.iter().map(|t| render_topic(t, 80));
        let commands = spec::walk().into_iter().map(|(p, _)| render(&p, 80));
        for h in commands.chain(topics) {
            for line in h.lines() {
                assert!(
                    columns(line) <= 80,
                    "{} columns: {line}\n{h}",
                    columns(line)
                );
            }
        }
        let narrow = render(&["auth", "login"], 50);
        assert!(narrow.lines().all(|l| columns(l) <= 50), "{narrow}");
    }

    #[test]
    fn long_examples_continue_on_the_next_line() {
        let mut t = Text::new(40);
        t.example("difyctl auth devices revoke \"difyctl on build-runner-3\" --yes");
        assert_eq!(
            t.0,
            "  $ difyctl auth devices revoke \\\n      \"difyctl on build-runner-3\" --yes\n"
        );
    }

    #[test]
    fn rows_wrap_under_their_column() {
        let mut t = Text::new(40);
        t.row(
            "-o, --output",
            12,
            "one two three four five six seven eight nine",
        );
        assert_eq!(
            t.0,
            "  -o, --output  one two three four five\n                six seven eight nine\n"
        );
    }
}
