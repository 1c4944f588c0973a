//! Connections: accepting, reading one request, writing one answer.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::Value;

use super::state::Shared;
use super::views::Recorded;
use super::{MAX_BODY, MAX_HEAD};

pub(super) fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            if shared.lock().shutdown {
                break;
            }
            continue;
        };
        let id = {
            let mut st = shared.lock();
            if st.shutdown {
                break;
            }
            let Ok(clone) = stream.try_clone() else {
                continue;
            };
            st.next_conn += 1;
            let id = st.next_conn;
            st.conns.insert(id, clone);
            id
        };
        workers.retain(|w| !w.is_finished());
        let shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("dify-mock-conn".into())
            .spawn(move || {
                serve(&shared, stream);
                shared.lock().conns.remove(&id);
            });
        if let Ok(w) = spawned {
            workers.push(w);
        }
    }
    for w in workers {
        let _ = w.join();
    }
}

pub(super) fn serve(shared: &Shared, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let req = match read_request(&stream) {
        Ok(Some(req)) => req,
        Ok(None) => return,
        Err(_) => {
            let resp = Response::text(400, "text/plain", "bad request\n");
            let _ = write_response(&mut stream, &resp);
            return;
        }
    };
    let outcome = {
        let mut st = shared.lock();
        if st.shutdown {
            return;
        }
        st.requests.push(Recorded {
            method: req.method.clone(),
            path: req.path_query.clone(),
            target: req.target.clone(),
            headers: req.headers.clone(),
            body: String::from_utf8_lossy(&req.body).into_owned(),
        });
        // A held path: the request is on record (tests may wait for it), the
        // answer waits for the release.
        while !st.shutdown && st.holds.iter().any(|p| req.path.starts_with(p.as_str())) {
            shared.cv.notify_all();
            st = shared.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        if st.shutdown {
            return;
        }
        let outcome = st.dispatch(&req);
        if st.cfg.log_requests {
            let status = match &outcome {
                Outcome::Respond(r) => r.status.to_string(),
                Outcome::Hang => "(hang)".into(),
                Outcome::Drip(_) => "(drip)".into(),
            };
            eprintln!("{} {} -> {}", req.method, req.path_query, status);
        }
        outcome
    };
    shared.cv.notify_all();
    match outcome {
        Outcome::Respond(resp) => {
            let _ = write_response(&mut stream, &resp);
        }
        Outcome::Hang => {
            let mut st = shared.lock();
            while !st.shutdown {
                st = shared.cv.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        }
        Outcome::Drip(every) => drip(shared, &mut stream, every),
    }
}

/// A 200 that announces 1 MiB of JSON and sends one space per `every`, until
/// the client gives up or the mock is dropped.
pub(super) fn drip(shared: &Shared, stream: &mut TcpStream, every: Duration) {
    let head = "HTTP/1.1 200 OK\r\nServer: dify-mock\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let mut st = shared.lock();
    while !st.shutdown {
        drop(st);
        if stream
            .write_all(b" ")
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
        st = shared.lock();
        st = shared
            .cv
            .wait_timeout(st, every)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

pub(super) struct Request {
    pub(super) method: String,
    pub(super) target: String,
    /// Origin-form path plus query.
    pub(super) path_query: String,
    /// Path without query (still percent-encoded).
    pub(super) path: String,
    pub(super) query: Vec<(String, String)>,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Request {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub(super) fn json(&self) -> Option<serde_json::Map<String, Value>> {
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }
    pub(super) fn cookie(&self, name: &str) -> Option<String> {
        let prefixed = format!("__Host-{name}");
        self.headers
            .iter()
            .filter(|(k, _)| k == "cookie")
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name || *k == prefixed)
            .map(|(_, v)| v.to_string())
    }
}

pub(super) fn read_line(r: &mut impl BufRead, budget: &mut usize) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = r.take(*budget as u64 + 1).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if n > *budget || !buf.ends_with(b"\n") {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
    }
    *budget -= n;
    let line = String::from_utf8_lossy(&buf);
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

pub(super) fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

pub(super) fn read_request(stream: &TcpStream) -> io::Result<Option<Request>> {
    let mut r = BufReader::new(stream);
    let mut budget = MAX_HEAD;
    let Some(line) = read_line(&mut r, &mut budget)? else {
        return Ok(None);
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("bad request line"));
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || target.is_empty() {
        return Err(bad("bad request line"));
    }
    let mut headers = Vec::new();
    loop {
        let Some(line) = read_line(&mut r, &mut budget)? else {
            return Err(bad("eof in head"));
        };
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').ok_or_else(|| bad("bad header"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            let size_line = read_line(&mut r, &mut budget)?.ok_or_else(|| bad("eof in chunk"))?;
            let hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(hex, 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                while read_line(&mut r, &mut budget)?.is_some_and(|l| !l.is_empty()) {}
                break;
            }
            if body.len() + size > MAX_BODY {
                return Err(bad("body too large"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf)?;
        }
    } else if let Some(len) = get("content-length") {
        let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
        if len > MAX_BODY {
            return Err(bad("body too large"));
        }
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    }
    // Absolute-form (as sent to a proxy) → origin-form.
    let origin = match target.find("://") {
        Some(i) => match target[i + 3..].find('/') {
            Some(j) => target[i + 3 + j..].to_string(),
            None => "/".to_string(),
        },
        None => target.to_string(),
    };
    let (path, query) = match origin.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (origin.clone(), String::new()),
    };
    let query = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (pct_decode(k, true), pct_decode(v, true))
        })
        .collect();
    Ok(Some(Request {
        method: method.to_string(),
        target: target.to_string(),
        path_query: origin,
        path,
        query,
        headers,
        body,
    }))
}

pub(super) fn pct_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit() =>
            {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("0");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 3;
                continue;
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) struct Response {
    pub(super) status: u16,
    pub(super) content_type: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Response {
    pub(super) fn text(status: u16, content_type: &str, body: &str) -> Response {
        Response {
            status,
            content_type: content_type.into(),
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }
    pub(super) fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }
}

pub(super) enum Outcome {
    Respond(Response),
    Hang,
    /// Headers, then one byte per interval until shutdown.
    Drip(Duration),
}

pub(super) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

pub(super) fn write_response(stream: &mut TcpStream, resp: &Response) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nServer: dify-mock\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(&resp.body);
    stream.write_all(&out)?;
    stream.flush()?;
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}
