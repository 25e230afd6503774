//! Command-line interface: global options and one module per command.

mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// FHIR Ledger Bridge: ingest FHIR R4 into an encrypted, consent-controlled, tamper-evident ledger.
#[derive(Debug, Parser)]
#[command(name = "fhir-bridge", version, about)]
pub struct Cli {
    /// Data directory (ledger, encrypted blobs, keys).
    #[arg(long, global = true, default_value = "./fhir-bridge-data", env = "FHIR_BRIDGE__DATA_DIR")]
    pub data_dir: PathBuf,
    /// Configuration file (TOML).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate FHIR JSON (resources, Bundles, NDJSON) without storing anything; prints one
    /// OperationOutcome per invalid resource; exit 0 when all are valid, 1 otherwise.
    Validate(validate::ValidateArgs),
}

/// Runs the command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
    }
}
