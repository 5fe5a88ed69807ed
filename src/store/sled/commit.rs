//! Group commit: one flusher thread makes every write durable before its caller is answered.
//!
//! A writer finishes its sled write, takes a ticket (`note_write`), and waits for a flush that
//! started after the ticket was taken. The flusher snapshots the ticket counter, calls sled's
//! `flush()` and then `sync_all()` on the data files (sled's `flush()` ends in `sync_file_range`,
//! which survives a killed process but not power loss), and wakes every waiter whose
//! ticket the snapshot covers. Writers arriving during a flush are served together by the next
//! one, so N concurrent writers cost far fewer than N flushes. `flush_async()` is never used: with
//! seven or more concurrent awaiters it hangs sled 0.34.7 (sled #1308).
//!
//! A failed flush or fsync poisons the store for the rest of the process. After a failed fsync
//! the kernel may have dropped the dirty pages and cleared the error, so a later fsync that
//! succeeds proves nothing about the writes before it ("fsyncgate"). Every waiter is answered
//! with the failure (its write may not be on disk: no acknowledgement), every later write is
//! refused, and readiness reports the reason until the process is restarted and sled recovers
//! from what really reached the disk.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::kv::Db;
use crate::store::{StoreError, StoreResult};

type Waiter = (u64, oneshot::Sender<Result<(), String>>);

#[derive(Default)]
struct State {
    waiters: Vec<Waiter>,
    /// Every ticket up to this one is durable.
    durable: u64,
    stop: bool,
    stopped: bool,
    /// Set by the first failed flush or fsync, never cleared: why the store refuses writes.
    failed: Option<String>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    tickets: AtomicU64,
    flushes: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) struct Committer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Committer {
    /// Start the flusher thread for `db` stored at `dir`. `hook` runs before every fsync and
    /// may fail it (tests inject disk errors with it).
    pub(crate) fn start(db: Db, dir: &Path, hook: Option<SyncHook>) -> StoreResult<Self> {
        let mut files = match &db {
            Db::Sled(_) => DataFiles::open(dir)?,
            // fjall fsyncs its own journal, tables and directories when it persists.
            Db::Fjall(_) => DataFiles::none(dir),
        };
        files.hook = hook;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            tickets: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
        });
        let for_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name("pinbridge-store-flush".into())
            .spawn(move || run(&for_thread, &db, &mut files))
            .map_err(|e| StoreError::Io(format!("could not start the store flusher: {e}")))?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Take a ticket after a write (or after reading state a caller will act on): a flush that
    /// starts later covers it. Call it on the thread that did the write, right after it.
    pub(crate) fn note_write(&self) -> u64 {
        self.shared.tickets.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Wait until `ticket` is durable.
    pub(crate) async fn wait(&self, ticket: u64) -> StoreResult<()> {
        let rx = {
            let mut state = self.shared.lock();
            if state.durable >= ticket {
                return Ok(());
            }
            if let Some(reason) = &state.failed {
                return Err(StoreError::Poisoned(reason.clone()));
            }
            if state.stopped {
                return Err(StoreError::Closed);
            }
            let (tx, rx) = oneshot::channel();
            state.waiters.push((ticket, tx));
            self.shared.wake.notify_one();
            rx
        };
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(StoreError::Poisoned(reason)),
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// Why the store refuses writes (a flush or fsync failed), or `None` while it is healthy.
    pub(crate) fn failure(&self) -> Option<String> {
        self.shared.lock().failed.clone()
    }

    /// How many flushes the flusher has done (tests check that writers share them).
    pub(crate) fn flush_count(&self) -> u64 {
        self.shared.flushes.load(Ordering::SeqCst)
    }

    /// Serve the remaining waiters, stop the thread and wait for it. Blocking; idempotent.
    pub(crate) fn stop(&self) {
        {
            let mut state = self.shared.lock();
            state.stop = true;
            self.shared.wake.notify_all();
        }
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle
            && handle.join().is_err()
        {
            tracing::error!("The store flusher thread panicked.");
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(shared: &Shared, db: &Db, files: &mut DataFiles) {
    loop {
        {
            let mut state = shared.lock();
            while state.waiters.is_empty() && !state.stop {
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            if state.waiters.is_empty() {
                // Stop requested and nobody waits: a last flush, then refuse new waiters.
                drop(state);
                let target = shared.tickets.load(Ordering::SeqCst);
                let result = flush_and_sync(db, files);
                shared.flushes.fetch_add(1, Ordering::SeqCst);
                let mut state = shared.lock();
                match result {
                    // A writer that finished just before close still gets its answer, unless
                    // an earlier failure means this flush cannot vouch for it.
                    Ok(()) if state.failed.is_none() => state.durable = state.durable.max(target),
                    Ok(()) => {}
                    Err(e) => poison(&mut state, &e),
                }
                state.stopped = true;
                return;
            }
        }
        // Every ticket up to `target` was taken after its write finished, so this flush covers it.
        let target = shared.tickets.load(Ordering::SeqCst);
        let result = flush_and_sync(db, files);
        shared.flushes.fetch_add(1, Ordering::SeqCst);
        let mut state = shared.lock();
        if let Err(reason) = &result {
            poison(&mut state, reason);
        }
        if let Some(reason) = state.failed.clone() {
            // Poisoned (now or by an earlier flush): no later fsync can vouch for these writes.
            for (_, tx) in std::mem::take(&mut state.waiters) {
                let _ = tx.send(Err(reason.clone()));
            }
            continue;
        }
        state.durable = state.durable.max(target);
        let waiters = std::mem::take(&mut state.waiters);
        for (ticket, tx) in waiters {
            if ticket <= target {
                let _ = tx.send(Ok(()));
            } else {
                state.waiters.push((ticket, tx));
            }
        }
    }
}

/// Record the first failure; later ones add nothing (the store already refuses writes).
fn poison(state: &mut State, error: &str) {
    if state.failed.is_some() {
        return;
    }
    tracing::error!(
        error = %error,
        "Flushing the store to disk failed: refusing every write from now on (writes since the last good flush may be lost); fix the disk and restart pinbridge."
    );
    metrics::counter!("pinbridge_store_flush_failures_total").increment(1);
    state.failed = Some(format!("flushing to disk failed: {error}"));
}

fn flush_and_sync(db: &Db, files: &mut DataFiles) -> Result<(), String> {
    match db {
        Db::Sled(_) => {
            db.flush().map_err(|e| format!("sled flush: {e}"))?;
            files.sync().map_err(|e| format!("fsync: {e}"))
        }
        Db::Fjall(_) => {
            files.sync().map_err(|e| format!("fsync: {e}"))?;
            db.flush().map_err(|e| format!("fjall persist: {e}"))
        }
    }
}

/// Runs before every fsync of the store's files; an error fails that flush as a failing disk
/// would. For tests: the only portable way to make fsync fail.
#[derive(Clone)]
pub struct SyncHook(pub Arc<dyn Fn() -> std::io::Result<()> + Send + Sync>);

impl std::fmt::Debug for SyncHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncHook")
    }
}

impl PartialEq for SyncHook {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SyncHook {}

/// The files whose contents sled's `flush()` leaves without an fsync (none for fjall, whose
/// `persist(SyncAll)` syncs what it wrote).
struct DataFiles {
    dir: PathBuf,
    /// sled's log file `db`, opened once. fsync works through any descriptor of the file.
    db: Option<File>,
    /// Large values live in `blobs/<lsn>` files that sled writes without fsync; those with an lsn
    /// above this mark have not been synced by us yet.
    blob_mark: i64,
    hook: Option<SyncHook>,
}

impl DataFiles {
    fn open(dir: &Path) -> StoreResult<Self> {
        let io = |what: &str, e: std::io::Error| {
            StoreError::Io(format!("{what} in {}: {e}", dir.display()))
        };
        let db = File::open(dir.join("db")).map_err(|e| io("cannot open the data file", e))?;
        db.sync_all()
            .map_err(|e| io("cannot sync the data file", e))?;
        // sled writes `conf` once at creation without syncing it; make creation durable here.
        if let Ok(conf) = File::open(dir.join("conf")) {
            conf.sync_all().map_err(|e| io("cannot sync conf", e))?;
        }
        sync_dir(dir).map_err(|e| io("cannot sync the directory", e))?;
        Ok(Self {
            db: Some(db),
            ..Self::none(dir)
        })
    }

    /// No files of our own to sync; only the hook runs.
    fn none(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            db: None,
            blob_mark: i64::MIN,
            hook: None,
        }
    }

    fn sync(&mut self) -> std::io::Result<()> {
        if let Some(hook) = &self.hook {
            (hook.0)()?;
        }
        let Some(db) = &self.db else {
            return Ok(());
        };
        db.sync_all()?;
        self.sync_new_blobs()
    }

    fn sync_new_blobs(&mut self) -> std::io::Result<()> {
        let blobs = self.dir.join("blobs");
        let entries = match std::fs::read_dir(&blobs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut highest = self.blob_mark;
        for entry in entries {
            let entry = entry?;
            let Some(lsn) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i64>().ok())
            else {
                continue;
            };
            if lsn > self.blob_mark {
                match File::open(entry.path()) {
                    Ok(f) => f.sync_all()?,
                    // sled garbage-collects blobs concurrently; a vanished one needs no sync.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
                highest = highest.max(lsn);
            }
        }
        if highest > self.blob_mark {
            sync_dir(&blobs)?;
            self.blob_mark = highest;
        }
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}
