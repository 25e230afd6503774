//! Escape sequences: resolving them in received values ([`unescape`]) and writing them for
//! outgoing ones ([`escape`]).

use std::borrow::Cow;

use crate::Delimiters;

/// Resolves the escape sequences in a raw value written with these delimiters.
///
/// - `\F\`, `\S\`, `\T\`, `\R\`, `\E\` give the field, component, subcomponent, repetition and
///   escape characters; `\P\` gives the truncation character when the delimiters define one.
/// - `\Xhh...\` gives the bytes `hh...`, decoded as UTF-8 when they are valid UTF-8, else each
///   byte as a Latin-1 character.
/// - `\.br\` gives a line feed; `\H\` and `\N\` (highlighting on and off) are removed.
/// - `\Zxxx\`, character-set switches (`\Cxxyy\`, `\Mxxyyzz\`), other formatting commands and
///   any other sequence are kept literally, as written; so is an escape character with no
///   closing one.
///
/// Returns [`Cow::Borrowed`] when there is nothing to resolve, so the common case does not
/// allocate. With no escape character in the delimiters the value is returned as it is.
///
/// ```
/// use hl7v2::{unescape, Delimiters};
/// let d = Delimiters::default();
/// assert_eq!(unescape(r"Fish \T\ Chips\.br\caf\XC3A9\", &d), "Fish & Chips\ncafé");
/// assert!(matches!(unescape("plain", &d), std::borrow::Cow::Borrowed("plain")));
/// ```
pub fn unescape<'a>(raw: &'a str, delimiters: &Delimiters) -> Cow<'a, str> {
    let Some(esc) = delimiters.escape else { return Cow::Borrowed(raw) };
    let Some(first) = raw.find(esc) else { return Cow::Borrowed(raw) };
    let width = esc.len_utf8();
    let mut out = String::with_capacity(raw.len());
    let mut changed = false;
    out.push_str(raw.get(..first).unwrap_or(""));
    // INVARIANT: `rest` starts with the escape character.
    let mut rest = raw.get(first..).unwrap_or("");
    loop {
        let body = rest.get(width..).unwrap_or("");
        let Some(close) = body.find(esc) else {
            out.push_str(rest);
            break;
        };
        let sequence = body.get(..close).unwrap_or("");
        if resolve(sequence, delimiters, &mut out) {
            changed = true;
        } else {
            out.push(esc);
            out.push_str(sequence);
            out.push(esc);
        }
        let after = body.get(close + width..).unwrap_or("");
        match after.find(esc) {
            Some(next) => {
                out.push_str(after.get(..next).unwrap_or(""));
                rest = after.get(next..).unwrap_or("");
            }
            None => {
                out.push_str(after);
                break;
            }
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(raw)
    }
}

/// Appends what `sequence` (the text between two escape characters) stands for; false when the
/// sequence is to be kept literally.
fn resolve(sequence: &str, d: &Delimiters, out: &mut String) -> bool {
    let c = match sequence {
        "F" => d.field,
        "S" => d.component,
        "T" => d.subcomponent,
        "R" => d.repetition,
        "E" => match d.escape {
            Some(e) => e,
            None => return false,
        },
        "P" => match d.truncation {
            Some(t) => t,
            None => return false,
        },
        ".br" => '\n',
        "H" | "N" => return true,
        _ => return sequence.strip_prefix('X').is_some_and(|hex| decode_hex(hex, out)),
    };
    out.push(c);
    true
}

/// Appends the bytes written as hex digits in `hex`, as UTF-8 when valid, else as Latin-1;
/// false (and nothing appended) when `hex` is empty, odd-length or not all hex digits.
fn decode_hex(hex: &str, out: &mut String) -> bool {
    if hex.is_empty() || !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let bytes: Vec<u8> = hex.as_bytes().chunks_exact(2).map(|pair| (nibble(pair[0]) << 4) | nibble(pair[1])).collect();
    match std::str::from_utf8(&bytes) {
        Ok(text) => out.push_str(text),
        Err(_) => out.extend(bytes.iter().map(|&b| char::from(b))),
    }
    true
}

/// The value of one ASCII hex digit (already checked).
fn nibble(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Escapes the delimiter characters in `text` so that it can be written as a field value (for
/// example in an ACK): field `\F\`, component `\S\`, subcomponent `\T\`, repetition `\R\`,
/// escape `\E\`, truncation (when defined) `\P\`, and CR and LF, which would end the segment,
/// as `\X0D\` and `\X0A\`. [`unescape`] reverses it.
///
/// Returns [`Cow::Borrowed`] when there is nothing to escape. With no escape character in the
/// delimiters nothing can be escaped and the text is returned as it is.
///
/// ```
/// use hl7v2::{escape, Delimiters};
/// assert_eq!(escape("A|B^C", &Delimiters::default()), r"A\F\B\S\C");
/// ```
pub fn escape<'t>(text: &'t str, delimiters: &Delimiters) -> Cow<'t, str> {
    let Some(esc) = delimiters.escape else { return Cow::Borrowed(text) };
    let code = |c: char| -> Option<&'static str> {
        Some(match c {
            _ if c == delimiters.field => "F",
            _ if c == delimiters.component => "S",
            _ if c == delimiters.subcomponent => "T",
            _ if c == delimiters.repetition => "R",
            _ if c == esc => "E",
            _ if Some(c) == delimiters.truncation => "P",
            '\r' => "X0D",
            '\n' => "X0A",
            _ => return None,
        })
    };
    if !text.chars().any(|c| code(c).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match code(c) {
            Some(sequence) => {
                out.push(esc);
                out.push_str(sequence);
                out.push(esc);
            }
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_round_trips() {
        let d = Delimiters { truncation: Some('#'), ..Delimiters::default() };
        for text in ["", "plain", "a|b^c~d\\e&f#g", "line1\r\nline2", "é|ü", "\\\\"] {
            assert_eq!(unescape(&escape(text, &d), &d), text);
        }
    }

    #[test]
    fn literal_sequences_stay_borrowed() {
        let d = Delimiters::default();
        for raw in [r"\Zfoo\", r"\C2842\", r"\M244341\", r"\.sp\", r"open \F", r"\\", r"\X\", r"\X0\", r"\XZZ\"] {
            let out = unescape(raw, &d);
            assert!(matches!(out, Cow::Borrowed(_)), "{raw}");
            assert_eq!(out, raw);
        }
    }

    #[test]
    fn no_escape_character() {
        let d = Delimiters { escape: None, ..Delimiters::default() };
        assert_eq!(unescape(r"\F\", &d), r"\F\");
        assert_eq!(escape("a|b", &d), "a|b");
    }
}
