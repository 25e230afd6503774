//! `fhir-bridge verify`: checks the whole ledger and blob store.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::config::BridgeConfig;
use node_store::key_files;

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {}

/// Verifies; exit 0 when intact, 1 naming the first bad block, record or blob.
pub fn run(config: &BridgeConfig, _args: &VerifyArgs) -> anyhow::Result<ExitCode> {
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
