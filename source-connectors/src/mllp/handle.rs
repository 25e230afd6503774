//! One message of a connection: the sender check, then parse, map and prepare off the runtime,
//! then store (and `AA` once durable) or refuse (`AE`/`AR` with `ERR`, kept as a dead letter
//! before the answer).

use std::net::SocketAddr;

use super::ack::{ack, refusal_ack, too_large_ack};
use super::framing::{Oversized, KEPT_PREFIX_BYTES};
use super::Shared;
use ingest_pipeline::hl7v2::{failed_internally, prepare_v2, v2_text, PreparedV2, V2Refusal};
use node_store::clock::now_ms;
use node_store::DeadLetter;

/// Who sent a message: the peer address, and with TLS its client certificate's names.
#[derive(Debug, Clone)]
pub(super) struct Sender {
    pub addr: SocketAddr,
    pub certificate_names: Vec<String>,
}

impl Sender {
    fn source(&self) -> String {
        format!("mllp:{}", self.addr)
    }
}

/// Keeps `letter`; whether it is durable.
async fn keep(shared: &Shared, letter: DeadLetter) -> bool {
    let node = shared.node.clone();
    matches!(tokio::task::spawn_blocking(move || node.keep_dead_letter(&letter)).await, Ok(Ok(_)))
}

/// Refuses `text` (the message) with `refusal`, kept as a dead letter first; the ACK text.
async fn refuse(
    shared: &Shared,
    sender: &Sender,
    text: &str,
    refusal: V2Refusal,
    location: &str,
    reason: &str,
    outcome: String,
) -> String {
    let message = hl7v2::Message::parse(text).ok();
    let header = message.as_ref().map(hl7v2::Message::header);
    let letter = DeadLetter {
        time_ms: now_ms(),
        source: sender.source(),
        reason: reason.to_owned(),
        outcome,
        message: text.to_owned(),
    };
    shared.metrics.messages_refused.inc();
    if keep(shared, letter).await {
        refusal_ack(header.as_ref(), refusal, location, reason)
    } else {
        // Not kept: the sender must send again (a refusal without a durable dead letter would lose it).
        refusal_ack(header.as_ref(), V2Refusal::INTERNAL, "", "the message could not be kept; send it again")
    }
}

/// Processes one message and gives the ACK text.
pub(super) async fn handle_message(frame: &[u8], sender: &Sender, shared: &Shared) -> String {
    let text = v2_text(frame);
    // The sender check comes first: a message a sender may not send is not mapped at all.
    if let Ok(message) = hl7v2::Message::parse(&text) {
        let header = message.header();
        let application = header.sending_application.unwrap_or("");
        let facility = header.sending_facility.unwrap_or("");
        if let Some(reason) = shared.facilities.refusal(application, facility, &sender.certificate_names) {
            tracing::warn!(peer = %sender.addr, reason, "MLLP message from a sender not allowed; refusing it.");
            return refuse(shared, sender, &text, V2Refusal::REJECTED, "MSH-4", reason, String::new()).await;
        }
    }
    let bytes = frame.to_vec();
    let (node, mappings) = (shared.node.clone(), shared.mappings.clone());
    handle_prepared(frame, sender, shared, move || prepare_v2(&bytes, &mappings, &node)).await
}

/// Runs `prepare` (parse, map, prepare) off the runtime, then stores or refuses the message and
/// gives the ACK text. A `prepare` that fails (panics) refuses the message: `AE`, dead letter.
pub(super) async fn handle_prepared<F>(frame: &[u8], sender: &Sender, shared: &Shared, prepare: F) -> String
where
    F: FnOnce() -> PreparedV2 + Send + 'static,
{
    let prepared = match tokio::task::spawn_blocking(prepare).await {
        Ok(prepared) => prepared,
        // The panic's own text is not logged: it may quote the message (see the binary's hook).
        Err(_) => {
            tracing::error!(peer = %sender.addr, "Preparing an MLLP message failed; refusing it.");
            failed_internally()
        }
    };
    let text = v2_text(frame);
    if let Some(rejection) = prepared.prepared.rejections.first() {
        let outcome = String::from_utf8_lossy(&fhir_models::to_json(rejection.outcome.as_ref())).into_owned();
        let reason = rejection.reason().unwrap_or("refused").to_owned();
        let location = rejection.location.clone().unwrap_or_default();
        let refusal = prepared.refusal.unwrap_or(if prepared.header.is_none() {
            V2Refusal::STRUCTURE
        } else {
            V2Refusal::CONTENT
        });
        return refuse(shared, sender, &text, refusal, &location, &reason, outcome).await;
    }
    let message = hl7v2::Message::parse(&text).ok();
    let header = message.as_ref().map(hl7v2::Message::header);
    let resources = prepared.prepared.resources;
    // INVARIANT: `AA` means stored. Preparation refuses a message that makes nothing; this
    // holds the line should one get through.
    if resources.is_empty() {
        let reason = "the message makes no resources: nothing would be stored";
        return refuse(shared, sender, &text, V2Refusal::STRUCTURE, "", reason, String::new()).await;
    }
    if let Err(error) = shared.writer.submit(resources).await {
        tracing::error!(%error, "Committing an MLLP message failed.");
        let reason = "the ledger is unavailable; send the message again";
        return refusal_ack(header.as_ref(), V2Refusal::INTERNAL, "", reason);
    }
    shared.metrics.messages_accepted.inc();
    ack(header.as_ref(), "AA", None)
}

/// Keeps what is known of an oversized frame as its dead letter (its first 4 KiB, its size and
/// SHA-256: enough to find it at the sender, bounded whatever is sent) and gives the `AR`,
/// when its MSH can be read.
pub(super) async fn refuse_too_large(oversized: &Oversized, sender: &Sender, shared: &Shared) -> Option<String> {
    let limit = shared.config.max_message_bytes;
    shared.metrics.messages_refused.inc();
    let prefix = &oversized.head[..oversized.head.len().min(KEPT_PREFIX_BYTES)];
    let received = if oversized.complete { "" } else { "at least " };
    let reason = format!(
        "message too large: {received}{} bytes, over the limit of {limit}; SHA-256 {} of the bytes received; \
         the first {} bytes are kept",
        oversized.received,
        data_encoding::HEXLOWER.encode(&oversized.sha256),
        prefix.len(),
    );
    let letter = DeadLetter {
        time_ms: now_ms(),
        source: sender.source(),
        reason,
        outcome: String::new(),
        message: v2_text(prefix).into_owned(),
    };
    let kept = keep(shared, letter).await;
    if !kept {
        tracing::error!(peer = %sender.addr, "An oversized MLLP message could not be kept as a dead letter.");
    }
    too_large_ack(&oversized.head, limit, kept)
}

/// SHA-256, hex (for tests that check a dead letter's hash).
#[cfg(test)]
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests;
