//! The delimiters of a message, as declared by MSH-1 and MSH-2.

use crate::error::ParseErrorKind;

/// The separator and encoding characters of a message: MSH-1 (field) and MSH-2 (component,
/// repetition, escape, subcomponent and, from v2.7, truncation).
///
/// [`Delimiters::default`] is the usual `|^~\&` with no truncation character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delimiters {
    /// Field separator (MSH-1), usually `|`.
    pub field: char,
    /// Component separator, usually `^`.
    pub component: char,
    /// Repetition separator, usually `~`.
    pub repetition: char,
    /// Escape character, usually `\`. [`Message::parse`](crate::Message::parse) always sets it
    /// (ER7 requires it); `None` turns off escape handling in [`unescape`](crate::unescape) and
    /// [`escape`](crate::escape).
    pub escape: Option<char>,
    /// Subcomponent separator, usually `&`.
    pub subcomponent: char,
    /// Truncation character (v2.7 and later, usually `#`), when MSH-2 declares one.
    pub truncation: Option<char>,
}

impl Default for Delimiters {
    fn default() -> Self {
        Self { field: '|', component: '^', repetition: '~', escape: Some('\\'), subcomponent: '&', truncation: None }
    }
}

/// Delimiters that never split and never unescape: CR cannot occur inside a segment line, since
/// lines are split on it. Used for MSH-1 and MSH-2, which are returned raw.
pub(crate) const OPAQUE: Delimiters =
    Delimiters { field: '\r', component: '\r', repetition: '\r', escape: None, subcomponent: '\r', truncation: None };

impl Delimiters {
    /// The encoding characters as written in MSH-2: component, repetition, escape, subcomponent,
    /// then the truncation character when there is one (`"^~\\&"` for the default).
    pub fn encoding_characters(&self) -> String {
        [Some(self.component), Some(self.repetition), self.escape, Some(self.subcomponent), self.truncation]
            .into_iter()
            .flatten()
            .collect()
    }

    /// Reads the delimiters from an MSH line (which starts with `MSH`). On error, gives the kind
    /// and the MSH field at fault.
    pub(crate) fn from_msh(line: &str) -> Result<Self, (ParseErrorKind, usize)> {
        let rest = line.strip_prefix("MSH").ok_or((ParseErrorKind::NoMsh, 0))?;
        let field = rest.chars().next().ok_or((ParseErrorKind::BadFieldSeparator, 1))?;
        if !usable(field) {
            return Err((ParseErrorKind::BadFieldSeparator, 1));
        }
        let after = rest.get(field.len_utf8()..).unwrap_or("");
        let encoding = after.split(field).next().unwrap_or("");
        let bad = (ParseErrorKind::BadEncodingCharacters, 2);
        let mut chars = [field; 5];
        let mut count = 0;
        for c in encoding.chars() {
            // chars[count] still holds the field separator, so this checks c against the
            // characters so far and the separator.
            if count == chars.len() || !usable(c) || chars[..=count].contains(&c) {
                return Err(bad);
            }
            chars[count] = c;
            count += 1;
        }
        if count < 4 {
            return Err(bad);
        }
        let [component, repetition, escape, subcomponent, truncation] = chars;
        let truncation = (count == 5).then_some(truncation);
        Ok(Self { field, component, repetition, escape: Some(escape), subcomponent, truncation })
    }
}

/// A character that may serve as a delimiter: not a letter or digit, not whitespace, not a
/// control character (so never CR or LF).
fn usable(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control()
}

/// The `index`th (0-based) part of `raw` split on `separator`: `raw.split(separator).nth(index)`,
/// by a byte scan when the separator is ASCII (as HL7 delimiters nearly always are). Fields and
/// components are short, so one pass over the bytes beats a searcher call per part; mapping reads
/// a field this way for every rule.
pub(crate) fn part(raw: &str, separator: char, index: usize) -> Option<&str> {
    if !separator.is_ascii() {
        return raw.split(separator).nth(index);
    }
    let separator = separator as u8;
    let mut start = 0;
    let mut seen = 0;
    for (at, &byte) in raw.as_bytes().iter().enumerate() {
        if byte == separator {
            if seen == index {
                // An ASCII byte is always at a character boundary.
                return raw.get(start..at);
            }
            seen += 1;
            start = at + 1;
        }
    }
    if seen == index {
        raw.get(start..)
    } else {
        None
    }
}

#[cfg(test)]
mod part_tests {
    use super::part;

    #[test]
    fn part_is_split_nth() {
        let texts = ["", "|", "a", "a|b", "|a||b|", "é|ü|€|", "PID|1||123^^^A^MR~9^^^B||Doe^Jo", "€€|€"];
        for text in texts {
            for separator in ['|', '^', '€', '~'] {
                for index in 0..8 {
                    assert_eq!(
                        part(text, separator, index),
                        text.split(separator).nth(index),
                        "{text:?} {separator} {index}"
                    );
                }
            }
        }
    }
}
