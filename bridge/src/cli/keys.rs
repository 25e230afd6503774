//! `fhir-bridge keys`: the node's public key and key id (the key is created on first use).

use std::process::ExitCode;

use clap::Args;

use crate::config::BridgeConfig;
use node_store::key_files;

/// Arguments of `keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {}

/// Prints the public key and key id, creating the key files (mode 0600) when absent.
pub fn run(config: &BridgeConfig, _args: &KeysArgs) -> anyhow::Result<ExitCode> {
    let key = key_files::load_or_create_node_key(&config.node_key_file())?;
    key_files::load_or_create_pseudonymizer(&config.deployment_secret_file())?;
    println!("public_key = \"{}\"", key.public_key());
    println!("key_id = \"{}\"", key.key_id());
    Ok(ExitCode::SUCCESS)
}
