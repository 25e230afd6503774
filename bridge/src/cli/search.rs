//! `fhir-bridge search TYPE --patient ID`: the scripts' form of `GET /fhir/TYPE?patient=ID`,
//! over this node's records and those peer custodians hold under a grant to it (verified the
//! same way). Prints a searchset Bundle; the search is an `Access` record like any other read.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::config::BridgeConfig;
use exchange::search::run::run as run_search;
use exchange::search::SearchQuery;
use node_store::Node;

/// Arguments of `search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The resource type (e.g. `Observation`).
    pub resource_type: String,
    /// The patient's logical id (or `Patient/ID`).
    #[arg(long)]
    pub patient: String,
    /// `_lastUpdated` comparisons (e.g. `ge2026-01-01`), all of which must match; repeatable.
    #[arg(long = "last-updated")]
    pub last_updated: Vec<String>,
    /// Entries in the page (at most 1000).
    #[arg(long, default_value_t = exchange::search::DEFAULT_COUNT)]
    pub count: usize,
    /// Entries to skip.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Print the matching resources as NDJSON instead of a Bundle.
    #[arg(long)]
    pub ndjson: bool,
}

/// Prints the result; exit 0 when every peer answered (records, or a refusal by consent), 1 when
/// a peer was unreachable or served something that failed verification, 3 when the search is
/// refused as a whole (nothing here, and every custodian asked refused this node).
pub fn run(config: &BridgeConfig, args: &SearchArgs) -> anyhow::Result<ExitCode> {
    if !fhir_models::Resource::is_resource_type(&args.resource_type) {
        anyhow::bail!("{} is not an R4 resource type", args.resource_type);
    }
    let mut pairs = vec![
        ("patient".to_owned(), args.patient.clone()),
        ("_count".to_owned(), args.count.to_string()),
        ("_offset".to_owned(), args.offset.to_string()),
    ];
    pairs.extend(args.last_updated.iter().map(|v| ("_lastUpdated".to_owned(), v.clone())));
    let query = SearchQuery::parse(&pairs)?;
    let node = Node::open(&config.node()).context("opening the data dir")?;
    let client = crate::anchoring::peer_client(config, &node);
    let results = run_search(&node, &client, &args.resource_type, &query)?;
    let patient = node.patient_pseudonym(&query.patient).to_string();
    let refused = results.refused();
    super::record_access(&node, "search", !refused, Some(patient), Some(args.resource_type.clone()), None)?;
    if args.ndjson {
        for found in results.matches.iter().skip(query.offset).take(query.count) {
            println!("{}", found.resource);
        }
    } else {
        println!("{}", serde_json::to_string_pretty(&results.to_bundle(&query))?);
    }
    for problem in &results.problems {
        eprintln!("{problem}");
    }
    let failed = results.problems.iter().any(|p| !p.kind.is_refusal());
    Ok(if failed {
        ExitCode::from(1)
    } else if refused {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
