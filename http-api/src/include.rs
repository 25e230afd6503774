//! `_include` and `_revinclude` (one level, no `:iterate`, no `*`): the resources a page's
//! matches refer to by a reference parameter (`_include=Observation:subject[:Patient]`), and
//! those that refer to the matches (`_revinclude=Observation:subject`), as `include` entries.
//! Each is read, decrypted and audited as a match is; a resource of a type the caller may not read
//! is left out and the Bundle says how many were. More than [`MAX_INCLUDED`] for one page is
//! refused (`too-costly`), never cut short.

use fhir_models::search::{index_terms, search_param, SearchKind};
use node_store::records::ResourceVersion;
use node_store::search::{SearchError, TermCondition};
use node_store::Node;
use smart_auth::Principal;

use crate::error::ApiError;

/// The most resources one page may include.
pub const MAX_INCLUDED: usize = 1000;
/// The most `_include` and `_revinclude` values one search may have.
pub const MAX_INCLUDES: usize = 8;
/// The most matches a page with includes may have (each `_revinclude` is a search per match).
pub const MAX_PAGE_WITH_INCLUDES: usize = 100;

/// One `_include` or `_revinclude`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// The type whose reference parameter it follows (for `_include`, the searched type).
    pub source_type: &'static str,
    /// The reference parameter.
    code: &'static str,
    /// Only references to this type.
    target: Option<&'static str>,
    /// `_revinclude`: resources of `source_type` that refer to the matches.
    pub reverse: bool,
}

/// Parses `_include=Type:param[:target]` (`reverse`: `_revinclude`) of a search of `resource_type`.
pub fn parse(resource_type: &str, value: &str, reverse: bool) -> Result<Include, ApiError> {
    let name = if reverse { "_revinclude" } else { "_include" };
    let mut parts = value.split(':');
    let (Some(source), Some(code), target, None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(ApiError::BadRequest(format!("{name}={value}: expected Type:parameter[:targetType]")));
    };
    if code == "*" {
        return Err(ApiError::NotSupported(format!("{name}={value}: the * wildcard is not offered")));
    }
    let source_type = fhir_models::RESOURCE_TYPES
        .iter()
        .copied()
        .find(|t| *t == source)
        .ok_or_else(|| ApiError::BadRequest(format!("{name}: {source} is not an R4 resource type")))?;
    if !reverse && source_type != resource_type {
        return Err(ApiError::BadRequest(format!("_include={value}: this is a search of {resource_type}")));
    }
    let param = search_param(source_type, code)
        .filter(|p| p.kind == SearchKind::Reference && p.is_searched())
        .ok_or_else(|| ApiError::BadRequest(format!("{name}: {code} is not a reference parameter of {source}")))?;
    let target = match target {
        None => None,
        Some(ty) => Some(
            param
                .targets
                .iter()
                .copied()
                .find(|t| *t == ty)
                .ok_or_else(|| ApiError::BadRequest(format!("{name}: {source}.{code} does not refer to {ty}")))?,
        ),
    };
    if reverse && target.is_some_and(|t| t != resource_type) {
        return Err(ApiError::BadRequest(format!("_revinclude={value}: this is a search of {resource_type}")));
    }
    Ok(Include { source_type, code: param.code, target, reverse })
}

/// An entry: the version, its logical id, its JSON.
pub type Found = (ResourceVersion, String, Vec<u8>);

/// The included resources of a page, and how many were left out for want of a read scope.
pub fn gather(
    node: &Node,
    caller: &Principal,
    resource_type: &str,
    includes: &[Include],
    matches: &[Found],
) -> Result<(Vec<Found>, usize), SearchError> {
    let mut wanted: Vec<(String, String)> = Vec::new();
    let mut revealed: Vec<(&'static str, u64)> = Vec::new();
    for include in includes {
        let Some(param) = search_param(include.source_type, include.code) else { continue };
        if include.reverse {
            for (_, id, _) in matches {
                let condition = TermCondition {
                    code: include.code.to_owned(),
                    alternatives: vec![vec![vec![format!("r|{resource_type}/{id}")]]],
                };
                for seq in node.search_index(include.source_type, &[condition], None)? {
                    revealed.push((include.source_type, seq));
                }
                if revealed.len() > MAX_INCLUDED {
                    return Err(SearchError::TooCostly(format!("_revinclude ({MAX_INCLUDED} resources)")));
                }
            }
        } else {
            for (_, _, json) in matches {
                let Ok(resource) = serde_json::from_slice::<serde_json::Value>(json) else { continue };
                for term in index_terms(param, &resource) {
                    // Only this server's resources (a relative `Type/id`) can be included.
                    let Some((ty, id)) = term.strip_prefix("r|").and_then(|r| r.split_once('/')) else { continue };
                    if term.contains("://") || include.target.is_some_and(|t| t != ty) {
                        continue;
                    }
                    wanted.push((ty.to_owned(), id.to_owned()));
                }
            }
        }
        if wanted.len() + revealed.len() > MAX_INCLUDED {
            return Err(SearchError::TooCostly(format!("_include/_revinclude ({} resources)", MAX_INCLUDED)));
        }
    }
    let shown: std::collections::HashSet<(String, String)> =
        matches.iter().map(|(record, id, _)| (record.resource_type.clone(), id.clone())).collect();
    let mut seen = std::collections::HashSet::new();
    let (mut found, mut withheld) = (Vec::new(), 0usize);
    for (ty, id) in wanted {
        if shown.contains(&(ty.clone(), id.clone())) || !seen.insert((ty.clone(), id.clone())) {
            continue;
        }
        if caller.require_read(&ty).is_err() {
            withheld += 1;
            continue;
        }
        let Ok((seq, record)) = node.locate(&ty, &id, None) else { continue };
        if record.operation == node_store::records::Operation::Delete {
            continue;
        }
        let opened = node.open_record(seq, record)?;
        let json = fhir_models::to_json(&opened.resource()?);
        found.push((opened.record, id, json));
    }
    let mut seqs_seen = std::collections::HashSet::new();
    for (ty, seq) in revealed {
        if !seqs_seen.insert(seq) {
            continue;
        }
        if caller.require_read(ty).is_err() {
            withheld += 1;
            continue;
        }
        let record = node.record_at(seq)?;
        let opened = node.open_record(seq, record)?;
        let resource = opened.resource()?;
        let id = resource.id().unwrap_or_default().to_owned();
        if shown.contains(&(ty.to_owned(), id.clone())) {
            continue;
        }
        found.push((opened.record, id, fhir_models::to_json(&resource)));
    }
    Ok((found, withheld))
}
