//! [`Retention`] in SQL: a page of item keys read without locks, then each candidate item
//! compacted with its done jobs in its own short transaction, by the rules of
//! `store::retention` applied to the rows read there.
//!
//! The item row is read `FOR UPDATE SKIP LOCKED`: an ingest, removal or import of the same item
//! holds that lock, so compaction never waits on one (that item is being seen now and is no
//! candidate) and no ingest ever waits longer than one item's compaction. Jobs need no lock: a
//! job that can need the payload again (`retention::needs_payload`) already keeps the item
//! from compacting, and a done job never changes.

use async_trait::async_trait;
use sqlx::{Postgres, Row, Transaction};

use super::jobs::job_from_row;
use super::state::{ITEM_COLUMNS, item_from_row};
use super::{PgStore, io, json};
use crate::item::{DedupKey, SourceId};
use crate::store::retention::{self, Compacted};
use crate::store::{ItemCursor, Job, Millis, Retention, StoreResult, StoredItem};

#[async_trait]
impl Retention for PgStore {
    async fn compact(
        &self,
        after: Option<ItemCursor>,
        older_than: Millis,
        max: usize,
        now: Millis,
    ) -> StoreResult<Compacted> {
        let (source, key) = after
            .map(|(s, k)| (Some(s.as_str().to_string()), Some(k.0)))
            .unwrap_or_default();
        let limit = max.max(1);
        // Only the columns that tell a candidate: the payload is read for those alone.
        let rows = sqlx::query(
            "SELECT source, key, compacted IS NULL AND last_seen < $3 AS candidate FROM items
             WHERE $1::text IS NULL OR (source, key) > ($1, $2)
             ORDER BY source, key LIMIT $4",
        )
        .bind(&source)
        .bind(&key)
        .bind(older_than)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(io)?;
        let mut page = Compacted::default();
        for row in &rows {
            if !row.get::<bool, _>("candidate") {
                continue;
            }
            let source = SourceId::new(row.get::<String, _>("source"));
            let key = DedupKey(row.get("key"));
            let mut tx = self.pool.begin().await.map_err(io)?;
            let (items, jobs) = compact_item(&mut tx, &source, &key, older_than, now).await?;
            tx.commit().await.map_err(io)?;
            page.items += items;
            page.jobs += jobs;
        }
        page.next = match rows.last() {
            Some(last) if rows.len() == limit => Some((
                SourceId::new(last.get::<String, _>("source")),
                DedupKey(last.get("key")),
            )),
            _ => None,
        };
        Ok(page)
    }
}

/// Compact one item and its done jobs; how many of each were written.
async fn compact_item(
    tx: &mut Transaction<'_, Postgres>,
    source: &SourceId,
    key: &DedupKey,
    older_than: Millis,
    now: Millis,
) -> StoreResult<(u64, u64)> {
    let Some((stored, current)) = read_records(tx, source, key).await? else {
        return Ok((0, 0));
    };
    let item = retention::compact_item(&stored, &current, older_than, now);
    let cut: Vec<Job> = current
        .iter()
        .filter_map(|job| retention::compact_job(job, older_than))
        .collect();
    write_records(tx, item.as_ref(), &cut).await?;
    Ok((u64::from(item.is_some()), cut.len() as u64))
}

/// The item row, locked (`None` when it is gone or another transaction holds it), and its
/// jobs.
async fn read_records(
    tx: &mut Transaction<'_, Postgres>,
    source: &SourceId,
    key: &DedupKey,
) -> StoreResult<Option<(StoredItem, Vec<Job>)>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM items WHERE source = $1 AND key = $2
         FOR UPDATE SKIP LOCKED"
    )))
    .bind(source.as_str())
    .bind(key.as_str())
    .fetch_optional(&mut **tx)
    .await
    .map_err(io)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let stored = item_from_row(&row)?;
    let job_rows = sqlx::query(
        "SELECT id, source, item_key, target, state, attempts, last_error, created, updated,
                create_sent, kind FROM jobs WHERE source = $1 AND item_key = $2 ORDER BY id",
    )
    .bind(source.as_str())
    .bind(key.as_str())
    .fetch_all(&mut **tx)
    .await
    .map_err(io)?;
    let jobs = job_rows
        .iter()
        .map(job_from_row)
        .collect::<StoreResult<_>>()?;
    Ok(Some((stored, jobs)))
}

/// Write back the compacted item (when it was compacted) and jobs. A job is written only
/// while it is still done, its one field that compaction changes.
async fn write_records(
    tx: &mut Transaction<'_, Postgres>,
    item: Option<&StoredItem>,
    cut: &[Job],
) -> StoreResult<()> {
    if let Some(stored) = item {
        sqlx::query("UPDATE items SET item = $3, compacted = $4 WHERE source = $1 AND key = $2")
            .bind(stored.item.source.as_str())
            .bind(stored.item.key.as_str())
            .bind(json(&stored.item))
            .bind(stored.compacted)
            .execute(&mut **tx)
            .await
            .map_err(io)?;
    }
    for job in cut {
        sqlx::query("UPDATE jobs SET last_error = $2 WHERE id = $1 AND state_name = 'done'")
            .bind(&job.id.0)
            .bind(&job.last_error)
            .execute(&mut **tx)
            .await
            .map_err(io)?;
    }
    Ok(())
}
