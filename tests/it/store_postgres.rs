//! PostgreSQL-only store checks (the shared contract is in store_conformance.rs).

use pinbridge::store::StoreError;
use pinbridge::store::postgres::{PgStore, SCHEMA_VERSION};
use pinbridge::store::prelude::*;

use crate::store_conformance::open_postgres;

#[tokio::test(flavor = "multi_thread")]
async fn a_database_migrated_by_a_newer_pinbridge_is_refused() {
    if std::env::var("PINBRIDGE_TEST_POSTGRES_URL").is_err() && std::env::var("CI").is_err() {
        eprintln!("SKIPPED: PINBRIDGE_TEST_POSTGRES_URL not set (run tests/postgres/setup.sh)");
        return;
    }
    let backend = open_postgres().await;
    let store = backend.store.clone();
    // Reach the pool through a second store on the same schema: migrate again is a no-op.
    let pg = store_pool(&backend).await;
    let again = PgStore::with_pool(pg.clone()).await;
    assert!(again.is_ok(), "migrating an up-to-date schema is a no-op");
    sqlx::query("INSERT INTO pinbridge_schema (version) VALUES ($1)")
        .bind(SCHEMA_VERSION as i32 + 1)
        .execute(&pg)
        .await
        .unwrap();
    match PgStore::with_pool(pg).await {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        Err(other) => panic!("expected SchemaTooNew, got {other}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
    store.close().await.unwrap();
}

async fn store_pool(backend: &crate::store_conformance::Backend) -> sqlx::PgPool {
    backend
        .pg_pool
        .clone()
        .expect("a PostgreSQL backend has a pool")
}

/// A database written before the counts existed (schema 4) gets them initialised from its rows
/// by the migration, and kept from then on.
#[tokio::test(flavor = "multi_thread")]
async fn counts_are_initialised_from_rows_written_before_them() {
    use pinbridge::item::{DedupKey, Item, SourceId};

    if std::env::var("PINBRIDGE_TEST_POSTGRES_URL").is_err() && std::env::var("CI").is_err() {
        eprintln!("SKIPPED: PINBRIDGE_TEST_POSTGRES_URL not set (run tests/postgres/setup.sh)");
        return;
    }
    let backend = open_postgres().await;
    let pg = store_pool(&backend).await;
    // Back to schema 4: no counts table, no triggers, no finished index (the `create_sent`
    // column of migration 6 stays; that migration adds it only if it is missing).
    sqlx::raw_sql(
        "DROP TABLE counts; DROP TRIGGER jobs_count_rows ON jobs;
         DROP TRIGGER jobs_count_states ON jobs; DROP TRIGGER items_count_rows ON items;
         DROP FUNCTION pinbridge_count_jobs(); DROP FUNCTION pinbridge_count_items();
         DROP FUNCTION pinbridge_count(text, bigint); DROP INDEX jobs_finished;
         DELETE FROM pinbridge_schema WHERE version >= 5;",
    )
    .execute(&pg)
    .await
    .expect("downgrade to schema 4");
    let old = backend.store.clone();
    let plan = crate::support::plans::plan();
    for key in ["1", "2", "3"] {
        let item = Item::new(SourceId::new("blog"), DedupKey::new("guid", key));
        old.ingest(&item, plan.clone(), 1_000).await.unwrap();
    }
    let lease = old.claim(1, 60_000, 1_000).await.unwrap().remove(0);
    old.complete(&lease, "pin-1", 2_000).await.unwrap();

    let store = PgStore::with_pool(pg.clone())
        .await
        .expect("migrate to the newest schema");
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.items, 3);
    assert_eq!(stats.jobs_by_state["pending"], 2);
    assert_eq!(stats.jobs_by_state["done"], 1);
    let lease = store.claim(1, 60_000, 3_000).await.unwrap().remove(0);
    store.dead(&lease, "400", 3_001).await.unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.jobs_by_state["pending"], 1);
    assert_eq!(stats.jobs_by_state["dead"], 1);
    assert_eq!(store.recent_jobs("done", 5).await.unwrap().len(), 1);
    old.close().await.unwrap();
}
