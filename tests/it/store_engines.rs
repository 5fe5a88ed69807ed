//! The embedded store's two engines: a directory is always read with the engine that wrote it,
//! whatever `[store] engine` says now, and a store in use is refused with the reason.

use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{Engine, SledOptions, SledStore};
use pinbridge::store::{Ingested, StoreError};

use crate::support::plans::plan;

fn options(engine: Engine) -> SledOptions {
    SledOptions {
        engine,
        ..SledOptions::default()
    }
}

fn item(n: u32) -> Item {
    let mut item = Item::new(SourceId::new("shop"), DedupKey::new("guid", &n.to_string()));
    item.title = format!("Product {n}");
    item.image_url = Some(format!("https://example.com/{n}.jpg"));
    item
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_store_opens_with_its_own_engine_whatever_the_config_says() {
    for (written, asked) in [(Engine::Sled, Engine::Fjall), (Engine::Fjall, Engine::Sled)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let store = SledStore::open_async(path.clone(), options(written), None)
            .await
            .unwrap();
        for n in 0..50 {
            let outcome = store.ingest(&item(n), plan(), 1).await.unwrap();
            assert_eq!(outcome, Ingested::New { jobs: 1 });
        }
        store.close().await.unwrap();
        drop(store);

        let reopened = SledStore::open_async(path.clone(), options(asked), None)
            .await
            .unwrap();
        assert_eq!(
            reopened.engine(),
            written,
            "{written:?} store asked as {asked:?}"
        );
        for n in 0..50 {
            // Seen before: never a second Pin, whichever engine the config names.
            let outcome = reopened.ingest(&item(n), plan(), 2).await.unwrap();
            assert_eq!(outcome, Ingested::Duplicate, "{written:?} item {n}");
        }
        assert_eq!(reopened.stats().await.unwrap().items, 50);
        reopened.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fjall_store_in_use_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let first = SledStore::open_async(path.clone(), options(Engine::Fjall), None)
        .await
        .unwrap();
    let second = SledStore::open_async(path.clone(), options(Engine::Fjall), None).await;
    match second {
        Err(e @ StoreError::Open { .. }) => {
            let text = e.to_string();
            assert!(text.contains("another pinbridge process"), "{text}");
            assert!(text.contains(&path.display().to_string()), "{text}");
        }
        Err(other) => panic!("expected an open error, got {other}"),
        Ok(_) => panic!("a second open of a store in use must fail"),
    }
    first.close().await.unwrap();
}
