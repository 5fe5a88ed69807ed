//! The key-value engine under the embedded store: sled or fjall, behind one small API.
//!
//! The embedded store's records, keys, transactions and group commit are written once against
//! this module; it runs them on either engine. Its shape is the part of sled's API the store
//! uses (named trees, multi-tree transactions whose closure may abort, ordered iteration), so
//! the sled path stays what it was and fjall supplies the same operations:
//!
//! - a sled tree is a fjall keyspace;
//! - a sled transaction is a fjall single-writer transaction (one at a time, so it never
//!   conflicts and its closure runs once);
//! - `flush()` is sled's flush, or fjall's journal persisted with `SyncAll`.
//!
//! Which engine a directory holds is read from its files (`detect`), so an existing store always
//! opens with the engine that wrote it; `[store] engine` chooses for a new directory.

mod fjall;
pub(crate) mod transaction;

use std::ops::{Deref, RangeBounds};
use std::path::Path;
use std::sync::Arc;

pub(crate) use self::fjall::FjallDb;
use self::fjall::FjallTree;
pub use crate::settings::Engine;

/// An engine error (its text says what failed; the store wraps it as `StoreError::Io`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Sled(#[from] ::sled::Error),
    #[error(transparent)]
    Fjall(#[from] ::fjall::Error),
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

/// The engine whose files are in `dir`, or `None` for an empty or missing directory.
pub(crate) fn detect(dir: &Path) -> Option<Engine> {
    if dir.join("conf").is_file() || dir.join("db").is_file() {
        Some(Engine::Sled)
    } else if dir.join("version").is_file() || dir.join("keyspaces").is_dir() {
        Some(Engine::Fjall)
    } else {
        None
    }
}

/// An open database.
#[derive(Clone)]
pub(crate) enum Db {
    Sled(::sled::Db),
    Fjall(Arc<FjallDb>),
}

impl Db {
    pub(crate) fn engine(&self) -> Engine {
        match self {
            Db::Sled(_) => Engine::Sled,
            Db::Fjall(_) => Engine::Fjall,
        }
    }

    pub(crate) fn open_tree(&self, name: &str) -> Result<Tree> {
        Ok(match self {
            Db::Sled(db) => Tree::Sled(db.open_tree(name)?),
            Db::Fjall(db) => Tree::Fjall(FjallDb::open_tree(db, name)?),
        })
    }

    /// A number never handed out before by this store, across restarts.
    pub(crate) fn generate_id(&self) -> Result<u64> {
        Ok(match self {
            Db::Sled(db) => db.generate_id()?,
            Db::Fjall(db) => db.generate_id()?,
        })
    }

    /// Write what is buffered to the files. sled's flush ends in `sync_file_range` (the
    /// group commit adds the fsyncs, `commit.rs`); fjall's persists its journal with fsync.
    pub(crate) fn flush(&self) -> Result<()> {
        match self {
            Db::Sled(db) => db.flush().map(|_| ())?,
            Db::Fjall(db) => db.persist()?,
        }
        Ok(())
    }

    pub(crate) fn size_on_disk(&self) -> Result<u64> {
        Ok(match self {
            Db::Sled(db) => db.size_on_disk()?,
            Db::Fjall(db) => db.disk_space()?,
        })
    }

    pub(crate) fn tree_names(&self) -> Vec<Vec<u8>> {
        match self {
            Db::Sled(db) => db.tree_names().into_iter().map(|n| n.to_vec()).collect(),
            Db::Fjall(db) => db.tree_names(),
        }
    }

    pub(crate) fn drop_tree(&self, name: &str) -> Result<()> {
        match self {
            Db::Sled(db) => db.drop_tree(name).map(|_| ())?,
            Db::Fjall(db) => db.drop_tree(name)?,
        }
        Ok(())
    }
}

/// A named, ordered map of byte keys to byte values.
#[derive(Clone)]
pub(crate) enum Tree {
    Sled(::sled::Tree),
    Fjall(FjallTree),
}

/// The old value did not match in [`Tree::compare_and_swap`]: someone wrote there meanwhile.
#[derive(Debug)]
pub(crate) struct Mismatch;

impl Tree {
    pub(crate) fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>> {
        Ok(match self {
            Tree::Sled(t) => t.get(key)?.map(Value::Sled),
            Tree::Fjall(t) => t.get(key.as_ref())?.map(Value::Fjall),
        })
    }

    pub(crate) fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        match self {
            Tree::Sled(t) => t.insert(key.as_ref(), value.as_ref()).map(|_| ())?,
            Tree::Fjall(t) => t.insert(key.as_ref(), value.as_ref())?,
        }
        Ok(())
    }

    pub(crate) fn remove(&self, key: impl AsRef<[u8]>) -> Result<()> {
        match self {
            Tree::Sled(t) => t.remove(key).map(|_| ())?,
            Tree::Fjall(t) => t.remove(key.as_ref())?,
        }
        Ok(())
    }

    pub(crate) fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.get(key)?.is_some())
    }

    /// Replace the value at `key` with `new` only if it is still `old` (`None`: absent).
    pub(crate) fn compare_and_swap(
        &self,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<std::result::Result<(), Mismatch>> {
        match self {
            Tree::Sled(t) => Ok(t.compare_and_swap(key, old, new)?.map_err(|_| Mismatch)),
            Tree::Fjall(t) => t.compare_and_swap(key, old, new),
        }
    }

    pub(crate) fn iter(&self) -> Iter {
        match self {
            Tree::Sled(t) => Iter::Sled(Box::new(t.iter())),
            Tree::Fjall(t) => Iter::Fjall(t.keyspace().iter()),
        }
    }

    pub(crate) fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        match self {
            Tree::Sled(t) => Iter::Sled(Box::new(t.range(range))),
            Tree::Fjall(t) => Iter::Fjall(t.keyspace().range(range)),
        }
    }

    pub(crate) fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        match self {
            Tree::Sled(t) => Iter::Sled(Box::new(t.scan_prefix(prefix))),
            Tree::Fjall(t) => Iter::Fjall(t.keyspace().prefix(prefix)),
        }
    }

    /// How many entries (a full scan on both engines).
    pub(crate) fn len(&self) -> usize {
        match self {
            Tree::Sled(t) => t.len(),
            Tree::Fjall(t) => t.keyspace().iter().count(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Remove every entry.
    pub(crate) fn clear(&self) -> Result<()> {
        match self {
            Tree::Sled(t) => t.clear()?,
            Tree::Fjall(t) => t.clear()?,
        }
        Ok(())
    }

    /// Apply `batch` atomically.
    pub(crate) fn apply_batch(&self, batch: Batch) -> Result<()> {
        match self {
            Tree::Sled(t) => {
                let mut sled_batch = ::sled::Batch::default();
                for (key, value) in batch.writes {
                    match value {
                        Some(value) => sled_batch.insert(key, value),
                        None => sled_batch.remove(key),
                    }
                }
                t.apply_batch(sled_batch)?;
            }
            Tree::Fjall(t) => t.apply_batch(batch.writes)?,
        }
        Ok(())
    }
}

/// Writes applied together by [`Tree::apply_batch`].
#[derive(Default)]
pub(crate) struct Batch {
    writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    pub(crate) fn insert(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.writes
            .push((key.as_ref().to_vec(), Some(value.as_ref().to_vec())));
    }
}

/// A value (or key) read from either engine, without a copy.
#[derive(Clone)]
pub(crate) enum Value {
    Sled(::sled::IVec),
    Fjall(::fjall::Slice),
}

impl Deref for Value {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Value::Sled(v) => v,
            Value::Fjall(v) => v,
        }
    }
}

impl AsRef<[u8]> for Value {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", &**self)
    }
}

/// Entries in key order (or reversed with `.rev()`). sled's iterator is boxed: it is ten times
/// the size of fjall's, and an iterator is made once per scan, not per entry.
pub(crate) enum Iter {
    Sled(Box<::sled::Iter>),
    Fjall(::fjall::Iter),
}

fn sled_entry(entry: ::sled::Result<(::sled::IVec, ::sled::IVec)>) -> Result<(Value, Value)> {
    let (k, v) = entry?;
    Ok((Value::Sled(k), Value::Sled(v)))
}

fn fjall_entry(guard: ::fjall::Guard) -> Result<(Value, Value)> {
    let (k, v) = guard.into_inner()?;
    Ok((Value::Fjall(k), Value::Fjall(v)))
}

impl Iterator for Iter {
    type Item = Result<(Value, Value)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Sled(i) => i.next().map(sled_entry),
            Iter::Fjall(i) => i.next().map(fjall_entry),
        }
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Sled(i) => i.next_back().map(sled_entry),
            Iter::Fjall(i) => i.next_back().map(fjall_entry),
        }
    }
}
