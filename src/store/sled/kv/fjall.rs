//! The fjall engine: keyspaces for trees, single-writer transactions, memory held to a bound.
//!
//! fjall's defaults suit a server with memory to spare: 512 MiB of journals and a write buffer
//! sized to match. pinbridge runs in small containers, so the journals are capped at 64 MiB
//! (fjall's minimum), the write buffers at 16 MiB and each memtable at 4 MiB. With them the
//! service peaked at 169 MiB at a million items (docs/BENCHMARKS.md, "Engines behind the store
//! contract"); smaller memtables shortened the ack tail but lowered the long-run ingest rate.
//!
//! fjall 3.1's background workers can deadlock under sustained writes: a worker blocks sending
//! a flush request into the same bounded queue it drains, once writers have filled that queue
//! with rotation requests (fjall-rs/fjall#323, open; #257). With one worker, which fjall picks
//! on a one-core machine or container, nothing then drains the queue: writes go on, memtables
//! and the journal grow without bound, and closing hangs. It happened here in a million-item
//! run on one core (docs/BENCHMARKS.md, "Engines behind the store contract"). So the pool is
//! fixed at [`WORKER_THREADS`], whatever the core count: every worker would have to block at
//! once. That makes the stall rarer, not impossible, which is why sled stays the default engine
//! until fjall ships the fix.
//!
//! Every write, transactional or not, goes through fjall's single-writer lock, so a read-modify-
//! write inside a transaction can never interleave with another writer. Transactions write their
//! journal entry to the OS on commit (`PersistMode::Buffer`: a killed process keeps it); the
//! group commit (`commit.rs`) makes it durable with `persist(SyncAll)` before anyone is answered.

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use ::fjall::{
    KeyspaceCreateOptions, PersistMode, Readable, SingleWriterTxDatabase, SingleWriterTxKeyspace,
    SingleWriterWriteTx, Slice,
};

use super::{Mismatch, Result};

/// fjall's smallest journal budget; its default is 512 MiB.
const MAX_JOURNALING_BYTES: u64 = 64 * 1024 * 1024;
/// All keyspaces' write buffers together.
const MAX_WRITE_BUFFER_BYTES: u64 = 16 * 1024 * 1024;
/// One keyspace's memtable before it is flushed to a table on disk.
const MAX_MEMTABLE_BYTES: u64 = 4 * 1024 * 1024;

/// fjall's background threads (flushes and compactions). Its default is one per core up to 4.
const WORKER_THREADS: usize = 4;

/// The keyspace that holds the id counter behind [`FjallDb::generate_id`]. Its name starts with
/// an underscore so it can never be one of the store's trees.
const IDS: &str = "_ids";
const NEXT_ID: &[u8] = b"next";

pub(crate) struct FjallDb {
    db: SingleWriterTxDatabase,
    ids: SingleWriterTxKeyspace,
}

fn keyspace_options() -> KeyspaceCreateOptions {
    KeyspaceCreateOptions::default().max_memtable_size(MAX_MEMTABLE_BYTES)
}

impl FjallDb {
    /// Open (or create) the database in `dir` with a block cache of `cache_bytes`.
    #[allow(deprecated)] // `max_write_buffer_size` is marked "todo" upstream; it works in 3.1.
    pub(crate) fn open(dir: &Path, cache_bytes: u64) -> ::fjall::Result<FjallDb> {
        let db = SingleWriterTxDatabase::builder(dir)
            .cache_size(cache_bytes)
            .max_journaling_size(MAX_JOURNALING_BYTES)
            .max_write_buffer_size(Some(MAX_WRITE_BUFFER_BYTES))
            .worker_threads(WORKER_THREADS)
            .open()?;
        let ids = db.keyspace(IDS, keyspace_options)?;
        Ok(FjallDb { db, ids })
    }

    pub(super) fn open_tree(db: &Arc<FjallDb>, name: &str) -> Result<FjallTree> {
        Ok(FjallTree {
            keyspace: db.db.keyspace(name, keyspace_options)?,
            db: db.clone(),
        })
    }

    pub(super) fn generate_id(&self) -> Result<u64> {
        let mut tx = self.db.write_tx();
        let id = next_id(&mut tx, &self.ids)?;
        tx.commit()?;
        Ok(id)
    }

    /// Make every committed write durable: the journal is written and fsynced.
    pub(super) fn persist(&self) -> Result<()> {
        Ok(self.db.persist(PersistMode::SyncAll)?)
    }

    pub(super) fn disk_space(&self) -> Result<u64> {
        Ok(self.db.disk_space()?)
    }

    pub(super) fn tree_names(&self) -> Vec<Vec<u8>> {
        self.db
            .list_keyspace_names()
            .into_iter()
            .filter(|name| &**name != IDS)
            .map(|name| name.as_bytes().to_vec())
            .collect()
    }

    pub(super) fn drop_tree(&self, name: &str) -> Result<()> {
        if self.db.keyspace_exists(name) {
            let keyspace = self.db.keyspace(name, keyspace_options)?;
            self.db.inner().delete_keyspace(keyspace.inner().clone())?;
        }
        Ok(())
    }

    pub(super) fn write_tx(&self) -> SingleWriterWriteTx<'_> {
        self.db.write_tx()
    }
}

/// Take the next id inside `tx`: the counter commits (or not) with the transaction's writes.
fn next_id(tx: &mut SingleWriterWriteTx<'_>, ids: &SingleWriterTxKeyspace) -> Result<u64> {
    let current = match tx.get(ids, NEXT_ID)? {
        Some(raw) => <[u8; 8]>::try_from(&*raw)
            .map(u64::from_be_bytes)
            .unwrap_or(1),
        None => 1,
    };
    tx.insert(ids, NEXT_ID, (current + 1).to_be_bytes());
    Ok(current)
}

/// One keyspace, with the database it belongs to (for transactions and ids).
#[derive(Clone)]
pub(crate) struct FjallTree {
    db: Arc<FjallDb>,
    keyspace: SingleWriterTxKeyspace,
}

impl FjallTree {
    pub(super) fn db(&self) -> &Arc<FjallDb> {
        &self.db
    }

    pub(super) fn keyspace(&self) -> &::fjall::Keyspace {
        self.keyspace.inner()
    }

    pub(super) fn get(&self, key: &[u8]) -> Result<Option<Slice>> {
        Ok(self.keyspace.get(key)?)
    }

    pub(super) fn insert(&self, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(self.keyspace.insert(key, value)?)
    }

    pub(super) fn remove(&self, key: &[u8]) -> Result<()> {
        Ok(self.keyspace.remove(key)?)
    }

    pub(super) fn compare_and_swap(
        &self,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<std::result::Result<(), Mismatch>> {
        let mut tx = self.db.write_tx();
        let current = tx.get(&self.keyspace, key)?;
        if current.as_deref() != old {
            tx.rollback();
            return Ok(Err(Mismatch));
        }
        match new {
            Some(value) => tx.insert(&self.keyspace, key, value),
            None => tx.remove(&self.keyspace, key),
        }
        tx.commit()?;
        Ok(Ok(()))
    }

    /// Remove every entry, in one transaction.
    pub(super) fn clear(&self) -> Result<()> {
        let mut tx = self.db.write_tx();
        for entry in self.keyspace().iter() {
            let key = entry.key()?;
            tx.remove(&self.keyspace, key);
        }
        tx.commit()?;
        Ok(())
    }

    pub(super) fn apply_batch(&self, writes: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<()> {
        let mut tx = self.db.write_tx();
        for (key, value) in writes {
            match value {
                Some(value) => tx.insert(&self.keyspace, key, value),
                None => tx.remove(&self.keyspace, key),
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// An open fjall write transaction, shared by the trees of one store transaction (their closure
/// takes `&` views, so writes go through the `RefCell`).
pub(crate) struct FjallTx<'db> {
    tx: RefCell<SingleWriterWriteTx<'db>>,
}

impl<'db> FjallTx<'db> {
    pub(super) fn begin(db: &'db FjallDb) -> FjallTx<'db> {
        FjallTx {
            tx: RefCell::new(db.write_tx()),
        }
    }

    pub(super) fn commit(self) -> Result<()> {
        Ok(self.tx.into_inner().commit()?)
    }

    pub(super) fn rollback(self) {
        self.tx.into_inner().rollback();
    }
}

/// What a transactional tree view does on fjall. A trait object, so a view's lifetime need
/// not name the database borrow inside [`FjallTx`].
pub(crate) trait FjallWrites {
    fn get(&self, tree: &FjallTree, key: &[u8]) -> Result<Option<Slice>>;
    fn insert(&self, tree: &FjallTree, key: &[u8], value: &[u8]);
    fn remove(&self, tree: &FjallTree, key: &[u8]);
    fn generate_id(&self, tree: &FjallTree) -> Result<u64>;
}

impl FjallWrites for FjallTx<'_> {
    fn get(&self, tree: &FjallTree, key: &[u8]) -> Result<Option<Slice>> {
        Ok(self.tx.borrow().get(&tree.keyspace, key)?)
    }

    fn insert(&self, tree: &FjallTree, key: &[u8], value: &[u8]) {
        self.tx.borrow_mut().insert(&tree.keyspace, key, value);
    }

    fn remove(&self, tree: &FjallTree, key: &[u8]) {
        self.tx.borrow_mut().remove(&tree.keyspace, key);
    }

    fn generate_id(&self, tree: &FjallTree) -> Result<u64> {
        next_id(&mut self.tx.borrow_mut(), &tree.db.ids)
    }
}
