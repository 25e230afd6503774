//! Parse errors: kinds, locations and messages.

use hl7v2::{Message, ParseError, ParseErrorKind};

const MSH: &str = "MSH|^~\\&|APP|FAC|RAPP|RFAC|20240101120000||ADT^A01|CTRL1|P|2.5";

fn error(text: &str) -> ParseError {
    Message::parse(text).expect_err("must not parse")
}

#[test]
fn empty_input() {
    for text in ["", "\u{feff}", "\r\n\r\n", "  \n\t\r"] {
        let e = error(text);
        assert_eq!(e.kind, ParseErrorKind::Empty);
        assert_eq!(e.location(), "");
        assert_eq!(e.to_string(), "the message is empty");
    }
}

#[test]
fn first_segment_not_msh() {
    let e = error("PID|1||123\rMSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5");
    assert_eq!(e.kind, ParseErrorKind::NoMsh);
    assert_eq!((e.segment.as_deref(), e.segment_index), (None, Some(0)));
    assert_eq!(e.to_string(), "segment 1: the first segment is not MSH");
    assert_eq!(error("\n\nhello world").kind, ParseErrorKind::NoMsh);
    assert_eq!(error(&format!("FHS|^~\\&\r{MSH}")).kind, ParseErrorKind::NoMsh);
}

#[test]
fn bad_segment_id_names_its_position() {
    for bad in ["pid|1", "PI|1", "PIDX|1", "P-D|1", "SMITH^JOHN", " PID|1", "PÏD|1"] {
        let e = error(&format!("{MSH}\nEVN|A01\n{bad}\nPV1|1"));
        assert_eq!(e.kind, ParseErrorKind::BadSegmentId, "{bad}");
        assert_eq!((e.segment.as_deref(), e.segment_index, e.field), (None, Some(2), None), "{bad}");
        assert_eq!(e.location(), "segment 3");
        assert_eq!(e.to_string(), "segment 3: segment id must be 3 uppercase letters or digits");
    }
    // Blank lines are not counted.
    assert_eq!(error(&format!("{MSH}\n\nEVN|A01\n\n\nbad|x")).location(), "segment 3");
}

#[test]
fn bare_segment_id_is_accepted() {
    let text = format!("{MSH}\rNTE\rZZ1\rPID|1");
    let message = Message::parse(&text).expect("parses");
    let nte = message.segment("NTE").expect("NTE");
    assert_eq!((nte.field_count(), nte.field(1)), (0, None));
    assert_eq!(message.segments().len(), 4);
}

#[test]
fn missing_control_id() {
    for text in ["MSH|^~\\&|A|B|C|D|||ADT^A01||P|2.5", "MSH|^~\\&|A|B|C|D|||ADT^A01"] {
        let e = error(text);
        assert_eq!(e.kind, ParseErrorKind::MissingControlId);
        assert_eq!(e.location(), "MSH-10");
        assert_eq!(e.to_string(), "MSH-10: the message control id is empty");
    }
}

#[test]
fn missing_message_type() {
    for text in ["MSH|^~\\&|A|B|C|D|||||P|2.5", "MSH|^~\\&|A|B|C|D|||^A01|1|P|2.5", "MSH|^~\\&", "MSH|^~\\&|A"] {
        let e = error(text);
        assert_eq!(e.kind, ParseErrorKind::MissingMessageType, "{text}");
        assert_eq!(e.location(), "MSH-9");
        assert_eq!(e.to_string(), "MSH-9: the message type is empty");
    }
}

#[test]
fn bad_field_separator() {
    for text in ["MSH", "MSHA^~\\&", "MSH ^~\\&", "MSH\r|^~\\&", "MSH1"] {
        let e = error(text);
        assert_eq!(e.kind, ParseErrorKind::BadFieldSeparator, "{text:?}");
        assert_eq!(e.location(), "MSH-1");
    }
}

#[test]
fn bad_encoding_characters() {
    for enc in ["", "^", "^~\\", "^~\\&#$", "^^\\&", "^~\\|", "^~a&", "^~ &", "^~\\&&", "~~\\&"] {
        let e = error(&format!("MSH|{enc}|A|B|C|D|||ADT^A01|1|P|2.5"));
        assert_eq!(e.kind, ParseErrorKind::BadEncodingCharacters, "{enc:?}");
        assert_eq!(e.to_string(), "MSH-2: encoding characters must be 4 or 5 distinct characters");
    }
}

#[test]
fn second_msh_in_one_message() {
    let e = error(&format!("{MSH}\rPID|1\r{MSH}\rPID|2"));
    assert_eq!(e.kind, ParseErrorKind::DuplicateMsh);
    assert_eq!((e.segment.as_deref(), e.segment_index), (Some("MSH"), Some(2)));
    assert_eq!(e.location(), "segment 3 (MSH)");
    assert!(e.to_string().starts_with("segment 3 (MSH): a second MSH segment"));
}

#[test]
fn errors_are_std_errors() {
    fn takes(_: &(dyn std::error::Error + Send + Sync + 'static)) {}
    takes(&error(""));
}
