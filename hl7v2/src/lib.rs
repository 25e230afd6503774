//! A fast, zero-copy parser of HL7 v2 messages in ER7 encoding (the pipe-delimited form):
//! [`Message::parse`] splits a message into segments, checks the MSH header and the segment
//! ids, and hands out views ([`Segment`], [`Field`], [`Repetition`], [`Component`]) that borrow
//! the input text and split it on demand; decoded values resolve escape sequences and allocate
//! only when there is one to resolve. No input makes it panic, and errors name the segment and
//! field at fault but never quote a value, which may be patient data.
//!
//! # Brief overview
//! - [`Message`]: a parsed message; [`Message::get`] reads a value by a terser-like path such as
//!   `PID-3[2].4.1`, and [`Message::header`] gives the main MSH fields as a [`Header`].
//! - [`Segment`], [`Field`], [`Repetition`], [`Component`]: the levels of a message, numbered
//!   from 1 as HL7 does (MSH-1 is the field separator, MSH-2 the encoding characters).
//! - [`Delimiters`]: the separators and escape character declared by MSH-1 and MSH-2, including
//!   the v2.7 truncation character.
//! - [`unescape`] and [`escape`]: escape sequences (`\F\`, `\S\`, `\T\`, `\R\`, `\E\`, `\P\`,
//!   `\Xhh\`, `\.br\`, ...) in and out.
//! - [`split_messages`]: splits batch files (FHS/BHS ... BTS/FTS) and concatenated messages.
//! - [`ParseError`] and [`ParseErrorKind`]: what is wrong and where (`MSH-2`, `segment 3`).
//!
//! # Example
//! ```
//! use hl7v2::Message;
//!
//! let text = "MSH|^~\\&|ADT1|GOOD HEALTH|EHR|HOSP|20240102030405||ADT^A01^ADT_A01|MSG00001|P|2.5\r\
//!             PID|1||PATID1234^5^M11^ADT1^MR^GOOD HEALTH~123456789^^^USSSA^SS||EVERYMAN^ADAM^A\r\
//!             NTE|1||Fish \\T\\ chips\r";
//! let message = Message::parse(text)?;
//! let header = message.header();
//! assert_eq!((header.message_code, header.trigger_event), ("ADT", Some("A01")));
//! assert_eq!(header.version, Some("2.5"));
//!
//! let pid = message.segment("PID").expect("PID");
//! let identifiers = pid.field(3).expect("PID-3");
//! assert_eq!(identifiers.repetitions().count(), 2);
//! assert_eq!(identifiers.component(5).map(|c| c.raw()), Some("MR"));
//! assert_eq!(message.get("PID-3[2].4").as_deref(), Some("USSSA"));
//! assert_eq!(message.get("NTE-3").as_deref(), Some("Fish & chips"));
//!
//! let error = Message::parse("MSH|^~|A|B").unwrap_err();
//! assert_eq!(error.to_string(), "MSH-2: encoding characters must be 4 or 5 distinct characters");
//! # Ok::<(), hl7v2::ParseError>(())
//! ```

mod batch;
mod delimiters;
mod error;
mod escape;
mod field;
mod lines;
mod message;
mod segment;

pub use batch::split_messages;
pub use delimiters::Delimiters;
pub use error::{ParseError, ParseErrorKind};
pub use escape::{escape, unescape};
pub use field::{Component, Field, Repetition};
pub use message::{Header, Message};
pub use segment::Segment;
