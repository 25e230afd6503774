//! Chained reference parameters (`Observation?subject:Patient.identifier=urn:mrn|123`,
//! `Observation?patient.name=smi`): the chained parameter is searched on the target type through
//! the same blind index, and the matches become the reference terms of the first parameter. One
//! level only; a chain that matches more than [`MAX_CHAINED`] targets is refused (`too-costly`),
//! never cut short. The caller needs the search scope of every target type.

use fhir_models::search::{query_groups, search_param, split_or, SearchKind};
use node_store::search::{SearchError, TermCondition};
use node_store::Node;

use crate::error::ApiError;

/// The most target resources one chain may resolve to (each is decrypted for its id).
pub const MAX_CHAINED: usize = 1000;

/// One chained parameter: its reference parameter and, per target type, the condition on it.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The reference parameter's code (`subject`).
    pub code: String,
    /// The target types and what their chained parameter must meet.
    pub targets: Vec<(&'static str, TermCondition)>,
}

/// Parses `name=value` when `name` is a chain (`subject:Patient.identifier`, `patient.name`);
/// `None` when it is no chain. `terms` counts the index lookups the search will make.
pub fn parse(resource_type: &str, name: &str, value: &str, terms: &mut usize) -> Option<Result<Chain, ApiError>> {
    let (head, tail) = name.split_once('.')?;
    Some(parse_chain(resource_type, head, tail, value, terms))
}

fn parse_chain(resource_type: &str, head: &str, tail: &str, value: &str, terms: &mut usize) -> Result<Chain, ApiError> {
    if tail.contains('.') {
        return Err(ApiError::NotSupported(format!("{head}.{tail}: chains of more than one level are not offered")));
    }
    let (code, only_type) = match head.split_once(':') {
        Some((code, ty)) => (code, Some(ty)),
        None => (head, None),
    };
    let param = search_param(resource_type, code)
        .filter(|p| p.kind == SearchKind::Reference && p.is_searched())
        .ok_or_else(|| ApiError::BadRequest(format!("{code} is not a reference parameter of {resource_type}")))?;
    let (chained, modifier) = match tail.split_once(':') {
        Some((chained, modifier)) => (chained, Some(modifier)),
        None => (tail, None),
    };
    let candidates: Vec<&'static str> = match only_type {
        Some(ty) => {
            let found = param.targets.iter().copied().find(|t| *t == ty);
            vec![found.ok_or_else(|| ApiError::BadRequest(format!("{code} does not refer to {ty}")))?]
        }
        None => param.targets.to_vec(),
    };
    let mut targets = Vec::new();
    for target in candidates {
        // A target type without the chained parameter cannot match through it.
        let Some(chained_param) = search_param(target, chained).filter(|p| p.is_searched()) else { continue };
        let exact = match modifier {
            None => false,
            Some("exact") if chained_param.kind == SearchKind::String => true,
            Some(other) => {
                return Err(ApiError::NotSupported(format!("the :{other} modifier (on {head}.{tail}) is not offered")))
            }
        };
        let mut alternatives = Vec::new();
        for alternative in split_or(value) {
            let groups = query_groups(chained_param, &alternative, exact).map_err(|e| ApiError::BadRequest(e.0))?;
            *terms += groups.iter().map(Vec::len).sum::<usize>();
            alternatives.push(groups);
        }
        targets.push((target, TermCondition { code: chained.to_owned(), alternatives }));
    }
    if targets.is_empty() {
        return Err(ApiError::BadRequest(format!("no type {code} refers to has a searched parameter {chained}")));
    }
    Ok(Chain { code: code.to_owned(), targets })
}

/// The chain as a condition on its reference parameter: the `Type/id` of every target matched.
pub fn resolve(node: &Node, chain: &Chain) -> Result<TermCondition, SearchError> {
    let mut references = Vec::new();
    for (target, condition) in &chain.targets {
        let seqs = node.search_index(target, std::slice::from_ref(condition), None)?;
        if references.len() + seqs.len() > MAX_CHAINED {
            return Err(SearchError::TooCostly(format!("{}.{}", chain.code, condition.code)));
        }
        for seq in seqs {
            let record = node.record_at(seq)?;
            if let Some(id) = node.logical_id_of(seq, &record)? {
                references.push(format!("r|{target}/{id}"));
            }
        }
    }
    Ok(TermCondition { code: chain.code.clone(), alternatives: vec![vec![references]] })
}
