//! A parsed message: its delimiters, its segments and the header fields read from MSH.

use std::borrow::Cow;
use std::fmt;

use crate::error::{ParseError, ParseErrorKind};
use crate::lines::Lines;
use crate::{Delimiters, Field, Segment};

/// An HL7 v2 message in ER7 encoding, parsed: it borrows the text it was parsed from.
///
/// Parsing splits the text into segments and checks the MSH header; fields are found on demand.
///
/// ```
/// let text = "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240101120000||ORU^R01|42|P|2.5\rPID|1||123^^^HOSP^MR~456^^^SSA^SS";
/// let message = hl7v2::Message::parse(text).unwrap();
/// assert_eq!(message.header().message_code, "ORU");
/// assert_eq!(message.get("PID-3[2].4").as_deref(), Some("SSA"));
/// ```
#[derive(Clone)]
pub struct Message<'a> {
    delimiters: Delimiters,
    segments: Vec<Segment<'a>>,
    header: Header<'a>,
}

/// The main MSH fields of a message, raw (not unescaped: they are codes and identifiers).
///
/// Optional fields are `None` when absent or empty. The application and facility fields are the
/// first component of the HD value (HD.1), the others the first component of their field, except
/// the control id, which is the whole of MSH-10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// MSH-3.1, sending application.
    pub sending_application: Option<&'a str>,
    /// MSH-4.1, sending facility.
    pub sending_facility: Option<&'a str>,
    /// MSH-5.1, receiving application.
    pub receiving_application: Option<&'a str>,
    /// MSH-6.1, receiving facility.
    pub receiving_facility: Option<&'a str>,
    /// MSH-9.1, message code, such as `ADT` (never empty).
    pub message_code: &'a str,
    /// MSH-9.2, trigger event, such as `A01`.
    pub trigger_event: Option<&'a str>,
    /// MSH-9.3, message structure, such as `ADT_A01`.
    pub structure: Option<&'a str>,
    /// MSH-10, message control id (never empty).
    pub control_id: &'a str,
    /// MSH-11.1, processing id (`P`, `D`, `T`).
    pub processing_id: Option<&'a str>,
    /// MSH-12.1, version id, such as `2.5.1`.
    pub version: Option<&'a str>,
    /// MSH-7.1, date and time of the message, as written.
    pub timestamp: Option<&'a str>,
}

/// Whether a line starts with a valid segment id: 3 characters of `A`–`Z` or `0`–`9`, then the
/// field separator or the end of the line.
fn valid_id(line: &str, separator: char) -> bool {
    let bytes = line.as_bytes();
    bytes.len() >= 3
        && bytes[..3].iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && line.get(3..).is_some_and(|rest| rest.is_empty() || rest.starts_with(separator))
}

impl<'a> Message<'a> {
    /// Parses one message.
    ///
    /// One leading byte-order mark is skipped. Segments may end with CR, LF or CRLF (the last
    /// one may have no terminator); blank and whitespace-only lines are ignored. The first
    /// segment must be MSH with valid delimiters, a message type (MSH-9) and a control id
    /// (MSH-10); every other line must start with a valid segment id (a line that is only an
    /// id, such as `NTE`, is accepted). A second MSH is an error: split batches and
    /// concatenated messages with [`split_messages`](crate::split_messages) first.
    pub fn parse(text: &'a str) -> Result<Message<'a>, ParseError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = Lines::new(text);
        let first = lines.next().ok_or(ParseError::new(ParseErrorKind::Empty))?;
        if !first.text.starts_with("MSH") {
            return Err(ParseError::at_index(ParseErrorKind::NoMsh, 0));
        }
        let delimiters = Delimiters::from_msh(first.text).map_err(|(kind, field)| ParseError::msh(kind, field))?;
        let msh = Segment::new(first.text, 0, delimiters);
        let header = Header::from_msh(&msh)?;
        let mut segments = Vec::with_capacity(text.len() / 64 + 1);
        segments.push(msh);
        for (i, line) in lines.enumerate() {
            let index = i + 1;
            if !valid_id(line.text, delimiters.field) {
                return Err(ParseError::at_index(ParseErrorKind::BadSegmentId, index));
            }
            if line.text.starts_with("MSH") {
                return Err(ParseError::at_segment(ParseErrorKind::DuplicateMsh, "MSH", index));
            }
            segments.push(Segment::new(line.text, index, delimiters));
        }
        Ok(Message { delimiters, segments, header })
    }

    /// The delimiters declared by MSH-1 and MSH-2.
    pub fn delimiters(&self) -> &Delimiters {
        &self.delimiters
    }

    /// All segments, in order; MSH is the first.
    pub fn segments(&self) -> &[Segment<'a>] {
        &self.segments
    }

    /// The segments with this id, in order.
    pub fn segments_named<'s>(&'s self, id: &'s str) -> impl Iterator<Item = &'s Segment<'a>> + 's {
        self.segments.iter().filter(move |s| s.id() == id)
    }

    /// The first segment with this id.
    pub fn segment(&self, id: &str) -> Option<&Segment<'a>> {
        self.segments.iter().find(|s| s.id() == id)
    }

    /// The main MSH fields.
    pub fn header(&self) -> Header<'a> {
        self.header
    }

    /// The decoded value at a terser-like path, in the first segment with that id.
    ///
    /// Paths are `SEG-F`, `SEG-F.C`, `SEG-F.C.S`, with an optional 1-based repetition after the
    /// field number: `PID-3[2].1`. Without a component (or subcomponent) number the first is
    /// taken, so `PID-3` is the same as `PID-3[1].1.1`. Escape sequences are resolved. `None`
    /// when the path is malformed or the segment, field, repetition, component or subcomponent
    /// is absent; `Some("")` when it is present but empty. MSH-1 and MSH-2 are given whole.
    pub fn get(&self, path: &str) -> Option<Cow<'a, str>> {
        let path = Path::parse(path)?;
        let field = self.segment(path.segment)?.field(path.field)?;
        let component = field.repetition(path.repetition)?.component(path.component)?;
        component.subcomponent(path.subcomponent)
    }
}

/// A parsed `SEG-F[R].C.S` path; numbers are 1-based.
struct Path<'p> {
    segment: &'p str,
    field: usize,
    repetition: usize,
    component: usize,
    subcomponent: usize,
}

impl<'p> Path<'p> {
    fn parse(path: &'p str) -> Option<Self> {
        let (segment, rest) = path.split_once('-')?;
        if segment.len() != 3 {
            return None;
        }
        let (field, rest) = number(rest)?;
        let (repetition, rest) = match rest.strip_prefix('[') {
            Some(bracketed) => {
                let (n, rest) = number(bracketed)?;
                (n, rest.strip_prefix(']')?)
            }
            None => (1, rest),
        };
        let mut levels = [1usize; 2];
        let mut rest = rest;
        for level in &mut levels {
            match rest.strip_prefix('.') {
                Some(dotted) => (*level, rest) = number(dotted)?,
                None => break,
            }
        }
        let [component, subcomponent] = levels;
        rest.is_empty().then_some(Self { segment, field, repetition, component, subcomponent })
    }
}

/// A leading decimal number (at least 1) and what follows it.
fn number(text: &str) -> Option<(usize, &str)> {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let n: usize = text.get(..end)?.parse().ok()?;
    (n >= 1).then_some((n, text.get(end..)?))
}

impl<'a> Header<'a> {
    fn from_msh(msh: &Segment<'a>) -> Result<Self, ParseError> {
        // One scan of the line: parts[k] is MSH-(k + 1) for k >= 1.
        let mut parts: [Option<&'a str>; 12] = [None; 12];
        for (slot, part) in parts.iter_mut().zip(msh.raw().split(msh.delimiters().field)) {
            *slot = Some(part);
        }
        let d = msh.delimiters();
        let field = |n: usize| parts.get(n - 1).copied().flatten().map(|raw| Field::new(raw, *d));
        let component = |n: usize, c: usize| -> Option<&'a str> {
            field(n).and_then(|f| f.component(c)).map(|c| c.raw()).filter(|s| !s.is_empty())
        };
        let message_code = component(9, 1).ok_or_else(|| ParseError::msh(ParseErrorKind::MissingMessageType, 9))?;
        let control_id = field(10)
            .map(|f| f.raw())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ParseError::msh(ParseErrorKind::MissingControlId, 10))?;
        Ok(Header {
            sending_application: component(3, 1),
            sending_facility: component(4, 1),
            receiving_application: component(5, 1),
            receiving_facility: component(6, 1),
            message_code,
            trigger_event: component(9, 2),
            structure: component(9, 3),
            control_id,
            processing_id: component(11, 1),
            version: component(12, 1),
            timestamp: component(7, 1),
        })
    }
}

// Debug shows the structure only: field values may be patient data.
impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.segments.iter().map(Segment::id).collect();
        f.debug_struct("Message")
            .field("delimiters", &self.delimiters)
            .field("type", &(self.header.message_code, self.header.trigger_event))
            .field("version", &self.header.version)
            .field("segments", &ids)
            .finish_non_exhaustive()
    }
}
