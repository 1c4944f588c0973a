//! Choosing one of several rows on the terminal: a list moved through with
//! the arrow keys (or j/k) on a capable terminal, a numbered prompt on a dumb
//! one (`TERM` unset or `dumb`, or `DIFY_PLAIN`). Both are drawn on stderr
//! and read stdin; the current entry is pre-selected (Enter keeps it).
//!
//! Keys: ↑/k and ↓/j move (wrapping around), Enter selects, Esc or q cancel
//! (`usage_missing_arg: selection cancelled`, exit 2, as the official
//! picker), Ctrl-C interrupts (exit 130), end of input is
//! `input closed before a valid value was provided`. The terminal's mode,
//! the cursor and the drawing are undone on every path (see
//! [`super::termmode`]).

use std::io::Write;

use super::term::{Ui, input_closed};
use crate::error::{CliError, Result};

/// The error of Esc or q at a picker.
pub fn cancelled() -> CliError {
    CliError::usage_missing("selection cancelled")
}

/// Rows of cells as lines, every column but the last padded to its widest
/// cell (by display width) plus two spaces: a table without its header.
pub fn align(rows: &[Vec<String>]) -> Vec<String> {
    super::table::render(rows, true)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The index of the row chosen under `title`.
pub fn choose(ui: &Ui, title: &str, rows: &[Vec<String>], current: Option<usize>) -> Result<usize> {
    let lines = align(rows);
    if lines.is_empty() {
        return Err(CliError::usage_missing("nothing to select"));
    }
    let current = current.filter(|&c| c < lines.len());
    // Without `stty` the terminal stays in line mode: numbers then.
    #[cfg(unix)]
    if ui.keys
        && let Ok(mode) = super::termmode::Keys::new()
    {
        return keys::choose(mode, ui.stderr_style(), title, &lines, current);
    }
    numbered(ui, title, &lines, current)
}

/// The numbered prompt: `Enter a number [1-3]: `, again until the answer is
/// one; an empty answer keeps the current entry when there is one.
fn numbered(ui: &Ui, title: &str, lines: &[String], current: Option<usize>) -> Result<usize> {
    let style = ui.stderr_style();
    ui.say(&format!("? {title}"));
    let n = lines.len();
    // Numbers right-aligned, so the rows stay in columns past 9.
    let digits = n.to_string().len();
    for (i, line) in lines.iter().enumerate() {
        ui.say(&format!("  {:>digits$}) {line}", i + 1));
    }
    let question = match current {
        Some(c) => format!("Enter a number [1-{n}, Enter keeps {}]: ", c + 1),
        None => format!("Enter a number [1-{n}]: "),
    };
    loop {
        let answer = ui.ask(&question)?.ok_or_else(input_closed)?;
        match (answer.parse::<usize>(), current) {
            (Ok(k), _) if (1..=n).contains(&k) => return Ok(k - 1),
            (_, Some(c)) if answer.is_empty() => return Ok(c),
            // Not through `say`: sanitising would strip the colour of our own ✗.
            _ => {
                let _ = writeln!(
                    std::io::stderr(),
                    "  {} enter a number from 1 to {n}",
                    style.red("✗")
                );
            }
        }
    }
}

#[cfg(unix)]
mod keys {
    use std::ffi::{c_int, c_short, c_ulong};
    use std::io::Write;

    use super::{cancelled, input_closed};
    use crate::error::Result;
    use crate::output::interrupt;
    use crate::output::term::{Style, sanitize_line, size, width};
    use crate::output::termmode::Keys;

    const FOOTER: &str = "↑/↓ or j/k move · Enter selects · Esc or q cancels";
    /// How long the rest of an escape sequence may take to arrive after ESC
    /// before the ESC counts as the Esc key.
    const ESCAPE_MS: c_int = 50;

    #[repr(C)]
    struct PollFd {
        fd: c_int,
        events: c_short,
        revents: c_short,
    }

    unsafe extern "C" {
        fn read(fd: c_int, buf: *mut u8, count: usize) -> isize;
        fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
    }

    enum Key {
        Up,
        Down,
        Enter,
        Cancel,
        Eof,
        Interrupt,
        Other,
    }

    /// One byte of stdin; `None` at its end.
    fn byte() -> Option<u8> {
        let mut b = 0u8;
        loop {
            // SAFETY: one byte into a one-byte buffer.
            match unsafe { read(0, &mut b, 1) } {
                1 => return Some(b),
                n if n < 0
                    && std::io::Error::last_os_error().kind()
                        == std::io::ErrorKind::Interrupted => {}
                _ => return None,
            }
        }
    }

    /// Is a byte waiting on stdin within `ms`?
    fn waiting(ms: c_int) -> bool {
        let mut fd = PollFd {
            fd: 0,
            events: 1, // POLLIN
            revents: 0,
        };
        // SAFETY: one pollfd.
        unsafe { poll(&mut fd, 1, ms) > 0 }
    }

    fn key() -> Key {
        match byte() {
            None | Some(0x04) => Key::Eof,
            Some(b'\r' | b'\n') => Key::Enter,
            Some(b'j') => Key::Down,
            Some(b'k') => Key::Up,
            Some(b'q') => Key::Cancel,
            // Only when the terminal does not turn Ctrl-C into a signal.
            Some(0x03) => Key::Interrupt,
            Some(0x1b) if !waiting(ESCAPE_MS) => Key::Cancel,
            Some(0x1b) => match byte() {
                Some(b'[' | b'O') => {
                    // CSI / SS3: parameters, then a final byte.
                    loop {
                        match byte() {
                            Some(b'A') => return Key::Up,
                            Some(b'B') => return Key::Down,
                            Some(0x40..=0x7e) | None => return Key::Other,
                            _ => {}
                        }
                    }
                }
                _ => Key::Other,
            },
            Some(_) => Key::Other,
        }
    }

    /// `text` cut to `cols` display columns.
    fn fit(text: &str, cols: usize) -> String {
        if width(text) <= cols {
            return text.to_string();
        }
        let mut out = String::new();
        for c in text.chars() {
            if width(&out) + width(c.encode_utf8(&mut [0; 4])) + 1 > cols {
                break;
            }
            out.push(c);
        }
        out.push('…');
        out
    }

    /// The list drawn and moved through while `keys` holds the terminal.
    pub fn choose(
        keys: Keys,
        style: Style,
        title: &str,
        lines: &[String],
        current: Option<usize>,
    ) -> Result<usize> {
        let (cols, rows) = size(2).unwrap_or((80, 24));
        let cols = cols.max(10);
        let n = lines.len();
        // Room for the title and the footer, and a line to spare.
        let visible = n.min(rows.saturating_sub(3).max(1));
        let mut focus = current.unwrap_or(0);
        let mut top = 0;
        let mut drawn = 0;
        let mut err = std::io::stderr();
        let result = loop {
            if focus < top {
                top = focus;
            } else if focus >= top + visible {
                top = focus + 1 - visible;
            }
            let mut frame = String::new();
            if drawn > 0 {
                frame.push_str(&format!("\x1b[{drawn}A"));
            }
            frame.push_str("\r\x1b[J");
            frame.push_str(&format!("? {}\n", fit(&sanitize_line(title), cols - 3)));
            for (i, line) in lines.iter().enumerate().skip(top).take(visible) {
                let line = fit(line, cols - 3);
                if i == focus {
                    frame.push_str(&format!("{} {}\n", style.cyan("❯"), style.bold(&line)));
                } else {
                    frame.push_str(&format!("  {line}\n"));
                }
            }
            let footer = if visible < n {
                format!("{FOOTER} ({}/{n})", focus + 1)
            } else {
                FOOTER.to_string()
            };
            frame.push_str(&style.dim(&fit(&footer, cols - 1)));
            frame.push('\n');
            drawn = visible + 2;
            let _ = err.write_all(frame.as_bytes());
            let _ = err.flush();
            match key() {
                Key::Up => focus = (focus + n - 1) % n,
                Key::Down => focus = (focus + 1) % n,
                Key::Enter => break Ok(focus),
                Key::Cancel => break Err(cancelled()),
                Key::Eof => break Err(input_closed()),
                Key::Interrupt => break Err(interrupt::interrupted()),
                Key::Other => {}
            }
        };
        // Erase the picker: what comes next starts where it began.
        let _ = write!(err, "\x1b[{drawn}A\r\x1b[J");
        let _ = err.flush();
        drop(keys);
        result
    }
}
