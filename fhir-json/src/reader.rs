//! `JsonReader`: a pull reader over JSON text that borrows strings where it can and keeps number
//! text as written.
//!
//! The caller drives it: `begin_object` then `next_key` until `None`, `begin_array` then
//! `next_element` until `false`, and the scalar reads in between. Commas and colons are checked by
//! the reader, so a caller cannot accept malformed JSON by forgetting a step.

use std::borrow::Cow;

use crate::error::{DecodeError, DecodeErrorKind};

/// How deep objects and arrays may nest. Decoders recurse once per level, so this bounds their
/// stack use on hostile input.
///
/// 64, not more: the deepest official R4 example or Synthea resource nests 21 levels, and the
/// typed FHIR decoders of `fhir-models` cost up to about 10 KiB of stack per level in an
/// unoptimised build (recursive backbone elements such as `PlanDefinition.action.action`), so
/// 128 levels came to about 1.3 MiB, most of a 2 MiB worker thread; 64 stays near a third of it.
pub const MAX_DEPTH: u32 = 64;

/// The JSON type of the next value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// `{...}`
    Object,
    /// `[...]`
    Array,
    /// `"..."`
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
}

impl JsonKind {
    /// The name used in error messages ("an object", "a string", ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Object => "an object",
            Self::Array => "an array",
            Self::String => "a string",
            Self::Number => "a number",
            Self::Bool => "a boolean",
            Self::Null => "null",
        }
    }
}

/// A pull reader over one JSON document. Cloning it is cheap (a slice and a position), which is
/// how a caller looks ahead.
#[derive(Debug, Clone)]
pub struct JsonReader<'a> {
    input: &'a [u8],
    pos: usize,
    depth: u32,
    // Levels of the caller's own nesting (`enter_nested`), counted apart from `depth`.
    nested: u32,
    // INVARIANT: true right after `begin_object`/`begin_array`, false once the container has had
    // a member or element, and after any container ends (a value was then completed inside the
    // enclosing container, so it is past its first position).
    at_first: bool,
}

impl<'a> JsonReader<'a> {
    /// A reader at the start of `input`; a leading UTF-8 byte-order mark is skipped.
    pub fn new(input: &'a [u8]) -> Self {
        let pos = if input.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        Self { input, pos, depth: 0, nested: 0, at_first: false }
    }

    /// The byte offset of the next unread character.
    pub fn offset(&self) -> usize {
        self.pos
    }

    fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(kind, self.pos)
    }

    fn skip_whitespace(&mut self) {
        while let Some(b) = self.input.get(self.pos) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// The next non-whitespace byte, not consumed.
    fn peek_byte(&mut self) -> Result<u8, DecodeError> {
        self.skip_whitespace();
        self.input.get(self.pos).copied().ok_or_else(|| self.error(DecodeErrorKind::UnexpectedEnd))
    }

    /// The JSON type of the next value.
    pub fn peek_kind(&mut self) -> Result<JsonKind, DecodeError> {
        Ok(match self.peek_byte()? {
            b'{' => JsonKind::Object,
            b'[' => JsonKind::Array,
            b'"' => JsonKind::String,
            b't' | b'f' => JsonKind::Bool,
            b'n' => JsonKind::Null,
            b'-' | b'0'..=b'9' => JsonKind::Number,
            _ => return Err(self.error(DecodeErrorKind::Syntax("a value"))),
        })
    }

    fn expect_kind(&mut self, expected: JsonKind) -> Result<(), DecodeError> {
        let found = self.peek_kind()?;
        if found != expected {
            return Err(self.error(DecodeErrorKind::WrongType { expected: expected.name(), found: found.name() }));
        }
        Ok(())
    }

    fn enter(&mut self) -> Result<(), DecodeError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(DecodeErrorKind::TooDeep));
        }
        self.depth += 1;
        self.pos += 1;
        self.at_first = true;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
        self.pos += 1;
        self.at_first = false;
    }

    /// Counts one more level of a nesting that the caller defines over the JSON (`fhir-models`:
    /// a resource inside a resource), refusing more than `limit` levels with
    /// [`DecodeErrorKind::TooDeepNested`]. Pair each success with
    /// [`leave_nested`](Self::leave_nested); after an error the count no longer matters, since
    /// decoding stops.
    ///
    /// The count travels with the reader (and its clones), so no decoder needs a context
    /// parameter to bound what [`MAX_DEPTH`] alone does not: a level of some nestings costs far
    /// more stack than one JSON level.
    pub fn enter_nested(&mut self, limit: u32, what: &'static str) -> Result<(), DecodeError> {
        if self.nested >= limit {
            return Err(self.error(DecodeErrorKind::TooDeepNested { what, limit }));
        }
        self.nested += 1;
        Ok(())
    }

    /// Ends a level begun by [`enter_nested`](Self::enter_nested).
    pub fn leave_nested(&mut self) {
        self.nested = self.nested.saturating_sub(1);
    }

    /// Reads `{`; then call [`next_key`](Self::next_key) until it gives `None`.
    pub fn begin_object(&mut self) -> Result<(), DecodeError> {
        self.expect_kind(JsonKind::Object)?;
        self.enter()
    }

    /// The next member name (the `:` after it is consumed), or `None` at the closing `}`.
    pub fn next_key(&mut self) -> Result<Option<Cow<'a, str>>, DecodeError> {
        let b = self.peek_byte()?;
        if b == b'}' {
            self.leave();
            return Ok(None);
        }
        if self.at_first {
            self.at_first = false;
        } else if b == b',' {
            self.pos += 1;
            if self.peek_byte()? != b'"' {
                return Err(self.error(DecodeErrorKind::Syntax("a member name")));
            }
        } else {
            return Err(self.error(DecodeErrorKind::Syntax("',' or '}'")));
        }
        if self.peek_byte()? != b'"' {
            return Err(self.error(DecodeErrorKind::Syntax("a member name")));
        }
        let key = self.string_body()?;
        if self.peek_byte()? != b':' {
            return Err(self.error(DecodeErrorKind::Syntax("':'")));
        }
        self.pos += 1;
        Ok(Some(key))
    }

    /// Reads `[`; then call [`next_element`](Self::next_element) until it gives `false`.
    pub fn begin_array(&mut self) -> Result<(), DecodeError> {
        self.expect_kind(JsonKind::Array)?;
        self.enter()
    }

    /// Whether another element follows (the reader is then at it), or `false` at the closing `]`.
    pub fn next_element(&mut self) -> Result<bool, DecodeError> {
        let b = self.peek_byte()?;
        if b == b']' {
            self.leave();
            return Ok(false);
        }
        if self.at_first {
            self.at_first = false;
        } else if b == b',' {
            self.pos += 1;
        } else {
            return Err(self.error(DecodeErrorKind::Syntax("',' or ']'")));
        }
        Ok(true)
    }

    /// Reads a string, borrowed from the input when it has no escapes.
    pub fn read_str(&mut self) -> Result<Cow<'a, str>, DecodeError> {
        self.expect_kind(JsonKind::String)?;
        self.string_body()
    }

    /// Reads a string into an owned `String`.
    pub fn read_string(&mut self) -> Result<String, DecodeError> {
        self.read_str().map(Cow::into_owned)
    }

    /// Reads `true` or `false`.
    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        self.expect_kind(JsonKind::Bool)?;
        if self.input[self.pos..].starts_with(b"true") {
            self.pos += 4;
            Ok(true)
        } else if self.input[self.pos..].starts_with(b"false") {
            self.pos += 5;
            Ok(false)
        } else {
            Err(self.error(DecodeErrorKind::Syntax("true or false")))
        }
    }

    /// Consumes `null` and gives `true` if the next value is `null`; otherwise reads nothing.
    pub fn try_null(&mut self) -> Result<bool, DecodeError> {
        if self.peek_byte()? != b'n' {
            return Ok(false);
        }
        if self.input[self.pos..].starts_with(b"null") {
            self.pos += 4;
            Ok(true)
        } else {
            Err(self.error(DecodeErrorKind::Syntax("null")))
        }
    }

    /// Reads a number and gives its text exactly as written (checked against the JSON grammar).
    pub fn read_number_raw(&mut self) -> Result<&'a str, DecodeError> {
        self.expect_kind(JsonKind::Number)?;
        let start = self.pos;
        let input = self.input;
        let digits = |pos: &mut usize| {
            let from = *pos;
            while input.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos - from
        };
        let mut pos = start;
        if input[pos] == b'-' {
            pos += 1;
        }
        match input.get(pos) {
            Some(b'0') => pos += 1,
            Some(b'1'..=b'9') => {
                digits(&mut pos);
            }
            _ => return Err(DecodeError::new(DecodeErrorKind::Syntax("a digit"), pos)),
        }
        if input.get(pos) == Some(&b'.') {
            pos += 1;
            if digits(&mut pos) == 0 {
                return Err(DecodeError::new(DecodeErrorKind::Syntax("a digit after '.'"), pos));
            }
        }
        if matches!(input.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            if matches!(input.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            if digits(&mut pos) == 0 {
                return Err(DecodeError::new(DecodeErrorKind::Syntax("a digit in the exponent"), pos));
            }
        }
        if input.get(pos).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'.') {
            return Err(DecodeError::new(DecodeErrorKind::Syntax("the end of the number"), pos));
        }
        self.pos = pos;
        // The grammar above admits ASCII only, so this cannot fail.
        std::str::from_utf8(&input[start..pos]).map_err(|_| self.error(DecodeErrorKind::Syntax("a number")))
    }

    /// Skips one value of any type (checking its syntax).
    pub fn skip_value(&mut self) -> Result<(), DecodeError> {
        match self.peek_kind()? {
            JsonKind::Object => {
                self.begin_object()?;
                while self.next_key()?.is_some() {
                    self.skip_value()?;
                }
            }
            JsonKind::Array => {
                self.begin_array()?;
                while self.next_element()? {
                    self.skip_value()?;
                }
            }
            JsonKind::String => {
                self.string_body()?;
            }
            JsonKind::Number => {
                self.read_number_raw()?;
            }
            JsonKind::Bool => {
                self.read_bool()?;
            }
            JsonKind::Null => {
                self.try_null()?;
            }
        }
        Ok(())
    }

    /// Looks into the object at the reader's position for a member `name` whose value is a string,
    /// without moving this reader. `Ok(None)` when the object has no such member.
    pub fn peek_object_string_member(&self, name: &str) -> Result<Option<Cow<'a, str>>, DecodeError> {
        let mut r = self.clone();
        r.begin_object()?;
        while let Some(key) = r.next_key()? {
            if key == name {
                return r.read_str().map(Some).map_err(|e| e.at_field(name));
            }
            r.skip_value().map_err(|e| e.at_field(&key))?;
        }
        Ok(None)
    }

    /// Checks that nothing but whitespace follows the value just read.
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        self.skip_whitespace();
        if self.pos < self.input.len() {
            return Err(self.error(DecodeErrorKind::TrailingCharacters));
        }
        Ok(())
    }

    /// Reads a string whose opening quote is at `pos`.
    fn string_body(&mut self) -> Result<Cow<'a, str>, DecodeError> {
        let start = self.pos + 1;
        let mut pos = start;
        let input = self.input;
        loop {
            match input.get(pos) {
                None => return Err(DecodeError::new(DecodeErrorKind::UnexpectedEnd, pos)),
                Some(b'"') => {
                    let text = std::str::from_utf8(&input[start..pos])
                        .map_err(|_| DecodeError::new(DecodeErrorKind::InvalidString("not valid UTF-8"), start))?;
                    self.pos = pos + 1;
                    return Ok(Cow::Borrowed(text));
                }
                Some(b'\\') => break,
                Some(b) if *b < 0x20 => {
                    return Err(DecodeError::new(DecodeErrorKind::InvalidString("unescaped control character"), pos));
                }
                Some(_) => pos += 1,
            }
        }
        // Slow path: the string has escapes.
        let mut out = String::with_capacity(pos - start + 16);
        out.push_str(
            std::str::from_utf8(&input[start..pos])
                .map_err(|_| DecodeError::new(DecodeErrorKind::InvalidString("not valid UTF-8"), start))?,
        );
        loop {
            let run_start = pos;
            while input.get(pos).is_some_and(|b| *b != b'"' && *b != b'\\' && *b >= 0x20) {
                pos += 1;
            }
            out.push_str(
                std::str::from_utf8(&input[run_start..pos])
                    .map_err(|_| DecodeError::new(DecodeErrorKind::InvalidString("not valid UTF-8"), run_start))?,
            );
            match input.get(pos) {
                None => return Err(DecodeError::new(DecodeErrorKind::UnexpectedEnd, pos)),
                Some(b'"') => {
                    self.pos = pos + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    pos = unescape(input, pos, &mut out)?;
                }
                Some(_) => {
                    return Err(DecodeError::new(DecodeErrorKind::InvalidString("unescaped control character"), pos));
                }
            }
        }
    }
}

/// Decodes the escape sequence at `input[pos]` (a backslash) into `out`; gives the position after it.
fn unescape(input: &[u8], pos: usize, out: &mut String) -> Result<usize, DecodeError> {
    let bad = |at: usize, why: &'static str| DecodeError::new(DecodeErrorKind::InvalidString(why), at);
    let c = match input.get(pos + 1) {
        None => return Err(DecodeError::new(DecodeErrorKind::UnexpectedEnd, pos)),
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => {
            let high = hex4(input, pos + 2).ok_or_else(|| bad(pos, "invalid \\u escape"))?;
            if (0xD800..0xDC00).contains(&high) {
                // A high surrogate must be followed by an escaped low surrogate.
                if input.get(pos + 6..pos + 8) != Some(b"\\u") {
                    return Err(bad(pos, "unpaired surrogate"));
                }
                let low = hex4(input, pos + 8).ok_or_else(|| bad(pos + 6, "invalid \\u escape"))?;
                if !(0xDC00..0xE000).contains(&low) {
                    return Err(bad(pos + 6, "unpaired surrogate"));
                }
                let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                out.push(char::from_u32(code).ok_or_else(|| bad(pos, "invalid code point"))?);
                return Ok(pos + 12);
            }
            let c = char::from_u32(high).ok_or_else(|| bad(pos, "unpaired surrogate"))?;
            out.push(c);
            return Ok(pos + 6);
        }
        Some(_) => return Err(bad(pos, "invalid escape")),
    };
    out.push(c);
    Ok(pos + 2)
}

fn hex4(input: &[u8], pos: usize) -> Option<u32> {
    let digits = input.get(pos..pos + 4)?;
    digits.iter().try_fold(0u32, |acc, b| Some(acc * 16 + char::from(*b).to_digit(16)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(result: Result<impl std::fmt::Debug, DecodeError>) -> DecodeErrorKind {
        result.expect_err("should fail").kind
    }

    #[test]
    fn reads_nested_objects_and_arrays() {
        let mut r = JsonReader::new(br#" { "a" : [1, -2.50e+3, true, null], "b": {"c": "d\u00e9\n"} } "#);
        r.begin_object().unwrap();
        assert_eq!(r.next_key().unwrap().as_deref(), Some("a"));
        r.begin_array().unwrap();
        assert!(r.next_element().unwrap());
        assert_eq!(r.read_number_raw().unwrap(), "1");
        assert!(r.next_element().unwrap());
        assert_eq!(r.read_number_raw().unwrap(), "-2.50e+3");
        assert!(r.next_element().unwrap());
        assert!(r.read_bool().unwrap());
        assert!(r.next_element().unwrap());
        assert!(r.try_null().unwrap());
        assert!(!r.next_element().unwrap());
        assert_eq!(r.next_key().unwrap().as_deref(), Some("b"));
        r.begin_object().unwrap();
        assert_eq!(r.next_key().unwrap().as_deref(), Some("c"));
        assert_eq!(r.read_str().unwrap(), "dé\n");
        assert_eq!(r.next_key().unwrap(), None);
        assert_eq!(r.next_key().unwrap(), None);
        r.finish().unwrap();
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let mut r = JsonReader::new(br#""plain""#);
        assert!(matches!(r.read_str().unwrap(), Cow::Borrowed("plain")));
    }

    #[test]
    fn surrogate_pairs_decode_and_lone_ones_fail() {
        assert_eq!(JsonReader::new(br#""\ud83d\ude00""#).read_str().unwrap(), "\u{1F600}");
        assert_eq!(
            kind(JsonReader::new(br#""\ud83d""#).read_str()),
            DecodeErrorKind::InvalidString("unpaired surrogate")
        );
        assert_eq!(
            kind(JsonReader::new(br#""\ude00""#).read_str()),
            DecodeErrorKind::InvalidString("unpaired surrogate")
        );
    }

    #[test]
    fn malformed_json_is_refused() {
        let cases: &[&[u8]] = &[
            br#"{"a":1,}"#,
            br#"{"a" 1}"#,
            br#"{"a":1 "b":2}"#,
            br#"[1,]"#,
            br#"[1 2]"#,
            b"[01]",
            b"[1.]",
            b"[1e]",
            b"[-]",
            b"[tru]",
            b"[nul]",
            b"\"a\x01\"",
            b"\"\xff\"",
            br#""\x""#,
            br#"{"a":"#,
        ];
        for case in cases {
            let mut r = JsonReader::new(case);
            assert!(r.skip_value().and_then(|()| r.finish()).is_err(), "{}", String::from_utf8_lossy(case));
        }
    }

    #[test]
    fn wrong_types_name_both_types() {
        assert_eq!(
            kind(JsonReader::new(b"[]").begin_object()),
            DecodeErrorKind::WrongType { expected: "an object", found: "an array" }
        );
        assert_eq!(
            kind(JsonReader::new(b"12").read_str()),
            DecodeErrorKind::WrongType { expected: "a string", found: "a number" }
        );
    }

    #[test]
    fn trailing_content_and_deep_nesting_are_refused() {
        let mut r = JsonReader::new(b"{} x");
        r.skip_value().unwrap();
        assert_eq!(kind(r.finish()), DecodeErrorKind::TrailingCharacters);
        let deep = "[".repeat(MAX_DEPTH as usize + 1) + &"]".repeat(MAX_DEPTH as usize + 1);
        assert_eq!(kind(JsonReader::new(deep.as_bytes()).skip_value()), DecodeErrorKind::TooDeep);
        let ok = "[".repeat(MAX_DEPTH as usize) + &"]".repeat(MAX_DEPTH as usize);
        JsonReader::new(ok.as_bytes()).skip_value().unwrap();
    }

    #[test]
    fn caller_nesting_is_counted_apart_from_json_depth() {
        let mut r = JsonReader::new(b"{}");
        r.enter_nested(2, "things").unwrap();
        r.enter_nested(2, "things").unwrap();
        assert_eq!(kind(r.enter_nested(2, "things")), DecodeErrorKind::TooDeepNested { what: "things", limit: 2 });
        r.leave_nested();
        r.enter_nested(2, "things").unwrap();
        // JSON depth is untouched.
        r.skip_value().unwrap();
        r.finish().unwrap();
    }

    #[test]
    fn peeks_a_member_without_moving() {
        let r = JsonReader::new(br#"{"id":"x","meta":{"a":[1,{"b":2}]},"resourceType":"Patient"}"#);
        assert_eq!(r.peek_object_string_member("resourceType").unwrap().as_deref(), Some("Patient"));
        assert_eq!(r.peek_object_string_member("nothing").unwrap(), None);
        assert_eq!(r.offset(), 0);
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let mut r = JsonReader::new(b"\xEF\xBB\xBF{}");
        r.skip_value().unwrap();
        r.finish().unwrap();
    }
}
