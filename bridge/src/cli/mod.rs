//! Command-line interface: global options and one module per command.

mod chain;
mod dead_letters;
mod export;
mod ingest;
mod keys;
mod prove;
mod read;
mod search;
mod serve;
mod validate;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::BridgeConfig;

/// FHIR Ledger Bridge: ingest FHIR R4 into an encrypted, consent-controlled, tamper-evident ledger.
#[derive(Debug, Parser)]
#[command(name = "fhir-bridge", version, about)]
pub struct Cli {
    /// Data directory (ledger, encrypted blobs, keys); overrides `data_dir` of the configuration
    /// (default `./fhir-bridge-data`).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Configuration file (TOML); every key can also be set as `FHIR_BRIDGE__SECTION__KEY`.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API on the embedded store.
    Serve(serve::ServeArgs),
    /// Ingest files and folders of FHIR JSON (resources, Bundles, NDJSON) into the ledger.
    Ingest(ingest::IngestArgs),
    /// Validate FHIR JSON (resources, Bundles, NDJSON) without storing anything; prints one
    /// OperationOutcome per invalid resource; exit 0 when all are valid, 1 otherwise.
    Validate(validate::ValidateArgs),
    /// Check the whole ledger and blob store; exit 0 when intact, 1 naming the first bad block,
    /// record or blob.
    Verify(verify::VerifyArgs),
    /// Print a resource (decrypted, checked against the ledger) as FHIR JSON.
    Read(read::ReadArgs),
    /// Search a patient's records of a type here and at peer custodians that granted access
    /// (verified against their ledgers); prints a searchset Bundle.
    Search(search::SearchArgs),
    /// Export the latest version of resources as NDJSON (decrypted).
    Export(export::ExportArgs),
    /// Show or create the node's keys.
    Keys(keys::KeysArgs),
    /// Administer the chain anchor contract and list every node's anchors.
    Chain(chain::ChainArgs),
    /// Write a self-contained proof of one resource version: its ledger record, inclusion
    /// proof, signed block header and that header's anchor on the chain; exit 5 when no final
    /// anchor covers it yet, 3 when the ledger diverges from its anchor.
    Prove(prove::ProveArgs),
    /// Check a proof written by `prove` against a chain RPC alone (no access to the custodian);
    /// exit 0 when it holds, 1 when it does not, 5 when its anchor is not final yet, 4 when the
    /// chain is unreachable.
    CheckProof(prove::CheckProofArgs),
    /// Print the refused MLLP messages kept (sealed) in the data dir, with their reasons, as NDJSON.
    DeadLetters(dead_letters::DeadLettersArgs),
}

/// Loads the configuration, with `--data-dir` taking precedence.
fn load_config(cli: &Cli) -> anyhow::Result<BridgeConfig> {
    let mut config = BridgeConfig::load(cli.config.as_deref()).context("loading the configuration")?;
    if let Some(dir) = &cli.data_dir {
        config.data_dir.clone_from(dir);
    }
    Ok(config)
}

/// Runs the command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Logs go to stderr (stdout carries data: OperationOutcomes, FHIR JSON, NDJSON); `RUST_LOG`
    // sets the level. Events carry seqs and pseudonyms, never patient data.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let config = load_config(&cli)?;
    match cli.command {
        Command::Serve(args) => serve::run(&config, &args),
        Command::Ingest(args) => ingest::run(&config, &args),
        Command::Validate(args) => validate::run(&args),
        Command::Verify(args) => verify::run(&config, &args),
        Command::Read(args) => read::run(&config, &args),
        Command::Search(args) => search::run(&config, &args),
        Command::Export(args) => export::run(&config, &args),
        Command::Keys(args) => keys::run(&config, &args),
        Command::DeadLetters(args) => dead_letters::run(&config, &args),
        Command::Chain(args) => chain::run(&config, &args),
        Command::Prove(args) => prove::run_prove(&config, &args),
        Command::CheckProof(args) => prove::run_check(&config, &args),
    }
}

/// Commits an `Access` record for a read by the operator at the command line (the accessor is
/// the pseudonym of `cli:$USER`): reads from the CLI are audited like reads over HTTP.
fn record_access(
    node: &node_store::Node,
    action: &str,
    permitted: bool,
    patient: Option<String>,
    resource_type: Option<String>,
    resource: Option<String>,
) -> anyhow::Result<()> {
    let user = std::env::var("USER").unwrap_or_else(|_| "operator".to_owned());
    let access = node_store::records::Access {
        time_ms: node_store::clock::now_ms(),
        node: node.key_id.clone(),
        accessor: node.pseudonyms.pseudonym(node_store::kinds::CLIENT, &format!("cli:{user}")).to_string(),
        action: action.to_owned(),
        outcome: if permitted { "permit" } else { "deny" }.to_owned(),
        patient,
        resource_type,
        resource,
    };
    ingest_pipeline::commit_batch(node, &[], &[node_store::records::LedgerRecord::Access(access)])
        .context("recording the access")?;
    Ok(())
}

/// A progress bar on stderr with `template`, hidden when stderr is not a terminal.
fn progress_bar(len: u64, template: &str) -> indicatif::ProgressBar {
    let style =
        indicatif::ProgressStyle::with_template(template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    indicatif::ProgressBar::new(len).with_style(style)
}
