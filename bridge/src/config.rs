//! Configuration: serde structs with defaults, read from a TOML file and overridden by the
//! environment (`FHIR_BRIDGE__SECTION__KEY`), unknown keys refused.
//!
//! Parsing is two layers (after ripgrep's low/high args): `apply_environment` merges the
//! environment into the file's TOML table, then serde turns that into the typed [`BridgeConfig`] with
//! `deny_unknown_fields`, so a misspelt key in either place is an error, never ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use chain_anchor::ChainConfig;
pub use http_api::HttpConfig;
pub use node_store::{KeysConfig, NodeConfig, PeerConfig};
pub use smart_auth::AuthConfig;
pub use source_connectors::kafka::KafkaConfig;
pub use source_connectors::mllp::{MllpConfig, MllpTlsConfig};

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
    pub auth: AuthConfig,
    /// HL7 v2 input: where the mappings to FHIR are.
    #[serde(default)]
    pub hl7v2: Hl7v2Config,
    /// The MLLP listener for HL7 v2; absent = off.
    #[serde(default)]
    pub mllp: Option<MllpConfig>,
    /// Anchoring the ledger's heads to an Ethereum-compatible chain; absent = off.
    #[serde(default)]
    pub chain: Option<ChainConfig>,
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

impl Default for BridgeConfig {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
            http: HttpConfig::default(),
            ingest: IngestConfig::default(),
            keys: KeysConfig::default(),
            kafka: None,
            auth: AuthConfig::default(),
            peers: Vec::new(),
            hl7v2: Hl7v2Config::default(),
            mllp: None,
            chain: None,
        }
    }
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./fhir-bridge-data")
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

    /// What opening the node reads: the data dir, the keys, the peers.
    pub fn node(&self) -> NodeConfig {
        NodeConfig { data_dir: self.data_dir.clone(), keys: self.keys.clone(), peers: self.peers.clone() }
    }

    /// The node key file.
    pub fn node_key_file(&self) -> PathBuf {
        self.node().node_key_file()
    }

    /// The deployment secret file.
    pub fn deployment_secret_file(&self) -> PathBuf {
        self.node().deployment_secret_file()
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
