//! A failed fsync poisons the embedded store (on each engine): the writes it covered and every later write fail,
//! readiness says why, and a webhook is answered 503 (never 2xx) until the process restarts.
//! The disk error is injected through the store's sync hook (the real sled store on disk).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pinbridge::clock::SharedClock;
use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{Engine, SledOptions, SledStore, SyncHook};
use pinbridge::store::{Ingested, SourceState, StoreError};
use serde_json::Value;

use crate::support::webhook::{Harness, serve, shopify_settings, vector};

use crate::support::plans::plan;

/// Store options whose fsync fails with EIO while the returned switch is on.
fn failing_disk() -> (SledOptions, Arc<AtomicBool>) {
    let failing = Arc::new(AtomicBool::new(false));
    let switch = failing.clone();
    let hook = SyncHook(Arc::new(move || {
        if switch.load(Ordering::SeqCst) {
            Err(std::io::Error::from_raw_os_error(5))
        } else {
            Ok(())
        }
    }));
    let opts = SledOptions {
        sync_hook: Some(hook),
        ..SledOptions::default()
    };
    (opts, failing)
}

fn item(n: u32) -> Item {
    let mut item = Item::new(SourceId::new("blog"), DedupKey::new("guid", &n.to_string()));
    item.title = format!("Post {n}");
    item.image_url = Some(format!("https://example.com/{n}.jpg"));
    item
}

fn assert_poisoned<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(e @ StoreError::Poisoned(_)) => {
            let text = e.to_string();
            assert!(text.contains("restart"), "{what}: {text}");
            assert!(text.contains("fsync"), "{what}: {text}");
        }
        other => panic!("{what}: expected a poisoned store, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fsync_fails_its_writers_and_every_later_write_until_restart() {
    failed_fsync_poisons_until_restart(Engine::Sled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fsync_poisons_the_fjall_engine_too() {
    failed_fsync_poisons_until_restart(Engine::Fjall).await;
}

async fn failed_fsync_poisons_until_restart(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let (opts, failing) = failing_disk();
    let opts = SledOptions { engine, ..opts };
    let store = Arc::new(
        SledStore::open_async(path.clone(), opts, None)
            .await
            .unwrap(),
    );
    let first = store.ingest(&item(1), plan(), 1).await.unwrap();
    assert_eq!(first, Ingested::New { jobs: 1 });
    assert_eq!(store.write_failure(), None);

    // Concurrent writers covered by the failing flush: none of them is acknowledged.
    failing.store(true, Ordering::SeqCst);
    let writers: Vec<_> = (2..10)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.ingest(&item(n), plan(), 2).await })
        })
        .collect();
    for writer in writers {
        assert_poisoned(writer.await.unwrap(), "a write covered by the failed fsync");
    }

    // The disk "recovers": a later fsync would succeed, but proves nothing about the lost
    // writes, so every write stays refused. Reads still answer.
    failing.store(false, Ordering::SeqCst);
    let reason = store
        .write_failure()
        .expect("the store reports its failure");
    assert!(reason.contains("os error 5"), "{reason}");
    assert!(reason.contains("restart"), "{reason}");
    assert_poisoned(store.ingest(&item(20), plan(), 3).await, "a later ingest");
    let batch = vec![(item(21), plan())];
    assert_poisoned(store.ingest_many(batch, 3).await, "a later ingest_many");
    let state = SourceState::default();
    let set = store.set_source_state(&SourceId::new("blog"), &state).await;
    assert_poisoned(set, "a later state write");
    assert_poisoned(store.claim(10, 60_000, 4).await, "a claim");
    let kept = store.item(&SourceId::new("blog"), &item(1).key).await;
    assert!(kept.unwrap().is_some(), "reads still work");
    store.close().await.unwrap();
    drop(store);

    // A restart recovers from what reached the disk and takes writes again.
    let reopened = SledStore::open_async(path, SledOptions::default(), None)
        .await
        .unwrap();
    assert_eq!(reopened.engine(), engine);
    assert_eq!(reopened.write_failure(), None);
    let again = reopened.ingest(&item(30), plan(), 5).await.unwrap();
    assert_eq!(again, Ingested::New { jobs: 1 });
    let first = reopened.item(&SourceId::new("blog"), &item(1).key).await;
    assert!(first.unwrap().is_some(), "the acknowledged write survived");
}

async fn readyz(base: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{base}/readyz")).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_while_the_store_is_poisoned_gets_503_and_readiness_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (opts, failing) = failing_disk();
    let sled = SledStore::open_async(dir.path().join("store"), opts, None)
        .await
        .unwrap();
    let v = vector("shopify-products-update");
    let sources = vec![("shop", shopify_settings(&v.secret))];
    let h = Harness::start_over(Arc::new(sled), Some(dir), sources, v.now_ms, |s| s).await;
    let clock: SharedClock = Arc::new(h.clock.clone());
    let mut state = pinbridge::http::HttpState::new(h.store.clone(), clock);
    state.accounts = Arc::new(vec!["main".to_string()]);
    // Readiness details (the reasons) are shown without a token on the admin listener.
    state.listener = pinbridge::http::Listener::Admin;
    let (base, _stop) = serve(pinbridge::http::router(state, axum::Router::new())).await;
    assert_eq!(readyz(&base).await.0, 200);

    // The fsync covering this delivery fails: the sender must retry, not be told "done".
    failing.store(true, Ordering::SeqCst);
    let reply = h.post("shop", &v.headers, v.body.clone()).await;
    assert_eq!(reply.status, 503, "{}", reply.text);

    // Later deliveries, even once the disk looks fine again: 503, never 2xx.
    failing.store(false, Ordering::SeqCst);
    let retry = h.post("shop", &v.headers, v.body.clone()).await;
    assert_eq!(retry.status, 503, "{}", retry.text);

    let (status, body) = readyz(&base).await;
    assert_eq!(status, 503, "{body}");
    let reasons = body["reasons"].as_array().unwrap();
    let said = reasons.iter().filter_map(Value::as_str).any(|r| {
        r.contains("store refuses writes") && r.contains("fsync") && r.contains("restart")
    });
    assert!(said, "{body}");
}
