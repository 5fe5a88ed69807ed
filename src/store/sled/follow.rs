//! `source_removed`: an item deleted at its source queues deletes of the Pins its creates made
//! (or cancels creates not sent yet), by the rules in `store::follow`, in one transaction.

use ::sled::Transactional;
use uuid::Uuid;

use super::Inner;
use super::envelope::encode;
use super::ingest::item_job_ids;
use super::jobs::put_job;
use super::trees::{self, tx_get};
use super::{counts, keys};
use crate::item::{DedupKey, SourceId};
use crate::store::follow::{self, Removal};
use crate::store::{
    Job, JobId, Millis, Removed, RemovedMark, StoreResult, StoredItem, transitions,
};

pub(crate) fn source_removed(
    inner: &Inner,
    source: &SourceId,
    key: &DedupKey,
    delete_routes: &[String],
    now: Millis,
) -> StoreResult<Removed> {
    // The index is read outside (sled transactions cannot scan); every job is read again inside.
    let ids = item_job_ids(inner, source, key)?;
    let fresh: Vec<JobId> = ids
        .iter()
        .map(|_| JobId(Uuid::now_v7().to_string()))
        .collect();
    let item_key = keys::item_key(source, key);
    let t = &inner.trees;
    inner.with_quarantine(|| {
        (&t.jobs, &t.jobs_due, &t.item_jobs, &t.counts, &t.items).transaction(
            |(jobs, due, item_jobs, counts, items)| {
                // Marked, so that the item pins again on these routes when it comes back.
                if let Some(mut record) = tx_get::<StoredItem>(items, trees::ITEMS, &item_key)? {
                    record.removed = Some(RemovedMark::merged(
                        record.removed.as_ref(),
                        delete_routes,
                        now,
                    ));
                    items.insert(item_key.as_slice(), encode(&record))?;
                }
                let mut current = Vec::new();
                for id in &ids {
                    if let Some(job) = tx_get::<Job>(jobs, trees::JOBS, id.0.as_bytes())? {
                        current.push(job);
                    }
                }
                let mut out = Removed::default();
                for step in follow::removal(&current, delete_routes, &fresh, now) {
                    match step {
                        Removal::Queue(job) => {
                            jobs.insert(job.id.0.as_bytes(), encode(&job))?;
                            counts::job_moved(counts, &job.id, None, Some(&job.state))?;
                            if let Some(at) = transitions::due(&job.state) {
                                due.insert(keys::due_key(at, &job.id), &[])?;
                            }
                            item_jobs.insert(keys::item_job_key(source, key, &job.id), &[])?;
                            out.deletes += 1;
                        }
                        Removal::Cancel(job) => {
                            if let Some(old) = current.iter().find(|j| j.id == job.id) {
                                put_job(jobs, due, counts, &old.state, &job)?;
                                out.cancelled += 1;
                            }
                        }
                    }
                }
                Ok(out)
            },
        )
    })
}
