//! Runtime configuration records (live configuration) and the cancel of a queued job.

use super::kv::transaction::Transactional;

use super::Inner;
use super::envelope::encode;
use super::trees::{self, io, tx_get};
use crate::store::{ConfigRecord, ConfigRecordKind, Job, JobId, Millis, StoreResult, transitions};

/// `kind \0 id`: ids never hold a NUL, so kinds sort apart and one kind is one prefix.
fn key(kind: ConfigRecordKind, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(kind.name().len() + 1 + id.len());
    key.extend_from_slice(kind.name().as_bytes());
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key
}

pub(crate) fn all(inner: &Inner) -> StoreResult<Vec<ConfigRecord>> {
    let mut out = Vec::new();
    for entry in inner.trees.config_records.iter() {
        let (k, raw) = entry.map_err(io)?;
        if let Some(record) = inner.trees.decode_or_quarantine::<ConfigRecord>(
            &inner.db,
            trees::CONFIG_RECORDS,
            &k,
            raw,
            inner.now(),
        )? {
            out.push(record);
        }
    }
    out.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    Ok(out)
}

pub(crate) fn write(
    inner: &Inner,
    put: &[ConfigRecord],
    delete: &[(ConfigRecordKind, String)],
) -> StoreResult<()> {
    let result: Result<(), super::kv::transaction::TransactionError<()>> =
        inner.trees.config_records.transaction(|tree| {
            for (kind, id) in delete {
                tree.remove(key(*kind, id))?;
            }
            for record in put {
                tree.insert(key(record.kind, &record.id), encode(record))?;
            }
            Ok(())
        });
    result.map_err(|e| io(format!("{e:?}")))
}

/// Pending, retry or unknown → dead with `error`, in one transaction with its due index.
pub(crate) fn cancel_job(inner: &Inner, id: &JobId, error: &str, now: Millis) -> StoreResult<bool> {
    let t = &inner.trees;
    inner.with_quarantine(|| {
        (&t.jobs, &t.jobs_due, &t.counts).transaction(|(jobs, due, counts)| {
            let Some(job) = tx_get::<Job>(jobs, trees::JOBS, id.0.as_bytes())? else {
                return Ok(false);
            };
            let Some(next) = transitions::cancel(&job, error, now) else {
                return Ok(false);
            };
            super::jobs::put_job(jobs, due, counts, &job.state, &next)?;
            Ok(true)
        })
    })
}
