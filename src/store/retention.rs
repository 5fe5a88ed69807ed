//! Retention: what an old item and its finished jobs are cut down to, written once as pure
//! functions so both backends compact alike (like `transitions` for the state machine).
//!
//! Kept forever, because dedup and Pin tracking need it: the item's source, key, fingerprint,
//! first and last sighting, disposition, removal mark and the source's modification time (an
//! out-of-order older delivery must still lose), and every job with its kind, target and Pin
//! id. Dropped: the payload a Pin is rendered from (title, description, link, image,
//! categories, fields) and the stale error text of a done create.
//!
//! The rules:
//! - An item is compacted only once it was last seen before the horizon AND none of its jobs
//!   may still render it: pending, leased, retry and unknown jobs run again, and a dead create
//!   or update may be revived by an operator. A delete needs only its Pin id.
//! - A later delivery with the same fingerprint is still a duplicate (the fingerprint stays);
//!   a changed one records its payload again and clears the mark (each backend's ingest).
//! - A done job keeps every note that says what it did (`follow::made_pin` and `adopted_pin`
//!   read a create's note; an update's or delete's note is its Pin event): only the leftover
//!   error of an earlier attempt of a create is dropped.

use serde::Serialize;

use super::follow::NO_SECOND_PIN;
use super::{ItemCursor, Job, JobKind, JobState, Millis, StoredItem};
use crate::item::Item;

/// What one `Retention::compact` call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compacted {
    /// Items whose payload was dropped.
    pub items: u64,
    /// Done jobs cut down to what Pin tracking reads.
    pub jobs: u64,
    /// Where the next call continues (the last item looked at); `None` once the last item of
    /// the store was looked at.
    pub next: Option<ItemCursor>,
}

/// Totals of compaction runs, for metrics and the status page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CompactedCounts {
    pub items: u64,
    pub jobs: u64,
}

impl CompactedCounts {
    pub fn add(&mut self, page: &Compacted) {
        self.items += page.items;
        self.jobs += page.jobs;
    }
}

/// Whether `job` may still need its item's payload: it runs again (pending, leased, retry,
/// unknown), or it is a dead create or update an operator may revive.
pub fn needs_payload(job: &Job) -> bool {
    match &job.state {
        JobState::Done { .. } => false,
        JobState::Dead { .. } => !matches!(job.kind, JobKind::Delete { .. }),
        _ => true,
    }
}

/// Whether `stored` is a candidate at all: not compacted yet and last seen before
/// `older_than`. Backends use it to skip an item without reading its jobs.
pub fn is_candidate(stored: &StoredItem, older_than: Millis) -> bool {
    stored.compacted.is_none() && stored.last_seen < older_than
}

/// The item with its payload dropped, if it may be compacted now (see the module rules).
pub fn compact_item(
    stored: &StoredItem,
    jobs: &[Job],
    older_than: Millis,
    now: Millis,
) -> Option<StoredItem> {
    if !is_candidate(stored, older_than) || jobs.iter().any(needs_payload) {
        return None;
    }
    let mut item = Item::new(stored.item.source.clone(), stored.item.key.clone());
    item.updated_ms = stored.item.updated_ms;
    Some(StoredItem {
        item,
        compacted: Some(now),
        ..stored.clone()
    })
}

/// The done job cut down to what Pin tracking reads, if it finished before `older_than` and
/// has something to drop: a create's leftover error from an earlier attempt. Notes that say
/// what the job did (a duplicate or adopted Pin, an update's or delete's outcome) stay.
pub fn compact_job(job: &Job, older_than: Millis) -> Option<Job> {
    let JobState::Done { at, .. } = &job.state else {
        return None;
    };
    let note = job.last_error.as_deref()?;
    let meaningful = !job.kind.is_create() || note.contains(NO_SECOND_PIN);
    if *at >= older_than || meaningful {
        return None;
    }
    Some(Job {
        last_error: None,
        ..job.clone()
    })
}

#[cfg(test)]
#[path = "retention_tests.rs"]
mod tests;
