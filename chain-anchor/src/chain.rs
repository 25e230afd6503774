//! The anchor contract on one chain: start-up checks, reads of its state and events, and the
//! admin's transactions (deploy, register, revoke), sent and waited for.

use crate::config::Finality;
use crate::contract::{self, NodeOnChain};
use crate::gas::{Fees, GasAccount, TxRequest};
use crate::rpc::{BlockId, Log, Receipt, RpcClient, RpcError};
use alloy_primitives::{keccak256, Address, Bytes, B256};
use std::time::{Duration, Instant};

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The RPC call failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The endpoint is another chain.
    #[error(
        "the chain RPC reports chain id {found}, but chain_id is {expected}: wrong endpoint or wrong configuration"
    )]
    WrongChain {
        /// Configured.
        expected: u64,
        /// Reported.
        found: u64,
    },
    /// The address holds other code than the anchor contract (or none).
    #[error("{address} holds {found} bytes of code that are not the ledger anchor contract (fhir-bridge chain deploy makes one)")]
    NotTheAnchor {
        /// The configured address.
        address: Address,
        /// How many bytes of code it holds.
        found: usize,
    },
    /// A transaction or call reverted.
    #[error("the anchor contract refused: {0}")]
    Reverted(String),
    /// An answer could not be decoded.
    #[error(transparent)]
    Decode(#[from] contract::DecodeError),
    /// The chain's answers do not fit together (an incomplete log index, for instance).
    #[error("the chain's answers are incomplete: {0}")]
    Incomplete(String),
    /// A transaction was not in a block in time.
    #[error("transaction {0} was not in a block within the wait")]
    NotMined(B256),
}

impl ChainError {
    /// Whether the chain could not be reached (as opposed to answering something wrong).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ChainError::Rpc(RpcError::Unreachable { .. }))
    }
}

/// The anchor contract at `address` on the chain behind `rpc`.
#[derive(Debug)]
pub struct AnchorContract {
    /// The chain.
    pub rpc: RpcClient,
    /// The contract.
    pub address: Address,
}

impl AnchorContract {
    /// The contract at `address`.
    pub fn new(rpc: RpcClient, address: Address) -> AnchorContract {
        AnchorContract { rpc, address }
    }

    /// Checks the chain id and that the address holds the anchor contract's code.
    pub fn check(&self, chain_id: u64) -> Result<(), ChainError> {
        let found = self.rpc.chain_id()?;
        if found != chain_id {
            return Err(ChainError::WrongChain { expected: chain_id, found });
        }
        let code = self.rpc.code(self.address)?;
        if keccak256(&code) != keccak256(contract::runtime_code()) {
            return Err(ChainError::NotTheAnchor { address: self.address, found: code.len() });
        }
        Ok(())
    }

    fn view(&self, input: &Bytes, block: BlockId) -> Result<Bytes, ChainError> {
        self.rpc.eth_call(self.address, input, block).map_err(revert_or)
    }

    /// A node key's state at `block`.
    pub fn node(&self, key_id: B256, block: BlockId) -> Result<NodeOnChain, ChainError> {
        Ok(contract::decode_node(&self.view(&contract::node_input(key_id), block)?)?)
    }

    /// The header hash anchored for `key_id` at `height`, as of `block` (zero: none).
    pub fn header_hash_at(&self, key_id: B256, height: u64, block: BlockId) -> Result<B256, ChainError> {
        Ok(contract::decode_hash(&self.view(&contract::header_hash_at_input(key_id, height), block)?)?)
    }

    /// Every key ever registered, in order of registration.
    pub fn node_keys(&self, block: BlockId) -> Result<Vec<B256>, ChainError> {
        let count = contract::decode_count(&self.view(&contract::node_count_input(), block)?)?;
        (0..count)
            .map(|index| Ok(contract::decode_key(&self.view(&contract::node_key_at_input(index), block)?)?))
            .collect()
    }

    /// The block at the given finality: the finalized block, or the latest less confirmations.
    pub fn final_block(&self, finality: Finality) -> Result<Option<u64>, ChainError> {
        match finality {
            Finality::Finalized => Ok(self.rpc.block(BlockId::Finalized)?.map(|block| block.number)),
            Finality::Confirmations(count) => Ok(self.rpc.block_number()?.checked_sub(count.saturating_sub(1))),
        }
    }

    /// `Anchored` (or `Equivocation`, by `topic`) logs of `key_id` up to `to`.
    pub fn logs(&self, topic: B256, key_id: B256, to: BlockId) -> Result<Vec<Log>, ChainError> {
        Ok(self.rpc.logs(self.address, topic, Some(key_id), 0, to)?)
    }

    /// The fees to offer now (see [`current_fees`]).
    pub fn current_fees(&self) -> Result<Fees, ChainError> {
        current_fees(&self.rpc)
    }
}

/// The fees to offer now: EIP-1559 where the latest block has a base fee (twice the base fee
/// plus the node's suggested tip, so the transaction stays valid while the base fee rises), else
/// the node's legacy gas price.
pub fn current_fees(rpc: &RpcClient) -> Result<Fees, ChainError> {
    match rpc.block(BlockId::Latest)?.and_then(|block| block.base_fee) {
        Some(base_fee) => {
            // A node without the method gets a 1 gwei tip; the anchorer caps every fee.
            let priority_fee = rpc.max_priority_fee().unwrap_or(1_000_000_000);
            Ok(Fees::Eip1559 { max_fee: base_fee.saturating_mul(2).saturating_add(priority_fee), priority_fee })
        }
        None => Ok(Fees::Legacy { gas_price: rpc.gas_price()? }),
    }
}

/// A node error carrying revert data becomes [`ChainError::Reverted`] with the reason in words.
pub fn revert_or(error: RpcError) -> ChainError {
    match error.revert_data() {
        Some(data) => ChainError::Reverted(contract::describe_revert(data)),
        None => match &error {
            RpcError::Node { message, .. } if message.contains("revert") => ChainError::Reverted(message.clone()),
            _ => ChainError::Rpc(error),
        },
    }
}

/// Sends one transaction from `gas` (to `to`, or creating a contract) and waits up to `wait` for
/// its receipt; a revert is an error with its reason. For the admin's commands, not for anchors
/// (the anchorer keeps its transactions durable and never waits in line).
pub fn send_and_wait(
    rpc: &RpcClient,
    chain_id: u64,
    gas: &GasAccount,
    to: Option<Address>,
    input: Bytes,
    wait: Duration,
) -> Result<Receipt, ChainError> {
    let found = rpc.chain_id()?;
    if found != chain_id {
        return Err(ChainError::WrongChain { expected: chain_id, found });
    }
    let estimate = rpc.estimate_gas(gas.address(), to, &input).map_err(revert_or)?;
    let fees = current_fees(rpc)?;
    let request = TxRequest {
        chain_id,
        nonce: rpc.nonce(gas.address(), BlockId::Pending)?,
        gas_limit: estimate.saturating_add(estimate / 5),
        to,
        input,
        fees,
    };
    let signed = gas.sign(&request);
    rpc.send_raw_transaction(&signed.raw).map_err(revert_or)?;
    let deadline = Instant::now() + wait;
    loop {
        if let Some(receipt) = rpc.receipt(signed.hash)? {
            if !receipt.success {
                // Replay the call on the latest state to learn why (the state it failed on
                // is usually the same).
                let reason = match to {
                    Some(address) => match rpc.eth_call(address, &request.input, BlockId::Latest) {
                        Err(error) => revert_or(error).to_string(),
                        Ok(_) => "reverted".to_string(),
                    },
                    None => "contract creation reverted".to_string(),
                };
                return Err(ChainError::Reverted(reason));
            }
            return Ok(receipt);
        }
        if Instant::now() >= deadline {
            return Err(ChainError::NotMined(signed.hash));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
