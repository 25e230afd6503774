//! The service's single writer: collects resources (and access records) from many requests into
//! blocks.
//!
//! Requests send their normalised resources and wait; one thread gathers what arrives within
//! `block_linger_ms` (up to `block_records`), commits it as one block, and answers each request
//! with its receipts only after the block is durable. When every handle is dropped, the thread
//! commits what it holds and stops, so a graceful shutdown loses nothing accepted.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::commit::Receipt;
use crate::error::CommitError;
use crate::metrics::WriterMetrics;
use crate::normalise::Normalised;
use node_store::records::LedgerRecord;
use node_store::Node;

type Reply = tokio::sync::oneshot::Sender<Result<Vec<Receipt>, Arc<CommitError>>>;

/// One request's work: resources to commit, other records (accesses) to append, the reply, and
/// whether its resources are all or nothing (a transaction with preconditions: committed in a
/// block of its own, after every precondition is checked).
type Job = (Vec<Normalised>, Vec<LedgerRecord>, Reply, bool);

/// A handle to submit work to the writer thread.
#[derive(Clone)]
pub struct BatcherHandle {
    sender: mpsc::Sender<Job>,
    metrics: Arc<WriterMetrics>,
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
    /// The writer's metrics; sources count what they refuse in its `resources_rejected`.
    pub fn metrics(&self) -> &WriterMetrics {
        &self.metrics
    }

    /// Submits resources and waits until they are durable (or refused).
    pub async fn submit(&self, resources: Vec<Normalised>) -> Result<Vec<Receipt>, SubmitError> {
        let (reply, receive) = tokio::sync::oneshot::channel();
        self.sender.send((resources, Vec::new(), reply, false)).map_err(|_| SubmitError::Stopped)?;
        receive.await.map_err(|_| SubmitError::Stopped)?.map_err(SubmitError::Commit)
    }

    /// Submits resources that are all written or none: when one's `if_match` does not hold,
    /// nothing is written and every receipt says `precondition_failed` (with the current
    /// versions). Committed in a block of its own, so the check and the commit see one state.
    pub async fn submit_all_or_nothing(&self, resources: Vec<Normalised>) -> Result<Vec<Receipt>, SubmitError> {
        let (reply, receive) = tokio::sync::oneshot::channel();
        self.sender.send((resources, Vec::new(), reply, true)).map_err(|_| SubmitError::Stopped)?;
        receive.await.map_err(|_| SubmitError::Stopped)?.map_err(SubmitError::Commit)
    }

    /// Appends `records` (accesses) and waits until they are durable.
    pub async fn record(&self, records: Vec<LedgerRecord>) -> Result<(), SubmitError> {
        let (reply, receive) = tokio::sync::oneshot::channel();
        self.sender.send((Vec::new(), records, reply, false)).map_err(|_| SubmitError::Stopped)?;
        receive.await.map_err(|_| SubmitError::Stopped)?.map(|_| ()).map_err(SubmitError::Commit)
    }
}

impl BatcherHandle {
    /// Like [`submit`](Self::submit), for callers on threads of their own (the Kafka connector).
    pub fn submit_blocking(&self, resources: Vec<Normalised>) -> Result<Vec<Receipt>, SubmitError> {
        let (reply, receive) = tokio::sync::oneshot::channel();
        self.sender.send((resources, Vec::new(), reply, false)).map_err(|_| SubmitError::Stopped)?;
        receive.blocking_recv().map_err(|_| SubmitError::Stopped)?.map_err(SubmitError::Commit)
    }
}

/// Starts the writer thread; it ends when every handle is dropped.
pub fn start(
    node: Arc<Node>,
    metrics: Arc<WriterMetrics>,
    block_records: usize,
    linger: Duration,
) -> std::io::Result<(BatcherHandle, std::thread::JoinHandle<()>)> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let handle_metrics = metrics.clone();
    let thread = std::thread::Builder::new().name("ledger-writer".into()).spawn(move || {
        // A job taken while gathering that must have a block of its own waits here for the next.
        let mut carried: Option<Job> = None;
        while let Some(first) = carried.take().or_else(|| receiver.recv().ok()) {
            let started = Instant::now();
            if first.3 {
                let (resources, _, reply, _) = first;
                let result = crate::commit::commit_all_or_nothing(&node, &resources);
                metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
                if let Some(receipts) = result.as_ref().ok().filter(|r| r.iter().all(|r| !r.precondition_failed)) {
                    metrics.blocks_committed.inc();
                    for receipt in receipts {
                        match receipt.duplicate {
                            true => metrics.resources_duplicate.inc(),
                            false => metrics.resources_accepted.inc(),
                        };
                    }
                }
                let _ = reply.send(result.map_err(Arc::new));
                continue;
            }
            // An audit record alone (a read waiting for its Access record) does not wait for
            // company: it takes what is queued already and commits, so reads stay fast.
            let deadline = if first.0.is_empty() { started } else { started + linger };
            let mut pending = vec![first];
            let mut count = pending[0].0.len() + pending[0].1.len();
            while count < block_records {
                let now = Instant::now();
                let wait = deadline.saturating_duration_since(now);
                let next = if wait.is_zero() {
                    receiver.try_recv().map_err(|_| mpsc::RecvTimeoutError::Timeout)
                } else {
                    receiver.recv_timeout(wait)
                };
                match next {
                    Ok(item) if item.3 => {
                        carried = Some(item);
                        break;
                    }
                    Ok(item) => {
                        count += item.0.len() + item.1.len();
                        pending.push(item);
                    }
                    Err(_) => break,
                }
            }
            let sizes: Vec<usize> = pending.iter().map(|(r, _, _, _)| r.len()).collect();
            let mut all = Vec::with_capacity(count);
            let mut extra = Vec::new();
            let mut replies = Vec::with_capacity(pending.len());
            for (resources, records, reply, _) in pending {
                all.extend(resources);
                extra.extend(records);
                replies.push(reply);
            }
            let result = crate::commit::commit_batch(&node, &all, &extra);
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
    Ok((BatcherHandle { sender, metrics: handle_metrics }, thread))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_adapter::LedgerReader;
    use node_store::records::Access;

    fn access(i: usize) -> LedgerRecord {
        LedgerRecord::Access(Access {
            time_ms: 1,
            node: "00".into(),
            accessor: format!("{i:02x}"),
            action: "read".into(),
            outcome: "deny".into(),
            patient: None,
            resource_type: Some("Observation".into()),
            resource: None,
        })
    }

    #[test]
    fn concurrent_access_records_share_blocks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = node_store::NodeConfig::in_dir(dir.path());
        let node = Arc::new(Node::open(&config).expect("node"));
        let (handle, thread) =
            start(node.clone(), Arc::new(WriterMetrics::default()), 1000, Duration::from_millis(5)).expect("writer");
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().expect("runtime");
        const READS: usize = 64;
        runtime.block_on(async {
            let tasks: Vec<_> = (0..READS)
                .map(|i| {
                    let handle = handle.clone();
                    tokio::spawn(async move { handle.record(vec![access(i)]).await })
                })
                .collect();
            for task in tasks {
                task.await.expect("task").expect("durable");
            }
        });
        drop(handle);
        thread.join().expect("writer thread");
        let head = node.ledger.head().expect("ledger").expect("a head");
        assert_eq!(head.header.tree_size, READS as u64);
        let blocks = head.header.height + 1;
        // One block while the first commits, then what queued meanwhile: far fewer than one each.
        assert!(blocks <= READS as u64 / 4, "{READS} concurrent Access records took {blocks} blocks");
    }
}
