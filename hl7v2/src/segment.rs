//! One segment (one line) of a message, split into fields on demand.

use std::fmt;

use crate::delimiters::OPAQUE;
use crate::{Delimiters, Field};

/// A segment of a message: one line, such as `PID|1||12345^^^HOSP^MR|...`.
///
/// Fields are found on demand by scanning the line, which is short; nothing is stored per field.
#[derive(Clone)]
pub struct Segment<'a> {
    raw: &'a str,
    index: usize,
    delimiters: Delimiters,
}

impl<'a> Segment<'a> {
    /// A segment whose line starts with a valid 3-character id (checked by the caller).
    pub(crate) fn new(raw: &'a str, index: usize, delimiters: Delimiters) -> Self {
        Self { raw, index, delimiters }
    }

    /// The segment id: `MSH`, `PID`, `ZPD`, ...
    pub fn id(&self) -> &'a str {
        // The id is 3 ASCII characters, checked at parse time.
        self.raw.get(..3).unwrap_or(self.raw)
    }

    fn is_msh(&self) -> bool {
        self.index == 0
    }

    /// Field `n` in HL7 numbering, or `None` when the segment has fewer fields (or `n` is 0).
    ///
    /// For MSH, field 1 is the field separator itself and field 2 the encoding characters, both
    /// returned raw and never split; field 3 is the sending application. For the other segments
    /// field 1 is the first field after the id. An empty field (`||`) is `Some`, with
    /// [`Field::is_empty`] true.
    pub fn field(&self, n: usize) -> Option<Field<'a>> {
        let separator = self.delimiters.field;
        if self.is_msh() {
            match n {
                0 => None,
                1 => self.raw.get(3..3 + separator.len_utf8()).map(|raw| Field::new(raw, OPAQUE)),
                2 => self.raw.split(separator).nth(1).map(|raw| Field::new(raw, OPAQUE)),
                _ => self.raw.split(separator).nth(n - 1).map(|raw| Field::new(raw, self.delimiters)),
            }
        } else if n == 0 {
            None
        } else {
            self.raw.split(separator).nth(n).map(|raw| Field::new(raw, self.delimiters))
        }
    }

    /// The fields in order, from field 1 (for MSH: the separator, then the encoding characters).
    pub fn fields(&self) -> impl Iterator<Item = Field<'a>> + 'a {
        let delimiters = self.delimiters;
        let msh = self.is_msh();
        let separator = msh.then(|| self.raw.get(3..3 + delimiters.field.len_utf8())).flatten();
        let rest = self.raw.split(delimiters.field).skip(1).enumerate();
        separator
            .map(|raw| Field::new(raw, OPAQUE))
            .into_iter()
            .chain(rest.map(move |(i, raw)| Field::new(raw, if msh && i == 0 { OPAQUE } else { delimiters })))
    }

    /// The highest field number present (0 for a segment that is only its id).
    pub fn field_count(&self) -> usize {
        let separators = self.raw.matches(self.delimiters.field).count();
        if self.is_msh() {
            separators + 1
        } else {
            separators
        }
    }

    /// The whole segment line, as written (without its terminator).
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The 0-based position of the segment in its message (MSH is 0).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The delimiters of the message the segment belongs to.
    pub fn delimiters(&self) -> &Delimiters {
        &self.delimiters
    }
}

// Debug shows the structure only: field values may be patient data.
impl fmt::Debug for Segment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment")
            .field("id", &self.id())
            .field("index", &self.index)
            .field("fields", &self.field_count())
            .finish_non_exhaustive()
    }
}
