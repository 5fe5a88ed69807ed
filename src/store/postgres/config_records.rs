//! Runtime configuration records (live configuration).

use sqlx::{PgPool, Row};

use super::schema::io;
use crate::store::{ConfigRecord, ConfigRecordKind, StoreError, StoreResult};

pub(super) async fn all(pool: &PgPool) -> StoreResult<Vec<ConfigRecord>> {
    let rows = sqlx::query("SELECT kind, id, body FROM config_records")
        .fetch_all(pool)
        .await
        .map_err(io)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let kind: String = row.try_get("kind").map_err(io)?;
        let Some(kind) = ConfigRecordKind::parse(&kind) else {
            return Err(StoreError::Io(format!(
                "config_records holds an unknown kind `{kind}` (written by a newer pinbridge?)"
            )));
        };
        out.push(ConfigRecord {
            kind,
            id: row.try_get("id").map_err(io)?,
            body: row.try_get("body").map_err(io)?,
        });
    }
    // Sorted here, not in SQL: the enum order, not the text order.
    out.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    Ok(out)
}

pub(super) async fn write(
    pool: &PgPool,
    put: &[ConfigRecord],
    delete: &[(ConfigRecordKind, String)],
) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(io)?;
    for (kind, id) in delete {
        sqlx::query("DELETE FROM config_records WHERE kind = $1 AND id = $2")
            .bind(kind.name())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(io)?;
    }
    for record in put {
        sqlx::query(
            "INSERT INTO config_records (kind, id, body) VALUES ($1, $2, $3)
             ON CONFLICT (kind, id) DO UPDATE SET body = EXCLUDED.body",
        )
        .bind(record.kind.name())
        .bind(&record.id)
        .bind(&record.body)
        .execute(&mut *tx)
        .await
        .map_err(io)?;
    }
    tx.commit().await.map_err(io)
}
