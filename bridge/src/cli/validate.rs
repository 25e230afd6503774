//! `fhir-bridge validate PATH...`: validation without storing anything.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::input::{discover, units};

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files or folders of FHIR JSON (`.json`: a resource or Bundle; `.ndjson`: one per line).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Validates every resource; prints an OperationOutcome (one JSON line on stdout) for each invalid
/// one, its origin on stderr, and a summary.
pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let files = discover(&args.paths)?;
    let progress = super::progress_bar(
        files.len() as u64,
        "{spinner} validating [{bar:30}] {pos}/{len} files ({per_sec}, eta {eta})",
    );
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let (mut valid, mut invalid) = (0u64, 0u64);
    let started = std::time::Instant::now();
    for file in &files {
        let content = std::fs::read(&file.path).with_context(|| format!("cannot read {}", file.path.display()))?;
        for unit in units(file, &content) {
            match fhir_models::parse_and_validate(unit.bytes) {
                Ok(_) => valid += 1,
                Err(outcome) => {
                    invalid += 1;
                    progress.suspend(|| eprintln!("invalid: {}", unit.origin));
                    out.write_all(&fhir_models::to_json(outcome.as_ref()))?;
                    out.write_all(b"\n")?;
                }
            }
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    out.flush()?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} resources: {valid} valid, {invalid} invalid ({:.0} resources/s)",
        valid + invalid,
        (valid + invalid) as f64 / seconds.max(1e-9)
    );
    Ok(if invalid == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
