//! What makes two submissions the same resource version, shared by the writer (which keys its
//! dedup index by them) and the index rebuild (which must derive the same keys from the ledger).

/// The resource types a v2 message's version is merged into the earlier one for.
pub const MERGED_TYPES: &[&str] = &["Patient"];

/// What a v2 message's resource is also known by (before the keyed dedup hash): the message
/// itself, `hl7v2:APP/FACILITY/CONTROL_ID`, the `source` of its ledger record. A re-sent message
/// (same control id from the same sender) is a duplicate whatever its Patient merged into, and
/// an index rebuilt from the ledger derives the same key. A source that also names how the
/// message came (Kafka: `kafka:TOPIC/PARTITION/OFFSET;hl7v2:...`) is known by its last part, so a
/// redelivered or re-produced message is recognised however it arrives.
pub fn message_identity(source: &str) -> Option<[u8; 32]> {
    // Only the Kafka prefix is stripped: the v2 part itself may hold `;` (in MSH-3, -4 or -10).
    let own = source.strip_prefix("kafka:").and_then(|rest| rest.split_once(';')).map_or(source, |(_, v2)| v2);
    own.starts_with("hl7v2:").then(|| fhir_json::content_hash(format!("v2-message\0{own}").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::message_identity;

    #[test]
    fn a_message_is_known_by_its_sender_and_control_id_however_it_arrived() {
        let direct = message_identity("hl7v2:ADT1/GHH/MSG-1").expect("a v2 message");
        assert_eq!(message_identity("kafka:fhir.ingest/3/17;hl7v2:ADT1/GHH/MSG-1"), Some(direct));
        assert_eq!(
            message_identity("kafka:fhir.ingest/0/99;hl7v2:ADT1/GHH/MSG-1"),
            Some(direct),
            "redelivered elsewhere"
        );
        assert_ne!(message_identity("hl7v2:ADT1/GHH/MSG-2"), Some(direct));
        assert_eq!(message_identity("kafka:fhir.ingest/3/17;"), None, "no v2 header");
        assert_eq!(message_identity("file:abc"), None);
        // A `;` inside the sender's own identity is part of it, not a separator.
        let with_semicolon = message_identity("hl7v2:APP;X/GHH/MSG-1").expect("a v2 message");
        assert_ne!(with_semicolon, direct);
        assert_eq!(message_identity("kafka:t/0/1;hl7v2:APP;X/GHH/MSG-1"), Some(with_semicolon));
    }
}
