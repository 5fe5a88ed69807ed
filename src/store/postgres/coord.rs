//! Replica coordination: source leases and each account's shared quota. Every
//! decision is one statement on one row (`INSERT … ON CONFLICT DO UPDATE … WHERE`), so two
//! replicas racing for the same lease or slot are ordered by the row lock, never both granted.

use sqlx::{PgPool, Row};

use super::io;
use crate::item::SourceId;
use crate::store::{
    AccountQuota, LeaseToken, Millis, StoreResult, write_slot_spacing as slot_spacing,
};

pub(super) async fn try_lease_source(
    pool: &PgPool,
    source: &SourceId,
    holder: &str,
    until: Millis,
    now: Millis,
) -> StoreResult<Option<LeaseToken>> {
    // Granted when there is no lease, it ran out, or it is the holder's own (then the token
    // stays: an extension, not a new lease).
    let token: Option<i64> = sqlx::query_scalar(
        "INSERT INTO source_leases (source, holder, token, until)
         VALUES ($1, $2, nextval('lease_tokens'), $3)
         ON CONFLICT (source) DO UPDATE SET
             token = CASE WHEN source_leases.holder = EXCLUDED.holder AND source_leases.until > $4
                          THEN source_leases.token ELSE EXCLUDED.token END,
             holder = EXCLUDED.holder,
             until = EXCLUDED.until
         WHERE source_leases.until <= $4 OR source_leases.holder = EXCLUDED.holder
         RETURNING token",
    )
    .bind(source.as_str())
    .bind(holder)
    .bind(until)
    .bind(now)
    .fetch_optional(pool)
    .await
    .map_err(io)?;
    Ok(token.map(|t| LeaseToken(t as u64)))
}

pub(super) async fn release_source(
    pool: &PgPool,
    source: &SourceId,
    token: LeaseToken,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM source_leases WHERE source = $1 AND token = $2")
        .bind(source.as_str())
        .bind(token.0 as i64)
        .execute(pool)
        .await
        .map_err(io)?;
    Ok(())
}

/// GCRA on the account's row: the slot is taken when the next free slot is within the burst
/// tolerance of `now`, and the next slot moves one interval on.
pub(super) async fn take_write_slot(
    pool: &PgPool,
    account: &str,
    per_minute: f64,
    burst: u32,
    now: Millis,
) -> StoreResult<Result<(), Millis>> {
    let (interval, tolerance) = slot_spacing(per_minute, burst);
    let taken: Option<i64> = sqlx::query_scalar(
        "INSERT INTO account_quota (account, next_slot) VALUES ($1, $2 + $3)
         ON CONFLICT (account) DO UPDATE
             SET next_slot = GREATEST(account_quota.next_slot, $2) + $3
             WHERE GREATEST(account_quota.next_slot, $2) <= $2 + $4
         RETURNING next_slot",
    )
    .bind(account)
    .bind(now)
    .bind(interval)
    .bind(tolerance)
    .fetch_optional(pool)
    .await
    .map_err(io)?;
    if taken.is_some() {
        return Ok(Ok(()));
    }
    let next: Option<i64> =
        sqlx::query_scalar("SELECT next_slot FROM account_quota WHERE account = $1")
            .bind(account)
            .fetch_optional(pool)
            .await
            .map_err(io)?;
    // Another replica may have moved it meanwhile; never say "wait until the past".
    Ok(Err(next.map_or(now, |n| (n - tolerance).max(now))))
}

pub(super) async fn reserve_daily_pin(
    pool: &PgPool,
    account: &str,
    day: i64,
    cap: u32,
) -> StoreResult<Option<u32>> {
    if cap == 0 {
        return Ok(None);
    }
    let sent: Option<i32> = sqlx::query_scalar(
        "INSERT INTO account_quota (account, day, day_pins) VALUES ($1, $2, 1)
         ON CONFLICT (account) DO UPDATE SET
             day_pins = CASE WHEN account_quota.day = $2 THEN account_quota.day_pins + 1 ELSE 1 END,
             day = $2
         WHERE account_quota.day IS DISTINCT FROM $2 OR account_quota.day_pins < $3
         RETURNING day_pins",
    )
    .bind(account)
    .bind(day)
    .bind(i64::from(cap))
    .fetch_optional(pool)
    .await
    .map_err(io)?;
    Ok(sent.map(|n| n.max(0) as u32))
}

pub(super) async fn block_account(pool: &PgPool, account: &str, until: Millis) -> StoreResult<()> {
    // GREATEST ignores a NULL: the first block sets it.
    sqlx::query(
        "INSERT INTO account_quota (account, blocked_until) VALUES ($1, $2)
         ON CONFLICT (account) DO UPDATE
             SET blocked_until = GREATEST(account_quota.blocked_until, $2)",
    )
    .bind(account)
    .bind(until)
    .execute(pool)
    .await
    .map_err(io)?;
    Ok(())
}

pub(super) async fn account_quota(pool: &PgPool, account: &str) -> StoreResult<AccountQuota> {
    let row =
        sqlx::query("SELECT blocked_until, day, day_pins FROM account_quota WHERE account = $1")
            .bind(account)
            .fetch_optional(pool)
            .await
            .map_err(io)?;
    Ok(row.map_or_else(AccountQuota::default, |r| AccountQuota {
        blocked_until: r.get("blocked_until"),
        day: r.get("day"),
        day_pins: r.get::<i32, _>("day_pins").max(0) as u32,
    }))
}
