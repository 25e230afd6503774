//! `fhir-bridge read TYPE/ID [--version N]`: one resource, decrypted and checked.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::config::BridgeConfig;
use node_store::read::ReadError;
use node_store::Node;

/// Arguments of `read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The resource, as `Type/id`.
    pub reference: String,
    /// A version other than the latest.
    #[arg(long)]
    pub version: Option<u32>,
}

/// Prints the resource as indented FHIR JSON; exit 1 when it is absent or deleted.
pub fn run(config: &BridgeConfig, args: &ReadArgs) -> anyhow::Result<ExitCode> {
    let (resource_type, id) = args.reference.split_once('/').context("expected Type/id")?;
    let node = Node::open(&config.node()).context("opening the data dir")?;
    match node.read(resource_type, id, args.version) {
        Ok(record) => {
            let resource = Some(record.record.resource.clone());
            super::record_access(
                &node,
                "read",
                true,
                record.record.patient.clone(),
                Some(resource_type.to_owned()),
                resource,
            )?;
            println!("{}", fhir_models::to_json_pretty(&record.resource()?));
            Ok(ExitCode::SUCCESS)
        }
        Err(ReadError::NotFound) => {
            eprintln!("not found: {}", args.reference);
            Ok(ExitCode::from(1))
        }
        Err(ReadError::Deleted) => {
            eprintln!("deleted: {}", args.reference);
            Ok(ExitCode::from(1))
        }
        Err(error) => Err(error.into()),
    }
}
