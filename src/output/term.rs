//! Terminal helpers: TTY checks, colour, sanitising server text, display
//! width, and the prompts that go to stderr.

use std::borrow::Cow;
use std::io::{self, BufRead, IsTerminal, Write};

use crate::env::Env;
use crate::error::{CliError, Result};

/// Colouring, or not, of one stream.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    colour: bool,
}

impl Style {
    /// No colour at all.
    pub const PLAIN: Style = Style { colour: false };

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }

    pub fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }

    pub fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }

    pub fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }

    pub fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }

    pub fn cyan(&self, t: &str) -> String {
        self.paint("36", t)
    }
}

/// Makes text from a server or a file safe and unambiguous on a terminal:
/// escape sequences and control characters are removed (keeping `\n` and
/// `\t`), so they cannot drive the terminal; invisible and format
/// characters (zero-width ones, bidi controls, spaces that look like a
/// space, fillers, variation selectors, tags) are shown as `\u{200b}`, so
/// two different values never look the same.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    // Printable ASCII (and newlines, tabs) has nothing to change: checked by
    // bytes, as long outputs are mostly that.
    let plain = |b: &u8| (0x20..0x7f).contains(b) || *b == b'\n' || *b == b'\t';
    if s.as_bytes().iter().all(plain)
        || !s
            .chars()
            .any(|c| (is_control(c) && c != '\n' && c != '\t') || is_invisible(c))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates up to a final byte.
                Some('[') => skip_csi(&mut chars),
                // OSC, DCS, SOS, PM, APC: up to BEL or ST (ESC \).
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\n' | '\t' => out.push(c),
            c if is_control(c) => {}
            c if is_invisible(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`sanitize`] for one line of a table or message: newlines and tabs become spaces.
pub fn sanitize_line(s: &str) -> String {
    sanitize(s).replace(['\n', '\t'], " ")
}

/// C0 and C1 control characters and DEL: removed from what is shown.
pub(crate) fn is_control(c: char) -> bool {
    c.is_control()
}

/// Characters that show nothing, or look like others (a space): made
/// visible as `\u{…}` in what is shown.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        // Format characters (Unicode category Cf), bidi controls included.
        '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}'
        | '\u{890}'..='\u{891}' | '\u{8e2}' | '\u{180e}' | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}'
        | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{110bd}' | '\u{110cd}'
        | '\u{13430}'..='\u{1343f}' | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0001}' | '\u{e0020}'..='\u{e007f}'
        // Spaces other than the space, which look like it.
        | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}'
        | '\u{202f}' | '\u{205f}' | '\u{3000}'
        // Invisible marks and fillers; variation selectors.
        | '\u{34f}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
        | '\u{180b}'..='\u{180d}' | '\u{180f}' | '\u{2800}' | '\u{3164}' | '\u{ffa0}'
        | '\u{fe00}'..='\u{fe0f}' | '\u{e0100}'..='\u{e01ef}'
        // Not characters at all.
        | '\u{fffe}' | '\u{ffff}')
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' if chars.peek() == Some(&'\\') => {
                chars.next();
                break;
            }
            _ => {}
        }
    }
}

/// The width to lay text out in: `COLUMNS` when it is a positive number,
/// else the width of the terminal on standard output, else 80.
pub fn columns(env: &Env) -> usize {
    env.text("COLUMNS")
        .ok()
        .flatten()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .or_else(|| size(1).map(|(cols, _)| cols))
        .unwrap_or(80)
}

/// The columns and rows of the terminal open on `fd`, if it is one.
#[cfg(unix)]
pub fn size(fd: std::ffi::c_int) -> Option<(usize, usize)> {
    #[repr(C)]
    struct WinSize {
        rows: u16,
        cols: u16,
        x: u16,
        y: u16,
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const TIOCGWINSZ: std::ffi::c_ulong = 0x5413;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const TIOCGWINSZ: std::ffi::c_ulong = 0x4008_7468;
    unsafe extern "C" {
        fn ioctl(fd: std::ffi::c_int, request: std::ffi::c_ulong, ...) -> std::ffi::c_int;
    }
    let mut ws = WinSize {
        rows: 0,
        cols: 0,
        x: 0,
        y: 0,
    };
    // SAFETY: TIOCGWINSZ writes one struct winsize, which WinSize lays out.
    let ok = unsafe { ioctl(fd, TIOCGWINSZ, &mut ws as *mut WinSize) } == 0;
    (ok && ws.cols > 0).then(|| (usize::from(ws.cols), usize::from(ws.rows)))
}

#[cfg(not(unix))]
pub fn size(_fd: i32) -> Option<(usize, usize)> {
    None
}

/// Columns a string takes on a terminal: East-Asian wide and fullwidth
/// characters count 2, combining marks 0.
pub fn width(s: &str) -> usize {
    if s.is_ascii() {
        return s.bytes().filter(|b| !b.is_ascii_control()).count();
    }
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let u = c as u32;
    if c.is_control() || matches!(u, 0x0300..=0x036f | 0x200b..=0x200f | 0xfe00..=0xfe0f) {
        return 0;
    }
    let wide = matches!(u,
        0x1100..=0x115f | 0x231a..=0x231b | 0x2329..=0x232a | 0x23e9..=0x23ec | 0x23f0 | 0x23f3
        | 0x25fd..=0x25fe | 0x2614..=0x2615 | 0x2648..=0x2653 | 0x267f | 0x2693 | 0x26a1
        | 0x26aa..=0x26ab | 0x26bd..=0x26be | 0x26c4..=0x26c5 | 0x26ce | 0x26d4 | 0x26ea
        | 0x26f2..=0x26f3 | 0x26f5 | 0x26fa | 0x26fd | 0x2705 | 0x270a..=0x270b | 0x2728 | 0x274c
        | 0x274e | 0x2753..=0x2755 | 0x2757 | 0x2795..=0x2797 | 0x27b0 | 0x27bf | 0x2b1b..=0x2b1c
        | 0x2b50 | 0x2b55 | 0x2e80..=0x303e | 0x3041..=0x33ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff
        | 0xa000..=0xa4cf | 0xa960..=0xa97f | 0xac00..=0xd7a3 | 0xf900..=0xfaff | 0xfe10..=0xfe19
        | 0xfe30..=0xfe6f | 0xff00..=0xff60 | 0xffe0..=0xffe6 | 0x16fe0..=0x16fe4 | 0x17000..=0x18cff
        | 0x1b000..=0x1b2ff | 0x1f004 | 0x1f0cf | 0x1f18e | 0x1f191..=0x1f19a | 0x1f200..=0x1f251
        | 0x1f300..=0x1f64f | 0x1f680..=0x1f6ff | 0x1f7e0..=0x1f7eb | 0x1f90c..=0x1f9ff
        | 0x1fa70..=0x1faff | 0x20000..=0x3fffd);
    if wide { 2 } else { 1 }
}

/// The terminal facts of this invocation, found once at start-up, and
/// talking to the person at the terminal, on stderr.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub stdin_tty: bool,
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    /// Colour may be used on a terminal: neither `NO_COLOR` nor
    /// `DIFYCTL_NO_COLOR` is set (to a non-empty value), nor `DIFY_PLAIN`
    /// truthy.
    pub colour: bool,
    /// A spinner may be shown on a terminal: neither `DIFY_NO_PROGRESS` nor
    /// `DIFY_PLAIN` is truthy.
    pub progress: bool,
    /// The terminal can draw a picker moved through with keys: `TERM` is set
    /// and not `dumb`, and `DIFY_PLAIN` is not truthy.
    pub keys: bool,
    /// The width to lay text out in (see [`columns`]).
    pub columns: usize,
}

impl Ui {
    pub fn detect(env: &Env) -> Ui {
        Ui {
            stdin_tty: io::stdin().is_terminal(),
            stdout_tty: io::stdout().is_terminal(),
            stderr_tty: io::stderr().is_terminal(),
            colour: !env.is_set("NO_COLOR")
                && !env.is_set("DIFYCTL_NO_COLOR")
                && !env.truthy("DIFY_PLAIN"),
            progress: !env.truthy("DIFY_NO_PROGRESS") && !env.truthy("DIFY_PLAIN"),
            keys: env.os("TERM").is_some_and(|t| !t.is_empty() && t != "dumb")
                && !env.truthy("DIFY_PLAIN"),
            columns: columns(env),
        }
    }

    /// No terminal anywhere, as in a script (and in tests).
    pub fn plain() -> Ui {
        Ui {
            stdin_tty: false,
            stdout_tty: false,
            stderr_tty: false,
            colour: false,
            progress: false,
            keys: false,
            columns: 80,
        }
    }

    pub fn stdout_style(&self) -> Style {
        Style {
            colour: self.stdout_tty && self.colour,
        }
    }

    pub fn stderr_style(&self) -> Style {
        Style {
            colour: self.stderr_tty && self.colour,
        }
    }

    /// Whether a spinner may be shown (on stderr).
    pub fn spinner_allowed(&self) -> bool {
        self.stderr_tty && self.progress
    }

    /// Prompts are allowed only when both stdin and stderr are terminals.
    pub fn interactive(&self) -> bool {
        self.stdin_tty && self.stderr_tty
    }

    /// A line on stderr (sanitised).
    pub fn say(&self, line: &str) {
        let _ = writeln!(io::stderr(), "{}", sanitize(line));
    }

    /// A line on stderr as given: its own colours kept, so whatever in it
    /// came from elsewhere must be sanitised already.
    pub fn say_styled(&self, line: &str) {
        let _ = writeln!(io::stderr(), "{line}");
    }

    /// One of `rows` (cells aligned in columns), chosen on the terminal; see
    /// [`super::picker`].
    pub fn choose(
        &self,
        title: &str,
        rows: &[Vec<String>],
        current: Option<usize>,
    ) -> Result<usize> {
        super::picker::choose(self, title, rows, current)
    }

    /// `! <message>` on stderr, the `!` in yellow on a terminal.
    pub fn warn(&self, message: &str) {
        let style = self.stderr_style();
        let _ = writeln!(io::stderr(), "{} {}", style.yellow("!"), sanitize(message));
    }

    /// Ask on stderr and read one line from stdin. `None` when stdin is closed.
    pub fn ask(&self, question: &str) -> Result<Option<String>> {
        let mut err = io::stderr();
        let _ = write!(err, "{}", sanitize(question));
        let _ = err.flush();
        let mut line = String::new();
        match io::stdin().lock().read_line(&mut line) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(line.trim().to_string())),
            Err(e) => Err(CliError::client(format!(
                "cannot read from the terminal: {e}"
            ))),
        }
    }
}

pub fn input_closed() -> CliError {
    CliError::usage_missing("input closed before a valid value was provided")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escape_sequences_and_controls() {
        assert_eq!(sanitize("plain"), "plain");
        assert_eq!(sanitize("a\u{1b}[31mred\u{1b}[0m"), "ared");
        assert_eq!(sanitize("t\u{1b}]0;evil title\u{7}x"), "tx");
        assert_eq!(sanitize("t\u{1b}]8;;http://x\u{1b}\\link"), "tlink");
        assert_eq!(sanitize("a\rb\u{8}c\u{0}d\u{7f}e\u{9b}2Jf"), "abcdef");
        assert_eq!(sanitize("keep\nlines\tand tabs"), "keep\nlines\tand tabs");
        assert_eq!(sanitize_line("two\nlines"), "two lines");
        // Invisible and format characters are shown, not dropped: two
        // different values never look the same.
        assert_eq!(sanitize("rtl\u{202e}txt"), "rtl\\u{202e}txt");
        assert_eq!(sanitize("a\u{200b}b"), "a\\u{200b}b");
        assert_eq!(sanitize_line("a\u{a0}b\u{feff}"), "a\\u{a0}b\\u{feff}");
        assert_eq!(sanitize("e\u{301}"), "e\u{301}", "a combining mark shows");
        let once = sanitize("x\u{2066}\u{1b}[1my");
        assert_eq!(once, "x\\u{2066}y");
        assert_eq!(sanitize(&once), once);
    }

    #[test]
    fn wide_characters_count_two() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("張三"), 4);
        assert_eq!(width("ｶ"), 1);
        assert_eq!(width("Ａ"), 2);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(width("한국어"), 6);
    }
}
