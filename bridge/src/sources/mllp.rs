//! The MLLP listener: HL7 v2 over TCP with MLLP framing (`0x0B message 0x1C 0x0D`), many
//! connections at once, one message at a time per connection, as senders expect.
//!
//! Each message is parsed and mapped (see [`crate::pipeline::hl7v2`]); its resources go through
//! the service's single writer, and the `ACK` (`MSA|AA`) is sent only once they are durable in the
//! ledger. A refused message gets `MSA|AE` (its content: a bad field, a mapping that does not
//! apply) or `MSA|AR` (not processable: the header, an unsupported message type) with an `ERR`
//! segment naming the location, and is kept, sealed, as a dead letter (`fhir-bridge dead-letters`)
//! before the answer. A message whose preparation fails inside the bridge (a panic) is refused
//! the same way (`AE`, dead letter), never acknowledged. A re-sent message maps to the same
//! content: nothing new is stored, and it is acknowledged again.
//!
//! Limits: a message begun must be complete within `message_timeout_s` (a sender trickling
//! bytes cannot hold a connection); a connection with no message under way is closed after
//! `idle_timeout_s`; a frame over `max_message_bytes` is answered `AR` (when its MSH can be read)
//! and the connection closed; a connection over `max_connections` is closed as soon as accepted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::config::MllpConfig;
use crate::metrics::Metrics;
use crate::pipeline::batcher::BatcherHandle;
use crate::pipeline::commit::now_ms;
use crate::pipeline::hl7v2::{failed_internally, prepare_v2, v2_text, PreparedV2, V2Mappings};
use crate::store::{DeadLetter, Node};

/// Start of an MLLP block.
const START: u8 = 0x0B;
/// End of an MLLP block (followed by a carriage return).
const END: u8 = 0x1C;

/// The running listener; [`MllpListener::stop`] ends it.
pub struct MllpListener {
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The address it listens on.
    pub local_addr: SocketAddr,
}

struct Shared {
    node: Arc<Node>,
    mappings: Arc<V2Mappings>,
    writer: BatcherHandle,
    metrics: Arc<Metrics>,
    config: MllpConfig,
}

impl MllpListener {
    /// Binds `config.listen` and serves on its own threads until [`Self::stop`].
    pub fn start(
        config: MllpConfig,
        node: Arc<Node>,
        mappings: Arc<V2Mappings>,
        writer: BatcherHandle,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<MllpListener> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mllp")
            .enable_io()
            .enable_time()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind(config.listen))?;
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared { node, mappings, writer, metrics, config });
        let thread = std::thread::Builder::new().name("mllp-listener".into()).spawn(move || {
            runtime.block_on(accept_loop(listener, shared, stopped));
            // In-flight messages finish (their ACKs wait for the ledger) within this grace time.
            runtime.shutdown_timeout(Duration::from_secs(30));
        })?;
        tracing::info!(%local_addr, "MLLP listener started.");
        Ok(MllpListener { stop, thread: Some(thread), local_addr })
    }

    /// Stops accepting, lets messages under way finish, and returns when it has.
    pub fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(shared.config.max_connections.max(1)));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                // Over the limit: closed at once, so the sender sees it and can retry or go
                // elsewhere, rather than waiting unanswered in the listen backlog.
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, limit = shared.config.max_connections, "MLLP connection limit reached; closing the new connection.");
                    drop(stream);
                    continue;
                };
                let shared = shared.clone();
                let stopped = stopped.clone();
                tokio::spawn(async move {
                    shared.metrics.mllp_connections.inc();
                    if let Err(error) = serve_connection(stream, peer, &shared, stopped).await {
                        tracing::debug!(%peer, %error, "MLLP connection ended with an error.");
                    }
                    shared.metrics.mllp_connections.dec();
                    drop(permit);
                });
            }
            Err(error) => {
                tracing::warn!(%error, "MLLP accept failed.");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// What the framer found.
#[derive(Debug, PartialEq, Eq)]
enum Framed {
    /// A complete message (the frame's content).
    Message(Vec<u8>),
    /// A frame over the size limit: its first bytes (enough for the MSH). The connection ends.
    TooLarge(Vec<u8>),
}

/// How much of an oversized frame is kept to read its MSH from.
const HEAD_BYTES: usize = 64 * 1024;

/// Frames of a byte stream: what lies between START and END CR (bytes outside frames are
/// dropped). Each byte is scanned for the end block once, however the frame is split into reads.
struct Framer {
    /// From a frame's START on (when `in_frame`); else nothing.
    buffer: Vec<u8>,
    in_frame: bool,
    /// How much of `buffer` has been scanned for END CR.
    scanned: usize,
    max_message_bytes: usize,
}

impl Framer {
    fn new(max_message_bytes: usize) -> Framer {
        Framer { buffer: Vec::new(), in_frame: false, scanned: 0, max_message_bytes }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Whether a frame has begun and is not complete yet.
    fn in_frame(&self) -> bool {
        self.in_frame
    }

    /// The next complete frame, or an oversized one, if the buffer holds one.
    fn next_frame(&mut self) -> Option<Framed> {
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
                    Framed::TooLarge(self.buffer[1..1 + content.min(HEAD_BYTES)].to_vec())
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
                    let head = self.buffer[1..self.buffer.len().min(1 + HEAD_BYTES)].to_vec();
                    self.buffer = Vec::new();
                    self.in_frame = false;
                    self.scanned = 0;
                    return Some(Framed::TooLarge(head));
                }
                None
            }
        }
    }
}

async fn write_ack(stream: &mut TcpStream, ack: &str) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(ack.len() + 3);
    out.push(START);
    out.extend_from_slice(ack.as_bytes());
    out.extend_from_slice(&[END, b'\r']);
    stream.write_all(&out).await
}

/// The `AR` for an oversized message, when its MSH (the first segment of `head`) can be read.
fn too_large_ack(head: &[u8], limit: usize) -> Option<String> {
    let text = v2_text(head);
    let msh = text.split(['\r', '\n']).next().filter(|s| s.starts_with("MSH"))?;
    let msh = format!("{msh}\r");
    let message = hl7v2::Message::parse(&msh).ok()?;
    let header = message.header();
    Some(ack(Some(&header), "AR", Some(("", &format!("message too large: over {limit} bytes")))))
}

async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let idle = Duration::from_secs(shared.config.idle_timeout_s.max(1));
    let per_message = Duration::from_secs(shared.config.message_timeout_s.max(1));
    let limit = shared.config.max_message_bytes;
    let mut framer = Framer::new(limit);
    let mut chunk = vec![0u8; 64 * 1024];
    // The idle timer runs between messages; a message begun has its own deadline, which reads
    // do not extend (a sender trickling bytes cannot hold the connection).
    let mut idle_since = Instant::now();
    let mut frame_since: Option<Instant> = None;
    loop {
        while let Some(framed) = framer.next_frame() {
            match framed {
                Framed::Message(frame) => {
                    let ack = handle_message(&frame, peer, shared).await;
                    write_ack(&mut stream, &ack).await?;
                    idle_since = Instant::now();
                    frame_since = None;
                }
                Framed::TooLarge(head) => {
                    tracing::warn!(%peer, limit, "MLLP message too large; refusing it and closing the connection.");
                    shared.metrics.mllp_messages_refused.inc();
                    if let Some(ack) = too_large_ack(&head, limit) {
                        write_ack(&mut stream, &ack).await?;
                    }
                    let _ = stream.shutdown().await;
                    // What the sender still sends is read and dropped for a moment, so closing
                    // with unread bytes does not reset the connection before it reads the NAK.
                    let drain = async { while matches!(stream.read(&mut chunk).await, Ok(n) if n > 0) {} };
                    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
                    return Ok(());
                }
            }
        }
        let deadline = if framer.in_frame() {
            *frame_since.get_or_insert_with(Instant::now) + per_message
        } else {
            frame_since = None;
            idle_since + idle
        };
        let read = tokio::select! {
            read = tokio::time::timeout_at(deadline.into(), stream.read(&mut chunk)) => match read {
                Ok(read) => read?,
                Err(_) => {
                    if framer.in_frame() {
                        tracing::warn!(%peer, timeout_s = per_message.as_secs(), "MLLP message not complete in time; closing the connection.");
                    }
                    return Ok(());
                }
            },
            _ = stopped.changed() => return Ok(()),
        };
        if read == 0 {
            return Ok(());
        }
        framer.push(&chunk[..read]);
    }
}

/// Processes one message and gives the ACK text.
async fn handle_message(frame: &[u8], peer: SocketAddr, shared: &Shared) -> String {
    let bytes = frame.to_vec();
    let (node, mappings) = (shared.node.clone(), shared.mappings.clone());
    handle_prepared(frame, peer, shared, move || prepare_v2(&bytes, &mappings, &node)).await
}

/// Runs `prepare` (parse, map, prepare) off the runtime, then stores or refuses the message and
/// gives the ACK text. A `prepare` that fails (panics) refuses the message: `AE`, dead letter.
async fn handle_prepared<F>(frame: &[u8], peer: SocketAddr, shared: &Shared, prepare: F) -> String
where
    F: FnOnce() -> PreparedV2 + Send + 'static,
{
    let prepared = match tokio::task::spawn_blocking(prepare).await {
        Ok(prepared) => prepared,
        // The panic's own text is not logged: it may quote the message (see the binary's hook).
        Err(_) => {
            tracing::error!(%peer, "Preparing an MLLP message failed; refusing it.");
            failed_internally()
        }
    };
    let text = v2_text(frame);
    let message = hl7v2::Message::parse(&text).ok();
    let header = message.as_ref().map(hl7v2::Message::header);
    if let Some(rejection) = prepared.prepared.rejections.first() {
        let outcome = String::from_utf8_lossy(&fhir_models::to_json(rejection.outcome.as_ref())).into_owned();
        let reason = rejection.reason().unwrap_or("refused").to_owned();
        let location = rejection.location.clone().unwrap_or_default();
        // Not processable at all (header, message type) is a reject; a content error an error.
        let code = if header.is_none() || location == "MSH-9" { "AR" } else { "AE" };
        let letter = DeadLetter {
            time_ms: now_ms(),
            source: format!("mllp:{peer}"),
            reason: reason.clone(),
            outcome,
            message: text.to_string(),
        };
        let node = shared.node.clone();
        let kept = tokio::task::spawn_blocking(move || node.keep_dead_letter(&letter)).await;
        shared.metrics.mllp_messages_refused.inc();
        return match kept {
            Ok(Ok(_)) => ack(header.as_ref(), code, Some((&location, &reason))),
            // Not kept: the sender must send again (AE without a durable dead letter would lose it).
            _ => ack(header.as_ref(), "AE", Some(("", "the message could not be kept; send it again"))),
        };
    }
    let resources = prepared.prepared.resources;
    if !resources.is_empty() {
        if let Err(error) = shared.writer.submit(resources).await {
            tracing::error!(%error, "Committing an MLLP message failed.");
            return ack(header.as_ref(), "AE", Some(("", "the ledger is unavailable; send the message again")));
        }
    }
    shared.metrics.mllp_messages_accepted.inc();
    ack(header.as_ref(), "AA", None)
}

/// The current time as a v2 DTM (UTC).
fn v2_now() -> String {
    let instant = crate::read::format_instant(now_ms());
    // 2026-11-25T10:00:00.123Z -> 20261125100000+0000
    let digits: String = instant.chars().take(19).filter(char::is_ascii_digit).collect();
    format!("{digits}+0000")
}

/// An `ACK` for `header` (the message's, when its MSH parsed): `code` AA, AE or AR, and for
/// errors an `ERR` segment with the location (`PID-7` → `PID^1^7`) and the reason.
fn ack(header: Option<&hl7v2::Header<'_>>, code: &str, error: Option<(&str, &str)>) -> String {
    let delimiters = hl7v2::Delimiters::default();
    let field = |text: Option<&str>| hl7v2::escape(text.unwrap_or(""), &delimiters).into_owned();
    let (trigger, version, control) = match header {
        Some(h) => (h.trigger_event.unwrap_or(""), h.version.unwrap_or("2.5.1"), h.control_id),
        None => ("", "2.5.1", ""),
    };
    let ack_control = format!("ACK{}", now_ms());
    let mut out = format!(
        "MSH|^~\\&|{}|{}|{}|{}|{}||ACK^{}^ACK|{}|P|{}\rMSA|{code}|{}\r",
        field(header.and_then(|h| h.receiving_application)),
        field(header.and_then(|h| h.receiving_facility)),
        field(header.and_then(|h| h.sending_application)),
        field(header.and_then(|h| h.sending_facility)),
        v2_now(),
        field(Some(trigger)),
        ack_control,
        field(Some(version)),
        field(Some(control)),
    );
    if let Some((location, reason)) = error {
        // ERR-2 error location (ERL: segment^sequence^field), ERR-3 HL7 error code (table 0357),
        // ERR-4 severity, ERR-8 user message.
        let erl = location
            .split_once('-')
            .map(|(segment, field)| format!("{segment}^1^{}", field.split('.').next().unwrap_or(field)))
            .unwrap_or_default();
        let error_code = match (code, location) {
            ("AR", "MSH-9") => "200^Unsupported message type^HL70357",
            _ if location.is_empty() => "207^Application internal error^HL70357",
            ("AR", _) => "100^Segment sequence error^HL70357",
            _ => "102^Data type error^HL70357",
        };
        out.push_str(&format!("ERR||{erl}|{error_code}|E||||{}\r", field(Some(reason))));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{ack, handle_prepared, too_large_ack, Framed, Framer, Shared, END, START};
    use crate::config::{BridgeConfig, MllpConfig};
    use crate::metrics::Metrics;
    use crate::pipeline::hl7v2::V2Mappings;
    use crate::store::Node;

    #[test]
    fn a_failure_while_preparing_a_message_refuses_it_and_keeps_it_as_a_dead_letter() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = BridgeConfig { data_dir: dir.path().to_owned(), ..BridgeConfig::default() };
        let node = Arc::new(Node::open(&config).expect("node"));
        let metrics = Arc::new(Metrics::default());
        let (writer, _thread) =
            crate::pipeline::batcher::start(node.clone(), metrics.clone(), 64, Duration::from_millis(1))
                .expect("writer");
        let shared = Shared {
            node: node.clone(),
            mappings: Arc::new(V2Mappings::Absent("not used".into())),
            writer,
            metrics,
            config: MllpConfig {
                listen: "127.0.0.1:0".parse().expect("address"),
                max_connections: 1,
                max_message_bytes: 1024,
                idle_timeout_s: 1,
                message_timeout_s: 1,
            },
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let text = "MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||ADT^A01^ADT_A01|MSG-PANIC|P|2.5.1\rPID|1||123\r";
        let peer = "127.0.0.1:9".parse().expect("address");
        let answer = runtime.block_on(handle_prepared(text.as_bytes(), peer, &shared, || {
            panic!("a bug while mapping (forced by the test)")
        }));

        let parsed = hl7v2::Message::parse(&answer).expect("the ACK parses");
        assert_eq!(parsed.get("MSA-1").as_deref(), Some("AE"), "{answer}");
        assert_eq!(parsed.get("MSA-2").as_deref(), Some("MSG-PANIC"), "{answer}");
        assert_eq!(parsed.get("ERR-3.1").as_deref(), Some("207"), "{answer}");
        assert!(parsed.get("ERR-8").is_some_and(|r| r.contains("internal error")), "{answer}");
        let letters = node.dead_letters().expect("dead letters");
        assert_eq!(letters.len(), 1, "the refused message is kept");
        assert!(letters[0].1.reason.contains("internal error"), "{}", letters[0].1.reason);
        assert_eq!(letters[0].1.message, text);
        assert_eq!(ledger_adapter::LedgerReader::tree_size(node.ledger.as_ref()).expect("size"), 0, "nothing stored");
    }

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
        // Complete in one read, over the limit.
        let mut framer = Framer::new(100);
        framer.push(&[START]);
        framer.push(msh);
        framer.push(&[b'x'; 200]);
        framer.push(&[END, b'\r']);
        match framer.next_frame() {
            Some(Framed::TooLarge(head)) => assert!(head.starts_with(msh)),
            other => panic!("{other:?}"),
        }
        // Never completed: refused once the limit is passed, without waiting for the end.
        let mut framer = Framer::new(100);
        framer.push(&[START]);
        framer.push(msh);
        assert_eq!(framer.next_frame(), None);
        framer.push(&[b'x'; 40]);
        match framer.next_frame() {
            Some(Framed::TooLarge(head)) => assert!(head.starts_with(msh)),
            other => panic!("{other:?}"),
        }
        // Exactly at the limit is a message.
        let mut framer = Framer::new(msh.len());
        framer.push(&[START]);
        framer.push(msh);
        framer.push(&[END, b'\r']);
        assert_eq!(framed(&mut framer).as_deref(), Some(&msh[..]));

        let nak = too_large_ack(msh, 100).expect("the MSH is readable");
        let parsed = hl7v2::Message::parse(&nak).expect("the NAK parses");
        assert_eq!(parsed.get("MSA-1").as_deref(), Some("AR"));
        assert_eq!(parsed.get("MSA-2").as_deref(), Some("BIG-1"));
        assert!(parsed.get("ERR-8").is_some_and(|r| r.contains("message too large")), "{nak}");
        assert_eq!(too_large_ack(b"xxxx", 100), None, "no MSH, no answer");
    }

    #[test]
    fn acks_answer_the_message_and_name_the_error() {
        let text = "MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||ADT^A01^ADT_A01|MSG-1|P|2.5.1\rPID|1\r";
        let message = hl7v2::Message::parse(text).expect("valid");
        let header = message.header();
        let accepted = ack(Some(&header), "AA", None);
        let parsed = hl7v2::Message::parse(&accepted).expect("the ACK parses");
        assert_eq!(parsed.get("MSH-3").as_deref(), Some("BRIDGE"));
        assert_eq!(parsed.get("MSH-5").as_deref(), Some("APP"));
        assert_eq!(parsed.get("MSH-9.1").as_deref(), Some("ACK"));
        assert_eq!(parsed.get("MSA-1").as_deref(), Some("AA"));
        assert_eq!(parsed.get("MSA-2").as_deref(), Some("MSG-1"));
        assert!(parsed.segment("ERR").is_none());
        let refused = ack(Some(&header), "AE", Some(("PID-7", "PID-7: day out of range | really")));
        let parsed = hl7v2::Message::parse(&refused).expect("the ACK parses");
        assert_eq!(parsed.get("MSA-1").as_deref(), Some("AE"));
        assert_eq!(parsed.get("ERR-2").as_deref(), Some("PID"));
        assert_eq!(parsed.get("ERR-2.3").as_deref(), Some("7"));
        assert_eq!(parsed.get("ERR-8").as_deref(), Some("PID-7: day out of range | really"));
        let unparsable = ack(None, "AR", Some(("MSH-2", "bad encoding characters")));
        assert_eq!(hl7v2::Message::parse(&unparsable).expect("parses").get("MSA-1").as_deref(), Some("AR"));
    }
}
