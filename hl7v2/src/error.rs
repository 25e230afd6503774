//! Parse errors that say where the problem is (segment, field) but never quote values from the
//! message, which may be patient data.

/// What is wrong with a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The text holds no segment at all (empty, or only blank lines).
    #[error("the message is empty")]
    Empty,
    /// The first segment is not MSH.
    #[error("the first segment is not MSH")]
    NoMsh,
    /// `MSH` is not followed by a usable field separator (a character that is neither a letter, a
    /// digit, whitespace nor a control character).
    #[error("MSH must be followed by a field separator that is not a letter, digit or whitespace")]
    BadFieldSeparator,
    /// MSH-2 is not 4 or 5 distinct encoding characters, or one of them is a letter, a digit,
    /// whitespace or the field separator.
    #[error("encoding characters must be 4 or 5 distinct characters")]
    BadEncodingCharacters,
    /// MSH-9 (message type) is absent or its first component is empty.
    #[error("the message type is empty")]
    MissingMessageType,
    /// MSH-10 (message control id) is absent or empty.
    #[error("the message control id is empty")]
    MissingControlId,
    /// A segment id is not 3 characters of `A`–`Z` and `0`–`9` followed by the field separator
    /// or the end of the line.
    #[error("segment id must be 3 uppercase letters or digits")]
    BadSegmentId,
    /// A second MSH segment inside one message: batches and concatenated messages must be split
    /// first with [`split_messages`](crate::split_messages).
    #[error("a second MSH segment inside one message (split batches with split_messages first)")]
    DuplicateMsh,
}

/// A message that could not be parsed: what is wrong ([`kind`](Self::kind)) and where.
///
/// Display gives `"<SEG>-<field>: <reason>"` (for example `MSH-2: encoding characters must be 4
/// or 5 distinct characters`) when the segment and field are known, `"segment <n> (<SEG>):
/// <reason>"` when the segment and its position are known, `"<SEG>: <reason>"` when only the
/// segment is, `"segment <n>: <reason>"` when only the position is (1-based, counting the
/// segments of the message, blank lines not counted), and the bare reason otherwise. Neither the
/// message nor [`location`](Self::location) ever includes a field value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("{}{kind}", prefix(&self.location()))]
pub struct ParseError {
    /// The id of the segment at fault (`"MSH"`, `"PID"`, ...), when it is known and valid.
    pub segment: Option<String>,
    /// The 0-based position of the segment at fault among the segments of the message (the same
    /// numbering as [`Segment::index`](crate::Segment::index)); Display shows it 1-based.
    pub segment_index: Option<usize>,
    /// The field number at fault, in HL7 numbering (MSH-1 is the field separator).
    pub field: Option<usize>,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

fn prefix(location: &str) -> String {
    if location.is_empty() {
        String::new()
    } else {
        format!("{location}: ")
    }
}

impl ParseError {
    /// An error with no location.
    pub(crate) fn new(kind: ParseErrorKind) -> Self {
        Self { segment: None, segment_index: None, field: None, kind }
    }

    /// An error in a field of the MSH segment (always the first segment).
    pub(crate) fn msh(kind: ParseErrorKind, field: usize) -> Self {
        Self { segment: Some("MSH".to_owned()), segment_index: Some(0), field: Some(field), kind }
    }

    /// An error about the segment at `index`, whose id is not (or not safely) known.
    pub(crate) fn at_index(kind: ParseErrorKind, index: usize) -> Self {
        Self { segment: None, segment_index: Some(index), field: None, kind }
    }

    /// An error about the whole segment at `index`, whose (valid) id is `id`.
    pub(crate) fn at_segment(kind: ParseErrorKind, id: &str, index: usize) -> Self {
        Self { segment: Some(id.to_owned()), segment_index: Some(index), field: None, kind }
    }

    /// Where the problem is: `"PID-7"`, `"MSH-2"`, `"segment 4 (MSH)"`, `"PID"` or `"segment 3"`
    /// (1-based), or an empty string when the error concerns the message as a whole.
    pub fn location(&self) -> String {
        match (&self.segment, self.field, self.segment_index) {
            (Some(segment), Some(field), _) => format!("{segment}-{field}"),
            (Some(segment), None, Some(index)) => format!("segment {} ({segment})", index.saturating_add(1)),
            (Some(segment), None, None) => segment.clone(),
            (None, _, Some(index)) => format!("segment {}", index.saturating_add(1)),
            (None, _, None) => String::new(),
        }
    }
}
