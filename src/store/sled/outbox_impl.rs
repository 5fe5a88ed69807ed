//! The outbox on sled: claims, and each lease holder's write applied as a
//! `store::transitions` rule inside one sled transaction.

use async_trait::async_trait;

use super::{SledStore, config_records, jobs, reads};
use crate::item::{DedupKey, SourceId};
use crate::store::{
    Attempt, Job, JobFilter, JobId, Lease, LeaseOutcome, Millis, Outbox, StoreResult, transitions,
};

#[async_trait]
impl Outbox for SledStore {
    async fn claim(&self, max: usize, lease_ms: i64, now: Millis) -> StoreResult<Vec<Lease>> {
        self.write(move |inner| jobs::claim(inner, max, lease_ms, now))
            .await
    }

    async fn extend(&self, lease: &Lease, until: Millis) -> StoreResult<LeaseOutcome> {
        let lease = lease.clone();
        self.write(move |inner| {
            jobs::lease_write(inner, &lease, |job| transitions::extend(job, &lease, until))
        })
        .await
    }

    async fn sending(
        &self,
        lease: &Lease,
        until: Millis,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        let lease = lease.clone();
        self.write(move |inner| {
            jobs::lease_write(inner, &lease, |job| {
                transitions::sending(job, &lease, until, now)
            })
        })
        .await
    }

    async fn complete(
        &self,
        lease: &Lease,
        pin_id: &str,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        let lease = lease.clone();
        let pin_id = pin_id.to_string();
        self.write(move |inner| {
            jobs::lease_write(inner, &lease, |job| {
                transitions::complete(job, &lease, &pin_id, None, now)
            })
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
        let lease = lease.clone();
        let error = error.to_string();
        self.write(move |inner| {
            jobs::lease_write(inner, &lease, |job| {
                transitions::retry(job, &lease, at, &error, attempt, now)
            })
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
        let lease = lease.clone();
        let error = error.to_string();
        self.write(move |inner| {
            jobs::lease_write(inner, &lease, |job| {
                transitions::mark_unknown(job, &lease, &error, at, now)
            })
        })
        .await
    }

    async fn dead(&self, lease: &Lease, error: &str, now: Millis) -> StoreResult<LeaseOutcome> {
        let lease = lease.clone();
        let error = error.to_string();
        self.write(move |inner| {
            jobs::lease_write(inner, &lease, |job| {
                transitions::dead(job, &lease, &error, now)
            })
        })
        .await
    }

    async fn revive(&self, job: &JobId, now: Millis) -> StoreResult<Job> {
        let id = job.clone();
        self.write(move |inner| jobs::revive(inner, &id, now)).await
    }

    async fn job(&self, id: &JobId) -> StoreResult<Option<Job>> {
        let id = id.clone();
        self.read(move |inner| reads::job(inner, &id)).await
    }

    async fn jobs(&self, filter: JobFilter) -> StoreResult<Vec<Job>> {
        self.read(move |inner| reads::jobs(inner, &filter)).await
    }

    async fn item_jobs(&self, source: &SourceId, key: &DedupKey) -> StoreResult<Vec<Job>> {
        let (source, key) = (source.clone(), key.clone());
        self.read(move |inner| reads::item_jobs(inner, &source, &key))
            .await
    }

    async fn recent_jobs(&self, state: &str, limit: usize) -> StoreResult<Vec<Job>> {
        let state = state.to_string();
        self.read(move |inner| reads::recent_jobs(inner, &state, limit))
            .await
    }

    async fn cancel_job(&self, job: &JobId, error: &str, now: Millis) -> StoreResult<bool> {
        let (job, error) = (job.clone(), error.to_string());
        self.write(move |inner| config_records::cancel_job(inner, &job, &error, now))
            .await
    }
}
