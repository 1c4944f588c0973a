//! A one-thread HTTP/1.1 stub for tests: serves canned responses in order, one
//! per connection, and records what it was sent.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::options::Sleeper;
use super::{Client, ClientOptions, HostUrl};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Canned {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Canned {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Canned {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn json(status: u16, body: &str) -> Self {
        Canned::new(status, body).header("Content-Type", "application/json")
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

pub struct Stub {
    pub port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Stub {
    /// Requests seen so far. A request is recorded before its response is
    /// written, so once the client has a response this list is complete.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn client(&self, opts: ClientOptions) -> Client {
        Client::new(
            &HostUrl::new("http", &format!("127.0.0.1:{}", self.port)),
            opts,
        )
        .unwrap()
    }
}

/// Starts serving `responses`; the thread ends after the last one (or stays
/// blocked in `accept` if the client asks for fewer, which ends with the tests).
pub fn serve(responses: Vec<Canned>) -> Stub {
    serve_with(responses, |tcp| Some(Box::new(tcp) as Box<dyn ReadWrite>))
}

/// Like [`serve`], over TLS with the test server certificate (for `localhost`
/// and 127.0.0.1, issued by `testdata/test-ca.pem`).
pub fn serve_tls(responses: Vec<Canned>) -> Stub {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certs = CertificateDer::pem_slice_iter(include_bytes!("testdata/test-server.pem"))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("testdata/test-server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let config = Arc::new(config);
    serve_with(responses, move |tcp| {
        let conn = rustls::ServerConnection::new(Arc::clone(&config)).ok()?;
        Some(Box::new(rustls::StreamOwned::new(conn, tcp)) as Box<dyn ReadWrite>)
    })
}

pub trait ReadWrite: std::io::Read + Write + Send {}
impl<T: std::io::Read + Write + Send> ReadWrite for T {}

fn serve_with(
    responses: Vec<Canned>,
    wrap: impl Fn(TcpStream) -> Option<Box<dyn ReadWrite>> + Send + 'static,
) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    std::thread::spawn(move || {
        for canned in responses {
            let Ok((tcp, _)) = listener.accept() else {
                return;
            };
            let Some(stream) = wrap(tcp) else { continue };
            let mut reader = BufReader::new(stream);
            // A client that rejects our TLS certificate sends no request.
            let Some(req) = read_request(&mut reader) else {
                continue;
            };
            seen.lock().unwrap().push(req);
            let mut stream = reader.into_inner();
            let mut head = format!(
                "HTTP/1.1 {} Stub\r\nContent-Length: {}\r\nConnection: close\r\n",
                canned.status,
                canned.body.len()
            );
            for (k, v) in &canned.headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            // The client may hang up early (e.g. over the body cap): ignore write errors.
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&canned.body);
            let _ = stream.flush();
        }
    });
    Stub { port, requests }
}

fn read_request(reader: &mut impl BufRead) -> Option<Recorded> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (k, v) = trimmed.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

/// A sleeper that records the waits instead of sleeping.
pub fn recording_sleeper() -> (Sleeper, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&waits);
    (Arc::new(move |d| log.lock().unwrap().push(d)), waits)
}

/// Options for stub tests: no environment, recorded sleeps.
pub fn test_options() -> (ClientOptions, Arc<Mutex<Vec<Duration>>>) {
    let (sleeper, waits) = recording_sleeper();
    (
        ClientOptions {
            sleeper,
            ..ClientOptions::default()
        },
        waits,
    )
}

/// A port with nothing listening (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
