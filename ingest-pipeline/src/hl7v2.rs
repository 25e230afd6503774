//! HL7 v2 → FHIR, the stage before decode for v2 input (files, Kafka, MLLP): parse the message,
//! map it with `mappings/` into a transaction Bundle of PUTs (so its resources commit together,
//! or not at all), and name its source (`hl7v2:SENDING_APP/SENDING_FACILITY/CONTROL_ID`).
//!
//! Ids come from a keyed hash of each resource's identity values under the deployment secret, so
//! the same medical record number (PID-3 of type MR, else the first, with its assigning authority,
//! or else its sender) is the same Patient in every message, and ids reveal nothing of the
//! identifiers. A re-sent message maps to the same content and is a
//! duplicate: nothing new is stored.
//!
//! A message's Patient is merged into the stored one (v2's "no change" rule, [`super::merge`]);
//! the writer merges it again into a version this stage could not see (earlier in the same block,
//! or committed since by another connection).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use fhir_models::validate::{IssueType, Severity, ValidationIssue};
use hl7v2_fhir::{IdMaker, MapError, MappingError, Mappings};

use super::merge::Merge;
use crate::decode::Rejection;
use crate::prepare::{prepare_one, Prepared};
use node_store::dedup::MERGED_TYPES;
use node_store::{kinds, Node};

/// The mappings in use, or why there are none.
pub enum V2Mappings {
    /// Loaded.
    Loaded(Box<Mappings>),
    /// Not configured and no `./mappings`: v2 input is refused with this reason.
    Absent(String),
}

impl V2Mappings {
    /// Loads `configured`, or `./mappings` when not configured and present. A configured
    /// directory that does not load is an error (file, line, reason).
    pub fn load(configured: Option<&Path>) -> Result<V2Mappings, MappingError> {
        match configured {
            Some(dir) => Ok(V2Mappings::Loaded(Box::new(Mappings::load(dir)?))),
            None => {
                let default = PathBuf::from("mappings");
                if default.is_dir() {
                    Ok(V2Mappings::Loaded(Box::new(Mappings::load(&default)?)))
                } else {
                    Ok(V2Mappings::Absent(
                        "HL7 v2 input needs mappings: set hl7v2.mappings_dir (no ./mappings here)".into(),
                    ))
                }
            }
        }
    }

    /// The loaded mappings.
    pub fn get(&self) -> Option<&Mappings> {
        match self {
            V2Mappings::Loaded(m) => Some(m),
            V2Mappings::Absent(_) => None,
        }
    }
}

/// What a v2 message's header says, for receipts, ACKs and the ledger's source.
#[derive(Debug, Clone, Default)]
pub struct V2Header {
    /// MSH-10.
    pub control_id: String,
    /// The ledger source: `hl7v2:APP/FACILITY/CONTROL_ID`.
    pub source: String,
    /// `CODE^TRIGGER`.
    pub event: String,
}

/// A v2 message, prepared: its resources (from the Bundle it maps to), or its refusal.
pub struct PreparedV2 {
    /// The header, when MSH parsed.
    pub header: Option<V2Header>,
    /// The resources and rejections, as for FHIR input (source set).
    pub prepared: Prepared,
    /// How a refusal found here is answered; `None` with rejections: they came from validating
    /// the FHIR it maps to, an error in its content ([`V2Refusal::CONTENT`]).
    pub refusal: Option<V2Refusal>,
}

/// How a refused v2 message is answered: its acknowledgment code (HL7 table 0008) and the
/// error code of its `ERR` segment (table 0357).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V2Refusal {
    /// `AR` (not processable: header, type, structure, sender) or `AE` (an error in its content).
    pub ack_code: &'static str,
    /// ERR-3.
    pub error_code: &'static str,
}

impl V2Refusal {
    /// The message's structure: a header that does not parse, a required segment missing,
    /// nothing to store.
    pub const STRUCTURE: V2Refusal = V2Refusal { ack_code: "AR", error_code: "100^Segment sequence error^HL70357" };
    /// No mapping for its type.
    pub const UNSUPPORTED: V2Refusal = V2Refusal { ack_code: "AR", error_code: "200^Unsupported message type^HL70357" };
    /// Refused whatever its content: too large, or from a sender not allowed (table 0357 has no
    /// better code; ERR-8 says which).
    pub const REJECTED: V2Refusal = V2Refusal { ack_code: "AR", error_code: "207^Application internal error^HL70357" };
    /// A value in it.
    pub const CONTENT: V2Refusal = V2Refusal { ack_code: "AE", error_code: "102^Data type error^HL70357" };
    /// The bridge failed (no mappings, a bug): sending again may succeed.
    pub const INTERNAL: V2Refusal = V2Refusal { ack_code: "AE", error_code: "207^Application internal error^HL70357" };
}

/// The ids of resources made from v2 messages: keyed hashes of their identity values under the
/// node's deployment secret, so the same patient identifiers make the same id on every node.
pub struct V2Ids<'a>(pub &'a Node);

impl IdMaker for V2Ids<'_> {
    fn make_id(&self, resource_type: &str, parts: &[&str]) -> String {
        let mut identity = String::from(resource_type);
        for part in parts {
            identity.push('\0');
            identity.push_str(part);
        }
        let hex = self.0.pseudonyms.pseudonym(kinds::V2_ID, &identity).to_string();
        format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
    }
}

/// The text of a v2 message: UTF-8, or else ISO-8859-1 (the usual v2 default), byte for byte.
pub fn v2_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(bytes.iter().map(|b| char::from(*b)).collect()),
    }
}

fn rejection(code: IssueType, location: &str, message: String) -> Rejection {
    let issue = ValidationIssue { severity: Severity::Error, code, path: location.to_owned(), message };
    Rejection {
        location: (!location.is_empty()).then(|| location.to_owned()),
        outcome: Box::new(fhir_models::validate::to_operation_outcome(std::slice::from_ref(&issue))),
    }
}

/// A source name part: printable ASCII without separators, so the source reads unambiguously.
fn source_part(text: Option<&str>) -> String {
    text.unwrap_or("").chars().filter(|c| c.is_ascii_graphic() && !matches!(c, '/' | '\\')).take(64).collect()
}

fn refused(header: Option<V2Header>, rejection: Rejection, refusal: V2Refusal) -> PreparedV2 {
    PreparedV2 {
        header,
        prepared: Prepared { rejections: vec![rejection], ..Prepared::default() },
        refusal: Some(refusal),
    }
}

/// The refusal of a message whose preparation failed inside the bridge (a panic while parsing,
/// mapping or preparing it): refused as an application error with no location, so the sender
/// gets `AE` and the message is kept as a dead letter rather than acknowledged and lost.
pub fn failed_internally() -> PreparedV2 {
    refused(
        None,
        rejection(
            IssueType::Exception,
            "",
            "the message could not be processed (internal error); it is kept as a dead letter".to_owned(),
        ),
        V2Refusal::INTERNAL,
    )
}

/// Parses, maps and prepares one v2 message (`bytes`: one MSH ... message).
pub fn prepare_v2(bytes: &[u8], mappings: &V2Mappings, node: &Node) -> PreparedV2 {
    let text = v2_text(bytes);
    let message = match hl7v2::Message::parse(&text) {
        Ok(message) => message,
        Err(error) => {
            return refused(
                None,
                rejection(IssueType::Structure, &error.location(), error.to_string()),
                V2Refusal::STRUCTURE,
            )
        }
    };
    let h = message.header();
    let header = V2Header {
        control_id: h.control_id.to_owned(),
        source: format!(
            "hl7v2:{}/{}/{}",
            source_part(h.sending_application),
            source_part(h.sending_facility),
            source_part(Some(h.control_id))
        ),
        event: format!("{}^{}", h.message_code, h.trigger_event.unwrap_or("")),
    };
    let mappings = match mappings {
        V2Mappings::Loaded(m) => m,
        V2Mappings::Absent(why) => {
            return refused(Some(header), rejection(IssueType::NotSupported, "", why.clone()), V2Refusal::INTERNAL)
        }
    };
    let mapped = match mappings.map(&message, &V2Ids(node)) {
        Ok(mapped) => mapped,
        Err(error) => {
            let (code, location, refusal) = match &error {
                MapError::Unsupported { .. } => (IssueType::NotSupported, "MSH-9".to_owned(), V2Refusal::UNSUPPORTED),
                MapError::MissingSegment { segment, .. } => {
                    (IssueType::Required, segment.clone(), V2Refusal::STRUCTURE)
                }
                MapError::NoResources => (IssueType::Required, String::new(), V2Refusal::STRUCTURE),
                MapError::Value { location, .. } => (IssueType::Value, location.clone(), V2Refusal::CONTENT),
                _ => (IssueType::Value, String::new(), V2Refusal::CONTENT),
            };
            return refused(Some(header), rejection(code, &location, error.to_string()), refusal);
        }
    };
    // The mapper refuses a message that makes nothing; were one to get through, a message with
    // nothing to store must not be acknowledged as stored.
    if mapped.resources.is_empty() {
        let error = MapError::NoResources;
        return refused(Some(header), rejection(IssueType::Required, "", error.to_string()), V2Refusal::STRUCTURE);
    }
    let mut mapped = mapped;
    keep_last_of_each(&mut mapped.resources);
    let mut merges: Vec<(String, String, Merge)> = Vec::new();
    for resource in &mut mapped.resources {
        if !MERGED_TYPES.contains(&resource.resource_type.as_str()) {
            continue;
        }
        let stored = node.locate(&resource.resource_type, &resource.id, None).ok();
        let merge = Merge {
            cleared: std::mem::take(&mut resource.cleared),
            said: resource.json.clone(),
            based_on: stored.as_ref().map(|(seq, _)| *seq),
        };
        if let Some(merged) =
            stored.and_then(|(seq, record)| crate::merge::merge_into_stored(node, seq, record, &merge))
        {
            resource.json = merged;
        }
        merges.push((resource.resource_type.clone(), resource.id.clone(), merge));
    }
    // A transaction of PUTs: all of the message's resources or none; ids are ours.
    let mut bundle = String::with_capacity(mapped.resources.iter().map(|r| r.json.len() + 96).sum::<usize>() + 64);
    bundle.push_str(r#"{"resourceType":"Bundle","type":"transaction","entry":["#);
    for (i, resource) in mapped.resources.iter().enumerate() {
        if i > 0 {
            bundle.push(',');
        }
        bundle.push_str(r#"{"resource":"#);
        bundle.push_str(&resource.json);
        bundle.push_str(&format!(
            r#","request":{{"method":"PUT","url":"{}/{}"}}}}"#,
            resource.resource_type, resource.id
        ));
    }
    bundle.push_str("]}");
    let mut prepared = prepare_one(bundle.as_bytes(), node);
    let source: std::sync::Arc<str> = header.source.clone().into();
    for resource in &mut prepared.resources {
        resource.source = source.clone();
        resource.merge = merges
            .iter()
            .find(|(t, id, _)| t == resource.resource_type && *id == resource.id)
            .map(|(_, _, merge)| merge.clone());
    }
    // A message is stored whole or refused whole: only a stored one needs its patient's key.
    if prepared.rejections.is_empty() {
        crate::commit::warm_patient_keys(node, &prepared.resources);
    }
    PreparedV2 { header: Some(header), prepared, refusal: None }
}

/// One entry per resource: a message whose segments map to the same resource twice (a repeated
/// DG1, an A41's PID and MRG of one patient) leaves what its last one says. FHIR refuses a
/// transaction that names a resource twice, and one message is one version of each resource.
fn keep_last_of_each(resources: &mut Vec<hl7v2_fhir::MappedResource>) {
    let mut last: std::collections::HashMap<(String, String), usize> = std::collections::HashMap::new();
    for (index, resource) in resources.iter().enumerate() {
        last.insert((resource.resource_type.clone(), resource.id.clone()), index);
    }
    let mut index = 0;
    resources.retain(|resource| {
        let keep = last.get(&(resource.resource_type.clone(), resource.id.clone())) == Some(&index);
        index += 1;
        keep
    });
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const ADMIT: &str = "MSH|^~\\&|ADT1|GHH|LEDGER|BRIDGE|202611300800||ADT^A01^ADT_A01|RACE-1|P|2.5.1\r\
        PID|1||MRN-9001^^^GHH^MR||Racer^Ada||19700101|F|||1 Main St^^Springfield\r";
    /// Adds a phone (the address is not repeated: kept).
    const PHONE: &str = "MSH|^~\\&|ADT1|GHH|LEDGER|BRIDGE|202611300900||ADT^A08^ADT_A01|RACE-2|P|2.5.1\r\
        PID|1||MRN-9001^^^GHH^MR||Racer^Ada|||||||||555-0199\r";
    /// A lab result with only the name, written out in full.
    const LAB: &str = "MSH|^~\\&|LAB|GHH|LEDGER|BRIDGE|202611301000||ORU^R01^ORU_R01|RACE-3|P|2.5.1\r\
        PID|1||MRN-9001^^^GHH^MR||Racer^Adaline\r\
        OBR|1|ORD-1|FIL-1|2345-7^Glucose^LN\r\
        OBX|1|NM|2345-7^Glucose^LN||95|mg/dL|||||F\r";

    fn fresh_node() -> (tempfile::TempDir, Node) {
        let dir = tempfile::tempdir().expect("temp dir");
        let node = Node::open(&node_store::NodeConfig::in_dir(dir.path())).expect("node");
        (dir, node)
    }

    fn shipped_mappings() -> V2Mappings {
        V2Mappings::load(Some(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings"))).expect("mappings")
    }

    fn latest_patient(node: &Node, resources: &[super::super::Normalised]) -> serde_json::Value {
        let patient = resources.iter().find(|r| r.resource_type == "Patient").expect("a Patient");
        let read = node.read("Patient", &patient.id, None).expect("stored");
        serde_json::from_slice(&read.canonical).expect("JSON")
    }

    #[test]
    fn a_message_prepared_before_another_commits_is_merged_into_what_that_one_stored() {
        let (_dir, node) = fresh_node();
        let mappings = shipped_mappings();
        let prepare = |text: &str| {
            let prepared = prepare_v2(text.as_bytes(), &mappings, &node).prepared;
            assert!(prepared.rejections.is_empty(), "{:?}", prepared.rejections);
            prepared.resources
        };
        crate::commit::commit_batch(&node, &prepare(ADMIT), &[]).expect("commit");
        // Two connections: both prepared against the admission, the phone commits first.
        let phone = prepare(PHONE);
        let lab = prepare(LAB);
        crate::commit::commit_batch(&node, &phone, &[]).expect("commit");
        crate::commit::commit_batch(&node, &lab, &[]).expect("commit");
        let patient = latest_patient(&node, &lab);
        assert_eq!(patient["name"][0]["given"][0], "Adaline", "{patient:#}");
        assert_eq!(patient["telecom"][0]["value"], "555-0199", "the phone survives the lab result: {patient:#}");
        assert_eq!(patient["address"][0]["city"], "Springfield", "{patient:#}");
        assert_eq!(patient["birthDate"], "1970-01-01", "{patient:#}");

        // Both in one block: the second merges into the first.
        let (_dir, node) = fresh_node();
        let prepare = |text: &str| prepare_v2(text.as_bytes(), &mappings, &node).prepared.resources;
        let mut block = prepare(ADMIT);
        block.extend(prepare(PHONE));
        block.extend(prepare(LAB));
        crate::commit::commit_batch(&node, &block, &[]).expect("commit");
        let patient = latest_patient(&node, &block);
        assert_eq!(patient["telecom"][0]["value"], "555-0199", "{patient:#}");
        assert_eq!(patient["birthDate"], "1970-01-01", "{patient:#}");
    }

    /// Renames the patient and adds a phone.
    const RENAME: &str = "MSH|^~\\&|ADT1|GHH|LEDGER|BRIDGE|202611301100||ADT^A08^ADT_A01|RACE-4|P|2.5.1\r\
        PID|1||MRN-9001^^^GHH^MR||Racer-Jones^Ada||19700101|F|||1 Main St^^Springfield||555-0123\r";
    /// A lab result whose PID says nothing the admission did not.
    const LAB_SAME: &str = "MSH|^~\\&|LAB|GHH|LEDGER|BRIDGE|202611301000||ORU^R01^ORU_R01|RACE-5|P|2.5.1\r\
        PID|1||MRN-9001^^^GHH^MR||Racer^Ada\r\
        OBR|1|ORD-2|FIL-2|2345-7^Glucose^LN\r\
        OBX|1|NM|2345-7^Glucose^LN||96|mg/dL|||||F\r";

    #[test]
    fn a_re_sent_message_stays_a_duplicate_after_later_changes_and_an_index_rebuild() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = node_store::NodeConfig::in_dir(dir.path());
        let mappings = shipped_mappings();
        let send = |node: &Node, text: &str| {
            let prepared = prepare_v2(text.as_bytes(), &mappings, node).prepared;
            assert!(prepared.rejections.is_empty(), "{:?}", prepared.rejections);
            let receipts = crate::commit::commit_batch(node, &prepared.resources, &[]).expect("commit");
            let patient = prepared.resources.iter().position(|r| r.resource_type == "Patient").expect("a Patient");
            (receipts[patient].duplicate, latest_patient(node, &prepared.resources))
        };
        let node = Node::open(&config).expect("node");
        send(&node, ADMIT);
        // The lab result's Patient is the admission's: a duplicate at its first send.
        assert!(send(&node, LAB_SAME).0);
        let (duplicate, renamed) = send(&node, RENAME);
        assert!(!duplicate);
        assert_eq!(renamed["name"][0]["family"], "Racer-Jones");
        // Re-sent, it must not put the old name back.
        let (duplicate, patient) = send(&node, LAB_SAME);
        assert!(duplicate, "a re-sent message is a duplicate: {patient:#}");
        assert_eq!(patient["name"][0]["family"], "Racer-Jones");
        // Nor the admission, whose merge into today's Patient would differ from what it stored.
        assert!(send(&node, ADMIT).0);

        // After the index is rebuilt from the ledger, the messages that wrote versions are known.
        node.index.reset().expect("reset");
        drop(node);
        let node = Node::open(&config).expect("node reopens and re-indexes");
        let (duplicate, patient) = send(&node, ADMIT);
        assert!(duplicate, "{patient:#}");
        assert_eq!(patient["name"][0]["family"], "Racer-Jones");
    }

    #[test]
    fn a_patient_deleted_earlier_in_the_block_is_not_revived_by_a_merge() {
        let (_dir, node) = fresh_node();
        let mappings = shipped_mappings();
        let prepare = |text: &str| prepare_v2(text.as_bytes(), &mappings, &node).prepared.resources;
        crate::commit::commit_batch(&node, &prepare(ADMIT), &[]).expect("commit");
        let lab = prepare(LAB);
        let patient = lab.iter().find(|r| r.resource_type == "Patient").expect("a Patient").clone();
        let mut delete = patient.clone();
        delete.change = super::super::RequestedChange::Delete;
        delete.canonical = None;
        delete.content_hash = None;
        delete.merge = None;
        let mut block = vec![delete];
        block.extend(lab.iter().cloned());
        crate::commit::commit_batch(&node, &block, &[]).expect("commit");
        let stored = latest_patient(&node, &lab);
        assert!(stored.get("birthDate").is_none(), "the deleted admission's data is not merged back: {stored:#}");
        assert_eq!(stored["name"][0]["given"][0], "Adaline");
    }
}
