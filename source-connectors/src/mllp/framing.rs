//! MLLP framing: a message travels as `0x0B message 0x1C 0x0D`; bytes outside frames are
//! dropped. The framer cuts frames from a byte stream and stops a frame that passes the size
//! limit, keeping only what a dead letter needs of it.
//!
//! Public (as `source_connectors::mllp::framing`) only so that the fuzz target `mllp_framing`
//! (`fuzz/`) can drive it; the listener is its one user in the bridge.

use sha2::{Digest, Sha256};

/// Start of an MLLP block.
pub const START: u8 = 0x0B;
/// End of an MLLP block (followed by a carriage return).
pub const END: u8 = 0x1C;

/// How much of an oversized frame is read for its MSH (to answer it).
const HEAD_BYTES: usize = 64 * 1024;

/// How much of an oversized frame is kept as its dead letter: enough to find it at the sender
/// (MSH, PID), not so much that a flood of oversized frames fills the store.
pub(super) const KEPT_PREFIX_BYTES: usize = 4 * 1024;

/// What the framer found.
#[derive(Debug, PartialEq, Eq)]
pub enum Framed {
    /// A complete message (the frame's content).
    Message(Vec<u8>),
    /// A frame over the size limit. The connection ends.
    TooLarge(Oversized),
}

/// What is known of a frame over the size limit.
#[derive(Debug, PartialEq, Eq)]
pub struct Oversized {
    /// Its first bytes (up to 64 KiB), to read the MSH from.
    pub head: Vec<u8>,
    /// How many bytes of it were received before it was refused.
    pub received: usize,
    /// Whether its end block had arrived (else it was refused on passing the limit).
    pub complete: bool,
    /// SHA-256 of the bytes received.
    pub sha256: [u8; 32],
}

impl Oversized {
    fn of(content: &[u8], complete: bool) -> Oversized {
        Oversized {
            head: content[..content.len().min(HEAD_BYTES)].to_vec(),
            received: content.len(),
            complete,
            sha256: Sha256::digest(content).into(),
        }
    }
}

/// Frames of a byte stream: what lies between START and END CR (bytes outside frames are
/// dropped). Each byte is scanned for the end block once, however the frame is split into reads.
pub struct Framer {
    /// From a frame's START on (when `in_frame`); else nothing.
    pub(super) buffer: Vec<u8>,
    in_frame: bool,
    /// How much of `buffer` has been scanned for END CR.
    scanned: usize,
    max_message_bytes: usize,
}

impl Framer {
    /// A framer that refuses frames whose content is over `max_message_bytes`.
    pub fn new(max_message_bytes: usize) -> Framer {
        Framer { buffer: Vec::new(), in_frame: false, scanned: 0, max_message_bytes }
    }

    /// Adds bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Whether a frame has begun and is not complete yet.
    pub fn in_frame(&self) -> bool {
        self.in_frame
    }

    /// How many bytes the framer holds. After [`Framer::next_frame`] gave `None`: none outside
    /// a frame, at most `max_message_bytes + 2` inside one.
    pub fn buffered_len(&self) -> usize {
        self.buffer.len()
    }

    /// The next complete frame, or an oversized one, if the buffer holds one.
    pub fn next_frame(&mut self) -> Option<Framed> {
        if !self.in_frame {
            match self.buffer.iter().position(|b| *b == START) {
                Some(start) => {
                    self.buffer.drain(..start);
                    self.in_frame = true;
                    self.scanned = 1;
                }
                None => {
                    self.buffer.clear();
                    return None;
                }
            }
        }
        // END may have been the last byte of the previous read: look again from it.
        let from = self.scanned.saturating_sub(1).max(1);
        match self.buffer[from..].windows(2).position(|w| w == [END, b'\r']) {
            Some(at) => {
                let end = from + at;
                let content = end - 1;
                let framed = if content > self.max_message_bytes {
                    Framed::TooLarge(Oversized::of(&self.buffer[1..end], true))
                } else {
                    Framed::Message(self.buffer[1..end].to_vec())
                };
                self.buffer.drain(..end + 2);
                self.in_frame = false;
                self.scanned = 0;
                Some(framed)
            }
            None => {
                self.scanned = self.buffer.len();
                // START, the content, and perhaps END still waiting for its CR.
                if self.buffer.len() > self.max_message_bytes + 2 {
                    let oversized = Oversized::of(&self.buffer[1..], false);
                    self.buffer = Vec::new();
                    self.in_frame = false;
                    self.scanned = 0;
                    return Some(Framed::TooLarge(oversized));
                }
                None
            }
        }
    }
}

/// `message` framed for the wire.
pub fn frame(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START);
    out.extend_from_slice(message.as_bytes());
    out.extend_from_slice(&[END, b'\r']);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(framer: &mut Framer) -> Option<Vec<u8>> {
        match framer.next_frame() {
            Some(Framed::Message(frame)) => Some(frame),
            Some(Framed::TooLarge(_)) => panic!("not too large"),
            None => None,
        }
    }

    #[test]
    fn frames_are_cut_from_a_stream_and_noise_between_them_is_ignored() {
        let mut framer = Framer::new(1024);
        framer.push(b"\r\n");
        framer.push(&[START]);
        framer.push(b"MSH|one");
        assert_eq!(framed(&mut framer), None, "incomplete");
        assert!(framer.in_frame());
        // The end block split between two reads.
        framer.push(&[END]);
        assert_eq!(framed(&mut framer), None, "END without its CR");
        framer.push(&[b'\r', START]);
        framer.push(b"MSH|two");
        framer.push(&[END, b'\r']);
        assert_eq!(framed(&mut framer).as_deref(), Some(&b"MSH|one"[..]));
        assert_eq!(framed(&mut framer).as_deref(), Some(&b"MSH|two"[..]));
        assert_eq!(framed(&mut framer), None);
        assert!(!framer.in_frame());
        // Noise outside frames is dropped, not kept growing.
        framer.push(&[b'x'; 4096]);
        assert_eq!(framed(&mut framer), None);
        assert!(framer.buffer.is_empty());
    }

    #[test]
    fn a_frame_over_the_limit_is_too_large_whether_complete_or_not() {
        let msh = b"MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||ADT^A01^ADT_A01|BIG-1|P|2.5.1\r";
        // Complete in one read, over the limit: its size and hash are of the whole content.
        let mut framer = Framer::new(100);
        let mut content = msh.to_vec();
        content.extend_from_slice(&[b'x'; 200]);
        framer.push(&[START]);
        framer.push(&content);
        framer.push(&[END, b'\r']);
        match framer.next_frame() {
            Some(Framed::TooLarge(o)) => {
                assert!(o.head.starts_with(msh));
                assert_eq!((o.received, o.complete), (content.len(), true));
                assert_eq!(o.sha256, <[u8; 32]>::from(Sha256::digest(&content)));
            }
            other => panic!("{other:?}"),
        }
        // Never completed: refused once the limit is passed, without waiting for the end.
        let mut framer = Framer::new(100);
        framer.push(&[START]);
        framer.push(msh);
        assert_eq!(framer.next_frame(), None);
        framer.push(&[b'x'; 40]);
        match framer.next_frame() {
            Some(Framed::TooLarge(o)) => {
                assert!(o.head.starts_with(msh));
                assert_eq!((o.received, o.complete), (msh.len() + 40, false));
            }
            other => panic!("{other:?}"),
        }
        // Exactly at the limit is a message.
        let mut framer = Framer::new(msh.len());
        framer.push(&[START]);
        framer.push(msh);
        framer.push(&[END, b'\r']);
        assert_eq!(framed(&mut framer).as_deref(), Some(&msh[..]));
    }
}
