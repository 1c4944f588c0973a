//! `api [-X METHOD] [-H 'Key: Value']... [--input FILE|-] [-i] PATH`: an
//! authenticated request to `/openapi/v1/PATH` of the selected context.
//!
//! The response body goes to stdout byte for byte (it is data for scripts,
//! never sanitised), also for a non-2xx answer, whose mapped error then goes
//! to stderr and sets the exit status. Only GET, PUT and DELETE are retried.

use std::io::Read;

use crate::cli::{ApiArgs, Source};
use crate::commands::context::SignedIn;
use crate::ctx::Ctx;
use crate::dify::errors::status_error;
use crate::dify::{Method, Request, Response};
use crate::error::{CliError, Result};
use crate::output::Output;
use crate::output::term::sanitize_line;

/// Headers difyctl sets itself; `-H` may not replace them.
const RESERVED_HEADERS: [&str; 4] = [
    "authorization",
    "host",
    "content-length",
    "transfer-encoding",
];

pub fn run(ctx: &Ctx, args: &ApiArgs) -> Result<Output> {
    let path = request_path(&args.path)?;
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>>>()?;
    let method = match &args.method {
        Some(m) => Method::custom(m.trim()).ok_or_else(|| {
            CliError::usage_invalid(format!(
                "-X: \"{}\" is not an HTTP method",
                sanitize_line(m)
            ))
            .with_hint("use a method name made of letters, such as GET, POST, PUT, PATCH or DELETE")
        })?,
        None if args.input.is_some() => Method::Post,
        None => Method::Get,
    };
    let signed = SignedIn::resolve(ctx, &args.select)?;
    let body = args.input.as_ref().map(read_input).transpose()?;

    let client = signed.talking_client(ctx, args.http_retry, false)?;
    let content_type = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone());
    let mut req = Request::new(method, path).bearer(Some(&signed.token));
    for (name, value) in &headers {
        // With a body the Content-Type travels with it (once).
        if body.is_some() && name.eq_ignore_ascii_case("content-type") {
            continue;
        }
        req = req.header(name, value);
    }
    if let Some(body) = body {
        let content_type = content_type.unwrap_or_else(|| {
            if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok() {
                "application/json".to_string()
            } else {
                "application/octet-stream".to_string()
            }
        });
        req = req.body(body, &content_type);
    }

    let resp = client.send(&req).map_err(|e| signed.explain(e))?;
    let mut out = if args.include {
        head(&resp)
    } else {
        Vec::new()
    };
    let ok = resp.is_success();
    let error = (!ok).then(|| signed.explain(status_error(&resp)));
    out.extend_from_slice(&resp.body);
    Ok(match error {
        None => Output::Raw(out),
        Some(e) => Output::Raw(out).then_error(e),
    })
}

/// `PATH` as a request path under `/openapi/v1/`: a leading slash is
/// optional, the query string is kept, characters a URL cannot hold are
/// percent-encoded. URLs and `.`/`..` segments (also encoded, or with `\`)
/// are refused, so a request never leaves `/openapi/v1/`.
fn request_path(raw: &str) -> Result<String> {
    let outside = |why: &str| {
        CliError::usage_invalid(format!(
            "PATH must be a path under /openapi/v1/ ({why}): \"{}\"",
            sanitize_line(raw)
        ))
        .with_hint("pass the part after /openapi/v1/, e.g. 'difyctl api account'")
    };
    if raw.contains("://") {
        return Err(outside("not a URL"));
    }
    if raw.contains('#') {
        return Err(outside("no fragment"));
    }
    let trimmed = raw.trim_start_matches('/');
    let path = trimmed.split_once('?').map_or(trimmed, |(p, _)| p);
    let decoded = percent_decode(path);
    if decoded
        .split(|b| *b == b'/' || *b == b'\\')
        .any(|seg| seg == b"." || seg == b"..")
    {
        return Err(outside("no '.' or '..' segments"));
    }
    let mut out = String::with_capacity(trimmed.len());
    for b in trimmed.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| hex(*c)),
                b.get(i + 2).and_then(|c| hex(*c)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// `-H 'Key: Value'`: a header name (an HTTP token) and a value without
/// control characters. difyctl's own headers cannot be replaced.
fn parse_header(raw: &str) -> Result<(String, String)> {
    let malformed = || {
        CliError::usage_invalid(format!(
            "-H: \"{}\" is not a 'Key: Value' header",
            sanitize_line(raw)
        ))
    };
    let (name, value) = raw.split_once(':').ok_or_else(malformed)?;
    let (name, value) = (name.trim(), value.trim());
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(malformed());
    }
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(malformed());
    }
    if RESERVED_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
    {
        let mut e =
            CliError::usage_invalid(format!("-H cannot set {name}: difyctl sets it itself"));
        if name.eq_ignore_ascii_case("authorization") {
            e = e.with_hint(
                "the selected context's token is sent; to use another token, set DIFY_TOKEN",
            );
        }
        return Err(e);
    }
    Ok((name.to_string(), value.to_string()))
}

/// `--input FILE`, or standard input for `-`.
/// The largest request body `--input` reads: far beyond any API payload, and
/// a bound on what `--input /dev/zero` (or an endless pipe) can take.
const INPUT_LIMIT: u64 = 64 * 1024 * 1024;

fn read_input(source: &Source) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    let limited = |r: &mut dyn Read, body: &mut Vec<u8>| r.take(INPUT_LIMIT + 1).read_to_end(body);
    let (read, shown) = match source {
        Source::Stdin => (limited(&mut std::io::stdin().lock(), &mut body), "-".into()),
        Source::File(path) => (
            std::fs::File::open(path).and_then(|mut f| limited(&mut f, &mut body)),
            sanitize_line(&path.to_string_lossy()),
        ),
    };
    read.map_err(|e| CliError::client(format!("cannot read --input {shown}: {e}")))?;
    if body.len() as u64 > INPUT_LIMIT {
        return Err(CliError::usage_invalid(format!(
            "--input {shown} holds more than {} MiB",
            INPUT_LIMIT / (1024 * 1024)
        )));
    }
    Ok(body)
}

/// `-i`: the status line and the headers as received, then a blank line.
fn head(resp: &Response) -> Vec<u8> {
    let reason = ureq::http::StatusCode::from_u16(resp.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut out = format!("HTTP/1.1 {} {reason}", resp.status)
        .trim_end()
        .to_string();
    out.push('\n');
    for (name, value) in &resp.headers {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push('\n');
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn path(raw: &str) -> String {
        request_path(raw).unwrap_or_else(|e| format!("ERR {}", e.code))
    }

    #[test]
    fn paths_stay_under_openapi_v1() {
        assert_eq!(path("account"), "account");
        assert_eq!(path("/account"), "account");
        assert_eq!(path("//account"), "account");
        assert_eq!(
            path("account/sessions?page=2&limit=5"),
            "account/sessions?page=2&limit=5"
        );
        assert_eq!(path("apps?name=my app"), "apps?name=my%20app");
        assert_eq!(path("a/é"), "a/%C3%A9");
        assert_eq!(path("a..b/c.d"), "a..b/c.d");
        assert_eq!(path("x?next=../y"), "x?next=../y");
        for bad in [
            "../console/api",
            "/../console/api",
            "a/../../console",
            "a/./b",
            "..",
            "%2e%2E/console",
            "a%2F..%2Fb",
            "..\\console",
            "https://evil.test/openapi/v1/account",
            "account#frag",
        ] {
            assert_eq!(path(bad), "ERR usage_invalid_flag", "{bad}");
        }
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("X-Trace:  a b ").unwrap(),
            ("X-Trace".to_string(), "a b".to_string())
        );
        assert_eq!(
            parse_header("Accept:").unwrap(),
            ("Accept".to_string(), String::new())
        );
        for bad in ["nocolon", ": v", "Bad Name: v", "X: a\u{1b}b", "X: a\rb"] {
            let e = parse_header(bad).unwrap_err();
            assert_eq!(
                (e.code, e.message.starts_with("-H: \"")),
                (ErrorCode::UsageInvalidFlag, true),
                "{bad:?}"
            );
        }
        let e = parse_header("authorization: Bearer x").unwrap_err();
        assert_eq!(
            e.message,
            "-H cannot set authorization: difyctl sets it itself"
        );
        assert!(e.hint.unwrap().contains("DIFY_TOKEN"));
        assert!(parse_header("Content-Length: 3").is_err());
    }

    #[test]
    fn include_head() {
        let resp = Response {
            method: "GET".into(),
            url: "u".into(),
            status: 404,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Vec::new(),
            bearer: None,
        };
        assert_eq!(
            String::from_utf8(head(&resp)).unwrap(),
            "HTTP/1.1 404 Not Found\ncontent-type: application/json\n\n"
        );
        let odd = Response {
            status: 599,
            ..resp
        };
        assert!(
            String::from_utf8(head(&odd))
                .unwrap()
                .starts_with("HTTP/1.1 599\n")
        );
    }
}
