//! `fhir-bridge prove TYPE/ID` and `fhir-bridge check-proof FILE`: a self-contained proof of one
//! resource version (the ledger record, its inclusion proof, the signed header and its anchor on
//! the chain), and its check against a chain RPC alone, with no access to the custodian.
//!
//! A proof holds no patient data unless asked for (`--with-content`): the record has pseudonyms,
//! a CID and a salted commitment. With the content and the commitment's salt, whoever holds the
//! proof can also check that this resource, byte for byte, is what the ledger committed to.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use alloy_primitives::{hex, Address};
use anyhow::{bail, Context};
use chain_anchor::proof::{self, ProofError, RecordProof};
use chain_anchor::rpc::RpcClient;
use chain_anchor::{AnchorContract, AnchorStore, Finality};
use clap::Args;
use node_store::read::ReadError;
use node_store::records::{LedgerRecord, Operation};
use node_store::Node;
use serde::{Deserialize, Serialize};

use crate::config::BridgeConfig;

/// The `format` of proof files this code writes and reads.
pub const PROOF_FORMAT: &str = "fhir-ledger-bridge/record-proof/1";

/// Exit status of `prove` when no final anchor covers the version yet, and of `check-proof` when
/// the anchor is not final yet: try again later. (2 is every other error of the command line.)
pub const EXIT_NOT_FINAL: u8 = 5;

/// The largest proof file read (a proof is a few kilobytes, a resource with content at most the
/// HTTP body limit).
const MAX_PROOF_BYTES: u64 = 64 * 1024 * 1024;

/// A proof file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofFile {
    format: String,
    proof: RecordProof,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content: Option<Content>,
}

/// The resource version's content and its commitment's salt.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Content {
    /// The canonical JSON exactly as committed.
    resource: String,
    /// The commitment's salt (hex).
    salt: String,
}

impl std::fmt::Debug for Content {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Content").field("resource_len", &self.resource.len()).finish_non_exhaustive()
    }
}

/// Arguments of `prove`.
#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The resource, as `Type/id`.
    pub reference: String,
    /// A version other than the latest.
    #[arg(long)]
    pub version: Option<u32>,
    /// Where to write the proof (default: stdout). Written with mode 0600.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Include the resource itself and its commitment's salt, so the proof also shows the
    /// content. The file then holds patient data: keep it as such.
    #[arg(long)]
    pub with_content: bool,
}

/// Writes the proof; exit 1 when the version is absent, 5 when no final anchor covers it yet, 3
/// when the ledger is not the anchored one.
pub fn run_prove(config: &BridgeConfig, args: &ProveArgs) -> anyhow::Result<ExitCode> {
    let chain = config.chain.as_ref().context("prove needs a [chain] section (the anchor contract)")?;
    let (resource_type, id) = args.reference.split_once('/').context("expected Type/id")?;
    let node = Node::open(&config.node()).context("opening the data dir")?;
    let (seq, record) = match node.locate(resource_type, id, args.version) {
        Ok(found) => found,
        Err(ReadError::NotFound) => {
            eprintln!("not found: {}", args.reference);
            return Ok(ExitCode::from(1));
        }
        Err(error) => return Err(error.into()),
    };
    let anchors = AnchorStore::open(&node.db).context("opening the anchor state")?;
    let Some(anchor) = anchors.covering(seq)? else {
        let latest = match anchors.latest_final()? {
            Some(latest) => format!("the latest covers {} records, at height {}", latest.tree_size, latest.height),
            None => "there is none".to_owned(),
        };
        eprintln!("{}", ProofError::NotAnchoredYet { seq, latest });
        return Ok(ExitCode::from(EXIT_NOT_FINAL));
    };
    if anchor.chain_id != chain.chain_id {
        bail!(
            "the anchor covering record {seq} is on chain {}, but chain.chain_id is {}",
            anchor.chain_id,
            chain.chain_id
        );
    }
    let proof = match proof::build(node.ledger.as_ref(), &anchor, chain.contract, seq) {
        Ok(proof) => proof,
        Err(error @ ProofError::LocalDivergence(_)) => {
            eprintln!("{error}");
            return Ok(ExitCode::from(super::chain::EXIT_DIVERGED));
        }
        Err(error) => return Err(error.into()),
    };
    proof::check_offline(&proof)?;
    let content = match args.with_content {
        false => None,
        true if record.operation == Operation::Delete => bail!("{} is a delete: it has no content", args.reference),
        true => {
            let opened = node.open_record(seq, record.clone())?;
            let resource = String::from_utf8(opened.canonical.clone()).context("stored content is not UTF-8")?;
            Some(Content { resource, salt: hex::encode(opened.salt) })
        }
    };
    super::record_access(
        &node,
        if content.is_some() { "prove-with-content" } else { "prove" },
        true,
        record.patient.clone(),
        Some(resource_type.to_owned()),
        Some(record.resource.clone()),
    )?;
    let file = ProofFile { format: PROOF_FORMAT.to_owned(), proof, content };
    let json = serde_json::to_string_pretty(&file)?;
    match &args.output {
        Some(path) => write_private(path, json.as_bytes()).with_context(|| format!("writing {}", path.display()))?,
        None => println!("{json}"),
    }
    eprintln!(
        "proof of {} version {} (record {seq}): block {} of chain {}, anchored at height {} in transaction {}",
        args.reference, record.version, anchor.block_number, anchor.chain_id, anchor.height, anchor.tx_hash
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path` with mode 0600: into a new file beside it, then renamed over it, so
/// an existing file (of other permissions, or a symlink) is replaced, never written through.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = path.file_name().ok_or_else(|| std::io::Error::other("the output names no file"))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary_name);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary)?;
        file.write_all(bytes)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Arguments of `check-proof`.
#[derive(Debug, Args)]
pub struct CheckProofArgs {
    /// The proof file (`fhir-bridge prove` writes one).
    pub file: PathBuf,
    /// The chain's JSON-RPC URL (default: `chain.rpc_url`).
    #[arg(long)]
    pub rpc_url: Option<String>,
    /// The anchor contract you trust (default: `chain.contract`); required, since anyone can
    /// deploy a contract and anchor a ledger of their own to it.
    #[arg(long)]
    pub contract: Option<Address>,
    /// The node key id (64 hex characters) the proof must be signed by: the institution's, as you
    /// know it from that institution (one contract holds every node's keys).
    #[arg(long)]
    pub node_key: Option<String>,
    /// With content: the resource it must be, as `Type/id`.
    #[arg(long)]
    pub reference: Option<String>,
    /// The chain id you expect (default: `chain.chain_id`; without either, the proof's).
    #[arg(long)]
    pub chain_id: Option<u64>,
    /// `finalized`, or a number of confirmations (default: `chain.finality`, else `finalized`).
    #[arg(long)]
    pub finality: Option<Finality>,
}

/// Checks the proof; exit 0 when it holds, 1 when it does not, 5 when its anchor is not final
/// yet, 4 when the chain is unreachable.
pub fn run_check(config: &BridgeConfig, args: &CheckProofArgs) -> anyhow::Result<ExitCode> {
    let size = std::fs::metadata(&args.file).with_context(|| format!("reading {}", args.file.display()))?.len();
    if size > MAX_PROOF_BYTES {
        return Ok(fails(&format!("the file has {size} bytes: more than a proof ({MAX_PROOF_BYTES} at most)")));
    }
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let file: ProofFile = match serde_json::from_str(&text) {
        Ok(file) => file,
        Err(error) => return Ok(fails(&format!("not a proof file: {error}"))),
    };
    if file.format != PROOF_FORMAT {
        return Ok(fails(&format!("unknown proof format {:?} (this bridge reads {PROOF_FORMAT:?})", file.format)));
    }
    let chain = config.chain.as_ref();
    let rpc_url = args.rpc_url.clone().or_else(|| chain.map(|c| c.rpc_url.clone()));
    let rpc_url = rpc_url.context("no chain RPC: pass --rpc-url or set chain.rpc_url")?;
    let expected_chain = args.chain_id.or_else(|| chain.map(|c| c.chain_id));
    if let Some(expected) = expected_chain.filter(|expected| *expected != file.proof.anchor.chain_id) {
        return Ok(fails(&format!("the proof is anchored on chain {}, not {expected}", file.proof.anchor.chain_id)));
    }
    let Some(trusted) = args.contract.or_else(|| chain.map(|c| c.contract)) else {
        return Ok(fails(&format!(
            "no trusted contract (--contract or chain.contract): the proof names {}, but anyone can deploy one",
            file.proof.anchor.contract
        )));
    };
    if let Some(expected) = &args.node_key {
        let signer = ledger_adapter::NodePublicKey::from_hex(&file.proof.node_public_key).map(|k| k.key_id().to_hex());
        if signer.ok().as_deref() != Some(expected.trim_start_matches("0x").to_ascii_lowercase().as_str()) {
            return Ok(fails(&format!("the proof is not signed by node key {expected}")));
        }
    }
    if args.reference.is_some() && file.content.is_none() {
        return Ok(fails("--reference needs a proof with content (prove --with-content)"));
    }
    let finality = args.finality.or_else(|| chain.map(|c| c.finality)).unwrap_or(Finality::Finalized);
    let rpc = RpcClient::new(&rpc_url, Duration::from_secs(30));
    let contract = AnchorContract::new(rpc, trusted);
    let report = match proof::check(&file.proof, &contract, finality) {
        Ok(report) => report,
        Err(error @ ProofError::Unreachable(_)) => {
            eprintln!("NOT checked: {error}");
            return Ok(ExitCode::from(super::chain::EXIT_UNREACHABLE));
        }
        Err(error @ ProofError::NotFinal(_)) => {
            eprintln!("NOT yet final: {error}");
            return Ok(ExitCode::from(EXIT_NOT_FINAL));
        }
        Err(error) => return Ok(fails(&error.to_string())),
    };
    let record = match LedgerRecord::decode(&report.record) {
        Ok(LedgerRecord::ResourceVersion(record)) => record,
        Ok(_) => return Ok(fails("the record is not a resource version")),
        Err(_) => return Ok(fails("the record does not decode as a ledger record")),
    };
    if record.node != report.node_key.key_id().to_hex() {
        return Ok(fails("the record names another node than the one that signed its block"));
    }
    let content = match &file.content {
        None => "not included (the proof shows the record; the content's holder can check it with its salt)",
        Some(content) => match check_content(&record, content, args.reference.as_deref()) {
            Ok(()) => "matches the record's commitment",
            Err(why) => return Ok(fails(&why)),
        },
    };
    let header = &report.header.header;
    println!("the proof holds:");
    println!(
        "  record {}: a {} version {} ({}), accepted {} by the node's clock, of node key {}",
        file.proof.seq,
        record.resource_type,
        record.version,
        record.operation.as_str(),
        node_store::clock::format_instant(record.time_ms),
        record.node
    );
    println!("  in the ledger's tree at block {} (tree size {}), signed by the node", header.height, header.tree_size);
    println!(
        "  anchored on chain {} by contract {} in block {} at {} (transaction {}), final at block {}",
        file.proof.anchor.chain_id,
        contract.address,
        report.block_number,
        node_store::clock::format_instant(report.block_time.saturating_mul(1000)),
        file.proof.anchor.tx_hash,
        report.final_block
    );
    println!("  content: {content}");
    if args.node_key.is_none() {
        eprintln!(
            "note: the proof is signed by node key {}; it proves something about an institution only if you know this key is its own (--node-key checks it)",
            record.node
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The content against the record: the commitment, and the resource type.
fn check_content(
    record: &node_store::records::ResourceVersion,
    content: &Content,
    reference: Option<&str>,
) -> Result<(), String> {
    let commitment: record_crypto::Commitment = record
        .commitment
        .as_deref()
        .and_then(|c| c.parse().ok())
        .ok_or("the record has no commitment: a delete has no content")?;
    let salt: [u8; 32] = hex::decode(&content.salt)
        .ok()
        .and_then(|salt| salt.try_into().ok())
        .ok_or("the content's salt is not 32 bytes of hex")?;
    if !commitment.verify(&salt, content.resource.as_bytes()) {
        return Err("the content does not match the record's commitment".to_owned());
    }
    let resource: serde_json::Value =
        serde_json::from_str(&content.resource).map_err(|_| "the content is not JSON".to_owned())?;
    if resource["resourceType"] != record.resource_type.as_str() {
        return Err("the content's resourceType is not the record's".to_owned());
    }
    if let Some(reference) = reference {
        let found = format!("{}/{}", record.resource_type, resource["id"].as_str().unwrap_or_default());
        if found != reference {
            return Err(format!("the content is not {reference}"));
        }
    }
    Ok(())
}

fn fails(why: &str) -> ExitCode {
    eprintln!("the proof does NOT hold: {why}");
    ExitCode::from(1)
}
