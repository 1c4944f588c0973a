//! Plain-text tables as the official tool prints them: every column but the
//! last padded to its widest cell plus two spaces.

use std::borrow::Cow;

use super::term::{sanitize_line, width};

/// Render rows (the header first). With `trim`, each line is right-trimmed
/// (`auth devices list`); without, inactive rows keep their padding
/// (`auth list`, as the official tool prints it).
pub fn render<R: AsRef<[S]>, S: AsRef<str>>(rows: &[R], trim: bool) -> String {
    let columns = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    // Two passes (widths, then text) over cells sanitised as they are used:
    // tables of 100,000 rows exist, and most cells need no change (no copy).
    // The first keeps each cell's width, and whether it shows as it is.
    let mut widths = vec![0; columns];
    let mut seen = Vec::with_capacity(rows.len() * columns);
    let mut size = 0;
    for row in rows {
        for (i, cell) in row.as_ref().iter().enumerate() {
            let cell = clean(cell.as_ref());
            let w = width(&cell);
            widths[i] = widths[i].max(w);
            size += cell.len();
            // A width past u32 would be a 4 GiB cell.
            seen.push((w as u32, matches!(cell, Cow::Borrowed(_))));
        }
    }
    let mut seen = seen.into_iter();
    let mut out = String::with_capacity(size + rows.len() * (2 * columns + 1));
    for row in rows {
        let start = out.len();
        for (i, cell) in row.as_ref().iter().enumerate() {
            let (w, as_is) = seen.next().unwrap_or_default();
            if as_is {
                out.push_str(cell.as_ref());
            } else {
                out.push_str(&clean(cell.as_ref()));
            }
            if i + 1 < columns {
                pad(&mut out, widths[i] - w as usize + 2);
            }
        }
        if trim {
            out.truncate(start + out[start..].trim_end().len());
        }
        out.push('\n');
    }
    out
}

/// A cell as shown: [`sanitize_line`], which printable ASCII passes unchanged.
fn clean(cell: &str) -> Cow<'_, str> {
    if cell.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Cow::Borrowed(cell)
    } else {
        Cow::Owned(sanitize_line(cell))
    }
}

fn pad(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                ";
    while n > 0 {
        let step = n.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        n -= step;
    }
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
