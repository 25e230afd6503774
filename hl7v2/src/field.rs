//! Views into a field: its repetitions, their components and the components' subcomponents.
//! They borrow the message text and split it on demand; nothing is allocated except when a
//! decoded value has escape sequences to resolve.

use std::borrow::Cow;
use std::fmt;

use crate::{unescape, Delimiters};

/// The first part of `raw` before any of the given separators.
fn head<'a>(raw: &'a str, separators: &[char]) -> &'a str {
    match raw.find(separators) {
        Some(end) => raw.get(..end).unwrap_or(raw),
        None => raw,
    }
}

/// The `n`th (1-based) part of `raw` split on `separator`.
fn nth(raw: &str, separator: char, n: usize) -> Option<&str> {
    crate::delimiters::part(raw, separator, n.checked_sub(1)?)
}

/// A field of a segment: its raw text and the message's delimiters.
///
/// Fields hold repetitions (separated by `~`), which hold components (`^`), which hold
/// subcomponents (`&`). The accessors number from 1, as HL7 does. [`raw`](Self::raw) and the
/// other `raw` methods give the text as written; [`value`](Self::value) and the other decoded
/// accessors resolve escape sequences (see [`unescape`]).
///
/// MSH-1 and MSH-2 are never split: every accessor gives them whole, and undecoded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    raw: &'a str,
    delimiters: Delimiters,
}

impl<'a> Field<'a> {
    pub(crate) fn new(raw: &'a str, delimiters: Delimiters) -> Self {
        Self { raw, delimiters }
    }

    /// The field as written, with separators and escape sequences.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Whether the field is empty (nothing between its separators). The explicit null `""` is
    /// not empty; see [`is_null`](Self::is_null).
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Whether the field is the HL7 explicit null `""` (the value is to be deleted).
    pub fn is_null(&self) -> bool {
        self.raw == "\"\""
    }

    /// The repetitions of the field, in order; always at least one (possibly empty).
    pub fn repetitions(&self) -> impl Iterator<Item = Repetition<'a>> + 'a {
        let delimiters = self.delimiters;
        self.raw.split(delimiters.repetition).map(move |raw| Repetition { raw, delimiters })
    }

    /// Repetition `n` (1-based), or `None` when there are fewer.
    pub fn repetition(&self, n: usize) -> Option<Repetition<'a>> {
        nth(self.raw, self.delimiters.repetition, n).map(|raw| Repetition { raw, delimiters: self.delimiters })
    }

    /// Component `n` (1-based) of the first repetition, or `None` when there are fewer.
    pub fn component(&self, n: usize) -> Option<Component<'a>> {
        self.first_repetition().component(n)
    }

    /// The first subcomponent of the first component of the first repetition, decoded: the
    /// whole value for a simple field.
    pub fn value(&self) -> Cow<'a, str> {
        let d = &self.delimiters;
        unescape(head(self.raw, &[d.repetition, d.component, d.subcomponent]), d)
    }

    fn first_repetition(&self) -> Repetition<'a> {
        Repetition { raw: head(self.raw, &[self.delimiters.repetition]), delimiters: self.delimiters }
    }
}

/// One repetition of a field.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Repetition<'a> {
    raw: &'a str,
    delimiters: Delimiters,
}

impl<'a> Repetition<'a> {
    /// The repetition as written.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Whether the repetition is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The components of the repetition, in order; always at least one (possibly empty).
    pub fn components(&self) -> impl Iterator<Item = Component<'a>> + 'a {
        let delimiters = self.delimiters;
        self.raw.split(delimiters.component).map(move |raw| Component { raw, delimiters })
    }

    /// Component `n` (1-based), or `None` when there are fewer.
    pub fn component(&self, n: usize) -> Option<Component<'a>> {
        nth(self.raw, self.delimiters.component, n).map(|raw| Component { raw, delimiters: self.delimiters })
    }

    /// The first subcomponent of the first component, decoded.
    pub fn value(&self) -> Cow<'a, str> {
        let d = &self.delimiters;
        unescape(head(self.raw, &[d.component, d.subcomponent]), d)
    }
}

/// One component of a repetition.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Component<'a> {
    raw: &'a str,
    delimiters: Delimiters,
}

impl<'a> Component<'a> {
    /// The component as written.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Whether the component is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The subcomponents, raw (as written, escape sequences unresolved); always at least one.
    pub fn subcomponents(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.raw.split(self.delimiters.subcomponent)
    }

    /// Subcomponent `n` (1-based), decoded, or `None` when there are fewer.
    pub fn subcomponent(&self, n: usize) -> Option<Cow<'a, str>> {
        nth(self.raw, self.delimiters.subcomponent, n).map(|raw| unescape(raw, &self.delimiters))
    }

    /// The first subcomponent, decoded: the whole value when there are no subcomponents.
    pub fn value(&self) -> Cow<'a, str> {
        unescape(head(self.raw, &[self.delimiters.subcomponent]), &self.delimiters)
    }
}

// Debug shows sizes only: the text may be patient data and must not reach logs by accident.
impl fmt::Debug for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Field").field("len", &self.raw.len()).finish_non_exhaustive()
    }
}

impl fmt::Debug for Repetition<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repetition").field("len", &self.raw.len()).finish_non_exhaustive()
    }
}

impl fmt::Debug for Component<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Component").field("len", &self.raw.len()).finish_non_exhaustive()
    }
}
