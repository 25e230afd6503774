//! What opening a node needs from the configuration: the data dir, where its keys are, and the
//! peers patients may grant access to. The `[keys]` and `[[peers]]` sections are these structs.

use std::path::PathBuf;

use serde::Deserialize;

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

/// Everything [`Node::open`](crate::Node::open) reads.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where the ledger, the encrypted blobs, the indexes and (by default) the keys live.
    pub data_dir: PathBuf,
    /// Where the keys are.
    pub keys: KeysConfig,
    /// The peers patients may grant access to.
    pub peers: Vec<PeerConfig>,
}

impl NodeConfig {
    /// A node in `data_dir` with its keys there and no peers.
    pub fn in_dir(data_dir: impl Into<PathBuf>) -> NodeConfig {
        NodeConfig { data_dir: data_dir.into(), keys: KeysConfig::default(), peers: Vec::new() }
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
