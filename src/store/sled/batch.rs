//! Combines concurrent `ingest` calls into one sled transaction.
//!
//! sled 0.34 runs multi-tree transactions one at a time behind a global lock, so one transaction
//! per ingest caps the store at a few thousand ingests a second however many callers wait. Here
//! callers queue their ingest; one writer thread takes everything queued (up to [`MAX_BATCH`]),
//! applies it in ONE transaction in arrival order (later items see earlier items' writes, so two
//! deliveries of one key in a batch give one `New` and one `Duplicate`), takes one commit ticket
//! for the batch and answers every caller. Callers then wait for the group commit as before, so a
//! batch costs one transaction and (usually) shares one flush + fsync.

use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Mutex, Weak};

use tokio::sync::oneshot;

use super::{Inner, ingest};
use crate::item::Item;
use crate::store::{IngestPlan, Ingested, Millis, StoreError, StoreResult};

/// Most ingests applied in one transaction: bounds the transaction's write set and how long the
/// first caller of a batch waits behind the others. 256 gave long tails under webhook load
/// (docs/BENCHMARKS.md); 16 still turns a burst of 64 senders into ~4 transactions.
pub(crate) const MAX_BATCH: usize = 16;

/// What an ingest waits for: its outcome and the commit ticket that covers it.
type Reply = StoreResult<(Ingested, u64)>;

pub(crate) struct Request {
    item: Item,
    plan: IngestPlan,
    now: Millis,
    reply: oneshot::Sender<Reply>,
}

/// The queue side, held by the store. Dropping it (with the store) ends the writer thread.
pub(crate) struct Batcher {
    queue: Mutex<Sender<Request>>,
}

impl Batcher {
    /// The queue and its receiving end, for [`Batcher::spawn`] once the store exists.
    pub(crate) fn new() -> (Batcher, Receiver<Request>) {
        let (tx, rx) = std::sync::mpsc::channel();
        (
            Batcher {
                queue: Mutex::new(tx),
            },
            rx,
        )
    }

    /// Start the writer thread. It holds the store weakly, so the store can still be dropped
    /// (and sled's directory lock released) while the thread idles.
    pub(crate) fn spawn(rx: Receiver<Request>, inner: Weak<Inner>) -> StoreResult<()> {
        std::thread::Builder::new()
            .name("pinbridge-store-ingest".into())
            .spawn(move || run(&rx, &inner))
            .map(|_| ())
            .map_err(|e| StoreError::Io(format!("could not start the store's ingest writer: {e}")))
    }

    /// Queue one ingest and wait for its outcome and ticket (not yet durable: wait on the ticket).
    pub(crate) async fn ingest(&self, item: Item, plan: IngestPlan, now: Millis) -> Reply {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            item,
            plan,
            now,
            reply,
        };
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(request)
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

fn run(rx: &Receiver<Request>, inner: &Weak<Inner>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(request) => batch.push(request),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let Some(inner) = inner.upgrade() else {
            for request in batch {
                let _ = request.reply.send(Err(StoreError::Closed));
            }
            return;
        };
        let inputs: Vec<(&Item, &IngestPlan, Millis)> =
            batch.iter().map(|r| (&r.item, &r.plan, r.now)).collect();
        let result = ingest::ingest_batch(&inner, &inputs);
        // The ticket is taken after the transaction committed, so a flush after it covers the batch.
        let ticket = inner.committer.note_write();
        drop(inputs);
        match result {
            Ok(outcomes) => {
                for (request, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = request.reply.send(Ok((outcome, ticket)));
                }
            }
            Err(e) => {
                for request in batch {
                    let _ = request.reply.send(Err(same_error(&e)));
                }
            }
        }
    }
}

/// A copy of `e` for every caller of a failed batch (`StoreError` holds only plain data).
fn same_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Open { path, reason } => StoreError::Open {
            path: path.clone(),
            reason: reason.clone(),
        },
        StoreError::SchemaTooNew { found, supported } => StoreError::SchemaTooNew {
            found: *found,
            supported: *supported,
        },
        StoreError::Io(reason) => StoreError::Io(reason.clone()),
        StoreError::NotFound { what, id } => StoreError::NotFound {
            what,
            id: id.clone(),
        },
        StoreError::Closed => StoreError::Closed,
        StoreError::Poisoned(reason) => StoreError::Poisoned(reason.clone()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::item::{DedupKey, SourceId};
    use crate::store::sled::{SledOptions, SledStore};
    use crate::store::{Delivery, Health, Items, JobFilter, Outbox, Target};

    fn item(n: u32, title: &str) -> Item {
        let mut item = Item::new(
            SourceId::new("shop"),
            DedupKey::new("product", &n.to_string()),
        );
        item.title = title.to_string();
        item
    }

    fn plan(delivery: Option<&str>) -> IngestPlan {
        IngestPlan {
            targets: vec![Target {
                route: "0".into(),
                account: "main".into(),
                board: "Board".into(),
                section: None,
            }],
            delivery: delivery.map(|id| Delivery {
                id: id.to_string(),
                keep_until: 10_000,
            }),
            ..IngestPlan::default()
        }
    }

    fn open() -> (SledStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            SledStore::open(&dir.path().join("store"), SledOptions::default(), None).expect("open");
        (store, dir)
    }

    #[test]
    fn later_items_in_a_batch_see_earlier_ones() {
        let (store, _dir) = open();
        let (a, changed) = (item(1, "A"), item(1, "A, renamed"));
        let (p_new, p_same_delivery, p_other) =
            (plan(Some("ev-1")), plan(Some("ev-1")), plan(Some("ev-2")));
        let (p_plain, p_plain2) = (plan(None), plan(None));
        let outcomes = ingest::ingest_batch(
            &store.inner,
            &[
                (&a, &p_new, 1),
                // Same delivery id: a no-op duplicate even though the item changed.
                (&changed, &p_same_delivery, 1),
                // Same item and fingerprint under another delivery id: a duplicate item.
                (&a, &p_other, 1),
                (&changed, &p_plain, 1),
                (&item(2, "B"), &p_plain2, 1),
            ],
        )
        .expect("batch");
        assert_eq!(
            outcomes,
            vec![
                Ingested::New { jobs: 1 },
                Ingested::Duplicate,
                Ingested::Duplicate,
                Ingested::Changed { jobs: 0 },
                Ingested::New { jobs: 1 },
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_ingests_are_each_answered_and_durable_records() {
        let (store, dir) = open();
        let store = Arc::new(store);
        let tasks: Vec<_> = (0..200u32)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    // Every key is sent twice with one delivery id: exactly one New per key.
                    let id = format!("ev-{}", n / 2);
                    store.ingest(&item(n / 2, "x"), plan(Some(&id)), 1).await
                })
            })
            .collect();
        let mut new = 0;
        let mut duplicate = 0;
        for task in tasks {
            match task.await.expect("task").expect("ingest") {
                Ingested::New { jobs: 1 } => new += 1,
                Ingested::Duplicate => duplicate += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((new, duplicate), (100, 100));
        store.close().await.expect("close");
        drop(store);
        let path = dir.path().join("store");
        // sled's own I/O threads may hold the directory lock for a moment after the last
        // handle is dropped (seen on a loaded machine), so the reopen is retried briefly.
        let mut tries = 0;
        let reopened = loop {
            match SledStore::open_async(path.clone(), SledOptions::default(), None).await {
                Ok(store) => break store,
                Err(_) if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => panic!("reopen: {e}"),
            }
        };
        let jobs = reopened
            .jobs(JobFilter {
                limit: 1000,
                ..JobFilter::default()
            })
            .await
            .expect("jobs");
        assert_eq!(jobs.len(), 100);
    }
}
