//! `fhir-bridge`: the command-line entry point. Glue only: parses arguments and runs a command.

use std::process::ExitCode;

use clap::Parser;

// The pipeline allocates many small buffers on several threads at once (decoding, sealing, sled's
// copy-on-write pages); glibc's allocator spends a fifth of ingest time on them and their arena
// locks, mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Reports a panic by where it happened, never by what it says: a panic's message can quote the
/// data it failed on (slicing a string quotes the whole string), and that data is patient data.
fn report_panics_without_their_message() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("unnamed");
        if tracing::dispatcher::has_been_set() {
            tracing::error!(%location, thread, "A thread panicked; its message is not logged, as it may quote patient data.");
        } else {
            eprintln!("panic in thread {thread} at {location} (its message is not shown: it may quote patient data)");
        }
    }));
}

fn main() -> ExitCode {
    report_panics_without_their_message();
    let args = fhir_bridge::cli::Cli::parse();
    match fhir_bridge::cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
