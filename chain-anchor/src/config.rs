//! The `[chain]` section.

use alloy_primitives::Address;
use serde::Deserialize;
use std::path::PathBuf;

/// When an anchor counts as final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finality {
    /// Once its block is at or below the node's `finalized` block (chains with finality: Besu
    /// QBFT finalises every block; Ethereum proof of stake after two epochs).
    Finalized,
    /// Once its block has this many confirmations (1: the block itself).
    Confirmations(u64),
}

impl std::str::FromStr for Finality {
    type Err = String;

    /// `finalized`, or a number of confirmations (at least 1).
    fn from_str(text: &str) -> Result<Finality, String> {
        match text {
            "finalized" => Ok(Finality::Finalized),
            _ => match text.parse::<u64>() {
                Ok(0) => Err("finality: confirmations must be at least 1".to_owned()),
                Ok(count) => Ok(Finality::Confirmations(count)),
                Err(_) => Err(format!("finality: \"finalized\" or a number of confirmations, not {text:?}")),
            },
        }
    }
}

impl<'de> Deserialize<'de> for Finality {
    /// `"finalized"`, or a number of confirmations (at least 1), as a number or a string.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Finality, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        let text = match Raw::deserialize(deserializer)? {
            Raw::Number(count) => count.to_string(),
            Raw::Text(text) => text,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Anchoring the node's ledger heads to a chain. Absent: no anchoring.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// The chain's JSON-RPC endpoint (`http://127.0.0.1:8545`).
    pub rpc_url: String,
    /// The chain id the endpoint must report; start-up stops on another.
    pub chain_id: u64,
    /// The anchor contract (`fhir-bridge chain deploy` prints it); start-up stops when other code
    /// is there.
    pub contract: Address,
    /// The gas account's secret key (64 hex characters, mode 0600). Not the node key.
    pub gas_key_file: PathBuf,
    /// Anchor when the head is this many blocks past the last anchor...
    #[serde(default = "default_interval_blocks")]
    pub interval_blocks: u64,
    /// ...or when this many seconds passed since the last anchor and the head moved.
    #[serde(default = "default_interval_s")]
    pub interval_s: u64,
    /// When an anchor is final: `"finalized"` or a number of confirmations.
    #[serde(default = "default_finality")]
    pub finality: Finality,
    /// How often the anchorer looks at the chain and the head, in milliseconds.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// A transaction not in a block after this many seconds is replaced with higher fees.
    #[serde(default = "default_stuck_after_s")]
    pub stuck_after_s: u64,
    /// How much a replacement raises both fees, in percent (nodes need at least 10).
    #[serde(default = "default_fee_bump_percent")]
    pub fee_bump_percent: u32,
    /// The most a transaction may pay per gas, in wei; fees are never bumped past it.
    #[serde(default = "default_max_fee_per_gas")]
    pub max_fee_per_gas: u128,
    /// Timeout of one JSON-RPC call, in milliseconds.
    #[serde(default = "default_rpc_timeout_ms")]
    pub rpc_timeout_ms: u64,
}

// With the 60-second default below, a node anchors about once a minute; one that seals this many
// blocks sooner anchors sooner.
const fn default_interval_blocks() -> u64 {
    10_000
}

const fn default_interval_s() -> u64 {
    60
}

const fn default_finality() -> Finality {
    Finality::Confirmations(12)
}

const fn default_poll_ms() -> u64 {
    1000
}

const fn default_stuck_after_s() -> u64 {
    60
}

const fn default_fee_bump_percent() -> u32 {
    25
}

// 1000 gwei: far above a consortium chain's price, a stop against a runaway bump loop.
const fn default_max_fee_per_gas() -> u128 {
    1_000_000_000_000
}

const fn default_rpc_timeout_ms() -> u64 {
    10_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Wrapper {
        finality: Finality,
    }

    fn finality(text: &str) -> Result<Finality, String> {
        serde_json::from_str::<Wrapper>(&format!("{{\"finality\": {text}}}"))
            .map(|wrapper| wrapper.finality)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn finality_is_finalized_or_a_positive_count() {
        assert_eq!(finality("\"finalized\""), Ok(Finality::Finalized));
        assert_eq!(finality("3"), Ok(Finality::Confirmations(3)));
        assert_eq!(finality("\"5\""), Ok(Finality::Confirmations(5)));
        assert!(finality("0").unwrap_err().contains("at least 1"));
        assert!(finality("\"safe\"").unwrap_err().contains("finalized"));
    }
}
