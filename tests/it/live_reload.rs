//! Reload without restart: a valid file is put in force in place (sources start and stop,
//! webhook secrets rotate, routes change) while webhooks keep arriving; an invalid one is
//! refused and the running configuration keeps serving.

use std::sync::{Arc, Mutex};

use pinbridge::item::{DedupKey, SourceId};
use pinbridge::live::status::Trigger;
use pinbridge::store::ItemFilter;
use reqwest::Method;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::live_support::*;
use super::ops_binary::sandbox;

const OLD: &str = "old-shop-secret";
const NEW: &str = "new-shop-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reload_under_webhook_load_loses_no_acknowledged_delivery() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let feed = feed_server(3).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pinbridge.toml");
    let store_dir = dir.path().join("store");
    let head = head("127.0.0.1:0", &store_dir, &api, &token);
    std::fs::write(
        &path,
        format!(
            "{head}{}{}",
            shop_source("shop", &[OLD]),
            route("shop", "Shop")
        ),
    )
    .unwrap();
    let app = run(&path, &store_dir).await;

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
        &path,
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
        &path,
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
        send(&app.client, &app.base, "shop", NEW, 7).await,
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
        &path,
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
    assert_eq!(
        send(&app.client, &app.base, "shop", OLD, 99).await,
        Some(200)
    );
    assert_eq!(board_of(99).await.as_deref(), Some("Shop 2"));
    let mut missing = Vec::new();
    let mut without_jobs = Vec::new();
    for id in &acked {
        let key = DedupKey::new("product", &id.to_string());
        if app
            .store
            .item(&SourceId::new("shop"), &key)
            .await
            .unwrap()
            .is_none()
        {
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
        &path,
        format!(
            "{head}{}{}",
            shop_source("shop", &[NEW]),
            route("shop", "Shop 2")
        ),
    )
    .unwrap();
    assert!(app.live.reload(Trigger::Sighup).await);
    assert_eq!(
        send(&app.client, &app.base, "shop", OLD, 8).await,
        Some(401)
    );
    assert_eq!(
        send(&app.client, &app.base, "shop", NEW, 9).await,
        Some(200)
    );
    assert_eq!(
        app.live.runtime().running().await,
        Vec::<String>::new(),
        "the feed's poller stopped"
    );
    app.stop().await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_reload_leaves_the_running_config_untouched() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let feed = feed_server(2).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pinbridge.toml");
    let store_dir = dir.path().join("store");
    let head = head("127.0.0.1:0", &store_dir, &api, &token);
    let good = format!(
        "{head}{}{}{}",
        shop_source("shop", &[OLD]),
        feed_source("blog", &feed.url),
        route("*", "All")
    );
    std::fs::write(&path, &good).unwrap();
    let app = run(&path, &store_dir).await;
    eventually("the feed is polled", || async { feed.hits() >= 1 }).await;

    // A misspelt key, a bad regex, and the old secret dropped for a new one.
    let bad = format!(
        "{head}{}{}{}\n[routes.when]\ntitle = \"(unclosed\"\n",
        shop_source("shop", &[NEW]),
        feed_source("blog", &feed.url).replace("backfill", "backfil"),
        route("*", "All")
    );
    std::fs::write(&path, &bad).unwrap();
    assert!(
        !app.live.reload(Trigger::Sighup).await,
        "an invalid file is refused"
    );

    let (code, status) = app.api(Method::GET, "/config/status", None).await;
    assert_eq!(code, 200);
    assert_eq!(status["generation"], 1, "nothing new in force: {status}");
    assert_eq!(status["last_reload"]["ok"], false);
    assert_eq!(status["last_reload"]["trigger"], "sighup");
    let keys: Vec<&str> = status["last_reload"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"sources[1].backfil"), "{keys:?}");
    assert!(keys.contains(&"routes[0].when.title"), "{keys:?}");
    let backfil = &status["last_reload"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "sources[1].backfil")
        .unwrap();
    assert!(
        backfil["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `backfill`"),
        "{backfil}"
    );
    assert!(
        backfil["line"].as_u64().is_some(),
        "problems in the file carry their line"
    );

    // Readiness stays OK (the old config serves) and shows the refused reload.
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        // The details (the reload status among them) are for the admin.
        .bearer_auth(crate::live_support::ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["config"]["last_reload"]["ok"], false, "{ready}");

    // The old secret still verifies, the new one does not; the feed's poller still runs.
    assert_eq!(
        send(&app.client, &app.base, "shop", OLD, 1).await,
        Some(200)
    );
    assert_eq!(
        send(&app.client, &app.base, "shop", NEW, 2).await,
        Some(401)
    );
    assert_eq!(app.live.runtime().running().await, vec!["blog".to_string()]);
    let (_, sources) = app.api(Method::GET, "/sources", None).await;
    assert_eq!(sources["sources"].as_array().unwrap().len(), 2);

    // A broken file (not TOML at all) is refused the same way; fixing it applies.
    std::fs::write(&path, "[server\nlisten = ").unwrap();
    assert!(!app.live.reload(Trigger::Watch).await);
    std::fs::write(&path, &good).unwrap();
    assert!(app.live.reload(Trigger::Watch).await);
    let (_, status) = app.api(Method::GET, "/config/status", None).await;
    assert_eq!(status["last_reload"]["ok"], true, "{status}");
    assert_eq!(status["generation"], 2);
    app.stop().await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_config_reloads_when_the_file_changes() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pinbridge.toml");
    let store_dir = dir.path().join("store");
    let head = head("127.0.0.1:0", &store_dir, &api, &token)
        .replace("[server]\n", "[server]\nwatch_config = true\n");
    std::fs::write(&path, format!("{head}{}", shop_source("shop", &[OLD]))).unwrap();
    let app = run(&path, &store_dir).await;
    assert_eq!(
        send(&app.client, &app.base, "other", OLD, 1).await,
        Some(404)
    );
    std::fs::write(
        &path,
        format!(
            "{head}{}{}",
            shop_source("shop", &[OLD]),
            shop_source("other", &[NEW])
        ),
    )
    .unwrap();
    let (client, base) = (app.client.clone(), app.base.clone());
    eventually("the watcher applies the new file", || {
        let (client, base) = (client.clone(), base.clone());
        async move { send(&client, &base, "other", NEW, 2).await == Some(200) }
    })
    .await;
    let (_, status) = app.api(Method::GET, "/config/status", None).await;
    assert_eq!(status["last_reload"]["trigger"], "watch", "{status}");
    app.stop().await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websub_callbacks_follow_the_feeds_in_force() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let feed = feed_server(1).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pinbridge.toml");
    let store_dir = dir.path().join("store");
    let head = head("127.0.0.1:0", &store_dir, &api, &token).replace(
        "[server]\n",
        "[server]\npublic_url = \"https://pinbridge.example/\"\n",
    );
    std::fs::write(&path, &head).unwrap();
    let app = run(&path, &store_dir).await;
    // Without hub.mode: 404 for a feed the subscriber does not know, 400 for one it knows
    // (whatever the callback token: the request is refused before the token is looked at).
    let callback = |base: String| async move {
        reqwest::get(format!("{base}/websub/blog/some-token"))
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(callback(app.base.clone()).await, 404);
    let body =
        serde_json::json!({"id": "blog", "kind": "feed", "url": feed.url, "allow_private": true});
    let (code, _) = app.api(Method::POST, "/sources", Some(body)).await;
    assert_eq!(code, 201);
    assert_eq!(
        callback(app.base.clone()).await,
        400,
        "the new feed's callback is served"
    );
    assert_eq!(app.live.runtime().running().await, ["blog"]);
    let (code, _) = app.api(Method::DELETE, "/sources/blog", None).await;
    assert_eq!(code, 200);
    assert_eq!(callback(app.base.clone()).await, 404);
    app.stop().await;
    stop.cancel();
}
