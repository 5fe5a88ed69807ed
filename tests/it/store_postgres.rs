//! PostgreSQL-only store checks (the shared contract is in store_conformance.rs).

use pinbridge::store::StoreError;
use pinbridge::store::postgres::{PgStore, SCHEMA_VERSION};

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
