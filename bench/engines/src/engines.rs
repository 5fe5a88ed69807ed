//! One group commit per engine: the batch's dedup reads and writes in ONE transaction (or
//! atomic batch), then made durable (fsync) before it returns, so the caller may acknowledge.
//! Every engine gets the same cache (`--cache-mb`, 64 MiB unless told).

use std::fs::File;
use std::path::Path;

use anyhow::Context;

use crate::record::{Ingest, TABLES};

/// sled's own settings, chosen on the command line (`main.rs`); the cache size is every engine's.
#[derive(Clone, Debug)]
pub struct SledSettings {
    pub cache_mb: u64,
    /// `Mode::LowSpace` instead of sled's default `Mode::HighThroughput`.
    pub low_space: bool,
    /// zstd level for sled's page compression (`use_compression`), off when `None`.
    pub compression: Option<i32>,
    /// sled's `segment_size` (its default is 512 KiB).
    pub segment_kib: Option<usize>,
    /// fjall with its memory bounded: journals ≤ 64 MiB (its minimum; default 512 MiB), all
    /// write buffers ≤ 16 MiB (default: unbounded), each memtable ≤ 4 MiB (default 64 MiB).
    pub fjall_bounded: bool,
}

impl Default for SledSettings {
    fn default() -> Self {
        Self {
            cache_mb: 64,
            low_space: false,
            compression: None,
            segment_kib: None,
            fjall_bounded: false,
        }
    }
}

impl SledSettings {
    fn cache_bytes(&self) -> u64 {
        self.cache_mb * 1024 * 1024
    }

    /// `sled` with its defaults, else e.g. `sled(low-space, zstd 3, 1024 KiB, 16 MiB)`.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if self.low_space {
            parts.push("low-space".to_string());
        }
        if let Some(level) = self.compression {
            parts.push(format!("zstd {level}"));
        }
        if let Some(kib) = self.segment_kib {
            parts.push(format!("{kib} KiB segments"));
        }
        if self.cache_mb != 64 {
            parts.push(format!("{} MiB cache", self.cache_mb));
        }
        if parts.is_empty() {
            "sled".into()
        } else {
            format!("sled({})", parts.join(", "))
        }
    }
}

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

pub fn open(name: &str, dir: &Path, settings: &SledSettings) -> anyhow::Result<Box<dyn Engine>> {
    std::fs::create_dir_all(dir)?;
    let cache = settings.cache_bytes();
    Ok(match name {
        "sled" => Box::new(Sled::open(dir, settings)?),
        "redb" => Box::new(Redb::open(dir, cache)?),
        "fjall" => Box::new(Fjall::open(dir, cache, settings.fjall_bounded)?),
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
    fn open(dir: &Path, settings: &SledSettings) -> anyhow::Result<Sled> {
        let mut config = sled::Config::new()
            .path(dir)
            .cache_capacity(settings.cache_bytes())
            .mode(if settings.low_space {
                sled::Mode::LowSpace
            } else {
                sled::Mode::HighThroughput
            });
        if let Some(level) = settings.compression {
            config = config.use_compression(true).compression_factor(level);
        }
        if let Some(kib) = settings.segment_kib {
            config = config.segment_size(kib * 1024);
        }
        let db = config.open()?;
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
    fn open(dir: &Path, cache: u64) -> anyhow::Result<Redb> {
        let db = redb::Database::builder()
            .set_cache_size(cache as usize)
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
    #[allow(deprecated)] // `max_write_buffer_size`: documented as a TODO upstream, works in 3.1.
    fn open(dir: &Path, cache: u64, bounded: bool) -> anyhow::Result<Fjall> {
        let mut builder = fjall::Database::builder(dir).cache_size(cache);
        if bounded {
            builder = builder
                .max_journaling_size(64 * 1024 * 1024)
                .max_write_buffer_size(Some(16 * 1024 * 1024));
        }
        let db = builder.open()?;
        let keyspaces = TABLES
            .iter()
            .map(|t| {
                db.keyspace(t, || {
                    let options = fjall::KeyspaceCreateOptions::default();
                    if bounded {
                        options.max_memtable_size(4 * 1024 * 1024)
                    } else {
                        options
                    }
                })
            })
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
