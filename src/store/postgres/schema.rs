//! Versioned migrations, applied at start under an advisory lock so replicas starting together
//! apply each one once. A database migrated by a newer pinbridge is refused, not touched.

use sqlx::PgPool;

use crate::store::{StoreError, StoreResult};

/// Each entry is one version; never edit a released one, append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: items (dedup + tombstones), jobs (outbox), per-source/account state, delivery ids.
    r#"
    CREATE TABLE items (
        source      text   NOT NULL,
        key         text   NOT NULL,
        item        jsonb  NOT NULL,
        fingerprint bytea  NOT NULL,
        first_seen  bigint NOT NULL,
        last_seen   bigint NOT NULL,
        changes     int    NOT NULL DEFAULT 0,
        disposition jsonb  NOT NULL,
        PRIMARY KEY (source, key)
    );
    CREATE TABLE jobs (
        id          text   PRIMARY KEY,
        source      text   NOT NULL,
        item_key    text   NOT NULL,
        target      jsonb  NOT NULL,
        state       jsonb  NOT NULL,
        state_name  text   NOT NULL,
        due         bigint,
        lease_token bigint,
        attempts    int    NOT NULL DEFAULT 0,
        last_error  text,
        created     bigint NOT NULL,
        updated     bigint NOT NULL
    );
    CREATE INDEX jobs_due ON jobs (due, id) WHERE due IS NOT NULL;
    CREATE INDEX jobs_item ON jobs (source, item_key);
    CREATE INDEX jobs_state ON jobs (state_name);
    CREATE SEQUENCE lease_tokens;
    CREATE TABLE source_state (source text PRIMARY KEY, state jsonb NOT NULL);
    CREATE TABLE account_state (account text PRIMARY KEY, state jsonb NOT NULL);
    CREATE TABLE deliveries (
        source     text   NOT NULL,
        id         text   NOT NULL,
        keep_until bigint NOT NULL,
        PRIMARY KEY (source, id)
    );
    CREATE INDEX deliveries_keep ON deliveries (keep_until);
    "#,
    // 2 (replicas): who polls each source, and each account's quota shared by every
    // replica (next write slot, rate-limit block, daily count), each updated in one statement.
    r#"
    CREATE TABLE source_leases (
        source text   PRIMARY KEY,
        holder text   NOT NULL,
        token  bigint NOT NULL,
        until  bigint NOT NULL
    );
    CREATE TABLE account_quota (
        account       text   PRIMARY KEY,
        next_slot     bigint NOT NULL DEFAULT 0,
        blocked_until bigint,
        day           bigint,
        day_pins      int    NOT NULL DEFAULT 0
    );
    "#,
    // 3 (live configuration): sources, routes and pause overrides made through the API.
    r#"
    CREATE TABLE config_records (
        kind text NOT NULL,
        id   text NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (kind, id)
    );
    "#,
    // 4 (pacing): per-board spacing record, and the link index (one Pin per link per board).
    r#"
    CREATE TABLE board_pace (
        account text  NOT NULL,
        board   text  NOT NULL,
        state   jsonb NOT NULL,
        PRIMARY KEY (account, board)
    );
    CREATE TABLE links (
        account text  NOT NULL,
        board   text  NOT NULL,
        link    text  NOT NULL,
        holder  jsonb NOT NULL,
        PRIMARY KEY (account, board, link)
    );
    "#,
    // 5: counts maintained on write, so stats cost the same at any size. Triggers keep them in
    // the transaction of every write to `jobs` and `items`, whatever code path makes it. Each
    // count is spread over 8 slots (by backend pid) so concurrent transactions on different
    // connections do not queue on one row; a read sums at most 8 rows per count. The triggers
    // are created before the initial count: creating a trigger locks its table against writes
    // until this migration commits, so no write is missed or counted twice. The partial index
    // lists the newest finished jobs without scanning.
    r#"
    CREATE TABLE counts (
        name text   NOT NULL,
        slot int    NOT NULL,
        n    bigint NOT NULL,
        PRIMARY KEY (name, slot)
    );
    CREATE FUNCTION pinbridge_count(counter text, delta bigint) RETURNS void
    LANGUAGE sql AS $$
        INSERT INTO counts (name, slot, n) VALUES (counter, pg_backend_pid() % 8, delta)
        ON CONFLICT (name, slot) DO UPDATE SET n = counts.n + EXCLUDED.n
    $$;
    CREATE FUNCTION pinbridge_count_jobs() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM pinbridge_count('job:' || OLD.state_name, -1);
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            PERFORM pinbridge_count('job:' || NEW.state_name, 1);
        END IF;
        RETURN NULL;
    END
    $$;
    CREATE FUNCTION pinbridge_count_items() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pinbridge_count('items', CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END);
        RETURN NULL;
    END
    $$;
    CREATE TRIGGER jobs_count_rows AFTER INSERT OR DELETE ON jobs
        FOR EACH ROW EXECUTE FUNCTION pinbridge_count_jobs();
    CREATE TRIGGER jobs_count_states AFTER UPDATE OF state_name ON jobs
        FOR EACH ROW WHEN (OLD.state_name IS DISTINCT FROM NEW.state_name)
        EXECUTE FUNCTION pinbridge_count_jobs();
    CREATE TRIGGER items_count_rows AFTER INSERT OR DELETE ON items
        FOR EACH ROW EXECUTE FUNCTION pinbridge_count_items();
    INSERT INTO counts (name, slot, n)
        SELECT 'job:' || state_name, 0, count(*) FROM jobs GROUP BY state_name;
    INSERT INTO counts (name, slot, n) SELECT 'items', 0, count(*) FROM items;
    CREATE INDEX jobs_finished ON jobs (state_name, updated DESC, id DESC)
        WHERE state_name IN ('done', 'dead');
    "#,
    // 6 (reconcile by time): when each job's latest create was sent, written just before it
    // is sent. A job an older version may have sent (leased or unknown) gets its creation time,
    // the earliest its create can have been sent, so reconcile looks back far enough.
    r#"
    ALTER TABLE jobs ADD COLUMN IF NOT EXISTS create_sent bigint;
    UPDATE jobs SET create_sent = created WHERE state_name IN ('leased', 'unknown');
    "#,
    // 7 (Pins follow their item): what a job does, as `JobKind` JSON; NULL is a create, so
    // every job written before is one. An item removed at its source keeps a `RemovedMark`.
    r#"
    ALTER TABLE jobs ADD COLUMN IF NOT EXISTS kind jsonb;
    ALTER TABLE items ADD COLUMN IF NOT EXISTS removed jsonb;
    "#,
    // 8 (Pin analytics): one row per Pin and UTC day (keyed day first, so a period is an
    // index range), the Pins the collector watches with its progress, and the per-account
    // lease that lets one replica collect an account at a time. Re-runnable (`IF NOT EXISTS`),
    // like 6 and 7: a database brought back to an older version number applies it again.
    r#"
    CREATE TABLE IF NOT EXISTS pin_days (
        day     bigint NOT NULL,
        pin_id  text   NOT NULL,
        account text   NOT NULL,
        body    jsonb  NOT NULL,
        PRIMARY KEY (day, pin_id)
    );
    CREATE TABLE IF NOT EXISTS pin_watches (
        account text  NOT NULL,
        pin_id  text  NOT NULL,
        body    jsonb NOT NULL,
        PRIMARY KEY (account, pin_id)
    );
    CREATE TABLE IF NOT EXISTS analytics_leases (
        account text   PRIMARY KEY,
        holder  text   NOT NULL,
        token   bigint NOT NULL,
        until   bigint NOT NULL
    );
    "#,
];

/// The newest schema this build knows.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Bring the database to [`SCHEMA_VERSION`], or refuse a newer one.
pub async fn migrate(pool: &PgPool) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(io)?;
    // One migrator at a time across replicas; released at commit.
    sqlx::query("SELECT pg_advisory_xact_lock(7046920)")
        .execute(&mut *tx)
        .await
        .map_err(io)?;
    sqlx::query("CREATE TABLE IF NOT EXISTS pinbridge_schema (version int NOT NULL)")
        .execute(&mut *tx)
        .await
        .map_err(io)?;
    let current: Option<i32> = sqlx::query_scalar("SELECT max(version) FROM pinbridge_schema")
        .fetch_one(&mut *tx)
        .await
        .map_err(io)?;
    let current = current.unwrap_or(0) as u32;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(io)?;
        sqlx::query("INSERT INTO pinbridge_schema (version) VALUES ($1)")
            .bind(i as i32 + 1)
            .execute(&mut *tx)
            .await
            .map_err(io)?;
    }
    tx.commit().await.map_err(io)?;
    Ok(())
}

pub(crate) fn io(e: sqlx::Error) -> StoreError {
    StoreError::Io(format!("postgres: {e}"))
}
