//! `GET /fhir/Provenance?target=TYPE/ID`: the provenance of every version of a resource, derived
//! from the ledger. Each Provenance names the version, when the node committed it, the node, and
//! carries the signature of the block that holds it (with the block's height, header hash and the
//! record's seq as extensions), so a reader can check it against `/ledger/proof/{seq}`.

use actix_web::{web, HttpResponse};
use ledger_adapter::LedgerReader;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::state::AppState;
use node_store::clock::format_instant;
use node_store::records::{Operation, ResourceVersion};
use smart_auth::Principal;

/// Query of `GET /fhir/Provenance`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenanceQuery {
    target: Option<String>,
}

const EXTENSION_BASE: &str = "urn:fhir-ledger-bridge:ledger";

/// `GET /fhir/Provenance?target=TYPE/ID`: a searchset Bundle, one Provenance per version.
pub async fn provenance(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: web::Query<ProvenanceQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_search("Provenance")?;
    let Some((resource_type, id)) = query.target.as_deref().and_then(|t| t.split_once('/')) else {
        return Err(ApiError::BadRequest("Provenance search needs target=TYPE/ID".into()));
    };
    if !fhir_models::Resource::is_resource_type(resource_type) {
        return Err(ApiError::NotFound("not an R4 resource type"));
    }
    check_target_scope(&caller, resource_type)?;
    let (resource_type, id) = (resource_type.to_owned(), id.to_owned());
    let node = state.node.clone();
    let versions = web::block(move || -> Result<Vec<Value>, String> {
        let anchors = chain_anchor::AnchorStore::open(&node.db).map_err(|e| e.to_string())?;
        let rid = node.resource_pseudonym(&resource_type, &id);
        let Some(latest) = node.index.latest(rid.as_bytes()).map_err(|e| e.to_string())? else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for version in 1..=latest.version {
            let Some(seq) = node.index.version_seq(rid.as_bytes(), version).map_err(|e| e.to_string())? else {
                continue;
            };
            let record = node.record_at(seq).map_err(|e| e.to_string())?;
            let height = node.ledger.block_of(seq).map_err(|e| e.to_string())?;
            let block = match height {
                Some(h) => node.ledger.block(h).map_err(|e| e.to_string())?,
                None => None,
            };
            let anchor = anchors.covering(seq).map_err(|e| e.to_string())?;
            out.push(provenance_of(&resource_type, &id, seq, &record, block.as_ref(), anchor.as_ref()));
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(ApiError::Internal)?;
    let entries: Vec<Value> =
        versions.into_iter().map(|p| json!({"resource": p, "search": {"mode": "match"}})).collect();
    let bundle = json!({"resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries});
    Ok(HttpResponse::Ok().content_type(fhir_models::JSON_MIME_TYPE).json(bundle))
}

/// Provenance reveals that versions exist: the caller must be allowed to read the target's type.
fn check_target_scope(caller: &Principal, resource_type: &str) -> Result<(), ApiError> {
    caller.require_read(resource_type).map_err(ApiError::Auth)
}

fn provenance_of(
    resource_type: &str,
    id: &str,
    seq: u64,
    record: &ResourceVersion,
    block: Option<&ledger_adapter::SignedBlockHeader>,
    anchor: Option<&chain_anchor::FinalAnchor>,
) -> Value {
    let activity = match record.operation {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
    };
    let node = json!({"identifier": {"system": "urn:fhir-ledger-bridge:node", "value": record.node}});
    let mut extension = vec![
        json!({"url": format!("{EXTENSION_BASE}#seq"), "valueDecimal": seq}),
        json!({"url": format!("{EXTENSION_BASE}#resource"), "valueString": record.resource}),
    ];
    if let Some(cid) = &record.cid {
        extension.push(json!({"url": format!("{EXTENSION_BASE}#cid"), "valueString": cid}));
    }
    let mut provenance = json!({
        "resourceType": "Provenance",
        "id": format!("ledger-{seq}"),
        "target": [{"reference": format!("{resource_type}/{id}/_history/{}", record.version)}],
        "recorded": format_instant(record.time_ms),
        "activity": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": activity}]},
        "agent": [{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "custodian"}]},
            "who": node
        }],
    });
    if let Some(block) = block {
        extension.push(json!({"url": format!("{EXTENSION_BASE}#block-height"), "valueDecimal": block.header.height}));
        extension
            .push(json!({"url": format!("{EXTENSION_BASE}#block-header-hash"), "valueString": block.hash().to_hex()}));
        let signature = data_encoding::BASE64.encode(block.signature.as_bytes());
        provenance["signature"] = json!([{
            "type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.5", "display": "Verification Signature"}],
            "when": format_instant(block.header.time_ms),
            "who": node,
            "sigFormat": "application/x-secp256k1-ecdsa-compact",
            "data": signature
        }]);
    }
    // The first final chain anchor whose tree holds this record: its transaction is public
    // evidence that the record's block existed by then.
    if let Some(anchor) = anchor {
        extension.push(json!({"url": format!("{EXTENSION_BASE}#anchor-chain-id"), "valueDecimal": anchor.chain_id}));
        extension.push(json!({"url": format!("{EXTENSION_BASE}#anchor-block"), "valueDecimal": anchor.block_number}));
        extension.push(
            json!({"url": format!("{EXTENSION_BASE}#anchor-transaction"), "valueString": anchor.tx_hash.to_string()}),
        );
        extension.push(json!({"url": format!("{EXTENSION_BASE}#anchor-height"), "valueDecimal": anchor.height}));
    }
    provenance["extension"] = Value::Array(extension);
    provenance
}
