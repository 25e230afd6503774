//! The cross-institution search, on `GET /fhir/{type}` and in `fhir-bridge search`: `patient`
//! (a logical id here), or the patient's shared identifier (`patient.identifier=system|value`,
//! `subject:Patient.identifier=`: institutions do not share logical ids, so each custodian
//! resolves it through its own index), `_lastUpdated` (with the prefixes `eq ge gt le lt`,
//! repeatable), `_count` and `_offset`. Anything else is refused with the parameter's name, so a
//! search never silently ignores a filter the caller relies on.

pub mod run;
pub mod time;

use time::TimeRange;

/// Most entries in one page.
pub const MAX_COUNT: usize = 1000;
/// Entries in a page when `_count` is absent.
pub const DEFAULT_COUNT: usize = 100;

/// A search that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// A parameter the bridge does not support.
    #[error("search parameter `{0}` is not supported (supported: patient, _lastUpdated, _count, _offset)")]
    Unsupported(String),
    /// A parameter with a value that does not parse.
    #[error("search parameter `{0}` has an invalid value")]
    Invalid(&'static str),
    /// `patient` is missing.
    #[error("a search needs `patient`: records are found through the patient they belong to")]
    NoPatient,
    /// `patient=a,b`: FHIR reads a comma as OR; a search here is of one patient.
    #[error("search parameter `{0}` lists several values (OR); search one patient at a time")]
    Or(&'static str),
    /// `patient=a&patient=b` (or `subject=`): FHIR reads repeats as AND, and no record belongs to
    /// two patients; or `_count`/`_offset` given twice.
    #[error("search parameter `{0}` is repeated with another value")]
    Repeated(&'static str),
}

/// A comparison of `_lastUpdated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastUpdated {
    prefix: Prefix,
    range: TimeRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

impl LastUpdated {
    /// Parses `[prefix]instant` (`ge2026-01-01`); `None` when it is neither.
    pub fn parse(text: &str) -> Option<LastUpdated> {
        let (prefix, value) = match text.get(..2) {
            Some("eq") => (Prefix::Eq, &text[2..]),
            Some("ge") => (Prefix::Ge, &text[2..]),
            Some("gt") => (Prefix::Gt, &text[2..]),
            Some("le") => (Prefix::Le, &text[2..]),
            Some("lt") => (Prefix::Lt, &text[2..]),
            _ => (Prefix::Eq, text),
        };
        Some(LastUpdated { prefix, range: time::parse(value)? })
    }

    /// Whether a record accepted at `time_ms` matches.
    pub fn matches(&self, time_ms: u64) -> bool {
        let t = i64::try_from(time_ms).unwrap_or(i64::MAX);
        let TimeRange { start_ms, end_ms } = self.range;
        match self.prefix {
            Prefix::Eq => start_ms <= t && t < end_ms,
            Prefix::Ge => t >= start_ms,
            Prefix::Gt => t >= end_ms,
            Prefix::Le => t < end_ms,
            Prefix::Lt => t < start_ms,
        }
    }
}

/// A parsed search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The patient's logical id (`patient=p1` or `patient=Patient/p1`); empty when the patient is
    /// named by `identifier`.
    pub patient: String,
    /// The patient's identifier (system, value), for `patient.identifier=system|value`.
    pub identifier: Option<(String, String)>,
    /// `_lastUpdated` comparisons, all of which must match.
    pub last_updated: Vec<LastUpdated>,
    /// Page size.
    pub count: usize,
    /// Entries to skip.
    pub offset: usize,
}

impl SearchQuery {
    /// Parses the query's name/value pairs.
    pub fn parse(pairs: &[(String, String)]) -> Result<SearchQuery, SearchError> {
        let mut patient = None;
        let mut identifier: Option<(String, String)> = None;
        let mut last_updated = Vec::new();
        let mut count = DEFAULT_COUNT;
        let mut offset = 0;
        let (mut count_given, mut offset_given) = (None, None);
        for (name, value) in pairs {
            match name.as_str() {
                "patient" | "subject" => {
                    if value.contains(',') {
                        return Err(SearchError::Or("patient"));
                    }
                    let id = value.strip_prefix("Patient/").unwrap_or(value);
                    if id.is_empty() || id.contains('/') {
                        return Err(SearchError::Invalid("patient"));
                    }
                    // Repeats are AND: the same patient again is harmless, another matches nothing,
                    // which a caller relying on either value would not expect: refused.
                    if patient.as_deref().is_some_and(|known| known != id) {
                        return Err(SearchError::Repeated("patient"));
                    }
                    patient = Some(id.to_owned());
                }
                "patient.identifier" | "patient:Patient.identifier" | "subject:Patient.identifier" => {
                    if value.contains(',') {
                        return Err(SearchError::Or("patient.identifier"));
                    }
                    // A value alone (an MRN without its assigning authority) names nobody across
                    // institutions: the system is required.
                    let (system, id_value) = value
                        .split_once('|')
                        .filter(|(s, v)| !s.is_empty() && !v.is_empty() && !v.contains('|') && !value.contains('\\'))
                        .ok_or(SearchError::Invalid("patient.identifier"))?;
                    let given = (system.to_owned(), id_value.to_owned());
                    if identifier.as_ref().is_some_and(|known| *known != given) {
                        return Err(SearchError::Repeated("patient.identifier"));
                    }
                    identifier = Some(given);
                }
                "_lastUpdated" => {
                    if value.contains(',') {
                        return Err(SearchError::Or("_lastUpdated"));
                    }
                    last_updated.push(LastUpdated::parse(value).ok_or(SearchError::Invalid("_lastUpdated"))?)
                }
                "_count" => {
                    if count_given.replace(value).is_some_and(|earlier| earlier != value) {
                        return Err(SearchError::Repeated("_count"));
                    }
                    count = value.parse::<usize>().map_err(|_| SearchError::Invalid("_count"))?.min(MAX_COUNT);
                }
                "_offset" => {
                    if offset_given.replace(value).is_some_and(|earlier| earlier != value) {
                        return Err(SearchError::Repeated("_offset"));
                    }
                    offset = value.parse().map_err(|_| SearchError::Invalid("_offset"))?
                }
                "_format" if value.contains("json") => {}
                other => return Err(SearchError::Unsupported(other.to_owned())),
            }
        }
        let patient = match (patient, &identifier) {
            (Some(_), Some(_)) => return Err(SearchError::Repeated("patient")),
            (None, None) => return Err(SearchError::NoPatient),
            (patient, _) => patient.unwrap_or_default(),
        };
        Ok(SearchQuery { patient, identifier, last_updated, count, offset })
    }

    /// Whether a record accepted at `time_ms` passes the `_lastUpdated` filters.
    pub fn matches_time(&self, time_ms: u64) -> bool {
        self.last_updated.iter().all(|filter| filter.matches(time_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::{SearchError, SearchQuery, DEFAULT_COUNT, MAX_COUNT};

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn parses_patient_count_and_last_updated() {
        let query = SearchQuery::parse(&pairs(&[
            ("patient", "Patient/p1"),
            ("_lastUpdated", "ge2026-01-01"),
            ("_lastUpdated", "lt2026-02"),
            ("_count", "5000"),
        ]))
        .expect("valid");
        assert_eq!((query.patient.as_str(), query.count, query.offset), ("p1", MAX_COUNT, 0));
        let jan_15 = 1_768_435_200_000; // 2026-01-15T00:00:00Z
        let feb_15 = 1_771_113_600_000;
        let dec_31 = 1_767_139_200_000; // 2025-12-31
        assert!(query.matches_time(jan_15));
        assert!(!query.matches_time(feb_15));
        assert!(!query.matches_time(dec_31));
        assert_eq!(SearchQuery::parse(&pairs(&[("patient", "p2")])).expect("valid").count, DEFAULT_COUNT);
    }

    #[test]
    fn refuses_what_it_would_otherwise_ignore() {
        assert_eq!(SearchQuery::parse(&pairs(&[])), Err(SearchError::NoPatient));
        assert_eq!(
            SearchQuery::parse(&pairs(&[("patient", "p1"), ("code", "1234-5")])),
            Err(SearchError::Unsupported("code".into()))
        );
        assert_eq!(
            SearchQuery::parse(&pairs(&[("patient", "p1"), ("_lastUpdated", "ge2026-13")])),
            Err(SearchError::Invalid("_lastUpdated"))
        );
        assert_eq!(SearchQuery::parse(&pairs(&[("patient", "Group/g")])), Err(SearchError::Invalid("patient")));
    }

    #[test]
    fn repeats_are_and_and_commas_are_or_as_fhir_reads_them() {
        assert_eq!(
            SearchQuery::parse(&pairs(&[("patient", "a"), ("patient", "b")])),
            Err(SearchError::Repeated("patient"))
        );
        assert_eq!(
            SearchQuery::parse(&pairs(&[("patient", "a"), ("subject", "b")])),
            Err(SearchError::Repeated("patient"))
        );
        assert_eq!(SearchQuery::parse(&pairs(&[("patient", "a,b")])), Err(SearchError::Or("patient")));
        assert_eq!(
            SearchQuery::parse(&pairs(&[("patient", "a"), ("_count", "1"), ("_count", "2")])),
            Err(SearchError::Repeated("_count"))
        );
        assert_eq!(
            SearchQuery::parse(&pairs(&[("patient", "p1"), ("_lastUpdated", "ge2026-01-01,lt2026-02")])),
            Err(SearchError::Or("_lastUpdated"))
        );
        // The same patient twice is the same search.
        let same = SearchQuery::parse(&pairs(&[("patient", "a"), ("subject", "Patient/a")])).expect("valid");
        assert_eq!(same.patient, "a");
    }
}
