//! The `[http]` section.

use std::net::SocketAddr;

use serde::Deserialize;

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
    /// The FHIR base URL clients reach this server at (`https://bridge.example.org/fhir`), for
    /// absolute `Location`s and links; unset: the scheme and host each request came to.
    #[serde(default)]
    pub public_base_url: Option<String>,
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
            public_base_url: None,
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
