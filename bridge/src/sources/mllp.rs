//! The MLLP listener: HL7 v2 over TCP with MLLP framing (`0x0B message 0x1C 0x0D`), many
//! connections at once, one message at a time per connection, as senders expect.
//!
//! Each message is parsed and mapped (see [`crate::pipeline::hl7v2`]); its resources go through
//! the service's single writer, and the `ACK` (`MSA|AA`) is sent only once they are durable in the
//! ledger. A refused message gets `MSA|AE` (its content: a bad field, a mapping that does not
//! apply) or `MSA|AR` (not processable: the header, an unsupported message type) with an `ERR`
//! segment naming the location, and is kept, sealed, as a dead letter (`fhir-bridge dead-letters`)
//! before the answer. A re-sent message maps to the same content: nothing new is stored, and it
//! is acknowledged again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::config::MllpConfig;
use crate::metrics::Metrics;
use crate::pipeline::batcher::BatcherHandle;
use crate::pipeline::commit::now_ms;
use crate::pipeline::hl7v2::{prepare_v2, v2_text, PreparedV2, V2Mappings};
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
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => return },
            _ = stopped.changed() => return,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
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

/// Frames of a byte stream: what lies between START and END CR (bytes outside frames are ignored).
#[derive(Default)]
struct Framer {
    buffer: Vec<u8>,
}

impl Framer {
    /// The next complete frame's content, if the buffer holds one.
    fn next_frame(&mut self) -> Option<Vec<u8>> {
        let start = self.buffer.iter().position(|b| *b == START)?;
        let end = self.buffer[start..].windows(2).position(|w| w == [END, b'\r'])? + start;
        let frame = self.buffer[start + 1..end].to_vec();
        self.buffer.drain(..end + 2);
        Some(frame)
    }
}

async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let idle = Duration::from_secs(shared.config.idle_timeout_s.max(1));
    let mut framer = Framer::default();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        while let Some(frame) = framer.next_frame() {
            let ack = handle_message(&frame, peer, shared).await;
            let mut out = Vec::with_capacity(ack.len() + 3);
            out.push(START);
            out.extend_from_slice(ack.as_bytes());
            out.extend_from_slice(&[END, b'\r']);
            stream.write_all(&out).await?;
        }
        let read = tokio::select! {
            read = tokio::time::timeout(idle, stream.read(&mut chunk)) => match read {
                Ok(read) => read?,
                Err(_) => return Ok(()),
            },
            _ = stopped.changed() => return Ok(()),
        };
        if read == 0 {
            return Ok(());
        }
        framer.buffer.extend_from_slice(&chunk[..read]);
        if framer.buffer.len() > shared.config.max_message_bytes {
            tracing::warn!(%peer, limit = shared.config.max_message_bytes, "MLLP message too large; closing the connection.");
            return Ok(());
        }
    }
}

/// Processes one message and gives the ACK text.
async fn handle_message(frame: &[u8], peer: SocketAddr, shared: &Shared) -> String {
    let bytes = frame.to_vec();
    let (node, mappings) = (shared.node.clone(), shared.mappings.clone());
    let prepared = tokio::task::spawn_blocking(move || prepare_v2(&bytes, &mappings, &node))
        .await
        .unwrap_or_else(|_| PreparedV2 { header: None, prepared: crate::pipeline::Prepared::default() });
    let text = v2_text(frame);
    let message = hl7v2::Message::parse(&text).ok();
    let header = message.as_ref().map(hl7v2::Message::header);
    if let Some(rejection) = prepared.prepared.rejections.first() {
        let outcome = String::from_utf8_lossy(&fhir_models::to_json(rejection.outcome.as_ref())).into_owned();
        let diagnostics = rejection.outcome.issue.first().and_then(|i| i.diagnostics.as_ref()).and_then(|d| d.as_str());
        let reason = diagnostics.unwrap_or("refused").to_owned();
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
            ("AR", _) => "100^Segment sequence error^HL70357",
            _ if location.is_empty() => "207^Application internal error^HL70357",
            _ => "102^Data type error^HL70357",
        };
        out.push_str(&format!("ERR||{erl}|{error_code}|E||||{}\r", field(Some(reason))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{ack, Framer, END, START};

    #[test]
    fn frames_are_cut_from_a_stream_and_noise_between_them_is_ignored() {
        let mut framer = Framer::default();
        framer.buffer.extend_from_slice(b"\r\n");
        framer.buffer.push(START);
        framer.buffer.extend_from_slice(b"MSH|one");
        assert_eq!(framer.next_frame(), None, "incomplete");
        framer.buffer.extend_from_slice(&[END, b'\r', START]);
        framer.buffer.extend_from_slice(b"MSH|two");
        framer.buffer.extend_from_slice(&[END, b'\r']);
        assert_eq!(framer.next_frame().as_deref(), Some(&b"MSH|one"[..]));
        assert_eq!(framer.next_frame().as_deref(), Some(&b"MSH|two"[..]));
        assert_eq!(framer.next_frame(), None);
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
