//! Reload without restart: a valid file is put in force in place (sources start and stop,
//! webhook secrets rotate, routes change) while webhooks keep arriving; an invalid one is
//! refused and the running configuration keeps serving.

use std::sync::{Arc, Mutex};

use pinbridge::item::{DedupKey, SourceId};
use pinbridge::live::status::Trigger;
use pinbridge::store::ItemFilter;
use reqwest::Method;
use tokio_util::sync::CancellationToken;

use crate::support::live::*;

pub(crate) const OLD: &str = "old-shop-secret";
pub(crate) const NEW: &str = "new-shop-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reload_under_webhook_load_loses_no_acknowledged_delivery() {
    let setup = AppSetup::start().await;
    let (path, store_dir, stop) = (&setup.path, &setup.store_dir, &setup.stop);
    let feed = feed_server(3).await;
    let head = setup.head();
    std::fs::write(
        path,
        format!(
            "{head}{}{}",
            shop_source("shop", &[OLD]),
            route("shop", "Shop")
        ),
    )
    .unwrap();
    let app = spawn_app(path, store_dir).await;

    // Four senders post signed deliveries with the old secret until told to stop.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new(Vec::new()));
    let senders_stop = CancellationToken::new();
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..4u64 {
        let (client, base) = (app.client.clone(), app.base.clone());
        let (acked, refused, halt) = (acked.clone(), refused.clone(), senders_stop.clone());
        senders.spawn(async move {
            let mut n = 0;
            while !halt.is_cancelled() {
                let id = 1_000_000 + sender * 100_000 + n;
                n += 1;
                match send(&client, &base, "shop", OLD, id).await {
                    Some(status) if (200..300).contains(&status) => acked.lock().unwrap().push(id),
                    other => refused.lock().unwrap().push((id, other)),
                }
            }
        });
    }
    let acked_at_least = |n: usize| {
        let acked = acked.clone();
        move || {
            let acked = acked.clone();
            async move { acked.lock().unwrap().len() >= n }
        }
    };
    eventually("deliveries flowing", acked_at_least(20)).await;

    // 1: add a feed source and its route.
    std::fs::write(
        path,
        format!(
            "{head}{}{}{}{}",
            shop_source("shop", &[OLD]),
            feed_source("blog", &feed.url),
            route("shop", "Shop"),
            route("blog", "Blog")
        ),
    )
    .unwrap();
    assert!(app.live.reload(Trigger::Sighup).await, "valid file applied");
    eventually("the new feed is polled", || async { feed.hits() >= 1 }).await;
    let store = app.store.clone();
    eventually("the feed's items are stored", || {
        let store = store.clone();
        async move {
            let items = store
                .items(ItemFilter {
                    source: Some(SourceId::new("blog")),
                    limit: 10,
                })
                .await
                .unwrap();
            items.len() == 3
        }
    })
    .await;
    let seen = acked.lock().unwrap().len();
    eventually("deliveries keep flowing", acked_at_least(seen + 20)).await;

    // 2: rotate the webhook's secret, keeping the old one.
    std::fs::write(
        path,
        format!(
            "{head}{}{}{}{}",
            shop_source("shop", &[NEW, OLD]),
            feed_source("blog", &feed.url),
            route("shop", "Shop"),
            route("blog", "Blog")
        ),
    )
    .unwrap();
    assert!(app.live.reload(Trigger::Sighup).await);
    assert_eq!(
        app.send_product("shop", NEW, 7).await,
        Some(200),
        "the new secret verifies at once"
    );
    let seen = acked.lock().unwrap().len();
    eventually(
        "old-secret deliveries keep flowing",
        acked_at_least(seen + 20),
    )
    .await;

    // 3: change the shop's route (another board). Queued jobs keep their targets.
    std::fs::write(
        path,
        format!(
            "{head}{}{}{}{}",
            shop_source("shop", &[NEW, OLD]),
            feed_source("blog", &feed.url),
            route("shop", "Shop 2"),
            route("blog", "Blog")
        ),
    )
    .unwrap();
    assert!(app.live.reload(Trigger::Sighup).await);
    let seen = acked.lock().unwrap().len();
    eventually(
        "deliveries flow after the route change",
        acked_at_least(seen + 20),
    )
    .await;
    senders_stop.cancel();
    while senders.join_next().await.is_some() {}

    let refused = refused.lock().unwrap().clone();
    assert!(
        refused.is_empty(),
        "no delivery was refused during reloads: {refused:?}"
    );
    let acked = acked.lock().unwrap().clone();
    // Jobs queued before the route change keep their board; new items get the new one.
    let board_of = |id: u64| {
        let store = app.store.clone();
        async move {
            let key = DedupKey::new("product", &id.to_string());
            let jobs = store.item_jobs(&SourceId::new("shop"), &key).await.unwrap();
            jobs.first().map(|j| j.target.board.clone())
        }
    };
    assert_eq!(board_of(acked[0]).await.as_deref(), Some("Shop"));
    assert_eq!(app.send_product("shop", OLD, 99).await, Some(200));
    assert_eq!(board_of(99).await.as_deref(), Some("Shop 2"));
    let mut missing = Vec::new();
    let mut without_jobs = Vec::new();
    for id in &acked {
        let key = DedupKey::new("product", &id.to_string());
        if app.item("shop", &key).await.is_none() {
            missing.push(*id);
        } else if app
            .store
            .item_jobs(&SourceId::new("shop"), &key)
            .await
            .unwrap()
            .is_empty()
        {
            without_jobs.push(*id);
        }
    }
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    assert!(
        without_jobs.is_empty(),
        "stored without a job: {without_jobs:?}"
    );

    let (_, status) = app.api(Method::GET, "/config/status", None).await;
    assert_eq!(status["generation"], 4, "{status}");
    assert_eq!(status["last_reload"]["ok"], true);
    // The rotated-out secret: drop OLD, and it stops verifying.
    std::fs::write(
        path,
        format!(
            "{head}{}{}",
            shop_source("shop", &[NEW]),
            route("shop", "Shop 2")
        ),
    )
    .unwrap();
    assert!(app.live.reload(Trigger::Sighup).await);
    assert_eq!(app.send_product("shop", OLD, 8).await, Some(401));
    assert_eq!(app.send_product("shop", NEW, 9).await, Some(200));
    assert_eq!(
        app.live.runtime().running().await,
        Vec::<String>::new(),
        "the feed's poller stopped"
    );
    app.stop().await;
    stop.cancel();
}
