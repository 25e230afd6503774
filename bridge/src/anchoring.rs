//! The `[chain]` glue: starting the anchorer, the grantee's view of custodians' anchors
//! (`exchange::AnchorView`), and the peer client that uses it.

use alloy_primitives::B256;
use chain_anchor::rpc::{BlockId, RpcClient};
use chain_anchor::{AnchorContract, ChainConfig, Finality};
use exchange::{AnchorView, AnchoredHead};

/// Custodians' latest anchors at this node's configured finality.
pub struct ChainAnchorView {
    contract: AnchorContract,
    finality: Finality,
}

impl ChainAnchorView {
    /// The view of the contract in `config`.
    pub fn new(config: &ChainConfig) -> ChainAnchorView {
        let rpc = RpcClient::new(&config.rpc_url, std::time::Duration::from_millis(config.rpc_timeout_ms));
        ChainAnchorView { contract: AnchorContract::new(rpc, config.contract), finality: config.finality }
    }
}

impl AnchorView for ChainAnchorView {
    fn latest_final(&self, key_id: &[u8; 32]) -> Result<Option<AnchoredHead>, String> {
        // No final block (a young chain, a node without the `finalized` tag) is no evidence
        // that nothing was anchored: the read is refused rather than left unchecked.
        let block = self
            .contract
            .final_block(self.finality)
            .map_err(|e| e.to_string())?
            .ok_or("the chain has no block at the configured finality yet")?;
        let node = self.contract.node(B256::from(*key_id), BlockId::Number(block)).map_err(|e| e.to_string())?;
        if node.equivocated {
            return Err("the chain holds equivocation evidence against the custodian's key".into());
        }
        if node.revoked {
            return Err("the custodian's key is revoked on the anchor contract".into());
        }
        // A custodian that never anchored (or is not in the consortium) has nothing to check.
        if !node.anchored() {
            return Ok(None);
        }
        Ok(Some(AnchoredHead { height: node.height, tree_size: node.tree_size, header_hash: node.header_hash.0 }))
    }
}

/// The grantee's client to custodians; with `[chain]`, it checks each custodian's head against
/// its latest anchor.
pub fn peer_client(config: &crate::config::BridgeConfig, node: &node_store::Node) -> exchange::PeerClient {
    let client =
        exchange::PeerClient::new(node.node_key.clone(), std::time::Duration::from_millis(config.http.peer_timeout_ms));
    match &config.chain {
        Some(chain) => client.with_anchors(std::sync::Arc::new(ChainAnchorView::new(chain))),
        None => client,
    }
}

/// Starts the anchoring thread when `[chain]` is set. A wrong chain id or foreign code at the
/// contract address stops start-up; an unreachable chain does not (ingest goes on; `/healthz`
/// says degraded until the chain is back).
pub fn start(
    config: &crate::config::BridgeConfig,
    node: &node_store::Node,
    metrics: std::sync::Arc<chain_anchor::AnchorMetrics>,
) -> anyhow::Result<Option<chain_anchor::AnchorerHandle>> {
    use anyhow::Context;
    let Some(chain) = &config.chain else { return Ok(None) };
    let gas = chain_anchor::GasAccount::load(&chain.gas_key_file).context("loading the chain gas key")?;
    let store = chain_anchor::AnchorStore::open(&node.db).context("opening the anchor state")?;
    let ledger: std::sync::Arc<dyn ledger_adapter::LedgerReader> = node.ledger.clone();
    let mut anchorer = chain_anchor::Anchorer::new(chain.clone(), gas, ledger, store, metrics);
    match anchorer.check_start().context("checking the chain")? {
        true => {
            tracing::info!(rpc = %chain_anchor::rpc::redacted(&chain.rpc_url), chain_id = chain.chain_id, contract = %chain.contract, "Anchoring to the chain.")
        }
        false => {
            tracing::warn!(rpc = %chain_anchor::rpc::redacted(&chain.rpc_url), "The chain is unreachable; ingest goes on and anchoring starts when it is back.")
        }
    }
    Ok(Some(anchorer.spawn().context("starting the chain anchoring thread")?))
}
