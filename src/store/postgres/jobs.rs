//! The outbox in SQL: claims with `FOR UPDATE SKIP LOCKED`, lease-fenced writes, listings.

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use super::ingest::json;
use super::io;
use crate::item::{DedupKey, Item, SourceId};
use crate::store::*;

const JOB_COLUMNS: &str = "j.id, j.source, j.item_key, j.target, j.state, j.attempts, j.last_error, j.created, j.updated, j.create_sent";

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
        let mut job = job_from_row(&row)?;
        let item: Option<serde_json::Value> = row.get("item");
        let Some(item) = item.and_then(|v| serde_json::from_value::<Item>(v).ok()) else {
            let error = "its item record is gone (forgotten); nothing to pin";
            let state = JobState::Dead {
                error: error.into(),
                at: now,
            };
            set_state(&mut tx, &job.id, &state, None, None, Some(error), now).await?;
            continue;
        };
        // An expired lease's holder may have sent the create: reconcile, as for unknown jobs.
        let reconcile = matches!(
            job.state,
            JobState::Unknown { .. } | JobState::Leased { .. }
        );
        let token: i64 = sqlx::query_scalar("SELECT nextval('lease_tokens')")
            .fetch_one(&mut *tx)
            .await
            .map_err(io)?;
        let until = now.saturating_add(lease_ms);
        job.state = JobState::Leased {
            token: LeaseToken(token as u64),
            until,
            reconcile,
        };
        job.updated = now;
        set_state(
            &mut tx,
            &job.id,
            &job.state,
            Some(until),
            Some(token),
            None,
            now,
        )
        .await?;
        leases.push(Lease {
            token: LeaseToken(token as u64),
            until,
            reconcile,
            item,
            job,
        });
    }
    tx.commit().await.map_err(io)?;
    Ok(leases)
}

async fn set_state(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: &JobId,
    state: &JobState,
    due: Option<Millis>,
    token: Option<i64>,
    error: Option<&str>,
    now: Millis,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE jobs SET state = $2, state_name = $3, due = $4, lease_token = $5,
                last_error = COALESCE($6, last_error), updated = $7
         WHERE id = $1",
    )
    .bind(&id.0)
    .bind(json(state))
    .bind(state.name())
    .bind(due)
    .bind(token)
    .bind(error)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(io)?;
    Ok(())
}

/// Extend a held lease to `until` and record that the create is sent at `now`.
pub(super) async fn sending(
    pool: &PgPool,
    lease: &Lease,
    until: Millis,
    now: Millis,
) -> StoreResult<LeaseOutcome> {
    let mut state = lease.job.state.clone();
    if let JobState::Leased { until: u, .. } = &mut state {
        *u = until;
    }
    let done = sqlx::query(
        "UPDATE jobs SET state = $3, due = $4, create_sent = $5
         WHERE id = $1 AND state_name = 'leased' AND lease_token = $2",
    )
    .bind(&lease.job.id.0)
    .bind(lease.token.0 as i64)
    .bind(json(&state))
    .bind(until)
    .bind(now)
    .execute(pool)
    .await
    .map_err(io)?;
    Ok(if done.rows_affected() == 1 {
        LeaseOutcome::Applied
    } else {
        LeaseOutcome::LeaseLost
    })
}

/// Apply a lease holder's outcome if it still holds the lease (fencing by token).
pub(super) async fn lease_write(
    pool: &PgPool,
    lease: &Lease,
    state: &JobState,
    due: Option<Millis>,
    attempts: i32,
    error: Option<&str>,
    now: Millis,
) -> StoreResult<LeaseOutcome> {
    let keep_lease = matches!(state, JobState::Leased { .. });
    let done = sqlx::query(
        "UPDATE jobs SET state = $3, state_name = $4, due = $5,
                lease_token = CASE WHEN $6 THEN lease_token ELSE NULL END,
                attempts = attempts + $7, last_error = COALESCE($8, last_error), updated = $9
         WHERE id = $1 AND state_name = 'leased' AND lease_token = $2",
    )
    .bind(&lease.job.id.0)
    .bind(lease.token.0 as i64)
    .bind(json(state))
    .bind(state.name())
    .bind(due)
    .bind(keep_lease)
    .bind(attempts)
    .bind(error)
    .bind(now)
    .execute(pool)
    .await
    .map_err(io)?;
    Ok(if done.rows_affected() == 1 {
        LeaseOutcome::Applied
    } else {
        LeaseOutcome::LeaseLost
    })
}

pub(super) async fn revive(pool: &PgPool, id: &JobId, now: Millis) -> StoreResult<Job> {
    let Some(dead) = job(pool, id).await? else {
        return Err(StoreError::NotFound {
            what: "job",
            id: id.0.clone(),
        });
    };
    let state = JobState::revived(&dead, now);
    // `create_sent` only ever goes from unset to set, so the state chosen from this read stays
    // right even if the job changes in between (the `dead` guard then makes this a no-op).
    sqlx::query(
        "UPDATE jobs SET state = $2, state_name = $4, due = $3, attempts = 0, updated = $3
         WHERE id = $1 AND state_name = 'dead'",
    )
    .bind(&id.0)
    .bind(json(&state))
    .bind(now)
    .bind(state.name())
    .execute(pool)
    .await
    .map_err(io)?;
    job(pool, id).await?.ok_or_else(|| StoreError::NotFound {
        what: "job",
        id: id.0.clone(),
    })
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
