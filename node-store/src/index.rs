//! The private index: what the node needs to find records fast and to recognise duplicates.
//!
//! It is derived from the ledger and can be rebuilt from it (see `Node::recover_index`): the
//! ledger is the truth, the index a cache with a watermark (`indexed_through`). Keys hold only
//! pseudonyms and keyed hashes, never identifiers. One sled tree, `index`, with prefixes:
//!
//! | key | value |
//! | --- | --- |
//! | `W` | next sequence number to index (u64 BE) |
//! | `L` resource(32) | latest version: version (u32 BE), seq (u64 BE), deleted (u8) |
//! | `H` resource(32) version(u32 BE) | seq (u64 BE) |
//! | `D` dedup key(32) | seq (u64 BE), version (u32 BE) |
//! | `A` patient(32) seq (u64 BE) | (empty): the patient's Access records |
//! | `G` patient(32) grantee key id(32) consent(32) | seq of the consent's Grant in force (u64 BE) |
//! | `K` patient(32) grantee key id(32) epoch (u32 BE) consent(32) | seq of the consent's Grant of that epoch (u64 BE) |
//! | `P` patient(32) type 0x00 resource(32) | (empty): a resource that has had a version of the patient |
//! | `S` term(32) resource(32) | version (u32 BE): the version had this search term (a keyed hash of type, parameter and term; see `Node::search_terms`) |
//! | `V` | the index format (`INDEX_FORMAT`, u32 BE); another value means rebuild |

/// The layout of the index this code reads and writes. An index of another format is dropped and
/// rebuilt from the ledger when the node opens.
pub const INDEX_FORMAT: u32 = 5;

/// The latest version of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latest {
    /// Its version number.
    pub version: u32,
    /// The ledger seq of that version.
    pub seq: u64,
    /// Whether that version is a delete.
    pub deleted: bool,
}

/// A record that content was stored already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenContent {
    /// The ledger seq that holds it.
    pub seq: u64,
    /// Its version.
    pub version: u32,
}

/// A grant in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantEntry {
    /// The grantee node's key id.
    pub grantee: [u8; 32],
    /// The consent it comes from (pseudonym).
    pub consent: [u8; 32],
    /// The ledger seq of its latest Grant record.
    pub seq: u64,
}

/// One change to the index.
#[derive(Debug, Clone)]
pub enum IndexEntry {
    /// A grant comes into force (or is re-wrapped for a new epoch).
    Grant {
        /// Patient pseudonym.
        patient: [u8; 32],
        /// The grant.
        grant: GrantEntry,
        /// The patient key epoch it wraps.
        epoch: u32,
    },
    /// An access to a patient's data was recorded.
    Access {
        /// Patient pseudonym.
        patient: [u8; 32],
        /// The ledger seq of the Access record.
        seq: u64,
    },
    /// A consent's grant ends.
    Revoke {
        /// Patient pseudonym.
        patient: [u8; 32],
        /// The grantee node's key id.
        grantee: [u8; 32],
        /// The consent whose grant ends (pseudonym).
        consent: [u8; 32],
    },
    /// Content already stored, met again from a message that had not been recorded: the message's
    /// dedup key, pointing at the version that holds the content.
    Seen {
        /// The message's dedup key.
        dedup: [u8; 32],
        /// The version it is a duplicate of.
        seen: SeenContent,
    },
    /// A new version of a resource.
    Version {
        /// Resource pseudonym.
        resource: [u8; 32],
        /// Its resource type.
        resource_type: String,
        /// The patient it belongs to in this version (pseudonym), if any.
        patient: Option<[u8; 32]>,
        /// Its state after this version.
        latest: Latest,
        /// Dedup key of its content (absent for deletes).
        dedup: Option<[u8; 32]>,
        /// For a v2 resource merged into its earlier version: the dedup key of the message that
        /// wrote it (`dedup::message_identity`), so a re-sent message is a duplicate.
        dedup_message: Option<[u8; 32]>,
        /// The version's search terms, keyed (`Node::search_terms`).
        search_terms: Vec<[u8; 32]>,
    },
}

/// The index tree.
#[derive(Clone)]
pub struct Index {
    tree: sled::Tree,
}

fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

fn be_u32(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?))
}

fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    k.push(prefix);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

impl Index {
    /// The index in `db`.
    pub fn open(db: &sled::Db) -> sled::Result<Self> {
        Ok(Self { tree: db.open_tree("index")? })
    }

    /// Whether the index is in `INDEX_FORMAT` (an empty index counts as one, of any format).
    pub fn format_is_current(&self) -> sled::Result<bool> {
        let stored = self.tree.get(b"V")?.and_then(|v| be_u32(&v));
        Ok(stored == Some(INDEX_FORMAT) || (stored.is_none() && self.indexed_through()? == 0))
    }

    /// Drops every entry and marks the index as `INDEX_FORMAT`, to be rebuilt from seq 0.
    pub fn reset(&self) -> sled::Result<()> {
        self.tree.clear()?;
        self.tree.insert(b"V", &INDEX_FORMAT.to_be_bytes()[..])?;
        Ok(())
    }

    /// The next ledger seq that is not indexed yet.
    pub fn indexed_through(&self) -> sled::Result<u64> {
        Ok(self.tree.get(b"W")?.and_then(|v| be_u64(&v)).unwrap_or(0))
    }

    /// The latest version of `resource`.
    pub fn latest(&self, resource: &[u8; 32]) -> sled::Result<Option<Latest>> {
        Ok(self
            .tree
            .get(key(b'L', &[resource]))?
            .and_then(|v| Some(Latest { version: be_u32(&v)?, seq: be_u64(v.get(4..)?)?, deleted: *v.get(12)? != 0 })))
    }

    /// The seq of `version` of `resource`.
    pub fn version_seq(&self, resource: &[u8; 32], version: u32) -> sled::Result<Option<u64>> {
        Ok(self.tree.get(key(b'H', &[resource, &version.to_be_bytes()]))?.and_then(|v| be_u64(&v)))
    }

    /// The resources (and the version) that had the search term `term`: stale versions too, which
    /// the caller checks against the latest.
    pub fn search_term(&self, term: &[u8; 32]) -> impl Iterator<Item = sled::Result<([u8; 32], u32)>> + '_ {
        self.tree.scan_prefix(key(b'S', &[term])).map(|entry| {
            let (key, value) = entry?;
            let mut resource = [0u8; 32];
            resource.copy_from_slice(key.get(33..65).unwrap_or(&[0; 32]));
            Ok((resource, be_u32(&value).unwrap_or(0)))
        })
    }

    /// Whether content with this dedup key is stored already.
    pub fn seen(&self, dedup: &[u8; 32]) -> sled::Result<Option<SeenContent>> {
        Ok(self
            .tree
            .get(key(b'D', &[dedup]))?
            .and_then(|v| Some(SeenContent { seq: be_u64(&v)?, version: be_u32(v.get(8..)?)? })))
    }

    /// The latest versions of all resources, as (resource pseudonym, latest).
    pub fn all_latest(&self) -> impl Iterator<Item = sled::Result<([u8; 32], Latest)>> + '_ {
        self.tree.scan_prefix(b"L").filter_map(|item| match item {
            Err(e) => Some(Err(e)),
            Ok((k, v)) => {
                let resource: [u8; 32] = k.get(1..33)?.try_into().ok()?;
                let latest = Latest { version: be_u32(&v)?, seq: be_u64(v.get(4..)?)?, deleted: *v.get(12)? != 0 };
                Some(Ok((resource, latest)))
            }
        })
    }

    /// The grants in force for `patient`: one per grantee and consent.
    pub fn grants_of(&self, patient: &[u8; 32]) -> sled::Result<Vec<GrantEntry>> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(key(b'G', &[patient])) {
            let (k, v) = item?;
            let (Some(grantee), Some(consent), Some(seq)) = (
                k.get(33..65).and_then(|g| <[u8; 32]>::try_from(g).ok()),
                k.get(65..97).and_then(|c| <[u8; 32]>::try_from(c).ok()),
                be_u64(&v),
            ) else {
                continue;
            };
            out.push(GrantEntry { grantee, consent, seq });
        }
        Ok(out)
    }

    /// The seqs of the Access records about `patient`, in ledger order.
    pub fn accesses_of(&self, patient: &[u8; 32]) -> sled::Result<Vec<u64>> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(key(b'A', &[patient])) {
            let (k, _) = item?;
            if let Some(seq) = k.get(33..41).and_then(be_u64) {
                out.push(seq);
            }
        }
        Ok(out)
    }

    /// The seqs of the Grant records that wrapped `patient`'s key of `epoch` for `grantee`, one
    /// per consent.
    pub fn grants_of_epoch(&self, patient: &[u8; 32], grantee: &[u8; 32], epoch: u32) -> sled::Result<Vec<u64>> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(key(b'K', &[patient, grantee, &epoch.to_be_bytes()])) {
            let (_, v) = item?;
            out.extend(be_u64(&v));
        }
        Ok(out)
    }

    /// The pseudonyms of the resources of `resource_type` that have had a version belonging to
    /// `patient` (a later version may belong to another patient or be a delete: check `latest`).
    pub fn resources_of(&self, patient: &[u8; 32], resource_type: &str) -> sled::Result<Vec<[u8; 32]>> {
        let prefix = key(b'P', &[patient, resource_type.as_bytes(), &[0]]);
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(&prefix) {
            let (k, _) = item?;
            if let Some(resource) = k.get(prefix.len()..).and_then(|r| <[u8; 32]>::try_from(r).ok()) {
                out.push(resource);
            }
        }
        Ok(out)
    }

    /// Every patient with a grant in force.
    pub fn patients_with_grants(&self) -> sled::Result<Vec<[u8; 32]>> {
        let mut out: Vec<[u8; 32]> = Vec::new();
        for item in self.tree.scan_prefix(b"G") {
            let (k, _) = item?;
            if let Some(patient) = k.get(1..33).and_then(|p| <[u8; 32]>::try_from(p).ok()) {
                if out.last() != Some(&patient) {
                    out.push(patient);
                }
            }
        }
        Ok(out)
    }

    /// Every grant in force that comes from `consent`, with its patient.
    pub fn grants_by_consent(&self, consent: &[u8; 32]) -> sled::Result<Vec<([u8; 32], GrantEntry)>> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(b"G") {
            let (k, v) = item?;
            if k.get(65..97) != Some(&consent[..]) {
                continue;
            }
            let (Some(patient), Some(grantee), Some(seq)) = (
                k.get(1..33).and_then(|p| <[u8; 32]>::try_from(p).ok()),
                k.get(33..65).and_then(|g| <[u8; 32]>::try_from(g).ok()),
                be_u64(&v),
            ) else {
                continue;
            };
            out.push((patient, GrantEntry { grantee, consent: *consent, seq }));
        }
        Ok(out)
    }

    /// Applies `entries` (for ledger seqs below `indexed_through`) atomically.
    pub fn apply(&self, entries: &[IndexEntry], indexed_through: u64) -> sled::Result<()> {
        let mut batch = sled::Batch::default();
        for entry in entries {
            match entry {
                IndexEntry::Version {
                    resource,
                    resource_type,
                    patient,
                    latest,
                    dedup,
                    dedup_message,
                    search_terms,
                } => {
                    for term in search_terms {
                        batch.insert(key(b'S', &[term, resource]), &latest.version.to_be_bytes()[..]);
                    }
                    if let Some(patient) = patient {
                        batch.insert(key(b'P', &[patient, resource_type.as_bytes(), &[0], resource]), &[][..]);
                    }
                    let mut value = Vec::with_capacity(13);
                    value.extend_from_slice(&latest.version.to_be_bytes());
                    value.extend_from_slice(&latest.seq.to_be_bytes());
                    value.push(u8::from(latest.deleted));
                    batch.insert(key(b'L', &[resource]), value);
                    batch.insert(key(b'H', &[resource, &latest.version.to_be_bytes()]), &latest.seq.to_be_bytes()[..]);
                    for dedup in dedup.iter().chain(dedup_message) {
                        let mut seen = latest.seq.to_be_bytes().to_vec();
                        seen.extend_from_slice(&latest.version.to_be_bytes());
                        batch.insert(key(b'D', &[dedup]), seen);
                    }
                }
                IndexEntry::Seen { dedup, seen } => {
                    let mut value = seen.seq.to_be_bytes().to_vec();
                    value.extend_from_slice(&seen.version.to_be_bytes());
                    batch.insert(key(b'D', &[dedup]), value);
                }
                IndexEntry::Grant { patient, grant, epoch } => {
                    let seq = &grant.seq.to_be_bytes()[..];
                    batch.insert(key(b'K', &[patient, &grant.grantee, &epoch.to_be_bytes(), &grant.consent]), seq);
                    batch.insert(key(b'G', &[patient, &grant.grantee, &grant.consent]), seq);
                }
                IndexEntry::Revoke { patient, grantee, consent } => {
                    batch.remove(key(b'G', &[patient, grantee, consent]));
                }
                IndexEntry::Access { patient, seq } => batch.insert(key(b'A', &[patient, &seq.to_be_bytes()]), &[][..]),
            }
        }
        batch.insert(&b"W"[..], &indexed_through.to_be_bytes()[..]);
        batch.insert(&b"V"[..], &INDEX_FORMAT.to_be_bytes()[..]);
        self.tree.apply_batch(batch)
    }
}
