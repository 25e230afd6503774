//! The anchoring loop: anchors the ledger's latest sealed head whenever it is due, one
//! transaction in flight, and follows that transaction to finality through everything a chain
//! does to it (dropped, stuck, reorganised out, replaced by another sender's use of the nonce).
//!
//! Each step reads the durable state ([`AnchorStore`]), looks at the chain, and writes the next
//! state before it acts on the chain, so a crash at any point resumes where it was. The loop runs
//! on its own thread and never holds anything the writer needs: while the chain is unreachable,
//! ingest goes on and the anchor lag grows; the next anchor of the latest head covers all of it.

use crate::chain::{revert_or, AnchorContract, ChainError};
use crate::config::ChainConfig;
use crate::contract;
use crate::gas::{Fees, GasAccount, TxRequest};
use crate::metrics::AnchorMetrics;
use crate::rpc::{BlockId, Receipt, RpcError};
use crate::state::{AnchorStore, Attempt, FinalAnchor, Inclusion, PendingAnchor, StateError};
use alloy_primitives::B256;
use ledger_adapter::{LedgerError, LedgerReader, SignedBlockHeader};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why one step of the anchorer failed (it is retried at the next poll).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnchorError {
    /// The chain failed or refused.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The anchor state failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The ledger failed.
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// The chain holds another header at a height this node anchored: the local ledger is not
    /// the one that was anchored (rewritten history, or a restored old data dir). Sticky: the
    /// anchorer sends nothing more.
    #[error("the chain holds another header at height {height} than this ledger's: the ledger diverges from its anchors, and nothing more is anchored (fhir-bridge verify --chain)")]
    Diverged {
        /// The height.
        height: u64,
    },
    /// The anchor in flight is not mined and its fees are at `max_fee_per_gas`.
    #[error("the anchor of height {height} is not mined and its fees are at the cap (max_fee_per_gas)")]
    StuckAtFeeCap {
        /// The height.
        height: u64,
    },
}

impl From<RpcError> for AnchorError {
    fn from(error: RpcError) -> Self {
        AnchorError::Chain(ChainError::Rpc(error))
    }
}

/// How anchoring is doing, for `/healthz` and `chain status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnchorHealth {
    /// The latest head's height, when the ledger has one.
    pub head_height: Option<u64>,
    /// The latest final anchor's height.
    pub final_height: Option<u64>,
    /// Blocks of the head not covered by a final anchor.
    pub lag_blocks: u64,
    /// When the last anchor became final (ms since the Unix epoch).
    pub last_success_ms: Option<u64>,
    /// The last step's error, until a step succeeds.
    pub problem: Option<String>,
}

/// Shared view of the anchorer's health.
pub type SharedHealth = Arc<Mutex<AnchorHealth>>;

/// A running anchoring loop.
pub struct AnchorerHandle {
    /// Its health.
    pub health: SharedHealth,
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl AnchorerHandle {
    /// Stops the loop after its current step (its state is durable at every step) and waits;
    /// `false` when the thread had panicked.
    pub fn stop(self) -> bool {
        let _ = self.stop.send(());
        self.thread.join().is_ok()
    }
}

/// The anchoring loop's parts.
pub struct Anchorer {
    contract: AnchorContract,
    config: ChainConfig,
    gas: GasAccount,
    ledger: Arc<dyn LedgerReader>,
    store: AnchorStore,
    key_id: B256,
    metrics: Arc<AnchorMetrics>,
    health: SharedHealth,
    checked: bool,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_millis() as u64).unwrap_or(0)
}

impl Anchorer {
    /// An anchorer of `ledger`'s heads under `config`, keeping its state in `store`.
    pub fn new(
        config: ChainConfig,
        gas: GasAccount,
        ledger: Arc<dyn LedgerReader>,
        store: AnchorStore,
        metrics: Arc<AnchorMetrics>,
    ) -> Anchorer {
        let rpc = crate::rpc::RpcClient::new(&config.rpc_url, Duration::from_millis(config.rpc_timeout_ms));
        let key_id = B256::from(*ledger.node_public_key().key_id().as_bytes());
        Anchorer {
            contract: AnchorContract::new(rpc, config.contract),
            config,
            gas,
            ledger,
            store,
            key_id,
            metrics,
            health: SharedHealth::default(),
            checked: false,
        }
    }

    /// The health view, to hand to `/healthz` before the loop starts.
    pub fn health(&self) -> SharedHealth {
        Arc::clone(&self.health)
    }

    /// Checks the chain id and the contract's code. `Ok(false)`: the chain is unreachable (the
    /// loop checks again when it reaches it); an error: wrong chain or wrong contract.
    pub fn check_start(&mut self) -> Result<bool, ChainError> {
        match self.contract.check(self.config.chain_id) {
            Ok(()) => {
                self.checked = true;
                Ok(true)
            }
            Err(error) if error.is_unreachable() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Runs the loop on a thread of its own, until [`AnchorerHandle::stop`].
    pub fn spawn(self) -> std::io::Result<AnchorerHandle> {
        let health = self.health();
        let (stop, stopped) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new().name("chain-anchor".into()).spawn(move || self.run(stopped))?;
        Ok(AnchorerHandle { health, stop, thread })
    }

    /// Runs until `stop` says so (checked every poll).
    pub fn run(mut self, stop: std::sync::mpsc::Receiver<()>) {
        let poll = Duration::from_millis(self.config.poll_ms.max(10));
        loop {
            if let Err(error) = self.step() {
                tracing::warn!(error = %error, "chain anchoring step failed; retrying");
            }
            match stop.recv_timeout(poll) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                _ => return,
            }
        }
    }

    /// One step: follow the anchor in flight, or begin one when it is due; then report the lag.
    pub fn step(&mut self) -> Result<(), AnchorError> {
        let result = self.act();
        if let (Ok(head), Ok(latest_final)) = (self.ledger.head(), self.store.latest_final()) {
            self.report(head.as_ref(), latest_final.as_ref());
        }
        if result.is_err() {
            self.metrics.errors.inc();
        }
        self.health.lock().unwrap_or_else(|poison| poison.into_inner()).problem =
            result.as_ref().err().map(ToString::to_string);
        result
    }

    fn act(&mut self) -> Result<(), AnchorError> {
        let head = self.ledger.head()?;
        let latest_final = self.store.latest_final()?;
        if !self.checked {
            self.contract.check(self.config.chain_id)?;
            self.checked = true;
        }
        if let Some(height) = self.store.diverged()? {
            return Err(AnchorError::Diverged { height });
        }
        if let Some(pending) = self.store.pending()? {
            return self.follow(pending);
        }
        let Some(head) = head else { return Ok(()) };
        if self.due(&head, latest_final.as_ref()) {
            let previous = self.check_not_diverged(&head)?;
            self.begin(&head, previous)?;
        }
        Ok(())
    }

    /// Before anchoring `head`: the chain's latest anchor of this key must be this ledger's
    /// block at its height, and the chain must hold no other header at `head`'s height. Else the
    /// divergence is recorded (sticky) and nothing is sent.
    /// Returns the height of the key's latest anchor below `head`, which the new anchor must extend.
    fn check_not_diverged(&mut self, head: &SignedBlockHeader) -> Result<Option<u64>, AnchorError> {
        let state = self.contract.node(self.key_id, BlockId::Latest)?;
        let mut diverged_at = None;
        if state.anchored() {
            let local = self.ledger.block(state.height)?;
            if local.map(|block| B256::from(*block.hash().as_bytes())) != Some(state.header_hash) {
                diverged_at = Some(state.height);
            }
        }
        let at_head = self.contract.header_hash_at(self.key_id, head.header.height, BlockId::Latest)?;
        if diverged_at.is_none() && at_head != B256::ZERO && at_head != B256::from(*head.hash().as_bytes()) {
            diverged_at = Some(head.header.height);
        }
        match diverged_at {
            Some(height) => {
                self.store.set_diverged(height)?;
                tracing::error!(height, "This ledger is not the one anchored on the chain; anchoring stops.");
                Err(AnchorError::Diverged { height })
            }
            None => Ok((state.anchored() && state.height < head.header.height).then_some(state.height)),
        }
    }

    fn report(&self, head: Option<&SignedBlockHeader>, latest_final: Option<&FinalAnchor>) {
        let head_height = head.map(|head| head.header.height);
        let final_height = latest_final.map(|anchor| anchor.height);
        let lag_blocks = match (head_height, final_height) {
            (Some(head), Some(anchored)) => head.saturating_sub(anchored),
            (Some(head), None) => head + 1,
            (None, _) => 0,
        };
        self.metrics.lag_blocks.set(i64::try_from(lag_blocks).unwrap_or(i64::MAX));
        let mut health = self.health.lock().unwrap_or_else(|poison| poison.into_inner());
        health.head_height = head_height;
        health.final_height = final_height;
        health.lag_blocks = lag_blocks;
        health.last_success_ms = latest_final.map(|anchor| anchor.final_ms);
    }

    fn due(&self, head: &SignedBlockHeader, latest_final: Option<&FinalAnchor>) -> bool {
        match latest_final {
            None => true,
            Some(anchor) if head.header.height <= anchor.height => false,
            Some(anchor) => {
                head.header.height - anchor.height >= self.config.interval_blocks
                    || now_ms().saturating_sub(anchor.final_ms) >= self.config.interval_s.saturating_mul(1000)
            }
        }
    }

    fn capped(&self, fees: Fees) -> Fees {
        let cap = self.config.max_fee_per_gas;
        match fees {
            Fees::Eip1559 { max_fee, priority_fee } => {
                Fees::Eip1559 { max_fee: max_fee.min(cap), priority_fee: priority_fee.min(cap) }
            }
            Fees::Legacy { gas_price } => Fees::Legacy { gas_price: gas_price.min(cap) },
        }
    }

    /// Signs and sends the first transaction anchoring `head`.
    fn begin(&mut self, head: &SignedBlockHeader, previous: Option<u64>) -> Result<(), AnchorError> {
        let input = self.anchor_input(head, previous)?;
        // The estimate runs the anchor against the latest state: a refusal (key not registered,
        // revoked, height went back) is known here, before any gas is spent.
        let estimate = self
            .contract
            .rpc
            .estimate_gas(self.gas.address(), Some(self.contract.address), &input)
            .map_err(revert_or)?;
        let pending = PendingAnchor {
            height: head.header.height,
            tree_size: head.header.tree_size,
            header_hash: B256::from(*head.hash().as_bytes()),
            nonce: self.contract.rpc.nonce(self.gas.address(), BlockId::Pending)?,
            gas_limit: estimate.saturating_add(estimate / 5),
            attempts: Vec::new(),
            included: None,
            begun_ms: now_ms(),
            previous_height: previous,
        };
        let fees = self.capped(self.contract.current_fees()?);
        tracing::info!(
            height = pending.height,
            tree_size = pending.tree_size,
            nonce = pending.nonce,
            "anchoring ledger head"
        );
        self.send(pending, fees)
    }

    /// Signs a transaction for `pending` at `fees`, records it durably, then sends it.
    fn send(&mut self, mut pending: PendingAnchor, fees: Fees) -> Result<(), AnchorError> {
        let head = self.ledger.block(pending.height)?.ok_or(LedgerError::Corrupt {
            detail: format!("block {} of a pending anchor is missing", pending.height),
        })?;
        let request = TxRequest {
            chain_id: self.config.chain_id,
            nonce: pending.nonce,
            gas_limit: pending.gas_limit,
            to: Some(self.contract.address),
            input: self.anchor_input(&head, pending.previous_height)?,
            fees,
        };
        let signed = self.gas.sign(&request);
        pending.attempts.push(Attempt { hash: signed.hash, raw: signed.raw.clone(), fees, sent_ms: now_ms() });
        self.store.set_pending(&pending)?;
        match self.broadcast(&signed.raw) {
            // Refused by the node (underpriced, nonce taken...): it will never be mined, so it
            // is not the attempt to follow or send again. Unreachable: it may have gone out.
            Err(AnchorError::Chain(ChainError::Rpc(RpcError::Node { message, .. }))) => {
                pending.attempts.pop();
                self.store.set_pending(&pending)?;
                Err(ChainError::Reverted(format!("the node refused the anchor transaction: {message}")).into())
            }
            other => other,
        }
    }

    /// Sends raw transaction bytes; "already known" is success (it is in the pool).
    fn broadcast(&self, raw: &alloy_primitives::Bytes) -> Result<(), AnchorError> {
        match self.contract.rpc.send_raw_transaction(raw) {
            Ok(_) => Ok(()),
            Err(RpcError::Node { message, .. }) if message.to_ascii_lowercase().contains("already known") => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Follows the anchor in flight one step.
    fn follow(&mut self, mut pending: PendingAnchor) -> Result<(), AnchorError> {
        let mut receipt: Option<Receipt> = None;
        for attempt in pending.attempts.iter().rev() {
            if let Some(found) = self.contract.rpc.receipt(attempt.hash)? {
                receipt = Some(found);
                break;
            }
        }
        match receipt {
            Some(receipt) if !receipt.success => {
                let reason = match self.contract.rpc.eth_call(
                    self.contract.address,
                    &self.anchor_input(&self.pending_header(&pending)?, pending.previous_height)?,
                    BlockId::Latest,
                ) {
                    Err(error) => revert_or(error).to_string(),
                    Ok(_) => "reverted (it would not revert now)".to_string(),
                };
                self.store.clear_pending()?;
                Err(ChainError::Reverted(format!("anchor of height {} reverted: {reason}", pending.height)).into())
            }
            Some(receipt) => self.included(pending, receipt),
            None => {
                if let Some(inclusion) = pending.included.take() {
                    // It was in a block and no longer is: a reorganisation removed that block.
                    tracing::warn!(height = pending.height, block = inclusion.block_number, tx = %inclusion.tx_hash,
                        "anchor transaction left the chain in a reorganisation; sending it again");
                    self.store.set_pending(&pending)?;
                }
                self.unmined(pending)
            }
        }
    }

    /// The input anchoring `header`, extending this ledger's block at `previous` (the key's
    /// latest anchor on chain, when it has one below `header`).
    fn anchor_input(
        &self,
        header: &SignedBlockHeader,
        previous: Option<u64>,
    ) -> Result<alloy_primitives::Bytes, AnchorError> {
        let previous = match previous {
            Some(height) => Some(self.ledger.block(height)?.ok_or(LedgerError::Corrupt {
                detail: format!("block {height}, the chain's latest anchor, is missing"),
            })?),
            None => None,
        };
        let proof = match &previous {
            Some(previous) => Some(self.ledger.consistency_proof(previous.header.tree_size, header.header.tree_size)?),
            None => None,
        };
        let extension = previous
            .as_ref()
            .zip(proof.as_ref())
            .map(|(previous, proof)| contract::Extension { previous: &previous.header, consistency: &proof.hashes });
        contract::anchor_input(header, &self.ledger.node_public_key(), extension).ok_or_else(|| {
            AnchorError::Ledger(LedgerError::Corrupt {
                detail: format!("block {}'s signature is not the node key's", header.header.height),
            })
        })
    }

    fn pending_header(&self, pending: &PendingAnchor) -> Result<SignedBlockHeader, AnchorError> {
        Ok(self.ledger.block(pending.height)?.ok_or(LedgerError::Corrupt {
            detail: format!("block {} of a pending anchor is missing", pending.height),
        })?)
    }

    /// The anchor's transaction is in a block: record it, and finish once it is final.
    fn included(&mut self, mut pending: PendingAnchor, receipt: Receipt) -> Result<(), AnchorError> {
        let inclusion = Inclusion {
            tx_hash: receipt.transaction_hash,
            block_number: receipt.block_number,
            block_hash: receipt.block_hash,
        };
        if pending.included.as_ref() != Some(&inclusion) {
            pending.included = Some(inclusion.clone());
            self.store.set_pending(&pending)?;
        }
        // An anchor whose height held another header emits Equivocation instead of Anchored.
        let equivocated = receipt.logs.iter().any(|log| {
            log.address == self.contract.address
                && log.topics.first() == Some(&contract::EQUIVOCATION_TOPIC)
                && log.topics.get(1) == Some(&self.key_id)
        });
        if equivocated {
            self.store.set_diverged(pending.height)?;
            return Err(AnchorError::Diverged { height: pending.height });
        }
        let Some(final_block) = self.contract.final_block(self.config.finality)? else { return Ok(()) };
        if receipt.block_number > final_block {
            return Ok(());
        }
        // Final by depth; check the block is still the canonical one at its number.
        let canonical = self.contract.rpc.block(BlockId::Number(receipt.block_number))?;
        if canonical.map(|block| block.hash) != Some(receipt.block_hash) {
            return Ok(());
        }
        let anchored = self.contract.header_hash_at(self.key_id, pending.height, BlockId::Number(final_block))?;
        if anchored == B256::ZERO {
            // Nothing anchored there as seen by this node (a lagging backend, or a receipt of
            // another contract): not evidence of divergence. Start the anchor over.
            self.store.clear_pending()?;
            return Err(ChainError::Incomplete(format!(
                "the anchor of height {} is not in the contract's state",
                pending.height
            ))
            .into());
        }
        if anchored != pending.header_hash {
            self.store.set_diverged(pending.height)?;
            return Err(AnchorError::Diverged { height: pending.height });
        }
        let header = self.pending_header(&pending)?;
        // The transaction that anchored the header is the one whose Anchored event names it: ours,
        // unless ours reverted because another (a replacement, a re-send, a relaying peer) got
        // there first. A proof names this transaction, so it must be the one that did it.
        let ours = receipt.success
            && receipt.logs.iter().any(|log| {
                log.address == self.contract.address
                    && contract::decode_anchored(&log.topics, &log.data).is_ok_and(|e| {
                        e.keyId == self.key_id && e.height == pending.height && e.headerHash == pending.header_hash
                    })
            });
        let (tx_hash, block_number, block_hash) = if ours {
            (receipt.transaction_hash, receipt.block_number, receipt.block_hash)
        } else {
            let logs = self.contract.logs(contract::ANCHORED_TOPIC, self.key_id, BlockId::Number(final_block))?;
            let found = logs.iter().find(|log| {
                contract::decode_anchored(&log.topics, &log.data)
                    .is_ok_and(|e| e.height == pending.height && e.headerHash == pending.header_hash)
            });
            match found {
                Some(log) => (log.transaction_hash, log.block_number, log.block_hash),
                // Not final by the logs yet, as this node sees them: look again at the next poll.
                None => return Ok(()),
            }
        };
        let anchor = FinalAnchor {
            height: pending.height,
            tree_size: pending.tree_size,
            header_hash: pending.header_hash,
            chain_id: self.config.chain_id,
            tx_hash,
            block_number,
            block_hash,
            final_ms: now_ms(),
        };
        self.store.finish(&anchor)?;
        self.metrics.anchors_final.inc();
        self.metrics.gas_used.inc_by(receipt.gas_used);
        self.metrics.last_success_seconds.set(i64::try_from(anchor.final_ms / 1000).unwrap_or(i64::MAX));
        let sealed_to_final = anchor.final_ms.saturating_sub(header.header.time_ms);
        self.metrics.sealed_to_final_seconds.observe(sealed_to_final as f64 / 1000.0);
        tracing::info!(height = anchor.height, tree_size = anchor.tree_size, block = anchor.block_number,
            tx = %anchor.tx_hash, gas = receipt.gas_used, "ledger head anchored (final)");
        Ok(())
    }

    /// No attempt is in a block: send again, replace, or start over with a fresh nonce.
    fn unmined(&mut self, mut pending: PendingAnchor) -> Result<(), AnchorError> {
        let confirmed_nonce = self.contract.rpc.nonce(self.gas.address(), BlockId::Latest)?;
        if confirmed_nonce > pending.nonce {
            // The nonce is used, by no attempt of ours (none has a receipt): another sender
            // shares the gas key. Start this anchor over with the next free nonce.
            tracing::warn!(
                height = pending.height,
                nonce = pending.nonce,
                "the anchor's nonce was used by another transaction of the gas account; re-signing"
            );
            pending.nonce = self.contract.rpc.nonce(self.gas.address(), BlockId::Pending)?;
            pending.attempts.clear();
            let fees = self.capped(self.contract.current_fees()?);
            self.metrics.resends.inc();
            return self.send(pending, fees);
        }
        let Some(last) = pending.attempts.last().cloned() else {
            let fees = self.capped(self.contract.current_fees()?);
            return self.send(pending, fees);
        };
        if !self.contract.rpc.knows_transaction(last.hash)? {
            // Dropped from the pool (or lost in a reorganisation): the same bytes again.
            tracing::warn!(height = pending.height, tx = %last.hash, "anchor transaction unknown to the chain; sending it again");
            self.metrics.resends.inc();
            if let Some(attempt) = pending.attempts.last_mut() {
                attempt.sent_ms = now_ms();
            }
            self.store.set_pending(&pending)?;
            return self.broadcast(&last.raw);
        }
        if now_ms().saturating_sub(last.sent_ms) >= self.config.stuck_after_s.saturating_mul(1000) {
            let market = self.contract.current_fees()?;
            // Nodes take a replacement only when both fees rise by 10% or more.
            let fees = self.capped(higher(last.fees.bumped(self.config.fee_bump_percent.max(10)), market));
            if !replaces(fees, last.fees) {
                return Err(AnchorError::StuckAtFeeCap { height: pending.height });
            }
            tracing::warn!(height = pending.height, tx = %last.hash, "anchor transaction stuck; replacing it with higher fees");
            self.metrics.replacements.inc();
            return self.send(pending, fees);
        }
        Ok(())
    }
}

/// Whether `next` may replace a pooled transaction paying `last`: both fees 10% higher.
fn replaces(next: Fees, last: Fees) -> bool {
    let enough = |new: u128, old: u128| new >= old.saturating_add(old / 10).max(old.saturating_add(1));
    match (next, last) {
        (Fees::Eip1559 { max_fee, priority_fee }, Fees::Eip1559 { max_fee: old_max, priority_fee: old_tip }) => {
            enough(max_fee, old_max) && enough(priority_fee, old_tip)
        }
        (Fees::Legacy { gas_price }, Fees::Legacy { gas_price: old }) => enough(gas_price, old),
        _ => true,
    }
}

/// The higher of two fee offers, field by field (a bump never offers less than the market).
fn higher(bumped: Fees, market: Fees) -> Fees {
    match (bumped, market) {
        (Fees::Eip1559 { max_fee, priority_fee }, Fees::Eip1559 { max_fee: market_max, priority_fee: market_tip }) => {
            Fees::Eip1559 { max_fee: max_fee.max(market_max), priority_fee: priority_fee.max(market_tip) }
        }
        (Fees::Legacy { gas_price }, Fees::Legacy { gas_price: market }) => {
            Fees::Legacy { gas_price: gas_price.max(market) }
        }
        // The chain changed its fee model under a pending transaction: keep the bumped offer,
        // which the pool accepts as a replacement of the same type.
        (bumped, _) => bumped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replacement_raises_both_fees_by_ten_percent() {
        let last = Fees::Eip1559 { max_fee: 100, priority_fee: 10 };
        assert!(replaces(Fees::Eip1559 { max_fee: 110, priority_fee: 11 }, last));
        assert!(!replaces(Fees::Eip1559 { max_fee: 100, priority_fee: 20 }, last), "max fee at the cap");
        assert!(!replaces(Fees::Eip1559 { max_fee: 200, priority_fee: 10 }, last));
        assert!(replaces(Fees::Legacy { gas_price: 1 }, Fees::Legacy { gas_price: 0 }));
    }

    #[test]
    fn replacements_never_offer_less_than_the_market() {
        let bumped = Fees::Eip1559 { max_fee: 125, priority_fee: 12 };
        assert_eq!(
            higher(bumped, Fees::Eip1559 { max_fee: 200, priority_fee: 5 }),
            Fees::Eip1559 { max_fee: 200, priority_fee: 12 }
        );
        assert_eq!(higher(Fees::Legacy { gas_price: 9 }, Fees::Legacy { gas_price: 3 }), Fees::Legacy { gas_price: 9 });
    }
}
