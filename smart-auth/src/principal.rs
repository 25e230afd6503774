//! [`Principal`]: who an authenticated request comes from and what its token's scopes allow.

use super::error::AuthError;
use super::scope::{allowed_by, Permissions, Scopes, ServiceScope};

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The registered client id (the assertion's `iss`).
    pub client_id: String,
    /// The institution the client acts for (`Organization/...`), when registered.
    pub organization: Option<String>,
    /// The peer bridge's node key id (hex), when the client is a peer bridge.
    pub node_key_id: Option<String>,
    /// The scopes granted to this token.
    pub scopes: Scopes,
    /// Whether the caller used a development static token (never in production).
    pub via_dev_token: bool,
}

impl Principal {
    /// Whether the scopes allow all of `permissions` on `resource_type`. Never for a peer
    /// bridge: a peer reads a patient's records only through the patient's grant, at
    /// `/peer/records`, whatever scopes its token carries.
    pub fn allows(&self, resource_type: &str, permissions: Permissions) -> bool {
        self.node_key_id.is_none() && allowed_by(&self.scopes.fhir, resource_type, permissions)
    }

    /// `r`: read a resource of this type by id, including its versions.
    pub fn can_read(&self, resource_type: &str) -> bool {
        self.allows(resource_type, Permissions::READ)
    }

    /// `s`: search resources of this type.
    pub fn can_search(&self, resource_type: &str) -> bool {
        self.allows(resource_type, Permissions::SEARCH)
    }

    /// `c` and `u`: submit resources of this type. Both are needed because the bridge's
    /// `POST` and `PUT` both create a first version or add a new one, depending on what is stored.
    pub fn can_write(&self, resource_type: &str) -> bool {
        self.allows(resource_type, Permissions::CREATE.union(Permissions::UPDATE))
    }

    /// `d`: delete resources of this type.
    pub fn can_delete(&self, resource_type: &str) -> bool {
        self.allows(resource_type, Permissions::DELETE)
    }

    /// Whether the scopes allow changing (creating, updating or deleting) resources of some
    /// type: a caller that may change nothing is refused before its body is decoded.
    pub fn may_change_anything(&self) -> bool {
        let write = Permissions::CREATE.union(Permissions::UPDATE);
        self.node_key_id.is_none()
            && self
                .scopes
                .fhir
                .iter()
                .any(|s| s.permissions.contains(write) || s.permissions.contains(Permissions::DELETE))
    }

    /// [`Self::may_change_anything`], or [`AuthError::InsufficientScope`] (a 403).
    pub fn require_change_anything(&self) -> Result<(), AuthError> {
        self.may_change_anything().then_some(()).ok_or(AuthError::InsufficientScope)
    }

    /// [`Self::can_read`], or [`AuthError::InsufficientScope`] (a 403).
    pub fn require_read(&self, resource_type: &str) -> Result<(), AuthError> {
        self.can_read(resource_type).then_some(()).ok_or(AuthError::InsufficientScope)
    }

    /// [`Self::can_search`], or [`AuthError::InsufficientScope`] (a 403).
    pub fn require_search(&self, resource_type: &str) -> Result<(), AuthError> {
        self.can_search(resource_type).then_some(()).ok_or(AuthError::InsufficientScope)
    }

    /// [`Self::can_write`], or [`AuthError::InsufficientScope`] (a 403).
    pub fn require_write(&self, resource_type: &str) -> Result<(), AuthError> {
        self.can_write(resource_type).then_some(()).ok_or(AuthError::InsufficientScope)
    }

    /// [`Self::can_delete`], or [`AuthError::InsufficientScope`] (a 403).
    pub fn require_delete(&self, resource_type: &str) -> Result<(), AuthError> {
        self.can_delete(resource_type).then_some(()).ok_or(AuthError::InsufficientScope)
    }

    /// Whether the token holds the service scope. Never for a peer bridge, as for FHIR scopes.
    pub fn has_service(&self, scope: ServiceScope) -> bool {
        self.node_key_id.is_none() && self.scopes.service.contains(&scope)
    }

    /// [`Self::has_service`], or [`AuthError::InsufficientScope`] (a 403).
    pub fn require_service(&self, scope: ServiceScope) -> Result<(), AuthError> {
        self.has_service(scope).then_some(()).ok_or(AuthError::InsufficientScope)
    }

    /// The granted scopes, space-separated, as in a token response.
    pub fn scope_string(&self) -> String {
        let fhir = self.scopes.fhir.iter().map(ToString::to_string);
        fhir.chain(self.scopes.service.iter().map(|s| s.as_str().to_owned())).collect::<Vec<_>>().join(" ")
    }
}
