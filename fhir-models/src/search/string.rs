//! String search over exact-match terms. FHIR's default string match is "starts with, ignoring
//! case and accents": a value is indexed by every prefix of its normalised form (compatibility
//! forms folded, accents of Latin, Greek and Cyrillic letters removed, lower case, white space
//! collapsed) up to [`PREFIX_CHARS`] characters, and, for `:exact`, by the value as written. The
//! store hashes each term, so what the index shows of a string is how many prefixes it has (its
//! length, up to the cap) and which records share a prefix.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Letters whose combining marks are accents (Latin, Greek, Cyrillic and their extensions);
/// elsewhere a mark is part of the letter (a Devanagari vowel sign), so it is kept.
fn accents_are_marks(base: char) -> bool {
    matches!(base, '\u{0}'..='\u{052F}' | '\u{1E00}'..='\u{1FFF}')
}

use super::TermError;

/// The longest prefix indexed, in characters; a longer query value is refused (it could only
/// be matched by decrypting every candidate).
pub const PREFIX_CHARS: usize = 32;

/// The parts of a `HumanName` and an `Address` a string parameter on them matches.
const PARTS: [&str; 11] =
    ["family", "given", "prefix", "suffix", "text", "line", "city", "district", "state", "postalCode", "country"];

/// Compatibility forms folded (full-width letters), accents of Latin, Greek and Cyrillic letters
/// removed, recomposed (a Hangul syllable stays one), lower case (a final sigma as a sigma), runs
/// of white space made one space, trimmed. Only the start of a long text is looked at: no more is
/// indexed.
pub fn normalise(text: &str) -> String {
    let start: String = text.chars().take(PREFIX_CHARS * 4).collect();
    let mut base = ' ';
    let stripped: String = start
        .nfkd()
        .filter(|&c| {
            if is_combining_mark(c) {
                return !accents_are_marks(base);
            }
            base = c;
            true
        })
        .collect();
    let mut folded = String::with_capacity(stripped.len());
    for word in stripped
        .nfc()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
        .collect::<String>()
        .split_whitespace()
    {
        if !folded.is_empty() {
            folded.push(' ');
        }
        folded.push_str(word);
    }
    folded
}

fn push_value(text: &str, terms: &mut Vec<String>) {
    terms.push(format!("sx|{text}"));
    let normalised = normalise(text);
    let mut prefix = String::new();
    for ch in normalised.chars().take(PREFIX_CHARS) {
        prefix.push(ch);
        terms.push(format!("sp|{prefix}"));
    }
}

/// The index terms of a string element: a string, or the parts of a name or an address.
pub(crate) fn value_terms(item: &serde_json::Value, terms: &mut Vec<String>) {
    match item {
        serde_json::Value::String(text) => push_value(text, terms),
        serde_json::Value::Object(object) => {
            for part in PARTS {
                match object.get(part) {
                    Some(serde_json::Value::String(text)) => push_value(text, terms),
                    Some(serde_json::Value::Array(items)) => {
                        items.iter().filter_map(serde_json::Value::as_str).for_each(|text| push_value(text, terms));
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// The term one string query value matches: a prefix, or with `exact` the value as written.
pub(crate) fn query(code: &str, value: &str, exact: bool) -> Result<String, TermError> {
    if exact {
        if value.is_empty() {
            return Err(TermError(format!("{code}:exact has an empty value")));
        }
        return Ok(format!("sx|{value}"));
    }
    let normalised = normalise(value);
    if normalised.is_empty() {
        return Err(TermError(format!("{code} has an empty value")));
    }
    if normalised.chars().count() > PREFIX_CHARS {
        return Err(TermError(format!(
            "{code}: string values are searched by their first {PREFIX_CHARS} characters on this server; give at most that many (or use :exact)"
        )));
    }
    Ok(format!("sp|{normalised}"))
}
