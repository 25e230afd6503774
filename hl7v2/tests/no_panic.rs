//! No input makes the parser or any accessor panic: truncations and deterministic pseudo-random
//! mutations of the real sample messages, walked down to every subcomponent.

mod common;

use hl7v2::{escape, split_messages, unescape, Delimiters, Message};

/// Characters worth inserting: delimiters, escape material, separators, multi-byte text.
const NOISE: &[char] = &[
    '|', '^', '~', '\\', '&', '#', '\r', '\n', 'X', 'F', '.', '0', 'A', 'M', 'S', 'H', '"', ' ', 'é', '¦', '€', '𝄞',
    '\u{feff}',
];

const PATHS: &[&str] =
    &["MSH-1", "MSH-2", "MSH-9.2", "PID-3", "PID-3[2].4.1", "PID-5.1.1", "OBX-5[3].2", "ZZZ-1", "PID-300"];

/// Parses `text` and walks everything; checks the invariants that must hold for any input.
fn exercise(text: &str) {
    for part in split_messages(text) {
        assert!(text.contains(part));
    }
    let message = match Message::parse(text) {
        Ok(message) => message,
        Err(error) => {
            let _ = (error.to_string(), error.location());
            return;
        }
    };
    let d = *message.delimiters();
    let header = message.header();
    assert!(!header.message_code.is_empty() && !header.control_id.is_empty());
    for path in PATHS {
        let _ = message.get(path);
    }
    for (i, segment) in message.segments().iter().enumerate() {
        assert_eq!(segment.index(), i);
        assert_eq!(segment.id().len(), 3);
        assert!(segment.raw().starts_with(segment.id()));
        assert_eq!(message.segment(segment.id()).map(|s| s.id()), Some(segment.id()));
        let count = segment.field_count();
        assert_eq!(segment.fields().count(), count);
        assert!(segment.field(count + 1).is_none());
        assert!(segment.field(0).is_none());
        for (n, field) in segment.fields().enumerate() {
            if n < 4 {
                assert_eq!(segment.field(n + 1), Some(field));
            }
            let _ = (field.is_empty(), field.is_null(), field.value());
            let reps = field.repetitions().count();
            assert!(reps >= 1);
            assert!(field.repetition(reps + 1).is_none());
            let _ = field.component(1).map(|c| c.value());
            for repetition in field.repetitions() {
                let _ = (repetition.is_empty(), repetition.value());
                let comps = repetition.components().count();
                assert!(
                    comps >= 1 && repetition.component(comps).is_some() && repetition.component(comps + 1).is_none()
                );
                for component in repetition.components() {
                    let _ = (component.is_empty(), component.value());
                    let subs = component.subcomponents().count();
                    assert!(subs >= 1 && component.subcomponent(subs + 1).is_none());
                    for (k, sub) in component.subcomponents().enumerate() {
                        let decoded = component.subcomponent(k + 1).expect("present");
                        assert_eq!(decoded, unescape(sub, &d));
                        assert_eq!(unescape(&escape(&decoded, &d), &d), decoded);
                    }
                }
            }
        }
    }
    let raws: Vec<&str> = message.segments().iter().map(|s| s.raw()).collect();
    assert_eq!(raws.join("\r"), common::normalised_segments(text).join("\r"));
}

fn mutate(rng: &mut fastrand::Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    // Bias a third of the edits towards the MSH header, where the delimiters are read.
    for _ in 0..1 + rng.usize(..4) {
        let len = chars.len();
        let at = if rng.usize(..3) == 0 { rng.usize(..len.min(16) + 1) } else { rng.usize(..len + 1) };
        match rng.usize(..5) {
            0 => chars.insert(at.min(len), NOISE[rng.usize(..NOISE.len())]),
            1 if at < len => {
                chars.remove(at);
            }
            2 if at < len => chars[at] = NOISE[rng.usize(..NOISE.len())],
            3 if at < len => {
                let end = (at + 1 + rng.usize(..12)).min(len);
                let piece: Vec<char> = chars[at..end].to_vec();
                let to = rng.usize(..len + 1);
                chars.splice(to..to, piece);
            }
            _ => chars.truncate(at),
        }
    }
    chars.into_iter().collect()
}

#[test]
fn truncations_at_every_char_boundary() {
    let Some(dir) = common::data_dir() else { return };
    for name in ["ADT01-23.hl7", "PC1-Problem-Add-v2.3.1.hl7", "test-suites/hl7apy/rsp_k22_v27_truncation_char.hl7"] {
        let text = std::fs::read_to_string(dir.join(name)).expect("sample");
        for (i, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
            exercise(&text[..i]);
            exercise(&text[i..]);
        }
    }
}

#[test]
fn random_mutations_of_every_sample() {
    let Some(dir) = common::data_dir() else { return };
    let mut files = common::hl7_files(&dir);
    for folder in ["hl7apy", "python-hl7", "hl7-parser-rs", "hl7-v2-to-fhir-ig", "malformed"] {
        files.extend(common::hl7_files(&dir.join("test-suites").join(folder)));
    }
    let mut rng = fastrand::Rng::with_seed(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for (_, text) in &files {
        // Keep the walk affordable in debug builds: mutate the first few segments.
        let head: String = text.chars().take(1000).collect();
        for _ in 0..100 {
            let mutated = mutate(&mut rng, &head);
            parsed += usize::from(Message::parse(&mutated).is_ok());
            exercise(&mutated);
        }
    }
    // Most mutations leave a parseable message, so the accessors were exercised too.
    assert!(parsed > files.len() * 30, "{parsed}");
}

#[test]
fn random_escape_soup() {
    let mut rng = fastrand::Rng::with_seed(42);
    let delimiters = [
        Delimiters::default(),
        Delimiters { truncation: Some('#'), ..Delimiters::default() },
        Delimiters {
            field: '¦',
            component: '€',
            repetition: '~',
            escape: Some('𝄞'),
            subcomponent: 'é',
            truncation: None,
        },
        Delimiters { escape: None, ..Delimiters::default() },
    ];
    let alphabet: Vec<char> = "\\𝄞FSTREPXHN.brZCM0123456789abcdefABCDEF€é#|^~& ".chars().collect();
    for _ in 0..20_000 {
        let len = rng.usize(..24);
        let text: String = (0..len).map(|_| alphabet[rng.usize(..alphabet.len())]).collect();
        for d in &delimiters {
            let decoded = unescape(&text, d);
            assert_eq!(unescape(&escape(&decoded, d), d), decoded);
        }
    }
}

/// The parser does not recurse (segments, fields, repetitions, components and escape sequences
/// are split by loops), so input of any shape parses on a small stack; this holds it to that.
#[test]
fn hostile_shapes_parse_on_a_small_stack() {
    let mut text = String::from("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5.1\r");
    text.push_str("PID|1||");
    for _ in 0..20_000 {
        text.push_str("\\X00\\\\E\\\\T\\&^~");
    }
    text.push('\r');
    for i in 0..5_000 {
        text.push_str(&format!("ZZ{}|{}\r", i % 10, "|^&~".repeat(8)));
    }
    let outcome = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || {
            let message = hl7v2::Message::parse(&text).expect("parses");
            let pid = message.segment("PID").expect("PID");
            let field = pid.field(3).expect("PID-3");
            let decoded: usize = field
                .repetitions()
                .flat_map(|r| r.components().collect::<Vec<_>>())
                .map(|c| c.subcomponent(1).map_or(0, |s| s.len()))
                .sum();
            (message.segments().len(), decoded)
        })
        .expect("thread")
        .join()
        .expect("no stack overflow");
    assert_eq!(outcome.0, 5_002);
    assert!(outcome.1 > 0);
}
