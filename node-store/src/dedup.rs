//! What makes two submissions the same resource version, shared by the writer (which keys its
//! dedup index by them) and the index rebuild (which must derive the same keys from the ledger).

/// The resource types a v2 message's version is merged into the earlier one for.
pub const MERGED_TYPES: &[&str] = &["Patient"];

/// What a v2 message's resource is also known by (before the keyed dedup hash): the message
/// itself, `hl7v2:APP/FACILITY/CONTROL_ID`, the `source` of its ledger record. A re-sent message
/// (same control id from the same sender) is a duplicate whatever its Patient merged into, and
/// an index rebuilt from the ledger derives the same key.
pub fn message_identity(source: &str) -> Option<[u8; 32]> {
    source.starts_with("hl7v2:").then(|| fhir_json::content_hash(format!("v2-message\0{source}").as_bytes()))
}
