//! Configuration: serde structs with defaults, read from a TOML file and overridden by the
//! environment (`FHIR_BRIDGE__SECTION__KEY`), unknown keys refused.
//!
//! Parsing is two layers (after ripgrep's low/high args): `apply_environment` merges the
//! environment into the file's TOML table, then serde turns that into the typed [`BridgeConfig`] with
//! `deny_unknown_fields`, so a misspelt key in either place is an error, never ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The prefix of environment overrides.
pub const ENV_PREFIX: &str = "FHIR_BRIDGE__";

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not TOML, or a key is unknown or has the wrong type.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// An environment override names no key path.
    #[error("environment variable {0} names no configuration key")]
    BadEnvironmentKey(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeConfig {
    /// Where the ledger, the encrypted blobs, the indexes and the node key live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The HTTP API.
    #[serde(default)]
    pub http: HttpConfig,
    /// The ingest pipeline.
    #[serde(default)]
    pub ingest: IngestConfig,
    /// Keys and secrets.
    #[serde(default)]
    pub keys: KeysConfig,
    /// The Kafka connector; absent = no Kafka.
    #[serde(default)]
    pub kafka: Option<KafkaConfig>,
    /// Other institutions' bridges that patients may grant access to (their node keys).
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
    /// Authentication of the HTTP API (SMART Backend Services). Without clients or development
    /// tokens, every route but `/healthz` and `/fhir/metadata` answers 401.
    #[serde(default)]
    pub auth: crate::auth::AuthConfig,
    /// HL7 v2 input: where the mappings to FHIR are.
    #[serde(default)]
    pub hl7v2: Hl7v2Config,
    /// The MLLP listener for HL7 v2; absent = off.
    #[serde(default)]
    pub mllp: Option<MllpConfig>,
}

/// HL7 v2 input (files, Kafka, MLLP).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hl7v2Config {
    /// The mapping files (`mappings/` of the repository). Absent: `./mappings` when it exists
    /// (else HL7 v2 input is refused with a reason); set: it must load, or the bridge stops.
    #[serde(default)]
    pub mappings_dir: Option<PathBuf>,
}

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

impl Default for BridgeConfig {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
            http: HttpConfig::default(),
            ingest: IngestConfig::default(),
            keys: KeysConfig::default(),
            kafka: None,
            auth: crate::auth::AuthConfig::default(),
            peers: Vec::new(),
            hl7v2: Hl7v2Config::default(),
            mllp: None,
        }
    }
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./fhir-bridge-data")
}

/// The HTTP API (`serve`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address and port to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// HTTP worker threads (0: one per core).
    #[serde(default)]
    pub workers: usize,
    /// How long a search waits for a peer custodian's answer, in milliseconds.
    #[serde(default = "default_peer_timeout_ms")]
    pub peer_timeout_ms: u64,
    /// Requests per second each authenticated client may make on average (0: no limit).
    #[serde(default = "default_rate_limit_per_s")]
    pub rate_limit_per_s: u32,
    /// Requests a client may make at once above its average.
    #[serde(default = "default_rate_limit_burst")]
    pub rate_limit_burst: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            max_body_bytes: default_max_body_bytes(),
            workers: 0,
            peer_timeout_ms: default_peer_timeout_ms(),
            rate_limit_per_s: default_rate_limit_per_s(),
            rate_limit_burst: default_rate_limit_burst(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// Enough for an EHR's interactive use and for a sync job; far below what fills the ledger.
const fn default_rate_limit_per_s() -> u32 {
    100
}

const fn default_rate_limit_burst() -> u32 {
    400
}

const fn default_peer_timeout_ms() -> u64 {
    10_000
}

const fn default_max_body_bytes() -> usize {
    32 * 1024 * 1024
}

/// The ingest pipeline: how records are batched into ledger blocks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Most records sealed into one block.
    #[serde(default = "default_block_records")]
    pub block_records: usize,
    /// How long the service waits for more records before it seals a partial block.
    #[serde(default = "default_block_linger_ms")]
    pub block_linger_ms: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self { block_records: default_block_records(), block_linger_ms: default_block_linger_ms() }
    }
}

const fn default_block_records() -> usize {
    1000
}

const fn default_block_linger_ms() -> u64 {
    5
}

/// Where the node's keys come from. Both default to files in the data dir, created on first use
/// with mode 0600.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// The node's secp256k1 secret key file (hex); default `DATA_DIR/node.key`.
    #[serde(default)]
    pub node_key_file: Option<PathBuf>,
    /// The deployment secret for pseudonyms (hex, at least 32 bytes); default
    /// `DATA_DIR/deployment.secret`. Every node of one deployment must share it.
    #[serde(default)]
    pub deployment_secret_file: Option<PathBuf>,
}

/// Another institution's bridge: the organisation a patient's `Consent` names as grantee, and
/// the node key its grants are wrapped for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The FHIR reference a Consent's `provision.actor` uses for it (`Organization/hospital-b`).
    pub organization: String,
    /// Its node public key (hex, compressed secp256k1, as `fhir-bridge keys` prints it).
    pub public_key: String,
    /// Its base URL, for cross-institution reads.
    #[serde(default)]
    pub url: Option<String>,
}

/// The Kafka connector (`serve` consumes `ingest_topic` in the consumer group `group_id`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma-separated (`host:port,host:port`).
    pub brokers: String,
    /// Consumer group; bridges sharing it split the partitions (one ledger shard each).
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// Topic of incoming FHIR (and HL7 v2) messages.
    #[serde(default = "default_ingest_topic")]
    pub ingest_topic: String,
    /// Topic of receipts, one per resource version.
    #[serde(default = "default_receipts_topic")]
    pub receipts_topic: String,
    /// Topic of dead letters: original bytes and headers, an `error` header, the OperationOutcome.
    #[serde(default = "default_dlq_topic")]
    pub dlq_topic: String,
    /// Most messages taken into one batch (one ledger block, one offset commit).
    #[serde(default = "default_batch_messages")]
    pub batch_messages: usize,
    /// How long a batch waits for more messages once it has one.
    #[serde(default = "default_batch_linger_ms")]
    pub batch_linger_ms: u64,
    /// Longest time the broker may hold a fetch waiting for data (librdkafka's 500 ms default
    /// would add up to half a second to every message's latency on a quiet topic).
    #[serde(default = "default_fetch_wait_max_ms")]
    pub fetch_wait_max_ms: u64,
    /// Consumer session timeout: how soon the group reassigns a dead member's partitions.
    #[serde(default = "default_session_timeout_ms")]
    pub session_timeout_ms: u64,
    /// First retry delay after a broker error; doubles up to `retry_backoff_max_ms`.
    #[serde(default = "default_retry_backoff_ms")]
    pub retry_backoff_ms: u64,
    /// Longest retry delay.
    #[serde(default = "default_retry_backoff_max_ms")]
    pub retry_backoff_max_ms: u64,
    /// Create the ingest, receipts and dead-letter topics at start-up when they are missing.
    #[serde(default = "default_create_topics")]
    pub create_topics: bool,
    /// Partitions of topics the bridge creates (the ingest topic's count caps the bridges sharing it).
    #[serde(default = "default_topic_partitions")]
    pub topic_partitions: i32,
    /// Further librdkafka properties, passed through as they are (`security.protocol`,
    /// `sasl.mechanisms`, `ssl.ca.location`, ...). They override the bridge's own settings.
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
}

fn default_group_id() -> String {
    "fhir-bridge".into()
}
fn default_ingest_topic() -> String {
    "fhir.ingest".into()
}
fn default_receipts_topic() -> String {
    "fhir.receipts".into()
}
fn default_dlq_topic() -> String {
    "fhir.dlq".into()
}
const fn default_batch_messages() -> usize {
    1000
}
const fn default_batch_linger_ms() -> u64 {
    20
}
const fn default_fetch_wait_max_ms() -> u64 {
    20
}
const fn default_session_timeout_ms() -> u64 {
    10_000
}
const fn default_create_topics() -> bool {
    true
}
const fn default_topic_partitions() -> i32 {
    4
}
const fn default_retry_backoff_ms() -> u64 {
    100
}
const fn default_retry_backoff_max_ms() -> u64 {
    10_000
}

impl BridgeConfig {
    /// Loads the configuration: defaults, then the file (if any), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                text.parse::<toml::Table>().map_err(|e| ConfigError::Invalid(e.to_string()))?
            }
            None => toml::Table::new(),
        };
        apply_environment(&mut table, std::env::vars())?;
        Self::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// The node key file.
    pub fn node_key_file(&self) -> PathBuf {
        self.keys.node_key_file.clone().unwrap_or_else(|| self.data_dir.join("node.key"))
    }

    /// The deployment secret file.
    pub fn deployment_secret_file(&self) -> PathBuf {
        self.keys.deployment_secret_file.clone().unwrap_or_else(|| self.data_dir.join("deployment.secret"))
    }
}

/// Sets `FHIR_BRIDGE__SECTION__KEY=value` as `section.key = value`. A value that parses as a
/// TOML value (number, boolean, array) is taken as such, anything else as a string.
fn apply_environment(table: &mut toml::Table, vars: impl Iterator<Item = (String, String)>) -> Result<(), ConfigError> {
    for (name, value) in vars {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else { continue };
        let keys: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
        if keys.iter().any(String::is_empty) {
            return Err(ConfigError::BadEnvironmentKey(name));
        }
        let parsed = format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(value));
        let (last, parents) = keys.split_last().ok_or_else(|| ConfigError::BadEnvironmentKey(name.clone()))?;
        let mut current = &mut *table;
        for key in parents {
            let entry = current.entry(key.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            current = entry.as_table_mut().ok_or_else(|| ConfigError::BadEnvironmentKey(name.clone()))?;
        }
        current.insert(last.clone(), parsed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(file: &str, env: &[(&str, &str)]) -> Result<BridgeConfig, ConfigError> {
        let mut table = file.parse::<toml::Table>().map_err(|e| ConfigError::Invalid(e.to_string()))?;
        apply_environment(&mut table, env.iter().map(|(k, v)| (k.to_string(), v.to_string())))?;
        BridgeConfig::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    #[test]
    fn defaults_need_no_file() {
        let config = load("", &[]).unwrap();
        assert_eq!(config.http.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("./fhir-bridge-data"));
        assert_eq!(config.ingest.block_records, 1000);
    }

    #[test]
    fn environment_overrides_the_file() {
        let config = load(
            "data_dir = \"/a\"\n[http]\nlisten = \"127.0.0.1:1\"\n",
            &[
                ("FHIR_BRIDGE__HTTP__LISTEN", "0.0.0.0:9000"),
                ("FHIR_BRIDGE__INGEST__BLOCK_RECORDS", "7"),
                ("OTHER", "x"),
            ],
        )
        .unwrap();
        assert_eq!(config.http.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.ingest.block_records, 7);
        assert_eq!(config.data_dir, PathBuf::from("/a"));
    }

    #[test]
    fn kafka_is_off_unless_configured_and_takes_defaults() {
        assert!(load("", &[]).unwrap().kafka.is_none());
        let config = load("", &[("FHIR_BRIDGE__KAFKA__BROKERS", "127.0.0.1:9092")]).unwrap();
        let kafka = config.kafka.unwrap();
        assert_eq!((kafka.brokers.as_str(), kafka.ingest_topic.as_str()), ("127.0.0.1:9092", "fhir.ingest"));
        let config =
            load("[kafka]\nbrokers = \"b:1\"\n[kafka.properties]\n\"security.protocol\" = \"SSL\"\n", &[]).unwrap();
        assert_eq!(config.kafka.unwrap().properties.get("security.protocol").map(String::as_str), Some("SSL"));
    }

    #[test]
    fn mllp_takes_short_defaults_and_tls_and_allow_lists_from_the_environment() {
        let config = load(
            "",
            &[
                ("FHIR_BRIDGE__MLLP__LISTEN", "127.0.0.1:2575"),
                ("FHIR_BRIDGE__MLLP__ALLOWED_FACILITIES", r#"["GHH", "LAB/GHH"]"#),
                ("FHIR_BRIDGE__MLLP__TLS__CERT_FILE", "/c.pem"),
                ("FHIR_BRIDGE__MLLP__TLS__KEY_FILE", "/k.pem"),
                ("FHIR_BRIDGE__MLLP__TLS__CLIENT_CA_FILE", "/ca.pem"),
                ("FHIR_BRIDGE__MLLP__TLS__FACILITIES_BY_CERTIFICATE", r#"{ "x.example" = ["GHH"] }"#),
            ],
        )
        .unwrap();
        let mllp = config.mllp.unwrap();
        assert_eq!((mllp.idle_timeout_s, mllp.max_connections_per_sender), (30, 8));
        assert_eq!(mllp.allowed_facilities, vec!["GHH".to_owned(), "LAB/GHH".to_owned()]);
        let tls = mllp.tls.unwrap();
        assert_eq!(tls.facilities_by_certificate["x.example"], vec!["GHH".to_owned()]);
    }

    #[test]
    fn unknown_keys_are_refused_from_file_and_environment() {
        assert!(load("[http]\nlisten_on = \"x\"\n", &[]).is_err());
        assert!(load("", &[("FHIR_BRIDGE__HTTP__LISTN", "127.0.0.1:1")]).is_err());
        assert!(load("", &[("FHIR_BRIDGE__NOPE", "1")]).is_err());
        assert!(load("[http]\nlisten = 5\n", &[]).is_err());
    }
}
