//! Pins follow their item in SQL: the update jobs a change queues and what a removal at the
//! source does, decided by the rules in `store::follow` over the item's job rows read under
//! their row locks, so both backends decide alike.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::io;
use super::jobs::{JOB_COLUMNS, job_from_row, write_job};
use super::json;
use crate::item::{DedupKey, Item, SourceId};
use crate::store::follow::{self, Removal};
use crate::store::{Job, JobId, Millis, Removed, RemovedMark, StoreResult, transitions};

/// The item's jobs, locked until commit (concurrent ingests and removals of one item line up).
async fn locked_jobs(
    tx: &mut Transaction<'_, Postgres>,
    source: &SourceId,
    key: &DedupKey,
) -> StoreResult<Vec<Job>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs j WHERE j.source = $1 AND j.item_key = $2
         ORDER BY j.id FOR UPDATE"
    )))
    .bind(source.as_str())
    .bind(key.as_str())
    .fetch_all(&mut **tx)
    .await
    .map_err(io)?;
    rows.iter().map(job_from_row).collect()
}

fn fresh_ids(n: usize) -> Vec<JobId> {
    (0..n).map(|_| JobId(Uuid::now_v7().to_string())).collect()
}

/// Insert a new job row (its kind as JSON; a create's is NULL like every older row).
async fn insert_job(tx: &mut Transaction<'_, Postgres>, job: &Job) -> StoreResult<()> {
    let kind = (!job.kind.is_create()).then(|| json(&job.kind));
    sqlx::query(
        "INSERT INTO jobs (id, source, item_key, target, state, state_name, due, attempts,
                           created, updated, kind)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8, $9)",
    )
    .bind(&job.id.0)
    .bind(job.source.as_str())
    .bind(job.item.as_str())
    .bind(json(&job.target))
    .bind(json(&job.state))
    .bind(job.state.name())
    .bind(transitions::due(&job.state))
    .bind(job.created)
    .bind(kind)
    .execute(&mut **tx)
    .await
    .map_err(io)?;
    Ok(())
}

/// A changed item: queue an update of every Pin its jobs on `routes` made.
pub(super) async fn queue_updates(
    tx: &mut Transaction<'_, Postgres>,
    item: &Item,
    routes: &[String],
    now: Millis,
) -> StoreResult<usize> {
    let current = locked_jobs(tx, &item.source, &item.key).await?;
    let queued = follow::updates(&current, routes, &fresh_ids(current.len()), now);
    for job in &queued {
        insert_job(tx, job).await?;
    }
    Ok(queued.len())
}

pub(super) async fn source_removed(
    pool: &PgPool,
    source: &SourceId,
    key: &DedupKey,
    delete_routes: &[String],
    now: Millis,
) -> StoreResult<Removed> {
    let mut tx = pool.begin().await.map_err(io)?;
    // Marked, so that the item pins again on these routes when it comes back.
    let previous: Option<Option<serde_json::Value>> =
        sqlx::query_scalar("SELECT removed FROM items WHERE source = $1 AND key = $2 FOR UPDATE")
            .bind(source.as_str())
            .bind(key.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(io)?;
    if let Some(previous) = previous {
        let previous: Option<RemovedMark> = previous.and_then(|v| serde_json::from_value(v).ok());
        let mark = RemovedMark::merged(previous.as_ref(), delete_routes, now);
        sqlx::query("UPDATE items SET removed = $3 WHERE source = $1 AND key = $2")
            .bind(source.as_str())
            .bind(key.as_str())
            .bind(json(&mark))
            .execute(&mut *tx)
            .await
            .map_err(io)?;
    }
    let current = locked_jobs(&mut tx, source, key).await?;
    let mut out = Removed::default();
    for step in follow::removal(&current, delete_routes, &fresh_ids(current.len()), now) {
        match step {
            Removal::Queue(job) => {
                insert_job(&mut tx, &job).await?;
                out.deletes += 1;
            }
            Removal::Cancel(job) => {
                write_job(&mut tx, &job).await?;
                out.cancelled += 1;
            }
        }
    }
    tx.commit().await.map_err(io)?;
    Ok(out)
}
