//! Validation issues and their rendering as a FHIR `OperationOutcome`.

use crate::generated::{OperationOutcome, OperationOutcomeIssue};
use crate::primitive::Primitive;

/// How bad an issue is (`OperationOutcome.issue.severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The resource is not valid.
    Error,
    /// The resource is valid, but something deserves attention.
    Warning,
    /// For information only (what a request did or did not do).
    Information,
}

impl Severity {
    /// The FHIR code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Information => "information",
        }
    }
}

/// What kind of issue (`OperationOutcome.issue.code`, from the IssueType code system).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueType {
    /// Not well-formed or not matching the structure (unknown elements, wrong JSON types).
    Structure,
    /// A required element is missing.
    Required,
    /// A value does not match its type's format.
    Value,
    /// A code is not in the value set of a required binding.
    CodeInvalid,
    /// An invariant does not hold.
    Invariant,
    /// Any other problem with the content.
    Invalid,
    /// A referenced resource or entry does not exist.
    NotFound,
    /// The request is understood but not supported.
    NotSupported,
    /// The resource is deleted.
    Deleted,
    /// An unexpected internal error.
    Exception,
    /// The caller may not do this (no grant, no consent).
    Forbidden,
    /// A security problem: content that fails its integrity checks.
    Security,
    /// A service this depends on is not available now; trying later may work.
    Transient,
    /// Content too long (a body over the size limit).
    TooLong,
    /// Too many requests: a rate limit.
    Throttled,
    /// For information only.
    Informational,
    /// The content conflicts with the server's state (a version precondition, a concurrent write).
    Conflict,
    /// An operation that would cost too much (a search that would decrypt too many records).
    TooCostly,
}

impl IssueType {
    /// The FHIR code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Structure => "structure",
            Self::Required => "required",
            Self::Value => "value",
            Self::CodeInvalid => "code-invalid",
            Self::Invariant => "invariant",
            Self::Invalid => "invalid",
            Self::NotFound => "not-found",
            Self::NotSupported => "not-supported",
            Self::Deleted => "deleted",
            Self::Exception => "exception",
            Self::Forbidden => "forbidden",
            Self::Security => "security",
            Self::Transient => "transient",
            Self::TooLong => "too-long",
            Self::Throttled => "throttled",
            Self::Informational => "informational",
            Self::Conflict => "conflict",
            Self::TooCostly => "too-costly",
        }
    }
}

/// One problem found in a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationIssue {
    /// How bad it is.
    pub severity: Severity,
    /// What kind of problem.
    pub code: IssueType,
    /// FHIRPath-like location (`Patient.contact[0].name.family`).
    pub path: String,
    /// What is wrong; never contains values from the resource.
    pub message: String,
}

impl std::fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl ValidationIssue {
    /// This issue as an `OperationOutcome.issue`.
    pub fn to_outcome_issue(&self) -> OperationOutcomeIssue {
        OperationOutcomeIssue {
            severity: Some(Primitive::new(self.severity.code().to_owned())),
            code: Some(Primitive::new(self.code.code().to_owned())),
            diagnostics: Some(Primitive::new(self.message.clone())),
            expression: vec![Primitive::new(self.path.clone())],
            ..OperationOutcomeIssue::default()
        }
    }
}

/// An `OperationOutcome` of one error at `path`.
pub fn error_outcome(code: IssueType, path: impl Into<String>, message: impl Into<String>) -> OperationOutcome {
    let issue = ValidationIssue { severity: Severity::Error, code, path: path.into(), message: message.into() };
    to_operation_outcome(std::slice::from_ref(&issue))
}

/// An `OperationOutcome` listing `issues`.
pub fn to_operation_outcome(issues: &[ValidationIssue]) -> OperationOutcome {
    OperationOutcome {
        issue: issues.iter().map(ValidationIssue::to_outcome_issue).collect(),
        ..OperationOutcome::default()
    }
}
