//! Who may send over MLLP, on real sockets: mutual TLS with certificates made by the `openssl`
//! CLI and a rustls client; a client without a certificate, or with one from another CA, gets no
//! answer; the allow-list of sending facilities and its binding to client certificates refuse
//! `AR` (kept as dead letters, nothing stored); and one sender holding its maximum of idle
//! connections does not lock another sender out.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::mllp::{ack_code, framed, start_mllp_bridge, tree_size, MllpClient};
use crate::support::{bridge, ndjson, temp_dir};

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl (the CLI is needed)");
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// A CA named `ca` in `dir` (`ca.pem`, `ca.key`).
fn make_ca(dir: &Path, ca: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={ca}"),
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.pem"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    );
}

/// A certificate `name` signed by `ca`, with `san` as subjectAltName and `usage` as extended key usage.
fn make_cert(dir: &Path, ca: &str, name: &str, san: &str, usage: &str) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    std::fs::write(dir.join(format!("{name}.ext")), format!("subjectAltName={san}\nextendedKeyUsage={usage}\n"))
        .expect("write");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

/// A rustls client trusting `ca.pem`, presenting `client` (a certificate name in `dir`) or none.
fn client_config(dir: &Path, client: Option<&str>) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(dir.join("ca.pem")).expect("CA")).expect("root");
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match client {
        Some(name) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_file(dir.join(format!("{name}.pem"))).expect("cert")],
                PrivateKeyDer::from_pem_file(dir.join(format!("{name}.key"))).expect("key"),
            )
            .expect("client auth"),
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// Sends `message` over TLS; its ACK, or `None` when the bridge refused the connection.
fn send_tls(port: u16, config: Arc<rustls::ClientConfig>, message: &str) -> Option<String> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let connection =
        rustls::ClientConnection::new(config, ServerName::try_from("localhost").expect("name")).expect("client");
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    // TLS 1.3 finishes the client's side before the server checks its certificate: the refusal
    // shows as a failed write or read.
    tls.write_all(&framed(&[message.to_owned()])).ok()?;
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(&[0x1C, b'\r']) {
        match tls.read(&mut byte) {
            Ok(1) => answer.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&answer[1..answer.len() - 2]).into_owned())
}

fn adt(facility: &str, control_id: &str) -> String {
    format!(
        "MSH|^~\\&|ADT|{facility}|BRIDGE|HOSP|20240101120000||ADT^A01^ADT_A01|{control_id}|P|2.5.1\r\
         EVN|A01|20240101120000\rPID|1||TLS-MRN-{control_id}^^^{facility}^MR||TLS^TEST||19700101|F\r"
    )
}

#[test]
fn mllp_over_mutual_tls_serves_only_certified_senders_as_their_own_facilities() {
    let data = temp_dir();
    let pki = temp_dir();
    let dir = pki.path();
    make_ca(dir, "ca");
    make_ca(dir, "other-ca");
    make_cert(dir, "ca", "server", "DNS:localhost,IP:127.0.0.1", "serverAuth");
    make_cert(dir, "ca", "hospital-x", "DNS:hospital-x.example", "clientAuth");
    make_cert(dir, "other-ca", "stranger", "DNS:hospital-x.example", "clientAuth");
    let path = |name: &str| dir.join(name).display().to_string();
    let (mut server, port) = start_mllp_bridge(
        data.path(),
        &[
            ("FHIR_BRIDGE__MLLP__TLS__CERT_FILE", path("server.pem")),
            ("FHIR_BRIDGE__MLLP__TLS__KEY_FILE", path("server.key")),
            ("FHIR_BRIDGE__MLLP__TLS__CLIENT_CA_FILE", path("ca.pem")),
            ("FHIR_BRIDGE__MLLP__TLS__FACILITIES_BY_CERTIFICATE", r#"{ "hospital-x.example" = ["HOSPX"] }"#.into()),
            ("FHIR_BRIDGE__MLLP__ALLOWED_FACILITIES", r#"["HOSPX", "HOSPY"]"#.into()),
        ],
    );

    // The certified sender, as its own facility: stored.
    let hospital_x = client_config(dir, Some("hospital-x"));
    let ack = send_tls(port, hospital_x.clone(), &adt("HOSPX", "TLS-1")).expect("an ACK");
    assert_eq!(ack_code(&ack), "AA", "{ack}");
    let stored = tree_size(&server);
    assert!(stored > 0);

    // No certificate, a certificate of another CA, or plaintext: no answer, nothing read.
    assert_eq!(send_tls(port, client_config(dir, None), &adt("HOSPX", "TLS-2")), None, "no client certificate");
    assert_eq!(send_tls(port, client_config(dir, Some("stranger")), &adt("HOSPX", "TLS-3")), None, "another CA");
    let mut plain = MllpClient::connect(port);
    let _ = plain.stream.write_all(&framed(&[adt("HOSPX", "TLS-4")]));
    assert!(plain.read_ack().is_none_or(|a| !a.contains("MSA")), "plaintext to the TLS port gets no ACK");

    // Valid certificate, but another facility (allowed on the listener, not for it), and a
    // facility the listener does not allow at all: refused AR, kept.
    let as_y = send_tls(port, hospital_x.clone(), &adt("HOSPY", "TLS-5")).expect("an ACK");
    assert_eq!(ack_code(&as_y), "AR", "{as_y}");
    assert!(as_y.contains("ERR||MSH^1^4|") && as_y.contains("not allowed for this client certificate"), "{as_y}");
    let as_z = send_tls(port, hospital_x, &adt("HOSPZ", "TLS-6")).expect("an ACK");
    assert_eq!(ack_code(&as_z), "AR", "{as_z}");
    assert!(as_z.contains("not allowed on this listener"), "{as_z}");
    assert_eq!(tree_size(&server), stored, "nothing of the refused messages is stored");

    assert_eq!(server.terminate(Duration::from_secs(30)).code(), Some(0));
    let letters = ndjson(&bridge(data.path(), ["dead-letters"]).expect_code(0, "dead-letters").stdout);
    assert_eq!(letters.len(), 2, "{letters:#?}");
    assert!(letters[0]["message"].as_str().is_some_and(|m| m.contains("TLS-5")));
    assert!(letters[1]["message"].as_str().is_some_and(|m| m.contains("TLS-6")));
    for letter in &letters {
        let reason = letter["reason"].as_str().unwrap_or("");
        assert!(reason.starts_with("MSH-4: ") && !reason.contains("HOSP"), "{reason}");
    }
}

#[test]
fn a_sender_holding_its_maximum_of_idle_connections_does_not_lock_out_another() {
    let data = temp_dir();
    let (_server, port) = start_mllp_bridge(
        data.path(),
        &[
            ("FHIR_BRIDGE__MLLP__MAX_CONNECTIONS", "4".into()),
            ("FHIR_BRIDGE__MLLP__MAX_CONNECTIONS_PER_SENDER", "2".into()),
        ],
    );
    // Sender A (127.0.0.1) opens more idle connections than the whole listener has slots.
    let idle: Vec<TcpStream> = (0..6).map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect")).collect();
    std::thread::sleep(Duration::from_millis(300));
    let open = idle
        .iter()
        .filter(|stream| {
            stream.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
            let mut byte = [0u8; 1];
            // A closed connection reads EOF (or a reset); an open idle one times out.
            matches!((&**stream).read(&mut byte), Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
        })
        .count();
    assert_eq!(open, 2, "sender A holds at most its two connections");

    // Sender B (another loopback address) is served while A's connections sit idle.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.2:0".parse().expect("address")).expect("bind 127.0.0.2");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let stream = runtime
        .block_on(socket.connect(format!("127.0.0.1:{port}").parse().expect("address")))
        .expect("connect from 127.0.0.2")
        .into_std()
        .expect("std stream");
    stream.set_nonblocking(false).expect("blocking");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut b = MllpClient { stream };
    let ack = b.send(&adt("HOSPB", "B-1"));
    assert_eq!(ack_code(&ack), "AA", "{ack}");
    drop(idle);
}
