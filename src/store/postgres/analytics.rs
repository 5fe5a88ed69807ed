//! [`Analytics`] on PostgreSQL: `pin_days` (keyed by day then Pin id, so a period is an index
//! range and an upsert is `ON CONFLICT DO UPDATE`), `pin_watches` (the collector's Pins and
//! progress) and `analytics_leases` (one collector per account across replicas, decided by one
//! statement on one row, like the source leases).

use async_trait::async_trait;
use sqlx::{PgPool, Postgres, Row, Transaction};

use super::{PgStore, io, json};
use crate::store::{
    Analytics, LeaseToken, Millis, PinDay, PinDayCursor, PinWatch, StoreError, StoreResult,
};

fn decode<T: serde::de::DeserializeOwned>(row: &sqlx::postgres::PgRow) -> StoreResult<T> {
    serde_json::from_value(row.get("body")).map_err(|e| {
        StoreError::Io(format!(
            "postgres: an analytics record does not decode: {e}"
        ))
    })
}

async fn upsert_rows(tx: &mut Transaction<'_, Postgres>, rows: &[PinDay]) -> StoreResult<()> {
    for row in rows {
        sqlx::query(
            "INSERT INTO pin_days (day, pin_id, account, body) VALUES ($1, $2, $3, $4)
             ON CONFLICT (day, pin_id) DO UPDATE SET account = EXCLUDED.account, body = EXCLUDED.body",
        )
        .bind(row.day)
        .bind(&row.pin_id)
        .bind(&row.account)
        .bind(json(row))
        .execute(&mut **tx)
        .await
        .map_err(io)?;
    }
    Ok(())
}

async fn put_watches(tx: &mut Transaction<'_, Postgres>, watches: &[PinWatch]) -> StoreResult<()> {
    for watch in watches {
        sqlx::query(
            "INSERT INTO pin_watches (account, pin_id, body) VALUES ($1, $2, $3)
             ON CONFLICT (account, pin_id) DO UPDATE SET body = EXCLUDED.body",
        )
        .bind(&watch.account)
        .bind(&watch.pin_id)
        .bind(json(watch))
        .execute(&mut **tx)
        .await
        .map_err(io)?;
    }
    Ok(())
}

async fn record(pool: &PgPool, rows: &[PinDay], watches: &[PinWatch]) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(io)?;
    upsert_rows(&mut tx, rows).await?;
    put_watches(&mut tx, watches).await?;
    tx.commit().await.map_err(io)
}

#[async_trait]
impl Analytics for PgStore {
    async fn record_pin_days(&self, rows: &[PinDay]) -> StoreResult<()> {
        record(self.pool(), rows, &[]).await
    }

    async fn pin_days(&self, from_day: i64, to_day: i64) -> StoreResult<Vec<PinDay>> {
        let rows = sqlx::query("SELECT body FROM pin_days WHERE day BETWEEN $1 AND $2")
            .bind(from_day)
            .bind(to_day)
            .fetch_all(self.pool())
            .await
            .map_err(io)?;
        rows.iter().map(decode).collect()
    }

    async fn watch_pins(&self, pins: &[PinWatch]) -> StoreResult<usize> {
        let mut tx = self.pool().begin().await.map_err(io)?;
        let mut added = 0;
        for watch in pins {
            let done = sqlx::query(
                "INSERT INTO pin_watches (account, pin_id, body) VALUES ($1, $2, $3)
                 ON CONFLICT (account, pin_id) DO NOTHING",
            )
            .bind(&watch.account)
            .bind(&watch.pin_id)
            .bind(json(watch))
            .execute(&mut *tx)
            .await
            .map_err(io)?;
            added += done.rows_affected() as usize;
        }
        tx.commit().await.map_err(io)?;
        Ok(added)
    }

    async fn pin_watches(&self, account: &str) -> StoreResult<Vec<PinWatch>> {
        let rows = sqlx::query("SELECT body FROM pin_watches WHERE account = $1")
            .bind(account)
            .fetch_all(self.pool())
            .await
            .map_err(io)?;
        rows.iter().map(decode).collect()
    }

    async fn record_collection(&self, rows: &[PinDay], watches: &[PinWatch]) -> StoreResult<()> {
        record(self.pool(), rows, watches).await
    }

    async fn try_lease_analytics(
        &self,
        account: &str,
        holder: &str,
        until: Millis,
        now: Millis,
    ) -> StoreResult<Option<LeaseToken>> {
        // As `coord::try_lease_source`: granted when free, run out, or the holder's own (then
        // the token stays).
        let token: Option<i64> = sqlx::query_scalar(
            "INSERT INTO analytics_leases (account, holder, token, until)
             VALUES ($1, $2, nextval('lease_tokens'), $3)
             ON CONFLICT (account) DO UPDATE SET
                 token = CASE WHEN analytics_leases.holder = EXCLUDED.holder
                                   AND analytics_leases.until > $4
                              THEN analytics_leases.token ELSE EXCLUDED.token END,
                 holder = EXCLUDED.holder,
                 until = EXCLUDED.until
             WHERE analytics_leases.until <= $4 OR analytics_leases.holder = EXCLUDED.holder
             RETURNING token",
        )
        .bind(account)
        .bind(holder)
        .bind(until)
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(io)?;
        Ok(token.map(|t| LeaseToken(t as u64)))
    }

    async fn release_analytics(&self, account: &str, token: LeaseToken) -> StoreResult<()> {
        sqlx::query("DELETE FROM analytics_leases WHERE account = $1 AND token = $2")
            .bind(account)
            .bind(token.0 as i64)
            .execute(self.pool())
            .await
            .map_err(io)?;
        Ok(())
    }

    async fn export_pin_days(
        &self,
        after: Option<PinDayCursor>,
        limit: usize,
    ) -> StoreResult<Vec<PinDay>> {
        let (day, pin_id) = after.unwrap_or((i64::MIN, String::new()));
        // `after` None must include a row (i64::MIN, ""): no Pin id is empty, so `>` is right.
        let rows = sqlx::query(
            "SELECT body FROM pin_days WHERE (day, pin_id) > ($1, $2)
             ORDER BY day, pin_id LIMIT $3",
        )
        .bind(day)
        .bind(pin_id)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.pool())
        .await
        .map_err(io)?;
        rows.iter().map(decode).collect()
    }
}
