//! `fhir-bridge`: the command-line entry point. Glue only: parses arguments and runs a command.

use std::process::ExitCode;

use clap::Parser;

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
