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

use std::collections::BTreeMap;

use fhir_json::{DecodeError, DecodeErrorKind, JsonKind, JsonReader, JsonWriter};

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

    pub(crate) fn parse(text: &str) -> Option<Self> {
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

/// A patient's consent, granting another institution (a node) access to the patient's records:
/// the patient key of `epoch`, wrapped (ECIES) for the grantee's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// When it was granted (ms since the Unix epoch).
    pub time_ms: u64,
    /// The key id (hex) of the custodian node that records it.
    pub node: String,
    /// Pseudonym (hex) of the patient.
    pub patient: String,
    /// The grantee node's key id (hex).
    pub grantee: String,
    /// Pseudonym (hex) of the `Consent` resource it comes from.
    pub consent: String,
    /// The resource types granted (`*` for all).
    pub types: Vec<String>,
    /// Types excluded from `*` (a deny's exceptions); empty for most grants, and then not
    /// encoded, so grants without exclusions keep their bytes.
    pub except: Vec<String>,
    /// Start of the granted period (FHIR dateTime), if bounded.
    pub start: Option<String>,
    /// End of the granted period (FHIR dateTime), if bounded.
    pub end: Option<String>,
    /// The patient key epoch wrapped here.
    pub epoch: u32,
    /// The patient key wrapped for the grantee (hex of the ECIES bytes).
    pub wrapped_key: String,
}

impl Grant {
    /// Whether it grants `resource_type` (by name, or all types by `*` but those in `except`).
    pub fn covers(&self, resource_type: &str) -> bool {
        self.type_set().contains(resource_type)
    }

    /// The granted types as a set.
    pub fn type_set(&self) -> fhir_consent::TypeSet {
        fhir_consent::TypeSet::from_grant_lists(&self.types, &self.except)
    }
}

/// The end of a grant: the patient key moves to `epoch`, which the grantee never receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoke {
    /// When it was revoked (ms since the Unix epoch).
    pub time_ms: u64,
    /// The key id (hex) of the custodian node.
    pub node: String,
    /// Pseudonym (hex) of the patient.
    pub patient: String,
    /// The grantee node's key id (hex).
    pub grantee: String,
    /// Pseudonym (hex) of the `Consent` resource.
    pub consent: String,
    /// The patient key epoch from now on.
    pub epoch: u32,
}

/// One read or denial, local or remote: the patient's view of who saw what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// When (ms since the Unix epoch).
    pub time_ms: u64,
    /// The key id (hex) of the node that served or refused it.
    pub node: String,
    /// Who asked: a node key id or a client pseudonym (hex).
    pub accessor: String,
    /// `read` or `search`.
    pub action: String,
    /// `permit` or `deny`.
    pub outcome: String,
    /// Pseudonym (hex) of the patient, when known.
    pub patient: Option<String>,
    /// The resource type asked for, when known.
    pub resource_type: Option<String>,
    /// Pseudonym (hex) of the resource, for a read.
    pub resource: Option<String>,
}

/// Any record the bridge writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerRecord {
    /// A resource version.
    ResourceVersion(ResourceVersion),
    /// A consent grant.
    Grant(Grant),
    /// A consent revocation.
    Revoke(Revoke),
    /// An access (read, search or denial).
    Access(Access),
}

/// A member value of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Text(String),
    Number(u64),
    List(Vec<String>),
}

/// The members of a record by name. `BTreeMap` orders them by bytes, which is RFC 8785 order for
/// the ASCII names used here, so writing them in map order is canonical.
type Members = BTreeMap<&'static str, Value>;

fn text(members: &mut Members, name: &'static str, value: &str) {
    members.insert(name, Value::Text(value.to_owned()));
}

fn optional(members: &mut Members, name: &'static str, value: Option<&str>) {
    if let Some(value) = value {
        text(members, name, value);
    }
}

fn number(members: &mut Members, name: &'static str, value: u64) {
    members.insert(name, Value::Number(value));
}

impl LedgerRecord {
    /// The kind name written in `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ResourceVersion(_) => "ResourceVersion",
            Self::Grant(_) => "Grant",
            Self::Revoke(_) => "Revoke",
            Self::Access(_) => "Access",
        }
    }

    fn members(&self) -> Members {
        let mut m = Members::new();
        text(&mut m, "kind", self.kind());
        number(&mut m, "v", RECORD_VERSION);
        match self {
            Self::ResourceVersion(r) => {
                optional(&mut m, "cid", r.cid.as_deref());
                optional(&mut m, "commitment", r.commitment.as_deref());
                number(&mut m, "epoch", u64::from(r.epoch));
                text(&mut m, "node", &r.node);
                text(&mut m, "op", r.operation.as_str());
                optional(&mut m, "patient", r.patient.as_deref());
                text(&mut m, "resource", &r.resource);
                text(&mut m, "source", &r.source);
                number(&mut m, "time", r.time_ms);
                text(&mut m, "type", &r.resource_type);
                number(&mut m, "version", u64::from(r.version));
            }
            Self::Grant(g) => {
                text(&mut m, "consent", &g.consent);
                optional(&mut m, "end", g.end.as_deref());
                if !g.except.is_empty() {
                    m.insert("except", Value::List(g.except.clone()));
                }
                number(&mut m, "epoch", u64::from(g.epoch));
                text(&mut m, "grantee", &g.grantee);
                text(&mut m, "node", &g.node);
                text(&mut m, "patient", &g.patient);
                optional(&mut m, "start", g.start.as_deref());
                number(&mut m, "time", g.time_ms);
                m.insert("types", Value::List(g.types.clone()));
                text(&mut m, "wrapped_key", &g.wrapped_key);
            }
            Self::Revoke(r) => {
                text(&mut m, "consent", &r.consent);
                number(&mut m, "epoch", u64::from(r.epoch));
                text(&mut m, "grantee", &r.grantee);
                text(&mut m, "node", &r.node);
                text(&mut m, "patient", &r.patient);
                number(&mut m, "time", r.time_ms);
            }
            Self::Access(a) => {
                text(&mut m, "accessor", &a.accessor);
                text(&mut m, "action", &a.action);
                text(&mut m, "node", &a.node);
                text(&mut m, "outcome", &a.outcome);
                optional(&mut m, "patient", a.patient.as_deref());
                optional(&mut m, "resource", a.resource.as_deref());
                number(&mut m, "time", a.time_ms);
                optional(&mut m, "type", a.resource_type.as_deref());
            }
        }
        m
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = JsonWriter::new();
        w.begin_object();
        for (name, value) in self.members() {
            w.key(name);
            match value {
                Value::Text(t) => w.string(&t),
                Value::Number(n) => w.number_u64(n),
                Value::List(items) => {
                    w.begin_array();
                    for item in &items {
                        w.string(item);
                    }
                    w.end_array();
                }
            }
        }
        w.end_object();
        w.into_bytes()
    }

    /// Decodes canonical bytes; anything else is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = JsonReader::new(bytes);
        let mut read: BTreeMap<String, Value> = BTreeMap::new();
        r.begin_object()?;
        let mut previous: Option<String> = None;
        while let Some(key) = r.next_key()? {
            if previous.as_deref().is_some_and(|p| p >= &*key) {
                return Err(invalid(&r, "members out of canonical order").at_field(&key));
            }
            let value = match r.peek_kind()? {
                JsonKind::String => Value::Text(r.read_string()?),
                JsonKind::Number => {
                    let digits = r.read_number_raw()?;
                    Value::Number(
                        digits.parse().map_err(|_| invalid(&r, "expected an unsigned integer").at_field(&key))?,
                    )
                }
                JsonKind::Array => {
                    let mut items = Vec::new();
                    r.begin_array()?;
                    while r.next_element()? {
                        items.push(r.read_string().map_err(|e| e.at_field(&key))?);
                    }
                    Value::List(items)
                }
                _ => return Err(invalid(&r, "unexpected value type").at_field(&key)),
            };
            read.insert(key.to_string(), value);
            previous = Some(key.into_owned());
        }
        r.finish()?;
        let record = Fields { read, reader_offset: r.offset() }.build()?;
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

/// Decoded members, taken out one by one; what is left at the end is unknown.
struct Fields {
    read: BTreeMap<String, Value>,
    reader_offset: usize,
}

impl Fields {
    fn error(&self, name: &str, why: &str) -> DecodeError {
        DecodeError::new(DecodeErrorKind::InvalidValue(why.to_owned()), self.reader_offset).at_field(name)
    }

    fn opt_text(&mut self, name: &str) -> Result<Option<String>, DecodeError> {
        match self.read.remove(name) {
            None => Ok(None),
            Some(Value::Text(t)) => Ok(Some(t)),
            Some(_) => Err(self.error(name, "expected a string")),
        }
    }

    fn text(&mut self, name: &str) -> Result<String, DecodeError> {
        self.opt_text(name)?.ok_or_else(|| self.error(name, "missing record member"))
    }

    fn number(&mut self, name: &str) -> Result<u64, DecodeError> {
        match self.read.remove(name) {
            Some(Value::Number(n)) => Ok(n),
            Some(_) => Err(self.error(name, "expected a number")),
            None => Err(self.error(name, "missing record member")),
        }
    }

    fn small(&mut self, name: &str) -> Result<u32, DecodeError> {
        let n = self.number(name)?;
        u32::try_from(n).map_err(|_| self.error(name, "number out of range"))
    }

    fn opt_list(&mut self, name: &str) -> Result<Option<Vec<String>>, DecodeError> {
        match self.read.remove(name) {
            Some(Value::List(items)) => Ok(Some(items)),
            Some(_) => Err(self.error(name, "expected a list")),
            None => Ok(None),
        }
    }

    fn list(&mut self, name: &str) -> Result<Vec<String>, DecodeError> {
        self.opt_list(name)?.ok_or_else(|| self.error(name, "missing record member"))
    }

    fn build(mut self) -> Result<LedgerRecord, DecodeError> {
        if self.number("v")? != RECORD_VERSION {
            return Err(self.error("v", "unsupported record version"));
        }
        let kind = self.text("kind")?;
        let record = match kind.as_str() {
            "ResourceVersion" => {
                let op = self.text("op")?;
                LedgerRecord::ResourceVersion(ResourceVersion {
                    time_ms: self.number("time")?,
                    node: self.text("node")?,
                    source: self.text("source")?,
                    resource_type: self.text("type")?,
                    resource: self.text("resource")?,
                    patient: self.opt_text("patient")?,
                    version: self.small("version")?,
                    operation: Operation::parse(&op).ok_or_else(|| self.error("op", "unknown operation"))?,
                    epoch: self.small("epoch")?,
                    cid: self.opt_text("cid")?,
                    commitment: self.opt_text("commitment")?,
                })
            }
            "Grant" => LedgerRecord::Grant(Grant {
                time_ms: self.number("time")?,
                node: self.text("node")?,
                patient: self.text("patient")?,
                grantee: self.text("grantee")?,
                consent: self.text("consent")?,
                types: self.list("types")?,
                except: self.opt_list("except")?.unwrap_or_default(),
                start: self.opt_text("start")?,
                end: self.opt_text("end")?,
                epoch: self.small("epoch")?,
                wrapped_key: self.text("wrapped_key")?,
            }),
            "Revoke" => LedgerRecord::Revoke(Revoke {
                time_ms: self.number("time")?,
                node: self.text("node")?,
                patient: self.text("patient")?,
                grantee: self.text("grantee")?,
                consent: self.text("consent")?,
                epoch: self.small("epoch")?,
            }),
            "Access" => LedgerRecord::Access(Access {
                time_ms: self.number("time")?,
                node: self.text("node")?,
                accessor: self.text("accessor")?,
                action: self.text("action")?,
                outcome: self.text("outcome")?,
                patient: self.opt_text("patient")?,
                resource_type: self.opt_text("type")?,
                resource: self.opt_text("resource")?,
            }),
            _ => return Err(self.error("kind", "unknown record kind")),
        };
        if let Some(name) = self.read.keys().next() {
            return Err(self.error(name, "unknown record member"));
        }
        Ok(record)
    }
}

// How records bind to what they describe: sealing and key wrapping take these as context.

/// The associated data a sealed record is bound to: its ledger identity.
pub fn associated_data(record: &ResourceVersion) -> Vec<u8> {
    format!(
        "{}\0{}\0{}\0{}\0{}",
        record.resource_type,
        record.resource,
        record.patient.as_deref().unwrap_or(""),
        record.version,
        record.epoch
    )
    .into_bytes()
}

/// The identity a record key is derived from: resource pseudonym (32) and version (u32 BE).
pub fn record_identity(resource: &[u8; 32], version: u32) -> [u8; 36] {
    let mut identity = [0u8; 36];
    identity[..32].copy_from_slice(resource);
    identity[32..].copy_from_slice(&version.to_be_bytes());
    identity
}

/// The context a grantee's wrap of a patient key is bound to.
pub fn grant_wrap_context(patient: &str, epoch: u32, grantee: &str) -> Vec<u8> {
    format!("grant\0{patient}\0{epoch}\0{grantee}").into_bytes()
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
    fn every_kind_round_trips_canonically() {
        let records = [
            sample(),
            LedgerRecord::Grant(Grant {
                time_ms: 1,
                node: "ab".into(),
                patient: "cd".into(),
                grantee: "ef".into(),
                consent: "01".into(),
                types: vec!["Observation".into(), "Patient".into()],
                except: Vec::new(),
                start: Some("2026-01-01".into()),
                end: None,
                epoch: 0,
                wrapped_key: "02".into(),
            }),
            LedgerRecord::Grant(Grant {
                time_ms: 1,
                node: "ab".into(),
                patient: "cd".into(),
                grantee: "ef".into(),
                consent: "01".into(),
                types: vec!["*".into()],
                except: vec!["Observation".into()],
                start: None,
                end: None,
                epoch: 3,
                wrapped_key: "02".into(),
            }),
            LedgerRecord::Revoke(Revoke {
                time_ms: 2,
                node: "ab".into(),
                patient: "cd".into(),
                grantee: "ef".into(),
                consent: "01".into(),
                epoch: 1,
            }),
            LedgerRecord::Access(Access {
                time_ms: 3,
                node: "ab".into(),
                accessor: "ef".into(),
                action: "read".into(),
                outcome: "deny".into(),
                patient: Some("cd".into()),
                resource_type: Some("Observation".into()),
                resource: None,
            }),
        ];
        for record in records {
            let bytes = record.encode();
            assert_eq!(fhir_json::canonicalize(&bytes).unwrap(), bytes, "{}", record.kind());
            assert_eq!(LedgerRecord::decode(&bytes).unwrap(), record);
        }
    }

    #[test]
    fn a_member_of_another_kind_is_refused() {
        let bytes = String::from_utf8(sample().encode()).unwrap();
        let foreign = bytes.replacen("\"v\":1", "\"v\":1,\"wrapped_key\":\"00\"", 1);
        assert!(LedgerRecord::decode(foreign.as_bytes()).is_err());
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
