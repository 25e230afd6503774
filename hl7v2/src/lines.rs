//! Segment separation: CR, LF and CRLF all end a segment; blank and whitespace-only lines are
//! skipped.

/// One non-blank line of a text.
#[derive(Clone, Copy)]
pub(crate) struct Line<'a> {
    /// The line without its terminator.
    pub(crate) text: &'a str,
    /// Byte offset of the line in the whole text.
    pub(crate) start: usize,
    /// Byte offset just past the line's terminator (CR, LF or CRLF), or the end of the text.
    pub(crate) end: usize,
}

/// The non-blank lines of a text.
pub(crate) struct Lines<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() {
            let start = self.pos;
            let eol = find_eol(bytes, start);
            let mut next = eol;
            if let Some(&b) = bytes.get(eol) {
                next += if b == b'\r' && bytes.get(eol + 1) == Some(&b'\n') { 2 } else { 1 };
            }
            self.pos = next;
            // CR and LF are ASCII, so `start` and `eol` are char boundaries.
            let text = self.text.get(start..eol).unwrap_or("");
            if !text.trim().is_empty() {
                return Some(Line { text, start, end: next });
            }
        }
        None
    }
}

/// Position of the first CR or LF at or after `from`, or the length of `bytes`.
fn find_eol(bytes: &[u8], from: usize) -> usize {
    let rest = bytes.get(from..).unwrap_or(&[]);
    // Eight bytes at a time: a segment line is typically tens to hundreds of bytes long.
    let mut chunks = rest.chunks_exact(8);
    let mut offset = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
        if has_byte(word, b'\r') || has_byte(word, b'\n') {
            break;
        }
        offset += 8;
    }
    let tail = rest.get(offset..).unwrap_or(&[]);
    from + offset + tail.iter().position(|&b| b == b'\r' || b == b'\n').unwrap_or(tail.len())
}

/// Whether any byte of `word` equals `byte` (the classic SWAR test; may not give false
/// negatives, and a false positive only ends the fast path early).
fn has_byte(word: u64, byte: u8) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (LO * u64::from(byte));
    (x.wrapping_sub(LO) & !x & HI) != 0
}
