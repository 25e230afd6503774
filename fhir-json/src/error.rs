//! Decode errors that carry the path of the offending member, built as the error bubbles up.

use std::fmt;

/// One step of a path into a JSON document: a member name or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// An object member.
    Field(String),
    /// An array element (zero-based).
    Index(usize),
}

/// What went wrong. Messages never quote values from the document (they may be patient data).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended inside a value.
    UnexpectedEnd,
    /// The input is not JSON at this point (the text says what was expected).
    Syntax(&'static str),
    /// A value of another JSON type was expected.
    WrongType {
        /// The JSON type expected here.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A string is not valid UTF-8 or holds an invalid escape.
    InvalidString(&'static str),
    /// Content follows the top-level value.
    TrailingCharacters,
    /// Objects and arrays nest deeper than the reader allows ([`MAX_DEPTH`](crate::MAX_DEPTH)).
    TooDeep,
    /// A nesting that the caller counts over the JSON (see
    /// [`JsonReader::enter_nested`](crate::JsonReader::enter_nested)) goes deeper than its limit.
    TooDeepNested {
        /// What nests, plural ("resources").
        what: &'static str,
        /// The deepest nesting allowed.
        limit: u32,
    },
    /// A member that the type does not define.
    UnknownElement(String),
    /// A member that occurs twice in one object.
    DuplicateElement(String),
    /// An empty object or array, which FHIR forbids.
    Empty,
    /// A value that is well-formed JSON but not acceptable for its element.
    InvalidValue(String),
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEnd => f.write_str("unexpected end of input"),
            Self::Syntax(expected) => write!(f, "invalid JSON: expected {expected}"),
            Self::WrongType { expected, found } => write!(f, "expected {expected}, found {found}"),
            Self::InvalidString(why) => write!(f, "invalid string: {why}"),
            Self::TrailingCharacters => f.write_str("trailing characters after the JSON value"),
            Self::TooDeep => write!(f, "objects and arrays nest deeper than {}", crate::MAX_DEPTH),
            Self::TooDeepNested { what, limit } => write!(f, "{what} nest deeper than {limit}"),
            Self::UnknownElement(name) => write!(f, "unknown element '{name}'"),
            Self::DuplicateElement(name) => write!(f, "element '{name}' occurs more than once"),
            Self::Empty => f.write_str("empty objects and arrays are not allowed"),
            Self::InvalidValue(why) => f.write_str(why),
        }
    }
}

/// The longest member name kept in a path (see [`DecodeError::at_field`]); FHIR's longest are
/// under 40 characters.
pub const MAX_PATH_NAME_CHARS: usize = 64;

/// A decode error: what, where in the text (byte offset), and where in the document (path).
///
/// The path is collected innermost first as the error bubbles up through the decoders (see
/// [`DecodeError::at_field`]), so building it costs nothing on the success path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// What went wrong.
    pub kind: DecodeErrorKind,
    /// Byte offset in the input where the problem was found.
    pub offset: usize,
    // INVARIANT: innermost segment first; `path()` reverses it.
    reversed_path: Vec<PathSegment>,
}

impl DecodeError {
    /// An error at `offset` with an empty path.
    pub fn new(kind: DecodeErrorKind, offset: usize) -> Self {
        Self { kind, offset, reversed_path: Vec::new() }
    }

    /// Prefixes the path with an object member (called by the decoder of the enclosing object).
    ///
    /// A name is cut to [`MAX_PATH_NAME_CHARS`] characters and its control characters become
    /// U+FFFD: a hostile member name must not bloat the error or make its rendering (an
    /// `OperationOutcome`) invalid.
    #[must_use]
    pub fn at_field(mut self, name: &str) -> Self {
        let clean = name.len() <= MAX_PATH_NAME_CHARS && !name.chars().any(char::is_control);
        let name = if clean {
            name.to_owned()
        } else {
            name.chars().take(MAX_PATH_NAME_CHARS).map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect()
        };
        self.reversed_path.push(PathSegment::Field(name));
        self
    }

    /// Prefixes the path with an array index (called by the decoder of the enclosing array).
    #[must_use]
    pub fn at_index(mut self, index: usize) -> Self {
        self.reversed_path.push(PathSegment::Index(index));
        self
    }

    /// The path from the document root to the offending member, outermost first.
    pub fn path(&self) -> impl Iterator<Item = &PathSegment> {
        self.reversed_path.iter().rev()
    }

    /// The path as FHIRPath-like text starting at `root`: `Patient.contact[0].name`.
    pub fn path_string(&self, root: &str) -> String {
        let mut out = String::from(root);
        for segment in self.path() {
            match segment {
                PathSegment::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                PathSegment::Index(index) => {
                    out.push('[');
                    out.push_str(&index.to_string());
                    out.push(']');
                }
            }
        }
        out
    }

    /// The 1-based line and column of the error in `input` (the text it was decoded from).
    pub fn line_column(&self, input: &[u8]) -> (usize, usize) {
        let upto = &input[..self.offset.min(input.len())];
        let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
        let column = upto.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        (line, column)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if !self.reversed_path.is_empty() {
            write!(f, " at {}", self.path_string(""))?;
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_is_built_innermost_first_and_printed_outermost_first() {
        let error = DecodeError::new(DecodeErrorKind::Empty, 7)
            .at_field("family")
            .at_field("name")
            .at_index(0)
            .at_field("contact");
        assert_eq!(error.path_string("Patient"), "Patient.contact[0].name.family");
        assert_eq!(error.to_string(), "empty objects and arrays are not allowed at contact[0].name.family");
    }

    #[test]
    fn hostile_member_names_are_cut_and_cleaned_in_paths() {
        let long = "n".repeat(1000);
        let error = DecodeError::new(DecodeErrorKind::Empty, 0).at_field("a\u{0}b").at_field(&long);
        assert_eq!(
            error.path_string("$"),
            format!("${}.a\u{FFFD}b", ".".to_owned() + &"n".repeat(MAX_PATH_NAME_CHARS))
        );
    }

    #[test]
    fn line_and_column_are_one_based() {
        let error = DecodeError::new(DecodeErrorKind::UnexpectedEnd, 5);
        assert_eq!(error.line_column(b"{\n  \"a"), (2, 4));
    }
}
