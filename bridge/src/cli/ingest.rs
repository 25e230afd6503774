//! `fhir-bridge ingest PATH...`: files and folders of FHIR JSON into the ledger, in blocks.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::config::BridgeConfig;
use rayon::prelude::*;

use crate::input::{discover, units, InputFormat};
use ingest_pipeline::hl7v2::{prepare_v2, v2_text, V2Mappings};
use ingest_pipeline::{Normalised, Rejection};
use node_store::{kinds, Node};

/// Arguments of `ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or folders of FHIR JSON (`.json`: a resource or Bundle; `.ndjson`: one per line) and
    /// HL7 v2 (`.hl7`: one or more messages, mapped by `hl7v2.mappings_dir`).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Write each rejected input (original bytes) and its OperationOutcome into this folder.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
}

/// Counts for the summary.
#[derive(Debug, Default)]
struct Totals {
    accepted: u64,
    duplicates: u64,
    rejected: u64,
    skipped: u64,
}

/// One unit of input in the current batch: a range of a file's content, shared, not copied.
struct PendingUnit {
    origin: String,
    /// An HL7 v2 message rather than FHIR JSON.
    v2: bool,
    source: Arc<str>,
    content: Arc<[u8]>,
    range: std::ops::Range<usize>,
}

impl PendingUnit {
    fn bytes(&self) -> &[u8] {
        &self.content[self.range.clone()]
    }
}

/// Batches stop growing at this many input bytes or `block_records` units, whichever first.
const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Ingests every resource; prints an OperationOutcome per reject on stdout, a summary on stderr.
pub fn run(config: &BridgeConfig, args: &IngestArgs) -> anyhow::Result<ExitCode> {
    let node = Node::open(&config.node()).context("opening the data dir")?;
    let files = discover(&args.paths)?;
    // With [chain], heads are anchored while the files go in (the anchorer only reads the
    // ledger); what is in flight at the end is finished by the next `serve` or `ingest`.
    let metrics = std::sync::Arc::new(chain_anchor::AnchorMetrics::default());
    let anchoring = crate::anchoring::start(config, &node, metrics.clone())?;
    let mappings = V2Mappings::load(config.hl7v2.mappings_dir.as_deref()).context("loading the HL7 v2 mappings")?;
    if let Some(dir) = &args.rejects {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let total_bytes: u64 = files.iter().filter_map(|f| std::fs::metadata(&f.path).ok()).map(|m| m.len()).sum();
    let progress = super::progress_bar(
        total_bytes,
        "{spinner} ingesting [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
    );
    let mut totals = Totals::default();
    let started = std::time::Instant::now();
    // Two stages overlap: this thread reads, decodes, validates and normalises batch N+1 (in
    // parallel over the cores) while the committer thread seals and appends batch N. The channel
    // holds one batch, which bounds memory and applies backpressure.
    let (accepted, duplicates) = std::thread::scope(|scope| -> anyhow::Result<(u64, u64)> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Normalised>>(1);
        let node = &node;
        let committer = scope.spawn(move || -> anyhow::Result<(u64, u64)> {
            let (mut accepted, mut duplicates) = (0u64, 0u64);
            for resources in receiver {
                for receipt in ingest_pipeline::commit_batch(node, &resources, &[]).context("committing a block")? {
                    if receipt.duplicate {
                        duplicates += 1;
                    } else {
                        accepted += 1;
                    }
                }
            }
            Ok((accepted, duplicates))
        });
        let mut batch: Vec<PendingUnit> = Vec::new();
        let mut batch_bytes = 0usize;
        let mut reject_count = 0usize;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let mut send = |batch: &mut Vec<PendingUnit>, totals: &mut Totals, reject_count: &mut usize| {
            let resources = prepare_batch(node, &mappings, batch, totals, args, reject_count, &mut out, &progress)?;
            // A send fails only when the committer stopped on an error, which `join` reports.
            Ok::<bool, anyhow::Error>(resources.is_empty() || sender.send(resources).is_ok())
        };
        'files: for file in &files {
            let raw = std::fs::read(&file.path).with_context(|| format!("cannot read {}", file.path.display()))?;
            let v2 = file.format == InputFormat::Hl7v2;
            // v2 files may be ISO-8859-1: read them as text once, so units are UTF-8.
            let content: Arc<[u8]> = if v2 { v2_text(&raw).into_owned().into_bytes().into() } else { raw.into() };
            // The path may name a patient (Synthea names files after them): only its pseudonym goes
            // on the ledger.
            let source: Arc<str> =
                format!("file:{}", node.pseudonyms.pseudonym(kinds::SOURCE, &file.path.display().to_string())).into();
            for unit in units(file, &content) {
                batch_bytes += unit.bytes.len();
                batch.push(PendingUnit {
                    origin: unit.origin,
                    v2,
                    source: source.clone(),
                    content: content.clone(),
                    range: unit.range,
                });
                if batch.len() >= config.ingest.block_records || batch_bytes >= BATCH_BYTES {
                    if !send(&mut batch, &mut totals, &mut reject_count)? {
                        break 'files;
                    }
                    progress.inc(batch_bytes as u64);
                    batch_bytes = 0;
                }
            }
        }
        send(&mut batch, &mut totals, &mut reject_count)?;
        // Closing the channel lets the committer finish the last batch and return.
        drop(sender);
        out.flush()?;
        committer.join().map_err(|_| anyhow::anyhow!("the committer thread panicked"))?
    })?;
    totals.accepted = accepted;
    totals.duplicates = duplicates;
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let resources = totals.accepted + totals.duplicates + totals.rejected;
    eprintln!(
        "{resources} resources: {} accepted, {} duplicates, {} rejected, {} entries skipped ({:.0} resources/s)",
        totals.accepted,
        totals.duplicates,
        totals.rejected,
        totals.skipped,
        resources as f64 / seconds.max(1e-9)
    );
    if let Some(anchoring) = anchoring {
        let health = anchoring.health.lock().unwrap_or_else(|poison| poison.into_inner()).clone();
        anyhow::ensure!(anchoring.stop(), "the chain anchoring thread panicked");
        eprintln!(
            "chain: {} anchors final during ingest; {} blocks not yet covered (serve goes on anchoring){}",
            metrics.anchors_final.get(),
            health.lag_blocks,
            health.problem.map(|problem| format!("; last problem: {problem}")).unwrap_or_default()
        );
    }
    Ok(if totals.rejected == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Decodes, validates and normalises a batch (in parallel); reports its rejects; empties it.
#[allow(clippy::too_many_arguments, reason = "the batch's whole context, passed down once")]
fn prepare_batch(
    node: &Node,
    mappings: &V2Mappings,
    batch: &mut Vec<PendingUnit>,
    totals: &mut Totals,
    args: &IngestArgs,
    reject_count: &mut usize,
    out: &mut impl Write,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Vec<Normalised>> {
    let fhir: Vec<&[u8]> = batch.iter().filter(|u| !u.v2).map(PendingUnit::bytes).collect();
    let fhir_prepared = ingest_pipeline::prepare(&fhir, node);
    fhir_prepared.par_iter().for_each(|p| ingest_pipeline::warm_patient_keys(node, &p.resources));
    let mut fhir_prepared = fhir_prepared.into_iter();
    let mut v2_prepared = batch
        .par_iter()
        .filter(|u| u.v2)
        .map(|u| prepare_v2(u.bytes(), mappings, node).prepared)
        .collect::<Vec<_>>()
        .into_iter();
    let prepared: Vec<ingest_pipeline::Prepared> = batch
        .iter()
        .map(|u| if u.v2 { v2_prepared.next() } else { fhir_prepared.next() }.unwrap_or_default())
        .collect();
    let mut resources: Vec<Normalised> = Vec::new();
    for (unit, prepared) in batch.iter().zip(prepared) {
        totals.skipped += prepared.skipped as u64;
        for rejection in &prepared.rejections {
            totals.rejected += 1;
            *reject_count += 1;
            write_reject(unit, rejection, *reject_count, args, out, progress)?;
        }
        for mut resource in prepared.resources {
            // A v2 message's resources name the sender and control id instead (set when mapped).
            if !unit.v2 {
                resource.source = unit.source.clone();
            }
            resources.push(resource);
        }
    }
    batch.clear();
    Ok(resources)
}

fn write_reject(
    unit: &PendingUnit,
    rejection: &Rejection,
    number: usize,
    args: &IngestArgs,
    out: &mut impl Write,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    let outcome = fhir_models::to_json(rejection.outcome.as_ref());
    let at = rejection.location.as_deref().map(|l| format!(" ({l})")).unwrap_or_default();
    progress.suspend(|| eprintln!("rejected: {}{at}", unit.origin));
    out.write_all(&outcome)?;
    out.write_all(b"\n")?;
    if let Some(dir) = &args.rejects {
        // Numbered names: the input's own name may carry patient data.
        let stem = dir.join(format!("reject-{number:06}"));
        let extension = if unit.v2 { "input.hl7" } else { "input.json" };
        std::fs::write(stem.with_extension(extension), unit.bytes())?;
        std::fs::write(stem.with_extension("outcome.json"), &outcome)?;
    }
    Ok(())
}
