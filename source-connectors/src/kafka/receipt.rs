//! What the connector writes back to Kafka: a receipt per resource version, and dead letters
//! (the original bytes and headers plus `error` and the OperationOutcome). Pure: no broker here.

use ingest_pipeline::Receipt;

/// Where a message came from and what it carried besides its payload.
#[derive(Debug, Clone)]
pub struct MessageMeta {
    /// Its topic.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its key (the patient id is recommended).
    pub key: Option<Vec<u8>>,
    /// Its headers, in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl MessageMeta {
    /// The value of the first header named `name` (case-insensitive), as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The ledger source of resources from this message.
    pub fn ledger_source(&self) -> String {
        format!("kafka:{}/{}/{}", self.topic, self.partition, self.offset)
    }
}

/// The receipt of one resource version, as JSON. It names the resource by its pseudonym only:
/// the receipts topic is read by other systems and must carry no identifiers.
///
/// `node` is the key id of the bridge that committed it: the ledger shard that holds the record
/// (BRIEF §7), which is how a reader finds it later.
pub fn receipt_json(receipt: &Receipt, meta: &MessageMeta, node: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "node": node,
        "seq": receipt.seq,
        "block_height": receipt.block_height,
        "cid": receipt.cid,
        "resource_type": receipt.resource_type,
        "resource": receipt.resource_pseudonym,
        "version": receipt.version,
        "operation": receipt.operation.as_str(),
        "duplicate": receipt.duplicate,
        "correlation_id": meta.header("correlation-id"),
        "source": {"topic": meta.topic, "partition": meta.partition, "offset": meta.offset},
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The headers of a dead letter: the original ones, then `error` (the reason, no patient data),
/// the source coordinates, and the line for NDJSON.
pub fn dead_letter_headers(meta: &MessageMeta, error: &str, line: Option<usize>) -> Vec<(String, Vec<u8>)> {
    let mut headers: Vec<(String, Vec<u8>)> =
        meta.headers.iter().map(|(k, v)| (k.clone(), v.clone().unwrap_or_default())).collect();
    headers.push(("error".into(), error.as_bytes().to_vec()));
    headers.push(("source-topic".into(), meta.topic.as_bytes().to_vec()));
    headers.push(("source-partition".into(), meta.partition.to_string().into_bytes()));
    headers.push(("source-offset".into(), meta.offset.to_string().into_bytes()));
    if let Some(line) = line {
        headers.push(("source-line".into(), line.to_string().into_bytes()));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use node_store::records::Operation;

    fn meta() -> MessageMeta {
        MessageMeta {
            topic: "fhir.ingest".into(),
            partition: 2,
            offset: 41,
            key: Some(b"p1".to_vec()),
            headers: vec![("Correlation-ID".into(), Some(b"c-7".to_vec())), ("content-type".into(), None)],
        }
    }

    #[test]
    fn receipts_carry_ledger_and_source_coordinates_but_no_ids() {
        let receipt = Receipt {
            resource_type: "Patient",
            id: "secret-mrn-123".into(),
            resource_pseudonym: "ab".repeat(32),
            version: 2,
            seq: Some(9),
            block_height: Some(3),
            cid: Some("bafkreiexample".into()),
            duplicate: false,
            operation: Operation::Update,
            precondition_failed: false,
        };
        let json: serde_json::Value = serde_json::from_slice(&receipt_json(&receipt, &meta(), "cd")).unwrap();
        assert_eq!(json["seq"], 9);
        assert_eq!(json["node"], "cd");
        assert_eq!(json["correlation_id"], "c-7");
        assert_eq!(json["source"]["offset"], 41);
        assert!(!json.to_string().contains("secret-mrn-123"));
    }

    #[test]
    fn dead_letters_keep_the_original_headers_and_add_the_reason() {
        let headers = dead_letter_headers(&meta(), "unsupported", Some(3));
        let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "Correlation-ID",
                "content-type",
                "error",
                "source-topic",
                "source-partition",
                "source-offset",
                "source-line"
            ]
        );
    }
}
