//! Pacing in SQL: board slots and the link index, each decided under a row lock
//! (`SELECT … FOR UPDATE`) with the rules of `store::pacing`, and `complete_pin` (the fenced job
//! write, the link entry and the board's last Pin) in one transaction.

use sqlx::{PgPool, Postgres, Transaction};

use super::io;
use super::jobs::{self, job_from_row};
use super::json;
use crate::store::pacing::{self, BoardPace};
// Named, not `*`: a glob would also pull in `store::open`, which opens this backend.
use crate::store::{
    AccountState, AccountUpdate, BoardSlot, Lease, LeaseOutcome, LinkClaim, LinkHolder, Millis,
    PinRecord, StoreError, StoreResult, Target, transitions,
};

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    v: serde_json::Value,
) -> StoreResult<T> {
    serde_json::from_value(v)
        .map_err(|e| StoreError::Io(format!("postgres: a {what} record does not decode: {e}")))
}

/// The board's pacing record, locked for this transaction (created empty if absent).
pub(super) async fn lock_pace(
    tx: &mut Transaction<'_, Postgres>,
    account: &str,
    board: &str,
) -> StoreResult<BoardPace> {
    sqlx::query(
        "INSERT INTO board_pace (account, board, state) VALUES ($1, $2, '{}')
         ON CONFLICT (account, board) DO NOTHING",
    )
    .bind(account)
    .bind(board)
    .execute(&mut **tx)
    .await
    .map_err(io)?;
    let state: serde_json::Value = sqlx::query_scalar(
        "SELECT state FROM board_pace WHERE account = $1 AND board = $2 FOR UPDATE",
    )
    .bind(account)
    .bind(board)
    .fetch_one(&mut **tx)
    .await
    .map_err(io)?;
    decode("board pace", state)
}

pub(super) async fn save_pace(
    tx: &mut Transaction<'_, Postgres>,
    account: &str,
    board: &str,
    pace: &BoardPace,
) -> StoreResult<()> {
    sqlx::query("UPDATE board_pace SET state = $3 WHERE account = $1 AND board = $2")
        .bind(account)
        .bind(board)
        .bind(json(pace))
        .execute(&mut **tx)
        .await
        .map_err(io)?;
    Ok(())
}

pub(super) async fn reserve_board_slot(
    pool: &PgPool,
    lease: &Lease,
    spacing_ms: i64,
    now: Millis,
) -> StoreResult<BoardSlot> {
    let target = &lease.job.target;
    let mut tx = pool.begin().await.map_err(io)?;
    let mut pace = lock_pace(&mut tx, &target.account, &target.board).await?;
    let slot = pace.reserve(&lease.job.id, spacing_ms, now);
    save_pace(&mut tx, &target.account, &target.board, &pace).await?;
    tx.commit().await.map_err(io)?;
    Ok(slot)
}

pub(super) async fn board_last_pin(
    pool: &PgPool,
    account: &str,
    board: &str,
) -> StoreResult<Option<Millis>> {
    let state: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT state FROM board_pace WHERE account = $1 AND board = $2")
            .bind(account)
            .bind(board)
            .fetch_optional(pool)
            .await
            .map_err(io)?;
    match state {
        None => Ok(None),
        Some(v) => Ok(decode::<BoardPace>("board pace", v)?.last_pin),
    }
}

async fn upsert_link(
    tx: &mut Transaction<'_, Postgres>,
    target: &Target,
    link: &str,
    holder: &LinkHolder,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO links (account, board, link, holder) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account, board, link) DO UPDATE SET holder = EXCLUDED.holder",
    )
    .bind(&target.account)
    .bind(&target.board)
    .bind(link)
    .bind(json(holder))
    .execute(&mut **tx)
    .await
    .map_err(io)?;
    Ok(())
}

async fn lock_link(
    tx: &mut Transaction<'_, Postgres>,
    target: &Target,
    link: &str,
) -> StoreResult<Option<LinkHolder>> {
    let holder: Option<serde_json::Value> = sqlx::query_scalar(
        "SELECT holder FROM links WHERE account = $1 AND board = $2 AND link = $3 FOR UPDATE",
    )
    .bind(&target.account)
    .bind(&target.board)
    .bind(link)
    .fetch_optional(&mut **tx)
    .await
    .map_err(io)?;
    holder.map(|v| decode("link", v)).transpose()
}

pub(super) async fn claim_link(
    pool: &PgPool,
    lease: &Lease,
    link: &str,
    now: Millis,
) -> StoreResult<LinkClaim> {
    let target = &lease.job.target;
    let mut tx = pool.begin().await.map_err(io)?;
    // Insert-if-absent first, so two claimers of a new link cannot both see "no holder".
    let mine = pacing::LinkHolder::of(&lease.job, None, now);
    let inserted = sqlx::query(
        "INSERT INTO links (account, board, link, holder) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account, board, link) DO NOTHING",
    )
    .bind(&target.account)
    .bind(&target.board)
    .bind(link)
    .bind(json(&mine))
    .execute(&mut *tx)
    .await
    .map_err(io)?;
    if inserted.rows_affected() == 1 {
        tx.commit().await.map_err(io)?;
        return Ok(LinkClaim::Mine);
    }
    let current = lock_link(&mut tx, target, link).await?;
    let holder_state = match &current {
        Some(h) if h.job != lease.job.id => sqlx::query(
            "SELECT j.id, j.source, j.item_key, j.target, j.state, j.attempts, j.last_error,
                    j.created, j.updated, j.create_sent, j.kind FROM jobs j WHERE j.id = $1",
        )
        .bind(&h.job.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(io)?
        .as_ref()
        .map(job_from_row)
        .transpose()?
        .map(|j| j.state),
        _ => None,
    };
    let (claim, write) = pacing::decide_link(current, holder_state.as_ref(), &lease.job, now);
    if let Some(holder) = write {
        upsert_link(&mut tx, target, link, &holder).await?;
    }
    tx.commit().await.map_err(io)?;
    Ok(claim)
}

pub(super) async fn link_holder(
    pool: &PgPool,
    account: &str,
    board: &str,
    link: &str,
) -> StoreResult<Option<LinkHolder>> {
    let holder: Option<serde_json::Value> = sqlx::query_scalar(
        "SELECT holder FROM links WHERE account = $1 AND board = $2 AND link = $3",
    )
    .bind(account)
    .bind(board)
    .bind(link)
    .fetch_optional(pool)
    .await
    .map_err(io)?;
    holder.map(|v| decode("link", v)).transpose()
}

pub(super) async fn complete_pin(
    pool: &PgPool,
    lease: &Lease,
    pin_id: &str,
    record: PinRecord<'_>,
    now: Millis,
) -> StoreResult<LeaseOutcome> {
    let target = &lease.job.target;
    let mut tx = pool.begin().await.map_err(io)?;
    let outcome = jobs::lease_write_in(&mut tx, lease, |job| {
        transitions::complete(job, lease, pin_id, record.note, now)
    })
    .await?;
    if outcome == LeaseOutcome::LeaseLost {
        tx.rollback().await.map_err(io)?;
        return Ok(outcome);
    }
    if record.note.is_none() {
        if let Some(link) = record.link {
            let current = lock_link(&mut tx, target, link).await?;
            if let Some(holder) =
                pacing::holder_after_pin(current.as_ref(), &lease.job, pin_id, now)
            {
                upsert_link(&mut tx, target, link, &holder).await?;
            }
        }
        let mut pace = lock_pace(&mut tx, &target.account, &target.board).await?;
        pace.pinned(now);
        save_pace(&mut tx, &target.account, &target.board, &pace).await?;
    }
    tx.commit().await.map_err(io)?;
    Ok(LeaseOutcome::Applied)
}

/// Read-modify-write of one account record under its row lock.
pub(super) async fn update_account(
    pool: &PgPool,
    account: &str,
    update: &AccountUpdate,
) -> StoreResult<AccountState> {
    let mut tx = pool.begin().await.map_err(io)?;
    sqlx::query(
        "INSERT INTO account_state (account, state) VALUES ($1, '{}')
         ON CONFLICT (account) DO NOTHING",
    )
    .bind(account)
    .execute(&mut *tx)
    .await
    .map_err(io)?;
    let value: serde_json::Value =
        sqlx::query_scalar("SELECT state FROM account_state WHERE account = $1 FOR UPDATE")
            .bind(account)
            .fetch_one(&mut *tx)
            .await
            .map_err(io)?;
    let mut state: AccountState = decode("account state", value)?;
    update(&mut state);
    sqlx::query("UPDATE account_state SET state = $2 WHERE account = $1")
        .bind(account)
        .bind(json(&state))
        .execute(&mut *tx)
        .await
        .map_err(io)?;
    tx.commit().await.map_err(io)?;
    Ok(state)
}
