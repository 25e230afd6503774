//! What a client reads before it starts: the CapabilityStatement (`GET /fhir/metadata`) and
//! SMART's discovery document (`GET /fhir/.well-known/smart-configuration`), both public. They
//! describe the running server as it is: the token endpoint its authenticator serves, the
//! client authentication it accepts (SMART Backend Services: `client_credentials` with a
//! `private_key_jwt` assertion), and the scopes it understands (v2 and v1 `system/` scopes).

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde_json::json;
use smart_auth::Authenticator;

/// The extension that names the OAuth endpoints in a CapabilityStatement (SMART App Launch).
const OAUTH_URIS: &str = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

/// Assertion algorithms the token endpoint verifies (see `smart_auth::jwt`).
const SIGNING_ALGORITHMS: [&str; 2] = ["ES384", "ES256K"];

/// `GET /fhir/.well-known/smart-configuration`.
pub async fn smart_configuration(authenticator: web::Data<Arc<Authenticator>>) -> HttpResponse {
    let body = json!({
        "token_endpoint": authenticator.token_url(),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": SIGNING_ALGORITHMS,
        "scopes_supported": [
            "system/*.cruds", "system/*.rs", "system/*.read", "system/*.write", "system/*.*",
            "bridge/ledger.read", "bridge/metrics.read"
        ],
        "response_types_supported": ["token"],
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
    });
    HttpResponse::Ok().content_type("application/json").json(body)
}

/// The interactions every resource type has here.
const INTERACTIONS: [&str; 9] =
    ["read", "vread", "create", "update", "patch", "delete", "history-instance", "history-type", "search-type"];

/// `rest.resource`: per resource type, its interactions and exactly the search parameters this
/// server evaluates (from the generated definitions: the indexed kinds, with expressions it
/// evaluates), built once.
fn resources() -> &'static serde_json::Value {
    static RESOURCES: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    RESOURCES.get_or_init(|| {
        let common = [
            json!({"name": "_id", "type": "token"}),
            json!({"name": "_lastUpdated", "type": "date"}),
        ];
        let entries: Vec<serde_json::Value> = fhir_models::RESOURCE_TYPES
            .iter()
            .map(|ty| {
                let mut params: Vec<serde_json::Value> = common.to_vec();
                params.extend(
                    fhir_models::search::search_params(ty)
                        .filter(|p| p.is_searched() && !matches!(p.code, "_id" | "_lastUpdated"))
                        .map(|p| match (p.code, p.kind) {
                            ("patient", _) => json!({"name": "patient", "type": "reference",
                                "documentation": "alone (with _lastUpdated, _count, _offset): the patient's records here and, through grants, at peer custodians"}),
                            (_, fhir_models::search::SearchKind::String) => json!({"name": p.code, "type": "string",
                                "documentation": "starts-with ignoring case and accents (at most 32 characters), or :exact"}),
                            (_, fhir_models::search::SearchKind::Date) => json!({"name": p.code, "type": "date",
                                "documentation": "to the day: eq, ne, gt, lt, ge, le, sa, eb (not ap)"}),
                            _ => json!({"name": p.code, "type": p.kind.code()}),
                        }),
                );
                let mut entry = json!({"type": ty,
                       "interaction": INTERACTIONS.iter().map(|code| json!({"code": code})).collect::<Vec<_>>(),
                       "versioning": "versioned-update",
                       "readHistory": true,
                       "updateCreate": true,
                       "conditionalCreate": true,
                       "conditionalUpdate": true,
                       "conditionalDelete": "single",
                       "searchParam": params});
                let export = match *ty {
                    "Patient" => Some("patient-export"),
                    "Group" => Some("group-export"),
                    _ => None,
                };
                if let Some(export) = export {
                    entry["operation"] = json!([{"name": "export",
                        "definition": format!("http://hl7.org/fhir/uv/bulkdata/OperationDefinition/{export}")}]);
                }
                entry
            })
            .collect();
        serde_json::Value::Array(entries)
    })
}

/// `GET /fhir/metadata`: the CapabilityStatement of this instance.
pub async fn metadata(authenticator: web::Data<Arc<Authenticator>>) -> HttpResponse {
    let body = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        // This is an instance's statement: it describes the running server as of now.
        "date": node_store::clock::format_instant(node_store::clock::now_ms()),
        "kind": "instance",
        // Bulk Data Access: system, Patient and Group `$export`.
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "fhirVersion": fhir_models::FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "software": {"name": "FHIR Ledger Bridge", "version": env!("CARGO_PKG_VERSION")},
        "rest": [{"mode": "server",
                  "security": {
                      "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}]}],
                      "description": "SMART Backend Services: client_credentials with a private_key_jwt assertion (ES384); see .well-known/smart-configuration",
                      "extension": [{"url": OAUTH_URIS, "extension": [{"url": "token", "valueUri": authenticator.token_url()}]}]
                  },
                  "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"}],
                  "operation": [{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}],
                  "resource": resources()}]
    });
    HttpResponse::Ok().content_type(fhir_models::JSON_MIME_TYPE).json(body)
}
