//! `source_removed`: an item deleted at its source queues deletes of the Pins its creates made
//! (or cancels creates not sent yet), by the rules in `store::follow`, in one transaction.

use super::kv::transaction::Transactional;
use uuid::Uuid;

use super::Inner;
use super::ingest::item_job_ids;
use super::item_record::ItemRecord;
use super::jobs::put_job;
use super::records::encode_job;
use super::trees::{self, tx_get};
use super::{counts, keys};
use crate::item::{DedupKey, SourceId};
use crate::store::follow::{self, Removal};
use crate::store::{Job, JobId, Millis, Removed, RemovedMark, StoreResult, transitions};

pub(crate) fn source_removed(
    inner: &Inner,
    source: &SourceId,
    key: &DedupKey,
    delete_routes: &[String],
    now: Millis,
) -> StoreResult<Removed> {
    // Read outside to make ids for the deletes; the record is read again inside, and a job
    // added meanwhile (only the ingest writer adds them) is then left alone, as before.
    let ids = item_job_ids(inner, source, key)?;
    let fresh: Vec<JobId> = ids
        .iter()
        .map(|_| JobId(Uuid::now_v7().to_string()))
        .collect();
    let item_key = keys::item_key(source, key);
    let t = &inner.trees;
    inner.with_quarantine(|| {
        (&t.jobs, &t.jobs_due, &t.counts, &t.items).transaction(|(jobs, due, counts, items)| {
            // Marked, so that the item pins again on these routes when it comes back.
            let mut record = tx_get::<ItemRecord>(items, trees::ITEMS, &item_key)?;
            if let Some(record) = &mut record {
                let previous = record.removed_mark();
                record.set_removed(Some(RemovedMark::merged(
                    previous.as_ref(),
                    delete_routes,
                    now,
                )));
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
                        jobs.insert(job.id.0.as_bytes(), encode_job(&job))?;
                        counts::job_moved(counts, &job.id, None, Some(&job.state))?;
                        if let Some(at) = transitions::due(&job.state) {
                            due.insert(keys::due_key(at, &job.id), [])?;
                        }
                        if let Some(record) = &mut record {
                            record.add_job(&job.id);
                        }
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
            if let Some(record) = &record {
                items.insert(item_key.as_slice(), record.encode())?;
            }
            Ok(out)
        })
    })
}
