//! Checks that span a resource and its contained resources:
//! - `dom-3`: every contained resource is referenced by `#` and its id from elsewhere in the
//!   resource (its container or another contained resource), or itself refers to the container
//!   with `#`; so a contained resource without an id must do the latter;
//! - `ref-1`: a local reference (`Reference.reference` of `#id`) names a contained resource.
//!
//! The [`Validator`](super::Validator) opens a scope for each resource that is not itself
//! contained, notes the local references it meets while walking the resource (`Reference.reference`,
//! and `canonical`, `uri` and `url` values, which dom-3 counts too), and checks them when it leaves
//! the resource: references may come before or after the contained resources they name.

use std::collections::HashSet;

use super::{IssueType, Severity, ValidationIssue};
use crate::generated::Resource;

/// One local reference met while walking a scope.
#[derive(Debug)]
struct LocalReference {
    /// The text after `#` (empty for a reference to the container).
    target: String,
    /// Where it was met.
    path: String,
    /// The contained resource it was met in, if any (by index into `contained`).
    in_contained: Option<usize>,
    /// Whether it is a `Reference.reference`, which ref-1 constrains (a `uri` of `#x` is not).
    is_reference: bool,
}

/// A resource that is not itself contained, with what dom-3 and ref-1 need of it.
#[derive(Debug)]
pub(crate) struct Scope {
    path: String,
    contained_ids: Vec<Option<String>>,
    references: Vec<LocalReference>,
}

impl Scope {
    /// A scope for `resource`, validated at `path`.
    pub(crate) fn new(path: &str, resource: &Resource) -> Self {
        let contained_ids = resource.contained().iter().map(|c| c.id().map(str::to_owned)).collect();
        Self { path: path.to_owned(), contained_ids, references: Vec::new() }
    }

    /// Notes a local reference: `target` is the text after `#`, met at `path`.
    pub(crate) fn note(&mut self, target: &str, path: String, in_contained: Option<usize>, is_reference: bool) {
        self.references.push(LocalReference { target: target.to_owned(), path, in_contained, is_reference });
    }

    /// The dom-3 and ref-1 issues of the whole scope.
    pub(crate) fn finish(self) -> Vec<ValidationIssue> {
        let issue = |path: String, message: &str| ValidationIssue {
            severity: Severity::Error,
            code: IssueType::Invariant,
            path,
            message: message.to_owned(),
        };
        let mut issues = Vec::new();
        let ids: HashSet<&str> = self.contained_ids.iter().flatten().map(String::as_str).collect();
        for reference in self.references.iter().filter(|r| r.is_reference && !r.target.is_empty()) {
            if !ids.contains(reference.target.as_str()) {
                issues.push(issue(
                    reference.path.clone(),
                    "ref-1: a local reference ('#' and an id) shall name a contained resource of this resource",
                ));
            }
        }
        let targets: HashSet<&str> = self.references.iter().map(|r| r.target.as_str()).collect();
        for (index, id) in self.contained_ids.iter().enumerate() {
            let refers_to_container =
                self.references.iter().any(|r| r.in_contained == Some(index) && r.target.is_empty());
            let referenced = id.as_deref().is_some_and(|id| targets.contains(id));
            if referenced || refers_to_container {
                continue;
            }
            let message = if id.is_some() {
                "dom-3: a contained resource shall be referenced from elsewhere in the resource \
                 ('#' and its id), or refer to the containing resource ('#')"
            } else {
                "dom-3: a contained resource without an id cannot be referenced from the resource, \
                 and does not refer to the containing resource ('#')"
            };
            issues.push(issue(format!("{}.contained[{index}]", self.path), message));
        }
        issues
    }
}
