//! The job state machine: claim, the fenced lease-holder writes, revive, open-time recovery.

use std::collections::HashSet;

use super::kv::Db;
use super::kv::transaction::Transactional;
use super::kv::transaction::TransactionalTree;

use super::Inner;
use super::item_record::ItemRecord;
use super::keys;
use super::records::encode_job;
use super::trees::{self, Trees, TxResult, io, tx_get};
use crate::store::{
    Job, JobId, JobState, Lease, LeaseOutcome, LeaseToken, Millis, StoreError, StoreResult,
    transitions,
};

/// Why a job whose item vanished cannot run.
const ITEM_GONE: &str = "its item record is gone (forgotten or quarantined); nothing to pin";

/// Store `job` (whose state was `old`) and move its due-index entry and its counts to match its
/// new state.
pub(super) fn put_job(
    jobs: &TransactionalTree<'_>,
    due: &TransactionalTree<'_>,
    counts: &TransactionalTree<'_>,
    old: &JobState,
    job: &Job,
) -> TxResult<()> {
    super::counts::job_moved(counts, &job.id, Some(old), Some(&job.state))?;
    let before = transitions::due(old);
    let after = transitions::due(&job.state);
    if before != after {
        if let Some(at) = before {
            due.remove(keys::due_key(at, &job.id))?;
        }
        if let Some(at) = after {
            due.insert(keys::due_key(at, &job.id), [])?;
        }
    }
    jobs.insert(job.id.0.as_bytes(), encode_job(job))?;
    Ok(())
}

pub(crate) fn claim(
    inner: &Inner,
    max: usize,
    lease_ms: i64,
    now: Millis,
) -> StoreResult<Vec<Lease>> {
    // A lease must end after `now`, or the job would be reclaimable at once.
    let lease_ms = lease_ms.max(1);
    let mut leases = Vec::new();
    let mut seen = HashSet::new();
    let upper = keys::time_bytes(now.saturating_add(1));
    for entry in inner.trees.jobs_due.range(..upper) {
        if leases.len() >= max {
            break;
        }
        let (due_key, _) = entry.map_err(io)?;
        let Some(id) = keys::job_id_from_due_key(&due_key) else {
            inner.trees.jobs_due.remove(&due_key).map_err(io)?;
            continue;
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        if let Some(lease) = claim_one(inner, &due_key, &id, lease_ms, now)? {
            leases.push(lease);
        }
    }
    Ok(leases)
}

fn claim_one(
    inner: &Inner,
    due_key: &[u8],
    id: &JobId,
    lease_ms: i64,
    now: Millis,
) -> StoreResult<Option<Lease>> {
    let t = &inner.trees;
    inner.with_quarantine(|| {
        (&t.jobs, &t.jobs_due, &t.items, &t.counts).transaction(|(jobs, due, items, counts)| {
            let Some(job) = tx_get::<Job>(jobs, trees::JOBS, id.0.as_bytes())? else {
                // Index entry of a job that is gone (forgotten, quarantined).
                due.remove(due_key)?;
                return Ok(None);
            };
            let current = transitions::due(&job.state).map(|at| keys::due_key(at, id));
            if current.as_deref() != Some(due_key) {
                due.remove(due_key)?;
                return Ok(None);
            }
            if !transitions::runnable(&job.state, now) {
                return Ok(None);
            }
            let old = job.state.clone();
            let item_key = keys::item_key(&job.source, &job.item);
            // An item without its fields (lost with a damaged record, compacted) has nothing
            // to pin either.
            let stored = tx_get::<ItemRecord>(items, trees::ITEMS, &item_key)?;
            let Some(stored) = stored.filter(ItemRecord::has_payload) else {
                let orphan = transitions::orphaned(&job, ITEM_GONE, now);
                put_job(jobs, due, counts, &old, &orphan)?;
                return Ok(None);
            };
            // sled's id generator is monotonic across restarts, so tokens only grow.
            let token = LeaseToken(jobs.generate_id()?);
            let until = now.saturating_add(lease_ms);
            let Some((job, reconcile)) = transitions::lease(&job, token, until, now) else {
                return Ok(None);
            };
            put_job(jobs, due, counts, &old, &job)?;
            let item = stored.item(&job.source, &job.item);
            Ok(Some(Lease {
                job,
                item,
                token,
                until,
                reconcile,
            }))
        })
    })
}

/// Apply a lease holder's transition (from `store::transitions`) to the job as stored; it
/// answers `LeaseLost` when the lease no longer holds the job, and then nothing changes.
pub(crate) fn lease_write(
    inner: &Inner,
    lease: &Lease,
    change: impl Fn(&Job) -> Result<Job, LeaseOutcome>,
) -> StoreResult<LeaseOutcome> {
    let t = &inner.trees;
    let id = &lease.job.id;
    inner.with_quarantine(|| {
        (&t.jobs, &t.jobs_due, &t.counts).transaction(|(jobs, due, counts)| {
            let Some(job) = tx_get::<Job>(jobs, trees::JOBS, id.0.as_bytes())? else {
                return Ok(LeaseOutcome::LeaseLost);
            };
            match change(&job) {
                Ok(next) => {
                    put_job(jobs, due, counts, &job.state, &next)?;
                    Ok(LeaseOutcome::Applied)
                }
                Err(outcome) => Ok(outcome),
            }
        })
    })
}

/// Dead → queued again (see `transitions::revive`). Other states are returned unchanged.
pub(crate) fn revive(inner: &Inner, id: &JobId, now: Millis) -> StoreResult<Job> {
    let t = &inner.trees;
    let found = inner.with_quarantine(|| {
        (&t.jobs, &t.jobs_due, &t.counts).transaction(|(jobs, due, counts)| {
            let Some(job) = tx_get::<Job>(jobs, trees::JOBS, id.0.as_bytes())? else {
                return Ok(None);
            };
            match transitions::revive(&job, now) {
                Some(next) => {
                    put_job(jobs, due, counts, &job.state, &next)?;
                    Ok(Some(next))
                }
                None => Ok(Some(job)),
            }
        })
    })?;
    found.ok_or_else(|| StoreError::NotFound {
        what: "job",
        id: id.0.clone(),
    })
}

/// On open: jobs leased by a previous process become `unknown`. Returns how many.
///
/// The holder is gone, and it may have sent the create before it died, so the next claim must
/// reconcile (look for the Pin) rather than create blindly.
pub(crate) fn recover_leases(db: &Db, trees: &Trees, now: Millis) -> StoreResult<usize> {
    let mut leased = Vec::new();
    for entry in trees.jobs_due.iter() {
        let (due_key, _) = entry.map_err(io)?;
        let Some(id) = keys::job_id_from_due_key(&due_key) else {
            continue;
        };
        let Some(raw) = trees.jobs.get(id.0.as_bytes()).map_err(io)? else {
            continue;
        };
        if let Some(job) =
            trees.decode_or_quarantine::<Job>(db, trees::JOBS, id.0.as_bytes(), raw, now)?
            && let Some(next) = transitions::recovered(&job, now)
        {
            leased.push((job.state, next));
        }
    }
    let count = leased.len();
    for (old, job) in leased {
        let result: Result<(), super::kv::transaction::TransactionError<trees::Corrupt>> =
            (&trees.jobs, &trees.jobs_due, &trees.counts)
                .transaction(|(jobs, due, counts)| put_job(jobs, due, counts, &old, &job));
        result.map_err(|e| StoreError::Io(format!("{e:?}")))?;
    }
    Ok(count)
}
