//! The `ACK`s the listener answers with: `MSA|AA` once a message is durable, `MSA|AE` or
//! `MSA|AR` with an `ERR` segment (location, HL7 error code, reason) when it is refused.

use ingest_pipeline::hl7v2::{v2_text, V2Refusal};
use node_store::clock::now_ms;

/// What an `ERR` segment says.
#[derive(Debug, Clone, Copy)]
pub(super) struct AckError<'a> {
    /// `PID-7`, `PID` (a segment), or empty.
    pub location: &'a str,
    /// ERR-3 (HL7 table 0357), `100^Segment sequence error^HL70357`.
    pub error_code: &'a str,
    /// ERR-8, the reason: locations and fixed words, never values.
    pub reason: &'a str,
}

/// The current time as a v2 DTM (UTC).
fn v2_now() -> String {
    let instant = node_store::clock::format_instant(now_ms());
    // 2026-11-25T10:00:00.123Z -> 20261125100000+0000
    let digits: String = instant.chars().take(19).filter(char::is_ascii_digit).collect();
    format!("{digits}+0000")
}

/// An `ACK` for `header` (the message's, when its MSH parsed): `code` AA, AE or AR, and for
/// errors an `ERR` segment.
pub(super) fn ack(header: Option<&hl7v2::Header<'_>>, code: &str, error: Option<AckError<'_>>) -> String {
    let delimiters = hl7v2::Delimiters::default();
    let field = |text: Option<&str>| hl7v2::escape(text.unwrap_or(""), &delimiters).into_owned();
    let (trigger, version, control) = match header {
        Some(h) => (h.trigger_event.unwrap_or(""), h.version.unwrap_or("2.5.1"), h.control_id),
        None => ("", "2.5.1", ""),
    };
    let ack_control = format!("ACK{}", now_ms());
    let mut out = format!(
        "MSH|^~\\&|{}|{}|{}|{}|{}||ACK^{}^ACK|{}|P|{}\rMSA|{code}|{}\r",
        field(header.and_then(|h| h.receiving_application)),
        field(header.and_then(|h| h.receiving_facility)),
        field(header.and_then(|h| h.sending_application)),
        field(header.and_then(|h| h.sending_facility)),
        v2_now(),
        field(Some(trigger)),
        ack_control,
        field(Some(version)),
        field(Some(control)),
    );
    if let Some(error) = error {
        // ERR-2 error location (ERL: segment^sequence^field), ERR-3 HL7 error code (table 0357),
        // ERR-4 severity, ERR-8 user message.
        let erl = match error.location.split_once('-') {
            Some((segment, field)) => format!("{segment}^1^{}", field.split('.').next().unwrap_or(field)),
            None if !error.location.is_empty() => format!("{}^1", error.location),
            None => String::new(),
        };
        out.push_str(&format!("ERR||{erl}|{}|E||||{}\r", error.error_code, field(Some(error.reason))));
    }
    out
}

/// The `ACK` refusing a message: `refusal`'s code, with the location and reason.
pub(super) fn refusal_ack(
    header: Option<&hl7v2::Header<'_>>,
    refusal: V2Refusal,
    location: &str,
    reason: &str,
) -> String {
    ack(header, refusal.ack_code, Some(AckError { location, error_code: refusal.error_code, reason }))
}

/// The `AR` for an oversized message, when its MSH (the first segment of `head`) can be read.
/// `kept` is false when its dead letter could not be stored: then the answer is `AE` ("send it
/// again"), as for any refusal without a durable dead letter, never a final `AR`.
pub(super) fn too_large_ack(head: &[u8], limit: usize, kept: bool) -> Option<String> {
    let text = v2_text(head);
    let msh = text.split(['\r', '\n']).next().filter(|s| s.starts_with("MSH"))?;
    let msh = format!("{msh}\r");
    let message = hl7v2::Message::parse(&msh).ok()?;
    let header = message.header();
    if !kept {
        return Some(refusal_ack(
            Some(&header),
            V2Refusal::INTERNAL,
            "",
            "the message could not be kept; send it again",
        ));
    }
    let reason = format!("message too large: over {limit} bytes");
    Some(refusal_ack(Some(&header), V2Refusal::REJECTED, "", &reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_answer_the_message_and_name_the_error() {
        let text = "MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||ADT^A01^ADT_A01|MSG-1|P|2.5.1\rPID|1\r";
        let message = hl7v2::Message::parse(text).expect("valid");
        let header = message.header();
        let accepted = ack(Some(&header), "AA", None);
        let parsed = hl7v2::Message::parse(&accepted).expect("the ACK parses");
        assert_eq!(parsed.get("MSH-3").as_deref(), Some("BRIDGE"));
        assert_eq!(parsed.get("MSH-5").as_deref(), Some("APP"));
        assert_eq!(parsed.get("MSH-9.1").as_deref(), Some("ACK"));
        assert_eq!(parsed.get("MSA-1").as_deref(), Some("AA"));
        assert_eq!(parsed.get("MSA-2").as_deref(), Some("MSG-1"));
        assert!(parsed.segment("ERR").is_none());
        let refused = refusal_ack(Some(&header), V2Refusal::CONTENT, "PID-7", "PID-7: day out of range | really");
        let parsed = hl7v2::Message::parse(&refused).expect("the ACK parses");
        assert_eq!(parsed.get("MSA-1").as_deref(), Some("AE"));
        assert_eq!(parsed.get("ERR-2").as_deref(), Some("PID"));
        assert_eq!(parsed.get("ERR-2.3").as_deref(), Some("7"));
        assert_eq!(parsed.get("ERR-3.1").as_deref(), Some("102"));
        assert_eq!(parsed.get("ERR-8").as_deref(), Some("PID-7: day out of range | really"));
        // A missing segment is named by the segment alone.
        let missing = refusal_ack(Some(&header), V2Refusal::STRUCTURE, "PID", "PID: required segment missing");
        let parsed = hl7v2::Message::parse(&missing).expect("the ACK parses");
        assert_eq!(parsed.get("MSA-1").as_deref(), Some("AR"));
        assert_eq!((parsed.get("ERR-2.1").as_deref(), parsed.get("ERR-2.2").as_deref()), (Some("PID"), Some("1")));
        assert_eq!(parsed.get("ERR-3.1").as_deref(), Some("100"));
        let unparsable = refusal_ack(None, V2Refusal::STRUCTURE, "MSH-2", "bad encoding characters");
        assert_eq!(hl7v2::Message::parse(&unparsable).expect("parses").get("MSA-1").as_deref(), Some("AR"));
    }

    #[test]
    fn an_oversized_message_is_answered_when_its_msh_reads() {
        let msh = b"MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||ADT^A01^ADT_A01|BIG-1|P|2.5.1\r";
        let nak = too_large_ack(msh, 100, true).expect("the MSH is readable");
        let parsed = hl7v2::Message::parse(&nak).expect("the NAK parses");
        assert_eq!(parsed.get("MSA-1").as_deref(), Some("AR"));
        assert_eq!(parsed.get("MSA-2").as_deref(), Some("BIG-1"));
        assert!(parsed.get("ERR-8").is_some_and(|r| r.contains("message too large")), "{nak}");
        assert_eq!(too_large_ack(b"xxxx", 100, true), None, "no MSH, no answer");
        // Its dead letter not kept: "send it again", not a final rejection.
        let not_kept = too_large_ack(msh, 100, false).expect("the MSH is readable");
        assert_eq!(hl7v2::Message::parse(&not_kept).expect("parses").get("MSA-1").as_deref(), Some("AE"));
    }
}
