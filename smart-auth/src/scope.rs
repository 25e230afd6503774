//! SMART scopes for backend services: `system/<Type|*>.<cruds>` (v2) and the v1 forms
//! `system/<Type|*>.read|write|*`, parsed into a resource type and a permission set.
//!
//! Only `system/` scopes exist here: a backend service acts for itself, never for a user or a
//! patient in context. v2 query refinements (`system/Observation.rs?category=...`) are refused
//! rather than silently widened to the whole type.

use std::fmt;

/// Longest scope string accepted (a resource type name is at most a few dozen characters).
const MAX_SCOPE_LEN: usize = 128;

/// A set of SMART v2 permissions: create, read, update, delete, search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions(u8);

impl Permissions {
    /// `c`: create.
    pub const CREATE: Permissions = Permissions(1);
    /// `r`: read one resource (and its versions).
    pub const READ: Permissions = Permissions(2);
    /// `u`: update.
    pub const UPDATE: Permissions = Permissions(4);
    /// `d`: delete.
    pub const DELETE: Permissions = Permissions(8);
    /// `s`: search.
    pub const SEARCH: Permissions = Permissions(16);
    /// No permission.
    pub const NONE: Permissions = Permissions(0);
    /// All five.
    pub const ALL: Permissions = Permissions(31);

    /// The letters in SMART's fixed order.
    const LETTERS: [(char, Permissions); 5] =
        [('c', Self::CREATE), ('r', Self::READ), ('u', Self::UPDATE), ('d', Self::DELETE), ('s', Self::SEARCH)];

    /// Both sets together.
    pub const fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    /// Whether every permission of `other` is in `self`.
    pub const fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    /// Parses a v2 permission string: a non-empty subsequence of `cruds`, in that order.
    fn parse_v2(text: &str) -> Option<Permissions> {
        let mut result = Permissions::NONE;
        let mut letters = Self::LETTERS.iter();
        for ch in text.chars() {
            // Each letter must come after the previous one in `cruds` order (SMART v2 requires it).
            let (_, permission) = letters.by_ref().find(|(letter, _)| *letter == ch)?;
            result = result.union(*permission);
        }
        (result != Permissions::NONE).then_some(result)
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (letter, permission) in Self::LETTERS {
            if self.contains(permission) {
                write!(formatter, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// One parsed `system/` scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The resource type, or `None` for `*` (every type).
    pub resource_type: Option<String>,
    /// What the scope allows on that type.
    pub permissions: Permissions,
}

/// A scope for the bridge's own endpoints, outside FHIR: no `system/*` scope implies one, so a
/// FHIR client's token does not open the ledger (which shows who read whose records, as
/// pseudonyms) or the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceScope {
    /// `bridge/ledger.read`: `/ledger/head`, `/ledger/proof/{seq}`, `/ledger/consistency`.
    LedgerRead,
    /// `bridge/metrics.read`: `/metrics`.
    MetricsRead,
}

impl ServiceScope {
    /// Parses `bridge/ledger.read` or `bridge/metrics.read`.
    pub fn parse(text: &str) -> Option<ServiceScope> {
        match text {
            "bridge/ledger.read" => Some(Self::LedgerRead),
            "bridge/metrics.read" => Some(Self::MetricsRead),
            _ => None,
        }
    }

    /// The scope string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LedgerRead => "bridge/ledger.read",
            Self::MetricsRead => "bridge/metrics.read",
        }
    }
}

/// The scopes of a client or a token: FHIR `system/` scopes and the bridge's service scopes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes {
    /// FHIR scopes.
    pub fhir: Vec<Scope>,
    /// Service scopes.
    pub service: Vec<ServiceScope>,
}

impl Scopes {
    /// Parses a list of scope strings.
    pub fn parse<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<Scopes, ScopeSyntaxError> {
        let mut scopes = Scopes::default();
        for text in texts {
            scopes.add(text)?;
        }
        Ok(scopes)
    }

    /// Adds one scope string (once).
    pub fn add(&mut self, text: &str) -> Result<(), ScopeSyntaxError> {
        match ServiceScope::parse(text) {
            Some(service) if !self.service.contains(&service) => self.service.push(service),
            Some(_) => {}
            None => {
                let scope = Scope::parse(text)?;
                if !self.fhir.contains(&scope) {
                    self.fhir.push(scope);
                }
            }
        }
        Ok(())
    }

    /// Whether these (a client's allowed scopes) cover every scope of `requested`.
    pub fn cover(&self, requested: &Scopes) -> bool {
        requested.fhir.iter().all(|scope| covers(&self.fhir, scope))
            && requested.service.iter().all(|service| self.service.contains(service))
    }
}

/// A scope string is not a `system/` scope this server understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported scope (expected system/<Type|*>.<cruds>, bridge/ledger.read or bridge/metrics.read)")]
pub struct ScopeSyntaxError;

impl Scope {
    /// Parses `system/Observation.rs`, `system/*.cruds`, or v1 `system/*.read|write|*`.
    pub fn parse(text: &str) -> Result<Scope, ScopeSyntaxError> {
        if text.len() > MAX_SCOPE_LEN {
            return Err(ScopeSyntaxError);
        }
        let rest = text.strip_prefix("system/").ok_or(ScopeSyntaxError)?;
        let (resource_type, permissions) = rest.split_once('.').ok_or(ScopeSyntaxError)?;
        let resource_type = match resource_type {
            "*" => None,
            name if is_resource_type_name(name) => Some(name.to_owned()),
            _ => return Err(ScopeSyntaxError),
        };
        let permissions = match permissions {
            "read" => Permissions::READ.union(Permissions::SEARCH),
            "write" => Permissions::CREATE.union(Permissions::UPDATE).union(Permissions::DELETE),
            "*" => Permissions::ALL,
            v2 => Permissions::parse_v2(v2).ok_or(ScopeSyntaxError)?,
        };
        Ok(Scope { resource_type, permissions })
    }

    /// Whether this scope applies to `resource_type`.
    pub fn applies_to(&self, resource_type: &str) -> bool {
        self.resource_type.as_deref().is_none_or(|name| name == resource_type)
    }

    /// Whether this scope allows `permissions` on `resource_type`.
    pub fn allows(&self, resource_type: &str, permissions: Permissions) -> bool {
        self.applies_to(resource_type) && self.permissions.contains(permissions)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "system/{}.{}", self.resource_type.as_deref().unwrap_or("*"), self.permissions)
    }
}

/// A FHIR resource type name: an upper-case ASCII letter, then ASCII letters and digits.
fn is_resource_type_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// Whether `allowed` together cover `requested`: a requested `system/*` scope needs allowed `*`
/// scopes; a requested type may draw its permissions from several allowed scopes (`*.r` plus
/// `Observation.s` cover `Observation.rs`).
pub fn covers(allowed: &[Scope], requested: &Scope) -> bool {
    let granted = allowed
        .iter()
        .filter(|scope| match &requested.resource_type {
            None => scope.resource_type.is_none(),
            Some(name) => scope.applies_to(name),
        })
        .fold(Permissions::NONE, |all, scope| all.union(scope.permissions));
    granted.contains(requested.permissions)
}

/// Whether any of `scopes` allows `permissions` on `resource_type` (each permission may come from
/// a different scope).
pub fn allowed_by(scopes: &[Scope], resource_type: &str, permissions: Permissions) -> bool {
    scopes
        .iter()
        .filter(|scope| scope.applies_to(resource_type))
        .fold(Permissions::NONE, |all, scope| all.union(scope.permissions))
        .contains(permissions)
}
