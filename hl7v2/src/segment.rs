//! One segment (one line) of a message, split into fields on demand.

use std::fmt;
use std::sync::OnceLock;

use crate::delimiters::{part, OPAQUE};
use crate::{Delimiters, Field};

/// A segment of a message: one line, such as `PID|1||12345^^^HOSP^MR|...`.
///
/// Fields are found by splitting the line once, at the first field read: mapping reads a
/// segment's fields many times over (one rule each), and re-scanning the line for each cost a
/// quarter of the mapping time.
#[derive(Clone)]
pub struct Segment<'a> {
    raw: &'a str,
    index: usize,
    delimiters: Delimiters,
    /// Byte ranges of the parts of `raw` split on the field separator (the id is part 0).
    parts: OnceLock<Vec<(u32, u32)>>,
}

impl<'a> Segment<'a> {
    /// A segment whose line starts with a valid 3-character id (checked by the caller).
    pub(crate) fn new(raw: &'a str, index: usize, delimiters: Delimiters) -> Self {
        Self { raw, index, delimiters, parts: OnceLock::new() }
    }

    /// Part `i` of the line split on the field separator: `raw.split(separator).nth(i)`.
    fn part(&self, i: usize) -> Option<&'a str> {
        // Lines longer than 4 GiB are not HL7 messages; they are scanned each time instead.
        let Ok(length) = u32::try_from(self.raw.len()) else { return part(self.raw, self.delimiters.field, i) };
        let parts = self.parts.get_or_init(|| {
            let mut parts = Vec::with_capacity(32);
            let mut start = 0u32;
            for (at, c) in self.raw.char_indices() {
                if c == self.delimiters.field {
                    // `at` < `length`, which fits in u32.
                    let at = at as u32;
                    parts.push((start, at));
                    start = at + c.len_utf8() as u32;
                }
            }
            parts.push((start, length));
            parts
        });
        let &(start, end) = parts.get(i)?;
        self.raw.get(start as usize..end as usize)
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
                2 => self.part(1).map(|raw| Field::new(raw, OPAQUE)),
                _ => self.part(n - 1).map(|raw| Field::new(raw, self.delimiters)),
            }
        } else if n == 0 {
            None
        } else {
            self.part(n).map(|raw| Field::new(raw, self.delimiters))
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
