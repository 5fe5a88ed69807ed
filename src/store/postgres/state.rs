//! Items, per-source and per-account state, and counts.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{PgPool, Row};

use super::io;
use super::json;
use crate::item::{DedupKey, Fingerprint, SourceId};
use crate::store::{ItemFilter, StoreError, StoreResult, StoreStats, StoredItem};

pub(super) fn item_from_row(row: &sqlx::postgres::PgRow) -> StoreResult<StoredItem> {
    let decode = |e: serde_json::Error| {
        StoreError::Io(format!("postgres: an item record does not decode: {e}"))
    };
    let bytes: Vec<u8> = row.get("fingerprint");
    let mut fingerprint = [0u8; 16];
    if bytes.len() == 16 {
        fingerprint.copy_from_slice(&bytes);
    }
    Ok(StoredItem {
        item: serde_json::from_value(row.get("item")).map_err(decode)?,
        fingerprint: Fingerprint(fingerprint),
        first_seen: row.get("first_seen"),
        last_seen: row.get("last_seen"),
        changes: row.get::<i32, _>("changes") as u32,
        disposition: serde_json::from_value(row.get("disposition")).map_err(decode)?,
        removed: row
            .get::<Option<serde_json::Value>, _>("removed")
            .map(serde_json::from_value)
            .transpose()
            .map_err(decode)?,
        compacted: row.get("compacted"),
    })
}

pub(super) const ITEM_COLUMNS: &str =
    "item, fingerprint, first_seen, last_seen, changes, disposition, removed, compacted";

pub(super) async fn item(
    pool: &PgPool,
    source: &SourceId,
    key: &DedupKey,
) -> StoreResult<Option<StoredItem>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM items WHERE source = $1 AND key = $2"
    )))
    .bind(source.as_str())
    .bind(key.as_str())
    .fetch_optional(pool)
    .await
    .map_err(io)?;
    row.as_ref().map(item_from_row).transpose()
}

pub(super) async fn items(pool: &PgPool, filter: &ItemFilter) -> StoreResult<Vec<StoredItem>> {
    let limit = if filter.limit == 0 {
        i64::MAX
    } else {
        filter.limit as i64
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM items WHERE ($1::text IS NULL OR source = $1)
         ORDER BY source, key LIMIT $2"
    )))
    .bind(filter.source.as_ref().map(|s| s.as_str().to_string()))
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(io)?;
    rows.iter().map(item_from_row).collect()
}

/// A JSON state record (`table` and `column` are fixed names from this module, never input).
pub(super) async fn get<T: DeserializeOwned + Default>(
    pool: &PgPool,
    table: &str,
    column: &str,
    id: &str,
) -> StoreResult<T> {
    let value: Option<serde_json::Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT state FROM {table} WHERE {column} = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(io)?;
    match value {
        Some(v) => serde_json::from_value(v).map_err(|e| {
            StoreError::Io(format!(
                "postgres: {table} record for {id} does not decode: {e}"
            ))
        }),
        None => Ok(T::default()),
    }
}

pub(super) async fn set<T: Serialize>(
    pool: &PgPool,
    table: &str,
    column: &str,
    id: &str,
    value: &T,
) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} ({column}, state) VALUES ($1, $2)
         ON CONFLICT ({column}) DO UPDATE SET state = EXCLUDED.state"
    )))
    .bind(id)
    .bind(json(value))
    .execute(pool)
    .await
    .map_err(io)?;
    Ok(())
}

/// Counts as the triggers maintain them (schema migration 5): a few rows per count, never a scan.
pub(super) async fn stats(pool: &PgPool) -> StoreResult<StoreStats> {
    let rows = sqlx::query("SELECT name, sum(n)::bigint AS n FROM counts GROUP BY name")
        .fetch_all(pool)
        .await
        .map_err(io)?;
    let mut items = 0i64;
    // Every state appears, with 0 when no job is in it.
    let mut jobs_by_state: BTreeMap<String, u64> =
        ["pending", "leased", "retry", "unknown", "done", "dead"]
            .iter()
            .map(|s| (s.to_string(), 0))
            .collect();
    for r in &rows {
        let (name, n) = (r.get::<String, _>("name"), r.get::<i64, _>("n").max(0));
        match name.strip_prefix("job:") {
            Some(state) => {
                jobs_by_state.insert(state.to_string(), n as u64);
            }
            None if name == "items" => items = n,
            None => {}
        }
    }
    let size: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
         WHERE c.relname IN ('items', 'jobs', 'source_state', 'account_state', 'deliveries')
           AND c.relnamespace = current_schema()::regnamespace",
    )
    .fetch_one(pool)
    .await
    .map_err(io)?;
    Ok(StoreStats {
        items: items as u64,
        jobs_by_state,
        quarantined: 0,
        size_on_disk: size as u64,
    })
}
