//! `fhir-bridge verify`: checks the whole ledger and blob store.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::config::BridgeConfig;
use node_store::key_files;

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Also check the ledger against the chain (`[chain]`): every anchored header is this
    /// ledger's at its height, byte for byte; consecutive anchors and the head are consistent
    /// (consistency proofs); no equivocation. Exit 3 when the ledger diverges from the chain, 4
    /// when the chain is unreachable.
    #[arg(long)]
    pub chain: bool,
}

/// Verifies; exit 0 when intact, 1 naming the first bad block, record or blob; with `--chain`, 3
/// when the ledger diverges from the chain and 4 when the chain is unreachable.
pub fn run(config: &BridgeConfig, args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let local = verify_local(config)?;
    if local != ExitCode::SUCCESS || !args.chain {
        return Ok(local);
    }
    verify_chain(config)
}

fn verify_chain(config: &BridgeConfig) -> anyhow::Result<ExitCode> {
    use chain_anchor::check::{check_ledger, CheckError};
    let chain = config.chain.as_ref().context("verify --chain needs a [chain] section")?;
    let ledger = super::chain::open_ledger(config)?;
    let rpc = chain_anchor::rpc::RpcClient::new(&chain.rpc_url, std::time::Duration::from_millis(chain.rpc_timeout_ms));
    let contract = chain_anchor::AnchorContract::new(rpc, chain.contract);
    match check_ledger(&contract, chain.chain_id, chain.finality, &ledger) {
        Ok(report) => {
            eprintln!(
                "consistent with the chain: {} anchors ({} final), latest anchored height {}, head height {}",
                report.anchors,
                report.final_anchors,
                report.latest_height.map_or("none".to_owned(), |h| h.to_string()),
                report.head_height.map_or("none".to_owned(), |h| h.to_string()),
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error @ CheckError::Unreachable(_)) => {
            eprintln!("NOT checked against the chain: {error}");
            Ok(ExitCode::from(super::chain::EXIT_UNREACHABLE))
        }
        Err(error @ CheckError::Diverged { .. }) => {
            eprintln!("DIVERGES from the chain: {error}");
            Ok(ExitCode::from(super::chain::EXIT_DIVERGED))
        }
        Err(error) => Err(error.into()),
    }
}

fn verify_local(config: &BridgeConfig) -> anyhow::Result<ExitCode> {
    let db = node_store::verify::open_data_dir(&config.data_dir)?;
    // Check signatures against this node's own key when the key file is here.
    let expected = match config.node_key_file().exists() {
        true => {
            let key = key_files::load_or_create_node_key(&config.node_key_file())?;
            Some(
                ledger_adapter::NodePublicKey::from_compressed(&key.public_key().to_bytes())
                    .context("node public key")?,
            )
        }
        false => None,
    };
    let progress = super::progress_bar(0, "{spinner} verifying [{bar:30}] {pos}/{len} records ({per_sec})");
    let result = node_store::verify::verify_store(&db, expected.as_ref(), &mut |p| {
        progress.set_length(p.records_total);
        progress.set_position(p.records_verified);
    });
    progress.finish_and_clear();
    match result {
        Ok(summary) => {
            eprintln!(
                "intact: {} blocks, {} records, {} blobs; tree root {}",
                summary.ledger.blocks, summary.ledger.tree_size, summary.blobs, summary.ledger.tree_root
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(finding) => {
            eprintln!("NOT intact: {finding}");
            Ok(ExitCode::from(1))
        }
    }
}
