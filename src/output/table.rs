//! Plain-text tables as the official tool prints them: every column but the
//! last padded to its widest cell plus two spaces.

use super::term::{sanitize_line, width};

/// Render rows (the header first). With `trim`, each line is right-trimmed
/// (`auth devices list`); without, inactive rows keep their padding
/// (`auth list`, PROTOCOL.md §4.3).
pub fn render(rows: &[Vec<String>], trim: bool) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| sanitize_line(c)).collect())
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| width(c))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < columns {
                line.push_str(&" ".repeat(widths[i] - width(cell) + 2));
            }
        }
        if trim {
            line.truncate(line.trim_end().len());
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pads_all_but_the_last_column() {
        let t = render(
            &[
                row(&["HOST", "ACCOUNT", "ACTIVE"]),
                row(&["cloud.dify.ai", "you@company.com (Your Name)", "*"]),
                row(&["dify.internal.acme.com", "you@acme.com (Your Name)", ""]),
            ],
            false,
        );
        assert_eq!(
            t,
            "HOST                    ACCOUNT                      ACTIVE\n\
             cloud.dify.ai           you@company.com (Your Name)  *\n\
             dify.internal.acme.com  you@acme.com (Your Name)     \n"
        );
    }

    #[test]
    fn wide_cells_and_trim() {
        let t = render(
            &[row(&["A", "B"]), row(&["張", "x"]), row(&["ab", ""])],
            true,
        );
        assert_eq!(t, "A   B\n張  x\nab\n");
    }
}
