//! Two replicas on one PostgreSQL store (sled when `PINBRIDGE_TEST_POSTGRES_URL` is not set,
//! as the conformance suite does): each account's analytics are collected by one of them at a
//! time, so no Pin is fetched twice.

use std::collections::BTreeMap;
use std::sync::Arc;

use pinbridge::pinterest::sandbox::SandboxConfig;
use pinbridge::store::Store;

use crate::analytics_collect::{days_by_pin, final_days, rows, until, world};
use crate::store_conformance::open_postgres;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_collect_an_account_once() {
    let w = world(SandboxConfig {
        batch_analytics: false,
        analytics_quota_per_minute: None,
        ..SandboxConfig::default()
    })
    .await;
    w.sandbox.start_recording();
    let backend = open_postgres().await;
    let store: Arc<dyn Store> = backend.store.clone();
    let mut pins = BTreeMap::new();
    for (n, age) in [1, 2, 3, 4, 5, 6].iter().enumerate() {
        let pin = w.made_pin(store.as_ref(), &format!("item-{n}"), *age).await;
        pins.insert(pin, *age);
    }
    // Both replicas start together, each with its own store handle on the same database.
    let second: Arc<dyn Store> = match &backend.pg_pool {
        Some(pool) => Arc::new(
            pinbridge::store::postgres::PgStore::with_pool(pool.clone())
                .await
                .unwrap(),
        ),
        None => store.clone(),
    };
    let config = "per_minute = 30\ninterval = \"1h\"";
    let (a, b) = tokio::join!(
        w.start_app(store.clone(), config),
        w.start_app(second.clone(), config)
    );
    until("every Pin collected", || async {
        days_by_pin(&rows(store.as_ref()).await).len() == pins.len()
    })
    .await;
    let by_pin = days_by_pin(&rows(store.as_ref()).await);
    for (pin, age) in &pins {
        assert_eq!(by_pin[pin], final_days(*age));
    }
    a.stop().await;
    b.stop().await;
    let calls = w.analytics_calls(&w.sandbox.take_recording());
    let mut per_pin: BTreeMap<String, usize> = BTreeMap::new();
    for call in calls.iter().filter(|c| c.status == 200) {
        *per_pin
            .entry(call.uri.split('/').nth(3).unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(per_pin.len(), pins.len());
    assert!(
        per_pin.values().all(|n| *n == 1),
        "one replica fetched each Pin: {per_pin:?}"
    );
}
