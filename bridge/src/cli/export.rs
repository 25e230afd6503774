//! `fhir-bridge export [--patient ID] [--type T] [--out FILE]`: decrypted NDJSON.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::config::BridgeConfig;
use node_store::Node;

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only the resources of this patient (the Patient's logical id).
    #[arg(long)]
    pub patient: Option<String>,
    /// Only resources of this type.
    #[arg(long = "type")]
    pub resource_type: Option<String>,
    /// Write here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Writes the latest version of each (not deleted) resource, one JSON per line, in ledger order.
pub fn run(config: &BridgeConfig, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let node = Node::open(&config.node()).context("opening the data dir")?;
    let patient = args.patient.as_deref().map(|p| node.patient_pseudonym(p).to_string());
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let seqs = node.latest_seqs()?;
    let progress = super::progress_bar(seqs.len() as u64, "{spinner} exporting [{bar:30}] {pos}/{len} ({per_sec})");
    let mut written = 0u64;
    for seq in seqs {
        progress.inc(1);
        let record = node.record_at(seq)?;
        if args.resource_type.as_deref().is_some_and(|t| t != record.resource_type) {
            continue;
        }
        // A patient's own Patient resource carries its pseudonym too, so it is included.
        if patient.is_some() && record.patient != patient {
            continue;
        }
        let opened = node.open_record(seq, record)?;
        out.write_all(&fhir_models::to_json(&opened.resource()?))?;
        out.write_all(b"\n")?;
        written += 1;
    }
    out.flush()?;
    progress.finish_and_clear();
    // An export of one patient is a read of that patient's records, audited as such.
    if let Some(patient) = patient {
        super::record_access(&node, "search", true, Some(patient), args.resource_type.clone(), None)?;
    }
    eprintln!("exported {written} resources");
    Ok(ExitCode::SUCCESS)
}
