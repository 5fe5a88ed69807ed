//! [`Retention`] in SQL: a page of item keys read without locks, then the page's candidate
//! items compacted with their done jobs in one short transaction, by the rules of
//! `store::retention` applied to the rows read there.
//!
//! The item rows are read `FOR UPDATE SKIP LOCKED`: an ingest, removal or import of the same
//! item holds that lock, so compaction never waits on one (that item is being seen now and is
//! no candidate) and no ingest waits longer than one page's compaction. Jobs need no lock: a
//! job that can need the payload again (`retention::needs_payload`) already keeps the item
//! from compacting, and a done job never changes.

use std::collections::HashMap;

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
        let next = match rows.last() {
            Some(last) if rows.len() == limit => Some((
                SourceId::new(last.get::<String, _>("source")),
                DedupKey(last.get("key")),
            )),
            _ => None,
        };
        let (sources, keys): (Vec<String>, Vec<String>) = rows
            .iter()
            .filter(|row| row.get::<bool, _>("candidate"))
            .map(|row| (row.get("source"), row.get("key")))
            .unzip();
        let mut page = Compacted {
            next,
            ..Compacted::default()
        };
        if sources.is_empty() {
            return Ok(page);
        }
        // One short transaction for the page's candidates.
        let mut tx = self.pool.begin().await.map_err(io)?;
        for (stored, jobs) in read_records(&mut tx, &sources, &keys).await? {
            let item = retention::compact_item(&stored, &jobs, older_than, now);
            let cut: Vec<Job> = jobs
                .iter()
                .filter_map(|job| retention::compact_job(job, older_than))
                .collect();
            write_records(&mut tx, item.as_ref(), &cut).await?;
            page.items += u64::from(item.is_some());
            page.jobs += cut.len() as u64;
        }
        tx.commit().await.map_err(io)?;
        Ok(page)
    }
}

/// The items named by `sources` and `keys` (pairwise), each with its jobs. Their rows are
/// locked; one another transaction holds is left out.
async fn read_records(
    tx: &mut Transaction<'_, Postgres>,
    sources: &[String],
    keys: &[String],
) -> StoreResult<Vec<(StoredItem, Vec<Job>)>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM items
         WHERE (source, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))
         ORDER BY source, key FOR UPDATE SKIP LOCKED"
    )))
    .bind(sources)
    .bind(keys)
    .fetch_all(&mut **tx)
    .await
    .map_err(io)?;
    let job_rows = sqlx::query(
        "SELECT id, source, item_key, target, state, attempts, last_error, created, updated,
                create_sent, kind FROM jobs
         WHERE (source, item_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))
         ORDER BY id",
    )
    .bind(sources)
    .bind(keys)
    .fetch_all(&mut **tx)
    .await
    .map_err(io)?;
    let mut jobs: HashMap<(SourceId, DedupKey), Vec<Job>> = HashMap::new();
    for row in &job_rows {
        let job = job_from_row(row)?;
        jobs.entry((job.source.clone(), job.item.clone()))
            .or_default()
            .push(job);
    }
    rows.iter()
        .map(|row| {
            let stored = item_from_row(row)?;
            let id = (stored.item.source.clone(), stored.item.key.clone());
            Ok((stored, jobs.remove(&id).unwrap_or_default()))
        })
        .collect()
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
