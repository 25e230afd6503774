//! MLLP framing: `source_connectors::mllp::framing::Framer`, fed one byte stream split into
//! reads as the input says, and driven as the listener drives it (after each read, frames until
//! `None`; a frame too large ends the connection).
//!
//! Input: `[limit][k][k read lengths][stream]`. A `limit` byte with its high bit set means a limit
//! no frame reaches (1 MiB); otherwise the limit is its value (0..=127 bytes).
//!
//! Invariants, against a reference that cuts the whole stream at once (a frame is what lies
//! between a START byte and the first END CR after it; bytes outside frames are dropped):
//! - nothing panics;
//! - however the stream is split, the messages are the reference's, in order, up to the first
//!   frame too large, and a frame is too large exactly when the reference's is (its content is
//!   over the limit, or, unfinished at the end of the stream, passed the limit by more than one
//!   byte, which may be the END of an END CR still to come);
//! - a frame too large reports a prefix of its content, more than the limit, no more than it
//!   holds (refused unfinished, plus perhaps the END of an END CR still to come), all of it
//!   when complete, and the SHA-256 of what it reports as received;
//! - the framer's memory is bounded: after a `None`, it holds nothing outside a frame and at most
//!   `limit + 2` bytes inside one;
//! - `frame(m)` is cut back to `m` for any `m` without END CR.

use source_connectors::mllp::framing::{frame, Framed, Framer, Oversized, END, START};
use sha2::{Digest, Sha256};

/// What the reference finds in a whole stream.
#[derive(Debug)]
enum Expected<'a> {
    Message(&'a [u8]),
    /// `rest`: the stream from the frame's content on; `length`: the content's length.
    TooLarge {
        rest: &'a [u8],
        length: usize,
        complete: bool,
    },
}

fn reference(stream: &[u8], limit: usize) -> Vec<Expected<'_>> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = stream[at..].iter().position(|b| *b == START).map(|p| at + p) {
        let content_start = start + 1;
        match stream[content_start..].windows(2).position(|w| w == [END, b'\r']) {
            Some(length) => {
                let content = &stream[content_start..content_start + length];
                found.push(if content.len() > limit {
                    Expected::TooLarge { rest: &stream[content_start..], length, complete: true }
                } else {
                    Expected::Message(content)
                });
                at = content_start + length + 2;
            }
            None => {
                let rest = &stream[content_start..];
                if rest.len() > limit + 1 {
                    found.push(Expected::TooLarge { rest, length: rest.len(), complete: false });
                }
                break;
            }
        }
    }
    found
}

fn check_oversized(oversized: &Oversized, expected: &Expected<'_>, limit: usize) {
    let Expected::TooLarge { rest, length, complete } = expected else {
        panic!("too large where the reference has a message: {expected:?}");
    };
    assert!(oversized.received > limit, "too large but not over the limit");
    // Refused unfinished, what was received may end with the END of the END CR to come: until
    // its CR arrives that byte is content.
    let received_ok = oversized.received <= *length
        || (!oversized.complete && oversized.received == length + 1 && rest.get(*length) == Some(&END));
    assert!(received_ok, "received {} bytes of a frame of {length}", oversized.received);
    assert!(rest.starts_with(&oversized.head), "head is not the frame's prefix");
    assert_eq!(oversized.head.len(), oversized.received.min(64 * 1024));
    if oversized.complete {
        assert!(*complete, "complete where the reference is not");
        assert_eq!(oversized.received, *length);
    }
    let digest: [u8; 32] = Sha256::digest(&rest[..oversized.received]).into();
    assert_eq!(oversized.sha256, digest, "sha256 is not of the bytes received");
}

/// Runs one input.
pub fn check(data: &[u8]) {
    let [limit_byte, splits, rest @ ..] = data else { return };
    let limit = if limit_byte & 0x80 != 0 { 1 << 20 } else { usize::from(*limit_byte) };
    let split_count = usize::from(*splits).min(rest.len());
    let (split_bytes, stream) = rest.split_at(split_count);
    let expected = reference(stream, limit);

    let mut framer = Framer::new(limit);
    let mut got = 0;
    let mut offset = 0;
    let mut reads = split_bytes.iter().map(|b| usize::from(*b));
    while offset < stream.len() {
        // Read lengths from the input, then the rest in one read; a 0 is a read of 1 byte.
        let length = reads.next().map_or(stream.len() - offset, |n| n.max(1)).min(stream.len() - offset);
        framer.push(&stream[offset..offset + length]);
        offset += length;
        while let Some(framed) = framer.next_frame() {
            let want = expected.get(got).unwrap_or_else(|| panic!("frame {got} is not in the reference: {framed:?}"));
            match framed {
                Framed::Message(message) => {
                    let Expected::Message(content) = want else {
                        panic!("a message where the reference has one too large: {want:?}");
                    };
                    assert_eq!(&message[..], *content, "message {got} differs from the reference");
                    assert!(message.len() <= limit);
                }
                Framed::TooLarge(oversized) => {
                    check_oversized(&oversized, want, limit);
                    // The connection ends here.
                    return;
                }
            }
            got += 1;
        }
        if framer.in_frame() {
            assert!(framer.buffered_len() <= limit + 2, "framer holds {} bytes", framer.buffered_len());
        } else {
            assert_eq!(framer.buffered_len(), 0, "framer holds bytes outside a frame");
        }
    }
    assert_eq!(got, expected.len(), "the framer gave fewer frames than the reference: {expected:?}");

    // A message framed for the wire is cut back to itself.
    if let Ok(message) = std::str::from_utf8(stream) {
        if !stream.windows(2).any(|w| w == [END, b'\r']) {
            let mut framer = Framer::new(stream.len());
            framer.push(&frame(message));
            assert_eq!(framer.next_frame(), Some(Framed::Message(stream.to_vec())));
            assert_eq!(framer.next_frame(), None);
        }
    }
}
