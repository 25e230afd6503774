//! Validation derived from the FHIR R4 definitions.
//!
//! The generated `Validate` impl of each type checks, for each element:
//! - cardinality (`min`; `max` is enforced by the type: a second value cannot be represented),
//! - primitive formats (the regexes of the R4 primitive types, see [`format`]),
//! - required bindings, against the value sets expanded from the spec's code systems
//!   ([`ValueSet`]; the few that cannot be expanded are listed in
//!   [`crate::valuesets::NOT_CHECKED`]),
//! - reference target types (`Observation.subject` may reference `Patient`, `Group`, `Device`,
//!   `Location`, not `Practitioner`),
//!
//! and these invariants:
//! - `ele-1` every element has a value or children (empty primitives; empty objects and arrays
//!   are rejected when decoding),
//! - `ext-1` an extension has either nested extensions or a value, not both,
//! - `dom-2`, `dom-4`, `dom-5` contained resources contain nothing, carry no `meta.versionId`,
//!   `meta.lastUpdated` or `meta.security`,
//! - `dom-3` every contained resource is referenced from elsewhere in its resource by `#id`, or
//!   refers to its container by `#` (so one without an id must do the latter), and `ref-1` every
//!   local reference `#id` names a contained resource (see `scope.rs`),
//! - `bdl-3`, `bdl-4` entries of batch, transaction and history Bundles have a `request`, those
//!   of their responses and history a `response`, and no others have either,
//! - `bdl-7` `fullUrl` is unique in a Bundle unless the entries' `meta.versionId` differ (not
//!   checked in history Bundles),
//! - `bdl-11`, `bdl-12` a document Bundle begins with a Composition, a message with a
//!   MessageHeader,
//! - `per-1` a period's start is not after its end (when both have the same precision),
//! - `pat-1` a patient contact has a name, telecom, address or organization,
//! - `obs-6` an observation has no `dataAbsentReason` when it has a value.
//!
//! Other FHIRPath invariants need a FHIRPath engine and are not checked.
//! Issues are located with FHIRPath-like paths (`Patient.contact[0].name.family`; choice elements
//! by their JSON name, `Observation.valueQuantity`). Messages never contain values from the
//! resource: they may be patient data.

pub mod format;
pub(crate) mod invariants;
pub(crate) mod outcome;
mod reference;
mod scope;

pub use format::{is_fhir_id, is_relative_reference, PrimitiveKind};
pub use outcome::{error_outcome, to_operation_outcome, IssueType, Severity, ValidationIssue};

use crate::codec::{PrimitiveValue, MAX_RESOURCE_DEPTH};
use crate::generated::{CodeableConcept, Coding, Reference, Resource};
use crate::primitive::Primitive;

/// A type that can check itself against the R4 definitions.
pub trait Validate {
    /// Checks `self`, reporting issues to `v` at `v`'s current path.
    fn validate(&self, v: &mut Validator);
}

/// The codes of one code system in a value set, sorted for binary search.
#[derive(Debug)]
pub struct SystemCodes {
    /// Code system URL.
    pub system: &'static str,
    /// Codes, sorted by byte order.
    pub codes: &'static [&'static str],
}

/// A value set of a required binding, expanded to its codes.
#[derive(Debug)]
pub struct ValueSet {
    /// Canonical URL of the value set.
    pub url: &'static str,
    /// The included codes, per code system.
    pub systems: &'static [SystemCodes],
}

impl ValueSet {
    /// Whether `code` is in the value set under any system (for `code` elements, whose system is
    /// implied by the binding).
    pub fn contains_code(&self, code: &str) -> bool {
        self.systems.iter().any(|s| s.codes.binary_search(&code).is_ok())
    }

    /// Whether `code` of `system` is in the value set.
    pub fn contains(&self, system: &str, code: &str) -> bool {
        self.systems.iter().any(|s| s.system == system && s.codes.binary_search(&code).is_ok())
    }
}

/// Collects validation issues while walking a resource, tracking the current path.
#[derive(Debug)]
pub struct Validator {
    path: String,
    issues: Vec<ValidationIssue>,
    // How many resources enclose the element being validated (see `resource`).
    resource_depth: u32,
    // One per enclosing resource that is not contained, innermost last (dom-3, ref-1).
    scopes: Vec<scope::Scope>,
    // The index of the contained resource being walked in the innermost scope, if any.
    in_contained: Option<usize>,
    // Set by `contained` for the `resource` call that follows: the resource is contained.
    pending_contained: Option<usize>,
}

impl Validator {
    /// A validator whose paths start at `root` (a resource type name, e.g. `Patient`).
    pub fn new(root: &str) -> Self {
        Self {
            path: root.to_owned(),
            issues: Vec::new(),
            resource_depth: 0,
            scopes: Vec::new(),
            in_contained: None,
            pending_contained: None,
        }
    }

    /// The issues found so far.
    pub fn issues(&self) -> &[ValidationIssue] {
        &self.issues
    }

    /// Consumes the validator, giving its issues.
    pub fn into_issues(self) -> Vec<ValidationIssue> {
        self.issues
    }

    /// The current path.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn enter(&mut self, name: &str) -> usize {
        let mark = self.path.len();
        self.path.push('.');
        self.path.push_str(name);
        mark
    }

    fn enter_index(&mut self, name: &str, index: usize) -> usize {
        use std::fmt::Write;
        let mark = self.enter(name);
        let _ = write!(self.path, "[{index}]");
        mark
    }

    fn leave(&mut self, mark: usize) {
        self.path.truncate(mark);
    }

    /// Reports an issue at the current path.
    pub fn report(&mut self, code: IssueType, message: impl Into<String>) {
        self.issues.push(ValidationIssue {
            severity: Severity::Error,
            code,
            path: self.path.clone(),
            message: message.into(),
        });
    }

    /// Reports an issue at the member `name` of the current element.
    pub fn report_at(&mut self, name: &str, code: IssueType, message: impl Into<String>) {
        let mark = self.enter(name);
        self.report(code, message);
        self.leave(mark);
    }

    /// A required element (`min` ≥ 1) must be present.
    pub fn required(&mut self, present: bool, name: &str) {
        if !present {
            self.report_at(name, IssueType::Required, "missing required element");
        }
    }

    /// A plain string (`id`, `Extension.url`).
    pub fn plain(&mut self, value: &Option<String>, name: &str, kind: PrimitiveKind) {
        if let Some(v) = value {
            if let Err(reason) = format::check(kind, v) {
                self.report_at(name, IssueType::Value, reason);
            }
        }
    }

    /// An array of plain strings.
    pub fn plains(&mut self, values: &[String], name: &str, kind: PrimitiveKind) {
        for (i, v) in values.iter().enumerate() {
            if let Err(reason) = format::check(kind, v) {
                let mark = self.enter_index(name, i);
                self.report(IssueType::Value, reason);
                self.leave(mark);
            }
        }
    }

    /// A single primitive.
    pub fn prim<T: PrimitiveValue>(&mut self, value: &Option<Primitive<T>>, name: &str, kind: PrimitiveKind) {
        if let Some(p) = value {
            self.prim_member(p, name, kind);
        }
    }

    /// One primitive (also a primitive type of a choice element).
    pub fn prim_member<T: PrimitiveValue>(&mut self, p: &Primitive<T>, name: &str, kind: PrimitiveKind) {
        let mark = self.enter(name);
        self.check_primitive(p, kind);
        self.leave(mark);
    }

    fn check_primitive<T: PrimitiveValue>(&mut self, p: &Primitive<T>, kind: PrimitiveKind) {
        match &p.value {
            Some(v) => {
                if let Err(reason) = v.check(kind) {
                    self.report(IssueType::Value, reason);
                }
                // dom-3 counts canonical, uri and url values of '#id' as references too.
                if matches!(kind, PrimitiveKind::Canonical | PrimitiveKind::Uri | PrimitiveKind::Url) {
                    if let Some(target) = v.as_text().and_then(|t| t.strip_prefix('#')) {
                        self.note_local_reference(target, None, false);
                    }
                }
            }
            None if p.extension.is_none() => {
                self.report(IssueType::Invariant, "ele-1: a primitive element must have a value or extensions");
            }
            None => {}
        }
        if let Some(x) = &p.extension {
            self.plain(&x.id, "id", PrimitiveKind::String);
            self.many(&x.extension, "extension");
        }
    }

    /// A primitive array.
    pub fn prims<T: PrimitiveValue>(&mut self, values: &[Primitive<T>], name: &str, kind: PrimitiveKind) {
        for (i, p) in values.iter().enumerate() {
            let mark = self.enter_index(name, i);
            self.check_primitive(p, kind);
            self.leave(mark);
        }
    }

    /// A single primitive with a required binding.
    pub fn bound_prim(&mut self, value: &Option<Primitive<String>>, name: &str, kind: PrimitiveKind, vs: &ValueSet) {
        self.prim(value, name, kind);
        if let Some(code) = value.as_ref().and_then(|p| p.value.as_deref()) {
            if !vs.contains_code(code) {
                self.report_at(name, IssueType::CodeInvalid, not_in_value_set(vs));
            }
        }
    }

    /// A primitive array with a required binding.
    pub fn bound_prims(&mut self, values: &[Primitive<String>], name: &str, kind: PrimitiveKind, vs: &ValueSet) {
        self.prims(values, name, kind);
        for (i, p) in values.iter().enumerate() {
            if let Some(code) = p.value.as_deref() {
                if !vs.contains_code(code) {
                    let mark = self.enter_index(name, i);
                    self.report(IssueType::CodeInvalid, not_in_value_set(vs));
                    self.leave(mark);
                }
            }
        }
    }

    /// A single complex element.
    pub fn boxed<T: Validate>(&mut self, value: &Option<Box<T>>, name: &str) {
        if let Some(v) = value {
            self.member(v.as_ref(), name);
        }
    }

    /// A single element held inline.
    pub fn single<T: Validate>(&mut self, value: &Option<T>, name: &str) {
        if let Some(v) = value {
            self.member(v, name);
        }
    }

    /// One complex member.
    pub fn member<T: Validate + ?Sized>(&mut self, value: &T, name: &str) {
        let mark = self.enter(name);
        value.validate(self);
        self.leave(mark);
    }

    /// A repeating complex element.
    pub fn many<T: Validate>(&mut self, values: &[T], name: &str) {
        for (i, v) in values.iter().enumerate() {
            let mark = self.enter_index(name, i);
            v.validate(self);
            self.leave(mark);
        }
    }

    /// A Coding with a required binding.
    pub fn coding(&mut self, value: &Option<Box<Coding>>, name: &str, vs: &ValueSet) {
        if let Some(c) = value {
            self.member(c.as_ref(), name);
            if !coding_in(c, vs) {
                self.report_at(name, IssueType::CodeInvalid, not_in_value_set(vs));
            }
        }
    }

    /// Codings with a required binding.
    pub fn codings(&mut self, values: &[Coding], name: &str, vs: &ValueSet) {
        self.many(values, name);
        for (i, c) in values.iter().enumerate() {
            if !coding_in(c, vs) {
                let mark = self.enter_index(name, i);
                self.report(IssueType::CodeInvalid, not_in_value_set(vs));
                self.leave(mark);
            }
        }
    }

    /// A CodeableConcept with a required binding: one of its codings must be in the value set.
    pub fn concept(&mut self, value: &Option<Box<CodeableConcept>>, name: &str, vs: &ValueSet) {
        if let Some(c) = value {
            self.member(c.as_ref(), name);
            if !c.coding.iter().any(|coding| coding_in(coding, vs)) {
                self.report_at(name, IssueType::CodeInvalid, not_in_value_set(vs));
            }
        }
    }

    /// CodeableConcepts with a required binding.
    pub fn concepts(&mut self, values: &[CodeableConcept], name: &str, vs: &ValueSet) {
        self.many(values, name);
        for (i, c) in values.iter().enumerate() {
            if !c.coding.iter().any(|coding| coding_in(coding, vs)) {
                let mark = self.enter_index(name, i);
                self.report(IssueType::CodeInvalid, not_in_value_set(vs));
                self.leave(mark);
            }
        }
    }

    /// A single Reference with its allowed target types.
    pub fn reference(&mut self, value: &Option<Box<Reference>>, name: &str, targets: &[&str]) {
        if let Some(r) = value {
            self.reference_member(r, name, targets);
        }
    }

    /// References with their allowed target types.
    pub fn references(&mut self, values: &[Reference], name: &str, targets: &[&str]) {
        for (i, r) in values.iter().enumerate() {
            let mark = self.enter_index(name, i);
            r.validate(self);
            reference::check_target(self, r, targets);
            self.leave(mark);
        }
    }

    /// One Reference (also the Reference type of a choice element).
    pub fn reference_member(&mut self, value: &Reference, name: &str, targets: &[&str]) {
        let mark = self.enter(name);
        value.validate(self);
        reference::check_target(self, value, targets);
        self.leave(mark);
    }

    /// A resource, wherever it occurs (the root, a Bundle entry, a contained resource).
    ///
    /// Resource nesting is bounded here as when decoding ([`MAX_RESOURCE_DEPTH`]): a decoded
    /// resource never exceeds it, but one built in code may, and the walk must not overflow the
    /// stack on it.
    pub fn resource(&mut self, resource: &Resource) {
        if self.resource_depth >= MAX_RESOURCE_DEPTH {
            self.report(IssueType::Structure, format!("resources nest deeper than {MAX_RESOURCE_DEPTH}"));
            return;
        }
        self.resource_depth += 1;
        match self.pending_contained.take() {
            // A contained resource belongs to its container's scope.
            Some(index) => {
                let outer = self.in_contained.replace(index);
                resource.validate_elements(self);
                self.in_contained = outer;
            }
            None => {
                let outer = self.in_contained.take();
                self.scopes.push(scope::Scope::new(&self.path, resource));
                resource.validate_elements(self);
                if let Some(scope) = self.scopes.pop() {
                    self.issues.extend(scope.finish());
                }
                self.in_contained = outer;
            }
        }
        self.resource_depth -= 1;
    }

    /// Notes a local reference (`#` and `target`) met at the member `name` of the current element,
    /// for the dom-3 and ref-1 checks of the enclosing resource (see [`Validator::resource`]).
    pub(crate) fn note_local_reference(&mut self, target: &str, name: Option<&str>, is_reference: bool) {
        let path = match name {
            Some(name) => format!("{}.{name}", self.path),
            None => self.path.clone(),
        };
        let in_contained = self.in_contained;
        if let Some(scope) = self.scopes.last_mut() {
            scope.note(target, path, in_contained, is_reference);
        }
    }

    /// Contained resources, with the invariants on them (dom-2, dom-4, dom-5).
    pub fn contained(&mut self, values: &[Resource]) {
        for (i, r) in values.iter().enumerate() {
            let mark = self.enter_index("contained", i);
            // Contained resources share their container's scope; those nested in a contained
            // resource (already a dom-2 error) get their own.
            if self.in_contained.is_none() && !self.scopes.is_empty() {
                self.pending_contained = Some(i);
            }
            r.validate(self);
            invariants::contained(r, self);
            self.leave(mark);
        }
    }
}

fn coding_in(c: &Coding, vs: &ValueSet) -> bool {
    match (c.system.as_ref().and_then(|s| s.value.as_deref()), c.code.as_ref().and_then(|c| c.value.as_deref())) {
        (Some(system), Some(code)) => vs.contains(system, code),
        (None, Some(code)) => vs.contains_code(code),
        // A coding with no code (display or extensions only) says nothing against the binding.
        (_, None) => true,
    }
}

fn not_in_value_set(vs: &ValueSet) -> String {
    format!("code is not in the required value set {}", vs.url)
}
