//! The accessors, delimiters, escapes, segment separators and paths, on small built messages.

mod common;

use std::borrow::Cow;

use hl7v2::{split_messages, unescape, Delimiters, Message};

const MSH: &str =
    "MSH|^~\\&|SENDAPP^1.2.3^ISO|SENDFAC|RECVAPP|RECVFAC|20240102030405+0100||ADT^A01^ADT_A01|CTRL-1|P^T|2.5.1";

fn parse(text: &str) -> Message<'_> {
    Message::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn header_fields() {
    let text = format!("{MSH}\rPID|1");
    let h = parse(&text).header();
    assert_eq!(h.sending_application, Some("SENDAPP"));
    assert_eq!(h.sending_facility, Some("SENDFAC"));
    assert_eq!(h.receiving_application, Some("RECVAPP"));
    assert_eq!(h.receiving_facility, Some("RECVFAC"));
    assert_eq!((h.message_code, h.trigger_event, h.structure), ("ADT", Some("A01"), Some("ADT_A01")));
    assert_eq!(h.control_id, "CTRL-1");
    assert_eq!(h.processing_id, Some("P"));
    assert_eq!(h.version, Some("2.5.1"));
    assert_eq!(h.timestamp, Some("20240102030405+0100"));

    let bare = parse("MSH|^~\\&|||||||ORU|7");
    let h = bare.header();
    assert_eq!(
        (h.sending_application, h.trigger_event, h.structure, h.version, h.timestamp),
        (None, None, None, None, None)
    );
    assert_eq!((h.message_code, h.control_id), ("ORU", "7"));
}

#[test]
fn msh_field_numbering() {
    let text = format!("{MSH}\rPID|1");
    let message = parse(&text);
    let msh = message.segment("MSH").expect("MSH");
    assert_eq!(msh.field(0), None);
    let f1 = msh.field(1).expect("MSH-1");
    assert_eq!((f1.raw(), f1.value().as_ref()), ("|", "|"));
    let f2 = msh.field(2).expect("MSH-2");
    assert_eq!((f2.raw(), f2.value().as_ref()), ("^~\\&", "^~\\&"));
    assert_eq!(f2.repetitions().count(), 1);
    assert_eq!(f2.component(1).map(|c| c.raw()), Some("^~\\&"));
    assert_eq!(f2.component(2), None);
    assert_eq!(msh.field(3).map(|f| f.raw()), Some("SENDAPP^1.2.3^ISO"));
    assert_eq!(msh.field(3).map(|f| f.value()).as_deref(), Some("SENDAPP"));
    assert_eq!(msh.field(10).map(|f| f.raw()), Some("CTRL-1"));
    assert_eq!(msh.field(12).map(|f| f.raw()), Some("2.5.1"));
    assert_eq!(msh.field(13), None);
    assert_eq!(msh.field_count(), 12);
    let fields: Vec<&str> = msh.fields().map(|f| f.raw()).collect();
    assert_eq!(&fields[..3], ["|", "^~\\&", "SENDAPP^1.2.3^ISO"]);
    assert_eq!(message.get("MSH-1").as_deref(), Some("|"));
    assert_eq!(message.get("MSH-2").as_deref(), Some("^~\\&"));
    assert_eq!(message.get("MSH-3").as_deref(), Some("SENDAPP"));
    assert_eq!(message.get("MSH-3.2").as_deref(), Some("1.2.3"));
    assert_eq!(message.get("MSH-9.2").as_deref(), Some("A01"));
    // Other segments count from the first field after the id.
    let pid = message.segment("PID").expect("PID");
    assert_eq!((pid.field(0), pid.field(1).map(|f| f.raw()), pid.field(2)), (None, Some("1"), None));
    assert_eq!(pid.field_count(), 1);
}

#[test]
fn repetitions_components_subcomponents() {
    let text = format!("{MSH}\rPID|1||123^^^HOSP&1.2.3&ISO^MR~456^^^SSA&2.16&ISO^SS||DOE^JANE^^^^^L|\"\"||F|||\r");
    let message = parse(&text);
    let pid = message.segment("PID").expect("PID");
    let ids = pid.field(3).expect("PID-3");
    assert!(!ids.is_empty() && !ids.is_null());
    assert_eq!(ids.repetitions().count(), 2);
    assert_eq!(ids.repetition(0), None);
    assert_eq!(ids.repetition(3), None);
    let second = ids.repetition(2).expect("second");
    assert_eq!(second.raw(), "456^^^SSA&2.16&ISO^SS");
    assert_eq!(second.value(), "456");
    assert_eq!(second.components().count(), 5);
    let authority = second.component(4).expect("CX.4");
    assert_eq!(authority.subcomponents().collect::<Vec<_>>(), ["SSA", "2.16", "ISO"]);
    assert_eq!(authority.subcomponent(2).as_deref(), Some("2.16"));
    assert_eq!(authority.subcomponent(4), None);
    assert_eq!(authority.value(), "SSA");
    assert!(second.component(2).expect("CX.2").is_empty());
    assert_eq!(ids.component(4).map(|c| c.raw()), Some("HOSP&1.2.3&ISO"));
    assert_eq!(ids.value(), "123");
    assert_eq!(message.get("PID-3[2].4.1").as_deref(), Some("SSA"));
    assert_eq!(message.get("PID-3[2].4.3").as_deref(), Some("ISO"));
    assert_eq!(message.get("PID-3[2]").as_deref(), Some("456"));
    assert_eq!(message.get("PID-3.4.2").as_deref(), Some("1.2.3"));
    assert_eq!(message.get("PID-3").as_deref(), Some("123"));
    assert_eq!(message.get("PID-5.7").as_deref(), Some("L"));
    assert_eq!(message.get("PID-5.8"), None);
    assert_eq!(message.get("PID-3[3]"), None);
    assert_eq!(message.get("PID-4").as_deref(), Some(""));
    assert_eq!(message.get("PID-99"), None);
    assert_eq!(message.get("OBX-1"), None);
    for bad in ["", "PID", "PID-", "PID-0", "PID-3[0]", "PID-3[2", "PID-3.", "PID-3.1.1.1", "PID-3x", "PI-3", "PID-3.0"]
    {
        assert_eq!(message.get(bad), None, "{bad}");
    }
    // Explicit null and empty fields.
    let null = pid.field(6).expect("PID-6");
    assert!(null.is_null() && !null.is_empty());
    assert_eq!(null.value(), "\"\"");
    let empty = pid.field(7).expect("PID-7");
    assert!(empty.is_empty() && !empty.is_null());
    assert_eq!(empty.repetitions().count(), 1);
    assert_eq!(empty.component(1).map(|c| c.is_empty()), Some(true));
    assert_eq!(empty.component(2), None);
    // Trailing empty fields are present.
    assert_eq!(pid.field_count(), 11);
    assert!(pid.field(11).expect("PID-11").is_empty());
    assert_eq!(pid.field(12), None);
}

#[test]
fn trailing_empty_components() {
    let text = format!("{MSH}\rPV1|1|I|WARD^101^1^^^^|||");
    let message = parse(&text);
    let location = message.segment("PV1").and_then(|s| s.field(3)).expect("PV1-3");
    assert_eq!(location.repetition(1).map(|r| r.components().count()), Some(7));
    assert_eq!(location.component(7).map(|c| c.is_empty()), Some(true));
    assert_eq!(location.component(8), None);
    assert_eq!(message.get("PV1-3.6").as_deref(), Some(""));
}

#[test]
fn many_fields() {
    let mut text = format!("{MSH}\rZXT");
    for i in 1..=400 {
        text.push_str(&format!("|v{i}"));
    }
    let message = parse(&text);
    let z = message.segment("ZXT").expect("ZXT");
    assert_eq!(z.field_count(), 400);
    assert_eq!(z.field(400).map(|f| f.raw()), Some("v400"));
    assert_eq!(z.field(401), None);
    assert_eq!(message.get("ZXT-250").as_deref(), Some("v250"));
    assert_eq!(z.fields().count(), 400);
}

#[test]
fn custom_delimiters() {
    let text = "MSH#$%*!#APP$1.2#FAC#####ADT$A04#C1#P#2.4\rPID#1##a$b!c!d%e$f##x*F*y*S*z*T*w*R*v*E*u#\"\"";
    let message = parse(text);
    let d = *message.delimiters();
    assert_eq!(
        d,
        Delimiters {
            field: '#',
            component: '$',
            repetition: '%',
            escape: Some('*'),
            subcomponent: '!',
            truncation: None
        }
    );
    assert_eq!(d.encoding_characters(), "$%*!");
    let h = message.header();
    assert_eq!((h.sending_application, h.message_code, h.trigger_event), (Some("APP"), "ADT", Some("A04")));
    assert_eq!(message.get("MSH-1").as_deref(), Some("#"));
    assert_eq!(message.get("MSH-2").as_deref(), Some("$%*!"));
    let pid3 = message.segment("PID").and_then(|s| s.field(3)).expect("PID-3");
    assert_eq!(pid3.repetitions().count(), 2);
    assert_eq!(pid3.component(2).map(|c| c.subcomponents().collect::<Vec<_>>()), Some(vec!["b", "c", "d"]));
    assert_eq!(message.get("PID-3.2.3").as_deref(), Some("d"));
    assert_eq!(message.get("PID-3[2].2").as_deref(), Some("f"));
    assert_eq!(message.get("PID-5").as_deref(), Some("x#y$z!w%v*u"));
    assert!(message.segment("PID").and_then(|s| s.field(6)).is_some_and(|f| f.is_null()));
    // Pipes and carets are plain data with these delimiters.
    let text = "MSH#$%*!#A|B^C#F#R#RF#T##ORU$R01#1#P#2.5";
    assert_eq!(parse(text).header().sending_application, Some("A|B^C"));
}

#[test]
fn non_ascii_delimiters_and_data() {
    let text = "MSH¦·~\\&¦APP¦FAC¦¦¦¦¦ADT·A01¦1¦P¦2.5\nPID¦1¦¦Zoë·Ångström·\\F\\";
    let message = parse(text);
    assert_eq!(message.delimiters().field, '¦');
    assert_eq!(message.get("PID-3.2").as_deref(), Some("Ångström"));
    assert_eq!(message.get("PID-3.3").as_deref(), Some("¦"));
    assert_eq!(message.get("MSH-1").as_deref(), Some("¦"));
}

#[test]
fn five_encoding_characters() {
    let text = "MSH|^~\\&#|A|B|C|D|20110708163514||RSP^K22^RSP_K21|1234|D|2.7\rZZZ|a\\P\\b#c";
    let message = parse(text);
    assert_eq!(message.delimiters().truncation, Some('#'));
    assert_eq!(message.delimiters().encoding_characters(), "^~\\&#");
    assert_eq!(message.get("MSH-2").as_deref(), Some("^~\\&#"));
    assert_eq!(message.get("ZZZ-1").as_deref(), Some("a#b#c"));
}

#[test]
fn hl7apy_v27_message_with_truncation_character() {
    let Some(dir) = common::data_dir() else { return };
    let text = std::fs::read_to_string(dir.join("test-suites/hl7apy/rsp_k22_v27_truncation_char.hl7")).expect("file");
    let message = parse(&text);
    assert_eq!(message.delimiters().truncation, Some('#'));
    assert_eq!(message.delimiters().escape, Some('\\'));
    assert_eq!(message.header().version, Some("2.7"));
    assert_eq!((message.header().message_code, message.header().structure), ("RSP", Some("RSP_K21")));
    assert_eq!(message.get("PID-3.4.2").as_deref(), Some("1.3.6.1.4.1.21367.2011.2.5.17"));
}

#[test]
fn versions_2_3_to_2_8() {
    for version in ["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.2"] {
        let text =
            format!("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|{version}^^2.16.840.1.113883.12.104|||AL|NE\rEVN|A01");
        let message = parse(&text);
        assert_eq!(message.header().version, Some(version));
        assert_eq!(message.get("MSH-12.3").as_deref(), Some("2.16.840.1.113883.12.104"));
    }
}

#[test]
fn escapes() {
    let d = Delimiters::default();
    let cases = [
        (r"a\F\b", "a|b"),
        (r"a\S\b", "a^b"),
        (r"a\T\b", "a&b"),
        (r"a\R\b", "a~b"),
        (r"a\E\b", "a\\b"),
        (r"\X0D0A\", "\r\n"),
        (r"caf\XC3A9\", "café"),
        (r"caf\Xe9\", "café"),
        (r"\X41424344\", "ABCD"),
        (r"line1\.br\line2", "line1\nline2"),
        (r"\H\bold\N\ text", "bold text"),
        (r"unterminated \F", r"unterminated \F"),
        (r"\Zcustom\ kept", r"\Zcustom\ kept"),
        (r"\C2842\kanji\M2442\", r"\C2842\kanji\M2442\"),
        (r"\.sp2\x", r"\.sp2\x"),
        (r"\P\", r"\P\"),
        (r"\F\\S\\T\", "|^&"),
        (r"\X4\ \XG0\", r"\X4\ \XG0\"),
        (r"\F\ then \unterminated", r"| then \unterminated"),
        ("plain", "plain"),
        ("", ""),
    ];
    for (raw, expected) in cases {
        assert_eq!(unescape(raw, &d), expected, "{raw}");
    }
    assert!(matches!(unescape("no escapes here", &d), Cow::Borrowed(_)));
    let with_truncation = Delimiters { truncation: Some('#'), ..d };
    assert_eq!(unescape(r"\P\", &with_truncation), "#");
    let text = format!("{MSH}\rNTE|1||Fish \\T\\ chips\\.br\\\\H\\hot\\N\\|x\\F\\y^z");
    let message = parse(&text);
    assert_eq!(message.get("NTE-3").as_deref(), Some("Fish & chips\nhot"));
    let field4 = message.segment("NTE").and_then(|s| s.field(4)).expect("NTE-4");
    assert_eq!(field4.value(), "x|y");
    assert_eq!(field4.component(1).map(|c| c.raw()), Some("x\\F\\y"));
    assert!(matches!(message.get("MSH-3"), Some(Cow::Borrowed("SENDAPP"))));
    assert_eq!(hl7v2::escape("a|b^c&d~e\\f\rg", &d), r"a\F\b\S\c\T\d\R\e\E\f\X0D\g");
}

#[test]
fn segment_separators() {
    let body = ["PID|1||123", "PV1|1|I", "ZPD|custom"];
    let variants = [
        format!("{MSH}\r{}\r{}\r{}\r", body[0], body[1], body[2]),
        format!("{MSH}\n{}\n{}\n{}", body[0], body[1], body[2]),
        format!("{MSH}\r\n{}\r\n{}\r\n{}\r\n", body[0], body[1], body[2]),
        format!("\u{feff}{MSH}\r{}\n{}\r\n\r\n{}\n\n  \n\t\r\n", body[0], body[1], body[2]),
        format!("{MSH}\n\r{}\r\r{}\n\n{}", body[0], body[1], body[2]),
    ];
    for text in &variants {
        let message = parse(text);
        let raws: Vec<&str> = message.segments().iter().map(|s| s.raw()).collect();
        assert_eq!(raws, [MSH, body[0], body[1], body[2]], "{text:?}");
        let indexes: Vec<usize> = message.segments().iter().map(|s| s.index()).collect();
        assert_eq!(indexes, [0, 1, 2, 3]);
        assert_eq!(message.get("ZPD-1").as_deref(), Some("custom"));
    }
    // A second BOM is data, not skipped.
    assert!(Message::parse(&format!("\u{feff}\u{feff}{MSH}")).is_err());
}

#[test]
fn z_segments_and_lookups() {
    let text = format!("{MSH}\rPID|1\rZPD|a\rOBX|1|NM|x\rZPD|b\rOBX|2|ST|y\rZ01|c");
    let message = parse(&text);
    assert_eq!(message.segments_named("ZPD").map(|s| s.index()).collect::<Vec<_>>(), [2, 4]);
    assert_eq!(
        message.segments_named("OBX").filter_map(|s| s.field(3)).map(|f| f.raw()).collect::<Vec<_>>(),
        ["x", "y"]
    );
    assert_eq!(message.segment("ZPD").and_then(|s| s.field(1)).map(|f| f.raw()), Some("a"));
    assert_eq!(message.get("ZPD-1").as_deref(), Some("a"));
    assert_eq!(message.get("Z01-1").as_deref(), Some("c"));
    assert!(message.segment("ZZZ").is_none());
    assert_eq!(message.segments_named("NK1").count(), 0);
    let ids: Vec<&str> = message.segments().iter().map(|s| s.id()).collect();
    assert_eq!(ids, ["MSH", "PID", "ZPD", "OBX", "ZPD", "OBX", "Z01"]);
}

#[test]
fn debug_output_does_not_show_values() {
    let text = format!("{MSH}\rPID|1||SECRET-ID||DOE^JANE");
    let message = parse(&text);
    let pid = message.segment("PID").expect("PID");
    let field = pid.field(5).expect("PID-5");
    let shown = format!(
        "{message:?} {pid:?} {field:?} {:?} {:?}",
        field.repetition(1).expect("rep"),
        field.component(1).expect("comp")
    );
    assert!(!shown.contains("SECRET") && !shown.contains("DOE") && !shown.contains("JANE"), "{shown}");
    assert!(shown.contains("PID"));
}

#[test]
fn split_batches_and_concatenated_messages() {
    let a = format!("{MSH}\rPID|1\r");
    let b = "MSH|^~\\&|X|Y|||||ORU^R01|2|P|2.5\nOBR|1\nOBX|1\n";
    assert_eq!(split_messages(&a), [a.as_str()]);
    let joined = format!("{a}{b}");
    assert_eq!(split_messages(&joined), [a.as_str(), b]);
    let batch = format!("\u{feff}FHS|^~\\&|F\rBHS|^~\\&|B\r{a}\r\n\n{b}BTS|2\rFTS|1");
    let messages = split_messages(&batch);
    assert_eq!(messages, [a.as_str(), b]);
    for m in messages {
        parse(m);
    }
    let no_terminator = format!("{MSH}\rPID|1");
    assert_eq!(split_messages(&no_terminator), [no_terminator.as_str()]);
    // Stray segments before the first MSH are kept, so that parsing reports them.
    let stray = format!("PID|0\r{a}");
    let parts = split_messages(&stray);
    assert_eq!(parts, ["PID|0\r", a.as_str()]);
    assert!(Message::parse(parts[0]).is_err());
    assert!(split_messages("").is_empty());
    assert!(split_messages("FHS|^~\\&\rFTS|0\r\n").is_empty());
    // An id that merely starts like an envelope segment is not one.
    assert_eq!(split_messages(&format!("{a}FHSX|1\r")).len(), 1);
}
