//! `ingest` and `forget` in SQL: delivery id, dedup by primary key, fingerprint, jobs — one
//! transaction.

use sqlx::{PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use super::{io, json};
use crate::item::{DedupKey, Item, SourceId};
use crate::store::{IngestPlan, Ingested, JobState, Millis, OnChange, RemovedMark, StoreResult};

pub(super) async fn ingest(
    tx: &mut Transaction<'_, Postgres>,
    item: &Item,
    plan: &IngestPlan,
    now: Millis,
) -> StoreResult<Ingested> {
    let source = item.source.as_str();
    // The delivery id, then the replay guard, each kept in `deliveries`. When only the guard
    // conflicts, the new delivery id stays recorded: it belongs to a replay, so a retry of it
    // is a duplicate too. Concurrent inserts of one key wait for each other's commit.
    for delivery in [&plan.delivery, &plan.replay_guard].into_iter().flatten() {
        let inserted = sqlx::query(
            "INSERT INTO deliveries (source, id, keep_until) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(source)
        .bind(&delivery.id)
        .bind(delivery.keep_until)
        .execute(&mut **tx)
        .await
        .map_err(io)?;
        if inserted.rows_affected() == 0 {
            return Ok(Ingested::Duplicate);
        }
    }
    let fingerprint = item.fingerprint();
    let (disposition, queue) = plan.disposition();
    let inserted = sqlx::query(
        "INSERT INTO items (source, key, item, fingerprint, first_seen, last_seen, changes, disposition)
         VALUES ($1, $2, $3, $4, $5, $5, 0, $6) ON CONFLICT DO NOTHING",
    )
    .bind(source)
    .bind(item.key.as_str())
    .bind(json(item))
    .bind(&fingerprint.0[..])
    .bind(now)
    .bind(json(&disposition))
    .execute(&mut **tx)
    .await
    .map_err(io)?;
    if inserted.rows_affected() == 1 {
        let jobs = if queue {
            write_jobs(tx, item, plan, now).await?
        } else {
            0
        };
        return Ok(Ingested::New { jobs });
    }

    // Known: the row is locked until commit, so concurrent ingests of one key line up here.
    let row = sqlx::query(
        "SELECT fingerprint, (item->>'updated_ms')::bigint AS updated_ms, removed
         FROM items WHERE source = $1 AND key = $2 FOR UPDATE",
    )
    .bind(source)
    .bind(item.key.as_str())
    .fetch_one(&mut **tx)
    .await
    .map_err(io)?;
    let stored: Vec<u8> = row.get("fingerprint");
    let stored_updated: Option<i64> = row.get("updated_ms");
    let removed: Option<RemovedMark> = row
        .get::<Option<serde_json::Value>, _>("removed")
        .and_then(|v| serde_json::from_value(v).ok());
    let newer = match (item.updated_ms, stored_updated) {
        // Older than what is stored (overtaken by a later delivery): never overwrites, never pins.
        (Some(new), Some(old)) if new < old => return Ok(Ingested::Duplicate),
        (Some(new), Some(old)) => new > old,
        _ => false,
    };
    // Back after a removal at its source: pinned again on the routes whose Pins went with it.
    if let Some(mark) = removed.filter(|_| queue) {
        let jobs = write_jobs(tx, item, &mark.comeback(plan), now).await?;
        sqlx::query(
            "UPDATE items SET item = $3, fingerprint = $4, last_seen = $5,
                    changes = changes + CASE WHEN fingerprint = $4 THEN 0 ELSE 1 END,
                    disposition = $6, removed = NULL, compacted = NULL
             WHERE source = $1 AND key = $2",
        )
        .bind(source)
        .bind(item.key.as_str())
        .bind(json(item))
        .bind(&fingerprint.0[..])
        .bind(now)
        .bind(json(&disposition))
        .execute(&mut **tx)
        .await
        .map_err(io)?;
        return Ok(Ingested::Changed { jobs });
    }
    if stored == fingerprint.0 {
        // Same Pin fields but newer: keep its time, so a late older change is still older.
        if newer {
            sqlx::query(
                "UPDATE items SET item = $3, compacted = NULL WHERE source = $1 AND key = $2",
            )
            .bind(source)
            .bind(item.key.as_str())
            .bind(json(item))
            .execute(&mut **tx)
            .await
            .map_err(io)?;
        }
        return Ok(Ingested::Duplicate);
    }
    let mut queued = 0;
    let new_disposition = if plan.on_change == OnChange::NewPin {
        if queue {
            queued = write_jobs(tx, item, plan, now).await?;
        }
        Some(json(&disposition))
    } else {
        None
    };
    if !plan.update_routes.is_empty() {
        queued += super::follow::queue_updates(tx, item, &plan.update_routes, now).await?;
    }
    sqlx::query(
        "UPDATE items SET item = $3, fingerprint = $4, last_seen = $5, changes = changes + 1,
                disposition = COALESCE($6, disposition), compacted = NULL
         WHERE source = $1 AND key = $2",
    )
    .bind(source)
    .bind(item.key.as_str())
    .bind(json(item))
    .bind(&fingerprint.0[..])
    .bind(now)
    .bind(new_disposition)
    .execute(&mut **tx)
    .await
    .map_err(io)?;
    Ok(Ingested::Changed { jobs: queued })
}

async fn write_jobs(
    tx: &mut Transaction<'_, Postgres>,
    item: &Item,
    plan: &IngestPlan,
    now: Millis,
) -> StoreResult<usize> {
    let state = JobState::Pending { run_at: now };
    for target in &plan.targets {
        sqlx::query(
            "INSERT INTO jobs (id, source, item_key, target, state, state_name, due, attempts, created, updated)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $7, $7)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(item.source.as_str())
        .bind(item.key.as_str())
        .bind(json(target))
        .bind(json(&state))
        .bind(state.name())
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(io)?;
    }
    Ok(plan.targets.len())
}

/// Remove the item, its tombstone and its unfinished jobs (done ones stay as history).
pub(super) async fn forget(pool: &PgPool, source: &SourceId, key: &DedupKey) -> StoreResult<bool> {
    let mut tx = pool.begin().await.map_err(io)?;
    sqlx::query("DELETE FROM jobs WHERE source = $1 AND item_key = $2 AND state_name <> 'done'")
        .bind(source.as_str())
        .bind(key.as_str())
        .execute(&mut *tx)
        .await
        .map_err(io)?;
    let gone = sqlx::query("DELETE FROM items WHERE source = $1 AND key = $2")
        .bind(source.as_str())
        .bind(key.as_str())
        .execute(&mut *tx)
        .await
        .map_err(io)?;
    tx.commit().await.map_err(io)?;
    Ok(gone.rows_affected() > 0)
}
