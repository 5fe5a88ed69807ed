//! [`Retention`] on sled: walk the items tree in key order, and compact each candidate item
//! with its done jobs in its own small transaction (the rules are `store::retention`'s).
//!
//! Every read and write of item and job records here goes through [`read_records`] and
//! [`write_records`], so a change of the record layout touches those two functions only.
//!
//! Safe beside ingest without a lock of its own: the item and its jobs are read again inside
//! the transaction (sled runs transactions one at a time), and a job added to the item after
//! its ids were listed is either a delete (which needs no payload) or came with a delivery that
//! moved `last_seen` to now, so the item is no longer a candidate.

use std::ops::Bound;

use super::kv::transaction::Transactional;
use super::kv::transaction::TransactionalTree;
use async_trait::async_trait;

use super::item_record::ItemRecord;
use super::records::encode_job;
use super::trees::{self, TxResult, io, tx_get};
use super::{Inner, SledStore, keys};
use crate::item::{DedupKey, SourceId};
use crate::store::retention::{self, Compacted};
use crate::store::{ItemCursor, Job, JobId, Millis, Retention, StoreResult};

#[async_trait]
impl Retention for SledStore {
    async fn compact(
        &self,
        after: Option<ItemCursor>,
        older_than: Millis,
        max: usize,
        now: Millis,
    ) -> StoreResult<Compacted> {
        self.refuse_if_failed()?;
        let (page, ticket) = self
            .read(move |inner| {
                let page = compact_page(inner, after.as_ref(), older_than, max, now)?;
                // A page that changed nothing needs no flush.
                let wrote = page.items + page.jobs > 0;
                Ok((page, wrote.then(|| inner.committer.note_write())))
            })
            .await?;
        if let Some(ticket) = ticket {
            self.inner.committer.wait(ticket).await?;
        }
        Ok(page)
    }
}

fn compact_page(
    inner: &Inner,
    after: Option<&ItemCursor>,
    older_than: Millis,
    max: usize,
    now: Millis,
) -> StoreResult<Compacted> {
    let start = match after {
        Some((source, key)) => Bound::Excluded(keys::item_key(source, key)),
        None => Bound::Unbounded,
    };
    let mut page = Compacted::default();
    let mut looked = 0;
    let mut last: Option<ItemCursor> = None;
    let mut rest = inner
        .trees
        .items
        .range::<Vec<u8>, _>((start, Bound::Unbounded));
    while looked < max.max(1) {
        let Some(entry) = rest.next() else {
            return Ok(Compacted { next: None, ..page });
        };
        let (k, raw) = entry.map_err(io)?;
        looked += 1;
        let Some([source, key]) =
            keys::text_parts(&k).and_then(|p| <[String; 2]>::try_from(p).ok())
        else {
            continue;
        };
        let (source, key) = (SourceId(source), DedupKey(key));
        last = Some((source.clone(), key.clone()));
        // A cheap look first: most items are recent or compacted already.
        let Some(record) = inner.trees.decode_or_quarantine::<ItemRecord>(
            &inner.db,
            trees::ITEMS,
            &k,
            raw,
            inner.now(),
        )?
        else {
            continue;
        };
        // `retention::is_candidate` read off the record itself, without building the stored
        // item: fields kept (not compacted, not lost) and last seen before the horizon.
        if !record.has_payload() || record.last_seen >= older_than {
            continue;
        }
        let ids = record.job_ids();
        let (items, jobs) = compact_item(inner, &k, (&source, &key), &ids, older_than, now)?;
        page.items += items;
        page.jobs += jobs;
    }
    // Stopped at `max`: the next call goes on after the last item looked at.
    Ok(Compacted { next: last, ..page })
}

/// Compact one item and its done jobs in one transaction; how many of each were written.
fn compact_item(
    inner: &Inner,
    item_key: &[u8],
    (source, key): (&SourceId, &DedupKey),
    ids: &[JobId],
    older_than: Millis,
    now: Millis,
) -> StoreResult<(u64, u64)> {
    let t = &inner.trees;
    inner.with_quarantine(|| {
        (&t.items, &t.jobs).transaction(|(items, jobs)| {
            let Some((mut record, current)) = read_records(items, jobs, item_key, ids)? else {
                return Ok((0, 0));
            };
            let stored = record.to_stored(source, key);
            let compacted = retention::compact_item(&stored, &current, older_than, now);
            let cut: Vec<Job> = current
                .iter()
                .filter_map(|job| retention::compact_job(job, older_than))
                .collect();
            let item = compacted.map(|c| {
                record.compact(c.compacted.unwrap_or(now));
                record
            });
            write_records(items, jobs, item_key, item.as_ref(), &cut)?;
            Ok((u64::from(item.is_some()), cut.len() as u64))
        })
    })
}

/// The item record at `item_key` and the job records `ids` (those still present), read
/// inside the transaction. `None` when the item is gone or only a stub of a damaged record.
fn read_records(
    items: &TransactionalTree<'_>,
    jobs: &TransactionalTree<'_>,
    item_key: &[u8],
    ids: &[JobId],
) -> TxResult<Option<(ItemRecord, Vec<Job>)>> {
    let Some(stored) =
        tx_get::<ItemRecord>(items, trees::ITEMS, item_key)?.filter(|record| !record.is_lost())
    else {
        return Ok(None);
    };
    let mut current = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(job) = tx_get::<Job>(jobs, trees::JOBS, id.0.as_bytes())? {
            current.push(job);
        }
    }
    Ok(Some((stored, current)))
}

/// Write back the compacted item (when it was compacted) and jobs. Neither changes a job's
/// state, so the counts and the due and finished indexes stay as they are.
fn write_records(
    items: &TransactionalTree<'_>,
    jobs: &TransactionalTree<'_>,
    item_key: &[u8],
    item: Option<&ItemRecord>,
    cut: &[Job],
) -> TxResult<()> {
    if let Some(item) = item {
        items.insert(item_key, item.encode())?;
    }
    for job in cut {
        jobs.insert(job.id.0.as_bytes(), encode_job(job))?;
    }
    Ok(())
}
