//! The ingest pipeline, one small stage per module:
//! [`decode`] (bytes → typed, validated candidates; Bundles expanded) → [`normalise`] (canonical
//! JSON, content hash, patient by the Patient compartment: [`patient`]) → [`commit`] (dedup, version, seal, store, ledger append, index).
//!
//! Decode and normalise are pure and run in parallel over a batch ([`prepare`]); commit runs once
//! per batch and makes one ledger block.

pub mod batcher;
pub mod commit;
pub mod decode;
pub(crate) mod grants;
pub mod hl7v2;
pub mod merge;
pub mod normalise;
pub mod patient;

use rayon::prelude::*;

pub use commit::{CommitError, Receipt};
pub use decode::{is_fhir_id, Candidate, Decoded, IdAssigner, Rejection, RequestedChange};
pub use grants::grant_wrap_context;
pub use normalise::Normalised;

use crate::store::Node;

/// The outcome of preparing one submission: its resources in canonical form, its rejections, and
/// how many entries carried no data.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Resources ready to commit.
    pub resources: Vec<Normalised>,
    /// Rejected resources or entries.
    pub rejections: Vec<Rejection>,
    /// Entries without data (reads in a batch Bundle).
    pub skipped: usize,
}

/// Decodes, validates and normalises each submission, in parallel; results keep input order.
pub fn prepare(submissions: &[&[u8]], ids: &dyn IdAssigner) -> Vec<Prepared> {
    submissions.par_iter().map(|bytes| prepare_one(bytes, ids)).collect()
}

/// Decodes, validates and normalises one submission on the calling thread: for callers that
/// already run one submission per thread (an MLLP connection), where handing each small message
/// to the rayon pool and back would cost more than it saves.
pub fn prepare_one(bytes: &[u8], ids: &dyn IdAssigner) -> Prepared {
    let decoded = decode::decode_submission(bytes, ids);
    let mut prepared = Prepared { skipped: decoded.skipped, ..Prepared::default() };
    for item in decoded.items {
        match item.and_then(normalise::normalise) {
            Ok(normalised) => prepared.resources.push(normalised),
            Err(rejection) => prepared.rejections.push(rejection),
        }
    }
    if decoded.transaction && !prepared.rejections.is_empty() {
        // All or nothing, as decode does for its own refusals: the first stands for the Bundle.
        prepared.resources.clear();
        prepared.rejections.truncate(1);
        prepared.skipped = 0;
    }
    prepared
}

impl IdAssigner for Node {
    /// A UUID-shaped id keyed on the content, so the same content gets the same id (and is then
    /// a duplicate), while the id reveals nothing about the content without the deployment secret.
    fn assign_id(&self, canonical: &[u8]) -> String {
        let hash = data_encoding::HEXLOWER.encode(&fhir_json::content_hash(canonical));
        let hex = self.pseudonyms.pseudonym(crate::store::kinds::ASSIGNED_ID, &hash).to_string();
        format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
    }
}
