//! Ledger endpoints: the signed head, inclusion and consistency proofs, as JSON with hex.

use actix_web::{web, HttpResponse};
use ledger_adapter::{LedgerReader, SignedBlockHeader};
use serde::Deserialize;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::state::AppState;
use smart_auth::ServiceScope;

fn header_json(signed: &SignedBlockHeader) -> serde_json::Value {
    let h = &signed.header;
    serde_json::json!({
        "height": h.height,
        "prev_hash": h.prev_hash.to_hex(),
        "first_seq": h.first_seq,
        "record_count": h.record_count,
        "block_root": h.block_root.to_hex(),
        "tree_size": h.tree_size,
        "tree_root": h.tree_root.to_hex(),
        "time_ms": h.time_ms,
        "node_key_id": h.node_key_id.to_hex(),
        "header_hash": signed.hash().to_hex(),
        "signature": signed.signature.to_hex(),
    })
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// `GET /ledger/head`: the latest signed block header and the node's public key.
pub async fn head(state: web::Data<AppState>, Authenticated(caller): Authenticated) -> Result<HttpResponse, ApiError> {
    caller.require_service(ServiceScope::LedgerRead)?;
    let head = state.node.ledger.head().map_err(internal)?.ok_or(ApiError::NotFound("the ledger is empty"))?;
    let mut body = header_json(&head);
    body["public_key"] = state.node.ledger.node_public_key().to_hex().into();
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /ledger/proof/{seq}`: the record, its leaf hash, and its inclusion proof against the head.
pub async fn proof(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    seq: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    caller.require_service(ServiceScope::LedgerRead)?;
    let seq = seq.into_inner();
    let ledger = &state.node.ledger;
    let head = ledger.head().map_err(internal)?.ok_or(ApiError::NotFound("the ledger is empty"))?;
    let record = ledger.record(seq).map_err(internal)?.ok_or(ApiError::NotFound("no record with this seq"))?;
    let leaf = ledger.leaf_hash(seq).map_err(internal)?.ok_or(ApiError::NotFound("no record with this seq"))?;
    let tree_size = head.header.tree_size;
    let proof = ledger.inclusion_proof(seq, tree_size).map_err(internal)?;
    let block = ledger.block_of(seq).map_err(internal)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "seq": seq,
        "block_height": block,
        "record": serde_json::from_slice::<serde_json::Value>(&record).unwrap_or(serde_json::Value::Null),
        "leaf_hash": leaf.to_hex(),
        "tree_size": tree_size,
        "audit_path": proof.hashes.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
        "head": header_json(&head),
    })))
}

/// Query of `GET /ledger/consistency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    first: u64,
    second: u64,
}

/// `GET /ledger/consistency?first=&second=`: a consistency proof between two tree sizes.
pub async fn consistency(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_service(ServiceScope::LedgerRead)?;
    let ledger = &state.node.ledger;
    let size = ledger.tree_size().map_err(internal)?;
    if query.first > query.second || query.second > size {
        return Err(ApiError::NotFound("tree sizes out of range"));
    }
    let proof = ledger.consistency_proof(query.first, query.second).map_err(internal)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "first": query.first,
        "second": query.second,
        "first_root": ledger.root_at(query.first).map_err(internal)?.to_hex(),
        "second_root": ledger.root_at(query.second).map_err(internal)?.to_hex(),
        "proof": proof.hashes.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
    })))
}
