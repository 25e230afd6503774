//! `JsonWriter`: writes JSON compactly or indented, placing commas and colons itself.
//!
//! Strings are escaped as RFC 8785 prescribes (only `"`, `\` and control characters; `/` and
//! non-ASCII text are written as they are), so compact output of sorted members is canonical.

use std::io::Write as _;

/// A JSON writer into a byte buffer.
#[derive(Debug, Default)]
pub struct JsonWriter {
    out: Vec<u8>,
    pretty: bool,
    depth: usize,
    // INVARIANT: true when the current container already holds a member or element, so the next
    // one needs a comma; false right after `{`/`[`.
    needs_comma: bool,
    // True between `key` and the value that follows it.
    after_key: bool,
}

impl JsonWriter {
    /// A compact writer: no whitespace.
    pub fn new() -> Self {
        Self { out: Vec::with_capacity(1024), ..Self::default() }
    }

    /// An indenting writer (two spaces), for people.
    pub fn pretty() -> Self {
        Self { pretty: true, ..Self::new() }
    }

    fn newline(&mut self) {
        self.out.push(b'\n');
        self.out.resize(self.out.len() + 2 * self.depth, b' ');
    }

    /// Separates a value from what precedes it.
    fn before_value(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if self.needs_comma {
            self.out.push(b',');
        }
        if self.pretty && self.depth > 0 {
            self.newline();
        }
        self.needs_comma = true;
    }

    /// Writes a member name; the value follows with the next call.
    pub fn key(&mut self, name: &str) {
        if self.needs_comma {
            self.out.push(b',');
        }
        if self.pretty {
            self.newline();
        }
        write_escaped(&mut self.out, name);
        self.out.extend_from_slice(if self.pretty { b": " } else { b":" });
        self.needs_comma = true;
        self.after_key = true;
    }

    /// Writes `{`.
    pub fn begin_object(&mut self) {
        self.before_value();
        self.out.push(b'{');
        self.depth += 1;
        self.needs_comma = false;
    }

    /// Writes `}`.
    pub fn end_object(&mut self) {
        self.end(b'}');
    }

    /// Writes `[`.
    pub fn begin_array(&mut self) {
        self.before_value();
        self.out.push(b'[');
        self.depth += 1;
        self.needs_comma = false;
    }

    /// Writes `]`.
    pub fn end_array(&mut self) {
        self.end(b']');
    }

    fn end(&mut self, close: u8) {
        self.depth = self.depth.saturating_sub(1);
        if self.pretty && self.needs_comma {
            self.newline();
        }
        self.out.push(close);
        self.needs_comma = true;
    }

    /// Writes a string value.
    pub fn string(&mut self, value: &str) {
        self.before_value();
        write_escaped(&mut self.out, value);
    }

    /// Writes `true` or `false`.
    pub fn bool(&mut self, value: bool) {
        self.before_value();
        self.out.extend_from_slice(if value { b"true" } else { b"false" });
    }

    /// Writes `null`.
    pub fn null(&mut self) {
        self.before_value();
        self.out.extend_from_slice(b"null");
    }

    /// Writes a signed integer.
    pub fn number_i64(&mut self, value: i64) {
        self.before_value();
        // Writing into a Vec cannot fail.
        let _ = write!(self.out, "{value}");
    }

    /// Writes an unsigned integer.
    pub fn number_u64(&mut self, value: u64) {
        self.before_value();
        let _ = write!(self.out, "{value}");
    }

    /// Writes number text as given. The caller guarantees it is a valid JSON number (decimals
    /// read by [`JsonReader::read_number_raw`](crate::JsonReader::read_number_raw) are).
    pub fn number_raw(&mut self, text: &str) {
        self.before_value();
        self.out.extend_from_slice(text.as_bytes());
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    /// The text written.
    pub fn into_string(self) -> String {
        // Only `&str` input and ASCII punctuation are ever written, so this is valid UTF-8.
        String::from_utf8(self.out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// Writes `value` as a JSON string with RFC 8785 escaping.
pub(crate) fn write_escaped(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let bytes = value.as_bytes();
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run_start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        run_start = i + 1;
    }
    out.extend_from_slice(&bytes[run_start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(w: &mut JsonWriter) {
        w.begin_object();
        w.key("a");
        w.begin_array();
        w.number_i64(-1);
        w.string("x\"\\\u{1}é/");
        w.null();
        w.end_array();
        w.key("b");
        w.begin_object();
        w.end_object();
        w.key("c");
        w.bool(true);
        w.end_object();
    }

    #[test]
    fn compact_output() {
        let mut w = JsonWriter::new();
        sample(&mut w);
        assert_eq!(w.into_string(), r#"{"a":[-1,"x\"\\\u0001é/",null],"b":{},"c":true}"#);
    }

    #[test]
    fn pretty_output() {
        let mut w = JsonWriter::pretty();
        sample(&mut w);
        assert_eq!(
            w.into_string(),
            "{\n  \"a\": [\n    -1,\n    \"x\\\"\\\\\\u0001é/\",\n    null\n  ],\n  \"b\": {},\n  \"c\": true\n}"
        );
    }
}
