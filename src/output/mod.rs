//! Everything that reaches the user. Commands return an [`Output`] or a
//! [`CliError`]; [`finish`] renders either and decides the exit status, in
//! one place.

pub mod browser;
pub mod interrupt;
pub mod picker;
pub mod spinner;
pub mod table;
pub mod term;
pub mod termmode;

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use crate::error::{CliError, ErrorBody, ErrorCode, Result};
use term::{Style, Ui, sanitize};

/// What a successful command prints on stdout.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Nothing,
    /// Data, printed as given (after removing terminal control sequences).
    Text(String),
    /// JSON: pretty (2-space) or one compact line. Always ends with a newline.
    Json {
        value: serde_json::Value,
        pretty: bool,
    },
    /// `✓ <line>` followed by further lines printed as given.
    Success(String, Vec<String>),
    /// Bytes for scripts, written exactly as given and never sanitised (a
    /// response body of `api`, the token of `auth token`).
    Raw(Vec<u8>),
    /// Output for stdout, and then an error that goes to stderr and decides
    /// the exit status: `api` on a non-2xx response still hands the server's
    /// body to the script; `auth status --all` shows every context and fails
    /// when one is not valid.
    ThenError(Box<Output>, Box<CliError>),
    /// Data for stdout, and then the exit status of the code, with nothing
    /// on stderr: an outcome that is neither a success nor a failure (`auth
    /// login --resume` while the sign-in waits for its approval).
    Incomplete(Box<Output>, ErrorCode),
}

impl Output {
    pub fn json(value: &impl Serialize, pretty: bool) -> Output {
        Output::Json {
            value: serde_json::to_value(value).unwrap_or_default(),
            pretty,
        }
    }

    pub fn success(line: impl Into<String>) -> Output {
        Output::Success(line.into(), Vec::new())
    }

    pub fn then_error(self, err: CliError) -> Output {
        Output::ThenError(Box::new(self), Box::new(err))
    }
}

/// How errors are rendered.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorStyle {
    pub json: bool,
    pub verbose: bool,
}

/// Render the result, return the exit status. A closed stdout (EPIPE) is not
/// a failure: `difyctl auth list | head -1` exits 0.
pub fn finish(result: Result<Output>, ui: &Ui, style: ErrorStyle) -> ExitCode {
    let err = match result {
        Ok(Output::ThenError(output, err)) => {
            // The error decides the status whatever happened to stdout.
            let _ = write_stdout(&output, ui.stdout_style());
            *err
        }
        Ok(Output::Incomplete(data, code)) => {
            // The code decides the status whatever happened to stdout.
            let _ = write_stdout(&data, ui.stdout_style());
            return ExitCode::from(code.exit_status());
        }
        Ok(output) => match write_stdout(&output, ui.stdout_style()) {
            Ok(()) => return ExitCode::SUCCESS,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
            Err(e) => CliError::client(format!("cannot write output: {e}")),
        },
        Err(err) => err,
    };
    let _ = io::stderr().write_all(render_error(&err, style).as_bytes());
    ExitCode::from(err.exit_code())
}

fn write_stdout(output: &Output, style: Style) -> io::Result<()> {
    let text = match output {
        Output::Nothing => return Ok(()),
        Output::Raw(bytes) => return write_bytes(bytes),
        Output::ThenError(output, _) | Output::Incomplete(output, _) => {
            return write_stdout(output, style);
        }
        Output::Text(text) => return write_bytes(sanitize(text).as_bytes()),
        Output::Json { value, pretty } => json_text(value, *pretty).map_err(io::Error::other)?,
        Output::Success(first, rest) => {
            let mut s = format!("{} {}\n", style.green("✓"), sanitize(first));
            for line in rest {
                s.push_str(&sanitize(line));
                s.push('\n');
            }
            s
        }
    };
    write_bytes(text.as_bytes())
}

/// JSON as [`Output::Json`] prints it: pretty (2-space) or one compact line,
/// terminal controls escaped, a newline at the end.
pub fn json_text(value: &serde_json::Value, pretty: bool) -> serde_json::Result<String> {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }?;
    let mut text = json_escape_controls(text);
    text.push('\n');
    Ok(text)
}

fn write_bytes(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// serde_json escapes only the C0 controls; DEL, the C1 controls (U+009B is a
/// CSI to some terminals), bidi overrides and other invisible characters
/// would still reach a terminal raw from a server-supplied string. They can only occur inside JSON strings,
/// where `\uXXXX` means the same character, so the JSON stays equal.
fn json_escape_controls(json: String) -> String {
    // Raw C0 characters are pretty-printing's own newlines, never string content.
    let raw = |c: char| c >= '\u{7f}' && (term::is_control(c) || term::is_invisible(c));
    if !json.chars().any(raw) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if raw(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The JSON error envelope (difyctl(1), DIAGNOSTICS), keys in the official
/// tool's order.
#[derive(Serialize)]
struct Envelope<'a> {
    error: EnvelopeBody<'a>,
}

#[derive(Serialize)]
struct EnvelopeBody<'a> {
    code: ErrorCode,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_response: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<&'a ErrorBody>,
}

const RAW_HINT: &str = "run again with -v to see the raw server response";

/// The most characters of one field a human-readable error shows: an error
/// that echoes a 100 KB flag value (or server message) back is no clearer
/// for it. The JSON envelope keeps everything.
const SHOWN_LIMIT: usize = 2000;

fn bounded(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(SHOWN_LIMIT) {
        None => std::borrow::Cow::Borrowed(s),
        Some((cut, _)) => {
            let rest = s[cut..].chars().count();
            std::borrow::Cow::Owned(format!("{}… ({rest} more characters)", &s[..cut]))
        }
    }
}

/// One field of a human-readable error as shown: cut, then sanitised.
fn shown(s: &str) -> String {
    sanitize(&bounded(s)).into_owned()
}

/// The error text for stderr, ending with a newline. Tokens never show:
/// server text (an error body's message, a field quoted by a decode error, a
/// redirect target) can hold one, so the whole text is redacted last, after
/// sanitising (which could join a token split by a control character).
pub fn render_error(err: &CliError, style: ErrorStyle) -> String {
    crate::secret::redact(&render_error_unredacted(err, style))
}

fn render_error_unredacted(err: &CliError, style: ErrorStyle) -> String {
    if err.plain {
        return format!("{}\n", shown(&err.message));
    }
    let http = err.http.as_deref();
    let server = err.server();
    let raw = http.and_then(|h| h.raw_response.as_deref());
    let hint = err
        .hint
        .as_deref()
        .or(server.and_then(|s| s.hint.as_deref()))
        .or((raw.is_some() && server.is_none() && !style.verbose).then_some(RAW_HINT));

    if style.json {
        let body = EnvelopeBody {
            code: err.code,
            message: &err.message,
            hint,
            http_status: http.and_then(|h| h.status),
            method: http.map(|h| h.method.as_str()).filter(|m| !m.is_empty()),
            url: http.map(|h| h.url.as_str()).filter(|u| !u.is_empty()),
            raw_response: raw.filter(|_| style.verbose),
            server,
        };
        let mut line = json_escape_controls(
            serde_json::to_string(&Envelope { error: body }).unwrap_or_default(),
        );
        line.push('\n');
        return line;
    }

    let code = err.shown_code().to_string();
    let mut out = format!("{}: {}\n", shown(&code), shown(&err.message));
    for d in server
        .and_then(|s| s.details.as_ref())
        .into_iter()
        .flatten()
    {
        let loc: Vec<String> = d
            .loc
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect();
        out.push_str(&shown(&format!(
            "  - {}: {} ({})",
            loc.join("."),
            d.msg,
            d.kind
        )));
        out.push('\n');
    }
    if let Some(h) = hint {
        out.push_str(&format!("hint: {}\n", shown(h)));
    }
    if let Some(h) = http {
        if !h.method.is_empty() {
            out.push_str(&format!(
                "request: {} {}\n",
                shown(&h.method),
                shown(&h.url)
            ));
        }
        if let Some(s) = h.status {
            out.push_str(&format!("http_status: {s}\n"));
        }
        if let (Some(r), true) = (raw, style.verbose) {
            out.push_str(&format!("raw_response: {}\n", sanitize(r)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorBody, ErrorCode, HttpContext};

    #[test]
    fn human_error_with_hint() {
        let e = CliError::not_logged_in();
        assert_eq!(
            render_error(&e, ErrorStyle::default()),
            "not_logged_in: not logged in\nhint: run 'difyctl auth login'\n"
        );
    }

    #[test]
    fn json_envelope_order() {
        let e = CliError::not_logged_in();
        assert_eq!(
            render_error(
                &e,
                ErrorStyle {
                    json: true,
                    verbose: false
                }
            ),
            "{\"error\":{\"code\":\"not_logged_in\",\"message\":\"not logged in\",\"hint\":\"run 'difyctl auth login'\"}}\n"
        );
    }

    #[test]
    fn server_code_and_http_lines() {
        let e =
            CliError::new(ErrorCode::Server4xxOther, "session not found").with_http(HttpContext {
                method: "DELETE".into(),
                url: "https://h/openapi/v1/account/sessions/x".into(),
                status: Some(404),
                raw_response: Some("{\"code\":\"not_found\"}".into()),
                server: Some(ErrorBody {
                    code: "not_found".into(),
                    message: "session not found".into(),
                    ..Default::default()
                }),
            });
        assert_eq!(
            render_error(&e, ErrorStyle::default()),
            "not_found: session not found\nrequest: DELETE https://h/openapi/v1/account/sessions/x\nhttp_status: 404\n"
        );
        let json = render_error(
            &e,
            ErrorStyle {
                json: true,
                verbose: false,
            },
        );
        assert!(json.starts_with("{\"error\":{\"code\":\"server_4xx_other\",\"message\":\"session not found\",\"http_status\":404,\"method\":\"DELETE\""), "{json}");
        assert!(
            json.contains("\"server\":{\"code\":\"not_found\""),
            "{json}"
        );
    }

    #[test]
    fn raw_body_hint_without_error_body() {
        let e =
            CliError::new(ErrorCode::Server5xx, "server error (HTTP 502)").with_http(HttpContext {
                method: "GET".into(),
                url: "u".into(),
                status: Some(502),
                raw_response: Some("<html>".into()),
                server: None,
            });
        let text = render_error(&e, ErrorStyle::default());
        assert!(
            text.contains("hint: run again with -v to see the raw server response\n"),
            "{text}"
        );
        let verbose = render_error(
            &e,
            ErrorStyle {
                json: false,
                verbose: true,
            },
        );
        assert!(verbose.ends_with("raw_response: <html>\n"), "{verbose}");
    }

    #[test]
    fn huge_fields_are_cut_in_human_errors_only() {
        let huge = "x".repeat(100_000);
        let e = CliError::usage_invalid(format!("unknown host \"{huge}\"")).with_hint(huge.clone());
        let text = render_error(&e, ErrorStyle::default());
        assert_eq!(
            text,
            format!(
                "usage_invalid_flag: unknown host \"{}… (98015 more characters)\nhint: {}… (98000 more characters)\n",
                "x".repeat(1986),
                "x".repeat(2000)
            )
        );
        let json = ErrorStyle {
            json: true,
            verbose: false,
        };
        assert!(render_error(&e, json).len() > 200_000);
        let plain = CliError::parse(huge);
        assert_eq!(render_error(&plain, ErrorStyle::default()).len(), 2000 + 28);
    }

    #[test]
    fn json_escapes_what_serde_leaves_raw() {
        let text = "a\u{1b}[2J\u{7f}\u{9b}31m\u{202e}z";
        let json = json_escape_controls(serde_json::to_string(text).unwrap());
        assert_eq!(json, r#""a\u001b[2J\u007f\u009b31m\u202ez""#);
        assert_eq!(serde_json::from_str::<String>(&json).unwrap(), text);
        let e = CliError::new(ErrorCode::Unknown, "bad \u{9b}2J name");
        let style = ErrorStyle {
            json: true,
            verbose: false,
        };
        assert_eq!(
            render_error(&e, style),
            "{\"error\":{\"code\":\"unknown\",\"message\":\"bad \\u009b2J name\"}}\n"
        );
    }

    #[test]
    fn tokens_in_server_text_never_show() {
        let e = CliError::new(
            ErrorCode::Unknown,
            "decode poll response: invalid type: string \"dfoa_abc\"",
        )
        .with_http(HttpContext {
            server: Some(ErrorBody {
                code: "bad".into(),
                message: "got Bearer xyz==".into(),
                hint: Some("dfoa\u{7}_split".into()),
                ..Default::default()
            }),
            ..HttpContext::default()
        });
        let text = render_error(&e, ErrorStyle::default());
        assert_eq!(
            text,
            "bad: decode poll response: invalid type: string \"dfoa_[redacted]\"\nhint: dfoa_[redacted]\n"
        );
        let json = render_error(
            &e,
            ErrorStyle {
                json: true,
                verbose: true,
            },
        );
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["error"]["server"]["message"], "got Bearer [redacted]");
        assert!(!json.contains("dfoa_abc"), "{json}");
    }

    #[test]
    fn escape_sequences_never_reach_the_terminal() {
        let e = CliError::new(ErrorCode::Unknown, "bad \u{1b}]0;title\u{7}name\u{1b}[31m");
        assert_eq!(
            render_error(&e, ErrorStyle::default()),
            "unknown: bad name\n"
        );
    }
}
