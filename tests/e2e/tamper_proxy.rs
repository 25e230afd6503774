//! A custodian that lies: an HTTP proxy in front of a real bridge that forwards every request
//! and, when told to, alters the `/peer/records` answers on the way back (one ciphertext byte, or
//! one ledger record). What a grantee must detect, made on real HTTP.

#![allow(dead_code, reason = "each test uses a different subset of the helpers")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use data_encoding::BASE64;
use serde_json::Value;

/// What the proxy does to `/peer/records` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Lie {
    /// Pass them through.
    None = 0,
    /// Flip one bit of the first record's ciphertext.
    Ciphertext = 1,
    /// Change the first record's operation (the ledger bytes) from create to update.
    Record = 2,
}

/// The running proxy (its threads end with the test process).
pub struct TamperProxy {
    pub port: u16,
    lie: Arc<AtomicU8>,
    upstream: Arc<Mutex<String>>,
}

impl TamperProxy {
    /// A proxy (to the upstream set with [`Self::set_upstream`]), passing everything through at first.
    pub fn start() -> TamperProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let lie = Arc::new(AtomicU8::new(Lie::None as u8));
        let upstream = Arc::new(Mutex::new(String::new()));
        let (shared, target) = (lie.clone(), upstream.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (upstream, lie) = (target.lock().expect("lock").clone(), shared.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &upstream, lie.load(Ordering::SeqCst));
                });
            }
        });
        TamperProxy { port, lie, upstream }
    }

    /// Where to forward (`http://127.0.0.1:PORT`).
    pub fn set_upstream(&self, url: String) {
        *self.upstream.lock().expect("lock") = url;
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, lie: Lie) {
        self.lie.store(lie as u8, Ordering::SeqCst);
    }
}

fn serve(stream: TcpStream, upstream: &str, lie: u8) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("GET").to_owned(), parts.next().unwrap_or("/").to_owned());
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
            if name == "content-length" {
                length = value.parse().unwrap_or(0);
            }
            if name == "authorization" || name == "content-type" {
                headers.push((name, value));
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut request = ureq::request(&method, &format!("{upstream}{path}")).timeout(Duration::from_secs(30));
    for (name, value) in &headers {
        request = request.set(name, value);
    }
    let response = match request.send_bytes(&body) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("upstream: {e}"),
    };
    let status = response.status();
    let content_type = response.content_type().to_owned();
    let mut answer = response.into_string().unwrap_or_default();
    if status == 200 && path.starts_with("/peer/records") && lie != Lie::None as u8 {
        answer = alter(&answer, lie);
    }
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    )?;
    stream.flush()
}

fn alter(answer: &str, lie: u8) -> String {
    let mut json: Value = serde_json::from_str(answer).expect("peer answer JSON");
    let first = &mut json["records"][0];
    if lie == Lie::Ciphertext as u8 {
        let mut bytes = BASE64.decode(first["ciphertext"].as_str().expect("ciphertext").as_bytes()).expect("b64");
        bytes[20] ^= 0x01;
        first["ciphertext"] = BASE64.encode(&bytes).into();
    } else {
        let bytes = BASE64.decode(first["record"].as_str().expect("record").as_bytes()).expect("b64");
        let text = String::from_utf8(bytes).expect("utf8");
        assert!(text.contains("\"op\":\"create\""), "{text}");
        first["record"] = BASE64.encode(text.replace("\"op\":\"create\"", "\"op\":\"update\"").as_bytes()).into();
    }
    json.to_string()
}
