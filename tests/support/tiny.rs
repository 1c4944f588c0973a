//! A tiny HTTP server that is not Dify: every request gets the same canned
//! answer, and its request line and headers are recorded. For servers that
//! misbehave in ways the mock does not (another service at the URL, a
//! proxy's own answer).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request: its head's lines (with their line ends) and its body.
fn read_request(stream: &TcpStream) -> (Vec<String>, Vec<u8>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut lines = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        lines.push(line);
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    (lines, body)
}

pub struct Tiny {
    pub port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Tiny {
    /// Answers every request with `status`, `content_type` and `body`.
    pub fn answer(status: u16, content_type: &str, body: &str) -> Tiny {
        let response = format!(
            "HTTP/1.1 {status} Canned\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        Tiny::serve(move |mut stream, _, _| {
            let _ = stream.write_all(response.as_bytes());
        })
    }

    /// Records each request's head and hands it to `reply`, one request per
    /// connection.
    fn serve(reply: impl Fn(TcpStream, &[String], Vec<u8>) + Send + 'static) -> Tiny {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&heads);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (lines, body) = read_request(&stream);
                seen.lock().unwrap().push(lines.concat());
                reply(stream, &lines, body);
            }
        });
        Tiny { port, heads }
    }

    /// A forward HTTP proxy that refuses `CONNECT` (403, as Squid does for
    /// ports other than 443) and relays absolute-form requests
    /// (`GET http://host:port/path`) to their host, one per connection.
    pub fn forward_proxy() -> Tiny {
        Tiny::serve(|mut client, lines, body| {
            let Some(first) = lines.first() else { return };
            let mut words = first.split_whitespace();
            let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            let Some(rest) = target
                .strip_prefix("http://")
                .filter(|_| method != "CONNECT")
            else {
                let _ = client.write_all(
                    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                return;
            };
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let Ok(mut upstream) = TcpStream::connect(authority) else {
                let _ = client.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                return;
            };
            let mut request = format!("{method} {path} HTTP/1.1\r\n");
            for line in &lines[1..] {
                let lower = line.to_ascii_lowercase();
                if !lower.starts_with("connection:") && !lower.starts_with("proxy-") {
                    request.push_str(line);
                }
            }
            request.push_str("Connection: close\r\n\r\n");
            let _ = upstream.write_all(request.as_bytes());
            let _ = upstream.write_all(&body);
            let mut answer = Vec::new();
            let _ = upstream.read_to_end(&mut answer);
            let _ = client.write_all(&answer);
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The request heads received so far (request line and headers).
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}
