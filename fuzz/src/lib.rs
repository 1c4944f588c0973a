//! The properties the fuzz targets check, one public function per target.
//!
//! Each takes the raw fuzz input and panics when a property fails. The same
//! file is compiled into `tests/fuzz_regressions.rs`, which replays the saved
//! crash inputs and seeds with plain `cargo test` (no nightly needed).
//!
//! Only `difyctl`'s public API, `serde_json` and `std` are used here.

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use difyctl::cli;
use difyctl::dify::console::{self, CookieJar, Step};
use difyctl::dify::{Response, account, device, errors, request, retry};
use difyctl::error::{CliError, ErrorBody, ErrorCode, ErrorDetail, HttpContext};
use difyctl::host;
use difyctl::output::{ErrorStyle, render_error, table, term};
use difyctl::secret::{self, Secret};
use difyctl::state::{self, Document, Holder, Os, Registry, TokenFile, Verdict, config_dir_with};

// ---------------------------------------------------------------- hosts.yml

/// `hosts.yml`: loading never panics; the fast reader, when it reads the
/// text, reads what serde_norway reads; whatever loads renders to text that
/// loads back to the same registry and renders to the same text again; load
/// errors are safe to print. The registry's editing operations keep that.
pub fn hosts_yml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // the store refuses non-UTF-8 before parsing
    };
    same_readers(text);
    let Some(reg) = round_trip::<Registry>(text, "/cfg/hosts.yml") else {
        return;
    };
    let _ = reg.active();
    let _ = reg.current_host_entry();
    let _ = reg.is_empty();
    let contexts: Vec<(String, String)> = reg
        .contexts()
        .map(|(h, e, _)| (h.to_owned(), e.to_owned()))
        .collect();
    for (host, email) in contexts.iter().take(8) {
        assert!(reg.context(host, email).is_some());
        let mut edited = reg.clone();
        assert!(edited.remove(host, email).is_some());
        assert!(edited.context(host, email).is_none());
        check_rendered(&edited, "/cfg/hosts.yml");
        let mut edited = reg.clone();
        assert!(edited.set_current_host(host));
        assert!(edited.set_current_account(host, email));
        // An empty name is no current host or account (as for the official tool).
        let active =
            (!host.is_empty() && !email.is_empty()).then_some((host.as_str(), email.as_str()));
        assert_eq!(edited.active().map(|(h, e, _)| (h, e)), active);
        check_rendered(&edited, "/cfg/hosts.yml");
    }
    if let Some((host, email)) = contexts.first() {
        let ctx = reg.context(host, email).cloned().unwrap_or_default();
        let mut edited = reg.clone();
        edited.upsert(host, "http", email, ctx.clone()).unwrap();
        // A damaged entry of the host is never overwritten.
        match edited.upsert("new.example", "https", "new@example.com", ctx) {
            Ok(()) => {}
            Err(_) => assert!(reg.damage("new.example", None).is_some()),
        }
        check_rendered(&edited, "/cfg/hosts.yml");
    }
    // Damaged entries each have an error naming the file.
    for damage in reg.damaged() {
        check_error(&damage.error());
        assert!(damage.message().contains("/cfg/hosts.yml"));
    }
}

// --------------------------------------------------------------- tokens.yml

/// `tokens.yml`: as for `hosts.yml`, plus set/remove keep the round trip.
pub fn tokens_yml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    same_readers(text);
    let Some(file) = round_trip::<TokenFile>(text, "/cfg/tokens.yml") else {
        return;
    };
    let _ = file.is_empty();
    let mut edited = file.clone();
    // A damaged entry of the host is never overwritten.
    if edited
        .set("h.example", "a@example.com", "dfoa_fuzz")
        .is_err()
    {
        assert!(file.token("h.example", "x").is_err());
        return;
    }
    assert_eq!(edited.get("h.example", "a@example.com"), Some("dfoa_fuzz"));
    check_rendered(&edited, "/cfg/tokens.yml");
    assert!(edited.remove("h.example", "a@example.com"));
    check_rendered(&edited, "/cfg/tokens.yml");
    // Debug output never shows a token.
    let debug = format!("{edited:?}");
    assert!(!debug.contains("dfoa_fuzz"), "{debug}");
}

/// The two readers of store files agree: what the fast one reads (as either
/// store), serde_norway reads the same way; the rest is left to serde_norway.
fn same_readers(text: &str) {
    if let Err(difference) = difyctl::state::compare_readers(text) {
        panic!("{difference}\n--- text ---\n{text}");
    }
}

/// Parses `text`; on success checks parse → render → parse gives the same
/// value and render is stable; on failure checks the error prints safely.
fn round_trip<D: Document + std::fmt::Debug>(text: &str, path: &str) -> Option<D> {
    match D::parse(text, Path::new(path)) {
        // A file with a tag the values do not keep is read, but never
        // rewritten: nothing to round-trip.
        Ok(_) if D::unwritable(text, Path::new(path)).is_some() => None,
        Ok(doc) => {
            check_rendered(&doc, path);
            Some(doc)
        }
        Err(e) => {
            check_error(&e);
            None
        }
    }
}

fn check_rendered<D: Document + std::fmt::Debug>(doc: &D, path: &str) {
    let once = doc.render();
    assert!(
        once.ends_with('\n'),
        "rendered text lacks its final newline"
    );
    let again = match D::parse(&once, Path::new(path)) {
        Ok(again) => again,
        Err(e) => panic!(
            "rendered text does not load: {}\n--- rendered ---\n{once}\n--- value ---\n{doc:?}",
            e.message
        ),
    };
    assert!(
        again == *doc,
        "load(render(x)) != x\n--- rendered ---\n{once}\n--- before ---\n{doc:?}\n--- after ---\n{again:?}"
    );
    let twice = again.render();
    assert!(
        twice == once,
        "render is not stable\n--- first ---\n{once}\n--- second ---\n{twice}"
    );
}

// --------------------------------------------------------- server responses

/// The decoders of server answers, chosen by the first byte. Input layout:
/// `[selector, status_hi, status_lo, rest…]`; `rest` is `headers\n\nbody`
/// when it holds a blank line (`name: value` lines), else all body.
pub fn server_responses(data: &[u8]) {
    let [selector, hi, lo, rest @ ..] = data else {
        return;
    };
    let resp = response(u16::from_be_bytes([*hi, *lo]), rest);
    match selector % 17 {
        0 => outcome(device::decode_device_code(&resp), |code| {
            assert!(!code.device_code.is_empty());
            assert!(code.poll_interval() >= Duration::from_secs(1));
            let lifetime = code.expires_after();
            assert!(lifetime >= Duration::from_secs(1) && lifetime <= device::MAX_CODE_LIFETIME);
        }),
        1 => outcome(device::decode_poll(&resp), |poll| {
            if let device::PollOutcome::Token(payload) = poll {
                assert!(!payload.token.is_empty());
                let _ = payload.email();
                let _ = payload.default_workspace();
            }
        }),
        2 => outcome(account::decode_account(&resp), |_| {}),
        3 => outcome(account::decode_sessions(&resp), |page| {
            assert!(page.raw.is_object());
        }),
        4 => outcome(account::decode_workspaces(&resp), |_| {}),
        5 => outcome(account::decode_switched_workspace(&resp), |ws| {
            assert!(!ws.id.is_empty());
        }),
        6 => check_http_error(&errors::status_error(&resp)),
        7 => {
            let step = [
                Step::Password,
                Step::SendCode,
                Step::CheckCode,
                Step::Logout,
            ][usize::from(selector / 17) % 4];
            check_http_error(&console::console_error(&resp, step));
        }
        8 => check_http_error(&console::approve_error(&resp)),
        9 => outcome(console::signed_in(&resp), |jar| {
            assert!(jar.get("access_token").is_some());
        }),
        10 => outcome(console::decode_email_code_token(&resp), |token| {
            assert!(!token.is_empty());
        }),
        11 => {
            let http = errors::http_context(&resp);
            let raw = http.raw_response.as_deref().unwrap_or("");
            assert_eq!(secret::redact(raw), raw, "raw_response is not redacted");
            if let Some(body) = errors::error_body(&resp.body) {
                let value: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
                assert_eq!(value["code"].as_str(), Some(body.code.as_str()));
                assert_eq!(value["message"].as_str(), Some(body.message.as_str()));
            }
        }
        12 => check_redact(&String::from_utf8_lossy(rest)),
        13 => check_retry_after(&resp, rest),
        14 => check_cookies(&resp, rest),
        15 => check_encode_segment(&String::from_utf8_lossy(rest)),
        _ => check_base64(rest),
    }
}

fn response(status: u16, rest: &[u8]) -> Response {
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (&rest[..0], rest),
    };
    let headers = String::from_utf8_lossy(head)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Response {
        method: "POST".into(),
        url: "https://dify.example/openapi/v1/fuzz".into(),
        status,
        headers,
        body: body.to_vec(),
        bearer: Some(Secret::new(FUZZ_BEARER)),
    }
}

/// The request's bearer in every fuzzed answer: not `dfoa_`-shaped, so only
/// the exact-bearer redaction keeps it out of the errors when a body echoes it.
const FUZZ_BEARER: &str = "opaque-fuzz-bearer";

fn outcome<T>(result: Result<T, CliError>, ok: impl FnOnce(&T)) {
    match result {
        Ok(v) => ok(&v),
        Err(e) => check_http_error(&e),
    }
}

/// An error made from a server answer: prints safely and carries no token.
fn check_http_error(err: &CliError) {
    check_error(err);
    for (json, verbose) in [(false, false), (false, true), (true, false), (true, true)] {
        let text = render_error(err, ErrorStyle { json, verbose });
        assert_eq!(
            secret::redact(&text),
            text,
            "an error shows a token: {text:?}"
        );
        assert!(
            !text.contains(FUZZ_BEARER),
            "an error shows the request's bearer: {text:?}"
        );
    }
}

/// Any error: every rendering is terminal-safe text or a valid JSON envelope.
pub fn check_error(err: &CliError) {
    let _ = err.exit_code();
    for verbose in [false, true] {
        let text = render_error(
            err,
            ErrorStyle {
                json: false,
                verbose,
            },
        );
        assert!(text.ends_with('\n'));
        assert_terminal_safe(&text);
        let json = render_error(
            err,
            ErrorStyle {
                json: true,
                verbose,
            },
        );
        if err.plain {
            assert_eq!(json, text, "parser errors are plain text in every mode");
            continue;
        }
        assert!(json.ends_with('\n') && !json.trim_end().contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&json).expect("the envelope is JSON");
        assert_eq!(value["error"]["code"].as_str(), Some(err.code.as_str()));
        // Redaction may rewrite a message holding a token; any other comes back as is.
        if secret::redact(&err.message) == err.message
            && !err
                .message
                .contains(|c: char| c.is_control() || c == '\\' || c == '"')
        {
            assert_eq!(
                value["error"]["message"].as_str(),
                Some(err.message.as_str())
            );
        }
    }
}

/// No escape sequence or control character reaches the terminal: only `\n`
/// and `\t` among C0, nothing of DEL/C1, no bidi override nor any other
/// invisible character.
pub fn assert_terminal_safe(text: &str) {
    if let Some(c) = text
        .chars()
        .find(|&c| (c.is_control() && c != '\n' && c != '\t') || term::is_invisible(c))
    {
        panic!("control character {c:?} in terminal output {text:?}");
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/')
}

/// `redact`: idempotent, and no `dfoa_`/`dfoe_` token nor `Bearer` value
/// survives it.
fn check_redact(text: &str) {
    let once = secret::redact(text);
    assert_eq!(secret::redact(&once), once, "redact is not idempotent");
    let chars: Vec<(usize, char)> = once.char_indices().collect();
    for (n, &(i, _)) in chars.iter().enumerate() {
        let tail = &once[i..];
        let boundary = n == 0 || !is_token_char(chars[n - 1].1);
        if boundary && (tail.starts_with("dfoa_") || tail.starts_with("dfoe_")) {
            let next = tail[5..].chars().next();
            assert!(
                !next.is_some_and(is_token_char),
                "token left in {once:?} (from {text:?})"
            );
        }
    }
}

/// `Retry-After`: never panics; a number of seconds is taken as given; a date
/// is never before "now".
fn check_retry_after(resp: &Response, rest: &[u8]) {
    let now = UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let value = String::from_utf8_lossy(rest);
    if let Some(wait) = retry::parse_retry_after(&value, now) {
        let v = value.trim();
        if let Ok(secs) = v.parse::<u64>()
            && v.bytes().all(|b| b.is_ascii_digit())
        {
            assert_eq!(wait, Duration::from_secs(secs));
        }
    }
    let _ = resp.retry_after(now);
}

/// Cookie parsing: only the three session cookies, non-empty values, one of
/// each kind; `Debug` never shows a value.
fn check_cookies(resp: &Response, rest: &[u8]) {
    let text = String::from_utf8_lossy(rest);
    let jars = [
        CookieJar::from_set_cookie(resp.header_all("set-cookie")),
        CookieJar::from_set_cookie(text.lines()),
        CookieJar::from_header(&text),
    ];
    for jar in jars {
        let names = jar.names();
        assert!(names.len() <= 3);
        for kind in ["access_token", "refresh_token", "csrf_token"] {
            let spelled: Vec<_> = names
                .iter()
                .filter(|n| n.strip_prefix("__Host-").unwrap_or(n) == kind)
                .collect();
            assert!(spelled.len() <= 1, "two {kind} cookies: {names:?}");
            if let Some(v) = jar.get(kind) {
                assert!(!v.is_empty() && v.expose().trim() == v.expose());
            }
        }
        for name in &names {
            let base = name.strip_prefix("__Host-").unwrap_or(name);
            assert!(["access_token", "refresh_token", "csrf_token"].contains(&base));
        }
        let debug = format!("{jar:?}");
        assert_eq!(debug, format!("CookieJar {{ names: {names:?} }}"));
    }
}

/// Path segments: only unreserved characters and `%XX` come out, never `.` or
/// `..`, and decoding gives the segment back.
fn check_encode_segment(segment: &str) {
    let encoded = request::encode_segment(segment);
    assert!(encoded != "." && encoded != "..");
    assert!(
        encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b))
    );
    let mut decoded = Vec::new();
    let b = encoded.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            decoded.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            decoded.push(b[i]);
            i += 1;
        }
    }
    assert_eq!(decoded, segment.as_bytes());
}

/// Standard base64 with padding: right length, right alphabet, decodes back.
fn check_base64(bytes: &[u8]) {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let encoded = console::base64(bytes);
    assert_eq!(encoded.len(), bytes.len().div_ceil(3) * 4);
    let pad = encoded.bytes().rev().take_while(|&b| b == b'=').count();
    assert_eq!(pad, (3 - bytes.len() % 3) % 3);
    let mut bits = 0u32;
    let mut n = 0;
    let mut decoded = Vec::new();
    for c in encoded.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c)
            .expect("base64 alphabet") as u32;
        bits = bits << 6 | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            decoded.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    assert_eq!(decoded, bytes);
}

// ------------------------------------------------------------ argument parser

/// argv: NUL-separated words, any bytes (not UTF-8 too). The parser never
/// panics, answers the same twice, and its errors and help print safely.
pub fn cli_args(data: &[u8]) {
    let words: Vec<OsString> = if data.is_empty() {
        Vec::new()
    } else {
        data.split(|&b| b == 0).map(os_string).collect()
    };
    let env = difyctl::env::Env::default();
    let first = cli::parse(words.clone(), &env);
    assert_eq!(
        first,
        cli::parse(words, &env),
        "the parser is not deterministic"
    );
    match first.command {
        Ok(command) => match &command {
            cli::Command::Help(req) => {
                let text = match req.topic.and_then(cli::topics::find) {
                    Some(topic) => cli::help::render_topic(topic, 80),
                    None => cli::help::render(&req.path, 80),
                };
                assert_terminal_safe(&text);
            }
            cli::Command::Login(args) => {
                if let Some(host) = &args.host {
                    check_host(host, args.insecure);
                }
            }
            cli::Command::DevicesList { limit, .. } => match limit {
                Some(Ok(n)) => assert!((1..=200).contains(n)),
                Some(Err(e)) => check_error(e),
                None => {}
            },
            _ => {}
        },
        Err(e) => check_error(&e),
    }
    for word in data.split(|&b| b == 0).take(4) {
        if let Ok(word) = std::str::from_utf8(word) {
            check_host(word, true);
        }
    }
}

/// `--host`: what a sign-in accepts is https (or http with --insecure), has
/// a host, a port in range, no credentials and no path, and normalising its
/// own result changes nothing. What any host parse accepts keeps its path.
fn check_host(raw: &str, insecure: bool) {
    match host::for_sign_in(raw, insecure) {
        Ok(target) => {
            let url = &target.url;
            assert!(!target.bare.is_empty() && !target.bare.contains('@'));
            assert_eq!(url.host, target.bare);
            assert!(url.scheme == "https" || (url.scheme == "http" && insecure));
            assert!(url.path_prefix.is_empty());
            if let Some((_, port)) = target.bare.rsplit_once(':')
                && !target.bare.ends_with(']')
                && let Ok(n) = port.parse::<u32>()
            {
                assert!((1..=65535).contains(&n), "{raw:?} -> port {n}");
            }
            let again = format!("{}://{}", url.scheme, target.bare);
            match host::for_sign_in(&again, insecure) {
                Ok(t) => assert!(t == target, "{raw:?} -> {again:?} -> {:?}", t.url),
                Err(e) => panic!("{raw:?} -> {again:?} is refused: {}", e.message),
            }
        }
        Err(e) => check_error(&e),
    }
    if let Ok(target) = host::parse(raw) {
        assert!(!target.url.path_prefix.ends_with('/'));
        let again = format!(
            "{}://{}{}",
            target.url.scheme, target.bare, target.url.path_prefix
        );
        assert_eq!(
            host::parse(&again).ok(),
            Some(target),
            "{raw:?} -> {again:?}"
        );
    }
}

#[cfg(unix)]
fn os_string(bytes: &[u8]) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(bytes.to_vec())
}

#[cfg(not(unix))]
fn os_string(bytes: &[u8]) -> OsString {
    OsString::from(String::from_utf8_lossy(bytes).into_owned())
}

// ------------------------------------------------------ terminal sanitising

/// `sanitize`, `sanitize_line`, `width`, tables and error rendering: no
/// control character but `\n`/`\t` gets through, sanitising is idempotent and
/// only ever removes characters.
pub fn sanitize(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let clean = term::sanitize(&text);
    assert_terminal_safe(&clean);
    assert_eq!(term::sanitize(&clean), clean, "sanitize is not idempotent");
    // Only removes characters, or shows an invisible one as `\u{…}`.
    let mut rest = text.chars();
    let mut shown = clean.as_ref();
    while let Some(c) = shown.chars().next() {
        let escaped = shown
            .strip_prefix("\\u{")
            .and_then(|r| r.split_once('}'))
            .and_then(|(hex, tail)| {
                let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                term::is_invisible(c).then_some((c, tail))
            });
        let (want, tail) = escaped.unwrap_or((c, &shown[c.len_utf8()..]));
        assert!(rest.any(|o| o == want), "sanitize added {want:?}");
        shown = tail;
    }
    let line = term::sanitize_line(&text);
    assert_terminal_safe(&line);
    assert!(!line.contains(['\n', '\t']));
    let width = term::width(&text);
    assert!(width <= 2 * text.chars().count());
    assert!(term::width(&line) <= 2 * line.chars().count());

    // A table of the input's lines, cells split at `|`.
    let rows: Vec<Vec<String>> = text
        .split('\n')
        .take(16)
        .map(|l| l.split('|').take(8).map(str::to_owned).collect())
        .collect();
    for trim in [false, true] {
        let out = table::render(&rows, trim);
        assert_terminal_safe(&out);
        assert_eq!(out.matches('\n').count(), rows.len());
    }

    // An error made of the input: message, hint, server body and details.
    let parts: Vec<&str> = text.splitn(6, '\u{1f}').collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or("").to_owned();
    let details = vec![ErrorDetail {
        kind: part(4),
        loc: vec![serde_json::Value::String(part(5)), serde_json::json!(1)],
        msg: part(3),
    }];
    let mut err = CliError::new(ErrorCode::Unknown, part(0)).with_http(HttpContext {
        method: "GET".into(),
        url: part(1),
        status: Some(400),
        raw_response: Some(text.clone().into_owned()),
        server: Some(ErrorBody {
            code: part(2),
            message: part(0),
            status: None,
            hint: Some(part(1)),
            details: Some(details),
        }),
    });
    check_error(&err);
    err.hint = Some(part(2));
    check_error(&err);
    err.plain = true;
    check_error(&err);
}

// ------------------------------------------------- lock files and store paths

/// Lock files (`[0, mtime offset (8 bytes), text…]`): a lock's text parses
/// only as a whole holder, renders back to the same text, and is judged by
/// its holder on this machine and by its age (30 s, both ways) otherwise.
/// Ownership rules (`[1, owner, mode, me]`, 4 bytes each): a store is refused
/// exactly when another user than root owns it or group/others may write it.
/// Store paths (`[2, fields separated by NUL…]`: DIFY_CONFIG_DIR,
/// XDG_CONFIG_HOME, APPDATA, LOCALAPPDATA, HOME): never empty,
/// DIFY_CONFIG_DIR verbatim, and the lock of a store is `<store>.lock`.
pub fn locks(data: &[u8]) {
    let [selector, rest @ ..] = data else {
        return;
    };
    match selector % 3 {
        0 => check_lock_text(rest),
        1 => check_ownership(rest),
        _ => check_store_paths(rest),
    }
}

fn check_lock_text(data: &[u8]) {
    let Some((offset, text)) = data.split_first_chunk::<8>() else {
        return;
    };
    let offset = i64::from_le_bytes(*offset);
    let now = UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let shift = Duration::from_secs(offset.unsigned_abs() % 1_000_000_000);
    let mtime = if offset < 0 { now - shift } else { now + shift };
    let stale = Duration::from_secs(30);
    let alive = |pid: u32, _: Option<u64>| pid.is_multiple_of(2);
    let verdict = state::judge(text, Some(mtime), now, Some("m1"), stale, &alive);
    let holder = Holder::parse(text);
    if let Some(h) = &holder {
        assert_eq!(
            h.render().as_bytes(),
            text,
            "a holder parses from its own text only"
        );
        assert_eq!(Holder::parse(h.render().as_bytes()).as_ref(), Some(h));
        assert!(h.pid > 0);
    }
    match holder {
        Some(h) if h.machine == "m1" => {
            let want = if alive(h.pid, h.start) {
                Verdict::Held(Some(h))
            } else {
                Verdict::Gone
            };
            assert_eq!(verdict, want, "ours, judged by its holder");
        }
        _ => {
            let want = if shift <= stale {
                Verdict::Held(None)
            } else {
                Verdict::Gone
            };
            assert_eq!(verdict, want, "judged by its age, {offset} s");
            let undated = state::judge(text, None, now, Some("m1"), stale, &alive);
            assert_eq!(undated, Verdict::Gone);
        }
    }
}

fn check_ownership(data: &[u8]) {
    let Some((owner, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let Some((mode, rest)) = rest.split_first_chunk::<4>() else {
        return;
    };
    let Some((me, _)) = rest.split_first_chunk::<4>() else {
        return;
    };
    let (owner, mode, me) = (
        u32::from_le_bytes(*owner),
        u32::from_le_bytes(*mode),
        u32::from_le_bytes(*me),
    );
    let verdict = state::ownership_verdict(Path::new("/cfg/hosts.yml"), owner, mode, me, "600");
    let refused = (owner != me && owner != 0) || mode & 0o022 != 0;
    assert_eq!(
        verdict.is_err(),
        refused,
        "owner {owner} mode {mode:o} me {me}"
    );
    if let Err(e) = verdict {
        check_error(&e);
        assert_eq!(e.exit_code(), 1);
    }
}

fn check_store_paths(data: &[u8]) {
    let fields: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    let field = |i: usize| fields.get(i).map(|f| os_string(f));
    let names = [
        "DIFY_CONFIG_DIR",
        "XDG_CONFIG_HOME",
        "APPDATA",
        "LOCALAPPDATA",
    ];
    let env = |name: &str| names.iter().position(|n| *n == name).and_then(field);
    for os in [Os::Linux, Os::MacOs, Os::Windows, Os::Other] {
        let home = field(4).map(std::path::PathBuf::from);
        match config_dir_with(os, env, || home) {
            Ok(dir) => {
                assert!(!dir.as_os_str().is_empty());
                if let Some(given) = field(0).filter(|v| !v.is_empty()) {
                    assert_eq!(dir.as_os_str(), given.as_os_str());
                }
                let store = dir.join("hosts.yml");
                let lock = state::lock_path(&store);
                let mut want = store.into_os_string();
                want.push(".lock");
                assert_eq!(lock.as_os_str(), want.as_os_str());
            }
            Err(e) => check_error(&e),
        }
    }
}
