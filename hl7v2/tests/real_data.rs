//! The parser over the real sample messages in `../shared/data/hl7v2`.

mod common;

use std::collections::HashMap;

use common::{data_dir, hl7_files, name, normalised_segments};
use hl7v2::{split_messages, Message, ParseErrorKind};

fn valid_id(id: &str) -> bool {
    id.len() == 3 && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Checks what every well-formed message must satisfy; returns the parsed message.
fn check_message<'a>(label: &str, text: &'a str) -> Message<'a> {
    let message = Message::parse(text).unwrap_or_else(|e| panic!("{label}: {e}"));
    let header = message.header();
    assert!(!header.message_code.is_empty(), "{label}: message code");
    assert!(!header.control_id.is_empty(), "{label}: control id");
    assert!(header.version.is_some(), "{label}: version");
    let msh = &message.segments()[0];
    assert_eq!(msh.id(), "MSH", "{label}");
    assert_eq!(msh.field(1).map(|f| f.raw()), Some("|"), "{label}: MSH-1");
    assert_eq!(msh.field(9).and_then(|f| f.component(1)).map(|c| c.raw()), Some(header.message_code), "{label}");
    for (i, segment) in message.segments().iter().enumerate() {
        assert!(valid_id(segment.id()), "{label}: segment {i} id");
        assert_eq!(segment.index(), i, "{label}");
        assert_eq!(segment.fields().count(), segment.field_count(), "{label}: segment {i}");
    }
    let joined: Vec<&str> = message.segments().iter().map(|s| s.raw()).collect();
    assert_eq!(joined.join("\r"), normalised_segments(text).join("\r"), "{label}: round trip");
    message
}

#[test]
fn every_sample_message_parses_and_round_trips() {
    let Some(dir) = data_dir() else { return };
    let files = hl7_files(&dir);
    assert_eq!(files.len(), 120, "sample count");
    let mut with_bom = 0;
    let mut versions = HashMap::new();
    for (path, text) in &files {
        with_bom += usize::from(text.starts_with('\u{feff}'));
        let message = check_message(&name(path), text);
        assert_eq!(message.segments()[0].field(2).map(|f| f.raw()), Some("^~\\&"));
        assert_eq!(*message.delimiters(), hl7v2::Delimiters::default());
        *versions.entry(message.header().version.unwrap_or_default().to_owned()).or_insert(0) += 1;
    }
    assert_eq!(with_bom, 24);
    for version in ["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.8"] {
        assert!(versions.contains_key(version), "no sample of version {version}: {versions:?}");
    }
}

/// A minimal CSV reader (quoted fields with doubled quotes), enough for SOURCES.csv.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut cell)),
            ('\n', false) => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            _ => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// SOURCES.csv as a map from file (relative to `test-suites/`) to its columns by name.
fn sources(dir: &std::path::Path) -> HashMap<String, HashMap<String, String>> {
    let text = std::fs::read_to_string(dir.join("test-suites/SOURCES.csv")).expect("SOURCES.csv");
    let mut rows = csv_rows(&text).into_iter();
    let header = rows.next().expect("header row");
    rows.map(|row| {
        let columns: HashMap<String, String> = header.iter().cloned().zip(row).collect();
        (columns["file"].clone(), columns)
    })
    .collect()
}

/// The one test-suite message that is not accepted: its MSH-10 (message control id, required in
/// every HL7 v2 message) is empty, which [`Message::parse`] refuses.
const EMPTY_CONTROL_ID: &str = "izgateway-v2tofhir/msg64-ACK_Q11_ACK.hl7";

#[test]
fn test_suite_messages_parse() {
    let Some(dir) = data_dir() else { return };
    let sources = sources(&dir);
    let mut count = 0;
    let mut folders: Vec<_> = std::fs::read_dir(dir.join("test-suites"))
        .expect("test-suites")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir() && !p.ends_with("malformed"))
        .collect();
    folders.sort();
    assert_eq!(folders.len(), 5);
    for folder in folders {
        for (path, text) in hl7_files(&folder) {
            let key = format!("{}/{}", name(&folder), name(&path));
            let source = sources.get(&key).unwrap_or_else(|| panic!("{key} not in SOURCES.csv"));
            let messages = split_messages(&text);
            assert_eq!(messages.len(), 1, "{key}: one message");
            if key == EMPTY_CONTROL_ID {
                let error = Message::parse(messages[0]).expect_err(&key);
                assert_eq!((&error.kind, error.location().as_str()), (&ParseErrorKind::MissingControlId, "MSH-10"));
                count += 1;
                continue;
            }
            let message = check_message(&key, messages[0]);
            let msh = &message.segments()[0];
            assert_eq!(msh.field(9).map(|f| f.raw()), Some(source["message_type"].as_str()), "{key}: MSH-9");
            assert_eq!(message.header().version, Some(source["version"].as_str()), "{key}: MSH-12");
            let expected: usize = source["segments"].parse().expect("segment count");
            if key == "python-hl7/batch_adt_a04.hl7" {
                // FHS, BHS, BTS and FTS are counted in SOURCES.csv but are not in the message.
                assert_eq!(message.segments().len(), expected - 4, "{key}");
                assert!(Message::parse(&text).is_err(), "{key}: a batch is not one message");
                assert!(text.starts_with("FHS|"));
            } else {
                assert_eq!(messages[0], text, "{key}: a single message is yielded whole");
                assert_eq!(message.segments().len(), expected, "{key}: segment count");
            }
            count += 1;
        }
    }
    assert_eq!(count, 70);
}

#[test]
fn malformed_messages_are_errors_at_msh_2_or_msh_9() {
    let Some(dir) = data_dir() else { return };
    let sources = sources(&dir);
    let files = hl7_files(&dir.join("test-suites/malformed"));
    assert_eq!(files.len(), 7);
    for (path, text) in &files {
        let key = format!("malformed/{}", name(path));
        let notes = &sources.get(&key).unwrap_or_else(|| panic!("{key} not in SOURCES.csv"))["notes"];
        let error = Message::parse(text).expect_err(&key);
        let (location, kind) = if notes.contains("InvalidEncodingChars") {
            ("MSH-2", ParseErrorKind::BadEncodingCharacters)
        } else {
            assert!(notes.contains("MSH-9 empty"), "{key}: unexpected note");
            ("MSH-9", ParseErrorKind::MissingMessageType)
        };
        assert_eq!(error.location(), location, "{key}");
        assert_eq!(error.kind, kind, "{key}");
        assert_eq!((error.segment.as_deref(), error.segment_index), (Some("MSH"), Some(0)), "{key}");
        let display = error.to_string();
        assert!(display.starts_with(&format!("{location}: ")), "{key}: {display}");
        // No field value leaks into the message (MSH-2 included: it is not ours to echo).
        for value in text.trim_end().split('|').skip(1).filter(|v| v.len() >= 2) {
            assert!(!display.contains(value), "{key}: Display quotes a field value");
        }
    }
}
