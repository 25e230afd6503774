//! `fhir-bridge chain`: the anchor contract's administration (deploy, register, revoke) and the
//! status of every registered node key.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use alloy_primitives::{Address, B256};
use anyhow::{bail, Context};
use chain_anchor::chain::{send_and_wait, AnchorContract};
use chain_anchor::rpc::RpcClient;
use chain_anchor::{contract, ChainConfig, Finality, GasAccount};
use clap::{Args, Subcommand};
use ledger_adapter::{KeyId, NodePublicKey};

use crate::config::BridgeConfig;

/// Exit status of `chain status` when a key equivocated, and of `verify --chain` when the ledger
/// diverges from the chain.
pub const EXIT_DIVERGED: u8 = 3;
/// Exit status when the chain cannot be reached.
pub const EXIT_UNREACHABLE: u8 = 4;

/// Arguments of `chain`.
#[derive(Debug, Args)]
pub struct ChainArgs {
    /// The chain's JSON-RPC URL (default: `chain.rpc_url`).
    #[arg(long, global = true)]
    pub rpc_url: Option<String>,
    /// The chain id it must report (default: `chain.chain_id`).
    #[arg(long, global = true)]
    pub chain_id: Option<u64>,
    /// The anchor contract (default: `chain.contract`).
    #[arg(long, global = true)]
    pub contract: Option<Address>,
    /// The key file of the account that pays (and, for deploy, becomes the admin); 64 hex
    /// characters, mode 0600 (default: `chain.gas_key_file`).
    #[arg(long, global = true)]
    pub gas_key: Option<PathBuf>,
    /// The subcommand.
    #[command(subcommand)]
    pub command: ChainCommand,
}

/// The `chain` subcommands.
#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Deploy the anchor contract; the gas key's account becomes its admin. Prints the address.
    Deploy,
    /// Register a node key (admin): this node's, or the one given.
    Register {
        /// A node's public key (66 hex characters, compressed), e.g. a peer's `keys` output.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Revoke a node key (admin) by its key id (64 hex characters).
    Revoke {
        /// The key id.
        key_id: String,
    },
    /// Every registered node key, its latest anchored head at the configured finality and at
    /// the latest block, and any equivocation; exit 3 when a key equivocated, 4 when the chain
    /// is unreachable.
    Status,
}

/// Where the chain is, from the flags and `[chain]`.
struct Endpoint {
    rpc_url: String,
    chain_id: u64,
    contract: Option<Address>,
    gas_key: Option<PathBuf>,
    finality: Finality,
}

impl Endpoint {
    fn resolve(config: Option<&ChainConfig>, args: &ChainArgs) -> anyhow::Result<Endpoint> {
        let rpc_url = args.rpc_url.clone().or_else(|| config.map(|c| c.rpc_url.clone()));
        let chain_id = args.chain_id.or_else(|| config.map(|c| c.chain_id));
        let (Some(rpc_url), Some(chain_id)) = (rpc_url, chain_id) else {
            bail!("no chain configured: set [chain] rpc_url and chain_id, or pass --rpc-url and --chain-id");
        };
        Ok(Endpoint {
            rpc_url,
            chain_id,
            contract: args.contract.or_else(|| config.map(|c| c.contract)),
            gas_key: args.gas_key.clone().or_else(|| config.map(|c| c.gas_key_file.clone())),
            finality: config.map_or(Finality::Confirmations(12), |c| c.finality),
        })
    }

    fn rpc(&self) -> RpcClient {
        RpcClient::new(&self.rpc_url, Duration::from_secs(30))
    }

    fn gas(&self) -> anyhow::Result<GasAccount> {
        let path = self.gas_key.as_ref().context("no gas key: pass --gas-key or set chain.gas_key_file")?;
        Ok(GasAccount::load(path)?)
    }

    /// Sends `input` to the contract (after checking it is the anchor contract) and waits.
    fn admin_call(&self, input: alloy_primitives::Bytes) -> anyhow::Result<()> {
        let contract = self.contract()?;
        contract.check(self.chain_id)?;
        send_and_wait(&contract.rpc, self.chain_id, &self.gas()?, Some(contract.address), input, WAIT)?;
        Ok(())
    }

    fn contract(&self) -> anyhow::Result<AnchorContract> {
        let address = self.contract.context("no contract: pass --contract or set chain.contract")?;
        Ok(AnchorContract::new(self.rpc(), address))
    }
}

/// This node's public key, from its key file (which must exist).
pub fn node_public_key(config: &BridgeConfig) -> anyhow::Result<NodePublicKey> {
    let path = config.node_key_file();
    if !path.exists() {
        bail!("no node key at {} (fhir-bridge keys creates one)", path.display());
    }
    let key = node_store::key_files::load_or_create_node_key(&path)?;
    NodePublicKey::from_compressed(&key.public_key().to_bytes()).context("node public key")
}

const WAIT: Duration = Duration::from_secs(120);

/// Runs a `chain` subcommand.
pub fn run(config: &BridgeConfig, args: &ChainArgs) -> anyhow::Result<ExitCode> {
    let endpoint = Endpoint::resolve(config.chain.as_ref(), args)?;
    match &args.command {
        ChainCommand::Deploy => {
            let gas = endpoint.gas()?;
            let receipt =
                send_and_wait(&endpoint.rpc(), endpoint.chain_id, &gas, None, contract::creation_code(), WAIT)?;
            let address = receipt.contract_address.context("the deployment's receipt names no contract")?;
            eprintln!("deployed in block {} (admin {}, {} gas)", receipt.block_number, gas.address(), receipt.gas_used);
            println!("{address}");
            Ok(ExitCode::SUCCESS)
        }
        ChainCommand::Register { public_key } => {
            let key = match public_key {
                Some(hex) => {
                    NodePublicKey::from_hex(hex).context("--public-key: 66 hex characters of a compressed key")?
                }
                None => node_public_key(config)?,
            };
            endpoint.admin_call(contract::register_input(&key))?;
            println!("registered node key {} (address {})", key.key_id(), contract::node_address(&key));
            Ok(ExitCode::SUCCESS)
        }
        ChainCommand::Revoke { key_id } => {
            let key_id = KeyId::from_hex(key_id).context("key id: 64 hex characters")?;
            endpoint.admin_call(contract::revoke_input(&key_id))?;
            println!("revoked node key {key_id}");
            Ok(ExitCode::SUCCESS)
        }
        ChainCommand::Status => status(config, &endpoint),
    }
}

fn status(config: &BridgeConfig, endpoint: &Endpoint) -> anyhow::Result<ExitCode> {
    let contract = endpoint.contract()?;
    if let Err(error) = contract.check(endpoint.chain_id) {
        eprintln!("{error}");
        return Ok(ExitCode::from(if error.is_unreachable() { EXIT_UNREACHABLE } else { 2 }));
    }
    let statuses = match chain_anchor::check::key_statuses(&contract, endpoint.finality) {
        Ok(statuses) => statuses,
        Err(error) if error.is_unreachable() => {
            eprintln!("{error}");
            return Ok(ExitCode::from(EXIT_UNREACHABLE));
        }
        Err(error) => return Err(error.into()),
    };
    // This node's head, when its data dir is here and not held by a running service.
    let own_key = node_public_key(config).ok().map(|key| B256::from(*key.key_id().as_bytes()));
    let own_head = own_head_height(config);
    let mut equivocations = 0;
    println!("{} node keys registered on {} (chain {})", statuses.len(), contract.address, endpoint.chain_id);
    for status in &statuses {
        let latest = &status.latest;
        let state = if latest.revoked { "revoked" } else { "active" };
        let at_final = match &status.at_finality {
            Some(node) if node.anchored() => format!("height {} (tree size {})", node.height, node.tree_size),
            _ => "none".to_owned(),
        };
        let at_latest = if latest.anchored() { format!("height {}", latest.height) } else { "none".to_owned() };
        let mut line =
            format!("{} {state} signer {}: final anchor {at_final}; latest {at_latest}", status.key_id, latest.signer);
        if Some(status.key_id) == own_key {
            match own_head {
                Some(head) => {
                    let anchored = status.at_finality.as_ref().filter(|n| n.anchored()).map(|n| n.height);
                    let lag = anchored.map_or(head + 1, |height| head.saturating_sub(height));
                    line.push_str(&format!("; this node, head height {head}, lag {lag} blocks"));
                }
                None => line.push_str("; this node"),
            }
        }
        if latest.equivocated {
            equivocations += 1;
            line.push_str("; EQUIVOCATION: two different headers for one height (fhir-bridge verify --chain)");
        }
        println!("{line}");
    }
    Ok(if equivocations > 0 { ExitCode::from(EXIT_DIVERGED) } else { ExitCode::SUCCESS })
}

/// The local head's height, when the data dir can be opened (not while `serve` holds it).
fn own_head_height(config: &BridgeConfig) -> Option<u64> {
    use ledger_adapter::LedgerReader;
    let ledger = open_ledger(config).ok()?;
    Some(ledger.head().ok()??.header.height)
}

/// This node's ledger, opened for reading with its own key (which must exist).
pub fn open_ledger(config: &BridgeConfig) -> anyhow::Result<ledger_adapter::SledLedger> {
    let path = config.node_key_file();
    if !path.exists() {
        bail!("no node key at {} (fhir-bridge keys creates one)", path.display());
    }
    let key = node_store::key_files::load_or_create_node_key(&path)?;
    let signing_key = ledger_adapter::NodeKey::from_secret_bytes(*key.secret_bytes()).context("node key")?;
    let db = node_store::verify::open_data_dir(&config.data_dir)?;
    Ok(ledger_adapter::SledLedger::open(&db, ledger_adapter::Secp256k1Signer::new(signing_key))?)
}
