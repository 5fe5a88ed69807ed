//! Adoption, export and import in SQL: pages by primary key (`(source, key) > $cursor ORDER BY
//! source, key`), and imports that insert with `ON CONFLICT DO NOTHING`, one transaction per
//! batch.

use async_trait::async_trait;
use sqlx::{PgPool, Postgres, Row, Transaction};

use super::jobs::job_from_row;
use super::json;
use super::pacing::{decode, lock_pace, save_pace};
use super::state::{ITEM_COLUMNS, item_from_row};
use super::{PgStore, io};
use crate::item::SourceId;
use crate::store::pacing::{self, LinkHolder};
use crate::store::{
    ImportCounts, ItemCursor, Job, JobState, LinkCursor, Millis, StoreResult, StoredItem, Transfer,
    TransferRecord, transitions,
};

pub(super) async fn adopt_links(
    pool: &PgPool,
    account: &str,
    board: &str,
    pins: &[(String, String)],
    finished: bool,
    now: Millis,
) -> StoreResult<usize> {
    let mut tx = pool.begin().await.map_err(io)?;
    let mut recorded = 0;
    for (link, pin_id) in pins {
        let current: Option<serde_json::Value> = sqlx::query_scalar(
            "SELECT holder FROM links WHERE account = $1 AND board = $2 AND link = $3 FOR UPDATE",
        )
        .bind(account)
        .bind(board)
        .bind(link)
        .fetch_optional(&mut *tx)
        .await
        .map_err(io)?;
        let current: Option<LinkHolder> = current.map(|v| decode("link", v)).transpose()?;
        if !pacing::adopts_over(current.as_ref()) {
            continue;
        }
        sqlx::query(
            "INSERT INTO links (account, board, link, holder) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account, board, link) DO UPDATE SET holder = EXCLUDED.holder",
        )
        .bind(account)
        .bind(board)
        .bind(link)
        .bind(json(&LinkHolder::adopted(pin_id, now)))
        .execute(&mut *tx)
        .await
        .map_err(io)?;
        recorded += 1;
    }
    if finished {
        let mut pace = lock_pace(&mut tx, account, board).await?;
        pace.adopted.get_or_insert(now);
        save_pace(&mut tx, account, board, &pace).await?;
    }
    tx.commit().await.map_err(io)?;
    Ok(recorded)
}

pub(super) async fn board_adopted(
    pool: &PgPool,
    account: &str,
    board: &str,
) -> StoreResult<Option<Millis>> {
    let adopted: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT (state->>'adopted')::bigint FROM board_pace WHERE account = $1 AND board = $2",
    )
    .bind(account)
    .bind(board)
    .fetch_optional(pool)
    .await
    .map_err(io)?;
    Ok(adopted.flatten())
}

#[async_trait]
impl Transfer for PgStore {
    async fn export_items(
        &self,
        after: Option<ItemCursor>,
        limit: usize,
    ) -> StoreResult<Vec<(StoredItem, Vec<Job>)>> {
        let (source, key) = after
            .map(|(s, k)| (Some(s.as_str().to_string()), Some(k.0)))
            .unwrap_or_default();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT source, key, {ITEM_COLUMNS} FROM items
             WHERE $1::text IS NULL OR (source, key) > ($1, $2)
             ORDER BY source, key LIMIT $3"
        )))
        .bind(&source)
        .bind(&key)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(io)?;
        let Some(last) = rows.last() else {
            return Ok(Vec::new());
        };
        let (last_source, last_key): (String, String) = (last.get("source"), last.get("key"));
        // The page's jobs in one query, by the `jobs_item` index over the same key range.
        let job_rows = sqlx::query(
            "SELECT id, source, item_key, target, state, attempts, last_error, created, updated,
                    create_sent, kind FROM jobs
             WHERE ($1::text IS NULL OR (source, item_key) > ($1, $2))
               AND (source, item_key) <= ($3, $4)
             ORDER BY source, item_key, id",
        )
        .bind(&source)
        .bind(&key)
        .bind(&last_source)
        .bind(&last_key)
        .fetch_all(&self.pool)
        .await
        .map_err(io)?;
        let mut jobs = job_rows.iter().map(job_from_row).peekable();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let item = item_from_row(row)?;
            let mut mine = Vec::new();
            let of_this_item = |j: &StoreResult<Job>| match j {
                Ok(j) => j.source == item.item.source && j.item == item.item.key,
                // Handed on, so the error is returned.
                Err(_) => true,
            };
            while let Some(job) = jobs.next_if(of_this_item) {
                mine.push(job?);
            }
            out.push((item, mine));
        }
        Ok(out)
    }

    async fn export_links(
        &self,
        after: Option<LinkCursor>,
        limit: usize,
    ) -> StoreResult<Vec<TransferRecord>> {
        let (account, board, link) = match after {
            Some((a, b, l)) => (Some(a), Some(b), Some(l)),
            None => (None, None, None),
        };
        let rows = sqlx::query(
            "SELECT account, board, link, holder FROM links
             WHERE $1::text IS NULL OR (account, board, link) > ($1, $2, $3)
             ORDER BY account, board, link LIMIT $4",
        )
        .bind(account)
        .bind(board)
        .bind(link)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(io)?;
        rows.iter()
            .map(|row| {
                Ok(TransferRecord::Link {
                    account: row.get("account"),
                    board: row.get("board"),
                    link: row.get("link"),
                    holder: decode("link", row.get("holder"))?,
                })
            })
            .collect()
    }

    async fn export_small(&self) -> StoreResult<Vec<TransferRecord>> {
        let boards = sqlx::query(
            "SELECT account, board, (state->>'adopted')::bigint AS adopted FROM board_pace
             WHERE state ? 'adopted' ORDER BY account, board",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(io)?;
        let mut out: Vec<TransferRecord> = boards
            .iter()
            .map(|row| TransferRecord::Board {
                account: row.get("account"),
                board: row.get("board"),
                adopted: row.get("adopted"),
            })
            .collect();
        let sources = sqlx::query("SELECT source, state FROM source_state ORDER BY source")
            .fetch_all(&self.pool)
            .await
            .map_err(io)?;
        for row in &sources {
            out.push(TransferRecord::SourceState {
                source: SourceId::new(row.get::<String, _>("source")),
                state: decode("source state", row.get("state"))?,
            });
        }
        Ok(out)
    }

    async fn import(&self, batch: Vec<TransferRecord>, now: Millis) -> StoreResult<ImportCounts> {
        let mut tx = self.pool.begin().await.map_err(io)?;
        let mut done = ImportCounts::default();
        for record in &batch {
            if import_one(&mut tx, record, now).await? {
                done.written += 1;
            } else {
                done.present += 1;
            }
        }
        tx.commit().await.map_err(io)?;
        Ok(done)
    }
}

/// Write one record if it is absent; whether it was written.
async fn import_one(
    tx: &mut Transaction<'_, Postgres>,
    record: &TransferRecord,
    now: Millis,
) -> StoreResult<bool> {
    let inserted = match record {
        TransferRecord::Item { item, jobs } => return import_item(tx, item, jobs, now).await,
        TransferRecord::Link {
            account,
            board,
            link,
            holder,
        } => sqlx::query(
            "INSERT INTO links (account, board, link, holder) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(account)
        .bind(board)
        .bind(link)
        .bind(json(holder)),
        TransferRecord::Board {
            account,
            board,
            adopted,
        } => {
            let mut pace = lock_pace(tx, account, board).await?;
            if pace.adopted.is_some() {
                return Ok(false);
            }
            pace.adopted = Some(*adopted);
            save_pace(tx, account, board, &pace).await?;
            return Ok(true);
        }
        TransferRecord::SourceState { source, state } => sqlx::query(
            "INSERT INTO source_state (source, state) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(source.as_str().to_string())
        .bind(json(state)),
        // Written by the caller through `ConfigRecords`.
        TransferRecord::Config { .. } | TransferRecord::PinDay { .. } => return Ok(false),
    };
    let done = inserted.execute(&mut **tx).await.map_err(io)?;
    Ok(done.rows_affected() == 1)
}

async fn import_item(
    tx: &mut Transaction<'_, Postgres>,
    stored: &StoredItem,
    jobs: &[Job],
    now: Millis,
) -> StoreResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO items (source, key, item, fingerprint, first_seen, last_seen, changes, disposition, removed, compacted)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
    )
    .bind(stored.item.source.as_str())
    .bind(stored.item.key.as_str())
    .bind(json(&stored.item))
    .bind(&stored.fingerprint.0[..])
    .bind(stored.first_seen)
    .bind(stored.last_seen)
    .bind(i32::try_from(stored.changes).unwrap_or(i32::MAX))
    .bind(json(&stored.disposition))
    .bind(stored.removed.as_ref().map(json))
    .bind(stored.compacted)
    .execute(&mut **tx)
    .await
    .map_err(io)?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    for job in jobs {
        // A job leased in the source store may have sent its create: reconcile it first.
        let job = transitions::recovered(job, now).unwrap_or_else(|| job.clone());
        let token = match job.state {
            JobState::Leased { token, .. } => Some(token.0 as i64),
            _ => None,
        };
        sqlx::query(
            "INSERT INTO jobs (id, source, item_key, target, state, state_name, due, lease_token,
                               attempts, last_error, created, updated, create_sent, kind)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT DO NOTHING",
        )
        .bind(&job.id.0)
        .bind(job.source.as_str())
        .bind(job.item.as_str())
        .bind(json(&job.target))
        .bind(json(&job.state))
        .bind(job.state.name())
        .bind(transitions::due(&job.state))
        .bind(token)
        .bind(i32::try_from(job.attempts).unwrap_or(i32::MAX))
        .bind(&job.last_error)
        .bind(job.created)
        .bind(job.updated)
        .bind(job.create_sent)
        // NULL is a create, as the store writes it.
        .bind((!job.kind.is_create()).then(|| json(&job.kind)))
        .execute(&mut **tx)
        .await
        .map_err(io)?;
    }
    Ok(true)
}
