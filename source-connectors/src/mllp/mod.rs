//! The MLLP listener: HL7 v2 over TCP (or TLS with client certificates) with MLLP framing
//! (`0x0B message 0x1C 0x0D`), many connections at once, one message at a time per connection,
//! as senders expect.
//!
//! Each message is checked against the listener's sending facilities, parsed and mapped (see
//! [`ingest_pipeline::hl7v2`]); its resources go through the service's single writer, and the
//! `ACK` (`MSA|AA`) is sent only once they are durable in the ledger. A refused message gets
//! `MSA|AE` (its content: a bad field) or `MSA|AR` (not processable: the header, an unsupported
//! type, a missing required segment, nothing to store, a sender not allowed, too large) with an
//! `ERR` segment naming the location, and is kept, sealed, as a dead letter
//! (`fhir-bridge dead-letters`) before the answer. A message whose preparation fails inside the
//! bridge (a panic) is refused the same way (`AE`, dead letter), never acknowledged. A re-sent
//! message maps to the same content: nothing new is stored, and it is acknowledged again.
//!
//! Limits: a message begun must be complete within `message_timeout_s` (a sender trickling
//! bytes cannot hold a connection), which also bounds a TLS handshake; a connection with no
//! message under way is closed after `idle_timeout_s`; a frame over `max_message_bytes` is
//! answered `AR` (when its MSH can be read), kept as a bounded dead letter and the connection
//! closed; a connection over `max_connections`, or over `max_connections_per_sender` for its
//! sender (peer IP, or client certificate with TLS), is closed as soon as accepted.
//!
//! Modules: [`framing`] (frames), `ack` (answers), `handle` (one message), `limits`
//! (senders), `tls` (mutual TLS).

mod ack;
mod config;
pub mod framing;
mod handle;
mod limits;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

pub use config::{MllpConfig, MllpTlsConfig};
pub use tls::MllpTlsError;

use crate::metrics::MllpMetrics;
use framing::{Framed, Framer};
use handle::{handle_message, refuse_too_large, Sender};
use ingest_pipeline::batcher::BatcherHandle;
use ingest_pipeline::hl7v2::V2Mappings;
use limits::{Facilities, SenderLimits, SenderSlot};
use node_store::Node;

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MllpStartError {
    /// Binding the address, or starting the runtime, failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The TLS configuration cannot be used.
    #[error(transparent)]
    Tls(#[from] MllpTlsError),
}

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
    metrics: Arc<MllpMetrics>,
    config: MllpConfig,
    facilities: Facilities,
    senders: Arc<SenderLimits>,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl MllpListener {
    /// Binds `config.listen` and serves on its own threads until [`Self::stop`].
    pub fn start(
        config: MllpConfig,
        node: Arc<Node>,
        mappings: Arc<V2Mappings>,
        writer: BatcherHandle,
        metrics: Arc<MllpMetrics>,
    ) -> Result<MllpListener, MllpStartError> {
        let tls = match &config.tls {
            Some(tls) => Some(tokio_rustls::TlsAcceptor::from(tls::server_config(tls)?)),
            None => None,
        };
        if tls.is_none() && !config.listen.ip().is_loopback() {
            tracing::warn!(listen = %config.listen, "MLLP listens in plaintext on an address other than loopback: anyone who reaches it can send as any allowed facility; configure mllp.tls.");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mllp")
            .enable_io()
            .enable_time()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind(config.listen))?;
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let facilities = Facilities::new(
            config.allowed_facilities.clone(),
            config.tls.as_ref().map(|t| t.facilities_by_certificate.clone()).unwrap_or_default(),
        );
        let senders = SenderLimits::new(config.max_connections_per_sender);
        let with_tls = tls.is_some();
        let shared = Arc::new(Shared { node, mappings, writer, metrics, config, facilities, senders, tls });
        let thread = std::thread::Builder::new().name("mllp-listener".into()).spawn(move || {
            runtime.block_on(accept_loop(listener, shared, stopped));
            // In-flight messages finish (their ACKs wait for the ledger) within this grace time.
            runtime.shutdown_timeout(Duration::from_secs(30));
        })?;
        tracing::info!(%local_addr, tls = with_tls, "MLLP listener started.");
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
                // Over a limit: closed at once, so the sender sees it and can retry or go
                // elsewhere, rather than waiting unanswered in the listen backlog. The
                // per-sender limit comes first, so one sender cannot take every slot.
                let Some(sender_slot) = shared.senders.acquire(format!("ip:{}", peer.ip())) else {
                    tracing::warn!(%peer, limit = shared.config.max_connections_per_sender, "MLLP per-sender connection limit reached; closing the new connection.");
                    drop(stream);
                    continue;
                };
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, limit = shared.config.max_connections, "MLLP connection limit reached; closing the new connection.");
                    drop(stream);
                    continue;
                };
                let shared = shared.clone();
                let stopped = stopped.clone();
                tokio::spawn(async move {
                    shared.metrics.connections.inc();
                    if let Err(error) = open_connection(stream, peer, sender_slot, &shared, stopped).await {
                        tracing::debug!(%peer, %error, "MLLP connection ended with an error.");
                    }
                    shared.metrics.connections.dec();
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

/// Serves a connection: in plaintext, or after a TLS handshake, within the message deadline,
/// that verified a client certificate. With TLS the sender is its certificate, not its address:
/// the address's slot is exchanged for the certificate's.
async fn open_connection(
    stream: TcpStream,
    peer: SocketAddr,
    address_slot: SenderSlot,
    shared: &Shared,
    stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let Some(acceptor) = &shared.tls else {
        let sender = Sender { addr: peer, certificate_names: Vec::new() };
        return serve_connection(stream, &sender, shared, stopped).await;
    };
    let handshake_limit = Duration::from_secs(shared.config.message_timeout_s.max(1));
    let stream = match tokio::time::timeout(handshake_limit, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            tracing::warn!(%peer, %error, "MLLP TLS handshake refused.");
            return Ok(());
        }
        Err(_) => {
            tracing::warn!(%peer, "MLLP TLS handshake not complete in time; closing the connection.");
            return Ok(());
        }
    };
    let Some(identity) = tls::client_identity(stream.get_ref().1) else {
        // The verifier requires a certificate: this does not happen, and is refused if it does.
        return Ok(());
    };
    drop(address_slot);
    let Some(_certificate_slot) = shared.senders.acquire(format!("cert:{}", identity.fingerprint)) else {
        tracing::warn!(%peer, limit = shared.config.max_connections_per_sender, "MLLP per-sender connection limit reached for a client certificate; closing the connection.");
        return Ok(());
    };
    let sender = Sender { addr: peer, certificate_names: identity.names };
    serve_connection(stream, &sender, shared, stopped).await
}

async fn serve_connection<S>(
    mut stream: S,
    sender: &Sender,
    shared: &Shared,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let peer = sender.addr;
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
                    let ack = handle_message(&frame, sender, shared).await;
                    stream.write_all(&framing::frame(&ack)).await?;
                    stream.flush().await?;
                    idle_since = Instant::now();
                    frame_since = None;
                }
                Framed::TooLarge(oversized) => {
                    tracing::warn!(%peer, limit, "MLLP message too large; refusing it and closing the connection.");
                    if let Some(ack) = refuse_too_large(&oversized, sender, shared).await {
                        stream.write_all(&framing::frame(&ack)).await?;
                        stream.flush().await?;
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
