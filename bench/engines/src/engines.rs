//! One group commit per engine: the batch's dedup reads and writes in ONE transaction (or
//! atomic batch), then made durable (fsync) before it returns, so the caller may acknowledge.
//! Every engine gets the same 64 MiB cache as pinbridge's sled store (`cache_capacity_mb`).

use std::fs::File;
use std::path::Path;

use anyhow::Context;

use crate::record::{Ingest, TABLES};

pub const CACHE_BYTES: u64 = 64 * 1024 * 1024;

pub trait Engine {
    /// Read and write every ingest of `batch` atomically, then fsync.
    fn commit(&mut self, batch: &[Ingest]) -> anyhow::Result<()>;
}

fn table_index(name: &str) -> usize {
    TABLES
        .iter()
        .position(|t| *t == name)
        .expect("a known table")
}

pub fn open(name: &str, dir: &Path) -> anyhow::Result<Box<dyn Engine>> {
    std::fs::create_dir_all(dir)?;
    Ok(match name {
        "sled" => Box::new(Sled::open(dir)?),
        "redb" => Box::new(Redb::open(dir)?),
        "fjall" => Box::new(Fjall::open(dir)?),
        other => anyhow::bail!("unknown engine {other} (sled, redb, fjall)"),
    })
}

/// sled 0.34 as pinbridge drives it: a multi-tree transaction, then `flush()` and an fsync
/// of the data file (`flush()` alone ends in `sync_file_range`).
struct Sled {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    data_file: File,
}

impl Sled {
    fn open(dir: &Path) -> anyhow::Result<Sled> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .open()?;
        let trees = TABLES
            .iter()
            .map(|t| db.open_tree(t))
            .collect::<sled::Result<_>>()?;
        db.flush()?;
        let data_file = File::open(dir.join("db")).context("sled's data file")?;
        Ok(Sled {
            db,
            trees,
            data_file,
        })
    }
}

impl Engine for Sled {
    fn commit(&mut self, batch: &[Ingest]) -> anyhow::Result<()> {
        use sled::Transactional;
        self.trees
            .as_slice()
            .transaction(|tx| {
                for ingest in batch {
                    for (table, key) in &ingest.reads {
                        tx[table_index(table)].get(key)?;
                    }
                    for (table, key, value) in &ingest.writes {
                        tx[table_index(table)].insert(key.as_slice(), value.as_slice())?;
                    }
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| anyhow::anyhow!("sled transaction: {e:?}"))?;
        self.db.flush()?;
        self.data_file.sync_all()?;
        Ok(())
    }
}

/// redb 2: one write transaction, committed with the default `Durability::Immediate` (fsync).
struct Redb {
    db: redb::Database,
}

impl Redb {
    fn open(dir: &Path) -> anyhow::Result<Redb> {
        let db = redb::Database::builder()
            .set_cache_size(CACHE_BYTES as usize)
            .create(dir.join("store.redb"))?;
        Ok(Redb { db })
    }
}

impl Engine for Redb {
    fn commit(&mut self, batch: &[Ingest]) -> anyhow::Result<()> {
        use redb::ReadableTable;
        let tx = self.db.begin_write()?;
        {
            let mut tables = TABLES
                .iter()
                .map(|t| tx.open_table(redb::TableDefinition::<&[u8], &[u8]>::new(t)))
                .collect::<Result<Vec<_>, _>>()?;
            for ingest in batch {
                for (table, key) in &ingest.reads {
                    tables[table_index(table)].get(key.as_slice())?;
                }
                for (table, key, value) in &ingest.writes {
                    tables[table_index(table)].insert(key.as_slice(), value.as_slice())?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// fjall 3: reads from the keyspaces (one writer thread, so nothing changes between the reads
/// and the batch), one atomic write batch, then `persist(SyncAll)` of the journal.
struct Fjall {
    db: fjall::Database,
    keyspaces: Vec<fjall::Keyspace>,
}

impl Fjall {
    fn open(dir: &Path) -> anyhow::Result<Fjall> {
        let db = fjall::Database::builder(dir)
            .cache_size(CACHE_BYTES)
            .open()?;
        let keyspaces = TABLES
            .iter()
            .map(|t| db.keyspace(t, fjall::KeyspaceCreateOptions::default))
            .collect::<Result<_, _>>()?;
        Ok(Fjall { db, keyspaces })
    }
}

impl Engine for Fjall {
    fn commit(&mut self, batch: &[Ingest]) -> anyhow::Result<()> {
        let mut writes = self.db.batch();
        for ingest in batch {
            for (table, key) in &ingest.reads {
                self.keyspaces[table_index(table)].get(key)?;
            }
            for (table, key, value) in &ingest.writes {
                writes.insert(
                    &self.keyspaces[table_index(table)],
                    key.clone(),
                    value.clone(),
                );
            }
        }
        writes.commit()?;
        self.db.persist(fjall::PersistMode::SyncAll)?;
        Ok(())
    }
}
