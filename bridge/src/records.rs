//! The bridge's ledger records and their canonical, versioned encoding.
//!
//! The ledger takes opaque bytes; this module decides what they are. A record is canonical JSON
//! (RFC 8785: members sorted, no whitespace) with a version member `v` and a `kind`, so every
//! node encodes the same record to the same bytes and hashes it the same way. Decoding is strict:
//! an unknown member, a missing one or a member out of canonical order is an error, so a record
//! that decodes re-encodes to exactly its bytes.
//!
//! Records carry pseudonyms and hashes only, never names or identifiers: the resource id and the
//! patient are HMAC pseudonyms under the deployment secret; the content is a CID of ciphertext and
//! a salted commitment.

use fhir_json::{DecodeError, DecodeErrorKind, JsonReader, JsonWriter};

/// The record encoding version written by this code.
pub const RECORD_VERSION: u64 = 1;

/// What a resource version does to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// The first version.
    Create,
    /// A later version with new content.
    Update,
    /// The resource is deleted (no content).
    Delete,
}

impl Operation {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "create" => Self::Create,
            "update" => Self::Update,
            "delete" => Self::Delete,
            _ => return None,
        })
    }
}

/// One version of one resource, as the ledger holds it (BRIEF §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceVersion {
    /// When the bridge accepted it (ms since the Unix epoch).
    pub time_ms: u64,
    /// The key id (hex) of the node that accepted it.
    pub node: String,
    /// Where it came from: `file:<pseudonym of the path>`, `http`, `kafka:<topic>/<partition>/<offset>`.
    pub source: String,
    /// The FHIR resource type (a type name is not patient data).
    pub resource_type: String,
    /// Pseudonym (hex) of `Type/id`.
    pub resource: String,
    /// Pseudonym (hex) of the patient the resource belongs to, if any.
    pub patient: Option<String>,
    /// Version number, from 1.
    pub version: u32,
    /// What this version does.
    pub operation: Operation,
    /// The patient key epoch the content is sealed under.
    pub epoch: u32,
    /// CID of the sealed content (absent for deletes).
    pub cid: Option<String>,
    /// Salted commitment (hex) to the canonical plaintext (absent for deletes).
    pub commitment: Option<String>,
}

/// Any record the bridge writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerRecord {
    /// A resource version.
    ResourceVersion(ResourceVersion),
}

impl LedgerRecord {
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = JsonWriter::new();
        match self {
            Self::ResourceVersion(r) => {
                // Members in RFC 8785 order (byte order of ASCII names).
                w.begin_object();
                if let Some(cid) = &r.cid {
                    w.key("cid");
                    w.string(cid);
                }
                if let Some(commitment) = &r.commitment {
                    w.key("commitment");
                    w.string(commitment);
                }
                w.key("epoch");
                w.number_u64(u64::from(r.epoch));
                w.key("kind");
                w.string("ResourceVersion");
                w.key("node");
                w.string(&r.node);
                w.key("op");
                w.string(r.operation.as_str());
                if let Some(patient) = &r.patient {
                    w.key("patient");
                    w.string(patient);
                }
                w.key("resource");
                w.string(&r.resource);
                w.key("source");
                w.string(&r.source);
                w.key("time");
                w.number_u64(r.time_ms);
                w.key("type");
                w.string(&r.resource_type);
                w.key("v");
                w.number_u64(RECORD_VERSION);
                w.key("version");
                w.number_u64(u64::from(r.version));
                w.end_object();
            }
        }
        w.into_bytes()
    }

    /// Decodes canonical bytes; anything else is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = JsonReader::new(bytes);
        let mut fields = Fields::default();
        r.begin_object()?;
        let mut previous: Option<String> = None;
        while let Some(key) = r.next_key()? {
            if previous.as_deref().is_some_and(|p| p >= &*key) {
                return Err(invalid(&r, "members out of canonical order").at_field(&key));
            }
            let value = |r: &mut JsonReader<'_>| r.read_string().map_err(|e| e.at_field(&key));
            match &*key {
                "cid" => fields.cid = Some(value(&mut r)?),
                "commitment" => fields.commitment = Some(value(&mut r)?),
                "epoch" => fields.epoch = Some(number(&mut r, &key)?),
                "kind" => fields.kind = Some(value(&mut r)?),
                "node" => fields.node = Some(value(&mut r)?),
                "op" => fields.op = Some(value(&mut r)?),
                "patient" => fields.patient = Some(value(&mut r)?),
                "resource" => fields.resource = Some(value(&mut r)?),
                "source" => fields.source = Some(value(&mut r)?),
                "time" => fields.time = Some(number(&mut r, &key)?),
                "type" => fields.resource_type = Some(value(&mut r)?),
                "v" => fields.v = Some(number(&mut r, &key)?),
                "version" => fields.version = Some(number(&mut r, &key)?),
                _ => return Err(invalid(&r, "unknown record member").at_field(&key)),
            }
            previous = Some(key.into_owned());
        }
        r.finish()?;
        let record = fields.build(&r)?;
        // INVARIANT: canonical bytes only; anything that decodes but re-encodes differently
        // (escapes, number forms) is refused, so a record has exactly one encoding.
        if record.encode() != bytes {
            return Err(invalid(&r, "record is not in canonical form"));
        }
        Ok(record)
    }
}

fn invalid(r: &JsonReader<'_>, why: &str) -> DecodeError {
    DecodeError::new(DecodeErrorKind::InvalidValue(why.to_owned()), r.offset())
}

fn number(r: &mut JsonReader<'_>, key: &str) -> Result<u64, DecodeError> {
    let text = r.read_number_raw().map_err(|e| e.at_field(key))?;
    text.parse().map_err(|_| invalid(r, "expected an unsigned integer").at_field(key))
}

#[derive(Default)]
struct Fields {
    cid: Option<String>,
    commitment: Option<String>,
    epoch: Option<u64>,
    kind: Option<String>,
    node: Option<String>,
    op: Option<String>,
    patient: Option<String>,
    resource: Option<String>,
    source: Option<String>,
    time: Option<u64>,
    resource_type: Option<String>,
    v: Option<u64>,
    version: Option<u64>,
}

impl Fields {
    fn build(self, r: &JsonReader<'_>) -> Result<LedgerRecord, DecodeError> {
        let missing = |name: &str| invalid(r, "missing record member").at_field(name);
        if self.v != Some(RECORD_VERSION) {
            return Err(invalid(r, "unsupported record version").at_field("v"));
        }
        match self.kind.as_deref() {
            Some("ResourceVersion") => {}
            _ => return Err(invalid(r, "unknown record kind").at_field("kind")),
        }
        let operation = self.op.as_deref().and_then(Operation::parse).ok_or_else(|| missing("op"))?;
        let small = |value: Option<u64>, name: &str| {
            value.ok_or_else(|| missing(name)).and_then(|v| u32::try_from(v).map_err(|_| missing(name)))
        };
        Ok(LedgerRecord::ResourceVersion(ResourceVersion {
            time_ms: self.time.ok_or_else(|| missing("time"))?,
            node: self.node.ok_or_else(|| missing("node"))?,
            source: self.source.ok_or_else(|| missing("source"))?,
            resource_type: self.resource_type.ok_or_else(|| missing("type"))?,
            resource: self.resource.ok_or_else(|| missing("resource"))?,
            patient: self.patient,
            version: small(self.version, "version")?,
            operation,
            epoch: small(self.epoch, "epoch")?,
            cid: self.cid,
            commitment: self.commitment,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LedgerRecord {
        LedgerRecord::ResourceVersion(ResourceVersion {
            time_ms: 1_700_000_000_000,
            node: "ab".repeat(32),
            source: "http".into(),
            resource_type: "Observation".into(),
            resource: "cd".repeat(32),
            patient: Some("ef".repeat(32)),
            version: 2,
            operation: Operation::Update,
            epoch: 0,
            cid: Some("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".into()),
            commitment: Some("01".repeat(32)),
        })
    }

    #[test]
    fn encoding_is_canonical_json_and_round_trips() {
        let bytes = sample().encode();
        assert_eq!(fhir_json::canonicalize(&bytes).unwrap(), bytes);
        assert_eq!(LedgerRecord::decode(&bytes).unwrap(), sample());
    }

    #[test]
    fn known_answer() {
        let text = String::from_utf8(sample().encode()).unwrap();
        assert!(text.starts_with(r#"{"cid":"bafkrei"#), "{text}");
        assert!(text.ends_with(r#","type":"Observation","v":1,"version":2}"#), "{text}");
    }

    #[test]
    fn non_canonical_or_unknown_content_is_refused() {
        let bytes = String::from_utf8(sample().encode()).unwrap();
        let spaced = bytes.replacen("{", "{ ", 1);
        assert!(LedgerRecord::decode(spaced.as_bytes()).is_err());
        let unknown = bytes.replacen("\"v\":1", "\"v\":1,\"w\":1", 1);
        assert!(LedgerRecord::decode(unknown.as_bytes()).is_err());
        let reordered = bytes.replacen("{\"cid\"", "{\"zzz\":\"\",\"cid\"", 1);
        assert!(LedgerRecord::decode(reordered.as_bytes()).is_err());
        let version = bytes.replacen("\"v\":1", "\"v\":2", 1);
        assert!(LedgerRecord::decode(version.as_bytes()).is_err());
    }
}
