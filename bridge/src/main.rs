//! `fhir-bridge`: the command-line entry point. Glue only: parses arguments and runs a command.

use std::process::ExitCode;

use clap::Parser;

// The pipeline allocates many small buffers on several threads at once (decoding, sealing, sled's
// copy-on-write pages); glibc's allocator spends a fifth of ingest time on them and their arena
// locks, mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = fhir_bridge::cli::Cli::parse();
    match fhir_bridge::cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
