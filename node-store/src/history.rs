//! Versions in history order (newest first), for FHIR `_history`: of one resource, of one type,
//! or of every resource, a page at a time.
//!
//! Pages are cut by a cursor that stays right while writes go on: for one resource a version
//! number, otherwise a ledger seq (versions are on the ledger in the order they were written, and
//! a later write only adds seqs above every cursor handed out). A type's or the system's history
//! walks the ledger backwards from the cursor; one page looks at no more than a scan budget of
//! records, so a page of a rare type on a large ledger may come back short with a cursor to go on
//! from, but never costs more than the budget.

use crate::node::Node;
use crate::read::{damaged, ReadError};
use crate::records::{LedgerRecord, ResourceVersion};
use ledger_adapter::LedgerReader;

/// Whose history.
#[derive(Debug, Clone, Copy)]
pub enum HistoryOf<'a> {
    /// One resource.
    Instance {
        /// Its type.
        resource_type: &'a str,
        /// Its id.
        id: &'a str,
    },
    /// Every resource of a type.
    Type(&'a str),
    /// Every resource.
    System,
}

/// What a page asks for.
#[derive(Debug, Clone, Copy)]
pub struct HistoryPage {
    /// Entries before this cursor (exclusive; `None`: from the newest).
    pub before: Option<u64>,
    /// Only versions written at or after this time (ms since the Unix epoch).
    pub since_ms: Option<u64>,
    /// At most this many entries.
    pub count: usize,
    /// At most this many ledger records looked at (type and system history).
    pub scan_budget: u64,
}

/// One page: versions newest first, and where the next page starts (`None`: this is the last).
#[derive(Debug, Clone)]
pub struct History {
    /// `(seq, record)` of each version.
    pub versions: Vec<(u64, ResourceVersion)>,
    /// The cursor of the next page.
    pub next: Option<u64>,
    /// For one resource: how many versions it has in all (within `since_ms`, when given, not).
    pub total: Option<u64>,
}

impl Node {
    /// A page of `of`'s history.
    pub fn history(&self, of: HistoryOf<'_>, page: HistoryPage) -> Result<History, ReadError> {
        match of {
            HistoryOf::Instance { resource_type, id } => self.instance_history(resource_type, id, page),
            HistoryOf::Type(resource_type) => self.ledger_history(Some(resource_type), page),
            HistoryOf::System => self.ledger_history(None, page),
        }
    }

    fn instance_history(&self, resource_type: &str, id: &str, page: HistoryPage) -> Result<History, ReadError> {
        let rid = self.resource_pseudonym(resource_type, id);
        let Some(latest) = self.index.latest(rid.as_bytes())? else { return Err(ReadError::NotFound) };
        let start = page.before.map_or(u64::from(latest.version), |before| before.saturating_sub(1));
        let mut versions = Vec::new();
        let mut version = start.min(u64::from(latest.version));
        while version >= 1 && versions.len() < page.count {
            let v = u32::try_from(version).map_err(|_| damaged(0, "a version beyond u32"))?;
            let seq =
                self.index.version_seq(rid.as_bytes(), v)?.ok_or_else(|| damaged(0, "a version without a seq"))?;
            let record = self.record_at(seq)?;
            if page.since_ms.is_some_and(|since| record.time_ms < since) {
                // Older versions are older still: the history within `_since` ends here.
                version = 0;
                break;
            }
            versions.push((seq, record));
            version -= 1;
        }
        Ok(History { versions, next: (version >= 1).then_some(version + 1), total: Some(u64::from(latest.version)) })
    }

    fn ledger_history(&self, resource_type: Option<&str>, page: HistoryPage) -> Result<History, ReadError> {
        let size = self.ledger.tree_size()?;
        let mut seq = page.before.map_or(size, |before| before.min(size));
        let mut versions = Vec::new();
        let mut scanned = 0u64;
        while seq > 0 && versions.len() < page.count && scanned < page.scan_budget {
            seq -= 1;
            scanned += 1;
            let bytes = self.ledger.record(seq)?.ok_or_else(|| damaged(seq, "a record missing below the tree size"))?;
            let LedgerRecord::ResourceVersion(record) =
                LedgerRecord::decode(&bytes).map_err(|_| damaged(seq, "ledger record does not decode"))?
            else {
                continue;
            };
            if page.since_ms.is_some_and(|since| record.time_ms < since) {
                // Blocks are stamped by one writer in ledger order: everything below is older.
                seq = 0;
                break;
            }
            if resource_type.is_none_or(|t| t == record.resource_type) {
                versions.push((seq, record));
            }
        }
        Ok(History { versions, next: (seq > 0).then_some(seq), total: None })
    }

    /// The logical id of the resource a version belongs to: from its content, or, for a delete,
    /// from the version before it (a delete record holds no content, and the id only as a
    /// pseudonym). `None` when no version of it has content.
    pub fn logical_id_of(&self, seq: u64, record: &ResourceVersion) -> Result<Option<String>, ReadError> {
        let mut current = (seq, record.clone());
        loop {
            if current.1.operation != crate::records::Operation::Delete {
                let opened = self.open_record(current.0, current.1)?;
                let id = fhir_json::JsonReader::new(&opened.canonical).peek_object_string_member("id").ok().flatten();
                return Ok(id.map(|id| id.into_owned()));
            }
            let Some(previous) = current.1.version.checked_sub(1).filter(|v| *v > 0) else { return Ok(None) };
            let rid: record_crypto::Pseudonym =
                current.1.resource.parse().map_err(|_| damaged(current.0, "bad resource pseudonym"))?;
            let Some(previous_seq) = self.index.version_seq(rid.as_bytes(), previous)? else { return Ok(None) };
            current = (previous_seq, self.record_at(previous_seq)?);
        }
    }
}
