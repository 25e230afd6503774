//! The service's single writer: collects resources from many requests into blocks.
//!
//! Requests send their normalised resources and wait; one thread gathers what arrives within
//! `block_linger_ms` (up to `block_records`), commits it as one block, and answers each request
//! with its receipts only after the block is durable. When every handle is dropped, the thread
//! commits what it holds and stops, so a graceful shutdown loses nothing accepted.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{CommitError, Normalised, Receipt};
use crate::metrics::Metrics;
use crate::store::Node;

type Reply = tokio::sync::oneshot::Sender<Result<Vec<Receipt>, Arc<CommitError>>>;

/// A handle to submit work to the writer thread.
#[derive(Clone)]
pub struct BatcherHandle {
    sender: mpsc::Sender<(Vec<Normalised>, Reply)>,
}

/// Why a submission got no receipts.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The writer has stopped (the service is shutting down).
    #[error("the writer has stopped")]
    Stopped,
    /// The commit failed.
    #[error(transparent)]
    Commit(Arc<CommitError>),
}

impl BatcherHandle {
    /// Submits resources and waits until they are durable (or refused).
    pub async fn submit(&self, resources: Vec<Normalised>) -> Result<Vec<Receipt>, SubmitError> {
        let (reply, receive) = tokio::sync::oneshot::channel();
        self.sender.send((resources, reply)).map_err(|_| SubmitError::Stopped)?;
        receive.await.map_err(|_| SubmitError::Stopped)?.map_err(SubmitError::Commit)
    }
}

impl BatcherHandle {
    /// Like [`submit`](Self::submit), for callers on threads of their own (the Kafka connector).
    pub fn submit_blocking(&self, resources: Vec<Normalised>) -> Result<Vec<Receipt>, SubmitError> {
        let (reply, receive) = tokio::sync::oneshot::channel();
        self.sender.send((resources, reply)).map_err(|_| SubmitError::Stopped)?;
        receive.blocking_recv().map_err(|_| SubmitError::Stopped)?.map_err(SubmitError::Commit)
    }
}

/// Starts the writer thread; it ends when every handle is dropped.
pub fn start(
    node: Arc<Node>,
    metrics: Arc<Metrics>,
    block_records: usize,
    linger: Duration,
) -> std::io::Result<(BatcherHandle, std::thread::JoinHandle<()>)> {
    let (sender, receiver) = mpsc::channel::<(Vec<Normalised>, Reply)>();
    let thread = std::thread::Builder::new().name("ledger-writer".into()).spawn(move || {
        while let Ok(first) = receiver.recv() {
            let started = Instant::now();
            let deadline = started + linger;
            let mut pending = vec![first];
            let mut count = pending[0].0.len();
            while count < block_records {
                let now = Instant::now();
                let Some(wait) = deadline.checked_duration_since(now) else { break };
                match receiver.recv_timeout(wait) {
                    Ok(item) => {
                        count += item.0.len();
                        pending.push(item);
                    }
                    Err(_) => break,
                }
            }
            let sizes: Vec<usize> = pending.iter().map(|(r, _)| r.len()).collect();
            let mut all = Vec::with_capacity(count);
            let mut replies = Vec::with_capacity(pending.len());
            for (resources, reply) in pending {
                all.extend(resources);
                replies.push(reply);
            }
            let result = node.commit_batch(&all);
            metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
            match result {
                Ok(receipts) => {
                    metrics.blocks_committed.inc();
                    let mut receipts = receipts.into_iter();
                    for (reply, size) in replies.into_iter().zip(sizes) {
                        let mine: Vec<Receipt> = receipts.by_ref().take(size).collect();
                        for r in &mine {
                            if r.duplicate {
                                metrics.resources_duplicate.inc();
                            } else {
                                metrics.resources_accepted.inc();
                            }
                        }
                        let _ = reply.send(Ok(mine));
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "Block commit failed; the requests get an error.");
                    let error = Arc::new(error);
                    for reply in replies {
                        let _ = reply.send(Err(error.clone()));
                    }
                }
            }
        }
    })?;
    Ok((BatcherHandle { sender }, thread))
}
