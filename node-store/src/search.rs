//! The blind search index: the terms (token, reference, uri, string prefixes and date bounds,
//! from the generated definitions in `fhir_models::search`) of every current version, each kept
//! as a keyed hash of the resource type, the parameter and the term under the deployment secret,
//! so the index holds no value in clear. Quantities and numbers are not indexed.
//!
//! Entries of older versions stay in the index (removing them would mean decrypting the version
//! before); a lookup keeps only the entries whose version is the resource's current one.

use std::collections::BTreeSet;

use crate::node::{kinds, Node};
use crate::read::ReadError;

/// The most resources one term of a search may match before the search is refused as too
/// costly (never cut short).
pub const MAX_CANDIDATES: usize = 100_000;

/// The most index entries (current or stale) one search may look at, every term looked up
/// counting as one more (an empty one costs a seek too).
pub const MAX_SCANNED: usize = 4 * MAX_CANDIDATES;

/// One AND-ed condition of a search: any of its alternatives (FHIR's comma OR), each met when
/// every one of its groups has a term the resource has (`fhir_models::search::query_groups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermCondition {
    /// The parameter's code.
    pub code: String,
    /// The alternatives: groups of terms.
    pub alternatives: Vec<Vec<Vec<String>>>,
}

/// Why a search did not run.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// Reading failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A condition matches more resources than [`MAX_CANDIDATES`].
    #[error("{0} matches more than {MAX_CANDIDATES} resources: narrow the search")]
    TooCostly(String),
}

impl From<sled::Error> for SearchError {
    fn from(error: sled::Error) -> Self {
        SearchError::Read(ReadError::from(error))
    }
}

impl Node {
    fn term_key(&self, resource_type: &str, code: &str, term: &str) -> [u8; 32] {
        *self.pseudonyms.pseudonym(kinds::SEARCH_TERM, &format!("{resource_type}\0{code}\0{term}")).as_bytes()
    }

    /// The keyed search terms of a version's canonical JSON: every term of every exact-match
    /// parameter of its type (`_id` is looked up by the resource pseudonym instead).
    pub fn search_terms(&self, resource_type: &str, canonical: &[u8]) -> Vec<[u8; 32]> {
        let Ok(resource) = serde_json::from_slice::<serde_json::Value>(canonical) else { return Vec::new() };
        self.keyed_terms(resource_type, &fhir_models::search::resource_terms(resource_type, &resource))
    }

    /// The keyed form of a version's terms (`fhir_models::search::resource_terms`, computed once
    /// where the resource is validated).
    pub fn keyed_terms(&self, resource_type: &str, terms: &[(&'static str, String)]) -> Vec<[u8; 32]> {
        let mut keys: Vec<[u8; 32]> =
            terms.iter().map(|(code, term)| self.term_key(resource_type, code, term)).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// The seqs of the current versions of `resource_type` that meet every condition and, when
    /// `ids` is given, are one of those ids; newest first.
    pub fn search_index(
        &self,
        resource_type: &str,
        conditions: &[TermCondition],
        ids: Option<&[String]>,
    ) -> Result<Vec<u64>, SearchError> {
        let mut result: Option<BTreeSet<u64>> = None;
        if let Some(ids) = ids {
            let mut found = BTreeSet::new();
            for id in ids {
                let rid = self.resource_pseudonym(resource_type, id);
                if let Some(latest) = self.index.latest(rid.as_bytes())?.filter(|l| !l.deleted) {
                    found.insert(latest.seq);
                }
            }
            result = Some(found);
        }
        // One budget for the whole search: stale entries (of older versions) and empty lookups
        // count too, so the work is bounded, not only the result.
        let mut scanned = 0usize;
        for condition in conditions {
            let mut found = BTreeSet::new();
            for alternative in &condition.alternatives {
                let mut met: Option<BTreeSet<u64>> = None;
                for group in alternative {
                    let seqs = self.seqs_with_any(resource_type, &condition.code, group, &mut scanned)?;
                    met = Some(match met {
                        Some(earlier) => earlier.intersection(&seqs).copied().collect(),
                        None => seqs,
                    });
                }
                found.extend(met.unwrap_or_default());
                if found.len() > MAX_CANDIDATES {
                    return Err(SearchError::TooCostly(condition.code.clone()));
                }
            }
            result = Some(match result {
                Some(earlier) => earlier.intersection(&found).copied().collect(),
                None => found,
            });
        }
        Ok(result.unwrap_or_default().into_iter().rev().collect())
    }

    /// The seqs of the current Patients that carry the identifier `system|value`.
    pub fn patients_with_identifier(&self, system: &str, value: &str) -> Result<Vec<u64>, SearchError> {
        let condition = TermCondition {
            code: "identifier".into(),
            alternatives: vec![vec![vec![format!("tsc|{system}|{value}")]]],
        };
        self.search_index("Patient", &[condition], None)
    }

    /// The seqs of the current versions that have any of `terms` for `code`.
    fn seqs_with_any(
        &self,
        resource_type: &str,
        code: &str,
        terms: &[String],
        scanned: &mut usize,
    ) -> Result<BTreeSet<u64>, SearchError> {
        let mut found = BTreeSet::new();
        for term in terms {
            *scanned += 1;
            if *scanned > MAX_SCANNED {
                return Err(SearchError::TooCostly(code.to_owned()));
            }
            for entry in self.index.search_term(&self.term_key(resource_type, code, term)) {
                let (resource, version) = entry?;
                *scanned += 1;
                if *scanned > MAX_SCANNED {
                    return Err(SearchError::TooCostly(code.to_owned()));
                }
                let Some(latest) = self.index.latest(&resource)? else { continue };
                if latest.version == version && !latest.deleted {
                    found.insert(latest.seq);
                }
                if found.len() > MAX_CANDIDATES {
                    return Err(SearchError::TooCostly(code.to_owned()));
                }
            }
        }
        Ok(found)
    }
}
