//! Preparing submissions: decode and normalise, in parallel over a batch, before the writer.

use rayon::prelude::*;

use crate::decode::{IdAssigner, Rejection};
use crate::normalise::Normalised;
use node_store::Node;

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
    let decoded = crate::decode::decode_submission(bytes, ids);
    let mut prepared = Prepared { skipped: decoded.skipped, ..Prepared::default() };
    for item in decoded.items {
        match item.and_then(crate::normalise::normalise) {
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
        let hex = self.pseudonyms.pseudonym(node_store::kinds::ASSIGNED_ID, &hash).to_string();
        format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
    }
}
