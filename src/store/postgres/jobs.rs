//! The outbox in SQL: claims with `FOR UPDATE SKIP LOCKED`, and every other write as a
//! `store::transitions` rule applied to the job row read under its row lock (`FOR UPDATE`), so
//! the state machine is the one sled applies, not a restatement of it in SQL.

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Row, Transaction};

use super::io;
use super::json;
use crate::item::{DedupKey, Item, SourceId};
// Named, not `*`: a glob would also pull in `store::open`, which opens this backend.
use crate::store::{
    Job, JobFilter, JobId, JobState, Lease, LeaseOutcome, LeaseToken, Millis, StoreError,
    StoreResult, transitions,
};

pub(super) const JOB_COLUMNS: &str = "j.id, j.source, j.item_key, j.target, j.state, j.attempts, j.last_error, j.created, j.updated, j.create_sent, j.kind";

pub(super) fn job_from_row(row: &PgRow) -> StoreResult<Job> {
    let decode = |e: serde_json::Error| {
        StoreError::Io(format!("postgres: a job record does not decode: {e}"))
    };
    Ok(Job {
        id: JobId(row.get("id")),
        source: SourceId::new(row.get::<String, _>("source")),
        item: DedupKey(row.get("item_key")),
        target: serde_json::from_value(row.get("target")).map_err(decode)?,
        state: serde_json::from_value(row.get("state")).map_err(decode)?,
        attempts: row.get::<i32, _>("attempts") as u32,
        last_error: row.get("last_error"),
        created: row.get("created"),
        updated: row.get("updated"),
        create_sent: row.get("create_sent"),
        kind: row
            .get::<Option<serde_json::Value>, _>("kind")
            .map(serde_json::from_value)
            .transpose()
            .map_err(decode)?
            .unwrap_or_default(),
    })
}

/// Lease up to `max` due jobs. Rows another replica is claiming are skipped, not waited for.
pub(super) async fn claim(
    pool: &PgPool,
    max: usize,
    lease_ms: i64,
    now: Millis,
) -> StoreResult<Vec<Lease>> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let mut tx = pool.begin().await.map_err(io)?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS}, i.item FROM jobs j
         LEFT JOIN items i ON i.source = j.source AND i.key = j.item_key
         WHERE j.due IS NOT NULL AND (j.due < $1 OR (j.due = $1 AND j.state_name <> 'leased'))
         ORDER BY j.due, j.id
         LIMIT $2
         FOR UPDATE OF j SKIP LOCKED"
    )))
    .bind(now)
    .bind(max as i64)
    .fetch_all(&mut *tx)
    .await
    .map_err(io)?;
    let mut leases = Vec::with_capacity(rows.len());
    for row in rows {
        let job = job_from_row(&row)?;
        let item: Option<serde_json::Value> = row.get("item");
        let Some(item) = item.and_then(|v| serde_json::from_value::<Item>(v).ok()) else {
            let why = "its item record is gone (forgotten); nothing to pin";
            write_job(&mut tx, &transitions::orphaned(&job, why, now)).await?;
            continue;
        };
        let token: i64 = sqlx::query_scalar("SELECT nextval('lease_tokens')")
            .fetch_one(&mut *tx)
            .await
            .map_err(io)?;
        let (token, until) = (LeaseToken(token as u64), now.saturating_add(lease_ms));
        // The query above picks what `transitions::runnable` allows, by the indexed due time.
        let Some((job, reconcile)) = transitions::lease(&job, token, until, now) else {
            continue;
        };
        write_job(&mut tx, &job).await?;
        leases.push(Lease {
            token,
            until,
            reconcile,
            item,
            job,
        });
    }
    tx.commit().await.map_err(io)?;
    Ok(leases)
}

/// The job row, locked until the transaction ends.
pub(super) async fn lock_job(
    tx: &mut Transaction<'_, Postgres>,
    id: &JobId,
) -> StoreResult<Option<Job>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs j WHERE j.id = $1 FOR UPDATE"
    )))
    .bind(&id.0)
    .fetch_optional(&mut **tx)
    .await
    .map_err(io)?;
    row.as_ref().map(job_from_row).transpose()
}

/// Write back a job as a transition left it, with the columns derived from its state (its due
/// time, and the lease token that fences a leased job's writes).
pub(super) async fn write_job(tx: &mut Transaction<'_, Postgres>, job: &Job) -> StoreResult<()> {
    let token = match job.state {
        JobState::Leased { token, .. } => Some(token.0 as i64),
        _ => None,
    };
    sqlx::query(
        "UPDATE jobs SET state = $2, state_name = $3, due = $4, lease_token = $5,
                attempts = $6, last_error = $7, updated = $8, create_sent = $9
         WHERE id = $1",
    )
    .bind(&job.id.0)
    .bind(json(&job.state))
    .bind(job.state.name())
    .bind(transitions::due(&job.state))
    .bind(token)
    .bind(i32::try_from(job.attempts).unwrap_or(i32::MAX))
    .bind(&job.last_error)
    .bind(job.updated)
    .bind(job.create_sent)
    .execute(&mut **tx)
    .await
    .map_err(io)?;
    Ok(())
}

/// Apply a lease holder's transition to the job row inside `tx`: nothing is written when the
/// transition answers `LeaseLost` (the lease was reclaimed, or the job moved on).
pub(super) async fn lease_write_in(
    tx: &mut Transaction<'_, Postgres>,
    lease: &Lease,
    change: impl FnOnce(&Job) -> Result<Job, LeaseOutcome>,
) -> StoreResult<LeaseOutcome> {
    let Some(job) = lock_job(tx, &lease.job.id).await? else {
        return Ok(LeaseOutcome::LeaseLost);
    };
    match change(&job) {
        Ok(next) => {
            write_job(tx, &next).await?;
            Ok(LeaseOutcome::Applied)
        }
        Err(outcome) => Ok(outcome),
    }
}

/// [`lease_write_in`] as its own transaction.
pub(super) async fn lease_write(
    pool: &PgPool,
    lease: &Lease,
    change: impl FnOnce(&Job) -> Result<Job, LeaseOutcome>,
) -> StoreResult<LeaseOutcome> {
    let mut tx = pool.begin().await.map_err(io)?;
    let outcome = lease_write_in(&mut tx, lease, change).await?;
    tx.commit().await.map_err(io)?;
    Ok(outcome)
}

/// Dead → queued again (see `transitions::revive`); other states are returned unchanged.
pub(super) async fn revive(pool: &PgPool, id: &JobId, now: Millis) -> StoreResult<Job> {
    let mut tx = pool.begin().await.map_err(io)?;
    let Some(job) = lock_job(&mut tx, id).await? else {
        return Err(StoreError::NotFound {
            what: "job",
            id: id.0.clone(),
        });
    };
    let job = match transitions::revive(&job, now) {
        Some(next) => {
            write_job(&mut tx, &next).await?;
            next
        }
        None => job,
    };
    tx.commit().await.map_err(io)?;
    Ok(job)
}

/// A queued job to the dead letter (see `transitions::cancel`). Returns whether it moved.
pub(super) async fn cancel(
    pool: &PgPool,
    id: &JobId,
    error: &str,
    now: Millis,
) -> StoreResult<bool> {
    let mut tx = pool.begin().await.map_err(io)?;
    let Some(next) = lock_job(&mut tx, id)
        .await?
        .and_then(|job| transitions::cancel(&job, error, now))
    else {
        return Ok(false);
    };
    write_job(&mut tx, &next).await?;
    tx.commit().await.map_err(io)?;
    Ok(true)
}

pub(super) async fn job(pool: &PgPool, id: &JobId) -> StoreResult<Option<Job>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs j WHERE j.id = $1"
    )))
    .bind(&id.0)
    .fetch_optional(pool)
    .await
    .map_err(io)?;
    row.as_ref().map(job_from_row).transpose()
}

pub(super) async fn jobs(pool: &PgPool, filter: &JobFilter) -> StoreResult<Vec<Job>> {
    let limit = if filter.limit == 0 {
        i64::MAX
    } else {
        filter.limit as i64
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs j
         WHERE ($1::text IS NULL OR j.source = $1) AND ($2::text IS NULL OR j.state_name = $2)
         ORDER BY j.id LIMIT $3"
    )))
    .bind(filter.source.as_ref().map(|s| s.as_str().to_string()))
    .bind(filter.state.clone())
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(io)?;
    rows.iter().map(job_from_row).collect()
}

/// The newest finished jobs in `state`, from the partial index `jobs_finished`.
pub(super) async fn recent_jobs(pool: &PgPool, state: &str, limit: usize) -> StoreResult<Vec<Job>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs j
         WHERE j.state_name = $1 AND j.state_name IN ('done', 'dead')
         ORDER BY j.updated DESC, j.id DESC LIMIT $2"
    )))
    .bind(state)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
    .map_err(io)?;
    rows.iter().map(job_from_row).collect()
}

pub(super) async fn item_jobs(
    pool: &PgPool,
    source: &SourceId,
    key: &DedupKey,
) -> StoreResult<Vec<Job>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs j WHERE j.source = $1 AND j.item_key = $2 ORDER BY j.id"
    )))
    .bind(source.as_str())
    .bind(key.as_str())
    .fetch_all(pool)
    .await
    .map_err(io)?;
    rows.iter().map(job_from_row).collect()
}
