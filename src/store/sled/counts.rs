//! Counts kept up to date on write, so `stats` and the status page cost the same at ten million
//! items as at ten.
//!
//! The `counts` tree holds two key families, both written in the same transaction as the job or
//! item write that changes them:
//! - `n/items` and `n/job/<state>` → a signed 64-bit big-endian count;
//! - `f/<done|dead>/<finish time><job id>` → () for every finished job: newest first is a
//!   bounded reverse scan of one prefix.
//!
//! A store written before the counts existed (or whose counts were marked stale because a job or
//! item record was quarantined: its state is unknowable) is recounted once at open. The recount
//! writes the whole tree, then the `counts_version` marker in `meta`; a crash in between leaves
//! no marker, so the next open recounts again. While the marker is absent, `stats` scans.

use std::collections::BTreeMap;

use super::kv::Db;
use super::kv::transaction::TransactionalTree;

use super::keys;
use super::trees::{self, Trees, TxResult, io};
use crate::store::{Job, JobId, JobState, StoreResult};

/// Meta key whose presence says the counts are exact.
pub(crate) const MARKER: &[u8] = b"counts_version";
const ITEMS: &[u8] = b"n/items";
/// Every job state, so stats list zero counts too.
pub(crate) const STATE_NAMES: [&str; 6] = ["pending", "leased", "retry", "unknown", "done", "dead"];

fn state_key(name: &str) -> Vec<u8> {
    [b"n/job/".as_slice(), name.as_bytes()].concat()
}

/// Which finished list a state belongs to ("done" or "dead"), and its finish time.
fn finished(state: &JobState) -> Option<(&'static str, i64)> {
    match state {
        JobState::Done { at, .. } => Some(("done", *at)),
        JobState::Dead { at, .. } => Some(("dead", *at)),
        _ => None,
    }
}

/// Prefix of one finished list.
pub(crate) fn finished_prefix(name: &str) -> Vec<u8> {
    [b"f/".as_slice(), name.as_bytes(), b"/"].concat()
}

fn finished_key(state: &JobState, id: &JobId) -> Option<Vec<u8>> {
    let (name, at) = finished(state)?;
    let mut key = finished_prefix(name);
    key.extend_from_slice(&keys::time_bytes(at));
    key.extend_from_slice(id.0.as_bytes());
    Some(key)
}

/// The job id at the end of a finished-list key.
pub(crate) fn job_id_from_finished(prefix_len: usize, key: &[u8]) -> Option<JobId> {
    let id = std::str::from_utf8(key.get(prefix_len + 8..)?).ok()?;
    Some(JobId(id.to_string()))
}

fn decode(raw: &[u8]) -> i64 {
    raw.try_into().map(i64::from_be_bytes).unwrap_or(0)
}

fn add(counts: &TransactionalTree<'_>, key: &[u8], delta: i64) -> TxResult<()> {
    let now = counts.get(key)?.map_or(0, |raw| decode(&raw));
    counts.insert(key, now.saturating_add(delta).to_be_bytes())?;
    Ok(())
}

/// One item record more (`1`) or less (`-1`), written at once.
pub(crate) fn item_delta(counts: &TransactionalTree<'_>, delta: i64) -> TxResult<()> {
    add(counts, ITEMS, delta)
}

/// Count changes gathered over one transaction and written once at its end: a batch of
/// sixteen ingests then writes `n/items` and `n/job/pending` once, not sixteen times each.
/// Made inside the transaction closure (which may run more than once), never kept across runs.
#[derive(Default)]
pub(crate) struct Deltas {
    items: i64,
    /// Per state, in `STATE_NAMES` order.
    jobs: [i64; STATE_NAMES.len()],
}

impl Deltas {
    /// One item record more (`1`) or less (`-1`).
    pub(crate) fn item(&mut self, delta: i64) {
        self.items += delta;
    }

    /// Job `id` went from `old` to `new` (`None`: it did not exist / no longer exists). The
    /// finished index is written at once (its keys are per job, nothing to sum).
    pub(crate) fn job_moved(
        &mut self,
        counts: &TransactionalTree<'_>,
        id: &JobId,
        old: Option<&JobState>,
        new: Option<&JobState>,
    ) -> TxResult<()> {
        let (old_name, new_name) = (old.map(JobState::name), new.map(JobState::name));
        if old_name != new_name {
            let slot = |name| STATE_NAMES.iter().position(|n| *n == name);
            if let Some(i) = old_name.and_then(slot) {
                self.jobs[i] -= 1;
            }
            if let Some(i) = new_name.and_then(slot) {
                self.jobs[i] += 1;
            }
        }
        finished_moved(counts, id, old, new)
    }

    /// Write the summed changes (only the counts that changed).
    pub(crate) fn write(&self, counts: &TransactionalTree<'_>) -> TxResult<()> {
        if self.items != 0 {
            add(counts, ITEMS, self.items)?;
        }
        for (name, delta) in STATE_NAMES.iter().zip(self.jobs) {
            if delta != 0 {
                add(counts, &state_key(name), delta)?;
            }
        }
        Ok(())
    }
}

/// Job `id` went from `old` to `new`, in a transaction of its own: counts written at once.
pub(crate) fn job_moved(
    counts: &TransactionalTree<'_>,
    id: &JobId,
    old: Option<&JobState>,
    new: Option<&JobState>,
) -> TxResult<()> {
    let mut deltas = Deltas::default();
    deltas.job_moved(counts, id, old, new)?;
    deltas.write(counts)
}

fn finished_moved(
    counts: &TransactionalTree<'_>,
    id: &JobId,
    old: Option<&JobState>,
    new: Option<&JobState>,
) -> TxResult<()> {
    let (before, after) = (
        old.and_then(|s| finished_key(s, id)),
        new.and_then(|s| finished_key(s, id)),
    );
    if before != after {
        if let Some(key) = before {
            counts.remove(key)?;
        }
        if let Some(key) = after {
            counts.insert(key, [])?;
        }
    }
    Ok(())
}

/// The maintained counts, or `None` while they are not exact (not yet recounted, or stale).
pub(crate) fn read(trees: &Trees) -> StoreResult<Option<(u64, BTreeMap<String, u64>)>> {
    if trees.meta.get(MARKER).map_err(io)?.is_none() {
        return Ok(None);
    }
    let get = |key: &[u8]| -> StoreResult<u64> {
        let raw = trees.counts.get(key).map_err(io)?;
        Ok(raw.map_or(0, |r| decode(&r)).max(0) as u64)
    };
    let mut by_state = BTreeMap::new();
    for name in STATE_NAMES {
        by_state.insert(name.to_string(), get(&state_key(name))?);
    }
    Ok(Some((get(ITEMS)?, by_state)))
}

/// A job or item record was quarantined: its state is lost, so the counts are no longer exact.
/// Removing the marker first means a crash right after still leads to a recount at open.
pub(crate) fn mark_stale(trees: &Trees) -> StoreResult<()> {
    trees.meta.remove(MARKER).map_err(io)?;
    Ok(())
}

/// At open, before anything else writes: recount from the records when the marker is absent.
/// Returns whether a recount ran. Damaged records met are quarantined and not counted.
pub(crate) fn ensure(db: &Db, trees: &Trees, now: i64) -> StoreResult<bool> {
    if trees.meta.get(MARKER).map_err(io)?.is_some() {
        return Ok(false);
    }
    let mut batch = super::kv::Batch::default();
    let mut by_state: BTreeMap<&str, i64> = STATE_NAMES.iter().map(|n| (*n, 0)).collect();
    for entry in trees.jobs.iter() {
        let (key, raw) = entry.map_err(io)?;
        let Some(job) = trees.decode_or_quarantine::<Job>(db, trees::JOBS, &key, raw, now)? else {
            continue;
        };
        *by_state.entry(job.state.name()).or_default() += 1;
        if let Some(k) = finished_key(&job.state, &job.id) {
            batch.insert(k, []);
        }
    }
    let mut items = 0i64;
    for entry in trees.items.iter() {
        entry.map_err(io)?;
        items += 1;
    }
    for (name, n) in by_state {
        batch.insert(state_key(name), n.to_be_bytes());
    }
    batch.insert(ITEMS, items.to_be_bytes());
    trees.counts.clear().map_err(io)?;
    trees.counts.apply_batch(batch).map_err(io)?;
    db.flush().map_err(io)?;
    // Quarantining above removed the marker (absent anyway); set it only now.
    trees.meta.insert(MARKER, 1u32.to_be_bytes()).map_err(io)?;
    Ok(true)
}
