//! Test support: a one-thread stand-in for Veriff's API on a local port that answers a fixed
//! list of replies, one connection each, and records every request it was sent.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::client::VeriffClient;
use super::config::VeriffConfig;

/// One request as the fake received it.
pub(super) struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub(super) struct FakeVeriff {
    /// `http://127.0.0.1:{port}/veriff`, as the emulator serves the API.
    pub base: String,
    handle: std::thread::JoinHandle<Vec<Seen>>,
}

impl FakeVeriff {
    /// Every request received, once every reply was sent (or after 5 s without a connection).
    pub fn seen(self) -> Vec<Seen> {
        self.handle.join().expect("fake Veriff thread")
    }
}

/// Serve `replies` (status, body) in order, one per connection.
pub(super) fn serve(replies: Vec<(u16, String)>) -> FakeVeriff {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let base = format!("http://{}/veriff", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for (status, body) in replies {
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut stream = loop {
                match listener.accept() {
                    Ok((stream, _)) => break stream,
                    Err(_) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => return seen,
                }
            };
            stream.set_nonblocking(false).expect("blocking");
            seen.push(read_request(&mut stream));
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).expect("write");
        }
        seen
    });
    FakeVeriff { base, handle }
}

fn read_request(stream: &mut std::net::TcpStream) -> Seen {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "connection closed mid-request");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let path = first.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = raw[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).expect("read body");
        assert!(n > 0, "connection closed mid-body");
        body.extend_from_slice(&buf[..n]);
    }
    Seen {
        method,
        path,
        headers,
        body,
    }
}

/// The emulator's local credentials against `base`.
pub(super) fn config(base: &str) -> VeriffConfig {
    VeriffConfig {
        base_url: base.parse().expect("base URL"),
        api_key: SecretString::from("local-veriff-api-key"),
        shared_secrets: vec![SecretString::from("local-veriff-shared-secret")],
        allowed_ips: Vec::new(),
    }
}

pub(super) fn http() -> reqwest::Client {
    crate::net::client_builder()
        .expect("tls")
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

pub(super) fn client(fake: &FakeVeriff) -> VeriffClient {
    VeriffClient::new(config(&fake.base), http())
}
