//! The `[mllp]` section.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// The MLLP listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MllpConfig {
    /// Address and port (`127.0.0.1:2575`). Plaintext on an address other than loopback is
    /// logged as a warning at start: set `tls` there.
    pub listen: SocketAddr,
    /// Most connections served at once; a connection beyond them is accepted and closed at once.
    #[serde(default = "default_mllp_max_connections")]
    pub max_connections: usize,
    /// Most connections one sender may hold at once (a sender: the peer IP address, or with
    /// `tls` its client certificate), so one sender cannot take every slot; beyond them its new
    /// connection is closed at once.
    #[serde(default = "default_mllp_max_connections_per_sender")]
    pub max_connections_per_sender: usize,
    /// Largest message accepted, in bytes; a larger frame is refused (`AR`, when its MSH can be
    /// read), kept as a dead letter (its first 4 KiB, its size and SHA-256), and the connection closed.
    #[serde(default = "default_mllp_max_message_bytes")]
    pub max_message_bytes: usize,
    /// A connection with no message under way for this long (seconds) is closed, freeing its slot.
    #[serde(default = "default_mllp_idle_timeout_s")]
    pub idle_timeout_s: u64,
    /// A message begun (its start block received) must be complete within this many seconds,
    /// however its bytes trickle in; else the connection is closed. It also bounds a TLS handshake.
    #[serde(default = "default_mllp_message_timeout_s")]
    pub message_timeout_s: u64,
    /// Sending facilities accepted (MSH-4, its first component), each `FACILITY` or
    /// `APPLICATION/FACILITY` (MSH-3/MSH-4). Empty: any. A message from another is refused
    /// `AR` and kept as a dead letter.
    #[serde(default)]
    pub allowed_facilities: Vec<String>,
    /// MLLP over TLS with client certificates (mutual TLS); absent = plaintext.
    #[serde(default)]
    pub tls: Option<MllpTlsConfig>,
}

/// TLS for the MLLP listener: the server's certificate and key, and the CAs whose client
/// certificates are accepted; a client without one is refused during the handshake.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MllpTlsConfig {
    /// The server certificate chain, PEM.
    pub cert_file: PathBuf,
    /// The server's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// The CA certificates that sign client certificates, PEM.
    pub client_ca_file: PathBuf,
    /// Binds sending facilities to client certificates: a certificate's subjectAltName DNS name
    /// → the facilities (as in `allowed_facilities`) it may send as. When set, a certificate may
    /// send only as the facilities listed for its names (one not listed sends nothing), so a
    /// valid certificate of hospital X cannot send as facility Y. Empty: not bound.
    #[serde(default)]
    pub facilities_by_certificate: std::collections::BTreeMap<String, Vec<String>>,
}

const fn default_mllp_max_connections() -> usize {
    1024
}

const fn default_mllp_max_connections_per_sender() -> usize {
    8
}

const fn default_mllp_max_message_bytes() -> usize {
    16 * 1024 * 1024
}

// Short: an idle connection holds a slot; senders reconnect when they have a message.
const fn default_mllp_idle_timeout_s() -> u64 {
    30
}

const fn default_mllp_message_timeout_s() -> u64 {
    30
}

impl MllpConfig {
    /// A listener on `listen` with the defaults.
    pub fn new(listen: SocketAddr) -> MllpConfig {
        MllpConfig {
            listen,
            max_connections: default_mllp_max_connections(),
            max_connections_per_sender: default_mllp_max_connections_per_sender(),
            max_message_bytes: default_mllp_max_message_bytes(),
            idle_timeout_s: default_mllp_idle_timeout_s(),
            message_timeout_s: default_mllp_message_timeout_s(),
            allowed_facilities: Vec::new(),
            tls: None,
        }
    }
}
