//! The outbox on PostgreSQL: claims, and each lease holder's write applied as a
//! `store::transitions` rule to the row read under its lock (see `jobs.rs`).

use async_trait::async_trait;

use super::{PgStore, jobs};
use crate::item::{DedupKey, SourceId};
use crate::store::{
    Attempt, Job, JobFilter, JobId, Lease, LeaseOutcome, Millis, Outbox, StoreResult, transitions,
};

#[async_trait]
impl Outbox for PgStore {
    async fn claim(&self, max: usize, lease_ms: i64, now: Millis) -> StoreResult<Vec<Lease>> {
        jobs::claim(&self.pool, max, lease_ms, now).await
    }

    async fn extend(&self, lease: &Lease, until: Millis) -> StoreResult<LeaseOutcome> {
        jobs::lease_write(&self.pool, lease, |job| {
            transitions::extend(job, lease, until)
        })
        .await
    }

    async fn sending(
        &self,
        lease: &Lease,
        until: Millis,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        jobs::lease_write(&self.pool, lease, |job| {
            transitions::sending(job, lease, until, now)
        })
        .await
    }

    async fn complete(
        &self,
        lease: &Lease,
        pin_id: &str,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        jobs::lease_write(&self.pool, lease, |job| {
            transitions::complete(job, lease, pin_id, None, now)
        })
        .await
    }

    async fn retry(
        &self,
        lease: &Lease,
        at: Millis,
        error: &str,
        attempt: Attempt,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        jobs::lease_write(&self.pool, lease, |job| {
            transitions::retry(job, lease, at, error, attempt, now)
        })
        .await
    }

    async fn mark_unknown(
        &self,
        lease: &Lease,
        error: &str,
        at: Millis,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        jobs::lease_write(&self.pool, lease, |job| {
            transitions::mark_unknown(job, lease, error, at, now)
        })
        .await
    }

    async fn dead(&self, lease: &Lease, error: &str, now: Millis) -> StoreResult<LeaseOutcome> {
        jobs::lease_write(&self.pool, lease, |job| {
            transitions::dead(job, lease, error, now)
        })
        .await
    }

    async fn revive(&self, job: &JobId, now: Millis) -> StoreResult<Job> {
        jobs::revive(&self.pool, job, now).await
    }

    async fn cancel_job(&self, job: &JobId, error: &str, now: Millis) -> StoreResult<bool> {
        jobs::cancel(&self.pool, job, error, now).await
    }

    async fn job(&self, id: &JobId) -> StoreResult<Option<Job>> {
        jobs::job(&self.pool, id).await
    }

    async fn jobs(&self, filter: JobFilter) -> StoreResult<Vec<Job>> {
        jobs::jobs(&self.pool, &filter).await
    }

    async fn item_jobs(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Vec<Job>> {
        jobs::item_jobs(&self.pool, source, key).await
    }

    async fn recent_jobs(&self, state: &str, limit: usize) -> StoreResult<Vec<Job>> {
        jobs::recent_jobs(&self.pool, state, limit).await
    }
}
