//! Export and import on sled: pages read in key order straight from the trees, and an import
//! batch written in one multi-tree transaction that only adds what is absent.

use std::ops::Bound;

use super::kv::transaction::Transactional;
use super::kv::transaction::TransactionalTree;

use super::envelope::encode;
use super::item_record::ItemRecord;
use super::pacing::{board_key, link_key};
use super::records::encode_job;
use super::trees::{self, TxResult, io, tx_get};
use super::{Inner, counts, keys, reads};
use crate::item::{DedupKey, SourceId};
use crate::store::pacing::{BoardPace, LinkHolder};
use crate::store::{
    ImportCounts, ItemCursor, Job, LinkCursor, Millis, SourceState, StoreResult, StoredItem,
    TransferRecord, transitions,
};

pub(crate) fn export_items(
    inner: &Inner,
    after: Option<&ItemCursor>,
    limit: usize,
) -> StoreResult<Vec<(StoredItem, Vec<Job>)>> {
    let start = match after {
        Some((source, key)) => Bound::Excluded(keys::item_key(source, key)),
        None => Bound::Unbounded,
    };
    let mut out = Vec::new();
    for entry in inner
        .trees
        .items
        .range::<Vec<u8>, _>((start, Bound::Unbounded))
    {
        if out.len() >= limit {
            break;
        }
        let (k, raw) = entry.map_err(io)?;
        let Some(item) = reads::stored_item(inner, &k, raw)? else {
            continue;
        };
        let jobs = reads::item_jobs(inner, &item.item.source, &item.item.key)?;
        out.push((item, jobs));
    }
    Ok(out)
}

pub(crate) fn export_links(
    inner: &Inner,
    after: Option<&LinkCursor>,
    limit: usize,
) -> StoreResult<Vec<TransferRecord>> {
    let start = match after {
        Some((account, board, link)) => Bound::Excluded(link_key(account, board, link)),
        None => Bound::Unbounded,
    };
    let mut out = Vec::new();
    for entry in inner
        .trees
        .links
        .range::<Vec<u8>, _>((start, Bound::Unbounded))
    {
        if out.len() >= limit {
            break;
        }
        let (k, raw) = entry.map_err(io)?;
        let Some(mut parts) = keys::text_parts(&k).filter(|p| p.len() == 3) else {
            continue;
        };
        let Some(holder) = inner.trees.decode_or_quarantine::<LinkHolder>(
            &inner.db,
            trees::LINKS,
            &k,
            raw,
            inner.now(),
        )?
        else {
            continue;
        };
        let (link, board, account) = (parts.remove(2), parts.remove(1), parts.remove(0));
        out.push(TransferRecord::Link {
            account,
            board,
            link,
            holder,
        });
    }
    Ok(out)
}

pub(crate) fn export_small(inner: &Inner) -> StoreResult<Vec<TransferRecord>> {
    let mut out = Vec::new();
    for entry in inner.trees.board_pace.iter() {
        let (k, raw) = entry.map_err(io)?;
        let Some(mut parts) = keys::text_parts(&k).filter(|p| p.len() == 2) else {
            continue;
        };
        let pace: Option<BoardPace> =
            inner
                .trees
                .decode_or_quarantine(&inner.db, trees::BOARD_PACE, &k, raw, inner.now())?;
        if let Some(adopted) = pace.and_then(|p| p.adopted) {
            let (board, account) = (parts.remove(1), parts.remove(0));
            out.push(TransferRecord::Board {
                account,
                board,
                adopted,
            });
        }
    }
    for entry in inner.trees.sources.iter() {
        let (k, raw) = entry.map_err(io)?;
        let Ok(source) = std::str::from_utf8(&k) else {
            continue;
        };
        let state: Option<SourceState> =
            inner
                .trees
                .decode_or_quarantine(&inner.db, trees::SOURCES, &k, raw, inner.now())?;
        if let Some(state) = state {
            out.push(TransferRecord::SourceState {
                source: SourceId::new(source),
                state,
            });
        }
    }
    Ok(out)
}

/// The trees an import writes, inside one transaction.
struct Tx<'a> {
    items: &'a TransactionalTree<'a>,
    jobs: &'a TransactionalTree<'a>,
    due: &'a TransactionalTree<'a>,
    counts: &'a TransactionalTree<'a>,
    links: &'a TransactionalTree<'a>,
    paces: &'a TransactionalTree<'a>,
    sources: &'a TransactionalTree<'a>,
}

pub(crate) fn import(
    inner: &Inner,
    batch: &[TransferRecord],
    now: Millis,
) -> StoreResult<ImportCounts> {
    let t = &inner.trees;
    inner.with_quarantine(|| {
        (
            &t.items,
            &t.jobs,
            &t.jobs_due,
            &t.counts,
            &t.links,
            &t.board_pace,
            &t.sources,
        )
            .transaction(|(items, jobs, due, counts, links, paces, sources)| {
                let tx = Tx {
                    items,
                    jobs,
                    due,
                    counts,
                    links,
                    paces,
                    sources,
                };
                let mut done = ImportCounts::default();
                for record in batch {
                    if import_one(&tx, record, now)? {
                        done.written += 1;
                    } else {
                        done.present += 1;
                    }
                }
                Ok(done)
            })
    })
}

/// Write one record if it is absent; whether it was written.
fn import_one(tx: &Tx<'_>, record: &TransferRecord, now: Millis) -> TxResult<bool> {
    match record {
        TransferRecord::Item { item, jobs } => import_item(tx, item, jobs, now),
        TransferRecord::Link {
            account,
            board,
            link,
            holder,
        } => {
            let key = link_key(account, board, link);
            if tx.links.get(&key)?.is_some() {
                return Ok(false);
            }
            tx.links.insert(key, encode(holder))?;
            Ok(true)
        }
        TransferRecord::Board {
            account,
            board,
            adopted,
        } => {
            let key = board_key(account, board);
            let mut pace: BoardPace =
                tx_get(tx.paces, trees::BOARD_PACE, &key)?.unwrap_or_default();
            if pace.adopted.is_some() {
                return Ok(false);
            }
            pace.adopted = Some(*adopted);
            tx.paces.insert(key, encode(&pace))?;
            Ok(true)
        }
        TransferRecord::SourceState { source, state } => {
            if tx.sources.get(source.as_str().as_bytes())?.is_some() {
                return Ok(false);
            }
            tx.sources
                .insert(source.as_str().as_bytes(), encode(state))?;
            Ok(true)
        }
        // Written by the caller through `ConfigRecords`.
        TransferRecord::Config { .. } | TransferRecord::PinDay { .. } => Ok(false),
    }
}

fn import_item(tx: &Tx<'_>, stored: &StoredItem, jobs: &[Job], now: Millis) -> TxResult<bool> {
    let (source, key): (&SourceId, &DedupKey) = (&stored.item.source, &stored.item.key);
    let item_key = keys::item_key(source, key);
    if tx.items.get(&item_key)?.is_some() {
        return Ok(false);
    }
    let ids = jobs.iter().map(|j| j.id.0.clone()).collect();
    let record = ItemRecord::from_stored(stored, ids);
    tx.items.insert(item_key.as_slice(), record.encode())?;
    counts::item_delta(tx.counts, 1)?;
    for job in jobs {
        if tx.jobs.get(job.id.0.as_bytes())?.is_some() {
            continue;
        }
        // A job leased in the source store may have sent its create: reconcile it first.
        let job = transitions::recovered(job, now).unwrap_or_else(|| job.clone());
        tx.jobs.insert(job.id.0.as_bytes(), encode_job(&job))?;
        counts::job_moved(tx.counts, &job.id, None, Some(&job.state))?;
        if let Some(at) = transitions::due(&job.state) {
            tx.due.insert(keys::due_key(at, &job.id), [])?;
        }
    }
    Ok(true)
}
