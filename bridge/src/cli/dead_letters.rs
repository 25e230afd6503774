//! `fhir-bridge dead-letters`: the refused MLLP messages kept (sealed) in the data dir, opened,
//! as NDJSON: `{"id", "time", "source", "reason", "outcome", "message"}`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::config::BridgeConfig;
use node_store::Node;

/// Arguments of `dead-letters`.
#[derive(Debug, Args)]
pub struct DeadLettersArgs {}

/// Prints every dead letter, oldest first.
pub fn run(config: &BridgeConfig, _args: &DeadLettersArgs) -> anyhow::Result<ExitCode> {
    let node = Node::open(&config.node()).context("opening the data dir")?;
    let letters = node.dead_letters()?;
    for (id, letter) in &letters {
        let line = serde_json::json!({
            "id": id,
            "time": node_store::clock::format_instant(letter.time_ms),
            "source": letter.source,
            "reason": letter.reason,
            "outcome": serde_json::from_str::<serde_json::Value>(&letter.outcome).unwrap_or_default(),
            "message": letter.message,
        });
        println!("{line}");
    }
    eprintln!("{} dead letters", letters.len());
    Ok(ExitCode::SUCCESS)
}
